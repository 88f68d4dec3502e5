"""The authoring lifecycle of rule-set versions: loading the shipped rule sets, drafting,
editing rows and codes, checking, publishing (four eyes, acknowledged outcome changes),
rolling back, comparing; and what clinicians are shown about the versions' history.

Runtime evaluation is ``services`` (the door other apps use); this module is for the
guidelines admin, its views and the management commands.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from .compare import documents_compare
from .expectations import boundary_cases, case_problems, expectation_for_profile
from .loaders import (
    DATA_DIR,
    SHIPPED_RULE_SETS,
    RuleSetError,
    clinical_hash,
    document_canonical,
    document_from_version,
    document_read,
    ruleset_from_document,
    ruleset_from_version,
)
from .models import (
    RecommendationCode,
    RecommendationRuleRow,
    RuleSet,
    RuleSetTestCase,
    RuleSetVersion,
    SeverityCriterionRow,
    StageCriterionRow,
    VersionOrigin,
    VersionStatus,
)
from .outcomes import (
    GateCase,
    OutcomeChange,
    boundary_gate_cases,
    outcome_changes,
    threshold_gate_cases,
)
from .prover.publication import SafetyProofFailed, version_prove_or_refuse
from .services import (
    ACTIVE_CACHE_SECONDS,
    ACTIVE_KEY,
    GuidelineError,
    _cache_call,
    _document,
    active_version,
    compiled_version,
)
from .specs import CompiledRuleSet
from .validation import RuleSetProblem

# --- creating versions ---------------------------------------------------------------


@transaction.atomic
def version_create_from_document(
    *,
    doc: dict[str, Any],
    origin: str,
    status: str = VersionStatus.DRAFT,
    user=None,
    based_on: RuleSetVersion | None = None,
    label: str | None = None,
) -> RuleSetVersion:
    """Validate a rule-set document and store it as a new version with all its rows."""
    ruleset_from_document(doc)  # raises RuleSetError listing every bad row
    canonical = document_canonical(doc)
    head = canonical["ruleset"]
    rule_set, _ = RuleSet.objects.get_or_create(
        code=head["code"], defaults={"title": head["title"]}
    )
    version = RuleSetVersion.objects.create(
        rule_set=rule_set,
        version=label or head["version"],
        status=VersionStatus.DRAFT,
        origin=origin,
        based_on=based_on,
        guideline=head["guideline"],
        title=head["title"],
        citation=head["citation"],
        url=head["url"],
        notes=head["notes"],
        content_hash=clinical_hash(doc),
        created_by=user,
    )
    RecommendationCode.objects.bulk_create(
        RecommendationCode(version=version, **c) for c in canonical["codes"]
    )

    def source(row):
        return {
            f: row[f]
            for f in (
                "key",
                "position",
                "guideline",
                "section",
                "citation",
                "url",
                "evidence",
                "verified_from",
            )
        }

    SeverityCriterionRow.objects.bulk_create(
        SeverityCriterionRow(
            version=version,
            condition=r["when"],
            role=r["role"],
            band=r["band"],
            scope=r["scope"],
            **source(r),
        )
        for r in canonical["severity"]
    )
    StageCriterionRow.objects.bulk_create(
        StageCriterionRow(version=version, condition=r["when"], **source(r))
        for r in canonical["stage"]
    )
    RecommendationRuleRow.objects.bulk_create(
        RecommendationRuleRow(
            version=version,
            condition=r["when"],
            code=r["code"],
            title=r["title"],
            detail=r["detail"],
            cor=r["class"],
            loe=r["level"],
            group=r["group"],
            kind=r["kind"],
            **source(r),
        )
        for r in canonical["rule"]
    )
    if status == VersionStatus.PUBLISHED:
        _activate(version, user=user)
    return version


def _activate(version: RuleSetVersion, *, user) -> None:
    now = timezone.now()
    RuleSetVersion.objects.filter(
        rule_set=version.rule_set, status=VersionStatus.PUBLISHED
    ).update(status=VersionStatus.RETIRED, retired_at=now)
    version.status = VersionStatus.PUBLISHED
    version.published_at = now
    version.published_by = user
    version.save(update_fields=["status", "published_at", "published_by"])
    code = version.rule_set.code
    # Forget the old id now (this transaction re-reads it), and set the new one for every
    # process once committed (overwriting anything cached meanwhile).
    _cache_call(cache.delete, ACTIVE_KEY.format(code=code))
    transaction.on_commit(
        lambda: _cache_call(
            cache.set,
            ACTIVE_KEY.format(code=code),
            version.pk,
            timeout=ACTIVE_CACHE_SECONDS,
        )
    )


# --- shipped rule sets ------------------------------------------------------------------


def guidelines_load(*, data_dir=DATA_DIR) -> list[str]:
    """Make sure each shipped rule set exists with one published version (idempotent).

    A changed data file becomes a new published version when the active one came from
    the file; when an editor published the active one, the file is stored as a draft.
    Vignettes are (re)loaded as the rule sets' test cases.
    """
    messages = []
    for code in SHIPPED_RULE_SETS:
        doc = document_read(code, data_dir)
        digest = clinical_hash(doc)
        active = RuleSetVersion.objects.filter(
            rule_set__code=code, status=VersionStatus.PUBLISHED
        ).first()
        existing = RuleSetVersion.objects.filter(
            rule_set__code=code, content_hash=digest
        )
        if active and active.content_hash == digest:
            messages.append(f"{code}: version {active.version} active, unchanged")
        elif existing.exists():
            messages.append(f"{code}: data file already stored as {existing.first()}")
        else:
            label = doc["ruleset"]["version"]
            if RuleSetVersion.objects.filter(
                rule_set__code=code, version=label
            ).exists():
                label = f"{label}+{digest[:8]}"
            publish = active is None or active.origin == VersionOrigin.FILE
            version = version_create_from_document(
                doc=doc,
                origin=VersionOrigin.FILE,
                label=label,
                status=VersionStatus.PUBLISHED if publish else VersionStatus.DRAFT,
            )
            messages.append(
                f"{code}: loaded version {version.version} "
                + (
                    "(published)"
                    if publish
                    else "(draft: an editor's version is active)"
                )
            )
        messages.append(vignettes_load(code, data_dir=data_dir))
    return messages


def vignettes_load(code: str, *, data_dir=DATA_DIR) -> str:
    rule_set = RuleSet.objects.get(code=code)
    vignettes = json.loads((data_dir / "vignettes.json").read_text())
    count = 0
    for vignette in vignettes:
        if code not in vignette["expected"].get("profiles", {}):
            continue
        RuleSetTestCase.objects.update_or_create(
            rule_set=rule_set,
            name=vignette["id"],
            defaults={
                "description": vignette.get("description", ""),
                "origin": RuleSetTestCase.Origin.VIGNETTE,
                "input": vignette["input"],
                "expected": expectation_for_profile(vignette["expected"], code),
            },
        )
        count += 1
    return f"{code}: {count} vignette test cases"


# --- drafting, checking, publishing ----------------------------------------------------


@transaction.atomic
def version_copy_to_draft(
    *, version: RuleSetVersion, user, label: str
) -> RuleSetVersion:
    """A new editable draft with the same rows as ``version`` (e.g. the active one)."""
    doc = document_from_version(version)
    return version_create_from_document(
        doc=doc, origin=VersionOrigin.EDITOR, user=user, based_on=version, label=label
    )


def version_check(version: RuleSetVersion) -> list[str]:
    """Run every active test case and the generated boundary cases; list the failures."""
    rule_set = ruleset_from_version(version)
    failures = []
    for case in version.rule_set.test_cases.filter(active=True):
        for problem in case_problems(case.input, case.expected, rule_set):
            failures.append(f"{case.name}: {problem}")
    for name, data, expected in boundary_cases(rule_set):
        for problem in case_problems(data, expected, rule_set):
            failures.append(f"boundary {name}: {problem}")
    return failures


def pending_verification_rules(version: RuleSetVersion) -> list[str]:
    rows = [
        *version.severitycriterionrow_set.all(),
        *version.stagecriterionrow_set.all(),
        *version.recommendationrulerow_set.all(),
    ]
    return [f"{r.key} [{r.evidence}]" for r in rows if r.evidence in ("M", "S")]


def version_editors(version: RuleSetVersion) -> list:
    """Everyone who created or changed the draft: its creator, its last editor, and
    every user in the history of its rows and codes (deleted ones included)."""
    ids = {version.created_by_id, version.last_edited_by_id}
    for model in (*ROW_TABLES, RecommendationCode):
        ids.update(
            model.history.filter(version_id=version.pk)
            .exclude(history_user=None)
            .values_list("history_user_id", flat=True)
        )
    ids.discard(None)
    return list(get_user_model().objects.filter(pk__in=ids).order_by("username"))


def publication_refusal_for_user(version: RuleSetVersion, user) -> str:
    """Why ``user`` may not publish ``version`` (four eyes), or "" when they may."""
    if user is None or not user.has_perm("guidelines.change_rulesetversion"):
        return "publication refused: only a guideline editor can publish"
    if any(editor.pk == user.pk for editor in version_editors(version)):
        return (
            f"publication refused: {user.get_username()} edited this draft; a second "
            "guideline editor, who did not edit it, must review and publish it"
        )
    return ""


def version_outcome_changes(version: RuleSetVersion) -> list[OutcomeChange]:
    """Every outcome the draft changes (SPEC 0.14 p): the boundary cases of the
    published version and of the shipped data file, the active test cases (vignettes),
    and the vignettes with each of that reference's rule cut-offs placed on them, run
    through the draft and through that reference."""
    draft = ruleset_from_version(version)
    code = version.rule_set.code
    vignettes = [
        GateCase(f"vignette {case.name}", case.input, {})
        for case in version.rule_set.test_cases.filter(active=True)
    ]
    references: list[tuple[str, CompiledRuleSet, str]] = []
    active = active_version(version.rule_set)
    file_doc = document_read(code) if code in SHIPPED_RULE_SETS else None
    file_hash = clinical_hash(file_doc) if file_doc is not None else ""
    same_as_file = active is not None and active.content_hash == file_hash
    if active is not None and active.pk != version.pk:
        label = f"published version {active.version}"
        if same_as_file:
            label += " (same as the shipped data file)"
        references.append((label, compiled_version(active.pk), active.content_hash))
    if file_doc is not None and not same_as_file:
        label = f"shipped data file {code}.toml ({file_doc['ruleset']['version']})"
        references.append((label, ruleset_from_document(file_doc), file_hash))
    draft_key = clinical_hash(_document(version))
    changes: list[OutcomeChange] = []
    for label, reference, reference_key in references:
        changes += outcome_changes(
            cases=[
                *boundary_gate_cases(reference),
                *vignettes,
                *threshold_gate_cases(reference, vignettes),
            ],
            draft=draft,
            reference=reference,
            label=label,
            draft_key=draft_key,
            reference_key=reference_key,
        )
    return changes


@transaction.atomic
def version_publish(
    *,
    version: RuleSetVersion,
    user,
    reason: str = "",
    acknowledgements: dict[str, str] | None = None,
    acknowledge_pending: bool = False,
) -> RuleSetVersion:
    """Publish a draft through the gate, retiring the active version in the same
    transaction. Refused (``GuidelineError`` listing why) unless:

    - the draft is valid and every active test case and generated boundary case passes;
    - ``user`` is a guideline editor who neither created nor edited the draft (four
      eyes: the row history names every editor);
    - every outcome the draft changes against the published version and the shipped
      data file (``version_outcome_changes``) is acknowledged with a reason
      (``acknowledgements``: change id → reason);
    - rules pending clinical verification ([M]/[S]) are acknowledged;
    - ``reason`` says why the version is published.

    The editors, the approver (``published_by``), the reasons and the acknowledged
    changes are recorded with the version.
    """
    acknowledgements = acknowledgements or {}
    version = RuleSetVersion.objects.select_for_update().get(pk=version.pk)
    if version.status != VersionStatus.DRAFT:
        raise GuidelineError(f"{version} is not a draft; only drafts can be published")
    ruleset_from_version(version)  # validation (raises RuleSetError)
    failures = version_check(version)
    if failures:
        raise GuidelineError(
            f"publication refused: {len(failures)} failing test case(s)", failures
        )
    refusal = publication_refusal_for_user(version, user)
    if refusal:
        editors = ", ".join(u.get_username() for u in version_editors(version))
        raise GuidelineError(refusal, [f"edited by: {editors or 'nobody'}"])
    changes = version_outcome_changes(version)
    unacknowledged = [
        c.text for c in changes if not (acknowledgements.get(c.id) or "").strip()
    ]
    if unacknowledged:
        raise GuidelineError(
            f"publication refused: {len(unacknowledged)} changed outcome(s) must each "
            "be acknowledged with a reason",
            unacknowledged,
        )
    pending = pending_verification_rules(version)
    if pending and not acknowledge_pending:
        raise GuidelineError(
            "publication refused: rules pending clinical verification ([M]/[S]) need "
            "the editor's explicit acknowledgement",
            pending,
        )
    if not reason.strip():
        raise GuidelineError(
            "publication refused: say why this version is published (reason)",
            ["reason: required, the changelog shows it to clinicians"],
        )
    try:  # the safety invariants of docs/guideline.md §6b, for every input (issue 19)
        proof = version_prove_or_refuse(version)
    except SafetyProofFailed as failed:
        raise GuidelineError(str(failed), failed.lines) from None
    version.safety_proof = proof.as_dict()
    if pending:
        version.pending_rules_acknowledged_by = user
        version.pending_rules_acknowledged_at = timezone.now()
    version.edited_by.set(version_editors(version))
    version.publication_reason = reason.strip()
    version.outcome_changes = [
        c.as_record(acknowledgements[c.id].strip()) for c in changes
    ]
    version.content_hash = clinical_hash(_document(version))
    version.save(
        update_fields=[
            "pending_rules_acknowledged_by",
            "pending_rules_acknowledged_at",
            "publication_reason",
            "outcome_changes",
            "content_hash",
            "safety_proof",
        ]
    )
    _activate(version, user=user)
    return version


@transaction.atomic
def version_rollback(*, to: RuleSetVersion, user, label: str) -> RuleSetVersion:
    """A draft copying an earlier version, marked as a rollback. It is published
    through the same gate as any draft (``version_publish``): a second editor, and a
    reason for every outcome that changes against the active version."""
    if to.status == VersionStatus.DRAFT:
        raise GuidelineError(f"{to} is a draft; roll back to a published version")
    draft = version_copy_to_draft(version=to, user=user, label=label)
    draft.is_rollback = True
    draft.save(update_fields=["is_rollback"])
    return draft


def version_header_save(*, version: RuleSetVersion, user) -> RuleSetVersion:
    """Save a draft's header (title, citation, URL, notes), recording who edited it."""
    version_require_draft(version)
    version.last_edited_by = user
    version.last_edited_at = timezone.now()
    version.full_clean()
    version.save()
    return version


