"""A compiled rule-set version as constraints over every possible assessment input.

The translation follows the rule *data* (the loader's ``specs.CompiledRuleSet``) and the
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

from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

import z3

from .. import engine, grading
from ..parameters import INTERVENTION_CODES, PARAMETERS
from ..specs import CompiledRuleSet
from ..vocabulary import DECIMAL_PLACES, INPUT_FIELDS, Kind
from .procedure import (
    QUANTITATIVE,
    SYMPTOM_FLAGS,
    Grading,
    grade,
    mr_type,
    stage,
    surgical_risk,
    symptom_status,
)
from .terms import (
    Fact,
    View,
    constant,
    enum,
    is_true,
    is_value,
    known,
    leaves,
    number,
    reads,
    truth,
)

__all__ = [  # what the invariants read
    "QUANTITATIVE",
    "SYMPTOM_FLAGS",
    "Fact",
    "View",
    "enum",
    "is_true",
    "is_value",
    "number",
    "reads",
    "truth",
]

DERIVATION_ONLY = (
    "echo.aliasing_velocity_cm_s",
    "echo.mr_vti_cm",
    "echo.lvot_diameter_cm",
    "echo.lvot_vti_cm",
    "echo.mr_peak_velocity_cm_s",
)
CONCRETE_HEIGHT_CM, CONCRETE_WEIGHT_KG, CONCRETE_BSA = 180, 80, 2  # √(180·80/3600) = 2
# Never completed (docs/guideline.md 6a c), as the engine declares them; symptom status
# and stage are recomputed for each completion rather than completed.
CONTEXT_FACTS = engine.CONTEXT_FACTS | {"symptom_status", "stage"}
GRADING_INPUTS = grading.GRADING_INPUTS  # what grading reads (never completed either)


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

    rule_set: CompiledRuleSet
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
            z3.Implies(
                body,
                z3.And(h.value == CONCRETE_HEIGHT_CM, w.value == CONCRETE_WEIGHT_KG),
            )
        )
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
        ("derived.bsa_m2", body),
        ("derived.bmi_kg_m2", body),
        ("derived.lvesd_index_mm_m2", z3.And(body, lvesd.present)),
        ("derived.tricuspid_annulus_index_mm_m2", z3.And(body, annulus.present)),
    ):
        value = z3.Real(f"{prefix}{name}")
        param = PARAMETERS[name]
        constraints.append(
            z3.And(value >= number(param.minimum), value <= number(param.maximum))
        )
        view[name] = Fact(needs, value, Kind.DECIMAL)
    view["lv_progression_serial"] = Fact(
        z3.Bool(f"{prefix}lv_progression?"),
        z3.Bool(f"{prefix}lv_progression"),
        Kind.BOOLEAN,
    )


def evaluation(
    rule_set: CompiledRuleSet,
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
        for name in (
            "derived.bsa_m2",
            "derived.bmi_kg_m2",
            "derived.lvesd_index_mm_m2",
            "derived.tricuspid_annulus_index_mm_m2",
        ):
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


def rules_pass(rule_set: CompiledRuleSet, view: View) -> RulePass:
    """The recommendation rows in position order (docs/guideline.md section 6)."""
    counted, true, false, blocked = {}, {}, {}, {}
    by_group: dict[str, list] = {}
    by_code: dict[str, list] = {}
    codes = _reader(lambda code: z3.BoolVal(False), by_code, strict=True)
    for rule in rule_set.rules:
        result = truth(rule.condition, view, codes)
        true[rule.key], false[rule.key] = result.true, result.false
        blocked[rule.key] = (
            z3.Or(by_group.get(rule.group, [])) if rule.group else z3.BoolVal(False)
        )
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


def extreme_pins(rule_set: CompiledRuleSet, end: str) -> dict[str, Any]:
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
            constraints.append(
                z3.And(value >= number(param.minimum), value <= number(param.maximum))
            )
        if name in pins:
            pin = pins[name]
            allowed = (
                pin(value)
                if callable(pin)
                else z3.Or([value == constant(name, v) for v in pin])
            )
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
        keep,
        status,
        z3.If(
            status == enum("symptom_status", "unknown"),
            symptom_status(view),
            z3.If(status == enum("symptom_status", "equivocal"), chosen, status),
        ),
    )
    view["symptom_status"] = known(new_status, Kind.CHOICE)
    old_stage = ev.view["stage"].value
    recomputed = stage(
        view, rule_set, ev.view["mr_type"].value, ev.severity, new_status
    )
    keep_stage = z3.Bool(f"{prefix}stage=")
    view["stage"] = known(
        z3.If(
            z3.And(old_stage == enum("stage", "undetermined"), z3.Not(keep_stage)),
            recomputed,
            old_stage,
        ),
        Kind.CHOICE,
    )

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
            true[rule.key],
            undecided,
            z3.Not(ev.passed.blocked[rule.key]),
            z3.Not(z3.Or(before)),
        )
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
