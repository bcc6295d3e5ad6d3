"""The episode glossary: terms from metadata and the user, Whisper's prompt, and repairs of misheard names."""

from __future__ import annotations

import json

from core.artifacts import Segment
from core.glossary import Glossary, hotwords, terms_in, whisper_prompt
from engines.asr.termrepair import repair
from engines.llm.grounding import ungrounded

SHOW_NOTES = "本期嘉宾王磊来自宁德时代，和主播聊聊 CATL、BYD 的电池路线，以及 Kubernetes 和 OpenAI 的 GPT-4 在工厂里的用法。"


def test_terms_come_from_titles_show_notes_keywords_and_the_user():
    glossary = Glossary.of(show="科技早知道", title="对话王磊：电池战争", description=SHOW_NOTES, keywords=["储能", "Solid-state"], user=["宁德时代"])
    assert glossary.terms[:3] == ["宁德时代", "储能", "Solid-state"], "the user's terms first, then the feed's keywords"
    for name in ("王磊", "比亚迪" if "比亚迪" in SHOW_NOTES else "CATL", "BYD", "Kubernetes", "OpenAI", "GPT-4"):
        assert name in glossary.terms, (name, glossary.terms)
    assert "北京" not in terms_in("我们在北京见面。") and "嘉宾" not in glossary.terms, "common words are not names"


def test_a_sentence_s_capitalised_first_word_is_a_name_only_where_it_is_one_elsewhere():
    """The English evaluation set's glossaries held "From", "Host Sarah Chen", "Build Notes How" and "Edge Cases Language";
    a digest then said "The episode also mentions Shopify, The Data Stack and From."."""
    glossary = Glossary.of(
        show="Build Notes", title="How Stripe cut fraud-check latency", description="Host Sarah Chen talks with Raj Patel of Stripe. Lookups moved from Postgres to Redis.",
    )
    assert glossary.terms == ["Build Notes", "Stripe", "Sarah Chen", "Raj Patel", "Postgres", "Redis"]
    assert terms_in("From nightly batch to streaming at Shopify") == ["Shopify"]
    assert terms_in("Stripe cuts latency", "Raj Patel of Stripe") == ["Stripe"], "written so mid-sentence elsewhere: a name"


def test_whisper_prompt_is_a_punctuated_sentence_in_the_episode_language():
    glossary = Glossary(["王磊", "CATL", "Kubernetes"])
    chinese = whisper_prompt(glossary, "zh", show="科技早知道", title="电池战争")
    assert chinese.startswith("欢迎收听《科技早知道》。") and "王磊、CATL、Kubernetes" in chinese
    assert "，" in chinese and chinese.endswith("。") and "：" not in chinese, "normal Chinese punctuation, no bare list"
    generic = whisper_prompt(Glossary(), "zh")
    assert "简体中文" in generic and "，" in generic and "。" in generic
    assert whisper_prompt(glossary, "en", show="Tech Weekly", title="Batteries") == "Welcome to Tech Weekly. This episode: Batteries. We talk about 王磊, CATL, Kubernetes."
    assert hotwords(glossary) == "王磊 CATL Kubernetes" and hotwords(Glossary()) is None


def test_a_misheard_name_is_repaired_and_recorded():
    glossary = Glossary(["王磊", "Kubernetes", "OpenAI"])
    segments = [Segment(12.0, 15.0, "今天我们请到了王蕾，聊聊 Cooper Netties。"), Segment(15.0, 18.0, "他说 open AI 的模型很强。")]
    fixed, corrections = repair(segments, glossary)
    assert [s.text for s in fixed] == ["今天我们请到了王磊，聊聊 Kubernetes。", "他说 OpenAI 的模型很强。"]
    assert [(c.original, c.term, c.time) for c in corrections] == [("王蕾", "王磊", 12.0), ("Cooper Netties", "Kubernetes", 12.0), ("open AI", "OpenAI", 15.0)]


def test_common_words_that_sound_like_a_name_are_left_alone():
    glossary = Glossary(["王乐", "Meta", "Prefect"])
    segments = [Segment(0.0, 3.0, "我忘了带伞，我们很快乐。"), Segment(3.0, 6.0, "The metal was perfect, we prefer it.")]
    fixed, corrections = repair(segments, glossary)
    assert corrections == [] and [s.text for s in fixed] == [s.text for s in segments]


def test_corrections_are_written_into_the_transcript(tmp_path):
    from stages import transcribe as T

    chunk = tmp_path / "000.json"
    chunk.write_text(json.dumps({"offset": 0, "language": "zh", "engine": "faster-whisper", "model": "base", "segments": [{"start": 1.0, "end": 2.0, "text": "嘉宾王蕾来了", "words": []}]}))
    T.write_transcript([chunk], tmp_path, 2.0, glossary=["王磊"])
    written = json.loads((tmp_path / "transcript.json").read_text())
    assert written["text"] == "嘉宾王磊来了" and written["corrections"] == [{"original": "王蕾", "term": "王磊", "time": 1.0}]
    assert "王磊" in (tmp_path / "transcript.srt").read_text()


def test_chinese_scales_are_never_an_order_of_magnitude_off():
    transcript = "我们的月活用户已经超过一亿，收入增长了三千万元。"
    assert ungrounded("Monthly users passed one billion.", transcript) == ["1000000000"]
    assert ungrounded("Monthly users passed 100 million, revenue grew by 30 million yuan.", transcript) == []
    assert ungrounded("月活超过1亿，收入增长3000万元。", transcript) == []
    from engines.voice.textnorm import normalize_zh

    assert normalize_zh("月活超过1亿") == "月活超过一亿"
