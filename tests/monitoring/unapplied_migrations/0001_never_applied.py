"""A migration no database has applied, for /readyz's migrations check (MIGRATION_MODULES in the test)."""

from django.db import migrations


class Migration(migrations.Migration):
    operations = [migrations.RunPython(migrations.RunPython.noop)]
