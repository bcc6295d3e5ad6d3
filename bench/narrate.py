"""Narration speed and memory per engine and language, through the narrate stage itself.

Each configuration runs in its own process (peak memory is its own) on a script
of about 90 seconds (bench/data/script-en.txt, script-zh.txt, and
script-mixed.txt: Chinese with English names and terms). The real-time factor
is wall time of the whole stage (text normalisation, synthesis, resampling,
loudness) divided by the narration's length; model loading is reported apart.

    .venv/bin/python bench/narrate.py [--threads 1,2] [--runs 1] [--engines kokoro,embedded,espeak]

Prints a Markdown table and writes bench/results/narrate.json.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import tempfile
import time
from pathlib import Path

from common import ROOT, in_own_process, peak_mb, report, save, table

LANGUAGES = ("zh", "en", "mixed")


def worker(engine: str, language: str, threads: int, runs: int) -> None:
    from core.artifacts import Narration
    from core.registry import VOICES
    from core.settings import Settings
    from stages import narrate as N

    settings = Settings(narrate={"engines": [engine], "threads": threads})
    script = ROOT / "bench" / "data" / f"script-{language}.txt"
    language = "en" if language == "en" else "zh"
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        VOICES.get(engine)(settings.narrate, settings.context).speak("你好" if language == "zh" else "Hello.", language)  # load the model (and build it once)
        load_s = time.perf_counter() - started
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            N.narrate(script, Path(folder), settings.narrate, settings.context, language=language)
            times.append(time.perf_counter() - started)
        duration = Narration.read(Path(folder)).duration
    report({"load_s": load_s, "run_s": sorted(times)[len(times) // 2], "audio_s": duration, "peak_mb": peak_mb()})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", default="1,2", help="thread counts to measure, comma-separated")
    parser.add_argument("--runs", type=int, default=1, help="timed runs per configuration (median reported)")
    parser.add_argument("--engines", default="kokoro,embedded,espeak")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker, int(args.threads), args.runs)
        return
    rows = []
    for engine in args.engines.split(","):
        if engine == "espeak" and not shutil.which("espeak-ng"):
            continue
        for threads in args.threads.split(",") if engine != "espeak" else ["1"]:
            for language in LANGUAGES:
                result = in_own_process(__file__, engine, language, "--threads", threads, "--runs", str(args.runs))
                rows.append({"engine": engine, "language": language, "threads": int(threads), **result})
    print(f"Narration, {platform.processor() or platform.machine()}, median of {args.runs}\n")
    table(
        ["engine", "script", "threads", "audio s", "synthesis s", "RTF", "load s", "peak MB"],
        [[r["engine"], r["language"], r["threads"], f"{r['audio_s']:.1f}", f"{r['run_s']:.2f}", f"{r['run_s'] / r['audio_s']:.3f}", f"{r['load_s']:.2f}", f"{r['peak_mb']:.0f}"] for r in rows],
        "llrrrrrr",
    )
    save("narrate.json", rows)


if __name__ == "__main__":
    main()
