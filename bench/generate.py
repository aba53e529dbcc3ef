"""Deterministic generator of realistic Chinese CRM spreadsheet data for benchmarks.

The rows follow the seed-000 template (sheet "客户信息总表", 19 columns, one follow-up per row).
Everything is driven by a seeded ``random.Random``: the same ``(n, seed)`` always gives the same
rows, on any machine and any ``PYTHONHASHSEED``. Only the standard library is needed, plus
openpyxl for ``write_xlsx`` (imported lazily). All writers stream from generators, so memory stays
flat at 1,000,000 rows.

Script use::

    python bench/generate.py xlsx --rows 100000 --out bench/data/customers_100k.xlsx [--seed 1]
    python bench/generate.py csv  --rows 1000000 --out bench/data/customers_1m.csv

Module use (from the repository root; ``bench`` is a namespace package)::

    from bench.generate import HEADERS, rows, write_xlsx, write_csv, followup_rows

Guarantees, for one ``(n, seed)``:

* 客户名称 is unique, also after the spec's name normalisation (NFKC, spaces, case).
  Uniqueness is structural (per-(city, trade word) permutations), not a set of seen names.
  A branch "（第N分公司）" is appended only when a (city, trade word) group runs out of its
  54,011 brands (not before ~10 million rows).
* 联系电话 is unique, also after the spec's phone normalisation: mobiles come from a
  permutation of the row index over the 11-digit space, landlines (3.5 %, area code of the
  company's city) from another one (unique up to 7e7 rows).
* 客户编号 is ``C`` + YYYYMM of 创建日期 + a serial within that month (3 digits, more only past
  999 -- 4 digits from ~25k rows, 5 from ~250k), unique; rows are in creation order.
* 创建日期 <= 跟进日期 == 最后跟进日期 <= 2026-11-26, dates spread over the two years before it.

Creation dates are spaced by quantiles over ``n`` (so rows are in date order without sorting);
``rows(100)`` is therefore not a prefix of ``rows(1000)``.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import random
import sys
import time
from bisect import bisect_left
from collections.abc import Iterator
from functools import lru_cache
from itertools import accumulate
from pathlib import Path

__all__ = [
    "END",
    "HEADERS",
    "START",
    "created_date",
    "followup_rows",
    "owner_of",
    "rows",
    "write_csv",
    "write_xlsx",
]

HEADERS: list[str] = [
    "客户编号",
    "客户名称",
    "所属行业",
    "客户类型",
    "联系人",
    "联系人职位",
    "联系电话",
    "邮箱",
    "客户来源",
    "核心需求",
    "跟进日期",
    "跟进人",
    "跟进方式",
    "跟进内容",
    "客户反馈",
    "合作状态",
    "下次跟进计划",
    "创建日期",
    "最后跟进日期",
]

SHEET_TITLE = "客户信息总表"

END = dt.date(2026, 11, 26)
SPAN = 730  # days
START = END - dt.timedelta(days=SPAN)
_EXTRA_DAYS = 120  # dates after END, for next-follow-up dates and plan texts
_DATES: tuple[dt.date, ...] = tuple(START + dt.timedelta(days=k) for k in range(SPAN + _EXTRA_DAYS + 1))
_WEEKDAY: tuple[int, ...] = tuple(d.weekday() for d in _DATES)


# ---------------------------------------------------------------------------------------------
# small helpers


def _table(pairs: list[tuple[object, int]] | tuple[tuple[object, int], ...]) -> tuple:
    """Expand (item, integer weight) pairs into a lookup table: ``t[int(random() * len(t))]``."""
    out: list[object] = []
    for item, weight in pairs:
        out.extend([item] * weight)
    return tuple(out)


def _is_prime(n: int) -> bool:
    if n < 2:
        return False
    small = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37)
    for p in small:
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d //= 2
        s += 1
    for a in small:  # deterministic for n < 3.3e24
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def _cube_prime(limit: int) -> int:
    """Largest prime p <= limit with p % 3 == 2, so that x -> x**3 mod p is a bijection."""
    p = limit
    while not (p % 3 == 2 and _is_prime(p)):
        p -= 1
    return p


class _Perm:
    """A keyed pseudo-random permutation of range(p): x -> (a * (x + b)**3 + c) mod p."""

    __slots__ = ("p", "a", "b", "c")

    def __init__(self, p: int, rng: random.Random) -> None:
        self.p = p
        self.a = rng.randrange(1, p)
        self.b = rng.randrange(p)
        self.c = rng.randrange(p)

    def __call__(self, x: int) -> int:
        p = self.p
        return (self.a * pow(x + self.b, 3, p) + self.c) % p


def _mix(i: int, seed: int) -> int:
    """A cheap 64-bit integer hash (splitmix64 finaliser) of (i, seed)."""
    x = (i * 0x9E3779B97F4A7C15 + seed * 0xD1B54A32D192ED03 + 0x632BE59BD9B4E019) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return x ^ (x >> 31)


# ---------------------------------------------------------------------------------------------
# vocabulary

# city, weight, landline area code (all 2 characters; "市" never appears in a brand)
_CITIES: tuple[tuple[str, int, str], ...] = (
    ("北京", 10, "010"), ("上海", 10, "021"), ("深圳", 9, "0755"), ("广州", 8, "020"),
    ("杭州", 7, "0571"), ("成都", 6, "028"), ("南京", 5, "025"), ("武汉", 5, "027"),
    ("苏州", 5, "0512"), ("天津", 4, "022"), ("重庆", 4, "023"), ("西安", 4, "029"),
    ("长沙", 3, "0731"), ("郑州", 3, "0371"), ("青岛", 3, "0532"), ("宁波", 3, "0574"),
    ("厦门", 2, "0592"), ("合肥", 2, "0551"), ("济南", 2, "0531"), ("东莞", 3, "0769"),
    ("佛山", 2, "0757"), ("无锡", 2, "0510"), ("昆明", 1, "0871"), ("大连", 1, "0411"),
    ("福州", 2, "0591"),
)  # fmt: skip
_CITY_TABLE = _table([(k, w) for k, (_, w, _) in enumerate(_CITIES)])

# 2-character brand syllables (duplicates removed below); never contains "市" or brackets
_SYLLABLES = tuple(dict.fromkeys(
    "华信达通恒泰宏鑫源创联博睿智远新盛丰瑞祥康安利德诚佳和汇嘉鼎腾飞凯旭明辉晨星耀金银宝鸿海天中正升"
    "永昌兴隆洋宇航峰林森润泽清蓝青绿优品乐享云图方圆拓展立成启迪先锋卓越精准捷迅讯合众融邦力磊岩川江"
    "河山石光电能动灵美雅尚悦欣荣富吉福益友同心志驰骏麒麟凤龙鹰鹏雄威坤乾元亨晟昊昱晖炜烨煜琪瑾璟珑琳"
    "瑜璞蓉芯维纳迈普朗帆舟桥途行道仁义诺承一百千万亿九三东南北亚欧宸赛铭皓奥弘韵缘晶瀚澜沃沐尊凡聚"
    "壹佰君朗逸豪杰俊英豪翔宁静远扬辰熙锦绣春秋阳光舜禹尧汉唐宋齐鲁楚越吴蜀湘赣闽粤桂黔滇晋冀豫皖浙"
))  # fmt: skip
_NSYL = len(_SYLLABLES)
# brand index -> (b1, b2) with b1 != b2: b1 = idx // (S-1), b2 = (b1 + 1 + idx % (S-1)) % S
_BRAND_PRIME = _cube_prime(_NSYL * (_NSYL - 1))

# industry, weight, trade words used in the company name (all 2 characters), extra titles,
# core-need objects
_INDUSTRIES: tuple[tuple[str, int, tuple[str, ...], tuple[str, ...], tuple[str, ...]], ...] = (
    ("互联网", 12, ("科技", "网络", "信息", "数字"), ("产品经理", "CTO"),
     ("云服务器租赁服务", "企业定制化办公软件", "小程序开发", "数据中台建设", "网络安全防护方案", "SaaS协同办公平台")),
    ("IT服务", 9, ("信息", "科技", "软件", "数据"), ("IT主管", "项目经理"),
     ("云服务器租赁服务", "机房运维外包", "企业邮箱与OA系统", "数据备份方案", "网络设备更新", "正版软件授权")),
    ("制造业", 12, ("制造", "实业", "工业", "精密"), ("厂长", "生产经理", "设备主管"),
     ("定制化生产管理系统", "MES系统上线", "设备预测性维护方案", "原材料长期供应", "仓储管理系统", "质检自动化设备")),
    ("零售业", 10, ("商贸", "百货", "贸易", "超市"), ("店长", "区域经理"),
     ("门店智能收银系统升级", "会员管理系统", "长期合作的供应商", "节日礼盒定制", "库存管理系统", "线上商城搭建")),
    ("教育培训", 7, ("教育", "培训", "文化", "学堂"), ("校长", "教务主任"),
     ("在线课程平台", "教务管理系统", "招生推广服务", "智慧教室设备", "员工内训课程")),
    ("机械制造", 6, ("机械", "重工", "机电", "设备"), ("厂长", "设备主管", "生产经理"),
     ("数控机床采购", "设备维保服务", "零配件长期供应", "生产线自动化改造", "工业机器人")),
    ("物流", 7, ("物流", "速运", "货运", "运输"), ("调度主管", "仓储经理"),
     ("运输管理系统", "仓储外包服务", "车辆GPS监控方案", "冷链配送合作", "快递面单打印设备")),
    ("金融", 3, ("投资", "金融", "资本"), ("风控总监", "网点主任"),
     ("客户关系管理系统", "风控数据服务", "营业网点智能终端", "员工培训服务")),
    ("医疗健康", 5, ("医疗", "健康", "医药", "生物"), ("院长", "药剂科主任"),
     ("医院信息化系统", "医疗器械采购", "员工体检套餐", "药品冷链配送")),
    ("房地产", 3, ("置业", "地产", "房产"), ("营销总监", "物业经理"),
     ("案场销售管理系统", "物业管理软件", "楼盘推广服务", "智能门禁系统")),
    ("餐饮", 5, ("餐饮", "美食", "酒楼"), ("店长", "厨师长"),
     ("点餐收银系统", "食材集中采购", "连锁门店装修", "外卖运营服务")),
    ("建筑工程", 5, ("建筑", "建设", "工程", "建工"), ("项目经理", "工程部经理"),
     ("工程项目管理软件", "建材集中采购", "施工设备租赁", "劳务外包服务")),
    ("电子商务", 6, ("电商", "网络", "商贸"), ("运营总监", "店铺运营"),
     ("直播带货服务", "电商仓配一体化", "店铺代运营", "客服外包服务")),
    ("文化传媒", 4, ("传媒", "文化", "广告", "影视"), ("创意总监", "策划经理"),
     ("品牌宣传片拍摄", "新媒体代运营", "活动策划执行", "企业画册设计")),
    ("能源化工", 3, ("能源", "化工", "新能"), ("安全主管", "厂长"),
     ("安全生产监测系统", "危化品运输服务", "节能改造方案", "环保检测设备")),
    ("食品饮料", 3, ("食品", "饮品", "酒业"), ("品控经理", "厂长"),
     ("包装设计升级", "冷链物流合作", "商超渠道拓展", "食品检测设备")),
    ("汽车", 3, ("汽车", "汽配", "汽贸"), ("售后经理", "车队主管"),
     ("4S店管理系统", "零部件长期供应", "车队管理方案", "汽车用品团购")),
)  # fmt: skip
_INDUSTRY_TABLE = _table([(k, ind[1]) for k, ind in enumerate(_INDUSTRIES)])
_STUDIO_OK = frozenset({"互联网", "IT服务", "教育培训", "文化传媒", "电子商务"})

_SUFFIXES = _table([("有限公司", 68), ("有限责任公司", 6), ("股份有限公司", 8), ("集团有限公司", 4), ("集团", 5),
                    ("工作室", 9)])  # fmt: skip
_TITLES = _table([("采购经理", 16), ("总经理", 12), ("技术总监", 7), ("运营经理", 8), ("采购总监", 5),
                  ("副总经理", 5), ("行政主管", 5), ("IT主管", 4), ("财务经理", 4), ("市场总监", 4),
                  ("董事长", 3), ("项目经理", 5), ("信息部经理", 3), ("人事经理", 3), ("采购专员", 6),
                  ("办公室主任", 3), ("总经理助理", 3)])  # fmt: skip

_SURNAMES: tuple[tuple[str, str, int], ...] = (
    ("王", "wang", 71), ("李", "li", 70), ("张", "zhang", 67), ("刘", "liu", 54), ("陈", "chen", 45),
    ("杨", "yang", 31), ("黄", "huang", 22), ("赵", "zhao", 20), ("吴", "wu", 20), ("周", "zhou", 19),
    ("徐", "xu", 13), ("孙", "sun", 13), ("马", "ma", 12), ("朱", "zhu", 12), ("胡", "hu", 11),
    ("郭", "guo", 11), ("何", "he", 10), ("高", "gao", 10), ("林", "lin", 10), ("罗", "luo", 9),
    ("郑", "zheng", 9), ("梁", "liang", 8), ("谢", "xie", 7), ("宋", "song", 6), ("唐", "tang", 6),
    ("许", "xu", 6), ("韩", "han", 6), ("冯", "feng", 6), ("邓", "deng", 6), ("曹", "cao", 5),
    ("彭", "peng", 5), ("曾", "zeng", 5), ("肖", "xiao", 5), ("田", "tian", 4), ("董", "dong", 4),
    ("袁", "yuan", 4), ("潘", "pan", 4), ("于", "yu", 4), ("蒋", "jiang", 4), ("蔡", "cai", 4),
    ("余", "yu", 4), ("杜", "du", 4), ("叶", "ye", 4), ("程", "cheng", 4), ("苏", "su", 3),
    ("魏", "wei", 3), ("吕", "lv", 3), ("丁", "ding", 3), ("任", "ren", 3), ("沈", "shen", 3),
    ("姚", "yao", 3), ("卢", "lu", 3), ("姜", "jiang", 3), ("崔", "cui", 3), ("钟", "zhong", 3),
    ("谭", "tan", 3), ("陆", "lu", 3), ("汪", "wang", 3), ("范", "fan", 3), ("金", "jin", 3),
    ("石", "shi", 3), ("廖", "liao", 3), ("贾", "jia", 3), ("夏", "xia", 3), ("韦", "wei", 2),
    ("付", "fu", 2), ("方", "fang", 2), ("白", "bai", 2), ("邹", "zou", 2), ("孟", "meng", 2),
    ("熊", "xiong", 2), ("秦", "qin", 2), ("邱", "qiu", 2), ("江", "jiang", 2), ("尹", "yin", 2),
    ("薛", "xue", 2), ("闫", "yan", 2), ("段", "duan", 2), ("雷", "lei", 2), ("侯", "hou", 2),
    ("龙", "long", 2), ("史", "shi", 2), ("欧阳", "ouyang", 1), ("司马", "sima", 1), ("诸葛", "zhuge", 1),
)  # fmt: skip
_SURNAME_TABLE = _table([((s, py), w) for s, py, w in _SURNAMES])

_GIVEN: tuple[tuple[str, str], ...] = tuple(
    (ch, py)
    for ch, py in (
        pair.split(":")
        for pair in (
            "伟:wei 芳:fang 娜:na 敏:min 静:jing 丽:li 强:qiang 磊:lei 军:jun 洋:yang 勇:yong 艳:yan 杰:jie "
            "娟:juan 涛:tao 明:ming 超:chao 秀:xiu 霞:xia 平:ping 刚:gang 桂:gui 英:ying 华:hua 建:jian "
            "国:guo 文:wen 辉:hui 鹏:peng 宇:yu 浩:hao 晨:chen 欣:xin 怡:yi 婷:ting 雪:xue 琳:lin 佳:jia "
            "子:zi 轩:xuan 涵:han 睿:rui 博:bo 俊:jun 凯:kai 峰:feng 亮:liang 斌:bin 波:bo 宁:ning 倩:qian "
            "晶:jing 燕:yan 玲:ling 萍:ping 红:hong 梅:mei 兰:lan 春:chun 海:hai 东:dong 林:lin 志:zhi "
            "成:cheng 龙:long 飞:fei 鑫:xin 丹:dan 莉:li 慧:hui 颖:ying 琪:qi 瑶:yao 嘉:jia 雨:yu 思:si "
            "梦:meng 晓:xiao 彤:tong 阳:yang 帆:fan 昊:hao 然:ran 泽:ze 一:yi 诺:nuo 安:an 可:ke 欢:huan "
            "健:jian 永:yong 德:de 新:xin 利:li 清:qing 振:zhen 宏:hong 荣:rong 彬:bin 云:yun 天:tian "
            "翔:xiang 玉:yu 珊:shan 蕾:lei 璐:lu 洁:jie 婧:jing 雯:wen 坤:kun 毅:yi 晴:qing 露:lu 冰:bing "
            "秋:qiu 菲:fei 薇:wei 卫:wei 忠:zhong 光:guang 金:jin 松:song 凤:feng 爽:shuang 鹤:he 庆:qing"
        ).split()
    )
)
_NGIVEN = len(_GIVEN)

_STAGES = _table([("潜在客户", 34), ("意向客户", 27), ("谈判中", 15), ("成交客户", 15), ("流失客户", 9)])
_METHODS: tuple[tuple[str, str, int], ...] = (  # key, template label, weight
    ("phone", "电话沟通", 40), ("wechat", "微信", 25), ("visit", "现场拜访", 15),
    ("email", "邮件发送", 10), ("meeting", "线上会议", 10),
)  # fmt: skip
_METHOD_TABLE = _table([((k, label), w) for k, label, w in _METHODS])
_FU_METHOD_TABLE = _table([(k, w) for k, _, w in _METHODS] + [("other", 2)])
_FEEDBACK_LABEL = {"positive": "积极", "hesitant": "犹豫", "negative": "消极"}
_FEEDBACK_BY_STAGE = {  # stage -> table of feedback keys (None: cell left empty)
    "潜在客户": _table([("positive", 30), ("hesitant", 45), ("negative", 10), (None, 15)]),
    "意向客户": _table([("positive", 55), ("hesitant", 30), ("negative", 5), (None, 10)]),
    "谈判中": _table([("positive", 50), ("hesitant", 40), ("negative", 5), (None, 5)]),
    "成交客户": _table([("positive", 75), ("hesitant", 10), ("negative", 5), (None, 10)]),
    "流失客户": _table([("positive", 3), ("hesitant", 20), ("negative", 67), (None, 10)]),
}
_FU_FEEDBACK_TABLE = _table([("positive", 40), ("hesitant", 30), ("negative", 10), (None, 20)])
_SOURCES = _table([("展会推广", 16), ("线上广告", 12), ("客户转介绍", 15), ("主动拜访", 11), ("线上推广", 12),
                   ("电话营销", 9), ("官网咨询", 8), ("行业会议", 5), ("老客户推荐", 6), ("招投标", 3),
                   ("社交媒体", 3)])  # fmt: skip

_METHOD_OPENERS = {
    "phone": ("电话沟通：", "电话回访：", "电话跟进：", ""),
    "visit": ("上门拜访：", "现场拜访：", "拜访客户："),
    "email": ("邮件发送方案：", "邮件跟进：", "发送资料邮件："),
    "wechat": ("微信沟通：", "微信跟进：", ""),
    "meeting": ("线上会议：", "视频会议演示：", "线上会议沟通："),
    "other": ("", "跟进："),
}
_STATEMENTS = {
    "positive": ("客户对方案很感兴趣", "客户确认了产品需求", "客户认可报价", "客户已收到样品，反馈质量合格",
                 "客户对演示效果满意", "客户同意安排技术交流", "客户希望尽快推进", "决策人已参与沟通并表示认可",
                 "客户对配置要求明确", "客户主动询问合同条款", "客户对方案感兴趣"),
    "hesitant": ("客户觉得价格偏高", "客户在对比其他供应商", "客户预算尚未批复", "决策人出差，暂无明确答复",
                 "客户对交付周期有顾虑", "客户需内部再讨论", "客户对售后服务存在疑问", "客户表示需要再看看案例"),
    "negative": ("客户因内部调整暂停采购", "客户已选择其他供应商", "客户表示暂无需求", "联系人已离职，需重新对接",
                 "客户预算被砍，项目搁置", "多次联系未接通", "客户对价格不接受"),
    None: ("首次联系，介绍公司产品", "发送产品资料", "了解客户基本情况", "确认对接人及联系方式", "客户未明确表态"),
}  # fmt: skip
_DETAILS = ("预算约{b}万", "预算{b}万/年",  # the two budget forms first
            "需{m}月前上线", "要求提供同行业案例", "希望增加企业LOGO定制",
            "关注售后响应速度", "需要对接现有ERP系统", "要求分期付款", "希望先试用一个月", "需求数量约{q}套",
            "要求提供三家报价对比", "关注数据安全", "需走招标流程", "需老板最终拍板")  # fmt: skip
_ACTIONS = ("发送定制方案并报价", "安排技术人员上门演示", "发送3个行业案例", "确认合同条款", "寄送样品",
            "跟进预算审批进度", "邀请参加产品发布会", "约决策人面谈", "告知批量订单优惠政策", "整理需求清单",
            "提交正式报价单", "安排试用账号", "回访使用情况", "确认上线时间")  # fmt: skip
_WHEN = ("下周", "本周内", "3日内", "月底前", "明日", "下周一", "下周二", "两周内", "")
_LOST_PLANS = ("暂停跟进", "半年后回访", "季度末再联系", None)
_NEED_VERBS = ("需要", "需要", "计划采购", "寻找", "希望引入", "有意升级", "咨询", "考虑更换", "急需")
_NEED_TAILS = ("", "", "", "", "，预算约{b}万", "，要求{m}月前上线", "，需支持多门店", "，关注售后服务",
               "，希望分期付款", "，需对接现有系统", "，年内完成采购")  # fmt: skip

_MOBILE_PREFIXES = tuple(
    str(p)
    for p in (130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 145, 147, 149, 150, 151, 152, 153, 155, 156,
              157, 158, 159, 162, 165, 166, 167, 170, 171, 173, 175, 176, 177, 178, 180, 181, 182, 183, 184,
              185, 186, 187, 188, 189, 190, 191, 193, 195, 196, 197, 198, 199)
)  # fmt: skip
_MOBILE_PRIME = _cube_prime(len(_MOBILE_PREFIXES) * 10**8)
_LANDLINE_PRIME = _cube_prime(7 * 10**7)  # local numbers 20000000..89999999


def _day_cumulative() -> tuple[float, ...]:
    """Cumulative weight of each creation day: weekdays busy, weekends and holidays quiet, slow growth."""
    holidays = set()
    for a, b in (((2025, 1, 28), (2025, 2, 4)), ((2026, 2, 15), (2026, 2, 23)),
                 ((2025, 10, 1), (2025, 10, 8)), ((2026, 10, 1), (2026, 10, 7))):  # fmt: skip
        d, e = dt.date(*a), dt.date(*b)
        while d <= e:
            holidays.add(d)
            d += dt.timedelta(days=1)
    weights = []
    for k in range(SPAN + 1):
        d = _DATES[k]
        w = (1.0, 1.0, 1.0, 1.0, 0.95, 0.3, 0.15)[d.weekday()]
        if d in holidays:
            w *= 0.15
        weights.append(w * (0.8 + 0.5 * k / SPAN))
    return tuple(accumulate(weights))


_DAY_CUM = _day_cumulative()


def created_date(i: int, n: int) -> dt.date:
    """创建日期 of customer ``i`` of ``n`` (ascending in ``i``; the same in rows() and followup_rows())."""
    return _DATES[_created_offset(i, n)]


def _created_offset(i: int, n: int) -> int:
    return min(bisect_left(_DAY_CUM, (i + 0.5) / n * _DAY_CUM[-1]), SPAN)


@lru_cache(maxsize=8)
def _sales_team(seed: int) -> tuple[str, ...]:
    """The 跟进人 pool: distinct names, weighted (some reps own more customers)."""
    rng = random.Random(f"crm-bench-sales:{seed}")
    names: list[str] = []
    while len(names) < 36:
        s = rng.choice(_SURNAMES)[0]
        g = "".join(rng.choice(_GIVEN)[0] for _ in range(rng.choice((1, 2, 2))))
        if s + g not in names:
            names.append(s + g)
    return _table([(name, rng.randint(1, 6)) for name in names])


def owner_of(i: int, seed: int = 1) -> str:
    """The 跟进人 / owner of customer ``i`` (a deterministic function of ``(i, seed)``)."""
    team = _sales_team(seed)
    return team[_mix(i, seed) % len(team)]


# ---------------------------------------------------------------------------------------------
# text builders (r = rng.random)


def _fill(text: str, r, month: int) -> str:
    if "{" not in text:
        return text
    return text.format(b=(3, 5, 8, 10, 12, 15, 20, 30, 50, 80, 100, 200)[int(r() * 12)],
                       m=(month + int(r() * 4)) % 12 + 1, q=(5, 10, 20, 30, 50, 100, 200)[int(r() * 7)])


def _pick(seq, r):
    return seq[int(r() * len(seq))]


def _plan(r, off: int) -> str:
    when = _pick(_WHEN, r)
    if r() < 0.3:
        d = _DATES[off + 2 + int(r() * 20)]
        when = f"{d.month}月{d.day}日前"
    return when + _pick(_ACTIONS, r)


def _content(r, method: str, feedback: str | None, off: int) -> tuple[str, str | None]:
    """(跟进内容, its "下一步" plan or None)."""
    d = _DATES[off]
    opener = _pick(_METHOD_OPENERS[method], r)
    if r() < 0.2:
        opener = f"{d.month:02d}-{d.day:02d}{opener or '跟进：'}"
    text = opener + _pick(_STATEMENTS[feedback], r)
    x = r() if feedback != "negative" else 1.0
    if x < 0.45:  # one or two details; at most one budget, never the same one twice
        k = int(r() * len(_DETAILS))
        text += "，" + _fill(_DETAILS[k], r, d.month)
        if x < 0.12:
            k2 = 2 + int(r() * (len(_DETAILS) - 2))
            if k2 != k:
                text += "，" + _fill(_DETAILS[k2], r, d.month)
    step = None
    if feedback != "negative" and r() < 0.5:
        step = _plan(r, off)
        text += "；下一步：" + step
    return text + "。", step


def _need(r, industry: tuple, month: int) -> str:
    return _pick(_NEED_VERBS, r) + _pick(industry[4], r) + _fill(_pick(_NEED_TAILS, r), r, month)


# ---------------------------------------------------------------------------------------------
# customers


class _Names:
    """Unique company names: per (city, trade word) group a keyed permutation over 2-syllable brands.

    Pattern A "{city}{brand}{word}{suffix}", B "{city}市{brand}{word}{suffix}",
    C "{brand}{word}({city}){suffix}", D "{brand}{word}{suffix}" (group city = None). Brands never
    contain "市" or brackets and trade words are 2 characters, so a name decodes back to its
    (pattern, city, brand, word): different groups or brands can never give the same name.
    """

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.groups: dict[tuple[int, str], list] = {}

    def __call__(self, r, industry: tuple) -> tuple[str, int]:
        word = _pick(industry[2], r)
        x = r()
        city = -1 if x < 0.05 else _CITY_TABLE[int(r() * len(_CITY_TABLE))]
        key = (city, word)
        g = self.groups.get(key)
        if g is None:
            g = self.groups[key] = [0, _Perm(_BRAND_PRIME, random.Random(f"crm-bench-brand:{self.seed}:{key}"))]
        count = g[0]
        g[0] = count + 1
        branch, idx = divmod(count, _BRAND_PRIME)
        idx = g[1](idx)
        b1, rest = divmod(idx, _NSYL - 1)
        brand = _SYLLABLES[b1] + _SYLLABLES[(b1 + 1 + rest) % _NSYL]
        suffix = _SUFFIXES[int(r() * len(_SUFFIXES))]
        if suffix == "工作室" and industry[0] not in _STUDIO_OK:
            suffix = "有限公司"
        if city < 0:
            name = brand + word + suffix
        else:
            c = _CITIES[city][0]
            if x < 0.72:
                name = c + brand + word + suffix
            elif x < 0.88:
                name = c + "市" + brand + word + suffix
            elif suffix in ("有限公司", "股份有限公司"):
                name = f"{brand}{word}（{c}）{suffix}"
            else:
                name = c + brand + word + suffix
        if branch:
            name += f"（第{branch}分公司）"
        return name, city


class _Phones:
    """Unique phone numbers: mobiles from a permutation of the row index over the 11-digit space."""

    def __init__(self, seed: int) -> None:
        rng = random.Random(f"crm-bench-phone:{seed}")
        self.mobile = _Perm(_MOBILE_PRIME, rng)
        self.landline = _Perm(_LANDLINE_PRIME, rng)

    def __call__(self, r, i: int, city: int) -> str:
        x = r()
        if x < 0.035:  # landline of the company's city, some with an extension
            if city < 0:
                city = _CITY_TABLE[int(r() * len(_CITY_TABLE))]
            number = f"{_CITIES[city][2]}-{20000000 + self.landline(i)}"
            if x < 0.006:
                number += f"转{int(r() * 900) + 100}"
            return number
        k = self.mobile(i)
        p, s = _MOBILE_PREFIXES[k // 100000000], f"{k % 100000000:08d}"
        if x < 0.955:
            return p + s
        if x < 0.97:
            return f"+86 {p} {s[:4]} {s[4:]}"
        if x < 0.98:
            return f"+86{p}{s}"
        if x < 0.995:
            return f"{p} {s[:4]} {s[4:]}"
        return f"{p}-{s[:4]}-{s[4:]}"


def _contact(r) -> tuple[str, str, str]:
    """(联系人, surname pinyin, given pinyin) — a few are written "王总"-style."""
    s, spy = _SURNAME_TABLE[int(r() * len(_SURNAME_TABLE))]
    x = r()
    if x < 0.03:
        return s + _pick(("总", "经理", "工", "主任"), r), spy, ""
    g1, p1 = _GIVEN[int(r() * _NGIVEN)]
    if x < 0.33:
        return s + g1, spy, p1
    g2, p2 = _GIVEN[int(r() * _NGIVEN)]
    return s + g1 + g2, spy, p1 + p2


def _email(r, spy: str, gpy: str) -> str | None:
    x = r()
    if x < 0.12:
        return None
    if not gpy:
        return f"{spy}{int(r() * 9000) + 1000}@example.com"
    if x < 0.45:
        local = spy + gpy
    elif x < 0.6:
        local = f"{gpy}.{spy}"
    elif x < 0.8:
        local = f"{spy}{gpy}{int(r() * 99) + 1}"
    elif x < 0.9:
        local = f"{spy}.{gpy}"
    else:
        local = f"{spy[0]}{gpy}{(80, 85, 88, 90, 92, 95, 99, 666, 888)[int(r() * 9)]}"
    return local + "@example.com"


def rows(n: int, seed: int = 1) -> Iterator[list[object]]:
    """Yield ``n`` customer rows, values in ``HEADERS`` order.

    Dates are ``datetime.date``, the phone a str; an empty cell (some 邮箱, 客户反馈, 下次跟进计划) is None.
    跟进人 is ``owner_of(i, seed)`` on 90 % of rows, 创建日期 is ``created_date(i, n)``.
    """
    rng = random.Random(seed)
    r = rng.random
    names = _Names(seed)
    phones = _Phones(seed)
    team = _sales_team(seed)
    nteam = len(team)
    month_key = -1
    serial = 0
    for i in range(n):
        c_off = _created_offset(i, n)
        created = _DATES[c_off]
        ym = created.year * 100 + created.month
        if ym != month_key:
            month_key, serial = ym, 0
        serial += 1

        industry = _INDUSTRIES[_INDUSTRY_TABLE[int(r() * len(_INDUSTRY_TABLE))]]
        name, city = names(r, industry)
        stage = _STAGES[int(r() * len(_STAGES))]
        contact, spy, gpy = _contact(r)
        title = _pick(industry[3], r) if r() < 0.15 else _TITLES[int(r() * len(_TITLES))]

        # follow-up: same day for a fifth, else a few weeks later; weekends mostly moved to Friday
        room = SPAN - c_off
        gap = 0 if r() < 0.2 else int(rng.expovariate(1 / 20))
        if gap > room:
            gap = int(r() * (room + 1))
        f_off = c_off + gap
        wd = _WEEKDAY[f_off]
        if wd >= 5 and f_off - (wd - 4) >= c_off and r() < 0.8:
            f_off -= wd - 4
        follow = _DATES[f_off]

        method, method_label = _METHOD_TABLE[int(r() * len(_METHOD_TABLE))]
        fb_table = _FEEDBACK_BY_STAGE[stage]
        feedback = fb_table[int(r() * len(fb_table))]
        idle = SPAN - f_off
        x = r()
        if stage == "流失客户":
            status = "流失" if x < 0.85 else "沉睡"
        elif idle <= 60:
            status = "活跃" if x < 0.9 else "沉睡"
        elif idle <= 180:
            status = "活跃" if x < 0.45 else "沉睡"
        else:
            status = "沉睡" if x < 0.75 else ("流失" if x < 0.9 else "活跃")
        content, step = _content(r, method, feedback, f_off)
        if stage == "流失客户":
            plan = _pick(_LOST_PLANS, r)
        else:
            plan = step if step and r() < 0.8 else _plan(r, f_off)

        yield [
            f"C{ym}{serial:03d}",
            name,
            industry[0],
            stage,
            contact,
            title,
            phones(r, i, city),
            _email(r, spy, gpy),
            _SOURCES[int(r() * len(_SOURCES))],
            _need(r, industry, created.month),
            follow,
            team[_mix(i, seed) % nteam] if r() < 0.9 else team[int(r() * nteam)],
            method_label,
            content,
            _FEEDBACK_LABEL[feedback] if feedback else None,
            status,
            plan,
            created,
            follow,
        ]


# ---------------------------------------------------------------------------------------------
# follow-ups (for a large database; the writer lives elsewhere)


def _followup_weights(n_customers: int, seed: int) -> Iterator[float]:
    """Per-customer share of the follow-ups: skewed (gamma), older customers get more."""
    rng = random.Random(f"crm-bench-fu-weights:{seed}")
    gamma = rng.gammavariate
    for i in range(n_customers):
        yield gamma(0.6, 1.0) * (0.15 + (SPAN - _created_offset(i, n_customers)) / SPAN)


def followup_rows(n_customers: int, per_customer: int | float, seed: int = 1) -> Iterator[tuple]:
    """Yield ``round(n_customers * per_customer)`` follow-ups, grouped by customer, dates ascending.

    Each item is ``(customer_index, date, method_key, content, feedback_key_or_None, by,
    next_date_or_None, next_plan_or_None)``; ``customer_index`` is 0-based in ``rows(n_customers, seed)``
    order, dates lie between that customer's ``created_date`` and ``END`` (next dates may be later),
    ``method_key`` is one of phone/visit/email/wechat/meeting/other, feedback one of
    positive/hesitant/negative. With ``per_customer >= 1`` every customer has at least one follow-up.
    Memory is flat: the per-customer counts come from two passes over a re-seeded weight stream.
    """
    if n_customers <= 0:
        return
    total = round(n_customers * per_customer)
    base = 1 if per_customer >= 1 else 0
    extra = total - base * n_customers
    weight_sum = 0.0
    for w in _followup_weights(n_customers, seed):
        weight_sum += w
    rng = random.Random(f"crm-bench-followups:{seed}")
    r = rng.random
    team = _sales_team(seed)
    nteam = len(team)
    cum = 0.0
    given = 0
    for i, w in enumerate(_followup_weights(n_customers, seed)):
        cum += w
        upto = int(cum * extra / weight_sum + 0.5) if weight_sum else 0
        if i == n_customers - 1:
            upto = extra
        k = base + upto - given
        given = upto
        if k <= 0:
            continue
        c_off = _created_offset(i, n_customers)
        room = SPAN - c_off
        owner = team[_mix(i, seed) % nteam]
        offs = sorted(c_off + int((room + 1) * r() ** 1.4) for _ in range(k))
        if r() < 0.6:
            offs[0] = c_off + min(int(r() * 4), room)
            offs.sort()
        for off in offs:
            method = _FU_METHOD_TABLE[int(r() * len(_FU_METHOD_TABLE))]
            feedback = _FU_FEEDBACK_TABLE[int(r() * len(_FU_FEEDBACK_TABLE))]
            content, step = _content(r, method, feedback, off)
            by = owner if r() < 0.85 else team[int(r() * nteam)]
            if r() < 0.65:
                nd_off = off + 1 + int(r() * 21)
                next_date = _DATES[nd_off]
                x = r()
                if step and x < 0.7:
                    next_plan = step
                elif x < 0.9:
                    next_plan = _pick(_ACTIONS, r)
                else:
                    next_plan = None
            else:
                next_date = None
                next_plan = step if step and r() < 0.5 else None
            yield (i, _DATES[off], method, content, feedback, by, next_date, next_plan)


# ---------------------------------------------------------------------------------------------
# writers

_WIDTHS = (13, 30, 10, 10, 9, 12, 16, 26, 11, 34, 12, 9, 10, 60, 9, 9, 26, 12, 13)


def write_xlsx(path: str | os.PathLike, n: int, seed: int = 1) -> Path:
    """Write ``n`` rows to an .xlsx (sheet 客户信息总表) with openpyxl in write-only mode."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(SHEET_TITLE)
    for k, width in enumerate(_WIDTHS, start=1):
        ws.column_dimensions[get_column_letter(k)].width = width
    ws.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for h in HEADERS:
        cell = WriteOnlyCell(ws, value=h)
        cell.font = bold
        header.append(cell)
    ws.append(header)
    append = ws.append
    for row in rows(n, seed):
        append(row)  # date values get openpyxl's date number format; str values are text cells
    wb.save(path)
    return path


