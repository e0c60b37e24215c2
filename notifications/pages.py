"""Where a notice points. A notice about an object links to the object's page
(``get_absolute_url()``); a few link to pages of the interface that are no object's own: where a
person reads their notices (a Slack post), where their waiting work is (the daily digest). The
domain does not know the interface's addresses: the interface installs them here when it starts
(``web.apps``), as ``readiness.recording`` has the ledger installed."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings

# A person's notices, and their waiting work (sign-offs, acknowledgements).
NOTICES = "notices"
INBOX = "inbox"

_pages: dict[str, Callable[[], str]] = {}


def install_page(name: str, path: Callable[[], str]) -> None:
    """Let ``page_path(name)`` answer ``path()``, the site-relative path of the page."""
    _pages[name] = path


def page_path(name: str) -> str:
    """The path of the interface's page ``name``; "" when no interface installed one (a notice
    without a link still says what happened)."""
    path = _pages.get(name)
    return path() if path is not None else ""


def absolute_url(path: str) -> str:
    """``path`` on the site people reach (``SITE_URL``), for links in mail and chat; "" for none."""
    return settings.SITE_URL.rstrip("/") + path if path else ""
