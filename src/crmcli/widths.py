"""How many terminal columns text takes (East Asian wide and full-width characters count two,
combining marks none): every table, fitted help line and padded cell measures with this.

A module of its own so that what only measures (the Chinese help's one-line summaries) does not
import the renderers."""

from __future__ import annotations


class _Widths(dict[str, int]):
    """Character -> the columns it takes, worked out on first sight (a table's names repeat
    characters: a lookup in C instead of two unicodedata calls a character)."""

    def __missing__(self, ch: str) -> int:
        import unicodedata

        width = self[ch] = 2 if unicodedata.east_asian_width(ch) in "WF" else 0 if unicodedata.combining(ch) else 1
        return width


_WIDTHS = _Widths()
# ASCII and the common wide characters (CJK ideographs, CJK punctuation, full-width forms): each
# one 1 byte of UTF-8 and one column, or 3 bytes and two. Text of only these is as wide as
# (UTF-8 bytes + characters) / 2, which a long table works out in C (streamed.PaddedColumns).
_WIDE = "\u3000-\u303e\u4e00-\u9fff\uff01-\uff60"
ASCII_OR_WIDE = f"[\x00-\x7f{_WIDE}]*"
WIDE_ONLY = f"[{_WIDE}]*"  # text of only these (a person's name) is twice as wide as it is long


def text_width(text: str) -> int:
    """Columns a string takes in a terminal: East Asian wide and full-width characters count double."""
    if text.isascii():
        return len(text)
    return sum(map(_WIDTHS.__getitem__, text))
