"""The daily digest: everyone's waiting work gathered in a fixed number of reads, one notice each."""

from __future__ import annotations

import datetime
from collections import defaultdict

from django.contrib.auth import get_user_model
from django.db.models import Case, Exists, F, Max, OuterRef, Q, When
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from notifications import events, pages
from notifications.audience import sees_launch
from notifications.choices import DeliveryMode, OthersMode
from notifications.models import Notification, NotificationPreference
from raci.choices import AREA_FUNCTIONS, Role, TeamFunction
from raci.models import RaciAssignment, Stakeholder
from readiness.i18n import english

from ..choices import WAIVER_AREAS, NotificationEvent, PolicyChangeStatus, RequestStatus, WaiverStatus
from ..models import (
    Acknowledgement,
    PolicyChange,
    SignoffDecision,
    SignoffRequest,
    SignoffRequestUserObjectPermission,
    Waiver,
)
from .common import Sent, leads_by_function, local_date, request_names, tell

User = get_user_model()

# A digest lists at most this many items of each kind (with the full counts).
MAX_DIGEST_ITEMS = 10


# 4. The daily digest -----------------------------------------------------------------------------


def sweep_digests(*, now: datetime.datetime) -> list[Sent]:
    """One digest per person and local date, for everyone something waits for: sign-offs to
    decide, waivers and policy changes to decide, acknowledgements to give and, for people who
    chose a daily digest, the notices they received since their last one (for everyone else, the
    news of other people's launches filed for their digest). Gathered in a fixed
    number of queries however many people; then one ``notify`` per person."""
    waiting: dict[int, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for user_id, request in _signoffs_waiting():
        waiting[user_id]["signoffs"].append(_signoff_item(request))
    for user_id, waiver in _waivers_waiting():
        waiting[user_id]["waivers"].append(_waiver_item(waiver))
    for user_id, change in _policy_changes_waiting():
        waiting[user_id]["policy_changes"].append(_policy_change_item(change))
    for ack in _acknowledgements_waiting():
        waiting[ack.user_id]["acknowledgements"].append(
            {"launch": ack.launch.name, "stage": ack.stage.name, "link": ack.get_absolute_url()}
        )
    zones = dict(NotificationPreference.objects.exclude(time_zone="").values_list("user_id", "time_zone"))
    for user_id, notices in _notices_for_digest_readers(now).items():
        waiting[user_id]["notices"].extend(notices)
    people = list(User.objects.filter(pk__in=list(waiting), is_active=True).order_by("pk"))
    dates = {person.pk: local_date(now, zones.get(person.pk)).isoformat() for person in people}
    told = set(
        Notification.objects.filter(
            event=NotificationEvent.DIGEST, key__in={f"digest:{d}" for d in dates.values()}, recipient__in=people
        ).values_list("recipient_id", "key")
    )
    sent = []
    for person in people:
        items, date = waiting[person.pk], dates[person.pk]
        if (person.pk, f"digest:{date}") in told:
            continue
        payload = {
            "date": date,
            "counts": {kind: len(entries) for kind, entries in items.items()},
            **{kind: entries[:MAX_DIGEST_ITEMS] for kind, entries in items.items()},
        }
        sent += tell(
            event=NotificationEvent.DIGEST,
            key=f"digest:{date}",
            launch=None,
            recipients=[person],
            payload=payload,
            link=pages.page_path(pages.INBOX),
            detail=digest_summary(payload),
            told=set(),
        )
    return sent


def _signoffs_waiting():
    """(user id, request) for each open request a user may decide and has not: the grants
    ``requests_awaiting`` reads, for everyone at once (one query)."""
    decided = SignoffDecision.objects.filter(
        request=OuterRef("content_object"), decided_by=OuterRef("user"), superseded_at__isnull=True
    )
    grants = (
        SignoffRequestUserObjectPermission.objects.filter(
            permission__codename="decide_signoffrequest",
            content_object__status=RequestStatus.PENDING,
            content_object__launch__archived=False,
            user__is_active=True,
        )
        .exclude(content_object__requested_by=F("user"))
        .exclude(content_object__launch__owner=F("user"))
        .exclude(Exists(decided))
        .select_related("content_object__launch", "content_object__stage")
        .order_by("content_object__due_date", "content_object__created_at", "pk")
    )
    return [(grant.user_id, grant.content_object) for grant in grants]


def _acknowledgements_waiting():
    """Acknowledgements not yet given, on launches not archived that their person still sees
    (``readiness.access.can_view``, for everyone at once: one query). A Consulted person taken off
    the launch cannot acknowledge any more; the digest must not name the launch to them daily."""
    return (
        Acknowledgement.objects.filter(acknowledged_at__isnull=True, launch__archived=False)
        .filter(sees_launch("user"))
        .select_related("launch", "stage")
    )


def _signoff_item(request: SignoffRequest) -> dict:
    return {
        **request_names(request),
        "due": request.due_date.isoformat() if request.due_date else None,
        "link": request.get_absolute_url(),
    }


def _executives() -> set[int]:
    return set(
        Stakeholder.objects.filter(teams__function=TeamFunction.EXECUTIVE, user__is_active=True).values_list(
            "user_id", flat=True
        )
    )


def _waivers_waiting():
    """(user id, waiver) for each pending waiver a user may decide: ``waivers_awaiting``'s rule
    for everyone at once (three queries)."""
    waivers = list(
        Waiver.objects.filter(status=WaiverStatus.PENDING, launch__archived=False)
        .select_related("launch", "stage")
        .order_by("expires_on", "requested_at", "pk")
    )
    if not waivers:
        return []
    executives = _executives()
    # (launch, area kind) → Accountables serving one of the area's functions.
    deciders = defaultdict(set)
    for assignment in (
        RaciAssignment.objects.filter(
            area__launch_id__in={w.launch_id for w in waivers}, role=Role.ACCOUNTABLE, stakeholder__user__is_active=True
        )
        .select_related("area", "stakeholder")
        .prefetch_related("stakeholder__teams")
    ):
        functions = AREA_FUNCTIONS.get(assignment.area.kind, frozenset())
        if any(team.function in functions for team in assignment.stakeholder.teams.all()):
            deciders[assignment.area.launch_id, assignment.area.kind].add(assignment.stakeholder.user_id)
    pairs = []
    for waiver in waivers:
        people = executives | deciders.get((waiver.launch_id, WAIVER_AREAS.get(waiver.check_key)), set())
        pairs += [
            (user_id, waiver)
            for user_id in sorted(people)
            if user_id not in (waiver.requested_by_id, waiver.launch.owner_id)
        ]
    return pairs


def _waiver_item(waiver: Waiver) -> dict:
    return {
        "launch": waiver.launch.name,
        "stage": waiver.stage.name,
        "check": waiver.check_key,
        "link": waiver.get_absolute_url(),
    }


def _policy_changes_waiting():
    """(user id, change) for each pending request to lower a bar a user may decide:
    ``policy_changes_awaiting``'s rule for everyone at once (three queries)."""
    changes = list(
        PolicyChange.objects.filter(status=PolicyChangeStatus.PENDING, launch__archived=False)
        .select_related("launch", "stage")
        .order_by("requested_at", "pk")
    )
    if not changes:
        return []
    executives = _executives()
    leads = {function: {u.pk for u in users} for function, users in leads_by_function().items()}
    pairs = []
    for change in changes:
        people = executives | (leads.get(change.function, set()) if change.function else set())
        pairs += [
            (user_id, change)
            for user_id in sorted(people)
            if user_id not in (change.requested_by_id, change.launch.owner_id)
        ]
    return pairs


def _policy_change_item(change: PolicyChange) -> dict:
    return {
        "launch": change.launch.name,
        "stage": change.stage.name if change.stage_id else None,
        "function": change.function,
        "risk_tier": change.risk_tier,
        "link": change.get_absolute_url(),
    }


def _notices_for_digest_readers(now: datetime.datetime) -> dict[int, list[dict]]:
    """For each active person who chose a daily digest, the notices written for them since their
    previous digest (at most a day back for a first one), oldest first; for everyone else who
    takes other people's news in the digest (``NotificationPreference.others``, the default), the
    notices filed quietly for them since then. Four queries."""
    readers = set(
        NotificationPreference.objects.filter(mode=DeliveryMode.DIGEST, user__is_active=True).values_list(
            "user_id", flat=True
        )
    )
    # Quiet notices are found at most two days back: the digest runs daily.
    filed = set(
        Notification.objects.filter(
            quiet=True, recipient__is_active=True, created_at__gt=now - datetime.timedelta(days=2)
        )
        .exclude(recipient__notification_preference__others=OthersMode.PAGE)
        .values_list("recipient_id", flat=True)
        .distinct()
    )
    filed -= readers
    if not readers and not filed:
        return {}
    # Each digest covers what was written between the previous digest and this one: no upper bound
    # at ``now``, or a notice written by this very run (after ``now``) would fall between two digests.
    since = {user_id: now - datetime.timedelta(days=1) for user_id in readers | filed}
    since.update(
        Notification.objects.filter(event=NotificationEvent.DIGEST, recipient_id__in=readers | filed)
        .values("recipient_id")
        .annotate(last=Max("created_at"))
        .values_list("recipient_id", "last")
    )
    notices = defaultdict(list)
    for notice in (
        Notification.objects.filter(created_at__gt=min(since.values()))
        .filter(Q(recipient_id__in=readers) | Q(recipient_id__in=filed, quiet=True))
        .exclude(event=NotificationEvent.DIGEST)
        # As every channel does (``notifications.audience``): a launch the reader no longer sees is
        # not named to them again; a withdrawal or an escalation is listed blind.
        .annotate(seen=Case(When(Q(launch__isnull=True) | sees_launch("recipient"), then=True), default=False))
        .filter(Q(seen=True) | Q(event__in=sorted(events.told_without_seeing())))
        .order_by("created_at", "pk")
    ):
        if notice.created_at > since[notice.recipient_id]:
            if notice.seen:
                line = {"event": notice.event, "launch": notice.payload.get("launch", ""), "link": notice.link}
            else:
                line = {"event": notice.event, "launch": "", "link": ""}
            notices[notice.recipient_id].append(line)
    return notices


DIGEST_KINDS = ("signoffs", "waivers", "policy_changes", "acknowledgements", "notices")


def digest_counts(payload: dict) -> str:
    """ "3 sign-offs, 1 waiver" in the active language, from a digest's payload."""
    counts = payload.get("counts", {})
    words = {
        "signoffs": lambda n: ngettext("%(count)s sign-off", "%(count)s sign-offs", n),
        "waivers": lambda n: ngettext("%(count)s waiver", "%(count)s waivers", n),
        "policy_changes": lambda n: ngettext("%(count)s policy change", "%(count)s policy changes", n),
        "acknowledgements": lambda n: ngettext("%(count)s acknowledgement", "%(count)s acknowledgements", n),
        "notices": lambda n: ngettext("%(count)s notice", "%(count)s notices", n),
    }
    return _(", ").join(
        words[kind](counts[kind]) % {"count": counts[kind]} for kind in DIGEST_KINDS if counts.get(kind)
    )


def digest_summary(payload: dict) -> str:
    with english():
        return digest_counts(payload)
