"""The approvals migrations 0001_initial to 0024_move_ledger_out in one, regenerated from the
models rather than replayed (scripts/squash_migrations.py).
A fresh database runs this; one that ran the old chain has it marked applied; one part-way through
finishes the old chain, which is kept until every database has passed it.

Carried by hand from the old chain: on PostgreSQL, a sign-off decision is never edited but to mark
it superseded, and never deleted or truncated (0002 and 0006; the ledger's own guards moved with
its tables, ``ledger`` 0001). Left out: 0021's sealing of the facts that existed before the ledger
recorded them (a fresh database has none), 0022's conversion of the outbox's rows, and the
state-only moves of 0023 and 0024 (this migration never creates those models)."""

import django.core.validators
import django.db.models.deletion
import django.utils.timezone
import simple_history.models
from django.conf import settings
from django.db import migrations, models

GUARDS = """
CREATE OR REPLACE FUNCTION approvals_decision_only_superseded() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND OLD.superseded_at IS NULL AND NEW.superseded_at IS NOT NULL
       AND (to_jsonb(NEW) - 'superseded_at') = (to_jsonb(OLD) - 'superseded_at') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'approvals_signoffdecision rows are never edited: % refused', TG_OP;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION approvals_refuse_truncate() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is part of the sign-off record: TRUNCATE refused', TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER approvals_decision_only_superseded BEFORE UPDATE OR DELETE ON approvals_signoffdecision
    FOR EACH ROW EXECUTE FUNCTION approvals_decision_only_superseded();
CREATE TRIGGER approvals_decision_no_truncate BEFORE TRUNCATE ON approvals_signoffdecision
    FOR EACH STATEMENT EXECUTE FUNCTION approvals_refuse_truncate();
ALTER TABLE approvals_signoffdecision ENABLE ALWAYS TRIGGER approvals_decision_only_superseded;
ALTER TABLE approvals_signoffdecision ENABLE ALWAYS TRIGGER approvals_decision_no_truncate;
"""

# Every guard, by table, for the test suite's flush (tests/conftest.py).
GUARDED = {"approvals_signoffdecision": ("approvals_decision_only_superseded", "approvals_decision_no_truncate")}


