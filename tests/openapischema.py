"""Check JSON against the schemas of an OpenAPI 3.1 document (JSON Schema 2020-12, with formats).

The document is registered as one resource, so its own ``$ref``s (``#/components/...``) resolve
exactly as a reader of the document resolves them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

BASE = "urn:mlanalytics:openapi"
VERBS = ("get", "put", "post", "delete", "patch")


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(path, verb, operation) of every operation of the document."""
    for path, item in doc["paths"].items():
        for verb in VERBS:
            if verb in item:
                yield path, verb, item[verb]


def response(doc: dict[str, Any], path: str, verb: str, status: str) -> tuple[str, dict[str, Any]]:
    """The JSON pointer and object of one documented response, following a components $ref."""
    pointer = "/" + "/".join(_escape(p) for p in ("paths", path, verb, "responses", status))
    found = doc["paths"][path][verb]["responses"][status]
    if "$ref" in found:
        pointer = found["$ref"].removeprefix("#")
        found = _at(doc, pointer)
    return pointer, found


def validator(doc: dict[str, Any], path: str, verb: str, status: str) -> Draft202012Validator:
    """A validator of the application/json body of one documented response."""
    pointer, _ = response(doc, path, verb, status)
    schema_pointer = f"{pointer}/content/{_escape('application/json')}/schema"
    return schema_validator(doc, schema_pointer)


def schema_validator(doc: dict[str, Any], pointer: str) -> Draft202012Validator:
    """A validator of the schema at ``pointer`` (e.g. ``/components/schemas/Thing``)."""
    _at(doc, pointer)  # fails here, not later, on a wrong pointer
    registry: Registry[Any] = Registry().with_resource(
        BASE, Resource.from_contents(doc, default_specification=DRAFT202012)
    )
    checker = Draft202012Validator.FORMAT_CHECKER
    assert "date-time" in checker.checkers, "date-time is not checked: install rfc3339-validator"
    return Draft202012Validator(
        {"$ref": f"{BASE}#{pointer}"}, registry=registry, format_checker=checker
    )


def errors(validator: Draft202012Validator, body: Any) -> list[str]:
    """Every violation, as 'where: what' lines (empty when the body conforms)."""
    return [
        f"{'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}"
        for e in validator.iter_errors(body)
    ]


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _at(doc: dict[str, Any], pointer: str) -> Any:
    node: Any = doc
    for token in pointer.lstrip("/").split("/"):
        node = node[token.replace("~1", "/").replace("~0", "~")]
    return node
