"""The faithfulness check on crafted cases."""

from __future__ import annotations

import pytest

from engines.llm.grounding import claims, normalise, ungrounded

TRANSCRIPT_EN = "Welcome back. Maria Lopez from Solar Grid says prices fell forty percent since 2020, and they sold twelve thousand units."
TRANSCRIPT_ZH = "今年我们的用户增长到了三百二十万，李开复说，二零二三年是关键的一年，成本下降了百分之四十。"


def test_invented_number_is_caught():
    assert ungrounded("Prices fell 45% since 2020.", TRANSCRIPT_EN) == ["45"]


def test_number_words_and_digits_agree():
    assert ungrounded("Prices fell 40% since 2020 and 12,000 units were sold.", TRANSCRIPT_EN) == []


def test_chinese_numerals_in_transcript_digits_in_summary():
    assert ungrounded("用户增长到320万，2023年是关键一年，成本下降40%。", TRANSCRIPT_ZH) == []
    assert ungrounded("用户增长到330万。", TRANSCRIPT_ZH) == ["3300000"]


def test_a_figure_s_wan_is_grounded_where_whisper_wrote_a_character_that_sounds_like_it():
    """beyond-code: Whisper base wrote "Kimi的月火用户已经超过1000瓦" for 一千万; the digest's 1000万 is what was said."""
    heard = "过去一年，Kimi的月火用户已经超过1000瓦，营收超过3以。"
    assert ungrounded("Kimi的月活用户超过1000万，营收超过3亿。", heard) == []
    assert ungrounded("Kimi的月活用户超过2000万。", heard) == ["20000000"], "another figure"
    assert ungrounded("用户超过1000万。", "用户超过1000元。") == ["10000000"], "元 does not sound like 万"
    assert ungrounded("用户超过1000万。", "用户超过21000瓦。") == ["10000000"], "the figure before it is another"
    assert ungrounded("营收超过100亿。", "100以上的用户") == ["10000000000"], "以 of 以上: a word of its own"
    assert ungrounded("营收1亿。", "这是统一以人民币计价") == ["100000000"], "the 一 of 统一 is no figure"


def test_a_thousands_comma_before_a_chinese_character_is_read():
    """going-global: "特斯拉的4,680电池" is 4680 (a Chinese character after the digits is no word boundary)."""
    assert ungrounded("特斯拉的4680电池良率一直是个问题。", "我问他，特斯拉的4,680电池怎么样？") == []
    assert normalise("4,680电池和1,2345") == "4680电池和1,2345"
    assert ungrounded("2024年有100家公司参展。", "到2024，100家公司参展。") == [], "a Chinese comma between two figures stays"


def test_full_width_characters_are_normalised():
    assert normalise("ＡＢＣ ２０２３") == "abc 2023"
    assert ungrounded("成本下降了４０％，这是２０２３年。", TRANSCRIPT_ZH) == []


def test_invented_names_are_caught_in_both_languages():
    assert ungrounded("Maria Lopez of Solar Grid met Elon Musk.", TRANSCRIPT_EN) == ["Elon Musk"]
    assert any("马云" in item for item in ungrounded("李开复和马云都认为这是关键的一年。", TRANSCRIPT_ZH))  # jieba may keep a particle
    assert "李开复" not in ungrounded("李开复和马云都认为这是关键的一年。", TRANSCRIPT_ZH)


def test_case_does_not_matter_and_sentence_openers_are_not_names():
    assert ungrounded("The guests from SOLAR GRID spoke. Today prices fell.", TRANSCRIPT_EN) == []
    assert "Today" not in claims("Today prices fell. The host spoke.")


def test_names_can_be_skipped_for_headings():
    assert ungrounded("Episode Overview And Key Takeaways 2020", TRANSCRIPT_EN, names=False) == []


@pytest.mark.parametrize(("text", "expected"), [("twenty three", "23"), ("one hundred and five", "105"), ("two thousand and twenty", "2020"), ("3 million", "3000000")])
def test_english_number_words(text, expected):
    assert normalise(text) == expected
