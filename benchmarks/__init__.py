"""Reproducible speed and memory measurements (issue 7): `python -m benchmarks`."""
