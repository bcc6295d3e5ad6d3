"""Summaries: speed and memory on a long English transcript, and quality on the Chinese evaluation set.

English (default): bench/data/episode-10min.txt (an interview written for this
benchmark, 1,307 words) timed at 130 words a minute; ``--repeat 6`` makes a
60-minute one. Each configuration runs in its own process; peak memory
includes the in-process llama.cpp server. Embedded rows also give llama.cpp's
own prompt and generation rates on this machine (one short call before the
run): wall times from different machines compare by them. Issue 25's speed
figures are printed as ratios: the prompt tokens the model read (its prompt
cache aside) over the transcript's tokens (target 1.3), the generated tokens
(target 2,500 for 60 minutes), and the wall time over llama.cpp's own time for
those tokens at its measured rates.

Chinese (``--language zh``): each episode of evaluation/zh is transcribed with
and without its show notes (character error rate of each), then summarized
from the transcript with notes by each engine: Chinese share of summary and
script, English words that are no name or term, the show notes' names kept,
distinct chapters, unverified items spoken, and which quality gates fired.

    .venv/bin/python bench/summarize.py [--repeat 1] [--configs embedded-2,embedded-1,extractive]
    .venv/bin/python bench/summarize.py --language zh [--configs embedded-2,extractive]

Prints Markdown tables and writes bench/results/summarize-*.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from common import ROOT, in_own_process, peak_mb, report, save, table

WORDS_PER_MINUTE = 130


def make_transcript(path: Path, repeat: int) -> float:
    lines = [line.strip() for line in (ROOT / "bench/data/episode-10min.txt").read_text().splitlines() if line.strip()]
    segments, clock = [], 0.0
    for _ in range(repeat):
        for line in lines:
            length = len(line.split()) / WORDS_PER_MINUTE * 60
            segments.append({"start": round(clock, 2), "end": round(clock + length, 2), "text": line, "words": []})
            clock += length
    path.write_text(json.dumps({"language": "en", "duration": clock, "segments": segments, "text": " ".join(s["text"] for s in segments)}))
    return clock


def llama_speed(settings, transcript: str = "") -> dict[str, float]:
    """llama.cpp's own prompt and generation rates on this machine (its timings): what runs on other machines compare by;
    and the transcript's length in the model's tokens (its /tokenize)."""

    from core.registry import SUMMARIZERS

    engine = SUMMARIZERS.get("embedded")(settings.summarize, settings.context)
    text = (ROOT / "bench/data/episode-10min.txt").read_text()[:2400]
    try:
        reply = engine.client().chat.completions.create(model=engine.model, messages=[{"role": "user", "content": f"Summarize:\n{text}"}], max_tokens=64, temperature=0)
        tokens = engine.tokens(transcript)
    finally:
        engine.close()
    timings = (reply.model_extra or {})["timings"]
    return {"prompt_tps": timings["prompt_per_second"], "generated_tps": timings["predicted_per_second"], "transcript_tokens": tokens}


def _text_and_duration(transcript: str) -> tuple[str, float]:
    data = json.loads(Path(transcript).read_text())
    return data["text"], data.get("duration") or 0.0


def worker(config: str, transcript: str) -> None:
    from core.artifacts import Summary
    from core.settings import Settings
    from evaluation import rubric
    from stages import summarize as S

    engine, _, threads = config.partition("-")
    settings = Settings(summarize={"engines": [engine], "embedded": {"threads": int(threads or 1)}})
    folder = Path(transcript).parent / config
    folder.mkdir()
    speed = llama_speed(settings, _text_and_duration(transcript)[0]) if engine == "embedded" else {}
    started = time.perf_counter()
    S.summarize(Path(transcript), folder, settings.summarize, settings.context, title="Home batteries with Maria Lopez", show="Field Notes")
    wall = time.perf_counter() - started
    summary = Summary.read(folder)
    report({
        "wall_s": wall, "peak_mb": peak_mb(), "usage": summary.usage, "parts": summary.parts, "levels": summary.reduce_levels,
        "ungrounded": summary.ungrounded, "script_words": len(summary.script.split()), "llama": speed, "gates": [g["gate"] for g in summary.gates],
        "rubric": [list(f) for f in rubric.check(summary.model_dump(mode="json"), *_text_and_duration(transcript))],
        "model_share": rubric.model_share(summary.model_dump(mode="json")),
    })


def chinese(configs: list[str]) -> None:
    from core.settings import Settings
    from evaluation import rubric, zhset
    from stages import summarize as S

    rows, transcripts = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for episode in zhset.episodes():
            bare = zhset.transcribe(episode, Path(tmp) / episode.id / "bare", notes=False)
            with_notes = zhset.transcribe(episode, Path(tmp) / episode.id / "notes")
            transcripts.append([episode.id, f"{zhset.score(episode, bare)['cer']:.3f}", f"{zhset.score(episode, with_notes)['cer']:.3f}", len(with_notes["corrections"])])
            for config in configs:
                engine, _, threads = config.partition("-")
                settings = Settings(summarize={"engines": [engine], "embedded": {"threads": int(threads or 1)}})
                folder = Path(tmp) / episode.id / config
                started = time.perf_counter()
                S.summarize(
                    Path(tmp) / episode.id / "notes" / "transcript.json", folder, settings.summarize, settings.context,
                    title=episode.title, show=episode.show, glossary=zhset.glossary_of(episode),
                )
                summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
                found = rubric.check(summary, with_notes["text"], with_notes.get("duration") or 0.0)
                print(f"{episode.id} {config} rubric:\n{rubric.report(found)}")
                rows.append({
                    "episode": episode.id, "config": config, "wall_s": time.perf_counter() - started, **zhset.score(episode, with_notes, summary), "digest": summary,
                    "rubric": [list(f) for f in found], "model_share": rubric.model_share(summary),
                })
    print("\nTranscripts of evaluation/zh (Whisper base), character error rate\n")
    table(["episode", "CER without show notes", "CER with show notes", "terms repaired"], transcripts, "lrrr")
    print("\nDigests from the transcript with show notes\n")
    table(
        ["episode", "engine", "wall s", "Chinese share", "stray English", "names kept", "chapters distinct", "unverified spoken", "gates fired", "extractive fields",
         "script from the model", "rubric failures"],
        [[r["episode"], r["config"], f"{r['wall_s']:.0f}", f"{r['chinese_share']:.2f}", len(r["foreign_words"]), f"{len(r['names_kept'])}/{r['names_total']}",
          "yes" if r["chapters_distinct"] else "no", len(r["unverified_spoken"]), ", ".join(r["gates"]) or "-", ", ".join(r["extractive_fields"]) or "-",
          f"{r['model_share']:.0%}", ", ".join(sorted({f"{w}:{rule}" for w, rule, _ in r["rubric"]})) or "-"] for r in rows],
        "llrrrrlrllrl",
    )
    save("summarize-zh.json", {"transcripts": transcripts, "rows": rows})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=1, help="transcript length in units of ~10 minutes")
    parser.add_argument("--language", default="en", choices=["en", "zh"], help="zh: the Chinese evaluation set's quality figures")
    parser.add_argument("--configs", default=None, help="engine-threads list (default: embedded-2,embedded-1,extractive; zh: embedded-2,extractive)")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return
    if args.language == "zh":
        chinese((args.configs or "embedded-2,extractive").split(","))
        return
    args.configs = args.configs or "embedded-2,embedded-1,extractive"
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        transcript = Path(tmp) / "transcript.json"
        minutes = make_transcript(transcript, args.repeat) / 60
        for config in args.configs.split(","):
            rows.append({"config": config, **in_own_process(__file__, config, str(transcript))})
    print(f"\nTranscript: {minutes:.1f} minutes of English ({args.repeat} x bench/data/episode-10min.txt)\n")
    lines = []
    for r in rows:
        u, llama = r["usage"], r["llama"]
        engine, _, threads = r["config"].partition("-")
        rate = (u["prompt_tokens"] + u["completion_tokens"]) / r["wall_s"] if u["calls"] else 0
        gen = u["completion_tokens"] / u["seconds"] if u["seconds"] else 0
        # issue 25's speed figures: the prompt tokens read (the server's cache aside) over the transcript's; the wall time
        # over what llama.cpp's own rates on this machine give for those tokens (1.0: no time beyond the model's)
        raw = u.get("read_tokens", u["prompt_tokens"]) / llama["prompt_tps"] + u["completion_tokens"] / llama["generated_tps"] if llama else 0
        lines.append([
            engine, threads or "-", f"{r['wall_s']:.1f}", r["parts"], u["calls"], u["prompt_tokens"], u.get("read_tokens", "-"),
            f"{u.get('read_tokens', 0) / llama['transcript_tokens']:.2f}" if llama else "-", u["completion_tokens"], u.get("declined", 0),
            f"{rate:.1f}", f"{gen:.1f}", f"{llama['prompt_tps']:.0f} / {llama['generated_tps']:.1f}" if llama else "-",
            f"{r['wall_s'] / raw:.2f}" if raw else "-",
            f"{r['peak_mb']:.0f}", ", ".join(r["ungrounded"]) or "-", ", ".join(r["gates"]) or "-",
            f"{r['model_share']:.0%}", ", ".join(sorted({f"{w}:{rule}" for w, rule, _ in r["rubric"]})) or "-",
        ])
    headers = [
        "engine", "threads", "wall s", "parts", "LLM calls", "prompt tok", "prompt tok read", "read / transcript tok", "generated tok", "calls past budget",
        "prompt+gen tok/s", "generated tok/s of LLM time", "llama.cpp prompt / generation tok/s", "wall / llama.cpp time at those rates",
        "peak MB", "ungrounded", "gates fired", "script from the model", "rubric failures",
    ]
    table(headers, lines, "lrrrrrrrrrrrrrrllrl")
    save(f"summarize-{args.repeat}x.json", {"minutes": minutes, "rows": rows})


if __name__ == "__main__":
    main()
