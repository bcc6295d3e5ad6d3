"""diarize: speakers told apart on real voices with CAM++, named only by their own introductions, written into every transcript file."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

from core.artifacts import ChunkTranscript, Segment, Speaker, Transcript, Word
from core.glossary import Glossary
from core.media.ffmpeg import read_wav, resample, write_wav
from core.settings import Settings
from evaluation import diarization as D
from stages import diarize as Z
from stages import transcribe as T


def test_short_turns_join_the_longer_neighbour():
    times = [(0, 2), (2, 4), (4, 4.5), (4.5, 6), (6, 6.3), (6.3, 9)]
    assert Z.smooth([0, 0, 1, 0, 2, 1], times, 1.0) == [0, 0, 0, 0, 1, 1]
    assert Z.smooth([3], [(0, 0.2)], 1.0) == [3], "a lone short turn stays"


def test_a_voice_with_little_talk_time_joins_its_nearest_speaker_when_near_enough():
    rng = np.random.default_rng(1)
    host, guest, stranger = rng.normal(size=(3, 192))
    unit = lambda m: m / np.linalg.norm(m, axis=-1, keepdims=True)
    vectors = unit(np.concatenate([host + 0.3 * rng.normal(size=(10, 192)), guest + 0.3 * rng.normal(size=(8, 192)), host + 0.9 * rng.normal(size=(1, 192)), stranger[None]]))
    labels = np.array([0] * 10 + [1] * 8 + [2, 3])
    talk = lambda found: {int(k): float((found == k).sum()) for k in np.unique(found)}
    merged = Z.merge_small(vectors, labels, talk, 3.0, 0.05, 0.6)
    assert merged[18] == 0, "a second of the host's voice, split off, is the host again"
    assert merged[19] == 3 and set(merged[:18]) == {0, 1}, "a voice far from everyone stays a speaker, however briefly heard"
    assert set(Z.merge_small(vectors, labels, talk, 0.5, 0.0, 0.6)) == {0, 1, 2, 3}, "nothing is small: nothing joins"


def _words(spoken: str, start: float = 0.0) -> list[Word]:
    """Words "text@start-end" separated by spaces, or plain words 0.3 s each, back to back."""
    words, clock = [], start
    for item in spoken.split():
        text, _, times = item.partition("@")
        begin, end = (float(t) for t in times.split("-")) if times else (clock, clock + 0.3)
        words.append(Word(begin, end, text.replace("_", " ")))
        clock = end
    return words


def test_a_change_of_voice_inside_a_sentence_moves_to_its_end():
    words = _words("That is all. Yes indeed it is.")
    assert Z.to_sentence_ends(words, [1, 1, 2, 2, 2, 2, 2], 1.0) == [1, 1, 1, 2, 2, 2, 2], "one word early: back to the full stop"
    assert Z.to_sentence_ends(words, [1, 1, 1, 1, 2, 2, 2], 1.0) == [1, 1, 1, 2, 2, 2, 2], "one word late: forward to it"
    assert Z.to_sentence_ends(words, [1, 1, 1, 2, 2, 2, 2], 1.0) == [1, 1, 1, 2, 2, 2, 2], "at the full stop: it stays"
    far = _words("That is all. Yes indeed it is certainly so.")
    assert Z.to_sentence_ends(far, [1] * 7 + [2, 2], 1.0) == [1] * 7 + [2, 2], "no sentence end within reach: it stays"
    paused = _words("and@0-0.3 so@0.3-0.6 on@1.2-1.5 we@1.5-1.8 go@1.8-2.1")
    assert Z.to_sentence_ends(paused, [1, 2, 2, 2, 2], 1.0) == [1, 1, 2, 2, 2], "no mark: the pause between words"
    assert Z.to_sentence_ends(_words("Yes. No and so"), [1, 2, 2, 3], 1.0) == [1, 2, 2, 3], "every turn keeps a word"


def test_a_name_is_not_taken_from_the_end_of_the_previous_speakers_sentence():
    """The real transcript read "高尼: Monica﹑我是高尼…": "Monica" ended the previous sentence, Whisper wrote "﹑" after it,
    and the voice change, placed from two-second windows, fell before "Monica"."""
    words = _words("今天@0-0.3 的@0.3-0.4 嘉宾@0.4-0.8 是@0.8-1.0 _Monica@1.0-1.5 ﹑@1.5-1.55 我是@1.9-2.2 高尼，@2.2-2.5 欢迎@2.5-2.9 收听。@2.9-3.3")
    segments = T.to_chinese_script([Segment(0.0, 3.3, "今天的嘉宾是 Monica﹑我是高尼，欢迎收听。", words)], "simplified")
    labelled = Z.label(segments, lambda times: [1 if t < 1.0 else 2 for t in times], min_turn=0.5, reach=1.0)
    assert [(s.speaker, s.text) for s in labelled] == [(1, "今天的嘉宾是 Monica。"), (2, "我是高尼，欢迎收听。")]
    speakers = Z.speakers_of(labelled, Glossary(["高尼"]))
    assert [s.label for s in speakers] == ["Speaker 1", "高尼"]


def test_the_embedder_gets_the_users_endpoint_and_is_shared_per_settings(tmp_path):
    """Diarize builds its engine with the user's OpenAI settings (not fresh defaults), once per settings and key."""
    from core.context import Context
    from core.registry import DIARIZERS
    from core.settings import DiarizeSettings, OpenAISettings
    from engines.diarize.base import SpeakerEmbedder

    class Probe(SpeakerEmbedder, name="probe-endpoint"):
        pass

    try:
        section = DiarizeSettings(engine="probe-endpoint")
        user = OpenAISettings(api_key="sk-user", base_url="http://127.0.0.1:9/v1")
        engine = Z.load_engine(section, Context(tmp_path, user))
        assert engine.context.openai.base_url == "http://127.0.0.1:9/v1" and engine.context.openai.api_key.get_secret_value() == "sk-user"
        assert Z.load_engine(section, Context(tmp_path, user.model_copy())) is engine
        other = Z.load_engine(section, Context(tmp_path, OpenAISettings(api_key="sk-other", base_url=user.base_url)))
        assert other is not engine and other.context.openai.api_key.get_secret_value() == "sk-other"
    finally:
        DIARIZERS.unregister("probe-endpoint")


