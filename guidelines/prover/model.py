"""A compiled rule-set version as constraints over every possible assessment input.

The translation follows the rule *data* (the loader's ``specs.RuleSet``) and the
procedure documented in ``docs/guideline.md`` sections 3 to 6a, not the engine's code:

- every input field of ``vocabulary.INPUT_FIELDS`` is a pair *(recorded, value)* over its
  contract range (decimals are exact rationals, never floats; integers are integers; a
  choice is the index of its value);
- a rule condition is three-valued (Kleene): each condition gives two formulas, *true*
  and *false*; neither means unknown (a needed value is absent);
- grading (ASE 2017, section 3), MR type, symptom status, surgical risk and stage
  (sections 4 and 5) are written as formulas over the facts;
- the recommendation rules run in position order: within a group the first firing
  row counts (a caution too), a code is listed once, ``recommendations includes X``
  reads the codes of the rows before it (section 6).

Two modes. *Abstract* (the proof): a quantitative value (EROA, RVol, RF) may also be
derived, so it is any real number in range, and the derived BSA, BMI and indices and
the serial LV progression are free; a proof here covers every input. *Concrete* (the
counterexample): decimals have at most ``DECIMAL_PLACES`` places, the derivation inputs
(aliasing velocity, MR VTI, LVOT diameter) are absent, height and weight are absent or
180 cm and 80 kg (BSA exactly 2 m²), no prior studies: the model is an input the engine
takes as it is.

Missing-data completion (section 6a c) is over-approximated for the invariants that
forbid a code: ``completed_view`` is a second world where every completable absent value
may take any value, the symptom status and stage are recomputed, and a rule counts when
it is true there and no earlier row of its group is. The engine gives a code by
completion only when some rule of it fires in *every* combination, so in particular in
the two extreme ones (``extreme_pins``: every completed value at the low end of its
domain, then at the high end): a proof that no such pair of worlds fires it is a proof
for the engine.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

import z3

from ..parameters import BANDS, INTERVENTION_CODES, PARAMETERS
from ..specs import Leaf, RuleSet
from ..vocabulary import (
    DECIMAL_PLACES,
    INPUT_FIELDS,
    PRIMARY_ETIOLOGIES,
    SECONDARY_ATRIAL_ETIOLOGIES,
    SECONDARY_VENTRICULAR_ETIOLOGIES,
    Kind,
)

QUANTITATIVE = (
    "echo.eroa_cm2",
    "echo.regurgitant_volume_ml",
    "echo.regurgitant_fraction_pct",
)
BAND_GRADE = (1, 2, 2, 3)  # mild, mild-to-moderate, moderate-to-severe, severe → rank
SYMPTOM_FLAGS = (
    "symptoms.dyspnea", "symptoms.fatigue", "symptoms.edema", "symptoms.orthopnea",
    "symptoms.reduced_exercise_tolerance",
)  # fmt: skip
# Inputs that only feed derivations; absent in a concrete counterexample.
DERIVATION_ONLY = (
    "echo.aliasing_velocity_cm_s",
    "echo.mr_vti_cm",
    "echo.lvot_diameter_cm",
    "echo.lvot_vti_cm",
    "echo.mr_peak_velocity_cm_s",
)
CONCRETE_HEIGHT_CM, CONCRETE_WEIGHT_KG, CONCRETE_BSA = 180, 80, 2  # √(180·80/3600) = 2
# Never completed (docs/guideline.md 6a c): severity is not re-graded, context is given.
CONTEXT_FACTS = frozenset({
    "etiology", "presentation", "guideline", "mr_type", "severity", "severity_subgrade",
    "severe_specific_count", "mild_specific_count", "echo_recorded", "recommendations",
    "patient.age_years", "patient.sex", "patient.height_cm", "patient.weight_kg",
    "derived.bsa_m2", "derived.bmi_kg_m2", "symptom_status", "stage",
})  # fmt: skip
GRADING_INPUTS = frozenset({
    *QUANTITATIVE, "echo.image_quality", "echo.vena_contracta_cm",
    "echo.flow_convergence", "echo.jet_timing", "echo.jet_area_pct_la",
    "echo.elliptical_orifice", "echo.pisa_radius_cm", *DERIVATION_ONLY,
})  # fmt: skip


def choices_of(name: str) -> tuple[Any, ...]:
    return PARAMETERS[name].choices


def index_of(name: str, value: Any) -> int:
    return choices_of(name).index(value)


def number(value: Any) -> Fraction:
    return Fraction(Decimal(str(value)))


@dataclass(frozen=True)
class Fact:
    """One fact: whether it is recorded (known) and its value."""

    present: z3.BoolRef
    value: z3.ExprRef
    kind: Kind


def known(value: z3.ExprRef, kind: Kind) -> Fact:
    return Fact(z3.BoolVal(True), value, kind)


class View(dict):
    """Fact name → ``Fact``: what one evaluation knows (the engine's ``facts``)."""


# --- three-valued conditions ---------------------------------------------------------


@dataclass(frozen=True)
class Truth:
    true: z3.BoolRef
    false: z3.BoolRef


def _const(name: str, value: Any) -> z3.ExprRef:
    kind = PARAMETERS[name].kind
    if kind is Kind.BOOLEAN:
        return z3.BoolVal(bool(value))
    if kind is Kind.CHOICE:
        return z3.IntVal(index_of(name, value))
    if kind is Kind.INTEGER:
        return z3.IntVal(int(value))
    return z3.RealVal(number(value))


def leaf_truth(leaf: Leaf, view: View, codes) -> Truth:
    """``codes(code)``: (``includes code`` holds, ``excludes code`` holds) for the
    codes recommended before this row."""
    op = leaf.operator
    if op in ("includes", "excludes"):
        includes, excludes = codes(leaf.value)
        true = includes if op == "includes" else excludes
        return Truth(true, z3.Not(true))
    fact = view[leaf.parameter]
    if op in ("in", "not_in", "not_recorded_as", "recorded_as"):
        member = z3.Or([fact.value == _const(leaf.parameter, v) for v in leaf.value])
        if op == "in":
            return Truth(
                z3.And(fact.present, member), z3.And(fact.present, z3.Not(member))
            )
        if op == "not_in":
            return Truth(
                z3.And(fact.present, z3.Not(member)), z3.And(fact.present, member)
            )
        if op == "recorded_as":
            true = z3.And(fact.present, member)
            return Truth(true, z3.Not(true))
        false = z3.And(fact.present, member)
        return Truth(z3.Not(false), false)
    value = _const(leaf.parameter, leaf.value)
    holds = {
        "==": lambda a, b: a == b, "!=": lambda a, b: a != b,
        "<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
    }[op](fact.value, value)  # fmt: skip
    return Truth(z3.And(fact.present, holds), z3.And(fact.present, z3.Not(holds)))


def leaves(condition) -> list[Leaf]:
    """The leaves of a condition tree, in order (read from its data shape)."""
    if isinstance(condition, Leaf):
        return [condition]
    return [leaf for child in condition.children for leaf in leaves(child)]


def reads(rule) -> frozenset[str]:
    return frozenset(leaf.parameter for leaf in leaves(rule.condition))


def no_codes(code: str) -> tuple[z3.BoolRef, z3.BoolRef]:
    return z3.BoolVal(False), z3.BoolVal(True)


def truth(condition, view: View, codes=no_codes) -> Truth:
    if isinstance(condition, Leaf):
        return leaf_truth(condition, view, codes)
    parts = [truth(c, view, codes) for c in condition.children]
    if condition.match == "all":
        return Truth(z3.And([p.true for p in parts]), z3.Or([p.false for p in parts]))
    if condition.match == "any":
        return Truth(z3.Or([p.true for p in parts]), z3.And([p.false for p in parts]))
    n = condition.n
    true_count = z3.Sum([z3.If(p.true, 1, 0) for p in parts])
    open_count = z3.Sum([z3.If(p.false, 0, 1) for p in parts])
    return Truth(true_count >= n, open_count < n)


# --- inputs --------------------------------------------------------------------------


@dataclass
class Inputs:
    """The z3 variables of one assessment input (``prefix`` names one copy)."""

    prefix: str
    concrete: bool
    facts: dict[str, Fact] = field(default_factory=dict)
    constraints: list[z3.BoolRef] = field(default_factory=list)

    @classmethod
    def declare(cls, prefix: str, *, concrete: bool) -> Inputs:
        inputs = cls(prefix, concrete)
        for spec in INPUT_FIELDS:
            inputs.facts[spec.path] = inputs._field(spec)
        if concrete:
            for name in DERIVATION_ONLY:
                inputs.constraints.append(z3.Not(inputs.facts[name].present))
        lvesd, lvedd = inputs.facts["echo.lvesd_mm"], inputs.facts["echo.lvedd_mm"]
        inputs.constraints.append(
            z3.Implies(z3.And(lvesd.present, lvedd.present), lvesd.value < lvedd.value)
        )
        return inputs

    def changed(self, path: str, prefix: str) -> Inputs:
        """A copy of the patient in which only ``path`` may differ (recorded in both)."""
        copy = Inputs(prefix, self.concrete, dict(self.facts), [])
        spec = next(f for f in INPUT_FIELDS if f.path == path)
        fact = copy._field(spec)
        copy.facts[path] = Fact(self.facts[path].present, fact.value, fact.kind)
        return copy

    def _field(self, spec) -> Fact:
        name = f"{self.prefix}{spec.path}"
        # A field with a default is always known (absent means the default).
        always = spec.required or spec.default is not None
        present = z3.BoolVal(True) if always else z3.Bool(f"{name}?")
        if spec.kind is Kind.BOOLEAN:
            return Fact(present, z3.Bool(name), spec.kind)
        if spec.kind is Kind.CHOICE:
            value = z3.Int(name)
            self.constraints.append(z3.And(value >= 0, value < len(spec.choices)))
            return Fact(present, value, spec.kind)
        if spec.kind is Kind.INTEGER:
            value = z3.Int(name)
        else:
            value = z3.Real(name)
            if self.concrete:
                scaled = z3.Int(f"{name}*10^{DECIMAL_PLACES}")
                self.constraints.append(value * 10**DECIMAL_PLACES == scaled)
        lo, hi = number(spec.minimum), number(spec.maximum)
        self.constraints.append(z3.And(value >= lo, value <= hi))
        return Fact(present, value, spec.kind)


def enum(name: str, value: str) -> z3.ArithRef:
    return z3.IntVal(index_of(name, value))


def is_value(fact: Fact, name: str, *values: str) -> z3.BoolRef:
    return z3.And(fact.present, z3.Or([fact.value == enum(name, v) for v in values]))


def is_true(fact: Fact) -> z3.BoolRef:
    return z3.And(fact.present, fact.value)


def _max(a, b):
    return z3.If(a >= b, a, b)


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
        band = z3.If(reached, _max(band, z3.IntVal(BANDS.index(row.band))), band)
    return band


def grade(view: View, rule_set: RuleSet) -> Grading:
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
        view["etiology"], "etiology",
        *SECONDARY_VENTRICULAR_ETIOLOGIES, *SECONDARY_ATRIAL_ETIOLOGIES,
    )  # fmt: skip
    elliptical = z3.And(secondary, is_true(view["echo.elliptical_orifice"]))
    bands = {}
    for p in QUANTITATIVE:
        rows = [
            c for c in criteria
            if c.role == "band" and leaves(c.condition)[0].parameter == p
        ]  # fmt: skip
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
        z3.Or(z3.Not(fc.present), fc.value == enum("echo.flow_convergence", "none_or_small")),
        z3.Or(
            is_value(timing, "echo.jet_timing", "brief"),
            z3.And(area.present, area.value == 0),
        ),
    )  # fmt: skip
    two_apart = z3.Or([
        z3.And(pa, pb, ra - rb >= 2)
        for (pa, _, ra), (pb, _, rb) in itertools.permutations(present, 2)
    ])  # fmt: skip

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
    graded = z3.If(candidate == 3, enum(name, "severe"),
                   z3.If(candidate == 1, enum(name, "mild"), enum(name, "moderate")))  # fmt: skip
    indeterminate = enum(name, "indeterminate")
    severity = z3.If(
        poor, indeterminate,
        z3.If(trace, enum(name, "none_trivial"),
              z3.If(z3.Or(two_apart, z3.Not(settled), discordant), indeterminate, graded)),
    )  # fmt: skip
    subgrade = Fact(
        z3.And(severity == enum(name, "moderate"), sub != 0),
        z3.If(sub == 1, enum("severity_subgrade", "mild_to_moderate"),
              enum("severity_subgrade", "moderate_to_severe")),
        Kind.CHOICE,
    )  # fmt: skip
    return Grading(severity, subgrade, mild_n, severe_n, bands)


