"""The rule-set prover (issue 19): the safety invariants of docs/guideline.md §6b are
proved for every input in range for both shipped rule sets, and each deliberately
broken draft (a moved threshold, a dropped exclusion) is caught with a patient that the
real engine confirms. The expectations come from the guideline and the SPEC (cited),
never from the prover's own output."""

import copy
import dataclasses
import json
from decimal import Decimal

import pytest
import z3
from django.core.management import CommandError, call_command
from hypothesis import HealthCheck, given, settings

from guidelines import authoring, services
from guidelines.engine import evaluate
from guidelines.loaders import DATA_DIR, document_read, ruleset_from_document
from guidelines.models import RuleSetVersion, VersionStatus
from guidelines.parameters import CONTRACT_CODES, EXTRA_CODES, PARAMETERS
from guidelines.prover import model, ruleset_prove, terms
from guidelines.prover.invariants import INVARIANTS, Context
from guidelines.validation import input_parse
from guidelines.vocabulary import INPUT_FIELDS
from tests.guidelines.test_safety_invariants import contract_inputs

SHIPPED = ("acc_aha_2020", "esc_eacts_2025")
BY_KEY = {inv.key: inv for inv in INVARIANTS}


@pytest.fixture(scope="module")
def shipped_reports():
    return {
        code: ruleset_prove(ruleset_from_document(document_read(code)))
        for code in SHIPPED
    }


@pytest.mark.parametrize("code", SHIPPED)
@pytest.mark.parametrize("key", list(BY_KEY))
def test_every_invariant_is_proved_for_the_shipped_rule_sets(
    shipped_reports, code, key
):
    outcome = next(o for o in shipped_reports[code].outcomes if o.key == key)
    assert outcome.status == "proved", "\n".join(outcome.description + outcome.fired)


# --- deliberately broken drafts ----------------------------------------------------


def _without(condition, leaf):
    """The condition data with every copy of ``leaf`` removed."""
    if isinstance(condition, dict):
        return {
            k: (
                [_without(c, leaf) for c in v if c != leaf]
                if isinstance(v, list)
                else v
            )
            for k, v in condition.items()
        }
    return condition


def _replaced(condition, old, new):
    if condition == old:
        return new
    if isinstance(condition, dict):
        return {
            k: ([_replaced(c, old, new) for c in v] if isinstance(v, list) else v)
            for k, v in condition.items()
        }
    return condition


def _edit(doc, table, key, change):
    for row in doc[table]:
        if row["key"] == key:
            change(row)
            return
    raise AssertionError(f"no {table} row {key}")


def drop_flail_from_severe_signs(doc):
    _edit(
        doc,
        "severity",
        "severe_valve_lesion",
        lambda r: r.update(
            when=_without(r["when"], ["echo.flail_leaflet", "==", True])
        ),
    )


def drop_hypotension_from_stabilization(doc):
    leaf = ["hemodynamics.hypotension", "recorded_as", [True]]
    for key in ("acute_stabilization_hypotensive", "acute_stabilization"):
        _edit(doc, "rule", key, lambda r: r.update(when=_without(r["when"], leaf)))


def move_teer_valve_area_to_2(doc):
    old = ["echo.mitral_valve_area_cm2", "<", 3.0]
    for row in doc["rule"]:
        row["when"] = _replaced(
            row["when"], old, ["echo.mitral_valve_area_cm2", "<", 2.0]
        )


def drop_crt_first_from_teer(doc):
    doc["rule"] = [r for r in doc["rule"] if r["key"] != "teer_after_crt"]
    for row in doc["rule"]:
        if row["code"] == "teer":
            row["when"] = _without(row["when"], ["recommendations", "excludes", "crt"])


def move_c2_lvesd_to_45(doc):
    _edit(
        doc, "stage", "c2_lvesd", lambda r: r.update(when=["echo.lvesd_mm", ">=", 45])
    )


def drop_severity_from_concomitant_surgery(doc):
    _edit(
        doc,
        "rule",
        "P10",
        lambda r: r.update(when=_without(r["when"], ["severity", "==", "severe"])),
    )


def label_p1_as_2014(doc):
    _edit(doc, "rule", "P1", lambda r: r.update({"class": "I"}))


