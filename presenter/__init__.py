"""The ``presenter`` command line and its doctor: the top layer, over flows, stages, engines and core."""

__version__ = "0.1.0"
