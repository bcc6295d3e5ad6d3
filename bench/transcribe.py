"""Transcription speed and memory: faster-whisper vs openai-whisper on the same base weights.

Each configuration runs in its own process (so peak memory is its own), on the
same clip with the same thread count, through the project's own engines.
The default clip is 97 s of English: the real JFK excerpt followed by the
Gettysburg Address read by espeak-ng (repeating one clip would make Whisper
fall back to higher temperatures and distort the figures). ``--clip`` takes
any audio file instead.

    .venv/bin/python bench/transcribe.py [--clip FILE] [--threads 2] [--runs 3]

Prints a Markdown table and writes bench/results/transcribe.json.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import tempfile
import time
from pathlib import Path

from common import ROOT, in_own_process, peak_mb, report, save, table

CONFIGS = [
    ("faster-whisper", "base", "int8"),
    ("faster-whisper", "base", "float32"),
    ("openai-whisper", "base", "float32"),
    ("faster-whisper", "tiny.en", "int8"),
]


def worker(engine: str, model: str, compute: str, threads: int, clip: str, runs: int) -> None:
    from core.media.ffmpeg import read_wav
    from core.settings import Settings
    from stages import transcribe as T

    settings = Settings(transcribe={"engine": engine, "model": model, "threads": threads, "faster_whisper": {"compute_type": compute}})
    started = time.perf_counter()
    loaded = T.load_engine(settings.transcribe, settings.context)
    load_s = time.perf_counter() - started
    audio, _ = read_wav(Path(clip))
    times, text = [], ""
    for _ in range(runs):
        started = time.perf_counter()
        result = loaded.transcribe(audio, language="en", prompt=None, on_progress=None)
        times.append(time.perf_counter() - started)
        text = " ".join(s.text for s in result.segments)
    report({"load_s": load_s, "run_s": sorted(times)[len(times) // 2], "peak_mb": peak_mb(), "words": len(text.split())})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clip", type=Path, help="speech to transcribe (default: JFK + Gettysburg Address, 97 s)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3, help="timed runs per engine (median reported)")
    parser.add_argument("--worker", nargs=6, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        engine, model, compute, threads, clip, runs = args.worker
        worker(engine, model, compute, int(threads), clip, int(runs))
        return

    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "clip.wav"
        if args.clip:
            sources = [args.clip]
        else:
            speech = Path(tmp) / "gettysburg.wav"
            subprocess.run(["espeak-ng", "-v", "en-us", "-s", "165", "-f", str(ROOT / "bench/data/gettysburg.txt"), "-w", str(speech)], check=True)
            sources = [ROOT / "assets/sample/jfk-inaugural.flac", speech]
        inputs = sum((["-i", str(p)] for p in sources), [])
        concat = "".join(f"[{i}:a]aresample=16000,aformat=channel_layouts=mono[a{i}];" for i in range(len(sources)))
        concat += "".join(f"[a{i}]" for i in range(len(sources))) + f"concat=n={len(sources)}:v=0:a=1"
        subprocess.run(["ffmpeg", "-v", "error", "-y", *inputs, "-filter_complex", concat, "-ar", "16000", "-ac", "1", "-sample_fmt", "s16", str(clip)], check=True)
        duration = (clip.stat().st_size - 44) / 32_000
        rows = []
        for engine, model, compute in CONFIGS:
            result = in_own_process(__file__, engine, model, compute, str(args.threads), str(clip), str(args.runs))
            rows.append({"engine": engine, "model": model, "compute": compute, "rtf": result["run_s"] / duration, **result})

    reference = next(r for r in rows if r["engine"] == "openai-whisper")
    print(f"\nClip: {duration:.1f} s of English speech, {args.threads} threads, median of {args.runs} runs, {platform.processor() or platform.machine()}\n")
    table(
        ["engine", "model", "compute", "load s", "transcribe s", "real-time factor", "speed-up vs openai-whisper", "peak MB"],
        [[r["engine"], r["model"], r["compute"], f"{r['load_s']:.1f}", f"{r['run_s']:.2f}", f"{r['rtf']:.3f}", f"{reference['run_s'] / r['run_s']:.1f}x", f"{r['peak_mb']:.0f}"] for r in rows],
        "lllrrrrr",
    )
    save("transcribe.json", {"clip_seconds": duration, "threads": args.threads, "rows": rows})


if __name__ == "__main__":
    main()
