"""The sweeps' notices in words, in the language active when called (``notifications.describe``
hands these events here)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from raci.choices import TeamFunction

from ..choices import NotificationEvent
from ..snapshot import change_line
from .digest import DIGEST_KINDS, digest_counts

# Wording (in the language active when called; ``notifications.describe`` hands these events here) --


def describe_reminder(event: str, payload: dict, names: dict, subject: str) -> tuple[str, list[str]]:
    """The subject and lines of a sweep's notice from its stored payload. ``names`` is the payload
    with the function, event and check already as labels."""
    from ..notifications import _check_title, _label

    if event == NotificationEvent.DIGEST:
        return _describe_digest(payload)
    if event == NotificationEvent.SIGNOFF_STALE:
        lines = [
            _(
                "The facts %(person)s approved for the %(function)s sign-off for %(stage)s have changed: "
                "the approval no longer counts until it is given again on the current facts."
            )
            % names
        ]
        lines += [change_line(change) for change in payload.get("changes", [])]
        if payload.get("more"):
            more = payload["more"]
            lines.append(ngettext("and %(count)s more change", "and %(count)s more changes", more) % {"count": more})
        return subject, lines
    if event == NotificationEvent.SIGNOFF_OVERDUE:
        names["people"] = ", ".join(payload.get("people", [])) or _("nobody")
        line = ngettext(
            "The %(function)s sign-off for %(stage)s was due on %(due)s and is %(days)s day overdue; "
            "it waits for %(people)s.",
            "The %(function)s sign-off for %(stage)s was due on %(due)s and is %(days)s days overdue; "
            "it waits for %(people)s.",
            payload.get("days", 0),
        )
        return subject, [line % names]
    if event == NotificationEvent.SIGNOFF_ESCALATED:
        names["people"] = ", ".join(payload.get("people", [])) or _("nobody")
        line = ngettext(
            "Escalated to you: the %(function)s sign-off for %(stage)s was due on %(due)s and is %(days)s day "
            "overdue; it waits for %(people)s.",
            "Escalated to you: the %(function)s sign-off for %(stage)s was due on %(due)s and is %(days)s days "
            "overdue; it waits for %(people)s.",
            payload.get("days", 0),
        )
        return subject, [line % names]
    if event == NotificationEvent.SIGNOFF_EXPIRING:
        line = _(
            "The approval %(person)s gave for the %(function)s sign-off for %(stage)s expires on %(date)s; "
            "ask for it again before then."
        )
        return subject, [line % names]
    if event == NotificationEvent.ACKNOWLEDGEMENT_REQUESTED:
        line = _("%(person)s asks you, as Consulted, to acknowledge %(launch)s entering %(stage)s.")
        return subject, [line % names]
    # FACT_EXPIRING
    fact = payload.get("fact")
    if fact == "waiver":
        names["check"] = _check_title(payload.get("name", ""))
        line = _("The waiver of the check %(check)s expires on %(date)s.")
    elif fact == "pii_audit":
        line = _("The PII audit of %(name)s is due on %(date)s.")
    elif fact == "rollback_rehearsal":
        line = _("The rollback rehearsal lapses on %(date)s: rehearse the rollback again before then.")
    elif fact == "runbook_review":
        line = _("The incident runbook is due for review on %(date)s.")
    else:
        line = _label(NotificationEvent, event) + " %(date)s"
    return subject, [line % names]


def _describe_digest(payload: dict) -> tuple[str, list[str]]:
    from ..notifications import _check_title, _label, absolute_url

    counts = digest_counts(payload)
    subject = _("[Preflight] Your digest for %(date)s: %(counts)s") % {
        "date": payload.get("date", ""),
        "counts": counts,
    }
    lines = [_("Waiting for you: %(counts)s.") % {"counts": counts}]
    for item in payload.get("signoffs", []):
        values = {**item, "function": _label(TeamFunction, item.get("function", "")), "url": absolute_url(item["link"])}
        if item.get("due"):
            lines.append(_("Sign-off: %(launch)s — %(function)s for %(stage)s, due %(due)s: %(url)s") % values)
        else:
            lines.append(_("Sign-off: %(launch)s — %(function)s for %(stage)s: %(url)s") % values)
    for item in payload.get("waivers", []):
        values = {**item, "check": _check_title(item.get("check", "")), "url": absolute_url(item["link"])}
        lines.append(_("Waiver: %(launch)s — %(check)s for %(stage)s: %(url)s") % values)
    for item in payload.get("policy_changes", []):
        values = {**item, "url": absolute_url(item["link"])}
        if item.get("function"):
            values["what"] = _("%(function)s for %(stage)s") % {
                "function": _label(TeamFunction, item["function"]),
                "stage": item.get("stage") or "",
            }
        else:
            from readiness.choices import RiskTier

            values["what"] = _("risk tier %(tier)s") % {"tier": _label(RiskTier, item.get("risk_tier", ""))}
        lines.append(_("Lowering the sign-off bar: %(launch)s — %(what)s: %(url)s") % values)
    for item in payload.get("acknowledgements", []):
        values = {**item, "url": absolute_url(item["link"])}
        lines.append(_("Acknowledgement: %(launch)s entering %(stage)s: %(url)s") % values)
    for item in payload.get("notices", []):
        values = {**item, "event": _label(NotificationEvent, item.get("event", "")), "url": absolute_url(item["link"])}
        if item.get("launch"):
            lines.append(_("Notice: %(launch)s — %(event)s: %(url)s") % values)
        elif values["url"]:
            lines.append(_("Notice: %(event)s: %(url)s") % values)
        else:  # about a launch the reader does not see (``approvals.audience``): nothing to open
            lines.append(_("Notice: %(event)s.") % values)
    hidden = sum(payload.get("counts", {}).values()) - sum(len(payload.get(kind, [])) for kind in DIGEST_KINDS)
    if hidden > 0:
        lines.append(
            ngettext("and %(count)s more in Preflight.", "and %(count)s more in Preflight.", hidden) % {"count": hidden}
        )
    return subject, lines
