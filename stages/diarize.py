"""diarize: who spoke each transcript segment and word, and, where a speaker said it, their name.

Speech is where Whisper heard words. Windows of speech (2 s, 1 s hop)
become voice embeddings, clustered by average-linkage cosine distance under a
threshold (or into a forced number of speakers); a voice heard for only a few
seconds joins its nearest speaker when it is near enough. Each word takes the
label of the nearest window; turns shorter than ``min_turn`` join their
neighbours, so a music bed or an overlap makes no phantom speaker; a change of
voice moves to the nearest sentence end, clause end or pause within a second;
a segment that holds two speakers is cut there. A speaker is named only by their own
self-introduction ("我是…", "I'm …"; "I'm Daniel" as "Daniel Brooks" where the
show notes hold one such name), confirmed where the show notes or the
user's terms hold the name; by the host's introduction of one guest ("My guest
is Maria Lopez", "本期嘉宾是张伟") when the next other voice heard has no name;
or by the voice of a feed's host named in an earlier episode; anyone else stays
"Speaker N".
"""

from __future__ import annotations

import itertools
import logging
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path

import numpy as np

from core.artifacts import HostVoice, Segment, Speaker, StageRecord, Transcript, Word
from core.context import Context
from core.errors import EngineUnavailable
from core.glossary import Glossary
from core.logs import Progress
from core.media.ffmpeg import read_chunk
from core.settings import DiarizeSettings
from core.text import CJK, chinese_punctuation
from engines.base import shared
from engines.diarize.base import SpeakerEmbedder

from . import transcribe as transcribe_stage

log = logging.getLogger(__name__)
RATE = 16_000
HOP = 1.0
BATCH = 64  # windows embedded at a time, between progress reports
JOIN_GAP = 0.3  # words closer than this are one stretch of speech
SHORTEST_CLIP = 0.5  # a stretch of speech shorter than this is too short to embed; it takes its neighbours' label
PAUSE = 0.3  # a gap between words this long is a place a turn can end
SENTENCE_MARK = re.compile(r"[.!?。！？…][\"'”’」』)）]*$")  # a word that ends a sentence
HOST_SHARE = 0.15  # of an episode's talk, at least, by the voice taken as its host
CLAUSE_MARK = re.compile(r"[,;:，、；：—][\"'”’」』)）]*$")  # a word that ends a clause
AudioChunk = tuple[float, Path]  # (offset in the episode, 16 kHz WAV)

INTRODUCTION = re.compile(r"(?:我是|我叫|我的名字是|我的名字叫|本期主持人|主持人)")
INTRODUCTION_EN = re.compile(r"\b(?:I'm|I am|my name is|My name is|this is|This is)\s+(?:your host,?\s+)?([A-Z][a-z]+(?:\s[A-Z][a-z]+)?)")
GUEST_INTRODUCTION = re.compile(r"(?:本期|今天|这期|这一期)(?:节目)?的?(?:嘉宾|客人)(?:是|就是)?")
GUEST_INTRODUCTION_EN = re.compile(
    r"\b(?:[Mm]y guest(?: today| this week)? is|[Jj]oining (?:me|us)(?: today)? is|[Ww]ith me(?: today)? is|[Pp]lease welcome)\s+([A-Z][a-z]+(?:\s[A-Z][a-z]+)?)"
)
VOCATIVE = re.compile(r"^\s*(?:(?:So|And|Now|Okay|OK|Well),?\s+)?([A-Z][a-z]+),\s")  # "Priya, did your costs go up?"
ENGLISH_NOT_NAMES = {"sure", "sorry", "here", "back", "not", "just", "really", "so", "very", "glad", "happy", "excited", "going", "the", "a"}


def load_engine(section: DiarizeSettings, context: Context) -> SpeakerEmbedder:
    """One embedder per settings and endpoint, kept for the process (the model loads once)."""
    return shared(section, context)


def speech_spans(segments: list[Segment]) -> list[tuple[float, float]]:
    """Stretches of speech: words (or whole segments that have none), joined across short gaps."""
    times = sorted((w.start, w.end) for s in segments for w in (s.words or [Word(s.start, s.end, s.text)]) if w.end > w.start)
    spans: list[list[float]] = []
    for start, end in times:
        if spans and start - spans[-1][1] < JOIN_GAP:
            spans[-1][1] = max(spans[-1][1], end)
        else:
            spans.append([start, end])
    return [(a, b) for a, b in spans]


