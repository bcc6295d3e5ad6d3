"""What a viewer sees of the animated mouth, measured: used by tests/test_lipsync*.py and bench/lipsync.py.

evaluation/lipmetrics.py scores the video against the narration (closures,
open vowels, lag); these measures judge the picture and the amplitude:

- the opening's distribution (inner-lip gap over face height, per frame);
- the share of frames in pauses of 120 ms or more with the mouth at rest;
- drawn teeth against the portrait's eye whites (luminance);
- the sharpness of the cavity's edge against the portrait's own lip line;
- how straight a straight outline beside the mouth stays under the warp.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.artifacts import Narration
from engines.lipsync.face import CHIN, FOREHEAD, INNER_BOTTOM, INNER_TOP, LOWER_INNER, MOUTH_LEFT, MOUTH_RIGHT, UPPER_INNER, face_landmarks, luminance
from evaluation.lipmetrics import inner_mouth

PAUSE = 0.12  # seconds: a gap between phonemes this long must show the mouth at rest
REST_TOLERANCE = 0.012  # of face height: how far above its rest gap a mouth still counts as closed


def gap_of(face: np.ndarray) -> float:
    """Inner-lip gap over face height (forehead to chin), lipmetrics' opening."""
    return float(np.linalg.norm(face[INNER_TOP] - face[INNER_BOTTOM]) / np.linalg.norm(face[FOREHEAD] - face[CHIN]))


def distribution(opening: np.ndarray) -> dict[str, float]:
    """Median, p90 and p95 of the per-frame opening (over face height), frames without a face left out."""
    valid = opening[~np.isnan(opening)]
    return {name: round(float(np.percentile(valid, q)), 4) for name, q in (("median", 50), ("p90", 90), ("p95", 95))}


def pauses(narration: Narration, duration: float, shortest: float = PAUSE) -> list[tuple[float, float]]:
    """Gaps of ``shortest`` seconds or more with no phoneme but 'sil' in them (the narration's start and end included)."""
    spans = sorted((u.start, u.end) for u in narration.units() if u.unit.strip() and u.unit != "sil")
    gaps, last = [], 0.0
    for start, end in [*spans, (duration, duration)]:
        if start - last >= shortest:
            gaps.append((last, start))
        last = max(last, end)
    return gaps


def silence_closure(opening: np.ndarray, narration: Narration, fps: float, rest: float, lag: int = 0) -> float:
    """Share of frames inside pauses of 120 ms or more (a 40 ms grace at each edge) whose gap is within REST_TOLERANCE of ``rest``."""
    closed = []
    for start, end in pauses(narration, len(opening) / fps):
        for i in range(int(np.ceil((start + 0.04) * fps - 0.5)), int(np.floor((end - 0.04) * fps - 0.5)) + 1):
            j = i + lag
            if 0 <= j < len(opening) and not np.isnan(opening[j]):
                closed.append(opening[j] <= rest + REST_TOLERANCE)
    return round(float(np.mean(closed)), 3) if closed else 1.0


def eye_white_luminance(image: np.ndarray, face: np.ndarray) -> float:
    """The eyes' whites where the light falls: the median luma of the brightest tenth of the pixels inside mediapipe's eye contours."""
    import cv2
    from mediapipe.python.solutions.face_mesh_connections import FACEMESH_LEFT_EYE, FACEMESH_RIGHT_EYE

    values = []
    for edges in (FACEMESH_LEFT_EYE, FACEMESH_RIGHT_EYE):
        hull = cv2.convexHull(face[sorted({i for edge in edges for i in edge})].astype(np.float32)).astype(np.int32)
        mask = np.zeros(image.shape[:2], np.uint8)
        cv2.fillPoly(mask, [hull], (1,))
        lumas = luminance(image)[mask.astype(bool)]
        values.append(lumas[lumas >= np.percentile(lumas, 90)])
    return float(np.median(np.concatenate(values)))


def mouth_brightest(image: np.ndarray, face: np.ndarray) -> float:
    """The 95th percentile of luma inside the open mouth: the teeth, where any show."""
    return float(np.percentile(luminance(image)[inner_mouth(face, image.shape[:2])], 95))


def _across(image: np.ndarray, points: np.ndarray, reach: int) -> np.ndarray:
    """Per contour point, the largest vertical luma step within ``reach`` pixels above or below it (a Sobel derivative, 3x3)."""
    import cv2

    grey = luminance(image)
    dy = np.abs(cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3)) / 8  # luma per pixel
    out = []
    for x, y in points:
        column = dy[max(0, int(round(y)) - reach) : int(round(y)) + reach + 1, int(round(x))]
        out.append(float(column.max()) if column.size else 0.0)
    return np.array(out)


def middle(points: np.ndarray) -> np.ndarray:
    """The middle five of a lip contour's eleven points: the opening's edges, away from the corners."""
    return points[3:8]


def lip_line_sharpness(portrait: np.ndarray, face: np.ndarray) -> float:
    """The portrait's own lip line: median of the largest vertical luma step along its inner-lip contour (both lips, middle part)."""
    reach = max(2, int(0.01 * (face[CHIN, 1] - face[FOREHEAD, 1])))
    return float(np.median(_across(portrait, np.concatenate([middle(face[UPPER_INNER]), middle(face[LOWER_INNER])]), reach)))


def cavity_edge_sharpness(frame: np.ndarray, face: np.ndarray) -> float:
    """The same across the open mouth's drawn edges (the cavity against the lower lip, the teeth or cavity under the upper lip)."""
    return lip_line_sharpness(frame, face)


def straightness(image: np.ndarray, rows: tuple[int, int], near: float) -> float:
    """How far the dark vertical line nearest x = ``near`` strays from a straight line over ``rows``: max residual in pixels."""
    y0, y1 = rows
    xs = []
    ys = np.arange(y0, y1)
    for y in ys:
        profile = 255.0 - luminance(image[y, int(near) - 12 : int(near) + 13])
        weight = np.clip(profile - 64, 0, None)
        xs.append(int(near) - 12 + float((weight * np.arange(len(weight))).sum() / max(weight.sum(), 1e-6)))
    fit = np.polyfit(ys, xs, 1)
    return float(np.abs(np.array(xs) - np.polyval(fit, ys)).max())


@dataclass
class Rendered:
    """One portrait's mouth, rendered in place (no head motion) for measuring: frame and its landmarks found again."""

    frame: np.ndarray
    face: np.ndarray | None


def landmarks_of(frame: np.ndarray) -> np.ndarray | None:
    found = face_landmarks(frame, max_faces=1)
    return found[0] if found else None


def mouth_width(face: np.ndarray) -> float:
    return float(np.linalg.norm(face[MOUTH_LEFT] - face[MOUTH_RIGHT]))
