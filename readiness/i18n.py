"""Language helpers shared by the domain apps.

Messages people read (checklist reasons, service errors, labels) follow the active language.
What is recorded (history change reasons, ledger payloads, snapshots and their fingerprints) is
built inside ``english()`` so it reads the same whatever language the request that wrote it spoke."""

from __future__ import annotations

from collections.abc import Iterable
from functools import reduce

from django.utils import translation
from django.utils.translation import gettext


def english():
    """A context in which labels and messages render in English: for text that is stored."""
    return translation.override("en")


def in_english(text) -> str:
    """A lazy label (a choice label such as ``Role(role).label``, a verbose name) as stored text.
    Give it the lazy label itself: ``get_FOO_display()`` has already spoken the active language."""
    with english():
        return str(text)


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
