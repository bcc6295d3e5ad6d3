"""PaddleSpeech for real, offline: the engine loads a tiny FastSpeech2 + HiFiGAN with random weights.

No package ships PaddleSpeech's trained weights and nothing may be downloaded,
so the test builds models of the real architecture with small sizes and random
weights, saves them in PaddleSpeech's own on-disk layout (YAML configs, .pdz
checkpoints, stats .npy, phone map) and runs the engine through its local-path
settings. The audio is noise; what is tested is the plumbing: files, front end
(pypinyin, no G2PW download), acoustic model, vocoder, durations to timings.
Runs in the paddle environment ('make test-paddle', part of CI).
"""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.paddle
paddle = pytest.importorskip("paddle", reason="the paddle extra lives in .venv-paddle ('make test-paddle')")
pytest.importorskip("paddlespeech")

import yaml  # noqa: E402

from core.artifacts import Narration  # noqa: E402
from core.settings import Settings  # noqa: E402
from engines.voice.paddlespeech import PaddleSpeechVoice  # noqa: E402
from stages import narrate as N  # noqa: E402

FS, HOP, MELS = 24_000, 300, 80
AM = {
    "adim": 32, "aheads": 2, "elayers": 1, "eunits": 32, "dlayers": 1, "dunits": 32,
    "postnet_layers": 1, "postnet_chans": 32, "postnet_filts": 5,
    "duration_predictor_layers": 1, "duration_predictor_chans": 32, "duration_predictor_kernel_size": 3,
    "pitch_predictor_layers": 1, "pitch_predictor_chans": 32, "pitch_predictor_kernel_size": 3,
    "energy_predictor_layers": 1, "energy_predictor_chans": 32, "energy_predictor_kernel_size": 3,
}
VOCODER = {
    "in_channels": MELS, "out_channels": 1, "channels": 32, "kernel_size": 7,
    "upsample_scales": [5, 5, 4, 3], "upsample_kernel_sizes": [10, 10, 8, 6],  # 5*5*4*3 = 300 = hop
    "resblock_kernel_sizes": [3], "resblock_dilations": [[1, 3, 5]], "use_additional_convs": False,
}


def phone_set() -> list[str]:
    from paddlespeech.t2s.frontend.generate_lexicon import generate_lexicon

    phones = {p for syllable in generate_lexicon(with_tone=True, with_erhua=True).values() for p in syllable.split()}
    return ["<pad>", "<unk>", *sorted(phones), "sp", "，", "。", "？", "！", "<eos>"]


@pytest.fixture(scope="module")
def model_files(tmp_path_factory):
    from paddlespeech.t2s.models.fastspeech2 import FastSpeech2
    from paddlespeech.t2s.models.hifigan import HiFiGANGenerator

    folder = tmp_path_factory.mktemp("paddlespeech")
    paddle.seed(0)
    phones = phone_set()
    (folder / "phone_id_map.txt").write_text("".join(f"{p} {i}\n" for i, p in enumerate(phones)), encoding="utf-8")
    features = {"fs": FS, "n_fft": 2048, "n_shift": HOP, "win_length": 1200, "n_mels": MELS}
    (folder / "am.yaml").write_text(yaml.safe_dump({**features, "model": AM}))
    (folder / "voc.yaml").write_text(yaml.safe_dump({**features, "generator_params": VOCODER}))
    acoustic = FastSpeech2(idim=len(phones), odim=MELS, **AM)
    weights = acoustic.state_dict()
    # random weights predict durations near zero; a bias of log(6) gives each phone about 5 frames
    bias = next(k for k in weights if k.startswith("duration_predictor") and k.endswith("linear.bias"))
    weights[bias] = paddle.full_like(weights[bias], np.log(6.0))
    paddle.save({"main_params": weights}, str(folder / "am.pdz"))
    paddle.save({"generator_params": HiFiGANGenerator(**VOCODER).state_dict()}, str(folder / "voc.pdz"))
    stats = np.stack([np.zeros(MELS), np.ones(MELS)]).astype(np.float32)
    np.save(folder / "speech_stats.npy", stats)
    np.save(folder / "feats_stats.npy", stats)
    return {
        "am_config": folder / "am.yaml", "am_ckpt": folder / "am.pdz", "am_stat": folder / "speech_stats.npy",
        "phones_dict": folder / "phone_id_map.txt", "voc_config": folder / "voc.yaml", "voc_ckpt": folder / "voc.pdz",
        "voc_stat": folder / "feats_stats.npy",
    }