# --- MR type, symptoms, risk, stage (sections 4 and 5) --------------------------------


def mr_type(view: View, severity) -> z3.ArithRef:
    etiology, name = view["etiology"], "mr_type"
    return z3.If(
        is_value(etiology, "etiology", *PRIMARY_ETIOLOGIES), enum(name, "primary"),
        z3.If(is_value(etiology, "etiology", *SECONDARY_VENTRICULAR_ETIOLOGIES),
              enum(name, "secondary_ventricular"),
        z3.If(is_value(etiology, "etiology", *SECONDARY_ATRIAL_ETIOLOGIES),
              enum(name, "secondary_atrial"),
        z3.If(z3.Or(severity == enum("severity", "none_trivial"),
                    z3.And(is_value(etiology, "etiology", "structurally_normal"),
                           severity == enum("severity", "mild"))),
              enum(name, "not_applicable"), enum(name, "undetermined"))))
    )  # fmt: skip


def symptom_status(view: View) -> z3.ArithRef:
    nyha, name = view["symptoms.nyha_class"], "symptom_status"
    symptomatic = z3.Or(
        z3.And(nyha.present, nyha.value >= 2),
        *[is_true(view[f]) for f in SYMPTOM_FLAGS],
        is_true(view["hemodynamics.pulmonary_edema"]),
        is_true(view["hemodynamics.cardiogenic_shock"]),
    )
    return z3.If(
        is_true(view["symptoms.equivocal"]), enum(name, "equivocal"),
        z3.If(symptomatic, enum(name, "symptomatic"),
              z3.If(z3.And(nyha.present, nyha.value == 1), enum(name, "asymptomatic"),
                    enum(name, "unknown"))),
    )  # fmt: skip