# --- editing the rows of a draft (the only write path for rule rows) ------------------

ROW_TABLES = {
    SeverityCriterionRow: "severity",
    StageCriterionRow: "stage",
    RecommendationRuleRow: "rule",
}
ROW_SOURCE_FIELDS = (
    "guideline",
    "section",
    "citation",
    "url",
    "evidence",
    "verified_from",
)


def row_document_entry(row) -> dict[str, Any]:
    """One rule row as its document entry (the shape of ``document_from_version``)."""
    entry = {"key": row.key, "position": row.position, "when": row.condition}
    entry.update({f: getattr(row, f) for f in ROW_SOURCE_FIELDS})
    if isinstance(row, SeverityCriterionRow):
        entry.update(role=row.role, band=row.band, scope=row.scope)
    elif isinstance(row, RecommendationRuleRow):
        entry.update(
            code=row.code,
            title=row.title,
            detail=row.detail,
            group=row.group,
            kind=row.kind,
            **{"class": row.cor, "level": row.loe},
        )
    return entry


def version_document_with(
    version: RuleSetVersion, *, rows=(), deleted=()
) -> dict[str, Any]:
    """The version's document as it would be with ``rows`` saved and ``deleted`` gone.

    A changed row replaces the entry of its stored key; a new row (no pk) is added.
    """
    doc = _document(version)
    for row in [*rows, *deleted]:
        table = ROW_TABLES[type(row)]
        if row.pk:
            stored = type(row).objects.filter(pk=row.pk).values_list("key", flat=True)
            doc[table] = [e for e in doc[table] if e["key"] not in stored]
    for row in rows:
        doc[ROW_TABLES[type(row)]].append(row_document_entry(row))
    for table in ROW_TABLES.values():
        doc[table].sort(key=lambda e: e["position"])
    return doc


