"""Small SVG charts drawn by the server (no JavaScript, no external assets), one drawing for the
page and the PDF: every label escaped, legends drawn as shapes so that any font prints them. The
report adds its print colours inside a chart (``reports.charts.for_print``); the page styles it
from its stylesheet."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

ROW_HEIGHT, BAR_HEIGHT, LABEL_WIDTH, BAR_WIDTH = 26, 16, 110, 220


@dataclass(frozen=True)
class Series:
    label: str
    css_class: str


def stacked_bars(title: str, rows: list[tuple[str, list[int]]], series: list[Series]) -> SafeString:
    """Horizontal stacked bars, one row per (label, counts per series), with counts written out and
    a text legend; the title is the chart's accessible name."""
    largest = max((sum(counts) for _, counts in rows), default=0) or 1
    parts = []
    for index, (label, counts) in enumerate(rows):
        y = index * ROW_HEIGHT + 6
        parts.append(format_html('<text x="0" y="{}" class="chart-label">{}</text>', y + 13, label))
        x = LABEL_WIDTH
        for count, one in zip(counts, series, strict=True):
            if not count:
                continue
            width = max(2, round(BAR_WIDTH * count / largest))
            parts.append(
                format_html(
                    '<rect x="{}" y="{}" width="{}" height="{}" class="{}"><title>{}: {}</title></rect>',
                    x,
                    y,
                    width,
                    BAR_HEIGHT,
                    one.css_class,
                    one.label,
                    count,
                )
            )
            x += width
        parts.append(format_html('<text x="{}" y="{}" class="chart-count">{}</text>', x + 6, y + 13, sum(counts)))
    width = LABEL_WIDTH + BAR_WIDTH + 50
    legend_y = len(rows) * ROW_HEIGHT + 22
    legend = []
    x = 0
    for one in series:
        item_width = 16 + 7 * len(str(one.label)) + 14
        if x and x + item_width > width:  # wrap the legend onto another line
            x, legend_y = 0, legend_y + 18
        legend.append(
            format_html(
                '<rect x="{}" y="{}" width="12" height="12" class="{}"></rect>'
                '<text x="{}" y="{}" class="chart-legend">{}</text>',
                x,
                legend_y - 10,
                one.css_class,
                x + 16,
                legend_y,
                one.label,
            )
        )
        x += item_width
    height = legend_y + 8
    return format_html(
        '<svg class="chart" role="img" viewBox="0 0 {} {}" width="100%" aria-labelledby="{}">'
        '<title id="{}">{}</title>{}{}</svg>',
        LABEL_WIDTH + BAR_WIDTH + 50,
        height,
        _slug(title),
        _slug(title),
        title,
        format_html_join("", "{}", ((p,) for p in parts)),
        format_html_join("", "{}", ((p,) for p in legend)),
    )


def _slug(text: str) -> str:
    return "chart-" + "".join(c if c.isalnum() else "-" for c in str(text).lower())[:40]


def evidence_chart(title: str, observed: float, upper: float, maximum: float, labels: dict[str, str]) -> SafeString:
    """One quality bar's evidence: the measured failure rate as a bar, its one-sided upper bound as
    a whisker, the agreed maximum as a dashed vertical line; the bar is green when the bound is
    within the maximum. ``labels`` name the ``observed``, ``upper`` and ``maximum`` values. The
    legend's marks are drawn shapes, not glyphs, so the chart prints with any font."""
    width, left, right = 420, 10, 10
    scale_max = max(upper, maximum, observed) * 1.25 or 0.01
    span = width - left - right

    def x(rate: float) -> float:
        return round(left + span * rate / scale_max, 1)

    return format_html(
        '<svg class="chart evidence" role="img" viewBox="0 0 {w} 92" width="100%" aria-label="{title}">'
        "<title>{title}</title>"
        '<rect x="{l}" y="8" width="{bar}" height="16" class="{cls}"><title>{obs_label}</title></rect>'
        '<line x1="{ox}" y1="16" x2="{ux}" y2="16" class="whisker"></line>'
        '<line x1="{ux}" y1="10" x2="{ux}" y2="22" class="whisker"><title>{up_label}</title></line>'
        '<line x1="{mx}" y1="2" x2="{mx}" y2="30" class="maximum"><title>{max_label}</title></line>'
        '<rect x="{l}" y="40" width="12" height="9" class="{cls}"></rect>'
        '<text x="{tx}" y="49" class="chart-legend">{obs_label}</text>'
        '<line x1="{l}" y1="62" x2="{l12}" y2="62" class="whisker"></line>'
        '<line x1="{l12}" y1="57" x2="{l12}" y2="67" class="whisker"></line>'
        '<text x="{tx}" y="67" class="chart-legend">{up_label}</text>'
        '<line x1="{l6}" y1="76" x2="{l6}" y2="88" class="maximum"></line>'
        '<text x="{tx}" y="85" class="chart-legend maximum-label">{max_label}</text>'
        "</svg>",
        w=width,
        title=title,
        l=left,
        l6=left + 6,
        l12=left + 12,
        tx=left + 18,
        bar=max(1, x(observed) - left),
        cls="bar-ready" if upper <= maximum else "bar-blocked",
        ox=x(observed),
        ux=x(upper),
        mx=x(maximum),
        obs_label=labels["observed"],
        up_label=labels["upper"],
        max_label=labels["maximum"],
    )


