"""The ML Analytics gRPC server: the API face (``server.api``), use cases (``server.reports``),
SQL (``server.repositories``), domain types, database pool, configuration and entry point."""

from importlib.metadata import version

SERVICE_NAME = "ml-analytics-service"
SERVICE_VERSION = version("mlanalytics")  # pyproject.toml's, the one place it is kept
