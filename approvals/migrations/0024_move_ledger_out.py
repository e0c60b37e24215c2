"""The ledger's models move to the ``ledger`` app (its 0001 takes them over): ``approvals`` forgets
them without touching the database, so their tables, rows and triggers stay as they are."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("approvals", "0023_move_notifications_out")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(model_name="ledgerentry", name="launch"),
                migrations.DeleteModel(name="LedgerHead"),
                migrations.DeleteModel(name="LedgerEntry"),
            ],
            database_operations=[],
        ),
    ]
