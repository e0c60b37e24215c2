"""Template helpers of the PDF reports."""

from __future__ import annotations

import re

from django import template
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

register = template.Library()


def css_string(text: str) -> str:
    """``text`` as a quoted CSS string: quotes, backslashes, line breaks and ``<`` escaped, so it
    can neither end the string nor the ``<style>`` element it is written in."""
    escaped = re.sub(r'["\\<>\n\r]', lambda match: f"\\{ord(match.group()):X} ", text)
    return f'"{escaped}"'


@register.simple_tag
def page_counter() -> SafeString:
    """The CSS ``content`` of "page X of Y" in the active language, from the catalogue only (no
    user text reaches it), with WeasyPrint's page counters in place of the numbers."""
    words = _("Page %(page)s of %(pages)s")
    parts = []
    for piece in re.split(r"(%\(page\)s|%\(pages\)s)", words):
        if piece == "%(page)s":
            parts.append("counter(page)")
        elif piece == "%(pages)s":
            parts.append("counter(pages)")
        elif piece:
            parts.append(css_string(piece))
    return mark_safe(" ".join(parts))  # built from the catalogue and escaped for CSS above


@register.filter
def halves(items) -> list[list]:
    """``items`` in two runs, the first one longer when they are odd in number: the two columns of
    a list read down the first, then down the second."""
    items = list(items)
    middle = (len(items) + 1) // 2
    return [items[:middle], items[middle:]]
