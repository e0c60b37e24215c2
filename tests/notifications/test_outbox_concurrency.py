"""Concurrent drains of the outbox send each mail once: real threads with their own connections,
on PostgreSQL, where row locks decide (SQLite has none, so they are skipped there). Apart from
``test_outbox``, whose launch is built once per module: these tests are transactional."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection

from notifications import services
from notifications.channels import email
from notifications.choices import OutboxStatus
from notifications.models import OutboxMessage
from notifications.outbox import deliver_outbox
from tests.builders import ready_launch
from tests.factories import UserFactory
from tests.notifications.test_outbox import (  # noqa: F401 - the autouse fixture, too
    ledger_stays_intact,
    request_ml,
    send_mail_for_real,
    statuses,
)

pytestmark = pytest.mark.django_db


def on_postgresql(test):
    """Real threads with their own connections, where row locks decide; SQLite has none to skip."""
    marks = [
        pytest.mark.postgres,
        pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: SQLite has no row locks"),
        pytest.mark.django_db(transaction=True),
    ]
    for mark in marks:
        test = mark(test)
    return test


@pytest.fixture
def many_messages(monkeypatch):
    """A committed request and 30 pending messages about it, as if the broker had been down."""
    monkeypatch.setattr(services, "enqueue_delivery", lambda message_ids: None)
    launch = ready_launch(slug="assistant")
    request = request_ml(launch, launch.owner)
    written = request.outbox_messages.get()
    OutboxMessage.objects.bulk_create(
        OutboxMessage(
            event=written.event,
            subject=request,
            recipient=UserFactory(),
            channel="email",
            payload=written.payload,
            link=written.link,
        )
        for _ in range(29)
    )
    return list(OutboxMessage.objects.values_list("recipient__email", flat=True))


def in_threads(*targets) -> list:
    """Run each target in its own thread (own connection, closed at the end); return results."""
    results: list = [None] * len(targets)

    def run(index, target):
        try:
            results[index] = target()
        except BaseException as error:  # noqa: BLE001 - reported to the test below
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, t), name=f"drain-{i}") for i, t in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a drain hung"
    return results


@on_postgresql
@pytest.mark.parametrize("round_", range(3))
def test_concurrent_drains_send_each_mail_once(round_, many_messages, monkeypatch, mailoutbox):
    def slow_send_mail(**kwargs):
        time.sleep(0.005)  # long enough for the drains to overlap
        return send_mail_for_real(**kwargs)

    monkeypatch.setattr(email, "send_mail", slow_send_mail)
    barrier = threading.Barrier(3)

    def drain():
        barrier.wait()
        return deliver_outbox()

    results = in_threads(drain, drain, drain)

    assert all(isinstance(r, dict) for r in results), results
    assert sum(r["sent"] for r in results) == len(many_messages)
    assert sorted(mail.to[0] for mail in mailoutbox) == sorted(many_messages)
    assert statuses() == [OutboxStatus.SENT] * len(many_messages)


@on_postgresql
def test_a_drain_skips_the_message_another_drain_is_sending_instead_of_waiting(many_messages, monkeypatch, mailoutbox):
    holding, release = threading.Event(), threading.Event()

    def send_mail(**kwargs):
        if threading.current_thread().name == "drain-0" and not holding.is_set():
            holding.set()  # the first drain now holds its message's row lock ...
            assert release.wait(30)  # ... until the second drain has finished
        return send_mail_for_real(**kwargs)

    monkeypatch.setattr(email, "send_mail", send_mail)

    def first():
        return deliver_outbox(limit=1)

    def second():
        assert holding.wait(30)
        try:
            return deliver_outbox()
        finally:
            release.set()

    held, rest = in_threads(first, second)

    assert (held["sent"], rest["sent"]) == (1, len(many_messages) - 1)
    assert sorted(mail.to[0] for mail in mailoutbox) == sorted(many_messages)
