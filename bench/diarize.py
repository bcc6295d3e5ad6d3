"""Speaker diarization: real-time factor and peak memory of CAM++ in onnxruntime and in torch, at 1 and 2 threads, with DER.

The audio is the synthetic conversations of evaluation/diarization.py (spoken
by the project's voices, turns known), repeated to about ``--minutes``; each
configuration runs in its own process so its peak memory is its own. The model
is loaded (and, for ONNX, exported once) before the clock starts.

    .venv/bin/python bench/diarize.py [--minutes 5]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from common import in_own_process, peak_mb, report, save, table


def worker(folder: str, runtime: str, threads: str) -> None:
    import numpy as np

    from core.artifacts import Segment, Word
    from core.glossary import Glossary
    from core.media.ffmpeg import read_wav
    from core.settings import Settings
    from evaluation.diarization import der
    from stages import diarize as Z

    settings = Settings(diarize={"threads": int(threads), "campplus": {"runtime": runtime}})
    Z.load_engine(settings.diarize, settings.context)
    data = json.loads((Path(folder) / "conversation.json").read_text())
    segments = [Segment(s["start"], s["end"], s["text"], [Word(**w) for w in s["words"]]) for s in data["segments"]]
    duration = len(read_wav(Path(folder) / "audio.wav")[0]) / 16_000
    started = time.perf_counter()
    labelled, speakers = Z.diarize(segments, [(0.0, Path(folder) / "audio.wav")], settings.diarize, settings.context, Glossary())
    seconds = time.perf_counter() - started
    reference = [tuple(t) for t in data["reference"]]
    report({"rtf": round(seconds / duration, 4), "seconds": round(seconds, 2), "audio": round(duration, 1), "speakers": len(speakers),
            "der": round(der(reference, labelled), 3), "peak_mb": round(peak_mb()), "true_speakers": int(np.unique([t[2] for t in reference]).size)})


def conversation(folder: Path, minutes: float) -> None:
    """Both synthetic conversations, one after the other, repeated to about ``minutes``; their transcript and turns."""
    import numpy as np

    from core.media.ffmpeg import write_wav
    from core.settings import Settings
    from evaluation.diarization import CONVERSATIONS, RATE, speak, transcribe

    settings = Settings()
    pieces, reference, segments, clock = [], [], [], 0.0
    spoken = []
    for c in CONVERSATIONS:
        audio, turns = speak(c)
        spoken.append((audio, [(a, b, c.voices[who]) for a, b, who in turns], transcribe(audio, c.language, settings)))
    while clock < minutes * 60:
        for audio, turns, found in spoken:
            pieces.append(audio)
            reference += [(a + clock, b + clock, voice) for a, b, voice in turns]  # one voice (jm_kumo) speaks in both
            segments += [{"start": s.start + clock, "end": s.end + clock, "text": s.text,
                          "words": [{"start": w.start + clock, "end": w.end + clock, "word": w.word, "probability": w.probability} for w in s.words]} for s in found]
            clock += len(audio) / RATE
    write_wav(folder / "audio.wav", np.concatenate(pieces), RATE)
    (folder / "conversation.json").write_text(json.dumps({"segments": segments, "reference": reference}, ensure_ascii=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=5.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        conversation(Path(folder), args.minutes)
        rows, results = [], []
        for runtime in ("onnx", "torch"):
            for threads in ("1", "2"):
                result = {"runtime": runtime, "threads": int(threads), **in_own_process(__file__, folder, runtime, threads)}
                results.append(result)
                rows.append([f"CAM++ {runtime}", result["threads"], result["rtf"], result["peak_mb"], result["der"], f"{result['speakers']} of {result['true_speakers']}"])
    table(["engine", "threads", "RTF", "peak MB", "DER", "speakers"], rows, "lrrrrl")
    print(f"(audio: {results[0]['audio']} s of synthetic two- and three-speaker conversations)")
    save("diarize.json", results)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(*sys.argv[2:])
    else:
        main()