def window_starts(spans: list[tuple[float, float]], window: float) -> list[tuple[float, float]]:
    """(start, end) of each window to embed: every ``HOP`` seconds inside each span, one short window for a short span."""
    windows = []
    for a, b in spans:
        if b - a < SHORTEST_CLIP:
            continue
        if b - a <= window:
            windows.append((a, b))
            continue
        starts = np.arange(a, b - window + 1e-6, HOP)
        windows += [(float(s), float(s) + window) for s in starts]
        if b - (starts[-1] + window) > HOP / 2:
            windows.append((b - window, b))
    return windows


def clips(windows: list[tuple[float, float]], audio: list[AudioChunk]) -> Iterable[np.ndarray]:
    """The audio of each window, reading one chunk file at a time (an hour never sits in memory at once)."""
    loaded: tuple[float, np.ndarray] | None = None
    ordered = sorted(audio)
    for start, end in windows:
        offset, path = next(((o, p) for o, p in reversed(ordered) if o <= start + 1e-6), ordered[0])
        if loaded is None or loaded[0] != offset:
            loaded = (offset, read_chunk(path))
        first = max(0, round((start - offset) * RATE))
        yield loaded[1][first : first + round((end - start) * RATE)]


def cluster(vectors: np.ndarray, threshold: float, speakers: int = 0) -> np.ndarray:
    """Cluster labels 0..k-1: average-linkage cosine distance under ``threshold``, or exactly ``speakers`` clusters."""
    if len(vectors) < 2:
        return np.zeros(len(vectors), dtype=int)
    from scipy.cluster.hierarchy import fcluster, linkage

    tree = linkage(vectors, method="average", metric="cosine")
    labels = fcluster(tree, t=speakers, criterion="maxclust") if speakers else fcluster(tree, t=threshold, criterion="distance")
    return np.asarray(labels) - 1


def merge_small(
    vectors: np.ndarray, labels: np.ndarray, talk: Callable[[np.ndarray], dict[int, float]], min_seconds: float, min_share: float, limit: float
) -> np.ndarray:
    """Window labels with each voice heard for less than ``min_seconds`` or ``min_share`` of the speech (``talk``: seconds per
    label) joined to its nearest other voice, by average cosine distance, where that distance is under ``limit``; least heard first.

    A real call splits off a third "voice" from a second of crosstalk or a cough; a guest with one answer at a distance
    above ``limit`` stays a speaker of their own.
    """
    labels = labels.copy()
    while len(np.unique(labels)) > 1:
        seconds = talk(labels)
        total = sum(seconds.values())
        for small in sorted((k for k in seconds if seconds[k] < max(min_seconds, min_share * total)), key=seconds.__getitem__):
            own = vectors[labels == small]
            near = {int(k): 1.0 - float((own @ vectors[labels == k].T).mean()) for k in np.unique(labels) if k != small}
            nearest = min(near, key=near.__getitem__)
            if near[nearest] < limit:
                log.info("A voice heard for %.1f s of %.1f s joins its nearest speaker (distance %.2f)", seconds[small], total, near[nearest])
                labels[labels == small] = nearest
                break
        else:
            break
    return labels


def smooth(labels: list[int], times: list[tuple[float, float]], min_turn: float) -> list[int]:
    """Turns (runs of one label) shorter than ``min_turn`` take the label of the longer neighbouring turn, shortest first."""
    runs = [[label, start, end, 1] for label, (start, end) in zip(labels, times)]
    merged: list[list] = []
    for run in runs:
        if merged and merged[-1][0] == run[0]:
            merged[-1][2], merged[-1][3] = run[2], merged[-1][3] + 1
        else:
            merged.append(run)
    while len(merged) > 1:
        i = min(range(len(merged)), key=lambda k: merged[k][2] - merged[k][1])
        if merged[i][2] - merged[i][1] >= min_turn:
            break
        neighbours = [k for k in (i - 1, i + 1) if 0 <= k < len(merged)]
        k = max(neighbours, key=lambda n: merged[n][2] - merged[n][1])
        merged[k][1], merged[k][2] = min(merged[k][1], merged[i][1]), max(merged[k][2], merged[i][2])
        merged[k][3] += merged[i][3]
        del merged[i]
        for j in (i - 1, i):  # neighbours of the removed run may now be the same speaker
            if 0 <= j < len(merged) - 1 and merged[j][0] == merged[j + 1][0]:
                merged[j][2], merged[j][3] = merged[j + 1][2], merged[j][3] + merged[j + 1][3]
                del merged[j + 1]
    return [run[0] for run in merged for _ in range(run[3])]


