"""Progress on stderr for the steps a person waits on (reading a workbook, importing its rows,
writing them, exporting), with counts; only when stderr is a terminal, never in pipes or cron."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from typing import Any


class Steps:
    """A transient bar whose label follows the step: ``reading FILE`` (no count is known while
    the workbook loads), ``importing`` with done/total, then ``writing`` until the commit."""

    def __init__(self, first: str) -> None:
        self.first = first
        self.bar: Any = None
        self.task: Any = None

    def __enter__(self) -> Steps | None:
        if not sys.stderr.isatty():
            return None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        from crmcli import render

        self.bar = Progress(
            SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=render.console(stderr=True), transient=True,
        )  # fmt: skip
        try:
            self.bar.__enter__()
            self.task = self.bar.add_task(self.first, total=None)
        except BaseException:  # Ctrl-C while the bar starts: stop it, or it is drawn again after "interrupted"
            self.bar.__exit__(None, None, None)
            raise
        return self

    def step(self, label: str, done: int = 0, total: int | None = None) -> None:
        self.bar.update(self.task, description=label, completed=done, total=total)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


def import_steps(file: str) -> Any:
    """The importer's progress callback ``(done, total)`` over the three steps of an import."""
    from crmcli.i18n import gettext as _

    class ImportSteps(Steps):
        def __enter__(self) -> Any:
            return self.update if super().__enter__() is not None else None

        def update(self, done: int, total: int | None) -> None:
            label = _("writing") if total is not None and done >= total else _("importing")
            self.step(label, done, total)

    return ImportSteps(_("reading {file}").format(file=file))


class Counting:
    """A reader whose streamed rows are counted into a progress line (an export's rows)."""

    def __init__(self, reader: Any, steps: Steps | None, label: str) -> None:
        self._reader, self._steps, self._label, self.rows = reader, steps, label, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reader, name)

    def stream(self, *args: Any, **kwargs: Any) -> Iterator[Sequence[Any]]:
        for row in self._reader.stream(*args, **kwargs):
            self.rows += 1
            if self._steps is not None and not self.rows % 1000:
                self._steps.bar.update(self._steps.task, description=self._label, completed=self.rows)
            yield row
