# syntax=docker/dockerfile:1
# Images for docker-compose.yml: `server` (the gRPC server) and `envoy` (the public face on 8004).
# Generated code is produced here from protos/, exactly as `make gen` does locally.

FROM python:3.11-slim AS codegen
WORKDIR /src
RUN pip install --no-cache-dir "grpcio-tools>=1.85.1,<1.86" "mypy-protobuf>=5.1,<6" \
        "googleapis-common-protos>=1.76,<2"
COPY protos protos
COPY clients clients
RUN python clients/generate.py

FROM python:3.11-slim AS server
WORKDIR /app
COPY pyproject.toml README.md ./
COPY analytics analytics
COPY server server
COPY devstack devstack
COPY envoy.yaml envoy.yaml
COPY --from=codegen /src/clients clients
# pyyaml: `python -m devstack envoy-config` renders envoy.yaml with this deployment's CORS origins.
RUN pip install --no-cache-dir . "pyyaml>=6,<7" && useradd --system --no-create-home app
USER app
# The gRPC port (50051) listens on 127.0.0.1 only (GRPC_HOST): Envoy, in the same network
# namespace, is the way in.
STOPSIGNAL SIGTERM
CMD ["python", "-m", "server"]

FROM envoyproxy/envoy:v1.40-latest AS envoy
WORKDIR /app
COPY envoy.yaml /app/envoy.yaml
COPY --from=codegen /src/build/mlanalytics.pb /app/build/mlanalytics.pb
# Envoy exits at once on SIGTERM; envoy-graceful drains it first (bash, /dev/tcp: no curl here).
COPY devstack/envoy-graceful /app/envoy-graceful
CMD ["/app/envoy-graceful", "envoy", "-c", "/app/envoy.yaml", "--disable-hot-restart", \
     "--drain-strategy", "immediate"]
