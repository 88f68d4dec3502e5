"""Replay a rule-set version (typically a draft) over stored assessments.

Before publishing, an editor sees how the most recent N assessments of the same rule set
would come out under the version: how many results change, and how (severity and stage
transitions, recommendation codes gained or lost). The summary holds counts only, never
a patient, an assessment id or an input value.

Each assessment is compared with its stored result (what the clinician saw); one stored
before results were kept is compared with a fresh evaluation under the active version.
Lives in ``assessments`` because guidelines must not import the clinical record.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import connection
from django.db.models import F, Q, TextField
from django.db.models.expressions import RawSQL

from guidelines.services import (
    GuidelineError,
    canonical_evaluate,
    compiled_evaluate,
    recommendation_titles,
    version_compiled,
)
from guidelines.vocabulary import INPUT_FIELDS

from .choices import AssessmentStatus
from .inputs import PRIOR_ECHO_NAMES, stored_canonical_input
from .models import Assessment, PriorEcho

DEFAULT_LIMIT = 100
MAX_LIMIT = 5000
Outcome = tuple[Any, Any, set[str]]  # severity, stage, recommendation codes


@dataclass
class ReplaySummary:
    version: str
    limit: int
    replayed: int = 0
    changed: int = 0
    stored_baseline: int = 0  # compared with the stored result
    fresh_baseline: int = 0  # no stored result: compared with the active version
    skipped: int = 0  # no baseline available (no stored result, no active version)
    severity: Counter = field(default_factory=Counter)  # (old, new) -> count
    stage: Counter = field(default_factory=Counter)
    codes_gained: Counter = field(default_factory=Counter)
    codes_lost: Counter = field(default_factory=Counter)
    # code -> title, for display only (not counted, not stored with a chunk's counts)
    titles: dict[str, str] = field(default_factory=dict)

    @property
    def unchanged(self) -> int:
        return self.replayed - self.changed

    def transitions(self, counter: Counter) -> list[tuple[str, str, int]]:
        return [(old, new, n) for (old, new), n in counter.most_common()]

    @property
    def severity_changes(self):
        return self.transitions(self.severity)

    @property
    def stage_changes(self):
        return self.transitions(self.stage)

    @property
    def codes_gained_list(self) -> list[tuple[str, int]]:
        """(recommendation title, assessments that gain it), most first."""
        return self._titled(self.codes_gained)

    @property
    def codes_lost_list(self) -> list[tuple[str, int]]:
        """(recommendation title, assessments that lose it), most first."""
        return self._titled(self.codes_lost)

    def _titled(self, counter: Counter) -> list[tuple[str, int]]:
        return [(self.titles.get(code, code), n) for code, n in counter.most_common()]

    COUNTS = ("replayed", "changed", "stored_baseline", "fresh_baseline", "skipped")
    TRANSITIONS = ("severity", "stage")
    CODES = ("codes_gained", "codes_lost")

    def as_counts(self) -> dict[str, Any]:
        """JSON-able counts (a chunk's row): transitions as [old, new, n] lists."""
        counts: dict[str, Any] = {name: getattr(self, name) for name in self.COUNTS}
        for name in self.TRANSITIONS:
            counts[name] = [[o, n, c] for (o, n), c in getattr(self, name).items()]
        for name in self.CODES:
            counts[name] = dict(getattr(self, name))
        return counts

    def add_counts(self, counts: dict[str, Any]) -> None:
        """Add a chunk's ``as_counts()`` to this summary."""
        for name in self.COUNTS:
            setattr(self, name, getattr(self, name) + counts[name])
        for name in self.TRANSITIONS:
            counter = getattr(self, name)
            for old, new, n in counts[name]:
                counter[(old, new)] += n
        for name in self.CODES:
            getattr(self, name).update(counts[name])


def _outcome(result: dict[str, Any]) -> Outcome:
    """What replay compares of a result: severity, stage, recommendation codes."""
    codes = {r["code"] for r in result.get("recommendations", [])}
    return result.get("severity"), result.get("stage"), codes


def assessments_for_rule_set(version):
    """Final stored assessments of the version's rule set, most recent first (an
    amended one is represented by its correction; a voided one was an error)."""
    code = version.rule_set.code
    same = Q(rule_set_version__rule_set=version.rule_set) | Q(
        rule_set_version__isnull=True, guideline=code
    )
    if code == settings.MR_CDS_DEFAULT_GUIDELINE:
        same |= Q(rule_set_version__isnull=True, guideline="")
    return Assessment.objects.filter(same, status=AssessmentStatus.FINAL).order_by(
        "-created_at", "-id"
    )


def assessment_replay(*, version, limit: int = DEFAULT_LIMIT) -> ReplaySummary:
    """Counts of how the most recent ``limit`` assessments change under ``version``.

    Raises ``RuleSetError`` when the version itself is invalid.
    """
    limit = max(1, min(int(limit), MAX_LIMIT))
    compiled = version_compiled(version)
    summary = ReplaySummary(
        version=str(version), limit=limit, titles=recommendation_titles(version)
    )
    records = stored_records(assessments_for_rule_set(version)[:limit])
    replay_into(summary, records, version=version, compiled=compiled)
    return summary


# The stored result's outcome, read on PostgreSQL without sending (and decoding) the
# whole result (~11 KB of JSON a row): ``jsonb_to_record`` reads the compressed value
# once for the three keys, where ``result->'severity'`` and the like would each read it.
# One text array, [severity, stage, code, code...], which the driver reads as a list
# with no JSON to decode.
STORED_OUTCOME_SQL = (
    "CASE WHEN result IS NULL THEN NULL ELSE (SELECT ARRAY[o.severity, o.stage] || "
    "ARRAY(SELECT jsonb_array_elements(o.recommendations) ->> 'code') "
    "FROM jsonb_to_record(result) AS o(severity text, stage text, "
    "recommendations jsonb)) END"
)
INPUT_COLUMNS = tuple(spec.column for spec in INPUT_FIELDS)


def stored_records(queryset) -> Iterator[tuple[dict[str, Any], Outcome | None]]:
    """(canonical input, stored outcome or None) of each assessment of ``queryset``, in
    its order, read as plain rows (no model instances): one query for the assessments
    and one for all their prior echos. The input is ``stored_canonical_input`` of the
    columns: what the parse of the record's input gives, without parsing it again."""
    if connection.vendor == "postgresql":
        outcome = RawSQL(STORED_OUTCOME_SQL, [], output_field=ArrayField(TextField()))  # noqa: S611 (constant SQL)
        queryset = queryset.annotate(stored=outcome)

        def stored(value):
            return None if value is None else (value[0], value[1], set(value[2:]))
    else:
        queryset = queryset.annotate(stored=F("result"))

        def stored(value):
            return None if value is None else _outcome(value)

    rows = list(queryset.values_list("id", "stored", *INPUT_COLUMNS))
    if not rows:
        return
    # The prior echos of the id range the rows span: a superset (of assessments out of
    # scope too, never used), read without sending a list of thousands of ids.
    ids = [row[0] for row in rows]
    studies: dict[int, list] = {}
    for assessment_id, *study in (
        PriorEcho.objects.filter(
            assessment_id__gte=min(ids), assessment_id__lte=max(ids)
        )
        .order_by("assessment_id", "-months_ago", "id")
        .values_list("assessment_id", *PRIOR_ECHO_NAMES)
    ):
        studies.setdefault(assessment_id, []).append(study)
    for row in rows:
        yield (
            stored_canonical_input(row[2:], studies.get(row[0], ())),
            stored(row[1]),
        )


def replay_into(summary: ReplaySummary, records, *, version, compiled) -> None:
    """Add to ``summary`` how each of ``records`` (``stored_records``) changes under
    ``compiled``."""
    code = version.rule_set.code
    for clean, stored in records:
        if stored is not None:
            before = stored
            summary.stored_baseline += 1
        else:
            try:
                before = _outcome(canonical_evaluate(clean, guideline=code).result)
            except GuidelineError:
                summary.skipped += 1  # no active version to compare with
                continue
            summary.fresh_baseline += 1
        outcome_count(summary, before, _outcome(compiled_evaluate(clean, compiled)))


def outcome_count(summary: ReplaySummary, before: Outcome, after: Outcome) -> None:
    """Count one replayed assessment: its severity and stage transitions, the codes it
    gains and loses, and whether anything of these changed."""
    summary.replayed += 1
    changed = False
    for counter, old, new in (
        (summary.severity, before[0], after[0]),
        (summary.stage, before[1], after[1]),
    ):
        if old != new:
            counter[(str(old), str(new))] += 1
            changed = True
    if before[2] != after[2]:
        summary.codes_gained.update(after[2] - before[2])
        summary.codes_lost.update(before[2] - after[2])
        changed = True
    summary.changed += changed
