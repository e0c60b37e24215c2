"""What incidents tell people, in words (``notifications.events``), registered when the app starts:
the page to everyone an incident's severity level names, when it is reported and when its
severity changes. Lines after the first quote the incident's title (user text)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from notifications.events import register
from readiness.models import minutes_label

from .choices import IncidentEvent


def _words(payload: dict) -> dict:
    return {**payload, "response": minutes_label(payload.get("response_minutes"))}


def _subject(payload: dict) -> str:
    return _("[Preflight] %(launch)s: %(severity)s incident") % payload


@register(IncidentEvent.REPORTED, subject=_subject)
def _reported(payload: dict) -> list[str]:
    return [
        _(
            "%(person)s reported a %(severity)s incident on %(launch)s. The severity policy pages you; "
            "response time: %(response)s."
        )
        % _words(payload)
    ]


@register(IncidentEvent.SEVERITY_CHANGED, subject=_subject)
def _severity_changed(payload: dict) -> list[str]:
    return [
        _(
            "%(person)s changed the severity of an incident on %(launch)s from %(from)s to %(severity)s. "
            "The severity policy pages you; response time: %(response)s."
        )
        % _words(payload)
    ]
