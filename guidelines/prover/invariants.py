"""The safety invariants of docs/guideline.md §6b, as formulas over every input.

Each invariant states, independently of the rule data, what must never happen: a
*precondition* on the patient and a *violation* of the guideline. ``violation`` returns
one formula that is satisfiable exactly when a patient in range meets the precondition
and the translated rule set violates the invariant. Every formula over-approximates the
violation, so that *unsatisfiable* is a proof for the engine:

- a code the invariant forbids counts as recommended when the rule pass gives it *or*
  the missing-data step might (it fires in both extreme completions,
  ``Context.may_give``);
- a code the invariant requires counts as given only when the rule pass gives it (the
  missing-data step adds codes, never removes them). Invariant 4 ("surgery whatever is
  missing") is the one exception: when the symptom status is unknown it is proved in
  each world of that status (``model.world``), which is what the missing-data step
  enumerates (SPEC 0.14 c).

``confirm`` reads the same violation off the engine's result for a counterexample, so
the proof and the engine are checked against each other. The thresholds are the SPEC's
(cited on each), never the rule set's: a draft that moves one is caught.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import z3

from ..parameters import INTERVENTION_CODES
from ..vocabulary import PRIMARY_ETIOLOGIES, Kind
from . import model
from .model import Evaluation, enum, is_true, is_value

COMPROMISE = (
    "hemodynamics.cardiogenic_shock",
    "hemodynamics.hypotension",
    "hemodynamics.pulmonary_edema",
    "hemodynamics.vasopressors",
    "hemodynamics.mechanical_support",
)
SURVEILLANCE = (
    "surveillance_echo_3_5y",
    "surveillance_echo_1_2y",
    "surveillance_echo_6_12m",
)
SEVERITY_RANK = {"none_trivial": 0, "mild": 1, "moderate": 2, "severe": 3}
QUANTITATIVE_SIGNS = (*model.QUANTITATIVE, "echo.vena_contracta_cm")
# SPEC 0.1, 0.14 l: each guideline's class and level vocabulary.
CLASSES = {
    "acc": {"1", "2a", "2b", "3: No Benefit", "3: Harm"},
    "esc": {"I", "IIa", "IIb", "III"},
}
LEVELS = {"acc": {"A", "B-R", "B-NR", "C-LD", "C-EO"}, "esc": {"A", "B", "C"}}
OLDER_ACC_AHA = ("2014", "2017")
OLDER_CLASSES = {"I", "IIa", "IIb", "III", "1", "2a", "2b"}
OLDER_LEVELS = {"A", "B", "C"}


def family(rule_set_code: str) -> str:
    return "esc" if rule_set_code.startswith("esc") else "acc"


def class_level_problems(rule_set_code: str, klass, level, guideline: str) -> list[str]:
    """SPEC 0.1 and 0.14 l: a class and level of the guideline's vocabulary; a 2014 or
    2017 ACC/AHA label only under a source that names that year; no level alone."""
    if klass in (None, ""):
        return ["a level without a class"] if level not in (None, "") else []
    kind = family(rule_set_code)
    older = kind == "acc" and any(y in (guideline or "") for y in OLDER_ACC_AHA)
    classes = CLASSES[kind] | (OLDER_CLASSES if older else set())
    levels = LEVELS[kind] | (OLDER_LEVELS if older else set())
    problems = []
    if klass not in classes:
        problems.append(f"class {klass!r} is not a {kind.upper()} class")
    if level not in levels and level not in (None, ""):
        problems.append(f"level {level!r} is not a {kind.upper()} level")
    return problems


class Context:
    """What an invariant's formula may ask for: the evaluation, its completed world
    (for codes the invariant forbids) and a second copy of the patient."""

    def __init__(self, ev: Evaluation, inputs: model.Inputs):
        self.ev = ev
        self.inputs = inputs
        self.constraints: list[z3.BoolRef] = []
        self._completed: dict[tuple, model.Completion] = {}

    def completed(self, pins=None) -> model.Completion:
        key = tuple(sorted((pins or {}).items(), key=lambda item: item[0]))
        key = tuple((name, id(pin) if callable(pin) else pin) for name, pin in key)
        if key not in self._completed:
            done = model.completed(self.ev, f"w{len(self._completed)}:", pins)
            self.constraints.extend(done.constraints)
            self._completed[key] = done
        return self._completed[key]

    def gives(self, code: str) -> z3.BoolRef:
        """Surely recommended (the rule pass gives it; completion only adds)."""
        return model.final_recommends(self.ev.passed, code)

    def may_give(self, *codes: str, pins=None) -> z3.BoolRef:
        """Perhaps recommended: by the rule pass or by the missing-data step. A code
        that step gives fires in every completion, so in both extreme ones (every
        completed value at the low end, then at the high end)."""
        low, high = (
            self.completed(
                {**model.extreme_pins(self.ev.rule_set, end), **(pins or {})}
            )
            for end in ("low", "high")
        )
        return z3.Or(
            [
                z3.Or(
                    self.ev.passed.recommends(c),
                    z3.And(low.recommends(c), high.recommends(c)),
                )
                for c in codes
            ]
        )

    def fact(self, name: str) -> model.Fact:
        return self.ev.view[name]


@dataclass(frozen=True)
class Invariant:
    key: str
    statement: str  # the clinical statement, as docs/guideline.md §6b words it
    source: str
    # (context) → formula, or (before, after) → formula when ``change`` is set.
    violation: Callable[..., z3.BoolRef]
    # (input, engine result, rule set) → violated; for a change: (before input, after
    # input, [(input, result), (input, result)]).
    confirm: Callable[..., bool]
    # The one input that differs between two copies of the patient, if any.
    change: str | None = None


def _codes(result, key="recommendations") -> set[str]:
    return {item["code"] for item in result[key]}


# --- 1. structural severe sign -------------------------------------------------------


def _structural(ctx: Context):
    f = ctx.fact
    sign = z3.Or(
        is_true(f("echo.flail_leaflet")),
        is_value(f("echo.leaflet_lesion"), "echo.leaflet_lesion", "severe"),
        is_value(f("etiology"), "etiology", "papillary_muscle_rupture"),
    )
    low = z3.Or(
        ctx.ev.severity == enum("severity", "none_trivial"),
        ctx.ev.severity == enum("severity", "mild"),
    )
    return z3.And(sign, low)


# --- 2. acute MR with haemodynamic compromise ----------------------------------------


def _acute(ctx: Context):
    f = ctx.fact
    compromised = z3.And(
        is_value(f("presentation"), "presentation", "acute"),
        z3.Or([is_true(f(name)) for name in COMPROMISE]),
    )
    wrong = z3.Or(
        z3.Not(ctx.gives("acute_stabilization")),
        ctx.may_give("gdmt", *SURVEILLANCE),
    )
    return z3.And(compromised, wrong)


def _acute_confirm(data, result, _):
    codes = _codes(result)
    return (
        "acute_stabilization" not in codes
        or "gdmt" in codes
        or bool(codes.intersection(SURVEILLANCE))
    )


# --- 3. TEER exclusions (SPEC 0.14 e) and CRT before TEER (SPEC 0.14 f) --------------

MVA_EXCLUDED_BELOW = Decimal("3.0")  # cm², SPEC 0.14 e
GRADIENT_EXCLUDED_FROM = Decimal(5)  # mmHg, SPEC 0.14 e


def _teer_exclusion(ctx: Context):
    f = ctx.fact
    area, gradient = (
        f("echo.mitral_valve_area_cm2"),
        f("echo.mitral_mean_gradient_mmhg"),
    )
    excluded = z3.Or(
        is_value(f("etiology"), "etiology", "infective_endocarditis", "rheumatic"),
        is_value(
            f("echo.leaflet_calcification"), "echo.leaflet_calcification", "severe"
        ),
        z3.And(area.present, area.value < model.number(MVA_EXCLUDED_BELOW)),
        z3.And(
            gradient.present, gradient.value >= model.number(GRADIENT_EXCLUDED_FROM)
        ),
    )
    return z3.And(excluded, ctx.may_give("teer"))


def _teer_excluded(data) -> bool:
    echo = data.get("echo", {})
    area, gradient = (
        echo.get("mitral_valve_area_cm2"),
        echo.get("mitral_mean_gradient_mmhg"),
    )
    return (
        data.get("etiology") in ("infective_endocarditis", "rheumatic")
        or echo.get("leaflet_calcification") == "severe"
        or (area is not None and Decimal(str(area)) < MVA_EXCLUDED_BELOW)
        or (gradient is not None and Decimal(str(gradient)) >= GRADIENT_EXCLUDED_FROM)
    )


# One completion every code given by the missing-data step must fire in: CRT pending,
# no concomitant operation, and no unrecorded CRT criterion met (CRT needs sinus rhythm,
# symptoms, LVEF ≤ 35 %, QRS ≥ 120 ms, ≥ 3 months of GDMT; SPEC 0.14 g), so that CRT is only
# "given" when the rule pass gives it.
CRT_PINS = {
    "management.crt_implanted": (False,),
    "management.cabg_planned": (False,),
    "management.other_cardiac_surgery_planned": (False,),
    "ecg.rhythm": ("atrial_fibrillation",),
    "echo.lvef_pct": lambda value: value > 50,
    "ecg.qrs_ms": lambda value: value < 120,
    "management.months_on_gdmt": lambda value: value < 3,
    "symptoms.nyha_class": (1,),
    "symptom_status": ("asymptomatic",),
    **{name: (False,) for name in model.SYMPTOM_FLAGS},
    "hemodynamics.pulmonary_edema": (False,),
    "hemodynamics.cardiogenic_shock": (False,),
}


def _crt_first(ctx: Context):
    f = ctx.fact
    secondary = z3.Or(
        ctx.ev.view["mr_type"].value == enum("mr_type", "secondary_ventricular"),
        ctx.ev.view["mr_type"].value == enum("mr_type", "secondary_atrial"),
    )
    pending = z3.And(
        secondary,
        ctx.may_give("crt", pins=CRT_PINS),
        z3.Not(is_true(f("management.crt_implanted"))),
    )
    isolated = z3.Not(
        z3.Or(
            is_true(f("management.cabg_planned")),
            is_true(f("management.other_cardiac_surgery_planned")),
        )
    )
    wrong = z3.Or(
        ctx.may_give("teer", pins=CRT_PINS),
        z3.And(isolated, ctx.may_give("surgery_mv", pins=CRT_PINS)),
    )
    return z3.And(pending, wrong)


def _crt_confirm(data, result, _):
    codes = _codes(result)
    management = data.get("management", {})
    if not result["mr_type"].startswith("secondary") or "crt" not in codes:
        return False
    if management.get("crt_implanted") is True:
        return False
    isolated = not (
        management.get("cabg_planned") is True
        or management.get("other_cardiac_surgery_planned") is True
    )
    return "teer" in codes or (isolated and "surgery_mv" in codes)


# --- 4. severe primary MR with a failing ventricle gets surgery ----------------------

LVEF_C2_AT_MOST = 60  # %, ACC/AHA 2020 Table 17 C2; ESC 2025 Rec. Table 6 (SPEC 0.14 c)
LVESD_C2_FROM = 40  # mm, idem


def _lv_dysfunction_pre(ctx: Context):
    f = ctx.fact
    lvef, lvesd = f("echo.lvef_pct"), f("echo.lvesd_mm")
    return z3.And(
        is_value(f("presentation"), "presentation", "chronic"),
        is_value(
            f("etiology"),
            "etiology",
            *[e for e in PRIMARY_ETIOLOGIES if e != "infective_endocarditis"],
        ),
        ctx.ev.severity == enum("severity", "severe"),
        z3.Or(
            z3.And(lvef.present, lvef.value <= LVEF_C2_AT_MOST),
            z3.And(lvesd.present, lvesd.value >= LVESD_C2_FROM),
        ),
        is_value(
            f("management.surgical_risk"),
            "management.surgical_risk",
            "low",
            "intermediate",
        ),
        z3.Not(is_true(f("hemodynamics.cardiogenic_shock"))),
    )


def _lv_dysfunction(ctx: Context):
    status = ctx.ev.view["symptom_status"].value
    chosen = z3.Int("world:status")
    sym, asym = (
        enum("symptom_status", "symptomatic"),
        enum("symptom_status", "asymptomatic"),
    )
    uncertain = z3.And(status != sym, status != asym)
    if ctx.inputs.concrete:  # a counterexample records the status it is about
        ctx.constraints.append(z3.Not(uncertain))
    ctx.constraints.append(
        z3.If(uncertain, z3.Or(chosen == sym, chosen == asym), chosen == status)
    )
    passed = model.world(ctx.ev, chosen, "world:")
    return z3.And(_lv_dysfunction_pre(ctx), z3.Not(passed.recommends("surgery_mv")))


# --- 5. chronic trivial or mild MR is never operated on ------------------------------

NO_INTERVENTION_BELOW_MODERATE = ("surgery_mv", "teer", "replacement")


def _mild(ctx: Context):
    f = ctx.fact
    pre = z3.And(
        is_value(f("presentation"), "presentation", "chronic"),
        z3.Not(is_value(f("etiology"), "etiology", "infective_endocarditis")),
        z3.Or(
            ctx.ev.severity == enum("severity", "none_trivial"),
            ctx.ev.severity == enum("severity", "mild"),
        ),
    )
    return z3.And(pre, ctx.may_give(*NO_INTERVENTION_BELOW_MODERATE))


def _mild_confirm(data, result, _):
    return result["severity"] in ("none_trivial", "mild") and bool(
        _codes(result).intersection(NO_INTERVENTION_BELOW_MODERATE)
    )


# --- 6. well-formed advice -----------------------------------------------------------


def _malformed_rules(rule_set):
    return [
        rule
        for rule in rule_set.rules
        if class_level_problems(
            rule_set.code, rule.cor, rule.loe, rule.source.guideline
        )
    ]


def _well_formed(ctx: Context):
    """A malformed row is shown when it fires, when the missing-data step gives it,
    or when it is undecided (it may then be listed as conditional, with its class)."""
    ev, done = ctx.ev, ctx.completed()
    status, stage = ev.view["symptom_status"].value, ev.view["stage"].value
    hidden = z3.Or(
        status == enum("symptom_status", "unknown"),
        status == enum("symptom_status", "equivocal"),
        stage == enum("stage", "undetermined"),
    )
    unknown = model.View(ev.view)  # the engine hides an uncertain stage and status
    for name in ("stage", "symptom_status"):
        unknown[name] = model.Fact(z3.BoolVal(False), ev.view[name].value, Kind.CHOICE)

    def codes(code):
        has = ev.passed.recommends(code)
        return z3.BoolVal(True), z3.Not(has)  # permissive: any code may be given

    def undecided(rule):
        again = model.truth(rule.condition, unknown, codes)
        return z3.Or(
            z3.Not(ev.passed.false[rule.key]),
            z3.And(hidden, z3.Not(again.false)),
        )

    shown = [
        z3.Or(
            ev.passed.counted[r.key],
            done.passed.counted.get(r.key, False),
            z3.And(undecided(r), z3.Not(ev.passed.blocked[r.key])),
        )
        for r in _malformed_rules(ev.rule_set)
    ]
    both = [
        z3.And(ev.passed.counted[r.key], ctx.may_give(r.code))
        for r in ev.rule_set.rules
        if r.kind == "conditional"
    ]
    # "No treatment" beside an intervention, after the safety net (model.final_recommends).
    beside = z3.And(
        ctx.gives("no_treatment"),
        z3.Or([ctx.gives(code) for code in sorted(INTERVENTION_CODES)]),
    )
    return z3.Or(*shown, *both, beside)


def _well_formed_confirm(data, result, rule_set):
    items = (*result["recommendations"], *result["cautions"], *result["conditional"])
    if any(
        class_level_problems(
            rule_set.code, i["class"], i["level"], i["source"]["guideline"]
        )
        for i in items
    ):
        return True
    codes = [i["code"] for i in result["recommendations"]]
    return (
        len(codes) != len(set(codes))
        or ("no_treatment" in codes and bool(INTERVENTION_CODES.intersection(codes)))
        or bool(_codes(result, "conditional") & set(codes))
    )


# --- 7. monotone ---------------------------------------------------------------------


def _raised_severity(ctx: Context, after_ctx: Context, name: str):
    after = after_ctx.ev
    before_fact, after_fact = ctx.fact(name), after.view[name]
    rank_before, rank_after = _rank(ctx.ev.severity), _rank(after.severity)
    return z3.And(
        before_fact.present,
        after_fact.value > before_fact.value,
        rank_before >= 0,
        rank_after >= 0,
        rank_after < rank_before,
    )


def _rank(severity):
    expr = z3.IntVal(-1)
    for name, rank in SEVERITY_RANK.items():
        expr = z3.If(severity == enum("severity", name), rank, expr)
    return expr


def _monotone_confirm(before, after, results):
    (_, old), (_, new) = results
    return (
        old["severity"] in SEVERITY_RANK
        and new["severity"] in SEVERITY_RANK
        and SEVERITY_RANK[new["severity"]] < SEVERITY_RANK[old["severity"]]
    )


def _lowered_lvef(ctx: Context, after_ctx: Context):
    """Surgery the rule pass gives before is recommended after (the missing-data step
    only adds codes, so a rule pass without it after over-approximates its loss)."""
    before_lvef = ctx.fact("echo.lvef_pct")
    after_lvef = after_ctx.ev.view["echo.lvef_pct"]
    return z3.And(
        ctx.ev.view["mr_type"].value == enum("mr_type", "primary"),
        before_lvef.present,
        after_lvef.value < before_lvef.value,
        ctx.gives("surgery_mv"),
        z3.Not(after_ctx.gives("surgery_mv")),
    )


def _lvef_confirm(before, after, results):
    (_, old), (_, new) = results
    return "surgery_mv" in _codes(old) and "surgery_mv" not in _codes(new)


INVARIANTS: tuple[Invariant, ...] = (
    Invariant(
        "structural_sign",
        "A severe-specific structural sign (flail leaflet, papillary-muscle rupture, "
        "severe leaflet lesion) is never graded none/trivial or mild.",
        "ASE 2017 Table 6; SPEC 0.14 a",
        _structural,
        lambda data, result, _: result["severity"] in ("none_trivial", "mild"),
    ),
    Invariant(
        "acute_compromise",
        "Acute MR with shock, hypotension, pulmonary oedema, vasopressors or mechanical "
        "support always gets acute stabilization, and never chronic GDMT nor a "
        "surveillance interval.",
        "ESC 2025 §6.5, §9.1.3; ACC/AHA 2020 §7.1; SPEC 0.14 b, o",
        _acute,
        _acute_confirm,
    ),
    Invariant(
        "teer_exclusion",
        "TEER is never recommended with a TEER exclusion: active endocarditis, "
        "rheumatic leaflets, severe calcification, mitral valve area < 3.0 cm² or "
        "mean gradient ≥ 5 mmHg.",
        "EVEREST II and COAPT exclusions; SPEC 0.14 e",
        _teer_exclusion,
        lambda data, result, _: _teer_excluded(data) and "teer" in _codes(result),
    ),
    Invariant(
        "crt_before_teer",
        "No TEER, and no isolated mitral surgery (without CABG or another planned "
        "cardiac operation), for secondary MR while CRT is recommended and not "
        "implanted.",
        "ESC 2025 Rec. Table 7; SPEC 0.14 f",
        _crt_first,
        _crt_confirm,
    ),
    Invariant(
        "surgery_lv_dysfunction",
        "Chronic severe primary MR with LVEF ≤ 60 % or LVESD ≥ 40 mm at low or "
        "intermediate surgical risk (not in cardiogenic shock) always gets mitral "
        "surgery, whatever the symptom status.",
        "ACC/AHA 2020 P1/P2 class 1; ESC 2025 Rec. Table 6 I; SPEC 0.14 c",
        _lv_dysfunction,
        lambda data, result, _: "surgery_mv" not in _codes(result),
    ),
    Invariant(
        "mild_no_intervention",
        "Chronic trivial or mild MR without endocarditis never gets surgery, TEER or "
        "valve replacement.",
        "no guideline indication below moderate MR (docs/guideline.md §6b)",
        _mild,
        _mild_confirm,
    ),
    Invariant(
        "well_formed",
        "Every class and level shown is in its guideline's vocabulary (a 2014/2017 "
        "ACC/AHA label only under that source, no level without a class), a "
        "conditional code is never also recommended, and no treatment is never "
        "advised beside an intervention.",
        "SPEC 0.1, 0.14 l",
        _well_formed,
        _well_formed_confirm,
    ),
    *(
        Invariant(
            f"monotone_{name.split('.')[-1]}",
            f"Raising {model.PARAMETERS[name].display} alone never lowers a "
            "determinate severity.",
            "ASE 2017 (grades rise with each quantitative parameter)",
            lambda ctx, after, name=name: _raised_severity(ctx, after, name),
            _monotone_confirm,
            change=name,
        )
        for name in QUANTITATIVE_SIGNS
    ),
    Invariant(
        "lvef_lowered",
        "Lowering LVEF alone never removes mitral surgery from primary MR.",
        "ACC/AHA 2020 P1/P2; ESC 2025 Rec. Table 6 (a failing ventricle is never a "
        "reason against an operation)",
        _lowered_lvef,
        _lvef_confirm,
        change="echo.lvef_pct",
    ),
)
