"""For the migrations of an app that took its models over from another app with their tables.

The ledger's and the notifications' models were made by ``approvals``' old migrations and moved
with ``SeparateDatabaseAndState``: a database that ran that chain has the tables, rows and triggers
already, and the new app's first migration only creates the models in its state. A fresh database
runs ``approvals``' squashed migration instead, which no longer knows these models, so the new
app's first migration must create their tables there. These operations do the one or the other by
what the database holds, and move the models' content types (and so the permissions granted on
them) to the new app."""

from __future__ import annotations

from django.db import migrations


def tables_unless_present(app_label: str, model_names: tuple[str, ...]) -> migrations.RunPython:
    """Create the tables of ``model_names`` as the migration state has them, on a database that
    has none of them yet (a fresh one). A database that ran the old chain keeps its own."""

    def create(apps, schema_editor) -> None:
        existing = set(schema_editor.connection.introspection.table_names())
        for name in model_names:
            model = apps.get_model(app_label, name)
            if model._meta.db_table not in existing:
                schema_editor.create_model(model)

    return migrations.RunPython(create, migrations.RunPython.noop)


def content_types_moved(model_names: tuple[str, ...], source: str, target: str) -> migrations.RunPython:
    """Move the content types of ``model_names`` from ``source`` to ``target``. Where ``target``
    already has one (``migrate`` made it before this ran), its permissions take over the old one's
    and the old one goes."""

    def relabel(apps, schema_editor, from_label: str, to_label: str) -> None:
        alias = schema_editor.connection.alias
        content_types = apps.get_model("contenttypes", "ContentType").objects.db_manager(alias)
        permissions = apps.get_model("auth", "Permission").objects.db_manager(alias)
        for model in (name.lower() for name in model_names):
            old = content_types.filter(app_label=from_label, model=model).first()
            if old is None:
                continue
            new = content_types.filter(app_label=to_label, model=model).first()
            if new is None:
                old.app_label = to_label
                old.save(update_fields=["app_label"])
                continue
            taken = set(permissions.filter(content_type=new).values_list("codename", flat=True))
            permissions.filter(content_type=old).exclude(codename__in=taken).update(content_type=new)
            old.delete()
        content_types.clear_cache()

    def forwards(apps, schema_editor) -> None:
        relabel(apps, schema_editor, source, target)

    def backwards(apps, schema_editor) -> None:
        relabel(apps, schema_editor, target, source)

    return migrations.RunPython(forwards, backwards)
