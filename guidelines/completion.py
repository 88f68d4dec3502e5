"""Recommendations that survive missing data (SPEC 0.14 c): one mechanism for every code.

Nothing is guessed (SPEC 0.5): a rule that needs an absent value does not fire. But when
*every* value the absent inputs could take leads to the same recommendation, it is given,
and the unknown is named beside it; when only *some* values do, the recommendation is
listed under ``conditional`` with the values that would make it apply.

How, per recommendation code that no rule gave:

1. The rules of that code that are *unknown* (three-valued ``None``) are found: those that
   needed an absent input, and those that read a derived fact which is itself unknown
   (the stage when symptom status or the C1/C2 measurements are missing; the symptom
   status when NYHA class is missing or symptoms are equivocal).
2. The unknowns they read become *completion variables*, each with its possible values:
   each value of a choice, yes and no, and for a number one value in each interval
   between the rule set's own thresholds for it (and each threshold itself, so that
   ``<`` and ``≤`` are told apart). Grading inputs (echo quantitation and signs, cause,
   presentation) are never completed: severity is not re-graded.
3. Every combination is evaluated, recomputing the facts derived from the completed ones
   (symptom status, stage). If some rule of the code fires in all of them, the code is
   given with the weakest class among the rules that fired; if in some, it is
   conditional.

The work is bounded: only inputs that unknown rules read are completed, and a code whose
combinations exceed ``MAX_COMBINATIONS`` is listed as conditional without enumeration.

What does not depend on the patient is built once per rule set (in ``rule_set.memo``):
each unknown rule's completion variables (``_variables_for``) and, per combination of
the guard facts, each code's covering plan (``_plan``: the groups, their tests, every
combination of values of each widening step) with, for a group whose unknowns drive no
derived fact, one generated function that tests its rules on the completed values
directly (``_compiled_fires``). The tests run are the same, in the same order, so the
results are the same (``tests/guidelines/test_completion_plans.py``).
Pure: no Django, no I/O.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from typing import Any

from .parameters import PARAMETERS, RISK_CATEGORIES
from .specs import (
    CompiledRuleSet,
    FunctionSource,
    Leaf,
    RecommendationRule,
    format_value,
    holds_expression,
)
from .vocabulary import FIELDS_BY_PATH, Kind

MAX_COMBINATIONS = 64
SMALL_INTEGER_RANGE = 10  # integers with a range this small take every value (NYHA)

# Facts that are derived from others and completed through their own variable.
SYMPTOM_STATUS = "symptom_status"
NYHA = "symptoms.nyha_class"
STAGE = "stage"
DERIVED_DOMAINS: dict[str, tuple[Any, ...]] = {
    SYMPTOM_STATUS: ("asymptomatic", "symptomatic"),
    "surgical_risk": RISK_CATEGORIES,
    "lv_progression_serial": (True, False),
}
# Where each completion variable is recorded, to name it to the clinician.
RECORDED_AS = {
    SYMPTOM_STATUS: NYHA,
    "surgical_risk": "management.surgical_risk",
    "lv_progression_serial": "prior_echos",
}
LABELS = {
    SYMPTOM_STATUS: "symptom status",
    "surgical_risk": "surgical risk",
    "lv_progression_serial": "progressive LV change on ≥ 3 serial studies",
}
# Weakest first; class 3 statements are cautions and never completed.
CLASS_STRENGTH = {
    None: 0,
    "": 0,
    "2b": 1,
    "IIb": 1,
    "2a": 2,
    "IIa": 2,
    "1": 3,
    "I": 3,
}


@dataclass(frozen=True)
class Region:
    """One piece of a number line cut at a parameter's thresholds."""

    value: Decimal
    low: Decimal | None  # None: unbounded
    low_inclusive: bool
    high: Decimal | None
    high_inclusive: bool


@dataclass
class Unknowns:
    """What the baseline evaluation could not decide, and how to complete it."""

    variables: dict[str, tuple[Any, ...]]  # completion variable → its possible values
    regions: dict[str, tuple[Region, ...]]  # numeric variables: the piece of each value
    stage_drivers: tuple[str, ...]  # variables that decide the undetermined stage


