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
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import JSONField, Q
from django.db.models.expressions import RawSQL

from guidelines.services import (
    GuidelineError,
    InputError,
    compiled_evaluate,
    guideline_evaluate,
    input_parse,
    version_compiled,
)

from .choices import AssessmentStatus
from .inputs import assessment_to_input
from .models import Assessment

DEFAULT_LIMIT = 100
MAX_LIMIT = 5000


@dataclass
class ReplaySummary:
    version: str
    limit: int
    replayed: int = 0
    changed: int = 0
    stored_baseline: int = 0  # compared with the stored result
    fresh_baseline: int = 0  # no stored result: compared with the active version
    skipped: int = 0  # input no longer valid, or no baseline available
    severity: Counter = field(default_factory=Counter)  # (old, new) -> count
    stage: Counter = field(default_factory=Counter)
    codes_gained: Counter = field(default_factory=Counter)
    codes_lost: Counter = field(default_factory=Counter)

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
        return self.codes_gained.most_common()

    @property
    def codes_lost_list(self) -> list[tuple[str, int]]:
        return self.codes_lost.most_common()

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


def _codes(result: dict[str, Any]) -> set[str]:
    return {r["code"] for r in result.get("recommendations", [])}


def assessments_for_rule_set(version):
    """Final stored assessments of the version's rule set, most recent first (an
    amended one is represented by its correction; a voided one was an error)."""
    code = version.rule_set.code
    same = Q(rule_set_version__rule_set=version.rule_set) | Q(
        rule_set_version__isnull=True, guideline=code
    )
    if code == settings.MR_CDS_DEFAULT_GUIDELINE:
        same |= Q(rule_set_version__isnull=True, guideline="")
    return (
        Assessment.objects.filter(same, status=AssessmentStatus.FINAL)
        .order_by("-created_at", "-id")
        .prefetch_related("prior_echos")
    )


def assessment_replay(*, version, limit: int = DEFAULT_LIMIT) -> ReplaySummary:
    """Counts of how the most recent ``limit`` assessments change under ``version``.

    Raises ``RuleSetError`` when the version itself is invalid.
    """
    limit = max(1, min(int(limit), MAX_LIMIT))
    compiled = version_compiled(version)
    summary = ReplaySummary(version=str(version), limit=limit)
    assessments = assessments_for_rule_set(version)[:limit]
    replay_into(summary, assessments, version=version, compiled=compiled)
    return summary


def stored_outcomes(queryset):
    """``queryset`` with what replay reads of the stored result: on PostgreSQL only its
    severity, stage and recommendation codes (``stored_outcome``), which spares decoding
    the whole result (~14 KB) of every row; elsewhere the result itself."""
    if connection.vendor != "postgresql":
        return queryset
    outcome = RawSQL(
        "CASE WHEN result IS NULL THEN NULL ELSE jsonb_build_object("
        "'severity', result->'severity', 'stage', result->'stage', 'recommendations', "
        "jsonb_path_query_array(result, '$.recommendations[*].code')) END",
        [],
        output_field=JSONField(),
    )
    return queryset.defer("result").annotate(stored_outcome=outcome)


def _stored(assessment) -> dict[str, Any] | None:
    outcome = getattr(assessment, "stored_outcome", _NOT_ANNOTATED)
    if outcome is _NOT_ANNOTATED:
        return assessment.result
    if outcome is not None:
        outcome["recommendations"] = [{"code": c} for c in outcome["recommendations"]]
    return outcome


_NOT_ANNOTATED = object()


def replay_into(summary: ReplaySummary, assessments, *, version, compiled) -> None:
    """Add to ``summary`` how each of ``assessments`` changes under ``compiled``."""
    for assessment in assessments:
        data = assessment_to_input(assessment)
        try:
            clean = input_parse(data)
            stored = _stored(assessment)
            if stored is not None:
                before = stored
                summary.stored_baseline += 1
            else:
                before = guideline_evaluate(
                    data=data, guideline=version.rule_set.code
                ).result
                summary.fresh_baseline += 1
        except (InputError, GuidelineError):
            summary.skipped += 1
            continue
        after = compiled_evaluate(clean, compiled)
        summary.replayed += 1
        changed = False
        for name, counter in (("severity", summary.severity), ("stage", summary.stage)):
            if before.get(name) != after.get(name):
                counter[(str(before.get(name)), str(after.get(name)))] += 1
                changed = True
        gained, lost = _codes(after) - _codes(before), _codes(before) - _codes(after)
        summary.codes_gained.update(gained)
        summary.codes_lost.update(lost)
        summary.changed += changed or bool(gained or lost)
