"""The charts of ``presentation.charts`` in print colours."""

from __future__ import annotations

from django.utils.safestring import SafeString, mark_safe

# WeasyPrint styles an inline SVG from the SVG's own <style>, not the page's stylesheet.
PRINT_STYLE = (
    "<style>"
    "text{font-family:'Preflight Report Latin','Preflight Report','Preflight Report Symbols';font-size:10px;fill:#1a1a1a}"
    ".bar-ready{fill:#2e8b57}.bar-blocked{fill:#c0392b}.bar-final{fill:#5b6b8c}"
    ".bar-none{fill:#b8bec8}.bar-waiting{fill:#d9a400}.bar-objected{fill:#7048c0}"
    ".whisker{stroke:#1a1a1a;stroke-width:1.5}"
    ".maximum{stroke:#b3261e;stroke-width:1.5;stroke-dasharray:3 2}"
    ".plot{fill:none;stroke:#c8ccd2}.tick{stroke:#8a9099}.axis-label{font-size:8px;fill:#555}.series{fill:none;stroke:#1a1a1a;stroke-width:1.2}"
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