def guard(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(GUARDS, params=None)


class Migration(migrations.Migration):
    initial = True

    replaces = [
        ("approvals", "0001_initial"),
        ("approvals", "0002_append_only_triggers"),
        ("approvals", "0003_waiver_requested_event"),
        ("approvals", "0004_notification_outbox"),
        ("approvals", "0005_ledger_mac_policy_changes"),
        ("approvals", "0006_ledger_triggers_always"),
        ("approvals", "0007_ledger_fact_events"),
        ("approvals", "0008_ledger_omission_withdrawn"),
        ("approvals", "0009_ledger_data_declassified"),
        ("approvals", "0010_translatable_labels"),
        ("approvals", "0011_waiver_lapses"),
        ("approvals", "0012_generalised_notifications"),
        ("approvals", "0013_notification_channels_and_preferences"),
        ("approvals", "0014_ledger_incident_events"),
        ("approvals", "0015_ledger_events_sli_recorded"),
        ("approvals", "0016_recertification_and_versions"),
        ("approvals", "0017_ledger_events_all_of_issue_11"),
        ("approvals", "0018_ledger_event_failure_review"),
        ("approvals", "0019_ledger_event_eval_run_accepted"),
        ("approvals", "0020_ledger_event_incident_severity"),
        ("approvals", "0021_ledger_sealed_facts"),
        ("approvals", "0022_outbox_subject"),
        ("approvals", "0023_move_notifications_out"),
        ("approvals", "0024_move_ledger_out"),
    ]

    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("auth", "__first__"),
        ("readiness", "0001_squashed_0009_eval_run_acceptance"),
    ]

    operations = [
        migrations.CreateModel(
            name="HistoricalAcknowledgement",
            fields=[
                ("id", models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name="ID")),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="created at")),
                ("acknowledged_at", models.DateTimeField(blank=True, null=True, verbose_name="acknowledged at")),
                ("comment", models.TextField(blank=True, verbose_name="comment")),
                ("history_id", models.AutoField(primary_key=True, serialize=False)),
                ("history_date", models.DateTimeField(db_index=True)),
                ("history_change_reason", models.CharField(max_length=100, null=True)),
                (
                    "history_type",
                    models.CharField(choices=[("+", "Created"), ("~", "Changed"), ("-", "Deleted")], max_length=1),
                ),
                (
                    "history_user",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "launch",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="readiness.launch",
                        verbose_name="launch",
                    ),
                ),
                (
                    "requested_by",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="requested by",
                    ),
                ),
                (
                    "stage",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="readiness.rolloutstage",
                        verbose_name="stage",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="user",
                    ),
                ),
            ],
            options={
                "verbose_name": "historical acknowledgement",
                "verbose_name_plural": "historical acknowledgements",
                "ordering": ("-history_date", "-history_id"),
                "get_latest_by": ("history_date", "history_id"),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name="HistoricalInformedNotice",
            fields=[
                ("id", models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name="ID")),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="created at")),
                ("history_id", models.AutoField(primary_key=True, serialize=False)),
                ("history_date", models.DateTimeField(db_index=True)),
                ("history_change_reason", models.CharField(max_length=100, null=True)),
                (
                    "history_type",
                    models.CharField(choices=[("+", "Created"), ("~", "Changed"), ("-", "Deleted")], max_length=1),
                ),
                (
                    "history_user",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "launch",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="readiness.launch",
                        verbose_name="launch",
                    ),
                ),
                (
                    "stage",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="readiness.rolloutstage",
                        verbose_name="stage",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="user",
                    ),
                ),
            ],
            options={
                "verbose_name": "historical informed notice",
                "verbose_name_plural": "historical informed notices",
                "ordering": ("-history_date", "-history_id"),
                "get_latest_by": ("history_date", "history_id"),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name="HistoricalPolicyChange",
            fields=[
                ("id", models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name="ID")),
                (
                    "function",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("legal", "Legal"),
                            ("security", "Security"),
                            ("compliance", "Compliance"),
                            ("customer_support", "Customer support"),
                            ("business", "Business"),
                            ("product", "Product"),
                            ("ml", "ML"),
                            ("platform", "Platform"),
                            ("data", "Data"),
                            ("qa", "QA"),
                            ("executive", "Executive"),
                        ],
                        max_length=20,
                        verbose_name="function",
                    ),
                ),
                (
                    "approvals_required",
                    models.PositiveSmallIntegerField(
                        blank=True,
                        null=True,
                        validators=[django.core.validators.MaxValueValidator(5)],
                        verbose_name="approvals required",
                    ),
                ),
                (
                    "risk_tier",
                    models.CharField(
                        blank=True,
                        choices=[("low", "Low"), ("medium", "Medium"), ("high", "High")],
                        max_length=10,
                        verbose_name="risk tier",
                    ),
                ),
                ("justification", models.TextField(verbose_name="justification")),
                ("requested_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="requested at")),
                (
                    "status",
                    models.CharField(
                        choices=[("pending", "Pending"), ("approved", "Approved"), ("rejected", "Rejected")],
                        default="pending",
                        max_length=10,
                        verbose_name="status",
                    ),
                ),
                ("decided_at", models.DateTimeField(blank=True, null=True, verbose_name="decided at")),
                ("decision_comment", models.TextField(blank=True, verbose_name="decision comment")),
                ("history_id", models.AutoField(primary_key=True, serialize=False)),
                ("history_date", models.DateTimeField(db_index=True)),
                ("history_change_reason", models.CharField(max_length=100, null=True)),
                (
                    "history_type",
                    models.CharField(choices=[("+", "Created"), ("~", "Changed"), ("-", "Deleted")], max_length=1),
                ),
                (
                    "decided_by",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="decided by",
                    ),
                ),
                (
                    "history_user",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "launch",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="readiness.launch",
                        verbose_name="launch",
                    ),
                ),
                (
                    "requested_by",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="requested by",
                    ),
                ),
                (
                    "stage",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="readiness.rolloutstage",
                        verbose_name="stage",
                    ),
                ),
            ],
            options={
                "verbose_name": "historical policy change",
                "verbose_name_plural": "historical policy changes",
                "ordering": ("-history_date", "-history_id"),
                "get_latest_by": ("history_date", "history_id"),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name="HistoricalSignoffRequest",
            fields=[
                ("id", models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name="ID")),
                (
                    "function",
                    models.CharField(
                        choices=[
                            ("legal", "Legal"),
                            ("security", "Security"),
                            ("compliance", "Compliance"),
                            ("customer_support", "Customer support"),
                            ("business", "Business"),
                            ("product", "Product"),
                            ("ml", "ML"),
                            ("platform", "Platform"),
                            ("data", "Data"),
                            ("qa", "QA"),
                            ("executive", "Executive"),
                        ],
                        max_length=20,
                        verbose_name="function",
                    ),
                ),
                (
                    "approvals_required",
                    models.PositiveSmallIntegerField(
                        default=1,
                        validators=[django.core.validators.MinValueValidator(1)],
                        verbose_name="approvals required",
                    ),
                ),
                ("due_date", models.DateField(blank=True, null=True, verbose_name="due date")),
                ("message", models.TextField(blank=True, verbose_name="message")),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("pending", "Pending"),
                            ("approved", "Approved"),
                            ("rejected", "Rejected"),
                            ("changes_requested", "Changes requested"),
                            ("withdrawn", "Withdrawn"),
                            ("superseded", "Superseded by a newer request"),
                        ],
                        default="pending",
                        max_length=20,
                        verbose_name="status",
                    ),
                ),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="created at")),
                ("closed_at", models.DateTimeField(blank=True, null=True, verbose_name="closed at")),
                ("history_id", models.AutoField(primary_key=True, serialize=False)),
                ("history_date", models.DateTimeField(db_index=True)),
                ("history_change_reason", models.CharField(max_length=100, null=True)),
                (
                    "history_type",
                    models.CharField(choices=[("+", "Created"), ("~", "Changed"), ("-", "Deleted")], max_length=1),
                ),
                (
                    "history_user",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "launch",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="readiness.launch",
                        verbose_name="launch",
                    ),
                ),
                (
                    "requested_by",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="requested by",
                    ),
                ),
                (
                    "stage",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="readiness.rolloutstage",
                        verbose_name="stage",
                    ),
                ),
            ],
            options={
                "verbose_name": "historical sign-off request",
                "verbose_name_plural": "historical sign-off requests",
                "ordering": ("-history_date", "-history_id"),
                "get_latest_by": ("history_date", "history_id"),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name="HistoricalStagePolicy",
            fields=[
                ("id", models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name="ID")),
                (
                    "consulted_must_acknowledge",
                    models.BooleanField(
                        default=False,
                        help_text="Entering the stage waits until every Consulted person has acknowledged.",
                        verbose_name="consulted must acknowledge",
                    ),
                ),
                ("history_id", models.AutoField(primary_key=True, serialize=False)),
                ("history_date", models.DateTimeField(db_index=True)),
                ("history_change_reason", models.CharField(max_length=100, null=True)),
                (
                    "history_type",
                    models.CharField(choices=[("+", "Created"), ("~", "Changed"), ("-", "Deleted")], max_length=1),
                ),
                (
                    "history_user",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "stage",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="readiness.rolloutstage",
                        verbose_name="stage",
                    ),
                ),
            ],
            options={
                "verbose_name": "historical stage sign-off policy",
                "verbose_name_plural": "historical stage sign-off policies",
                "ordering": ("-history_date", "-history_id"),
                "get_latest_by": ("history_date", "history_id"),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name="HistoricalWaiver",
            fields=[
                ("id", models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name="ID")),
                ("check_key", models.CharField(max_length=40, verbose_name="check key")),
                ("justification", models.TextField(verbose_name="justification")),
                ("expires_on", models.DateField(verbose_name="expires on")),
                ("requested_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="requested at")),
                (
                    "status",
                    models.CharField(
                        choices=[("pending", "Pending"), ("approved", "Approved"), ("rejected", "Rejected")],
                        default="pending",
                        max_length=10,
                        verbose_name="status",
                    ),
                ),
                ("decided_at", models.DateTimeField(blank=True, null=True, verbose_name="decided at")),
                ("decision_comment", models.TextField(blank=True, verbose_name="decision comment")),
                ("history_id", models.AutoField(primary_key=True, serialize=False)),
                ("history_date", models.DateTimeField(db_index=True)),
                ("history_change_reason", models.CharField(max_length=100, null=True)),
                (
                    "history_type",
                    models.CharField(choices=[("+", "Created"), ("~", "Changed"), ("-", "Deleted")], max_length=1),
                ),
                (
                    "decided_by",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="decided by",
                    ),
                ),
                (
                    "history_user",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "launch",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="readiness.launch",
                        verbose_name="launch",
                    ),
                ),
                (
                    "requested_by",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="requested by",
                    ),
                ),
                (
                    "stage",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="readiness.rolloutstage",
                        verbose_name="stage",
                    ),
                ),
            ],
            options={
                "verbose_name": "historical waiver",
                "verbose_name_plural": "historical waivers",
                "ordering": ("-history_date", "-history_id"),
                "get_latest_by": ("history_date", "history_id"),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name="SignoffRequest",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "function",
                    models.CharField(
                        choices=[
                            ("legal", "Legal"),
                            ("security", "Security"),
                            ("compliance", "Compliance"),
                            ("customer_support", "Customer support"),
                            ("business", "Business"),
                            ("product", "Product"),
                            ("ml", "ML"),
                            ("platform", "Platform"),
                            ("data", "Data"),
                            ("qa", "QA"),
                            ("executive", "Executive"),
                        ],
                        max_length=20,
                        verbose_name="function",
                    ),
                ),
                (
                    "approvals_required",
                    models.PositiveSmallIntegerField(
                        default=1,
                        validators=[django.core.validators.MinValueValidator(1)],
                        verbose_name="approvals required",
                    ),
                ),
                ("due_date", models.DateField(blank=True, null=True, verbose_name="due date")),
                ("message", models.TextField(blank=True, verbose_name="message")),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("pending", "Pending"),
                            ("approved", "Approved"),
                            ("rejected", "Rejected"),
                            ("changes_requested", "Changes requested"),
                            ("withdrawn", "Withdrawn"),
                            ("superseded", "Superseded by a newer request"),
                        ],
                        default="pending",
                        max_length=20,
                        verbose_name="status",
                    ),
                ),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="created at")),
                ("closed_at", models.DateTimeField(blank=True, null=True, verbose_name="closed at")),
                (
                    "addressees",
                    models.ManyToManyField(
                        related_name="signoff_requests_addressed",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="addressees",
                    ),
                ),
                (
                    "launch",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="signoff_requests",
                        to="readiness.launch",
                        verbose_name="launch",
                    ),
                ),
                (
                    "replaces",
                    models.OneToOneField(
                        blank=True,
                        help_text="The request for the same sign-off this one superseded; its decisions stay on record.",
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="replaced_by",
                        to="approvals.signoffrequest",
                        verbose_name="replaces",
                    ),
                ),
                (
                    "requested_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="requested by",
                    ),
                ),
                (
                    "stage",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="signoff_requests",
                        to="readiness.rolloutstage",
                        verbose_name="stage",
                    ),
                ),
            ],
            options={
                "verbose_name": "sign-off request",
                "ordering": ["launch", "stage__order", "function", "-created_at"],
                "permissions": [("decide_signoffrequest", "Can decide this sign-off request")],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("status__in", ["superseded", "withdrawn"]), _negated=True),
                        fields=("launch", "stage", "function"),
                        name="one_open_request_per_stage_and_function",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("approvals_required__gte", 1)), name="request_needs_an_approval"
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="SignoffDelegation",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("reason", models.TextField(blank=True, verbose_name="reason")),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="created at")),
                (
                    "delegate",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="delegate",
                    ),
                ),
                (
                    "delegator",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="delegator",
                    ),
                ),
                (
                    "request",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="delegations",
                        to="approvals.signoffrequest",
                        verbose_name="request",
                    ),
                ),
            ],
            options={
                "verbose_name": "sign-off delegation",
                "ordering": ["request", "created_at"],
                "constraints": [
                    models.UniqueConstraint(fields=("request", "delegator"), name="one_delegation_per_addressee"),
                    models.UniqueConstraint(fields=("request", "delegate"), name="one_delegation_per_delegate"),
                    models.CheckConstraint(
                        condition=models.Q(("delegator", models.F("delegate")), _negated=True),
                        name="delegate_is_someone_else",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="SignoffDecision",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "outcome",
                    models.CharField(
                        choices=[("approve", "Approve"), ("reject", "Reject"), ("request_changes", "Request changes")],
                        max_length=20,
                        verbose_name="outcome",
                    ),
                ),
                ("comment", models.TextField(blank=True, verbose_name="comment")),
                (
                    "fingerprint",
                    models.CharField(help_text="SHA-256 of the snapshot.", max_length=64, verbose_name="fingerprint"),
                ),
                (
                    "snapshot",
                    models.JSONField(
                        help_text="Canonical snapshot of the launch facts this decision covers.",
                        verbose_name="snapshot",
                    ),
                ),
                ("decided_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="decided at")),
                ("superseded_at", models.DateTimeField(blank=True, null=True, verbose_name="superseded at")),
                (
                    "decided_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="decided by",
                    ),
                ),
                (
                    "on_behalf_of",
                    models.ForeignKey(
                        help_text="The addressee this decision counts for: the decider, or who delegated to them.",
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="on behalf of",
                    ),
                ),
                (
                    "request",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="decisions",
                        to="approvals.signoffrequest",
                        verbose_name="request",
                    ),
                ),
            ],
            options={
                "verbose_name": "sign-off decision",
                "ordering": ["request", "decided_at"],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("superseded_at__isnull", True)),
                        fields=("request", "on_behalf_of"),
                        name="one_current_decision_per_addressee",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("outcome", "approve"), models.Q(("comment", ""), _negated=True), _connector="OR"
                        ),
                        name="rejection_and_change_request_need_a_comment",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="HistoricalSignoffRequest_addressees",
            fields=[
                ("id", models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name="ID")),
                ("m2m_history_id", models.AutoField(primary_key=True, serialize=False)),
                (
                    "history",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        to="approvals.historicalsignoffrequest",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        db_tablespace="",
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "signoffrequest",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        db_tablespace="",
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="approvals.signoffrequest",
                    ),
                ),
            ],
            options={
                "verbose_name": "HistoricalSignoffRequest_addressees",
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.AddField(
            model_name="historicalsignoffrequest",
            name="replaces",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                help_text="The request for the same sign-off this one superseded; its decisions stay on record.",
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="approvals.signoffrequest",
                verbose_name="replaces",
            ),
        ),
        migrations.CreateModel(
            name="HistoricalSignoffDelegation",
            fields=[
                ("id", models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name="ID")),
                ("reason", models.TextField(blank=True, verbose_name="reason")),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="created at")),
                ("history_id", models.AutoField(primary_key=True, serialize=False)),
                ("history_date", models.DateTimeField(db_index=True)),
                ("history_change_reason", models.CharField(max_length=100, null=True)),
                (
                    "history_type",
                    models.CharField(choices=[("+", "Created"), ("~", "Changed"), ("-", "Deleted")], max_length=1),
                ),
                (
                    "delegate",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="delegate",
                    ),
                ),
                (
                    "delegator",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="delegator",
                    ),
                ),
                (
                    "history_user",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "request",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="approvals.signoffrequest",
                        verbose_name="request",
                    ),
                ),
            ],
            options={
                "verbose_name": "historical sign-off delegation",
                "verbose_name_plural": "historical sign-off delegations",
                "ordering": ("-history_date", "-history_id"),
                "get_latest_by": ("history_date", "history_id"),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name="HistoricalSignoffDecision",
            fields=[
                ("id", models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name="ID")),
                (
                    "outcome",
                    models.CharField(
                        choices=[("approve", "Approve"), ("reject", "Reject"), ("request_changes", "Request changes")],
                        max_length=20,
                        verbose_name="outcome",
                    ),
                ),
                ("comment", models.TextField(blank=True, verbose_name="comment")),
                (
                    "fingerprint",
                    models.CharField(help_text="SHA-256 of the snapshot.", max_length=64, verbose_name="fingerprint"),
                ),
                (
                    "snapshot",
                    models.JSONField(
                        help_text="Canonical snapshot of the launch facts this decision covers.",
                        verbose_name="snapshot",
                    ),
                ),
                ("decided_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="decided at")),
                ("superseded_at", models.DateTimeField(blank=True, null=True, verbose_name="superseded at")),
                ("history_id", models.AutoField(primary_key=True, serialize=False)),
                ("history_date", models.DateTimeField(db_index=True)),
                ("history_change_reason", models.CharField(max_length=100, null=True)),
                (
                    "history_type",
                    models.CharField(choices=[("+", "Created"), ("~", "Changed"), ("-", "Deleted")], max_length=1),
                ),
                (
                    "decided_by",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="decided by",
                    ),
                ),
                (
                    "history_user",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "on_behalf_of",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        help_text="The addressee this decision counts for: the decider, or who delegated to them.",
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="on behalf of",
                    ),
                ),
                (
                    "request",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="approvals.signoffrequest",
                        verbose_name="request",
                    ),
                ),
            ],
            options={
                "verbose_name": "historical sign-off decision",
                "verbose_name_plural": "historical sign-off decisions",
                "ordering": ("-history_date", "-history_id"),
                "get_latest_by": ("history_date", "history_id"),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name="SignoffRequestGroupObjectPermission",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "content_object",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        to="approvals.signoffrequest",
                        verbose_name="content object",
                    ),
                ),
                ("group", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to="auth.group")),
                ("permission", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to="auth.permission")),
            ],
            options={
                "abstract": False,
                "unique_together": {("group", "permission", "content_object")},
            },
        ),
        migrations.CreateModel(
            name="SignoffRequestUserObjectPermission",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "content_object",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        to="approvals.signoffrequest",
                        verbose_name="content object",
                    ),
                ),
                ("permission", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to="auth.permission")),
                ("user", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to=settings.AUTH_USER_MODEL)),
            ],
            options={
                "abstract": False,
                "unique_together": {("user", "permission", "content_object")},
            },
        ),
        migrations.CreateModel(
            name="StagePolicy",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "consulted_must_acknowledge",
                    models.BooleanField(
                        default=False,
                        help_text="Entering the stage waits until every Consulted person has acknowledged.",
                        verbose_name="consulted must acknowledge",
                    ),
                ),
                (
                    "stage",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="signoff_policy",
                        to="readiness.rolloutstage",
                        verbose_name="stage",
                    ),
                ),
            ],
            options={
                "verbose_name": "stage sign-off policy",
                "verbose_name_plural": "stage sign-off policies",
            },
        ),
        migrations.CreateModel(
            name="SignoffRequirement",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "function",
                    models.CharField(
                        choices=[
                            ("legal", "Legal"),
                            ("security", "Security"),
                            ("compliance", "Compliance"),
                            ("customer_support", "Customer support"),
                            ("business", "Business"),
                            ("product", "Product"),
                            ("ml", "ML"),
                            ("platform", "Platform"),
                            ("data", "Data"),
                            ("qa", "QA"),
                            ("executive", "Executive"),
                        ],
                        max_length=20,
                        verbose_name="function",
                    ),
                ),
                (
                    "approvals_required",
                    models.PositiveSmallIntegerField(
                        default=1,
                        help_text="How many people of this function must approve; 0 means not required.",
                        validators=[django.core.validators.MaxValueValidator(5)],
                        verbose_name="approvals required",
                    ),
                ),
                (
                    "policy",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="requirements",
                        to="approvals.stagepolicy",
                        verbose_name="policy",
                    ),
                ),
            ],
            options={
                "verbose_name": "sign-off requirement",
                "ordering": ["policy", "function"],
                "constraints": [
                    models.UniqueConstraint(fields=("policy", "function"), name="requirement_function_once_per_policy"),
                    models.CheckConstraint(
                        condition=models.Q(("approvals_required__lte", 5)), name="requirement_at_most_five"
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="HistoricalSignoffRequirement",
            fields=[
                ("id", models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name="ID")),
                (
                    "function",
                    models.CharField(
                        choices=[
                            ("legal", "Legal"),
                            ("security", "Security"),
                            ("compliance", "Compliance"),
                            ("customer_support", "Customer support"),
                            ("business", "Business"),
                            ("product", "Product"),
                            ("ml", "ML"),
                            ("platform", "Platform"),
                            ("data", "Data"),
                            ("qa", "QA"),
                            ("executive", "Executive"),
                        ],
                        max_length=20,
                        verbose_name="function",
                    ),
                ),
                (
                    "approvals_required",
                    models.PositiveSmallIntegerField(
                        default=1,
                        help_text="How many people of this function must approve; 0 means not required.",
                        validators=[django.core.validators.MaxValueValidator(5)],
                        verbose_name="approvals required",
                    ),
                ),
                ("history_id", models.AutoField(primary_key=True, serialize=False)),
                ("history_date", models.DateTimeField(db_index=True)),
                ("history_change_reason", models.CharField(max_length=100, null=True)),
                (
                    "history_type",
                    models.CharField(choices=[("+", "Created"), ("~", "Changed"), ("-", "Deleted")], max_length=1),
                ),
                (
                    "history_user",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "policy",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="approvals.stagepolicy",
                        verbose_name="policy",
                    ),
                ),
            ],
            options={
                "verbose_name": "historical sign-off requirement",
                "verbose_name_plural": "historical sign-off requirements",
                "ordering": ("-history_date", "-history_id"),
                "get_latest_by": ("history_date", "history_id"),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name="StageStanding",
            fields=[
                (
                    "launch",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="stage_standing",
                        serialize=False,
                        to="readiness.launch",
                        verbose_name="launch",
                    ),
                ),
                ("holds", models.BooleanField(verbose_name="holds")),
                (
                    "reasons",
                    models.JSONField(
                        blank=True,
                        default=list,
                        help_text="Keys of the checklist items of the stage that no longer pass, in checklist order.",
                        verbose_name="reasons",
                    ),
                ),
                (
                    "since",
                    models.DateTimeField(
                        help_text="When the recertification first found the stage in this state.", verbose_name="since"
                    ),
                ),
                ("checked_at", models.DateTimeField(verbose_name="checked at")),
                (
                    "stage",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="readiness.rolloutstage",
                        verbose_name="stage",
                    ),
                ),
            ],
            options={
                "verbose_name": "stage standing",
                "verbose_name_plural": "stage standings",
            },
        ),
        migrations.CreateModel(
            name="Waiver",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("check_key", models.CharField(max_length=40, verbose_name="check key")),
                ("justification", models.TextField(verbose_name="justification")),
                ("expires_on", models.DateField(verbose_name="expires on")),
                ("requested_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="requested at")),
                (
                    "status",
                    models.CharField(
                        choices=[("pending", "Pending"), ("approved", "Approved"), ("rejected", "Rejected")],
                        default="pending",
                        max_length=10,
                        verbose_name="status",
                    ),
                ),
                ("decided_at", models.DateTimeField(blank=True, null=True, verbose_name="decided at")),
                ("decision_comment", models.TextField(blank=True, verbose_name="decision comment")),
                (
                    "decided_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="decided by",
                    ),
                ),
                (
                    "launch",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="waivers",
                        to="readiness.launch",
                        verbose_name="launch",
                    ),
                ),
                (
                    "requested_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="requested by",
                    ),
                ),
                (
                    "stage",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="waivers",
                        to="readiness.rolloutstage",
                        verbose_name="stage",
                    ),
                ),
            ],
            options={
                "verbose_name": "waiver",
                "verbose_name_plural": "waivers",
                "ordering": ["launch", "stage__order", "check_key"],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("status", "pending")),
                        fields=("stage", "check_key"),
                        name="one_pending_waiver_per_stage_and_item",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("decided_by", models.F("requested_by")), _negated=True),
                        name="waiver_not_decided_by_requester",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="Acknowledgement",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="created at")),
                ("acknowledged_at", models.DateTimeField(blank=True, null=True, verbose_name="acknowledged at")),
                ("comment", models.TextField(blank=True, verbose_name="comment")),
                (
                    "launch",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="acknowledgements",
                        to="readiness.launch",
                        verbose_name="launch",
                    ),
                ),
                (
                    "requested_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="requested by",
                    ),
                ),
                (
                    "stage",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="acknowledgements",
                        to="readiness.rolloutstage",
                        verbose_name="stage",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="user",
                    ),
                ),
            ],
            options={
                "verbose_name": "acknowledgement",
                "verbose_name_plural": "acknowledgements",
                "ordering": ["launch", "stage__order", "user__username"],
                "constraints": [
                    models.UniqueConstraint(fields=("stage", "user"), name="one_acknowledgement_per_person_and_stage")
                ],
            },
        ),
        migrations.CreateModel(
            name="InformedNotice",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="created at")),
                (
                    "launch",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="informed_notices",
                        to="readiness.launch",
                        verbose_name="launch",
                    ),
                ),
                (
                    "stage",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="informed_notices",
                        to="readiness.rolloutstage",
                        verbose_name="stage",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="user",
                    ),
                ),
            ],
            options={
                "verbose_name": "informed notice",
                "verbose_name_plural": "informed notices",
                "ordering": ["launch", "stage__order", "user__username"],
                "constraints": [
                    models.UniqueConstraint(fields=("stage", "user"), name="one_notice_per_person_and_stage")
                ],
            },
        ),
        migrations.CreateModel(
            name="PolicyChange",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "function",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("legal", "Legal"),
                            ("security", "Security"),
                            ("compliance", "Compliance"),
                            ("customer_support", "Customer support"),
                            ("business", "Business"),
                            ("product", "Product"),
                            ("ml", "ML"),
                            ("platform", "Platform"),
                            ("data", "Data"),
                            ("qa", "QA"),
                            ("executive", "Executive"),
                        ],
                        max_length=20,
                        verbose_name="function",
                    ),
                ),
                (
                    "approvals_required",
                    models.PositiveSmallIntegerField(
                        blank=True,
                        null=True,
                        validators=[django.core.validators.MaxValueValidator(5)],
                        verbose_name="approvals required",
                    ),
                ),
                (
                    "risk_tier",
                    models.CharField(
                        blank=True,
                        choices=[("low", "Low"), ("medium", "Medium"), ("high", "High")],
                        max_length=10,
                        verbose_name="risk tier",
                    ),
                ),
                ("justification", models.TextField(verbose_name="justification")),
                ("requested_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="requested at")),
                (
                    "status",
                    models.CharField(
                        choices=[("pending", "Pending"), ("approved", "Approved"), ("rejected", "Rejected")],
                        default="pending",
                        max_length=10,
                        verbose_name="status",
                    ),
                ),
                ("decided_at", models.DateTimeField(blank=True, null=True, verbose_name="decided at")),
                ("decision_comment", models.TextField(blank=True, verbose_name="decision comment")),
                (
                    "decided_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="decided by",
                    ),
                ),
                (
                    "launch",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="policy_changes",
                        to="readiness.launch",
                        verbose_name="launch",
                    ),
                ),
                (
                    "requested_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="requested by",
                    ),
                ),
                (
                    "stage",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="policy_changes",
                        to="readiness.rolloutstage",
                        verbose_name="stage",
                    ),
                ),
            ],
            options={
                "verbose_name": "policy change",
                "verbose_name_plural": "policy changes",
                "ordering": ["launch", "-requested_at"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(
                                ("approvals_required__isnull", False),
                                ("risk_tier", ""),
                                ("stage__isnull", False),
                                models.Q(("function", ""), _negated=True),
                            ),
                            models.Q(
                                ("approvals_required__isnull", True),
                                ("function", ""),
                                ("stage__isnull", True),
                                models.Q(("risk_tier", ""), _negated=True),
                            ),
                            _connector="OR",
                        ),
                        name="policy_change_is_a_requirement_or_a_risk_tier",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("decided_by", models.F("requested_by")), _negated=True),
                        name="policy_change_not_decided_by_requester",
                    ),
                    models.UniqueConstraint(
                        condition=models.Q(("stage__isnull", False), ("status", "pending")),
                        fields=("stage", "function"),
                        name="one_pending_requirement_change",
                    ),
                    models.UniqueConstraint(
                        condition=models.Q(("stage__isnull", True), ("status", "pending")),
                        fields=("launch",),
                        name="one_pending_risk_tier_change",
                    ),
                ],
            },
        ),
        migrations.RunPython(guard, migrations.RunPython.noop),
    ]
