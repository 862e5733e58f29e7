"""DocsService: the OpenAPI document, Swagger UI, ReDoc, the desk view and their assets, as HTTP
bodies.

Each answer carries its ETag and ``Cache-Control: no-cache`` (the browser keeps it and asks
again with If-None-Match). When If-None-Match names the current ETag the body is left empty and
the initial metadata carries ``x-not-modified``, which Envoy's response filter turns into
``304 Not Modified`` (envoy.yaml); a gRPC caller sees the empty body and the header.
"""

from __future__ import annotations

from collections.abc import Mapping

import grpc
from google.api import httpbody_pb2
from google.api.httpbody_pb2 import HttpBody
from google.protobuf.message import Message

from mlanalytics.v1 import docs_service_pb2 as pb
from mlanalytics.v1 import docs_service_pb2_grpc
from server.api.docs import Resource, load
from server.api.servicers.base import Dependencies
from server.errors import DashboardAssetNotFound, DocsAssetNotFound

NOT_MODIFIED_HEADER = "x-not-modified"


class DocsServicer(docs_service_pb2_grpc.DocsServiceServicer):
    """Serves what :func:`server.api.docs.load` read; no database work."""

    def __init__(self, deps: Dependencies) -> None:
        """The pages are files of the package, read once; the desk view says whether the edge
        asks for tokens (AUTH_JWKS_FILE set)."""
        self._docs = load(tokens=bool(deps.settings.auth_jwks_file))

    def GetOpenApiDocument(self, request: Message, context: grpc.ServicerContext) -> HttpBody:
        return _send(self._docs.document, context)

    def GetSwaggerUi(self, request: Message, context: grpc.ServicerContext) -> HttpBody:
        return _send(self._docs.swagger_ui, context)

    def GetRedoc(self, request: Message, context: grpc.ServicerContext) -> HttpBody:
        return _send(self._docs.redoc, context)

    def GetDocsAsset(
        self, request: pb.GetDocsAssetRequest, context: grpc.ServicerContext
    ) -> httpbody_pb2.HttpBody:
        return _send_asset(self._docs.assets, request.asset, DocsAssetNotFound, context)

    def GetDashboard(self, request: Message, context: grpc.ServicerContext) -> HttpBody:
        return _send(self._docs.dashboard, context)

    def GetDashboardAsset(
        self, request: pb.GetDashboardAssetRequest, context: grpc.ServicerContext
    ) -> httpbody_pb2.HttpBody:
        return _send_asset(
            self._docs.dashboard_assets, request.asset, DashboardAssetNotFound, context
        )


def _send(resource: Resource, context: grpc.ServicerContext) -> httpbody_pb2.HttpBody:
    headers: tuple[tuple[str, str | bytes], ...] = (
        ("etag", resource.etag),
        ("cache-control", "no-cache"),
    )
    if resource.matches(_header(context, "if-none-match")):
        context.send_initial_metadata((*headers, (NOT_MODIFIED_HEADER, "1")))
        return httpbody_pb2.HttpBody(content_type=resource.content_type)
    context.send_initial_metadata(headers)
    return httpbody_pb2.HttpBody(content_type=resource.content_type, data=resource.body)


def _send_asset(
    assets: Mapping[str, Resource],
    name: str,
    not_found: type[DocsAssetNotFound],
    context: grpc.ServicerContext,
) -> httpbody_pb2.HttpBody:
    """The asset ``name`` of ``assets``, or ``not_found`` naming the assets there are."""
    asset = assets.get(name)
    if asset is None:
        raise not_found(name, sorted(assets))
    return _send(asset, context)


def _header(context: grpc.ServicerContext, name: str) -> str | None:
    for key, value in context.invocation_metadata():
        if key == name:
            return value if isinstance(value, str) else value.decode("latin-1")
    return None