def write_csv(path: str | os.PathLike, n: int, seed: int = 1) -> Path:
    """Write ``n`` rows as UTF-8 with BOM, same header, ISO dates."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)
        w.writerow(HEADERS)
        w.writerows(rows(n, seed))
    return path


# ---------------------------------------------------------------------------------------------
# command line


def _count(text: str) -> int:
    t = text.strip().lower().replace("_", "").replace(",", "")
    mult = {"k": 1_000, "m": 1_000_000}.get(t[-1:], 1)
    return int(float(t[:-1] if mult > 1 else t) * mult)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Generate realistic CRM spreadsheet data (seed-000 template).")
    ap.add_argument("format", choices=("xlsx", "csv"))
    ap.add_argument("--rows", type=_count, default=100_000, help="number of rows (100000, 100k, 1m)")
    ap.add_argument("--out", type=Path, help="output file (default bench/data/customers_<rows>.<format>)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    out = args.out or Path(__file__).resolve().parent / "data" / f"customers_{args.rows}.{args.format}"
    t0 = time.perf_counter()
    (write_xlsx if args.format == "xlsx" else write_csv)(out, args.rows, args.seed)
    secs = time.perf_counter() - t0
    print(f"{out}: {args.rows} rows, {out.stat().st_size / 1e6:.1f} MB, {secs:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
