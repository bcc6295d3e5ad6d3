"""Script text into what a presenter says: numbers, dates, money, acronyms and runs by script."""

from __future__ import annotations

from engines.voice.textnorm import normalize_en, normalize_zh, sentences_to_say


def test_english_normalisation():
    assert normalize_en("Revenue grew 50% in 2023 to $3.5 million.") == "Revenue grew fifty percent in twenty twenty-three to three point five million dollars."
    assert normalize_en("GPT-4 beat the 1990s on 2024-05-01 at 10:30") == "G P T four beat the nineteen nineties on May first, twenty twenty-four at ten thirty"
    assert normalize_en("ChatGPT has 100M users, NASA and the FBI 8GB") == "Chat G P T has one hundred million users, Nasa and the F B I eight gigabytes"
    assert normalize_en("the 21st of 5 km") == "the twenty-first of five kilometers"


def test_chinese_normalisation():
    assert normalize_zh("营收增长了50%，达到3.5亿元") == "营收增长了百分之五十，达到三点五亿元"
    assert normalize_zh("2024-05-01上午10:30") == "二零二四年五月一日上午十点三十分"
    assert normalize_zh("GPT-4售价$20") == "GPT-4售价二十美元", "numbers glued to Latin words stay with the English voice"
    runs = sentences_to_say("我们用GPT-4写代码。", "zh")[0].runs
    assert [(r.text, r.language) for r in runs] == [("我们用", "zh"), ("G P T four", "en"), ("写代码", "zh")]
