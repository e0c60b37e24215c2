"""The evidence chart drawn for print: the web page's ``web.charts.evidence_chart`` marks its
legend with glyphs (■ ⊢ ┆) that the bundled print font lacks, so here the legend's marks are
drawn shapes and only words are text. Every label is escaped by ``format_html``."""

from __future__ import annotations

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

WIDTH, LEFT, RIGHT = 420, 10, 10


def evidence_svg(title: str, observed: float, upper: float, maximum: float, labels: dict[str, str]) -> SafeString:
    """The measured failure rate as a bar, its one-sided upper bound as a whisker and the agreed
    maximum as a dashed line; the bar is green when the bound is within the maximum."""
    scale_max = max(upper, maximum, observed) * 1.25 or 0.01
    span = WIDTH - LEFT - RIGHT

    def x(rate: float) -> float:
        return round(LEFT + span * rate / scale_max, 1)

    return for_print(
        format_html(
            '<svg class="chart evidence" role="img" viewBox="0 0 {w} 92" width="{w}" height="92" aria-label="{title}">'
            "<title>{title}</title>"
            '<rect x="{l}" y="8" width="{bar}" height="16" class="{cls}"></rect>'
            '<line x1="{ox}" y1="16" x2="{ux}" y2="16" class="whisker"></line>'
            '<line x1="{ux}" y1="10" x2="{ux}" y2="22" class="whisker"></line>'
            '<line x1="{mx}" y1="2" x2="{mx}" y2="30" class="maximum"></line>'
            '<rect x="{l}" y="40" width="12" height="9" class="{cls}"></rect>'
            '<text x="{tx}" y="49" class="chart-legend">{obs_label}</text>'
            '<line x1="{l}" y1="62" x2="{l12}" y2="62" class="whisker"></line>'
            '<line x1="{l12}" y1="57" x2="{l12}" y2="67" class="whisker"></line>'
            '<text x="{tx}" y="67" class="chart-legend">{up_label}</text>'
            '<line x1="{l6}" y1="76" x2="{l6}" y2="88" class="maximum"></line>'
            '<text x="{tx}" y="85" class="chart-legend">{max_label}</text>'
            "</svg>",
            w=WIDTH,
            title=title,
            l=LEFT,
            l6=LEFT + 6,
            l12=LEFT + 12,
            tx=LEFT + 18,
            bar=max(1, x(observed) - LEFT),
            cls="bar-ready" if upper <= maximum else "bar-blocked",
            ox=x(observed),
            ux=x(upper),
            mx=x(maximum),
            obs_label=labels["observed"],
            up_label=labels["upper"],
            max_label=labels["maximum"],
        )
    )


# WeasyPrint styles an inline SVG from the SVG's own <style>, not the page's stylesheet.
PRINT_STYLE = (
    "<style>"
    "text{font-family:'Preflight Report','Preflight Report Symbols';font-size:10px;fill:#1a1a1a}"
    ".bar-ready{fill:#2e8b57}.bar-blocked{fill:#c0392b}.bar-final{fill:#5b6b8c}"
    ".bar-none{fill:#b8bec8}.bar-waiting{fill:#d9a400}"
    ".whisker{stroke:#1a1a1a;stroke-width:1.5}"
    ".maximum{stroke:#b3261e;stroke-width:1.5;stroke-dasharray:3 2}"
    ".plot{fill:none;stroke:#c8ccd2}.series{fill:none;stroke:#1a1a1a;stroke-width:1.2}"
    ".dot-ok{fill:#2e8b57}.dot-miss{fill:#c0392b}"
    ".target{stroke:#0b5cad;stroke-width:1.5;stroke-dasharray:4 2}.alert{stroke:#b3261e;stroke-width:1.5;stroke-dasharray:1 2}"
    "</style>"
)


def for_print(svg: SafeString | None) -> SafeString | None:
    """``svg`` (a chart of ours, its labels already escaped) with the print colours inside it."""
    if svg is None:
        return None
    head, separator, rest = str(svg).partition(">")
    return mark_safe(f"{head}{separator}{PRINT_STYLE}{rest}")  # our own markup, escaped when built
