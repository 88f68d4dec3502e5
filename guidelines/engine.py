"""The MR-CDS rules engine: assessment input + compiled rule set → assessment result.

Pure: no ORM, no settings, no I/O. ``evaluate(data, rule_set)`` takes the canonical input
of ``validation.input_parse`` (CONTRACT section 1) and a ``specs.CompiledRuleSet`` and returns the
result of CONTRACT section 2 as JSON-ready data. The steps, in order:

1. Derived values (SPEC 0.6 and 6): BSA (Mosteller), BMI, LVESD index; EROA from PISA,
   RVol = EROA × MR VTI, RF = RVol / (RVol + LVOT forward stroke volume); volumetric EROA
   = RVol / MR VTI. A measured value wins over a derived one; a difference over 20 % is a
   warning. A derived value outside the contract's plausible range is not used.
2. Severity by the ASE 2017 procedure of ``grading.py``.
3. MR type from the etiology (SPEC 0.4); stage (SPEC 0.3, ACC/AHA Tables 17 and 18).
4. Symptom status, surgical risk (given, or derived from STS-PROM and frailty by SPEC
   0.13 with a warning), risk factors (SPEC 0.7, context only).
5. Recommendation rules in ``position`` order. A rule fires when its condition is true;
   unknown (a needed value is absent) never fires and lists the value under ``missing``.
   Within a ``group`` the first firing rule wins; a code is listed once, from its first
   firing rule; a rule may test the codes recommended before it (``recommendations``).
   ``no_treatment`` is dropped, with a warning, if any intervention fires.
6. Recommendations that survive missing data (SPEC 0.14 c, ``completion.py``): a code
   that some rule gives whatever value the missing inputs take is given, naming the
   unknown; one that depends on the missing values is listed under ``conditional``.

What is interpreted per rule set is compiled once per rule set (kept in
``rule_set.memo``): the rules each combination of the guard facts admits, specialised to
them (``rules_admitted``), and their pass as one generated function (``rule_pass``);
the grading's sign rows and bands likewise (``grading.PreparedRows``). The generated
functions test the same conditions in the same order as the condition trees
(``specs.inline_condition``), so the result and its trace are the same.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from . import completion
from .grading import GRADING_INPUTS, QUANTITATIVE, grade_severity
from .parameters import INTERVENTION_CODES
from .specs import (
    CompiledRuleSet,
    Condition,
    FunctionSource,
    Leaf,
    RecommendationRule,
    always,
    format_value,
    in_reading_order,
    inline_branches,
    specialise,
)
from .vocabulary import (
    FIELDS_BY_PATH,
    PRIMARY_ETIOLOGIES,
    SECONDARY_ATRIAL_ETIOLOGIES,
    SECONDARY_VENTRICULAR_ETIOLOGIES,
)

PI = Decimal("3.14159265358979323846264338")
TWO_PI = 2 * PI  # exact (27 digits), so 2 * PI * r ... gives the same value
MEASURED_DERIVED_TOLERANCE = Decimal("0.20")  # SPEC 0.6: warn above 20 % difference

# SPEC 0.7 (context only, never changes the grade) [J].
OLDER_AGE_YEARS = 65
LOW_BMI_KG_M2 = Decimal("18.5")  # WHO underweight
LOW_EGFR = Decimal(60)  # KDIGO G3 or worse
RECORDED_RISK_FACTORS = (
    "prior_myocardial_infarction",
    "prior_mitral_stenosis",
    "mitral_valve_prolapse",
    "renal_dysfunction",
    "marfan_syndrome",
    "ehlers_danlos_syndrome",
    "rheumatic_fever",
    "infective_endocarditis_history",
    "chest_radiation",
    "hypertension",
)

# SPEC 0.13 surgical-risk table (AHA/ACC 2014/2017, kept in 2020): STS-PROM < 4 % low,
# 4–8 % intermediate, > 8 % high; mild frailty intermediate, moderate-to-severe high.
# Frailty alone is never "prohibitive"; "low" also needs a known STS-PROM.
STS_LOW_BELOW = Decimal(4)
STS_HIGH_ABOVE = Decimal(8)
FRAILTY_RISK = {
    "none": "low",
    "mild": "intermediate",
    "moderate": "high",
    "severe": "high",
}
RISK_ORDER = ("low", "intermediate", "high", "prohibitive")

SYMPTOM_FLAGS = (
    "dyspnea",
    "fatigue",
    "edema",
    "orthopnea",
    "reduced_exercise_tolerance",
)
SYMPTOM_FLAG_PATHS = tuple(f"symptoms.{name}" for name in SYMPTOM_FLAGS)
RISK_FACTOR_PATHS = tuple(
    (name, f"risk_factors.{name}") for name in RECORDED_RISK_FACTORS
)

# Where a derived fact comes from, to name the input a clinician should add.
DERIVED_INPUTS = {
    "surgical_risk": ("management.surgical_risk",),
    "lv_progression_serial": ("prior_echos",),
    "symptom_status": ("symptoms.nyha_class",),
    "derived.bsa_m2": ("patient.height_cm", "patient.weight_kg"),
    "derived.bmi_kg_m2": ("patient.height_cm", "patient.weight_kg"),
    "derived.lvesd_index_mm_m2": (
        "echo.lvesd_mm",
        "patient.height_cm",
        "patient.weight_kg",
    ),
    "derived.tricuspid_annulus_index_mm_m2": (
        "echo.tricuspid_annulus_mm",
        "patient.height_cm",
        "patient.weight_kg",
    ),
}


# section → field → "section.field": the vocabulary's paths, made once.
_DOTTED: dict[str, dict[str, str]] = {}
for _path in FIELDS_BY_PATH:
    if "." in _path:
        _section, _name = _path.split(".", 1)
        _DOTTED.setdefault(_section, {})[_name] = sys.intern(_path)


def _flatten(data: Mapping[str, Any]) -> dict[str, Any]:
    """The input as facts: ``{"echo": {"lvef_pct": 55}}`` → ``{"echo.lvef_pct": 55}``
    (a field's dotted name is made once, not per evaluation)."""
    facts: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            dotted = _DOTTED.get(key, {})
            for name, item in value.items():
                facts[dotted.get(name) or f"{key}.{name}"] = item
        elif key != "prior_echos":
            facts[key] = value
    facts.setdefault("presentation", "chronic")
    facts.setdefault("etiology", "unknown")
    return facts


_PLACES = {places: Decimal(places) for places in ("0.001", "0.1")}


class _Derivation:
    """Collects derived values (full precision for rules, rounded for display)."""

    __slots__ = ("exact", "shown", "formulas")

    def __init__(self):
        self.exact: dict[str, Decimal] = {}
        self.shown: dict[str, float] = {}
        self.formulas: list[dict[str, Any]] = []

    def add(self, name, value, places, unit, formula):
        self.exact[name] = value
        self.shown[name] = shown = float(value.quantize(_PLACES[places]))
        self.formulas.append(
            {"parameter": name, "value": shown, "unit": unit, "formula": formula}
        )


def derive(facts: Mapping[str, Any], warnings: list[str]) -> _Derivation:
    d = _Derivation()
    h, w = facts.get("patient.height_cm"), facts.get("patient.weight_kg")
    if h is not None and w is not None:
        d.add(
            "bsa_m2",
            (h * w / 3600).sqrt(),
            "0.001",
            "m²",
            "Mosteller: √(height cm × weight kg / 3600)",
        )
        d.add(
            "bmi_kg_m2", w / (h / 100) ** 2, "0.1", "kg/m²", "weight kg / (height m)²"
        )
        bmi = d.exact["bmi_kg_m2"]
        if bmi < 12 or bmi > 70:
            warnings.append(
                f"Implausible BMI {d.shown['bmi_kg_m2']} kg/m²: check height and weight"
            )
    lvesd = facts.get("echo.lvesd_mm")
    if lvesd is not None and "bsa_m2" in d.exact:
        d.add(
            "lvesd_index_mm_m2",
            lvesd / d.exact["bsa_m2"],
            "0.1",
            "mm/m²",
            "LVESD mm / BSA m² (ESC 2025)",
        )
    annulus = facts.get("echo.tricuspid_annulus_mm")
    if annulus is not None and "bsa_m2" in d.exact:
        d.add(
            "tricuspid_annulus_index_mm_m2",
            annulus / d.exact["bsa_m2"],
            "0.1",
            "mm/m²",
            "tricuspid annulus mm / BSA m² (ESC 2025 Rec. Table 9)",
        )

    r = facts.get("echo.pisa_radius_cm")
    va = facts.get("echo.aliasing_velocity_cm_s")
    vmax = facts.get("echo.mr_peak_velocity_cm_s")
    vti = facts.get("echo.mr_vti_cm")
    if r is not None and va is not None and vmax is not None:
        d.add(
            "eroa_cm2",
            TWO_PI * r * r * va / vmax,
            "0.001",
            "cm²",
            "PISA: 2π × r² × aliasing velocity / MR peak velocity",
        )
    eroa = facts.get("echo.eroa_cm2", d.exact.get("eroa_cm2"))
    rvol_measured = facts.get("echo.regurgitant_volume_ml")
    if eroa is not None and vti is not None:
        d.add("regurgitant_volume_ml", eroa * vti, "0.1", "mL", "EROA × MR VTI")
    elif rvol_measured is not None and vti is not None and "eroa_cm2" not in d.exact:
        d.add(
            "eroa_cm2", rvol_measured / vti, "0.001", "cm²", "volumetric: RVol / MR VTI"
        )
    lvot_d, lvot_vti = facts.get("echo.lvot_diameter_cm"), facts.get("echo.lvot_vti_cm")
    if lvot_d is not None and lvot_vti is not None:
        d.add(
            "lvot_stroke_volume_ml",
            PI * (lvot_d / 2) ** 2 * lvot_vti,
            "0.1",
            "mL",
            "π × (LVOT diameter / 2)² × LVOT VTI",
        )
        rvol = (
            rvol_measured
            if rvol_measured is not None
            else d.exact.get("regurgitant_volume_ml")
        )
        if rvol is not None and rvol + d.exact["lvot_stroke_volume_ml"] > 0:
            d.add(
                "regurgitant_fraction_pct",
                100 * rvol / (rvol + d.exact["lvot_stroke_volume_ml"]),
                "0.1",
                "%",
                "RVol / (RVol + LVOT forward stroke volume) × 100",
            )
    return d


# (input path, derived name, its field) of each quantitative value a derivation may fill
_QUANTITATIVE_DERIVED = tuple(
    (path, path.split(".", 1)[1], FIELDS_BY_PATH[path]) for path in QUANTITATIVE
)
# (derived name, its fact) of the derived values the rules read
_DERIVED_FACTS = tuple(
    (name, sys.intern(f"derived.{name}"))
    for name in (
        "bsa_m2",
        "bmi_kg_m2",
        "lvesd_index_mm_m2",
        "tricuspid_annulus_index_mm_m2",
    )
)


def _use_derived(
    facts: dict[str, Any], d: _Derivation, warnings: list[str]
) -> dict[str, str]:
    """Fill unmeasured quantitative values from derived ones; report disagreements."""
    origin: dict[str, str] = {}
    exact = d.exact
    for path, name, spec in _QUANTITATIVE_DERIVED:
        derived = exact.get(name)
        if derived is None:
            continue
        measured = facts.get(path)
        if measured is not None:
            if (
                measured > 0
                and abs(derived - measured) / measured > MEASURED_DERIVED_TOLERANCE
            ):
                warnings.append(
                    f"Measured {spec.label} {measured} {spec.unit} and derived "
                    f"{d.shown[name]} {spec.unit} differ by more than 20 %; "
                    "the measured value is used"
                )
            continue
        if not (spec.minimum <= derived <= spec.maximum):
            warnings.append(
                f"Derived {spec.label} {d.shown[name]} {spec.unit} is outside the plausible "
                f"range {spec.range_text}; not used: check the PISA/Doppler inputs"
            )
            continue
        facts[path] = derived
        origin[path] = "derived"
    return origin


def base_mr_type(etiology: str) -> str | None:
    if etiology in PRIMARY_ETIOLOGIES:
        return "primary"
    if etiology in SECONDARY_VENTRICULAR_ETIOLOGIES:
        return "secondary_ventricular"
    if etiology in SECONDARY_ATRIAL_ETIOLOGIES:
        return "secondary_atrial"
    return None


def final_mr_type(
    etiology: str, severity: str, warnings: list[str], base: str | None = None
) -> str:
    """The MR type: the etiology's (``base``, when already worked out), else by
    severity."""
    if base is None:
        base = base_mr_type(etiology)
    if base:
        return base
    if severity == "none_trivial":
        return "not_applicable"
    if etiology == "structurally_normal":
        if severity == "mild":
            return "not_applicable"
        warnings.append(
            "Significant or indeterminate MR recorded on a structurally normal valve: "
            "establish the mechanism"
        )
    return "undetermined"


def symptom_status(facts: Mapping[str, Any], warnings: list[str]) -> str:
    if facts.get("symptoms.equivocal") is True:
        return "equivocal"
    nyha = facts.get("symptoms.nyha_class")
    # the flags read in one call; named only when one is True (most often none is)
    flags = list(map(facts.get, SYMPTOM_FLAG_PATHS))
    flagged = (
        [s for s, value in zip(SYMPTOM_FLAGS, flags, strict=True) if value is True]
        if True in flags
        else []
    )
    congested = facts.get("hemodynamics.pulmonary_edema") is True or (
        facts.get("hemodynamics.cardiogenic_shock") is True
    )
    if nyha == 1 and (flagged or congested):
        warnings.append(
            "NYHA class I recorded together with symptoms ("
            + ", ".join(flagged or ["congestion"])
            + "): treated as symptomatic"
        )
    if (nyha is not None and nyha >= 2) or flagged or congested:
        return "symptomatic"
    if nyha == 1:
        return "asymptomatic"
    return "unknown"


def surgical_risk(facts: Mapping[str, Any], warnings: list[str]) -> str | None:
    given = facts.get("management.surgical_risk")
    sts = facts.get("management.sts_prom_pct")
    frailty = facts.get("management.frailty")
    candidates = []
    if sts is not None:
        if sts < STS_LOW_BELOW:
            candidates.append("low")
        elif sts <= STS_HIGH_ABOVE:
            candidates.append("intermediate")
        else:
            candidates.append("high")
    if frailty is not None:
        candidates.append(FRAILTY_RISK[frailty])
    derived = max(candidates, key=RISK_ORDER.index) if candidates else None
    if derived == "low" and sts is None:
        derived = None  # "low" needs STS-PROM < 4 % as well as no frailty
    if given:
        if derived and RISK_ORDER.index(derived) > RISK_ORDER.index(given):
            warnings.append(
                f"Surgical risk recorded as {given}, but STS-PROM/frailty suggest at least "
                f"{derived} (SPEC 0.13): the Heart Team's category is used"
            )
        return given
    if derived:
        warnings.append(
            f"Surgical risk derived as {derived} from "
            + " and ".join(
                x
                for x in (
                    f"STS-PROM {sts} %" if sts is not None else "",
                    f"frailty {frailty}" if frailty is not None else "",
                )
                if x
            )
            + " (SPEC 0.8/0.13); confirm with the Heart Team"
        )
    return derived


def lv_progression(data: Mapping[str, Any], facts: Mapping[str, Any]) -> bool | None:
    """Progressive LV dilation or EF decline over the last ≥3 serial studies (P5)."""
    if len(data.get("prior_echos", ())) < 2:
        return None  # with today's study, fewer than three
    studies = [dict(s) for s in data.get("prior_echos", [])]
    if not any(s["months_ago"] == 0 for s in studies):
        studies.append(
            {
                "months_ago": 0,
                "lvef_pct": facts.get("echo.lvef_pct"),
                "lvesd_mm": facts.get("echo.lvesd_mm"),
            }
        )
    studies.sort(key=lambda s: -s["months_ago"])  # oldest first
    lvesd = [s["lvesd_mm"] for s in studies if s.get("lvesd_mm") is not None]
    lvef = [s["lvef_pct"] for s in studies if s.get("lvef_pct") is not None]
    if len(lvesd) < 3 and len(lvef) < 3:
        return None
    dilating = len(lvesd) >= 3 and lvesd[-3] < lvesd[-2] < lvesd[-1]
    declining = len(lvef) >= 3 and lvef[-3] > lvef[-2] > lvef[-1]
    return dilating or declining


def stage_of(facts, rule_set, mr_type, severity, symptoms, missing, findings) -> str:
    if facts["presentation"] == "acute":
        return "not_applicable"
    if severity == "indeterminate":
        return "undetermined"
    if mr_type == "not_applicable":
        return "not_applicable"
    if severity == "none_trivial":
        return "A"
    if severity in ("mild", "moderate"):
        return "B"
    # severe, chronic
    if mr_type == "undetermined":
        missing.append(
            ("etiology", "the MR mechanism (primary or secondary) decides the stage")
        )
        return "undetermined"
    if symptoms in ("unknown", "equivocal"):
        missing.append(
            (
                "symptoms.nyha_class",
                "symptom status tells stage C (asymptomatic) from D (symptomatic)",
            )
        )
        return "undetermined"
    if mr_type == "primary":
        if symptoms == "symptomatic":
            return "D"
        results = []
        for criterion, test, parameter, unit, text, source in _stage_rows(rule_set):
            needed: set[str] = set()
            met = test(facts, needed)
            results.append(met)
            findings.append(
                {
                    "parameter": parameter,
                    "value": _jsonable(facts.get(parameter)),
                    "unit": unit,
                    "supports": "C2" if met else None,
                    "tests_for": "C2",
                    "met": met,
                    "criterion": text,
                    "source": None if source is None else source.copy(),
                }
            )
            if met is None:
                for parameter in in_reading_order(criterion.condition, needed):
                    missing.append((parameter, "needed to tell stage C1 from C2"))
        # (each result is True, False or None: ``in`` finds True and None alone)
        if True in results:
            return "C2"
        if results and None not in results:  # all False
            return "C1"
        return "undetermined"
    # secondary MR: no C1/C2 split; D needs symptoms persisting on optimised GDMT and
    # after revascularisation (ACC/AHA Table 18).
    if symptoms == "asymptomatic":
        return "C"
    gdmt = facts.get("management.gdmt_optimized")
    if gdmt is None:
        missing.append(
            (
                "management.gdmt_optimized",
                "secondary MR is stage D only if symptoms persist on optimised GDMT",
            )
        )
        return "undetermined"
    if gdmt is False or facts.get("management.cad_requiring_revascularization") is True:
        return "C"
    return "D"


def _stage_rows(rule_set) -> tuple[tuple, ...]:
    """Each C1/C2 criterion with what its finding needs, worked out once per rule set:
    (criterion, its condition's test, the parameter its first leaf reads, the unit in
    that leaf's label, its text, its source)."""
    rows = rule_set.memo.get("stage rows")
    if rows is None:
        rows = []
        for criterion in rule_set.stage_criteria:
            leaf = criterion.condition.all_leaves[0]
            unit = (
                leaf.label.rsplit("(", 1)[-1].rstrip(")") if "(" in leaf.label else ""
            )
            source = criterion.source.as_dict() if criterion.source else None
            test = criterion.condition.test
            rows.append((criterion, test, leaf.parameter, unit, str(criterion), source))
        rows = rule_set.memo["stage rows"] = tuple(rows)
    return rows


def risk_factors(
    facts: Mapping[str, Any], derived: _Derivation, recorded: bool = True
) -> list[str]:
    """The risk factors present (SPEC 0.7); ``recorded`` false: the input has no
    risk-factor section, so none of its flags is read."""
    codes = []
    if facts.get("patient.sex") == "female":
        codes.append("female_sex")
    age = facts.get("patient.age_years")
    if age is not None and age >= OLDER_AGE_YEARS:
        codes.append("older_age")
    if "bmi_kg_m2" in derived.exact and derived.exact["bmi_kg_m2"] < LOW_BMI_KG_M2:
        codes.append("low_body_mass")
    if recorded:
        for name, path in RISK_FACTOR_PATHS:
            if facts.get(path) is True:
                codes.append(name)
    egfr = facts.get("labs.egfr_ml_min_1_73m2")
    if egfr is not None and egfr < LOW_EGFR and "renal_dysfunction" not in codes:
        codes.append("renal_dysfunction")
    return codes


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    return value


def _plausibility_warnings(facts: Mapping[str, Any], warnings: list[str]) -> None:
    age = facts.get("patient.age_years")
    if age is not None and age < 18:
        warnings.append(
            "Patient under 18: the guideline rule sets are written for adults; "
            "outside the intended use"
        )
    if (
        facts.get("patient.pregnancy_planned") is True
        and facts.get("patient.sex") == "male"
    ):
        warnings.append(
            "Pregnancy planned recorded for a male patient: check the record"
        )
    if facts.get("echo.flail_leaflet") is True and facts.get("echo.leaflet_lesion") in (
        "none",
        "mild",
    ):
        warnings.append("Flail leaflet recorded with a none/mild leaflet lesion: check")
    if facts.get("presentation") == "acute" and facts.get("etiology") in (
        "rheumatic",
        "mitral_annular_calcification",
        "congenital",
        "secondary_atrial",
    ):
        warnings.append(
            "Acute presentation recorded with a cause that is usually chronic"
        )
    atrial = facts.get("etiology") in SECONDARY_ATRIAL_ETIOLOGIES
    lvef = facts.get("echo.lvef_pct")
    if atrial and lvef is not None and lvef < 50:
        warnings.append(
            "Atrial secondary MR recorded with LVEF < 50 %: ESC 2025 defines atrial SMR "
            "with preserved LVEF (≥ 50 %); consider ventricular SMR"
        )


def _any_recorded(section: Mapping[str, Any] | None) -> bool:
    """Whether a section of the input has some value that is not None (a loop that
    returns at the first: cheaper than ``any`` over a generator at this size)."""
    for value in (section or {}).values():  # noqa: SIM110 (see the docstring)
        if value is not None:
            return True
    return False


def evaluate(data: Mapping[str, Any], rule_set: CompiledRuleSet) -> dict[str, Any]:
    """Evaluate one canonical assessment input with a compiled rule set."""
    warnings: list[str] = []
    missing: list[tuple[str, str]] = []
    facts = _flatten(data)
    _plausibility_warnings(facts, warnings)

    derived = derive(facts, warnings)
    origin = _use_derived(facts, derived, warnings)
    exact = derived.exact
    for name, fact in _DERIVED_FACTS:
        if name in exact:
            facts[fact] = exact[name]

    base_type = base_mr_type(facts["etiology"])
    grading = grade_severity(
        facts,
        rule_set.severity_criteria,
        secondary=bool(base_type and base_type.startswith("secondary")),
    )
    warnings.extend(grading.warnings)
    missing.extend(grading.missing)
    mr_type = final_mr_type(facts["etiology"], grading.severity, warnings, base_type)
    symptoms = symptom_status(facts, warnings)
    findings = grading.findings  # JSON-ready: numbers as floats
    if origin:
        for finding in findings:
            if finding["parameter"] in origin:
                finding["derived"] = True
    stage_missing: list[tuple[str, str]] = []
    stage = stage_of(
        facts, rule_set, mr_type, grading.severity, symptoms, stage_missing, findings
    )
    missing.extend(stage_missing)

    # the facts the rules read besides the input, set one by one (no dict to build
    # and merge); the two worked out from the facts are worked out before any is set
    risk = surgical_risk(facts, warnings)
    progression = lv_progression(data, facts)
    # Derived echo values come from echo inputs, so the section decides.
    echo_recorded = _any_recorded(data.get("echo"))
    facts["mr_type"] = mr_type
    facts["severity"] = grading.severity
    facts["severity_subgrade"] = grading.subgrade
    facts["stage"] = stage
    facts["symptom_status"] = symptoms
    facts["surgical_risk"] = risk
    facts["severe_specific_count"] = grading.severe_specific
    facts["mild_specific_count"] = grading.mild_specific
    facts["lv_progression_serial"] = progression
    facts["echo_recorded"] = echo_recorded
    # one reading of the guard facts (``GUARD_FACTS``), the key of the compiled passes
    guard = guard_values(facts)
    recommendations, cautions, unknown_rules, group_fired = apply_rules(
        facts, rule_set, missing, warnings, guard
    )
    conditional = facts.pop("deferred")
    completed = complete_recommendations(
        facts,
        rule_set,
        recommendations,
        unknown_rules,
        group_fired,
        [p for p, _ in stage_missing] if stage_missing else [],
        missing,
        warnings,
        guard,
    )
    if completed:
        deferred_codes = {c["code"] for c in conditional}
        conditional.extend(c for c in completed if c["code"] not in deferred_codes)

    return {
        "guideline": rule_set.header(),
        "mr_type": mr_type,
        "severity": grading.severity,
        "severity_subgrade": grading.subgrade,
        "severity_basis": grading.reason,
        "stage": stage,
        "symptom_status": symptoms,
        "surgical_risk": facts["surgical_risk"],
        "derived": derived.shown,  # made for this evaluation, held nowhere else
        "derivations": derived.formulas,
        "risk_factors": risk_factors(facts, derived, "risk_factors" in data),
        "findings": findings,
        "recommendations": recommendations,
        "cautions": cautions,
        "conditional": conditional,
        "missing": _merge_missing(missing, facts),
        "warnings": list(dict.fromkeys(warnings)),
    }


def apply_rules(facts, rule_set: CompiledRuleSet, missing, warnings, guard=None):
    """Run the rules in order; also return the unknown ones and where groups fired.

    The pass itself is ``rule_pass``: it tests each admitted rule and calls back here
    for the few that are undecided or fire."""
    recommendations: list[dict[str, Any]] = []
    cautions: list[dict[str, Any]] = []
    deferred: list[dict[str, Any]] = []
    codes: list[str] = []
    groups_done: dict[str, int] = {}
    unknown: list[tuple[Any, tuple[str, ...]]] = []
    facts["recommendations"] = ()

    def undecided(prepared: PreparedRule, needed: set[str]) -> None:
        rule = prepared.rule
        if len(needed) == 1:  # what a condition reports is among what it reads
            names = tuple(needed)
        else:
            names = in_reading_order(rule.condition, needed)
        reason = prepared.undecided_reason
        for parameter in names:
            missing.append((parameter, reason))
        if rule.kind == "recommendation":
            unknown.append((rule, names))

    def fired(prepared: PreparedRule) -> tuple[str, ...]:
        """Record a rule that fired; return the codes recommended so far."""
        rule = prepared.rule
        for parameter, reason in prepared.assumed:
            if facts.get(parameter) is None:
                missing.append((parameter, reason))
        if rule.group:
            groups_done[rule.group] = rule.position
        if rule.kind == "caution":
            cautions.append(prepared.entry())
        elif rule.kind == "conditional":
            deferred.append(_deferred_entry(rule, prepared.entry()))
        elif rule.code not in codes:
            codes.append(rule.code)
            facts["recommendations"] = tuple(codes)
            recommendations.append(prepared.entry())
        return facts["recommendations"]

    rule_pass(rule_set, facts, guard)(
        facts, groups_done, set(), codes, recommendations, fired, undecided
    )
    facts["recommendations"] = tuple(codes)
    if "no_treatment" in codes:
        recommendations = _without_no_treatment(recommendations, warnings)
    facts["deferred"] = deferred
    return recommendations, cautions, unknown, groups_done


def rule_pass(rule_set, facts, guard=None) -> Callable[..., None]:
    """The recommendation pass for these guard facts, compiled once per rule set and
    combination of their values (``compile_rule_pass``; ``guard``: the values, when
    read already)."""
    key = ("rule pass", guard_values(facts) if guard is None else guard)
    run = rule_set.memo.get(key)
    if run is None:
        run = rule_set.memo[key] = compile_rule_pass(rules_admitted(rule_set, facts))
    return run


def compile_rule_pass(admitted: tuple[PreparedRule, ...]) -> Callable[..., None]:
    """The admitted rules as one generated function that tests them in order.

    ``run_rules(facts, groups_done, needed, codes, recommendations, fired,
    undecided)`` reads every parameter the (specialised) conditions test once, into
    locals, then for each rule: skips it when its group already fired, tests its
    condition on the locals (``specs.inline_condition``, reporting absent values into
    ``needed`` exactly as its compiled test would), and calls ``undecided(rule,
    needed)`` when the result is unknown or ``recommended = fired(rule)`` when it
    fires. Only the codes recommended so far change during the pass: rules that test
    them (``recommendations includes …``) read the local ``recommended``, which
    ``fired`` returns. A recommendation rule with no ``not_recorded_as`` leaf does
    what ``fired`` would inline: marks its group done and, when its code is not in
    ``codes`` yet, appends the code, sets ``recommended`` (and the facts'
    ``recommendations``) to the codes so far and appends its entry to
    ``recommendations``. For a grouped rule of another kind::

        if g7 not in groups_done:
            if needed:
                needed.clear()
            if x3 is None:
                needed.add(p5)
                result = None
            else:
                result = x3 <= v6
            if result is None:
                undecided(r8, needed)
            elif result:
                recommended = fired(r8)

    Only names made here enter the source; the rules, parameters and values are bound
    to them (as in ``specs.compile_node``).
    """
    src = FunctionSource()
    src.locals_of["recommendations"] = "recommended"  # kept current, not read
    bind, value_of = src.bind, src.value_of

    body: list[str] = []
    for prepared in admitted:
        r = bind("r", prepared)
        rule = prepared.rule
        if rule.kind == "recommendation" and not prepared.assumed:
            # ``fired`` written out: the group is done; a code not listed yet is
            # listed, with its entry, and becomes one of the codes recommended.
            g, position = bind("g", rule.group), bind("o", rule.position)
            done = [f"groups_done[{g}] = {position}"]
            c = bind("c", rule.code)
            when_fired = [
                *(done if rule.group else []),
                f"if {c} not in codes:",
                f"    codes.append({c})",
                '    recommended = facts["recommendations"] = tuple(codes)',
                f"    recommendations.append({r}.entry())",
            ]
        else:
            when_fired = [f"recommended = fired({r})"]
        if isinstance(prepared.condition, bool):  # decided true by the guard facts
            block = when_fired
        else:
            block = [
                "if needed:",
                "    needed.clear()",
                *inline_branches(
                    prepared.condition,
                    value_of,
                    bind,
                    "needed",
                    when_fired,
                    [f"undecided({r}, needed)"],
                ),
            ]
        if prepared.rule.group:
            block = [
                f"if {bind('g', prepared.rule.group)} not in groups_done:",
                *("    " + line for line in block),
            ]
        body += block
    lines = [
        "def run_rules(",
        "    facts, groups_done, needed, codes, recommendations, fired, undecided",
        "):",
        "    get = facts.get",
        *src.preload(skip=("recommendations",)),
        "    recommended = ()",
        *("    " + line for line in body),
    ]
    return src.function(lines, "run_rules", "<rule pass>")


@dataclass(frozen=True)
class PreparedRule:
    """A recommendation row as the rules step runs it for one combination of the guard
    facts: its condition with those facts decided, compiled; its result entry."""

    rule: RecommendationRule
    condition: Condition | bool  # the condition with the guard facts decided
    test: Callable[[Mapping[str, Any], set[str]], bool | None]
    # not_recorded_as leaves: (parameter, the reason listed when it is absent)
    assumed: tuple[tuple[str, str], ...]
    template: dict[str, Any]
    undecided_reason: str  # listed for each absent value when the rule is unknown

    @classmethod
    def of(
        cls, rule: RecommendationRule, known: Mapping[str, Any], compiled: dict
    ) -> PreparedRule:
        """``compiled``: condition → its test, shared by the combinations (most give
        the same specialised condition, which is then compiled once)."""
        condition = specialise(rule.condition, known)
        if isinstance(condition, bool):
            test = always(condition)
        else:
            test = compiled.get(condition)
            if test is None:
                test = compiled[condition] = condition.test
        assumed = tuple(
            (
                leaf.parameter,
                "not recorded; assumed not "
                + " or ".join(format_value(v) for v in leaf.value)
                + f" for: {rule.title}",
            )
            for leaf in rule.condition.leaves()
            if isinstance(leaf, Leaf) and leaf.operator == "not_recorded_as"
        )
        return cls(
            rule,
            condition,
            test,
            assumed,
            _entry_template(rule),
            f"needed to decide: {rule.title}",
        )

    def entry(self) -> dict[str, Any]:
        entry = self.template.copy()
        entry["source"] = entry["source"].copy()
        return entry


def _deferred_entry(rule, entry) -> dict[str, Any]:
    """A ``conditional`` row that fired: advice that would apply once something is done
    (TEER after CRT, SPEC 0.14 f), listed under ``conditional``, never recommended."""
    inputs = [
        leaf.parameter
        for leaf in rule.condition.leaves()
        if leaf.parameter in FIELDS_BY_PATH and leaf.parameter not in CONTEXT_INPUTS
    ]
    return {
        "code": entry["code"],
        "title": entry["title"],
        "class": entry["class"],
        "level": entry["level"],
        "source": entry["source"],
        "depends_on": list(dict.fromkeys(inputs)),
        "condition": entry["detail"] or entry["title"],
    }


CONTEXT_INPUTS = frozenset({"presentation", "etiology", "guideline"})


# Facts every evaluation knows before the rules run, never absent and never completed
# (SPEC 0.14 c): each rule is specialised to their values (``specs.specialise``), and a
# rule they decide false is left out. Few combinations occur, so few are built.
GUARD_FACTS = ("presentation", "etiology", "mr_type", "severity", "echo_recorded")


def guard_values(facts) -> tuple[Any, ...]:
    """The guard facts' values, in ``GUARD_FACTS`` order."""
    return tuple(map(facts.__getitem__, GUARD_FACTS))


def rules_admitted(rule_set, facts) -> tuple[PreparedRule, ...]:
    """The rules, in order, that the guard facts do not already rule out, each
    specialised to them. Built once per rule set and combination of their values."""
    key = ("admitted", *map(facts.__getitem__, GUARD_FACTS))
    admitted = rule_set.memo.get(key)
    if admitted is None:
        known = dict(zip(GUARD_FACTS, key[1:], strict=True))
        compiled = rule_set.memo.setdefault("compiled conditions", {})
        prepared = (PreparedRule.of(rule, known, compiled) for rule in rule_set.rules)
        admitted = rule_set.memo[key] = tuple(
            p for p in prepared if p.condition is not False
        )
    return admitted


@dataclass(frozen=True)
class _CompletionTables:
    """What the missing-data step looks up for one rule set and combination of the
    guard facts, built once (``_completion_tables``)."""

    test_of: Callable[[RecommendationRule], Callable]  # a rule → its test
    condition_of: Callable[[RecommendationRule], Any]  # a rule → what test_of tests
    reading_uncertain: tuple[RecommendationRule, ...]  # rules reading UNCERTAIN_DERIVED
    plans: dict  # completion.resolve's plans


def _completion_tables(rule_set, facts, guard=None) -> _CompletionTables:
    """The tables of these guard facts: a rule → its condition's test (a rule they
    rule out never holds) and that condition (specialised; True or False when they
    decide it), the admitted recommendation rules that read a derived fact that may
    be unknown, and the covering plans of ``completion.resolve``."""
    key = ("completion tables", guard_values(facts) if guard is None else guard)
    tables = rule_set.memo.get(key)
    if tables is None:
        admitted = rules_admitted(rule_set, facts)
        tests = {p.rule.key: p.test for p in admitted}
        conditions = {p.rule.key: p.condition for p in admitted}
        never = always(False)
        tables = rule_set.memo[key] = _CompletionTables(
            lambda rule: tests.get(rule.key, never),
            lambda rule: conditions.get(rule.key, False),
            tuple(
                p.rule
                for p in admitted
                if p.rule.kind == "recommendation"
                and p.rule.reads.intersection(UNCERTAIN_DERIVED)
            ),
            {},
        )
    return tables


def _entry_template(rule) -> dict[str, Any]:
    return {
        "code": rule.code,
        "title": rule.title,
        "detail": rule.detail,
        "class": rule.cor,
        "level": rule.loe,
        "source": rule.source.as_dict(),
        "rule": rule.key,
        "condition": str(rule.condition),
    }


def rule_entry(rule) -> dict[str, Any]:
    return _entry_template(rule)


def _without_no_treatment(recommendations, warnings):
    codes = {r["code"] for r in recommendations}
    if "no_treatment" in codes and INTERVENTION_CODES.intersection(codes):
        warnings.append(
            "'No treatment' withdrawn: an intervention was also recommended"
        )
        return [r for r in recommendations if r["code"] != "no_treatment"]
    return recommendations


# Never completed (SPEC 0.14 c): severity is not re-graded, and the context is given.
CONTEXT_FACTS = frozenset(
    {
        "etiology",
        "presentation",
        "guideline",
        "mr_type",
        "severity",
        "severity_subgrade",
        "severe_specific_count",
        "mild_specific_count",
        "echo_recorded",
        "recommendations",
        "patient.age_years",
        "patient.sex",
        "patient.height_cm",
        "patient.weight_kg",
        "derived.bsa_m2",
        "derived.bmi_kg_m2",
    }
)
# Facts read under an "unknown" overlay: rules reading them may become undecided.
UNCERTAIN_DERIVED = ("stage", "symptom_status")


def complete_recommendations(
    facts,
    rule_set,
    recommendations,
    unknown_rules,
    group_fired,
    stage_missing,
    missing,
    warnings,
    guard=None,
) -> list[dict[str, Any]]:
    """SPEC 0.14 c: give what holds whatever the missing values are; list the rest
    (``guard``: the guard facts' values, when read already)."""
    not_completable = rule_set.memo.get("not completable")
    if not_completable is None:
        not_completable = rule_set.memo["not completable"] = (
            CONTEXT_FACTS | GRADING_INPUTS | rule_set.grading_parameters
        )
    unknowns = completion.unknowns_of(facts, rule_set, stage_missing, not_completable)
    if unknowns.variables or unknowns.stage_drivers:
        hidden = [name for name in UNCERTAIN_DERIVED if _is_uncertain(name, unknowns)]
    else:
        hidden = []  # neither stage nor symptom status is open
    if not (unknown_rules or hidden or unknowns.stage_drivers):
        return []  # nothing was left undecided (the common case)
    tables = _completion_tables(rule_set, facts, guard)
    test_of = tables.test_of
    codes = [r["code"] for r in recommendations]
    candidates = unknown_rules  # in position order (the rules are), each once
    if hidden:
        candidates = {rule.key: (rule, needed) for rule, needed in unknown_rules}
        saved = completion.saved_values(facts, hidden)
        for name in hidden:
            facts[name] = None
        try:
            needed: set[str] = set()
            for rule in tables.reading_uncertain:
                if rule.code in codes or not rule.reads.intersection(hidden):
                    continue
                if needed:
                    needed.clear()
                if test_of(rule)(facts, needed) is None:
                    candidates[rule.key] = (
                        rule,
                        in_reading_order(rule.condition, needed),
                    )
        finally:
            completion.restore(facts, saved)
        candidates = sorted(candidates.values(), key=lambda item: item[0].position)
    open_rules = [
        (rule, needed)
        for rule, needed in candidates
        if not (rule.group and group_fired.get(rule.group, 1 << 30) < rule.position)
    ]
    recompute = _recompute(rule_set, unknowns)
    if unknowns.stage_drivers:
        stages = completion.stage_candidates(facts, unknowns, recompute)
        if stages:
            warnings.append(
                f"Stage {' or '.join(stages)}: "
                + completion.names_text(unknowns.stage_drivers)
                + " not recorded"
            )
    if not open_rules:
        return []
    given, conditional = completion.resolve(
        facts,
        rule_set,
        open_rules,
        codes,
        unknowns,
        not_completable,
        recompute,
        rule_entry,
        _earlier_in_group(rule_set),
        test_of,
        tables.plans,
        tables.condition_of,
    )
    for item in given:
        for name in item["unknowns"]:
            missing.append(
                (name, f"not recorded; '{item['title']}' holds whatever its value")
            )
    if given:
        recommendations.extend(given)
        recommendations.extend(
            _consequences(facts, rule_set, recommendations, group_fired)
        )
        recommendations[:] = _without_no_treatment(recommendations, warnings)
        codes = [r["code"] for r in recommendations]
        conditional = [c for c in conditional if c["code"] not in codes]
    return conditional


def _consequences(facts, rule_set, recommendations, group_fired):
    """Rules that test what was recommended ("repair over replacement" once surgery
    is given) run again with the codes the missing-data step gave."""
    codes = [r["code"] for r in recommendations]
    added = []
    for rule in rule_set.rules:
        if rule.kind != "recommendation" or rule.code in codes:
            continue
        if "recommendations" not in rule.reads or rule.group in group_fired:
            continue
        facts["recommendations"] = tuple(codes)
        if rule.condition.evaluate(facts, set()) is True:
            codes.append(rule.code)
            added.append(rule_entry(rule))
            if rule.group:
                group_fired[rule.group] = rule.position
    facts["recommendations"] = tuple(codes)
    return added


def _earlier_in_group(rule_set):
    """A rule → the rules of its group before it (any of which, firing, blocks it);
    made once per rule set."""
    key = "earlier in group"
    earlier = rule_set.memo.get(key)
    if earlier is None:
        before: dict[str, tuple] = {}
        seen: dict[str, list] = {}
        for rule in rule_set.rules:
            if rule.group:
                before[rule.key] = tuple(seen.setdefault(rule.group, []))
                seen[rule.group].append(rule)
        earlier = rule_set.memo[key] = lambda rule: before.get(rule.key, ())
    return earlier


def _is_uncertain(name: str, unknowns) -> bool:
    if name == "stage":
        return bool(unknowns.stage_drivers)
    return (
        completion.NYHA in unknowns.variables
        or completion.SYMPTOM_STATUS in unknowns.variables
    )


def _recompute(rule_set, unknowns):
    """``recompute(facts, assignment)`` for these stage drivers: writes a completion
    into the facts, recomputes symptom status and stage from it and returns what
    ``completion.restore`` puts back. Made once per rule set and stage drivers."""
    key = ("recompute", unknowns.stage_drivers)
    made = rule_set.memo.get(key)
    if made is None:
        made = rule_set.memo[key] = _make_recompute(rule_set, unknowns.stage_drivers)
    return made


def _make_recompute(rule_set, stage_drivers):
    drivers = frozenset(stage_drivers)

    def recompute(facts, assignment):
        saved = completion.saved_values(
            facts, (*assignment, "symptom_status", "stage", "recommendations")
        )
        facts.update(assignment)
        if completion.NYHA in assignment:
            facts["symptom_status"] = symptom_status(facts, [])
        if drivers.intersection(assignment):
            facts["stage"] = stage_of(
                facts,
                rule_set,
                facts["mr_type"],
                facts["severity"],
                facts["symptom_status"],
                [],
                [],
            )
        return saved

    # The unknowns whose completion changes a derived fact (symptom status, stage).
    recompute.triggers = frozenset({completion.NYHA, *drivers})
    return recompute


def _merge_missing(missing, facts) -> list[dict[str, str]]:
    merged: dict[str, list[str]] = {}
    for parameter, reason in missing:
        inputs = DERIVED_INPUTS.get(parameter)
        if inputs is None:  # an input itself: listed as it is
            reasons = merged.get(parameter)
            if reasons is None:
                merged[parameter] = [reason]
            elif reason not in reasons:
                reasons.append(reason)
            continue
        absent = [n for n in inputs if facts.get(n) is None] or list(inputs)
        for name in absent:
            reasons = merged.setdefault(name, [])
            if reason not in reasons:
                reasons.append(reason)
    return [{"parameter": p, "reason": "; ".join(r)} for p, r in merged.items()]
