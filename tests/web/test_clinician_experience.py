"""Issue 15 through the URL conf: safe entry (no typed value dropped, decimal comma
refused by name), amend / void / evaluate again on the pages (audited, 404 for other
sites), the bottom line and copy-to-note text in clinical words, version drift."""

import re

import pytest
from django.urls import reverse

from assessments.choices import AuditAction, AuditChannel
from assessments.models import Assessment, AuditEvent
from assessments.presentation import note_text, result_view, section_text
from assessments.services import assessment_create
from guidelines.authoring import (
    version_outcome_changes,
    version_publish,
    version_rollback,
)
from guidelines.models import RuleSetVersion, VersionStatus

from .test_pages import SEVERE_PRIMARY

FLAIL = {
    "etiology": "flail_leaflet",
    "symptoms": {"nyha_class": 2},
    "echo": {
        "eroa_cm2": 0.45,
        "regurgitant_volume_ml": 70,
        "lvef_pct": 62,
        "lvesd_mm": 36,
        "lvedd_mm": 55,
    },
}


def republished(version, *, editor, approver, label):
    """A copy of ``version`` published through the gate (four eyes): the old one is
    retired."""
    draft = version_rollback(to=version, user=editor, label=label)
    return version_publish(
        version=draft,
        user=approver,
        reason="Test: a new version.",
        acknowledge_pending=True,
        acknowledgements={c.id: "ok" for c in version_outcome_changes(draft)},
    )


@pytest.fixture
def logged_in(client, clinician):
    client.force_login(clinician)
    return client


@pytest.fixture
def stored(encounter, clinician):
    return assessment_create(encounter=encounter, data=FLAIL, author=clinician)


# --- safe entry ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("42e", "must be a number"),
        ("0,8", "use a point as the decimal separator (0.8, not 0,8)"),
        ("1,200", "a comma is refused because 1,200 could mean 1.2 or 1200"),
    ],
)
def test_a_value_the_server_cannot_read_is_refused_by_name_never_dropped(
    logged_in, encounter, typed, message
):
    response = logged_in.post(
        reverse("assessment_new", args=[encounter.pk]),
        {**SEVERE_PRIMARY, "echo_lvesd_mm": typed},
    )
    body = response.content.decode()
    assert response.status_code == 400
    assert not Assessment.objects.exists()
    summary = re.search(
        r'<div class="card error" role="alert" id="form-errors">(.*?)</div>', body, re.S
    )
    assert summary, "an error summary naming the field"
    assert 'href="#id_echo_lvesd_mm">LV end-systolic diameter</a>' in summary.group(1)
    assert message in body
    assert f'value="{typed}"' in body  # the typed text is kept for correction


def test_the_preview_names_a_decimal_comma_too(logged_in, encounter):
    body = logged_in.post(
        reverse("assessment_preview", args=[encounter.pk]), {"echo_eroa_cm2": "0,8"}
    ).content.decode()
    assert "Not evaluated" in body
    assert ">EROA</a>: use a point as the decimal separator (0.8, not 0,8)" in body


def test_numbers_are_text_inputs_and_nyha_is_a_choice(logged_in, encounter):
    body = logged_in.get(
        reverse("assessment_new", args=[encounter.pk])
    ).content.decode()
    lvef = re.search(r'<input[^>]*name="echo_lvef_pct"[^>]*>', body).group(0)
    assert 'type="text"' in lvef
    assert 'inputmode="decimal"' in lvef
    assert "step=" not in lvef
    nyha = re.search(
        r'<select name="symptoms_nyha_class".*?</select>', body, re.S
    ).group(0)
    assert ">I: no limitation of physical activity<" in nyha
    assert ">IV: symptoms at rest or on any activity<" in nyha
    # Enter never submits: the form's default (first) submit button is disabled
    form = body[body.index('<form method="post" id="assessment-form"') :]
    first_button = re.search(r"<button[^>]*>", form).group(0)
    assert "disabled" in first_button
    # Save also in the sticky preview panel, and links to every section
    assert 'form="assessment-form" id="save-preview"' in body
    assert '<a href="#section-0">Echo: the study</a>' in body