def test_paddlespeech_engine_runs_offline_from_local_files(model_files, tmp_path, monkeypatch):
    monkeypatch.setenv("PPSPEECH_HOME", str(tmp_path / "no-downloads"))
    settings = Settings(narrate={"engines": ["paddlespeech"], "paddlespeech": model_files})
    (tmp_path / "script.txt").write_text("今天我们聊一聊人工智能。", encoding="utf-8")
    files = N.narrate(tmp_path / "script.txt", tmp_path, settings.narrate, settings.context, language="zh").outputs
    meta = Narration.read(tmp_path).model_dump()
    assert [p.name for p in files] == ["narration.wav", "narration.json"]
    assert meta["engines"] == ["paddlespeech"] and meta["duration"] > 2 * N.EDGE_SILENCE
    units = meta["sentences"][0]["units"]
    assert {"j", "in1", "t", "ian1"} <= {u["unit"] for u in units}, "pinyin initials and finals from the offline front end"
    assert all(a["start"] <= b["start"] for a, b in zip(units, units[1:]))
    assert not [p for p in (tmp_path / "no-downloads").rglob("*") if p.is_file() and p.suffix != ".yaml"], "no model was downloaded"


def test_speed_pitch_and_energy_controls_change_the_audio(model_files):
    voice = lambda settings: PaddleSpeechVoice(settings.narrate, settings.context)
    base = voice(Settings(narrate={"paddlespeech": model_files})).speak("人工智能", "zh")
    slow = voice(Settings(narrate={"speed": 0.5, "paddlespeech": {**model_files, "pitch_shift": 1.0, "energy_scale": 2.0}})).speak("人工智能", "zh")
    assert len(slow.audio) > 1.6 * len(base.audio), "half speed is about twice as long"
    assert slow.units[-1][2] > 1.6 * base.units[-1][2]


def test_english_runs_go_to_the_next_engine(model_files, tmp_path):
    settings = Settings(narrate={"engines": ["paddlespeech", "espeak"], "paddlespeech": model_files})
    (tmp_path / "script.txt").write_text("我们聊聊Google。", encoding="utf-8")
    N.narrate(tmp_path / "script.txt", tmp_path, settings.narrate, settings.context, language="zh")
    runs = Narration.read(tmp_path).model_dump()["sentences"][0]["runs"]
    assert [(r["language"], r["engine"]) for r in runs] == [("zh", "paddlespeech"), ("en", "espeak")]


def test_models_pulled_by_tag_from_a_mirror_fill_the_seven_files(model_files, server, tmp_path, monkeypatch):
    """PaddleSpeech-style zips of the random models on a 127.0.0.1 mirror, at the paths of PaddleSpeech's own table."""
    import fnmatch
    import hashlib
    import zipfile
    from urllib.parse import urlparse

    from core.settings import WeightsSettings
    from core.weights.pull import pull
    from engines.voice import paddlespeech as P

    from .support import Route

    inside = {"fastspeech2_csmsc": ("am_config", "am_ckpt", "am_stat", "phones_dict"), "hifigan_csmsc": ("voc_config", "voc_ckpt", "voc_stat")}
    keys = {"am_config": "config", "am_ckpt": "ckpt", "am_stat": "speech_stats", "phones_dict": "phones_dict", "voc_config": "config", "voc_ckpt": "ckpt", "voc_stat": "speech_stats"}
    served = {}
    for tag, settings_names in inside.items():
        entry = P.table_entry(tag)  # the installed table: the engine's file patterns must match its names
        role = "am" if tag.startswith("fastspeech2") else "voc"
        assert all(fnmatch.fnmatch(entry[keys[name]], P.ROLES[role][name]) for name in settings_names), entry
        archive = tmp_path / entry["url"].rsplit("/", 1)[-1]
        with zipfile.ZipFile(archive, "w") as bundle:
            for name in settings_names:
                bundle.write(model_files[name], f"{archive.stem}/{entry[keys[name]]}")
        data = archive.read_bytes()
        server.routes[urlparse(entry["url"]).path] = Route(data)
        served[tag] = {**entry, "md5": hashlib.md5(data).hexdigest()}  # our zip's md5 in place of the real one
    monkeypatch.setattr(P, "table_entry", served.__getitem__)
    settings = Settings(cache_dir=tmp_path / "cache", narrate={"engines": ["paddlespeech"]})
    assert [w.name for w in P.PaddleSpeechVoice.needs(settings.narrate)] == ["paddlespeech:fastspeech2_csmsc", "paddlespeech:hifigan_csmsc"]
    for weight in P.PaddleSpeechVoice.needs(settings.narrate):
        pull(weight, settings.cache_dir, WeightsSettings(mirror=server.url(""), attempts=1))
    speech = PaddleSpeechVoice(settings.narrate, settings.context).speak("人工智能", "zh")
    assert len(speech.audio) > FS // 10 and {"r", "en2"} <= {u for u, _, _ in speech.units}