def test_clustering_threshold_and_forced_count():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(2, 192))
    vectors = np.concatenate([c + 0.2 * rng.normal(size=(10, 192)) for c in centres])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    assert len(set(Z.cluster(vectors, 0.42))) == 2
    assert len(set(Z.cluster(vectors, 0.42, speakers=3))) == 3
    assert len(set(Z.cluster(vectors[:1], 0.42))) == 1


@pytest.mark.parametrize(
    "text,glossary,name",
    [
        ("大家好，欢迎收听科技早知道，我是王立，今天聊聊大模型。", [], "王立"),
        ("我是觉得这个方向不对。", [], None),
        ("我是陈思远今天的嘉宾", ["陈思远"], "陈思远"),
        ("Welcome back. I'm Tom, and with me are two guests.", [], "Tom"),
        ("I'm sorry, I'm Not sure.", [], None),
        ("This is Tech Weekly, the show about chips.", [], None),
        ("This is Alice speaking.", ["Alice"], "Alice"),
        ("Welcome to Edge Cases. I'm Daniel", ["Daniel Brooks", "Elena Rossi"], "Daniel Brooks"),  # Whisper cut the segment there
        ("I'm Daniel", ["Daniel Brooks", "Daniel Craig"], "Daniel"),
    ],
)
def test_a_speaker_is_named_only_by_their_own_introduction(text, glossary, name):
    found = Z.introduced_name(text, Glossary(glossary))
    assert (found[0] if found else None) == name


def test_names_are_unique_and_confirmed_by_the_glossary():
    segments = [Segment(0, 3, "I'm Tom, welcome.", speaker=1), Segment(3, 6, "Hi, I'm Tom too.", speaker=2), Segment(6, 9, "My name is Alice.", speaker=3)]
    speakers = Z.speakers_of(segments, Glossary(["Alice"]))
    assert [(s.label, s.confirmed) for s in speakers] == [("Tom", False), ("Speaker 2", False), ("Alice", True)]
    assert [s.seconds for s in speakers] == [3, 3, 3]


