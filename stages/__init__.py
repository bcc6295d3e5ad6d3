"""The pipeline stages: plain Python, one module per stage, no Prefect."""