def invert_the_rf_gate(doc):
    gate = ["echo.regurgitant_fraction_pct", ">=", 50]
    inverted = ["echo.regurgitant_fraction_pct", "<", 50]
    for key in ("eroa_severe_secondary_elliptical", "rvol_severe_secondary_elliptical"):
        _edit(
            doc,
            "severity",
            key,
            lambda r: r.update(when=_replaced(r["when"], gate, inverted)),
        )


def drop_prohibitive_risk_from_p4(doc):
    leaf = ["surgical_risk", "not_recorded_as", ["prohibitive"]]
    _edit(doc, "rule", "P4", lambda r: r.update(when=_without(r["when"], leaf)))


def codes(result):
    return {r["code"] for r in result["recommendations"]}


def echo(patient, name):
    value = patient.get("echo", {}).get(name)
    return None if value is None else Decimal(str(value))


# (invariant, rule set, the break, what the engine must show for the patient found,
#  read from the guideline: one patient, or before / after for a change)
BROKEN = [
    pytest.param(
        "structural_sign",
        "acc_aha_2020",
        drop_flail_from_severe_signs,
        lambda p, r: (
            p["echo"]["flail_leaflet"] is True
            and r["severity"] in ("none_trivial", "mild")
        ),
        id="flail leaflet no longer severe-specific → graded trivial (SPEC 0.14 a)",
    ),
    pytest.param(
        "acute_compromise",
        "acc_aha_2020",
        drop_hypotension_from_stabilization,
        lambda p, r: (
            p["presentation"] == "acute" and "acute_stabilization" not in codes(r)
        ),
        id="hypotension dropped → acute MR not stabilised (SPEC 0.14 b)",
    ),
    pytest.param(
        "teer_exclusion",
        "acc_aha_2020",
        move_teer_valve_area_to_2,
        lambda p, r: (
            echo(p, "mitral_valve_area_cm2") < Decimal("3.0") and "teer" in codes(r)
        ),
        id="TEER valve-area exclusion moved to 2.0 cm² → TEER at < 3.0 (SPEC 0.14 e)",
    ),
    pytest.param(
        "crt_before_teer",
        "esc_eacts_2025",
        drop_crt_first_from_teer,
        lambda p, r: (
            "crt" in codes(r)
            and (
                "teer" in codes(r)
                or (
                    "surgery_mv" in codes(r)
                    and not p.get("management", {}).get("cabg_planned")
                )
            )
        ),
        id="CRT-first exclusion dropped → TEER beside CRT (SPEC 0.14 f)",
    ),
    pytest.param(
        "surgery_lv_dysfunction",
        "acc_aha_2020",
        move_c2_lvesd_to_45,
        lambda p, r: (
            r["mr_type"] == "primary"
            and r["severity"] == "severe"
            and "surgery_mv" not in codes(r)
        ),
        id="C2 LVESD moved to 45 mm → no surgery at 40-44 mm (ACC/AHA Table 17)",
    ),
    pytest.param(
        "mild_no_intervention",
        "acc_aha_2020",
        drop_severity_from_concomitant_surgery,
        lambda p, r: (
            r["severity"] in ("none_trivial", "mild") and "surgery_mv" in codes(r)
        ),
        id="P10 without its severity → surgery for mild MR",
    ),
    pytest.param(
        "well_formed",
        "acc_aha_2020",
        label_p1_as_2014,
        lambda p, r: any(
            i["class"] == "I" and i["code"] == "surgery_mv"
            for i in (*r["recommendations"], *r["conditional"])
        ),
        id="P1 labelled 'I' under a 2020 source (SPEC 0.14 l)",
    ),
    pytest.param(
        "monotone_regurgitant_fraction_pct",
        "acc_aha_2020",
        invert_the_rf_gate,
        lambda before, after: (
            before[1]["severity"] == "severe"
            and after[1]["severity"] in ("mild", "moderate")
        ),
        id="elliptical RF gate inverted → raising RF lowers severity",
    ),
    pytest.param(
        "lvef_lowered",
        "acc_aha_2020",
        drop_prohibitive_risk_from_p4,
        lambda before, after: (
            "surgery_mv" in codes(before[1])
            and "surgery_mv" not in codes(after[1])
            and echo(after[0], "lvef_pct") < echo(before[0], "lvef_pct")
        ),
        id="P4 at prohibitive risk → lowering LVEF removes surgery",
    ),
]