def test_a_saved_nyha_class_is_stored_as_its_number(logged_in, encounter):
    logged_in.post(
        reverse("assessment_new", args=[encounter.pk]),
        {**SEVERE_PRIMARY, "symptoms_nyha_class": "3"},
    )
    assert Assessment.objects.get().symptoms_nyha_class == 3


# --- bottom line and note ---------------------------------------------------------


def test_the_result_page_opens_with_the_bottom_line_in_words(logged_in, stored):
    body = logged_in.get(
        reverse("assessment_detail", args=[stored.pk])
    ).content.decode()
    line = body[body.index('id="result-bottom-line"') :]
    line = line[: line.index("</div>")]
    assert "Severe primary MR (flail leaflet)" in line
    assert "Stage D (symptomatic severe MR)" in line
    assert re.search(
        r"Mitral valve intervention for symptomatic severe primary MR</strong> — "
        r"Class 1, level B-NR \(ACC/AHA 2020\)",
        line,
    )
    # no codes or Python values on the page (outside the folded source details)
    visible = re.sub(r"<details.*?</details>", "", body, flags=re.S)
    for code in (
        "secondary_ventricular",
        "echo.vena_contracta_cm",
        "True",
        "None",
        "eccentric_wall_impinging",
        "SPEC ",
    ):
        assert code not in visible, code
    assert "Class 1 / I" in body
    assert "[M]" in body


def test_assumptions_sit_beside_the_recommendation_they_affect(stored):
    view = result_view(stored.result, {"etiology": "flail_leaflet"})
    surgery = next(r for r in view["recommendations"] if r["code"] == "surgery_mv")
    assert surgery["assumptions"] == [
        "Surgical risk (Heart Team) not recorded: assumed not prohibitive"
    ]


def test_conditional_recommendations_read_would_apply_if():
    result = {
        "severity": "severe",
        "mr_type": "primary",
        "stage": "C1",
        "recommendations": [],
        "conditional": [
            {
                "code": "surgery_mv",
                "title": "Mitral valve surgery",
                "class": "2a",
                "level": "B-NR",
                "source": {},
                "depends_on": ["management.surgical_risk"],
                "condition": "Surgical risk (Heart Team) is low",
            }
        ],
    }
    view = result_view(result)
    (rec,) = view["conditional"]
    assert rec["if_text"] == "would apply if Surgical risk (Heart Team) is low"
    assert rec["depends_on_labels"] == ["Surgical risk (Heart Team)"]
    assert view["strongest"] is None  # a conditional one is never the bottom line


@pytest.mark.parametrize(
    "condition",
    [
        "Surgical risk (Heart Team) is low",
        "would apply if Surgical risk (Heart Team) is low",  # the engine's own words
    ],
)
def test_the_note_says_would_apply_if_once(condition, stored):
    result = {
        **stored.result,
        "conditional": [
            {
                "code": "surgery_mv",
                "title": "Mitral valve surgery",
                "class": "2a",
                "level": "B-NR",
                "source": {},
                "depends_on": ["management.surgical_risk"],
                "condition": condition,
            }
        ],
    }
    text = note_text(
        result=result,
        data=FLAIL,
        assessment_id=stored.pk,
        recorded_at=stored.created_at,
        encounter_at=stored.encounter.occurred_at,
    )
    assert (
        "- Would apply if Surgical risk (Heart Team) is low: Mitral valve surgery"
        in text
    )
    assert "would apply if would apply if" not in text.lower()


@pytest.mark.parametrize(
    ("verified_from", "shown"),
    [
        ("", ""),
        (
            "Guideline Central pocket guide, p. 54, Table 37",
            "verified from Guideline Central pocket guide, p. 54, Table 37",
        ),
        (
            "Not read: no reproduction of the 2020 text was found",
            "not yet read against the guideline text",
        ),
    ],
)
def test_a_recommendation_says_where_it_was_verified_or_why_not(verified_from, shown):
    rec = {
        "code": "surgery_mv",
        "title": "Mitral valve surgery",
        "class": "1",
        "level": "B",
        "source": {"evidence": "M", "verified_from": verified_from},
    }
    view = result_view({"severity": "severe", "recommendations": [rec]})
    assert view["recommendations"][0]["verification_text"] == shown


