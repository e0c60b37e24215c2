"""What the sign-off workflow tells people, and in which words (``notifications.events``; the
scheduled sweeps' events are worded in ``approvals.reminders.wording``), and whom it tells.

Registered when the app starts (``ApprovalsConfig.ready``). Each function reads a notice's stored
payload in the language active when called; lines after the first quote what people wrote."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from notifications.events import choice_label, register
from raci.choices import Role, TeamFunction
from readiness.checklist import registry
from readiness.choices import SloIndicator
from readiness.i18n import shown_date

from .choices import DecisionOutcome, NotificationEvent, WaiverStatus
from .snapshot import change_line


def check_title(key: str) -> str:
    """A checklist item's title in the active language (its key, when no item has it any more)."""
    return str(registry.get(key).title) if key in registry else key


def names(payload: dict) -> dict:
    """The payload with its codes as words: the function, the checklist item, and its ISO dates
    (``due``, ``date``, ``approved``) as the active language writes dates."""
    return {
        **payload,
        **{key: shown_date(payload[key]) for key in ("due", "date", "approved") if payload.get(key)},
        "function": choice_label(TeamFunction, payload.get("function", "")),
        "check": check_title(payload.get("check", "")),
    }


# Whom the workflow tells --------------------------------------------------------------------------


def people_on_launch(launch) -> list:
    """Everyone on ``launch``: its owner, its RACI people and the holders of its slots."""
    return list(
        get_user_model()
        .objects.filter(
            Q(pk=launch.owner_id)
            | Q(stakeholder__assignments__area__launch=launch)
            | Q(stakeholder__launch_slots__launch=launch)
        )
        .distinct()
        .order_by("pk")
    )


def owner_and_accountables(launch) -> list:
    """The launch's owner and its Accountables, in one query."""
    return list(
        get_user_model()
        .objects.filter(
            Q(pk=launch.owner_id)
            | Q(stakeholder__assignments__area__launch=launch, stakeholder__assignments__role=Role.ACCOUNTABLE)
        )
        .distinct()
        .order_by("pk")
    )


# In words -----------------------------------------------------------------------------------------


def _request_still_open(message) -> str:
    """A request withdrawn or superseded before its message left the outbox is not asked any more."""
    request = message.subject
    if request is not None and not request.is_open:
        return f"Not sent: the request was {request.get_status_display().lower()} before delivery."
    return ""


def _requested_subject(payload: dict) -> str:
    return _("[Preflight] %(launch)s: %(function)s sign-off for %(stage)s") % names(payload)


@register(NotificationEvent.SIGNOFF_REQUESTED, subject=_requested_subject, worth_sending=_request_still_open)
def _requested(payload: dict) -> list[str]:
    if payload.get("due"):
        return [_("%(person)s asks for your sign-off by %(due)s to move %(launch)s to %(stage)s.") % names(payload)]
    return [_("%(person)s asks for your sign-off to move %(launch)s to %(stage)s.") % names(payload)]


@register(NotificationEvent.SIGNOFF_DECIDED, asks=False)
def _decided(payload: dict) -> list[str]:
    words = {**names(payload), "outcome": choice_label(DecisionOutcome, payload.get("outcome", ""))}
    return [_("%(person)s decided the %(function)s sign-off for %(stage)s: %(outcome)s.") % words]


@register(NotificationEvent.SIGNOFF_DELEGATED)
def _delegated(payload: dict) -> list[str]:
    return [_("%(person)s delegated the %(function)s sign-off for %(stage)s to you.") % names(payload)]


def _withdrawn_blind(payload: dict) -> list[str]:
    """Withdrawing the request is what takes an outside addressee's view away: they learn that
    nothing is asked of them any more, without the launch or the reason."""
    return [
        _("%(person)s withdrew a request for your %(function)s sign-off; nothing is asked of you any more.")
        % names(payload)
    ]


