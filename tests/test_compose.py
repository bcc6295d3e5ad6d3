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


def test_subtitle_text_is_kept_verbatim_in_srt_vtt_and_ass():
    """What pysubs2's SRT writer changes or drops (see core/media/subtitles.py) comes through; the ASS file (pysubs2) holds compose's neutralised text."""
    import pysubs2

    from core.media.subtitles import to_srt, to_vtt

    texts = ["Up {\\an8} <b>here</b>", "C:\\new\\home \\N now", "a {\\p1} m 0 0 l 9 9", "x & y < z"]
    cues = [(float(i), i + 0.9, text) for i, text in enumerate(texts)]
    srt, vtt = to_srt(cues), to_vtt(cues, ["Tom", None, "A<b>", None])
    assert srt.count(" --> ") == 4 and all(f"\n{text}\n" in srt for text in texts)
    assert vtt.startswith("WEBVTT\n\n") and vtt.count(" --> ") == 4
    for line in ["<v Tom>Up {\\an8} &lt;b&gt;here&lt;/b&gt;", "\nC:\\new\\home \\N now", "<v A&lt;b&gt;>a {\\p1} m 0 0 l 9 9", "\nx &amp; y &lt; z"]:
        assert f"{line}\n" in vtt, line
    events = pysubs2.SSAFile.from_string(C.to_ass(cues, 1280, 720)).events
    assert [e.text for e in events] == [C.ass_text(text) for text in texts] and [e.start for e in events] == [0, 1000, 2000, 3000]
    assert "{" not in "".join(e.text.replace("\\{", "") for e in events), "no override block libass would read"


def test_the_poster_is_a_closed_mouth_eyes_open_frame():
    from core.artifacts import Animation

    mouth = [0.0, 0.0, 0.6, 0.9, 0.0, 0.02, 0.8, 0.7, 0.0, 0.0]
    blink = [0.0, 0.0, 0.0, 0.0, 0.9, 0.0, 0.0, 0.0, 0.0, 0.0]
    record = Animation(engine="embedded", fps=5, frames=10, mouth=mouth, blink=blink)
    assert record.neutral_frame(before=2.0) == 5, "nearest the card's middle with the mouth shut and the eyes open (frame 4 blinks)"
    assert record.neutral_frame(before=0.6) == 1
    assert Animation(engine="paddlegan", fps=5, frames=10, mouth=None, blink=blink).neutral_frame(before=2.0) == 5


def test_27_12_a_title_of_any_length_is_cut_to_three_lines_with_an_ellipsis():
    lines = C.wrap("A very long title " * 110, 26, 3).split("\n")  # about 2,000 characters
    assert len(lines) == 3 and lines[-1].endswith("…") and all(len(line) <= 26 for line in lines)
    cjk = "中文标题" * 500  # counts double: 13 a line
    assert C.wrap(cjk, 26, 3).split("\n") == [cjk[:13], cjk[13:26], cjk[26:38] + "…"]
    assert C.wrap("Short title", 26, 3) == "Short title"


def test_27_12_emoji_no_font_has_are_left_out_with_a_warning_and_a_long_title_stays_in_its_lines(narrated, tmp_path, caplog):
    import subprocess

    import numpy as np

    from core.artifacts import NarratedSentence, Narration

    folder = tmp_path / "emoji"
    folder.mkdir()
    for name in ("narration.wav", "narration.json"):
        (folder / name).write_bytes((narrated["en"] / name).read_bytes())
    narration = Narration.read(folder)
    narration.sentences = [NarratedSentence(text="Great news 😀🎉 for \U0010fffd everyone", start=0.3, end=narration.duration - 0.3)]  # U+10FFFD: private, in no font
    narration.write(folder)
    settings = Settings(compose={"title_seconds": 2, "subtitles": "burn"})
    animate(folder, settings)
    title = "🎙️ " + "An extremely long episode title that never ends " * 40  # about 2,000 characters
    with caplog.at_level("WARNING"):
        video, srt, _ = C.compose(folder / "lipsync.mp4", folder / "narration.json", folder, settings.compose, title=title, show="Show 📻").outputs
    assert "\U0010fffd (U+10FFFD)" in caplog.text and "fonts-noto-color-emoji" in caplog.text
    burned = (folder / C.SUBTITLE_FILE).read_text(encoding="utf-8")
    for emoji in "😀🎉":  # DejaVu Sans has 😀: libass falls back to it; 🎉 only an emoji font
        in_a_font = bool(subprocess.run(["fc-list", f":charset={ord(emoji):x}"], capture_output=True, text=True).stdout.strip())
        assert (emoji in burned) == in_a_font and (f"{emoji} (U+{ord(emoji):X})" in caplog.text) != in_a_font
    assert "\U0010fffd" not in burned and "for everyone" in burned
    assert "😀🎉 for \U0010fffd everyone" in srt.read_text(encoding="utf-8"), "the text file keeps them"
    card = subprocess.run(["ffmpeg", "-v", "error", "-ss", "1", "-i", str(video), "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "gray", "pipe:1"],
                          capture_output=True, check=True).stdout
    pixels = np.frombuffer(card, np.uint8).reshape(settings.compose.height, -1)
    above_subtitles = int(0.8 * len(pixels))
    rows_with_text = np.flatnonzero((pixels[:above_subtitles] > 235).sum(axis=1) > 0)
    assert rows_with_text.size and rows_with_text.min() > 0.2 * len(pixels) and rows_with_text.max() < 0.75 * len(pixels), "the show and 3 lines of title in the middle, not over the frame"