def test_the_note_text_is_plain_and_complete(stored):
    text = note_text(
        result=stored.result,
        data=FLAIL,
        assessment_id=stored.pk,
        recorded_at=stored.created_at,
        encounter_at=stored.encounter.occurred_at,
    )
    assert (
        "Diagnosis: Severe primary MR (flail leaflet); Stage D (symptomatic severe MR)"
        in text
    )
    assert "EROA 0.45 cm²" in text
    assert "LVEF 62 %" in text
    assert "NYHA class II" in text
    surgery = next(
        r for r in stored.result["recommendations"] if r["code"] == "surgery_mv"
    )
    section = section_text(surgery["source"])
    assert "SPEC" not in section
    assert (
        f"- {surgery['title']} (Class 1, level B-NR; ACC/AHA 2020, {section})" in text
    )
    assert (
        "Rule set: 2020 ACC/AHA Guideline for the Management of Valvular Heart Disease · version"
        in text
    )
    assert f"Encounter: {stored.encounter.occurred_at:%Y-%m-%d}" in text
    assert "<" not in text
    assert "_" not in text.replace("MR-CDS", "")


def test_the_result_page_carries_the_note_for_the_copy_button(logged_in, stored):
    body = logged_in.get(
        reverse("assessment_detail", args=[stored.pk])
    ).content.decode()
    assert 'data-copy-target="note-text"' in body
    assert re.search(
        r'<textarea id="note-text" readonly[^>]*>Mitral regurgitation assessment', body
    )
    assert "<script>" not in body
    assert " onclick=" not in body


# --- amend, void, evaluate again ----------------------------------------------------


def test_amend_page_is_prefilled_and_needs_a_reason(logged_in, stored):
    url = reverse("assessment_amend", args=[stored.pk])
    body = logged_in.get(url).content.decode()
    assert re.search(r'name="echo_eroa_cm2" value="0.45"', body)
    assert re.search(r'<option value="2" selected>II', body)
    response = logged_in.post(
        url, {"etiology": "flail_leaflet", "echo_eroa_cm2": "0.3"}
    )
    assert response.status_code == 400
    assert (
        "Reason for the correction</a>: This field is required."
        in response.content.decode()
    )
    assert Assessment.objects.count() == 1


def test_amend_on_the_page_supersedes_and_audits(logged_in, stored, clinician):
    url = reverse("assessment_amend", args=[stored.pk])
    response = logged_in.post(
        url,
        {"etiology": "flail_leaflet", "echo_eroa_cm2": "0.30", "reason": "EROA typo"},
    )
    new = Assessment.objects.exclude(pk=stored.pk).get()
    assert response["Location"] == reverse("assessment_detail", args=[new.pk])
    stored.refresh_from_db()
    assert (stored.status, new.supersedes_id, new.reason) == (
        "amended",
        stored.pk,
        "EROA typo",
    )
    events = AuditEvent.objects.filter(channel=AuditChannel.PAGE)
    assert events.filter(action=AuditAction.CREATE, object_id=str(new.pk)).exists()
    assert events.filter(action=AuditAction.UPDATE, object_id=str(stored.pk)).exists()
    old_page = logged_in.get(
        reverse("assessment_detail", args=[stored.pk])
    ).content.decode()
    assert "This assessment was corrected by" in old_page
    assert 'id="amend-link"' not in old_page  # only a final assessment can change
    new_page = logged_in.get(response["Location"]).content.decode()
    assert (
        f'Corrects <a href="{reverse("assessment_detail", args=[stored.pk])}">'
        in new_page
    )
    assert 'id="history"' in new_page
    patient_page = logged_in.get(
        reverse("patient_detail", args=[stored.encounter.patient_id])
    ).content.decode()
    row = re.search(
        rf'<tr class="superseded" id="assessment-row-{stored.pk}">', patient_page
    )
    assert row
    assert "amended" in patient_page


