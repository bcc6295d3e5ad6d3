"""Presenter rendering speed and lip-sync quality: the embedded animator at 512 and 720, then compose at 720p.

Narrates bench/data/script-en.txt (about 80 s) once with the embedded voice,
then renders lipsync.mp4 at each size (frames rendered and encoded per second,
wall clock, the contact sheet included), composes presenter.mp4 at 720p, and
scores the 720 video of the default portrait and of Grace Hopper (matplotlib's
sample image) with the lip-sync and realism measures (evaluation/lipmetrics.py).

Run from .venv-paddle, it also times the paddlegan engine on a 4-second
narration. No trained Wav2Lip weights can be had here, so it runs a randomly
initialised network: the speed is the real network's (36 M parameters, same
operations), the lip-sync figures would be meaningless and are not reported.

    .venv/bin/python bench/lipsync.py [--language en|zh]
    .venv-paddle/bin/python bench/lipsync.py        # adds paddlegan

Issue 28: it also prints the opening's distribution (inner-lip gap above the
portrait's own at rest, over face height: median, p90, p95) and the share of
frames in pauses of 120 ms or more with the mouth at rest, and writes
docs/lipsync-side-by-side.png: eight mouth classes of the narration for the
astronaut, Grace Hopper and a closed-mouth illustration (Grace Hopper through
OpenCV's stylization filter: no third portrait ships offline), at 100 % scale.

Prints a Markdown table and writes bench/results/lipsync.json.

Issue 26: ``--soundbites`` measures instead what soundbites add to the sample
run (assets/sample/field-notes-batteries.mp3): the sample is transcribed
(Whisper base), diarized and summarized (extractive) once, then narrated,
animated (embedded, 720) and composed (720p) with soundbites off and at their
default; it prints each stage's seconds both ways, the difference, and the
soundbites chosen, and the cost as a ratio: seconds of processing per second of
video the soundbites add, against the same run's seconds per second of the
presenter's own narrated video (machines differ up to 4x; the ratio does not).
Writes bench/results/soundbites.json.
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from pathlib import Path
from tempfile import TemporaryDirectory

from common import ROOT, save, table


def narrate(script: Path, folder: Path, language: str):
    from core.artifacts import Narration
    from core.settings import Settings
    from stages import narrate as N

    settings = Settings()
    N.narrate(script, folder, settings.narrate, settings.context, language=language)
    return Narration.read(folder)


def timed(engine: str, folder: Path, size: int, **lipsync) -> dict:
    from core.settings import Settings
    from stages import lipsync as L

    settings = Settings(lipsync={"engine": engine, **lipsync})
    started = time.perf_counter()
    record = L.lipsync(folder / "narration.wav", folder / "narration.json", folder, settings.lipsync, settings.context, size=size)
    seconds = time.perf_counter() - started
    return {"stage": f"lipsync {engine}", "size": size, "frames": record.frames, "seconds": round(seconds, 2), "fps": round(record.frames / seconds, 1)}


def paddlegan_rows(folder: Path) -> list[dict]:
    import paddle

    from engines.lipsync.paddlegan import wav2lip_predictor

    wav2lip_predictor()
    from ppgan.models.generators.wav2lip import Wav2Lip

    checkpoint = folder / "wav2lip_random.pdparams"
    paddle.save(Wav2Lip().state_dict(), str(checkpoint))
    short = folder / "short"
    short.mkdir()
    (short / "script.txt").write_text("Welcome to the weekly digest. Today, three stories.", encoding="utf-8")
    narrate(short / "script.txt", short, "en")
    rows = [timed("paddlegan", short, size, paddlegan={"checkpoint": checkpoint}) for size in (512, 720)]
    for row in rows:
        row["stage"] += " (random weights)"
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--language", default="en", choices=["en", "zh"])
    parser.add_argument("--soundbites", action="store_true", help="Measure what soundbites add to the sample run (issue 26) instead.")
    args = parser.parse_args()
    if args.soundbites:
        return soundbite_cost(ROOT / "assets" / "sample" / "field-notes-batteries.mp3")
    from core.settings import Settings
    from evaluation import lipmetrics
    from stages import compose as C

    with TemporaryDirectory() as tmp:
        folder = Path(tmp)
        narration = narrate(ROOT / "bench" / "data" / f"script-{args.language}.txt", folder, args.language)
        rows = [timed("embedded", folder, size) for size in (512, 720)]
        started = time.perf_counter()
        C.compose(folder / "lipsync.mp4", folder / "narration.json", folder, Settings().compose, title="Benchmark", show="bench")
        seconds = time.perf_counter() - started
        frames = rows[-1]["frames"]
        rows.append({"stage": "compose 720p", "size": 720, "frames": frames, "seconds": round(seconds, 2), "fps": round(frames / seconds, 1)})
        scores = {"astronaut (default)": {**lipmetrics.score(folder / "lipsync.mp4", narration, crop_of(None)).to_dict(), **amplitude(folder, narration, None)}}
        hopper, drawing = grace_hopper(), illustration(folder)
        for name, portrait in (("Grace Hopper", hopper), ("illustration", drawing)):
            timed("embedded", folder, 720, portrait=portrait)
            scores[name] = {**lipmetrics.score(folder / "lipsync.mp4", narration, crop_of(portrait)).to_dict(), **amplitude(folder, narration, portrait)}
        side_by_side(folder, narration, [("astronaut", None), ("Grace Hopper", hopper), ("illustration", drawing)], ROOT / "docs" / "lipsync-side-by-side.png")
        if importlib.util.find_spec("ppgan"):
            rows += paddlegan_rows(folder)
    print(f"Narration {narration.duration:.1f} s ({args.language}), 2 cores\n")
    table(["stage", "size", "frames", "seconds", "frames/s"], [[r["stage"], r["size"], r["frames"], r["seconds"], r["fps"]] for r in rows])
    print()
    names = ["closure_rate", "open_vowel_rate", "silence_rate", "silence_120ms", "offset_frames", "opening_median", "opening_p90", "opening_p95"]
    names += ["opening_range", "round_spread_width", "teeth_share", "teeth_band_difference", "upper_face_ssim"]
    table(["portrait (720)", *names], [[portrait, *(score[n] if score[n] is not None else "–" for n in names)] for portrait, score in scores.items()])
    save("lipsync.json", {"rows": rows, "scores": scores})


def amplitude(folder: Path, narration, portrait: Path | None) -> dict:
    """The opening's distribution above the portrait's rest gap (median, p90, p95 over face height) and closure in pauses of 120 ms or more."""
    import numpy as np
    from PIL import Image

    from evaluation import lipmetrics, lipviews

    frames, fps = lipmetrics.read_frames(folder / "lipsync.mp4")
    opening, _ = lipmetrics.mouth_openings(frames)
    crop = np.asarray(Image.fromarray(crop_of(portrait)).resize(frames.shape[2:0:-1], Image.Resampling.LANCZOS))
    rest = lipviews.gap_of(lipviews.landmarks_of(crop))
    spread = lipviews.distribution(np.clip(opening - rest, 0, None))
    return {"silence_120ms": lipviews.silence_closure(opening, narration, fps, rest), **{f"opening_{k}": v for k, v in spread.items()}}


def illustration(folder: Path) -> Path:
    """A closed-mouth illustration: Grace Hopper through OpenCV's stylization (edge-preserving, painted look)."""
    import cv2
    import numpy as np
    from PIL import Image

    painted = cv2.stylization(np.asarray(Image.open(grace_hopper()).convert("RGB")), sigma_s=40, sigma_r=0.35)
    path = folder / "illustration.png"
    Image.fromarray(painted).save(path)
    return path


