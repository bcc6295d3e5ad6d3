"""Soundbites (issue 26): chosen from one speaker's own turn at sentence boundaries, linked by a verified line naming the speaker,
cut from the episode audio into the narration, and the presenter silent while someone else speaks."""

from __future__ import annotations

from core.artifacts import Beat, Segment, Speaker, Summary, Transcript, Word
from engines.llm import soundbites as B
from engines.llm.verify import Verifier


def timed(text: str, start: float, speaker: int, pace: float = 0.4, chinese: bool = False) -> Segment:
    """A segment whose words (Whisper-style, a leading space in English) take ``pace`` seconds each."""
    pieces = list(text) if chinese else text.split()
    words = [Word(round(start + k * pace, 3), round(start + (k + 1) * pace - 0.05, 3), p if chinese else " " + p, 0.95, speaker) for k, p in enumerate(pieces)]
    return Segment(start, words[-1].end, text, words, speaker)


def transcript_of(turns: list[tuple[int, str, float]], speakers: list[Speaker], language: str = "en", pace: float = 0.4) -> Transcript:
    chinese = language == "zh"
    segments = [timed(text, start, who, pace, chinese) for who, text, start in turns]
    return Transcript(
        language=language, duration=segments[-1].end + 1, text=("" if chinese else " ").join(t for _, t, _ in turns), segments=segments, speakers=speakers,
    )


MARIA = Speaker(label="Maria Lopez", name="Maria Lopez", named_by="I'm Maria Lopez", seconds=60)
HOST = Speaker(label="Tom", name="Tom", named_by="I'm Tom", seconds=30)
GUEST = Speaker(label="Speaker 2", seconds=60)

EPISODE = [
    (1, "Welcome to Tech Weekly. I'm Tom, and my guest today builds home batteries.", 0.0),
    (2, "Hello, I'm Maria Lopez. Thanks for having me on the show today.", 6.0),
    (1, "Why did home batteries get so much cheaper?", 12.0),
    (2, "Battery cells got much cheaper because factories learned to build them at scale. A home battery now costs half of what it did in 2020.", 16.0),
    (1, "And what about the grid connection?", 30.0),
    (2, "And the grid is the real problem now. Utilities take months to approve a home battery, so many families simply wait.", 34.0),
    (1, "Thank you, Maria, that is where we stop today.", 48.0),
]


def test_a_soundbite_is_one_speakers_whole_sentences_standing_on_their_own():
    transcript = transcript_of(EPISODE, [HOST, MARIA])
    verifier = Verifier(transcript.text, "en")
    [bite] = B.choose(transcript, 1, "en", verifier)
    assert bite.name == "Maria Lopez" and bite.text.startswith("Battery cells") and bite.text.endswith("2020.")
    assert B.SHORTEST <= bite.seconds <= B.LONGEST
    assert bite.link == "Here is how Maria Lopez puts it:"
    every = B.candidates(transcript, "en")
    assert every and all(not b.text.startswith(("And", "Why")) and "?" not in b.text for b in every), [b.text for b in every]
    assert all({w.speaker for w in b.words} == {2} or {w.speaker for w in b.words} == {1} for b in every), "one voice each"


def test_an_unnamed_speaker_is_a_guest_and_never_given_a_name():
    transcript = transcript_of(EPISODE, [HOST, GUEST])
    [bite] = B.choose(transcript, 1, "en", Verifier(transcript.text, "en"))
    assert bite.name is None and bite.link == "Here is how a guest puts it:"
    said = [(1, "欢迎收听科技早知道，我是王立。", 0.0), (2, "电池的成本在过去三年下降了很多，工厂的规模越来越大，价格自然就降下来了。", 5.0)]
    zh = transcript_of(said, [Speaker(label="王立", name="王立"), Speaker(label="Speaker 2")], "zh", 0.3)
    [bite] = B.choose(zh, 1, "zh", Verifier(zh.text, "zh"))
    assert bite.link == "下面听听一位嘉宾怎么说：" and bite.text.startswith("电池")


def test_no_two_soundbites_from_the_same_minute_and_the_count_follows_the_length():
    assert (B.count_for(179, None), B.count_for(180, None), B.count_for(600, 0), B.count_for(60, 3)) == (1, 2, 0, 3)
    transcript = transcript_of(EPISODE, [HOST, MARIA])
    assert len(B.choose(transcript, 2, "en", Verifier(transcript.text, "en"))) == 1, "both of Maria's long turns are within one minute"
    later = [(w, t, s + (70.0 if k >= 5 else 0.0)) for k, (w, t, s) in enumerate(EPISODE)]
    bites = B.choose(transcript_of(later, [HOST, MARIA]), 2, "en", Verifier(" ".join(t for _, t, _ in later), "en"))
    assert len(bites) == 2 and bites[1].start - bites[0].start >= 60
    assert bites[0].link != bites[1].link, "two links never read alike (the verifier's repeat rule)"


def test_another_voice_inside_the_span_rules_it_out():
    transcript = transcript_of(EPISODE, [HOST, MARIA])
    transcript.segments[3].words[5].speaker = 1  # the host says "mm" over Maria's first sentence
    assert all(not (b.start <= transcript.segments[3].words[5].start <= b.end) for b in B.candidates(transcript, "en"))


def test_soundbites_are_placed_after_their_section_with_their_link():
    transcript = transcript_of(EPISODE, [HOST, MARIA])
    beats = [
        Beat(text="This episode of Tech Weekly is about batteries.", source="intro"),
        Beat(text="Maria Lopez explains why batteries got cheaper.", section=0, start=0.0, end=30.0),
        Beat(text="She says utilities are slow to approve them.", section=1, start=30.0, end=55.0),
    ]
    [bite] = B.choose(transcript, 1, "en", Verifier(transcript.text, "en"))
    program = B.placed(beats, [bite], "en")
    assert [b.source for b in program] == ["intro", "model", "link", "soundbite", "model"]
    sound = program[3]
    assert (sound.speaker, sound.start, sound.end, sound.kind) == ("Maria Lopez", bite.start, bite.end, "soundbite")
    assert [w.word.strip() for w in sound.words][:2] == ["Battery", "cells"]


def test_the_summarize_stage_puts_soundbites_into_summary_json(tmp_path):
    from core.settings import Settings
    from stages import summarize as S

    transcript = transcript_of(EPISODE, [HOST, MARIA])
    transcript.write(tmp_path)
    settings = Settings(summarize={"engines": ["extractive"]})
    S.summarize(tmp_path / "transcript.json", tmp_path, settings.summarize, settings.context, title="Home batteries", show="Tech Weekly")
    summary = Summary.read(tmp_path)
    kinds = [(b.source, b.speaker) for b in summary.beats if b.source in ("link", "soundbite")]
    assert kinds == [("link", "Maria Lopez"), ("soundbite", "Maria Lopez")], [b.model_dump() for b in summary.beats]
    bite = next(b for b in summary.beats if b.kind == "soundbite")
    assert bite.words and bite.start == bite.words[0].start and bite.end == bite.words[-1].end
    script = (tmp_path / "script.txt").read_text()
    assert "Here is how Maria Lopez puts it:" in script and bite.text not in script, "the presenter says the link, never the quote"
    off = tmp_path / "off"
    off.mkdir()
    transcript.write(off)
    none = Settings(summarize={"engines": ["extractive"], "soundbites": 0})
    S.summarize(off / "transcript.json", off, none.summarize, none.context, title="Home batteries", show="Tech Weekly")
    assert not any(b.source in ("link", "soundbite") for b in Summary.read(off).beats)
