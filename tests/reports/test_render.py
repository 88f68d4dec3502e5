"""The render service alone: what a clinician reads in the PDF."""

import shutil
import subprocess

import pytest

from assessments.reports import report_render
from tests.reports.conftest import pdf_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def pdf(assessment):
    return report_render(assessment=assessment)


def test_it_renders_a_pdf(pdf):
    assert pdf.startswith(b"%PDF")


def test_it_shows_severity_type_and_stage(pdf):
    text = pdf_text(pdf)
    # the bottom line, in words: severity, type, mechanism; stage; strongest advice
    assert "Severe primary MR (flail leaflet)" in text
    assert "Stage D (symptomatic severe MR)" in text
    assert "→ Mitral valve intervention for symptomatic severe primary MR" in " ".join(
        text.split()
    )
    assert "secondary_ventricular" not in text
    assert "True" not in text


def test_it_lists_recommendations_with_class_level_and_citation(pdf, assessment):
    text = " ".join(pdf_text(pdf).split())
    recommendations = assessment.result["recommendations"]
    assert recommendations
    for rec in recommendations:
        assert f"{rec['title']} Class {rec['class']}, level {rec['level']}" in text
    assert "Otto CM et al." in text


def test_it_names_the_rule_set_version_and_hash(pdf, assessment):
    text = pdf_text(pdf)
    guideline = assessment.result["guideline"]
    assert guideline["content_hash"] == assessment.rule_set_version.content_hash
    assert f"Content hash: {guideline['content_hash']}" in text
    assert f"version {guideline['version']}" in text


def test_it_identifies_patient_and_encounter(pdf, patient):
    text = pdf_text(pdf)
    assert f"MRN {patient.mrn}" in text
    assert f"{patient.family_name}, {patient.given_name}" in text
    assert "Outpatient, 2025-03-10 09:30 UTC" in text


def test_it_shows_the_inputs_with_units(pdf):
    text = pdf_text(pdf)
    assert "EROA 0.52 cm²" in text
    assert "Regurgitant volume 75 mL" in text
    assert "Leaflet lesion Severe" in text


def test_it_shows_the_findings(pdf):
    text = " ".join(pdf_text(pdf).split())
    assert "Vena contracta width (cm) ≥ 0.7 → specific for severe MR" in text


def test_it_lists_missing_data(encounter, clinician):
    from assessments.services import assessment_create

    sparse = assessment_create(
        encounter=encounter,
        author=clinician,
        data={"etiology": "degenerative_prolapse", "echo": {"eroa_cm2": 0.45}},
    )
    missing = sparse.result["missing"]
    assert missing
    text = " ".join(pdf_text(report_render(assessment=sparse)).split())
    from guidelines.parameters import parameter_label

    # by their clinical label, not the dotted code
    assert all(parameter_label(item["parameter"]) in text for item in missing)
    assert not any(f" {item['parameter']} " in text for item in missing)


def test_every_page_has_page_numbers_and_the_decision_support_footer(pdf):
    text = pdf_text(pdf)
    pages = text.count("Page ")
    assert "Page 1 of " in text
    assert f"Page {pages} of {pages}" in text
    assert text.count("not a directive") >= pages


def test_it_escapes_patient_names(encounter, clinician, patient):
    from assessments.services import assessment_create
    from tests.reports.conftest import SEVERE_PRIMARY

    patient.given_name = "<b>Ada</b>"
    patient.save(update_fields=["given_name"])
    assessment = assessment_create(
        encounter=encounter, data=SEVERE_PRIMARY, author=clinician
    )
    text = pdf_text(report_render(assessment=assessment))
    assert "<b>Ada</b>" in text


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils not installed")
def test_pdftotext_reads_the_same_document(pdf, tmp_path):
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "Severe primary MR" in text
    assert "decision support for the treating clinician, not a directive" in text


def test_it_draws_the_trend_charts(pdf):
    text = pdf_text(pdf)
    assert "Trends" in text
    assert "LVEF (%)" in text
    assert "0.4 cm² severe" in text