def test_a_guest_the_host_introduces_is_named_by_the_next_voice_heard():
    """The sample: Dana says "My guest is Maria Lopez, …  Maria, thanks for coming on." and the other voice answers."""
    segments = [
        Segment(0, 5, "I'm your host, Dana Whitfield.", speaker=1), Segment(5, 9, "My guest is Maria Lopez, who leads engineering at Solar Grid.", speaker=1),
        Segment(9, 11, "Maria, thanks for coming on.", speaker=1), Segment(11, 14, "Thanks for having me, Dana.", speaker=2),
    ]
    speakers = Z.speakers_of(segments, Glossary())
    assert [s.label for s in speakers] == ["Dana Whitfield", "Maria Lopez"]
    assert speakers[1].named_by == "introduced by the voice before: My guest is Maria Lopez"
    two = [Segment(0, 5, "My guests are Maria Lopez and Tom Baker.", speaker=1), Segment(5, 9, "Thanks for having us.", speaker=2)]
    assert [s.label for s in Z.speakers_of(two, Glossary())] == ["Speaker 1", "Speaker 2"], "two guests: which voice is whose is not known"
    late = [segments[1], *[Segment(9 + k, 10 + k, "More from the host.", speaker=1) for k in range(5)], Segment(15, 18, "Hello.", speaker=2)]
    assert Z.speakers_of(late, Glossary())[1].name is None, "an answer five segments later is not the guest's for sure"
    zh = [Segment(0, 4, "本期嘉宾是月之暗面的工程师张伟。", speaker=1), Segment(4, 8, "本期嘉宾是张伟。", speaker=1), Segment(8, 11, "大家好，很高兴来到节目。", speaker=2)]
    assert [s.label for s in Z.speakers_of(zh, Glossary(["张伟"]))] == ["Speaker 1", "张伟"]
    both = [Segment(0, 4, "今天的嘉宾是张伟和李娜。", speaker=1), Segment(4, 8, "大家好。", speaker=2)]
    assert Z.speakers_of(both, Glossary(["张伟", "李娜"]))[1].name is None


def test_guests_introduced_together_are_named_by_the_host_turning_to_each():
    """The Data Stack: "today I have two guests. Priya Nair … and Kenji Watanabe …", then "Priya, …?" and "Kenji, …?"."""
    glossary = Glossary(["Mark Davis", "Priya Nair", "Kenji Watanabe", "Shopify"])
    segments = [
        Segment(0, 6, "Welcome to the Data Stack. I'm Mark Davis, and today I have two guests. Priya Nair leads", speaker=1),
        Segment(6, 11, "the data platform team at Shopify, and Kenji Watanabe is a principal engineer at Databricks.", speaker=1),
        Segment(11, 14, "Thanks Mark. Happy to be here.", speaker=2), Segment(14, 17, "Hi Mark, thanks for inviting me.", speaker=3),
        Segment(17, 18, "Priya, Shopify moved", speaker=1), Segment(18, 22, "its reporting from nightly batch jobs to streaming. Why?", speaker=1),
        Segment(22, 27, "Merchants wanted to see their sales as they happened.", speaker=2),
        Segment(48, 52, "Kenji, you see many companies make this move.", speaker=1), Segment(56, 60, "It's harder to debug.", speaker=3),
        Segment(66, 68, "Priya, did your costs go up?", speaker=1), Segment(68, 70, "They did.", speaker=2),
    ]
    speakers = Z.speakers_of(segments, glossary)
    assert [s.label for s in speakers] == ["Mark Davis", "Priya Nair", "Kenji Watanabe"]
    assert speakers[1].named_by == "answered when turned to as Priya (2 times)"
    assert [s.label for s in Z.speakers_of(segments, Glossary())] == ["Mark Davis", "Speaker 2", "Speaker 3"], "no full name in the notes: no name"
    mixed = [*segments[:4], Segment(17, 18, "Priya, what do you think?", speaker=1), Segment(18, 20, "Well.", speaker=3)]
    mixed += [Segment(20, 21, "Kenji, and you?", speaker=1), Segment(21, 22, "Yes.", speaker=3)]
    assert Z.speakers_of(mixed, glossary)[2].name is None, "half its answers say Priya, half Kenji: not known"