def version_rows_problems(
    *, version: RuleSetVersion, rows=(), deleted=()
) -> list[RuleSetProblem]:
    """Every problem of the whole draft with these changes (empty list = valid), each
    naming its table, row key and field (``validation.RuleSetProblem``)."""
    try:
        ruleset_from_document(
            version_document_with(version, rows=rows, deleted=deleted)
        )
    except RuleSetError as exc:
        return list(exc.errors)
    return []


def version_require_draft(version: RuleSetVersion) -> None:
    if version.status != VersionStatus.DRAFT:
        raise GuidelineError(
            f"{version} is immutable: only a draft can be changed; "
            "copy it to a new draft to edit it",
            [f"version {version.version} is {version.get_status_display()}"],
        )


def version_rows_save(
    *, version: RuleSetVersion, rows=(), deleted=(), user=None
) -> None:
    """Save and delete rule rows of a draft, after validating the whole draft with them.

    Raises ``GuidelineError`` when the version is published or retired (immutable), when
    a row belongs to another version, or listing every problem of the resulting draft.
    """
    _draft_parts_save(
        version=version,
        parts=rows,
        deleted=deleted,
        user=user,
        problems_of=lambda v: version_rows_problems(
            version=v, rows=rows, deleted=deleted
        ),
    )


@transaction.atomic
def _draft_parts_save(*, version, parts, deleted, user, problems_of) -> None:
    """Lock the draft, check that every part (rule row or code) is its own, refuse with
    ``problems_of(version)`` if any, then delete and save, recording who in the history."""
    version = RuleSetVersion.objects.select_for_update().get(pk=version.pk)
    version_require_draft(version)
    for part in [*parts, *deleted]:
        stored_version = (
            type(part).objects.filter(pk=part.pk).values_list("version_id", flat=True)
            if part.pk
            else []
        )
        if part.version_id != version.pk or any(
            v != version.pk for v in stored_version
        ):
            what = type(part)._meta.verbose_name
            raise GuidelineError(f"{what} {part} does not belong to {version}")
    problems = problems_of(version)
    if problems:
        raise GuidelineError(
            f"refused: the draft {version.version} would not be valid", problems
        )
    for part in [*parts, *deleted]:
        _history_baseline(part)
    for part in deleted:
        part._history_user = user
        part.delete()
    for part in parts:
        part.full_clean()
        part._history_user = user
        part.save()
    version.last_edited_by = user
    version.last_edited_at = timezone.now()
    version.save(update_fields=["last_edited_by", "last_edited_at"])


