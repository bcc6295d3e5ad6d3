"""lipsync: the embedded animator on real portraits, scored by the lip-sync measurement; portraits refused with a clear message."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.artifacts import Animation, Narration
from core.errors import EngineError
from core.media.ffmpeg import decode_video
from core.settings import Settings
from engines.lipsync import embedded, visemes
from engines.lipsync import portrait as P
from engines.lipsync.animator import Animator
from engines.lipsync.base import sheet_picks
from engines.lipsync.face import CHIN, FOREHEAD
from evaluation import lipmetrics, lipviews
from stages import lipsync as L

ROOT = Path(__file__).resolve().parents[1]


def grace_hopper() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"


def animate(folder: Path, settings: Settings, out: Path | None = None):
    return L.lipsync(folder / "narration.wav", folder / "narration.json", out or folder, settings.lipsync, settings.context, size=settings.compose.height)


def render(folder: Path, portrait: Path | None = None, **lipsync) -> tuple[Path, Narration]:
    animate(folder, Settings(lipsync={"portrait": portrait, **lipsync}))
    return folder / "lipsync.mp4", Narration.read(folder)


@pytest.mark.parametrize("language", ["en", "zh"])
def test_default_portrait_passes_the_lip_sync_measurement(narrated, language):
    video, narration = render(narrated[language])
    image, face = P.load_portrait(P.default_portrait())
    crop, _ = P.frame_portrait(image, face, 720)
    result = lipmetrics.score(video, narration, crop)
    assert result.passes(), result
    assert result.upper_face_ssim > 0.9, "the face keeps its identity, nothing torn (head motion aligned away)"
    looks_real(result)
    assert result.teeth_share is not None and result.teeth_share >= 0.25, "her own teeth show when the mouth opens"
    assert result.closure_rate == 1.0, "every b, p and m shuts the lips (issue 28)"
    frames, fps = lipmetrics.read_frames(video)
    opening, _ = lipmetrics.mouth_openings(frames)
    rest = lipviews.gap_of(lipviews.landmarks_of(np.asarray(Image.fromarray(crop).resize(frames.shape[2:0:-1], Image.Resampling.LANCZOS))))
    assert lipviews.silence_closure(opening, narration, fps, rest) >= 0.85, "pauses of 120 ms or more show the mouth at rest (issue 28)"
    assert result.teeth_band_difference is not None and result.teeth_band_difference <= 12, "the portrait's own upper teeth, not a repaint"


def test_second_face_passes_too(narrated, tmp_path):
    folder = tmp_path / "grace"
    folder.mkdir()
    for name in ("narration.wav", "narration.json"):
        (folder / name).write_bytes((narrated["en"] / name).read_bytes())
    video, narration = render(folder, grace_hopper())
    result = lipmetrics.score(video, narration)
    assert result.passes(), result
    looks_real(result)


def looks_real(result: lipmetrics.LipsyncScore) -> None:
    """Issues 13 and 28: a real talker's amplitude (the mouth moves, but never gapes like a shout), lips that purse and spread."""
    assert 0.03 <= result.opening_range <= 0.09, result
    assert result.round_spread_width is not None and result.round_spread_width <= 0.92, result


def test_the_contact_sheet_shows_each_kind_of_mouth(narrated):
    folder = narrated["en"]
    if not (folder / "lipsync_sheet.png").exists():
        render(folder)
    sheet = Image.open(folder / "lipsync_sheet.png")
    record = Animation.read(folder)
    picks = sheet_picks(Narration.read(folder), record.mouth, record.fps, record.frames)
    kinds = {label.split(":")[0] for _, label in picks}
    assert kinds == {"open", "b/p/m", "rounded", "spread", "silence"}, picks
    assert sheet.width == 5 * 200 and sheet.height > 3 * 100
    assert all(record.mouth[i] < 0.05 for i, label in picks if label.startswith(("b/p/m", "silence"))), "shut where it must be"
    assert all(record.mouth[i] > 0.6 for i, label in picks if label.startswith("open"))
    video, _ = decode_video(folder / "lipsync.mp4")
    x0, y0, x1, y1 = record.mouth_box
    tile = np.asarray(sheet, np.float32)[: round(200 * (y1 - y0) / (x1 - x0)), 200:400]  # the second pick, kept while rendering
    def crop(index: int) -> np.ndarray:
        return np.asarray(Image.fromarray(video[index][y0:y1, x0:x1]).resize((200, len(tile)), Image.Resampling.LANCZOS), np.float32)
    index = picks[1][0]
    assert np.abs(tile - crop(index)).mean() < 3, "the sheet shows the frame it names"
    assert np.abs(tile - crop(index - 3)).mean() > np.abs(tile - crop(index)).mean()


@pytest.mark.parametrize(
    "unit,expected",
    [("a", (1.0, "open")), ("ao3", (1.0, "open")), ("u", (0.4, "round")), ("oʊ", (0.65, "round")), ("uː", (0.4, "round")), ("ve", (0.65, "round")), ("y", (0.4, "round")),
     ("ɔ→", (0.65, "round")), ("i1", (0.4, "spread")), ("iː", (0.4, "spread")), ("ei4", (0.65, "spread")), ("ie", (0.65, "spread")), ("m", (0.0, "shut"))],
)
def test_every_viseme_has_a_jaw_a_spread_and_a_rounding(unit, expected):
    jaw, spread, rounding, _ = visemes.shape(unit)
    kind = "shut" if jaw == 0 else "round" if rounding >= 1 else "spread" if spread >= 1 else "open"
    assert (jaw, kind) == expected


