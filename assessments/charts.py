"""Trend charts of LV and MR measurements across encounters, as inline SVG.

``trend_chart_svg`` is pure (numbers in, SVG text out) and draws the guideline threshold
as a dashed line, so the page and the PDF show the same picture. ``patient_trend_charts``
reads the patient's final stored assessments (amended and voided ones are left out; the
caller has already checked access) and returns one chart per parameter: LVEF, LVESD,
EROA and regurgitant volume. The thresholds come from the active version of the rule
set of the patient's latest assessment, for the patient's MR type in that assessment
(``guidelines.thresholds``): a secondary-MR patient sees no primary-MR stage line.

Sizes are chosen so that text is at least 11 px on screen at 100 % zoom down to a
390 px wide phone (the chart is at most ~340 px wide there: 14 user units × 340/400).

The SVG uses presentation attributes only (no CSS, no script), which browsers and
WeasyPrint render alike.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from html import escape

from django.db.models import F, QuerySet, TextField, Value
from django.db.models.fields.json import KT
from django.db.models.functions import NullIf

from guidelines.services import chart_thresholds_for, default_rule_set_code
from guidelines.vocabulary import value_label

from .models import Assessment

WIDTH, HEIGHT = 400, 230
LEFT, RIGHT, TOP, BOTTOM = 50, 12, 34, 44
FONT_SIZE, TITLE_SIZE = 14, 15
MIN_POINT_GAP = 22  # user units between two points, so same-day points stay apart
LINE_COLOR = "#1d4f91"
THRESHOLD_COLOR = "#b3261e"
GRID_COLOR = "#d0d4da"
TEXT_COLOR = "#1a1a1a"


@dataclass(frozen=True)
class TrendSpec:
    key: str  # contract parameter name, also the ``result["derived"]`` key
    column: str  # Assessment column
    title: str
    unit: str

    @property
    def path(self) -> str:
        return f"echo.{self.key}"


TRENDS: tuple[TrendSpec, ...] = (
    TrendSpec("lvef_pct", "echo_lvef_pct", "LVEF", "%"),
    TrendSpec("lvesd_mm", "echo_lvesd_mm", "LV end-systolic diameter", "mm"),
    TrendSpec("eroa_cm2", "echo_eroa_cm2", "EROA", "cm²"),
    TrendSpec(
        "regurgitant_volume_ml",
        "echo_regurgitant_volume_ml",
        "Regurgitant volume",
        "mL",
    ),
)


def _fmt(value: float) -> str:
    """A tick or point label: no trailing zeros, at most three decimals."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _nice_step(span: float) -> float:
    raw = span / 4 if span > 0 else 1
    magnitude = 10 ** _floor_log10(raw)
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def _floor_log10(value: float) -> int:
    return math.floor(math.log10(value))


def _as_date(when: dt.datetime | dt.date) -> dt.date:
    return when.date() if isinstance(when, dt.datetime) else when


def _x_positions(times: list[float], left: float, width: float) -> list[float]:
    """x of each point (times ascending): proportional to time, but at least
    ``MIN_POINT_GAP`` apart, so points of one day never sit on top of each other."""
    if len(times) == 1:
        return [left + width / 2]
    first, last = times[0], times[-1]
    span = last - first
    xs = [
        left + (width * (t - first) / span if span else width * i / (len(times) - 1))
        for i, t in enumerate(times)
    ]
    for i in range(1, len(xs)):
        xs[i] = max(xs[i], xs[i - 1] + MIN_POINT_GAP)
    overflow = xs[-1] - (left + width)
    if overflow > 0:  # squeeze back into the plot, keeping order and proportions
        factor = width / (xs[-1] - left)
        xs = [left + (x - left) * factor for x in xs]
    return xs


