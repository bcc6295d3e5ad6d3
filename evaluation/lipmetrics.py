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
from core.media.ffmpeg import decode_video
from engines.lipsync.face import CHIN, FOREHEAD, INNER_BOTTOM, INNER_TOP, LOWER_INNER, MOUTH_LEFT, MOUTH_RIGHT, NOSE_TIP, UPPER_INNER, cheek_luminance, luminance, track
from engines.lipsync.visemes import is_bilabial, is_open_vowel, shape

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
    opening_range: float = 0.0  # inner-lip gap over face height, p95 - p5: how far the mouth really opens
    round_spread_width: float | None = None  # mouth width on rounded vowels over width on spread ones (below 1: the lips purse)
    teeth_share: float | None = None  # of inner-mouth pixels in frames more than half open, those brighter than 0.9 x the cheek
    teeth_band_difference: float | None = None  # mean |luminance| difference of the upper-teeth band to the portrait's own, 0..255

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


def closure_during(video: Path, spans: list[tuple[float, float]]) -> float:
    """The share of frames inside ``spans`` (a frame's grace at each edge) whose mouth is near closed, as the pause measure reads it:
    1.0 when the presenter never moves their lips while a soundbite plays."""
    frames, fps = read_frames(video)
    opening, _ = mouth_openings(frames)
    return round(_rates(opening, [], [(start + 0.04, end - 0.04) for start, end in spans], fps, 0)[2], 3)


def soundbite_spans(narration: Narration) -> list[tuple[float, float]]:
    """Where narration.wav plays the episode's own voices."""
    return [(s.start, s.end or s.start) for s in narration.sentences if s.kind == "soundbite"]


def score(video: Path, narration: Narration, portrait_crop: np.ndarray | None = None) -> LipsyncScore:
    frames, fps = read_frames(video)
    opening, faces = mouth_openings(frames)
    units = narration.units()
    pauses = pauses_of(narration, len(frames) / fps)
    best = max(range(-5, 6), key=lambda lag: (sum(_rates(opening, units, pauses, fps, lag)[:2]), -abs(lag)))
    closure, open_vowel, silence = _rates(opening, units, pauses, fps, 0)
    valid = opening[~np.isnan(opening)]
    wide = [i for i, v in enumerate(opening) if not np.isnan(v) and v > np.percentile(valid, 50) + 0.5 * (valid.max() - np.percentile(valid, 50))]
    return LipsyncScore(
        round(closure, 3), round(open_vowel, 3), round(silence, 3), best, upper_face_ssim(frames, faces, portrait_crop), len(frames),
        opening_range=round(float(np.percentile(valid, 95) - np.percentile(valid, 5)), 4) if len(valid) else 0.0,
        round_spread_width=round_spread_width(faces, units, fps),
        teeth_share=teeth_share(frames, faces, wide),
        teeth_band_difference=teeth_band_difference(frames, faces, wide, portrait_crop),
    )