@register(NotificationEvent.SIGNOFF_WITHDRAWN, blind=_withdrawn_blind)
def _withdrawn(payload: dict) -> list[str]:
    return [_("%(person)s withdrew the request for the %(function)s sign-off for %(stage)s.") % names(payload)]


@register(NotificationEvent.WAIVER_REQUESTED)
def _waiver_requested(payload: dict) -> list[str]:
    return [_("%(person)s asks for a waiver of the check %(check)s for %(stage)s.") % names(payload)]


@register(NotificationEvent.WAIVER_DECIDED)
def _waiver_decided(payload: dict) -> list[str]:
    words = {**names(payload), "outcome": choice_label(WaiverStatus, payload.get("outcome", ""))}
    return [_("%(person)s decided your waiver of the check %(check)s for %(stage)s: %(outcome)s.") % words]


@register(NotificationEvent.STAGE_ADVANCED, asks=False)
def _advanced(payload: dict) -> list[str]:
    return [_("%(person)s moved %(launch)s from %(from)s to %(to)s.") % payload]


@register(NotificationEvent.STAGE_ROLLED_BACK, asks=False)
def _rolled_back(payload: dict) -> list[str]:
    return [_("%(person)s rolled %(launch)s back from %(from)s to %(to)s.") % payload]


@register(NotificationEvent.STAGE_LAPSED, asks=False)
def _lapsed(payload: dict) -> list[str]:
    reasons = payload.get("reasons", [])
    words = {**payload, "count": len(reasons), "items": "; ".join(check_title(key) for key in reasons)}
    return [
        ngettext(
            "%(launch)s is in %(stage)s, but the stage no longer holds: %(count)s reason (%(items)s).",
            "%(launch)s is in %(stage)s, but the stage no longer holds: %(count)s reasons (%(items)s).",
            len(reasons),
        )
        % words
    ]


# The conversation on a sign-off (approvals.services.conversation): the message is quoted below.


@register(NotificationEvent.SIGNOFF_QUESTION)
def _question(payload: dict) -> list[str]:
    return [_("%(person)s asks you a question on the %(function)s sign-off for %(stage)s:") % names(payload)]


@register(NotificationEvent.SIGNOFF_REPLY)
def _reply(payload: dict) -> list[str]:
    return [_("%(person)s replied on the %(function)s sign-off for %(stage)s:") % names(payload)]


@register(NotificationEvent.SIGNOFF_COMMENT)
def _comment(payload: dict) -> list[str]:
    return [_("%(person)s commented on the %(function)s sign-off for %(stage)s:") % names(payload)]


@register(NotificationEvent.SIGNOFF_ASKED_AGAIN)
def _asked_again(payload: dict) -> list[str]:
    if payload.get("expired"):
        lines = [
            _(
                "%(person)s asks you again for the %(function)s sign-off for %(stage)s of %(launch)s: "
                "your approval of %(approved)s has expired."
            )
            % names(payload)
        ]
    else:
        lines = [
            _(
                "%(person)s asks you again for the %(function)s sign-off for %(stage)s of %(launch)s: "
                "the facts changed since your approval of %(approved)s, so it no longer counts. What changed:"
            )
            % names(payload)
        ]
    lines += [change_line(change) for change in payload.get("changes", [])]
    if payload.get("more"):
        more = payload["more"]
        lines.append(ngettext("and %(count)s more change", "and %(count)s more changes", more) % {"count": more})
    return lines


@register(NotificationEvent.AGREEMENT_WAITING)
def _agreement_waiting(payload: dict) -> list[str]:
    if payload.get("kind") == "slo":
        return [
            _("The %(what)s SLO of %(launch)s waits for your agreement, as the Accountable for %(area)s.")
            % {**payload, "what": choice_label(SloIndicator, payload.get("what", ""))}
        ]
    return [
        _("Quality bar '%(what)s' of %(launch)s waits for your agreement, as the Accountable for %(area)s.") % payload
    ]
