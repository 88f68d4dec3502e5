"""Turn rule-set documents (the TOML seed files, or rows exported from the database)
into compiled ``specs.CompiledRuleSet`` objects. The only place that knows both shapes.

A document is a plain dict::

    ruleset   {code, title, version, guideline, citation, url, notes?}
    codes     [{code, title}]          codes this rule set adds to the contract's
    severity  [{key, role, band?, scope?, when, section, evidence, citation?, url?}]
    stage     [{key, when, section, evidence, ...}]
    rule      [{key, code, title, detail, class, level, when, section, evidence,
                group?, kind?, citation?, url?, verified_from?}]
    (``url`` is the guideline's DOI; ``verified_from`` names the text or reproduction
    the row was read against, when that is not the guideline itself.)

Every row is validated when loaded (``document_validate``); errors name the table, the
row key and the field.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from pathlib import Path
from typing import Any

from .conditions import ConditionError, condition_parse, condition_to_data
from .parameters import BANDS, CONTRACT_CODES, EXTRA_CODES
from .specs import (
    CompiledRuleSet,
    Node,
    RecommendationRule,
    SeverityCriterion,
    Source,
    StageCriterion,
)
from .validation import RuleSetProblem

DATA_DIR = Path(__file__).resolve().parent / "data"
SHIPPED_RULE_SETS = ("acc_aha_2020", "esc_eacts_2025")
EVIDENCE_TAGS = ("V", "S", "M", "J")
SEVERITY_ROLES = (
    "specific_mild",
    "specific_severe",
    "supportive_mild",
    "supportive_severe",
    "band",
)
REQUIRED_SEVERITY_KEYS = ("vc_mild", "vc_severe")  # used by grading step 7
RULE_KINDS = ("recommendation", "caution", "conditional")


class RuleSetError(ValueError):
    """One or more rows of a rule-set document are invalid; ``errors`` lists each as a
    ``RuleSetProblem`` (table, row key, field, message)."""

    def __init__(self, errors: list[RuleSetProblem]):
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


def document_read(code: str, data_dir: Path = DATA_DIR) -> dict[str, Any]:
    """Read ``<code>.toml``; ``include = [files]`` merges shared tables (severity)."""
    path = data_dir / f"{code}.toml"
    with path.open("rb") as fh:
        doc = tomllib.load(fh)
    for name in doc.pop("include", []):
        with (data_dir / name).open("rb") as fh:
            shared = tomllib.load(fh)
        for table, rows in shared.items():
            doc.setdefault(table, [])
            doc[table] = rows + doc[table]
    return doc


def content_hash(doc: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of the document (its clinical content)."""
    canonical = json.dumps(doc, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _source(row: dict[str, Any], head: dict[str, Any]) -> Source:
    return Source(
        guideline=row.get("guideline", head.get("guideline", head.get("title", ""))),
        section=str(row.get("section", "")),
        citation=row.get("citation", head.get("citation", "")),
        url=row.get("url", head.get("url", "")),
        evidence=row.get("evidence", ""),
        verified_from=row.get("verified_from", ""),
    )


def _check_source(
    table: str, key: str, row: dict[str, Any], errors: list[RuleSetProblem]
) -> None:
    if row.get("evidence") not in EVIDENCE_TAGS:
        message = f"evidence must be one of {', '.join(EVIDENCE_TAGS)}"
        errors.append(RuleSetProblem(table, key, "evidence", message))
    if not str(row.get("section", "")).strip():
        message = "section is required (where the guideline says it)"
        errors.append(RuleSetProblem(table, key, "section", message))


def ruleset_from_document(
    doc: dict[str, Any], *, version_id: int | None = None
) -> CompiledRuleSet:
    """Validate and compile a document; raise ``RuleSetError`` listing every problem."""
    errors: list[RuleSetProblem] = []
    head = doc.get("ruleset", {})
    for field in ("code", "title", "version"):
        if not head.get(field):
            errors.append(RuleSetProblem("ruleset", "", field, f"{field} is required"))
    _check_codes(doc.get("codes", []), errors)
    extra_codes = frozenset(c.get("code") for c in doc.get("codes", []))
    known_codes = set(CONTRACT_CODES) | set(EXTRA_CODES) | extra_codes
    keys: set[str] = set()

    def parse(table: str, where: str, row: dict[str, Any]):
        key = row.get("key")
        if not key:
            errors.append(RuleSetProblem(table, where, "key", "key is required"))
        elif key in keys:
            errors.append(RuleSetProblem(table, where, "key", f"duplicate key {key!r}"))
        keys.add(key)
        try:
            return condition_parse(row.get("when"), "when", extra_codes)
        except ConditionError as exc:
            errors.append(RuleSetProblem(table, where, "when", str(exc)))
            return None

    severity = []
    for i, row in enumerate(doc.get("severity", [])):
        where = str(row.get("key", i))
        condition = parse("severity", where, row)
        _check_source("severity", where, row, errors)
        role = row.get("role")
        if role not in SEVERITY_ROLES:
            message = f"role must be one of {', '.join(SEVERITY_ROLES)}"
            errors.append(RuleSetProblem("severity", where, "role", message))
        bad_band = role == "band" and row.get("band") not in BANDS[1:]
        if bad_band:
            message = f"band must be one of {', '.join(BANDS[1:])}"
            errors.append(RuleSetProblem("severity", where, "band", message))
        if condition is not None and role in SEVERITY_ROLES and not bad_band:
            severity.append(
                SeverityCriterion(
                    key=row["key"],
                    role=role,
                    condition=condition,
                    band=row.get("band", ""),
                    scope=row.get("scope", "all"),
                    source=_source(row, head),
                )
            )
    _check_bands(severity, errors)
    severity_keys = {c.key for c in severity}
    for key in REQUIRED_SEVERITY_KEYS:
        if key not in severity_keys:
            message = f"a criterion with key {key!r} is required"
            errors.append(RuleSetProblem("severity", "", "", message))

    stage = []
    for i, row in enumerate(doc.get("stage", [])):
        where = str(row.get("key", i))
        condition = parse("stage", where, row)
        _check_source("stage", where, row, errors)
        if condition is not None:
            stage.append(StageCriterion(row["key"], condition, _source(row, head)))

    rules = []
    for i, row in enumerate(doc.get("rule", [])):
        where = str(row.get("key", i))
        condition = parse("rule", where, row)
        _check_source("rule", where, row, errors)
        if row.get("code") not in known_codes:
            message = f"code {row.get('code')!r} is not a known recommendation code"
            errors.append(RuleSetProblem("rule", where, "code", message))
        if not row.get("title"):
            errors.append(RuleSetProblem("rule", where, "title", "title is required"))
        kind = row.get("kind", "recommendation")
        if kind not in RULE_KINDS:
            message = f"kind must be one of {', '.join(RULE_KINDS)}"
            errors.append(RuleSetProblem("rule", where, "kind", message))
        if condition is not None:
            rules.append(
                RecommendationRule(
                    key=row["key"],
                    position=int(row.get("position", (i + 1) * 10)),
                    code=row.get("code", ""),
                    title=row.get("title", ""),
                    detail=row.get("detail", ""),
                    cor=row.get("class") or None,
                    loe=row.get("level") or None,
                    condition=condition,
                    source=_source(row, head),
                    group=row.get("group", ""),
                    kind=kind,
                )
            )
    if errors:
        raise RuleSetError(errors)
    return CompiledRuleSet(
        code=head["code"],
        title=head["title"],
        version=str(head["version"]),
        content_hash=clinical_hash(doc),
        severity_criteria=tuple(severity),
        stage_criteria=tuple(stage),
        rules=tuple(sorted(rules, key=lambda r: (r.position, r.key))),
        version_id=version_id,
        notes=tuple(head.get("notes", [])),
    )


CODE_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,59}")


