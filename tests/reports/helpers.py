"""Reading rendered reports back: the PDF's text page by page, and renders that keep what the
fetcher was asked for and what WeasyPrint logged."""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, field

import pypdf

from reports import rendering
from reports.models import Report
from reports.services import report_render


@dataclass
class Rendered:
    """A report rendered through ``report_render``, read back."""

    report: Report
    pages: list[str]
    requested: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    fonts: set[str] = field(default_factory=set)

    @property
    def text(self) -> str:
        return "\n".join(self.pages)

    @property
    def squeezed(self) -> str:
        """The text without any whitespace: a hash or a name broken across lines still matches."""
        return squeeze(self.text)


def squeeze(text: str) -> str:
    # Word joiners (which keep a Korean date on one line) leave no trace in the PDF's text.
    return "".join(str(text).replace("\u2060", "").split())


class RecordingFetcher(rendering.StaticOnlyFetcher):
    """The reports' own fetcher, remembered once made, so a test reads every URL WeasyPrint asked for."""

    made: list[RecordingFetcher] = []

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        RecordingFetcher.made.append(self)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def render(report: Report) -> Rendered:
    """Render ``report`` through the service, recording every fetch and WeasyPrint's warnings."""
    original = rendering.StaticOnlyFetcher
    RecordingFetcher.made = []
    handler = _Collect()
    logger = logging.getLogger("weasyprint")
    logger.addHandler(handler)
    rendering.StaticOnlyFetcher = RecordingFetcher
    try:
        report = report_render(str(report.pk))
    finally:
        rendering.StaticOnlyFetcher = original
        logger.removeHandler(handler)
    assert report.status == "ready", report.error
    reader = pypdf.PdfReader(io.BytesIO(bytes(report.pdf)))
    fonts = set()
    for page in reader.pages:
        for font in (page.get("/Resources") or {}).get("/Font", {}).values():
            fonts.add(str(font.get_object().get("/BaseFont")))
    return Rendered(
        report=report,
        pages=[page.extract_text() for page in reader.pages],
        requested=[url for fetcher in RecordingFetcher.made for url in fetcher.requested],
        warnings=handler.messages,
        fonts=fonts,
    )
