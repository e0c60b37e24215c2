"""The apps' one-way arrows (``.importlinter``, checked by ``lint-imports`` in ``make lint``) hold,
every project app is in them, and no code below the interfaces names a page's URL."""

import configparser
import re
from pathlib import Path

from django.apps import apps
from django.conf import settings
from importlinter.cli import lint_imports

ROOT = Path(settings.BASE_DIR)
CONTRACT = ROOT / ".importlinter"
# Below the interfaces: links to pages are built by web (views, templates) or by a model's
# get_absolute_url, never by a service, selector or read model.
BELOW_THE_INTERFACES = ("readiness", "ledger", "raci", "notifications", "approvals", "operations", "presentation")


def _layers() -> list[str]:
    parser = configparser.ConfigParser()
    parser.read(CONTRACT)
    lines = parser["importlinter:contract:layers"]["layers"].split("\n")
    return [app.strip() for line in lines for app in line.split("|") if app.strip()]


def test_no_app_imports_one_above_it(tmp_path):
    assert lint_imports(config_filename=str(CONTRACT), cache_dir=str(tmp_path), no_logo=True) == 0


def test_the_check_refuses_an_upward_import(tmp_path):
    """The contract, tried on a copy of itself that puts ``web`` below ``readiness``, is broken:
    the check can fail."""
    upside_down = CONTRACT.read_text(encoding="utf-8").replace("    config\n    web\n", "    config\n", 1)
    upside_down = upside_down.replace("    readiness\nignore_imports", "    readiness\n    web\nignore_imports", 1)
    contract = tmp_path / "upside-down.ini"
    contract.write_text(upside_down, encoding="utf-8")
    assert lint_imports(config_filename=str(contract), cache_dir=str(tmp_path), no_logo=True) == 1


def test_every_project_app_has_a_layer():
    project_apps = {config.label for config in apps.get_app_configs() if Path(config.path).parent == ROOT}
    assert project_apps - set(_layers()) == set()


def test_nothing_below_the_interfaces_names_a_page_outside_get_absolute_url():
    offenders = []
    for package in BELOW_THE_INTERFACES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            source = path.read_text(encoding="utf-8")
            for match in re.finditer(r"reverse\(\s*[\"']web:", source):
                line = source.count("\n", 0, match.start()) + 1
                function = re.findall(r"^\s*def (\w+)", source[: match.start()], flags=re.M)
                if not (path.name == "models.py" and function and function[-1] == "get_absolute_url"):
                    offenders.append(f"{path.relative_to(ROOT)}:{line}")
    assert offenders == []
