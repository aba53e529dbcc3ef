"""Progress on stderr: on a terminal, the steps a person waits on with counts; in a pipe, nothing."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from tests.conftest import Crm


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_import_steps_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from crmcli.cli import progress

    monkeypatch.setattr(sys, "stderr", Tty())
    steps = progress.import_steps("客户.xlsx")
    with steps as update:
        assert update is not None
        task = steps.bar.tasks[0]
        assert task.description == "reading 客户.xlsx" and task.total is None  # the workbook loads: no count yet
        update(500, 2000)
        assert (task.description, task.completed, task.total) == ("importing", 500, 2000)
        update(2000, 2000)
        assert task.description == "writing"  # every row read: the commit is what is left


def test_export_rows_are_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from crmcli.cli import progress

    monkeypatch.setattr(sys, "stderr", Tty())

    class Reader:
        dialect = "x"

        def stream(self, sql: str) -> list[tuple[int]]:
            return [(i,) for i in range(2500)]

    with progress.Steps("exporting") as steps:
        counting = progress.Counting(Reader(), steps, "exporting to a.xlsx")
        assert len(list(counting.stream("q"))) == 2500 and counting.dialect == "x"
        assert counting.rows == 2500 and steps.bar.tasks[0].completed == 2000  # updated every 1,000 rows


def test_no_progress_in_a_pipe(crm: Crm, tmp_path: Path) -> None:
    src = tmp_path / "a.csv"
    src.write_text("客户名称,联系电话\n甲公司,13800000001\n", encoding="utf-8")
    result = crm("import", str(src))
    assert result.exit_code == 0 and result.stderr == ""
    result = crm("export", str(tmp_path / "out.xlsx"))
    assert result.exit_code == 0 and result.stderr == ""
    with progress_off() as steps:
        assert steps is None


def progress_off() -> object:
    from crmcli.cli.progress import Steps

    return Steps("x")


def test_ctrl_c_while_the_bar_starts_leaves_no_bar_running(monkeypatch: pytest.MonkeyPatch) -> None:
    """An interrupt between the bar's start and the ``with`` body: ``__exit__`` never runs, so the
    bar must stop itself -- else its thread redraws it after "interrupted; nothing imported"."""
    import sys

    from rich.progress import Progress

    from crmcli.cli import progress

    monkeypatch.setattr(sys, "stderr", Tty())

    def interrupted(self: Progress, *args: object, **kwargs: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(Progress, "add_task", interrupted)
    steps = progress.import_steps("客户.xlsx")
    with pytest.raises(KeyboardInterrupt):
        with steps:
            pass
    assert steps.bar is not None and not steps.bar.live.is_started
