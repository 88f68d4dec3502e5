"""The fixed procedure of docs/guideline.md sections 3 to 5 as formulas: ASE 2017
grading over the rule set's severity rows, MR type, symptom status, surgical risk and
the ACC/AHA stage over its stage rows."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import z3

from ..parameters import BANDS
from ..specs import CompiledRuleSet
from ..vocabulary import (
    PRIMARY_ETIOLOGIES,
    SECONDARY_ATRIAL_ETIOLOGIES,
    SECONDARY_VENTRICULAR_ETIOLOGIES,
    Kind,
)
from .terms import Fact, View, enum, is_true, is_value, larger, leaves, truth

QUANTITATIVE = (
    "echo.eroa_cm2",
    "echo.regurgitant_volume_ml",
    "echo.regurgitant_fraction_pct",
)
BAND_GRADE = (1, 2, 2, 3)  # mild, mild-to-moderate, moderate-to-severe, severe → rank
SYMPTOM_FLAGS = (
    "symptoms.dyspnea",
    "symptoms.fatigue",
    "symptoms.edema",
    "symptoms.orthopnea",
    "symptoms.reduced_exercise_tolerance",
)
# Inputs that only feed derivations; absent in a concrete counterexample.


# --- grading (docs/guideline.md section 3) --------------------------------------------


@dataclass
class Grading:
    severity: z3.ArithRef  # index in parameters.SEVERITIES
    subgrade: Fact
    mild_n: z3.ArithRef
    severe_n: z3.ArithRef
    bands: dict[str, tuple[z3.BoolRef, z3.ArithRef]]  # parameter → (present, band)


def _band(rows, view: View) -> z3.ArithRef:
    """The highest band whose lower bound the value reaches (mild when none)."""
    band = z3.IntVal(0)
    for row in rows:
        reached = truth(row.condition, view).true
        band = z3.If(reached, larger(band, z3.IntVal(BANDS.index(row.band))), band)
    return band


def grade(view: View, rule_set: CompiledRuleSet) -> Grading:
    criteria = rule_set.severity_criteria
    met: dict[str, z3.BoolRef] = {}
    counts: dict[str, list] = {"specific_mild": [], "specific_severe": []}
    for c in criteria:
        if c.role == "band":
            continue
        met[c.key] = truth(c.condition, view).true
        if c.role in counts:
            counts[c.role].append(z3.If(met[c.key], 1, 0))
    mild_n = (
        z3.Sum(counts["specific_mild"]) if counts["specific_mild"] else z3.IntVal(0)
    )
    severe_n = (
        z3.Sum(counts["specific_severe"]) if counts["specific_severe"] else z3.IntVal(0)
    )
    secondary = is_value(
        view["etiology"],
        "etiology",
        *SECONDARY_VENTRICULAR_ETIOLOGIES,
        *SECONDARY_ATRIAL_ETIOLOGIES,
    )
    elliptical = z3.And(secondary, is_true(view["echo.elliptical_orifice"]))
    bands = {}
    for p in QUANTITATIVE:
        rows = [
            c
            for c in criteria
            if c.role == "band" and leaves(c.condition)[0].parameter == p
        ]
        band = _band([c for c in rows if c.scope == "all"], view)
        lowered = _band([c for c in rows if c.scope == "secondary_elliptical"], view)
        band = z3.If(z3.And(elliptical, band != 3, lowered == 3), 3, band)
        bands[p] = (view[p].present, band)

    def rank(band):
        return z3.If(band == 0, 1, z3.If(band == 3, 3, 2))

    present = [(pres, band, rank(band)) for pres, band in bands.values()]
    vc, fc = view["echo.vena_contracta_cm"], view["echo.flow_convergence"]
    timing, area = view["echo.jet_timing"], view["echo.jet_area_pct_la"]
    poor = is_value(view["echo.image_quality"], "echo.image_quality", "poor")
    trace = z3.And(
        severe_n == 0,
        z3.Or(z3.Not(vc.present), vc.value == 0),
        *[z3.Or(z3.Not(view[p].present), view[p].value == 0) for p in QUANTITATIVE],
        z3.Or(
            z3.Not(fc.present),
            fc.value == enum("echo.flow_convergence", "none_or_small"),
        ),
        z3.Or(
            is_value(timing, "echo.jet_timing", "brief"),
            z3.And(area.present, area.value == 0),
        ),
    )
    two_apart = z3.Or(
        [
            z3.And(pa, pb, ra - rb >= 2)
            for (pa, _, ra), (pb, _, rb) in itertools.permutations(present, 2)
        ]
    )

    def count(grade_rank):
        return z3.Sum([z3.If(z3.And(p, r == grade_rank), 1, 0) for p, _, r in present])

    agreed = z3.Or([count(g) >= 2 for g in (1, 2, 3)])
    quant = z3.If(count(1) >= 2, 1, z3.If(count(2) >= 2, 2, 3))
    by_severe = z3.And(severe_n >= 4, mild_n == 0)
    by_mild = z3.And(mild_n >= 4, severe_n == 0)
    settled = z3.Or(by_severe, by_mild, agreed)
    candidate = z3.If(by_severe, 3, z3.If(by_mild, 1, quant))

    def in_band(b):
        return z3.Sum([z3.If(z3.And(p, band == b), 1, 0) for p, band, _ in present])

    m2m, m2s = in_band(1), in_band(2)
    sub = z3.If(m2m > m2s, 1, z3.If(m2s > m2m, 2, 0))
    level = z3.If(candidate == 3, 3, z3.If(candidate == 1, 0, z3.If(sub == 0, -1, sub)))

    def low(b):
        return z3.Or(b == 0, b == 1)

    def high(b):
        return z3.Or(b == 2, b == 3)

    eroa_present, eroa_band = bands["echo.eroa_cm2"]
    discordant = z3.Or(
        z3.And(met.get("vc_severe", False), eroa_present, low(eroa_band)),
        z3.And(met.get("vc_mild", False), eroa_present, high(eroa_band)),
        z3.And(severe_n > 0, low(level)),
        z3.And(mild_n > 0, high(level)),
        z3.And(candidate == 3, z3.Or([z3.And(p, low(b)) for p, b, _ in present])),
        z3.And(candidate == 1, z3.Or([z3.And(p, high(b)) for p, b, _ in present])),
    )
    name = "severity"
    graded = z3.If(
        candidate == 3,
        enum(name, "severe"),
        z3.If(candidate == 1, enum(name, "mild"), enum(name, "moderate")),
    )
    indeterminate = enum(name, "indeterminate")
    severity = z3.If(
        poor,
        indeterminate,
        z3.If(
            trace,
            enum(name, "none_trivial"),
            z3.If(z3.Or(two_apart, z3.Not(settled), discordant), indeterminate, graded),
        ),
    )
    subgrade = Fact(
        z3.And(severity == enum(name, "moderate"), sub != 0),
        z3.If(
            sub == 1,
            enum("severity_subgrade", "mild_to_moderate"),
            enum("severity_subgrade", "moderate_to_severe"),
        ),
        Kind.CHOICE,
    )
    return Grading(severity, subgrade, mild_n, severe_n, bands)


# --- MR type, symptoms, risk, stage (sections 4 and 5) --------------------------------


def mr_type(view: View, severity) -> z3.ArithRef:
    etiology, name = view["etiology"], "mr_type"
    return z3.If(
        is_value(etiology, "etiology", *PRIMARY_ETIOLOGIES),
        enum(name, "primary"),
        z3.If(
            is_value(etiology, "etiology", *SECONDARY_VENTRICULAR_ETIOLOGIES),
            enum(name, "secondary_ventricular"),
            z3.If(
                is_value(etiology, "etiology", *SECONDARY_ATRIAL_ETIOLOGIES),
                enum(name, "secondary_atrial"),
                z3.If(
                    z3.Or(
                        severity == enum("severity", "none_trivial"),
                        z3.And(
                            is_value(etiology, "etiology", "structurally_normal"),
                            severity == enum("severity", "mild"),
                        ),
                    ),
                    enum(name, "not_applicable"),
                    enum(name, "undetermined"),
                ),
            ),
        ),
    )


def symptom_status(view: View) -> z3.ArithRef:
    nyha, name = view["symptoms.nyha_class"], "symptom_status"
    symptomatic = z3.Or(
        z3.And(nyha.present, nyha.value >= 2),
        *[is_true(view[f]) for f in SYMPTOM_FLAGS],
        is_true(view["hemodynamics.pulmonary_edema"]),
        is_true(view["hemodynamics.cardiogenic_shock"]),
    )
    return z3.If(
        is_true(view["symptoms.equivocal"]),
        enum(name, "equivocal"),
        z3.If(
            symptomatic,
            enum(name, "symptomatic"),
            z3.If(
                z3.And(nyha.present, nyha.value == 1),
                enum(name, "asymptomatic"),
                enum(name, "unknown"),
            ),
        ),
    )


def surgical_risk(view: View) -> Fact:
    """Given, else derived from STS-PROM (< 4 low, ≤ 8 intermediate, else high) and
    frailty, the worse of the two; "low" needs a known STS-PROM (SPEC 0.8, 0.13)."""
    given, sts = view["management.surgical_risk"], view["management.sts_prom_pct"]
    frailty = view["management.frailty"]
    by_sts = z3.If(sts.value < 4, 0, z3.If(sts.value <= 8, 1, 2))
    by_frailty = z3.If(frailty.value == 0, 0, z3.If(frailty.value == 1, 1, 2))
    derived = z3.If(
        z3.And(sts.present, frailty.present),
        larger(by_sts, by_frailty),
        z3.If(sts.present, by_sts, by_frailty),
    )
    derived_known = z3.And(
        z3.Or(sts.present, frailty.present),
        z3.Not(z3.And(derived == 0, z3.Not(sts.present))),
    )
    return Fact(
        z3.Or(given.present, derived_known),
        z3.If(given.present, given.value, derived),
        Kind.CHOICE,
    )


def stage(view: View, rule_set: CompiledRuleSet, mr, severity, status) -> z3.ArithRef:
    def s(value):
        return enum("stage", value)

    def sev(*values):
        return z3.Or([severity == enum("severity", v) for v in values])

    def mr_is(value):
        return mr == enum("mr_type", value)

    def status_is(*values):
        return z3.Or([status == enum("symptom_status", v) for v in values])

    criteria = [truth(c.condition, view) for c in rule_set.stage_criteria]
    c2 = z3.Or([c.true for c in criteria])
    c1 = z3.And([c.false for c in criteria]) if criteria else z3.BoolVal(False)
    primary = z3.If(
        status_is("symptomatic"),
        s("D"),
        z3.If(c2, s("C2"), z3.If(c1, s("C1"), s("undetermined"))),
    )
    gdmt = view["management.gdmt_optimized"]
    secondary = z3.If(
        status_is("asymptomatic"),
        s("C"),
        z3.If(
            z3.Not(gdmt.present),
            s("undetermined"),
            z3.If(
                z3.Or(
                    z3.Not(gdmt.value),
                    is_true(view["management.cad_requiring_revascularization"]),
                ),
                s("C"),
                s("D"),
            ),
        ),
    )
    return z3.If(
        is_value(view["presentation"], "presentation", "acute"),
        s("not_applicable"),
        z3.If(
            sev("indeterminate"),
            s("undetermined"),
            z3.If(
                mr_is("not_applicable"),
                s("not_applicable"),
                z3.If(
                    sev("none_trivial"),
                    s("A"),
                    z3.If(
                        sev("mild", "moderate"),
                        s("B"),
                        z3.If(
                            mr_is("undetermined"),
                            s("undetermined"),
                            z3.If(
                                status_is("unknown", "equivocal"),
                                s("undetermined"),
                                z3.If(mr_is("primary"), primary, secondary),
                            ),
                        ),
                    ),
                ),
            ),
        ),
    )
