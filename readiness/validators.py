"""What people may type and which dates they may record, shared by every app's models and services.

Text limits (characters, after surrounding whitespace is stripped by the services):

- ``COMMENT_MAX_LENGTH`` (4 000): comments, reasons, justifications, messages, definitions and
  descriptions — a few paragraphs.
- ``LONG_TEXT_MAX_LENGTH`` (20 000): procedures and runbook text, which may run to pages.
- Names keep the ``max_length`` of their field and must be a single line (``single_line``): they end
  up in mail subjects, file names and report headings, where a line break forges a header.

No text anywhere may contain a NUL character: PostgreSQL refuses it, and SQLite would store it.

Dates of facts (evaluation runs, agreements, audits, rehearsals, reviews, decisions) may not lie in
the future, with ``settings.FUTURE_TOLERANCE`` of clock skew for moments and
``settings.FUTURE_TOLERANCE_DAYS`` for dates (time zones)."""

from __future__ import annotations

import datetime
import unicodedata

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, ProhibitNullCharactersValidator
from django.utils import timezone
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _

from .i18n import shown_date, shown_moment

COMMENT_MAX_LENGTH = 4000
LONG_TEXT_MAX_LENGTH = 20000

no_null_characters = ProhibitNullCharactersValidator()

# Characters that reorder how text is displayed, used to disguise file names ("invoice‮fdp.exe").
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


@deconstructible
class SingleLineValidator:
    """Refuses line breaks (CR, LF, U+2028, U+2029), tabs, other control characters and bidi
    overrides. NUL is left to ``no_null_characters``, which always accompanies it (``NAME_VALIDATORS``),
    so a NUL is reported once."""

    code = "single_line"

    def __call__(self, value) -> None:
        for char in str(value):
            if char == "\x00":
                continue
            if unicodedata.category(char) in ("Cc", "Zl", "Zp") or char in _BIDI_CONTROLS:
                raise ValidationError(
                    _(
                        "Enter a single line: line breaks, tabs and other control characters are not allowed "
                        "(found U+%(codepoint)04X)."
                    ),
                    code=self.code,
                    params={"codepoint": ord(char), "value": value},
                )

    def __eq__(self, other) -> bool:
        return isinstance(other, SingleLineValidator)


single_line = SingleLineValidator()

# For names: launch, stage, team, area, data asset, golden set, titles.
NAME_VALIDATORS = [no_null_characters, single_line]


def text_validators(max_length: int = COMMENT_MAX_LENGTH) -> list:
    """For free text: no NUL and at most ``max_length`` characters (TextField's own max_length only
    sizes the form widget; it is not validated)."""
    return [no_null_characters, MaxLengthValidator(max_length)]


def is_future(value: datetime.date | datetime.datetime, *, now: datetime.datetime | None = None) -> bool:
    """Whether ``value`` lies after ``now`` (default: the current time) by more than the allowed
    clock skew: ``FUTURE_TOLERANCE`` for moments, ``FUTURE_TOLERANCE_DAYS`` for dates."""
    now = now or timezone.now()
    if isinstance(value, datetime.datetime):
        return value > now + settings.FUTURE_TOLERANCE
    return value > timezone.localdate(now) + datetime.timedelta(days=settings.FUTURE_TOLERANCE_DAYS)


def not_in_future(value: datetime.date | datetime.datetime | None) -> None:
    """Field validator: a fact cannot be dated after now (small clock skew allowed)."""
    if value is not None and is_future(value):
        shown = shown_moment(value) if isinstance(value, datetime.datetime) else shown_date(value)
        raise ValidationError(
            _("%(shown)s is in the future; record only what has already happened."),
            code="future",
            params={"shown": shown, "value": value},
        )


def clean_text(value, *, field: str, required: bool | str = False, max_length: int = COMMENT_MAX_LENGTH) -> str:
    """A text argument (comment, reason, justification, message) stripped, or a ValidationError
    naming ``field``: not text, a NUL character, over ``max_length`` characters, or empty when
    ``required`` (which may be the message to give). None counts as no text."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationError({field: _("Expected text, got %(type)s.") % {"type": type(value).__name__}})
    if "\x00" in value:
        raise ValidationError({field: _("The text contains a NUL character, which is not allowed.")})
    value = value.strip()
    if len(value) > max_length:
        raise ValidationError(
            {
                field: _("At most %(limit)s characters are allowed; this text has %(length)s.")
                % {"limit": max_length, "length": len(value)}
            }
        )
    if required and not value:
        raise ValidationError(
            {field: required if isinstance(required, str) else _("A %(field)s is required.") % {"field": field}}
        )
    return value
