"""docs/configuration.md's table is the one list of the environment variables an operator sets:
those config/settings.py and gunicorn.conf.py read, and those bin/start takes. Neither the table nor
the code may name a variable the other does not."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SETTINGS = PROJECT_ROOT / "config" / "settings.py"
GUNICORN_CONFIG = PROJECT_ROOT / "gunicorn.conf.py"
START_SCRIPT = PROJECT_ROOT / "bin" / "start"
DOC = PROJECT_ROOT / "docs" / "configuration.md"


def variables_read_by_settings() -> set[str]:
    """Every variable named in config/settings.py and gunicorn.conf.py by a call of config/env.py's
    readers (``env_int("NAME", ...)``), an ``env="NAME"`` keyword (dj-database-url), or
    ``os.environ`` / ``os.getenv``; and every ``${NAME:-default}`` bin/start takes (but the
    shell's own ``TMPDIR``)."""
    names = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*):[-+]", START_SCRIPT.read_text())) - {"TMPDIR"}
    for node in ast.walk(ast.parse(SETTINGS.read_text() + "\n" + GUNICORN_CONFIG.read_text())):
        if isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ":
            if isinstance(node.slice, ast.Constant):
                names.add(node.slice.value)
        if not isinstance(node, ast.Call):
            continue
        function = ast.unparse(node.func)
        first = node.args[0] if node.args else None
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            if function.startswith("env_") or function in {"os.environ.get", "os.getenv", "environ.get"}:
                names.add(first.value)
        names.update(
            keyword.value.value
            for keyword in node.keywords
            if keyword.arg == "env" and isinstance(keyword.value, ast.Constant)
        )
    return names


def variables_in_the_table() -> dict[str, int]:
    """The variables the table's first column names (`NAME`), with how often each is named."""
    counts: dict[str, int] = {}
    for line in DOC.read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not line.startswith("|") or len(cells) != 4:
            continue
        for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", cells[0]):
            counts[name] = counts.get(name, 0) + 1
    return counts


def test_the_reader_finds_the_variables_of_every_kind_of_reader():
    read = variables_read_by_settings()
    assert {"DEBUG", "SECRET_KEY", "DATABASE_URL", "SECURE_PROXY_SSL_HEADER", "SLACK_WEBHOOKS", "SITE_URL"} <= read
    assert {"TRUSTED_PROXIES", "LOG_LEVEL", "DEFAULT_FROM_EMAIL"} <= read
    assert {"WEB_CONCURRENCY", "BIND", "MIGRATE_ON_START", "CELERY_WORKER_CONCURRENCY"} <= read


def test_every_variable_the_settings_read_is_in_the_table():
    missing = variables_read_by_settings() - variables_in_the_table().keys()
    assert not missing, f"add these to docs/configuration.md's table: {sorted(missing)}"


def test_the_table_names_no_variable_the_settings_do_not_read_and_each_once():
    table = variables_in_the_table()
    stale = table.keys() - variables_read_by_settings()
    assert not stale, f"docs/configuration.md names variables config/settings.py does not read: {sorted(stale)}"
    assert [name for name, count in table.items() if count > 1] == []


def test_the_settings_docstring_points_to_the_table_rather_than_repeating_it():
    docstring = ast.get_docstring(ast.parse(SETTINGS.read_text()))
    assert "docs/configuration.md" in docstring
    assert not variables_read_by_settings() & set(re.findall(r"\b[A-Z][A-Z0-9_]{3,}\b", docstring)) - {"DEBUG"}
