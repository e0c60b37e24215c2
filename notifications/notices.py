"""Writing notices, inside the transaction of the change they report: one in-app notice per person
and one outbox message per channel they want now. Nothing here sends anything or asks for
delivery (``notifications.services.notify`` does, after commit; the outbox drain delivers what it
writes itself)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from . import audience, events
from .models import Notification, OutboxMessage
from .preferences import recipient_channels


@dataclass(frozen=True)
class Told:
    """Who was newly told (their in-app notice written) and the outbox messages written for them."""

    people: list = field(default_factory=list)
    message_ids: list[int] = field(default_factory=list)


def tell(*, event: str, key: str, launch, actor, recipients: Iterable, payload: dict, link: str, subject=None) -> Told:
    """Write one in-app notice per recipient about one occurrence of ``event`` (named by ``key``),
    and one outbox message per channel each wants now (``notifications.preferences``: e-mail,
    Slack, nothing while they take a digest). Never to ``actor``, nor to inactive people, nor to
    anyone who does not see ``launch`` now (``notifications.audience``: writing the notice is
    delivering it; an event with blind wording reaches them blind, without the launch or anyone's
    words); a recipient already told about this (event, key) is not told again."""
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
    ids = write(
        event=event,
        key=key,
        launch=launch,
        told=told_as,
        channels=recipient_channels(event, people),
        subject=subject,
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
) -> list[int]:
    """Write, for each (person, payload, link) of ``told``, their in-app notice and one outbox
    message per channel of theirs in ``channels`` (``recipient_channels``; a caller telling many
    people of many occurrences reads them once), without asking who they are: the caller chose
    them. Two queries; returns the messages' ids."""
    told = list(told)
    common = {"event": event, "key": key, "launch": launch}
    Notification.objects.bulk_create(
        Notification(recipient=person, payload=words, link=where, **common) for person, words, where in told
    )
    messages = OutboxMessage.objects.bulk_create(
        OutboxMessage(recipient=person, channel=channel, payload=words, link=where, subject=subject, **common)
        for person, words, where in told
        for channel in channels.get(person.pk, [])
    )
    return [message.pk for message in messages]