# "well_formed" over-approximates the missing-data step (a malformed row that *may* be
# shown counts as shown), so which patient the solver gives first decides whether the
# engine shows it too, and that choice varies with the solver's history in the process:
# the prover tries other patients (test below), and when none is confirmed it reports a
# disagreement, which refuses publication like a violation.
WITNESS_MAY_DISAGREE = {"well_formed"}


@pytest.mark.parametrize(("key", "code", "breaks", "engine_shows"), BROKEN)
def test_a_broken_draft_is_caught_with_a_patient_the_engine_confirms(
    key, code, breaks, engine_shows
):
    doc = copy.deepcopy(document_read(code))
    breaks(doc)
    rule_set = ruleset_from_document(doc)
    [outcome] = ruleset_prove(rule_set, [BY_KEY[key]]).outcomes
    if key in WITNESS_MAY_DISAGREE and outcome.status == "disagreement":
        return  # caught (never a pass); see WITNESS_MAY_DISAGREE
    assert outcome.status == "violated", outcome.description
    runs = [(p, evaluate(input_parse(p), rule_set)) for p in outcome.patients]
    if BY_KEY[key].change:
        assert engine_shows(*runs)
    else:
        assert engine_shows(*runs[0])
    assert outcome.description[0].startswith(("Patient: ", "Before: Patient: "))
    assert "Engine: " in outcome.description[1]  # what the engine made of it


def test_a_patient_the_engine_does_not_confirm_is_replaced_by_another():
    """The violation over-approximates the missing-data step: when the engine does not
    show it for the first patient found, the prover looks for another one."""
    doc = copy.deepcopy(document_read("acc_aha_2020"))
    label_p1_as_2014(doc)
    rule_set = ruleset_from_document(doc)
    shown = []

    def confirm_from_the_second(data, result, rule_set):
        shown.append(copy.deepcopy(data))
        return len(shown) > 1

    invariant = dataclasses.replace(
        BY_KEY["well_formed"], confirm=confirm_from_the_second
    )
    [outcome] = ruleset_prove(rule_set, [invariant]).outcomes
    assert outcome.status == "violated"
    assert shown[0] != shown[1]  # the first patient was turned down
    assert outcome.patients == [shown[1]]


def test_the_same_breaks_leave_the_other_rule_set_untouched(shipped_reports):
    assert all(report.ok for report in shipped_reports.values())


# --- publication and the command ---------------------------------------------------


def active(code="acc_aha_2020"):
    return RuleSetVersion.objects.get(
        rule_set__code=code, status=VersionStatus.PUBLISHED
    )


def publish(version, user):
    return authoring.version_publish(
        version=version,
        user=user,
        reason="Reviewed.",
        acknowledge_pending=True,
        acknowledgements={
            c.id: "ok" for c in authoring.version_outcome_changes(version)
        },
    )


def test_publication_is_refused_with_the_counterexample_patient(
    editor, second_editor, rule_sets
):
    draft = authoring.version_copy_to_draft(version=active(), user=editor, label="p-1")
    row = draft.stagecriterionrow_set.get(key="c2_lvesd")
    row.condition = ["echo.lvesd_mm", ">=", 45]
    authoring.rule_row_save(row=row, user=editor)
    with pytest.raises(services.GuidelineError, match="safety invariant") as refused:
        publish(draft, second_editor)
    problems = "\n".join(refused.value.problems)
    assert "LVESD ≥ 40 mm" in problems  # the invariant, in clinical words
    assert "Patient: Presentation: Chronic" in problems
    assert "rule that fired:" in problems
    draft.refresh_from_db()
    assert draft.status == VersionStatus.DRAFT
    assert draft.safety_proof == {}


def test_a_published_version_stores_its_proof(editor, second_editor, rule_sets):
    draft = authoring.version_copy_to_draft(version=active(), user=editor, label="p-2")
    publish(draft, second_editor)
    draft.refresh_from_db()
    assert draft.status == VersionStatus.PUBLISHED
    assert draft.safety_proof["ok"] is True
    assert {o["key"] for o in draft.safety_proof["outcomes"]} == set(BY_KEY)
    assert {o["status"] for o in draft.safety_proof["outcomes"]} == {"proved"}


