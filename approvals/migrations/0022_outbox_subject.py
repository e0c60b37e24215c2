"""The outbox's foreign key to a sign-off request becomes a generic subject (content type and id),
so that messages about anything can ask their subject whether they are still worth sending. Every
message about a request keeps it as its subject; one written before messages stored what they say
(``0012``) is given the words its request holds, which delivery used to read from the request."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def request_to_subject(apps, schema_editor):
    OutboxMessage = apps.get_model("approvals", "OutboxMessage")
    about_requests = OutboxMessage.objects.filter(request__isnull=False)
    if not about_requests.exists():
        return
    ContentType = apps.get_model("contenttypes", "ContentType")
    request_type, _created = ContentType.objects.get_or_create(app_label="approvals", model="signoffrequest")
    about_requests.update(subject_type=request_type, subject_id=models.F("request_id"))
    for message in about_requests.filter(payload={}).select_related(
        "request__launch", "request__stage", "request__requested_by"
    ):
        request, asker = message.request, message.request.requested_by
        message.payload = {
            "launch": request.launch.name,
            "stage": request.stage.name,
            "function": request.function,
            "person": f"{asker.first_name} {asker.last_name}".strip() or asker.username,
            "due": request.due_date.isoformat() if request.due_date else None,
            "text": request.message,
        }
        message.save(update_fields=["payload"])
    if schema_editor.connection.vendor == "postgresql":
        # Check the new foreign keys now, not at commit: PostgreSQL refuses to alter a table with
        # constraint checks still pending, and the rest of this migration alters it.
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def subject_to_request(apps, schema_editor):
    OutboxMessage = apps.get_model("approvals", "OutboxMessage")
    OutboxMessage.objects.filter(subject_type__app_label="approvals", subject_type__model="signoffrequest").update(
        request_id=models.F("subject_id")
    )
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


class Migration(migrations.Migration):
    dependencies = [
        ("approvals", "0021_ledger_sealed_facts"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="outboxmessage",
            name="subject_id",
            field=models.PositiveBigIntegerField(blank=True, null=True, verbose_name="subject id"),
        ),
        migrations.AddField(
            model_name="outboxmessage",
            name="subject_type",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="contenttypes.contenttype",
                verbose_name="subject type",
            ),
        ),
        migrations.RunPython(request_to_subject, subject_to_request),
        migrations.RemoveConstraint(
            model_name="outboxmessage",
            name="one_message_per_event_recipient_channel",
        ),
        migrations.RemoveField(
            model_name="outboxmessage",
            name="request",
        ),
        migrations.AddIndex(
            model_name="outboxmessage",
            index=models.Index(fields=["subject_type", "subject_id"], name="outbox_subject"),
        ),
        migrations.AddConstraint(
            model_name="outboxmessage",
            constraint=models.UniqueConstraint(
                fields=("event", "subject_type", "subject_id", "recipient", "channel"),
                name="one_message_per_event_subject_recipient_channel",
            ),
        ),
    ]
