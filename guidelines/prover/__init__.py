"""Prove the safety invariants of a compiled rule-set version for every input in range.

``ruleset_prove(rule_set)`` returns one ``Outcome`` per invariant of ``invariants.py``:

- ``proved``: no input in the contract's ranges violates it (the solver found the
  translated rule set, with the missing-data step over-approximated, unsatisfiable with
  the violation);
- ``violated``: the solver found a patient, that patient was run through the real engine
  and the engine shows the same violation; the patient is described in clinical words
  with the rules that fired;
- ``disagreement``: the engine does not show the violation the solver found: a bug in
  the translation or in the engine; never a pass;
- ``unconfirmed``: a violation exists only with derived values the prover does not
  realise as an input (a PISA-derived EROA, a BSA-indexed diameter); not a pass either.

Pure: no ORM, no settings; the publication gate stores ``ProofReport.as_dict()``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import z3

from ..engine import evaluate
from ..parameters import value_label
from ..specs import CompiledRuleSet
from ..validation import input_parse
from ..vocabulary import FIELDS_BY_PATH, INPUT_FIELDS, Kind
from . import model
from .invariants import INVARIANTS, Context, Invariant

SOLVER_TIMEOUT_MS = 60_000


@dataclass
class Outcome:
    key: str
    statement: str
    source: str
    status: str  # proved | violated | disagreement | unconfirmed | unknown
    seconds: float  # process CPU time
    patients: list[dict[str, Any]] = field(default_factory=list)  # input(s) found
    description: list[str] = field(default_factory=list)  # clinical words
    fired: list[str] = field(default_factory=list)  # the rules that fired

    @property
    def proved(self) -> bool:
        return self.status == "proved"

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "statement": self.statement,
            "source": self.source,
            "status": self.status,
            "seconds": round(self.seconds, 3),
            "patients": _jsonable(self.patients),
            "description": self.description,
            "fired": self.fired,
        }


@dataclass
class ProofReport:
    rule_set: str
    version: str
    content_hash: str
    outcomes: list[Outcome]
    seconds: float

    @property
    def ok(self) -> bool:
        return all(o.proved for o in self.outcomes)

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.proved]

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule_set": self.rule_set,
            "version": self.version,
            "content_hash": self.content_hash,
            "ok": self.ok,
            "seconds": round(self.seconds, 3),
            "outcomes": [o.as_dict() for o in self.outcomes],
        }

    def text(self) -> str:
        """The report in clinical language (the gate's refusal, the command's output)."""
        lines = []
        for o in self.outcomes:
            lines.append(f"{o.status.upper():13} {o.key}: {o.statement} ({o.source})")
            lines.extend(f"    {line}" for line in o.description)
            lines.extend(f"    fired: {line}" for line in o.fired)
        return "\n".join(lines)


def ruleset_prove(rule_set: CompiledRuleSet, invariants=INVARIANTS) -> ProofReport:
    start = time.process_time()
    outcomes = [invariant_prove(rule_set, inv) for inv in invariants]
    return ProofReport(
        rule_set.code,
        rule_set.version,
        rule_set.content_hash,
        outcomes,
        time.process_time() - start,
    )


def invariant_prove(rule_set: CompiledRuleSet, invariant: Invariant) -> Outcome:
    start = time.process_time()
    outcome = Outcome(invariant.key, invariant.statement, invariant.source, "proved", 0)
    result, _ = _search(rule_set, invariant, concrete=False)
    if result == z3.sat:
        result, patients = _search(rule_set, invariant, concrete=True)
        if result == z3.sat:
            _confirm(rule_set, invariant, patients, outcome)
        else:
            outcome.status = "unconfirmed" if result == z3.unsat else "unknown"
            outcome.description = [
                "A violation exists only with derived values (PISA-derived EROA, "
                "BSA-indexed diameters or serial studies) the prover does not turn "
                "into an input; check the rows this invariant depends on."
            ]
    elif result == z3.unknown:
        outcome.status = "unknown"
        outcome.description = ["The solver gave up within its time limit."]
    outcome.seconds = time.process_time() - start
    return outcome


def _search(rule_set, invariant, *, concrete: bool):
    """Satisfiability of the violation; with ``concrete``, the patient(s) found."""
    inputs = model.Inputs.declare("", concrete=concrete)
    if concrete:
        inputs.constraints.append(z3.Not(inputs.facts["guideline"].present))
    ev = model.evaluation(rule_set, inputs)
    ctx = Context(ev, inputs)
    copies = [inputs]
    if invariant.change:
        after_inputs = inputs.changed(invariant.change, "after:")
        after = model.evaluation(rule_set, after_inputs, "after:", like=ev)
        after_ctx = Context(after, after_inputs)
        formula = invariant.violation(ctx, after_ctx)
        constraints = [*ev.constraints, *after.constraints, *after_ctx.constraints]
        copies.append(after_inputs)
    else:
        formula = invariant.violation(ctx)
        constraints = list(ev.constraints)
    solver = z3.Solver()
    solver.set("timeout", SOLVER_TIMEOUT_MS)
    solver.add(*constraints, *ctx.constraints, formula)
    if not concrete:
        return solver.check(), []
    # Prefer an adult of the intended use, with both or neither of height and weight.
    result = solver.check(*_typical(inputs))
    if result != z3.sat:
        result = solver.check()
    if result != z3.sat:
        return result, []
    # The violation over-approximates the missing-data step, so a patient may show it
    # to the solver and not to the engine; another patient is then looked for, up to
    # WITNESS_TRIES, so that what is reported does not hang on the one the solver
    # happens to give first (which varies with the solver's history in the process).
    for _ in range(WITNESS_TRIES):
        found = solver.model()
        patients = [patient_of(found, copy) for copy in copies]
        if _engine_confirms(rule_set, invariant, patients)[0]:
            break
        solver.add(z3.Or([_differs(found, copy) for copy in copies]))
        if solver.check(*_typical(inputs)) != z3.sat and solver.check() != z3.sat:
            break
    return result, patients


WITNESS_TRIES = 5


def _differs(found: z3.ModelRef, inputs: model.Inputs) -> z3.BoolRef:
    """Another patient than the one ``found`` describes."""
    changes = []
    for fact in inputs.facts.values():
        present = found.eval(fact.present, model_completion=True)
        changes.append(fact.present != present)
        changes.append(z3.And(fact.present, fact.value != found.eval(fact.value, True)))
    return z3.Or(changes)


ADULT_AGE_YEARS = 18  # the rule sets are written for adults (docs/guideline.md §1)


def _typical(inputs: model.Inputs) -> list[z3.BoolRef]:
    f = inputs.facts
    return [
        f["patient.age_years"].value >= ADULT_AGE_YEARS,
        f["patient.height_cm"].present == f["patient.weight_kg"].present,
    ]


def patient_of(found: z3.ModelRef, inputs: model.Inputs) -> dict[str, Any]:
    """The assessment input (CONTRACT section 1) a model describes."""
    data: dict[str, Any] = {}
    for spec in INPUT_FIELDS:
        fact = inputs.facts[spec.path]
        if not z3.is_true(found.eval(fact.present, model_completion=True)):
            continue
        raw = found.eval(fact.value, model_completion=True)
        if spec.kind is Kind.BOOLEAN:
            value: Any = z3.is_true(raw)
        elif spec.kind is Kind.CHOICE:
            value = spec.choice_values[raw.as_long()]
        elif spec.kind is Kind.INTEGER:
            value = raw.as_long()
        else:
            value = Decimal(raw.numerator_as_long()) / Decimal(
                raw.denominator_as_long()
            )
        if spec.section:
            data.setdefault(spec.section, {})[spec.name] = value
        else:
            data[spec.path] = value
    return data


def _engine_confirms(rule_set, invariant, patients) -> tuple[bool, list]:
    """Whether the engine shows the violation for ``patients``, and its results."""
    results = [(p, evaluate(input_parse(p), rule_set)) for p in patients]
    if invariant.change:
        return invariant.confirm(patients[0], patients[1], results), results
    return invariant.confirm(patients[0], results[0][1], rule_set), results


def _confirm(rule_set, invariant, patients, outcome: Outcome) -> None:
    violated, results = _engine_confirms(rule_set, invariant, patients)
    outcome.status = "violated" if violated else "disagreement"
    outcome.patients = patients
    for label, (patient, result) in zip(("Before: ", "After: "), results, strict=False):
        prefix = label if invariant.change else ""
        outcome.description.append(prefix + describe_patient(patient))
        outcome.description.append(prefix + describe_result(result))
        outcome.fired.extend(prefix + line for line in fired_rules(result))
    if not violated:
        outcome.description.append(
            "The engine does not show the violation the prover found: one of them is "
            "wrong."
        )


def describe_patient(data: dict[str, Any]) -> str:
    """'Acute presentation; cause: Primary: rheumatic; LVEF 55 %; …'."""
    parts = []
    for spec in INPUT_FIELDS:
        section = data.get(spec.section, {}) if spec.section else data
        if spec.name not in section and spec.path not in section:
            continue
        value = section.get(spec.name, section.get(spec.path))
        if spec.kind is Kind.BOOLEAN:
            text = "yes" if value else "no"
        elif spec.kind is Kind.CHOICE:
            text = dict(spec.choices).get(value, value)
        else:
            text = f"{_number_text(value)} {spec.unit}".rstrip()
        parts.append(f"{FIELDS_BY_PATH[spec.path].label}: {text}")
    return "Patient: " + "; ".join(parts) + "; nothing else recorded."


def describe_result(result: dict[str, Any]) -> str:
    codes = ", ".join(r["code"] for r in result["recommendations"]) or "none"
    return (
        f"Engine: {value_label('severity', result['severity'])}, "
        f"{value_label('mr_type', result['mr_type'])}, "
        f"{value_label('stage', result['stage'])}, "
        f"{value_label('symptom_status', result['symptom_status'])}; "
        f"recommended: {codes}."
    )


def fired_rules(result: dict[str, Any]) -> list[str]:
    lines = []
    for key in ("recommendations", "cautions", "conditional"):
        for item in result[key]:
            rule = item.get("rule", "")
            lines.append(
                f"{key[:-1] if key != 'conditional' else key} {item['code']}"
                f"{f' (rule {rule})' if rule else ''}: {item['title']}"
            )
    return lines or ["no rule fired: no recommendation, caution or conditional entry"]


def _number_text(value) -> str:
    text = format(Decimal(str(value)).normalize(), "f")
    return text


def _jsonable(value):
    if isinstance(value, Decimal):
        return _number_text(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value
