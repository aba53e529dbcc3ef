"""A phone cell as people really write it (spec §12): labels, notes, two numbers.

``电话:13922220001(同微信)`` is the phone 13922220001 and the note 同微信; ``手机：139 2222 0001 /
微信同号`` likewise; ``Tel: +86-139...`` is a phone with its label; ``13812345678, 13912345678``
is a phone and another phone. The label alone says nothing and is dropped; what else the cell
says is kept as a note. A cell that holds no readable number is refused with the reason of
``normalize.phone_key`` -- nothing is guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from crmcli import normalize
from crmcli.errors import ParseError

# What a phone's label says: nothing worth keeping.
_LABEL_RE = re.compile(
    r"(?:联系电话|联系方式|电话号码|手机号码|手机号|手机|电话|座机|固话|办公电话|移动电话|tel|mobile|phone|cell|fax|传真)"
    r"\s*(?:[:：]|(?=\s*[+\d]))",
    re.IGNORECASE,
)
# A number as written: an optional +/00, digits with the separators people type, an extension.
_NUMBER_RE = re.compile(
    r"(?:\+|00)?\d[\d \-–—.()（）]{5,}\d(?:\s*(?:转|分机|ext\.?|x|#)\s*\d{1,6})?",
    re.IGNORECASE,
)
_FILLER_RE = re.compile(r"^[\s/／,，;；、|()（）\[\]【】:：.\-–—]+|[\s/／,，;；、|()（）\[\]【】:：.\-–—]+$")


@dataclass
class PhoneCell:
    phones: list[tuple[str, str]]  # (as shown, key), the first is the phone, the others other phones
    note: str | None = None  # what the cell says besides its numbers and label


def read(value: object) -> PhoneCell:
    """The numbers a cell holds, and its note; ParseError when it holds none."""
    try:
        return PhoneCell([(normalize.clean_phone(value), normalize.phone_key(value))])
    except ParseError as first:
        if not isinstance(value, str):
            raise
        whole_error = first
    text = normalize.drop_invisible(value)
    phones: list[tuple[str, str]] = []
    rest: list[str] = []
    at = 0
    for m in _NUMBER_RE.finditer(text):
        candidate = m.group().strip(" .-–—(（")
        try:
            key = normalize.phone_key(candidate)
            shown = normalize.clean_phone(candidate)
        except ParseError:
            continue
        if len(re.sub(r"\D", "", key)) < 7:
            continue
        if key not in {k for _, k in phones}:
            phones.append((shown, key))
        rest.append(text[at : m.start()])
        at = m.end()
    if not phones:
        raise whole_error
    rest.append(text[at:])
    leftover = " ".join(_FILLER_RE.sub("", _LABEL_RE.sub(" ", part)) for part in rest)
    note = normalize.clean_text(_FILLER_RE.sub("", " ".join(leftover.split())))
    return PhoneCell(phones, note or None)