def trend_chart_svg(
    *,
    title: str,
    unit: str,
    points: list[tuple[dt.datetime | dt.date, float]],
    threshold: float | None,
    threshold_label: str,
) -> str:
    """An SVG line chart of ``points`` (time, value), oldest left, with the threshold
    drawn as a dashed line. Returns a standalone ``<svg>`` element (accessible name =
    title; a text description lists every point)."""
    points = sorted(((when, float(value)) for when, value in points), key=_sort_key)
    values = [v for _, v in points]
    unit_text = f" {unit}" if unit else ""
    when_texts = _when_texts(points)
    description = (
        "; ".join(
            f"{when}: {_fmt(v)}{unit_text}"
            for when, (_, v) in zip(when_texts, points, strict=True)
        )
        or "no measurements recorded"
    )
    if threshold is not None:
        description += f". Threshold {threshold_label}"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" class="trend-chart" '
        f'font-family="sans-serif" font-size="{FONT_SIZE}">',
        f"<title>{escape(title)} ({escape(unit)})</title>",
        f"<desc>{escape(description)}</desc>",
        f'<text x="{LEFT}" y="18" font-size="{TITLE_SIZE}" font-weight="bold" '
        f'fill="{TEXT_COLOR}">{escape(title)}{escape(unit_text and f" ({unit})")}</text>',
    ]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    scale_values = values + ([float(threshold)] if threshold is not None else [])
    if not scale_values:
        scale_values = [0.0, 1.0]
    low, high = min(scale_values), max(scale_values)
    # at least a quarter of the magnitude on screen, so close values are not blown up
    spread = max(high - low, 0.25 * max(abs(high), abs(low)), 1e-6)
    pad = (spread - (high - low)) / 2
    low, high = low - pad, high + pad
    step = _nice_step(high - low)
    bottom_is_zero = min(scale_values) >= 0
    low = math.floor(low / step) * step
    high = (math.floor(high / step) + 1) * step  # head room for the point labels
    if bottom_is_zero:
        low = max(low, 0.0)

    def y_of(value: float) -> float:
        return TOP + plot_h - (value - low) / (high - low) * plot_h

    tick = low
    while tick <= high + step / 1000:
        y = y_of(tick)
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + plot_w}" y2="{y:.1f}" '
            f'stroke="{GRID_COLOR}" stroke-width="1"/>'
            f'<text x="{LEFT - 6}" y="{y + 5:.1f}" text-anchor="end" '
            f'fill="{TEXT_COLOR}">{_fmt(tick)}</text>'
        )
        tick += step
    parts.append(
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}" '
        f'stroke="{TEXT_COLOR}" stroke-width="1"/>'
    )
    if threshold is not None:
        y = y_of(float(threshold))
        # the label sits above the line, or below it when the line is near the top
        label_y = y - 6 if y - 6 - FONT_SIZE > TOP - 8 else y + FONT_SIZE + 2
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + plot_w}" y2="{y:.1f}" '
            f'stroke="{THRESHOLD_COLOR}" stroke-width="1.5" stroke-dasharray="6 4" '
            f'class="threshold"/>'
            f'<text x="{LEFT + plot_w - 4}" y="{label_y:.1f}" text-anchor="end" '
            f'fill="{THRESHOLD_COLOR}" class="threshold-label">'
            f"{escape(threshold_label)}</text>"
        )
    if not points:
        # below the plot's middle, clear of a threshold label
        y = TOP + plot_h * 0.5
        if threshold is not None and abs(y_of(float(threshold)) - y) < 2 * FONT_SIZE:
            y = y_of(float(threshold)) + 2.5 * FONT_SIZE
            if y > TOP + plot_h - 4:
                y = y_of(float(threshold)) - 2 * FONT_SIZE
        parts.append(
            f'<text x="{LEFT + plot_w / 2:.1f}" y="{y:.1f}" '
            f'text-anchor="middle" fill="{TEXT_COLOR}">No measurements recorded</text>'
        )
        parts.append("</svg>")
        return "".join(parts)

    xs = _x_positions([_timestamp(w) for w, _ in points], LEFT + 14, plot_w - 28)
    coords = [(x, y_of(v)) for x, (_, v) in zip(xs, points, strict=True)]
    if len(coords) > 1:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        parts.append(
            f'<polyline points="{path}" fill="none" stroke="{LINE_COLOR}" '
            f'stroke-width="2"/>'
        )
    label_every = max(1, len(points) // 4)
    for index, ((x, y), (when, value)) in enumerate(zip(coords, points, strict=True)):
        label = f"{when_texts[index]}: {_fmt(value)}{unit_text}"
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{LINE_COLOR}" '
            f'class="point"><title>{escape(label)}</title></circle>'
            f'<text x="{x:.1f}" y="{y - 8:.1f}" text-anchor="middle" '
            f'fill="{TEXT_COLOR}">{_fmt(value)}</text>'
        )
        if index % label_every == 0 or index == len(points) - 1:
            parts.append(
                f'<text x="{x:.1f}" y="{TOP + plot_h + 18}" text-anchor="middle" '
                f'fill="{TEXT_COLOR}">{_as_date(when).isoformat()}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def _sort_key(point) -> tuple:
    when = point[0]
    return (_as_date(when), _timestamp(when))


def _timestamp(when: dt.datetime | dt.date) -> float:
    if isinstance(when, dt.datetime):
        return when.timestamp()
    return dt.datetime(when.year, when.month, when.day, tzinfo=dt.UTC).timestamp()


def _when_texts(points) -> list[str]:
    """Each point's date, with the time when another point falls on the same day."""
    days = [_as_date(when) for when, _ in points]
    per_day = Counter(days)
    return [
        f"{day.isoformat()} {when:%H:%M}"
        if per_day[day] > 1 and isinstance(when, dt.datetime)
        else day.isoformat()
        for (when, _), day in zip(points, days, strict=True)
    ]


def _number(value) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float | Decimal):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def trend_points(assessments, spec: TrendSpec) -> list[tuple[dt.datetime, float]]:
    """One point per encounter: the newest final assessment's measured value, else the
    value the engine derived (e.g. EROA from PISA) in that assessment's stored result
    (``with_result_summary``). Amended and voided assessments are left out (their
    correction, if any, counts)."""
    by_encounter: dict[int, tuple[dt.datetime, float]] = {}
    ordered = sorted(assessments, key=lambda a: (a.created_at, a.pk), reverse=True)
    for assessment in ordered:
        if assessment.encounter_id in by_encounter or not assessment.is_final:
            continue
        value = _number(getattr(assessment, spec.column))
        if value is None:
            value = _number((assessment.result_derived or {}).get(spec.key))
        if value is not None:
            by_encounter[assessment.encounter_id] = (
                assessment.encounter.occurred_at,
                value,
            )
    return sorted(by_encounter.values(), key=lambda p: p[0])