def _split(segment: Segment, words: list[Word]) -> list[Segment]:
    """A segment cut where the speaker changes (its text rebuilt from its words); one speaker keeps the segment whole."""
    groups: list[list[Word]] = []
    for word in words:
        if groups and groups[-1][0].speaker == word.speaker:
            groups[-1].append(word)
        else:
            groups.append([word])
    if len(groups) <= 1:
        return [replace(segment, words=words, speaker=words[0].speaker if words else segment.speaker)]
    return [Segment(g[0].start, g[-1].end, chinese_punctuation("".join(w.word for w in g).strip()), g, g[0].speaker) for g in groups]


def strength(words: list[Word], k: int) -> int:
    """How clean a cut before ``words[k]`` is: 3 after a sentence, 2 after a clause, 1 at a pause, 0 mid-phrase.

    Where Whisper starts a segment says nothing by itself: it cuts "no longer | true for speech" as readily as at a full stop.
    """
    before = words[k - 1].word.strip()
    if SENTENCE_MARK.search(before):
        return 3
    if CLAUSE_MARK.search(before):
        return 2
    return 1 if words[k].start - words[k - 1].end >= PAUSE else 0


def to_sentence_ends(words: list[Word], labels: list[int], reach: float) -> list[int]:
    """Each change of speaker moved to the cleanest cut within ``reach`` seconds of where the voices changed.

    A sentence's end beats a clause's end, which beats a pause between words; among equals the
    nearest wins, and a change already at a cut as clean as any near it stays. The voice labels come from windows of
    two seconds, so they place a change to within about a second; the words say where it can be. Each turn keeps a word.
    """
    labels = list(labels)
    changes = [k for k in range(1, len(labels)) if labels[k] != labels[k - 1]]
    at = lambda k: (words[k - 1].end + words[k].start) / 2
    previous = 0
    for n, change in enumerate(changes):
        following = changes[n + 1] if n + 1 < len(changes) else len(labels)
        near = [k for k in range(previous + 1, following) if abs(at(k) - at(change)) <= reach]
        best = max(near, key=lambda k: (strength(words, k), -abs(at(k) - at(change))))
        if strength(words, best) > strength(words, change):
            left, right = labels[change - 1], labels[change]
            for k in range(min(best, change), max(best, change)):
                labels[k] = left if k < best else right
        previous = best if strength(words, best) > strength(words, change) else change
    return labels


def _closed(segments: list[Segment]) -> list[Segment]:
    """A Chinese turn that ends on "、" or "，" ends on "。": the next voice shows the sentence was over."""
    closed = list(segments)
    for i in range(len(closed) - 1):
        text = closed[i].text.rstrip()
        if closed[i].speaker != closed[i + 1].speaker and text[-1:] in ("、", "，") and CJK.search(text):
            closed[i] = replace(closed[i], text=text[:-1] + "。")
    return closed


def label(segments: list[Segment], labels_at: Callable[[list[float]], list[int]], min_turn: float, reach: float = HOP) -> list[Segment]:
    """Every word and segment labelled, short turns smoothed away, changes of speaker moved to sentence ends, mixed segments cut."""
    items = [(s, w) for s in segments for w in (s.words or [Word(s.start, s.end, s.text)])]
    if not items:
        return segments
    raw = labels_at([(w.start + w.end) / 2 for _, w in items])
    smoothed = smooth(raw, [(w.start, w.end) for _, w in items], min_turn)
    smoothed = to_sentence_ends([w for _, w in items], smoothed, reach)
    labelled: dict[int, list[Word]] = {}
    for (segment, word), speaker in zip(items, smoothed):
        labelled.setdefault(id(segment), []).append(replace(word, speaker=speaker))
    result = []
    for segment in segments:
        words = labelled.get(id(segment), [])
        if segment.words:
            result += _split(segment, words)
        else:
            result.append(replace(segment, speaker=words[0].speaker if words else None))
    return _closed(result)


