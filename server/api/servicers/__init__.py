"""One servicer per proto service: validate the request, run a report, map it to a message.

Each module here holds the servicer of one service of ``mlanalytics.v1``: a subclass of the
service's generated base class, built from the `Dependencies`. `add_servicers` finds them by that
base class, so a new service is served once its module is here.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

import grpc
from google.protobuf.descriptor import ServiceDescriptor

from mlanalytics.v1.services import SERVICES
from server.api.servicers.base import Dependencies

__all__ = ["Dependencies", "add_servicers"]


def _generated(service: ServiceDescriptor) -> ModuleType:
    """The ``*_pb2_grpc`` module of ``service``."""
    stem = service.file.name.rsplit("/", 1)[-1].removesuffix(".proto")
    return importlib.import_module(f"mlanalytics.v1.{stem}_pb2_grpc")


def _servicer_classes() -> list[type]:
    """Every class defined in this package's modules."""
    found = []
    for module_info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        found += [
            value
            for value in vars(module).values()
            if isinstance(value, type) and value.__module__ == module.__name__
        ]
    return found


def servicer_class(service: ServiceDescriptor, classes: list[type]) -> type:
    """The one class of ``classes`` that implements ``service`` (its generated base class)."""
    base = getattr(_generated(service), f"{service.name}Servicer")
    found = [cls for cls in classes if issubclass(cls, base)]
    if len(found) != 1:
        raise LookupError(f"{len(found)} servicers of {service.full_name} in {__name__}")
    return found[0]


def add_servicers(server: grpc.Server, deps: Dependencies) -> None:
    """Register a servicer for every service of ``mlanalytics.v1`` on ``server``."""
    classes = _servicer_classes()
    for service in SERVICES:
        register = getattr(_generated(service), f"add_{service.name}Servicer_to_server")
        register(servicer_class(service, classes)(deps), server)
