"""Services never spell a command line: an option is named ``{name}`` in an error (the CLI's
boundary makes it the flag) or in plain words. The exceptions are text written for a person to
read as instructions: spec §12's ``map_value`` suggestion, the import template's instructions
sheet and the import summary's note on how to read a column as stages."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import crmcli

FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]+")
SERVICES = Path(crmcli.__file__).parent / "services"
ALLOWED = {
    ("importer/options.py", "--map-value"),  # spec §12: unknown_values' "map_value": "--map-value 'FIELD:VALUE=KEY' ..."
    ("export_template.py", "--on-duplicate"),  # the template's instructions sheet: how to import it again
    ("importer/__init__.py", "--map"),  # the summary's note: "--map 'COLUMN=stage' reads it as one"
}


def _strings(tree: ast.AST) -> list[tuple[int, str]]:
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


def test_no_service_spells_a_flag() -> None:
    found = []
    for path in sorted(SERVICES.rglob("*.py")):
        rel = path.relative_to(SERVICES).as_posix()
        for line, text in _strings(ast.parse(path.read_text(encoding="utf-8"))):
            for flag in FLAG.findall(text):
                if (rel, flag) not in ALLOWED:
                    found.append(f"services/{rel}:{line}: {flag} in {text!r}")
    assert found == []


def test_the_scan_sees_a_flag() -> None:
    tree = ast.parse('def f():\n    """--doc is fine"""\n    raise ValueError(f"--sort {x}: bad")\n')
    assert [flag for _, t in _strings(tree) for flag in FLAG.findall(t)] == ["--sort"]


def test_io_and_output_modules_never_import_services_or_cli() -> None:
    """The arrows of style.md: cli -> services -> store; io and the renderers beside them, reading
    shared facts (fields, vocab, export_layout), never importing upward (type hints aside)."""
    root = Path(crmcli.__file__).parent
    modules = [*sorted((root / "io").glob("*.py")), *(root / n for n in ("render.py", "render_more.py", "grid.py", "report_view.py"))]
    upward = []
    for path in modules:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        hints = {
            id(inner)
            for node in ast.walk(tree)
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
            for inner in ast.walk(node)
        }
        for node in ast.walk(tree):
            if id(node) in hints:
                continue
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names += [f"{node.module}.{a.name}" for a in node.names] if isinstance(node, ast.ImportFrom) and node.module == "crmcli" else []
            upward += [f"{path.relative_to(root)}:{node.lineno}: {n}" for n in names if n.startswith(("crmcli.services", "crmcli.cli"))]
    assert upward == []
