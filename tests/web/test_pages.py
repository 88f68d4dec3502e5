"""Clinician pages through the URL conf: access, forms, preview, save, result, about."""

import re

import pytest
from django.urls import reverse

from assessments.choices import AuditAction, AuditChannel
from assessments.models import Assessment, AuditEvent, Encounter, Patient, Report
from assessments.services import assessment_create
from guidelines.vocabulary import value_label
from tests.factories import MembershipFactory, OrganizationFactory

SEVERE_PRIMARY = {
    "etiology": "degenerative_prolapse",
    "echo_eroa_cm2": "0.45",
    "echo_regurgitant_volume_ml": "70",
    "echo_regurgitant_fraction_pct": "55",
    "echo_lvef_pct": "62",
    "echo_lvesd_mm": "38",
    "symptoms_nyha_class": "1",
}


@pytest.fixture
def logged_in(client, clinician):
    client.force_login(clinician)
    return client


@pytest.fixture
def other(client, other_clinician):
    client.force_login(other_clinician)
    return client


@pytest.fixture
def assessment(encounter, clinician):
    return assessment_create(
        encounter=encounter,
        data={
            "etiology": "degenerative_prolapse",
            "echo": {
                "eroa_cm2": 0.45,
                "regurgitant_volume_ml": 70,
                "regurgitant_fraction_pct": 55,
                "lvef_pct": 62,
            },
        },
        author=clinician,
    )


def _page_events(action):
    return AuditEvent.objects.filter(channel=AuditChannel.PAGE, action=action)


