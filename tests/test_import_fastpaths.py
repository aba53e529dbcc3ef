"""The importer's whole-column fast paths give exactly what its cell-by-cell converters give.

The 100k-row import owes part of its speed to C-level checks over a whole column at once
(``_batch_text``) and to leaving columns of short cells out of the sensitive-number scan;
these properties pin them to the plain per-cell functions, so a fast path can never import a
cell differently.
"""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from crmcli.errors import ParseError
from crmcli.services.importer import cells, writing

# Characters that exercise every branch: full-width forms NFKC changes (（）｜１Ａ), spaces of
# all kinds (¨ and ´ become a space and a combining mark), markers, invisible characters, combining marks, line breaks and the '|' joiner.
_ALPHABET = st.sampled_from(list("ab 中（）｜|１Ａ-—/无nN\u3000\u00a0\u200b\u0301\n\tｶﾞ¨´㈱"))
_CELL = st.one_of(st.just(""), st.text(_ALPHABET, max_size=8), st.sampled_from(["-", "——", "N/A", "n/A", "无", "公司（合肥）"]))


def _per_cell(col: tuple[str, ...], prose: bool) -> list[str | None]:
    conv = cells._keep_cell if prose else cells._clean_cell
    return [conv(v) for v in col]


@settings(max_examples=400, deadline=None)
@given(st.lists(_CELL, min_size=1, max_size=6).map(tuple), st.booleans())
@example(("熙璞医疗（合肥）有限公司", "深圳市心亚数据有限公司"), False)
@example(("a｜b", "c"), False)
@example(("（", "－"), False)
@example(("¨a",), False)  # NFKC: a leading space
@example(("a", "¨b"), False)  # a leading space after the joiner
@example(("a ¨",), False)  # two spaces
@example(("|N¨",), False)  # a '|' of the user's
def test_batch_text_equals_the_cell_by_cell_path(col: tuple[str, ...], prose: bool) -> None:
    fast = cells._batch_text(col, prose)
    if fast is not None:
        assert fast == _per_cell(col, prose)


def test_batch_text_takes_full_width_names_at_once() -> None:
    col = ("熙璞医疗（合肥）有限公司", "ＡＢＣ科技", "")
    assert cells._batch_text(col, prose=False) == ["熙璞医疗(合肥)有限公司", "ABC科技", None]
    # a full-width bar becomes the joiner's '|' inside its cell
    assert cells._batch_text(("a｜b", "c"), prose=False) == _per_cell(("a｜b", "c"), prose=False) == ["a|b", "c"]
    # NFKC made two spaces: clean_text collapses them, so the column goes cell by cell
    assert cells._batch_text(("a ¨",), prose=False) is None


@settings(max_examples=300, deadline=None)
@given(st.text(st.sampled_from(list("0123456789 -xX１２")), max_size=24))
def test_short_cells_never_hold_a_long_number(text: str) -> None:
    # columns whose cells are all shorter than _LONG_NUMBER_MIN are not scanned
    if cells._LONG_NUMBER_RE.search(text):
        assert len(text) >= cells._LONG_NUMBER_MIN


def test_converters_refuse_what_the_fast_path_would_not_see() -> None:
    try:
        cells._clean_cell("x" * (cells.MAX_CELL + 1))
    except ParseError as exc:
        assert "too long" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("a cell over MAX_CELL was accepted")
    assert cells._batch_text(("x" * (cells.MAX_CELL + 1),), prose=False) is None


def test_bound_columns_leave_out_only_null_columns_without_a_default() -> None:
    names = ("id", "code", "notes", "level", "stage", "amount")
    rows = [(1, "C1", None, None, None, 5.0), (2, "C2", None, None, None, None)]
    kept, values = writing._bound_columns(names, rows)
    # notes is NULL everywhere: left out; level and stage have defaults ('normal', 'potential')
    # that an absent column would take instead of NULL, so they stay however empty they are
    assert kept == ("id", "code", "level", "stage", "amount")
    assert values == [(1, "C1", None, None, 5.0), (2, "C2", None, None, None)]
    assert writing._bound_columns(names, []) == (names, [])
    full = [(1, "C1", "n", "vip", "won", 1.0)]
    assert writing._bound_columns(names, full) == (names, full)


def test_overlapping_imports_put_the_switch_interval_back() -> None:
    import sys

    before = sys.getswitchinterval()
    shared = writing._SWITCH_INTERVAL
    with shared:
        assert sys.getswitchinterval() == min(before, 0.001)
        shared.__enter__()  # a second import starts while the first runs...
    # ...and the first finishes before it: the short interval stays while the second runs
    assert sys.getswitchinterval() == min(before, 0.001)
    shared.__exit__(None, None, None)
    assert sys.getswitchinterval() == before and shared.users == 0
