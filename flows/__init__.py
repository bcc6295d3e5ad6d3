"""Prefect flows: they wire the plain stages in stages/ into tasks, caching, retries and artifacts."""