def surgical_risk(view: View) -> Fact:
    """Given, else derived from STS-PROM (< 4 low, ≤ 8 intermediate, else high) and
    frailty, the worse of the two; "low" needs a known STS-PROM (SPEC 0.8, 0.13)."""
    given, sts = view["management.surgical_risk"], view["management.sts_prom_pct"]
    frailty = view["management.frailty"]
    by_sts = z3.If(sts.value < 4, 0, z3.If(sts.value <= 8, 1, 2))
    by_frailty = z3.If(frailty.value == 0, 0, z3.If(frailty.value == 1, 1, 2))
    derived = z3.If(
        z3.And(sts.present, frailty.present), _max(by_sts, by_frailty),
        z3.If(sts.present, by_sts, by_frailty),
    )  # fmt: skip
    derived_known = z3.And(
        z3.Or(sts.present, frailty.present),
        z3.Not(z3.And(derived == 0, z3.Not(sts.present))),
    )
    return Fact(
        z3.Or(given.present, derived_known),
        z3.If(given.present, given.value, derived),
        Kind.CHOICE,
    )


def stage(view: View, rule_set: RuleSet, mr, severity, status) -> z3.ArithRef:
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
    primary = z3.If(status_is("symptomatic"), s("D"),
                    z3.If(c2, s("C2"), z3.If(c1, s("C1"), s("undetermined"))))  # fmt: skip
    gdmt = view["management.gdmt_optimized"]
    secondary = z3.If(
        status_is("asymptomatic"), s("C"),
        z3.If(z3.Not(gdmt.present), s("undetermined"),
              z3.If(z3.Or(z3.Not(gdmt.value),
                          is_true(view["management.cad_requiring_revascularization"])),
                    s("C"), s("D"))),
    )  # fmt: skip
    return z3.If(
        is_value(view["presentation"], "presentation", "acute"), s("not_applicable"),
        z3.If(sev("indeterminate"), s("undetermined"),
        z3.If(mr_is("not_applicable"), s("not_applicable"),
        z3.If(sev("none_trivial"), s("A"),
        z3.If(sev("mild", "moderate"), s("B"),
        z3.If(mr_is("undetermined"), s("undetermined"),
        z3.If(status_is("unknown", "equivocal"), s("undetermined"),
              z3.If(mr_is("primary"), primary, secondary))))))),
    )  # fmt: skip


