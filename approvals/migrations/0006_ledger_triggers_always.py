"""On PostgreSQL, make the ledger's guards hold against more than row edits:

* ``TRUNCATE`` of ledger entries, decisions or the head is refused (a statement trigger);
* the head row can only move forward one entry at a time and cannot be deleted, so it cannot be
  rolled back to hide entries cut off the end;
* every guard fires ``ALWAYS``, also for a session with ``session_replication_role = replica``
  (which otherwise skips ordinary triggers).

A superuser or the tables' owner can still drop a trigger: the README says to run the app as a
role that owns nothing, and ``verify_ledger`` (the keyed MAC, the cross-checks and the anchors)
catches what such a person changes."""

from django.db import migrations

CREATE = """
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

CREATE TRIGGER approvals_ledger_no_truncate BEFORE TRUNCATE ON approvals_ledgerentry
    FOR EACH STATEMENT EXECUTE FUNCTION approvals_refuse_truncate();
CREATE TRIGGER approvals_decision_no_truncate BEFORE TRUNCATE ON approvals_signoffdecision
    FOR EACH STATEMENT EXECUTE FUNCTION approvals_refuse_truncate();
CREATE TRIGGER approvals_ledger_head_no_truncate BEFORE TRUNCATE ON approvals_ledgerhead
    FOR EACH STATEMENT EXECUTE FUNCTION approvals_refuse_truncate();
CREATE TRIGGER approvals_ledger_head_forward_only BEFORE UPDATE OR DELETE ON approvals_ledgerhead
    FOR EACH ROW EXECUTE FUNCTION approvals_ledger_head_forward_only();

ALTER TABLE approvals_ledgerentry ENABLE ALWAYS TRIGGER approvals_ledger_append_only;
ALTER TABLE approvals_ledgerentry ENABLE ALWAYS TRIGGER approvals_ledger_no_truncate;
ALTER TABLE approvals_signoffdecision ENABLE ALWAYS TRIGGER approvals_decision_only_superseded;
ALTER TABLE approvals_signoffdecision ENABLE ALWAYS TRIGGER approvals_decision_no_truncate;
ALTER TABLE approvals_ledgerhead ENABLE ALWAYS TRIGGER approvals_ledger_head_no_truncate;
ALTER TABLE approvals_ledgerhead ENABLE ALWAYS TRIGGER approvals_ledger_head_forward_only;
"""

DROP = """
ALTER TABLE approvals_ledgerentry ENABLE TRIGGER approvals_ledger_append_only;
ALTER TABLE approvals_signoffdecision ENABLE TRIGGER approvals_decision_only_superseded;
DROP TRIGGER IF EXISTS approvals_ledger_head_forward_only ON approvals_ledgerhead;
DROP TRIGGER IF EXISTS approvals_ledger_head_no_truncate ON approvals_ledgerhead;
DROP TRIGGER IF EXISTS approvals_decision_no_truncate ON approvals_signoffdecision;
DROP TRIGGER IF EXISTS approvals_ledger_no_truncate ON approvals_ledgerentry;
DROP FUNCTION IF EXISTS approvals_ledger_head_forward_only();
DROP FUNCTION IF EXISTS approvals_refuse_truncate();
"""

# Every guard, by table, for the test suite's flush (tests/conftest.py).
GUARDED = {
    "approvals_ledgerentry": ("approvals_ledger_append_only", "approvals_ledger_no_truncate"),
    "approvals_signoffdecision": ("approvals_decision_only_superseded", "approvals_decision_no_truncate"),
    "approvals_ledgerhead": ("approvals_ledger_head_no_truncate", "approvals_ledger_head_forward_only"),
}


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("approvals", "0005_ledger_mac_policy_changes")]

    operations = [migrations.RunPython(create_triggers, drop_triggers)]
