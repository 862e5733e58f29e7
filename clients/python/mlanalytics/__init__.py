"""Python client of the ML Analytics Service.

``mlanalytics.v1`` holds the stubs generated from ``protos/`` (``make gen``).
"""
