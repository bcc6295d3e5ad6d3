"""The whole flow on a long episode with the embedded engines: wall time per stage.

The episode is bench/data/episode-10min.txt read by espeak-ng at 150 words a
minute, repeated to about 60 minutes (``--repeat``), as a 64 kbit/s MP3. The
flow runs every stage (faster-whisper base, embedded summary, embedded voice,
embedded animator, 720p compose) through Prefect's temporary server; the table
comes from the episode's manifest.

    .venv/bin/python bench/flow.py [--repeat 7]

Prints a Markdown table and writes bench/results/flow.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

from common import ROOT, save


def make_episode(folder: Path, repeat: int) -> Path:
    text = (ROOT / "bench" / "data" / "episode-10min.txt").read_text(encoding="utf-8")
    part = folder / "part.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(part), text], check=True)
    listing = folder / "parts.txt"
    listing.write_text(f"file '{part}'\n" * repeat)
    episode = folder / "field-notes.mp3"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(listing), "-ac", "1", "-ar", "22050", "-c:a", "libmp3lame", "-b:a", "64k", str(episode)], check=True)
    return episode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=7, help="copies of the ~8.7-minute reading")
    args = parser.parse_args()
    from core.media.ffmpeg import probe_media as probe
    from flows.digest import digest

    with tempfile.TemporaryDirectory() as tmp:
        episode = make_episode(Path(tmp), args.repeat)
        minutes = float(probe(episode)["format"]["duration"]) / 60
        started = time.perf_counter()
        folder = Path(digest(str(episode), output_dir=str(Path(tmp) / "out"), overrides={"transcribe": {"threads": 2}}))
        wall = time.perf_counter() - started
        manifest = json.loads((folder / "manifest.json").read_text())
        video = float(probe(folder / "presenter.mp4")["format"]["duration"])
    rows = [{"stage": name, "seconds": record.get("seconds")} for name, record in manifest["stages"].items()]
    print(f"Episode {minutes:.1f} min → presenter video {video:.1f} s, 2 cores\n")
    print("| stage | seconds |\n|---|---:|")
    for row in rows:
        print(f"| {row['stage']} | {row['seconds']} |")
    print(f"| **whole flow (wall, Prefect included)** | **{wall:.1f}** |")
    save("flow.json", {"episode_minutes": minutes, "video_seconds": video, "wall_seconds": wall, "stages": rows})


if __name__ == "__main__":
    main()