# --- one evaluation ------------------------------------------------------------------


@dataclass
class RulePass:
    """The rows that fired and counted, and the codes recommended, in one world."""

    counted: dict[str, z3.BoolRef]
    true: dict[str, z3.BoolRef]
    false: dict[str, z3.BoolRef]
    blocked: dict[str, z3.BoolRef]
    has: dict[str, z3.BoolRef]

    def recommends(self, code: str) -> z3.BoolRef:
        return self.has.get(code, z3.BoolVal(False))


@dataclass
class Evaluation:
    """Every fact of one evaluation, as formulas over its input variables."""

    rule_set: RuleSet
    prefix: str
    view: View
    grading: Grading
    passed: RulePass
    constraints: list[z3.BoolRef]

    @property
    def severity(self):
        return self.grading.severity


def _derived_facts(view: View, prefix: str, concrete: bool, constraints) -> None:
    h, w = view["patient.height_cm"], view["patient.weight_kg"]
    body = z3.And(h.present, w.present)
    lvesd, annulus = view["echo.lvesd_mm"], view["echo.tricuspid_annulus_mm"]
    if concrete:
        constraints.append(
            z3.Implies(body, z3.And(h.value == CONCRETE_HEIGHT_CM, w.value == CONCRETE_WEIGHT_KG))
        )  # fmt: skip
        bmi = Fraction(CONCRETE_WEIGHT_KG * 10_000, CONCRETE_HEIGHT_CM**2)
        view["derived.bsa_m2"] = Fact(body, z3.RealVal(CONCRETE_BSA), Kind.DECIMAL)
        view["derived.bmi_kg_m2"] = Fact(body, z3.RealVal(bmi), Kind.DECIMAL)
        view["derived.lvesd_index_mm_m2"] = Fact(
            z3.And(body, lvesd.present), lvesd.value / CONCRETE_BSA, Kind.DECIMAL
        )
        view["derived.tricuspid_annulus_index_mm_m2"] = Fact(
            z3.And(body, annulus.present), annulus.value / CONCRETE_BSA, Kind.DECIMAL
        )
        view["lv_progression_serial"] = Fact(
            z3.BoolVal(False), z3.BoolVal(False), Kind.BOOLEAN
        )
        return
    for name, needs in (
        ("derived.bsa_m2", body), ("derived.bmi_kg_m2", body),
        ("derived.lvesd_index_mm_m2", z3.And(body, lvesd.present)),
        ("derived.tricuspid_annulus_index_mm_m2", z3.And(body, annulus.present)),
    ):  # fmt: skip
        value = z3.Real(f"{prefix}{name}")
        param = PARAMETERS[name]
        constraints.append(z3.And(value >= number(param.minimum), value <= number(param.maximum)))  # fmt: skip
        view[name] = Fact(needs, value, Kind.DECIMAL)
    view["lv_progression_serial"] = Fact(
        z3.Bool(f"{prefix}lv_progression?"), z3.Bool(f"{prefix}lv_progression"),
        Kind.BOOLEAN,
    )  # fmt: skip


