"""Command-line values coerced without pydantic, for the plain types crm's options use.

Typer 0.29 coerces every parameter value through a pydantic ``TypeAdapter``: importing pydantic
and building the adapters is ~80 ms of a ~200 ms ``crm show``, for options that are strings,
flags, paths, lists of strings, or numbers read by our own ``Bounded`` parser. ``install()``
gives typer a builder that handles exactly those shapes directly and hands anything else to
typer's own (pydantic) builder. If typer renames what is replaced, ``install`` changes nothing
and typer's own path runs (a test checks that ``crm show`` does not import pydantic).
"""

from __future__ import annotations

import types
import typing
from pathlib import Path
from typing import Any

_PLAIN = (str, Path, bool)


def _shape(annotation: Any) -> tuple[Any, bool] | None:
    """(leaf type, is a list) for ``X``, ``X | None``, ``list[X]``, ``list[X] | None``; else None."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) != 1:
            return None
        return _shape(args[0])
    if origin is list:
        (leaf,) = typing.get_args(annotation) or (None,)
        return (leaf, True) if leaf in _PLAIN or leaf in (int, float) else None
    if annotation in _PLAIN or annotation in (int, float):
        return annotation, False
    return None


def install() -> None:
    try:
        from typer import core
        from typer._click.exceptions import BadParameter
        from typer._coercion import RuntimeParam

        from crmcli.errors import UsageError
    except ImportError:  # a typer without this machinery: its own path runs
        return
    original = getattr(core, "build_runtime_param", None)
    if original is None or getattr(original, "_crm_plain", False):
        return

    class PlainRuntimeParam(RuntimeParam):  # type: ignore[misc]
        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            leaf, many = _shape(self.annotation)  # type: ignore[misc]
            parser = self.parameter_info.parser
            # A file name keeps its bytes as they are on disk; other text from a GBK terminal
            # is decoded (cli/argv.py).
            is_file = leaf is Path or "FILE" in str(self.parameter_info.metavar or "")
            if many:
                return [self._one(v, leaf, parser, param, ctx, is_file) for v in value]
            return self._one(value, leaf, parser, param, ctx, is_file)

        @staticmethod
        def _one(value: Any, leaf: Any, parser: Any, param: Any, ctx: Any, is_file: bool) -> Any:
            if isinstance(value, bytes):
                value = value.decode("utf-8", "surrogateescape")
            try:
                if isinstance(value, str) and not is_file:
                    from crmcli.cli.argv import decode

                    value = decode(value)
                if parser is not None:
                    return parser(value)
                if leaf is bool:
                    return value if isinstance(value, bool) else str(value).strip().lower() in ("1", "true", "yes", "on")
                if leaf is Path:
                    return value if isinstance(value, Path) else Path(value)
                if leaf in (int, float):
                    return leaf(value)
                return value if isinstance(value, str) else str(value)
            except UsageError as exc:
                raise BadParameter(str(exc), ctx=ctx, param=param) from None
            except BadParameter as exc:
                exc.ctx, exc.param = exc.ctx or ctx, exc.param or param
                raise
            except (ValueError, TypeError) as exc:
                raise BadParameter(str(exc), ctx=ctx, param=param) from None

    def build(descriptor: Any) -> Any:
        info = descriptor.parameter_info
        plain = (
            descriptor.file_annotation is None
            and _shape(descriptor.annotation) is not None
            and info.min is None and info.max is None
            and not getattr(info, "formats", None)
        )
        if plain:
            return PlainRuntimeParam(parameter_info=info, annotation=descriptor.annotation)
        return original(descriptor)

    build._crm_plain = True  # type: ignore[attr-defined]
    core.build_runtime_param = build
