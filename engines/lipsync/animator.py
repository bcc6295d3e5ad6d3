"""The portrait's animator: every frame a warp of the portrait, with a mouth, blinks and head motion.

The jaw and lower lip drop by a per-frame opening; a shaded mouth interior
with teeth and tongue fills the gap; eyelids blink; the head sways, nods and
breathes. Everything is a function of the inputs and a seed: same inputs, same
frames.
"""

from __future__ import annotations

import numpy as np

from core.face import CHIN, EYES, FOREHEAD, JAW_LEFT, JAW_RIGHT, LOWER_INNER, MOUTH_LEFT, MOUTH_RIGHT, UPPER_INNER


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0, 1)
    return x * x * (3 - 2 * x)


class Animator:
    """Renders frames of one portrait for given mouth openings, blinks and head motion."""

    def __init__(self, crop: np.ndarray, face: np.ndarray, fps: int, seed: int) -> None:
        import cv2

        self.cv2 = cv2
        self.base, self.face, self.fps = crop, face, fps
        self.size = crop.shape[0]
        self.face_height = face[CHIN, 1] - face[FOREHEAD, 1]
        self.max_open = 0.085 * self.face_height
        self.rng_phase = np.random.default_rng(seed).uniform(0, 2 * np.pi, 6)
        self._prepare_mouth()
        self._prepare_eyes()

    def _prepare_mouth(self) -> None:
        f = self.face
        upper, lower = f[UPPER_INNER], f[LOWER_INNER]
        self.upper_lip, self.lower_lip = upper, lower
        mouth_y = float((upper[5, 1] + lower[5, 1]) / 2)
        half = float((f[MOUTH_RIGHT, 0] - f[MOUTH_LEFT, 0]) / 2)
        cx = float((f[MOUTH_RIGHT, 0] + f[MOUTH_LEFT, 0]) / 2)
        chin = float(f[CHIN, 1])
        jaw_half = float((f[JAW_RIGHT, 0] - f[JAW_LEFT, 0]) / 2)
        x0, x1 = int(max(0, cx - jaw_half * 1.6)), int(min(self.size, cx + jaw_half * 1.6))
        y0, y1 = int(max(0, mouth_y - self.max_open * 2)), int(min(self.size, chin + self.face_height * 0.45))
        self.box = (x0, y0, x1, y1)
        ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        below = ys - mouth_y
        vertical = _smoothstep((below + 1.0) / 3.0) * (1 - _smoothstep((ys - chin) / (self.face_height * 0.4)))
        depth = np.clip(below / max(1.0, chin - mouth_y), 0, 1)
        width = half * 1.05 + (jaw_half * 0.9 - half) * depth  # the moving region widens from the lips to the jaw
        horizontal = 1 - _smoothstep((np.abs(xs - cx) - width * 0.55) / (width * 0.6))
        self.jaw_weight = (vertical * horizontal).astype(np.float32)
        self.grid = (xs, ys)
        lip_x = lower[:, 0]
        lip_width = half * 1.05
        self.lip_weight = (1 - _smoothstep((np.abs(lip_x - cx) - lip_width * 0.55) / (lip_width * 0.6))).astype(np.float32)

    def _prepare_eyes(self) -> None:
        self.eyes = []
        for left, right, top, bottom in EYES:
            f = self.face
            x0, x1 = sorted((float(f[left, 0]), float(f[right, 0])))
            width = x1 - x0
            y_up, y_low = float(f[top, 1]), float(f[bottom, 1])
            eye_h = max(2.0, y_low - y_up)
            y_top = y_up - eye_h * 1.6
            bx0, bx1 = int(x0 - width * 0.15), int(x1 + width * 0.15) + 1
            by0, by1 = int(y_top) - 1, int(y_low + 2) + 1
            ys, xs = np.mgrid[by0:by1, bx0:bx1].astype(np.float32)
            across = 1 - np.abs((xs - (x0 + x1) / 2) / (width / 2 + 1e-6))
            weight = _smoothstep(across * 1.6) * (ys <= y_low + 1)
            stretched = y_top + (ys - y_top) * (y_up - y_top) / (y_low - y_top)  # lid skin pulled down over the eye
            self.eyes.append(((bx0, by0, bx1, by1), xs, ys, (np.maximum(stretched, y_top) - ys) * weight))

    def motion(self, t: float) -> np.ndarray:
        """Small sway, nod and breathing: sums of slow sines, so the same t gives the same pose."""
        p = self.rng_phase
        angle = 1.1 * np.sin(2 * np.pi * t / 6.3 + p[0]) + 0.5 * np.sin(2 * np.pi * t / 2.9 + p[1])
        dx = 3.0 * np.sin(2 * np.pi * t / 7.1 + p[2]) * self.size / 512
        dy = 2.0 * np.sin(2 * np.pi * t / 4.7 + p[3]) * self.size / 512
        breathe = 1 + 0.004 * np.sin(2 * np.pi * t / 4.2 + p[4])
        pivot = (float(self.face[CHIN, 0]), float(self.face[CHIN, 1] + self.face_height * 0.3))
        matrix = self.cv2.getRotationMatrix2D(pivot, angle, breathe)
        matrix[:, 2] = matrix[:, 2] + np.array([dx, dy])
        return matrix

    def render(self, opening: float, blink: float, t: float) -> np.ndarray:
        frame = self.base.copy()
        drop = opening * self.max_open
        if drop > 0.3:
            x0, y0, x1, y1 = self.box
            xs, ys = self.grid
            frame[y0:y1, x0:x1] = self.cv2.remap(self.base, xs, ys - drop * self.jaw_weight, self.cv2.INTER_LINEAR, borderMode=self.cv2.BORDER_REPLICATE)
            self._paint_mouth(frame, drop)
        return self.finish(frame, blink, t)

    def finish(self, frame: np.ndarray, blink: float, t: float) -> np.ndarray:
        """Blink and head motion over a frame whose mouth is already drawn (by this animator or by Wav2Lip)."""
        cv2 = self.cv2
        frame = frame.copy()
        if blink > 0.02:
            for (bx0, by0, bx1, by1), xs, ys, shift in self.eyes:
                frame[by0:by1, bx0:bx1] = cv2.remap(frame, xs, ys + blink * shift, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        return cv2.warpAffine(frame, self.motion(t), (self.size, self.size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)

    def _paint_mouth(self, frame: np.ndarray, drop: float) -> None:
        cv2 = self.cv2
        lower = self.lower_lip.copy()
        lower[:, 1] += drop * self.lip_weight
        polygon = np.concatenate([self.upper_lip, lower[::-1]])
        x0, y0 = np.floor(polygon.min(0)).astype(int) - 3
        x1, y1 = np.ceil(polygon.max(0)).astype(int) + 4
        x0, y0 = max(x0, 0), max(y0, 0)
        h, w = y1 - y0, x1 - x0
        scale = 4  # draw at 4x and shrink: smooth, anti-aliased edges
        mask = np.zeros((h * scale, w * scale), np.uint8)
        cv2.fillPoly(mask, [np.round((polygon - [x0, y0]) * scale).astype(np.int32)], 255, lineType=cv2.LINE_AA)
        mask = cv2.resize(mask, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) / 255
        mask = cv2.GaussianBlur(mask, (0, 0), 0.6)[..., None]
        rows = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
        interior = np.broadcast_to((np.array([70, 22, 28], np.float32) * (1 - 0.55 * rows)), (h, w, 3)).copy()
        top = np.interp(np.arange(x0, x1), self.upper_lip[:, 0], self.upper_lip[:, 1]) - y0
        teeth_depth = min(drop * 0.38, self.face_height * 0.05)
        yy = np.arange(h, dtype=np.float32)[:, None]
        teeth = _smoothstep((top[None, :] + teeth_depth - yy) / 1.5) * (yy >= top[None, :] - 1)
        depth_in_teeth = np.clip((yy - top[None, :]) / max(teeth_depth, 1.0), 0, 1)  # enamel darkens toward the edge
        enamel = np.array([226, 218, 204], np.float32) * (0.95 - 0.2 * depth_in_teeth[..., None])
        interior = interior * (1 - teeth[..., None]) + enamel * teeth[..., None]
        bottom = np.interp(np.arange(x0, x1), lower[:, 0], lower[:, 1]) - y0
        tongue = _smoothstep((yy - (bottom[None, :] - drop * 0.35)) / 2.0) * _smoothstep(drop / self.max_open * 2 - 0.4)
        interior = interior * (1 - 0.6 * tongue[..., None]) + np.array([150, 62, 70], np.float32) * 0.6 * tongue[..., None]
        corners = np.abs(np.arange(x0, x1, dtype=np.float32) - (polygon[:, 0].min() + polygon[:, 0].max()) / 2) / max(1.0, np.ptp(polygon[:, 0]) / 2)
        interior *= (0.5 + 0.5 * (1 - _smoothstep(corners * 1.1 - 0.35)))[None, :, None]  # the mouth is darker into its corners
        region = frame[y0:y1, x0:x1].astype(np.float32)
        frame[y0:y1, x0:x1] = np.clip(region * (1 - mask) + interior * mask, 0, 255).astype(np.uint8)


def blinks(frames: int, fps: int, seed: int) -> np.ndarray:
    """Eyelid closure per frame: a blink every 2.5-5.5 s, 60 ms down, 100 ms up."""
    rng = np.random.default_rng(seed + 1)
    out = np.zeros(frames, np.float32)
    t = rng.uniform(0.8, 2.5)
    while t * fps < frames:
        for i in range(int(t * fps), min(frames, int((t + 0.2) * fps) + 1)):
            dt = i / fps - t
            out[i] = dt / 0.06 if dt < 0.06 else max(0.0, 1 - (dt - 0.06) / 0.1)
        t += rng.uniform(2.5, 5.5)
    return np.clip(out, 0, 1)
