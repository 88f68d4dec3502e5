"""The prover at publication: prove a draft's safety invariants, refuse on a failure.

The gate (``version_publish``) calls ``version_prove_or_refuse`` once the draft's own
checks have passed. The proof depends only on the clinical content, so one proof per
content hash is kept for the process (publishing an unchanged copy costs nothing).
"""

from __future__ import annotations

from dataclasses import replace

from ..loaders import ruleset_from_version
from ..specs import CompiledRuleSet
from . import ProofReport, ruleset_prove


class SafetyProofFailed(Exception):
    """A safety invariant fails for the draft; ``lines`` describe the patient."""

    def __init__(self, report: ProofReport):
        self.report = report
        failed = ", ".join(o.key for o in report.failures)
        super().__init__(
            f"publication refused: {len(report.failures)} safety invariant(s) fail "
            f"({failed})"
        )

    @property
    def lines(self) -> list[str]:
        lines = []
        for outcome in self.report.failures:
            lines.append(f"{outcome.statement} [{outcome.status}] ({outcome.source})")
            lines.extend(outcome.description)
            lines.extend(f"rule that fired: {line}" for line in outcome.fired)
        return lines


_PROOFS: dict[str, ProofReport] = {}  # clinical content hash → report


def ruleset_proof(rule_set: CompiledRuleSet) -> ProofReport:
    """The proof report of a compiled rule set (memoised by its clinical content;
    the version label is not clinical content)."""
    report = _PROOFS.get(rule_set.content_hash)
    if report is None:
        if len(_PROOFS) > 64:
            _PROOFS.clear()
        report = _PROOFS[rule_set.content_hash] = ruleset_prove(rule_set)
    return replace(report, version=rule_set.version)


def version_prove_or_refuse(version) -> ProofReport:
    """Prove ``version``'s invariants; raise ``SafetyProofFailed`` if one fails."""
    report = ruleset_proof(ruleset_from_version(version))
    if not report.ok:
        raise SafetyProofFailed(report)
    return report


def version_proof(*, code: str, label: str | None = None) -> ProofReport:
    """The proof of rule set ``code``: the version labelled ``label``, else the
    published one (ORM read only)."""
    from ..models import RuleSetVersion, VersionStatus

    versions = RuleSetVersion.objects.filter(rule_set__code=code)
    if label:
        version = versions.get(version=label)
    else:
        version = versions.get(status=VersionStatus.PUBLISHED)
    return ruleset_proof(ruleset_from_version(version))
