"""Soundbites (issue 26): chosen from one speaker's own turn at sentence boundaries, linked by a verified line naming the speaker,
cut from the episode audio into the narration, and the presenter silent while someone else speaks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

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
    from evaluation import rubric

    found = rubric.check(summary.model_dump(), transcript.text)
    assert not [f for f in found if f[2] in (bite.text, "Here is how Maria Lopez puts it:")], "the rubric reads a link as a sentence and a soundbite as no one's script"
    off = tmp_path / "off"
    off.mkdir()
    transcript.write(off)
    none = Settings(summarize={"engines": ["extractive"], "soundbites": 0})
    S.summarize(off / "transcript.json", off, none.summarize, none.context, title="Home batteries", show="Tech Weekly")
    assert not any(b.source in ("link", "soundbite") for b in Summary.read(off).beats)


# --- the whole way: a synthetic two-speaker episode with named speakers, through the real engines ---

TWO = [
    ("Tom", "Welcome to the show. I'm Tom, and my guest today is Alice, who studies home batteries."),
    ("Alice", "Hello, my name is Alice, and thank you for having me."),
    ("Tom", "Why did home batteries get so much cheaper?"),
    ("Alice", "Battery cells became much cheaper because factories learned to build them at a very large scale. A home battery now costs about half of what it cost five years ago."),
    ("Tom", "What should a family check before buying one?"),
    ("Alice", "Families should compare the warranty and the number of charge cycles, not only the price of the battery."),
    ("Tom", "Thank you, Alice. That is all for today."),
]


def ncc(a: np.ndarray, b: np.ndarray, lag: int = 240) -> float:
    """Normalised cross-correlation at its best lag within ``lag`` samples."""
    n = min(len(a), len(b)) - 2 * lag
    core = a[lag : lag + n]
    best = 0.0
    for shift in range(0, 2 * lag + 1, 4):
        other = b[shift : shift + n]
        best = max(best, float(np.dot(core, other) / (np.linalg.norm(core) * np.linalg.norm(other) + 1e-12)))
    return best


@pytest.fixture(scope="module")
def episode(tmp_path_factory):
    """The conversation spoken by two voices, recognised, diarized, summarized (extractive), narrated, animated and composed."""
    import subprocess
    import time

    from core.glossary import Glossary
    from core.media.ffmpeg import write_wav
    from core.settings import Settings
    from evaluation import diarization as D
    from stages import compose as C
    from stages import diarize as Z
    from stages import lipsync as L
    from stages import narrate as N
    from stages import summarize as S

    folder = tmp_path_factory.mktemp("soundbites")
    settings = Settings(summarize={"engines": ["extractive"], "soundbites": 1})
    audio, reference = D.speak(D.Conversation("en-soundbites", "en", {"Tom": "piper", "Alice": "kokoro:jf_alpha"}, TWO))
    segments = D.transcribe(audio, "en", settings)
    wav = write_wav(folder / "episode.wav", audio, D.RATE)
    labelled, speakers = Z.diarize(segments, [(0.0, wav)], settings.diarize, settings.context, Glossary())
    # the episode as a podcast ships it: stereo at 44.1 kHz; the soundbites are folded into the narration's mono 24 kHz
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(wav), "-ac", "2", "-ar", "44100", str(folder / "audio.flac")], check=True)
    text = " ".join(s.text.strip() for s in labelled)
    Transcript(language="en", duration=len(audio) / D.RATE, text=text, segments=labelled, speakers=speakers).write(folder)
    S.summarize(folder / "transcript.json", folder, settings.summarize, settings.context, title="Home batteries", show="Tech Weekly")
    timings = {}
    for name, run in (
        ("narrate", lambda: N.narrate(folder / "script.txt", folder, settings.narrate, settings.context, language="en")),
        ("lipsync", lambda: L.lipsync(folder / "narration.wav", folder / "narration.json", folder, settings.lipsync, settings.context, size=360)),
        ("compose", lambda: C.compose(folder / "lipsync.mp4", folder / "narration.json", folder, settings.compose, title="Home batteries", show="Tech Weekly")),
    ):
        started = time.perf_counter()
        run()
        timings[name] = round(time.perf_counter() - started, 2)
    print("stage seconds:", timings)
    return folder, reference


def _soundbites(folder: Path):
    from core.artifacts import Narration

    narration = Narration.read(folder)
    bites = [s for s in narration.sentences if s.kind == "soundbite"]
    assert bites, [s.model_dump() for s in narration.sentences]
    return narration, bites


@pytest.mark.slow
def test_the_link_names_the_speaker_heard_in_the_soundbite(episode):
    folder, reference = episode
    summary = Summary.read(folder)
    beats = summary.beats
    k = next(i for i, b in enumerate(beats) if b.kind == "soundbite")
    bite, link = beats[k], beats[k - 1]
    heard = max(reference, key=lambda turn: min(turn[1], bite.end) - max(turn[0], bite.start))[2]
    assert link.source == "link" and bite.speaker == heard and heard in link.text, (heard, link.text, bite.text)


def _loudness(wav: Path, start: float, end: float) -> float:
    import pyloudnorm

    from core.media.ffmpeg import read_wav

    audio, rate = read_wav(wav)
    return float(pyloudnorm.Meter(rate).integrated_loudness(audio[int(start * rate) : int(end * rate)].astype(np.float64)))


@pytest.mark.slow
def test_the_soundbite_in_the_video_is_the_episode_itself(episode):
    """presenter.mp4's audio over each soundbite correlates ≥ 0.9 with the episode's span, is heard back as the chosen words
    (WER ≤ 0.15), and starts and ends within 100 ms of the words' boundaries."""
    from core.media.ffmpeg import decode_audio, decode_span, resample
    from core.settings import Settings
    from stages import transcribe as T

    from .support import wer

    folder, _ = episode
    narration, bites = _soundbites(folder)
    video = decode_audio(folder / "presenter.mp4", 24_000).astype(np.float32) / 32768
    settings = Settings(transcribe={"model": "base"})
    engine = T.load_engine(settings.transcribe, settings.context)
    for bite in bites:
        assert bite.source_start is not None and bite.source_end is not None and bite.end is not None
        played = video[int(bite.start * 24_000) : int(bite.end * 24_000)]
        source = decode_span(folder / "audio.flac", 24_000, bite.source_start, bite.source_end - bite.source_start)
        correlation = ncc(source, played)
        heard = engine.transcribe(resample(played, 24_000, 16_000), language="en", prompt=None, on_progress=None)
        said = " ".join(s.text for s in heard.segments)
        error = wer(said, bite.text)
        lead, tail = bite.words[0].start - bite.start, bite.end - bite.words[-1].end
        print(f"soundbite {bite.speaker}: ncc {correlation:.3f}, WER {error:.3f}, lead {lead:.3f} s, tail {tail:.3f} s: {said!r}")
        assert correlation >= 0.9
        loudness = _loudness(folder / "narration.wav", bite.start, bite.end)
        print(f"soundbite loudness {loudness:.2f} LUFS in narration.wav (target {narration.loudness_lufs})")
        assert abs(loudness - narration.loudness_lufs) <= 1.5, "brought to the narration's loudness"
        assert error <= 0.15, (said, bite.text)
        assert 0 <= lead <= 0.1 and 0 <= tail <= 0.1
        first = heard.segments[0].words[0].start if heard.segments and heard.segments[0].words else None
        assert first is not None and abs(first - lead) <= 0.1 + 0.06, f"Whisper hears the first word at {first} s, the cut puts it at {lead:.3f} s"


