"""The portrait's animator: every frame a warp of the portrait, with a mouth, blinks and head motion.

Lips are warped, never painted: the jaw, the lower lip and the lower teeth
drop below a seam between the lips, and the lips spread or purse around their
centre. Only the opening the jaw made is drawn: a cavity shaded from the
portrait's own lip line, soft-edged along curved contours, with the portrait's
own upper teeth above it where it shows them (drawn teeth, no brighter than its
eyes' whites, where it does not) and a tongue; the lower teeth stay behind the
lower lip. Eyelids
blink; the head sways, nods and breathes. Everything is a function of the
inputs and a seed: same inputs, same frames.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .face import CHIN, EYE_OPENINGS, EYES, FOREHEAD, JAW_LEFT, JAW_RIGHT, LOWER_INNER, LOWER_OUTER, MOUTH_LEFT, MOUTH_RIGHT, UPPER_INNER, UPPER_OUTER, cheek_luminance, luminance


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0, 1)
    return x * x * (3 - 2 * x)


class Animator:
    """Renders frames of one portrait for given mouth shapes, blinks and head motion."""

    def __init__(self, crop: np.ndarray, face: np.ndarray, fps: int, seed: int) -> None:
        import cv2

        self.cv2 = cv2
        self.base, self.face, self.fps = crop, face, fps
        self.size = crop.shape[0]
        self.face_height = face[CHIN, 1] - face[FOREHEAD, 1]
        self.max_open = 0.085 * self.face_height  # the widest opening (a stressed, loud open vowel): about 14 mm on an adult face
        self.feather = max(2.0, 0.012 * self.face_height)  # the cavity's soft edge, in pixels
        self.rng_phase = np.random.default_rng(seed).uniform(0, 2 * np.pi, 6)
        self._prepare_mouth()
        self._prepare_teeth()
        self._prepare_jaw()
        self._prepare_eyes()

    def _prepare_mouth(self) -> None:
        """The moving region and its weights: the jaw (below the lips' seam) drops, the lips spread or purse around their centre."""
        f = self.face
        upper, lower = f[UPPER_INNER], f[LOWER_INNER]
        self.upper_lip, self.lower_lip = upper, lower
        left, right = float(f[MOUTH_LEFT, 0]), float(f[MOUTH_RIGHT, 0])
        self.cx, self.half = (left + right) / 2, (right - left) / 2
        mouth_y = float((upper[5, 1] + lower[5, 1]) / 2)
        chin = float(f[CHIN, 1])
        jaw_half = float((f[JAW_RIGHT, 0] - f[JAW_LEFT, 0]) / 2)
        x0, x1 = int(max(0, self.cx - jaw_half * 1.6)), int(min(self.size, self.cx + jaw_half * 1.6))
        y0, y1 = int(max(0, mouth_y - self.face_height * 0.2)), int(min(self.size, chin + self.face_height * 0.45))
        self.box = (x0, y0, x1, y1)
        ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        columns = np.arange(x0, x1, dtype=np.float32)
        # the seam between what stays with the skull (upper lip, upper teeth) and what the jaw carries: midway between the inner lips
        middle = (upper[:, 1] + lower[:, 1]) / 2
        order = np.argsort(upper[:, 0])
        self.seam = self._curve(upper[order, 0], middle[order], columns)
        self._jaw = (mouth_y, chin, jaw_half)
        # lips spread and purse: strongest on the lips, fading over the cheeks and towards the nose and chin
        lip_top, lip_bottom = float(f[UPPER_OUTER][:, 1].min()), float(f[LOWER_OUTER][:, 1].max())
        centre_y, reach_y = (lip_top + lip_bottom) / 2, (lip_bottom - lip_top) * 1.4
        # smooth (super-Gaussian) falloffs, flat over the lips' height: an outline beside the mouth shifts evenly there, so it stays straight
        self.lip_field = (np.exp(-(((xs - self.cx) / (self.half * 1.5)) ** 4)) * np.exp(-(((ys - centre_y) / (reach_y * 1.6)) ** 4))).astype(np.float32)
        self.grid = (xs, ys)
        self.columns = columns

    def _prepare_jaw(self) -> None:
        """How far each pixel moves with the jaw: all of it below the seam, fading out below the chin and towards the cheeks.

        The portrait's own upper teeth belong to the skull: the lips spread and
        purse over them, but they neither drop nor change width.
        """
        mouth_y, chin, jaw_half = self._jaw
        xs, ys = self.grid
        if self.own_teeth:
            top = np.interp(xs[0], *self._sorted(self.upper_lip))[None, :]
            teeth = _smoothstep(ys - top + 1.0) * (1 - _smoothstep(ys - self.seam[None, :] + 1.0)) * (np.abs(xs - self.cx) < self.half)
            self.lip_field *= 1 - self.cv2.GaussianBlur(teeth.astype(np.float32), (0, 0), max(2.0, 0.15 * self.half))  # a soft hold: a sharp one folds the corners into streaks
        below = ys - self.seam[None, :]
        soft = 3.0 + 1.5 * np.clip(np.abs(xs - self.cx) - self.half * 0.9, 0, None)  # sharp between the lips, a smooth stretch over the cheeks
        vertical = _smoothstep((below + soft / 3) / soft) * (1 - _smoothstep((ys - chin) / (self.face_height * 0.4)))
        # the lower lip drops as an arc (most in the middle, nothing at the corners), the chin below it with the whole jaw
        lip_profile = lambda x: 1 - _smoothstep((np.abs(x - self.cx) - 0.3 * self.half) / (0.75 * self.half))
        depth = _smoothstep(below / max(1.0, chin - mouth_y))  # the skin stretches evenly from the lips' corners down to the chin
        width = jaw_half * 0.9
        jaw_profile = 1 - _smoothstep((np.abs(xs - self.cx) - width * 0.35) / (width * 1.2))  # the chin moves with the jaw, fading out to its line
        horizontal = lip_profile(xs) + np.maximum(jaw_profile - lip_profile(xs), 0) * depth
        self.jaw_weight = (vertical * horizontal).astype(np.float32)
        self.below = below.astype(np.float32)
        self.seam_floor = np.broadcast_to(self.seam[None, :], xs.shape).astype(np.float32)
        self.lip_shift = ((xs - self.cx) * self.lip_field).astype(np.float32)
        self.lip_weight = lip_profile(self.columns).astype(np.float32)  # how far the lower lip drops, column by column

    def _incisal_edge(self, luminance: np.ndarray, cheek: float) -> None:
        """Where the portrait's own upper teeth end, column by column: the seam moves there, so the jaw never carries the upper teeth.

        Below the upper lip, where the column starts bright (teeth), the edge is
        the steepest fall of light before the lower lip: enamel to the cavity's
        shadow, or to the lower lip when the teeth fill the gap.
        """
        edge = self.seam.copy()
        tops = np.interp(self.columns, *self._sorted(self.upper_lip))
        bottoms = np.interp(self.columns, *self._sorted(self.lower_lip))
        for k, (x, top, bottom) in enumerate(zip(self.columns, tops, bottoms)):
            rows = np.arange(int(np.ceil(top)), int(bottom) + 3)
            if len(rows) < 5 or not (0 <= int(x) < luminance.shape[1]) or rows[-1] + 1 >= luminance.shape[0]:
                continue
            profile = luminance[rows, int(x)]
            if (profile[: max(1, len(profile) // 3)] > 0.9 * cheek).mean() > 0.5:  # teeth hang from the upper lip here
                fall = profile[:-2] - profile[2:]
                first = len(profile) // 3
                edge[k] = rows[first + int(np.argmax(fall[first:]))] + 1
        width = max(3, int(self.half * 0.4) | 1)
        padded = np.pad(edge, width // 2, mode="edge")
        median = np.array([np.median(padded[i : i + width]) for i in range(len(edge))], np.float32)
        teeth = np.abs(self.columns - self.cx) < 0.8 * self.half  # the row of teeth as one smooth arch: the cavity's edge is a curve
        self.seam = self._curve(self.columns[teeth], median[teeth], self.columns) if teeth.sum() > 5 else median

    @staticmethod
    def _curve(x: np.ndarray, y: np.ndarray, columns: np.ndarray) -> np.ndarray:
        """A lip contour through its landmarks as a smooth curve (a least-squares quartic between the corners, level beyond): no polygon's kinks."""
        scale = max(1.0, float(x[-1] - x[0]) / 2)
        centre = float(x[0] + x[-1]) / 2
        fit = np.polyfit((x - centre) / scale, y, min(4, len(x) - 1))
        return np.polyval(fit, np.clip((columns - centre) / scale, -1, 1)).astype(np.float32)

    @staticmethod
    def _sorted(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        order = np.argsort(points[:, 0])
        return points[order, 0], points[order, 1]

    def _prepare_teeth(self) -> None:
        """The colours the opening is shaded from, all the portrait's own.

        The lip line (the darkest pixels between the lips, or inside a mouth
        that shows its teeth) shades the cavity; the lips' own colour the
        tongue; the teeth the portrait shows (kept in place), or else the eyes'
        whites, a little yellower and never brighter, for drawn teeth.
        """
        cv2 = self.cv2
        polygon = np.concatenate([self.upper_lip, self.lower_lip[::-1]]).astype(np.int32)
        inside = np.zeros(self.base.shape[:2], np.uint8)
        cv2.fillPoly(inside, [polygon], 1)
        pixels = self.base[inside.astype(bool)].astype(np.float32)
        lumas = luminance(pixels) if len(pixels) else np.zeros(0, np.float32)
        cheek = cheek_luminance(self.base, self.face)
        gap = float(self.lower_lip[5, 1] - self.upper_lip[5, 1]) / self.face_height
        bright = lumas > 0.9 * cheek
        self.own_teeth = gap > 0.02 and len(lumas) > 20 and bright.mean() > 0.3
        lips = np.zeros(self.base.shape[:2], np.uint8)
        cv2.fillPoly(lips, [np.concatenate([self.face[UPPER_OUTER], self.face[LOWER_OUTER][::-1]]).astype(np.int32)], 1)
        lips[inside.astype(bool)] = 0
        lip_pixels = self.base[lips.astype(bool)].astype(np.float32)
        self.lip_colour = np.median(lip_pixels, axis=0) if len(lip_pixels) else np.array([150, 80, 80], np.float32)
        # the lip line: the darkest fifth of the pixels on the seam (closed lips) or inside the mouth (teeth showing), middle 70 % of the width
        near = np.abs(self.columns - self.cx) < 0.7 * self.half
        if self.own_teeth:
            line = pixels[lumas <= np.percentile(lumas, 20)] if len(pixels) else np.zeros((0, 3), np.float32)
        else:
            rows = np.round(self.seam[near]).astype(int)
            cols = (self.columns[near]).astype(int)
            line = np.concatenate([self.base[np.clip(rows + d, 0, self.size - 1), np.clip(cols, 0, self.size - 1)] for d in (-1, 0, 1)]).astype(np.float32)
            line = line[luminance(line) <= np.percentile(luminance(line), 20)] if len(line) else line
        dark = np.median(line, axis=0) if len(line) else self.lip_colour * 0.35
        self.lip_line = np.minimum(dark, self.lip_colour * 0.6)  # never lighter than a lip in shadow
        whites = []
        for opening in EYE_OPENINGS:  # the brightest tenth of each eye's opening: the whites where the light falls
            mask = np.zeros(self.base.shape[:2], np.uint8)
            cv2.fillPoly(mask, [self.face[opening].astype(np.int32)], 1)
            eye = self.base[mask.astype(bool)].astype(np.float32)
            if len(eye) >= 10:
                whites.append(eye[luminance(eye) >= np.percentile(luminance(eye), 90)])
        self.sclera = np.median(np.concatenate(whites), axis=0) if whites else np.array([200, 195, 185], np.float32)
        if self.own_teeth:
            self.teeth_colour = np.median(pixels[bright], axis=0)
            self._incisal_edge(luminance(self.base), cheek)
        else:  # the eyes' whites, a shade darker and yellower: enamel lit like this face, never brighter than its eyes
            self.teeth_colour = np.clip(self.sclera * np.array([0.93, 0.9, 0.8], np.float32), 0, 255)

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

    def render(self, mouth: float | Sequence[float], blink: float, t: float) -> np.ndarray:
        """One frame (YUV 4:2:0, see ``finish``): ``mouth`` is the jaw opening, or (jaw, spread, rounding, tongue) from ``visemes.openings``."""
        return self.finish(self.draw(mouth), blink, t)

    def draw(self, mouth: float | Sequence[float]) -> np.ndarray:
        """The portrait (RGB) with its mouth in the given shape, before blinks and head motion."""
        jaw, spread, rounding, tongue = (float(mouth), 0.0, 0.0, 0.0) if np.ndim(mouth) == 0 else (list(map(float, mouth)) + [0.0] * 4)[:4]  # type: ignore[arg-type]
        frame = self.base
        drop = jaw * self.max_open
        scale = 1 + 0.1 * spread - 0.35 * rounding  # mouth width: drawn back, or pursed
        if drop > 0.3 or abs(scale - 1) > 0.01:
            frame = self.base.copy()
            x0, y0, x1, y1 = self.box
            xs, ys = self.grid
            map_x = xs + (1 / scale - 1) * self.lip_shift  # each pixel drawn from nearer to (or further from) the mouth's centre
            map_y = ys - drop * self.jaw_weight
            if drop > 0.3:  # what opens below the seam is drawn from the seam's own dark line, never from the skin above the upper lip
                lips = np.interp(self.cx + (self.columns - self.cx) / scale, self.columns, self.lip_weight)  # the lower lip's drop where it now is
                opened = (self.below > 0) & (self.below < (drop * lips)[None, :] + 1)
                np.maximum(map_y, self.seam_floor, out=map_y, where=opened)
            frame[y0:y1, x0:x1] = self.cv2.remap(self.base, map_x, map_y, self.cv2.INTER_LINEAR, borderMode=self.cv2.BORDER_REPLICATE)
            if drop > 0.3:
                self._paint_cavity(frame, drop, scale, tongue)
        return frame

    def finish(self, frame: np.ndarray, blink: float, t: float) -> np.ndarray:
        """Blink and head motion over an RGB frame whose mouth is already drawn (by this animator or by Wav2Lip).

        Returns the YUV 4:2:0 frame the encoder takes (``core.media.ffmpeg.encode_video``).
        """
        cv2 = self.cv2
        if blink > 0.02:
            frame = frame.copy()  # the caller's frame (a Wav2Lip frame may be shown again) is left as it was
            for (bx0, by0, bx1, by1), xs, ys, shift in self.eyes:
                frame[by0:by1, bx0:bx1] = cv2.remap(frame, xs, ys + blink * shift, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        moved = cv2.warpAffine(frame, self.motion(t), (self.size, self.size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        return cv2.cvtColor(moved, cv2.COLOR_RGB2YUV_I420)

    def _paint_cavity(self, frame: np.ndarray, drop: float, scale: float, tongue: float) -> None:
        """The opening between the lips, shaded: the cavity, upper teeth (the portrait's own, or drawn), the tongue, a glimpse of lower teeth.

        Nothing is painted over the lips or over teeth the portrait shows: only
        the band the jaw opened, between the seam and the lower lip's moved
        edge, with a soft edge that fades inwards from those contours (curves
        through the landmarks, never polygons). The cavity takes the portrait's
        own lip-line colour, darker to the back and the corners.
        """
        x0, y0, x1, y1 = self.box
        columns = self.columns
        source_x = self.cx + (columns - self.cx) / scale  # the lips' columns after spreading or pursing
        top = self.seam if self.own_teeth else np.interp(source_x, columns, self.seam)  # own teeth keep their place
        weight = np.interp(source_x, columns, self.lip_weight)
        bottom = top + drop * weight
        visible = drop * weight > 0.5
        if not visible.any():
            return
        left, right = int(np.argmax(visible)), int(len(visible) - np.argmax(visible[::-1]))
        top, bottom = top[left:right].astype(np.float32), bottom[left:right].astype(np.float32)  # float32 throughout: half the memory traffic
        span = np.maximum(bottom - top, 1e-3)
        row0, row1 = int(np.floor(top.min())), int(np.ceil(bottom.max())) + 1
        yy = np.arange(row0, row1, dtype=np.float32)[:, None]
        feather = min(self.feather, float(span.max()) / 2)
        under_teeth = 0.6 if self.own_teeth else 1.0  # the portrait's own enamel meets the dark more softly than a lip does
        inside = np.minimum((yy - top[None, :]) * under_teeth, bottom[None, :] - yy)
        alpha = _smoothstep(inside / feather) * np.minimum(1.0, span / (2 * feather))[None, :]  # fades to nothing on the contours: the lips stay the portrait's
        across = np.abs(columns[left:right] - self.cx) / max(1.0, self.half * scale)
        depth = np.clip((yy - top[None, :]) / span[None, :], 0, 1)
        back = np.exp(-(inside.clip(0) / max(2.0, 0.015 * self.face_height)))  # lit just inside the lips, darker to the back of the mouth
        light = (0.4 + 0.6 * back) * (1 - 0.35 * _smoothstep(across * 1.3 - 0.3))[None, :]
        colour = self.lip_line[None, None, :] * light[..., None]
        if tongue > 0.05:  # the tongue: a rounded mound rising from the floor of the mouth, the lips' colour in shadow
            crest = bottom - span * (0.12 + 0.18 * tongue) * (1 - (across / 0.7) ** 2).clip(0)
            body = _smoothstep((yy - crest[None, :]) / 2.0) * tongue * 0.7
            shade = (0.3 + 0.15 * (1 - depth))[..., None]
            colour = colour * (1 - body[..., None]) + self.lip_colour[None, None, :] * shade * body[..., None]
        if not self.own_teeth:  # drawn upper teeth, hanging from the upper lip, in its shadow, receding towards the corners
            height = np.minimum(self.face_height * 0.05, span * 0.6)
            unit = self.half * scale / 3.4
            offset = (columns[left:right] - self.cx) / unit
            within = np.abs(offset) - np.floor(np.abs(offset))  # 0..1 across one tooth
            edge = height * (1 - 0.1 * (2 * within - 1) ** 4) * (1 - 0.2 * across**2)  # incisal edges: barely rounded, shorter to the sides
            teeth = _smoothstep((top[None, :] + edge[None, :] - yy) / 2.5) * _smoothstep((0.85 - across) / 0.25)[None, :]
            gaps = 1 - 0.08 * np.exp(-(np.minimum(within, 1 - within) * unit) ** 2 / 0.6)  # gaps barely visible
            shadow = 0.6 + 0.4 * _smoothstep((yy - top[None, :]) / np.maximum(0.6 * edge[None, :], 1.0))  # the upper lip's shadow at the gum
            enamel = self.teeth_colour[None, None, :] * (shadow * gaps[None, :] * (1 - 0.45 * _smoothstep(across * 1.2 - 0.15))[None, :])[..., None]
            colour = colour * (1 - teeth[..., None]) + enamel * teeth[..., None]
        jaw = drop / self.max_open  # lower teeth: hidden behind the lower lip, a shadowed edge only on the widest openings
        if jaw > 0.7:
            lower = _smoothstep((yy - (bottom[None, :] - 0.12 * span[None, :])) / 1.5) * _smoothstep((jaw - 0.7) / 0.3) * (1 - _smoothstep(across * 1.4 - 0.3))[None, :] * 0.8
            colour = colour * (1 - lower[..., None]) + (self.teeth_colour * 0.6)[None, None, :] * lower[..., None]
        region = frame[row0:row1, x0 + left : x0 + right].astype(np.float32)
        alpha = alpha[: len(region), :, None]
        frame[row0:row1, x0 + left : x0 + right] = np.clip(region * (1 - alpha) + colour[: len(region)] * alpha, 0, 255).astype(np.uint8)


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
