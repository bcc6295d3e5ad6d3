"""Presenter rendering speed and lip-sync quality: the embedded animator at 512 and 720, then compose at 720p.

Narrates bench/data/script-en.txt (about 80 s) once with the embedded voice,
then renders lipsync.mp4 at each size (frames rendered and encoded per second,
wall clock), composes presenter.mp4 at 720p, and scores the 720 video with the
lip-sync measurement (presenter/lipmetrics.py).

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
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def paddlegan_rows(folder: Path) -> list[dict]:
    import paddle

    from presenter.settings import Settings
    from stages import lipsync as L
    from stages import narrate as N

    L.wav2lip_predictor()
    from ppgan.models.generators.wav2lip import Wav2Lip

    checkpoint = folder / "wav2lip_random.pdparams"
    paddle.save(Wav2Lip().state_dict(), str(checkpoint))
    short = folder / "short"
    short.mkdir()
    (short / "script.txt").write_text("Welcome to the weekly digest. Today, three stories.", encoding="utf-8")
    N.narrate(short / "script.txt", short, Settings(), language="en", log=lambda m: None)
    rows = []
    options = Settings(lipsync={"engine": "paddlegan", "paddlegan_checkpoint": checkpoint}).lipsync
    timings = json.loads((short / "narration.json").read_text())
    for size in (512, 720):
        started = time.perf_counter()
        L.PaddleGANWav2Lip().render(L.default_portrait(), short / "narration.wav", timings, short / "lipsync.mp4", size, options, None)
        seconds = time.perf_counter() - started
        frames = json.loads((short / "lipsync.json").read_text())["frames"]
        rows.append({"stage": "lipsync paddlegan (random weights)", "size": size, "frames": frames, "seconds": round(seconds, 2), "fps": round(frames / seconds, 1)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--language", default="en", choices=["en", "zh"])
    args = parser.parse_args()
    from presenter import lipmetrics
    from presenter.settings import Settings
    from stages import compose as C
    from stages import lipsync as L
    from stages import narrate as N

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        N.narrate(ROOT / "bench" / "data" / f"script-{args.language}.txt", folder, Settings(), language=args.language, log=lambda m: None)
        narration = json.loads((folder / "narration.json").read_text())
        for size in (512, 720):
            settings = Settings(compose={"height": 720})
            started = time.perf_counter()
            L.EmbeddedAnimator().render(L.default_portrait(), folder / "narration.wav", narration, folder / "lipsync.mp4", size, settings.lipsync, None)
            seconds = time.perf_counter() - started
            frames = json.loads((folder / "lipsync.json").read_text())["frames"]
            rows.append({"stage": "lipsync", "size": size, "frames": frames, "seconds": round(seconds, 2), "fps": round(frames / seconds, 1)})
        started = time.perf_counter()
        C.compose(folder / "lipsync.mp4", folder / "narration.json", folder, Settings(), title="Benchmark", show="bench")
        seconds = time.perf_counter() - started
        rows.append({"stage": "compose 720p", "size": 720, "frames": frames, "seconds": round(seconds, 2), "fps": round(frames / seconds, 1)})
        score = lipmetrics.score(folder / "lipsync.mp4", narration).to_dict()
        if importlib.util.find_spec("ppgan"):
            rows += paddlegan_rows(folder)
    print(f"Narration {narration['duration']:.1f} s ({args.language}), 2 cores\n")
    print("| stage | size | frames | seconds | frames/s |\n|---|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['stage']} | {r['size']} | {r['frames']} | {r['seconds']} | {r['fps']} |")
    print("\n| closure rate | open-vowel rate | silence rate | offset (frames) |\n|---:|---:|---:|---:|")
    print(f"| {score['closure_rate']} | {score['open_vowel_rate']} | {score['silence_rate']} | {score['offset_frames']} |")
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / "lipsync.json").write_text(json.dumps({"rows": rows, "score": score}, indent=2) + "\n")


if __name__ == "__main__":
    main()