def evaluation(
    rule_set: RuleSet,
    inputs: Inputs,
    prefix: str = "",
    *,
    like: Evaluation | None = None,
) -> Evaluation:
    """Translate one evaluation of ``inputs``; ``like`` shares its derived body
    measurements (a second copy of the same patient)."""
    view = View(inputs.facts)
    constraints = list(inputs.constraints)
    _derived_facts(view, prefix or inputs.prefix, inputs.concrete, constraints)
    if like is not None:
        for name in ("derived.bsa_m2", "derived.bmi_kg_m2", "derived.lvesd_index_mm_m2",
                     "derived.tricuspid_annulus_index_mm_m2"):  # fmt: skip
            view[name] = like.view[name]
        # The serial studies are the same; a lower current LVEF or a larger current
        # LVESD can only add a progression (dilation or EF decline on the last three).
        old, new = like.view["lv_progression_serial"], view["lv_progression_serial"]
        constraints.append(new.present == old.present)
        constraints.append(z3.Implies(z3.And(old.present, old.value), new.value))
    view["echo_recorded"] = known(
        z3.Or([f.present for n, f in inputs.facts.items() if n.startswith("echo.")]),
        Kind.BOOLEAN,
    )
    grading = grade(view, rule_set)
    mr = mr_type(view, grading.severity)
    status = symptom_status(view)
    view["severity"] = known(grading.severity, Kind.CHOICE)
    view["severity_subgrade"] = grading.subgrade
    view["mr_type"] = known(mr, Kind.CHOICE)
    view["symptom_status"] = known(status, Kind.CHOICE)
    view["surgical_risk"] = surgical_risk(view)
    view["severe_specific_count"] = known(grading.severe_n, Kind.INTEGER)
    view["mild_specific_count"] = known(grading.mild_n, Kind.INTEGER)
    view["stage"] = known(
        stage(view, rule_set, mr, grading.severity, status), Kind.CHOICE
    )
    passed = rules_pass(rule_set, view)
    return Evaluation(rule_set, prefix, view, grading, passed, constraints)


