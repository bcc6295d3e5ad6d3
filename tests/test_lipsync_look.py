"""Issue 28: a mouth you could mistake for a video: real-speech amplitudes, closed in silence, shaded not drawn, no warp artefacts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.artifacts import NarratedSentence, Narration, Unit
from core.media.ffmpeg import read_wav
from engines.lipsync import portrait as P
from engines.lipsync import visemes
from engines.lipsync.animator import Animator
from engines.lipsync.face import LOWER_INNER, LOWER_OUTER, MOUTH_LEFT, MOUTH_RIGHT, UPPER_OUTER
from evaluation import lipviews as V


def grace_hopper() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"


def framed(path: Path, size: int = 720) -> tuple[np.ndarray, np.ndarray]:
    image, face = P.load_portrait(path)
    return P.frame_portrait(image, face, size)


@pytest.fixture(scope="module")
def hopper():
    crop, landmarks = framed(grace_hopper())
    return crop, landmarks, Animator(crop, landmarks, 25, seed=0)


def track_of(folder: Path) -> tuple[Narration, np.ndarray]:
    narration = Narration.read(folder)
    audio, rate = read_wav(folder / "narration.wav")
    frames = int(np.ceil(len(audio) / rate * 25))
    return narration, visemes.openings(narration, audio, rate, 25, frames)


@pytest.mark.parametrize("language", ["en", "zh"])
def test_most_syllables_open_a_little_and_the_widest_are_open_vowels(narrated, language):
    narration, track = track_of(narrated[language])
    jaw = track[:, 0]
    spoken = jaw > 0
    assert np.median(jaw[spoken]) <= 0.45, "an ordinary syllable opens a little, not like a shout"
    assert np.percentile(jaw, 95) >= 0.5 and jaw.max() >= 0.8, "and some open wide"
    widest = np.argsort(jaw)[-max(3, len(jaw) // 20) :]
    in_open = [any(visemes.is_open_vowel(u.unit) and u.start - 0.04 <= (i + 0.5) / 25 <= u.end + 0.04 for u in narration.units()) for i in widest]
    assert np.mean(in_open) >= 0.8, "the widest openings come on open vowels"


def test_stressed_vowels_open_wider_than_unstressed(narrated):
    narration, track = track_of(narrated["en"])
    units = narration.units()
    stressed, plain = [], []
    for k, unit in enumerate(units):
        if not visemes.is_vowel(unit.unit):
            continue
        peak = track[int(unit.start * 25) : int(np.ceil(unit.end * 25)) + 1, 0].max()
        onset = next((units[j].unit for j in range(k - 1, max(-1, k - 3), -1) if not visemes.is_vowel(units[j].unit)), "")
        (stressed if "ˈ" in unit.unit + onset else plain).append(peak)
    assert stressed and plain
    assert np.mean(stressed) > np.mean(plain) + 0.1, (np.mean(stressed), np.mean(plain))


def sentence(*units: tuple[str, float, float]) -> Narration:
    body = NarratedSentence.model_construct(text="x", start=units[0][1], end=units[-1][2], runs=[], units=[Unit(unit=u, start=a, end=b) for u, a, b in units])
    return Narration.model_construct(sample_rate=16000, duration=units[-1][2] + 0.3, language="zh", engines=[], models=[], loudness_lufs=-16, source_loudness_lufs=None, skipped=[], unavailable={}, sentences=[body])


def test_pauses_of_120_ms_close_the_mouth_from_their_first_frame():
    rate, fps = 16000, 25
    narration = sentence(("t", 0.30, 0.36), ("a", 0.36, 0.60), ("t", 0.75, 0.80), ("a", 0.80, 1.00), ("k", 1.06, 1.12), ("a", 1.12, 1.40))
    audio = (0.3 * np.sin(np.arange(int(1.7 * rate)) * 0.2)).astype(np.float32)  # a voice that never falls quiet: only the timings count
    frames = int(1.7 * fps)
    jaw = visemes.openings(narration, audio, rate, fps, frames)[:, 0]
    centres = (np.arange(frames) + 0.5) / fps
    assert (jaw[(centres >= 0.60) & (centres < 0.75)] == 0).all(), "a 150 ms pause: closed from the first frame inside it"
    assert (jaw[(centres > 1.0) & (centres < 1.06)] > 0).all(), "a 60 ms gap between syllables is not a pause: no flicker"
    assert (jaw[centres < 0.30] == 0).all() and (jaw[centres >= 1.40] == 0).all()


def test_a_quiet_voice_inside_a_long_unit_closes_too():
    rate, fps = 16000, 25
    narration = sentence(("a", 0.30, 0.50), ("n", 0.50, 1.20))  # a final n the voice holds, then trails off into silence
    audio = np.zeros(int(1.5 * rate), np.float32)
    audio[int(0.30 * rate) : int(0.70 * rate)] = 0.3 * np.sin(np.arange(int(0.4 * rate)) * 0.2)
    jaw = visemes.openings(narration, audio, rate, fps, int(1.5 * fps))[:, 0]
    assert (jaw[int(0.75 * fps) + 1 : int(1.2 * fps)] == 0).all()


def test_drawn_teeth_are_no_brighter_than_the_eye_whites(hopper):
    crop, landmarks, animator = hopper
    portrait_face = V.landmarks_of(crop)
    whites = V.eye_white_luminance(crop, portrait_face)
    frame = animator.draw((1.0, 0.3, 0.0, 0.6))
    face = V.landmarks_of(frame)
    assert V.gap_of(face) > 0.05, "the mouth is open"
    assert V.mouth_brightest(frame, face) <= 1.05 * whites, (V.mouth_brightest(frame, face), whites)  # 5 %: the mouth contour takes in a lip highlight
    assert V.mouth_brightest(frame, face) > 1.8 * np.median(animator.lip_line), "teeth show against the dark of the mouth"


@pytest.mark.parametrize("portrait,margin", [("hopper", 1.0), ("astronaut", 1.15)])
def test_the_cavity_edge_is_no_sharper_than_the_portraits_own_lip_line(hopper, portrait, margin):
    """Grace Hopper's lips meet in a line; the astronaut's lips frame her own teeth, whose edge against the drawn dark measures up to 12 % sharper."""
    if portrait == "hopper":
        crop, _, animator = hopper
    else:
        crop, landmarks = framed(P.default_portrait())
        animator = Animator(crop, landmarks, 25, seed=0)
    line = V.lip_line_sharpness(crop, V.landmarks_of(crop))
    for jaw in (0.5, 1.0):
        frame = animator.draw((jaw, 0.3, 0.0, 0.6))
        assert V.cavity_edge_sharpness(frame, V.landmarks_of(frame)) <= margin * line, jaw


def test_the_lower_lip_is_moved_never_repainted(hopper):
    crop, landmarks, animator = hopper
    frame = animator.draw((1.0, 0.3, 0.0, 0.6))
    drop = animator.max_open * animator.lip_weight[np.searchsorted(animator.columns, animator.cx)]
    cx = int(round(animator.cx))
    top, bottom = int(landmarks[LOWER_INNER][5, 1]) + 3, int(landmarks[LOWER_OUTER][5, 1]) - 1
    lip = crop[top:bottom, cx - 10 : cx + 10].astype(np.float32)
    moved = frame[top + int(round(drop)) : bottom + int(round(drop)), cx - 10 : cx + 10].astype(np.float32)
    assert np.abs(lip - moved).mean() < 12, "the lower lip's own pixels, carried down with the jaw"


@pytest.mark.parametrize("portrait", ["astronaut", "hopper"])
def test_an_outline_beside_the_mouth_stays_straight(portrait):
    import cv2

    crop, landmarks = framed(P.default_portrait() if portrait == "astronaut" else grace_hopper())
    cx, half = (landmarks[MOUTH_LEFT, 0] + landmarks[MOUTH_RIGHT, 0]) / 2, (landmarks[MOUTH_RIGHT, 0] - landmarks[MOUTH_LEFT, 0]) / 2
    lined = np.full_like(crop, 230)
    outlines = [cx + k * half for k in (-1.8, -1.4, 1.4, 1.8)]
    for x in outlines:
        cv2.line(lined, (int(round(x)), 0), (int(round(x)), lined.shape[0] - 1), (20, 20, 20), 2)
    animator = Animator(lined, landmarks, 25, seed=0)  # the portrait's face, drawn as straight vertical lines
    top, bottom = landmarks[UPPER_OUTER][:, 1].min(), landmarks[LOWER_OUTER][:, 1].max()
    rows = (int(top - 0.5 * (bottom - top)), int(bottom + 0.5 * (bottom - top)))
    for shape in [(0.0, 0.0, 1.0, 0.0), (1.0, 0.3, 0.0, 0.6), (0.4, 1.0, 0.0, 0.0)]:
        frame = animator.draw(shape)
        residual = max(V.straightness(frame, rows, x) for x in outlines)
        assert residual <= 1.5, (shape, residual)  # the previous warp bent them by 10-17 pixels on a rounded vowel
