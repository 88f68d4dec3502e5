"""Every clinician page, audited in the browser by axe-core (WCAG 2.1 A and AA rules):
no violation at all, on the page as it loads and after a form is sent back with errors."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.urls import reverse
from playwright.sync_api import Page, expect

from assessments.services import assessment_create

from .test_clinician import sign_in

pytestmark = pytest.mark.e2e
WCAG_AA = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "resultTypes": ["violations"],
}


def violations(page: Page) -> list[str]:
    """One line per violation: rule, impact, and the first offending elements."""
    results = Axe().run(page, options=WCAG_AA)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + "; ".join(" ".join(node["target"]) for node in v["nodes"][:3])
        for v in results.response["violations"]
    ]


@pytest.fixture
def stored_assessment(encounter, clinician):
    return assessment_create(
        encounter=encounter,
        data={
            "etiology": "degenerative_prolapse",
            "symptoms": {"nyha_class": 2},
            "echo": {
                "eroa_cm2": 0.45,
                "regurgitant_volume_ml": 68,
                "lvef_pct": 62,
                "lvesd_mm": 36,
                "lvedd_mm": 55,
            },
        },
        author=clinician,
    )


def test_the_pages_have_no_accessibility_violations(
    page: Page, live_server, clinician, patient, encounter, stored_assessment
):
    base = live_server.url
    page.goto(f"{base}/login/")
    found = {"login": violations(page)}
    sign_in(page, base, clinician.username)
    pages = {
        "patient list": reverse("patient_list"),
        "patient": reverse("patient_detail", args=[patient.pk]),
        "new encounter": reverse("encounter_new", args=[patient.pk]),
        "assessment form": reverse("assessment_new", args=[encounter.pk]),
        "result": reverse("assessment_detail", args=[stored_assessment.pk]),
        "comparison": reverse("assessment_compare", args=[stored_assessment.pk]),
        "amend form": reverse("assessment_amend", args=[stored_assessment.pk]),
        "not found": "/patients/999999/",
        "about": reverse("about"),
        "guideline changelog": reverse("guideline_changelog"),
    }
    for name, url in pages.items():
        page.goto(base + url)
        found[name] = violations(page)
    # The live preview with a grade, then with an out-of-range value named.
    page.goto(base + reverse("assessment_new", args=[encounter.pk]))
    page.locator("#id_etiology").select_option("degenerative_prolapse")
    page.locator("#id_symptoms_nyha_class").select_option("2")
    page.locator("#id_echo_regurgitant_volume_ml").fill("70")
    page.locator("#id_echo_lvef_pct").fill("62")
    page.locator("#id_echo_lvesd_mm").fill("36")
    page.locator("#id_echo_eroa_cm2").fill("0.45")
    expect(page.locator("#preview-severity")).to_have_text("Severe MR")
    found["live preview"] = violations(page)
    page.locator("#id_echo_lvef_pct").fill("95")
    expect(page.locator("#preview")).to_contain_text("must be between 5 and 90 %")
    found["live preview with an error"] = violations(page)
    # Forms sent back with their errors shown.
    page.get_by_role("button", name="Save assessment").first.click()
    expect(page.locator("[role=alert]").first).to_be_visible()
    found["assessment form with errors"] = violations(page)
    page.goto(base + reverse("patient_list"))
    page.get_by_role("button", name="Create patient").click()
    found["patient form with errors"] = violations(page)
    # A voided result (its notice and status badge).
    page.goto(base + reverse("assessment_detail", args=[stored_assessment.pk]))
    page.locator("#void-details summary").click()
    page.get_by_label("Reason (required)").fill("Wrong patient")
    page.get_by_role("button", name="Mark as entered in error").click()
    expect(page.locator("#void-notice")).to_be_visible()
    found["voided result"] = violations(page)
    assert {name: v for name, v in found.items() if v} == {}
