"""Issue 18, as a property: whatever a database holds -- customers with Chinese and formula-like text,
with or without a phone, custom field values, follow-ups, stage changes, opportunities with lines --
its export (a workbook, a JSON document or a directory of CSV files, in zh or en) imports into an
empty database as the same customers: `list` and every `show` print the same JSON.

The examples are kept few and small (a handful of customers and events each): the property adds
seconds to the suite, not minutes."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from crmcli.store import sqlite
from tests.conftest import TODAY, Crm

_PIECES = st.sampled_from(
    ["科技", "有限公司", "张伟", "需求", "报价", "ABC", "x", "=", "+", "-", "@", "'", '"', ",", ";", "#N/A", "=SUM(A1)", " ", "\n",
     "（", "）", "ＡＢ", "😀", "0086"]
)  # fmt: skip
_TEXT = st.lists(_PIECES, min_size=1, max_size=4).map("".join)
_DAY = st.integers(0, 400).map(lambda n: TODAY - dt.timedelta(days=n))
_STAGES = ("potential", "intent", "negotiating", "won", "lost")


@st.composite
def _event(draw: st.DrawFn) -> tuple[Any, ...]:
    kind = draw(st.sampled_from(["follow", "follow", "stage", "deal"]))
    day = draw(_DAY)
    if kind == "follow":
        next_day = draw(st.none() | st.integers(1, 30).map(lambda n: day + dt.timedelta(days=n)))
        return ("follow", day, draw(_TEXT), draw(st.sampled_from([None, "phone", "visit", "wechat"])), next_day,
                draw(st.none() | _TEXT), draw(st.sampled_from([None, "positive", "negative"])))  # fmt: skip
    if kind == "stage":
        return ("stage", day, draw(st.sampled_from(_STAGES)), draw(_TEXT), draw(st.integers(1, 10**6)))
    lines = draw(st.lists(st.tuples(st.sampled_from(["GTX Pro", "安装服务", "年费"]), st.integers(1, 5)), max_size=2, unique_by=lambda x: x[0]))
    return ("deal", day, draw(_TEXT), draw(st.sampled_from(["potential", "intent", "negotiating", "won", "lost"])),
            draw(st.integers(1, 10**7)), lines, draw(_TEXT))  # fmt: skip


@st.composite
def databases(draw: st.DrawFn) -> list[dict[str, Any]]:
    n = draw(st.integers(1, 3))
    phones = draw(st.lists(st.integers(0, 10**9), min_size=n, max_size=n, unique=True))
    return [
        {
            "name": draw(_TEXT) + f"客户{i}",
            "phone": None if draw(st.booleans()) else f"1{phones[i]:010d}",
            "contact": draw(st.none() | _TEXT),
            "notes": draw(st.none() | _TEXT),
            "level": draw(st.sampled_from(["key", "normal", "potential"])),
            "stage": draw(st.sampled_from(_STAGES)),
            "amount": draw(st.none() | st.integers(0, 10**8).map(lambda c: f"{c / 100:.2f}")),
            "tags": draw(st.lists(_TEXT, max_size=2)),
            "created": draw(st.integers(400, 800).map(lambda n: TODAY - dt.timedelta(days=n))),
            "custom": {"zone": draw(st.none() | _TEXT), "score": draw(st.none() | st.integers(0, 100)),
                       "tier": draw(st.none() | st.sampled_from(["金", "银"]))},  # fmt: skip
            "events": draw(st.lists(_event(), max_size=4)),
        }
        for i in range(n)
    ]


def _store(path: Path, specs: list[dict[str, Any]]) -> None:
    """Record the database through the service layer, text cleaned as the CLI cleans what it is
    given (the CLI itself would be slower)."""
    from crmcli.errors import CrmError
    from crmcli.normalize import keep_text
    from crmcli.services import custom_fields, customers, followups, opportunities, pipeline, products
    from crmcli.services.opportunities import Line

    engine = sqlite.get_engine(path)
    with sqlite.write_connection(engine) as conn:
        defs = [custom_fields.add(conn, "zone", label="区域2")[0], custom_fields.add(conn, "score", label="评分", type_="number")[0],
                custom_fields.add(conn, "tier", label="档位", type_="choice", choices=("金", "银"))[0]]  # fmt: skip
        products.add(conn, "GTX Pro", price=1000.0)
    for spec in specs:
        raw = {k: spec[k] for k in ("name", "phone", "contact", "notes", "level", "stage", "amount")} | {"tags": spec["tags"]}
        try:
            with sqlite.write_connection(engine) as conn:
                fields = customers.build_fields(raw, today=TODAY)
                customer = customers.add(conn, fields, user="alice", today=TODAY, created=spec["created"], no_phone=not spec["phone"])
                values = {f.key: custom_fields.parse_value(f, spec["custom"][f.key], TODAY) for f in defs if spec["custom"][f.key] is not None}
                custom_fields.set_values(conn, customer["id"], values)
        except CrmError:
            continue  # an unreadable value or a duplicate: not a customer to round-trip
        for event in spec["events"]:
            try:
                with sqlite.write_connection(engine) as conn:
                    if event[0] == "follow":
                        _, day, content, method, next_day, plan, feedback = event
                        if not keep_text(content):
                            continue
                        followups.add_follow_up(conn, customer, content=keep_text(content) or "", next_plan=keep_text(plan), on=day, method=method, feedback=feedback, by="bob",
                                                next_date=next_day)  # fmt: skip
                    elif event[0] == "stage":
                        _, day, to, reason, amount = event
                        pipeline.change_stage(conn, customer, to, on=day, by="carol", reason=keep_text(reason) if to == "lost" else None,
                                              amount=float(amount) if to == "won" else None, today=TODAY)  # fmt: skip
                    else:
                        _, day, name, stage, amount, lines, reason = event
                        opportunities.add(conn, customer, name=name, stage=stage, amount=float(amount), on=day, by="dan", today=TODAY,
                                          lines=[Line(p, float(q), None) for p, q in lines], defaults={}, reason=keep_text(reason))  # fmt: skip
            except CrmError:
                continue  # a stage it already has, a date before its creation, ...


def _snapshot(crm: Crm, *db: str) -> dict[str, Any]:
    rows = crm.json(*db, "list")
    return {"list": rows, "cards": {r["code"]: crm.json(*db, "show", r["code"]) for r in rows}}


@settings(max_examples=12, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate], suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(specs=databases(), fmt=st.sampled_from(["xlsx", "json", "dir"]), lang=st.sampled_from(["zh", "en"]))
def test_an_export_imports_into_an_empty_database_as_the_same_customers(
    crm: Crm, tmp_path: Path, specs: list[dict[str, Any]], fmt: str, lang: str
) -> None:
    source = tmp_path / f"{uuid.uuid4().hex}.db"
    _store(source, specs)
    before = _snapshot(crm, "--db", str(source))
    target = tmp_path / uuid.uuid4().hex
    name = str(target) + {"xlsx": ".xlsx", "json": ".json", "dir": "/"}[fmt]
    crm.ok("--db", str(source), "--lang", lang, "export", name)
    fresh = ("--db", str(tmp_path / f"{uuid.uuid4().hex}.db"))
    result = crm(*fresh, "--user", "zed", "--lang", lang, "import", name.rstrip("/"), "--format", "json")
    if not before["list"]:  # an export of no customers at all: nothing to import (exit 1)
        assert result.exit_code == 1 and "no data rows" in result.stderr, result.stderr
        return
    assert result.exit_code == 0, result.stderr
    after = _snapshot(crm, *fresh)
    assert _differences(before, after) == []


def _differences(a: Any, b: Any, path: str = "") -> list[str]:
    """Where two snapshots differ (a readable failure instead of two truncated dicts)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in {*a, *b} for d in _differences(a.get(k), b.get(k), f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in _differences(x, y, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]
