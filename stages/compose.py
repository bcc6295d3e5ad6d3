"""compose: the talking portrait, a title card and subtitles into presenter.mp4 (H.264 + AAC, faststart), and a thumbnail.

The square lipsync video sits in a 16:9 frame (720p, or 1080p by setting);
subtitles come from narration.json's sentence times, burned in (a CJK-capable
font, so Chinese renders) or as a soft mov_text track.

Text from a feed or a model reaches FFmpeg only as data: the title card is a
text file drawn with expansion off, subtitles are an ASS file whose override
and escape characters are neutralised, and FFmpeg runs inside the episode
folder so that no path is ever parsed as part of a filter graph. A filter
warning is an error, not a silently missing title card; so a character no
installed font can draw (an emoji) is dropped from what is drawn, with a
warning, rather than failing libass ("failed to find any fallback"), and a
title of any length is cut to three lines with an ellipsis.
"""

from __future__ import annotations

import logging
import re
import subprocess
import tempfile
import textwrap
import time
from pathlib import Path

import pysubs2

from core.artifacts import VIDEO_FILES, Animation, Narration, StageRecord
from core.errors import EngineError
from core.logs import Progress
from core.media.ffmpeg import require_tool
from core.media.fonts import drawable
from core.media.subtitles import to_srt
from core.settings import ComposeSettings
from core.text import is_mostly_cjk
from core.workspace import atomic_path, write_bytes, write_text

FONT_FILES = ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
FONT_NAME = "WenQuanYi Micro Hei"
TITLE_FILE, SUBTITLE_FILE = ".title.txt", "narration.ass"
LOWER_THIRD_FILE = ".speaker{}.txt"  # the name shown while a soundbite plays
TITLE_LINES, SHOW_LINES = 3, 2
log = logging.getLogger(__name__)
_FILTER_WARNING = re.compile(r"\[(?:Parsed_\w+|AVFilterGraph|drawtext|subtitles|libass)[^\]]*\]|Stray %|Error", re.IGNORECASE)
_FOUND_ANYWAY = re.compile(r"Glyph 0x[0-9A-F]+ not found, broken font\? Trying all charmaps$", re.IGNORECASE)  # libass then draws it (DejaVu's emoticons)


def font_file() -> str:
    for path in FONT_FILES:
        if Path(path).is_file():
            return path
    raise EngineError("No font for the title card (WenQuanYi Micro Hei or DejaVu Sans).", "Install one: 'apt-get install fonts-wqy-microhei' (or run 'make setup').")


