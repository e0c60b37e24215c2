"""The ledger's models, moved here from ``approvals`` without touching the database.

``approvals`` 0022 forgets them and this migration takes them over (``SeparateDatabaseAndState``):
the tables keep their names (``approvals_ledgerentry``, ``approvals_ledgerhead``), so the rows, the
chain and the PostgreSQL triggers of ``approvals`` 0002 and 0006 stay as they are. Their content
types are relabelled, so permissions granted on them and the admin's log keep pointing at them."""

import django.db.models.deletion
from django.db import migrations, models

MODELS = ("ledgerentry", "ledgerhead")


def _relabel(apps, schema_editor, source: str, target: str) -> None:
    """Move the models' content types from ``source`` to ``target``, unless ``target`` already has
    one (then the old one is left as it is, stale, with whatever points at it)."""
    content_types = apps.get_model("contenttypes", "ContentType").objects.db_manager(schema_editor.connection.alias)
    for model in MODELS:
        if not content_types.filter(app_label=target, model=model).exists():
            content_types.filter(app_label=source, model=model).update(app_label=target)
    content_types.clear_cache()


def to_ledger(apps, schema_editor):
    _relabel(apps, schema_editor, "approvals", "ledger")


def to_approvals(apps, schema_editor):
    _relabel(apps, schema_editor, "ledger", "approvals")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("approvals", "0024_move_ledger_out"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("readiness", "0009_eval_run_acceptance"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="LedgerHead",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("sequence", models.PositiveBigIntegerField(default=0, verbose_name="sequence")),
                        (
                            "entry_hash",
                            models.CharField(
                                default="0000000000000000000000000000000000000000000000000000000000000000",
                                max_length=64,
                                verbose_name="entry hash",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "ledger head",
                        "verbose_name_plural": "ledger heads",
                        "db_table": "approvals_ledgerhead",
                    },
                ),
                migrations.CreateModel(
                    name="LedgerEntry",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("sequence", models.PositiveBigIntegerField(unique=True, verbose_name="sequence")),
                        (
                            "event",
                            models.CharField(
                                choices=[
                                    ("requested", "Sign-off requested"),
                                    ("decided", "Sign-off decided"),
                                    ("withdrawn", "Sign-off withdrawn"),
                                    ("delegated", "Sign-off delegated"),
                                    ("acknowledged", "Consultation acknowledged"),
                                    ("stage_advanced", "Stage advanced"),
                                    ("stage_rolled_back", "Stage rolled back"),
                                    ("waiver_requested", "Waiver requested"),
                                    ("waiver_decided", "Waiver decided"),
                                    ("policy_changed", "Sign-off policy changed"),
                                    ("policy_change_req", "Lowering the sign-off bar requested"),
                                    ("policy_change_dec", "Lowering the sign-off bar decided"),
                                    ("risk_tier_changed", "Risk tier changed"),
                                    ("bar_agreed", "Quality bar agreed"),
                                    ("bar_redefined", "Quality bar redefined; agreement cleared"),
                                    ("slo_agreed", "SLO target and alert agreed"),
                                    ("slo_redefined", "SLO target or alert changed; agreement cleared"),
                                    ("area_omitted", "Standard area left out, with the reason"),
                                    ("omission_withdrawn", "Reason for leaving out a standard area withdrawn"),
                                    ("data_declassified", "Personal or confidential data declassified or removed"),
                                    ("eval_run_accepted", "Evaluation run accepted as evidence"),
                                    ("incident_recorded", "Incident recorded"),
                                    ("incident_changed", "Incident changed"),
                                    ("incident_severity", "Incident severity changed"),
                                    ("postmortem_recorded", "Post-mortem recorded"),
                                    ("sli_recorded", "SLI actuals recorded"),
                                    ("failure_review", "Failure review recorded"),
                                    ("version_changed", "Serving version changed"),
                                    ("stage_lapsed", "Stage no longer holds"),
                                    ("stage_restored", "Stage holds again"),
                                    ("fact_recorded", "Facts recorded"),
                                ],
                                max_length=20,
                                verbose_name="event",
                            ),
                        ),
                        ("launch_slug", models.CharField(db_index=True, max_length=80, verbose_name="launch slug")),
                        (
                            "actor",
                            models.CharField(
                                help_text="Username of who acted, copied so deletes cannot erase it.",
                                max_length=150,
                                verbose_name="actor",
                            ),
                        ),
                        ("payload", models.JSONField(verbose_name="payload")),
                        ("snapshot_hash", models.CharField(blank=True, max_length=64, verbose_name="snapshot hash")),
                        ("previous_hash", models.CharField(max_length=64, verbose_name="previous hash")),
                        (
                            "entry_hash",
                            models.CharField(
                                help_text="HMAC-SHA256 with LEDGER_KEY.",
                                max_length=64,
                                unique=True,
                                verbose_name="entry hash",
                            ),
                        ),
                        ("created_at", models.DateTimeField(verbose_name="created at")),
                        (
                            "launch_state",
                            models.JSONField(
                                default=dict,
                                help_text="The launch's risk tier and current stage after the event.",
                                verbose_name="launch state",
                            ),
                        ),
                        (
                            "seals",
                            models.JSONField(
                                default=list,
                                help_text="Digests of the history rows the event wrote.",
                                verbose_name="seals",
                            ),
                        ),
                        (
                            "launch",
                            models.ForeignKey(
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="ledger_entries",
                                to="readiness.launch",
                                verbose_name="launch",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "ledger entry",
                        "verbose_name_plural": "ledger entries",
                        "db_table": "approvals_ledgerentry",
                        "ordering": ["sequence"],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(to_ledger, to_approvals),
    ]