def test_transcript_files_show_each_turn_and_the_vtt_voice_tags_parse(tmp_path):
    import webvtt

    words = [Word(0.0, 0.5, " Hello", 0.9), Word(0.5, 1.0, " there.", 0.9), Word(1.4, 2.0, " Hi", 0.9), Word(2.0, 2.5, " <you>", 0.9)]
    chunk = tmp_path / "chunk.json"
    chunk.write_text(ChunkTranscript(offset=0, language="en", engine="faster-whisper", model="base", segments=[Segment(0, 2.5, "Hello there. Hi <you>", words)]).model_dump_json())

    def labeller(segments):
        labelled = Z.label(segments, lambda times: [1 if t < 1.2 else 2 for t in times], min_turn=0.5)
        return labelled, [Speaker(label="Alice", name="Alice", seconds=1.0), Speaker(label="Speaker 2", seconds=1.1)]

    T.write_transcript([chunk], tmp_path, 2.5, [], labeller)
    transcript = Transcript.read(tmp_path)
    assert [(s.speaker, s.text) for s in transcript.segments] == [(1, "Hello there."), (2, "Hi <you>")]
    assert all(w.speaker == s.speaker for s in transcript.segments for w in s.words)
    assert (tmp_path / "transcript.txt").read_text() == "Alice: Hello there.\n\nSpeaker 2: Hi <you>\n"
    assert "Alice: Hello there." in (tmp_path / "transcript.srt").read_text()
    captions = webvtt.from_buffer(io.StringIO((tmp_path / "transcript.vtt").read_text()))
    assert [(c.voice, c.text) for c in captions] == [("Alice", "Hello there."), ("Speaker 2", "Hi &lt;you&gt;")]


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    return Settings(cache_dir=tmp_path_factory.mktemp("cache"))


@pytest.mark.slow
def test_a_monologue_stays_one_speaker(settings, jfk_flac, tmp_path):
    audio, rate = read_wav_any(jfk_flac, tmp_path)
    segments = D.transcribe(audio, "en", settings)
    wav = write_wav(tmp_path / "audio.wav", audio, D.RATE)
    labelled, speakers = Z.diarize(segments, [(0.0, wav)], settings.diarize, settings.context, Glossary())
    assert len(speakers) == 1 and speakers[0].label == "Speaker 1" and speakers[0].name is None
    assert {s.speaker for s in labelled} == {1}


def read_wav_any(path: Path, folder: Path) -> tuple[np.ndarray, int]:
    import subprocess

    from core.media.ffmpeg import require_tool

    wav = folder / "input.wav"
    subprocess.run([require_tool("ffmpeg"), "-y", "-loglevel", "error", "-i", str(path), "-ac", "1", "-ar", str(D.RATE), str(wav)], check=True)
    audio, rate = read_wav(wav)
    return resample(audio, rate, D.RATE), D.RATE


@pytest.mark.slow
@pytest.mark.parametrize("conversation", D.CONVERSATIONS, ids=lambda c: c.name)
def test_synthetic_conversations_are_told_apart_and_named(conversation, settings, tmp_path):
    audio, reference = D.speak(conversation)
    segments = D.transcribe(audio, conversation.language, settings)
    wav = write_wav(tmp_path / "audio.wav", audio, D.RATE)
    glossary = Glossary(["李娜"] if conversation.language == "zh" else [])
    labelled, speakers = Z.diarize(segments, [(0.0, wav)], settings.diarize, settings.context, glossary)
    error = D.der(reference, labelled)
    summary = json.dumps([s.model_dump() for s in speakers], ensure_ascii=False)
    # issue 26: the synthetic set at DER <= 0.01 (measured 0.000 zh-two, 0.009 en-three; the segments scored as turns)
    assert error <= 0.01, f"DER {error:.4f}: {summary}"
    assert len(speakers) == len(conversation.voices), summary
    found = {who: max(labelled, key=lambda s: min(end, s.end) - max(start, s.start)).speaker for start, end, who in reference}
    named = {who: speakers[number - 1] for who, number in found.items()}
    if conversation.language == "en":
        assert {who: s.name for who, s in named.items()} == {"Tom": "Tom", "Alice": "Alice", "Ken": "Ken"}
    else:
        assert (named["李娜"].name, named["李娜"].confirmed) == ("李娜", True), "the show notes confirm the name she gave"


