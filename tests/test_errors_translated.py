"""Every error a user can read goes through the catalog: each construction of a ``CrmError``
subclass in ``src/crmcli`` passes an English template marked ``N_("...")`` (translated when it is
shown, see ``crmcli.errors``), whose placeholders are all given -- as a value or as an option the
CLI spells as a flag. An f-string or a plain literal would reach a Chinese user in English."""

from __future__ import annotations

import ast
import string
from pathlib import Path

import crmcli

SRC = Path(crmcli.__file__).parent
# Their constructors take data and build the message from their own marked template.
OWN_TEMPLATE = {"NoMatch", "Ambiguous", "UnknownValue"}
# Errors of the program itself (a bug, an impossible state), not a user's: never shown as "Error:".
ALREADY_SHOWN = {"BadParameter", "fail"}  # typer/click and the boundary: text already translated


def error_classes(files: list[tuple[Path, ast.Module]]) -> set[str]:
    known = {"CrmError"}
    while True:
        more = {
            node.name
            for _, tree in files
            for node in ast.walk(tree)
            if isinstance(node, ast.ClassDef)
            and any((b.id if isinstance(b, ast.Name) else getattr(b, "attr", "")) in known for b in node.bases)
        }
        if more <= known:
            return known
        known |= more


def _name(func: ast.expr) -> str:
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def _marked(expr: ast.expr, assigned: dict[str, list[ast.expr]]) -> list[str] | None:
    """The templates ``expr`` can be when each is marked for the catalog, else None."""
    if isinstance(expr, ast.Call) and _name(expr.func) == "N_" and len(expr.args) == 1:
        arg = expr.args[0]
        return [arg.value] if isinstance(arg, ast.Constant) and isinstance(arg.value, str) else None
    if isinstance(expr, ast.IfExp):
        a, b = _marked(expr.body, assigned), _marked(expr.orelse, assigned)
        return a + b if a is not None and b is not None else None
    if isinstance(expr, ast.Attribute) and expr.attr == "message":
        return []  # an error's own (marked) template, raised again with other values
    if isinstance(expr, ast.Name) and assigned.get(expr.id):
        found: list[str] = []
        for value in assigned[expr.id]:
            one = _marked(value, assigned)
            if one is None:
                return None
            found += one
        return found
    return None


def problems(source: str, where: str, classes: set[str]) -> list[str]:
    tree = ast.parse(source)
    assigned: dict[str, list[ast.expr]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    assigned.setdefault(target.id, []).append(node.value)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _name(node.func)
        if name in ALREADY_SHOWN and node.args and isinstance(node.args[0], ast.JoinedStr | ast.Constant):
            found.append(f"{where}:{node.lineno}: {name}() shows words that are not translated")
        if name not in classes or name in OWN_TEMPLATE or not node.args:
            continue
        templates = _marked(node.args[0], assigned)
        if templates is None:
            found.append(f"{where}:{node.lineno}: {name}({ast.unparse(node.args[0])[:60]}): not a template marked N_()")
            continue
        if any(k.arg is None for k in node.keywords):
            continue  # **values: what it fills is not known here
        given = {k.arg for k in node.keywords if k.arg != "options"}
        options = next((k.value for k in node.keywords if k.arg == "options"), None)
        if isinstance(options, ast.List | ast.Tuple):
            given |= {e.value for e in options.elts if isinstance(e, ast.Constant)}
        elif options is not None:
            continue
        for template in templates:
            try:
                fields = {f.split(".")[0].split("[")[0] for _, f, _, _ in string.Formatter().parse(template) if f is not None}
            except ValueError as exc:
                found.append(f"{where}:{node.lineno}: {template!r} is not a template ({exc})")
                continue
            if fields - given:
                found.append(f"{where}:{node.lineno}: {template!r} leaves {sorted(fields - given)} unfilled")
    return found


def test_every_error_message_is_a_marked_template() -> None:
    files = [(p, ast.parse(p.read_text(encoding="utf-8"))) for p in sorted(SRC.rglob("*.py")) if "migrations" not in p.parts]
    classes = error_classes(files)
    assert {"ParseError", "ReadError", "ShapeError", "UsageError", "BadValue"} <= classes
    found = [problem for path, _ in files for problem in problems(path.read_text(encoding="utf-8"), str(path.relative_to(SRC)), classes)]
    assert found == []


def test_the_scan_sees_an_untranslated_message() -> None:
    classes = {"CrmError", "ParseError"}
    source = (
        "def f(ref):\n"
        "    raise ParseError(f\"no customer matches '{ref}'\")\n"
        "def g(ref):\n"
        "    raise CrmError('plain words')\n"
        "def h(ref):\n"
        "    raise CrmError(N_(\"no customer matches '{ref}' ({sort})\"), options=['sort'])\n"
        "def ok(ref):\n"
        "    msg = N_('a') if ref else N_('b {ref}')\n"
        "    raise CrmError(msg, ref=ref)\n"
        "def bad_param():\n"
        "    raise typer.BadParameter(f'{x} is blank')\n"
    )
    found = problems(source, "x.py", classes)
    assert [line.split(":")[1] for line in found] == ["2", "4", "6", "11"], found
    assert "['ref'] unfilled" in found[2]
