"""Use cases: one module per question the service answers.

Each report takes validated arguments, reads through the repositories, computes with the
analytics core and returns plain dataclasses (never protobuf); ``server.api`` maps them.
"""
