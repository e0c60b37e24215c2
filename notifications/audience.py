"""Who may be told what about a launch: the one rule every channel follows when it delivers.

A notice is delivered when its in-app row is written (``notifications.notices.tell``), when its
message leaves the outbox (``notifications.outbox``) and when a digest lists it
(``approvals.reminders.digest``). Each asks here, at that moment, whether its reader sees the launch
(``readiness.access.can_view``: the owner, a role's grant, an executive, a superuser). Someone who
does not is told nothing about it, except of the events registered with blind wording
(``notifications.events``), told without the launch, its stages or anyone's words (``blind``): a
withdrawal (withdrawing the request is what takes an outside addressee's view away, and they must
learn that nothing is asked of them any more) and an escalation (it goes to the function's leads
by post, when the area has no Accountable to ask; they need to know whom to chase, not what the
launch is)."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.db.models import Exists, F, OuterRef, Q

from raci.choices import TeamFunction
from raci.models import Team
from readiness.access import settle_access
from readiness.models import LaunchUserObjectPermission

# What a blind notice keeps of its payload: whose sign-off, who acted or waits, and when.
BLIND_KEEPS = frozenset({"function", "person", "people", "due", "days", "level"})


def _view_grants(launch, user):
    return LaunchUserObjectPermission.objects.filter(
        content_object=launch,
        user=user,
        permission__codename="view_launch",
        permission__content_type__app_label="readiness",
    )


def _executive_teams(user):
    return Team.objects.filter(function=TeamFunction.EXECUTIVE, members__user=user)


def sees_launch(person: str) -> Q:
    """The row's ``person`` may view the row's ``launch`` (both name fields): ``readiness.access.
    can_view`` as a condition on many rows at once (the owner, a role's stored grant, an
    executive, a superuser)."""
    return (
        Q(launch__owner=F(person))
        | Q(**{f"{person}__is_superuser": True})
        | Exists(_view_grants(OuterRef("launch"), OuterRef(person)))
        | Exists(_executive_teams(OuterRef(person)))
    )


def seeing(launch, people: Iterable) -> set[int]:
    """Ids of those of ``people`` who may view ``launch`` now (active ones only), in one query.
    A change of roles earlier in this transaction counts: access put off to the end of
    ``access_synced_once`` is derived first."""
    ids = [person.pk for person in people if person is not None and person.is_active]
    if not ids:
        return set()
    settle_access(launch.pk)
    return set(
        get_user_model()
        .objects.filter(pk__in=ids)
        .filter(
            Q(pk=launch.owner_id)
            | Q(is_superuser=True)
            | Exists(_view_grants(launch, OuterRef("pk")))
            | Exists(_executive_teams(OuterRef("pk")))
        )
        .values_list("pk", flat=True)
    )


def blind(payload: dict) -> dict:
    """``payload`` without the launch, its stages or what anyone wrote, marked so the wording
    (``notifications.events.describe``) says what happened without them."""
    return {**{key: value for key, value in payload.items() if key in BLIND_KEEPS}, "blind": True}
