"""compose: the talking head, title card and subtitles into presenter.mp4, and the thumbnail."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from core.media.ffmpeg import probe_media
from core.settings import Settings
from stages import compose as C
from stages import lipsync as L


def animate(folder, settings):
    return L.lipsync(folder / "narration.wav", folder / "narration.json", folder, settings.lipsync, settings.context, size=settings.compose.height)


@pytest.mark.parametrize("height,subtitles", [(720, "burn"), (1080, "soft")])
def test_compose_writes_a_playable_mp4(narrated, tmp_path, height, subtitles):
    folder = tmp_path / "compose"
    folder.mkdir()
    for name in ("narration.wav", "narration.json"):
        (folder / name).write_bytes((narrated["zh"] / name).read_bytes())
    settings = Settings(compose={"height": height, "subtitles": subtitles})
    animate(folder, settings)
    reports: list[tuple[float, float]] = []
    made = C.compose(
        folder / "lipsync.mp4", folder / "narration.json", folder, settings.compose, title="科技早知道：人工智能", show="Weekly Digest",
        progress=lambda done, total=None, detail="": reports.append((done, total)),
    )
    video, srt, thumbnail = made.outputs
    info = probe_media(video)
    kinds = [s["codec_type"] for s in info["streams"]]
    assert kinds.count("video") == 1 and kinds.count("audio") == 1
    assert kinds.count("subtitle") == (1 if subtitles == "soft" else 0)
    picture = next(s for s in info["streams"] if s["codec_type"] == "video")
    assert (picture["codec_name"], picture["pix_fmt"], picture["width"], picture["height"]) == ("h264", "yuv420p", height * 16 // 9, height)
    narration = json.loads((folder / "narration.json").read_text())
    assert abs(float(info["format"]["duration"]) - narration["duration"]) <= 1 / 25 + 0.01
    assert len(reports) >= 2 and reports[-1] == (narration["duration"], narration["duration"]), "progress in seconds of video, ending at the whole"
    assert [done for done, _ in reports] == sorted(done for done, _ in reports)
    assert video.read_bytes().find(b"moov") < video.read_bytes().find(b"mdat"), "faststart: the index comes first"
    assert Image.open(thumbnail).size[0] == 640 and "八百标兵" in srt.read_text(encoding="utf-8")


def test_long_sentences_become_short_subtitles():
    sentence = "In this episode of Field Notes, an engineer explains how home batteries work, what the cells cost, why smart inverters matter and how long a system lasts."
    cues = C.split_cue(1.0, 10.0, sentence)
    assert len(cues) > 1 and all(len(text) <= 84 for _, _, text in cues)
    assert cues[0][0] == 1.0 and abs(cues[-1][1] - 10.0) < 1e-6 and all(a[1] == b[0] for a, b in zip(cues, cues[1:]))
    assert " ".join(text for _, _, text in cues) == sentence


def test_the_poster_is_a_closed_mouth_eyes_open_frame():
    from core.artifacts import Animation

    mouth = [0.0, 0.0, 0.6, 0.9, 0.0, 0.02, 0.8, 0.7, 0.0, 0.0]
    blink = [0.0, 0.0, 0.0, 0.0, 0.9, 0.0, 0.0, 0.0, 0.0, 0.0]
    record = Animation(engine="embedded", fps=5, frames=10, mouth=mouth, blink=blink)
    assert record.neutral_frame(before=2.0) == 5, "nearest the card's middle with the mouth shut and the eyes open (frame 4 blinks)"
    assert record.neutral_frame(before=0.6) == 1
    assert Animation(engine="paddlegan", fps=5, frames=10, mouth=None, blink=blink).neutral_frame(before=2.0) == 5
