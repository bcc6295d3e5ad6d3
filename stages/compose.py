"""compose: the talking portrait, a title card and subtitles into presenter.mp4 (H.264 + AAC, faststart), and a thumbnail.

The square lipsync video sits in a 16:9 frame (720p, or 1080p by setting);
subtitles come from narration.json's sentence times, burned in (a CJK-capable
font, so Chinese renders) or as a soft mov_text track.
"""

from __future__ import annotations

import re
import subprocess
import textwrap
import time
from pathlib import Path

from core.artifacts import VIDEO_FILES, Narration, StageRecord
from core.errors import EngineError
from core.media import require_tool
from core.settings import ComposeSettings
from core.subtitles import to_srt
from core.text import is_mostly_cjk
from core.workspace import atomic_path, write_text

FONT_FILES = ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
FONT_NAME = "WenQuanYi Micro Hei"


def font_file() -> str:
    for path in FONT_FILES:
        if Path(path).is_file():
            return path
    raise EngineError("No font for the title card (WenQuanYi Micro Hei or DejaVu Sans).", "Install one: 'apt-get install fonts-wqy-microhei' (or run 'make setup').")


def wrap(text: str, width: int) -> str:
    """Lines for the title card: CJK text counts double, so it wraps at half the width."""
    if is_mostly_cjk(text):
        size = max(4, width // 2)
        return "\n".join(text[i : i + size] for i in range(0, len(text), size))
    return textwrap.fill(text, width)


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


def compose(lipsync_mp4: Path, narration_json: Path, folder: Path, section: ComposeSettings, *, title: str, show: str) -> StageRecord:
    """Write presenter.mp4, narration.srt and thumbnail.png into ``folder``."""
    import ffmpeg

    started = time.perf_counter()
    height = section.height
    width = height * 16 // 9
    narration = Narration.model_validate_json(Path(narration_json).read_text(encoding="utf-8"))
    video_name, srt_name, thumbnail_name = VIDEO_FILES
    cues = [cue for s in narration.sentences for cue in split_cue(s.start, s.end or s.start, s.text)]
    srt = write_text(Path(folder) / srt_name, to_srt(cues))
    card = write_text(Path(folder) / ".title.txt", f"{wrap(show, 34)}\n\n{wrap(title, 26)}")
    font = font_file()

    source = ffmpeg.input(str(lipsync_mp4))
    video = source.video.filter("scale", height, height).filter("pad", width, height, (width - height) // 2, 0, color=section.background)
    if section.title_seconds > 0:
        t = section.title_seconds
        video = video.drawbox(x=0, y=0, width=width, height=height, color="black@0.55", thickness="fill", enable=f"lt(t,{t})")
        video = video.drawtext(
            textfile=str(card), fontfile=font, fontsize=height // 16, fontcolor="white", line_spacing=height // 60,
            x="(w-text_w)/2", y="(h-text_h)/2", enable=f"lt(t,{t})", alpha=f"if(lt(t,{t - 0.5}),1,max(0,({t}-t)/0.5))",
        )
    outputs = {"vcodec": "libx264", "pix_fmt": "yuv420p", "preset": section.preset, "crf": section.crf, "acodec": "aac", "audio_bitrate": "128k", "movflags": "+faststart"}
    streams = [video, source.audio]
    if section.subtitles == "burn":
        style = f"Fontname={FONT_NAME},Fontsize={max(14, height // 36)},Outline=2,Shadow=0,MarginV={height // 24},PrimaryColour=&H00FFFFFF"
        video = video.filter("subtitles", str(srt), force_style=style)
        streams = [video, source.audio]
    elif section.subtitles == "soft":
        streams.append(ffmpeg.input(str(srt)))
        outputs.update({"c:s": "mov_text", "metadata:s:s:0": f"language={_iso639_2(narration.language)}"})
    out = Path(folder) / video_name
    with atomic_path(out) as tmp:
        command = ffmpeg.output(*streams, str(tmp), format="mp4", **outputs).overwrite_output().global_args("-v", "error")
        try:
            command.run(cmd=require_tool("ffmpeg"), capture_stdout=True, capture_stderr=True)
        except ffmpeg.Error as error:
            raise EngineError(f"ffmpeg could not compose {out}: {error.stderr.decode(errors='replace').strip()[-400:]}", "Check ffmpeg (libx264, libass) and the fonts ('make setup').") from error
    card.unlink(missing_ok=True)
    thumbnail = Path(folder) / thumbnail_name
    with atomic_path(thumbnail) as tmp:
        at = min(section.title_seconds / 2 if section.title_seconds else 1.0, max(0.0, narration.duration - 0.1))
        subprocess.run([require_tool("ffmpeg"), "-v", "error", "-y", "-ss", f"{at:.2f}", "-i", str(out), "-frames:v", "1", "-vf", "scale=640:-2", "-f", "image2", "-c:v", "png", str(tmp)], check=True)
    return StageRecord(outputs=[out, srt, thumbnail], seconds=round(time.perf_counter() - started, 3), height=height, subtitles=section.subtitles)


def _iso639_2(language: str | None) -> str:
    return {"zh": "chi", "en": "eng"}.get(language or "", "und")
