"""The layers stay where they are: pages talk to ui.* and the services, the one read side is the
only caller of compliance.evaluate, and there is one way to open a session for the app."""

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted([ROOT / "app.py", *(ROOT / "app_pages").glob("*.py")])
PRODUCT = sorted(path for folder in ("core", "db", "ui", "app_pages", "api")
                 for path in (ROOT / folder).rglob("*.py")) + [ROOT / "app.py"]
# What a page may import: the toolkit, the widgets and caches of ui, the services, and the
# shared vocabulary (permissions, errors, periods).
PAGE_IMPORTS = ("streamlit", "pandas", "altair", "ui", "core.services", "core.permissions",
                "core.errors", "core.periods")
READ_SIDE = ROOT / "core" / "services" / "measurement.py"
# The entry points that open units of work: the pages' call(), the command line, the REST API's
# routes and the worker's jobs; and the engine module that makes them.
SESSION_SOURCES = {ROOT / "ui" / "services.py", ROOT / "core" / "cli.py", ROOT / "db" / "engine.py",
                   ROOT / "api" / "app.py", ROOT / "core" / "worker.py"}


def imported(path: Path) -> list[str]:
    """Every module a file imports (from-imports as "package.name" too)."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names += [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
    return names


def allowed_on_a_page(module: str) -> bool:
    top = module.split(".")[0]
    if top in sys.stdlib_module_names:
        return True
    if module == "core":  # `from core import x`: judged by x
        return True
    return any(module == allowed or module.startswith(f"{allowed}.")
               for allowed in PAGE_IMPORTS)


@pytest.mark.parametrize("page", PAGES, ids=lambda path: path.name)
def test_a_page_imports_neither_db_nor_a_domain_module(page):
    refused = sorted({module for module in imported(page) if not allowed_on_a_page(module)})
    assert not refused, f"{page.name} imports {refused}: ask core.services, or a ui helper"


def test_the_checker_would_catch_a_page_that_reaches_past_the_services(tmp_path):
    page = tmp_path / "page.py"
    page.write_text("from db.engine import get_session\nfrom core import compliance\n"
                    "import streamlit as st\nfrom core.services import measurement\n")
    refused = {module for module in imported(page) if not allowed_on_a_page(module)}
    assert refused == {"db.engine", "db.engine.get_session", "core.compliance"}


def calls_evaluate(path: Path) -> bool:
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            function = node.func
            if (isinstance(function, ast.Attribute) and function.attr == "evaluate"
                    and isinstance(function.value, ast.Name)
                    and function.value.id == "compliance"):
                return True
        if isinstance(node, ast.ImportFrom) and node.module == "core.compliance" and any(
                alias.name == "evaluate" for alias in node.names):
            return True
    return False


def test_exactly_one_module_calls_compliance_evaluate():
    callers = [path for path in PRODUCT if calls_evaluate(path)]
    assert callers == [READ_SIDE]


def test_the_app_opens_sessions_in_one_place():
    opening = {path for path in PRODUCT
               if any(name in ("db.engine.get_session", "db.engine.session_scope")
                      for name in imported(path))
               or "Session(" in path.read_text()}
    assert opening <= SESSION_SOURCES, sorted(str(p.relative_to(ROOT)) for p in
                                              opening - SESSION_SOURCES)
