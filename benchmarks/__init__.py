"""Benchmarks of zenhire-async against its peers; run with ``python -m benchmarks``."""