@pytest.mark.slow
def test_a_real_phone_call_has_two_speakers_and_a_low_error_rate(settings, tmp_path):
    """pyannote-audio's tutorial sample: 30 s of a real telephone call between two women, with its published RTTM.

    DER is evaluation.diarization.der (0.25 s collar, best one-to-one mapping, one true speaker a frame: where the
    reference overlaps, the later RTTM line's). It read 0.049 with 3 speakers before small voices joined their nearest.
    """
    from tests.support import DATA

    audio, _ = read_wav_any(DATA / "pyannote-sample.flac", tmp_path)
    reference = [(float(f[3]), float(f[3]) + float(f[4]), f[7]) for f in (line.split() for line in (DATA / "pyannote-sample.rttm").read_text().splitlines()) if f]
    segments = D.transcribe(audio, "en", settings)
    wav = write_wav(tmp_path / "audio.wav", audio, D.RATE)
    labelled, speakers = Z.diarize(segments, [(0.0, wav)], settings.diarize, settings.context, Glossary())
    summary = json.dumps([s.model_dump(exclude={"voiceprint"}) for s in speakers])
    assert len(speakers) == 2, summary
    assert D.der(reference, labelled) <= 0.15, summary


def test_map_notes_see_who_speaks_and_chapters_list_the_voices():
    from engines.llm.base import split_transcript

    transcript = Transcript(
        language="en", text="", duration=30,
        segments=[Segment(0, 10, "Hello, I'm Alice.", speaker=1), Segment(10, 12, "Welcome.", speaker=1), Segment(12, 30, "Thanks for having me.", speaker=2)],
        speakers=[Speaker(label="Alice", name="Alice", seconds=12), Speaker(label="Speaker 2", seconds=18)],
    )
    [part] = split_transcript(transcript.segments, 1000, lambda s: speaker.name if (speaker := transcript.speaker_of(s)) else None)
    assert part.lines == ["[00:00] Alice: Hello, I'm Alice.", "Welcome.", "[00:12] Thanks for having me."], "an unnamed voice gets no invented name"
    later = [Segment(40 + 5 * i, 45 + 5 * i, f"Line {i}.", speaker=1) for i in range(8)]
    [part] = split_transcript(later, 1000, lambda s: "Alice")
    assert [line[:8] for line in part.lines if line.startswith("[")] == ["[00:40] ", "[01:10] "], "a time where a voice begins and every half minute"
    assert transcript.voices_between(0, 30) == ["Speaker 2", "Alice"]
    assert transcript.voices_between(0, 11) == ["Alice"]


def _voice(seed: int, noise: float = 0.0, rng_seed: int = 99) -> list[float]:
    vector = np.random.default_rng(seed).normal(size=192) + noise * np.random.default_rng(rng_seed).normal(size=192)
    return list(vector / np.linalg.norm(vector))