SHEET_CLASSES = ["rest", "b/p/m", "f/v", "open a", "mid e/ə", "spread i", "round o/u", "l/n/t/d"]


def sheet_frames(narration, track) -> list[tuple[str, int]]:
    """One frame per mouth class, the same for every portrait: the class's median opening (the widest for open vowels); rest in the longest pause."""
    from engines.lipsync import visemes

    tests = {
        "b/p/m": visemes.is_bilabial, "f/v": lambda u: visemes.symbol_of(u) in ("f", "v"), "open a": visemes.is_open_vowel,
        "mid e/ə": lambda u: visemes.symbol_of(u)[:1] in "eɛəɜ" and visemes.shape(u)[2] == 0, "spread i": lambda u: visemes.symbol_of(u)[:1] in "iɪ",
        "round o/u": lambda u: visemes.is_vowel(u) and visemes.shape(u)[2] >= 1, "l/n/t/d": lambda u: visemes.symbol_of(u) in ("l", "n", "t", "d"),
    }
    last, units, picks = len(track) - 1, narration.units(), []
    for name in SHEET_CLASSES:
        if name == "rest":
            quiet = [i for i in range(len(track)) if track[i, 0] == 0 and not any(u.start - 0.1 <= i / 25 <= u.end + 0.1 for u in units)]
            picks.append((name, quiet[len(quiet) // 2] if quiet else 0))
            continue
        found = sorted((min(last, int((u.start if name == "b/p/m" else (u.start + u.end) / 2) * 25)) for u in units if tests[name](u.unit)), key=lambda i: track[i, 0])
        picks.append((name, (found[-1] if name == "open a" else found[len(found) // 2]) if found else 0))
    return picks


def side_by_side(folder: Path, narration, portraits: list[tuple[str, Path | None]], out: Path) -> Path:
    """One image: each portrait's mouth, unscaled, for the same eight classes (frames of this narration), the portrait itself first."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFont

    from core.media.ffmpeg import read_wav
    from engines.lipsync import portrait as P
    from engines.lipsync import visemes
    from engines.lipsync.animator import Animator
    from engines.lipsync.face import CHIN, FOREHEAD, MOUTH_LEFT, MOUTH_RIGHT, NOSE_TIP

    audio, rate = read_wav(folder / "narration.wav")
    track = visemes.openings(narration, audio, rate, 25, int(np.ceil(len(audio) / rate * 25)))
    picks = sheet_frames(narration, track)
    rows = []
    for label, path in portraits:
        image, face = P.load_portrait(path or P.default_portrait())
        crop, lm = P.frame_portrait(image, face, 720)
        animator = Animator(crop, lm, 25, 0)
        cx, half, height = (lm[MOUTH_LEFT, 0] + lm[MOUTH_RIGHT, 0]) / 2, (lm[MOUTH_RIGHT, 0] - lm[MOUTH_LEFT, 0]) / 2, lm[CHIN, 1] - lm[FOREHEAD, 1]
        x0, x1, y0, y1 = int(cx - 1.7 * half), int(cx + 1.7 * half), int(lm[NOSE_TIP, 1] + 0.02 * height), int(lm[CHIN, 1] + 0.02 * height)
        tiles = [(f"{label}", crop)] + [(f"{name} ({track[i, 0]:.2f})", animator.draw(track[i])) for name, i in picks]
        rows.append([(text, np.ascontiguousarray(frame[y0:y1, x0:x1])) for text, frame in tiles])
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 13)
    width = max(sum(tile.shape[1] + 2 for _, tile in row) for row in rows)
    sheet = Image.new("RGB", (width, sum(max(tile.shape[0] for _, tile in row) + 18 for row in rows)), "white")
    draw, y = ImageDraw.Draw(sheet), 0
    for row in rows:
        x = 0
        for text, tile in row:
            sheet.paste(Image.fromarray(tile), (x, y))
            draw.text((x + 3, y + tile.shape[0] + 2), text, fill="black", font=font)
            x += tile.shape[1] + 2
        y += max(tile.shape[0] for _, tile in row) + 18
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out)
    return out


def grace_hopper() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"


def crop_of(portrait: Path | None):
    """The framed portrait at 720, for the measures that compare a video with it."""
    from engines.lipsync import portrait as P

    image, face = P.load_portrait(portrait or P.default_portrait())
    return P.frame_portrait(image, face, 720)[0]



def soundbite_cost(sample: Path) -> None:
    """Seconds per stage of the sample run with soundbites off and at their default, and what they add."""
    import shutil

    from core.artifacts import Summary, Transcript
    from core.glossary import Glossary
    from core.media.ffmpeg import decode_audio, write_wav
    from core.settings import Settings
    from evaluation import diarization as D
    from stages import diarize as Z

    with TemporaryDirectory() as tmp:
        base = Path(tmp) / "transcript"
        base.mkdir()
        audio = decode_audio(sample, D.RATE).astype("float32") / 32768
        settings = Settings()
        started = time.perf_counter()
        segments = D.transcribe(audio, "en", settings)
        labelled, speakers = Z.diarize(segments, [(0.0, write_wav(base / "audio.wav", audio, D.RATE))], settings.diarize, settings.context, Glossary())
        prepared = round(time.perf_counter() - started, 2)
        Transcript(language="en", duration=len(audio) / D.RATE, text=" ".join(s.text.strip() for s in labelled), segments=labelled, speakers=speakers).write(base)
        runs: dict[str, dict] = {}
        for label, count in (("off", 0), ("default", None)):
            folder = Path(tmp) / label
            folder.mkdir()
            shutil.copy(base / "transcript.json", folder)
            options = Settings(summarize={"engines": ["extractive"], "soundbites": count})
            times = _timed_stages(folder, options, sample)
            summary = Summary.read(folder)
            from core.artifacts import Narration

            narration = Narration.read(folder)
            runs[label] = {
                "seconds": times, "total": round(sum(times.values()), 2), "narration_seconds": narration.duration,
                "soundbites": [{"speaker": b.speaker, "start": b.start, "end": b.end, "text": b.text} for b in summary.beats if b.source == "soundbite"],
            }
    print(f"Sample: {sample.name}, {len(speakers)} speaker(s) found; transcribe and diarize once: {prepared} s; 2 cores (shared)\n")
    stages = [*runs["off"]["seconds"], "total"]
    row = lambda stage, run: run["total"] if stage == "total" else run["seconds"][stage]
    table(["stage", "soundbites off (s)", "default (s)", "added (s)"], [[s, row(s, runs["off"]), row(s, runs["default"]), round(row(s, runs["default"]) - row(s, runs["off"]), 2)] for s in stages])
    off, on = runs["off"], runs["default"]
    video = on["narration_seconds"] - off["narration_seconds"]
    added = on["total"] - off["total"]
    own_rate, added_rate = off["total"] / off["narration_seconds"], added / video if video > 0 else 0.0
    print(f"\nnarration: {off['narration_seconds']} s without, {on['narration_seconds']} s with soundbites (+{video:.1f} s of video)")
    print(f"this machine, soundbites off: {own_rate:.2f} s of processing per second of the presenter's video (narrate + lipsync + compose)")
    print(f"soundbites: {added_rate:.2f} s per second of video they add, {added_rate / own_rate:.2f}x the presenter's own rate; {added:+.2f} s in all")
    ratios = {"video_added_seconds": round(video, 2), "own_seconds_per_video_second": round(own_rate, 3), "added_seconds_per_video_second": round(added_rate, 3)}
    for bite in runs["default"]["soundbites"]:
        print(f"soundbite: {bite['speaker']}, {bite['start']:.2f}-{bite['end']:.2f} s of the episode: {bite['text']}")
    save("soundbites.json", {"sample": sample.name, "speakers": len(speakers), "prepare_seconds": prepared, **ratios, **runs})


def _timed_stages(folder: Path, options, sample: Path) -> dict[str, float]:
    """Summarize (extractive), narrate, lipsync at 720 and compose the episode in ``folder``: seconds per stage."""
    from stages import compose as C
    from stages import lipsync as L
    from stages import narrate as N
    from stages import summarize as S

    title, show = "Home batteries, explained", "Field Notes"
    times = {}
    for stage, run in (
        ("summarize", lambda: S.summarize(folder / "transcript.json", folder, options.summarize, options.context, title=title, show=show)),
        ("narrate", lambda: N.narrate(folder / "script.txt", folder, options.narrate, options.context, language="en", audio=sample)),
        ("lipsync", lambda: L.lipsync(folder / "narration.wav", folder / "narration.json", folder, options.lipsync, options.context, size=720)),
        ("compose", lambda: C.compose(folder / "lipsync.mp4", folder / "narration.json", folder, options.compose, title=title, show=show)),
    ):
        started = time.perf_counter()
        run()
        times[stage] = round(time.perf_counter() - started, 2)
    return times


if __name__ == "__main__":
    main()
