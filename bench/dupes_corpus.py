"""A customer corpus with planted near-duplicates, for ``crm dupes`` (bench_dupes.py and tests).

``make(path, n, seed)`` writes a database of ``n`` customers of which 5% are planted duplicates
of another customer, an equal share of each kind the issue names:

* ``suffix``  -- 云帆科技 / 云帆科技有限公司 (another phone);
* ``region``  -- 杭州云帆科技 / 云帆科技(杭州)有限公司 (another phone);
* ``phone``   -- the same phone under another name (the contact's own name);
* ``email``   -- the same e-mail under another name (the brand alone);
* ``order``   -- Tom Lee / Lee, Tom (another phone);
* ``typo``    -- Northwind Logistics Partners / Northwind Logistcs Partners (another phone);

and, beside them, what must *not* be found: unrelated look-alikes (云帆科技 / 云帆物流: the same
brand in another trade, 2% of ``n``) and switchboards (25 unrelated customers behind one phone).
Returns the planted pairs as (lower id, higher id). Base names never share a core, so every
other pair is a true negative.
"""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

BRAND_CHARS = (
    "云帆星辰海纳百川蓝天绿源金桥鼎盛恒通华联博睿启明佳禾东方精密万达新锐远航卓越宏图盛世创新智慧未来天元瑞丰永安"
    "长城腾飞凯旋飞鹰雄狮龙腾凤凰麒麟锦绣山河春秋明月清风朝阳晨曦星光银河宇宙乾坤阳光雨露彩虹极光北斗南方西部中原"
)
TRADES = ("科技", "物流", "贸易", "制造", "教育", "医疗", "传媒", "建设", "电器", "软件", "食品", "纺织", "化工", "能源", "咨询", "环保")
LEGAL = ("有限公司", "有限责任公司", "股份有限公司", "集团", "公司")
CITIES = ("杭州", "上海", "北京", "深圳", "广州", "南京", "苏州", "成都", "武汉", "西安", "宁波", "厦门")
FIRST = ("Tom", "Anna", "James", "Maria", "Peter", "Linda", "David", "Susan", "Robert", "Karen", "Michael", "Laura",
         "William", "Emma", "Richard", "Olivia", "Joseph", "Sophia", "Thomas", "Grace", "Daniel", "Chloe", "Matthew", "Ella")  # fmt: skip
LAST = ("Lee", "Smith", "Brown", "Wilson", "Taylor", "Clarke", "Walker", "Wright", "Hughes", "Green", "Hall", "Wood",
        "Harris", "Martin", "Cooper", "King", "Baker", "Turner", "Parker", "Morgan", "Bennett", "Ward", "Foster", "Hayes")  # fmt: skip
WORDS = ("Northwind", "Bluestone", "Silverline", "Redwood", "Brightpath", "Evergreen", "Ironbridge", "Clearwater",
         "Goldfield", "Highland", "Stonegate", "Westbrook", "Oakridge", "Riverside", "Summit", "Harborview")  # fmt: skip
EN_TRADES = ("Logistics Partners", "Medical Devices", "Software Systems", "Industrial Supply", "Food Products",
             "Energy Solutions", "Media Group", "Construction Works")  # fmt: skip
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚"
KINDS = ("suffix", "region", "phone", "email", "order", "typo")


_ONSETS = ("b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "z", "br", "st", "tr", "gr")
_VOWELS = ("a", "e", "i", "o", "u", "ai", "ou", "ea")


def _word(rng: random.Random, syllables: int) -> str:
    return "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) for _ in range(syllables)).capitalize()


def _typo(word: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word) - 1)
    return word[:i] + word[i + 1 :]  # a dropped letter


