"""The read models sit below the interfaces: neither they, nor a domain app, nor the reports import
``web``, and no read model names a page's URL (links are the interface's to build)."""

import ast
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
BELOW_WEB = ("readiness", "raci", "approvals", "operations", "presentation", "reports")


def _modules(package: str):
    for path in sorted((ROOT / package).rglob("*.py")):
        if "migrations" not in path.parts:
            yield path


def _imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", BELOW_WEB)
def test_nothing_below_the_pages_imports_web(package):
    offenders = {
        str(path.relative_to(ROOT)): sorted(name for name in _imported(path) if name.split(".")[0] == "web")
        for path in _modules(package)
    }
    assert not {path: names for path, names in offenders.items() if names}


def test_no_read_model_names_a_page_s_url():
    for path in _modules("presentation"):
        source = path.read_text(encoding="utf-8")
        assert "web:" not in source and "reverse(" not in source, path


def test_the_checker_sees_an_upward_import(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("from web.facts import x\nimport web.views\n", encoding="utf-8")
    assert _imported(module) == {"web.facts", "web.views"}
