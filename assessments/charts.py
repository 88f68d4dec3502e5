"""Trend charts of LV and MR measurements across encounters, as inline SVG.

``trend_chart_svg`` is pure (numbers in, SVG text out) and draws the guideline threshold
as a dashed line, so the page and the PDF show the same picture. ``patient_trend_charts``
reads the patient's stored assessments (the caller has already checked access) and
returns one chart per parameter: LVEF, LVESD, EROA and regurgitant volume.

The SVG uses presentation attributes only (no CSS, no script), which browsers and
WeasyPrint render alike.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from decimal import Decimal
from html import escape

WIDTH, HEIGHT = 520, 220
LEFT, RIGHT, TOP, BOTTOM = 52, 16, 28, 40
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
    threshold: float
    threshold_label: str


TRENDS: tuple[TrendSpec, ...] = (
    TrendSpec("lvef_pct", "echo_lvef_pct", "LVEF", "%", 60, "60 % (LV dysfunction below)"),
    TrendSpec("lvesd_mm", "echo_lvesd_mm", "LV end-systolic diameter", "mm", 40,
              "40 mm (LV dilatation at or above)"),
    TrendSpec("eroa_cm2", "echo_eroa_cm2", "EROA", "cm²", 0.40,
              "0.40 cm² (severe primary MR at or above)"),
    TrendSpec("regurgitant_volume_ml", "echo_regurgitant_volume_ml",
              "Regurgitant volume", "mL", 60, "60 mL (severe primary MR at or above)"),
)  # fmt: skip


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
    points = sorted(
        ((when, float(value)) for when, value in points), key=lambda p: _as_date(p[0])
    )
    values = [v for _, v in points]
    unit_text = f" {unit}" if unit else ""
    description = (
        "; ".join(f"{_as_date(w).isoformat()}: {_fmt(v)}{unit_text}" for w, v in points)
        or "no measurements recorded"
    )
    if threshold is not None:
        description += f". Threshold {threshold_label}"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" class="trend-chart" '
        f'font-family="sans-serif" font-size="11">',
        f"<title>{escape(title)} ({escape(unit)})</title>",
        f"<desc>{escape(description)}</desc>",
        f'<text x="{LEFT}" y="16" font-size="13" font-weight="bold" '
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

    # grid and y ticks
    tick = low
    while tick <= high + step / 1000:
        y = y_of(tick)
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + plot_w}" y2="{y:.1f}" '
            f'stroke="{GRID_COLOR}" stroke-width="1"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" '
            f'fill="{TEXT_COLOR}">{_fmt(tick)}</text>'
        )
        tick += step
    parts.append(
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}" '
        f'stroke="{TEXT_COLOR}" stroke-width="1"/>'
    )
    if threshold is not None:
        y = y_of(float(threshold))
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + plot_w}" y2="{y:.1f}" '
            f'stroke="{THRESHOLD_COLOR}" stroke-width="1.5" stroke-dasharray="6 4" '
            f'class="threshold"/>'
            f'<text x="{LEFT + plot_w - 4}" y="{y - 5:.1f}" text-anchor="end" '
            f'fill="{THRESHOLD_COLOR}" class="threshold-label">'
            f"{escape(threshold_label)}</text>"
        )
    if not points:
        parts.append(
            f'<text x="{LEFT + plot_w / 2:.1f}" y="{TOP + plot_h / 2:.1f}" '
            f'text-anchor="middle" fill="{TEXT_COLOR}">No measurements recorded</text>'
        )
        parts.append("</svg>")
        return "".join(parts)

    days = [_as_date(w).toordinal() for w, _ in points]
    first, last = days[0], days[-1]

    def x_of(day: int) -> float:
        if last == first:
            return LEFT + plot_w / 2
        return LEFT + 12 + (day - first) / (last - first) * (plot_w - 24)

    coords = [(x_of(d), y_of(v)) for d, (_, v) in zip(days, points, strict=True)]
    if len(coords) > 1:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        parts.append(
            f'<polyline points="{path}" fill="none" stroke="{LINE_COLOR}" '
            f'stroke-width="2"/>'
        )
    label_every = max(1, len(points) // 6)
    for index, ((x, y), (when, value)) in enumerate(zip(coords, points, strict=True)):
        label = f"{_as_date(when).isoformat()}: {_fmt(value)}{unit_text}"
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{LINE_COLOR}" '
            f'class="point"><title>{escape(label)}</title></circle>'
            f'<text x="{x:.1f}" y="{y - 8:.1f}" text-anchor="middle" '
            f'fill="{TEXT_COLOR}">{_fmt(value)}</text>'
        )
        if index % label_every == 0 or index == len(points) - 1:
            parts.append(
                f'<text x="{x:.1f}" y="{TOP + plot_h + 16}" text-anchor="middle" '
                f'fill="{TEXT_COLOR}">{_as_date(when).isoformat()}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


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
    """One point per encounter: the newest assessment's measured value, else the value
    the engine derived (e.g. EROA from PISA) in that assessment's stored result."""
    by_encounter: dict[int, tuple[dt.datetime, float]] = {}
    ordered = sorted(assessments, key=lambda a: (a.created_at, a.pk), reverse=True)
    for assessment in ordered:
        if assessment.encounter_id in by_encounter:
            continue
        value = _number(getattr(assessment, spec.column))
        if value is None:
            derived = (assessment.result or {}).get("derived") or {}
            value = _number(derived.get(spec.key))
        if value is not None:
            by_encounter[assessment.encounter_id] = (
                assessment.encounter.occurred_at,
                value,
            )
    return sorted(by_encounter.values(), key=lambda p: p[0])


def patient_trend_charts(patient) -> list[dict]:
    """The four trend charts of one patient: ``[{key, title, unit, threshold,
    threshold_label, points, svg}]`` (access is the caller's business)."""
    from .models import Assessment

    assessments = list(
        Assessment.objects.filter(encounter__patient=patient).select_related(
            "encounter"
        )
    )
    charts = []
    for spec in TRENDS:
        points = trend_points(assessments, spec)
        charts.append(
            {
                "key": spec.key,
                "title": spec.title,
                "unit": spec.unit,
                "threshold": spec.threshold,
                "threshold_label": spec.threshold_label,
                "points": points,
                "svg": trend_chart_svg(
                    title=spec.title,
                    unit=spec.unit,
                    points=points,
                    threshold=spec.threshold,
                    threshold_label=spec.threshold_label,
                ),
            }
        )
    return charts