def _reader(base, added: dict[str, list], *, strict: bool):
    """``codes`` for ``truth``: a code is included when ``base`` or a formula in
    ``added`` (read when the row is translated) gives it; ``excludes`` is its negation
    when ``strict``, else only the negation of ``base`` (the most permissive)."""

    def codes(code):
        has = z3.Or(base(code), *added.get(code, []))
        return has, z3.Not(has if strict else base(code))

    return codes


def rules_pass(rule_set: RuleSet, view: View) -> RulePass:
    """The recommendation rows in position order (docs/guideline.md section 6)."""
    counted, true, false, blocked = {}, {}, {}, {}
    by_group: dict[str, list] = {}
    by_code: dict[str, list] = {}
    codes = _reader(lambda code: z3.BoolVal(False), by_code, strict=True)
    for rule in rule_set.rules:
        result = truth(rule.condition, view, codes)
        true[rule.key], false[rule.key] = result.true, result.false
        blocked[rule.key] = z3.Or(by_group.get(rule.group, [])) if rule.group else z3.BoolVal(False)  # fmt: skip
        counted[rule.key] = z3.And(true[rule.key], z3.Not(blocked[rule.key]))
        if rule.group:
            by_group.setdefault(rule.group, []).append(counted[rule.key])
        if rule.kind == "recommendation":
            by_code.setdefault(rule.code, []).append(counted[rule.key])
    has = {code: z3.Or(items) for code, items in by_code.items()}
    return RulePass(counted, true, false, blocked, has)


