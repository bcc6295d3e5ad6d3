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

Prints a Markdown table and writes bench/results/lipsync.json.
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
    args = parser.parse_args()
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
        scores = {"astronaut (default)": lipmetrics.score(folder / "lipsync.mp4", narration, crop_of(None)).to_dict()}
        hopper = grace_hopper()
        timed("embedded", folder, 720, portrait=hopper)
        scores["Grace Hopper"] = lipmetrics.score(folder / "lipsync.mp4", narration, crop_of(hopper)).to_dict()
        if importlib.util.find_spec("ppgan"):
            rows += paddlegan_rows(folder)
    print(f"Narration {narration.duration:.1f} s ({args.language}), 2 cores\n")
    table(["stage", "size", "frames", "seconds", "frames/s"], [[r["stage"], r["size"], r["frames"], r["seconds"], r["fps"]] for r in rows])
    print()
    names = ["closure_rate", "open_vowel_rate", "silence_rate", "offset_frames", "opening_range", "round_spread_width", "teeth_share", "teeth_band_difference", "upper_face_ssim"]
    table(["portrait (720)", *names], [[portrait, *(score[n] if score[n] is not None else "–" for n in names)] for portrait, score in scores.items()])
    save("lipsync.json", {"rows": rows, "scores": scores})


def grace_hopper() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"


def crop_of(portrait: Path | None):
    """The framed portrait at 720, for the measures that compare a video with it."""
    from engines.lipsync import portrait as P

    image, face = P.load_portrait(portrait or P.default_portrait())
    return P.frame_portrait(image, face, 720)[0]


if __name__ == "__main__":
    main()
