"""Writing notices, inside the transaction of the change they report: one in-app notice per person
and one outbox message per channel they want now. Nothing here sends anything or asks for
delivery (``notifications.services.notify`` does, after commit; the outbox drain delivers what it
writes itself).

What a notice is to its reader decides how they are told (``relevance``): what waits for them (an
event that ``asks``, or a caller's ``waiting_for``) and news of a launch they own go out as they
chose; news of someone else's launch is told as their ``others`` preference says: like the rest,
or filed quietly (listed, not counted as new, no message now) for the digest or for the page only.

The notices and messages one change writes for one person about one launch share a ``group_key``
("<change>:<launch id>"): the page lists them as one, the outbox sends them as one message."""

from __future__ import annotations

import contextlib
import contextvars
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction

from . import audience, events
from .choices import OthersMode, Relevance
from .models import Notification, OutboxMessage
from .preferences import preferences_of, recipient_channels


@dataclass(frozen=True)
class Told:
    """Who was newly told (their in-app notice written) and the outbox messages written for them."""

    people: list = field(default_factory=list)
    message_ids: list[int] = field(default_factory=list)


def new_change() -> str:
    """A fresh name for one change, the first part of its notices' ``group_key``."""
    return uuid.uuid4().hex[:16]


class _Change:
    """The name of the change the current transaction makes, kept among the transaction's commit
    hooks: it lives exactly as long as the transaction (a rolled-back savepoint takes it away with
    the notices written in it, and the next notice names a new one). Committing does nothing."""

    def __init__(self) -> None:
        self.name = new_change()

    def __call__(self) -> None:
        pass


_explicit: contextvars.ContextVar[str | None] = contextvars.ContextVar("notifications_change", default=None)


@contextlib.contextmanager
def one_change():
    """Within this block, everything told is one change of its own, whatever the transaction (a
    job that tells of many changes in one transaction, a test standing for several requests)."""
    token = _explicit.set(new_change())
    try:
        yield _explicit.get()
    finally:
        _explicit.reset(token)


def current_change() -> str:
    """The name of the change being made (every notice written in it shares it): the enclosing
    ``one_change`` block's, else the current transaction's; outside both each call is a change of
    its own."""
    explicit = _explicit.get()
    if explicit is not None:
        return explicit
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        return new_change()
    for hook in connection.run_on_commit:
        if isinstance(hook[1], _Change):
            return hook[1].name
    change = _Change()
    transaction.on_commit(change, robust=True)  # does nothing when run: it only names the change
    return change.name


def group_key(change: str, launch) -> str:
    return f"{change}:{launch.pk if launch is not None else 0}"


def relevance_of(event: str, person, launch, waiting_for: set[int] | None) -> str:
    """What a notice of ``event`` about ``launch`` is to ``person``: waiting for them when the
    event asks (or the caller names them in ``waiting_for``), their launch when they own it, else
    news of someone else's launch."""
    asked = events.asks(event) if waiting_for is None else person.pk in waiting_for
    if asked:
        return Relevance.WAITING
    if launch is not None and launch.owner_id == person.pk:
        return Relevance.OWN
    return Relevance.OTHER


def tell(
    *,
    event: str,
    key: str,
    launch,
    actor,
    recipients: Iterable,
    payload: dict,
    link: str,
    subject=None,
    change: str | None = None,
    waiting_for: Iterable | None = None,
) -> Told:
    """Write one in-app notice per recipient about one occurrence of ``event`` (named by ``key``),
    and one outbox message per channel each wants now (``notifications.preferences``: e-mail,
    Slack, nothing while they take a digest). Never to ``actor``, nor to inactive people, nor to
    anyone who does not see ``launch`` now (``notifications.audience``: writing the notice is
    delivering it; an event with blind wording reaches them blind, without the launch or anyone's
    words); a recipient already told about this (event, key) is not told again. ``change`` names
    the change the notices belong to (``services.notify``: the transaction's); ``waiting_for``,
    when given, the recipients this asks something of, instead of what the event says."""
    people = {}
    for person in recipients:
        if person is None or not person.is_active or (actor is not None and person.pk == actor.pk):
            continue
        people[person.pk] = person
    if not people:
        return Told()
    told = set(
        Notification.objects.filter(event=event, key=key, recipient__in=list(people)).values_list(
            "recipient_id", flat=True
        )
    )
    fresh = [person for pk, person in people.items() if pk not in told]
    unseeing = []
    if launch is not None and fresh:
        sees = audience.seeing(launch, fresh)
        if event in events.told_without_seeing():
            unseeing = [person for person in fresh if person.pk not in sees]
        fresh = [person for person in fresh if person.pk in sees]
    told_as = [(person, payload, link) for person in fresh] + [
        (person, audience.blind(payload), "") for person in unseeing
    ]
    people = [person for person, _words, _where in told_as]
    if not people:
        return Told()
    asked = None if waiting_for is None else {person.pk for person in waiting_for if person is not None}
    relevance = {person.pk: relevance_of(event, person, launch, asked) for person in people}
    preferences = preferences_of(people)
    quiet = {
        person.pk
        for person in people
        if relevance[person.pk] == Relevance.OTHER and preferences[person.pk].others != OthersMode.IMMEDIATE
    }
    loud = [person for person in people if person.pk not in quiet]
    ids = write(
        event=event,
        key=key,
        launch=launch,
        told=told_as,
        channels=recipient_channels(event, loud, preferences=preferences),
        subject=subject,
        relevance=relevance,
        quiet=quiet,
        group=group_key(change or current_change(), launch),
    )
    return Told(people, ids)


def write(
    *,
    event: str,
    key: str,
    launch,
    told: Iterable[tuple[object, dict, str]],
    channels: dict[int, list[str]],
    subject=None,
    relevance: dict[int, str] | None = None,
    quiet: set[int] = frozenset(),
    group: str = "",
) -> list[int]:
    """Write, for each (person, payload, link) of ``told``, their in-app notice and one outbox
    message per channel of theirs in ``channels`` (``recipient_channels``; a caller telling many
    people of many occurrences reads them once), without asking who they are: the caller chose
    them; ``relevance`` and ``quiet`` by person id (by default what the event says, nobody
    quiet), ``group`` shared by all (by default the current transaction's change about
    ``launch``). Two queries; returns the messages' ids."""
    told = list(told)
    group = group or group_key(current_change(), launch)
    common = {"event": event, "key": key, "launch": launch, "group_key": group}
    Notification.objects.bulk_create(
        Notification(
            recipient=person,
            payload=words,
            link=where,
            relevance=(relevance or {}).get(person.pk) or relevance_of(event, person, launch, None),
            quiet=person.pk in quiet,
            **common,
        )
        for person, words, where in told
    )
    messages = OutboxMessage.objects.bulk_create(
        OutboxMessage(recipient=person, channel=channel, payload=words, link=where, subject=subject, **common)
        for person, words, where in told
        for channel in channels.get(person.pk, [])
    )
    return [message.pk for message in messages]
