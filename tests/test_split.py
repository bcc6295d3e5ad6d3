"""split: decoding to 16 kHz mono, cuts at pauses, offsets, and undecodable input."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import numpy as np
import pytest

from core.errors import AudioError
from core.settings import SplitSettings
from stages import split

GAPS = [(9.0, 9.6), (19.5, 20.3), (31.0, 31.5)]


@pytest.fixture
def gapped_wav(tmp_path) -> Path:
    """40 s of 44.1 kHz stereo 'speech' (modulated noise) with three short pauses at known times."""
    rate, seconds = 44_100, 40.0
    t = np.arange(int(rate * seconds)) / rate
    rng = np.random.default_rng(0)
    signal = 0.3 * rng.standard_normal(t.size) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))
    for start, end in GAPS:
        signal[int(start * rate) : int(end * rate)] *= 0.001
    stereo = np.stack([signal, signal], axis=1)
    path = tmp_path / "gapped.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((np.clip(stereo, -1, 1) * 32767).astype(np.int16).tobytes())
    return path


def test_cuts_land_in_pauses_and_offsets_add_up(gapped_wav, tmp_path):
    chunks = split.split(gapped_wav, tmp_path / "ep", SplitSettings(chunk_seconds=12, search_seconds=5)).chunks
    assert len(chunks) == 4
    for chunk, (start, end) in zip(chunks[1:], GAPS):
        assert start <= chunk.offset <= end, f"cut at {chunk.offset} is outside the pause {start}-{end}"
    for before, after in zip(chunks, chunks[1:]):
        assert after.offset == pytest.approx(before.offset + before.duration, abs=0.002)
    assert sum(c.duration for c in chunks) == pytest.approx(40.0, abs=0.01)
    with wave.open(str(chunks[0].path)) as first:
        assert (first.getframerate(), first.getnchannels(), first.getsampwidth()) == (16_000, 1, 2)
    listed = json.loads((tmp_path / "ep" / "chunks.json").read_text())
    assert [c["path"] for c in listed["chunks"]] == ["chunks/000.wav", "chunks/001.wav", "chunks/002.wav", "chunks/003.wav"]
    assert not any(c.silent for c in chunks)


def test_short_episode_is_one_chunk(jfk_mp3, tmp_path):
    chunks = split.split(jfk_mp3, tmp_path, SplitSettings()).chunks
    assert len(chunks) == 1 and chunks[0].offset == 0 and chunks[0].duration == pytest.approx(11.0, abs=0.1)
    assert not chunks[0].silent


def test_resplit_removes_stale_chunks(gapped_wav, jfk_mp3, tmp_path):
    split.split(gapped_wav, tmp_path, SplitSettings(chunk_seconds=12, search_seconds=5))
    split.split(jfk_mp3, tmp_path, SplitSettings())
    assert sorted(p.name for p in (tmp_path / "chunks").iterdir()) == ["000.wav"]


def test_silence_is_marked_not_rejected(silence_wav, tmp_path):
    chunks = split.split(silence_wav, tmp_path, SplitSettings()).chunks
    assert [c.silent for c in chunks] == [True]


def test_truncated_mp3(jfk_mp3, tmp_path):
    truncated = tmp_path / "truncated.mp3"
    truncated.write_bytes(jfk_mp3.read_bytes()[: jfk_mp3.stat().st_size // 2])
    with pytest.raises(AudioError, match="truncated.mp3 is truncated") as error:
        split.decode(truncated)
    assert "download it again" in error.value.hint


def test_empty_and_non_audio(tmp_path):
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(AudioError, match="is empty"):
        split.decode(empty)
    text = tmp_path / "episode.mp3"
    text.write_bytes(b"ID3" + b"\x00" * 7 + b"definitely not an mp3 frame " * 50)
    with pytest.raises(AudioError, match="episode.mp3 (is not a readable audio file|has no audio stream|could not be decoded)"):
        split.decode(text)


def test_frame_loudness_of_silence_and_full_scale():
    quiet = split.frame_loudness(np.zeros(1600, dtype=np.int16), 800)
    loud = split.frame_loudness(np.full(1600, 32767, dtype=np.int16), 800)
    assert (quiet < -150).all() and np.allclose(loud, 0, atol=0.01)


def test_wav_of_any_pcm_or_float_width_is_read_as_mono_float(tmp_path):
    """read_wav takes 24-bit, 32-bit and float WAVs too (soundfile), channels averaged; write_wav writes 16-bit PCM as it always did."""
    import soundfile

    from core.media.ffmpeg import read_chunk, read_wav, write_wav

    rng = np.random.default_rng(1)
    signal = rng.uniform(-0.9, 0.9, 16_000)
    for subtype, step in [("PCM_24", 2.0**-23), ("PCM_32", 2.0**-24), ("FLOAT", 2.0**-24), ("DOUBLE", 2.0**-24)]:  # float32 keeps 24 bits
        soundfile.write(tmp_path / f"{subtype}.wav", signal, 22_050, subtype=subtype)
        audio, rate = read_wav(tmp_path / f"{subtype}.wav")
        assert rate == 22_050 and audio.dtype == np.float32 and audio.shape == signal.shape, subtype
        assert np.abs(audio - signal).max() <= step, f"{subtype}: read at its own precision, not 16-bit"
    soundfile.write(tmp_path / "stereo.wav", np.stack([signal, -signal / 2], axis=1), 16_000, subtype="PCM_24")
    stereo = read_chunk(tmp_path / "stereo.wav")
    assert stereo.dtype == np.float32 and stereo.shape == signal.shape and np.abs(stereo - signal / 4).max() < 1e-6, "the channels' mean"

    written = write_wav(tmp_path / "out.wav", np.array([1.5, 1.0, 0.5, -0.2, -1.0, -3.0], np.float32), 16_000)
    assert soundfile.info(written).subtype == "PCM_16"
    pcm, _ = soundfile.read(written, dtype="int16")
    assert pcm.tolist() == [32767, 32767, 16383, -6553, -32767, -32767], "clipped, scaled by 32767 and truncated toward zero, as before"
    assert read_wav(written)[0].tolist() == (pcm / np.float32(32768)).tolist()
