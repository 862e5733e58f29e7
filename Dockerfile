# syntax=docker/dockerfile:1
# Images for docker-compose.yml: `server` (the gRPC server) and `envoy` (the public face on 8004).
# Generated code is produced here from protos/, exactly as `make gen` does locally.

# The assets of /docs, /redoc and /dashboard (swagger-ui-dist, redoc, uplot), pinned by
# docs/ui/package-lock.json, and the desk view's script compiled by the TypeScript compiler that
# clients/typescript pins (generate.py copies what is in build/dashboard when it has no node).
FROM node:20-slim AS docs-ui
WORKDIR /src/docs/ui
COPY docs/ui/package.json docs/ui/package-lock.json docs/ui/.npmrc ./
RUN npm ci
WORKDIR /src/clients/typescript
COPY clients/typescript/package.json clients/typescript/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY docs/ui/dashboard /src/docs/ui/dashboard
RUN node_modules/.bin/tsc -p /src/docs/ui/dashboard --outDir /src/build/dashboard

FROM python:3.11-slim AS codegen
WORKDIR /src
# grpcio-status: the OpenAPI step imports the mlanalytics package (its parameter table).
RUN pip install --no-cache-dir "grpcio-tools>=1.85.1,<1.86" "mypy-protobuf>=5.1,<6" \
        "googleapis-common-protos>=1.76,<2" "grpcio-status>=1.85.3,<1.86"
COPY pyproject.toml ./
COPY protos protos
COPY clients clients
COPY --from=docs-ui /src/docs/ui/node_modules docs/ui/node_modules
COPY docs/ui/dashboard docs/ui/dashboard
COPY --from=docs-ui /src/build/dashboard build/dashboard
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
