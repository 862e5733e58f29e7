# syntax=docker/dockerfile:1
# Images for docker-compose.yml: `server` (the gRPC server) and `envoy` (the public face on 8004).
# Generated code is produced here from protos/, exactly as `make gen` does locally.

# The assets of /docs and /redoc (swagger-ui-dist, redoc), pinned by docs/ui/package-lock.json.
FROM node:20-slim AS docs-ui
WORKDIR /ui
COPY docs/ui/package.json docs/ui/package-lock.json docs/ui/.npmrc ./
RUN npm ci

FROM python:3.11-slim AS codegen
WORKDIR /src
# grpcio-status: the OpenAPI step imports the mlanalytics package (its parameter table).
RUN pip install --no-cache-dir "grpcio-tools>=1.85.1,<1.86" "mypy-protobuf>=5.1,<6" \
        "googleapis-common-protos>=1.76,<2" "grpcio-status>=1.85.3,<1.86"
COPY pyproject.toml ./
COPY protos protos
COPY clients clients
COPY --from=docs-ui /ui/node_modules docs/ui/node_modules
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
# GRPC_HOST defaults to 127.0.0.1; docker-compose.yml sets 0.0.0.0 and keeps the port on internal
# networks, where Envoy finds every replica (`--scale server=N`). Health: python -m server.probe.
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
