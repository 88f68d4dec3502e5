"""A clinician in a real browser: signs in, creates a patient and an encounter, enters
an assessment while the live preview turns severe at EROA 0.40 cm², saves, reads the
stored result and the trend chart, compares with the other guideline; a clinician of
another care site gets 404 for that patient. Screenshots go to artifacts/screenshots/."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from assessments.models import Assessment, Patient

pytestmark = pytest.mark.e2e
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
PASSWORD = "password"  # tests.factories.UserFactory


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


def sign_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Patients")).to_be_visible()


def test_clinician_enters_an_assessment_and_reads_the_result(
    page: Page, live_server, clinician, other_clinician, browser
):
    base = live_server.url
    page.set_viewport_size({"width": 1366, "height": 900})
    shot_login = page.goto(f"{base}/login/")
    assert shot_login.status == 200
    shot(page, "01-login")
    sign_in(page, base, clinician.username)

    # a new patient
    page.get_by_label("MRN", exact=True).fill("E2E-001")
    page.get_by_label("Given name").fill("Edith")
    page.get_by_label("Family name").fill("Clarke")
    page.get_by_label("Birth date").fill("1956-04-02")
    page.get_by_label("Sex").select_option("female")
    page.get_by_label("Height (cm)").fill("165")
    page.get_by_label("Weight (kg)").fill("62")
    page.get_by_role("button", name="Create patient").click()
    expect(page.get_by_role("heading", name="Clarke, Edith")).to_be_visible()
    patient = Patient.objects.get(mrn="E2E-001")

    # search finds her by MRN, live
    page.goto(f"{base}/")
    page.get_by_label("Search by name or MRN").fill("e2e-0")
    expect(page.locator("#patient-rows")).to_contain_text("Clarke, Edith")
    shot(page, "02-patient-list")

    # an encounter, then the assessment form
    page.goto(f"{base}/patients/{patient.pk}/")
    page.get_by_role("link", name="New encounter").click()
    page.get_by_label("Date and time").fill("2025-06-02T09:30")
    page.get_by_role("button", name=re.compile("Create encounter")).click()
    expect(page.get_by_role("heading", name="New assessment")).to_be_visible()

    severity = page.locator("#preview-severity")
    page.locator("#id_etiology").select_option("degenerative_prolapse")
    page.locator("#id_symptoms_nyha_class").select_option("1")
    page.locator("#id_echo_regurgitant_volume_ml").fill("70")
    page.locator("#id_echo_regurgitant_fraction_pct").fill("40")
    page.locator("#id_echo_lvef_pct").fill("62")
    page.locator("#id_echo_lvesd_mm").fill("36")
    page.locator("#id_echo_eroa_cm2").fill("0.30")
    expect(severity).to_have_text("Moderate MR")
    page.locator("#id_echo_eroa_cm2").fill("0.39")
    expect(page.locator("#preview")).to_contain_text("moderate to severe")
    expect(severity).to_have_text("Moderate MR")
    page.locator("#id_echo_eroa_cm2").fill("0.40")
    expect(severity).to_have_text("Severe MR")
    expect(page.locator("#preview-stage")).to_contain_text("Stage C1")

    # PISA inputs: the engine's derived values appear as you type
    page.locator("#id_echo_pisa_radius_cm").fill("0.9")
    page.locator("#id_echo_aliasing_velocity_cm_s").fill("40")
    page.locator("#id_echo_mr_peak_velocity_cm_s").fill("500")
    page.locator("#id_echo_mr_vti_cm").fill("150")
    expect(page.locator("#derived-echo_eroa_cm2")).to_contain_text("Computed")
    page.locator("#id_echo_pisa_radius_cm").fill("")
    page.locator("#id_echo_aliasing_velocity_cm_s").fill("")
    page.locator("#id_echo_mr_peak_velocity_cm_s").fill("")
    page.locator("#id_echo_mr_vti_cm").fill("")

    # an out-of-range value is named with its range, inline
    page.locator("#id_echo_lvef_pct").fill("95")
    expect(page.locator("#preview")).to_contain_text("must be between 5 and 90 %")
    page.locator("#id_echo_lvef_pct").fill("62")
    expect(severity).to_have_text("Severe MR")
    page.locator("#id_echo_eroa_cm2").focus()
    shot(page, "03-assessment-form")

    page.get_by_role("button", name="Save assessment").first.click()
    expect(page.locator("#result-severity")).to_have_text("Severe MR")
    assessment = Assessment.objects.get(encounter__patient=patient)
    assert assessment.result["severity"] == "severe"
    assert page.url.endswith(f"/assessments/{assessment.pk}/")
    expect(page.locator("#rule-set")).to_contain_text(
        f"version {assessment.result['guideline']['version']}"
    )
    expect(page.locator("#rec-title")).to_be_visible()
    shot(page, "04-result")

    # the same input under the other guideline, side by side
    page.get_by_role("button", name=re.compile("Compare with")).first.click()
    comparison = page.locator("#comparison")
    expect(comparison).to_contain_text("evaluated now, on demand, not stored")
    expect(comparison).to_contain_text("ESC")
    expect(comparison.locator("tr.differs").first).to_be_visible()
    comparison.scroll_into_view_if_needed()
    shot(page, "05-compare")

    # the trend chart on the patient page shows the stored EROA against 0.40
    page.goto(f"{base}/patients/{patient.pk}/")
    eroa_chart = page.locator("#chart-eroa_cm2 svg")
    expect(eroa_chart.locator("circle.point")).to_have_count(1)
    expect(eroa_chart.locator("line.threshold")).to_have_count(1)
    expect(eroa_chart).to_contain_text("0.4")
    shot(page, "06-patient")

    # tablet width: still usable, preview below the form
    page.set_viewport_size({"width": 820, "height": 1100})
    page.goto(f"{base}/encounters/{assessment.encounter_id}/assessments/new/")
    expect(page.locator("#id_echo_eroa_cm2")).to_be_visible()
    shot(page, "07-assessment-form-tablet")

    page.goto(f"{base}/about/")
    expect(page.locator("#validation")).to_contain_text("approved by")
    shot(page, "08-about")

    # a clinician of another care site: 404 for that patient
    other = browser.new_context()
    other_page = other.new_page()
    sign_in(other_page, base, other_clinician.username)
    expect(other_page.locator("#patient-rows")).not_to_contain_text("Clarke")
    response = other_page.goto(f"{base}/patients/{patient.pk}/")
    assert response.status == 404
    response = other_page.goto(f"{base}/assessments/{assessment.pk}/")
    assert response.status == 404
    other.close()
