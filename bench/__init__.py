"""Benchmarks: ``python -m bench.run`` (the service through Envoy) and ``bench_analytics.py``."""
