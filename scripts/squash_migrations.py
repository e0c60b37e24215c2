#!/usr/bin/env python
"""Squash apps' migrations by regenerating them from the models (see docs/performance.md, "First run").

``manage.py squashmigrations`` replays every operation and leaves most of them: Django's optimizer
cannot fold a field or constraint change into its ``CreateModel`` across the other models created
in between, so a squash of 250 operations keeps 246, and a fresh ``migrate`` still re-renders the
project state for each. This script writes, for each app named (give them in dependency order):

    <app>/migrations/0001_squashed_<last>.py

holding one ``CreateModel`` per model as the models define it now (``makemigrations`` run against
an empty migrations package, so the schema is the one the old chain ends with), every constraint
and index folded into its ``CreateModel``, ``replaces`` naming the whole old chain, and the other
squashed apps depended on by their squashed names. The old files stay: a database that ran
them has the squash marked applied; one part-way finishes the old chain.

What it cannot regenerate it lists: the replaced migrations' ``RunPython`` and ``RunSQL``. Copy into
the squash, by hand, every one a fresh database needs (PostgreSQL triggers, rows the code expects);
leave out those that only converted existing rows. A model moved to another app with a state-only
``SeparateDatabaseAndState`` keeps the table the old chain made, which a fresh database running the
squash no longer gets: the receiving app's own first migration must create it when it is missing
(``ledger.moved_tables``) and carry the table's triggers. Do not squash the receiving app over that
migration: a database that ran the old chain has not applied it yet, so would run the squash and
create a table it already has.
Then check: ``makemigrations --check``, a fresh ``migrate`` on SQLite and PostgreSQL (triggers in
``pg_trigger``), and ``tests/upgrade/``.

Apps whose migrations depend on a squashed app and are not squashed with it are left out while the
models are read (their migrations name the old chain); an app squashed after one left out is refused.

Run: ``.venv/bin/python scripts/squash_migrations.py readiness raci operations reports``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SETTINGS = """\
from {settings} import *  # noqa: F403

MIGRATION_MODULES = {modules!r}
"""


def setup(settings_module: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def old_chain(app: str) -> list[str]:
    from django.apps import apps

    folder = Path(apps.get_app_config(app).path) / "migrations"
    return sorted(p.stem for p in folder.glob("[0-9]*.py") if "_squashed_" not in p.stem)


def dependants(squashed: list[str]) -> set[str]:
    """Apps, not squashed, with a migration depending on a squashed app. A squashed app that itself
    depends on one of them is refused: it could not be regenerated without it."""
    from django.db.migrations.loader import MigrationLoader

    nodes = MigrationLoader(None, ignore_no_migrations=True).graph.nodes
    found = {
        app
        for (app, _name), node in nodes.items()
        if app not in squashed and any(dep[0] in squashed for dep in node.dependencies)
    }
    for (app, name), node in nodes.items():
        needed = {dep[0] for dep in node.dependencies} & found
        if app in squashed and needed:
            raise SystemExit(f"{app}.{name} depends on {', '.join(sorted(needed))}: squash it too, in order.")
    return found


def hand_work(app: str, chain: list[str]) -> list[str]:
    """The replaced migrations' RunPython and RunSQL, which the squash does not carry, and their
    state-only operations (SeparateDatabaseAndState), whose tables another app's migrations made."""
    from django.db import migrations

    found = []
    for name in chain:
        for operation in importlib.import_module(f"{app}.migrations.{name}").Migration.operations:
            if isinstance(operation, migrations.RunPython | migrations.RunSQL | migrations.SeparateDatabaseAndState):
                kind = type(operation).__name__
                found.append(f"{app}.{name}: {kind}{' (elidable)' if operation.elidable else ''}")
    return found


def state_only(app: str) -> list[str]:
    """An app left out that creates models in its state only: their tables were made by a squashed
    app's old chain, which a fresh database no longer runs."""
    from django.db import migrations
    from django.db.migrations.loader import MigrationLoader

    nodes = MigrationLoader(None, ignore_no_migrations=True).graph.nodes
    return [
        f"{app}.{name}"
        for (label, name), migration in sorted(nodes.items())
        if label == app and any(isinstance(op, migrations.SeparateDatabaseAndState) for op in migration.operations)
    ]


