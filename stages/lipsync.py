"""lipsync: one portrait photo and narration.wav become lipsync.mp4, a talking head.

The embedded animator finds the face with mediapipe's bundled face mesh, then
renders every frame as a warp of the portrait: the jaw and lower lip drop by an
opening taken from the narration's phoneme timings (lips shut on b/p/m, open
widest on open vowels, closed in pauses), scaled a little by loudness; a mouth
interior with teeth is painted into the gap; eyelids blink; the head sways and
breathes. Everything is a function of the inputs and a seed: same inputs, same
video. Phoneme-less narrations (espeak, openai-tts) fall back to loudness.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Protocol

import numpy as np

from presenter.errors import EngineError, PresenterError
from presenter.media import read_wav, require_tool, resample, write_wav
from presenter.settings import LipsyncSettings, Settings
from presenter.workspace import atomic_path

OnProgress = Callable[[int, int], None]
"""Called with frames done and frames in all."""

# mediapipe face-mesh landmark indices
UPPER_INNER = [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308]
LOWER_INNER = [78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308]
FOREHEAD, CHIN, MOUTH_LEFT, MOUTH_RIGHT = 10, 152, 61, 291
JAW_LEFT, JAW_RIGHT = 172, 397
EYES = [(33, 133, 159, 145), (362, 263, 386, 374)]  # corner, corner, upper lid, lower lid

OPEN, MID, CLOSE, SHUT = 1.0, 0.55, 0.3, 0.0
MIN_FACE_PX = 96  # face height (forehead to chin) below which the portrait is upscaled
MAX_UPSCALE = 3.0


class PortraitError(PresenterError):
    """The portrait cannot be animated: unreadable, no face, or a face too small."""


# --- visemes ---------------------------------------------------------------------------------

_BILABIAL = {"b", "p", "m"}
_LABIODENTAL = {"f", "v"}


def viseme(unit: str) -> float:
    """Mouth opening (0 shut .. 1 wide) for one pinyin initial/final or IPA phoneme."""
    symbol = unit.strip("ˈˌːˑ").lower().rstrip("012345")
    if not symbol or symbol == "sil":
        return SHUT
    if symbol in _BILABIAL:
        return SHUT
    if symbol in _LABIODENTAL:
        return 0.15
    if symbol[0] in "aɑæʌɐ" or (len(symbol) > 1 and symbol[0] in "iuvwy" and "a" in symbol):
        return OPEN  # a, ai, ao, an, ang, ia, ua, uan...; ɑ, æ, aɪ, aʊ, ʌ
    if symbol[0] in "eɛəɜoɔɚ" or symbol in ("er", "uo", "ie", "ve", "ou", "ei", "ong"):
        return MID
    if symbol[0] in "iɪuʊyv":
        return CLOSE
    return 0.3  # other consonants: the neighbouring vowel shapes the mouth


def is_bilabial(unit: str) -> bool:
    return unit.strip("ˈˌːˑ").lower() in _BILABIAL


def is_open_vowel(unit: str) -> bool:
    return viseme(unit) == OPEN


def openings(narration: dict, audio: np.ndarray, rate: int, fps: int, frames: int) -> np.ndarray:
    """Per-frame mouth opening from the phoneme timeline, blended with loudness; 0 in pauses."""
    loud = _loudness(audio, rate, fps, frames)
    units = [u for s in narration["sentences"] for u in s.get("units", [])]
    if not units:  # voices without timings: loudness alone (weaker: no closures on b/p/m)
        return np.clip(loud * 1.2, 0, 1) * (loud > 0.08)
    times = (np.arange(frames) + 0.5) / fps
    target = np.zeros(frames, np.float32)
    starts = np.array([u["start"] for u in units])
    index = np.searchsorted(starts, times, side="right") - 1
    for i, (t, k) in enumerate(zip(times, index)):
        if k >= 0 and units[k]["start"] <= t < units[k]["end"]:
            target[i] = viseme(units[k]["unit"])
    smooth = np.convolve(np.pad(target, 1, mode="edge"), [0.25, 0.5, 0.25], mode="valid")  # coarticulation
    smooth *= 0.75 + 0.25 * loud
    for unit in units:
        first = int(unit["start"] * fps)
        last = max(first, int(np.ceil(unit["end"] * fps)) - 1)
        if is_bilabial(unit["unit"]):  # shut from the onset frame: never late on b/p/m
            smooth[first : last + 1] = 0.0
        elif is_open_vowel(unit["unit"]):
            middle = min(frames - 1, int((unit["start"] + unit["end"]) / 2 * fps))
            smooth[middle] = max(smooth[middle], OPEN * (0.85 + 0.15 * loud[middle]))
    spoken = np.zeros(frames, bool)
    for unit in units:
        if unit["unit"] != "sil":
            spoken[int(unit["start"] * fps) : int(np.ceil(unit["end"] * fps))] = True
    return np.where(spoken, np.clip(smooth, 0, 1), 0.0).astype(np.float32)


def _loudness(audio: np.ndarray, rate: int, fps: int, frames: int) -> np.ndarray:
    hop = rate / fps
    rms = np.array([np.sqrt(np.mean(audio[int(i * hop) : int((i + 1) * hop)] ** 2) + 1e-12) for i in range(frames)])
    reference = np.percentile(rms, 95) if len(rms) else 1.0
    return np.clip(rms / (reference + 1e-9), 0, 1).astype(np.float32)


# --- portrait --------------------------------------------------------------------------------


def face_landmarks(image: np.ndarray, max_faces: int = 5) -> list[np.ndarray]:
    """All faces in an RGB image as (478, 2) pixel landmarks, largest first."""
    import mediapipe as mp

    with mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=max_faces, refine_landmarks=True) as mesh:
        found = mesh.process(np.ascontiguousarray(image))
    if not found.multi_face_landmarks:
        return []
    height, width = image.shape[:2]
    faces = [np.array([(p.x * width, p.y * height) for p in face.landmark], np.float32) for face in found.multi_face_landmarks]
    return sorted(faces, key=lambda f: -np.ptp(f[:, 1]) * np.ptp(f[:, 0]))


def load_portrait(path: Path, warn: Callable[[str], None] = print) -> tuple[np.ndarray, np.ndarray]:
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
        warn(f"{len(faces)} faces in {path}; animating the largest.")
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


# --- rendering -------------------------------------------------------------------------------


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
        matrix[:, 2] += (dx, dy)
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


# --- engines ---------------------------------------------------------------------------------


class LipsyncEngine(Protocol):
    name: str

    def render(self, portrait: Path, narration: Path, timings: dict, out: Path, size: int, options: LipsyncSettings, on_progress: OnProgress | None) -> None:
        """Write ``out``: an MP4 of the portrait speaking the narration (video and the narration's audio)."""


def seed_of(*paths: Path) -> int:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(Path(path).read_bytes())
    return int.from_bytes(digest.digest()[:4], "little")


@dataclass
class Scene:
    """What every engine starts from: the narration, the framed portrait, its animator and the blinks."""

    audio: np.ndarray
    rate: int
    fps: int
    frames: int
    crop: np.ndarray
    landmarks: np.ndarray
    animator: Animator
    eyelids: np.ndarray

    @classmethod
    def prepare(cls, portrait: Path, narration: Path, size: int, fps: int) -> "Scene":
        audio, rate = read_wav(narration)
        frames = int(np.ceil(len(audio) / rate * fps))
        image, face = load_portrait(portrait)
        crop, landmarks = frame_portrait(image, face, size)
        seed = seed_of(portrait, narration)
        return cls(audio, rate, fps, frames, crop, landmarks, Animator(crop, landmarks, fps, seed), blinks(frames, fps, seed))

    def stream(self, make_frame: Callable[[int], np.ndarray], on_progress: OnProgress | None) -> Iterable[np.ndarray]:
        """Frames 0..n-1 from ``make_frame``, reporting progress about once a second of video."""
        for i in range(self.frames):
            yield make_frame(i)
            if on_progress and (i % self.fps == 0 or i == self.frames - 1):
                on_progress(i + 1, self.frames)


class EmbeddedAnimator:
    name = "embedded"

    def render(self, portrait, narration, timings, out, size, options, on_progress=None) -> None:
        scene = Scene.prepare(portrait, narration, size, options.fps)
        mouth = openings(timings, scene.audio, scene.rate, scene.fps, scene.frames)
        frames = scene.stream(lambda i: scene.animator.render(float(mouth[i]), float(scene.eyelids[i]), i / scene.fps), on_progress)
        encode(frames, out, size, scene.fps, narration, options.crf)
        write_openings(out.with_suffix(".json"), mouth, scene.eyelids, scene.fps, self.name)


def write_openings(path: Path, mouth: np.ndarray | None, eyelids: np.ndarray, fps: int, engine: str) -> None:
    """Per-frame animation record; ``mouth`` is None when a model drew the mouth."""
    from presenter.workspace import write_json

    write_json(path, {
        "engine": engine, "fps": fps, "frames": len(eyelids),
        "mouth": None if mouth is None else [round(float(v), 3) for v in mouth], "blink": [round(float(v), 3) for v in eyelids],
    })


def encode(frames: Iterable[np.ndarray], out: Path, size: int, fps: int, audio: Path, crf: int) -> Path:
    """Pipe raw RGB frames to ffmpeg (H.264) and mux the narration (AAC); ``out`` appears only on success."""
    with atomic_path(out) as tmp:
        command = [
            require_tool("ffmpeg"), "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{size}x{size}",
            "-r", str(fps), "-i", "pipe:0", "-i", str(audio), "-map", "0:v", "-map", "1:a",
            "-c:v", "libx264", "-preset", "veryfast", "-crf", str(crf), "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k",
            "-f", "mp4", str(tmp),
        ]
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            for frame in frames:
                process.stdin.write(frame.tobytes())
        except BrokenPipeError:
            pass  # ffmpeg stopped; its message is read below
        finally:
            process.stdin.close()
        error = process.stderr.read().decode(errors="replace")
        if process.wait() != 0:
            raise EngineError(f"ffmpeg could not encode {Path(out).name}: {error.strip()[-400:]}", "Check that ffmpeg has libx264 and AAC (Debian's ffmpeg does).")
    return Path(out)


class PaddleGANWav2Lip:
    """PaddleGAN's Wav2Lip predictor (the 'paddle' extra) with a local checkpoint; blinks and head motion added after.

    The face box comes from the landmarks, so its S3FD detector (a download) is
    never used. The predictor writes ./temp and shells out to ffmpeg with
    unquoted paths, so it runs in a temporary folder on plain file names.
    """

    name = "paddlegan"
    _cwd_lock = threading.Lock()

    def render(self, portrait, narration, timings, out, size, options, on_progress=None) -> None:
        checkpoint = Path(options.paddlegan_checkpoint).expanduser() if options.paddlegan_checkpoint else None
        if checkpoint is None or not checkpoint.is_file():
            where = f"at {checkpoint}" if checkpoint else "(PRESENTER_LIPSYNC__PADDLEGAN_CHECKPOINT is not set)"
            raise EngineError(
                f"The paddlegan engine needs its Wav2Lip weights, wav2lip_hq.pdparams, {where}; nothing is downloaded at run time.",
                "Get wav2lip_hq.pdparams from PaddleGAN's model zoo on a connected machine (non-commercial license) and set "
                "PRESENTER_LIPSYNC__PADDLEGAN_CHECKPOINT to it, or use PRESENTER_LIPSYNC__ENGINE=embedded.",
            )
        predictor_class = wav2lip_predictor()
        import cv2

        scene = Scene.prepare(portrait, narration, size, options.fps)
        with tempfile.TemporaryDirectory(prefix="wav2lip-") as work:
            work = Path(work)
            cv2.imwrite(str(work / "face.png"), scene.crop[..., ::-1])
            write_wav(work / "speech.wav", resample(scene.audio, scene.rate, 16_000), 16_000)
            with self._cwd_lock:
                previous = os.getcwd()
                os.chdir(work)
                try:
                    predictor_class(checkpoint_path=str(checkpoint), fps=scene.fps, box=wav2lip_box(scene.landmarks, size), wav2lip_batch_size=options.paddlegan_batch).run("face.png", "speech.wav", "result.mp4")
                finally:
                    os.chdir(previous)
            if not (work / "result.mp4").is_file():
                raise EngineError("PaddleGAN's Wav2Lip wrote no video.", "Run with PRESENTER_LIPSYNC__ENGINE=embedded, or check the paddle environment ('make test-paddle').")
            spoken = decode_frames(work / "result.mp4", size)
        frames = scene.stream(lambda i: scene.animator.finish(spoken[min(i, len(spoken) - 1)], float(scene.eyelids[i]), i / scene.fps), on_progress)
        encode(frames, out, size, scene.fps, narration, options.crf)
        write_openings(out.with_suffix(".json"), None, scene.eyelids, scene.fps, self.name)


def wav2lip_box(face: np.ndarray, size: int) -> list[int]:
    """[y1, y2, x1, x2] as Wav2Lip's detector would give it: brows to just below the chin."""
    x1, x2 = int(face[:, 0].min()), int(np.ceil(face[:, 0].max()))
    y1 = int(face[:, 1].min())
    y2 = int(np.ceil(face[CHIN, 1] + 0.04 * (face[CHIN, 1] - face[FOREHEAD, 1])))
    return [max(0, y1), min(size, y2), max(0, x1), min(size, x2)]


def wav2lip_predictor():
    """Wav2LipPredictor without running ppgan's package __init__ files, which import modules broken on current Paddle."""
    try:
        import ppgan
    except ImportError as error:
        raise EngineError("PaddleGAN (ppgan) is not installed.", "Build the paddle environment: 'make paddle', then run from .venv-paddle.") from error
    root = Path(ppgan.__file__).parent
    for name in ("ppgan.apps", "ppgan.models", "ppgan.models.generators"):
        if name not in sys.modules:
            folder = root.joinpath(*name.split(".")[1:])
            spec = importlib.util.spec_from_file_location(name, folder / "__init__.py", submodule_search_locations=[str(folder)])
            sys.modules[name] = importlib.util.module_from_spec(spec)
    from ppgan.apps.wav2lip_predictor import Wav2LipPredictor
    from ppgan.utils import audio

    if audio._mel_basis is None:  # ppgan passes librosa positional arguments that librosa >= 0.10 refuses
        import librosa

        config = audio.audio_config
        audio._mel_basis = librosa.filters.mel(sr=config.sample_rate, n_fft=config.n_fft, n_mels=config.num_mels, fmin=config.fmin, fmax=config.fmax)
    return Wav2LipPredictor


def decode_frames(video: Path, size: int) -> np.ndarray:
    raw = subprocess.run(
        [require_tool("ffmpeg"), "-v", "error", "-i", str(video), "-vf", f"scale={size}:{size}", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        capture_output=True, check=True,
    ).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, size, size, 3)


def make_engine(name: str) -> LipsyncEngine:
    if name == "embedded":
        return EmbeddedAnimator()
    if name == "paddlegan":
        return PaddleGANWav2Lip()
    raise ValueError(f"unknown lip-sync engine {name!r}")


def default_portrait() -> Path:
    return Path(__file__).resolve().parents[1] / "assets" / "portrait" / "astronaut.png"


def lipsync(narration_wav: Path, narration_json: Path, folder: Path, settings: Settings, on_progress: OnProgress | None = None) -> list[Path]:
    """Write lipsync.mp4 (talking portrait with the narration) and lipsync.json (per-frame mouth and blink)."""
    options = settings.lipsync
    portrait = Path(options.portrait).expanduser() if options.portrait else default_portrait()
    if not portrait.is_file():
        raise PortraitError(f"The portrait {portrait} does not exist.", "Set PRESENTER_LIPSYNC__PORTRAIT (or --portrait) to a photo of one face.")
    timings = json.loads(Path(narration_json).read_text(encoding="utf-8"))
    out = Path(folder) / "lipsync.mp4"
    make_engine(options.engine).render(portrait, Path(narration_wav), timings, out, settings.compose.height, options, on_progress)
    return [out, out.with_suffix(".json")]
