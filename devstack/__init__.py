"""The local stack behind `make run`: embedded PostgreSQL, demo data, Envoy, process supervision.

Nothing here is imported by the service itself (``server/``); the tests and benchmarks reuse the
schema, the demo data and the Envoy launcher.
"""