def world(ev: Evaluation, status, prefix: str) -> RulePass:
    """The rule pass with the symptom status set to ``status`` and the stage
    recomputed from it (one value the missing-data step gives an unknown status)."""
    view = View(ev.view)
    view["symptom_status"] = known(status, Kind.CHOICE)
    view["stage"] = known(
        stage(view, ev.rule_set, view["mr_type"].value, ev.severity, status),
        Kind.CHOICE,
    )
    return rules_pass(ev.rule_set, view)


def final_recommends(passed: RulePass, code: str) -> z3.BoolRef:
    """Recommended by the rule pass, after the "no treatment" safety net."""
    if code != "no_treatment":
        return passed.recommends(code)
    return z3.And(
        passed.recommends(code),
        z3.Not(z3.Or([passed.recommends(c) for c in INTERVENTION_CODES])),
    )


# --- the missing-data step, over-approximated ---------------------------------------


@dataclass
class Completion:
    passed: RulePass
    constraints: list[z3.BoolRef]

    def recommends(self, code: str) -> z3.BoolRef:
        return self.passed.recommends(code)


_EXTREMES: dict[tuple[str, str], dict[str, Any]] = {}


def extreme_pins(rule_set: RuleSet, end: str) -> dict[str, Any]:
    """Pins for the completion where every completable value sits at one end of its
    domain (docs/guideline.md 6a c): no or yes, the first or last choice, at or below
    the rule set's lowest threshold for a number, or at or above its highest."""
    key = (rule_set.content_hash, end)
    if key in _EXTREMES:
        return _EXTREMES[key]
    thresholds: dict[str, list] = {}
    for item in (*rule_set.rules, *rule_set.stage_criteria):
        for leaf in leaves(item.condition):
            values = leaf.value if isinstance(leaf.value, tuple) else (leaf.value,)
            for value in values:
                if isinstance(value, int | Decimal) and not isinstance(value, bool):
                    thresholds.setdefault(leaf.parameter, []).append(number(value))
    # The symptom status completes to either value (never to "unknown").
    pins: dict[str, Any] = {
        "symptom_status": ("asymptomatic",) if end == "low" else ("symptomatic",)
    }
    for name, param in PARAMETERS.items():
        if name in pins:
            continue
        if param.kind is Kind.BOOLEAN:
            pins[name] = (end == "high",)
        elif param.kind is Kind.CHOICE and param.choices:
            pins[name] = (param.choices[0 if end == "low" else -1],)
        elif name in thresholds:
            cut = min(thresholds[name]) if end == "low" else max(thresholds[name])
            pins[name] = _at_most(cut) if end == "low" else _at_least(cut)
    if len(_EXTREMES) > 64:
        _EXTREMES.clear()
    _EXTREMES[key] = pins
    return pins


def _at_most(cut):
    return lambda value: value <= cut


def _at_least(cut):
    return lambda value: value >= cut


