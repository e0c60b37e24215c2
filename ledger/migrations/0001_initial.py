"""The ledger's models, taken over from ``approvals`` with their tables.

``approvals`` 0024 forgets them and this migration takes them over (``SeparateDatabaseAndState``):
the tables keep their names (``approvals_ledgerentry``, ``approvals_ledgerhead``), so on a database
that ran ``approvals``' old chain the rows, the chain and the PostgreSQL guards of ``approvals`` 0002
and 0006 stay as they are. A fresh database runs ``approvals``' squashed migration, which no longer
knows these models: here it gets their tables and, on PostgreSQL, their guards (``GUARDS``, written
so that running them again over the old chain's changes nothing). Their content types are
relabelled, so permissions granted on them and the admin's log keep pointing at them."""

import django.db.models.deletion
from django.db import migrations, models

from ledger.moved_tables import content_types_moved, tables_unless_present

MODELS = ("LedgerHead", "LedgerEntry")

# On PostgreSQL: entries are append-only; the head only moves forward one entry at a time and is
# never deleted (so it cannot be rolled back to hide entries cut off the end); TRUNCATE of either
# is refused; every guard fires ALWAYS, also for a session with session_replication_role = replica.
# A superuser or the tables' owner can still drop a trigger: the README says to run the app as a
# role that owns nothing, and verify_ledger (the keyed MAC, the cross-checks, the anchors) catches
# what such a person changes.
GUARDS = """
CREATE OR REPLACE FUNCTION approvals_ledger_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'approvals_ledgerentry is append-only: % refused', TG_OP;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION approvals_refuse_truncate() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is part of the sign-off record: TRUNCATE refused', TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION approvals_ledger_head_forward_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.id = OLD.id AND NEW.sequence = OLD.sequence + 1 THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'approvals_ledgerhead only moves forward one entry at a time: % refused', TG_OP;
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS approvals_ledger_append_only ON approvals_ledgerentry;
CREATE TRIGGER approvals_ledger_append_only BEFORE UPDATE OR DELETE ON approvals_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION approvals_ledger_append_only();
DROP TRIGGER IF EXISTS approvals_ledger_no_truncate ON approvals_ledgerentry;
CREATE TRIGGER approvals_ledger_no_truncate BEFORE TRUNCATE ON approvals_ledgerentry
    FOR EACH STATEMENT EXECUTE FUNCTION approvals_refuse_truncate();
DROP TRIGGER IF EXISTS approvals_ledger_head_no_truncate ON approvals_ledgerhead;
CREATE TRIGGER approvals_ledger_head_no_truncate BEFORE TRUNCATE ON approvals_ledgerhead
    FOR EACH STATEMENT EXECUTE FUNCTION approvals_refuse_truncate();
DROP TRIGGER IF EXISTS approvals_ledger_head_forward_only ON approvals_ledgerhead;
CREATE TRIGGER approvals_ledger_head_forward_only BEFORE UPDATE OR DELETE ON approvals_ledgerhead
    FOR EACH ROW EXECUTE FUNCTION approvals_ledger_head_forward_only();

ALTER TABLE approvals_ledgerentry ENABLE ALWAYS TRIGGER approvals_ledger_append_only;
ALTER TABLE approvals_ledgerentry ENABLE ALWAYS TRIGGER approvals_ledger_no_truncate;
ALTER TABLE approvals_ledgerhead ENABLE ALWAYS TRIGGER approvals_ledger_head_no_truncate;
ALTER TABLE approvals_ledgerhead ENABLE ALWAYS TRIGGER approvals_ledger_head_forward_only;
"""

# Every guard, by table, for the test suite's flush (tests/conftest.py).
GUARDED = {
    "approvals_ledgerentry": ("approvals_ledger_append_only", "approvals_ledger_no_truncate"),
    "approvals_ledgerhead": ("approvals_ledger_head_no_truncate", "approvals_ledger_head_forward_only"),
}


def guard(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(GUARDS, params=None)


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
        tables_unless_present("ledger", MODELS),
        migrations.RunPython(guard, migrations.RunPython.noop),
        content_types_moved(MODELS, source="approvals", target="ledger"),
    ]
