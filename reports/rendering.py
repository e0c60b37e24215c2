"""Rendering a report's HTML to PDF with WeasyPrint, fetching nothing but the project's own static
files: user text is escaped by the templates, and whatever URL still reaches WeasyPrint (an
``<img>``, a ``<link>``, a CSS ``url()``) is refused unless it names a static file of ours."""

from __future__ import annotations

import mimetypes
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

# The base URL documents are rendered against: `{% static %}` paths resolve under it, and it is
# not a place anything could be fetched from.
BASE_URL = "https://preflight.invalid/"


class StaticOnlyFetcher(URLFetcher):
    """Serves ``{BASE_URL}{STATIC_URL}…`` from the static files finders (or the collected, hashed
    copies in STATIC_ROOT); refuses every other URL
    (http, https elsewhere, file, data, ftp…). ``requested`` records every URL asked for, for tests
    and for the log."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.requested: list[str] = []

    def fetch(self, url, headers=None):
        self.requested.append(url)
        path = static_path(url)
        if path is None:
            raise ValueError(f"Refused to fetch {url!r}: reports load only the project's own static files.")
        mime_type, _encoding = mimetypes.guess_type(path.name)
        return URLFetcherResponse(
            url, body=path.read_bytes(), headers={"Content-Type": mime_type or "application/octet-stream"}
        )


def static_path(url: str) -> Path | None:
    """The file of the project's static files that ``url`` names, or None."""
    prefix = urlsplit(BASE_URL)
    parts = urlsplit(url)
    static_prefix = "/" + settings.STATIC_URL.strip("/") + "/"
    if (parts.scheme, parts.netloc) != (prefix.scheme, prefix.netloc) or not parts.path.startswith(static_prefix):
        return None
    relative = unquote(parts.path.removeprefix(static_prefix))
    if not relative or ".." in Path(relative).parts or Path(relative).is_absolute():
        return None
    found = finders.find(relative)
    if found:
        return Path(found)
    # With DEBUG off, `{% static %}` names the hashed copies `collectstatic` made in STATIC_ROOT.
    if not settings.STATIC_ROOT:
        return None
    root = Path(settings.STATIC_ROOT).resolve()
    collected = (root / relative).resolve()
    return collected if collected.is_relative_to(root) and collected.is_file() else None


def html_to_pdf(html: str, *, fetcher: URLFetcher | None = None) -> bytes:
    """The PDF of ``html``, its resources fetched only through ``fetcher`` (a fresh
    ``StaticOnlyFetcher`` by default)."""
    return HTML(string=html, base_url=BASE_URL, url_fetcher=fetcher or StaticOnlyFetcher()).write_pdf()