def _check_codes(codes: list[dict[str, Any]], errors: list[RuleSetProblem]) -> None:
    """Codes a rule set adds to the contract's: not one of them, unique, snake_case,
    titled."""
    seen: set[str] = set()
    for i, entry in enumerate(codes):
        code = entry.get("code") or ""
        where = str(code or i)
        if not CODE_PATTERN.fullmatch(code):
            message = (
                "code must be 1 to 60 lowercase letters, digits and underscores, "
                "starting with a letter"
            )
        elif code in CONTRACT_CODES:
            message = f"{code!r} is already a contract recommendation code"
        elif code in seen:
            message = f"duplicate code {code!r}"
        else:
            message = ""
        if message:
            errors.append(RuleSetProblem("codes", where, "code", message))
        seen.add(code)
        if not (entry.get("title") or "").strip():
            errors.append(RuleSetProblem("codes", where, "title", "title is required"))


def _check_bands(
    criteria: list[SeverityCriterion], errors: list[RuleSetProblem]
) -> None:
    """Band cut-offs per parameter and scope: '>=' only, strictly rising with the band.

    A band of a narrower scope (``secondary_elliptical``) may add gates:
    ``{all = [[parameter, '>=', lower bound], gate, ...]}`` (ACC/AHA's RF ≥ 50 %).
    """
    by_param: dict[tuple[str, str], list[SeverityCriterion]] = {}
    for c in criteria:
        if c.role != "band":
            continue
        leaf = next(c.condition.leaves())
        gated = (
            c.scope != "all"
            and isinstance(c.condition, Node)
            and c.condition.match == "all"
            and c.condition.children[0] is leaf
        )
        if leaf.operator != ">=" or not (c.condition is leaf or gated):
            message = "a band is one [parameter, '>=', lower bound]" + (
                " (a narrower scope may add gates: {all = [band, gate, ...]})"
                if c.scope != "all"
                else ""
            )
            errors.append(RuleSetProblem("severity", c.key, "when", message))
            continue
        by_param.setdefault((leaf.parameter, c.scope), []).append(c)
    for (parameter, scope), rows in by_param.items():
        rows.sort(key=lambda c: BANDS.index(c.band))
        bands = [c.band for c in rows]
        message = f"{parameter} ({scope}) has a band twice"
        errors += [
            RuleSetProblem("severity", c.key, "band", message)
            for c in rows
            if bands.count(c.band) > 1
        ]
        thresholds = [next(c.condition.leaves()).value for c in rows]
        # Each row of a pair out of order (a lower band's cut-off not below the next).
        out_of_order = {
            c.key
            for i in range(len(rows) - 1)
            if thresholds[i] >= thresholds[i + 1]
            for c in rows[i : i + 2]
        }
        message = f"{parameter} ({scope}) cut-offs must rise with the band: " + (
            ", ".join(f"{c.band} ≥ {t}" for c, t in zip(rows, thresholds, strict=True))
        )
        errors += [
            RuleSetProblem("severity", c.key, "when", message)
            for c in rows
            if c.key in out_of_order
        ]


