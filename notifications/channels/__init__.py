"""How an outbox message travels: one module of this package per channel (``email``, ``slack``),
each registering one ``Channel``. A new channel is a new module here: ``discover`` imports every
module of the package when the app starts, and the outbox asks each registered channel, in
registration order, whom it reaches, whether a waiting message may still go, and to send it.

In-app notices are not a channel: every event writes one, whatever anyone chose."""

from __future__ import annotations

import importlib
import pkgutil

_channels: dict[str, Channel] = {}

# The longest name ``OutboxMessage.channel`` stores.
MAX_LENGTH = 10


class Channel:
    """One way of reaching people. ``name`` is stored on each message; ``label`` names it to people."""

    name: str
    label: str

    def reachable(self, people: list, preferences: dict) -> set[int]:
        """Ids of ``people`` this channel reaches now, as each chose (``preferences``: their
        ``NotificationPreference`` by user id), in a fixed number of queries however many people."""
        raise NotImplementedError

    def reason_not_to_send(self, message, preference) -> str:
        """Why ``message`` cannot go by this channel any more (the recipient turned it off, has no
        address left), in English for the operator, or ""."""
        raise NotImplementedError

    def send(self, message, *, subject: str, lines: list[str], url: str) -> None:
        """Send ``message`` (its words already in the recipient's language, which is active);
        raise on failure: the outbox records it and tries again later."""
        raise NotImplementedError


def register(channel: Channel) -> Channel:
    if len(channel.name) > MAX_LENGTH:
        raise ValueError(f"Channel '{channel.name}' is longer than {MAX_LENGTH} characters.")
    _channels[channel.name] = channel
    return channel


def all_channels() -> list[Channel]:
    return list(_channels.values())


def get(name: str) -> Channel | None:
    return _channels.get(name)


def choices() -> list[tuple[str, str]]:
    """Every registered channel and its label: the choices of ``OutboxMessage.channel``."""
    return [(channel.name, channel.label) for channel in _channels.values()]


def discover() -> None:
    """Import each channel module of this package, in name order (each registers its channel)."""
    for module in sorted(info.name for info in pkgutil.iter_modules(__path__)):
        importlib.import_module(f"{__name__}.{module}")
