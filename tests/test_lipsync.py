"""lipsync and compose: the embedded animator on real portraits, scored by the lip-sync measurement."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from presenter import lipmetrics
from presenter.settings import Settings
from stages import compose as C
from stages import lipsync as L
from stages import narrate as N

ROOT = Path(__file__).resolve().parents[1]
TEXT = "My mom made more lemon muffins this summer. Many men may move home, and some may remain."
ZH = "八百标兵奔北坡，炮兵并排北边跑。大家都来看看吧。"


def grace_hopper() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"


@pytest.fixture(scope="module")
def narrated(tmp_path_factory):
    folders = {}
    for language, text in (("en", TEXT), ("zh", ZH)):
        folder = tmp_path_factory.mktemp(f"narration-{language}")
        (folder / "script.txt").write_text(text, encoding="utf-8")
        N.narrate(folder / "script.txt", folder, Settings(), language=language, log=lambda m: None)
        folders[language] = folder
    return folders


def render(folder: Path, portrait: Path | None = None, **lipsync) -> tuple[Path, dict]:
    settings = Settings(lipsync={"portrait": portrait, **lipsync})
    L.lipsync(folder / "narration.wav", folder / "narration.json", folder, settings)
    return folder / "lipsync.mp4", json.loads((folder / "narration.json").read_text())


@pytest.mark.parametrize("language", ["en", "zh"])
def test_default_portrait_passes_the_lip_sync_measurement(narrated, language):
    video, narration = render(narrated[language])
    image, face = L.load_portrait(L.default_portrait())
    crop, _ = L.frame_portrait(image, face, 720)
    result = lipmetrics.score(video, narration, crop)
    assert result.passes(), result
    assert result.upper_face_ssim > 0.5, "the face keeps its identity (the head sways, so not 1)"


def test_second_face_passes_too(narrated, tmp_path):
    folder = tmp_path / "grace"
    folder.mkdir()
    for name in ("narration.wav", "narration.json"):
        (folder / name).write_bytes((narrated["en"] / name).read_bytes())
    video, narration = render(folder, grace_hopper())
    assert lipmetrics.score(video, narration).passes()


def test_an_animator_driven_by_loudness_alone_fails(narrated, tmp_path, monkeypatch):
    folder = tmp_path / "loud"
    folder.mkdir()
    for name in ("narration.wav", "narration.json"):
        (folder / name).write_bytes((narrated["en"] / name).read_bytes())
    phonetic = L.openings
    loud_only = lambda narration, audio, rate, fps, frames: phonetic({"sentences": []}, audio, rate, fps, frames)  # noqa: E731
    monkeypatch.setattr(L, "openings", loud_only)
    video, narration = render(folder)
    result = lipmetrics.score(video, narration)
    assert not result.passes() and result.closure_rate < 0.7, result


def test_rendering_is_deterministic(narrated):
    image, face = L.load_portrait(L.default_portrait())
    crop, landmarks = L.frame_portrait(image, face, 512)
    one, two = L.Animator(crop, landmarks, 25, seed=7), L.Animator(crop, landmarks, 25, seed=7)
    assert np.array_equal(one.render(0.8, 0.5, 1.3), two.render(0.8, 0.5, 1.3))
    assert not np.array_equal(one.render(0.0, 0.0, 1.3), one.render(0.8, 0.0, 1.3)), "the mouth moves"


def test_portrait_without_a_face_is_refused(tmp_path):
    from skimage import data

    path = tmp_path / "coffee.png"
    Image.fromarray(data.coffee()).save(path)
    with pytest.raises(L.PortraitError, match=r"No face found in the portrait .*coffee.png"):
        L.load_portrait(path)
    text = tmp_path / "notes.jpg"
    text.write_text("not an image")
    with pytest.raises(L.PortraitError, match="notes.jpg is not a readable image"):
        L.load_portrait(text)


def test_several_faces_animate_the_largest_with_a_warning(tmp_path):
    big = Image.open(L.default_portrait()).convert("RGB")
    small = Image.open(grace_hopper()).convert("RGB").resize((256, 300))
    canvas = Image.new("RGB", (800, 512), "white")
    canvas.paste(big, (0, 0))
    canvas.paste(small, (530, 100))
    path = tmp_path / "two.png"
    canvas.save(path)
    warnings = []
    image, face = L.load_portrait(path, warn=warnings.append)
    assert warnings and "2 faces" in warnings[0]
    assert face[:, 0].max() < 512, "the astronaut's (larger) face was chosen"


def test_small_faces_are_upscaled_then_refused(tmp_path):
    portrait = Image.open(L.default_portrait()).convert("RGB")
    smaller = tmp_path / "small.png"
    portrait.resize((340, 340)).save(smaller)  # face about 70 px: upscaled
    image, face = L.load_portrait(smaller)
    assert face[L.CHIN, 1] - face[L.FOREHEAD, 1] >= L.MIN_FACE_PX - 1
    tiny = tmp_path / "tiny.png"
    portrait.resize((128, 128)).save(tiny)
    with pytest.raises(L.PortraitError, match="tiny.png"):
        L.load_portrait(tiny)


def test_exif_rotation_is_honoured(tmp_path):
    rotated = Image.open(L.default_portrait()).convert("RGB").rotate(90, expand=True)  # stored sideways
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    path = tmp_path / "sideways.jpg"
    rotated.save(path, exif=exif)
    image, face = L.load_portrait(path)
    assert face[L.CHIN, 1] > face[L.FOREHEAD, 1] + 50, "upright after EXIF rotation"


@pytest.mark.parametrize("height,subtitles", [(720, "burn"), (1080, "soft")])
def test_compose_writes_a_playable_mp4(narrated, tmp_path, height, subtitles):
    folder = tmp_path / "compose"
    folder.mkdir()
    for name in ("narration.wav", "narration.json"):
        (folder / name).write_bytes((narrated["zh"] / name).read_bytes())
    settings = Settings(compose={"height": height, "subtitles": subtitles})
    L.lipsync(folder / "narration.wav", folder / "narration.json", folder, settings)
    video, srt, thumbnail = C.compose(folder / "lipsync.mp4", folder / "narration.json", folder, settings, title="科技早知道：人工智能", show="Weekly Digest")
    info = C.probe(video)
    kinds = [s["codec_type"] for s in info["streams"]]
    assert kinds.count("video") == 1 and kinds.count("audio") == 1
    assert kinds.count("subtitle") == (1 if subtitles == "soft" else 0)
    picture = next(s for s in info["streams"] if s["codec_type"] == "video")
    assert (picture["codec_name"], picture["pix_fmt"], picture["width"], picture["height"]) == ("h264", "yuv420p", height * 16 // 9, height)
    narration = json.loads((folder / "narration.json").read_text())
    assert abs(float(info["format"]["duration"]) - narration["duration"]) <= 1 / 25 + 0.01
    assert video.read_bytes().find(b"moov") < video.read_bytes().find(b"mdat"), "faststart: the index comes first"
    assert Image.open(thumbnail).size[0] == 640 and "八百标兵" in srt.read_text(encoding="utf-8")


def test_paddlegan_without_weights_fails_fast_naming_the_file(narrated, tmp_path):
    settings = Settings(lipsync={"engine": "paddlegan", "paddlegan_checkpoint": tmp_path / "missing.pdparams"})
    with pytest.raises(L.EngineError, match=r"wav2lip_hq.pdparams, at .*missing.pdparams"):
        L.lipsync(narrated["en"] / "narration.wav", narrated["en"] / "narration.json", tmp_path, settings)
    with pytest.raises(L.EngineError, match="PADDLEGAN_CHECKPOINT is not set"):
        L.lipsync(narrated["en"] / "narration.wav", narrated["en"] / "narration.json", tmp_path, Settings(lipsync={"engine": "paddlegan"}))


def test_long_sentences_become_short_subtitles():
    sentence = "In this episode of Field Notes, an engineer explains how home batteries work, what the cells cost, why smart inverters matter and how long a system lasts."
    cues = C.split_cue(1.0, 10.0, sentence)
    assert len(cues) > 1 and all(len(text) <= 84 for _, _, text in cues)
    assert cues[0][0] == 1.0 and abs(cues[-1][1] - 10.0) < 1e-6 and all(a[1] == b[0] for a, b in zip(cues, cues[1:]))
    assert " ".join(text for _, _, text in cues) == sentence
