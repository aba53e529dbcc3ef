"""``crm field add|list|remove``: custom fields (spec §11)."""

from typing import Annotated

import typer

from crmcli.cli._common import state
from crmcli.cli.app import app
from crmcli.i18n import gettext as _

field_app = typer.Typer(
    name="field",
    help="Custom fields: add, list, remove (values are set with add/edit --set KEY=VALUE).",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(field_app, name="field")


@field_app.command("add")
def add(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(metavar="KEY", help="The field's key: JSON key, --set/--where name (e.g. region).")],
    label: Annotated[str, typer.Option("--label", help="The column header and card label (e.g. 客户所属区域).", metavar="LABEL")],
    type_: Annotated[str, typer.Option("--type", help="text|number|money|date|choice.", metavar="TYPE")] = "text",
    choices: Annotated[
        str | None, typer.Option("--choices", help="With --type choice: the values, comma-separated.", show_default=False, metavar="A,B,C")
    ] = None,
) -> None:
    """Add a custom field, or bring back a removed one with its values.

    Examples: crm field add region --label 客户所属区域 --type choice --choices 华东,华南,华北;
    crm field add wechat_id --label 社交媒体账号
    """
    from crmcli.services import custom_fields

    st = state(ctx)
    parts = [c for c in (choices or "").replace("，", ",").split(",") if c.strip()]
    with st.write() as conn:
        field, new = custom_fields.add(conn, key, label=label, type_=type_.strip().lower(), choices=parts)
    what = f"{field.key} ({field.zh}, {type_.strip().lower()}" + (f": {', '.join(field.choices)}" if field.choices else "") + ")"
    typer.echo((_("Added field {what}") if new else _("Brought back field {what} with its values")).format(what=what))


@field_app.command("list")
def list_(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table|json.", metavar="FORMAT")] = "table",
) -> None:
    """List the custom fields: key, label, type, choices, how many customers have a value."""
    from crmcli import render
    from crmcli.services import custom_fields

    st = state(ctx)
    fmt = render.check_format(fmt, ("table", "json"))
    with st.store.read() as reader:
        rows = custom_fields.listing(reader)
    if fmt == "json":
        render.print_json(rows)
        return
    head = (_("Key"), _("Label"), _("Type"), _("Choices"), _("Customers"), _("Removed"))
    body = [[r["key"], r["label"], r["type"], ", ".join(r["choices"]), f"{r['values']:,}", "✓" if r["hidden"] else ""] for r in rows]
    from crmcli.fit import Column

    render.print_grid([Column(head[0], priority=100), Column(head[1], folds=True, priority=95), Column(head[2], priority=70),
                       Column(head[3], folds=True, priority=40), Column(head[4], right=True, priority=60), Column(head[5], priority=50)],
                      body, st.settings.lang)  # fmt: skip


@field_app.command("remove")
def remove(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(metavar="KEY", help="The field to hide.")],
) -> None:
    """Remove a custom field from lists, exports and cards; its values are kept (field add brings them back)."""
    from crmcli.services import custom_fields

    st = state(ctx)
    with st.write() as conn:
        kept = custom_fields.remove(conn, key)
    typer.echo(_("Removed field {key}; its {kept} value(s) are kept (crm field add {key} ... brings them back)").format(key=key.strip(), kept=kept))
