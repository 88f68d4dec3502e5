"""Echo SR import (issue 17): mapping, conflicts, refusals, identity, API, page, command.

The expected values come from the code list (CODES.md section 3.2) and the contract's
units and ranges, not from the importer's output: e.g. a vena contracta of 6 mm is the
contract's 0.6 cm; an LVESD of 4.1 cm is 41 mm.
"""

import json
import shutil
import subprocess

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from assessments.echo_import.services import (
    EchoReportError,
    PatientMismatch,
    echo_import,
)
from assessments.models import AuditEvent

from .builders import (
    BASIC_TEXT_SR,
    COMPREHENSIVE_SR,
    FINDING_SITE,
    FLOW,
    LVOT,
    METHOD,
    PISA,
    REGURGITANT,
    US_IMAGE,
    VOLUME_FLOW,
    echo_sr,
    mitral_section,
    num,
    patient_characteristics,
)

URL = "/api/v1/echo-imports"


def tid5200_report(**kwargs) -> bytes:
    """Post-coordinated TID 5200: generic concepts + finding site / flow / method."""
    return echo_sr(
        [
            patient_characteristics(165, 68.5),
            mitral_section(
                [
                    num(
                        "SCT",
                        "399367004",
                        "Cardiovascular Orifice Area",
                        "0.45",
                        "cm2",
                        modifiers=[(FLOW, REGURGITANT), (METHOD, PISA)],
                    ),
                    num(
                        "SCT",
                        "90096001",
                        "Stroke Volume",
                        "68",
                        "ml",
                        modifiers=[(FLOW, REGURGITANT), (METHOD, PISA)],
                    ),
                    num(
                        "SCT",
                        "399027007",
                        "Cardiovascular Orifice Diameter",
                        "6",
                        "mm",
                        modifiers=[(FLOW, REGURGITANT)],
                    ),
                    num(
                        "LN",
                        "20355-4",
                        "Peak Blood Velocity",
                        "5.1",
                        "m/s",
                        modifiers=[(FLOW, REGURGITANT)],
                    ),
                    num("DCM", "125331", "PISA Radius", "0.9", "cm"),
                ]
            ),
            num(
                "SCT",
                "399027007",
                "Cardiovascular Orifice Diameter",
                "21",
                "mm",
                modifiers=[(FINDING_SITE, LVOT)],
            ),
            num("LN", "18043-0", "Left Ventricular Ejection Fraction by US", "62", "%"),
            num(
                "LN",
                "29438-9",
                "Left Ventricle Internal Systolic Dimension",
                "4.1",
                "cm",
            ),
            num(
                "LN",
                "29436-3",
                "Left Ventricle Internal End Diastolic Dimension",
                "5.5",
                "cm",
            ),
        ],
        **kwargs,
    )


def tid5300_report(**kwargs) -> bytes:
    """Simplified TID 5300: pre-coordinated LOINC codes, flat."""
    return echo_sr(
        [
            num("LN", "80071-4", "Mitral valve EROA (PISA)", "0.42", "cm2"),
            num("LN", "80064-9", "Mitral regurgitation volume (PISA)", "62", "mL"),
            num(
                "LN",
                "80061-5",
                "Mitral regurgitation vena contracta width",
                "0.72",
                "cm",
            ),
            num("LN", "80062-3", "Mitral regurgitation Vmax", "510", "cm/s"),
            num("LN", "79991-6", "LVEF biplane (MOD)", "58", "%"),
            num("LN", "80070-6", "Mitral valve E-wave Vmax", "1.4", "m/s"),
            num("LN", "79984-1", "LA volume biplane (MOD) / BSA", "52", "mL/m2"),
        ],
        **{"template": "5300", **kwargs},
    )


# --- mapping --------------------------------------------------------------------------


def test_it_maps_the_post_coordinated_tid_5200_form_with_units_converted():
    result = echo_import(data=tid5200_report())
    echo = result["input"]["echo"]
    assert echo["eroa_cm2"] == 0.45
    assert echo["regurgitant_volume_ml"] == 68  # UCUM "ml" is mL
    assert echo["vena_contracta_cm"] == 0.6  # 6 mm
    assert echo["mr_peak_velocity_cm_s"] == 510  # 5.1 m/s
    assert echo["pisa_radius_cm"] == 0.9  # finding site from the section
    assert echo["lvot_diameter_cm"] == 2.1  # 21 mm, finding site LVOT
    assert echo["lvef_pct"] == 62
    assert echo["lvesd_mm"] == 41  # 4.1 cm
    assert echo["lvedd_mm"] == 55
    assert result["input"]["patient"] == {"height_cm": 165, "weight_kg": 68.5}
    assert result["sources"]["echo.eroa_cm2"][0]["method"] == (
        "Proximal Isovelocity Surface Area"
    )
    assert result["sources"]["echo.eroa_cm2"][0]["finding_site"] == "Mitral Valve"
    assert result["unmapped"] == []
    assert result["conflicts"] == []


