"""Database file safety: backup, restore, check (spec §5).

These commands work on the file, not through the engine: they never create, migrate or
otherwise change the database on their own (restore replaces it, on purpose).
"""

from typing import Annotated

import typer

from crmcli.cli._common import state
from crmcli.cli.app import app
from crmcli.errors import CrmError
from crmcli.i18n import N_
from crmcli.i18n import gettext as _

_LABELS = {
    "en": {
        "database": "Database",
        "schema": "Schema",
        "integrity": "Integrity",
        "foreign_keys": "Foreign keys",
        "customers": "Customers",
        "follow_ups": "Follow-ups",
        "stage_changes": "Stage changes",
        "deals": "Deals",
        "import_batches": "Import batches",
    },
    "zh": {
        "database": "数据库",
        "schema": "架构版本",
        "integrity": "完整性",
        "foreign_keys": "外键",
        "customers": "客户",
        "follow_ups": "跟进记录",
        "stage_changes": "阶段变更",
        "deals": "成交",
        "import_batches": "导入批次",
    },
}


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n = n / 1024  # type: ignore[assignment]
    return str(n)


@app.command()
def backup(
    ctx: typer.Context,
    file: Annotated[str | None, typer.Argument(metavar="FILE", help="Where to write the copy (a file or a directory).", show_default=False)] = None,
) -> None:
    """Copy the database safely, even while it is in use, and print the copy's path.

    The default is <db dir>/backups/crm-YYYYMMDD-HHMMSS.db (directory 0700, file 0600).
    The copy is made with SQLite's online backup API and checked with integrity_check.

    Example: crm backup /mnt/usb/
    """
    import datetime as dt
    import os
    from pathlib import Path

    from crmcli.errors import NotFound

    st = state(ctx)
    if file and file.endswith(("/", os.sep)) and not Path(file).expanduser().is_dir():
        # "crm backup /mnt/usb/" means a directory: never write a file called "usb" instead.
        raise NotFound(N_("directory {file} does not exist"), file=file)
    st.interrupted = "no backup written"
    path = st.store.backup(Path(file) if file else None, now=dt.datetime.now())
    typer.echo(str(path))


@app.command()
def restore(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(metavar="FILE", help="A backup made by crm backup (or another crm database file).")],
) -> None:
    """Replace the database with a backup, keeping a copy of the one it replaces.

    The file is checked first (SQLite header, integrity_check, foreign keys, a schema revision
    this program knows); a damaged or foreign file is refused and nothing changes.

    Example: crm restore ~/.local/share/crmcli/backups/crm-20260101-090000.db
    """
    import datetime as dt
    from pathlib import Path

    from crmcli.store import HEAD

    st = state(ctx)
    done = st.store.restore(Path(file), now=dt.datetime.now())
    counts = ", ".join(f"{k.replace('_', '-')}: {n}" for k, n in done.counts.items() if k in ("customers", "follow_ups", "deals"))
    typer.echo(_("Restored {source} into {database} (schema {revision}; {counts})").format(source=done.source, database=done.database, revision=done.revision, counts=counts))
    if done.kept is not None:
        typer.echo(_("The database it replaced is kept at {kept}").format(kept=done.kept))
    if done.needs_upgrade:
        typer.echo(_("Schema {revision} is older than this program's {HEAD}: it is upgraded (after a backup) on next use").format(revision=done.revision, HEAD=HEAD))


@app.command()
def check(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table|json.", metavar="FORMAT")] = "table",
) -> None:
    """Check the database file: integrity, foreign keys, schema revision, record counts.

    Exits 1 when a check fails. Example: crm check --format json
    """
    from crmcli import render
    from crmcli.store import HEAD, sqlite_check

    st = state(ctx)
    fmt = render.check_format(fmt, ("table", "json"))
    result = st.store.check()
    if fmt == "json":
        render.print_json(result.as_dict())
    else:
        labels = _LABELS["zh" if st.settings.lang == "zh" else "en"]
        width = max(len(v) for v in labels.values()) + 2 if st.settings.lang == "en" else 10
        lines: list[tuple[str, str]] = [("database", f"{result.database} ({_size(result.size)})")]
        if st.settings.lang == "zh":
            schema = {
                "current": f"{result.revision} (最新)",
                "older": f"{result.revision} (旧于 {HEAD}: 下次使用时升级)",
                "newer": f"{result.revision} (新于本程序的 {HEAD})",
                "missing": "无 (不是 crm 数据库)",
            }[result.schema]
        else:
            schema = {
                "current": f"{result.revision} (current)",
                "older": _("{revision} (older than {HEAD}: upgraded on next use)").format(revision=result.revision, HEAD=HEAD),
                "newer": _("{revision} (newer than this program's {HEAD})").format(revision=result.revision, HEAD=HEAD),
                "missing": "none (not a crm database)",
            }[result.schema]
        lines.append(("schema", schema))
        if result.error:
            lines.append(("integrity", f"FAILED: {result.error}"))
        else:
            lines.append(("integrity", "ok" if not result.integrity else f"FAILED ({len(result.integrity)} problems)"))
            fk = result.foreign_keys
            lines.append(("foreign_keys", "ok" if not fk else _("FAILED ({fk} rows point to missing parents)").format(fk=len(fk))))
        for key, _table in sqlite_check.COUNTED:
            if key in result.counts:
                lines.append((key, f"{result.counts[key]:,}"))
        for key, value in lines:
            label = labels[key]
            pad = width - (len(label) * (2 if st.settings.lang == "zh" else 1))
            typer.echo(f"{label}{' ' * max(pad, 1)}{value}")
        for problem in result.integrity[:20]:
            typer.echo(f"  {problem}")
        for row in result.foreign_keys[:20]:
            typer.echo("  " + _("{table} row {rowid} -> missing {parent}").format(table=row["table"], rowid=row["rowid"], parent=row["parent"]))
    if not result.ok:
        raise CrmError(N_("database check failed: {value}"), value=result.summary())


@app.command()
def init(ctx: typer.Context) -> None:
    """Create the database, or say where it is (commands that only read need it to exist).

    Example: crm --db ~/crm/team.db init
    """
    st = state(ctx)
    created = st.store.init()
    typer.echo((_("Created {database}") if created else _("Database at {database}")).format(database=st.store.display))
