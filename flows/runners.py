"""Where a flow's mapped tasks run: a bounded thread pool by default, or a Dask cluster for scale-out."""

from __future__ import annotations

from typing import Any

from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from core.errors import EngineError
from core.settings import Settings

MAX_THREADS = 8


def task_runner(settings: Settings) -> TaskRunner[Any]:
    """ThreadPoolTaskRunner, or prefect-dask's DaskTaskRunner on an existing scheduler or a local cluster."""
    options = settings.runner
    if options.kind == "threads":
        return ThreadPoolTaskRunner(max_workers=MAX_THREADS)
    try:
        from prefect_dask import DaskTaskRunner
    except ImportError as error:
        raise EngineError("The dask runner needs prefect-dask.", "Install the extra: pip install -e '.[dask]' (make setup does).") from error
    if options.dask_address:
        return DaskTaskRunner(address=options.dask_address)
    return DaskTaskRunner(cluster_kwargs={"n_workers": options.dask_workers, "threads_per_worker": 1, "processes": True, "dashboard_address": None})