def ruleset_load(code: str, data_dir: Path = DATA_DIR) -> CompiledRuleSet:
    return ruleset_from_document(document_read(code, data_dir))


# --- canonical documents: the same shape from a TOML file and from database rows -------

SOURCE_FIELDS = ("guideline", "section", "citation", "url", "evidence", "verified_from")


def document_canonical(doc: dict[str, Any]) -> dict[str, Any]:
    """Fill defaults and normalise conditions so a file and its rows hash the same."""
    head = dict(doc.get("ruleset", {}))
    extra = frozenset(c["code"] for c in doc.get("codes", []))

    def canonical_row(row: dict[str, Any], position: int, fields: tuple[str, ...]):
        out = {f: row.get(f, "") for f in fields}
        for f in SOURCE_FIELDS:
            out[f] = (
                row.get(f) or (head.get(f) if f in ("citation", "url") else "") or ""
            )
        if not out["guideline"]:
            out["guideline"] = head.get("guideline", "")
        out["key"] = row.get("key", "")
        out["position"] = int(row.get("position", position))
        try:
            out["when"] = condition_to_data(
                condition_parse(row.get("when"), "when", extra)
            )
        except ConditionError:
            out["when"] = row.get("when")
        return out

    return {
        "ruleset": {
            "code": head.get("code", ""),
            "title": head.get("title", ""),
            "version": str(head.get("version", "")),
            "guideline": head.get("guideline", ""),
            "citation": head.get("citation", ""),
            "url": head.get("url", ""),
            "notes": list(head.get("notes", [])),
        },
        "codes": sorted(
            (
                {"code": c["code"], "title": c.get("title", "")}
                for c in doc.get("codes", [])
            ),
            key=lambda c: c["code"],
        ),
        "severity": [
            canonical_row(r, (i + 1) * 10, ("role", "band", "scope"))
            | {"scope": r.get("scope", "all")}
            for i, r in enumerate(doc.get("severity", []))
        ],
        "stage": [
            canonical_row(r, (i + 1) * 10, ())
            for i, r in enumerate(doc.get("stage", []))
        ],
        "rule": [
            canonical_row(
                r, (i + 1) * 10, ("code", "title", "detail", "class", "level", "group")
            )
            | {"kind": r.get("kind", "recommendation")}
            for i, r in enumerate(doc.get("rule", []))
        ],
    }


def clinical_hash(doc: dict[str, Any]) -> str:
    """Hash of the clinical content; the version label does not change it."""
    canonical = document_canonical(doc)
    canonical["ruleset"] = {
        k: v for k, v in canonical["ruleset"].items() if k != "version"
    }
    return content_hash(canonical)


def document_from_version(version) -> dict[str, Any]:
    """Database rows of a ``RuleSetVersion`` → canonical document (ORM read only)."""

    def source(row):
        return {f: getattr(row, f) for f in SOURCE_FIELDS}

    return {
        "ruleset": {
            "code": version.rule_set.code,
            "title": version.title,
            "version": version.version,
            "guideline": version.guideline,
            "citation": version.citation,
            "url": version.url,
            "notes": list(version.notes or []),
        },
        "codes": sorted(
            ({"code": c.code, "title": c.title} for c in version.codes.all()),
            key=lambda c: c["code"],
        ),
        "severity": [
            {
                "key": r.key,
                "position": r.position,
                "role": r.role,
                "band": r.band,
                "scope": r.scope,
                "when": r.condition,
                **source(r),
            }
            for r in version.severitycriterionrow_set.order_by("position", "id")
        ],
        "stage": [
            {"key": r.key, "position": r.position, "when": r.condition, **source(r)}
            for r in version.stagecriterionrow_set.order_by("position", "id")
        ],
        "rule": [
            {
                "key": r.key,
                "position": r.position,
                "code": r.code,
                "title": r.title,
                "detail": r.detail,
                "class": r.cor,
                "level": r.loe,
                "group": r.group,
                "kind": r.kind,
                "when": r.condition,
                **source(r),
            }
            for r in version.recommendationrulerow_set.order_by("position", "id")
        ],
    }


def ruleset_from_version(version) -> CompiledRuleSet:
    doc = document_from_version(version)
    compiled = ruleset_from_document(doc, version_id=version.pk)
    return compiled
