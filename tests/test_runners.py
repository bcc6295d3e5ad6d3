"""Scale-out: chunk transcription on a local Dask cluster of two workers gives the thread runner's transcript."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from .support import ffmpeg, wer

pytestmark = [pytest.mark.flow, pytest.mark.slow, pytest.mark.usefixtures("prefect_server")]


def test_dask_cluster_transcribes_like_the_thread_pool(jfk_flac, tmp_path):
    from core.settings import Settings
    from flows.digest import digest
    from flows.runners import task_runner

    episode = tmp_path / "three-times.wav"  # 33 s, cut into three chunks
    ffmpeg("-i", str(jfk_flac), "-i", str(jfk_flac), "-i", str(jfk_flac), "-filter_complex", "[0:a][1:a][2:a]concat=n=3:v=0:a=1", "-ar", "16000", "-ac", "1", str(episode))
    texts, inputs = {}, {}
    for kind in ("threads", "dask"):
        overrides = {"transcribe": {"model": "tiny.en", "workers": 2, "threads": 1}, "split": {"chunk_seconds": 11, "search_seconds": 2}, "runner": {"kind": kind, "dask_workers": 2}}
        runner = task_runner(Settings(**overrides))
        folder = Path(digest.with_options(task_runner=runner)(str(episode), output_dir=str(tmp_path / kind), until="transcribe", overrides=overrides))
        chunks = json.loads((folder / "chunks.json").read_text())
        chunks = chunks["chunks"] if isinstance(chunks, dict) else chunks
        assert len(chunks) >= 3
        texts[kind] = json.loads((folder / "transcript.json").read_text())["text"]
        # what each chunk was handed: its audio, its place on the timeline, the prompt and the language
        inputs[kind] = [
            (hashlib.sha256((folder / c["path"]).read_bytes()).hexdigest(), c["offset"], *(lambda t: (t["offset"], t["prompt"], t["language"]))(json.loads((folder / c["path"]).with_suffix(".json").read_text())))
            for c in chunks if not c["silent"]
        ]
    assert inputs["dask"] == inputs["threads"], "both runners hand every chunk the same inputs"
    # Decoding is not bit-identical across processes: Whisper's temperature fallback samples, and CTranslate2 picks its kernels
    # per CPU; a near-silent chunk end can come out as an extra "thank you". The same words within 5 %, the three "ask not".
    assert wer(texts["dask"], texts["threads"]) <= 0.05, texts
    assert texts["dask"].lower().count("ask not") == texts["threads"].lower().count("ask not") == 3
