"""Notifications, the outbox and notification preferences move to the ``notifications`` app
(``notifications 0001`` takes them over). Only the migration state changes: the tables keep their
names, rows, constraints and indexes."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("approvals", "0022_outbox_subject"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="Notification"),
                migrations.DeleteModel(name="NotificationPreference"),
                migrations.DeleteModel(name="OutboxMessage"),
            ],
        ),
    ]
