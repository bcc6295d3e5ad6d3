"""PaddleGAN's Wav2Lip for real, offline: the engine runs the real network with randomly initialised weights.

No package ships Wav2Lip weights (and they are licensed for non-commercial use
only), so the test saves a randomly initialised ppgan Wav2Lip (36 M parameters,
the real architecture) as a .pdparams file and points the engine at it. The
mouth it draws is noise; what is tested is the plumbing: the predictor in its
temporary folder, the landmark face box instead of the S3FD download, the mel
front end, then blinks, head motion and encoding. Runs in .venv-paddle.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.paddle
paddle = pytest.importorskip("paddle", reason="the paddle extra lives in .venv-paddle ('make test-paddle')")
pytest.importorskip("ppgan")

from core.media.ffmpeg import probe_media  # noqa: E402
from core.settings import Settings  # noqa: E402
from engines.lipsync.paddlegan import wav2lip_predictor  # noqa: E402
from stages import lipsync as L  # noqa: E402
from stages import narrate as N  # noqa: E402


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    wav2lip_predictor()
    from ppgan.models.generators.wav2lip import Wav2Lip

    paddle.seed(0)
    path = tmp_path_factory.mktemp("wav2lip") / "wav2lip_random.pdparams"
    paddle.save(Wav2Lip().state_dict(), str(path))
    return path


@pytest.fixture(scope="module")
def narration(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("narration")
    (folder / "script.txt").write_text("Hi.", encoding="utf-8")
    settings = Settings()
    N.narrate(folder / "script.txt", folder, settings.narrate, settings.context, language="en")
    return folder


def test_wav2lip_engine_renders_offline_with_a_local_checkpoint(checkpoint, narration, tmp_path):
    weights_cache = Path.home() / ".cache" / "paddle" / "hapi" / "weights"
    before = set(weights_cache.glob("*")) if weights_cache.exists() else set()
    for name in ("narration.wav", "narration.json"):
        (tmp_path / name).write_bytes((narration / name).read_bytes())
    settings = Settings(lipsync={"engine": "paddlegan", "paddlegan": {"checkpoint": checkpoint}})
    L.lipsync(tmp_path / "narration.wav", tmp_path / "narration.json", tmp_path, settings.lipsync, settings.context, size=settings.compose.height)
    record = json.loads((tmp_path / "lipsync.json").read_text())
    duration = json.loads((tmp_path / "narration.json").read_text())["duration"]
    assert record["engine"] == "paddlegan" and record["frames"] == int(-(-duration * 25 // 1))
    info = probe_media(tmp_path / "lipsync.mp4")
    assert sorted(s["codec_type"] for s in info["streams"]) == ["audio", "video"]
    assert abs(float(info["format"]["duration"]) - duration) <= 0.1
    after = set(weights_cache.glob("*")) if weights_cache.exists() else set()
    assert after == before, "no weights were downloaded"



def test_wav2lip_weights_pulled_from_a_mirror_are_used_without_a_checkpoint_setting(checkpoint, narration, server, tmp_path):
    from urllib.parse import urlparse

    from core.settings import WeightsSettings
    from core.weights.pull import pull, upstream_table
    from engines.lipsync.paddlegan import WAV2LIP

    from .support import Route

    url = upstream_table("ppgan", "apps/wav2lip_predictor.py", "WAV2LIP_WEIGHT_URL", "")
    server.routes[urlparse(url).path] = Route(checkpoint.read_bytes())
    cache = tmp_path / "cache"
    pull(WAV2LIP, cache, WeightsSettings(mirror=server.url(""), attempts=1))
    for name in ("narration.wav", "narration.json"):
        (tmp_path / name).write_bytes((narration / name).read_bytes())
    settings = Settings(cache_dir=cache, lipsync={"engine": "paddlegan"})
    L.lipsync(tmp_path / "narration.wav", tmp_path / "narration.json", tmp_path, settings.lipsync, settings.context, size=settings.compose.height)
    assert json.loads((tmp_path / "lipsync.json").read_text())["engine"] == "paddlegan"
