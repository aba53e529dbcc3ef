"""Near-duplicate customers (spec §14): pairs that are probably one customer, scored, with reasons.

A customer's name is reduced to its *core*: NFKC, case-folded, legal and common suffixes removed
(有限公司, 股份有限公司, 集团, 分公司, Co., Ltd., Inc., LLC, ...), a region in front, behind or in
brackets set aside (杭州云帆科技 = 杭州云帆科技有限公司 = 云帆科技(杭州)有限公司: core 云帆科技, region
杭州), and a name in Latin letters taken as its sorted words (``Lee, Tom`` = ``Tom Lee``).

Pairs are never formed from all customers. Candidates come from *blocks*:

* the same phone (any of a customer's phones, merged customers' included), the same e-mail,
  the same core: hash groups, all pairs inside a group of at most ``GROUP_MAX`` (a phone shared by
  more customers is a switchboard: not a reason alone, spec §14);
* sorted neighbourhoods: the cores sorted, forwards and written backwards, each compared with
  the next ``WINDOW`` ones by the fuzzy ratio of a maintained library (rapidfuzz), which finds a
  typo anywhere but in both the first and the last characters.

So the work grows with the number of customers, not with its square. Each candidate pair is
then scored: name evidence ``n`` (1.0 for the same name key, 0.97 for the same core, else the
fuzzy ratio of the cores times 0.96, lower when the two names carry different regions) and
contact evidence (the same phone or e-mail lifts the score to 0.9 + 0.1·n); a pair is listed
when its score reaches ``--min-score`` (0.85).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from crmcli.i18n import N_
from crmcli.normalize import drop_invisible

if TYPE_CHECKING:
    from crmcli.store.reader import Reader

MIN_SCORE = 0.85
GROUP_MAX = 20  # a phone, e-mail or core shared by more customers is not a reason alone
WINDOW = 6  # neighbours compared in each sorted order

_PROVINCES = (
    "北京", "天津", "上海", "重庆", "河北", "山西", "辽宁", "吉林", "黑龙江", "江苏", "浙江", "安徽", "福建", "江西",
    "山东", "河南", "湖北", "湖南", "广东", "海南", "四川", "贵州", "云南", "陕西", "甘肃", "青海", "台湾", "内蒙古",
    "广西", "西藏", "宁夏", "新疆", "香港", "澳门", "中国",
)
_CITIES = (
    "杭州", "宁波", "温州", "绍兴", "嘉兴", "湖州", "金华", "台州", "南京", "苏州", "无锡", "常州", "南通", "扬州",
    "徐州", "合肥", "芜湖", "福州", "厦门", "泉州", "南昌", "济南", "青岛", "烟台", "潍坊", "郑州", "洛阳", "武汉",
    "长沙", "广州", "深圳", "东莞", "佛山", "珠海", "中山", "惠州", "汕头", "海口", "三亚", "成都", "绵阳", "贵阳",
    "昆明", "西安", "兰州", "西宁", "银川", "乌鲁木齐", "拉萨", "南宁", "桂林", "石家庄", "唐山", "保定", "太原",
    "沈阳", "大连", "长春", "哈尔滨", "呼和浩特", "包头", "义乌", "昆山", "江阴", "常熟", "张家港",
)
REGIONS = frozenset(_PROVINCES + _CITIES)
_REGION_RE = re.compile(
    "^(" + "|".join(sorted(REGIONS, key=len, reverse=True)) + ")(?:省|市|自治区|特别行政区)?"
)
_REGION_TAIL_RE = re.compile("(" + "|".join(sorted(REGIONS, key=len, reverse=True)) + ")(?:省|市|自治区|特别行政区)?$")
_ZH_SUFFIXES = ("股份有限公司", "有限责任公司", "有限公司", "集团公司", "总公司", "分公司", "集团", "公司", "工作室", "商行")
_ZH_SUFFIX_RE = re.compile("(?:" + "|".join(_ZH_SUFFIXES) + ")$")
_EN_SUFFIXES = frozenset(("co", "ltd", "limited", "inc", "incorporated", "llc", "corp", "corporation", "company", "plc", "gmbh"))
_BRACKET_RE = re.compile(r"\(([^()]*)\)")
_WORD_RE = re.compile(r"[^\W_]+")
_CJK_RE = re.compile(r"[\u3400-\u9fff]")
_KEEP_RE = re.compile(r"[\W_]+")
_DIGITS_RE = re.compile(r"[0-9]+")

REASONS = {  # JSON key -> its text (translated where it is shown)
    "same_phone": N_("same phone"),
    "same_email": N_("same e-mail"),
    "same_name": N_("same name"),
    "same_core_name": N_("same name without legal suffix or region"),
    "name_order": N_("same name in another order"),
    "similar_name": N_("similar names"),
}


def core_of(name: str) -> tuple[str, str | None, bool]:
    """(core, region, latin): what is left of a name for comparing it, the region set aside, and
    whether the core is sorted Latin words."""
    text = unicodedata.normalize("NFKC", drop_invisible(name)).casefold().strip()
    region: str | None = None

    def bracket(m: re.Match[str]) -> str:
        nonlocal region
        inner = m.group(1).strip()
        hit = _REGION_RE.fullmatch(inner) or None
        if hit is not None:
            region = region or hit.group(1)
            return ""
        return inner

    text = _BRACKET_RE.sub(bracket, text)
    if not _CJK_RE.search(text):
        words = [w for w in _WORD_RE.findall(text) if w not in _EN_SUFFIXES]
        if words:
            return " ".join(sorted(words)), region, True
    core = _KEEP_RE.sub("", text)
    for _ in range(3):  # 集团有限公司: one suffix after another
        stripped = _ZH_SUFFIX_RE.sub("", core)
        words = _WORD_RE.findall(stripped)
        while words and words[-1] in _EN_SUFFIXES and len(words) > 1:  # "abc科技 co ltd"
            words.pop()
        stripped = "".join(words) if words else stripped
        if stripped == core or len(stripped) < 2:
            break
        core = stripped
    m = _REGION_RE.match(core)
    if m and len(core) - m.end() >= 2:
        region = region or m.group(1)
        core = core[m.end() :]
    else:
        m = _REGION_TAIL_RE.search(core)
        if m and m.start() >= 2:
            region = region or m.group(1)
            core = core[: m.start()]
    return core or _KEEP_RE.sub("", text) or text, region, False


@dataclass(slots=True)
class Who:
    id: int
    code: str
    name: str
    key: str  # name key
    core: str
    region: str | None
    latin: bool
    phones: tuple[str, ...] = ()  # a tuple, not a set: 100k customers' records stay small
    email: str | None = None


def who(cid: int, code: str, name: str, key: str, phone_key: str | None, email: str | None) -> Who:
    core, region, latin = core_of(name)
    return Who(cid, code, name, key, core, region, latin, (phone_key,) if phone_key else (), (email or "").strip().casefold() or None)


def _differing_words(a: Who, b: Who) -> tuple[str, str] | None:
    """Two Latin names' words that only one of them has, when both have some: those words decide
    (Northwind Logistics / Northwind Lgistics are one customer, Acme X / Acme Y are two)."""
    if not (a.latin and b.latin):
        return None
    wa, wb = a.core.split(" "), b.core.split(" ")
    ra, rb = [w for w in wa if w not in wb], [w for w in wb if w not in wa]
    return (" ".join(ra), " ".join(rb)) if ra and rb else None


def _weight(a: Who, b: Who) -> float:
    """What weighs against two similar names being one customer: different regions (杭州云帆科技
    and 上海云帆科技 may well be two companies), different numbers (Store 12 / Store 21, 第1分店 /
    第2分店)."""
    w = 1.0
    if a.region and b.region and a.region != b.region:
        w *= 0.85
    if _DIGITS_RE.findall(a.core) != _DIGITS_RE.findall(b.core):
        w *= 0.85
    return w


def score_pair(a: Who, b: Who, crowded: frozenset[str] | set[str] = frozenset()) -> tuple[float, list[str]]:
    """The score (0-1) and reasons of a pair; ``crowded``: phones that are not a reason alone."""
    from rapidfuzz.fuzz import ratio

    reasons: list[str] = []
    if a.key == b.key:
        n = 1.0
        reasons.append("same_name")
    elif a.core == b.core and (a.region is None or b.region is None or a.region == b.region):
        n = 0.97
        reasons.append("name_order" if a.latin and b.latin else "same_core_name")
    else:
        n = ratio(a.core, b.core) / 100 * 0.96
        words = _differing_words(a, b)
        if words:
            n = min(n, ratio(*words) / 100 * 0.96)
        n *= _weight(a, b)
        if n >= 0.6:
            reasons.append("similar_name")
    shared = set(a.phones).intersection(b.phones)
    contact = 0
    if shared:
        reasons.insert(0, "same_phone")
        if shared - crowded:
            contact += 1
    if a.email and a.email == b.email:
        reasons.insert(1 if shared else 0, "same_email")
        contact += 1
    score = n
    if contact:
        score = max(n, (0.95 if contact > 1 else 0.9) + (0.05 if contact > 1 else 0.1) * n)
    return round(score, 4), reasons


def load(reader: Reader) -> tuple[list[Who], dict[int, Who]]:
    """Every live customer (not archived, not merged), with its other phones and the phones of the
    customers merged into it."""
    people: dict[int, Who] = {}
    merged: list[tuple[int, str]] = []
    for cid, code, name, key, pk, email, archived, into in reader.stream(
        "SELECT id, code, name, name_key, phone_key, email, archived, merged_into FROM customer"
    ):
        if into is not None:
            if pk:
                merged.append((into, pk))
        elif not archived:
            people[cid] = who(cid, code, name, key, pk, email)
    if merged:
        target = dict(reader.all("SELECT id, merged_into FROM customer WHERE merged_into IS NOT NULL"))
        for into, pk in merged:
            hops = 0
            while into in target and hops < 100:  # merged into one merged later
                into, hops = target[into], hops + 1
            _add_phone(people.get(into), pk)
    for cid, pk in reader.stream("SELECT customer_id, phone_key FROM customer_phone"):  # other phones (spec §3)
        _add_phone(people.get(cid), pk)
    return list(people.values()), people


def _add_phone(w: Who | None, pk: str) -> None:
    if w is not None and pk and pk not in w.phones:
        w.phones += (pk,)


def candidates(people: Sequence[Who], min_score: float = MIN_SCORE) -> tuple[set[tuple[int, int]], set[str]]:
    """Candidate pairs (lower id first) from the blocks, and the crowded phones."""
    from rapidfuzz.fuzz import ratio

    pairs: set[tuple[int, int]] = set()
    crowded: set[str] = set()
    blocks = (
        ("phone", [(pk, w.id) for w in people for pk in w.phones]),
        ("email", [(w.email, w.id) for w in people if w.email]),
        ("core", [(w.core, w.id) for w in people]),
    )
    for kind, values in blocks:
        first: dict[str, int] = {}
        shared: dict[str, list[int]] = {}  # the values more than one customer has: most have none
        for value, cid in values:
            seen = first.setdefault(value, cid)
            if seen != cid:
                shared.setdefault(value, [seen]).append(cid)
        for value, ids in shared.items():
            if len(ids) > GROUP_MAX:
                if kind == "phone":
                    crowded.add(value)
                continue
            ids.sort()
            for i, x in enumerate(ids):
                for y in ids[i + 1 :]:
                    pairs.add((x, y))
    cut = min(min_score / 0.96 * 100, 100) - 0.01  # a neighbour below this cannot score min_score on its name
    for order in (sorted(people, key=attrgetter("core")), sorted(people, key=_core_backwards)):
        cores = [w.core for w in order]
        for i in range(len(order)):
            ci = cores[i]
            for j in range(i + 1, min(i + 1 + WINDOW, len(order))):
                if ratio(ci, cores[j], score_cutoff=cut) and _names_may_match(order[i], order[j], cut):
                    x, y = order[i].id, order[j].id
                    pairs.add((x, y) if x < y else (y, x))
    return pairs, crowded


def _core_backwards(w: Who) -> str:
    return w.core[::-1]


def _names_may_match(a: Who, b: Who, cut: float) -> bool:
    """Whether two names whose cores are close can still reach the threshold on their name alone
    once ``score_pair``'s weights against a pair apply (the cheap part of it, for neighbours: in a
    dense corpus most neighbours that pass the first test are Acme X / Acme Y)."""
    from rapidfuzz.fuzz import ratio

    need = cut / _weight(a, b)
    if need > 100 or (need > cut and not ratio(a.core, b.core, score_cutoff=need)):
        return False
    words = _differing_words(a, b)
    return words is None or bool(ratio(*words, score_cutoff=need))


def find(reader: Reader, *, min_score: float = MIN_SCORE, involving: Iterable[int] | None = None) -> list[dict[str, Any]]:
    """Pairs of live customers scoring ``min_score`` or more, best first: {a, b, score, reasons,
    a_name, b_name}. ``involving``: only pairs with one of these customers and one other."""
    import gc

    # The cyclic GC would walk the growing heap of customers again and again for nothing (what
    # this allocates holds no cycles and is freed by reference counting), and once more when it
    # is switched back on with them still alive: time would grow faster than the customers. So it
    # stays off until they are gone; only the pairs outlive ``_find``.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _find(reader, min_score, involving)
    finally:
        if gc_was_enabled:
            gc.enable()


def _find(reader: Reader, min_score: float, involving: Iterable[int] | None) -> list[dict[str, Any]]:
    people, by_id = load(reader)
    pairs, crowded = candidates(people, min_score)
    only = set(involving) if involving is not None else None
    out: list[dict[str, Any]] = []
    for x, y in pairs:
        if only is not None and (x in only) == (y in only):
            continue
        a, b = by_id[x], by_id[y]
        score, reasons = score_pair(a, b, crowded)
        if score >= min_score:
            out.append({"a": a.code, "b": b.code, "score": score, "reasons": reasons, "a_name": a.name, "b_name": b.name})
    out.sort(key=lambda p: (-float(p["score"]), p["a"], p["b"]))
    return out


def like(reader: Reader, customer_id: int, *, min_score: float = MIN_SCORE) -> list[dict[str, Any]]:
    """The live customers that a customer is probably a duplicate of (``add``'s note), best first.

    Candidates come from an index lookup on its phones and e-mail and a scan of the name keys for
    its core (or its longest word): a few milliseconds, not a pass over every pair.
    """
    from crmcli.services.customer_query import like_escape

    cols = "SELECT id, code, name, name_key, phone_key, email FROM customer"
    me_row = reader.one(cols + " WHERE id = :id", {"id": customer_id})
    if me_row is None:
        return []
    me = who(*me_row)
    live = "archived = FALSE AND merged_into IS NULL AND id != :id"
    words = me.core.split(" ") if me.latin else [me.core]
    word = max(words, key=len)
    found = reader.all(
        f"{cols} WHERE {live} AND (phone_key = :pk OR id IN (SELECT customer_id FROM customer_phone WHERE phone_key = :pk) "
        "OR (email IS NOT NULL AND lower(email) = :email) "
        "OR name_key LIKE :pattern ESCAPE '\\') LIMIT 200",
        {"id": customer_id, "pk": me_row[4] or None, "email": me.email or None, "pattern": f"%{like_escape(word)}%"},
    )
    crowded = {me_row[4]} if len([r for r in found if r[4] == me_row[4]]) >= GROUP_MAX else set()
    others = {row[0]: who(*row) for row in found}
    ids = {f"c{i}": cid for i, cid in enumerate([customer_id, *others])}
    for cid, pk in reader.all(f"SELECT customer_id, phone_key FROM customer_phone WHERE customer_id IN ({', '.join(':' + k for k in ids)})", ids):
        _add_phone(me if cid == customer_id else others.get(cid), pk)
    out: list[dict[str, Any]] = []
    for other in others.values():
        score, reasons = score_pair(me, other, crowded)
        if score >= min_score:
            out.append({"code": other.code, "name": other.name, "score": score, "reasons": reasons})
    out.sort(key=lambda p: (-float(p["score"]), p["code"]))
    return out


def reason_text(key: str, lang: str) -> str:
    from crmcli.i18n import gettext

    return gettext(REASONS.get(key, key), lang)