@pytest.mark.slow
def test_the_presenter_listens_with_a_closed_mouth_while_a_soundbite_plays(episode):
    from evaluation import lipmetrics

    folder, _ = episode
    narration, bites = _soundbites(folder)
    closed = lipmetrics.closure_during(folder / "lipsync.mp4", lipmetrics.soundbite_spans(narration))
    print("mouth closure during soundbites:", closed)
    assert closed == 1.0
    srt = (folder / "narration.srt").read_text()
    assert f"{bites[0].speaker}: “" in srt, "the subtitles carry the quote with the speaker's name"


def test_a_turn_that_begins_inside_a_sentence_or_with_a_short_answer_starts_no_soundbite():
    """On the sample, a change of voice put mid-sentence gave "the refrigerator running through the night. …", and an answer gave "Mostly price. …"."""
    turns = [
        (1, "Most of our customers choose about thirteen kilowatt hours, and that covers the evening peak with", 0.0),
        (2, "the refrigerator running through the night. People with electric cars or heat pumps often need twenty or more of them.", 6.0),
        (1, "What changed?", 20.0),
        (2, "Mostly price. The cost of lithium iron phosphate cells fell by about forty percent in four years.", 22.0),
    ]
    said = [b.text for b in B.candidates(transcript_of(turns, [HOST, MARIA]), "en")]
    assert said and not [t for t in said if t.startswith(("the refrigerator", "Mostly"))], said
    assert "People with electric cars or heat pumps often need twenty or more of them." in said