def numeric_regions(name: str, rule_set: CompiledRuleSet) -> tuple[Region, ...]:
    """One representative value per interval between the rule set's thresholds."""
    param = PARAMETERS[name]
    lo, hi = param.minimum, param.maximum
    cuts = sorted(t for t in rule_set.numeric_thresholds.get(name, ()) if lo <= t <= hi)
    integer = param.kind is Kind.INTEGER
    if integer and hi - lo <= SMALL_INTEGER_RANGE:
        return tuple(
            Region(Decimal(v), Decimal(v), True, Decimal(v), True)
            for v in range(int(lo), int(hi) + 1)
        )
    regions: list[Region] = []
    bounds = [lo, *cuts, hi]
    for i, (a, b) in enumerate(itertools.pairwise(bounds)):
        if i > 0:  # the threshold itself
            regions.append(Region(a, a, True, a, True))
        inside = _inside(a, b, integer, first=i == 0, last=i == len(bounds) - 2)
        if inside is not None:
            regions.append(
                Region(
                    inside,
                    None if i == 0 else a,
                    i == 0,
                    None if i == len(bounds) - 2 else b,
                    i == len(bounds) - 2,
                )
            )
    return tuple(regions)


def _inside(a: Decimal, b: Decimal, integer: bool, *, first: bool, last: bool):
    """A value strictly between two cuts (or at the range end when the end is open)."""
    if integer:
        candidates = [v for v in (a + 1, b - 1) if a < v < b]
        if first and a < b:
            candidates.insert(0, a)
        if last and a < b:
            candidates.append(b)
        return candidates[0] if candidates else None
    if a < b:
        return (a + b) / 2
    return None


def unknowns_of(
    facts: Mapping[str, Any],
    rule_set: CompiledRuleSet,
    stage_missing: Sequence[str],
    not_completable: frozenset[str],
) -> Unknowns:
    """The completion variables of this evaluation (see the module docstring)."""
    variables: dict[str, tuple[Any, ...]] = {}
    regions: dict[str, tuple[Region, ...]] = {}
    drivers: list[str] = []
    status = facts.get(SYMPTOM_STATUS)
    symptom_variable = None
    if status == "unknown":
        symptom_variable = NYHA
    elif status == "equivocal":
        symptom_variable = SYMPTOM_STATUS
    if facts.get(STAGE) == "undetermined":
        for parameter in stage_missing:
            variable = symptom_variable if parameter == NYHA else parameter
            if variable is None or variable in not_completable:
                drivers = []
                break
            drivers.append(variable)
    if not drivers and symptom_variable is None:
        return Unknowns(variables, regions, ())  # nothing to complete (most often)
    for name in dict.fromkeys(
        [*drivers, *([symptom_variable] if symptom_variable else [])]
    ):
        _add_variable(name, rule_set, variables, regions)
    return Unknowns(variables, regions, tuple(dict.fromkeys(drivers)))


def _add_variable(name, rule_set, variables, regions) -> bool:
    if name in variables:
        return True
    key = ("completion domain", name)
    if key not in rule_set.memo:
        rule_set.memo[key] = _domain(name, rule_set)
    domain = rule_set.memo[key]
    if domain is None:
        return False
    variables[name], pieces = domain
    if pieces:
        regions[name] = pieces
    return True


def _domain(name, rule_set):
    """A completion variable's possible values (and a number's regions)."""
    if name in DERIVED_DOMAINS:
        return DERIVED_DOMAINS[name], ()
    param = PARAMETERS.get(name)
    if param is None:
        return None
    if param.kind is Kind.BOOLEAN:
        return (True, False), ()
    if param.kind is Kind.CHOICE:
        return param.choices, ()
    pieces = numeric_regions(name, rule_set)
    values = tuple(
        int(r.value) if param.kind is Kind.INTEGER else r.value for r in pieces
    )
    return values, pieces


