"""The clinician imports an echo report in a real browser: the form is pre-filled and
marked with the source of each value, a conflict is offered as a choice, nothing is
stored until the clinician saves."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from assessments.models import Assessment
from tests.echo_import.builders import (
    FLOW,
    METHOD,
    PISA,
    REGURGITANT,
    VOLUME_FLOW,
    echo_sr,
    mitral_section,
    num,
)
from tests.factories import EncounterFactory, PatientFactory

pytestmark = pytest.mark.e2e


def sign_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("password")  # tests.factories.UserFactory
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Patients")).to_be_visible()


def test_clinician_imports_an_echo_report_reviews_and_saves(
    page: Page, live_server, clinician, organization, tmp_path
):
    patient = PatientFactory(
        organization=organization,
        mrn="ECHO-1",
        family_name="Clarke",
        given_name="Edith",
        birth_date="1956-04-02",
    )
    encounter = EncounterFactory(patient=patient, clinician=clinician)
    report = tmp_path / "echo.dcm"
    report.write_bytes(
        echo_sr(
            [
                mitral_section(
                    [
                        num(
                            "SCT",
                            "399027007",
                            "Cardiovascular Orifice Diameter",
                            "7",
                            "mm",
                            modifiers=[(FLOW, REGURGITANT)],
                        ),
                        num(
                            "SCT",
                            "90096001",
                            "Stroke Volume",
                            "68",
                            "mL",
                            modifiers=[(FLOW, REGURGITANT), (METHOD, PISA)],
                        ),
                        num(
                            "SCT",
                            "90096001",
                            "Stroke Volume",
                            "55",
                            "mL",
                            modifiers=[(FLOW, REGURGITANT), (METHOD, VOLUME_FLOW)],
                        ),
                    ]
                ),
                num(
                    "LN",
                    "29438-9",
                    "Left Ventricle Internal Systolic Dimension",
                    "4.1",
                    "cm",
                ),
                num("99LOCAL", "X-1", "Cart-specific value", "3", "cm"),
            ],
            patient_id="ECHO-1",
            patient_name="Clarke^Edith",
            birth_date="19560402",
        )
    )

    sign_in(page, live_server.url, clinician.username)
    page.goto(f"{live_server.url}/encounters/{encounter.pk}/assessments/new/")
    page.get_by_label("Echo report (DICOM SR)").set_input_files(str(report))
    page.get_by_role("button", name="Import echo report").click()

    vena_contracta = page.locator("[name=echo_vena_contracta_cm]")
    expect(vena_contracta).to_have_value("0.7")  # 7 mm
    expect(vena_contracta).to_have_class("imported")
    expect(page.locator("[name=echo_lvesd_mm]")).to_have_value("41")
    result = page.locator("#echo-import-result")
    expect(result).to_contain_text("Cart-specific value (99LOCAL X-1)")
    assert page.locator("[name=echo_regurgitant_volume_ml]").input_value() == ""
    assert Assessment.objects.count() == 0  # nothing stored by the import

    page.get_by_label("55 mL", exact=False).check()
    expect(page.locator("[name=echo_regurgitant_volume_ml]")).to_have_value("55")
    page.get_by_label("Etiology", exact=False).first.select_option(
        "degenerative_prolapse"
    )
    page.get_by_role("button", name="Save assessment").first.click()
    expect(page).to_have_url(re.compile(r"/assessments/\d+/$"))
    stored = Assessment.objects.get()
    assert stored.echo_vena_contracta_cm == Decimal("0.7")
    assert stored.echo_regurgitant_volume_ml == Decimal("55")
    assert stored.echo_lvesd_mm == Decimal("41")
