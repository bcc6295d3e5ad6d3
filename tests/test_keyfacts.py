"""Key facts (issue 25) sentence by sentence in both languages, and the evaluation sets they belong to (no LLM, no audio decoded)."""

from __future__ import annotations

import pytest

from evaluation import enset, keyfacts, zhset
from evaluation.episodes import EvalEpisode, read_rttm

RAJ = {"fact": "Raj Patel is a staff engineer at Stripe", "all": [["Raj"], ["Stripe"]]}
LATENCY = {"fact": "p99 latency went from 800 to 120 ms", "all": [["latency"], ["800", "eight hundred"], ["120", "one hundred and twenty"]]}
TEAM = {"fact": "nine months with six engineers", "all": [["nine months", "9 months"], ["six", "6"]]}
DAVID = {"fact": "David is a speech-recognition researcher at Microsoft Research", "all": [["David"], ["Microsoft Research", "微软研究院"]]}
FASTER = {"fact": "four to five times faster on CPU", "all": [["faster-whisper", "CTranslate2"], ["四到五倍", "4到5倍", "four to five times"]]}


def digest(summary: str, script: str = "") -> dict:
    return {"summary": summary, "script": script}


def test_a_fact_is_heard_when_one_sentence_holds_every_group():
    said = digest("Raj Patel, a staff engineer at Stripe, rebuilt the fraud service.", "Raj Patel says the team cut p99 latency from eight hundred to 120 milliseconds.")
    assert [f.fact for f in keyfacts.heard([RAJ, LATENCY], said)] == [RAJ["fact"], LATENCY["fact"]]
    assert keyfacts.share([RAJ, LATENCY, TEAM], said) == pytest.approx(2 / 3)
    assert [f.fact for f in keyfacts.missed([RAJ, LATENCY, TEAM], said)] == [TEAM["fact"]]


def test_a_soundbite_is_heard_as_its_transcript_says_it():
    """A soundbite plays the guest's own words: a listener hears the fact there, as the transcript has it."""
    beats = [{"text": "Raj Patel is a staff engineer at Stripe.", "source": "intro"}, {"text": "We went from 800 to 120 milliseconds of latency.", "source": "soundbite"}]
    assert [f.fact for f in keyfacts.heard([RAJ, LATENCY], {**digest("", "Raj Patel is a staff engineer at Stripe."), "beats": beats})] == [RAJ["fact"], LATENCY["fact"]]
    misheard = [{"text": "We went from 800 to 120 millisecond of lay ten sea.", "source": "soundbite"}]
    assert keyfacts.heard([LATENCY], {**digest(""), "beats": misheard}) == [], "what Whisper misheard does not count"


def test_groups_spread_over_two_sentences_do_not_count():
    said = digest("Raj Patel joined the show. He works at Stripe.", "Latency was 800 milliseconds. Now it is 120.")
    assert keyfacts.heard([RAJ, LATENCY], said) == []


def test_alternatives_start_at_a_word_and_numbers_end_at_one():
    assert keyfacts.holds(keyfacts.Fact.of({"fact": "Ray", "all": [["Ray"]]}), "Spark and Ray run the jobs.")
    assert not keyfacts.holds(keyfacts.Fact.of({"fact": "Ray", "all": [["Ray"]]}), "They store an array of jobs.")
    assert keyfacts.holds(keyfacts.Fact.of({"fact": "quantized", "all": [["quantiz"]]}), "The model was Quantized to four bits.")
    assert not keyfacts.holds(keyfacts.Fact.of(TEAM), "It took nine months and cut costs by 60 percent.")
    assert keyfacts.holds(keyfacts.Fact.of(TEAM), "It took 9 months with 6 engineers.")


def test_an_english_list_of_names_does_not_count():
    for listed in ("The episode also mentions Raj Patel, Stripe and Redis.", "Guests include Raj Patel and Stripe.", "Raj Patel, Stripe, Postgres."):
        assert keyfacts.is_name_list(listed, ["Raj", "Stripe"]), listed
        assert keyfacts.heard([RAJ], digest(listed)) == [], listed
    for said in ("Raj Patel is a staff engineer at Stripe.", "Raj Patel explains why Stripe rebuilt its fraud service."):
        assert not keyfacts.is_name_list(said, ["Raj", "Stripe"]), said
        assert keyfacts.heard([RAJ], digest("", said)) != [], said


