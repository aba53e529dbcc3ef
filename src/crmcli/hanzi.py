"""Traditional → Simplified for the characters of our vocabulary and column headers.

Teams in Taiwan and Hong Kong keep the same templates in Traditional script (seed 004:
客戶編號, 聯繫人, 客戶狀態, 潛在客戶...). Only header and enum matching use this: the
text a user typed is stored as typed. A full converter (OpenCC) would be a dependency
for a few dozen characters.

The table covers every character of our header aliases (io/columns.py) and vocabulary
(vocab.py) that OpenCC's s2t, s2tw or s2hk writes differently (checked with
opencc-python-reimplemented, a development-time check only); add a pair when a new header or
alias brings a new character.
"""

from __future__ import annotations

_PAIRS = (
    "戶户 編编 號号 稱称 屬属 業业 聯联 繫系 係系 來来 觸触 狀状 態态 級级 話话 電电 進进 記记 錄录 類类 額额 銷销 階阶 "
    "標标 簽签 備备 註注 計计 劃划 預预 內内 郵邮 負负 責责 職职 潛潜 談谈 義义 積积 極极 猶犹 觀观 訪访 門门 會会 議议 視视 "
    "頻频 線线 點点 價价 報报 復复 購购 務务 題题 間间 時时 開开 細细 單单 數数 貨货 資资 訊讯 絡络 機机 關关 經经 廣广 擴扩 "
    "場场 動动 現现 傳传 導导 歷历 帳账 將将 區区 員员 戰战 達达 實实 據据 詢询 讀读 寫写 總总 結结 評评 滿满 與与 為为 個个 "
    "這这 們们 從从 後后 發发 轉转 紹绍 變变 歸归 檔档 並并 無无 處处 辦办 溝沟 週周 舊旧 產产 況况 創创 別别 對对 當当 碼码 "
    "籤签 約约 絕绝 獲获 費费 過过 鍵键 問问 饋馈"
)
TRAD_TO_SIMP = {ord(pair[0]): pair[1] for pair in _PAIRS.split()}


def simplify(text: str) -> str:
    """Map the Traditional characters we know to Simplified; everything else unchanged."""
    return text.translate(TRAD_TO_SIMP)