def axis_ticks(low: float, high: float, most: int = 6) -> list[float]:
    """Round values between ``low`` and ``high`` for an axis, at most ``most`` of them: steps of
    1, 2, 2.5 or 5 times a power of ten (98.6 to 100.2 gives 99, 99.5, 100)."""
    if high <= low:
        return [low]
    raw = (high - low) / (most - 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.ceil(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    return ticks


def slo_series_chart(
    title: str,
    points: list[tuple[int, float, bool]],
    days: int,
    lines: list[tuple[float, str, str]],
    labels: dict[str, str],
    tick_label: Callable[[float], str] = lambda value: f"{value:g}",
) -> SafeString:
    """An SLI's daily values over the last ``days`` days: ``points`` are (day index from the
    chart's first day, value, meets the target), joined by a line, each day a dot (red where the
    target is missed); ``lines`` are horizontal (value, css class, label) lines, the target and
    the alert; ``labels`` names the values and, optionally, the ``first`` and ``last`` days. A y
    axis on the left carries round values written by ``tick_label`` (with the unit), so a dot
    reads as a number. Legend marks are drawn shapes, so the chart prints with any font."""
    width, height, left, right, top, plot_h = 420, 150, 62, 8, 8, 90
    values = [value for _, value, _ in points] + [value for value, _, _ in lines]
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    pad = (high - low) * 0.15 or abs(high) * 0.05 or 1.0
    low, high = low - pad, high + pad
    span_x = width - left - right

    def x(index: int) -> float:
        return round(left + span_x * index / max(1, days - 1), 1)

    def y(value: float) -> float:
        return round(top + plot_h * (high - value) / (high - low), 1)

    parts = [format_html('<rect x="{}" y="{}" width="{}" height="{}" class="plot"></rect>', left, top, span_x, plot_h)]
    for tick in axis_ticks(low, high):
        parts.append(
            format_html(
                '<line x1="{}" y1="{}" x2="{}" y2="{}" class="tick"></line>'
                '<text x="{}" y="{}" class="chart-legend axis-label" text-anchor="end">{}</text>',
                left - 3,
                y(tick),
                left,
                y(tick),
                left - 5,
                y(tick) + 3.5,
                tick_label(tick),
            )
        )
    for value, css_class, label in lines:
        parts.append(
            format_html(
                '<line x1="{}" y1="{}" x2="{}" y2="{}" class="{}"><title>{}</title></line>',
                left,
                y(value),
                left + span_x,
                y(value),
                css_class,
                label,
            )
        )
    if len(points) > 1:
        parts.append(
            format_html(
                '<polyline points="{}" class="series"></polyline>',
                " ".join(f"{x(index)},{y(value)}" for index, value, _ in points),
            )
        )
    for index, value, ok in points:
        parts.append(
            format_html(
                '<circle cx="{}" cy="{}" r="2.5" class="{}"></circle>',
                x(index),
                y(value),
                "dot-ok" if ok else "dot-miss",
            )
        )
    if labels.get("first") and labels.get("last"):  # the days the x axis spans
        parts.append(
            format_html('<text x="{}" y="{}" class="chart-legend">{}</text>', left, top + plot_h + 12, labels["first"])
        )
        parts.append(
            format_html(
                '<text x="{}" y="{}" class="chart-legend" text-anchor="end">{}</text>',
                left + span_x,
                top + plot_h + 12,
                labels["last"],
            )
        )
    legend_y = top + plot_h + 30
    edge = 8  # the legend starts at the chart's edge, under the axis labels
    legend = [
        format_html(
            '<circle cx="{}" cy="{}" r="3" class="dot-ok"></circle><text x="{}" y="{}" class="chart-legend">{}</text>',
            edge + 5,
            legend_y - 4,
            edge + 14,
            legend_y,
            labels["values"],
        )
    ]
    for row, (_, css_class, label) in enumerate(lines, start=1):
        line_y = legend_y + 16 * row
        legend.append(
            format_html(
                '<line x1="{}" y1="{}" x2="{}" y2="{}" class="{}"></line>'
                '<text x="{}" y="{}" class="chart-legend">{}</text>',
                edge,
                line_y - 4,
                edge + 10,
                line_y - 4,
                css_class,
                edge + 14,
                line_y,
                label,
            )
        )
    total_height = max(height, legend_y + 16 * len(lines) + 6)
    return format_html(
        '<svg class="chart slo-chart" role="img" viewBox="0 0 {} {}" width="100%" aria-label="{}">'
        "<title>{}</title>{}{}</svg>",
        width,
        total_height,
        title,
        title,
        format_html_join("", "{}", ((p,) for p in parts)),
        format_html_join("", "{}", ((p,) for p in legend)),
    )
