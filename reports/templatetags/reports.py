"""Template helpers of the PDF reports."""

from __future__ import annotations

import re

from django import template
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from readiness.i18n import shown_date

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


NO_BREAK = "\u00a0"
WORD_JOINER = "\u2060"
DIGIT_THEN_UNIT = re.compile(r"(?<=\d)(?=[^\d\s\u00a0,./-])")

# One way to write a date, and one a moment, per language: every date a report prints goes through
# these two filters (the checklist's sentences write theirs with ``readiness.i18n.shown_date``), so
# a page never mixes "Dec. 7, 2026", "12/07/2026" and "2026-12-07".


@register.filter
def day(value) -> str:
    """A date (or the local date of a moment) as the report's language writes dates."""
    if value in (None, ""):
        return ""
    # A date never splits across lines: no-break spaces ("Dec." at the end of one line, "7, 2026" on
    # the next), and a word joiner between a number and the Korean unit after it ("7" and "일").
    return DIGIT_THEN_UNIT.sub(WORD_JOINER, shown_date(value).replace(" ", NO_BREAK))


@register.filter
def moment(value) -> str:
    """A moment in local time: its date as ``day`` writes it, then the time on a 24-hour clock,
    which reads the same in every language ("Nov. 28, 2026 08:00", "2026년 11월 28일 08:00")."""
    if value in (None, ""):
        return ""
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    return f"{day(local)} {local:%H:%M}"
