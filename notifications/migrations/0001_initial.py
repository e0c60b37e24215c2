"""The notification models, taken over from ``approvals`` (``approvals 0023``) with their tables,
which keep the names they had there. On a database that ran ``approvals``' old chain only the
migration state is created here; a fresh database, which runs ``approvals``' squashed migration
instead, gets the tables (``ledger.moved_tables``). Their content types (and so their admin
permissions) follow them."""

import django.db.models.deletion
import django.utils.timezone
import notifications.channels
import notifications.events
from django.conf import settings
from django.db import migrations, models

from ledger.moved_tables import content_types_moved, tables_unless_present


MODELS = ("Notification", "NotificationPreference", "OutboxMessage")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        # The tables were created by approvals' migrations, which hand them over in 0023.
        ("approvals", "0023_move_notifications_out"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("readiness", "0009_eval_run_acceptance"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Notification",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "event",
                            models.CharField(choices=notifications.events.choices, max_length=30, verbose_name="event"),
                        ),
                        ("key", models.CharField(max_length=100, verbose_name="key")),
                        ("payload", models.JSONField(blank=True, default=dict, verbose_name="payload")),
                        ("link", models.CharField(blank=True, default="", max_length=300, verbose_name="link")),
                        (
                            "created_at",
                            models.DateTimeField(default=django.utils.timezone.now, verbose_name="created at"),
                        ),
                        ("read_at", models.DateTimeField(blank=True, null=True, verbose_name="read at")),
                        (
                            "launch",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to="readiness.launch",
                                verbose_name="launch",
                            ),
                        ),
                        (
                            "recipient",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="notifications",
                                to=settings.AUTH_USER_MODEL,
                                verbose_name="recipient",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "notification",
                        "db_table": "approvals_notification",
                        "ordering": ["-created_at", "-pk"],
                        "indexes": [models.Index(fields=["recipient", "read_at"], name="notification_unread")],
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("event", "key", "recipient"), name="one_notification_per_event_and_recipient"
                            )
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="NotificationPreference",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("email", models.BooleanField(default=True, verbose_name="by e-mail")),
                        (
                            "slack",
                            models.BooleanField(
                                default=True,
                                help_text="Only where your team has a Slack webhook.",
                                verbose_name="in Slack",
                            ),
                        ),
                        (
                            "mode",
                            models.CharField(
                                choices=[("immediate", "As it happens"), ("digest", "In one daily digest")],
                                default="immediate",
                                max_length=10,
                                verbose_name="when",
                            ),
                        ),
                        ("quiet_from", models.TimeField(blank=True, null=True, verbose_name="quiet from")),
                        ("quiet_until", models.TimeField(blank=True, null=True, verbose_name="quiet until")),
                        (
                            "time_zone",
                            models.CharField(
                                blank=True,
                                help_text="For quiet hours and the digest; empty means the site's time zone.",
                                max_length=64,
                                verbose_name="time zone",
                            ),
                        ),
                        ("updated_at", models.DateTimeField(auto_now=True, verbose_name="updated at")),
                        (
                            "user",
                            models.OneToOneField(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="notification_preference",
                                to=settings.AUTH_USER_MODEL,
                                verbose_name="user",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "notification preference",
                        "verbose_name_plural": "notification preferences",
                        "db_table": "approvals_notificationpreference",
                        "constraints": [
                            models.CheckConstraint(
                                condition=models.Q(
                                    models.Q(("quiet_from__isnull", True), ("quiet_until__isnull", True)),
                                    models.Q(
                                        ("quiet_from__isnull", False),
                                        ("quiet_until__isnull", False),
                                        models.Q(("quiet_from", models.F("quiet_until")), _negated=True),
                                    ),
                                    _connector="OR",
                                ),
                                name="quiet_hours_both_or_neither_and_not_empty",
                            )
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="OutboxMessage",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "event",
                            models.CharField(choices=notifications.events.choices, max_length=30, verbose_name="event"),
                        ),
                        (
                            "channel",
                            models.CharField(
                                choices=notifications.channels.choices, max_length=10, verbose_name="channel"
                            ),
                        ),
                        (
                            "subject_id",
                            models.PositiveBigIntegerField(blank=True, null=True, verbose_name="subject id"),
                        ),
                        ("key", models.CharField(blank=True, default="", max_length=100, verbose_name="key")),
                        ("payload", models.JSONField(blank=True, default=dict, verbose_name="payload")),
                        ("link", models.CharField(blank=True, default="", max_length=300, verbose_name="link")),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("pending", "Waiting to be sent"),
                                    ("sent", "Sent"),
                                    ("dropped", "Dropped: no longer relevant"),
                                    ("failed", "Failed: gave up after repeated errors"),
                                ],
                                default="pending",
                                max_length=10,
                                verbose_name="status",
                            ),
                        ),
                        (
                            "created_at",
                            models.DateTimeField(default=django.utils.timezone.now, verbose_name="created at"),
                        ),
                        (
                            "next_attempt_at",
                            models.DateTimeField(
                                default=django.utils.timezone.now,
                                help_text="Not sent before this time (back-off).",
                                verbose_name="next attempt at",
                            ),
                        ),
                        ("attempts", models.PositiveIntegerField(default=0, verbose_name="attempts")),
                        (
                            "last_error",
                            models.TextField(
                                blank=True,
                                help_text="Why the last attempt failed, or why the message was dropped.",
                                verbose_name="last error",
                            ),
                        ),
                        ("sent_at", models.DateTimeField(blank=True, null=True, verbose_name="sent at")),
                        (
                            "launch",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to="readiness.launch",
                                verbose_name="launch",
                            ),
                        ),
                        (
                            "recipient",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                                verbose_name="recipient",
                            ),
                        ),
                        (
                            "subject_type",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to="contenttypes.contenttype",
                                verbose_name="subject type",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "outbox message",
                        "db_table": "approvals_outboxmessage",
                        "ordering": ["-created_at", "pk"],
                        "indexes": [
                            models.Index(
                                condition=models.Q(("status", "pending")),
                                fields=["next_attempt_at", "id"],
                                name="outbox_due",
                            ),
                            models.Index(fields=["subject_type", "subject_id"], name="outbox_subject"),
                        ],
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("event", "subject_type", "subject_id", "recipient", "channel"),
                                name="one_message_per_event_subject_recipient_channel",
                            ),
                            models.UniqueConstraint(
                                condition=models.Q(("key", ""), _negated=True),
                                fields=("event", "key", "recipient", "channel"),
                                name="one_message_per_event_key_recipient_channel",
                            ),
                            models.CheckConstraint(
                                condition=models.Q(
                                    models.Q(("sent_at__isnull", False), ("status", "sent")),
                                    models.Q(models.Q(("status", "sent"), _negated=True), ("sent_at__isnull", True)),
                                    _connector="OR",
                                ),
                                name="outbox_sent_at_iff_sent",
                            ),
                        ],
                    },
                ),
            ],
        ),
        tables_unless_present("notifications", MODELS),
        content_types_moved(MODELS, source="approvals", target="notifications"),
    ]
