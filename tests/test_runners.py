"""Scale-out: chunk transcription on a local Dask cluster of two workers gives the thread runner's transcript."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .support import ffmpeg, normalise

pytestmark = [pytest.mark.flow, pytest.mark.slow, pytest.mark.usefixtures("prefect_server")]


def test_dask_cluster_transcribes_like_the_thread_pool(jfk_flac, tmp_path):
    from core.settings import Settings
    from flows.digest import digest
    from flows.runners import task_runner

    episode = tmp_path / "three-times.wav"  # 33 s, cut into three chunks
    ffmpeg("-i", str(jfk_flac), "-i", str(jfk_flac), "-i", str(jfk_flac), "-filter_complex", "[0:a][1:a][2:a]concat=n=3:v=0:a=1", "-ar", "16000", "-ac", "1", str(episode))
    texts = {}
    for kind in ("threads", "dask"):
        overrides = {"transcribe": {"model": "tiny.en", "workers": 2, "threads": 1}, "split": {"chunk_seconds": 11, "search_seconds": 2}, "runner": {"kind": kind, "dask_workers": 2}}
        runner = task_runner(Settings(**overrides))
        folder = Path(digest.with_options(task_runner=runner)(str(episode), output_dir=str(tmp_path / kind), until="transcribe", overrides=overrides))
        chunks = json.loads((folder / "chunks.json").read_text())
        assert len(chunks["chunks"] if isinstance(chunks, dict) else chunks) >= 3
        texts[kind] = json.loads((folder / "transcript.json").read_text())["text"]
    # the same words; case and commas may differ (the engine's decoding is not bit-identical across processes)
    assert normalise(texts["dask"]) == normalise(texts["threads"]) and texts["dask"].lower().count("ask not") == 3