def rule_row_save(*, row, user=None):
    """Save one rule row of a draft (validated with the whole draft)."""
    version_rows_save(version=row.version, rows=[row], user=user)
    return row


def rule_row_delete(*, row, user=None) -> None:
    version_rows_save(version=row.version, deleted=[row], user=user)


def version_codes_problems(
    *, version: RuleSetVersion, codes=(), deleted=()
) -> list[RuleSetProblem]:
    """Every problem of the whole draft with these recommendation codes saved and
    ``deleted`` gone (e.g. a rule row still recommending a deleted code)."""
    doc = _document(version)
    replaced = set(
        RecommendationCode.objects.filter(
            pk__in=[c.pk for c in [*codes, *deleted] if c.pk]
        ).values_list("code", flat=True)
    )
    doc["codes"] = [e for e in doc["codes"] if e["code"] not in replaced] + [
        {"code": c.code, "title": c.title} for c in codes
    ]
    try:
        ruleset_from_document(doc)
    except RuleSetError as exc:
        return list(exc.errors)
    return []


def version_codes_save(
    *, version: RuleSetVersion, codes=(), deleted=(), user=None
) -> None:
    """Add, change or delete recommendation codes of a draft, after validating the whole
    draft with the change. Raises ``GuidelineError`` like ``version_rows_save``."""
    _draft_parts_save(
        version=version,
        parts=codes,
        deleted=deleted,
        user=user,
        problems_of=lambda v: version_codes_problems(
            version=v, codes=codes, deleted=deleted
        ),
    )


@transaction.atomic
def version_delete(*, version: RuleSetVersion) -> None:
    """Delete a draft. Published and retired versions are never deleted (and the
    database protects any version an assessment references)."""
    version = RuleSetVersion.objects.select_for_update().get(pk=version.pk)
    version_require_draft(version)
    version.delete()


def version_compare(*, version: RuleSetVersion, against: RuleSetVersion | None = None):
    """Rule-by-rule differences of ``version`` against ``against`` (default: active)."""
    against = against or active_version(version.rule_set)
    if against is None:
        raise GuidelineError(
            f"{version.rule_set} has no active version to compare with"
        )
    return documents_compare(_document(against), _document(version))


def _history_baseline(row) -> None:
    """Rows copied in bulk have no history yet; record their stored state first so the
    first edit shows old and new values."""
    model = type(row)
    if row.pk and not model.history.filter(id=row.pk).exists():
        stored = model.objects.filter(pk=row.pk).first()
        if stored is not None:
            model.history.bulk_history_create(
                [stored], default_change_reason="state before the first edit"
            )
