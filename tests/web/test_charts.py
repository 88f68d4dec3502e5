"""Trend charts: pure SVG drawing, and one point per encounter from stored assessments."""

import datetime as dt
import re

from assessments.charts import patient_trend_charts, trend_chart_svg
from assessments.services import assessment_create
from tests.factories import EncounterFactory


def _y_of_threshold(svg):
    match = re.search(r'<line x1="[\d.]+" y1="([\d.]+)"[^>]*class="threshold"', svg)
    return float(match.group(1))


def _point_ys(svg):
    return [float(y) for y in re.findall(r'<circle cx="[\d.]+" cy="([\d.]+)"', svg)]


def test_it_draws_points_and_the_threshold_on_one_scale():
    svg = trend_chart_svg(
        title="EROA",
        unit="cm²",
        points=[(dt.date(2025, 1, 1), 0.30), (dt.date(2024, 1, 1), 0.50)],
        threshold=0.40,
        threshold_label="0.40 cm²",
    )
    assert svg.startswith("<svg")
    assert svg.endswith("</svg>")
    assert "<title>EROA (cm²)</title>" in svg
    # sorted oldest first in the description; 0.50 is above the line, 0.30 below
    assert "2024-01-01: 0.5 cm²; 2025-01-01: 0.3 cm²" in svg
    older, newer = _point_ys(svg)
    threshold_y = _y_of_threshold(svg)
    assert older < threshold_y < newer  # SVG y grows downwards
    assert "0.40 cm²" in svg


def test_it_escapes_text_and_handles_no_points():
    svg = trend_chart_svg(
        title="<LVEF>", unit="%", points=[], threshold=None, threshold_label=""
    )
    assert "&lt;LVEF&gt;" in svg
    assert "<LVEF>" not in svg
    assert "No measurements recorded" in svg
    assert 'class="threshold"' not in svg


def test_a_single_point_is_centred_and_threshold_kept_in_range():
    svg = trend_chart_svg(
        title="LVESD",
        unit="mm",
        points=[(dt.datetime(2025, 3, 1, tzinfo=dt.UTC), 35)],
        threshold=40,
        threshold_label="40 mm",
    )
    (y,) = _point_ys(svg)
    assert 28 <= _y_of_threshold(svg) < y <= 220 - 40


def test_patient_charts_take_one_point_per_encounter_measured_or_derived(
    patient, clinician
):
    early = EncounterFactory(
        patient=patient, occurred_at=dt.datetime(2024, 2, 1, tzinfo=dt.UTC)
    )
    late = EncounterFactory(
        patient=patient, occurred_at=dt.datetime(2025, 2, 1, tzinfo=dt.UTC)
    )
    assessment_create(
        encounter=early,
        data={"echo": {"lvef_pct": 64, "eroa_cm2": 0.3, "lvesd_mm": 36}},
        author=clinician,
    )
    # EROA not measured here: PISA inputs let the engine derive it
    assessment_create(
        encounter=late,
        data={
            "etiology": "degenerative_prolapse",
            "echo": {
                "lvef_pct": 58,
                "pisa_radius_cm": 1.0,
                "aliasing_velocity_cm_s": 40,
                "mr_peak_velocity_cm_s": 500,
                "mr_vti_cm": 150,
            },
        },
        author=clinician,
    )
    charts = {c["key"]: c for c in patient_trend_charts(patient)}
    assert list(charts) == ["lvef_pct", "lvesd_mm", "eroa_cm2", "regurgitant_volume_ml"]
    assert [v for _, v in charts["lvef_pct"]["points"]] == [64.0, 58.0]
    assert [v for _, v in charts["lvesd_mm"]["points"]] == [36.0]
    eroa = [v for _, v in charts["eroa_cm2"]["points"]]
    assert eroa[0] == 0.3
    assert eroa[1] > 0.4
    assert charts["lvef_pct"]["threshold"] == 60
    assert charts["regurgitant_volume_ml"]["threshold"] == 60
    assert "<svg" in charts["eroa_cm2"]["svg"]


def _circle_xs(svg):
    return [float(x) for x in re.findall(r'<circle cx="([\d.]+)"', svg)]


def test_points_of_the_same_day_are_drawn_apart():
    day = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)
    svg = trend_chart_svg(
        title="LVEF",
        unit="%",
        points=[
            (day, 60),
            (day + dt.timedelta(hours=2), 55),
            (dt.datetime(2025, 9, 1, tzinfo=dt.UTC), 50),
        ],
        threshold=None,
        threshold_label="",
    )
    first, second, third = _circle_xs(svg)
    assert second - first >= 20  # MIN_POINT_GAP user units apart
    assert first < second < third
    assert "2025-03-01 09:00: 60 %" in svg  # the time tells same-day points apart


def test_chart_text_is_at_least_11_px_on_a_phone():
    from assessments import charts

    svg = trend_chart_svg(
        title="LVEF", unit="%", points=[], threshold=None, threshold_label=""
    )
    sizes = [int(s) for s in re.findall(r'font-size="(\d+)"', svg)]
    # a 390 px phone leaves about 340 px for the chart (page and card padding)
    assert min(sizes) * 340 / charts.WIDTH >= 11


def test_secondary_mr_gets_no_primary_mr_stage_lines(patient, clinician):
    encounter = EncounterFactory(patient=patient)
    assessment_create(
        encounter=encounter,
        data={
            "etiology": "secondary_ischemic",
            "echo": {"lvef_pct": 35, "lvesd_mm": 55, "lvedd_mm": 65, "eroa_cm2": 0.3},
        },
        author=clinician,
    )
    charts = {c["key"]: c for c in patient_trend_charts(patient)}
    assert charts["lvef_pct"]["threshold"] is None
    assert charts["lvesd_mm"]["threshold"] is None
    assert 'class="threshold"' not in charts["lvef_pct"]["svg"]
    # the severe cut-off of the quantitative parameters applies to both MR types
    assert charts["eroa_cm2"]["threshold"] == 0.4
    assert "primary" not in charts["eroa_cm2"]["threshold_label"]


def test_amended_and_voided_assessments_leave_the_trends(patient, clinician):
    from assessments.services import assessment_amend, assessment_void

    first = EncounterFactory(
        patient=patient, occurred_at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    )
    second = EncounterFactory(
        patient=patient, occurred_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    )
    old = assessment_create(
        encounter=first, data={"echo": {"lvef_pct": 40}}, author=clinician
    )
    assessment_amend(
        assessment=old,
        data={"echo": {"lvef_pct": 62}},
        reason="typo",
        author=clinician,
        channel="page",
    )
    wrong = assessment_create(
        encounter=second, data={"echo": {"lvef_pct": 30}}, author=clinician
    )
    assessment_void(
        assessment=wrong, reason="wrong patient", author=clinician, channel="page"
    )
    charts = {c["key"]: c for c in patient_trend_charts(patient)}
    assert [v for _, v in charts["lvef_pct"]["points"]] == [62.0]
