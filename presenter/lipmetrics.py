"""Lip-sync measured on the output video against the narration's phonetic timing.

Loudness alone is a poor guide to a talking mouth (lips close on b/p/m while
the sound is loud), so the video is scored on what the phonemes demand: the
inner-lip opening per frame (mediapipe face mesh, normalised by face height)
must be near-closed at bilabial onsets and in pauses, and wide on open vowels.
Used by the tests and by bench/lipsync.py.
"""

from __future__ import annotations

import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

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
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height,r_frame_rate", "-of", "csv=p=0", str(video)],
        capture_output=True, text=True, check=True,
    ).stdout.strip().split(",")
    width, height = int(probe[0]), int(probe[1])
    num, den = probe[2].split("/")
    scale = size / max(width, height)
    w, h = int(width * scale) // 2 * 2, int(height * scale) // 2 * 2
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(video), "-vf", f"scale={w}:{h}", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, h, w, 3), float(num) / float(den)


def mouth_openings(frames: np.ndarray) -> tuple[np.ndarray, list[np.ndarray | None]]:
    """Inner-lip gap (landmarks 13-14) over face height (10-152) per frame; NaN where no face is found."""
    import mediapipe as mp

    values, faces = [], []
    with mp.solutions.face_mesh.FaceMesh(static_image_mode=False, max_num_faces=1, refine_landmarks=True) as mesh:
        for frame in frames:
            found = mesh.process(frame)
            if not found.multi_face_landmarks:
                values.append(np.nan)
                faces.append(None)
                continue
            p = np.array([(q.x * frame.shape[1], q.y * frame.shape[0]) for q in found.multi_face_landmarks[0].landmark])
            values.append(np.linalg.norm(p[13] - p[14]) / np.linalg.norm(p[10] - p[152]))
            faces.append(p)
    return np.array(values), faces


def _rates(opening: np.ndarray, units: list[dict], pauses: list[tuple[float, float]], fps: float, lag: int) -> tuple[float, float, float]:
    from stages.lipsync import is_bilabial, is_open_vowel

    valid = opening[~np.isnan(opening)]
    low, high = np.percentile(valid, 2), np.percentile(valid, 98)
    norm = np.clip((opening - low) / max(high - low, 1e-6), 0, 1)
    n = len(norm)

    def at(i: int) -> float:
        i = i + lag
        return norm[i] if 0 <= i < n and not np.isnan(norm[i]) else np.nan

    closures, opens = [], []
    for unit in units:
        if is_bilabial(unit["unit"]):
            onset = int(round(unit["start"] * fps))
            window = [at(i) for i in range(onset - 1, onset + 2)]
            closures.append(np.nanmin(window) < NEAR_CLOSED if not np.all(np.isnan(window)) else False)
        elif is_open_vowel(unit["unit"]):
            span = [at(i) for i in range(int(unit["start"] * fps), int(np.ceil(unit["end"] * fps)) + 1)]
            opens.append(np.nanmax(span) > WIDE if not np.all(np.isnan(span)) else False)
    silent = []
    for start, end in pauses:
        for i in range(int(np.ceil(start * fps)), int(end * fps)):
            value = at(i)
            if not np.isnan(value):
                silent.append(value < NEAR_CLOSED)
    mean = lambda xs: float(np.mean(xs)) if xs else 1.0  # noqa: E731
    return mean(closures), mean(opens), mean(silent)


def pauses_of(narration: dict, duration: float) -> list[tuple[float, float]]:
    """Stretches longer than 0.3 s with no phoneme but 'sil' in them."""
    spans = sorted((u["start"], u["end"]) for s in narration["sentences"] for u in s["units"] if u["unit"] != "sil")
    gaps, last = [], 0.0
    for start, end in spans + [(duration, duration)]:
        if start - last > PAUSE_SECONDS:
            gaps.append((last + 0.04, start - 0.04))  # a frame's grace at each edge
        last = max(last, end)
    return gaps


def score(video: Path, narration: dict, portrait_crop: np.ndarray | None = None) -> LipsyncScore:
    frames, fps = read_frames(video)
    opening, faces = mouth_openings(frames)
    units = [u for s in narration["sentences"] for u in s["units"]]
    pauses = pauses_of(narration, len(frames) / fps)
    best = max(range(-5, 6), key=lambda lag: (sum(_rates(opening, units, pauses, fps, lag)[:2]), -abs(lag)))
    closure, open_vowel, silence = _rates(opening, units, pauses, fps, 0)
    return LipsyncScore(round(closure, 3), round(open_vowel, 3), round(silence, 3), best, _upper_face_ssim(frames[0], faces[0], portrait_crop), len(frames))


def _upper_face_ssim(frame: np.ndarray, face: np.ndarray | None, portrait: np.ndarray | None) -> float | None:
    """Structural similarity of the eyes-and-forehead band between the first frame and the portrait: identity kept."""
    if portrait is None or face is None:
        return None
    import cv2
    from skimage.metrics import structural_similarity

    reference = cv2.resize(portrait, (frame.shape[1], frame.shape[0]), interpolation=cv2.INTER_AREA)
    top, nose = int(face[10, 1]), int(face[1, 1])
    left, right = int(face[:, 0].min()), int(face[:, 0].max())
    a = cv2.cvtColor(frame[top:nose, left:right], cv2.COLOR_RGB2GRAY)
    b = cv2.cvtColor(reference[top:nose, left:right], cv2.COLOR_RGB2GRAY)
    return round(float(structural_similarity(a, b)), 3)