def test_it_maps_the_pre_coordinated_tid_5300_form():
    result = echo_import(data=tid5300_report())
    assert result["input"]["echo"] == {
        "eroa_cm2": 0.42,
        "regurgitant_volume_ml": 62,
        "vena_contracta_cm": 0.72,
        "mr_peak_velocity_cm_s": 510,
        "lvef_pct": 58,
        "mitral_e_wave_m_s": 1.4,
        "la_volume_index_ml_m2": 52,
    }
    assert result["sources"]["echo.lvef_pct"][0]["method"] == "biplane method of disks"
    assert result["report"]["template"] == "TID 5300"


def test_a_regurgitant_orifice_without_flow_direction_is_not_guessed():
    data = echo_sr(
        [
            mitral_section(
                [
                    num(
                        "SCT", "399367004", "Cardiovascular Orifice Area", "0.4", "cm2"
                    ),
                ]
            )
        ]
    )
    result = echo_import(data=data)
    assert result["input"] == {}
    assert result["unmapped"][0]["code"]["code"] == "399367004"
    assert result["unmapped"][0]["modifiers"] == {"finding site": "Mitral Valve"}


def test_an_unknown_code_is_listed_with_its_code_and_value():
    data = echo_sr(
        [
            num("LN", "80071-4", "Mitral valve EROA (PISA)", "0.3", "cm2"),
            num("99LOCAL", "X-17", "Cart-specific jet length", "3.2", "cm"),
        ]
    )
    result = echo_import(data=data)
    assert result["input"] == {"echo": {"eroa_cm2": 0.3}}
    assert result["unmapped"] == [
        {
            "code": {
                "scheme": "99LOCAL",
                "code": "X-17",
                "meaning": "Cart-specific jet length",
            },
            "value": "3.2",
            "unit": "cm",
            "modifiers": {},
            "reason": "no mapping for this code",
        }
    ]


def test_a_unit_that_cannot_be_converted_is_not_imported():
    data = echo_sr([num("LN", "80071-4", "Mitral valve EROA (PISA)", "0.4", "cm")])
    result = echo_import(data=data)
    assert result["input"] == {}
    assert "unit cm cannot be converted to cm2" in result["unmapped"][0]["reason"]


def test_mm2_is_converted_to_cm2():
    data = echo_sr([num("LN", "80071-4", "Mitral valve EROA (PISA)", "45", "mm2")])
    assert echo_import(data=data)["input"] == {"echo": {"eroa_cm2": 0.45}}


def test_a_value_outside_the_contract_range_is_a_warning_not_an_input():
    # EROA contract range 0..2 cm2 (CONTRACT section 1); 250 mm2 = 2.5 cm2.
    data = echo_sr([num("LN", "80071-4", "Mitral valve EROA (PISA)", "250", "mm2")])
    result = echo_import(data=data)
    assert result["input"] == {}
    assert any(
        w.startswith("echo.eroa_cm2:") and "between 0 and 2 cm²" in w
        for w in result["warnings"]
    )


# --- conflicts --------------------------------------------------------------------------


