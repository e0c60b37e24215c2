"""On PostgreSQL, refuse an UPDATE that moves a stakeholder row to another user account: the row is
one person's identity (teams, executive standing, roles), and the model refuses the same change.
The guard fires ALWAYS, also for a session with ``session_replication_role = replica``."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION raci_stakeholder_user_never_changes() RETURNS trigger AS $$
BEGIN
    IF NEW.user_id IS DISTINCT FROM OLD.user_id THEN
        RAISE EXCEPTION 'raci_stakeholder %: the user account never changes (% to %) refused',
            OLD.id, OLD.user_id, NEW.user_id;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER raci_stakeholder_user_never_changes BEFORE UPDATE ON raci_stakeholder
    FOR EACH ROW EXECUTE FUNCTION raci_stakeholder_user_never_changes();
ALTER TABLE raci_stakeholder ENABLE ALWAYS TRIGGER raci_stakeholder_user_never_changes;
"""

DROP = """
DROP TRIGGER IF EXISTS raci_stakeholder_user_never_changes ON raci_stakeholder;
DROP FUNCTION IF EXISTS raci_stakeholder_user_never_changes();
"""


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("raci", "0005_stakeholder_executive")]

    operations = [migrations.RunPython(create_trigger, drop_trigger)]
