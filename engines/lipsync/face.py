"""Face landmarks: mediapipe's face mesh (478 points, models bundled in mediapipe 0.10.21), set up in one place."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from core.logs import native_output_quieted

# mediapipe face-mesh landmark indices
UPPER_INNER = [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308]
LOWER_INNER = [78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308]
UPPER_OUTER = [61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291]
LOWER_OUTER = [61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291]
FOREHEAD, CHIN, NOSE_TIP, MOUTH_LEFT, MOUTH_RIGHT = 10, 152, 1, 61, 291
INNER_TOP, INNER_BOTTOM = 13, 14
JAW_LEFT, JAW_RIGHT = 172, 397
EYES = [(33, 133, 159, 145), (362, 263, 386, 374)]  # corner, corner, upper lid, lower lid
EYE_OPENINGS = [  # the lids' margins around each eye (mediapipe's eye contours), in order around the opening
    [33, 246, 161, 160, 159, 158, 157, 173, 133, 155, 154, 153, 145, 144, 163, 7],
    [362, 398, 384, 385, 386, 387, 388, 466, 263, 249, 390, 373, 374, 380, 381, 382],
]


def _mesh(static: bool, max_faces: int):
    import mediapipe as mp

    return mp.solutions.face_mesh.FaceMesh(static_image_mode=static, max_num_faces=max_faces, refine_landmarks=True)


def _points(face, width: int, height: int) -> np.ndarray:
    return np.array([(p.x * width, p.y * height) for p in face.landmark], np.float32)


def face_landmarks(image: np.ndarray, max_faces: int = 5) -> list[np.ndarray]:
    """All faces in an RGB image as (478, 2) pixel landmarks, largest first."""
    with native_output_quieted(), _mesh(True, max_faces) as mesh:  # absl warnings at set-up and first use
        found = mesh.process(np.ascontiguousarray(image))
    if not found.multi_face_landmarks:
        return []
    height, width = image.shape[:2]
    faces = [_points(face, width, height) for face in found.multi_face_landmarks]
    return sorted(faces, key=lambda f: -np.ptp(f[:, 1]) * np.ptp(f[:, 0]))


def track(frames: Iterable[np.ndarray]) -> Iterator[np.ndarray | None]:
    """Landmarks of the one face in each frame of a video (None where none is found)."""
    with native_output_quieted():
        mesh = _mesh(False, 1)
    with mesh:
        for frame in frames:
            found = mesh.process(np.ascontiguousarray(frame))
            yield _points(found.multi_face_landmarks[0], frame.shape[1], frame.shape[0]) if found.multi_face_landmarks else None


def face_height(face: np.ndarray) -> float:
    return float(np.linalg.norm(face[FOREHEAD] - face[CHIN]))


def luminance(image: np.ndarray) -> np.ndarray:
    """Rec. 601 luma of RGB pixels, 0-255 as float32."""
    return image.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)


def cheek_luminance(image: np.ndarray, face: np.ndarray) -> float:
    """The cheek's median luma beside the mouth: what "bright as teeth" is measured against (lit skin, never the lips)."""
    height = face_height(face)
    x, y = int((face[MOUTH_LEFT, 0] + face[JAW_LEFT, 0]) / 2), int(face[MOUTH_LEFT, 1] - 0.08 * height)
    r = max(2, int(0.03 * height))
    patch = image[max(0, y - r) : y + r, max(0, x - r) : x + r]
    return float(np.median(luminance(patch))) if patch.size else 128.0

