"""byokgate's benchmark harness: run it with `python bench/run.py` (see bench/README.md)."""