def test_pages_need_login(client, patient):
    response = client.get(reverse("patient_detail", args=[patient.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_login_page_and_logout(client, clinician):
    assert client.get(reverse("login")).status_code == 200
    response = client.post(
        reverse("login"), {"username": "alice", "password": "password"}
    )
    assert response.status_code == 302
    assert client.get(reverse("patient_list")).status_code == 200
    client.post(reverse("logout"))
    assert client.get(reverse("patient_list")).status_code == 302


def test_patient_list_searches_by_name_or_mrn_within_own_site(
    logged_in, patient, other_organization
):
    from tests.factories import PatientFactory

    PatientFactory(organization=patient.organization, family_name="Zeller", mrn="Z-9")
    PatientFactory(organization=other_organization, family_name="Zeller", mrn="Z-10")
    page = logged_in.get(reverse("patient_list")).content.decode()
    assert patient.family_name in page
    assert "Z-10" not in page  # other care site
    by_name = logged_in.get(reverse("patient_list"), {"q": "zell"}).content.decode()
    assert "Z-9" in by_name
    assert patient.mrn not in by_name
    by_mrn = logged_in.get(reverse("patient_list"), {"q": "MRN-0001"}).content.decode()
    assert patient.family_name in by_mrn
    assert "Zeller" not in by_mrn
    assert _page_events(AuditAction.READ).filter(detail__contains="zell").exists()


def test_patient_list_htmx_returns_rows_only(logged_in, patient):
    response = logged_in.get(
        reverse("patient_list"), {"q": "MRN"}, HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert "<table>" in body
    assert "<html" not in body


def test_create_patient_in_own_site(logged_in, organization):
    response = logged_in.post(
        reverse("patient_list"),
        {
            "mrn": "NEW-1",
            "given_name": "Grace",
            "family_name": "Hopper",
            "birth_date": "1950-12-09",
            "sex": "female",
            "height_cm": "160",
        },
    )
    patient = Patient.objects.get(mrn="NEW-1")
    assert patient.organization == organization
    assert response["Location"] == reverse("patient_detail", args=[patient.pk])
    assert _page_events(AuditAction.CREATE).filter(patient=patient).exists()


NEW_PATIENT = {
    "mrn": "NEW-3",
    "given_name": "Ada",
    "family_name": "Byron",
    "birth_date": "1955-12-10",
    "sex": "female",
}


def test_a_user_of_one_care_site_is_not_asked_which(logged_in):
    page = logged_in.get(reverse("patient_list")).content.decode()
    assert "Care site" not in page
    assert 'name="organization"' not in page


def test_a_user_of_two_care_sites_must_choose_one(
    logged_in, clinician, organization, other_organization
):
    MembershipFactory(user=clinician, organization=other_organization)
    page = logged_in.get(reverse("patient_list")).content.decode()
    assert "Care site" in page
    assert f">{organization.name}</option>" in page
    assert f">{other_organization.name}</option>" in page
    # No silent default: without a choice nothing is created.
    response = logged_in.post(reverse("patient_list"), NEW_PATIENT)
    assert response.status_code == 400
    assert not Patient.objects.filter(mrn="NEW-3").exists()
    response = logged_in.post(
        reverse("patient_list"), {**NEW_PATIENT, "organization": other_organization.pk}
    )
    assert Patient.objects.get(mrn="NEW-3").organization == other_organization


def test_a_care_site_that_is_not_the_users_is_refused(
    logged_in, clinician, organization, other_organization
):
    third = OrganizationFactory(name="Elsewhere Hospital")
    MembershipFactory(user=clinician, organization=other_organization)
    response = logged_in.post(
        reverse("patient_list"), {**NEW_PATIENT, "organization": third.pk}
    )
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not Patient.objects.filter(mrn="NEW-3").exists()


def test_create_patient_errors_are_shown(logged_in, organization):
    response = logged_in.post(
        reverse("patient_list"),
        {
            "mrn": "NEW-2",
            "given_name": "G",
            "family_name": "H",
            "birth_date": "1950-01-01",
            "sex": "female",
            "height_cm": "900",
        },
    )
    assert response.status_code == 400
    assert "between 50 and 250" in response.content.decode()
    assert not Patient.objects.filter(mrn="NEW-2").exists()


def test_patient_page_shows_encounters_and_trend_charts(logged_in, assessment, patient):
    response = logged_in.get(reverse("patient_detail", args=[patient.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert reverse("assessment_detail", args=[assessment.pk]) in body
    row = re.search(rf'<tr id="assessment-row-{assessment.pk}">(.*?)</tr>', body, re.S)
    cells = [
        " ".join(re.sub(r"<[^>]+>", " ", c).split()) for c in row[1].split("</td>")
    ]
    result, version = assessment.result, assessment.rule_set_version
    assert cells[1:5] == [
        f"{value_label('severity', result['severity'])} "
        + value_label("mr_type", result["mr_type"])
        + (  # no "(null)" when there is no subgrade
            f" ({value_label('severity_subgrade', result['severity_subgrade'])})"
            if result["severity_subgrade"]
            else ""
        ),
        value_label("stage", result["stage"]),
        f"{version.title} · version {result['guideline']['version']}",
        f"{assessment.created_at:%Y-%m-%d %H:%M} by {assessment.created_by.username}",
    ]
    assert body.count("<svg") == 4
    # thresholds of the active rule set for this patient's MR type (primary)
    assert "≥ 0.4 cm²: severe MR" in body
    assert "≥ 40 mm: stage C2" in body
    assert _page_events(AuditAction.READ).filter(patient=patient).exists()


def test_encounters_are_listed_newest_first(logged_in, patient, clinician):
    import datetime as dt

    from tests.factories import EncounterFactory

    EncounterFactory(
        patient=patient, occurred_at=dt.datetime(2023, 1, 5, tzinfo=dt.UTC)
    )
    EncounterFactory(
        patient=patient, occurred_at=dt.datetime(2025, 1, 5, tzinfo=dt.UTC)
    )
    body = logged_in.get(reverse("patient_detail", args=[patient.pk])).content.decode()
    assert body.index("2025-01-05") < body.index("2023-01-05")


@pytest.mark.parametrize(
    "name",
    ["patient_detail", "encounter_new"],
)
def test_other_clinician_gets_404_for_the_patient(other, patient, name):
    assert other.get(reverse(name, args=[patient.pk])).status_code == 404


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("assessment_detail", "get"),
        ("assessment_compare", "get"),
        ("assessment_report", "post"),
        ("assessment_report_status", "get"),
        ("assessment_report_pdf", "get"),
    ],
)
def test_other_clinician_gets_404_for_the_assessment(other, assessment, name, method):
    response = getattr(other, method)(reverse(name, args=[assessment.pk]))
    assert response.status_code == 404
    assert not Report.objects.exists()


@pytest.mark.parametrize("name", ["assessment_new", "assessment_preview"])
def test_other_clinician_gets_404_for_the_encounter(other, encounter, name):
    assert other.post(reverse(name, args=[encounter.pk]), {}).status_code == 404
    assert not Assessment.objects.exists()


def test_new_encounter_then_assessment_form(logged_in, patient):
    response = logged_in.post(
        reverse("encounter_new", args=[patient.pk]),
        {
            "occurred_at": "2025-05-01T10:00",
            "setting": "outpatient",
            "presentation": "chronic",
        },
    )
    encounter = Encounter.objects.get(patient=patient)
    assert response["Location"] == reverse("assessment_new", args=[encounter.pk])
    assert encounter.occurred_at.year == 2025


def test_assessment_form_is_generated_from_the_vocabulary(logged_in, encounter):
    from guidelines.vocabulary import INPUT_FIELDS

    body = logged_in.get(
        reverse("assessment_new", args=[encounter.pk])
    ).content.decode()
    for spec in INPUT_FIELDS:
        if spec.path in ("patient.age_years", "patient.sex"):
            assert f'name="{spec.column}"' not in body
        else:
            assert f'name="{spec.column}"' in body, spec.path
            assert f'<label for="id_{spec.column}">' in body
    # the echo study first (it decides the grade), then the clinical context
    order = [
        "Echo: the study",
        "Echo: quantitative",
        "Echo: qualitative",
        "Presentation and cause",
        "Symptoms",
        "Risk factors",
        "Signs",
        "ECG",
        "Chest X-ray",
        "Labs",
        "Management context",
    ]
    positions = [body.index(f"<legend>{title}</legend>") for title in order]
    assert positions == sorted(positions)
    eroa = re.search(r'<input[^>]*name="echo_eroa_cm2"[^>]*>', body).group(0)
    # a text input parsed on the server: the browser never drops what it cannot parse
    assert 'type="text"' in eroa
    assert 'inputmode="decimal"' in eroa
    assert "Range 0 to 2 cm²." in body
    assert "cm²" in body
    assert 'name="prior_0_months_ago"' in body


def test_out_of_range_value_is_refused_naming_the_range(logged_in, encounter):
    response = logged_in.post(
        reverse("assessment_new", args=[encounter.pk]),
        {**SEVERE_PRIMARY, "echo_eroa_cm2": "5"},
    )
    body = response.content.decode()
    assert response.status_code == 400
    assert "must be between 0 and 2 cm², got 5" in body
    assert 'value="5"' in body  # what was typed is kept
    assert not Assessment.objects.exists()


def test_prior_echo_errors_land_on_their_row(logged_in, encounter):
    response = logged_in.post(
        reverse("assessment_new", args=[encounter.pk]),
        {**SEVERE_PRIMARY, "prior_1_lvef_pct": "99"},
    )
    body = response.content.decode()
    assert response.status_code == 400
    assert "must be between 5 and 90 %, got 99" in body
    assert "is required" in body  # months_ago of that study


def test_preview_evaluates_without_storing(logged_in, encounter):
    response = logged_in.post(
        reverse("assessment_preview", args=[encounter.pk]),
        SEVERE_PRIMARY,
        HTTP_HX_REQUEST="true",
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="preview-severity">Severe MR<' in body
    assert (
        'id="preview-stage">Stage C1 (asymptomatic severe MR, LV function preserved)<'
        in body
    )
    assert "Still missing" in body
    assert "<html" not in body
    assert not Assessment.objects.exists()
    assert _page_events(AuditAction.EVALUATE).exists()


def test_preview_turns_severe_at_eroa_040(logged_in, encounter):
    def severity(eroa):
        body = logged_in.post(
            reverse("assessment_preview", args=[encounter.pk]),
            # RVol severe, RF moderate: EROA decides (2 of 3 concordant)
            {
                **SEVERE_PRIMARY,
                "echo_regurgitant_fraction_pct": "40",
                "echo_eroa_cm2": eroa,
            },
        ).content.decode()
        return re.search(r'id="preview-severity">([^<]+)<', body).group(1)

    assert severity("0.39") != "Severe MR"
    assert severity("0.40") == "Severe MR"


def test_preview_shows_values_derived_from_pisa(logged_in, encounter):
    body = logged_in.post(
        reverse("assessment_preview", args=[encounter.pk]),
        {
            "etiology": "degenerative_prolapse",
            "echo_pisa_radius_cm": "1.0",
            "echo_aliasing_velocity_cm_s": "40",
            "echo_mr_peak_velocity_cm_s": "500",
            "echo_mr_vti_cm": "150",
        },
    ).content.decode()
    eroa = re.search(r'<output id="derived-echo_eroa_cm2"[^>]*>([^<]*)<', body).group(1)
    assert "0.503 cm²" in eroa
    rvol = re.search(
        r'<output id="derived-echo_regurgitant_volume_ml"[^>]*>([^<]*)<', body
    ).group(1)
    assert "75.4 mL" in rvol


def test_preview_names_the_range_of_a_refused_value(logged_in, encounter):
    body = logged_in.post(
        reverse("assessment_preview", args=[encounter.pk]),
        {"echo_lvef_pct": "3"},
    ).content.decode()
    assert "must be between 5 and 90 %, got 3" in body
    assert "preview-severity" not in body


def test_save_creates_the_assessment_and_shows_the_stored_result(
    logged_in, encounter, clinician
):
    response = logged_in.post(
        reverse("assessment_new", args=[encounter.pk]),
        {
            **SEVERE_PRIMARY,
            "symptoms_dyspnea": "false",
            "prior_0_months_ago": "12",
            "prior_0_lvef_pct": "66",
        },
    )
    assessment = Assessment.objects.get()
    assert response["Location"] == reverse("assessment_detail", args=[assessment.pk])
    assert assessment.created_by == clinician
    assert assessment.symptoms_dyspnea is False
    assert assessment.symptoms_fatigue is None  # "not recorded" stays absent
    assert str(assessment.echo_eroa_cm2) == "0.450"
    assert assessment.prior_echos.get().months_ago == 12
    assert assessment.result["severity"] == "severe"
    assert (
        _page_events(AuditAction.CREATE).filter(object_id=str(assessment.pk)).exists()
    )
    body = logged_in.get(response["Location"]).content.decode()
    assert 'id="result-severity">Severe MR<' in body
    assert assessment.result["guideline"]["content_hash"] in body
    for rec in assessment.result["recommendations"]:
        assert rec["title"] in body
        assert rec["source"]["section"] in body
    assert "pending clinical verification" in body
    assert "EROA" in body  # findings with their criterion


def test_result_page_renders_the_stored_result_not_a_recomputation(
    logged_in, assessment
):
    result = dict(assessment.result, severity="moderate", stage="B")
    Assessment.objects.filter(pk=assessment.pk).update(result=result)
    body = logged_in.get(
        reverse("assessment_detail", args=[assessment.pk])
    ).content.decode()
    assert 'id="result-severity">Moderate MR<' in body
    assert 'id="result-stage">Stage B (progressive MR)<' in body


def test_compare_evaluates_the_stored_input_under_the_other_guideline(
    logged_in, assessment
):
    url = reverse("assessment_compare", args=[assessment.pk])
    response = logged_in.get(
        url, {"guideline": "esc_eacts_2025"}, HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "evaluated now, on demand, not stored" in body
    assert "ESC" in body
    assert "<html" not in body
    assert Assessment.objects.get().result == assessment.result
    assert logged_in.get(url, {"guideline": "acc_aha_2020"}).status_code == 404
    assert logged_in.get(url, {"guideline": "nope"}).status_code == 404
    # the full page works without htmx
    assert "<html" in logged_in.get(url).content.decode()


def test_compare_rows_highlight_differences():
    from assessments.presentation import result_differences

    stored = {
        "severity": "severe",
        "stage": "C1",
        "recommendations": [
            {"code": "surgery_mv", "title": "Surgery", "class": "1", "level": "B"}
        ],
    }
    other = {
        "severity": "severe",
        "stage": "C2",
        "recommendations": [
            {"code": "surgery_mv", "title": "Surgery", "class": "I", "level": "B"},
            {"code": "teer", "title": "TEER", "class": "IIb", "level": "B"},
        ],
    }
    rows = {
        r["label"]: r
        for r in result_differences(
            stored, other, left_codes={"surgery_mv"}, right_codes={"surgery_mv", "teer"}
        )
    }
    assert rows["Severity"]["differs"] is False
    assert rows["Severity"]["left"] == "Severe MR"
    assert rows["Stage"]["differs"] is True
    # Class 1 (ACC/AHA) and Class I (ESC), both level B: the same, whatever the notation
    assert rows["Surgery"]["differs"] is False
    # the left rule set has no TEER rule at all: not a Class 3 "not recommended"
    assert rows["TEER"]["left"] == "not in this rule set"
    assert rows["TEER"]["differs"] is True
    assert "not recommended" not in str(rows)


def test_compare_tells_a_rule_that_did_not_fire_from_a_missing_rule():
    from assessments.presentation import result_differences

    stored = {"recommendations": []}
    other = {
        "recommendations": [
            {"code": "teer", "title": "TEER", "class": "2a", "level": "B-NR"}
        ]
    }
    (teer,) = [
        r
        for r in result_differences(
            stored, other, left_codes={"teer"}, right_codes={"teer"}
        )
        if r.get("code")
    ]
    assert teer["left"] == "does not apply to this patient"
    stronger = {
        "recommendations": [
            {"code": "teer", "title": "TEER", "class": "IIb", "level": "B"}
        ]
    }
    (teer,) = [r for r in result_differences(other, stronger) if r.get("code")]
    assert teer["differs"] is True  # 2a vs IIb: a real difference


def test_pdf_button_requests_a_report(logged_in, assessment):
    response = logged_in.post(
        reverse("assessment_report", args=[assessment.pk]), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    report = Report.objects.get(assessment=assessment)
    body = response.content.decode()
    if report.status == "ready":  # tasks run in-process without REDIS_URL
        assert reverse("assessment_report_pdf", args=[assessment.pk]) in body
        pdf = logged_in.get(reverse("assessment_report_pdf", args=[assessment.pk]))
        assert pdf["Content-Type"] == "application/pdf"
        assert b"".join(pdf.streaming_content).startswith(b"%PDF")
    else:
        assert "being prepared" in body
    assert _page_events(AuditAction.EXPORT).exists()


def test_pdf_download_is_404_before_it_is_ready(logged_in, assessment):
    url = reverse("assessment_report_pdf", args=[assessment.pk])
    assert logged_in.get(url).status_code == 404


def test_about_page_shows_how_far_the_rows_are_verified(logged_in, rule_sets):
    from guidelines.loaders import document_from_version

    body = logged_in.get(reverse("about")).content.decode()
    assert "not for children" in body
    assert "not a directive" in body
    assert not re.search(r"<td>(\d+) of \1</td>", body)  # no pass counts as a seal
    for version in rule_sets:
        assert version.version in body
        doc = document_from_version(version)
        rows = [*doc["severity"], *doc["stage"], *doc["rule"]]
        tags = [sum(1 for r in rows if r["evidence"] == t) for t in "VSMJ"]
        cells = "".join(f"<td>{n}</td>" for n in tags)
        assert f"<td>{len(rows)}</td>\n            {cells}" in body
    assert "still unverified" in body
    assert "jet_small_central" in body  # an [M] row of the shared severity table
    assert reverse("guideline_changelog") in body
    assert "papillary-muscle rupture" in body  # limitations from docs/guideline.md §8


def test_static_assets_are_vendored(client):
    from django.contrib.staticfiles import finders

    assert finders.find("vendor/htmx.min.js")
    assert finders.find("css/app.css")
