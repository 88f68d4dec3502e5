"""Recommendations without a formal class, and cautions, read correctly in the PDF."""

import io

from pypdf import PdfReader

from assessments.reports import report_render
from assessments.services import assessment_create

INPUT = {
    "etiology": "degenerative_prolapse",
    "symptoms": {"nyha_class": 1},
    "echo": {
        "eroa_cm2": 0.5,
        "regurgitant_volume_ml": 70,
        "regurgitant_fraction_pct": 55,
        "lvef_pct": 65,
        "lvesd_mm": 35,
        "lvedd_mm": 55,
    },
    "management": {"posterior_leaflet_limited_lesion": True},
}


def test_classless_recommendations_and_cautions_are_labelled(encounter, clinician):
    assessment = assessment_create(encounter=encounter, data=INPUT, author=clinician)
    text = "".join(
        page.extract_text()
        for page in PdfReader(io.BytesIO(report_render(assessment=assessment))).pages
    )
    assert "Class None" not in text
    assert "No formal class" in text  # the C1 surveillance interval has no COR
    assert (
        "Class 3: Harm" in text
    )  # P8: do not replace a limited posterior-leaflet lesion