def test_the_feeds_host_is_remembered_merged_and_counted_once(tmp_path):
    from core.artifacts import HostVoice
    from core.publish.catalog import Catalog

    first = [Speaker(label="Tom", name="Tom", seconds=50, voiceprint=_voice(1)), Speaker(label="Speaker 2", seconds=20, voiceprint=_voice(2))]
    host = Z.remember_host(None, first, "ep-1", 0.42)
    assert host == HostVoice(name="Tom", voiceprint=_voice(1), heard_in=["ep-1"]), "the voice that opens the episode"
    interview = [Speaker(label="Speaker 1", seconds=4, voiceprint=_voice(5)), Speaker(label="Tom", name="Tom", seconds=30, voiceprint=_voice(1)), Speaker(label="Raj", name="Raj", seconds=70, voiceprint=_voice(2))]
    assert Z.remember_host(None, interview, "ep-0", 0.42).name == "Tom", "not the guest who talks most, nor a 4-second cold open"
    assert Z.remember_host(host, first, "ep-1", 0.42) is host, "a rerun counts nothing twice"
    guest_led = [Speaker(label="Speaker 1", seconds=80, voiceprint=_voice(3)), Speaker(label="Speaker 2", seconds=10, voiceprint=_voice(1, 0.2))]
    assert Z.remember_host(host, guest_led, "ep-2", 0.42) is host, "a guest who talks most does not replace the host"
    again = [Speaker(label="Speaker 1", seconds=60, voiceprint=_voice(1, 0.3))]
    merged = Z.remember_host(host, again, "ep-3", 0.42)
    assert merged.name == "Tom" and merged.heard_in == ["ep-1", "ep-3"]
    assert 0 < Z.distance(merged.voiceprint, host.voiceprint) < Z.distance(again[0].voiceprint, host.voiceprint), "a running mean"

    catalog = Catalog.of(tmp_path)
    assert catalog.host("https://example.org/feed.xml") is None
    catalog.remember_host("https://example.org/feed.xml", merged)
    assert Catalog.of(tmp_path).host("https://example.org/feed.xml") == merged


def test_a_known_host_voice_names_a_speaker_who_did_not_introduce_themselves():
    from core.artifacts import HostVoice

    segments = [Segment(0, 5, "Welcome back.", speaker=1), Segment(5, 9, "Hi, I'm Ken.", speaker=2), Segment(9, 12, "So, Ken.", speaker=3)]
    prints = {1: _voice(3), 2: _voice(1, 0.3), 3: _voice(1, 0.5)}
    host = HostVoice(name="Tom", voiceprint=_voice(1), heard_in=["ep-1", "ep-2"])
    speakers = Z.speakers_of(segments, Glossary(["Tom"]), prints, host, 0.42)
    assert [s.label for s in speakers] == ["Speaker 1", "Ken", "Tom"], "Ken's own introduction wins; the nearest other voice is the host"
    assert speakers[2].confirmed and "host" in speakers[2].named_by and "2 earlier" in speakers[2].named_by
    stranger = HostVoice(name="Tom", voiceprint=_voice(7), heard_in=["ep-1"])
    assert "Tom" not in [s.label for s in Z.speakers_of(segments, Glossary(), prints, stranger, 0.42)], "no voice close enough: no name"


@pytest.mark.slow
def test_the_host_named_in_one_episode_is_named_by_voice_in_the_next(settings, tmp_path):
    host, found = None, []
    for conversation in D.HOST_EPISODES:
        audio, reference = D.speak(conversation)
        segments = D.transcribe(audio, "en", settings)
        wav = write_wav(tmp_path / f"{conversation.name}.wav", audio, D.RATE)
        labelled, speakers = Z.diarize(segments, [(0.0, wav)], settings.diarize, settings.context, Glossary(), host=host)
        host = Z.remember_host(host, speakers, conversation.name, settings.diarize.threshold)
        toms = {s.speaker for s in labelled if any(start <= (s.start + s.end) / 2 <= end for start, end, who in reference if who == "Tom")}
        assert len(toms) == 1, f"{conversation.name}: Tom is one speaker"
        found.append(speakers[toms.pop() - 1])
    summary = json.dumps([s.model_dump(exclude={"voiceprint"}) for s in found])
    assert [s.name for s in found] == ["Tom", "Tom"], summary
    assert "I'm Tom" in found[0].named_by and "host" in found[1].named_by, summary
    assert [s.label for s in speakers] == ["Tom", "Speaker 2"], "the guest who gave no name stays unnamed"
    assert host.name == "Tom" and host.heard_in == ["en-host-1", "en-host-2"], "the host's voice is one mean over both episodes"