def _numbered(segments: list[Segment]) -> tuple[list[Segment], dict[int, int]]:
    """Speakers numbered 1, 2, ... in order of first appearance, and the number each cluster label became."""
    order: dict[int, int] = {}
    for segment in segments:
        if segment.speaker is not None:
            order.setdefault(segment.speaker, len(order) + 1)
    numbered = [replace(s, speaker=order.get(s.speaker) if s.speaker is not None else None, words=[replace(w, speaker=order.get(w.speaker) if w.speaker is not None else None) for w in s.words]) for s in segments]
    return numbered, order


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / max(float(np.linalg.norm(vector)), 1e-9)


def distance(a: list[float] | np.ndarray, b: list[float] | np.ndarray) -> float:
    """Cosine distance of two voiceprints."""
    return 1.0 - float(np.dot(_unit(np.asarray(a, dtype=float)), _unit(np.asarray(b, dtype=float))))


def voiceprints(vectors: np.ndarray, window_labels: np.ndarray, order: dict[int, int]) -> dict[int, list[float]]:
    """Each numbered speaker's mean unit embedding over the windows of their cluster."""
    return {number: [round(float(x), 5) for x in _unit(vectors[window_labels == cluster_label].mean(axis=0))] for cluster_label, number in order.items()}


def remember_host(previous: HostVoice | None, speakers: list[Speaker], episode: str, threshold: float) -> HostVoice | None:
    """The feed's host after ``episode``: the voice that opens it, merged into the known one when it is the same voice.

    Not the voice that talked most: in an interview that is the guest. ``speakers`` come in the order they first speak;
    a voice with less than HOST_SHARE of the talk (a cold open's clip, a sponsor's line) opens nothing.
    An episode led by someone else (the voice does not match) leaves the known host as it was; so does a rerun.
    """
    heard = [s for s in speakers if s.voiceprint]
    if not heard or (previous and episode in previous.heard_in):
        return previous
    talk = sum(s.seconds for s in heard)
    host = next((s for s in heard if s.seconds >= HOST_SHARE * talk), max(heard, key=lambda s: s.seconds))
    if previous is None:
        return HostVoice(name=host.name, voiceprint=host.voiceprint, heard_in=[episode])
    if distance(host.voiceprint, previous.voiceprint) >= threshold:
        return previous
    count = len(previous.heard_in)
    merged = _unit((np.asarray(previous.voiceprint) * count + np.asarray(host.voiceprint)) / (count + 1))
    return HostVoice(name=previous.name or host.name, voiceprint=[round(float(x), 5) for x in merged], heard_in=[*previous.heard_in, episode])


def _chinese_name_after(text: str, match: re.Match[str], glossary: Glossary) -> tuple[str, str] | None:
    """The glossary term or person's name (jieba's nr) right after ``match``, with the words that said it."""
    after = text[match.end() : match.end() + 12].lstrip("，, ")
    for term in sorted(glossary.terms, key=len, reverse=True):
        if after.startswith(term):
            return term, match.group(0) + term
    import jieba.posseg

    first = next(iter(jieba.posseg.cut(after)), None)
    if first is not None and first.flag.startswith("nr") and CJK.search(first.word) and len(first.word) >= 2:
        return first.word, match.group(0) + first.word
    return None


def introduced_name(text: str, glossary: Glossary) -> tuple[str, str] | None:
    """(name, the words that said it) from a self-introduction in ``text``, or None."""
    for match in INTRODUCTION.finditer(text):
        if found := _chinese_name_after(text, match, glossary):
            return found
    for match in INTRODUCTION_EN.finditer(text):
        name = match.group(1)
        if name.split()[0].lower() not in ENGLISH_NOT_NAMES and (not match.group(0).lower().startswith("this is") or name in glossary.terms):
            return _in_full(name, glossary), match.group(0)
    return None


def _in_full(name: str, glossary: Glossary) -> str:
    """"Daniel" as "Daniel Brooks" where the show notes hold exactly one name that begins so (Whisper cut the segment after "I'm Daniel")."""
    whole = [t for t in glossary.terms if " " in t and t.split()[0] == name]
    return whole[0] if " " not in name and len(whole) == 1 else name


