"""The presenter's portrait: any image Pillow reads, EXIF-upright, its largest face found and framed."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from core.errors import PresenterError

from .face import CHIN, FOREHEAD, face_landmarks

MIN_FACE_PX = 96  # face height (forehead to chin) below which the portrait is upscaled
MAX_UPSCALE = 3.0
log = logging.getLogger(__name__)


class PortraitError(PresenterError):
    """The portrait cannot be animated: unreadable, no face, or a face too small."""


def default_portrait() -> Path:
    return Path(__file__).resolve().parents[2] / "assets" / "portrait" / "astronaut.png"


def load_portrait(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """The portrait (RGB, EXIF rotation applied, upscaled if the face is small) and its largest face's landmarks."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(path) as opened:
            image = np.asarray(ImageOps.exif_transpose(opened).convert("RGB"))
    except (UnidentifiedImageError, OSError) as error:
        raise PortraitError(f"The portrait {path} is not a readable image ({error}).", "Use a JPEG, PNG or WebP photo of one face.") from error
    faces = face_landmarks(image)
    if not faces:
        raise PortraitError(f"No face found in the portrait {path}.", "Use a front-facing photo where the face is clearly visible (PRESENTER_LIPSYNC__PORTRAIT).")
    if len(faces) > 1:
        log.warning("%d faces in %s; animating the largest.", len(faces), path)
    face = faces[0]
    height = face[CHIN, 1] - face[FOREHEAD, 1]
    if height < MIN_FACE_PX:
        scale = MIN_FACE_PX / height
        if scale > MAX_UPSCALE:
            raise PortraitError(f"The face in {path} is only {height:.0f} px tall.", f"Use a photo where the face is at least {MIN_FACE_PX / MAX_UPSCALE:.0f} px tall (better: 200 px or more).")
        import cv2

        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
        face = face * scale
    return image, face


def frame_portrait(image: np.ndarray, face: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """A square head-and-shoulders crop centred on the face, resized to ``size``; landmarks follow."""
    import cv2

    height = face[CHIN, 1] - face[FOREHEAD, 1]
    side = height * 2.4
    cx, cy = face[:, 0].mean(), face[FOREHEAD, 1] + height * 0.55
    x0, y0 = cx - side / 2, cy - side / 2
    scale = size / side
    matrix = np.array([[scale, 0, -x0 * scale], [0, scale, -y0 * scale]], np.float32)
    crop = cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    return crop, (face - [x0, y0]) * scale