def test_void_on_the_page_needs_a_reason_and_marks_it(logged_in, stored):
    url = reverse("assessment_void", args=[stored.pk])
    logged_in.post(url, {"reason": ""})
    stored.refresh_from_db()
    assert stored.status == "final"
    logged_in.post(url, {"reason": "Wrong patient"})
    stored.refresh_from_db()
    assert (stored.status, stored.reason) == ("entered_in_error", "Wrong patient")
    body = logged_in.get(
        reverse("assessment_detail", args=[stored.pk])
    ).content.decode()
    assert "Entered in error" in body
    assert "Do not act on this result" in body
    assert AuditEvent.objects.filter(
        channel=AuditChannel.PAGE, action=AuditAction.UPDATE, object_id=str(stored.pk)
    ).exists()


@pytest.mark.parametrize(
    "name", ["assessment_amend", "assessment_void", "assessment_reevaluate"]
)
def test_other_care_sites_get_404_for_amend_void_and_evaluate_again(
    client, other_clinician, stored, name
):
    client.force_login(other_clinician)
    url = reverse(name, args=[stored.pk])
    assert client.post(url, {"reason": "x"}).status_code == 404
    stored.refresh_from_db()
    assert stored.status == "final"


def test_a_result_under_a_retired_version_offers_to_evaluate_again(
    logged_in, stored, editor, second_editor
):
    old_version = stored.rule_set_version
    current = republished(
        old_version, editor=editor, approver=second_editor, label="2020.1-r2"
    )
    old_version.refresh_from_db()
    assert old_version.status == VersionStatus.RETIRED
    body = logged_in.get(
        reverse("assessment_detail", args=[stored.pk])
    ).content.decode()
    assert 'id="version-drift"' in body
    assert "no longer active" in body
    assert "now: version 2020.1-r2" in body
    response = logged_in.post(reverse("assessment_reevaluate", args=[stored.pk]))
    new = Assessment.objects.exclude(pk=stored.pk).get()
    assert response["Location"] == reverse("assessment_detail", args=[new.pk])
    assert new.rule_set_version == current
    assert new.supersedes == stored
    assert "2020.1-r2" in new.reason
    stored.refresh_from_db()
    assert stored.status == "amended"
    assert RuleSetVersion.objects.get(pk=old_version.pk).status == VersionStatus.RETIRED
    page = logged_in.get(response["Location"]).content.decode()
    assert 'id="version-drift"' not in page


def test_a_result_under_the_active_version_shows_no_drift(logged_in, stored):
    body = logged_in.get(
        reverse("assessment_detail", args=[stored.pk])
    ).content.decode()
    assert 'id="version-drift"' not in body


def test_app_styled_error_pages(client, clinician, settings):
    settings.DEBUG = False
    client.force_login(clinician)
    response = client.get("/patients/999999/")
    assert response.status_code == 404
    body = response.content.decode()
    assert "Page not found" in body
    assert 'class="site-header"' in body


def test_messages_after_creating_and_signing_out(logged_in, organization):
    response = logged_in.post(
        reverse("patient_list"),
        {
            "mrn": "M-1",
            "given_name": "Ann",
            "family_name": "Lee",
            "birth_date": "1950-01-02",
            "sex": "female",
        },
        follow=True,
    )
    assert "Patient Ann Lee created." in response.content.decode()
    assert re.search(r"\d+ years, female", response.content.decode())
    response = logged_in.post(reverse("logout"), follow=True)
    assert "You are signed out." in response.content.decode()


def test_conditional_recommendations_of_a_sparse_record_are_shown_apart(
    logged_in, encounter, clinician
):
    sparse = assessment_create(
        encounter=encounter,
        author=clinician,
        data={
            "etiology": "degenerative_prolapse",
            "echo": {
                "eroa_cm2": 0.45,
                "regurgitant_volume_ml": 68,
                "lvef_pct": 62,
                "lvedd_mm": 55,
            },
        },
    )
    conditional = sparse.result["conditional"]
    assert conditional, "the engine lists what would apply if NYHA class were known"
    body = logged_in.get(
        reverse("assessment_detail", args=[sparse.pk])
    ).content.decode()
    block = body[body.index('id="conditional"') :]
    block = block[: block.index("</div>")]
    assert "Would apply if recorded" in block
    for rec in conditional:
        assert rec["title"] in block
    assert "would apply if would apply if" not in body
    assert "NYHA class" in block
    # never on the bottom line: nothing applies yet
    bottom = body[body.index('id="result-bottom-line"') :]
    assert conditional[0]["title"] not in bottom[: bottom.index("</div>")]
