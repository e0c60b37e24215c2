"""A Celery worker killed in the middle of sending a mail: nothing is lost and nothing is sent twice.

Needs Redis at CELERY_TEST_BROKER_URL (default redis://127.0.0.1:6379/15) and PostgreSQL; CI has
both. Two `celery -A config worker` processes run on this test database and mail through a real SMTP
conversation with a small server this test serves on 127.0.0.1. The first worker's mail server
holds the message it is given without ever answering it; the test kills that worker with SIGKILL
there, then shows the message still pending (its lock died with the worker's connection, its
attempt was never committed), and the drain beat sends every minute, run by a second worker,
delivers each message exactly once.
"""

import email
import os
import signal
import socketserver
import subprocess
import threading
import uuid
from pathlib import Path

import pytest
import redis
from celery import Celery, current_app
from django.conf import settings
from django.db import connection

from approvals.services import signoffs_request
from config.celery import app as project_app
from notifications.choices import OutboxStatus
from notifications.models import OutboxMessage
from notifications.tasks import deliver_notifications  # noqa: F401  registered with the worker's app
from tests.builders import ready_launch
from tests.integration.workers import BROKER_URL, require_redis, wait_until, worker_process

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="the worker processes need a database other processes can see; the worker tests run "
        "against PostgreSQL (CI's second pass)",
    ),
]


class MailServer(socketserver.ThreadingTCPServer):
    """Just enough SMTP for Django's backend. A message is *accepted* only when the server answers
    its DATA with 250; while ``holding`` is set, a message received is answered never, the way a
    server that hangs (or a worker killed while it waits) leaves it."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), SmtpConversation)
        self.accepted: list[email.message.Message] = []
        self.holding = threading.Event()
        self.held = threading.Event()
        self.release = threading.Event()


class SmtpConversation(socketserver.StreamRequestHandler):
    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self) -> None:
        server: MailServer = self.server
        self.reply("220 preflight-test ESMTP")
        while line := self.rfile.readline():
            verb = line[:4].upper()
            if verb == b"QUIT":
                self.reply("221 bye")
                return
            if verb != b"DATA":
                self.reply("250 ok")  # EHLO, MAIL FROM, RCPT TO, RSET, NOOP
                continue
            self.reply("354 go ahead")
            data = b"".join(iter(lambda: self.rfile.readline(), b".\r\n"))
            if server.holding.is_set():
                server.held.set()
                server.release.wait(timeout=120)
                return  # hang up without an answer: the message was never accepted
            server.accepted.append(email.message_from_bytes(data))
            self.reply("250 queued")


@pytest.fixture
def mail_server():
    server = MailServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def queue():
    require_redis()
    name = f"preflight-test-{uuid.uuid4().hex}"
    app = Celery("preflight-integration", set_as_current=False)
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.update(task_always_eager=False, broker_url=BROKER_URL, result_backend=BROKER_URL, task_default_queue=name)
    app.set_current()
    yield name
    project_app.set_current()
    redis.Redis.from_url(BROKER_URL).delete(name)


def _worker_process(queue: str, mail_port: int, log_path: Path) -> subprocess.Popen:
    """A worker mailing through the test's server, its results joinable by the test."""
    return worker_process(
        queue,
        log_path,
        CELERY_RESULT_BACKEND=BROKER_URL,
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(mail_port),
    )


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def test_a_worker_killed_mid_send_loses_no_mail_and_sends_none_twice(queue, mail_server, tmp_path):
    launch = ready_launch(slug="assistant")
    mail_server.holding.set()
    first = _worker_process(queue, mail_server.server_address[1], tmp_path / "first.log")
    try:
        # Saving the requests enqueues their delivery after commit, to the first worker.
        requests = signoffs_request(actor=launch.owner, launch=launch, stage=launch.stages.get(name="Internal"))
        messages = list(
            OutboxMessage.objects.filter(subject_id__in=[r.pk for r in requests]).values_list("pk", "recipient__email")
        )
        assert len(messages) >= 2, "the scenario needs more than one message"
        assert mail_server.held.wait(timeout=90), (
            f"the worker never started sending:\n{(tmp_path / 'first.log').read_text()[-3000:]}"
        )
        os.kill(first.pid, signal.SIGKILL)  # while the mail server holds the first message
        first.wait(timeout=10)
    finally:
        _stop(first)
        mail_server.release.set()

    # The killed worker's transaction died with its connection: no message is marked sent, none
    # counts an attempt, and none was accepted by the mail server.
    assert wait_until(
        lambda: (
            set(OutboxMessage.objects.filter(pk__in=[pk for pk, _ in messages]).values_list("status", "attempts"))
            == {(OutboxStatus.PENDING, 0)}
        ),
        timeout=30,
    ), list(OutboxMessage.objects.values("status", "attempts", "last_error"))
    assert mail_server.accepted == []

    # What beat sends every minute, by the name and options in the schedule, to a second worker.
    mail_server.holding.clear()
    second = _worker_process(queue, mail_server.server_address[1], tmp_path / "second.log")
    try:
        entry = settings.CELERY_BEAT_SCHEDULE["deliver-notifications"]
        result = current_app.send_task(entry["task"], **entry["options"])
        # Another integration test's in-process worker may have left this process marked as one
        # where joining a result would block a worker; here it blocks only the test.
        outcome = result.get(timeout=90, disable_sync_subtasks=False)
    finally:
        _stop(second)
    assert outcome["sent"] == len(messages), (tmp_path / "second.log").read_text()[-3000:]
    assert set(OutboxMessage.objects.filter(pk__in=[pk for pk, _ in messages]).values_list("status", flat=True)) == {
        OutboxStatus.SENT
    }
    assert sorted(message["To"] for message in mail_server.accepted) == sorted(address for _, address in messages)
    assert len({message["Message-ID"] for message in mail_server.accepted}) == len(messages)
