"""A Babel extractor for crm's command line (babel.cfg names it): besides ``_()``/``N_()``/
``ngettext()`` calls it takes what typer shows as help, which Babel's Python extractor does not:
each ``help="..."`` keyword and each command function's docstring (as ``inspect.cleandoc`` gives
it, the text typer holds). Used only by ``pybabel extract``; the program never imports it.
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Iterator
from typing import IO, Any

CALLS = {"_": 1, "gettext": 1, "N_": 1, "ngettext": 2}


def extract(fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: Any) -> Iterator[tuple[int, str | None, Any, list[str]]]:
    tree = ast.parse(fileobj.read())
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else node.func.attr if isinstance(node.func, ast.Attribute) else ""
            if name in CALLS:
                texts = [a.value for a in node.args[: CALLS[name]] if isinstance(a, ast.Constant) and isinstance(a.value, str)]
                if len(texts) == CALLS[name]:
                    yield node.lineno, "ngettext" if name == "ngettext" else None, texts[0] if len(texts) == 1 else tuple(texts), []
            for kw in node.keywords:
                if kw.arg == "help" and isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str):
                    yield kw.value.lineno, None, inspect.cleandoc(kw.value.value), []
        elif isinstance(node, ast.FunctionDef) and any(_is_command(d) for d in node.decorator_list):
            doc = ast.get_docstring(node, clean=True)
            if doc:
                yield node.body[0].lineno, None, doc, []


def _is_command(decorator: ast.expr) -> bool:
    call = decorator.func if isinstance(decorator, ast.Call) else decorator
    return isinstance(call, ast.Attribute) and call.attr in ("command", "callback")
