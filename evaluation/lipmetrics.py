"""Lip-sync measured on the output video against the narration's phonetic timing.

Loudness alone is a poor guide to a talking mouth (lips close on b/p/m while
the sound is loud), so the video is scored on what the phonemes demand: the
inner-lip opening per frame (mediapipe face mesh, normalised by face height)
must be near-closed at bilabial onsets and in pauses, and wide on open vowels.
Used by the tests and by bench/lipsync.py.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from core.artifacts import Narration, Unit
from core.face import CHIN, FOREHEAD, INNER_BOTTOM, INNER_TOP, NOSE_TIP, track
from core.media import decode_video
from engines.lipsync.visemes import is_bilabial, is_open_vowel

NEAR_CLOSED, WIDE = 0.2, 0.5  # shares of the opening's range
PAUSE_SECONDS = 0.3


@dataclass
class LipsyncScore:
    closure_rate: float
    open_vowel_rate: float
    silence_rate: float
    offset_frames: int
    upper_face_ssim: float | None
    frames: int

    def passes(self) -> bool:
        return self.closure_rate >= 0.7 and self.open_vowel_rate >= 0.7 and self.silence_rate >= 0.8 and abs(self.offset_frames) <= 1

    def to_dict(self) -> dict:
        return asdict(self)


def read_frames(video: Path, size: int = 360) -> tuple[np.ndarray, float]:
    """Decoded RGB frames (scaled so the longer side is ``size``) and the frame rate."""
    return decode_video(video, max_side=size)


def mouth_openings(frames: np.ndarray) -> tuple[np.ndarray, list[np.ndarray | None]]:
    """Inner-lip gap over face height (forehead to chin) per frame; NaN where no face is found."""
    faces = list(track(frames))
    values = [np.linalg.norm(p[INNER_TOP] - p[INNER_BOTTOM]) / np.linalg.norm(p[FOREHEAD] - p[CHIN]) if p is not None else np.nan for p in faces]
    return np.array(values), faces


def _rates(opening: np.ndarray, units: list[Unit], pauses: list[tuple[float, float]], fps: float, lag: int) -> tuple[float, float, float]:
    valid = opening[~np.isnan(opening)]
    low, high = np.percentile(valid, 2), np.percentile(valid, 98)
    norm = np.clip((opening - low) / max(high - low, 1e-6), 0, 1)
    n = len(norm)

    def at(i: int) -> float:
        i = i + lag
        return norm[i] if 0 <= i < n and not np.isnan(norm[i]) else np.nan

    closures, opens = [], []
    for unit in units:
        if is_bilabial(unit.unit):
            onset = int(round(unit.start * fps))
            window = [at(i) for i in range(onset - 1, onset + 2)]
            closures.append(np.nanmin(window) < NEAR_CLOSED if not np.all(np.isnan(window)) else False)
        elif is_open_vowel(unit.unit):
            span = [at(i) for i in range(int(unit.start * fps), int(np.ceil(unit.end * fps)) + 1)]
            opens.append(np.nanmax(span) > WIDE if not np.all(np.isnan(span)) else False)
    silent = []
    for start, end in pauses:
        for i in range(int(np.ceil(start * fps)), int(end * fps)):
            value = at(i)
            if not np.isnan(value):
                silent.append(value < NEAR_CLOSED)
    mean = lambda xs: float(np.mean(xs)) if xs else 1.0
    return mean(closures), mean(opens), mean(silent)


def pauses_of(narration: Narration, duration: float) -> list[tuple[float, float]]:
    """Stretches longer than 0.3 s with no phoneme but 'sil' in them."""
    spans = sorted((u.start, u.end) for u in narration.units() if u.unit != "sil")
    gaps, last = [], 0.0
    for start, end in spans + [(duration, duration)]:
        if start - last > PAUSE_SECONDS:
            gaps.append((last + 0.04, start - 0.04))  # a frame's grace at each edge
        last = max(last, end)
    return gaps


def score(video: Path, narration: Narration, portrait_crop: np.ndarray | None = None) -> LipsyncScore:
    frames, fps = read_frames(video)
    opening, faces = mouth_openings(frames)
    units = narration.units()
    pauses = pauses_of(narration, len(frames) / fps)
    best = max(range(-5, 6), key=lambda lag: (sum(_rates(opening, units, pauses, fps, lag)[:2]), -abs(lag)))
    closure, open_vowel, silence = _rates(opening, units, pauses, fps, 0)
    return LipsyncScore(round(closure, 3), round(open_vowel, 3), round(silence, 3), best, upper_face_ssim(frames, faces, portrait_crop), len(frames))


def align(frame: np.ndarray, face: np.ndarray, reference_face: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``frame`` warped so its face lies on ``reference_face`` (similarity from the landmarks above the mouth): head motion removed."""
    import cv2

    rigid = reference_face[:, 1] < reference_face[NOSE_TIP, 1]
    matrix, _ = cv2.estimateAffinePartial2D(face[rigid], reference_face[rigid])
    return cv2.warpAffine(frame, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def upper_face_ssim(frames: np.ndarray, faces: list[np.ndarray | None], portrait: np.ndarray | None, samples: int = 9) -> float | None:
    """Structural similarity of the eyes-and-forehead band to the portrait, head motion aligned away: identity kept, nothing torn.

    The median over ``samples`` frames spread through the video.
    """
    if portrait is None:
        return None
    import cv2
    from skimage.metrics import structural_similarity

    from core.face import face_landmarks

    height, width = frames.shape[1:3]
    reference = cv2.resize(portrait, (width, height), interpolation=cv2.INTER_AREA)
    found = face_landmarks(reference, max_faces=1)
    if not found:
        return None
    ref = found[0]
    top, nose = int(ref[FOREHEAD, 1]), int(ref[NOSE_TIP, 1])
    left, right = int(ref[:, 0].min()), int(ref[:, 0].max())
    b = cv2.cvtColor(reference[top:nose, left:right], cv2.COLOR_RGB2GRAY)
    values = []
    for i in np.linspace(0, len(frames) - 1, samples).astype(int):
        face = faces[i]
        if face is None:
            continue
        aligned = align(frames[i], face, ref, (width, height))
        a = cv2.cvtColor(aligned[top:nose, left:right], cv2.COLOR_RGB2GRAY)
        values.append(structural_similarity(a, b))
    return round(float(np.median(values)), 3) if values else None
