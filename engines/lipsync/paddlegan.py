"""paddlegan: PaddleGAN's Wav2Lip predictor (the 'paddle' extra) with a local checkpoint; blinks and head motion added after.

The face box comes from the landmarks, so its S3FD detector (a download) is
never used. The predictor writes ./temp and shells out to ffmpeg with
unquoted paths, so it runs in a temporary folder on plain file names.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np
from pydantic import Field

from core.errors import EngineError, EngineUnavailable
from core.media.ffmpeg import decode_video, encode_video, resample, write_wav
from core.registry import Check, EngineSettings, Remote, Weight
from core.weights.packaged import installed
from core.weights.pull import upstream_table

from .base import LipSync, Scene
from .face import CHIN, FOREHEAD


def presenter_speech(audio: np.ndarray, rate: int, narration) -> np.ndarray:
    """The narration as Wav2Lip should hear it: silence where a soundbite plays, since it moves the lips to any voice and
    the presenter listens while someone else speaks."""
    speech = audio.copy()
    for sentence in narration.sentences:
        if sentence.kind == "soundbite":
            speech[int(sentence.start * rate) : int((sentence.end or sentence.start) * rate)] = 0
    return speech


def _wav2lip_files() -> list[Remote]:
    url = upstream_table("ppgan", "apps/wav2lip_predictor.py", "WAV2LIP_WEIGHT_URL", "'make paddle' builds .venv-paddle with PaddleGAN")
    return [Remote("wav2lip_hq.pdparams", url)]  # ppgan publishes no checksum for it


WAV2LIP = Weight(
    "paddlegan:wav2lip_hq", "paddlegan", 140, "Wav2Lip: non-commercial (LRS2 data)", "ppgan's WAV2LIP_WEIGHT_URL (no checksum upstream)",
    files=_wav2lip_files, non_commercial=True,
)


class PaddleGANSettings(EngineSettings):
    checkpoint: Path | None = Field(None, description="Wav2Lip weights (wav2lip_hq.pdparams); unset: the pulled paddlegan:wav2lip_hq.")
    batch: int = Field(16, ge=1, description="Frames per Wav2Lip batch (memory against speed).")


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
        raise EngineUnavailable("PaddleGAN (ppgan) is not installed.", "Build the paddle environment: 'make paddle', then run from .venv-paddle.") from error
    root = Path(ppgan.__file__).parent
    for name in ("ppgan.apps", "ppgan.models", "ppgan.models.generators"):
        if name not in sys.modules:
            folder = root.joinpath(*name.split(".")[1:])
            spec = importlib.util.spec_from_file_location(name, folder / "__init__.py", submodule_search_locations=[str(folder)])
            assert spec is not None
            sys.modules[name] = importlib.util.module_from_spec(spec)
    from ppgan.apps.wav2lip_predictor import Wav2LipPredictor
    from ppgan.utils import audio

    if audio._mel_basis is None:  # ppgan passes librosa positional arguments that librosa >= 0.10 refuses
        import librosa

        config = audio.audio_config
        audio._mel_basis = librosa.filters.mel(sr=config.sample_rate, n_fft=config.n_fft, n_mels=config.num_mels, fmin=config.fmin, fmax=config.fmax)
    return Wav2LipPredictor


class PaddleGANWav2Lip(LipSync, name="paddlegan", summary="PaddleGAN Wav2Lip from a local wav2lip_hq.pdparams (non-commercial weights)", settings=PaddleGANSettings):
    _cwd_lock = threading.Lock()
    weights = (WAV2LIP,)

    @classmethod
    def needs(cls, section):
        return [] if section.options(cls.name).checkpoint else [WAV2LIP]

    def render(self, portrait, narration_wav, narration, out, size, on_frames=None):
        options: PaddleGANSettings = self.options
        checkpoint = Path(options.checkpoint).expanduser() if options.checkpoint else None
        if checkpoint is None and WAV2LIP.installed(self.context.cache_dir):
            checkpoint = WAV2LIP.folder(self.context.cache_dir) / "wav2lip_hq.pdparams"
        if checkpoint is None or not checkpoint.is_file():
            where = f"at {checkpoint}" if checkpoint else "(PRESENTER_LIPSYNC__PADDLEGAN__CHECKPOINT is not set)"
            raise EngineError(
                f"The paddlegan engine needs its Wav2Lip weights, wav2lip_hq.pdparams, {where}; nothing is downloaded at run time.",
                f"Run '{WAV2LIP.command()}' (non-commercial license), or set PRESENTER_LIPSYNC__PADDLEGAN__CHECKPOINT "
                "to a wav2lip_hq.pdparams you have, or use PRESENTER_LIPSYNC__ENGINE=embedded.",
            )
        predictor_class = wav2lip_predictor()
        import cv2

        scene = Scene.prepare(portrait, narration_wav, narration, size, self.section.fps)
        with tempfile.TemporaryDirectory(prefix="wav2lip-") as work:
            folder = Path(work)
            cv2.imwrite(str(folder / "face.png"), scene.crop[..., ::-1])
            write_wav(folder / "speech.wav", resample(presenter_speech(scene.audio, scene.rate, narration), scene.rate, 16_000), 16_000)
            with self._cwd_lock:
                previous = os.getcwd()
                os.chdir(folder)
                try:
                    predictor = predictor_class(checkpoint_path=str(checkpoint), fps=scene.fps, box=wav2lip_box(scene.landmarks, size), wav2lip_batch_size=options.batch)
                    predictor.run("face.png", "speech.wav", "result.mp4")
                finally:
                    os.chdir(previous)
            if not (folder / "result.mp4").is_file():
                raise EngineError("PaddleGAN's Wav2Lip wrote no video.", "Run with PRESENTER_LIPSYNC__ENGINE=embedded, or check the paddle environment ('make test-paddle').")
            spoken, _ = decode_video(folder / "result.mp4", max_side=size)
        frames = scene.stream(lambda i: scene.animator.finish(spoken[min(i, len(spoken) - 1)], float(scene.eyelids[i]), i / scene.fps), on_frames)
        encode_video(frames, out, size, scene.fps, narration_wav, self.section.crf)
        return scene.record(out.parent, self.name, None)

    @classmethod
    def check(cls, section, context) -> Check:
        if not installed("ppgan"):
            return Check("optional", "'make paddle' builds .venv-paddle with PaddleGAN; then 'presenter weights pull paddlegan:wav2lip_hq'")
        checkpoint = section.options(cls.name).checkpoint
        if checkpoint is None:
            pulled = WAV2LIP.installed(context.cache_dir)
            return Check("ok" if pulled else "missing", f"{WAV2LIP.name} pulled" if pulled else f"run '{WAV2LIP.command()}' or set PRESENTER_LIPSYNC__PADDLEGAN__CHECKPOINT")
        ok = Path(checkpoint).expanduser().is_file()
        return Check("ok" if ok else "missing", f"Wav2Lip weights {checkpoint}" if ok else f"{checkpoint} does not exist")