def introduced_guest(text: str, glossary: Glossary) -> tuple[str, str] | None:
    """(name, the words that said it) where ``text`` introduces one guest ("My guest is Maria Lopez", "本期嘉宾是张伟"), or None.

    Two guests in one breath ("my guests are…", "X and Y") say nothing about which voice is whose.
    """
    for match in GUEST_INTRODUCTION.finditer(text):
        found = _chinese_name_after(text, match, glossary)
        rest = text[match.end() :]
        if found and not re.match(r"[，, ]*[和与跟、]", rest[rest.find(found[0]) + len(found[0]) :]):
            return found
    for match in GUEST_INTRODUCTION_EN.finditer(text):
        name = match.group(1)
        if name.split()[0].lower() not in ENGLISH_NOT_NAMES and not re.match(r",?\s+(?:and|&)\s+[A-Z]", text[match.end() :]):
            return _in_full(name, glossary), match.group(0)
    return None


def guests_named(segments: list[Segment], glossary: Glossary, found: dict[int, tuple[str, str]]) -> dict[int, tuple[str, str]]:
    """Voices named by the host's introduction of them: the next other voice heard (within five segments), when it has no name yet."""
    named = dict(found)
    for i, segment in enumerate(segments):
        guest = introduced_guest(segment.text, glossary) if segment.speaker else None
        if not guest or guest[0] in {name for name, _ in named.values()}:
            continue
        answer = next((s.speaker for s in segments[i + 1 : i + 6] if s.speaker and s.speaker != segment.speaker), None)
        if answer is not None and answer not in named:
            named[answer] = (guest[0], f"introduced by the voice before: {guest[1]}")
    return named


def addressed(segments: list[Segment], glossary: Glossary, found: dict[int, tuple[str, str]]) -> dict[int, tuple[str, str]]:
    """Voices named by being turned to ("Priya, did your costs go up?" / "Kenji, what is the most common mistake?"): the
    next other voice heard answers. Two guests introduced in one breath are told apart so. Only a first name that begins
    exactly one full name of the show notes counts, and a voice takes the name most of its answers give it."""
    votes: dict[int, Counter[str]] = {}
    for i, segment in enumerate(segments):
        match = VOCATIVE.match(segment.text) if segment.speaker else None
        full = _in_full(match.group(1), glossary) if match else ""
        if " " not in full:
            continue
        answer = next((s.speaker for s in segments[i + 1 : i + 4] if s.speaker and s.speaker != segment.speaker), None)
        if answer is not None:
            votes.setdefault(answer, Counter())[full] += 1
    named = dict(found)
    for voice, counts in votes.items():
        name, times = counts.most_common(1)[0]
        if voice not in named and name not in {n for n, _ in named.values()} and times > sum(counts.values()) / 2:
            named[voice] = (name, f"answered when turned to as {name.split()[0]} ({times} time{'s' if times > 1 else ''})")
    return named


def speakers_of(
    segments: list[Segment], glossary: Glossary, prints: dict[int, list[float]] | None = None, host: HostVoice | None = None, threshold: float = 0.0
) -> list[Speaker]:
    """Each speaker's talk time, voiceprint and name: from their own introduction, else from the feed host's voice (unique; confirmed by the glossary or not)."""
    prints = prints or {}
    count = max((s.speaker or 0 for s in segments), default=0)
    talk: dict[int, float] = {}
    for segment in segments:
        if segment.speaker:
            talk[segment.speaker] = talk.get(segment.speaker, 0.0) + segment.end - segment.start
    found: dict[int, tuple[str, str]] = {}
    for number in range(1, count + 1):
        heard = [introduced_name(s.text, glossary) for s in segments if s.speaker == number]
        names = [h for h in heard if h]
        if names:
            found[number] = Counter(names).most_common(1)[0][0]
    found = addressed(segments, glossary, guests_named(segments, glossary, found))
    if host and host.name and host.name not in {name for name, _ in found.values()}:
        near = {n: distance(p, host.voiceprint) for n, p in prints.items() if n not in found}
        closest = min(near, key=near.__getitem__, default=None)
        if closest is not None and near[closest] < threshold:
            found[closest] = (host.name, f"the voice of the feed's host, heard in {len(host.heard_in)} earlier episode(s)")
    taken: set[str] = set()
    speakers = []
    for number in range(1, count + 1):
        name, said = found.get(number, (None, None))
        if name in taken:
            name = said = None
        if name:
            taken.add(name)
        speakers.append(
            Speaker(
                label=name or f"Speaker {number}", name=name, named_by=said, confirmed=bool(name and name in glossary.terms),
                seconds=round(talk.get(number, 0.0), 2), voiceprint=prints.get(number, []),
            )
        )
    return speakers


