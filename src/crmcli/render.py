"""Output: Rich tables for people, JSON / CSV / TSV for scripts (spec §7).

The only module that prints records. Machine formats always carry canonical
keys; tables show labels in the display language.
"""

from __future__ import annotations

import datetime as dt
import itertools
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from crmcli import fields, vocab
from crmcli.errors import UsageError
from crmcli.i18n import N_
from crmcli.streamed import padded_repeats, plain, plain_table, plain_widths, write_delimited, write_delimited_values  # noqa: F401 - also what callers import from here
from crmcli.widths import text_width

if TYPE_CHECKING:
    from rich.console import Console

FORMATS = ("table", "json", "csv", "tsv")


def check_format(fmt: str, allowed: Sequence[str] = FORMATS) -> str:
    fmt = fmt.lower()
    if fmt not in allowed:
        raise UsageError(N_("--format {fmt}: choose one of {allowed}"), fmt=fmt, allowed=', '.join(allowed))
    return fmt


def terminal_width() -> int | None:
    """The columns of the terminal stdout is, or None when it is piped (nothing is then cut)."""
    if not sys.stdout.isatty():
        return None
    import shutil

    return shutil.get_terminal_size().columns


def console(stderr: bool = False) -> Console:
    """A console that never cuts a table to 80 columns when piped, and carries no escapes then."""
    from rich.console import Console

    if stderr:
        is_tty = sys.stderr.isatty()
        return Console(file=sys.stderr, width=None if is_tty else 10_000, soft_wrap=not is_tty, highlight=False)
    width = terminal_width()
    if width is None:
        return Console(file=sys.stdout, width=10_000, soft_wrap=True, highlight=False)
    return Console(file=sys.stdout, width=width, force_terminal=True, highlight=False)


def emit(*renderables: Any) -> None:
    """Print Rich renderables; when piped, without trailing blanks or empty edge lines (pastes cleanly)."""
    out = console()
    if out.is_terminal:
        for r in renderables:
            out.print(r)
        return
    with out.capture() as cap:
        for r in renderables:
            out.print(r)
    lines = [line.rstrip() for line in cap.get().splitlines()]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    sys.stdout.write("\n".join(lines) + "\n" if lines else "")


def _json_default(value: object) -> object:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def dumps(obj: object) -> str:
    import json  # here: a table never loads it

    return json.dumps(obj, ensure_ascii=False, indent=2, default=_json_default)


def print_json(obj: object) -> None:
    sys.stdout.write(dumps(obj) + "\n")


def peek(items: Iterable[Any]) -> Iterator[Any] | None:
    """``items`` unchanged, or None when there are none (read ahead by one)."""
    it = iter(items)
    for first in it:
        return itertools.chain((first,), it)
    return None


def compact(obj: object) -> str:
    """One JSON object on one line, as the database writes them (``json_object``)."""
    import json

    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=_json_default)


def write_json_array(items: Iterable[bytes | str]) -> int:
    """A JSON array written as it goes, one encoded object per line; returns how many.

    Objects may be UTF-8 bytes straight from the database: on a UTF-8 stdout they are written as
    they are, sparing the decoding and re-encoding of megabytes.
    """
    out = sys.stdout
    buffer = getattr(out, "buffer", None)
    raw = buffer is not None and (out.encoding or "").lower().replace("-", "") == "utf8"
    n = 0
    chunk: list[bytes | str] = []

    def flush() -> None:
        if not chunk:
            return
        if raw and isinstance(chunk[0], bytes):
            out.flush()
            buffer.write(b",\n".join(chunk))  # type: ignore[union-attr, arg-type]
        else:
            out.write(",\n".join(c.decode() if isinstance(c, bytes) else c for c in chunk))
        chunk.clear()

    for item in items:
        if n == 0:
            out.write("[\n")
        elif not chunk:
            out.write(",\n")
        chunk.append(item)
        n += 1
        if len(chunk) >= 1000:
            flush()
    flush()
    out.write("\n]\n" if n else "[]\n")
    out.flush()
    return n


