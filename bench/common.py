"""What the benchmarks share: the repository on sys.path, one process per configuration, tables and result files."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from flows import prefect_env  # noqa: E402

prefect_env.apply()


def peak_mb() -> float:
    """Peak resident memory of this process, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def in_own_process(script: str, *args: str) -> dict[str, Any]:
    """Run ``script --worker args...`` in a fresh interpreter (so its peak memory is its own); its last line is JSON."""
    done = subprocess.run([sys.executable, script, "--worker", *args], capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"{' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(result: dict[str, Any]) -> None:
    """A worker's answer to its parent: one JSON line."""
    print(json.dumps(result))


def table(headers: list[str], rows: list[list[Any]], align: str | None = None) -> None:
    """Print a Markdown table; ``align`` is one letter per column, 'l' or 'r' (numbers right by default)."""
    align = align or "".join("r" if isinstance(v, (int, float)) else "l" for v in rows[0]) if rows else "l" * len(headers)
    print("| " + " | ".join(headers) + " |")
    print("| " + " | ".join("---:" if a == "r" else "---" for a in align) + " |")
    for row in rows:
        print("| " + " | ".join(str(v) for v in row) + " |")


def save(name: str, data: Any) -> Path:
    path = ROOT / "bench" / "results" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    return path