def diarize(
    segments: list[Segment], audio: list[AudioChunk], section: DiarizeSettings, context: Context, glossary: Glossary,
    progress: Progress | None = None, host: HostVoice | None = None,
) -> tuple[list[Segment], list[Speaker]]:
    """Segments with a speaker on each (and each word), and the speakers; ``host`` is the feed's host as known from earlier episodes."""
    spans = speech_spans(segments)
    if not spans or not audio:
        return segments, []
    engine = load_engine(section, context)
    windows = window_starts(spans, engine.window)
    pieces, batches = clips(windows, audio), []
    for done in range(0, len(windows), BATCH):
        batches.append(engine.embed(list(itertools.islice(pieces, BATCH))))
        if progress:
            progress(min(len(windows), done + BATCH), len(windows), "windows")
    vectors = np.concatenate(batches) if batches else np.zeros((0, 1))
    if len(windows) < 2:
        labelled = [replace(s, speaker=1, words=[replace(w, speaker=1) for w in s.words]) for s in segments]
        prints = voiceprints(vectors, np.zeros(len(vectors), dtype=int), {0: 1}) if len(vectors) else {}
        return labelled, speakers_of(labelled, glossary, prints, host, section.threshold)
    window_labels = cluster(vectors, section.threshold, section.speakers)
    centres = np.array([(a + b) / 2 for a, b in windows])
    if not section.speakers:
        words = [w for s in segments for w in (s.words or [Word(s.start, s.end, s.text)])]
        heard = _nearest(centres, [(w.start + w.end) / 2 for w in words])
        lengths = np.array([w.end - w.start for w in words])

        def talk(labels: np.ndarray) -> dict[int, float]:
            return {int(k): float(lengths[labels[heard] == k].sum()) for k in np.unique(labels)}

        window_labels = merge_small(vectors, window_labels, talk, section.min_speaker_seconds, section.min_speaker_share, section.merge_distance)

    def labels_at(times: list[float]) -> list[int]:
        return [int(window_labels[i]) for i in _nearest(centres, times)]

    labelled, order = _numbered(label(segments, labels_at, section.min_turn, HOP))
    return labelled, speakers_of(labelled, glossary, voiceprints(vectors, window_labels, order), host, section.threshold)


def add_speakers(
    chunk_files: list[Path], audio: list[AudioChunk], folder: Path, duration: float, section: DiarizeSettings, context: Context,
    glossary: list[str], progress: Progress | None = None, host: HostVoice | None = None,
) -> StageRecord:
    """The transcript files written again from the chunk transcripts, with a speaker on every segment and word and the speakers named."""
    started = time.perf_counter()

    def labeller(segments: list[Segment]) -> tuple[list[Segment], list[Speaker]]:
        try:
            return diarize(segments, audio, section, context, Glossary(glossary), progress, host)
        except EngineUnavailable as error:  # speakers are a bonus: the transcript stays as transcribe wrote it
            log.warning("Speakers not told apart: %s", error)
            return segments, []

    files = transcribe_stage.write_transcript(chunk_files, folder, duration, glossary, labeller)
    speakers = Transcript.read(folder).speakers
    return StageRecord(
        outputs=files, engine=section.engine, seconds=round(time.perf_counter() - started, 3),
        speakers=[{"label": s.label, "seconds": s.seconds} for s in speakers],
    )


def _nearest(centres: np.ndarray, times: list[float] | np.ndarray) -> np.ndarray:
    """Index of the nearest centre (sorted) for each time."""
    times = np.asarray(times)
    right = np.clip(np.searchsorted(centres, times), 1, len(centres) - 1)
    left = right - 1
    return np.where(np.abs(centres[left] - times) <= np.abs(centres[right] - times), left, right)
