"""Shell completion (``crm --install-completion``, bash/zsh/fish): the values an option takes.

The callbacks run only when the shell asks (``_CRM_COMPLETE`` set), so their imports stay inside
them: ``crm --help`` and every command pay nothing for completion. Customer codes and the
free-text values people group by (source, industry, owner, tag) come from the database, read
through the driver; no database, no suggestions.
"""

from __future__ import annotations

from typing import Any

import typer


def _enum(field: str, incomplete: str, lang: str = "en") -> list[tuple[str, str]]:
    from crmcli import vocab

    text = incomplete.casefold()
    return [(key, vocab.label(field, key, "zh")) for key in vocab.FIELDS[field] if key.startswith(text)]


def stages(incomplete: str) -> list[tuple[str, str]]:
    return _enum("stage", incomplete)


def levels(incomplete: str) -> list[tuple[str, str]]:
    return _enum("level", incomplete)


def methods(incomplete: str) -> list[tuple[str, str]]:
    return _enum("method", incomplete)


def feedbacks(incomplete: str) -> list[tuple[str, str]]:
    return _enum("feedback", incomplete)


def statuses(incomplete: str) -> list[tuple[str, str]]:
    return _enum("status", incomplete)


def formats(incomplete: str) -> list[str]:
    return [f for f in ("table", "json", "csv", "tsv") if f.startswith(incomplete)]


def reports(incomplete: str) -> list[str]:
    from crmcli.cli.reports import KINDS

    return [k for k in KINDS if k.startswith(incomplete)]


def _query(ctx: typer.Context, sql: str, incomplete: str) -> list[Any]:
    """Rows of ``sql`` (parameter ``:p``, the text typed so far) from the database in use, or []."""
    try:
        from crmcli import settings

        root = ctx.find_root()
        found = settings.load(db=root.params.get("db"), user=root.params.get("user"), lang=root.params.get("lang"))
        if not found.db.exists():
            return []
        import sqlite3

        con = sqlite3.connect(f"file:{found.db}?mode=ro", uri=True, timeout=1)
        try:
            return con.execute(sql, {"p": incomplete}).fetchall()
        finally:
            con.close()
    except Exception:  # noqa: BLE001 - completion must never break the shell: no suggestions instead
        return []


def customers(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
    """Customer codes that start with what was typed, each with its name; by name too."""
    rows = _query(
        ctx,
        "SELECT code, name FROM customer WHERE merged_into IS NULL AND (code LIKE :p || '%' OR name LIKE :p || '%')"
        " ORDER BY archived, code LIMIT 200",
        incomplete,
    )
    return [(code if code.startswith(incomplete) or not incomplete else name, name) for code, name in rows]


def _codes(table: str, label: str) -> Any:
    def complete(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
        sql = f"SELECT code, {label} FROM {table} WHERE code LIKE :p || '%' ORDER BY code DESC LIMIT 200"
        return [(code, text or "") for code, text in _query(ctx, sql, incomplete)]

    return complete


deals = _codes("deal", "name")  # opportunity codes, newest first, each with its name
tickets = _codes("ticket", "type")  # ticket codes, each with its type


def _distinct(column: str) -> Any:
    def complete(ctx: typer.Context, incomplete: str) -> list[str]:
        sql = f"SELECT DISTINCT {column} FROM customer WHERE {column} LIKE :p || '%' ORDER BY 1 LIMIT 200"
        return [row[0] for row in _query(ctx, sql, incomplete) if row[0]]

    return complete


sources = _distinct("source")
industries = _distinct("industry")
owners = _distinct("owner")


def tags(ctx: typer.Context, incomplete: str) -> list[str]:
    return [row[0] for row in _query(ctx, "SELECT DISTINCT name FROM tag WHERE name LIKE :p || '%' ORDER BY 1 LIMIT 200", incomplete)]
