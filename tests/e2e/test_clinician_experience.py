"""Issue 15 in a real browser (Chromium): typed values are never dropped (42e, 0,8),
Enter never saves, Save is in the sticky preview panel, amend and void with a reason,
evaluate again after a version change, copy to note, print media, a 390 px phone
without sideways scroll, and app-styled error pages. Every page is saved as a full-page
screenshot under artifacts/screenshots/ (gitignored) to be looked at."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from assessments.models import Assessment
from assessments.services import assessment_create
from tests.web.test_clinician_experience import republished

from .test_clinician import shot, sign_in

pytestmark = pytest.mark.e2e
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}
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


@pytest.fixture
def stored(encounter, clinician):
    return assessment_create(encounter=encounter, data=FLAIL, author=clinician)


def url(live_server, name, *args):
    return live_server.url + reverse(name, args=args)


def no_sideways_scroll(page: Page) -> None:
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{page.url} scrolls sideways by {overflow} px"


def test_typed_values_are_never_dropped_and_enter_never_saves(
    page: Page, live_server, clinician, encounter
):
    page.set_viewport_size(DESKTOP)
    sign_in(page, live_server.url, clinician.username)
    page.goto(url(live_server, "assessment_new", encounter.pk))
    page.locator("#id_etiology").select_option("degenerative_prolapse")
    page.locator("#id_echo_eroa_cm2").fill("0.45")
    page.locator("#id_echo_regurgitant_volume_ml").fill("70")
    expect(page.locator("#preview-severity")).to_have_text("Severe MR")

    # Enter in a field: nothing is stored, the page stays
    page.locator("#id_echo_lvef_pct").fill("62")
    page.locator("#id_echo_lvef_pct").press("Enter")
    page.wait_for_timeout(600)
    assert page.url.endswith(reverse("assessment_new", args=[encounter.pk]))
    assert not Assessment.objects.exists()

    # 42e: the browser keeps it, the preview names the field
    page.locator("#id_echo_lvesd_mm").fill("42e")
    expect(page.locator("#preview")).to_contain_text("LV end-systolic diameter")
    expect(page.locator("#preview")).to_contain_text("must be a number")
    # 0,8: refused explicitly (a comma is never guessed)
    page.locator("#id_echo_vena_contracta_cm").fill("0,8")
    expect(page.locator("#preview")).to_contain_text(
        "use a point as the decimal separator (0.8, not 0,8)"
    )
    shot(page, "10-form-refused-values-preview")

    # Save from the sticky panel, at the top of the page: refused, values kept, named
    page.locator("#id_echo_modality").scroll_into_view_if_needed()
    save = page.locator("#save-preview")
    expect(save).to_be_in_viewport()
    save.click()
    summary = page.locator("#form-errors")
    expect(summary).to_contain_text("LV end-systolic diameter")
    expect(summary).to_contain_text("Vena contracta width")
    expect(page.locator("#id_echo_lvesd_mm")).to_have_value("42e")
    expect(page.locator("#id_echo_vena_contracta_cm")).to_have_value("0,8")
    assert not Assessment.objects.exists()
    shot(page, "11-form-refused-values-saved")

    # corrected, saved from the panel; NYHA as a class I-IV choice
    page.locator("#id_echo_lvesd_mm").fill("42")
    page.locator("#id_echo_vena_contracta_cm").fill("0.8")
    page.locator("#id_symptoms_nyha_class").select_option("2")
    expect(page.locator("#id_symptoms_nyha_class option:checked")).to_have_text(
        re.compile("^II: slight limitation")
    )
    page.locator("#save-preview").click()
    expect(page.locator("#result-bottom-line")).to_be_visible()
    assessment = Assessment.objects.get()
    assert str(assessment.echo_lvesd_mm) == "42.000"
    assert str(assessment.echo_vena_contracta_cm) == "0.800"
    assert assessment.symptoms_nyha_class == 2


def test_amend_void_and_history_in_the_browser(
    page: Page, live_server, clinician, stored, patient
):
    page.set_viewport_size(DESKTOP)
    sign_in(page, live_server.url, clinician.username)
    page.goto(url(live_server, "assessment_detail", stored.pk))
    expect(page.locator("#result-diagnosis")).to_have_text(
        "Severe primary MR (flail leaflet)"
    )
    expect(page.locator("#result-stage")).to_have_text(
        "Stage D (symptomatic severe MR)"
    )
    expect(page.locator("#result-strongest")).to_contain_text("Class 1, level B-NR")
    shot(page, "20-result")

    page.locator("#amend-link").click()
    expect(
        page.get_by_role("heading", name=f"Correct assessment #{stored.pk}")
    ).to_be_visible()
    expect(page.locator("#id_echo_eroa_cm2")).to_have_value("0.45")
    page.locator("#id_echo_eroa_cm2").fill("0.25")
    page.locator("#id_echo_regurgitant_volume_ml").fill("35")
    page.locator("#id_reason").fill("EROA and RVol typed from the wrong study")
    shot(page, "21-amend-form")
    page.locator("#save-preview").click()
    new = Assessment.objects.exclude(pk=stored.pk).get()
    expect(page.locator("#corrects-notice")).to_contain_text(f"assessment #{stored.pk}")
    expect(page.locator(".messages")).to_contain_text(f"Saved assessment #{new.pk}")
    expect(page.locator("#history")).to_contain_text("wrong study")
    shot(page, "22-result-amendment")
    stored.refresh_from_db()
    assert stored.status == "amended"

    page.goto(url(live_server, "assessment_detail", stored.pk))
    expect(page.locator("#superseded-notice")).to_contain_text(f"#{new.pk}")
    expect(page.locator("#amend-link")).to_have_count(0)
    shot(page, "23-result-amended")

    # void the correction, with a reason
    page.goto(url(live_server, "assessment_detail", new.pk))
    page.locator("#void-details summary").click()
    page.get_by_label("Reason (required)").fill("Entered for the wrong patient")
    page.get_by_role("button", name="Mark as entered in error").click()
    expect(page.locator("#void-notice")).to_contain_text(
        "Entered for the wrong patient"
    )
    shot(page, "24-result-void")
    new.refresh_from_db()
    assert new.status == "entered_in_error"

    # the patient page marks both and draws neither
    page.goto(url(live_server, "patient_detail", patient.pk))
    expect(page.locator(f"#assessment-row-{stored.pk}")).to_contain_text("amended")
    expect(page.locator(f"#assessment-row-{new.pk}")).to_contain_text(
        "entered in error"
    )
    expect(page.locator("#chart-eroa_cm2 circle.point")).to_have_count(0)
    shot(page, "25-patient-superseded")


def test_copy_to_note_puts_the_summary_on_the_clipboard(
    page: Page, live_server, clinician, stored
):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    sign_in(page, live_server.url, clinician.username)
    page.goto(url(live_server, "assessment_detail", stored.pk))
    page.get_by_role("button", name="Copy to note").click()
    expect(page.locator("#copy-note-status")).to_contain_text("Copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == page.locator("#note-text").input_value()
    assert copied.startswith(f"Mitral regurgitation assessment (MR-CDS #{stored.pk})")
    assert "Diagnosis: Severe primary MR (flail leaflet); Stage D" in copied
    assert "Class 1, level B-NR; ACC/AHA 2020" in copied


def test_a_result_under_a_retired_version_is_evaluated_again(
    page: Page, live_server, clinician, editor, superuser, stored
):
    # (a live-server test flushes the editors' group permissions: a superuser approves)
    republished(
        stored.rule_set_version,
        editor=editor,
        approver=superuser,
        label="2020.1-r2",
    )
    sign_in(page, live_server.url, clinician.username)
    page.goto(url(live_server, "assessment_detail", stored.pk))
    drift = page.locator("#version-drift")
    expect(drift).to_contain_text("no longer active")
    shot(page, "30-result-version-drift")
    drift.get_by_role("button", name="Evaluate again under the current version").click()
    new = Assessment.objects.exclude(pk=stored.pk).get()
    expect(page.locator("#corrects-notice")).to_contain_text(f"#{stored.pk}")
    expect(page.locator("#version-drift")).to_have_count(0)
    assert new.result["guideline"]["version"] == "2020.1-r2"


def test_print_media_hides_the_controls(
    page: Page, live_server, clinician, stored, patient
):
    page.set_viewport_size(DESKTOP)
    sign_in(page, live_server.url, clinician.username)
    for name, target, pages_max in (
        ("result", url(live_server, "assessment_detail", stored.pk), 2),
        ("patient", url(live_server, "patient_detail", patient.pk), 2),
    ):
        page.goto(target)
        page.emulate_media(media="print")
        expect(page.locator(".site-header nav")).to_be_hidden()
        expect(page.get_by_role("button", name="Print")).to_be_hidden()
        expect(page.locator(".site-footer")).to_be_visible()  # the disclaimer stays
        shot(page, f"40-print-{name}")
        pdf = page.pdf(format="A4", print_background=True)
        count = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
        print(f"printed A4 pages of the {name} page: {count}")  # shown with -s
        assert 1 <= count <= pages_max, f"{name}: {count} printed pages"
        page.emulate_media(media="screen")


def test_every_page_fits_a_390_px_phone(
    page: Page, live_server, clinician, stored, patient, encounter
):
    page.set_viewport_size(PHONE)
    page.goto(live_server.url + reverse("login"))
    no_sideways_scroll(page)
    shot(page, "50-phone-login")
    sign_in(page, live_server.url, clinician.username)
    pages = {
        "patients": url(live_server, "patient_list"),
        "patient": url(live_server, "patient_detail", patient.pk),
        "encounter-form": url(live_server, "encounter_new", patient.pk),
        "assessment-form": url(live_server, "assessment_new", encounter.pk),
        "result": url(live_server, "assessment_detail", stored.pk),
        "compare": url(live_server, "assessment_compare", stored.pk),
        "amend-form": url(live_server, "assessment_amend", stored.pk),
        "about": url(live_server, "about"),
        "not-found": live_server.url + "/patients/999999/",
    }
    for name, target in pages.items():
        page.goto(target)
        page.wait_for_load_state("networkidle")
        no_sideways_scroll(page)
        shot(page, f"51-phone-{name}")


def test_error_pages_are_app_styled(
    page: Page, live_server, clinician, other_clinician, stored
):
    sign_in(page, live_server.url, other_clinician.username)
    response = page.goto(url(live_server, "assessment_detail", stored.pk))
    assert response.status == 404
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    expect(page.get_by_role("link", name="Back to the patients")).to_be_visible()
    shot(page, "60-not-found")
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator(".messages")).to_contain_text("You are signed out.")
    shot(page, "61-signed-out")