def test_a_named_chinese_speaker_is_named_in_a_verified_link():
    said = [
        (1, "欢迎收听科技早知道，我是王立。", 0.0),
        (2, "大家好，我是雪芝。", 5.0),
        (1, "电池为什么便宜了这么多？", 9.0),
        (2, "电池的成本在过去三年下降了很多，工厂的规模越来越大，价格自然就降下来了。", 13.0),
    ]
    zh = transcript_of(said, [Speaker(label="王立", name="王立"), Speaker(label="雪芝", name="雪芝")], "zh", 0.3)
    [bite] = B.choose(zh, 1, "zh", Verifier(zh.text, "zh"))
    assert (bite.name, bite.link) == ("雪芝", "下面听听雪芝怎么说：") and bite.text.startswith("电池的成本")


def test_a_soundbite_that_cannot_be_cut_is_left_out_with_its_link(tmp_path, caplog):
    """No episode audio to cut from: narration.wav holds the presenter's other lines, never a link to nothing."""
    from core.artifacts import Narration
    from core.settings import Settings
    from stages import narrate as N

    transcript = transcript_of(EPISODE, [HOST, MARIA])
    transcript.write(tmp_path)
    settings = Settings(summarize={"engines": ["extractive"]}, narrate={"engines": ["espeak"]})
    from stages import summarize as S

    S.summarize(tmp_path / "transcript.json", tmp_path, settings.summarize, settings.context, title="Home batteries", show="Tech Weekly")
    assert any(b.kind == "soundbite" for b in Summary.read(tmp_path).beats)
    N.narrate(tmp_path / "script.txt", tmp_path, settings.narrate, settings.context, language="en")
    narration = Narration.read(tmp_path)
    assert "left out with its link line" in caplog.text
    assert not [s for s in narration.sentences if s.kind == "soundbite" or s.source == "link"]
    assert narration.sentences and all(s.source in ("intro", "model", "reported", "resampled", "quoted", "outro") for s in narration.sentences)


@pytest.mark.parametrize(
    ("opening", "language", "needs_context"),
    [
        ("And the grid is the real problem now.", "en", True),
        ("He thinks prices will fall.", "en", True),
        ("At the same time, inverters got cheaper.", "en", True),
        ("Without it, the inverter shuts down for safety.", "en", True),
        ("I think that's why people buy them.", "en", True),
        ("For home, space matters less than safety and lifetime.", "en", False),
        ("Battery cells got much cheaper.", "en", False),
        ("About nine months, with a team of six engineers. The cache was the easy part.", "en", True),  # build-notes: an answer, its question unheard
        ("Privacy mostly. Hospitals cannot send their documents to a cloud service.", "en", True),
        ("所以电池的价格降下来了。", "zh", True),
        ("他认为快充是下一个重点。", "zh", True),
        ("对于他来说，这很重要。", "zh", True),
        ("电池的成本下降了很多。", "zh", False),
    ],
)
def test_a_soundbite_never_opens_on_words_that_need_what_came_before(opening, language, needs_context):
    assert B._opens_badly(opening, language == "zh") is needs_context