def test_the_command_proves_the_active_version(rule_sets, capsys):
    call_command("prove_rule_set", "esc_eacts_2025")
    out = capsys.readouterr().out
    assert out.count("PROVED") == len(INVARIANTS)


def test_the_command_fails_on_a_broken_version(editor, rule_sets, capsys):
    draft = authoring.version_copy_to_draft(version=active(), user=editor, label="p-3")
    row = draft.recommendationrulerow_set.get(key="P1")
    row.cor = "I"
    authoring.rule_row_save(row=row, user=editor)
    with pytest.raises(CommandError, match="well_formed"):
        call_command("prove_rule_set", "acc_aha_2020", "--version", "p-3")
    out = capsys.readouterr().out
    assert "VIOLATED" in out or "DISAGREEMENT" in out  # see WITNESS_MAY_DISAGREE


def test_the_command_proves_a_shipped_data_file(capsys):
    call_command("prove_rule_set", "acc_aha_2020", "--data-file")
    assert capsys.readouterr().out.count("PROVED") == len(INVARIANTS)


# --- the translation against the engine, input by input ----------------------------

VIGNETTES = [
    v["input"]
    for name in ("vignettes.json", "vignettes_mrcds.json")
    for v in json.loads((DATA_DIR / name).read_text())
]
# Values the prover abstracts (derived EROA/RVol/RF, BSA, serial studies): an input
# using them is compared after they are removed.
ABSTRACTED = (*model.DERIVATION_ONLY, "patient.height_cm", "patient.weight_kg")


def _concrete(data):
    data = copy.deepcopy(data)
    data.pop("prior_echos", None)
    for path in ABSTRACTED:
        section, name = path.split(".")
        data.get(section, {}).pop(name, None)
    return data


def _pinned(inputs, clean):
    """Constraints fixing every input variable to the value of ``clean``."""
    pinned = []
    for spec in INPUT_FIELDS:
        fact = inputs.facts[spec.path]
        section = clean.get(spec.section, {}) if spec.section else clean
        value = section.get(spec.name if spec.section else spec.path, spec.default)
        if value is None:
            pinned.append(z3.Not(fact.present))
        else:
            pinned += [fact.present, fact.value == terms.constant(spec.path, value)]
    return pinned


class Translation:
    """One rule set translated once; each input is checked under its own pins."""

    def __init__(self, code):
        self.rule_set = ruleset_from_document(document_read(code))
        self.inputs = model.Inputs.declare("", concrete=False)
        self.ev = model.evaluation(self.rule_set, self.inputs)
        self.ctx = Context(self.ev, self.inputs)
        self.may = {c: self.ctx.may_give(c) for c in CONTRACT_CODES + EXTRA_CODES}
        self.solver = z3.Solver()
        self.solver.add(*self.ev.constraints, *self.ctx.constraints)

    def compare(self, data):
        clean = input_parse(_concrete(data))
        result = evaluate(clean, self.rule_set)
        pinned = _pinned(self.inputs, clean)
        pinned.append(z3.Not(self.ev.view["lv_progression_serial"].present))
        found = self.solver.check(*pinned)
        assert found == z3.sat, "the translation has no model for a valid input"
        m = self.solver.model()

        def value(name, expr):
            return PARAMETERS[name].choices[m.eval(expr).as_long()]

        view = self.ev.view
        for name in ("severity", "mr_type", "stage", "symptom_status"):
            assert value(name, view[name].value) == result[name], (name, clean)
        risk = view["surgical_risk"]
        known = z3.is_true(m.eval(risk.present))
        assert (value("surgical_risk", risk.value) if known else None) == result[
            "surgical_risk"
        ], clean
        given = set(codes(result))
        surely = {c for c, f in self.ev.passed.has.items() if z3.is_true(m.eval(f))}
        assert surely <= given | {"no_treatment"}, (surely - given, clean)
        for code in given:  # the over-approximation of the missing-data step is sound
            assert self.solver.check(*pinned, self.may[code]) == z3.sat, (code, clean)


@pytest.fixture(scope="module", params=SHIPPED)
def translation(request):
    return Translation(request.param)


def test_the_translation_agrees_with_the_engine_on_every_vignette(translation):
    for data in VIGNETTES:
        translation.compare(data)


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(data=contract_inputs())
def test_the_translation_agrees_with_the_engine_on_random_inputs(translation, data):
    translation.compare(data)
