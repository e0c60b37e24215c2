"""Checklist items read from what happened in service: incidents.

13 "Incident post-mortems": every resolved P0 or P1 incident has a post-mortem within
``POSTMORTEM_DUE_DAYS`` days of being resolved. It gates every stage (a launch keeps earning its
place) but may be waived for a stage like other paperwork.

14 "Open P0 and P1 incidents": gates every stage and cannot be waived
(``approvals.choices.UNWAIVABLE_CHECKS``): the service is down or broken now, so no stage is entered.
"""

from __future__ import annotations

import datetime

from django.db.models import Prefetch
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from readiness.checklist import Context, Outcome, register
from readiness.i18n import shown_date, shown_moment

from ..models import MAJOR_SEVERITIES, POSTMORTEM_DUE_DAYS, Incident

# Every incident of the launch with its post-mortem, in one query (and who was notified, in a second
# one only when there are incidents at all): the checks read the P0/P1 ones, and the launch page lists
# them all, with their breaches, from the same rows (``operations.selectors.launch_incidents``).
INCIDENTS = "incidents_with_postmortems"


def incidents_with_postmortems() -> Prefetch:
    return Prefetch(
        "incidents",
        queryset=Incident.objects.select_related("postmortem").prefetch_related("notified").order_by("pk"),
        to_attr=INCIDENTS,
    )


def _majors(ctx: Context) -> list[Incident]:
    incidents = getattr(ctx.launch, INCIDENTS, None)
    if incidents is None:  # not prefetched: a single evaluation outside the gate
        incidents = list(incidents_with_postmortems().queryset.filter(launch=ctx.launch))
    return [incident for incident in incidents if incident.severity in MAJOR_SEVERITIES]


def has_postmortem(incident: Incident) -> bool:
    try:
        return incident.postmortem is not None
    except Incident.postmortem.RelatedObjectDoesNotExist:
        return False


def postmortem_overdue(incident: Incident, now: datetime.datetime) -> bool:
    """A resolved P0/P1 without a post-mortem more than ``POSTMORTEM_DUE_DAYS`` days after it was resolved."""
    return (
        incident.is_major
        and incident.resolved_at is not None
        and not has_postmortem(incident)
        and now - incident.resolved_at > datetime.timedelta(days=POSTMORTEM_DUE_DAYS)
    )


@register(
    "incidents_reviewed",
    number=13,
    title=gettext_lazy("Incident post-mortems"),
    prefetch=[incidents_with_postmortems],
    gates_every_stage=True,
)
def incidents_reviewed(ctx: Context) -> Outcome:
    majors = _majors(ctx)
    problems = [
        _("%(severity)s incident “%(title)s” was resolved on %(date)s and has no post-mortem after %(days)s days.")
        % {
            "severity": incident.severity,
            "title": incident.title,
            "date": shown_date(incident.resolved_at),
            "days": POSTMORTEM_DUE_DAYS,
        }
        for incident in majors
        if postmortem_overdue(incident, ctx.now)
    ]
    reviewed = sum(has_postmortem(incident) for incident in majors)
    if not majors:
        return Outcome.passed(_("No P0 or P1 incident has been recorded."))
    return Outcome.from_problems(
        problems,
        ngettext(
            "%(count)s P0/P1 incident has a post-mortem; none is overdue.",
            "%(count)s P0/P1 incidents have a post-mortem; none is overdue.",
            reviewed,
        )
        % {"count": reviewed},
    )


@register(
    "no_open_major_incident",
    number=14,
    title=gettext_lazy("Open P0 and P1 incidents"),
    prefetch=[incidents_with_postmortems],
    gates_every_stage=True,
)
def no_open_major_incident(ctx: Context) -> Outcome:
    problems = [
        _("%(severity)s incident “%(title)s” is open (detected %(when)s).")
        % {
            "severity": incident.severity,
            "title": incident.title,
            "when": shown_moment(incident.detected_at),
        }
        for incident in _majors(ctx)
        if incident.is_open
    ]
    return Outcome.from_problems(problems, _("No P0 or P1 incident is open."))
