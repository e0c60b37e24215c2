"""What people are told about, and in which words: a registry each app fills from its
``AppConfig.ready()`` with its own events, as the checklist's items are registered.

An event is a ``TextChoices`` member of the app that tells it (``approvals.choices.
NotificationEvent``, ``operations.choices.IncidentEvent``, ...): its value is what a notice and an
outbox message store, its label what the event is called. Registering it gives:

- its lines (``register``'s decorated function): the sentences of a notice, from the payload the
  notice stored, in the language active when called (the reader's on a page, the recipient's in a
  mail). Names and codes are stored, never sentences, so an old notice reads in today's language;
- optionally its mail subject (by default "[Preflight] <launch>: <label>");
- optionally ``blind`` lines, for someone who does not see the event's launch: an event with blind
  lines is told to them without the launch, its stages or anyone's words
  (``notifications.audience``); any other event is not told to them at all;
- optionally ``worth_sending(message) -> reason``: why a message still waiting in the outbox is no
  longer worth sending (a request withdrawn before delivery), in English, or "";
- whether a person who takes a daily digest may have it held for the digest (``held_for_digest``);
- whether it is news rather than something for its recipients (``asks=False``: a decision, a
  stage change; by default an event asks something of them, answers them or is about what was
  asked of them: a request, a delegation, a question, an agreement to give, a reminder, a report
  they asked for). What asks is "waiting for" its recipients and told as they chose
  (``notifications.notices``). News is told as they chose to the owner of its launch only; to
  anyone else it is news of someone else's launch, which each person takes as they chose
  (``NotificationPreference.others``: by default in the daily digest). A caller of ``notify`` may
  name who, of its recipients, is asked (``waiting_for``), whatever the event says.

The notice's models read the registered events as their ``event`` choices."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext as _

# The longest value ``Notification.event`` and ``OutboxMessage.event`` store.
MAX_LENGTH = 30

Lines = Callable[[dict], list[str]]


@dataclass(frozen=True)
class Event:
    name: str
    label: str
    lines: Lines
    subject: Callable[[dict], str] | None = None
    blind: Lines | None = None
    worth_sending: Callable[[object], str] | None = None
    held_for_digest: bool = True
    asks: bool = True

    @property
    def told_without_seeing(self) -> bool:
        return self.blind is not None


_events: dict[str, Event] = {}


def register(
    event: models.Choices,
    *,
    subject: Callable[[dict], str] | None = None,
    blind: Lines | None = None,
    worth_sending: Callable[[object], str] | None = None,
    held_for_digest: bool = True,
    asks: bool = True,
) -> Callable[[Lines], Lines]:
    """Decorator registering ``lines(payload) -> [sentence, ...]`` as the words of ``event``."""
    name = str(event.value)
    if len(name) > MAX_LENGTH:
        raise ValueError(f"Event '{name}' is longer than {MAX_LENGTH} characters.")
    if name in _events:
        raise ValueError(f"Event '{name}' is already registered; events must be unique.")

    def decorator(lines: Lines) -> Lines:
        _events[name] = Event(name, event.label, lines, subject, blind, worth_sending, held_for_digest, asks)
        return lines

    return decorator


def get(name: str) -> Event | None:
    return _events.get(name)


def choices() -> list[tuple[str, str]]:
    """Every registered event and its label: the choices of the notice models' ``event``."""
    return [(event.name, event.label) for event in _events.values()]


def label(name: str) -> str:
    """What ``name`` is called in the active language; an event this version does not know is
    shown as stored rather than as nothing."""
    event = _events.get(name)
    return str(event.label) if event is not None else str(name)


def told_without_seeing() -> frozenset[str]:
    """Events told, blind, to someone who does not see their launch (``notifications.audience``)."""
    return frozenset(name for name, event in _events.items() if event.told_without_seeing)


def held_for_digest(name: str) -> bool:
    event = _events.get(name)
    return event is None or event.held_for_digest


def asks(name: str) -> bool:
    """Whether ``name`` asks something of its recipients (or answers them, or is about what was
    asked of them), rather than being news; an event this version does not know is told as asking."""
    event = _events.get(name)
    return event is None or event.asks


def never_held_for_digest() -> frozenset[str]:
    return frozenset(name for name, event in _events.items() if not event.held_for_digest)


def reason_not_worth_sending(message) -> str:
    """Why the event of ``message`` (an outbox message) no longer deserves sending, or ""."""
    event = _events.get(message.event)
    if event is None or event.worth_sending is None:
        return ""
    return event.worth_sending(message)


def choice_label(choices: type[models.Choices], value) -> str:
    """The label of ``value`` among ``choices`` in the active language; the value itself when it
    is not (or no longer) one of them."""
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value)


def describe(name: str, payload: dict) -> tuple[str, list[str]]:
    """The subject and the lines of a notice, in the active language, from its stored payload.
    Lines after the event's own quote what people wrote (``payload["text"]``: a comment, a reason)
    and are user text. A blind payload (``notifications.audience.blind``) reads without the launch."""
    event = _events.get(name)
    called = label(name)
    if payload.get("blind"):
        subject = _("[Preflight] %(event)s") % {"event": called}
        return subject, (event.blind(payload) if event is not None and event.blind else [called])
    if event is not None and event.subject is not None:
        subject = event.subject(payload)
    else:
        subject = _("[Preflight] %(launch)s: %(event)s") % {
            "launch": payload.get("launch") or _("Portfolio"),
            "event": called,
        }
    lines = event.lines(payload) if event is not None else [called]
    if payload.get("text"):
        lines = [*lines, payload["text"]]
    return subject, lines