def make(path: Path, n: int, seed: int = 7) -> set[tuple[int, int]]:
    """Write the corpus into ``path`` (a new crm database); return the planted pairs."""
    from crmcli import normalize
    from crmcli.store import sqlite as db

    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    db.get_engine(path)
    db.dispose_all()
    rng = random.Random(seed)
    planted_n = n * 5 // 100
    lookalike_n = n * 2 // 100
    switch_n = 25 * max(1, n // 20_000)
    base_n = n - planted_n - lookalike_n - switch_n
    cores: set[str] = set()
    phones: set[str] = set()
    rows: list[tuple[str, str | None, str]] = []  # (name, email, phone)

    def phone() -> str:
        while True:
            p = f"1{rng.choice('3589')}{rng.randrange(10**9):09d}"
            if p not in phones:
                phones.add(p)
                return p

    def cjk_core() -> tuple[str, str, str]:
        while True:
            brand = rng.choice(BRAND_CHARS) + rng.choice(BRAND_CHARS) + rng.choice(BRAND_CHARS)
            trade = rng.choice(TRADES)
            if brand + trade not in cores and brand[0] != brand[1]:
                cores.add(brand + trade)
                return brand, trade, brand + trade

    people: set[tuple[str, str]] = set()
    firms: set[str] = set()
    base: list[dict[str, str]] = []
    for i in range(base_n):
        kind = KINDS[i % len(KINDS)] if i < planted_n else rng.choice(("cjk", "cjk", "cjk", "cjk", "person", "firm"))
        if kind == "order" or kind == "person":
            while True:
                first, last = rng.choice(FIRST), rng.choice(LAST)
                if len(people) > 400:  # the common names are taken: made-up ones
                    first, last = _word(rng, 2), _word(rng, 3)
                if (first, last) not in people and (last, first) not in people:
                    people.add((first, last))
                    break
            rec = {"kind": kind, "name": f"{first} {last}", "first": first, "last": last}
        elif kind == "typo" or kind == "firm":
            while True:
                name = f"{rng.choice(WORDS)} {_word(rng, 3)} {rng.choice(EN_TRADES)}"
                if name not in firms:
                    firms.add(name)
                    break
            rec = {"kind": kind, "name": name}
        else:
            brand, trade, core = cjk_core()
            city = rng.choice(CITIES)
            name = {"suffix": core, "region": city + core}.get(kind, (city if rng.random() < 0.3 else "") + core + rng.choice(LEGAL))
            rec = {"kind": kind, "name": name, "brand": brand, "trade": trade, "core": core, "city": city}
        rec["phone"] = phone()
        rec["email"] = f"info{i}@{rng.choice(('corp', 'mail', 'biz'))}{i}.example.com" if rng.random() < 0.3 or kind == "email" else ""
        base.append(rec)
        rows.append((rec["name"], rec["email"] or None, rec["phone"]))
    planted_at: list[tuple[int, int]] = []  # (row index of base, row index of duplicate)
    for i in range(planted_n):
        rec = base[i]
        kind, email, ph = rec["kind"], None, phone()
        if kind == "suffix":
            name = rec["core"] + rng.choice(LEGAL)
        elif kind == "region":
            name = f"{rec['core']}({rec['city']}){rng.choice(LEGAL)}"
        elif kind == "phone":
            while True:  # the contact's own name, once in the corpus
                name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN) + rng.choice(("", "", "") + tuple(GIVEN))
                if name not in cores:
                    cores.add(name)
                    break
            ph = rec["phone"]
        elif kind == "email":
            name, email = rec["brand"] + "集团" + rng.choice(("总部", "采购部", "华东区")), rec["email"]
        elif kind == "order":
            name = f"{rec['last']}, {rec['first']}"
        else:
            words = rec["name"].split(" ")
            j = max(range(len(words)), key=lambda k: len(words[k]))
            words[j] = _typo(words[j], rng)
            name = " ".join(words)
        planted_at.append((i, len(rows)))
        rows.append((name, email, ph))
    for _ in range(lookalike_n):  # 云帆科技 and 云帆物流: another trade of a brand, never the same customer
        rec = base[rng.randrange(planted_n, base_n)]
        if "brand" not in rec:
            rows.append((cjk_core()[2] + "有限公司", None, phone()))
            continue
        trade = rng.choice([t for t in TRADES if t != rec["trade"] and rec["brand"] + t not in cores])
        cores.add(rec["brand"] + trade)
        rows.append((rec["brand"] + trade + rng.choice(LEGAL), None, phone()))
    for g in range(switch_n // 25):  # switchboards: 25 unrelated customers behind one number
        board = f"0571{88000000 + g:08d}"
        for _ in range(25):
            rows.append((cjk_core()[2] + "有限公司", None, board))
    order = list(range(len(rows)))
    rng.shuffle(order)  # ids unrelated to kinds
    id_of = {row: k + 1 for k, row in enumerate(order)}
    con = sqlite3.connect(path)
    try:
        con.executemany(
            "INSERT INTO customer (id, code, name, name_key, phone, phone_key, email, level, stage, created_at, archived) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, 'normal', 'potential', '2026-01-01', 0)",
            [
                (id_of[r], f"C2026{id_of[r]:07d}", rows[r][0], normalize.name_key(rows[r][0]), rows[r][2],
                 normalize.phone_key(rows[r][2]), rows[r][1])
                for r in sorted(order, key=id_of.__getitem__)
            ],
        )  # fmt: skip
        con.commit()
    finally:
        con.close()
    return {tuple(sorted((id_of[a], id_of[b]))) for a, b in planted_at}  # type: ignore[misc]


def codes(pairs: set[tuple[int, int]]) -> set[tuple[str, str]]:
    return {(f"C2026{a:07d}", f"C2026{b:07d}") for a, b in pairs}
