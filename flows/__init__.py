"""Prefect flows: they wire the plain stages in stages/ into tasks, caching, retries and artifacts.

Importing this package applies Prefect's offline defaults (flows.prefect_env)
before Prefect itself is imported, wherever the flows are used from.
"""

from . import prefect_env

prefect_env.apply()