def test_one_voice_heard_though_a_guest_was_introduced_names_no_one(tmp_path):
    """The sample is read by one voice: diarization names it after the host, yet the guest's words are in it. The link names no one."""
    turns = [
        (1, "Welcome to Tech Weekly. I'm your host, Tom. My guest is Maria Lopez, who builds home batteries.", 0.0),
        (1, "Battery cells got much cheaper because factories learned to build them at scale. A home battery now costs half of what it did in 2020.", 8.0),
    ]
    transcript = transcript_of(turns, [HOST])
    [bite] = B.choose(transcript, 1, "en", Verifier(transcript.text, "en"))
    assert bite.anonymous and bite.link == "Here is a moment from the episode itself:"
    [link, sound] = B.placed([], [bite], "en")
    assert (link.speaker, sound.speaker) == (None, None)
    monologue = transcript_of([(1, "Welcome to Tech Weekly. I'm your host, Tom.", 0.0), turns[1]], [HOST])
    [bite] = B.choose(monologue, 1, "en", Verifier(monologue.text, "en"))
    assert bite.link == "Here is how Tom puts it:", "a monologue's one voice is its host's"


@pytest.mark.parametrize(
    ("sentence", "language", "prompt"),
    [
        ("Walk me through what happens on a normal day.", "en", True),  # the sample, one voice: the host's prompt inside the guest's turn
        ("So tell us about the inverter.", "en", True),
        ("How big is a typical system.", "en", True),  # a question Whisper closed with a full stop
        ("What changed in the last three years.", "en", True),
        ("What matters most is safety and lifetime.", "en", False),
        ("How the cells are made decides their price.", "en", False),
        ("Kenji, you see many companies make this move.", "en", True),  # data-stack: the host's prompt, played as a soundbite
        ("It's streaming always worth it.", "en", True),
        ("Streaming is not always worth it, you see.", "en", False),
        ("说说你们的工厂。", "zh", True),
        ("你觉得快充是下一个重点。", "zh", True),
        ("电池的成本下降了很多。", "zh", False),
        ("我们先从 Whisper 聊起。", "zh", True),
    ],
)
def test_a_prompt_written_as_a_statement_is_never_in_a_soundbite(sentence, language, prompt):
    assert bool(B._PROMPT[language == "zh"].search(sentence)) is prompt


def test_wav2lip_hears_silence_where_a_soundbite_plays():
    """The paddlegan engine's input (no trained Wav2Lip weights here to measure its mouth): the presenter's voice, and
    silence over the soundbite, so the lips stay still while someone else speaks."""
    from core.artifacts import NarratedSentence, Narration
    from engines.lipsync.paddlegan import presenter_speech

    rate = 16_000
    audio = np.random.default_rng(0).uniform(-0.5, 0.5, 10 * rate).astype(np.float32)
    sentences = [
        NarratedSentence(text="Here is how Maria Lopez puts it:", start=0.5, end=3.0, source="link"),
        NarratedSentence(text="Battery cells got much cheaper.", start=3.5, end=8.0, kind="soundbite", source="soundbite", speaker="Maria Lopez"),
        NarratedSentence(text="That was Tech Weekly.", start=8.5, end=9.8, source="outro"),
    ]
    narration = Narration(
        sample_rate=rate, duration=10.0, language="en", engines=["kokoro"], models=[], loudness_lufs=-16.0, source_loudness_lufs=None,
        skipped=[], unavailable={}, sentences=sentences,
    )
    heard = presenter_speech(audio, rate, narration)
    assert not heard[int(3.5 * rate) : int(8.0 * rate)].any(), "silence over the soundbite"
    assert np.array_equal(heard[: int(3.5 * rate)], audio[: int(3.5 * rate)]) and np.array_equal(heard[int(8.0 * rate) :], audio[int(8.0 * rate) :])


def test_a_host_introducing_themselves_and_the_guests_is_ceremony():
    """The English evaluation set's data-stack episode: "I'm Mark Davis, and today I have two guests." was chosen as a soundbite."""
    assert B._CEREMONY[False].search("I'm Mark Davis, and today I have two guests.")
    assert not B._CEREMONY[False].search("I'm sure the cells will get cheaper.") and not B._CEREMONY[False].search("I think prices fall.")


def test_a_span_the_script_says_already_is_no_soundbite():
    """data-stack: after the intro named both guests' roles, the host's "Priya Nair leads the data platform team at
    Shopify, and Kenji Watanabe is a principal engineer at Databricks." was played as the soundbite."""
    transcript = transcript_of(EPISODE, [HOST, MARIA])
    verifier = Verifier(transcript.text, "en")
    [bite] = B.choose(transcript, 1, "en", verifier)
    again = B.choose(transcript, 1, "en", verifier, earlier=[bite.text])
    assert all(b.text != bite.text for b in again), "the same words told twice"


