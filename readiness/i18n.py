"""Language helpers shared by the domain apps.

Messages people read (checklist reasons, service errors, labels) follow the active language.
What is recorded (history change reasons, ledger payloads, snapshots and their fingerprints) is
built inside ``english()`` so it reads the same whatever language the request that wrote it spoke.

A date in a sentence is written with ``shown_date`` (a moment with ``shown_moment``): one way per
language ("Dec. 14, 2026", "2026년 12월 14일"), the same on pages, notices and reports. Dates that are
data (ledger payloads, snapshots, fingerprints, keys, CSV and JSON output) stay ISO."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from functools import reduce

from django.utils import formats, timezone, translation
from django.utils.translation import gettext


def english():
    """A context in which labels and messages render in English: for text that is stored."""
    return translation.override("en")


def in_english(text) -> str:
    """A lazy label (a choice label such as ``Role(role).label``, a verbose name) as stored text.
    Give it the lazy label itself: ``get_FOO_display()`` has already spoken the active language."""
    with english():
        return str(text)


def shown_date(value: datetime.date | datetime.datetime | str) -> str:
    """A date as the active language writes it; a moment is shown as its local date. Also takes
    the ISO date a payload stores ("2026-12-14"); any other text is returned as it is."""
    if isinstance(value, str):
        try:
            value = datetime.date.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime.datetime):
        value = (timezone.localtime(value) if timezone.is_aware(value) else value).date()
    return formats.date_format(value, "DATE_FORMAT")


def shown_moment(value: datetime.datetime) -> str:
    """A moment in local time: its date as ``shown_date`` writes it, then the time on a 24-hour
    clock, which reads the same in every language ("Dec. 14, 2026 09:30")."""
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    return f"{shown_date(local)} {local:%H:%M}"


def join_or(items: Iterable) -> str:
    """'Legal or Security', in the active language."""
    return _join(items, "or")


def join_and(items: Iterable) -> str:
    """'1 PII asset and 2 confidential assets', in the active language."""
    return _join(items, "and")


def _join(items: Iterable, word: str) -> str:
    texts = [str(item) for item in items]
    if not texts:
        return ""
    pattern = gettext("%(left)s or %(right)s") if word == "or" else gettext("%(left)s and %(right)s")
    return reduce(lambda left, right: pattern % {"left": left, "right": right}, texts)