def test_two_methods_giving_two_values_are_a_conflict_with_both():
    data = echo_sr(
        [
            mitral_section(
                [
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
            )
        ]
    )
    result = echo_import(data=data)
    assert "regurgitant_volume_ml" not in result["input"].get("echo", {})
    [conflict] = result["conflicts"]
    assert conflict["field"] == "echo.regurgitant_volume_ml"
    assert conflict["column"] == "echo_regurgitant_volume_ml"
    assert [v["value"] for v in conflict["values"]] == ["68", "55"]
    assert [v["source"]["method"] for v in conflict["values"]] == [
        "Proximal Isovelocity Surface Area",
        "Doppler Volume Flow",
    ]


def test_repeated_measurements_in_mm_and_cm_conflict_unless_equal():
    repeated = echo_sr(
        [
            num("LN", "29438-9", "LVIDs", "4.1", "cm"),
            num("LN", "29438-9", "LVIDs", "43", "mm"),
        ]
    )
    result = echo_import(data=repeated)
    assert result["input"] == {}
    assert [v["value"] for v in result["conflicts"][0]["values"]] == ["41", "43"]
    same = echo_sr(
        [
            num("LN", "29438-9", "LVIDs", "4.1", "cm"),
            num("LN", "80012-8", "LVIDs M-mode", "41", "mm"),
        ]
    )
    result = echo_import(data=same)
    assert result["input"] == {"echo": {"lvesd_mm": 41}}
    assert len(result["sources"]["echo.lvesd_mm"]) == 2


# --- refusals ---------------------------------------------------------------------------


def test_a_file_that_is_not_dicom_is_refused():
    with pytest.raises(EchoReportError, match="not DICOM"):
        echo_import(data=b"%PDF-1.7 not an echo report" * 10)


@pytest.mark.parametrize("cut", [200, 700, -300, -3])
def test_a_truncated_file_is_refused(cut):
    data = tid5200_report()
    with pytest.raises(EchoReportError, match="truncated"):
        echo_import(data=data[:cut])


def test_a_wrong_sop_class_is_refused():
    with pytest.raises(EchoReportError, match=r"not a structured report.*6\.1"):
        echo_import(data=tid5200_report(sop_class=US_IMAGE))
    with pytest.raises(EchoReportError, match="not a structured report"):
        echo_import(data=tid5200_report(sop_class=BASIC_TEXT_SR))


def test_an_sr_of_another_template_is_refused():
    other = echo_sr(
        [num("LN", "80071-4", "EROA", "0.4", "cm2")],
        template="2000",
        title=("DCM", "126000", "Imaging Measurement Report"),
    )
    with pytest.raises(EchoReportError, match="not an echocardiography report"):
        echo_import(data=other)


def test_a_comprehensive_sr_without_template_id_but_echo_title_is_read():
    data = tid5300_report(sop_class=COMPREHENSIVE_SR, template="")
    assert echo_import(data=data)["input"]["echo"]["eroa_cm2"] == 0.42


# --- patient identity ---------------------------------------------------------------------


def test_the_patient_of_the_report_is_compared_with_the_record(patient):
    patient.family_name, patient.given_name = "Patient1", "Ada"
    result = echo_import(data=tid5200_report(), patient=patient)
    assert not any("does not match" in w for w in result["warnings"])
    other = tid5200_report(patient_id="MRN-9999", birth_date="19600101")
    with pytest.raises(PatientMismatch) as refused:
        echo_import(data=other, patient=patient)
    assert len(refused.value.mismatches) == 2
    confirmed = echo_import(data=other, patient=patient, confirm_patient_mismatch=True)
    assert any("MRN-9999" in w for w in confirmed["warnings"])


def test_a_height_contradicting_the_record_is_not_imported(patient):
    patient.family_name, patient.given_name = "Patient1", "Ada"  # record: 165 cm
    data = echo_sr([patient_characteristics(172, 68.5)])
    result = echo_import(data=data, patient=patient)
    assert result["input"] == {"patient": {"weight_kg": 68.5}}
    assert any("record 165 cm; the record is kept" in w for w in result["warnings"])


# --- the fixtures are valid DICOM -------------------------------------------------------


@pytest.mark.parametrize("builder", [tid5200_report, tid5300_report])
def test_the_built_reports_are_valid_dicom(builder, tmp_path):
    tools = [t for t in ("dciodvfy", "dsrdump") if shutil.which(t)]
    if not tools:
        pytest.skip("neither dciodvfy (dicom3tools) nor dsrdump (dcmtk) is installed")
    path = tmp_path / "report.dcm"
    path.write_bytes(builder())
    if "dciodvfy" in tools:
        run = subprocess.run(
            ["dciodvfy", str(path)], capture_output=True, text=True, check=False
        )
        output = run.stdout + run.stderr
        assert "Error" not in output, output
        assert "EnhancedSR" in output
    if "dsrdump" in tools:
        run = subprocess.run(
            ["dsrdump", str(path)], capture_output=True, text=True, check=False
        )
        assert run.returncode == 0, run.stderr
        assert "Adult Echocardiography Procedure Report" in run.stdout


# --- API --------------------------------------------------------------------------------


def post_dicom(client, data, query=""):
    return client.generic("POST", URL + query, data, content_type="application/dicom")


def test_the_api_maps_a_report_and_audits_it(ehr, api_client_user):
    response = post_dicom(ehr, tid5300_report())
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) >= {"input", "unmapped", "conflicts", "warnings"}
    assert body["input"]["echo"]["eroa_cm2"] == 0.42
    event = AuditEvent.objects.get(user=api_client_user, channel="api")
    assert event.detail.startswith("echo SR import")
    from assessments.models import Assessment

    assert Assessment.objects.count() == 0  # nothing stored


def test_the_api_takes_octet_stream_too(ehr):
    response = ehr.generic(
        "POST", URL, tid5300_report(), content_type="application/octet-stream"
    )
    assert response.status_code == 200


def test_the_api_needs_authentication(anon, db):
    assert post_dicom(anon, tid5300_report()).status_code == 401


def test_the_api_refuses_non_dicom_in_the_error_shape(ehr):
    response = post_dicom(ehr, b"hello, not DICOM")
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["field"] == ""
    assert "not DICOM" in error["message"]


