"""MR severity by the ASE 2017 integrative approach (SPEC 0.2 and 1.3), made deterministic.

The thresholds are rule rows (``SeverityCriterion``); the procedure is this module:

1. Poor image quality → ``indeterminate`` (ASE algorithm footnote).
2. Trace: no measurable vena contracta, no quantitative value above zero, no more than
   small flow convergence, a tiny or brief jet, and no criterion specific for severe MR
   → ``none_trivial``. A severe-specific sign (flail leaflet, ruptured papillary muscle,
   severe lesion, wall-impinging jet, pulmonary-vein systolic reversal, large flow
   convergence) rules out trace and mild (SPEC 0.14 a): with nothing quantified the
   grade is then ``indeterminate`` at least.
3. Count the criteria specific for mild (M) and for severe (S) MR among the parameters
   actually supplied. S ≥ 4 with M = 0 → severe; M ≥ 4 with S = 0 → mild.
4. Otherwise put each available quantitative parameter (EROA, RVol, RF; measured, or
   derived when not measured) in its band: mild, mild-to-moderate, moderate-to-severe,
   severe. Lower bounds are inclusive (EROA 0.40 is severe, 0.39 moderate-to-severe).
5. Two or more parameters agreeing on a grade (moderate covers both subgrades), none two
   grades away → that grade; the subgrade is the majority band among them.
6. Secondary MR with an elliptical orifice: the ``secondary_elliptical`` rows of the rule
   set lower the severe cut-offs. Their conditions carry any further gate: ACC/AHA keeps
   the RF ≥ 50 % of SPEC 1.3 step 6 [J]; ESC 2025 Fig. 10 has none (SPEC 0.14 d).
7. Discordance → ``indeterminate``: quantitative grades two apart (mild against severe);
   on the four-band scale, a sign specific for severe MR against a mild or
   mild-to-moderate grade (the SPEC's example: VC ≥ 0.7 cm with EROA < 0.30 cm²), or a
   sign specific for mild MR against a moderate-to-severe or severe grade. Fewer than two
   quantitative parameters and fewer than four specific criteria also give
   ``indeterminate``.
8. Jet area never grades alone, and no single parameter grades alone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .parameters import BANDS, PARAMETERS
from .specs import Leaf, SeverityCriterion

QUANTITATIVE = (
    "echo.eroa_cm2",
    "echo.regurgitant_volume_ml",
    "echo.regurgitant_fraction_pct",
)
BAND_GRADE = {
    "mild": "mild",
    "mild_to_moderate": "moderate",
    "moderate_to_severe": "moderate",
    "severe": "severe",
}
GRADE_RANK = {"mild": 1, "moderate": 2, "severe": 3}
# Everything the grading procedure reads besides its rows (and the derivation inputs).
GRADING_INPUTS = frozenset({
    *QUANTITATIVE, "echo.image_quality", "echo.vena_contracta_cm",
    "echo.flow_convergence", "echo.jet_timing", "echo.jet_area_pct_la",
    "echo.elliptical_orifice", "echo.pisa_radius_cm", "echo.aliasing_velocity_cm_s",
    "echo.mr_peak_velocity_cm_s", "echo.mr_vti_cm", "echo.lvot_diameter_cm",
    "echo.lvot_vti_cm",
})  # fmt: skip


@dataclass(frozen=True)
class Finding:
    parameter: str
    value: Any
    unit: str
    tests_for: str
    met: bool | None
    criterion: str
    source: dict | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "parameter": self.parameter,
            "value": self.value,
            "unit": self.unit,
            "supports": self.tests_for if self.met else None,
            "tests_for": self.tests_for,
            "met": self.met,
            "criterion": self.criterion,
            "source": self.source,
        }


@dataclass
class Grading:
    severity: str
    subgrade: str | None = None
    reason: str = ""
    mild_specific: int = 0
    severe_specific: int = 0
    bands: dict[str, str] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    missing: list[tuple[str, str]] = field(default_factory=list)


def _first_leaf(criterion: SeverityCriterion, facts: Mapping[str, Any]) -> Leaf:
    leaves = criterion.condition.all_leaves
    for leaf in leaves:
        if facts.get(leaf.parameter) is not None:
            return leaf
    return leaves[0]


UNITS = {name: param.unit for name, param in PARAMETERS.items()}


def _unit(parameter: str) -> str:
    return UNITS.get(parameter, "")


def _finding(criterion, facts, tests_for, met) -> Finding:
    leaf = _first_leaf(criterion, facts)
    return Finding(
        parameter=leaf.parameter,
        value=facts.get(leaf.parameter),
        unit=_unit(leaf.parameter),
        tests_for=tests_for,
        met=met,
        criterion=str(criterion),
        source=criterion.source.as_dict() if criterion.source else None,
    )


_BAND_ROWS: dict[int, tuple[Sequence[SeverityCriterion], dict]] = {}


def _band_rows(criteria, parameter: str, scope: str = "all") -> list[SeverityCriterion]:
    """The quantitative cut-off rows of one parameter and scope (indexed once per
    compiled tuple of criteria)."""
    cached = _BAND_ROWS.get(id(criteria))
    if cached is None or cached[0] is not criteria:
        index: dict[tuple[str, str], list[SeverityCriterion]] = {}
        for c in criteria:
            if c.role == "band":
                leaf = c.condition.all_leaves[0]
                index.setdefault((leaf.parameter, c.scope), []).append(c)
        cached = _BAND_ROWS[id(criteria)] = (criteria, index)
    return cached[1].get((parameter, scope), [])


def _band(parameter, value, rows, facts) -> tuple[str, SeverityCriterion | None]:
    """Highest band whose lower bound the value reaches (rows sorted by threshold)."""
    best, best_row = "mild", None
    for row in rows:
        reached = row.condition.evaluate(facts, set())
        if reached and BANDS.index(row.band) >= BANDS.index(best):
            best, best_row = row.band, row
    return best, best_row


def grade_severity(
    facts: Mapping[str, Any],
    criteria: Sequence[SeverityCriterion],
    *,
    secondary: bool,
) -> Grading:
    """Grade MR severity from ``facts`` (dotted paths → values) with ``criteria``."""
    findings: list[Finding] = []
    counted = {"specific_mild": 0, "specific_severe": 0}
    met_keys: set[str] = set()
    for criterion in criteria:
        if criterion.role == "band":
            continue
        met = criterion.condition.evaluate(facts, set())
        tests_for = "severe" if criterion.role.endswith("severe") else "mild"
        findings.append(_finding(criterion, facts, tests_for, met))
        if met:
            met_keys.add(criterion.key)
            if criterion.role in counted:
                counted[criterion.role] += 1
    mild_n, severe_n = counted["specific_mild"], counted["specific_severe"]

    # Quantitative bands (SPEC 1.1, 1.4; step 6 for secondary MR).
    bands: dict[str, str] = {}
    elliptical = secondary and facts.get("echo.elliptical_orifice") is True
    for parameter in QUANTITATIVE:
        if facts.get(parameter) is None:
            continue
        band, row = _band(
            parameter, facts[parameter], _band_rows(criteria, parameter), facts
        )
        if elliptical and band != "severe":
            lowered = _band_rows(criteria, parameter, "secondary_elliptical")
            new_band, new_row = _band(parameter, facts[parameter], lowered, facts)
            if new_band == "severe":
                band, row = new_band, new_row
        bands[parameter] = band
        if row is None:
            criterion_text = (
                f"{PARAMETERS[parameter].display} below every cut-off → mild"
            )
            source = None
        else:
            criterion_text, source = (
                str(row),
                row.source.as_dict() if row.source else None,
            )
        findings.append(
            Finding(parameter, facts[parameter], _unit(parameter), band, True,
                    criterion_text, source)
        )  # fmt: skip

    grading = Grading(
        severity="indeterminate",
        mild_specific=mild_n,
        severe_specific=severe_n,
        bands=bands,
        findings=findings,
    )

    if facts.get("echo.image_quality") == "poor":
        grading.reason = "poor image quality (ASE 2017 algorithm footnote)"
        return _indeterminate(grading, facts)

    vc = facts.get("echo.vena_contracta_cm")
    quant_values = [facts.get(p) for p in QUANTITATIVE]
    if (
        severe_n == 0
        and (vc is None or vc == 0)
        and all(v is None or v == 0 for v in quant_values)
        and facts.get("echo.flow_convergence") in (None, "none_or_small")
        and (
            facts.get("echo.jet_timing") == "brief"
            or facts.get("echo.jet_area_pct_la") == 0
        )
    ):
        grading.severity = "none_trivial"
        grading.reason = "trace jet: no measurable vena contracta or flow convergence"
        return grading

    grades = [BAND_GRADE[b] for b in bands.values()]
    quant_grade = None
    if len(grades) >= 2:
        ranks = [GRADE_RANK[g] for g in grades]
        if max(ranks) - min(ranks) >= 2:
            grading.reason = "quantitative parameters two grades apart"
            grading.warnings.append(
                "Discordant quantitative parameters: "
                + ", ".join(f"{p.split('.')[-1]} {b}" for p, b in bands.items())
            )
            return _indeterminate(grading, facts)
        agreed = [g for g, n in Counter(grades).items() if n >= 2]
        if len(agreed) == 1:
            quant_grade = agreed[0]

    candidate, settled_by = None, ""
    if severe_n >= 4 and mild_n == 0:
        candidate, settled_by = "severe", f"{severe_n} criteria specific for severe MR"
    elif mild_n >= 4 and severe_n == 0:
        candidate, settled_by = "mild", f"{mild_n} criteria specific for mild MR"
    elif quant_grade:
        candidate = quant_grade
        settled_by = (
            f"{Counter(grades)[quant_grade]} concordant quantitative parameters"
        )
    elif len(grades) >= 2:
        grading.reason = "quantitative parameters disagree (no two on one grade)"
        grading.warnings.append(
            "Quantitative parameters disagree: "
            + ", ".join(f"{p.split('.')[-1]} {b}" for p, b in bands.items())
        )
        return _indeterminate(grading, facts)
    else:
        grading.reason = "fewer than two quantitative parameters and fewer than four specific criteria"
        return _indeterminate(grading, facts)

    subgrade = _majority_subgrade(bands) if candidate == "moderate" else None
    discordance = _discordance(candidate, subgrade, bands, met_keys, mild_n, severe_n)
    if discordance:
        grading.reason = discordance
        grading.warnings.append(f"Discordant echo findings: {discordance}")
        return _indeterminate(grading, facts)

    grading.severity = candidate
    grading.reason = settled_by
    if candidate == "moderate":
        grading.subgrade = subgrade
        if subgrade is None:
            grading.warnings.append(
                "Moderate MR: the quantitative parameters split between the "
                "mild-to-moderate and moderate-to-severe subgrades"
            )
    return grading


def _majority_subgrade(bands: dict[str, str]) -> str | None:
    """The moderate subgrade most quantitative parameters share (None on a tie)."""
    counts = Counter(
        b for b in bands.values() if BAND_GRADE[b] == "moderate"
    ).most_common()
    if counts and (len(counts) == 1 or counts[0][1] > counts[1][1]):
        return counts[0][0]
    return None


def _discordance(candidate, subgrade, bands, met_keys, mild_n, severe_n) -> str:
    """Internal inconsistency (SPEC 1.3 step 7), judged on the four-band scale.

    A sign specific for severe MR is discordant with a grade two band steps below severe
    (mild or mild-to-moderate): the SPEC's example is VC ≥ 0.7 cm with EROA < 0.30 cm².
    Mirrored for signs specific for mild MR against moderate-to-severe or severe. A sign
    one band step away is not discordant: with 2-3 criteria, ASE lets quantitation
    decide.
    """
    low, high = {"mild", "mild_to_moderate"}, {"moderate_to_severe", "severe"}
    eroa_band = bands.get("echo.eroa_cm2")
    if "vc_severe" in met_keys and eroa_band in low:
        return "vena contracta ≥ 0.7 cm with EROA below 0.30 cm²"
    if "vc_mild" in met_keys and eroa_band in high:
        return "vena contracta < 0.3 cm with EROA ≥ 0.30 cm²"
    level = {"severe": "severe", "mild": "mild"}.get(candidate, subgrade)
    if severe_n and level in low:
        return (
            f"{severe_n} sign(s) specific for severe MR against a {_words(level)} grade"
        )
    if mild_n and level in high:
        return f"{mild_n} sign(s) specific for mild MR against a {_words(level)} grade"
    if candidate == "severe" and set(bands.values()) & low:
        return "severe signs against a quantitative parameter in the mild-to-moderate range or below"
    if candidate == "mild" and set(bands.values()) & high:
        return "mild signs against a quantitative parameter in the moderate-to-severe range or above"
    return ""


def _words(band: str) -> str:
    return band.replace("_", "-")


def _indeterminate(grading: Grading, facts: Mapping[str, Any]) -> Grading:
    grading.severity = "indeterminate"
    grading.subgrade = None
    for parameter, why in (
        ("echo.vena_contracta_cm", "vena contracta width is needed to grade severity"),
        ("echo.eroa_cm2", "EROA (or PISA radius, aliasing and MR velocity) is needed to quantify MR"),
        ("echo.regurgitant_volume_ml", "regurgitant volume is needed to quantify MR"),
        ("echo.regurgitant_fraction_pct", "regurgitant fraction is needed to quantify MR"),
    ):  # fmt: skip
        if facts.get(parameter) is None:
            grading.missing.append((parameter, why))
    return grading