def amount(value: float) -> str:
    """An amount as a person reads it: 50,000 or 1,200.50 (the one place money is written)."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def local_time(value: str) -> str:
    """A stored moment (ISO 8601 with its offset) as a person reads it: local time, to the minute.
    JSON keeps the ISO text; only what people read is converted."""
    try:
        at = dt.datetime.fromisoformat(value)
    except ValueError:
        return value
    return (at.astimezone() if at.tzinfo else at).strftime("%Y-%m-%d %H:%M")


def display(key: str, value: object, lang: str, of: fields.Field | None = None) -> str:
    """A value as a person reads it: enum labels in the display language (``of``: the field, when
    the record is not a customer)."""
    field = of.enum if of is not None else fields.enum_of(key)
    if field and isinstance(value, str):
        return vocab.label(field, value, lang)
    if key == "probability" and isinstance(value, int | float):
        return f"{value:g}%"
    if isinstance(value, str) and len(value) > 10 and value[10:11] == "T" and (key == "at" or key.endswith("_at")):
        return local_time(value)
    if isinstance(value, float):
        return amount(value)
    return plain(value)


def displayer(key: str, lang: str, of: fields.Field | None = None) -> Callable[[object], str]:
    """``display(key, value, lang, of)`` for the values of one column, taking per column what
    ``display`` decides per value: text of a plain column is itself; a label or a moment is
    worked out once per distinct value (a bounded cache: the table streams)."""
    if _text_is_itself(key, of):

        def plain_column(value: object) -> str:
            return value if value.__class__ is str else display(key, value, lang, of)  # type: ignore[return-value]

        return plain_column
    seen: dict[str, str] = {}

    def labelled(value: object) -> str:
        if value.__class__ is not str:
            return display(key, value, lang, of)
        text = seen.get(value)  # type: ignore[call-overload]
        if text is None:
            if len(seen) >= 10_000:
                seen.clear()
            text = seen[value] = display(key, value, lang, of)  # type: ignore[index]
        return text

    return labelled


def _text_is_itself(key: str, of: fields.Field | None = None) -> bool:
    """Whether a column shows its text as it is (no labels of a vocabulary, no moments)."""
    enum = of.enum if of is not None else fields.enum_of(key)
    return not enum and not (key == "at" or key.endswith("_at"))


def _right_aligned(key: str) -> bool:
    f = fields.get(key)
    return f is not None and f.kind in ("money", "number")


def _wraps(key: str) -> bool:
    """Prose may fold onto several lines; codes, phones, dates, amounts and labels never do."""
    f = fields.get(key)
    return (f is not None and f.kind in ("text", "prose", "tags")) or key in _PROSE


_PROSE = frozenset({"file", "content", "customer_name", "reasons"})
# What stays when a table is too wide for the terminal (spec §7): lower goes first. A code and a
# name (fit.ESSENTIAL and above) always stay; a key not listed here ranks 50.
PRIORITY: dict[str, int] = {
    "code": 100, "batch": 100, "name": 95, "customer": 92, "next_follow_at": 85, "overdue_days": 84,
    "phone": 80, "stage": 78, "status": 78, "amount": 76, "created": 75, "rejected": 74, "type": 72,
    "started_at": 70, "level": 62, "owner": 58, "expected_close": 56, "probability": 54, "contact": 52,
    "file": 50, "opened_at": 50, "next_plan": 46, "satisfaction": 44, "handler": 42, "last_follow_at": 40,
    "updated": 40, "skipped": 38, "follow_ups": 36, "resolved_at": 34, "closed_at": 34, "undone_at": 32,
    "last_method": 30, "content": 28,
}  # fmt: skip


def print_grid(columns: Sequence[Any], rows: Sequence[Sequence[str]], lang: str) -> None:
    """A plain table (``fit.Column`` headers) fitted to the terminal; piped, whole and uncut."""
    from crmcli import fit

    width = terminal_width()
    if not rows:
        return
    if width is None:
        sys.stdout.write(plain_table([c.header for c in columns], rows, [c.right for c in columns]))
        return
    lay = fit.layout(columns, rows, width)
    if lay.records:
        sys.stdout.write(fit.records(columns, rows, width))
    else:
        sys.stdout.write(fit.table(columns, rows, lay) + fit.note(columns, lay, lang, width))

PLAIN_TABLE_ROWS = 300  # past this many rows a terminal also gets the plain renderer: Rich costs ~0.3 ms a cell


SIZING_ROWS = 1000  # rows a table reads ahead to size its columns: never the whole result


def print_table(
    rows: Iterable[dict[str, Any]], keys: Sequence[str], lang: str, title: str | None = None,
    of: Sequence[fields.Field] = (), labels: dict[str, str] | None = None,
) -> int:
    """A table of records; returns how many (``print_table_values``, of their values)."""
    return print_table_values((list(map(rec.get, keys)) for rec in rows), keys, lang, title, of, labels)


def print_table_values(
    rows: Iterable[Sequence[Any]], keys: Sequence[str], lang: str, title: str | None = None,
    of: Sequence[fields.Field] = (), labels: dict[str, str] | None = None,
) -> int:
    """A table of rows (values in ``keys`` order); returns how many. Sized on the first rows, then streamed.

    ``of``: the fields of a record that is not a customer (an opportunity: its labels and
    vocabularies); ``labels`` names keys that are no field.
    """
    from crmcli.streamed import PaddedColumns, chunks

    own = {f.key: f for f in of}
    header = [(labels or {}).get(k) or (own[k].label(lang) if k in own else fields.label(k, lang)) for k in keys]
    right = [_right_aligned(k) for k in keys]
    it = iter(rows)
    shown = [displayer(k, lang, own.get(k)) for k in keys]

    def cells(row: Sequence[Any]) -> list[str]:
        return [show(v) for show, v in zip(shown, row, strict=True)]

    first = list(itertools.islice(it, SIZING_ROWS))
    body = [cells(row) for row in first]
    width = terminal_width()
    if width is not None:
        from crmcli import fit

        columns = [fit.Column(h, r, _wraps(k), PRIORITY.get(k, 50)) for k, h, r in zip(keys, header, right, strict=True)]
        lay = fit.layout(columns, body, width - 1)
        if lay.dropped or lay.records or lay.widths != fit.natural(columns, body):
            # Too wide for the terminal: fitted (folded, columns left out, or records), never cut.
            if title:
                sys.stdout.write(title + "\n")
            room: int = width

            def write(chunk: Sequence[Sequence[str]], first: bool) -> str:
                if lay.records:
                    return fit.records(columns, chunk, room, first=first)
                return fit.table(columns, chunk, lay, header=first)

            sys.stdout.write(write(body, True))
            n = len(body)
            for chunk in chunks(it, SIZING_ROWS):
                sys.stdout.write(write(list(map(cells, chunk)), False))
                n += len(chunk)
            sys.stdout.write(fit.note(columns, lay, lang, width))
            return n
    if width is None or len(body) > PLAIN_TABLE_ROWS:
        if title:
            sys.stdout.write(title + "\n")
        widths = plain_widths(header, body)
        sys.stdout.write(plain_table(header, [], right, widths))
        # each row's cells from its values, a column's work decided once (streamed.PaddedColumns)
        as_text = [_text_is_itself(k, own.get(k)) and k != "probability" for k in keys]  # what display() shows as is
        padded = PaddedColumns(shown, as_text, right, widths, first, body)
        sys.stdout.write(padded.lines(first))
        n = len(first)
        for chunk in chunks(it, SIZING_ROWS):
            sys.stdout.write(padded.lines(chunk))
            n += len(chunk)
        return n
    from rich import box
    from rich.table import Table
    from rich.text import Text

    whole = [max((text_width(r[i]) for r in body), default=0) for i, _k in enumerate(keys)]
    table = Table(title=title, box=box.SIMPLE_HEAVY, header_style="bold", show_edge=False)
    for key, label, is_right, width in zip(keys, header, right, whole, strict=True):
        prose = _wraps(key)
        table.add_column(
            label,
            overflow="fold",
            no_wrap=not prose,
            min_width=None if prose else width,
            justify="right" if is_right else "left",
        )
    for row in body:
        table.add_row(*(Text(c) for c in row))  # text, not Rich markup: "[vip]" stays
    emit(table)
    return len(body)


def print_records(
    rows: Iterable[dict[str, Any]], *, fmt: str, lang: str, table_keys: Sequence[str], all_keys: Sequence[str],
    title: str | None = None, of: Sequence[fields.Field] = (), labels: dict[str, str] | None = None,
) -> int:
    """Records in ``fmt``, written as they come; returns how many."""
    if fmt == "json":
        return write_json_array(compact({k: r.get(k) for k in all_keys}) for r in rows)
    if fmt in ("csv", "tsv"):
        return write_delimited(rows, all_keys, fmt)
    return print_table(rows, table_keys, lang, title, of, labels)


def print_pairs(pairs: Sequence[tuple[str, str]]) -> None:
    """A card of labels and values (``crm deal show``), as ``show`` prints a customer."""
    from crmcli.grid import Grid, show

    show(Grid(pairs))


def mask_records(rows: Iterable[dict[str, Any]]) -> None:
    from crmcli.masking import mask_record

    for rec in rows:
        mask_record(rec)


def print_json_rows(rows: Sequence[str] | Sequence[bytes], head: dict[str, Any] | None = None) -> None:
    """JSON whose rows arrive already encoded, one per line: an array, or ``head`` plus ``"rows"`` (reports).

    Rows may be UTF-8 bytes straight from SQLite: on a UTF-8 stdout they are written
    as they are, sparing the decoding and re-encoding of megabytes (the due list).
    """
    if head is None:
        start, sep, end = "[\n", ",\n", "\n]\n"
    else:
        top = dumps({**head, "rows": []})  # "rows" is the last key: its "[]" is the last one
        at = top.rindex("[]")
        start, sep, end = top[:at] + "[\n    ", ",\n    ", "\n  ]" + top[at + 2 :] + "\n"
    if not rows:
        sys.stdout.write(_empty(start, end))
        return
    if isinstance(rows[0], bytes):
        buffer = getattr(sys.stdout, "buffer", None)
        if buffer is not None and (sys.stdout.encoding or "").lower().replace("-", "") == "utf8":
            sys.stdout.flush()
            buffer.write(start.encode() + sep.encode().join(rows) + end.encode())  # type: ignore[arg-type]
            buffer.flush()
            return
        rows = [r.decode() for r in rows]  # type: ignore[union-attr]
    sys.stdout.write(start + sep.join(rows) + end)  # type: ignore[arg-type]


def _empty(start: str, end: str) -> str:
    """An empty array in place of the rows."""
    return start.rstrip(" \n").removesuffix("[") + "[]" + end.lstrip(" \n").removeprefix("]")