def test_mouth_shapes_blend_smoothly_into_each_other(narrated):
    from core.media.ffmpeg import read_wav

    narration = Narration.read(narrated["en"])
    audio, rate = read_wav(narrated["en"] / "narration.wav")
    frames = int(np.ceil(len(audio) / rate * 25))
    track = visemes.openings(narration, audio, rate, 25, frames)
    assert track.shape == (frames, 4)
    steps = np.abs(np.diff(track[:, 1:3], axis=0))
    assert steps.max() <= 0.6 and np.percentile(steps, 90) <= 0.25, "lip spread and rounding glide from phoneme to phoneme"
    assert (track[:, 2] > 0.5).any() and (track[:, 1] > 0.5).any()


def test_an_animator_driven_by_loudness_alone_fails(narrated, tmp_path, monkeypatch):
    folder = tmp_path / "loud"
    folder.mkdir()
    for name in ("narration.wav", "narration.json"):
        (folder / name).write_bytes((narrated["en"] / name).read_bytes())
    phonetic = visemes.openings
    loud_only = lambda narration, audio, rate, fps, frames: phonetic(narration.model_copy(update={"sentences": []}), audio, rate, fps, frames)
    monkeypatch.setattr(embedded, "openings", loud_only)
    video, narration = render(folder)
    result = lipmetrics.score(video, narration)
    assert not result.passes() and result.closure_rate < 0.7, result


def test_rendering_is_deterministic(narrated):
    image, face = P.load_portrait(P.default_portrait())
    crop, landmarks = P.frame_portrait(image, face, 512)
    one, two = Animator(crop, landmarks, 25, seed=7), Animator(crop, landmarks, 25, seed=7)
    assert np.array_equal(one.render(0.8, 0.5, 1.3), two.render(0.8, 0.5, 1.3))
    assert not np.array_equal(one.render(0.0, 0.0, 1.3), one.render(0.8, 0.0, 1.3)), "the mouth moves"


def test_portrait_without_a_face_is_refused(tmp_path):
    from skimage import data

    path = tmp_path / "coffee.png"
    Image.fromarray(data.coffee()).save(path)
    with pytest.raises(P.PortraitError, match=r"No face found in the portrait .*coffee.png"):
        P.load_portrait(path)
    text = tmp_path / "notes.jpg"
    text.write_text("not an image")
    with pytest.raises(P.PortraitError, match="notes.jpg is not a readable image"):
        P.load_portrait(text)


def test_several_faces_animate_the_largest_with_a_warning(tmp_path, caplog):
    big = Image.open(P.default_portrait()).convert("RGB")
    small = Image.open(grace_hopper()).convert("RGB").resize((256, 300))
    canvas = Image.new("RGB", (800, 512), "white")
    canvas.paste(big, (0, 0))
    canvas.paste(small, (530, 100))
    path = tmp_path / "two.png"
    canvas.save(path)
    image, face = P.load_portrait(path)
    warnings = [record.getMessage() for record in caplog.records]
    assert warnings and "2 faces" in warnings[0]
    assert face[:, 0].max() < 512, "the astronaut's (larger) face was chosen"


def test_small_faces_are_upscaled_then_refused(tmp_path):
    portrait = Image.open(P.default_portrait()).convert("RGB")
    smaller = tmp_path / "small.png"
    portrait.resize((340, 340)).save(smaller)  # face about 70 px: upscaled
    image, face = P.load_portrait(smaller)
    assert face[CHIN, 1] - face[FOREHEAD, 1] >= P.MIN_FACE_PX - 1
    tiny = tmp_path / "tiny.png"
    portrait.resize((128, 128)).save(tiny)
    with pytest.raises(P.PortraitError, match="tiny.png"):
        P.load_portrait(tiny)


def test_exif_rotation_is_honoured(tmp_path):
    rotated = Image.open(P.default_portrait()).convert("RGB").rotate(90, expand=True)  # stored sideways
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    path = tmp_path / "sideways.jpg"
    rotated.save(path, exif=exif)
    image, face = P.load_portrait(path)
    assert face[CHIN, 1] > face[FOREHEAD, 1] + 50, "upright after EXIF rotation"


def test_paddlegan_without_weights_fails_fast_naming_the_file(narrated, tmp_path):
    settings = Settings(lipsync={"engine": "paddlegan", "paddlegan": {"checkpoint": tmp_path / "missing.pdparams"}})
    with pytest.raises(EngineError, match=r"wav2lip_hq.pdparams, at .*missing.pdparams"):
        animate(narrated["en"], settings, tmp_path)
    with pytest.raises(EngineError, match="PADDLEGAN__CHECKPOINT is not set"):
        animate(narrated["en"], Settings(lipsync={"engine": "paddlegan"}), tmp_path)