def inner_mouth(face: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    import cv2

    mask = np.zeros(shape, np.uint8)
    cv2.fillPoly(mask, [np.concatenate([face[UPPER_INNER], face[LOWER_INNER][::-1]]).astype(np.int32)], (1,))
    return mask.astype(bool)


def round_spread_width(faces: list[np.ndarray | None], units: list[Unit], fps: float) -> float | None:
    """Mouth width (corner to corner, over face height) in the middle of rounded vowels, over the same on spread vowels."""
    widths: dict[str, list[float]] = {"round": [], "spread": []}
    for unit in units:
        _, spread, rounding, _ = shape(unit.unit)
        kind = "round" if rounding >= 1 else "spread" if spread >= 1 else None
        middle = int((unit.start + unit.end) / 2 * fps)
        if kind and middle < len(faces) and (face := faces[middle]) is not None:
            widths[kind].append(float(np.linalg.norm(face[MOUTH_LEFT] - face[MOUTH_RIGHT]) / np.linalg.norm(face[FOREHEAD] - face[CHIN])))
    return round(float(np.mean(widths["round"]) / np.mean(widths["spread"])), 3) if widths["round"] and widths["spread"] else None


def teeth_share(frames: np.ndarray, faces: list[np.ndarray | None], wide: list[int]) -> float | None:
    """Share of inner-mouth pixels brighter than 0.9 x the cheek's median luminance, over the frames ``wide`` open."""
    bright, total = 0, 0
    for i in wide:
        face = faces[i]
        if face is None:
            continue
        inside = inner_mouth(face, frames[i].shape[:2])
        bright += int((luminance(frames[i])[inside] > 0.9 * cheek_luminance(frames[i], face)).sum())
        total += int(inside.sum())
    return round(bright / total, 3) if total else None


def teeth_band_difference(frames: np.ndarray, faces: list[np.ndarray | None], wide: list[int], portrait: np.ndarray | None) -> float | None:
    """For a portrait that shows its teeth: how far the upper-teeth band of the open frames (aligned to the portrait) is from its own."""
    framed = _framed(portrait, frames) if wide else None
    if framed is None:
        return None
    reference, ref = framed
    height, width = frames.shape[1:3]
    inside = inner_mouth(ref, (height, width))
    if not inside.any() or (luminance(reference)[inside] > 0.9 * cheek_luminance(reference, ref)).mean() < 0.3:
        return None  # no teeth to keep
    top = int(ref[INNER_TOP, 1])
    band = inside.copy()
    band[top + max(2, int(0.4 * (ref[INNER_BOTTOM, 1] - ref[INNER_TOP, 1]))) :] = False  # the upper part of the teeth,
    centre, reach = (ref[MOUTH_LEFT, 0] + ref[MOUTH_RIGHT, 0]) / 2, 0.3 * (ref[MOUTH_RIGHT, 0] - ref[MOUTH_LEFT, 0])
    band[:, : int(centre - reach)] = False  # the front teeth: the middle 60 % of the mouth's width
    band[:, int(centre + reach) + 1 :] = False
    differences = []
    for i in wide:
        face = faces[i]
        if face is None:
            continue
        aligned = align(frames[i], face, ref, (width, height), reference)
        differences.append(float(np.abs(luminance(aligned)[band] - luminance(reference)[band]).mean()))
    return round(float(np.median(differences)), 2) if differences else None


def _framed(portrait: np.ndarray | None, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The portrait at the frames' size and its landmarks, or None (no portrait, or no face in it)."""
    if portrait is None:
        return None
    import cv2

    from engines.lipsync.face import face_landmarks

    height, width = frames.shape[1:3]
    reference = cv2.resize(portrait, (width, height), interpolation=cv2.INTER_AREA)
    found = face_landmarks(reference, max_faces=1)
    return (reference, found[0]) if found else None


def align(frame: np.ndarray, face: np.ndarray, reference_face: np.ndarray, size: tuple[int, int], reference: np.ndarray | None = None) -> np.ndarray:
    """``frame`` warped so its face lies on ``reference_face``: head motion removed.

    A similarity from the landmarks above the mouth (eyelids left out: they
    blink), refined on the pixels of ``reference`` when it is given.
    """
    import cv2
    from mediapipe.python.solutions.face_mesh_connections import FACEMESH_LEFT_EYE, FACEMESH_RIGHT_EYE

    rigid = reference_face[:, 1] < reference_face[NOSE_TIP, 1]
    rigid[[i for edge in FACEMESH_LEFT_EYE | FACEMESH_RIGHT_EYE for i in edge]] = False  # eyelids blink: not part of the skull
    rigid[468:] = False  # irises
    matrix, _ = cv2.estimateAffinePartial2D(face[rigid], reference_face[rigid])
    if reference is not None:  # refined on the pixels of the forehead, brows and nose: landmarks jitter by a pixel or two
        top, nose = int(reference_face[FOREHEAD, 1]), int(reference_face[NOSE_TIP, 1])
        mask = np.zeros(reference.shape[:2], np.uint8)
        mask[top:nose, int(reference_face[:, 0].min()) : int(reference_face[:, 0].max())] = 255
        grey = lambda image: cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
        start = cv2.invertAffineTransform(matrix).astype(np.float32)
        try:
            _, refined = cv2.findTransformECC(grey(reference), grey(frame), start, cv2.MOTION_EUCLIDEAN, (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 50, 1e-4), mask, 3)
            return cv2.warpAffine(frame, refined, size, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE)
        except cv2.error:
            pass
    return cv2.warpAffine(frame, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def upper_face_ssim(frames: np.ndarray, faces: list[np.ndarray | None], portrait: np.ndarray | None, samples: int = 9) -> float | None:
    """Structural similarity of the eyes-and-forehead band to the portrait, head motion aligned away: identity kept, nothing torn.

    The median over ``samples`` frames spread through the video.
    """
    framed = _framed(portrait, frames)
    if framed is None:
        return None
    import cv2
    from skimage.metrics import structural_similarity

    reference, ref = framed
    height, width = frames.shape[1:3]
    top, nose = int(ref[FOREHEAD, 1]), int(ref[NOSE_TIP, 1])
    left, right = int(ref[:, 0].min()), int(ref[:, 0].max())
    b = cv2.cvtColor(reference[top:nose, left:right], cv2.COLOR_RGB2GRAY)
    values = []
    for i in np.linspace(0, len(frames) - 1, samples).astype(int):
        face = faces[i]
        if face is None:
            continue
        aligned = align(frames[i], face, ref, (width, height), reference)
        a = cv2.cvtColor(aligned[top:nose, left:right], cv2.COLOR_RGB2GRAY)
        values.append(structural_similarity(a, b))
    return round(float(np.median(values)), 3) if values else None
