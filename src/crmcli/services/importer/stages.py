"""A row's stage, and the rule that decides which columns are stage columns (spec §9).

The stage comes from 当前销售阶段 / 客户类型 / 合作状态 / Status / 客户状态, in that order: in each row
the first of these columns that has a value wins. A column counts as a stage column only if at
least half of its non-empty values are stages -- a fact about the whole column, which a stream
of chunks knows only at the end: these counts are kept as the chunks go, and the run asks for
the verdict (``failing``) once all rows are read (see the package docstring for what it does then).
"""

from __future__ import annotations

from typing import Any

from crmcli import normalize, vocab
from crmcli.i18n import gettext as _
from crmcli.io import columns
from crmcli.services.importer.cells import MAX_CELL, _shown, _unknown, _unquote


class _StageColumns:
    """The candidate stage columns, in order of preference, and for each how many non-empty
    values it had and how many of them were stages."""

    def __init__(self, cols: list[columns.Column], names: dict[int, str], *, from_csv: bool, mapped: dict[str, str] | None = None) -> None:
        from collections import Counter

        self.cols = cols
        self.idx = [c.index for c in cols]
        self.names = names
        self.from_csv = from_csv
        self.nonempty = {c.index: 0 for c in cols}
        self.hits = {c.index: 0 for c in cols}
        self.used: set[int] = set()  # columns that gave some row its stage (or refused it)
        self._cache: dict[Any, Any] = {}  # cell -> '' (empty), None (not a stage) or key
        self.mapped = mapped or {}  # --map-value stage:VALUE=KEY: folded value -> key
        self.unknown: Counter[tuple[str, str]] = Counter()  # ("stage", value) -> rows refused for it

    def of_rows(self, cols: list[tuple[Any, ...]], rows: list[list[Any]], items: list[tuple[int, list[Any]]], errs: list[list[str]]) -> list[str | None]:
        """Each row's stage: the first stage column with a value wins (None: no stage given)."""
        out: list[str | None] = [None] * len(rows)
        pending = range(len(rows))
        for i, keys in zip(self.idx, self._keys(cols, len(rows)), strict=True):
            rest = []
            for k in pending:
                key = keys[k]
                if key == "":
                    rest.append(k)
                    continue
                self.used.add(i)
                if key is None:
                    errs[k].append(_shown(_("row {rowno}, column {column}: {reason}").format(rowno=items[k][0], column=self.names[i], reason=_unknown('stage', rows[k][i]))))
                    self.unknown[("stage", normalize.clean_text(rows[k][i]) or "")] += 1
                else:
                    out[k] = key
            pending = rest  # type: ignore[assignment]
        return out

    def _keys(self, cols: list[tuple[Any, ...]], n: int) -> list[list[Any]]:
        """For each stage column, each cell as '' (empty), None (not a stage) or its stage key;
        counting, for the half rule, the column's values and how many are stages."""
        out = []
        cache = self._cache
        for i in self.idx:
            col = cols[i]
            for v in set(col).difference(cache):
                cache[v] = self._key(v)
            keys = list(map(cache.__getitem__, col))
            empty = keys.count("")
            self.nonempty[i] += n - empty
            self.hits[i] += n - empty - keys.count(None)
            out.append(keys)
        if len(cache) > 10_000:
            cache.clear()
        return out

    def _key(self, v: Any) -> str | None:
        """'' for an empty cell, None for a value that is not a stage, else the stage key."""
        if type(v) is str:
            if self.from_csv:
                v = _unquote(v)
            if len(v) > MAX_CELL:
                return None
        text = normalize.clean_text(v)
        if text is None:
            return ""
        if self.mapped:
            key = self.mapped.get(vocab.fold(text))
            if key is not None:
                return key
        return vocab.lookup("stage", text)

    def failing(self) -> set[int]:
        """The columns fewer than half of whose values are stages (a column given by --map always passes)."""
        failing: set[int] = set()
        for col in self.cols:
            if col.mapped:
                continue
            n, hits = self.nonempty[col.index], self.hits[col.index]
            if n and hits * 2 < n:
                failing.add(col.index)
        return failing

    def reported(self) -> list[str]:
        """The headers of the stage columns that held a value, for the summary."""
        return [c.header for c in self.cols if self.nonempty[c.index] or c.index in self.used]
