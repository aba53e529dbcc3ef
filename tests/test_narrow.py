"""Narrow terminals (spec §7): at 60, 80 and 120 columns no code, date, phone or amount is ever
split across lines, in any table, list or report; what does not fit is left out with a note, or
rows become records. Every command's table is rendered with Chinese data at each width."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import Crm

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
KINDS = ("funnel", "sources", "owners", "industries", "abc", "lost", "trend", "forecast", "alerts", "pipeline", "products", "service")


def width_of(text: str) -> int:
    from crmcli.render import text_width

    return text_width(text)


def columns_of(line: str) -> list[int]:
    """The display column where each character of ``line`` starts."""
    out, col = [], 0
    for ch in line:
        out.append(col)
        col += width_of(ch)
    return out


def split_tokens(text: str, tokens: set[str]) -> list[str]:
    """Tokens folded across two lines: a head ending one line and the rest starting at the same
    column on the next (how a table cell folds), or a line the terminal itself would wrap."""
    lines = text.splitlines()
    found = []
    for upper, lower in zip(lines, lines[1:], strict=False):
        up_cols, low_cols = columns_of(upper), columns_of(lower)
        for token in tokens:
            for k in range(1, len(token)):
                head, rest = token[:k], token[k:]
                for m in re.finditer(re.escape(head), upper):
                    end = m.end()
                    if end < len(upper) and upper[end] not in " ":
                        continue  # the head goes on in this line: not a fold
                    col = up_cols[m.start()]
                    at = next((i for i, c in enumerate(low_cols) if c == col), None)
                    if at is not None and lower.startswith(rest, at) and (at == 0 or lower[at - 1] == " "):
                        found.append(f"{token!r} as {head!r} / {rest!r}")
    return found


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database with Chinese data in every table: customers, follow-ups, deals, tickets, an import."""
    import os

    from typer.testing import CliRunner

    from crmcli.cli import app

    folder = tmp_path_factory.mktemp("narrow")
    env = {"CRM_DB": str(folder / "crm.db"), "CRM_TODAY": "2026-11-26", "CRM_USER": "王磊", "CRM_LANG": "zh",
           "CRM_CONFIG": str(folder / "none.toml"), "NO_COLOR": "1"}  # fmt: skip
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    runner = CliRunner()

    def ok(*args: str) -> str:
        result = runner.invoke(app, list(args), catch_exceptions=False)
        assert result.exit_code == 0, (args, result.stderr)
        return str(result.stdout)

    try:
        names = ["杭州云帆科技有限公司", "杭州云帆科技", "上海星辰国际贸易有限责任公司", "北京东方精密仪器制造股份有限公司", "深圳市南山区小微企业服务中心"]
        for i, name in enumerate(names):
            os.environ["CRM_TODAY"] = f"2026-0{i + 1}-1{i}"
            ok("add", name, "--phone", f"+86 139 0000 56{i:02d}", "--contact", "欧阳建国", "--title", "采购部总经理",
               "--industry", "高端装备制造业", "--source", "行业展会推广", "--level", ("重点", "普通", "潜力")[i % 3],
               "--owner", ("王磊", "李娜娜")[i % 2], "--need", "企业定制化办公软件及后续运维服务", "--amount", "128万",
               "--expected-close", "2026-12-31")  # fmt: skip
        os.environ["CRM_TODAY"] = "2026-11-26"
        ok("follow", "杭州云帆科技有限公司", "--method", "电话", "--content", "客户对方案感兴趣，需要详细报价和实施计划",
           "--next-date", "2026-11-20", "--next-plan", "发送正式报价单并预约现场演示", "--date", "2026-11-01")  # fmt: skip
        ok("stage", "上海星辰", "won", "--amount", "2,840,000", "--date", "2026-10-05")
        ok("stage", "北京东方", "lost", "--reason", "预算被砍，项目延期到明年再议", "--date", "2026-09-09")
        ok("deal", "add", "深圳市南山", "--name", "2026年度设备采购项目", "--amount", "56万", "--stage", "谈判", "--expected-close", "2026-12-15")
        ok("ticket", "add", "上海星辰", "--type", "物流时效", "--content", "到货晚了三天，客户要求补偿运费", "--handler", "客服部张晓明")
        src = folder / "线索.csv"
        src.write_text("客户名称,联系电话,负责人\n广州白云机场物流配套服务有限公司,13800138000,赵六\n", encoding="utf-8")
        ok("import", str(src))
        ok("field", "add", "social", "--label", "社交媒体账号")
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return folder


def tokens(crm: Crm) -> set[str]:
    """Every code, date, phone and amount the data holds, as the tables show them."""
    from crmcli.render import amount

    found: set[str] = set()
    for c in crm.json("list"):
        found |= {c["code"], c["phone"], c["created_at"]}
        found |= {v for k, v in c.items() if k.endswith("_at") and v and len(v) == 10}
        found |= {amount(v) for k, v in c.items() if k in ("amount", "total_amount") and v}
    for d in crm.json("deal", "list"):
        found |= {d["code"], amount(d["amount"])} | ({d["expected_close"]} if d.get("expected_close") else set())
    for t in json.loads(crm.ok("ticket", "list", "--format", "json")):
        found.add(t["code"])
    return {t for t in found if t and len(t) >= 4}


COMMANDS = [["list"], ["list", "--due"], ["list", "--due", "--within", "60"], ["deal", "list"], ["ticket", "list"],
            ["dupes", "--min-score", "0.5"], ["history"], ["imports"], ["merges"], ["field", "list"], ["product", "list"],
            *(["report", k] for k in KINDS)]  # fmt: skip


@pytest.mark.parametrize("width", [60, 80, 120])
def test_no_code_date_phone_or_amount_is_split(crm: Crm, book: Path, width: int, monkeypatch: pytest.MonkeyPatch) -> None:
    from crmcli import render

    monkeypatch.setenv("CRM_DB", str(book / "crm.db"))
    monkeypatch.setenv("CRM_LANG", "zh")
    whole = tokens(crm)
    assert len(whole) > 20
    monkeypatch.setattr(render, "terminal_width", lambda: width)
    shown = 0
    for args in COMMANDS:
        out = ANSI.sub("", crm.ok(*args))
        assert not split_tokens(out, whole), (args, width, split_tokens(out, whole), out)
        for line in out.splitlines():
            assert width_of(line) <= width or " " not in line.strip(), (args, width, line)
        shown += sum(token in out for token in whole)
        if args[0] in ("list", "deal", "ticket") or args == ["report", "abc"]:
            assert "C2026" in out or "O2026" in out or "T2026" in out, (args, out)  # codes always stay
    assert shown > 50


def test_narrow_list_leaves_columns_out_and_says_so(crm: Crm, book: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from crmcli import render

    monkeypatch.setenv("CRM_DB", str(book / "crm.db"))
    monkeypatch.setenv("CRM_LANG", "en")
    monkeypatch.setattr(render, "terminal_width", lambda: 80)
    out = crm.ok("list")
    assert "left out, the terminal being too narrow:" in out and "Last follow-up" in " ".join(out.splitlines()[-2:])
    assert "C202601001" in out and "+86 139 0000 5600" in out
    monkeypatch.setattr(render, "terminal_width", lambda: 30)
    records = crm.ok("list")
    assert "Code  C202601001" in records.replace("   ", "  ") or re.search(r"Code\s+C202601001", records)
    monkeypatch.setattr(render, "terminal_width", lambda: 250)
    wide = crm.ok("list")
    assert "left out" not in wide and "Last follow-up" in wide