def completed(
    ev: Evaluation, prefix: str, pins: dict[str, tuple[Any, ...]] | None = None
) -> Completion:
    """A world the missing-data step may reach (see the module docstring).

    ``pins`` narrows the values a completed absent fact may take (a tuple of values,
    or a predicate on the value that some value of its completion domain meets);
    sound for any such choice, since a code given by completion fires in *every*
    combination."""
    pins = pins or {}
    rule_set = ev.rule_set
    grading = {
        leaf.parameter
        for c in rule_set.severity_criteria
        for leaf in leaves(c.condition)
    }
    fixed = CONTEXT_FACTS | GRADING_INPUTS | grading
    view, constraints = View(), []
    for name, fact in ev.view.items():
        if name in fixed or name not in PARAMETERS:
            view[name] = fact
            continue
        param = PARAMETERS[name]
        fill = z3.Bool(f"{prefix}{name}?")
        if param.kind is Kind.BOOLEAN:
            value = z3.Bool(f"{prefix}{name}")
        elif param.kind is Kind.DECIMAL:
            value = z3.Real(f"{prefix}{name}")
        else:
            value = z3.Int(f"{prefix}{name}")
        if param.kind is Kind.CHOICE:
            constraints.append(z3.And(value >= 0, value < len(param.choices)))
        elif param.kind is not Kind.BOOLEAN:
            constraints.append(z3.And(value >= number(param.minimum), value <= number(param.maximum)))  # fmt: skip
        if name in pins:
            pin = pins[name]
            allowed = (
                pin(value) if callable(pin)
                else z3.Or([value == _const(name, v) for v in pin])
            )  # fmt: skip
            constraints.append(z3.Implies(z3.And(fill, z3.Not(fact.present)), allowed))
        view[name] = Fact(
            z3.Or(fact.present, fill),
            z3.If(fact.present, fact.value, value),
            param.kind,
        )
    status = ev.view["symptom_status"].value
    keep, chosen = z3.Bool(f"{prefix}status="), z3.Int(f"{prefix}status")
    choices = pins.get("symptom_status", ("symptomatic", "asymptomatic"))
    constraints.append(z3.Or([chosen == enum("symptom_status", v) for v in choices]))
    # Unknown status: NYHA (and any symptom read) is completed and the status
    # recomputed from it; equivocal: the status itself takes either value.
    new_status = z3.If(
        keep, status,
        z3.If(status == enum("symptom_status", "unknown"), symptom_status(view),
              z3.If(status == enum("symptom_status", "equivocal"), chosen, status)),
    )  # fmt: skip
    view["symptom_status"] = known(new_status, Kind.CHOICE)
    old_stage = ev.view["stage"].value
    recomputed = stage(
        view, rule_set, ev.view["mr_type"].value, ev.severity, new_status
    )
    keep_stage = z3.Bool(f"{prefix}stage=")
    view["stage"] = known(
        z3.If(z3.And(old_stage == enum("stage", "undetermined"), z3.Not(keep_stage)),
              recomputed, old_stage),
        Kind.CHOICE,
    )  # fmt: skip

    def given(code):  # the missing-data step reads the rule pass's codes
        has = ev.passed.recommends(code)
        return has, z3.Not(has)

    # Only rows the rule pass left undecided are completed: unknown there, or reading
    # a stage or symptom status that is itself unknown.
    hidden = z3.Or(
        status == enum("symptom_status", "unknown"),
        status == enum("symptom_status", "equivocal"),
        old_stage == enum("stage", "undetermined"),
    )
    counted, true = {}, {}
    earlier: dict[str, list] = {}
    by_code: dict[str, list] = {}
    for rule in rule_set.rules:
        true[rule.key] = truth(rule.condition, view, given).true
        before = earlier.setdefault(rule.group, []) if rule.group else []
        undecided = z3.Not(ev.passed.false[rule.key])
        if reads(rule) & {"stage", "symptom_status"}:
            undecided = z3.Or(undecided, hidden)
        counted[rule.key] = z3.And(
            true[rule.key], undecided, z3.Not(ev.passed.blocked[rule.key]),
            z3.Not(z3.Or(before)),
        )  # fmt: skip
        if rule.group:
            before.append(true[rule.key])
        if rule.kind == "recommendation":
            by_code.setdefault(rule.code, []).append(counted[rule.key])
    # Then the rows that test what was recommended run again, on the recorded facts,
    # with the codes given (engine: "repair over replacement" once surgery is given).
    group_fired = {}
    for rule in rule_set.rules:
        if rule.group:
            group_fired.setdefault(rule.group, []).append(ev.passed.counted[rule.key])
    after = _reader(ev.passed.recommends, by_code, strict=False)
    for rule in rule_set.rules:
        if rule.kind != "recommendation" or "recommendations" not in reads(rule):
            continue
        again = z3.And(
            truth(rule.condition, ev.view, after).true,
            z3.Not(z3.Or(group_fired.get(rule.group, []))),
        )
        counted[rule.key] = z3.Or(counted[rule.key], again)
        by_code.setdefault(rule.code, []).append(again)
    has = {code: z3.Or(items) for code, items in by_code.items()}
    return Completion(RulePass(counted, true, {}, {}, has), constraints)