def test_chinese_facts_ignore_spaces_and_take_spoken_numbers():
    assert keyfacts.heard([DAVID], digest("David 是 Microsoft Research 的语音识别研究员。")) != []
    assert keyfacts.heard([DAVID], digest("David是微软研究院的研究员，他研究语音识别。")) != []
    assert keyfacts.heard([FASTER], digest("David说，用 faster-whisper 在CPU上转写，速度快了 4 到 5 倍。")) != []
    assert keyfacts.heard([FASTER], digest("David说，CTranslate2让转写快了四到五倍。")) != []
    assert keyfacts.heard([DAVID, FASTER], digest("David来自微软。", "转写速度快了四到五倍。")) == []  # no group complete in one sentence


def test_a_chinese_list_of_names_does_not_count():
    for listed in ("节目里还提到了David、Microsoft Research和Emily。", "本期嘉宾包括David、微软研究院以及Emily。"):
        assert keyfacts.is_name_list(listed, ["David", "Emily", "Microsoft Research", "微软研究院"]), listed
        assert keyfacts.heard([DAVID], digest("", listed)) == [], listed
    assert not keyfacts.is_name_list("David是微软研究院的语音识别研究员。", ["David", "微软研究院"])


@pytest.mark.parametrize("chosen", [zhset.episodes(), enset.episodes()], ids=["zh", "en"])
def test_every_episode_has_six_to_ten_key_facts_its_own_script_says(chosen: list[EvalEpisode]):
    assert len(chosen) == 3
    for episode in chosen:
        assert 6 <= len(episode.key_facts) <= 10, episode.id
        assert len(episode.names) == 5 and episode.audio.is_file(), episode.id
        for fact in keyfacts.facts_of(episode.key_facts):
            script = episode.script.replace("\n", " ")
            assert all(any(keyfacts.holds(keyfacts.Fact("", ((a,),)), script) for a in group) for group in fact.all), (episode.id, fact.fact)


def test_the_english_set_is_spoken_conversations_with_their_turns_and_a_feed():
    from core.net.feeds import parse_feed

    for episode in enset.episodes():
        turns = episode.turns
        assert 2 <= len(episode.voices) <= 3 and {s for s, _ in turns} == set(episode.voices), episode.id
        assert len(set(episode.voices.values())) == len(episode.voices), "a different voice for each speaker"
        assert 230 <= len(episode.script.split()) <= 380, episode.id
        assert episode.audio.stat().st_size < 600_000, episode.id
        reference = read_rttm(episode.rttm)
        assert [s for _, _, s in reference] == [s for s, _ in turns], episode.id
        assert all(a[1] < b[0] for a, b in zip(reference, reference[1:])), "a pause between turns"
        assert 90 <= reference[-1][1] <= 150, (episode.id, reference[-1][1])
        feed = parse_feed(enset.feed("http://127.0.0.1:9/audio", [episode]).encode(), "http://127.0.0.1:9/feed.xml")
        [item] = feed.episodes
        assert feed.title == episode.show and item.audio_url.endswith(f"/{episode.audio.name}")
        assert item.keywords == episode.keywords and episode.names[0] in item.description


def test_the_english_scores_and_table_on_a_perfect_transcript():
    """What make eval prints, on a transcript that is the script with the synthesis's turns (no model run)."""
    episode = enset.episodes()[0]
    order = list(episode.voices)
    segments = [{"start": s, "end": e, "text": t, "speaker": order.index(who) + 1} for (s, e, who), (_, t) in zip(enset.reference(episode), episode.turns)]
    transcript = {"text": " ".join(t for _, t in episode.turns), "segments": segments, "speakers": [{"name": n} for n in order]}
    summary = {
        "summary": "Raj Patel, a staff engineer at Stripe, explains how his team cut p99 latency from 800 to 120 milliseconds.",
        "script": "In this episode of Build Notes, Sarah Chen talks with Raj Patel. The episode also mentions Redis and Postgres.",
        "chapters": [{"start": 0.0, "title": "Latency"}], "beats": [{"source": "intro", "text": "x"}, {"source": "model", "text": "y"}, {"source": "reported", "text": "z"}],
    }
    figures = enset.score(episode, transcript, summary)
    assert figures["wer"] == 0 and figures["der"] == 0 and figures["speakers_found"] == figures["speakers_true"] == 2
    assert figures["model_share"] == 0.5 and len(figures["key_facts_heard"]) == 3, figures["key_facts_heard"]  # host, Raj's role, latency; not the Redis list
    assert "| build-notes | 2 (2) | 0.000 | 0.000 | 5 | 50% | 3 of 9 | - |" in enset.table([(episode, figures)])