def resolve(
    facts: Mapping[str, Any],
    rule_set: CompiledRuleSet,
    unknown_rules: Sequence[tuple[RecommendationRule, Sequence[str]]],
    given_codes: Sequence[str],
    unknowns: Unknowns,
    not_completable: frozenset[str],
    recompute: Callable[[Mapping[str, Any], dict[str, Any]], dict[str, Any]],
    entry: Callable[[RecommendationRule], dict[str, Any]],
    earlier: Callable[[RecommendationRule], Sequence[RecommendationRule]] = (
        lambda rule: ()
    ),
    test_of: Callable[[RecommendationRule], Callable[..., bool | None]] = (
        lambda rule: rule.condition.test
    ),
    plans: dict | None = None,
    condition_of: Callable[[RecommendationRule], Any] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Given and conditional recommendations for the codes no rule gave.

    ``unknown_rules`` are the recommendation rules that were unknown (or read an unknown
    derived fact), each with the parameters it needed; ``recompute`` applies a
    completion to the facts in place, recomputes the derived facts and returns what
    ``restore`` puts back; ``entry`` builds a
    given recommendation's entry from a rule; ``earlier`` gives the rules of the same group
    before a rule (one that fires in a completion, a caution included, blocks it);
    ``test_of`` gives the function that tests a rule's condition on these facts;
    ``plans`` keeps each code's ``_Plan`` (see there) for the next evaluation with the
    same ``test_of`` (the engine passes one dict per rule set and guard facts);
    ``condition_of`` gives the condition ``test_of(rule)`` tests (True or False when
    the guard facts decide it), so that a group's rules can be tested in one
    generated function (``_compiled_fires``).
    """
    if plans is None:
        plans = {}
    to_cover = _codes_to_cover(
        unknown_rules,
        given_codes,
        unknowns,
        rule_set,
        not_completable,
        plans,
        lambda candidates: _plan(
            candidates, unknowns, recompute, earlier, test_of, condition_of
        ),
    )
    given: list[dict[str, Any]] = []
    conditional: list[dict[str, Any]] = []
    codes = list(given_codes)
    for code, candidates, plan in to_cover:
        outcome = _cover(facts, plan, codes, recompute)
        if outcome.given is not None:
            names, covered = outcome.given
            item = entry(_weakest(covered))
            item["unknowns"] = [RECORDED_AS.get(n, n) for n in names]
            item["detail"] = (
                item["detail"] + " " if item["detail"] else ""
            ) + f"Holds whatever the unrecorded {_names_text(names)} turns out to be."
            given.append(item)
            codes.append(code)
        elif outcome.partial:
            partial = outcome.partial
            if len(partial) == 1:
                names, covered, group = partial[0]
                text = _group_text(group, names, covered)
                weakest = _weakest(covered)
                names = sorted(set(names))
            else:
                names = sorted({n for group_names, *_ in partial for n in group_names})
                text = " or ".join(
                    _group_text(group, group_names, covered)
                    for group_names, covered, group in partial
                )
                weakest = _weakest(
                    [(None, _weakest(covered)) for _, covered, _ in partial]
                )
            conditional.append(_conditional(weakest, names, text))
        elif outcome.too_many:
            names = list(dict.fromkeys(outcome.too_many))
            text = "depends on " + _names_text(names) + " (not recorded)"
            conditional.append(_conditional(candidates[0][0], names, text))
    return given, conditional


def _codes_to_cover(
    unknown_rules, given_codes, unknowns, rule_set, not_completable, plans, plan_of
):
    """The codes to cover, in order, each with its candidate rules (with their
    completion variables, ``_variables_for``) and its plan (``plan_of``, kept in
    ``plans`` by candidates and stage drivers).

    A rule whose code is given already, or that needs a value never completed, is
    left out. What comes out depends only on the unknown rules (with what each
    needed), the stage drivers and which symptom variables are open at the start, so
    it is worked out once per such combination (in ``plans``). The domains of the
    variables are added to ``unknowns`` when it is worked out; what reads them later
    (the texts) reads them from the plan's groups, so a later evaluation need not."""
    variables = unknowns.variables
    key = (
        "codes to cover",
        tuple(
            (rule.key, needed)
            for rule, needed in unknown_rules
            if rule.code not in given_codes
        ),
        unknowns.stage_drivers,
        NYHA in variables,
        SYMPTOM_STATUS in variables,
    )
    to_cover = plans.get(key)
    if to_cover is not None:
        return to_cover
    by_code: dict[str, list[tuple[RecommendationRule, tuple[str, ...]]]] = {}
    for rule, needed in unknown_rules:
        if rule.code in given_codes:
            continue
        names = _variables_for(needed, unknowns, rule_set, not_completable)
        if names is None:
            continue  # needs a grading input: stays unknown, listed under missing
        by_code.setdefault(rule.code, []).append((rule, names))
    to_cover = []
    for code, candidates in by_code.items():
        plan_key = (
            tuple((rule.key, *names) for rule, names in candidates),
            unknowns.stage_drivers,
        )
        plan = plans.get(plan_key)
        if plan is None:
            plan = plans[plan_key] = plan_of(candidates)
        to_cover.append((code, candidates, plan))
    plans[key] = to_cover = tuple(to_cover)
    return to_cover


@dataclass(slots=True)
class _Coverage:
    given: tuple[list[str], list] | None = None
    # (the unknowns named, the completions covered, their group)
    partial: list[tuple[list[str], list, _GroupPlan]] = field(default_factory=list)
    too_many: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Step:
    """One widening of a group's completed unknowns (by the unknowns of its next rule
    that are not completed yet)."""

    new: tuple[str, ...]  # the unknowns completed at this step
    names: tuple[str, ...]  # all the unknowns completed after it, in order
    # every combination of the new ones; None when there are more than
    # MAX_COMBINATIONS (then the step is never taken)
    combinations: tuple[tuple[Any, ...], ...] | None
    rest: tuple[str, ...]  # the group's unknowns still open (sorted by name)
    # every combination of ``rest``; None when there are more than MAX_COMBINATIONS
    rest_combinations: tuple[tuple[Any, ...], ...] | None
    # the same combinations as completions ({name: value}), made once: the first
    # step's are the completions themselves, a later step's extend the uncovered ones
    # (never written to: a completion is extended into a new dict)
    assignments: tuple[dict[str, Any], ...] | None = None
    rest_assignments: tuple[dict[str, Any], ...] | None = None


@dataclass(frozen=True)
class _GroupPlan:
    """A group of candidate rules sharing unknowns, ready to be covered."""

    variables: tuple[str, ...]  # the group's unknowns
    # (rule, its test, the tests of the rules before it in its group)
    tests: tuple[tuple[RecommendationRule, Callable, tuple[Callable, ...]], ...]
    steps: tuple[_Step, ...]
    setting: bool  # no derived fact depends on the unknowns: completions only set them
    # sort_each(facts, recommended, assignments, covered, uncovered) for a setting
    # group whose conditions can all be inlined (``_compiled_fires``)
    compiled: Callable[..., list] | None = None
    # the group's unknowns with their values and regions, for the texts
    domains: Unknowns | None = None
    # the ids of the first step's completions (made with the plan, kept with it) and
    # the 'would apply if' texts of sets of them (``_group_text``)
    first_ids: frozenset[int] = frozenset()
    texts: dict[tuple, str] = field(default_factory=dict, compare=False)


_Plan = tuple[_GroupPlan, ...]


def _plan(
    candidates, unknowns, recompute, earlier, test_of, condition_of=None
) -> _Plan:
    """What covering one code needs that does not depend on the patient: the groups of
    its candidate rules, each rule's test and blockers, the widening steps with every
    combination of values spelled out. It depends only on the candidates (rules and
    the unknowns they read), the stage drivers (which decide what ``recompute``
    recomputes) and the rule set and guard facts behind ``test_of``, so it is built
    once per such combination and the covering itself (``_cover``) does exactly the
    same tests in the same order as before."""
    triggers = getattr(recompute, "triggers", None)
    groups = []
    for group in _sharing_groups(candidates):
        variables = tuple(
            dict.fromkeys(n for _, rule_names in group for n in rule_names)
        )
        steps: list[_Step] = []
        names: list[str] = []
        for _, rule_names in group:
            new = [n for n in rule_names if n not in names]
            if not new and names:
                continue
            names = [*names, *new]
            rest = sorted(set(variables) - set(names))
            rest_combinations = None
            if _size(rest, unknowns) <= MAX_COMBINATIONS:
                rest_combinations = tuple(
                    itertools.product(*(unknowns.variables[n] for n in rest))
                )
            combinations = None
            if _size(new, unknowns) <= MAX_COMBINATIONS:
                combinations = tuple(
                    itertools.product(*(unknowns.variables[n] for n in new))
                )
            steps.append(
                _Step(
                    tuple(new),
                    tuple(names),
                    combinations,
                    tuple(rest),
                    rest_combinations,
                    _as_assignments(new, combinations),
                    _as_assignments(rest, rest_combinations),
                )
            )
        setting = set(variables).isdisjoint(variables if triggers is None else triggers)
        compiled = None
        if setting and condition_of is not None:
            compiled = _compiled_fires(group, variables, earlier, condition_of)
        domains = Unknowns(
            {name: unknowns.variables[name] for name in variables},
            {
                name: unknowns.regions[name]
                for name in variables
                if name in unknowns.regions
            },
            unknowns.stage_drivers,
        )
        first = steps[0].assignments if steps else None
        groups.append(
            _GroupPlan(
                variables,
                tuple(_group_tests(group, test_of, earlier)),
                tuple(steps),
                setting,
                compiled,
                domains,
                frozenset(map(id, first or ())),
            )
        )
    return tuple(groups)


def _inlinable(condition, depth: int = 0) -> bool:
    """Whether the condition can be written as an expression on locals
    (``specs.holds_expression``): no ``at_least`` node (called on the facts, which a
    completion does not write to), nodes nested one level at most (as the generated
    group tests have always been limited to)."""
    if isinstance(condition, bool | Leaf):
        return True
    return condition.match != "at_least" and all(
        isinstance(child, Leaf) or (depth == 0 and _inlinable(child, 1))
        for child in condition.children
    )


def _compiled_fires(group, variables, earlier, condition_of):
    """The group's test of a list of completions as one generated function, or None
    when some condition cannot be inlined.

    ``sort_each(facts, recommended, assignments, covered, uncovered)`` reads each
    parameter the conditions test once, before its loop: the recorded values from the
    facts, and the codes recommended so far from ``recommended``. Then, for each
    completion in ``assignments``, it takes the completed unknowns from it (the
    recorded value for one it leaves open) and tests the rules in order exactly as
    ``_first_firing`` does on facts with the completion written into them: the first
    rule whose condition is True (three-valued), none of the rules before it in its
    group being True, fires, and ``(completion, rule)`` is appended to ``covered``; a
    completion in which none fires is appended to ``uncovered``. Only "is it True?"
    is asked and no absent value is reported, so each condition is written as one
    boolean expression (``specs.holds_expression``: ``all`` as ``and``, ``any`` as
    ``or``, a leaf true when recorded and holding). Nothing is written into the
    facts, so nothing needs to be put back. For a rule with one blocker::

        for assignment in assignments:
            x1 = assignment.get(p4, x1_recorded)
            if ((x1 is not None and x1 <= v5) and (x0 is not None and v6 in x0)):
                if not ((x1 is not None and x1 < v7)):  # the blocker
                    covered.append((assignment, r3))
                    continue
            uncovered.append(assignment)
    """
    conditions = [
        (rule, condition_of(rule), [condition_of(first) for first in earlier(rule)])
        for rule, _ in group
    ]
    if not all(
        _inlinable(c) and all(_inlinable(b) for b in blockers)
        for _, c, blockers in conditions
    ):
        return None
    src = FunctionSource()
    bind, value_of = src.bind, src.value_of

    body: list[str] = []
    for rule, condition, blockers in conditions:
        fired = [f"covered.append((assignment, {bind('r', rule)}))", "continue"]
        if blockers:  # none of the rules before it in its group holds
            either = " or ".join(holds_expression(b, value_of, bind) for b in blockers)
            fired = [f"if not ({either}):", *("    " + line for line in fired)]
        body += [
            f"if {holds_expression(condition, value_of, bind)}:",
            *("    " + line for line in fired),
        ]
    completed = set(variables)
    recorded, per_completion = [], []
    for parameter, x in src.locals_of.items():
        p = bind("p", parameter)
        if parameter == "recommendations":
            recorded.append(f"    {x} = recommended")
        elif parameter in completed:
            recorded.append(f"    {x}_recorded = get({p})")
            per_completion.append(f"        {x} = assignment.get({p}, {x}_recorded)")
        else:
            recorded.append(f"    {x} = get({p})")
    lines = [
        "def sort_each(facts, recommended, assignments, covered, uncovered):",
        "    get = facts.get",
        *recorded,
        "    for assignment in assignments:",
        *per_completion,
        *("        " + line for line in body),
        "        uncovered.append(assignment)",
    ]
    return src.function(lines, "sort_each", "<completion group>")


def _cover(facts, plan: _Plan, codes, recompute) -> _Coverage:
    """Which completions some candidate rule of one code fires in.

    Rules that share no unknown are independent: the code holds in every completion
    exactly when it does within one group of rules that share them. Within a group the
    completed unknowns widen one rule at a time, and only the completions not yet
    covered are extended: three-valued logic is monotone, so a rule that fired with an
    unknown left open still fires whatever value it takes. The first set of unknowns
    under which nothing is left uncovered is the one named.
    """
    outcome = _Coverage()
    recommended = tuple(codes)
    for group in plan:
        if group.compiled is not None:
            # Reads the completions without writing them into the facts.
            sort_each = partial(group.compiled, facts, recommended)
            if _cover_group(outcome, group, sort_each):
                return outcome
        elif group.setting:
            # No derived fact depends on these unknowns: a completion only sets them,
            # so the facts are saved once for the group and put back at its end.
            saved = saved_values(facts, (*group.variables, "recommendations"))
            try:
                facts["recommendations"] = recommended
                fires = _setting_fires(facts, group.tests, group.variables)
                if _cover_group(outcome, group, _sorting(fires)):
                    return outcome
            finally:
                restore(facts, saved)
        else:
            fires = _recomputing_fires(facts, group.tests, recompute, recommended)
            if _cover_group(outcome, group, _sorting(fires)):
                return outcome
    return outcome


def _sorting(fires):
    """``sort_each(assignments, covered, uncovered)`` from a ``fires`` of one
    completion (the rule that fires in it, or None)."""

    def sort_each(assignments, covered, uncovered):
        for assignment in assignments:
            rule = fires(assignment)
            if rule is None:
                uncovered.append(assignment)
            else:
                covered.append((assignment, rule))

    return sort_each


def _cover_group(outcome: _Coverage, group: _GroupPlan, sort_each) -> bool:
    """Widen one group's unknowns rule by rule (see ``_cover``); True when the code
    is given (``outcome.given`` set). ``sort_each(assignments, covered, uncovered)``
    appends each completion with the rule that fires in it to ``covered``, each in
    which none fires to ``uncovered``."""
    names: tuple[str, ...] = ()
    uncovered: Sequence[dict[str, Any]] = ({},)
    covered: list[tuple[dict[str, Any], RecommendationRule]] = []
    narrowest = None
    for step in group.steps:
        assignments = step.assignments
        if assignments is None or len(assignments) * len(uncovered) > MAX_COMBINATIONS:
            if narrowest is None:
                outcome.too_many.extend(step.names)
            break
        names = step.names
        if step is not group.steps[0]:  # the first step's completions are made
            assignments = [
                {**base, **values} for base in uncovered for values in assignments
            ]
        uncovered = []
        sort_each(assignments, covered, uncovered)
        if not uncovered:
            outcome.given = (list(names), covered)
            return True
        if covered and narrowest is None:
            narrowest = (list(names), list(covered))
        if _refuted(uncovered[0], step, sort_each):
            break  # one completion no rule of the code reaches: it is not given
    if narrowest is not None:
        outcome.partial.append((*narrowest, group))
    return False


def _as_assignments(names, combinations) -> tuple[dict[str, Any], ...] | None:
    """Each combination of values of ``names`` as a completion ``{name: value}``."""
    if combinations is None:
        return None
    return tuple(dict(zip(names, values, strict=True)) for values in combinations)


def _group_tests(group, test_of, earlier):
    """(rule, its test, the tests of the rules before it in its group)."""
    return [
        (rule, test_of(rule), tuple(test_of(first) for first in earlier(rule)))
        for rule, _ in group
    ]


def _first_firing(facts, tests, scratch):
    """The first rule that fires, none of the rules before it in its group firing."""
    for rule, test, blockers in tests:
        if test(facts, scratch) is True:
            for first in blockers:
                if first(facts, scratch) is True:
                    break
            else:
                return rule
    return None


def _setting_fires(facts, tests, variables):
    """``fires`` for unknowns no derived fact depends on: each completion is set over
    the previous one (the variables it leaves out reset to their recorded values).
    It tests the rules as ``_first_firing`` does, inline: it runs for every
    completion."""
    reset = {name: facts.get(name) for name in variables}
    size = len(reset)
    update = facts.update
    scratch: set[str] = set()  # absent values, not read here

    def fires(assignment):
        if len(assignment) < size:
            update(reset)
        update(assignment)
        for rule, test, blockers in tests:
            if test(facts, scratch) is True:
                for first in blockers:
                    if first(facts, scratch) is True:
                        break
                else:
                    return rule
        return None

    return fires


def _recomputing_fires(facts, tests, recompute, recommended):
    """``fires`` that recomputes the derived facts (symptom status, stage) of each
    completion and puts the facts back after it."""
    scratch: set[str] = set()

    def fires(assignment):
        saved = recompute(facts, assignment)
        try:
            facts["recommendations"] = recommended
            return _first_firing(facts, tests, scratch)
        finally:
            restore(facts, saved)

    return fires


def _refuted(base, step: _Step, sort_each) -> bool:
    """Whether one uncovered completion stays uncovered whatever the group's other
    unknowns are: then the code cannot hold in every completion, and widening further
    would only cost time."""
    if not step.rest or step.rest_assignments is None:
        return not step.rest
    uncovered: list[dict[str, Any]] = []
    for values in step.rest_assignments:  # until one is not covered
        sort_each(({**base, **values},), [], uncovered)
        if uncovered:
            return True
    return False


def _weakest(covered) -> RecommendationRule:
    """The rule of the weakest class among ``(completion, rule)`` pairs (the first
    such)."""
    weakest, lowest = None, 1 << 30
    strength = CLASS_STRENGTH.get
    for _, rule in covered:
        rule_strength = strength(rule.cor, 0)
        if rule_strength < lowest:
            weakest, lowest = rule, rule_strength
    return weakest


def _sharing_groups(candidates):
    """Split a code's candidate rules into groups connected by shared unknowns."""
    if len(candidates) == 1:
        return [list(candidates)]
    groups: list[tuple[set[str], list]] = []
    for rule, names in candidates:
        joined = [g for g in groups if g[0].intersection(names)]
        merged_names, merged_rules = set(names), [(rule, names)]
        for g in joined:
            merged_names |= g[0]
            merged_rules = g[1] + merged_rules
            groups.remove(g)
        merged_rules.sort(key=lambda item: item[0].position)
        groups.append((merged_names, merged_rules))
    groups.sort(key=lambda g: g[1][0][0].position)
    return [rules for _, rules in groups]


def _size(names, unknowns) -> int:
    size = 1
    for name in names:
        size *= len(unknowns.variables[name])
    return size


def _variables_for(
    needed, unknowns, rule_set, not_completable
) -> tuple[str, ...] | None:
    """The completion variables of one unknown rule (None: it needs a value that is
    never completed), each with its domain added to ``unknowns``.

    They depend only on what the rule needed, the stage drivers and which of the
    symptom variables are open, so they are worked out once per rule set for each
    such combination (``_variables_worked_out``); a later evaluation adds the same
    domains in the same order and gets the same names."""
    key = (
        "completion variables",
        needed,
        unknowns.stage_drivers,
        NYHA in unknowns.variables,
        SYMPTOM_STATUS in unknowns.variables,
    )
    known = rule_set.memo.get(key)
    if known is None:
        known = rule_set.memo[key] = _variables_worked_out(
            needed, unknowns, rule_set, not_completable
        )
    names, added = known
    variables = unknowns.variables
    for parameter in added:
        if parameter not in variables:
            _add_variable(parameter, rule_set, variables, unknowns.regions)
    return names


def _variables_worked_out(needed, unknowns, rule_set, not_completable):
    """(the variables or None, the parameters whose domains were added on the way)."""
    names: list[str] = []
    added: list[str] = []
    for parameter in needed:
        if parameter == STAGE:
            if not unknowns.stage_drivers:
                return None, tuple(added)
            names.extend(unknowns.stage_drivers)
            continue
        if parameter == SYMPTOM_STATUS:
            variable = NYHA if NYHA in unknowns.variables else SYMPTOM_STATUS
            if variable not in unknowns.variables:
                return None, tuple(added)
            names.append(variable)
            continue
        if parameter in not_completable:
            return None, tuple(added)
        if not _add_variable(parameter, rule_set, unknowns.variables, unknowns.regions):
            return None, tuple(added)
        added.append(parameter)
        names.append(parameter)
    return tuple(dict.fromkeys(names)), tuple(added)


_ABSENT = object()


def saved_values(facts, names) -> dict[str, Any]:
    """The values ``restore`` puts back (a completion is applied in place: copying the
    facts for every combination would cost more than evaluating it)."""
    return {name: facts.get(name, _ABSENT) for name in names}


def restore(facts, saved: dict[str, Any]) -> None:
    for name, value in saved.items():
        if value is _ABSENT:
            facts.pop(name, None)
        else:
            facts[name] = value


def stage_candidates(
    facts: Mapping[str, Any],
    unknowns: Unknowns,
    recompute: Callable[[Mapping[str, Any], dict[str, Any]], dict[str, Any]],
) -> list[str]:
    """The stages an undetermined stage could be, over its drivers' values."""
    names = list(unknowns.stage_drivers)
    domains = [unknowns.variables[n] for n in names]
    stages: list[str] = []
    for combination in itertools.product(*domains):
        saved = recompute(facts, dict(zip(names, combination, strict=True)))
        stage = facts[STAGE]
        restore(facts, saved)
        if stage not in stages and stage != "undetermined":
            stages.append(stage)
    return sorted(stages)


def names_text(names: Sequence[str]) -> str:
    return _names_text(names)


def _label(name: str) -> str:
    if name in LABELS:
        return LABELS[name]
    field = FIELDS_BY_PATH.get(name)
    if field is not None:
        return field.label
    param = PARAMETERS.get(name)
    return param.label if param else name


def _names_text(names: Sequence[str]) -> str:
    labels = [_label(n) for n in names]
    if len(labels) <= 1:
        return "".join(labels)
    return ", ".join(labels[:-1]) + " and " + labels[-1]


def _conditional(rule, names, condition: str) -> dict[str, Any]:
    """A ``conditional`` row: the rule's code, title, class, level and source (as in
    its recommendation entry), what it depends on and when it would apply."""
    return {
        "code": rule.code,
        "title": rule.title,
        "class": rule.cor,
        "level": rule.loe,
        "source": rule.source.as_dict(),
        "depends_on": [RECORDED_AS.get(n, n) for n in names],
        "condition": condition,
    }


def _group_text(group: _GroupPlan, names, covered) -> str:
    """``_applying_text`` for one group. When every completion covered is one of the
    group's first step (the same dicts, made with the plan, every evaluation), the
    text is a function of which of them are covered, so it is kept on the group by
    their ids (up to ``MAX_TEXTS`` sets)."""
    ids = tuple([id(assignment) for assignment, _ in covered])
    if not group.first_ids.issuperset(ids):
        return _applying_text(names, covered, group.domains)
    key = (tuple(names), ids)
    text = group.texts.get(key)
    if text is None:
        if len(group.texts) >= MAX_TEXTS:
            group.texts.clear()
        text = group.texts[key] = _applying_text(names, covered, group.domains)
    return text


MAX_TEXTS = 256


def _applying_text(names, covered, unknowns) -> str:
    """'would apply if …': the values of each unknown under which a rule fired (an
    unknown a completion left open stands for all its values)."""
    variables = unknowns.variables
    parts = []
    product = 1
    left_open = False
    for name in names:
        domain = variables[name]
        try:
            values = {assignment[name] for assignment, _ in covered}
        except KeyError:  # left open by some completion: all its values
            left_open = True
            product *= len(domain)
            continue
        if len(values) == len(domain):  # every value (values come from the domain)
            product *= len(domain)
            continue
        chosen = [v for v in domain if v in values]
        product *= len(chosen)
        parts.append(_value_text(name, chosen, unknowns))
    text = "would apply if " + " and ".join(parts) if parts else "would apply"
    combinations = len(covered)  # the completions the covered ones stand for
    if left_open:
        combinations = 0
        for assignment, _ in covered:
            size = 1
            for name in names:
                if name not in assignment:
                    size *= len(variables[name])
            combinations += size
    if product != combinations:
        text += " (in some combinations of these values only)"
    return text


_TEXTS: dict[tuple, tuple[Any, str]] = {}  # (name, regions id, values) → text


def _value_text(name: str, chosen: list, unknowns: Unknowns) -> str:
    """'LVEF ≤ 60 %', 'rhythm is atrial fibrillation' (memoised: values repeat)."""
    regions = unknowns.regions.get(name)
    key = (name, id(regions), tuple(chosen))
    cached = _TEXTS.get(key)
    if cached is not None and cached[0] is regions:
        return cached[1]
    if len(_TEXTS) > 10_000:
        _TEXTS.clear()
    text = _value_text_uncached(name, chosen, unknowns)
    _TEXTS[key] = (regions, text)
    return text


def _value_text_uncached(name: str, chosen: list, unknowns: Unknowns) -> str:
    label = _label(name)
    if name in unknowns.regions:
        pieces = [r for r in unknowns.regions[name] if _number(r.value, name) in chosen]
        unit = PARAMETERS[name].unit
        ranges = " or ".join(_ranges_text(pieces, unknowns.regions[name]))
        return f"{label} {ranges}" + (f" {unit}" if unit else "")
    field = FIELDS_BY_PATH.get(name)
    names = dict(field.choices) if field is not None and field.choices else {}
    words = [names.get(v, format_value(v).replace("_", " ")) for v in chosen]
    if len(words) == 1:
        return f"{label} is {words[0]}"
    return f"{label} is {' or '.join(words)}"


def _number(value: Decimal, name: str):
    return int(value) if PARAMETERS[name].kind is Kind.INTEGER else value


def _ranges_text(pieces: list[Region], all_pieces: tuple[Region, ...]) -> list[str]:
    """Merge adjacent applying pieces into ranges: '≤ 60', '≥ 40', '30 to 49'."""
    order = {id(r): i for i, r in enumerate(all_pieces)}
    runs: list[list[Region]] = []
    for piece in sorted(pieces, key=lambda r: order[id(r)]):
        if runs and order[id(runs[-1][-1])] + 1 == order[id(piece)]:
            runs[-1].append(piece)
        else:
            runs.append([piece])
    texts = []
    for run in runs:
        first, last = run[0], run[-1]
        low, low_in = first.low, first.low_inclusive
        high, high_in = last.high, last.high_inclusive
        at_start = order[id(first)] == 0
        at_end = order[id(last)] == len(all_pieces) - 1
        if low == high and low is not None:
            texts.append(f"= {_fmt(low)}")
        elif (at_start or low is None) and not at_end:
            texts.append(f"{'≤' if high_in else '<'} {_fmt(high)}")
        elif (at_end or high is None) and not at_start:
            texts.append(f"{'≥' if low_in else '>'} {_fmt(low)}")
        else:
            texts.append(
                f"{'≥' if low_in else '>'} {_fmt(low)} and "
                f"{'≤' if high_in else '<'} {_fmt(high)}"
            )
    return texts


def _fmt(value: Decimal | None) -> str:
    if value is None:
        return ""
    text = format(value.normalize(), "f")
    return text
