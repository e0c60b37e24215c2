"""Moving the notification models out of ``approvals`` keeps every existing database valid: the
outbox's messages about a sign-off request keep it as their subject (one written before messages
stored their words gets them from the request), the content types, and with them the admin
permissions granted on the models, follow the models, and both steps go back as they came.

On PostgreSQL only: there the test database is built by the migrations; on SQLite it is built
straight from the models (``tests/conftest.py``), so there are no migrations to walk."""

import pytest
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from approvals.choices import NotificationEvent
from approvals.services import signoffs_request
from notifications.models import OutboxMessage
from tests.builders import ready_launch

BEFORE = [("approvals", "0021_ledger_sealed_facts")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    # The state from this executor's graph: once the whole old chain is applied again, a new loader
    # sees approvals' squashed migration in its place and no longer knows the old nodes.
    return executor.loader.project_state(targets).apps


def latest():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: SQLite tests run without migrations")
@pytest.mark.django_db(transaction=True)
def test_the_outbox_and_its_permissions_come_through_the_move_and_back():
    launch = ready_launch(slug="assistant")
    (request,) = signoffs_request(
        actor=launch.owner, launch=launch, stage=launch.stages.get(name="Internal"), functions=["ml"]
    )
    written = request.outbox_messages.get()
    # As a message written before messages stored their words and links (approvals 0012) looks.
    bare = OutboxMessage.objects.create(
        event=NotificationEvent.SIGNOFF_REQUESTED, subject=request, recipient=launch.owner, channel="email"
    )
    view_outbox = Permission.objects.get(codename="view_outboxmessage")

    old = migrate(BEFORE)

    rows = old.get_model("approvals", "OutboxMessage").objects.order_by("pk")
    assert list(rows.values_list("pk", "request_id")) == [(written.pk, request.pk), (bare.pk, request.pk)]
    assert Permission.objects.get(pk=view_outbox.pk).content_type.app_label == "approvals"

    migrate(latest())

    assert list(OutboxMessage.objects.order_by("pk").values_list("pk", "subject_id")) == [
        (written.pk, request.pk),
        (bare.pk, request.pk),
    ]
    bare.refresh_from_db()
    assert bare.subject == request
    assert bare.payload == {
        "launch": launch.name,
        "stage": "Internal",
        "function": "ml",
        "person": launch.owner.get_full_name(),
        "due": None,
        "text": "",
    }
    assert OutboxMessage.objects.get(pk=written.pk).payload == written.payload  # left as it was
    assert Permission.objects.get(pk=view_outbox.pk).content_type == ContentType.objects.get_for_model(OutboxMessage)
    assert ContentType.objects.filter(app_label="approvals", model="outboxmessage").count() == 0
