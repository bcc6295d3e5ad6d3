"""Podcast to digital presenter: shared pieces used by the stages, the flows and the CLI."""

__version__ = "0.1.0"
