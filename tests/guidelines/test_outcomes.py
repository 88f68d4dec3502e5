"""Changed outcomes in clinical words (the publication gate's wording), table-driven."""

from decimal import Decimal

import pytest

from guidelines.outcomes import outcome_differences, patient_words, value_text

SURGERY = {
    "code": "surgery_mv",
    "title": "Mitral valve surgery",
    "class": "1",
    "level": "B-NR",
}
BASE = {
    "severity": "severe",
    "severity_subgrade": None,
    "stage": "C2",
    "mr_type": "primary",
    "symptom_status": "asymptomatic",
    "recommendations": [SURGERY],
    "cautions": [],
}


@pytest.mark.parametrize(
    ("new", "expected"),
    [
        pytest.param({}, [], id="same outcome → nothing listed"),
        pytest.param({"stage": "C1"}, ["stage C2 → C1"], id="stage"),
        pytest.param(
            {"severity": "moderate", "severity_subgrade": "moderate_to_severe"},
            ["severity severe → moderate-to-severe"],
            id="severity with subgrade",
        ),
        pytest.param(
            {"mr_type": "secondary_ventricular"},
            ["MR type primary → secondary_ventricular"],
            id="MR type",
        ),
        pytest.param(
            {"recommendations": []},
            ["Mitral valve surgery (Class 1, Level B-NR) no longer recommended"],
            id="recommendation removed",
        ),
        pytest.param(
            {
                "recommendations": [
                    SURGERY,
                    {"code": "gdmt", "title": "GDMT", "class": None, "level": None},
                ]
            },
            ["now recommended: GDMT"],
            id="recommendation added, no class",
        ),
        pytest.param(
            {"recommendations": [{**SURGERY, "class": "2a"}]},
            ["Mitral valve surgery: Class 1 → 2a"],
            id="class changed",
        ),
        pytest.param(
            {
                "recommendations": [
                    {
                        **SURGERY,
                        "title": "Surgery may be considered",
                        "class": "2b",
                        "level": "C-LD",
                    }
                ]
            },
            [
                "Mitral valve surgery (Class 1, Level B-NR) → Surgery may be considered "
                "(Class 2b, Level C-LD)"
            ],
            id="another rule of the same code",
        ),
        pytest.param(
            {"recommendations": [], "conditional": [SURGERY]},
            [
                "Mitral valve surgery (Class 1, Level B-NR) no longer recommended",
                "now conditional (would apply if a missing value were recorded): "
                "Mitral valve surgery (Class 1, Level B-NR)",
            ],
            id="recommendation becomes conditional",
        ),
        pytest.param(
            {
                "cautions": [
                    {
                        "code": "vasodilator",
                        "title": "No vasodilator",
                        "class": "3: No Benefit",
                        "level": "B",
                    }
                ]
            },
            ["now cautioned against: No vasodilator (Class 3: No Benefit, Level B)"],
            id="caution added",
        ),
    ],
)
def test_each_changed_outcome_is_named(new, expected):
    assert outcome_differences(BASE, {**BASE, **new}) == expected


def test_a_case_reads_like_a_patient():
    assert patient_words(BASE) == "asymptomatic severe primary MR"
    assert value_text("echo.lvesd_mm", Decimal("40")) == "LVESD 40 mm"
    assert value_text("echo.eroa_cm2", Decimal("0.40")) == "EROA 0.4 cm²"
    assert value_text("echo.regurgitant_fraction_pct", Decimal(50)) == (
        "regurgitant fraction 50%"
    )
