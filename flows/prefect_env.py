"""Prefect's offline defaults, in one place: applied wherever the flows are imported (CLI, bench, workers, notebooks).

They are defaults: a variable the user set explicitly wins. They must be in
the environment before Prefect is imported, which ``flows/__init__.py`` ensures.
"""

from __future__ import annotations

import os

DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",  # no telemetry service in the (temporary) server
    "DO_NOT_TRACK": "1",  # no client-side analytics
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",  # the 20 s default times out on a busy 2-core machine
    "PREFECT_SERVER_UI_V2_ENABLED": "false",  # the v2 UI tries an analytics fetch
    "PREFECT_LOGGING_EXTRA_LOGGERS": "core,engines,stages",  # our loggers in the run's logs and the UI
    "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",  # stages run outside a flow (presenter say, tests) log to the terminal only
}


def apply() -> None:
    for name, value in DEFAULTS.items():
        os.environ.setdefault(name, value)