def test_the_api_refuses_json_bodies(ehr):
    response = ehr.post(URL, {"echo": {}}, format="json")
    assert response.status_code == 415


def test_the_api_refuses_a_file_over_the_size_limit(ehr, settings):
    settings.ECHO_IMPORT_MAX_BYTES = 1000
    response = post_dicom(ehr, tid5300_report())
    assert response.status_code == 413, response.content
    assert "limit of 1000 bytes" in response.json()["errors"][0]["message"]


def test_the_api_compares_the_patient_of_an_encounter(ehr, encounter, api_client_user):
    query = f"?encounter={encounter.pk}"
    response = post_dicom(ehr, tid5300_report(patient_id="OTHER"), query)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "patient"
    assert AuditEvent.objects.filter(
        patient=encounter.patient, detail__startswith="echo SR import refused"
    ).exists()
    response = post_dicom(
        ehr,
        tid5300_report(patient_id="OTHER"),
        query + "&confirm_patient_mismatch=true",
    )
    assert response.status_code == 200
    assert response.json()["patient_check"] == "mismatch_confirmed"
    assert AuditEvent.objects.filter(
        patient=encounter.patient, detail__endswith="patient mismatch_confirmed"
    ).exists()


def test_the_api_hides_other_care_sites_encounters(as_other, encounter):
    response = post_dicom(as_other, tid5300_report(), f"?encounter={encounter.pk}")
    assert response.status_code == 404


# --- page -------------------------------------------------------------------------------


def page_url(encounter):
    return reverse("encounter_echo_import", args=[encounter.pk])


def upload(client, encounter, data, **extra):
    from django.core.files.uploadedfile import SimpleUploadedFile

    file = SimpleUploadedFile("echo.dcm", data, content_type="application/dicom")
    return client.post(page_url(encounter), {"file": file, **extra})


def test_the_assessment_page_offers_the_import(client, clinician, encounter):
    client.force_login(clinician)
    page = client.get(reverse("assessment_new", args=[encounter.pk])).content.decode()
    assert 'id="echo-import-form"' in page
    assert "js/echo_import.js" in page
    assert "<script>" not in page  # no inline script (CSP)


def test_the_page_upload_returns_the_values_by_form_field_name(
    client, clinician, encounter
):
    client.force_login(clinician)
    encounter.patient.family_name = "Patient1"
    encounter.patient.save()
    response = upload(
        client, encounter, tid5200_report(patient_id=encounter.patient.mrn)
    )
    assert response.status_code == 200, response.content
    fields = response.json()["fields"]
    assert fields["echo_vena_contracta_cm"]["value"] == 0.6
    assert fields["echo_vena_contracta_cm"]["sources"][0]["unit"] == "mm"
    assert fields["echo_lvesd_mm"]["value"] == 41
    assert AuditEvent.objects.filter(
        user=clinician,
        channel="page",
        patient=encounter.patient,
        detail__startswith="echo SR import",
    ).exists()
    from assessments.models import Assessment

    assert Assessment.objects.count() == 0


def test_the_page_refuses_a_mismatch_unless_confirmed(client, clinician, encounter):
    client.force_login(clinician)
    data = tid5300_report(patient_id="SOMEONE-ELSE")
    response = upload(client, encounter, data)
    assert response.status_code == 400
    assert response.json()["patient_mismatch"] is True
    response = upload(client, encounter, data, confirm_patient_mismatch="true")
    assert response.status_code == 200


def test_the_page_upload_needs_the_csrf_token(clinician, encounter):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(clinician)
    assert upload(client, encounter, tid5300_report()).status_code == 403


def test_the_page_upload_is_refused_for_another_care_site(
    client, other_clinician, encounter
):
    client.force_login(other_clinician)
    assert upload(client, encounter, tid5300_report()).status_code == 404


def test_the_page_upload_over_the_limit_is_refused(
    client, clinician, encounter, settings
):
    settings.ECHO_IMPORT_MAX_BYTES = 500
    client.force_login(clinician)
    response = upload(client, encounter, tid5300_report())
    assert response.status_code == 413, response.content


# --- command ----------------------------------------------------------------------------


def test_the_command_prints_the_same_json(tmp_path, capsys, db):
    path = tmp_path / "echo.dcm"
    path.write_bytes(tid5300_report())
    call_command("import_echo_sr", str(path))
    body = json.loads(capsys.readouterr().out)
    assert body["input"]["echo"]["eroa_cm2"] == 0.42
    assert AuditEvent.objects.filter(channel="command").count() == 1


def test_the_command_names_why_a_file_is_refused(tmp_path, db):
    path = tmp_path / "echo.dcm"
    path.write_bytes(tid5300_report(sop_class=US_IMAGE))
    with pytest.raises(CommandError, match="not a structured report"):
        call_command("import_echo_sr", str(path))
