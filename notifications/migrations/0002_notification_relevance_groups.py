"""What a notice is to its reader (waiting for them, their launch, someone else's), notices filed
quietly, the group of one change about one launch, and the preference for news of other people's
launches. Notices written before keep being counted (none is quiet) and each is a group of its
own; their relevance is derived as a new notice's would be (the events' registration, the
launch's owner)."""

from django.conf import settings
from django.db import migrations, models
from django.db.models import F, Value
from django.db.models.functions import Cast, Concat


def derive(apps, schema_editor):
    from notifications import events

    Notification = apps.get_model("notifications", "Notification")
    Notification.objects.update(group_key=Concat(Value("n"), Cast("id", models.CharField())))
    asking = [name for name, _label in events.choices() if events.asks(name)]
    Notification.objects.filter(event__in=asking).update(relevance="waiting")
    Notification.objects.exclude(event__in=asking).filter(launch__owner=F("recipient")).update(relevance="own")


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0001_initial"),
        ("readiness", "0001_squashed_0009_eval_run_acceptance"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="notification",
            name="group_key",
            field=models.CharField(blank=True, default="", max_length=40, verbose_name="group"),
        ),
        migrations.AddField(
            model_name="notification",
            name="quiet",
            field=models.BooleanField(default=False, verbose_name="filed quietly"),
        ),
        migrations.AddField(
            model_name="notification",
            name="relevance",
            field=models.CharField(
                choices=[("waiting", "Waiting for you"), ("own", "Your launch"), ("other", "For your information")],
                default="other",
                max_length=10,
                verbose_name="relevance",
            ),
        ),
        migrations.AddField(
            model_name="notificationpreference",
            name="others",
            field=models.CharField(
                choices=[
                    ("immediate", "As they happen, like everything else"),
                    ("digest", "Listed in my daily digest"),
                    ("page", "Only on my notifications page"),
                ],
                default="digest",
                help_text="Events that neither wait for you nor concern a launch you own.",
                max_length=10,
                verbose_name="news of other people's launches",
            ),
        ),
        migrations.AddField(
            model_name="outboxmessage",
            name="group_key",
            field=models.CharField(blank=True, default="", max_length=40, verbose_name="group"),
        ),
        migrations.AddIndex(
            model_name="notification",
            index=models.Index(fields=["recipient", "group_key"], name="notification_group"),
        ),
        migrations.RunPython(derive, migrations.RunPython.noop),
    ]