@pytest.mark.parametrize(
    ("sentence", "language", "cut_short"),
    [
        ("David 说, Open Our Eye 开源 Whisper 之后。", "zh", True),  # the Chinese set's tech-weekly: Whisper closed the sentence mid-clause
        ("出海最难的不是技术,而是本地化的管理和供应链。", "zh", False),
        ("We moved the feature lookups out of Postgres because.", "en", True),
        ("We moved the feature lookups out of Postgres.", "en", False),
    ],
)
def test_a_sentence_cut_short_is_never_in_a_soundbite(sentence, language, cut_short):
    assert bool(B._DANGLING[language == "zh"].search(sentence)) is cut_short


def test_a_host_introducing_the_second_guest_is_no_chinese_soundbite():
    """tech-weekly (the Chinese set) played "另一位是 Databricks 的产品经理 Emily。我们先从 Whisper 聊起。David 说, OpenAI 开源 Whisper 之后。"
    as a guest's own words: an introduction, a prompt and a sentence cut short."""
    host = Speaker(label="说话人 1", seconds=30)
    turns = [
        (1, "另一位是Databricks的产品经理Emily。我们先从Whisper聊起。David说，OpenAI开源Whisper之后。", 0.0),
        (2, "社区做了很多优化，用faster-whisper在CPU上做转写，速度比原版快四到五倍。", 14.0),
    ]
    transcript = transcript_of(turns, [host, GUEST], "zh", pace=0.2)
    said = [b.text for b in B.candidates(transcript, "zh")]
    assert said and not [t for t in said if "另一位" in t or "聊起" in t or t.endswith("之后。")], said


def test_a_script_sentence_that_retells_a_soundbite_is_left_out():
    """build-notes: "Raj Patel adds that every single one of the 40 differences … was a bug in the old code." was
    spoken right after the soundbite in which Raj says so: the listener heard the same claim twice."""
    transcript = transcript_of(EPISODE, [HOST, MARIA])
    verifier = Verifier(transcript.text, "en")
    retelling = Beat(text="Maria Lopez says that a home battery now costs half of what it did in 2020.", section=0, start=16.0, end=30.0, speaker="Maria Lopez", source="model")
    other = Beat(text="Maria Lopez says that utilities take months to approve a home battery.", section=0, start=34.0, end=48.0, speaker="Maria Lopez", source="model")
    intro = Beat(text="In this episode of Tech Weekly, Tom talks with Maria Lopez about home batteries.", section=None, start=0.0, end=50.0, speaker="Tom", source="intro")
    [bite] = B.choose(transcript, 1, "en", verifier, earlier=[intro.text, retelling.text, other.text])
    assert "half of what it did in 2020" in bite.text, "it says more than the sentence retelling it"
    program = B.placed([intro, retelling, other], [bite], "en")
    assert retelling not in program and other in program and intro in program
    assert [b.source for b in program] == ["intro", "link", "soundbite", "model"]
    # the model's share kept (script.MODEL_SHARE): a figure reported beside the model's sentences goes with the one the
    # soundbite took (beyond-code's script was 3 model sentences of 4); a section only reported speech tells keeps it
    models = [Beat(text=f"Maria Lopez notes point {n} about batteries.", section=0, start=20.0 + n, end=48.0, speaker="Maria Lopez", source="model") for n in range(3)]
    figure = Beat(text="Maria Lopez points out that a system is rated for 6000 cycles.", section=0, start=40.0, end=48.0, speaker="Maria Lopez", source="reported")
    alone = Beat(text="Maria Lopez points out that utilities are slow.", section=1, start=50.0, end=60.0, speaker="Maria Lopez", source="reported")
    program = B.placed([intro, retelling, *models, figure], [bite], "en")
    assert figure not in program and [b.source for b in program].count("model") == 3, [b.source for b in program]
    assert figure in B.placed([intro, *models, other, figure], [bite], "en"), "no model sentence left out: the script as composed"
    kept = B.placed([intro, retelling, *models, figure, alone], [bite], "en")
    assert figure not in kept and alone in kept, "a section only reported speech tells keeps it (it would go unsaid)"