def _thresholds(assessments) -> tuple[dict, str]:
    """The thresholds for the patient's MR type (latest final assessment), from the
    active version of its rule set; and the MR type in words."""
    finals = [a for a in assessments if a.is_final and a.result_mr_type is not None]
    latest = max(
        finals,
        key=lambda a: (a.encounter.occurred_at, a.created_at, a.pk),
        default=None,
    )
    mr_type = latest.result_mr_type if latest else None
    guideline = (latest and latest.result_guideline) or {}
    code = guideline.get("code") or default_rule_set_code()
    thresholds = chart_thresholds_for(code, mr_type)
    if thresholds is None:  # the rule set has no published version
        return {}, ""
    return thresholds, value_label("mr_type", mr_type) if mr_type else ""


# What the patient page and the charts show of a stored result, taken out of its JSON
# by the database: a result is ~11 KB, and reading every one whole cost the patient page
# more than its queries did (issue 18). An engine result always has an MR type, so
# ``result_mr_type`` is None exactly when there is no result.
def _text(path: str) -> NullIf:
    """A text value of the stored result; None for a JSON null (which SQLite gives as
    the text "null")."""
    return NullIf(KT(path), Value("null", output_field=TextField()))


RESULT_SUMMARY = {
    "result_mr_type": _text("result__mr_type"),
    "result_severity": _text("result__severity"),
    "result_severity_subgrade": _text("result__severity_subgrade"),
    "result_stage": _text("result__stage"),
    "result_guideline": F("result__guideline"),  # {code, title, version, content_hash}
    "result_derived": F("result__derived"),  # the values the engine derived
}


def with_result_summary(assessments: QuerySet) -> QuerySet:
    """The assessments with ``RESULT_SUMMARY`` and without the stored result itself."""
    return assessments.defer("result").annotate(**RESULT_SUMMARY)


# The columns the charts read from an assessment (besides its encounter's time and
# ``RESULT_SUMMARY``).
CHART_FIELDS = (
    "id",
    "encounter",
    "created_at",
    "status",
    *(spec.column for spec in TRENDS),
)


def patient_trend_charts(patient, assessments=None) -> list[dict]:
    """The four trend charts of one patient: ``[{key, title, unit, threshold,
    threshold_label, points, svg}]`` (access is the caller's business).
    ``assessments``: all of the patient's assessments, with ``CHART_FIELDS``,
    ``with_result_summary`` and their encounter, when the caller holds them already
    (the patient page); else read here."""
    if assessments is None:
        assessments = list(
            with_result_summary(
                Assessment.objects.filter(encounter__patient=patient)
                .select_related("encounter")
                .only(*CHART_FIELDS, "encounter__occurred_at")
            )
        )
    thresholds, mr_type = _thresholds(assessments)
    charts = []
    for spec in TRENDS:
        points = trend_points(assessments, spec)
        line = thresholds.get(spec.path)
        threshold = float(line.value) if line else None
        label = line.label if line else ""
        short = line.short if line else ""
        charts.append(
            {
                "key": spec.key,
                "title": spec.title,
                "unit": spec.unit,
                "threshold": threshold,
                "threshold_label": label,
                "mr_type": mr_type,
                "points": points,
                "svg": trend_chart_svg(
                    title=spec.title,
                    unit=spec.unit,
                    points=points,
                    threshold=threshold,
                    threshold_label=short,
                ),
            }
        )
    return charts
