"""On PostgreSQL, refuse UPDATE and DELETE on ledger entries, and any change to a sign-off decision
other than marking it superseded, at the database level too."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION approvals_ledger_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'approvals_ledgerentry is append-only: % refused', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER approvals_ledger_append_only
    BEFORE UPDATE OR DELETE ON approvals_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION approvals_ledger_append_only();

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
CREATE TRIGGER approvals_decision_only_superseded
    BEFORE UPDATE OR DELETE ON approvals_signoffdecision
    FOR EACH ROW EXECUTE FUNCTION approvals_decision_only_superseded();
"""

DROP = """
DROP TRIGGER IF EXISTS approvals_decision_only_superseded ON approvals_signoffdecision;
DROP FUNCTION IF EXISTS approvals_decision_only_superseded();
DROP TRIGGER IF EXISTS approvals_ledger_append_only ON approvals_ledgerentry;
DROP FUNCTION IF EXISTS approvals_ledger_append_only();
"""


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("approvals", "0001_initial")]

    operations = [migrations.RunPython(create_trigger, drop_trigger)]
