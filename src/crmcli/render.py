"""Output: Rich tables for people, JSON / CSV / TSV for scripts (spec §7).

The only module that prints records. Machine formats always carry canonical
keys; tables show labels in the display language.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from crmcli import fields, vocab
from crmcli.errors import UsageError

if TYPE_CHECKING:
    from rich.console import Console

FORMATS = ("table", "json", "csv", "tsv")


def check_format(fmt: str, allowed: Sequence[str] = FORMATS) -> str:
    fmt = fmt.lower()
    if fmt not in allowed:
        raise UsageError(f"--format {fmt}: choose one of {', '.join(allowed)}")
    return fmt


def console(stderr: bool = False) -> Console:
    """A console that never cuts a table to 80 columns when piped, and carries no escapes then."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    is_tty = stream.isatty()
    return Console(file=stream, width=None if is_tty else 10_000, soft_wrap=not is_tty, highlight=False)


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
    return json.dumps(obj, ensure_ascii=False, indent=2, default=_json_default)


def print_json(obj: object) -> None:
    sys.stdout.write(dumps(obj) + "\n")


def plain(value: object) -> str:
    """A cell value for csv/tsv: ISO dates, '' for None, lists joined with ';'."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return ";".join(plain(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def write_delimited(rows: Iterable[dict[str, Any]], keys: Sequence[str], fmt: str) -> int:
    """A header and the rows, written as they come (flat memory); returns the number of rows."""
    out = sys.stdout
    n = 0
    if fmt == "tsv":
        out.write("\t".join(keys) + "\n")
        lines: list[str] = []
        for rec in rows:
            cells = [plain(rec.get(k)).replace("\t", " ").replace("\r", " ").replace("\n", " ") for k in keys]
            lines.append("\t".join(cells) + "\n")
            n += 1
            if len(lines) >= 1000:
                out.write("".join(lines))
                lines.clear()
        out.write("".join(lines))
        return n
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(keys)
    for rec in rows:
        writer.writerow([plain(rec.get(k)) for k in keys])
        n += 1
        if n % 1000 == 0:
            out.write(buf.getvalue())
            buf.seek(0)
            buf.truncate()
    out.write(buf.getvalue())
    return n


def peek(items: Iterable[Any]) -> Iterator[Any] | None:
    """``items`` unchanged, or None when there are none (read ahead by one)."""
    it = iter(items)
    for first in it:
        return itertools.chain((first,), it)
    return None


def compact(obj: object) -> str:
    """One JSON object on one line, as the database writes them (``json_object``)."""
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


def _right_aligned(key: str) -> bool:
    f = fields.get(key)
    return f is not None and f.kind in ("money", "number")


def _wraps(key: str) -> bool:
    """Prose may fold onto several lines; codes, phones, dates, amounts and labels never do."""
    f = fields.get(key)
    return f is not None and f.kind in ("text", "prose", "tags")

PLAIN_TABLE_ROWS = 300  # past this many rows a terminal also gets the plain renderer: Rich costs ~0.3 ms a cell


def text_width(text: str) -> int:
    """Columns a string takes in a terminal: East Asian wide and full-width characters count double."""
    if text.isascii():
        return len(text)
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 0 if unicodedata.combining(ch) else 1 for ch in text)


def _cells(row: Sequence[str]) -> list[str]:
    return [c.replace("\r", " ").replace("\n", " ") for c in row]


def _plain_widths(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[int]:
    widths = [text_width(h) for h in header]
    for row in rows:
        for i, c in enumerate(_cells(row)):
            w = text_width(c)
            if w > widths[i]:
                widths[i] = w
    return widths


def plain_table(
    header: Sequence[str] | None, rows: Sequence[Sequence[str]], right: Sequence[bool], widths: Sequence[int] | None = None
) -> str:
    """The piped look of our Rich tables (header, heavy rule, rows), built in linear time.

    Cells are one line (line breaks become spaces); nothing is cut; no trailing blanks.
    ``widths`` (from the first rows of a long table): a wider cell later on widens its own line.
    Without ``header``: more rows of a table already begun.
    """
    if widths is None:
        widths = _plain_widths(header or [], rows)

    def line(values: Sequence[str]) -> str:
        parts = []
        for i, value in enumerate(values):
            pad = " " * max(widths[i] - text_width(value), 0)
            parts.append(pad + value if right[i] else value + pad)
        return (" " + "   ".join(parts)).rstrip()

    out = [] if header is None else [line(header), "━" * (sum(widths) + 3 * (len(widths) - 1) + 2)]
    out.extend(line(_cells(row)) for row in rows)
    return "\n".join(out) + "\n" if out else ""


SIZING_ROWS = 1000  # rows a table reads ahead to size its columns: never the whole result


def print_table(
    rows: Iterable[dict[str, Any]], keys: Sequence[str], lang: str, title: str | None = None,
    of: Sequence[fields.Field] = (), labels: dict[str, str] | None = None,
) -> int:
    """A table of records; returns how many. Sized on the first rows, then streamed.

    ``of``: the fields of a record that is not a customer (an opportunity: its labels and
    vocabularies); ``labels`` names keys that are no field.
    """
    own = {f.key: f for f in of}
    header = [(labels or {}).get(k) or (own[k].label(lang) if k in own else fields.label(k, lang)) for k in keys]
    right = [_right_aligned(k) for k in keys]
    it = iter(rows)
    by = [own.get(k) for k in keys]

    def cells(rec: dict[str, Any]) -> list[str]:
        return [display(k, rec.get(k), lang, f) for k, f in zip(keys, by, strict=True)]

    body = [cells(rec) for rec in itertools.islice(it, SIZING_ROWS)]
    out = console()
    # Codes, phones, dates and labels never wrap; prose columns fold. When even that does not
    # fit the terminal, print the plain table and let the terminal wrap its long lines.
    whole = [0 if _wraps(k) else max((text_width(r[i]) for r in body), default=0) for i, k in enumerate(keys)]
    needed = sum(whole) + sum(8 for k in keys if _wraps(k)) + 3 * (len(keys) - 1) + 2
    if not out.is_terminal or len(body) > PLAIN_TABLE_ROWS or needed > out.width:
        if title:
            sys.stdout.write(title + "\n")
        widths = _plain_widths(header, body)
        sys.stdout.write(plain_table(header, body, right, widths))
        n = len(body)
        more: list[list[str]] = []
        for rec in it:
            more.append(cells(rec))
            if len(more) >= SIZING_ROWS:
                sys.stdout.write(plain_table(None, more, right, widths))
                n += len(more)
                more.clear()
        if more:
            sys.stdout.write(plain_table(None, more, right, widths))
            n += len(more)
        return n
    from rich import box
    from rich.table import Table

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
    for cells in body:
        table.add_row(*cells)
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
    from rich.table import Table

    card = Table(box=None, show_header=False, padding=(0, 1))
    card.add_column(style="bold")
    card.add_column(overflow="fold")
    for label, value in pairs:
        card.add_row(label, value)
    emit(card)


def mask_records(rows: Iterable[dict[str, Any]]) -> None:
    from crmcli.masking import mask_record

    for rec in rows:
        mask_record(rec)


CARD_KEYS = (*fields.customer_keys(where="show"), "next_plan")
_ZERO_HIDDEN = frozenset({"orders", "total_amount"})  # a customer who bought nothing: no purchase lines


def print_card(rec: dict[str, Any], lang: str, custom: Sequence[fields.Field] = ()) -> None:
    """A customer card (its custom fields after the built-in ones), then one timeline of
    follow-ups, stage changes and deals, newest first."""
    from rich import box
    from rich.table import Table

    card = Table(box=None, show_header=False, padding=(0, 1))
    card.add_column(style="bold")
    card.add_column(overflow="fold")
    for key in CARD_KEYS:
        value = rec.get(key)
        if value in (None, "", []) or (key in _ZERO_HIDDEN and not value):
            continue
        card.add_row(fields.label(key, lang), display(key, value, lang))
    values = rec.get("fields") or {}
    for f in custom:
        value = values.get(f.key)
        if value not in (None, ""):
            card.add_row(f.label(lang), amount(value) if f.kind == "money" else plain(value))
    if rec.get("archived"):
        card.add_row(fields.label("archived", lang), "✓")

    events: list[tuple[Any, int, str, str]] = []  # (ISO date, order within a day, kind, text)
    for i, f in enumerate(rec.get("follow_ups", [])):
        parts = [f"#{f['id']}" if f.get("id") is not None else "", display("method", f.get("method"), lang), f.get("content") or ""]
        if f.get("feedback"):
            parts.append(f"[{display('feedback', f['feedback'], lang)}]")
        if f.get("next_date") or f.get("next_plan"):
            nxt = " ".join(x for x in (plain(f.get("next_date")), f.get("next_plan") or "") if x)
            parts.append(("下一步: " if lang == "zh" else "next: ") + nxt)
        events.append((f["date"], 3000 - i, "跟进" if lang == "zh" else "follow-up", "  ".join(p for p in parts if p) + (f"  ({f['by']})" if f.get("by") else "")))
    for i, s in enumerate(rec.get("stage_changes", [])):
        text = f"{display('stage', s.get('from_stage'), lang) or '-'} → {display('stage', s['to_stage'], lang)}"
        if s.get("reason"):
            text += f"  ({s['reason']})"
        events.append((s["date"], 2000 - i, "阶段" if lang == "zh" else "stage", text))
    for i, d in enumerate(rec.get("deals", [])):
        won = d.get("stage") == "won"
        kind = ("成交" if lang == "zh" else "deal") if won else ("机会" if lang == "zh" else "opportunity")
        parts = [d.get("code") or "", d.get("name") or "", "" if won else f"[{display('stage', d.get('stage'), lang, fields.OPPORTUNITY_BY_KEY['stage'])}]"]
        parts.append(display("amount", float(d["amount"] or 0), lang) + ("" if won or d.get("probability") is None else f" ({d['probability']:g}%)"))
        if d.get("products"):
            parts.append(d["products"])
        if d.get("lost_reason"):
            parts.append(f"({d['lost_reason']})")
        events.append((d.get("closed_at") or d["date"], 1000 - i, kind, "  ".join(p for p in parts if p)))
    for i, t in enumerate(rec.get("tickets", [])):
        from crmcli import vocab

        parts = [t["code"], t["type"], vocab.label("status", t["status"], lang), t.get("content") or ""]
        if t.get("satisfaction") is not None:
            parts.append(("满意度 " if lang == "zh" else "satisfaction ") + str(t["satisfaction"]))
        if t.get("handler"):
            parts.append(f"({t['handler']})")
        events.append((t["opened_at"], 500 - i, "工单" if lang == "zh" else "ticket", "  ".join(p for p in parts if p)))
    if not events:
        emit(card)
        return
    events.sort(key=lambda e: (e[0], e[1]), reverse=True)
    timeline = Table(box=box.SIMPLE_HEAVY, header_style="bold", show_edge=False, title="时间线" if lang == "zh" else "Timeline")
    timeline.add_column("日期" if lang == "zh" else "Date")
    timeline.add_column("事件" if lang == "zh" else "Event")
    timeline.add_column("内容" if lang == "zh" else "Details", overflow="fold")
    for when, _, kind, text in events:
        timeline.add_row(plain(when), kind, text)
    emit(card, "", timeline)


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


BAR_WIDTH = 24


def bar(value: float, top: float, width: int = BAR_WIDTH) -> str:
    """A horizontal bar of ``value`` against ``top``, in eighths of a character."""
    if top <= 0 or value <= 0:
        return ""
    eighths = max(1, round(value / top * width * 8))
    return "█" * (eighths // 8) + ("", "▏", "▎", "▍", "▌", "▋", "▊", "▉")[eighths % 8]


def print_bar_table(
    headers: Sequence[str],
    cells: Sequence[Sequence[str]],
    bars: Sequence[float],
    *,
    right: Sequence[bool],
    headline: str,
    footer: str | None = None,
) -> None:
    """A report: its headline, then a table with a bar for the main figure of each row (spec §8)."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    parts: list[Any] = [Text(headline, style="bold")]
    if cells:
        table = Table(box=box.SIMPLE_HEAVY, header_style="bold", show_edge=False)
        for head, is_number in zip(headers, right, strict=True):
            table.add_column(head, justify="right" if is_number else "left", overflow="fold")
        table.add_column("", no_wrap=True)
        top = max(bars, default=0.0)
        for row, value in zip(cells, bars, strict=True):
            table.add_row(*row, bar(value, top))
        parts.append(table)
    if footer:
        parts.append(Text(footer))
    emit(*parts)