def fold_into_create_model(path: Path, module: str, app: str) -> None:
    """Fold each constraint, index and unique_together of the regenerated migration into its
    model's CreateModel (with Django's own reduction), unless a field was added to the model after
    its creation (a foreign key the autodetector had to put off): that one stays where it is."""
    from django.db import migrations
    from django.db.migrations.writer import MigrationWriter

    foldable = migrations.AddConstraint | migrations.AddIndex | migrations.AlterUniqueTogether
    migration = importlib.import_module(module).Migration(path.stem, app)
    operations, created, widened = [], {}, set()
    for operation in migration.operations:
        name = getattr(operation, "model_name_lower", None) or getattr(operation, "name_lower", None)
        if isinstance(operation, migrations.AddField):
            widened.add(name)
        if isinstance(operation, foldable) and name in created and name not in widened:
            index = created[name]
            (operations[index],) = operations[index].reduce(operation, app)
            continue
        if isinstance(operation, migrations.CreateModel):
            created[operation.name_lower] = len(operations)
        operations.append(operation)
    migration.operations = operations
    path.write_text(MigrationWriter(migration).as_string())


def finish(app: str, source: str, chain: list[str], names: dict[str, str]) -> str:
    """The regenerated migration, with its header, ``replaces`` and the squashed names depended on."""
    lines = source.splitlines(keepends=True)
    assert lines[0].startswith("# Generated by Django"), lines[0]
    header = (
        f'"""The {app} migrations {chain[0]} to {chain[-1]} in one, regenerated from the\n'
        "models rather than replayed (scripts/squash_migrations.py).\n"
        "A fresh database runs this; one that ran the old chain has it marked applied; one part-way through\n"
        'finishes the old chain, which is kept until every database has passed it."""\n'
    )
    text = header + "".join(lines[1:])
    for other, name in names.items():
        text = text.replace(f"('{other}', '0001_initial')", f"('{other}', '{name}')")
    replaces = "    replaces = [\n" + "".join(f"        ('{app}', '{old}'),\n" for old in chain) + "    ]\n"
    return text.replace("    initial = True\n", "    initial = True\n\n" + replaces, 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("apps", nargs="+", help="app labels, each after the apps it depends on")
    args = parser.parse_args()
    settings_module = os.environ.get("DJANGO_SETTINGS_MODULE", "config.settings")
    setup(settings_module)
    from django.apps import apps

    chains = {app: old_chain(app) for app in args.apps}
    names = {app: f"0001_squashed_{chain[-1]}" for app, chain in chains.items()}
    for app, name in names.items():
        target = Path(apps.get_app_config(app).path) / "migrations" / f"{name}.py"
        if target.exists():
            raise SystemExit(f"{target} exists already.")
    left_out = dependants(args.apps)
    with tempfile.TemporaryDirectory(prefix="preflight-squash-") as folder:
        package = Path(folder) / "regenerated"
        modules: dict[str, str | None] = dict.fromkeys(sorted(left_out))
        for app in args.apps:
            (package / app).mkdir(parents=True)
            (package / app / "__init__.py").write_text("")
            modules[app] = f"regenerated.{app}"
        (package / "__init__.py").write_text("")
        (Path(folder) / "squash_settings.py").write_text(SETTINGS.format(settings=settings_module, modules=modules))
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "squash_settings", "PYTHONPATH": folder}
        # One app at a time, in order: each then depends on the migration of the ones before it,
        # instead of makemigrations splitting the apps' foreign keys into second migrations.
        for app in args.apps:
            subprocess.run(
                [sys.executable, str(ROOT / "manage.py"), "makemigrations", app, "--name", "initial", "-v0"],
                check=True,
                env=env,
                cwd=ROOT,
            )
            generated = sorted((package / app).glob("0*.py"))
            if [p.name for p in generated] != ["0001_initial.py"]:
                raise SystemExit(f"{app}: expected one regenerated migration, got {[p.name for p in generated]}.")
        sys.path.insert(0, folder)
        for app in args.apps:
            path = package / app / "0001_initial.py"
            fold_into_create_model(path, f"regenerated.{app}.0001_initial", app)
            target = Path(apps.get_app_config(app).path) / "migrations" / f"{names[app]}.py"
            target.write_text(finish(app, path.read_text(), chains[app], names))
            print(f"Wrote {target.relative_to(ROOT)} (replaces {len(chains[app])} migrations).")
    if left_out:
        print(f"Left out while the models were read (they depend on a squashed app): {', '.join(sorted(left_out))}.")
        moved = [name for app in sorted(left_out) for name in state_only(app)]
        if moved:
            print(
                "WARNING: these take over tables in their state, made by the old chain a fresh database no longer "
                f"runs; each must create them when missing (ledger.moved_tables): {', '.join(moved)}."
            )
    todo = [line for app in args.apps for line in hand_work(app, chains[app])]
    if todo:
        print("Not carried; copy into the squash by hand what a fresh database needs:")
        print("\n".join(f"  {line}" for line in todo))
    return 0


if __name__ == "__main__":
    sys.exit(main())
