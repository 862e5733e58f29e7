"""The ML Analytics gRPC server: servicers, validation, errors, database pool, SQL, config."""

SERVICE_NAME = "ml-analytics-service"
SERVICE_VERSION = "0.1.0"
