"""The sweeps' notices in words, in the language active when called (registered in
``notifications.events`` when the app starts)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from notifications import events
from notifications.events import choice_label, register
from notifications.pages import absolute_url
from raci.choices import TeamFunction
from readiness.choices import RiskTier
from readiness.i18n import shown_date

from ..choices import NotificationEvent
from ..notices import check_title, names
from ..snapshot import change_line
from .digest import DIGEST_KINDS, digest_counts


@register(NotificationEvent.SIGNOFF_STALE)
def _stale(payload: dict) -> list[str]:
    lines = [
        _(
            "The facts %(person)s approved for the %(function)s sign-off for %(stage)s have changed: "
            "the approval no longer counts until it is given again on the current facts."
        )
        % names(payload)
    ]
    lines += [change_line(change) for change in payload.get("changes", [])]
    if payload.get("more"):
        more = payload["more"]
        lines.append(ngettext("and %(count)s more change", "and %(count)s more changes", more) % {"count": more})
    return lines


def _waiting_for(payload: dict) -> dict:
    return {**names(payload), "people": ", ".join(payload.get("people", [])) or _("nobody")}


@register(NotificationEvent.SIGNOFF_OVERDUE)
def _overdue(payload: dict) -> list[str]:
    line = ngettext(
        "The %(function)s sign-off for %(stage)s was due on %(due)s and is %(days)s day overdue; "
        "it waits for %(people)s.",
        "The %(function)s sign-off for %(stage)s was due on %(due)s and is %(days)s days overdue; "
        "it waits for %(people)s.",
        payload.get("days", 0),
    )
    return [line % _waiting_for(payload)]


def _escalated_blind(payload: dict) -> list[str]:
    """An escalation goes to the function's leads when the area has no Accountable to ask; one
    who does not see the launch needs to know whom to chase, not what the launch is."""
    line = ngettext(
        "Escalated to you: the %(function)s sign-off was due on %(due)s and is %(days)s day overdue; "
        "it waits for %(people)s.",
        "Escalated to you: the %(function)s sign-off was due on %(due)s and is %(days)s days overdue; "
        "it waits for %(people)s.",
        payload.get("days", 0),
    )
    return [line % _waiting_for(payload)]


@register(NotificationEvent.SIGNOFF_ESCALATED, blind=_escalated_blind)
def _escalated(payload: dict) -> list[str]:
    line = ngettext(
        "Escalated to you: the %(function)s sign-off for %(stage)s was due on %(due)s and is %(days)s day "
        "overdue; it waits for %(people)s.",
        "Escalated to you: the %(function)s sign-off for %(stage)s was due on %(due)s and is %(days)s days "
        "overdue; it waits for %(people)s.",
        payload.get("days", 0),
    )
    return [line % _waiting_for(payload)]


@register(NotificationEvent.SIGNOFF_EXPIRING)
def _expiring(payload: dict) -> list[str]:
    line = _(
        "The approval %(person)s gave for the %(function)s sign-off for %(stage)s expires on %(date)s; "
        "ask for it again before then."
    )
    return [line % names(payload)]


@register(NotificationEvent.ACKNOWLEDGEMENT_REQUESTED)
def _acknowledgement_requested(payload: dict) -> list[str]:
    return [_("%(person)s asks you, as Consulted, to acknowledge %(launch)s entering %(stage)s.") % payload]


@register(NotificationEvent.FACT_EXPIRING)
def _fact_expiring(payload: dict) -> list[str]:
    fact = payload.get("fact")
    words = names(payload)
    if fact == "waiver":
        words["check"] = check_title(payload.get("name", ""))
        line = _("The waiver of the check %(check)s expires on %(date)s.")
    elif fact == "pii_audit":
        line = _("The PII audit of %(name)s is due on %(date)s.")
    elif fact == "rollback_rehearsal":
        line = _("The rollback rehearsal lapses on %(date)s: rehearse the rollback again before then.")
    elif fact == "runbook_review":
        line = _("The incident runbook is due for review on %(date)s.")
    else:
        line = events.label(NotificationEvent.FACT_EXPIRING) + " %(date)s"
    return [line % words]


def _digest_subject(payload: dict) -> str:
    return _("[Preflight] Your digest for %(date)s: %(counts)s") % {
        "date": shown_date(payload.get("date", "")),
        "counts": digest_counts(payload),
    }


@register(NotificationEvent.DIGEST, subject=_digest_subject, held_for_digest=False)
def _digest(payload: dict) -> list[str]:
    counts = digest_counts(payload)
    lines = [_("Waiting for you: %(counts)s.") % {"counts": counts}]
    for item in payload.get("signoffs", []):
        values = {
            **item,
            "due": shown_date(item.get("due") or ""),
            "function": choice_label(TeamFunction, item.get("function", "")),
            "url": absolute_url(item["link"]),
        }
        if item.get("due"):
            lines.append(_("Sign-off: %(launch)s — %(function)s for %(stage)s, due %(due)s: %(url)s") % values)
        else:
            lines.append(_("Sign-off: %(launch)s — %(function)s for %(stage)s: %(url)s") % values)
    for item in payload.get("waivers", []):
        values = {**item, "check": check_title(item.get("check", "")), "url": absolute_url(item["link"])}
        lines.append(_("Waiver: %(launch)s — %(check)s for %(stage)s: %(url)s") % values)
    for item in payload.get("policy_changes", []):
        values = {**item, "url": absolute_url(item["link"])}
        if item.get("function"):
            values["what"] = _("%(function)s for %(stage)s") % {
                "function": choice_label(TeamFunction, item["function"]),
                "stage": item.get("stage") or "",
            }
        else:
            values["what"] = _("risk tier %(tier)s") % {"tier": choice_label(RiskTier, item.get("risk_tier", ""))}
        lines.append(_("Lowering the sign-off bar: %(launch)s — %(what)s: %(url)s") % values)
    for item in payload.get("acknowledgements", []):
        values = {**item, "url": absolute_url(item["link"])}
        lines.append(_("Acknowledgement: %(launch)s entering %(stage)s: %(url)s") % values)
    for item in payload.get("notices", []):
        values = {**item, "event": events.label(item.get("event", "")), "url": absolute_url(item["link"])}
        if item.get("launch"):
            lines.append(_("Notice: %(launch)s — %(event)s: %(url)s") % values)
        elif values["url"]:
            lines.append(_("Notice: %(event)s: %(url)s") % values)
        else:  # about a launch the reader does not see (``notifications.audience``): nothing to open
            lines.append(_("Notice: %(event)s.") % values)
    hidden = sum(payload.get("counts", {}).values()) - sum(len(payload.get(kind, [])) for kind in DIGEST_KINDS)
    if hidden > 0:
        lines.append(
            ngettext("and %(count)s more in Preflight.", "and %(count)s more in Preflight.", hidden) % {"count": hidden}
        )
    return lines
