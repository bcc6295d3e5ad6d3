"""How long a rerun of an already transcribed episode takes (target: under 10 s).

Runs ``presenter run`` on the bundled sample twice into a fresh output folder
and reports wall time of each, the process start-up included (with no
PREFECT_API_URL set, that includes starting Prefect's temporary server).

    .venv/bin/python bench/rerun.py [SOURCE]
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    source = sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "assets/sample/jfk-inaugural.flac")
    presenter = Path(sys.executable).with_name("presenter")
    with tempfile.TemporaryDirectory() as out:
        times = []
        for _ in range(2):
            started = time.perf_counter()
            subprocess.run([str(presenter), "run", source, "--until", "transcribe", "--output", out], check=True, capture_output=True)
            times.append(time.perf_counter() - started)
        manifest = json.loads(next(Path(out).glob("*/manifest.json")).read_text())
    cached = {stage: record.get("cached") for stage, record in manifest["stages"].items() if "cached" in record}
    print("| run | wall s | stages from cache |")
    print("| --- | ---: | --- |")
    print(f"| first | {times[0]:.1f} | none |")
    print(f"| rerun | {times[1]:.1f} | {', '.join(s for s, c in cached.items() if c) or 'none'} |")


if __name__ == "__main__":
    main()