def wrap(text: str, width: int, lines: int | None = None) -> str:
    """Lines for the title card: CJK text counts double, so it wraps at half the width; past ``lines``, cut with an ellipsis."""
    if is_mostly_cjk(text):
        width = max(4, width // 2)
        wrapped = [text[i : i + width] for i in range(0, len(text), width)]
    else:
        wrapped = textwrap.wrap(text, width)
    if lines is not None and len(wrapped) > lines:
        wrapped = [*wrapped[: lines - 1], wrapped[lines - 1][: width - 1].rstrip() + "…"]
    return "\n".join(wrapped)


def _drawable(text: str, font: str | None = None) -> tuple[str, str]:
    """``text`` without what no font (or ``font``) has, and without the gaps the dropped characters leave; and what was dropped."""
    kept, dropped = drawable(text, font)
    return (re.sub(r"[^\S\n]{2,}", " ", kept).strip(), dropped) if dropped else (text, "")


def _warn_dropped(dropped: str, folder: Path) -> None:
    if dropped:
        shown = ", ".join(f"{char} (U+{ord(char):04X})" for char in dropped[:10]) + (", …" if len(dropped) > 10 else "")
        log.warning(
            "No installed font can draw %d character(s) of the subtitles or title card of %s: %s. They are left out of the video "
            "(narration.srt keeps them); to show them, install a font that has them (emoji: 'apt-get install fonts-noto-color-emoji').",
            len(dropped), folder.name, shown,
        )


def split_cue(start: float, end: float, text: str) -> list[tuple[float, float, str]]:
    """A long sentence becomes several subtitles of at most two lines, timed in proportion to their length."""
    cjk = is_mostly_cjk(text)
    limit = 32 if cjk else 84
    if len(text) <= limit:
        return [(start, end, text)]
    pieces: list[str] = []
    tokens = re.findall(r"[^，、；：,;:]+[，、；：,;:]?", text) if cjk else re.findall(r"\S+\s*", text)
    piece = ""
    for token in tokens:
        if piece and len(piece) + len(token) > limit:
            pieces.append(piece.strip())
            piece = ""
        piece += token
    pieces.append(piece.strip())
    pieces = [q for chunk in pieces for q in ([chunk[i : i + limit] for i in range(0, len(chunk), limit)] if cjk else [chunk])]
    total = sum(len(q) for q in pieces)
    cues, t = [], start
    for piece in pieces:
        length = (end - start) * len(piece) / total
        cues.append((round(t, 3), round(t + length, 3), piece))
        t += length
    return cues


def ass_text(text: str) -> str:
    """Subtitle text that libass shows literally: no override blocks ({...}), no escapes (\\N, \\h)."""
    text = text.replace("\\", "＼").replace("{", "\\{").replace("}", "\\}")
    return re.sub(r"\s*\n\s*", " ", text)


def to_ass(cues: list[tuple[float, float, str]], width: int, height: int) -> str:
    """The burned or soft subtitles as ASS (pysubs2); each cue's text goes through ``ass_text`` first, so it is drawn literally."""
    white, black = pysubs2.Color(255, 255, 255), pysubs2.Color(0, 0, 0)
    subs = pysubs2.SSAFile()
    subs.info.update({"PlayResX": str(width), "PlayResY": str(height), "WrapStyle": "0", "ScaledBorderAndShadow": "yes"})
    subs.styles["Default"] = pysubs2.SSAStyle(
        fontname=FONT_NAME, fontsize=height // 20, primarycolor=white, secondarycolor=white, outlinecolor=black, backcolor=black,
        borderstyle=1, outline=max(2, height // 240), shadow=0, alignment=pysubs2.Alignment.BOTTOM_CENTER, marginl=width // 16, marginr=width // 16, marginv=height // 10,
    )
    subs.events = [pysubs2.SSAEvent(start=round(start * 1000), end=round(end * 1000), text=ass_text(text)) for start, end, text in cues]
    return subs.to_string("ass", header_notice="")


def _ffmpeg(args: list[str], folder: Path, what: str, *, seconds: float = 0.0, progress: Progress | None = None) -> bytes:
    """Run ffmpeg in ``folder``; a failure or a filter warning is an EngineError naming ``what``.

    With ``progress``, ffmpeg's machine-readable progress (``-progress pipe:1``)
    reports seconds encoded out of ``seconds``.
    """
    command = [require_tool("ffmpeg"), "-v", "warning", "-nostdin"]
    if progress is None:
        done = subprocess.run([*command, *args], cwd=folder, capture_output=True)
        returncode, stdout, stderr = done.returncode, done.stdout, done.stderr.decode(errors="replace").strip()
    else:
        with tempfile.TemporaryFile() as errors:  # a file, so a chatty stderr never blocks the progress pipe
            with subprocess.Popen([*command, "-progress", "pipe:1", "-nostats", *args], cwd=folder, stdout=subprocess.PIPE, stderr=errors) as process:
                assert process.stdout is not None
                for line in process.stdout:
                    if line.startswith(b"out_time_us=") and line[12:].strip().isdigit():
                        progress(min(seconds, int(line[12:]) / 1e6), seconds, "s of video")
            returncode, stdout = process.returncode, b""
            errors.seek(0)
            stderr = errors.read().decode(errors="replace").strip()
    warnings = "\n".join(line for line in stderr.splitlines() if not _FOUND_ANYWAY.search(line.strip()))
    if returncode != 0 or _FILTER_WARNING.search(warnings):
        raise EngineError(f"ffmpeg could not {what}: {stderr[-400:] or f'exit code {returncode}'}", "Check ffmpeg (libx264, libass) and the fonts ('make setup').")
    if progress is not None:
        progress(seconds, seconds, "s of video")
    return stdout


def compose(
    lipsync_mp4: Path, narration_json: Path, folder: Path, section: ComposeSettings, *, title: str, show: str, progress: Progress | None = None
) -> StageRecord:
    """Write presenter.mp4, narration.srt and thumbnail.png into ``folder``."""
    import ffmpeg

    started = time.perf_counter()
    folder = Path(folder).resolve()
    height = section.height
    width = height * 16 // 9
    narration = Narration.model_validate_json(Path(narration_json).read_text(encoding="utf-8"))
    video_name, srt_name, thumbnail_name = VIDEO_FILES
    cues = [cue for s in narration.sentences for cue in split_cue(s.start, s.end or s.start, s.caption)]  # a soundbite's words with its speaker's name
    srt = write_text(folder / srt_name, to_srt(cues))
    burned = section.subtitles == "burn"  # soft subtitles are drawn by the player, with its own fonts
    drawn = [(start, end, *(_drawable(text) if burned else (text, ""))) for start, end, text in cues]  # what libass can draw with some installed font
    write_text(folder / SUBTITLE_FILE, to_ass([(start, end, text) for start, end, text, _ in drawn], width, height))
    card_font = font_file() if section.title_seconds > 0 else None  # drawtext has this one font, no fallback
    (show, show_missing), (title, title_missing) = _drawable(show, card_font), _drawable(title, card_font)
    write_text(folder / TITLE_FILE, "\n\n".join(filter(None, (wrap(show, 34, SHOW_LINES), wrap(title, 26, TITLE_LINES)))))
    _warn_dropped("".join(dict.fromkeys("".join(m for *_, m in drawn) + show_missing + title_missing)), folder)

    source = ffmpeg.input(str(Path(lipsync_mp4).resolve()))
    video = source.video.filter("scale", height, height).filter("pad", width, height, (width - height) // 2, 0, color=section.background)
    if section.title_seconds > 0:
        t = section.title_seconds
        video = video.drawbox(x=0, y=0, width=width, height=height, color="black@0.55", thickness="fill", enable=f"lt(t,{t})")
        video = video.drawtext(
            textfile=TITLE_FILE, expansion="none", fontfile=font_file(), fontsize=height // 16, fontcolor="white", line_spacing=height // 60,
            x="(w-text_w)/2", y="(h-text_h)/2", enable=f"lt(t,{t})", alpha=f"if(lt(t,{t - 0.5}),1,max(0,({t}-t)/0.5))",
        )
    bites = [s for s in narration.sentences if s.kind == "soundbite" and s.speaker]
    for k, bite in enumerate(bites):  # the lower third: who speaks while the presenter listens
        name, _ = _drawable(bite.speaker or "", card_font or font_file())
        write_text(folder / LOWER_THIRD_FILE.format(k), name)
        shown = f"between(t,{bite.start:.3f},{bite.end or bite.start:.3f})"
        video = video.drawbox(x=width // 16, y=height * 62 // 100, width=width * 3 // 8, height=height // 11, color="black@0.6", thickness="fill", enable=shown)
        video = video.drawtext(
            textfile=LOWER_THIRD_FILE.format(k), expansion="none", fontfile=card_font or font_file(), fontsize=height // 22, fontcolor="white",
            x=width // 16 + height // 40, y=height * 62 // 100 + (height // 11 - height // 22) // 2, enable=shown,
        )
    outputs = {"vcodec": "libx264", "pix_fmt": "yuv420p", "preset": section.preset, "crf": section.crf, "acodec": "aac", "audio_bitrate": "128k", "movflags": "+faststart"}
    if section.x264_params:
        outputs["x264-params"] = section.x264_params
    if section.subtitles == "burn":
        video = video.filter("subtitles", SUBTITLE_FILE)
    streams = [video, source.audio]
    if section.subtitles == "soft":
        streams.append(ffmpeg.input(SUBTITLE_FILE))
        outputs.update({"c:s": "mov_text", "metadata:s:s:0": f"language={_iso639_2(narration.language)}"})
    out = folder / video_name
    with atomic_path(out) as tmp:
        _ffmpeg(ffmpeg.output(*streams, tmp.name, format="mp4", **outputs).overwrite_output().get_args(), folder, f"compose {out}", seconds=narration.duration, progress=progress)
    (folder / TITLE_FILE).unlink(missing_ok=True)
    for k in range(len(bites)):
        (folder / LOWER_THIRD_FILE.format(k)).unlink(missing_ok=True)
    at = min(section.title_seconds / 2 if section.title_seconds else 1.0, max(0.0, narration.duration - 0.1))
    animation = Path(lipsync_mp4).with_name(Animation.file)
    if animation.is_file():  # the poster: a frame with the mouth closed and the eyes open (under the title card, if any)
        record = Animation.read(animation.parent)
        at = record.neutral_frame(before=2 * at) / record.fps
    png = _ffmpeg(["-ss", f"{at:.2f}", "-i", video_name, "-frames:v", "1", "-vf", "scale=640:-2", "-f", "image2pipe", "-c:v", "png", "pipe:1"], folder, f"make the thumbnail of {out}")
    thumbnail = write_bytes(folder / thumbnail_name, png)
    return StageRecord(outputs=[out, srt, thumbnail], seconds=round(time.perf_counter() - started, 3), height=height, subtitles=section.subtitles)


def _iso639_2(language: str | None) -> str:
    return {"zh": "chi", "en": "eng"}.get(language or "", "und")
