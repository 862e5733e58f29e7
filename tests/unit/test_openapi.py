"""The OpenAPI document: valid OpenAPI 3.1, one operation per RPC, the parameters declared in the
protos, and the JSON schemas Envoy's transcoder output must meet (checked on a proto written for
the purpose)."""

from __future__ import annotations

import json
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import pytest
from grpc_tools import protoc
from openapi_spec_validator import validate

from mlanalytics.openapi import Info, document
from mlanalytics.parameters import Parameter, request_parameters
from mlanalytics.v1.services import SERVICES
from openapischema import errors, operations, schema_validator, validator
from server.api.directory import endpoints

ROOT = Path(__file__).resolve().parents[2]
DESCRIPTOR_SET = ROOT / "build" / "mlanalytics.pb"
INFO = Info("Test", "1.0")


def generated() -> Traversable:
    return resources.files("mlanalytics.v1").joinpath("openapi.json")


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    """The document ``make gen`` wrote, the one the service serves."""
    loaded: dict[str, Any] = json.loads(generated().read_text())
    return loaded


class TestTheServicesDocument:
    def test_is_valid_openapi_3_1(self, doc: dict[str, Any]) -> None:
        validate(doc)  # raises on any violation of the OpenAPI 3.1 schema
        assert doc["openapi"] == "3.1.0"

    def test_is_what_the_descriptor_set_gives_now(self, doc: dict[str, Any]) -> None:
        fresh = document(
            DESCRIPTOR_SET.read_bytes(),
            Info(doc["info"]["title"], doc["info"]["version"], doc["info"]["description"]),
            package="mlanalytics.v1",
            tag_order=[t["name"] for t in doc["tags"]],
        )
        assert fresh == doc, "openapi.json is stale: run make gen"

    def test_one_operation_per_rpc_of_the_directory(self, doc: dict[str, Any]) -> None:
        documented = {(verb.upper(), path, op["operationId"]) for path, verb, op in operations(doc)}
        listed = {(e.method, e.path, e.rpc.rsplit("/", 1)[1]) for e in endpoints()}
        assert documented == listed
        tags = {op["tags"][0] for _, _, op in operations(doc)}
        assert tags == {t["name"] for t in doc["tags"]}
        assert {e.rpc.split("/")[0].removeprefix("mlanalytics.v1.") for e in endpoints()} == tags

    def test_the_documentation_paths_are_operations_too(self, doc: dict[str, Any]) -> None:
        assert {"/openapi.json", "/docs", "/redoc", "/docs/{asset}"} <= set(doc["paths"])
        page = doc["paths"]["/docs"]["get"]["responses"]["200"]["content"]
        assert list(page) == ["text/html; charset=utf-8"]

    def test_summaries_come_from_the_proto_comments(self, doc: dict[str, Any]) -> None:
        rolling = doc["paths"]["/api/metrics/rolling"]["get"]
        assert rolling["summary"] == "Rolling metrics of one model over one window."
        health = next(t for t in doc["tags"] if t["name"] == "HealthService")
        assert health["description"].startswith("Is the service up, and are the models healthy")

    def test_parameters_come_from_their_options(self, doc: dict[str, Any]) -> None:
        requests = {m.name: m.input_type for s in SERVICES for m in s.methods}
        seen = 0
        for _, _, op in operations(doc):
            declared = request_parameters(requests[op["operationId"]])
            documented = {p["name"]: p for p in op.get("parameters", [])}
            assert set(declared) <= set(documented), op["operationId"]
            for name, table in declared.items():
                parameter = documented[name]
                seen += 1
                assert parameter["description"].lower().startswith(table.description.lower())
                assert parameter["required"] == (parameter["in"] == "path" or table.required)
                assert parameter["schema"] == expected_schema(table)
        assert seen > 40, "the protos declare fewer parameters than the API has"

    def test_each_rpc_has_its_own_default(self, doc: dict[str, Any]) -> None:
        def window(path: str) -> Any:
            [found] = [p for p in doc["paths"][path]["get"]["parameters"] if p["name"] == "window"]
            return found["schema"]["default"]

        assert (window("/api/performance/ab"), window("/api/metrics/rolling")) == ("7d", "24h")

    def test_history_parameters_in_full(self, doc: dict[str, Any]) -> None:
        [page_size] = [
            p
            for p in doc["paths"]["/api/predictions/history"]["get"]["parameters"]
            if p["name"] == "page_size"
        ]
        assert page_size == {
            "name": "page_size",
            "in": "query",
            "required": False,
            "schema": {
                "type": "integer",
                "format": "int32",
                "minimum": 1,
                "maximum": 1000,
                "default": 100,
            },
            "description": "Rows per page; 1..1000; default 100.",
        }

    def test_envelope_and_json_conventions(self, doc: dict[str, Any]) -> None:
        schemas = doc["components"]["schemas"]
        envelope = schemas["GetRollingMetricsResponse"]
        assert envelope["required"] == ["success"]  # data and timestamp are messages: presence
        assert envelope["properties"]["success"] == {"type": "boolean"}
        assert envelope["properties"]["data"] == {"$ref": "#/components/schemas/RollingMetrics"}
        assert envelope["properties"]["timestamp"]["format"] == "date-time"
        record = schemas["PredictionRecord"]["properties"]
        assert record["inference_id"]["type"] == "string"  # int64
        assert record["inference_id"]["description"].startswith("Printed as a JSON string")
        assert "confidence" not in schemas["PredictionRecord"]["required"]  # optional
        assert "status" in schemas["PredictionRecord"]["required"]
        assert schemas["RollingMetrics"]["properties"]["data_points"]["type"] == "integer"

    def test_errors_are_google_rpc_status_with_bad_request(self, doc: dict[str, Any]) -> None:
        history = doc["paths"]["/api/predictions/history"]["get"]["responses"]
        assert sorted(history) == ["200", "400", "404", "503", "504"]
        assert "404" not in doc["paths"]["/api/metrics/summary"]["get"]["responses"]
        bad: dict[str, Any] = {
            "code": 3,
            "message": "invalid request: page_size: must be 1..1000 (got 5000)",
            "details": [
                {
                    "@type": "type.googleapis.com/google.rpc.BadRequest",
                    "field_violations": [
                        {"field": "page_size", "description": "must be", "reason": ""}
                    ],
                }
            ],
        }
        check = validator(doc, "/api/predictions/history", "get", "400")
        assert errors(check, bad) == []
        assert errors(check, {"code": 5, "message": "not found", "details": []}) == []
        assert errors(check, {"code": 3, "message": "x"})  # details is always printed
        bad["details"][0]["@type"] = "type.googleapis.com/google.rpc.DebugInfo"
        assert errors(check, bad)


def expected_schema(table: Parameter) -> dict[str, Any]:
    """What a declared parameter must read as, written out by hand per kind."""
    if table.kind == "model_id":  # a model id (varchar 100) or a model version (varchar 50)
        longest = 50 if table.name in {"baseline", "candidate"} else 100
        return {"type": "string", "minLength": 1, "maxLength": longest}
    if table.kind == "time":
        return {"type": "string", "format": "date-time"}
    if table.kind == "window":
        choices = (
            ["5m", "15m", "1h", "6h", "12h", "1d"]
            if table.name == "step"
            else ["1h", "24h", "7d", "30d"]
        )
        return {"type": "string", "enum": choices, "default": table.default}
    return {
        "type": "integer",
        "format": "int32",
        "minimum": table.minimum,
        "maximum": table.maximum,
        "default": table.default,
    }


# A proto written to exercise every rule of the walk, compiled with its source info.
THINGS_PROTO = """
syntax = "proto3";

package things.v1;

import "google/api/annotations.proto";
import "google/api/httpbody.proto";
import "google/protobuf/timestamp.proto";
import "mlanalytics/v1/options.proto";

// Things and their parts.
//
// A second paragraph.
service ThingService {
  // Get one thing. It has parts.
  rpc GetThing(GetThingRequest) returns (Thing) {
    option (google.api.http) = {get: "/v1/{name=things/*}"};
  }

  // Every change of every thing.
  rpc WatchThings(WatchThingsRequest) returns (stream Thing) {
    option (google.api.http) = {get: "/v1/things/watch"};
  }

  // The things as CSV.
  rpc ExportThings(ExportThingsRequest) returns (google.api.HttpBody) {
    option (google.api.http) = {get: "/v1/things/export"};
    option (mlanalytics.v1.http_body_media_types) = "text/csv";
  }

  // Make a thing.
  rpc CreateThing(Thing) returns (Thing) {
    option (google.api.http) = {post: "/v1/things" body: "*"};
  }

  // Not on the REST face.
  rpc Internal(WatchThingsRequest) returns (Thing);
}

// The colour of a thing.
enum Color {
  // Not set.
  COLOR_UNSPECIFIED = 0;
  // Red.
  COLOR_RED = 1;
}

message GetThingRequest {
  // The thing's resource name.
  string name = 1;
  // Its type, bounds and default come from its option, not from this comment.
  optional int32 page_size = 2 [(mlanalytics.v1.parameter) = {
    summary: "rows per page"
    gte: 1
    lte: 1000
    default: "100"
  }];
  // Without the option: typed from the proto.
  optional int64 since_id = 3;
  Color color = 4;
  repeated string labels = 5;
  // A message field does not bind to the query here.
  Thing filter = 6;
}

message WatchThingsRequest {}

message ExportThingsRequest {}

// A thing.
message Thing {
  // Its id, printed as a string.
  int64 id = 1;
  google.protobuf.Timestamp created = 2;
  // Absent when unknown.
  optional double score = 3;
  repeated Part parts = 4;
  map<string, int32> counts = 5;
  Color color = 6;
  Thing parent = 7;
  oneof kind {
    string word = 8;
    int32 number = 9;
  }
  bytes blob = 10;
  uint32 small = 11;

  // A part of a thing.
  message Part {
    string name = 1;
  }
}
"""


def compile_proto(folder: Path, text: str) -> bytes:
    """The descriptor set (imports and source info included) of one proto file."""
    (folder / "things.proto").write_text(text)
    out = folder / "things.pb"
    well_known = Path(str(resources.files("grpc_tools") / "_proto"))
    status = protoc.main(
        [
            "grpc_tools.protoc",
            f"--proto_path={folder}",
            f"--proto_path={ROOT / 'protos'}",
            f"--proto_path={ROOT / 'build' / 'proto-deps'}",
            f"--proto_path={well_known}",
            "--include_imports",
            "--include_source_info",
            f"--descriptor_set_out={out}",
            "things.proto",
            "google/rpc/status.proto",
            "google/rpc/error_details.proto",
        ]
    )
    assert status == 0
    return out.read_bytes()


@pytest.fixture(scope="module")
def things(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    descriptors = compile_proto(tmp_path_factory.mktemp("things"), THINGS_PROTO)
    return document(descriptors, INFO, package="things.v1")


class TestTheWalk:
    def test_valid_and_one_operation_per_http_rule(self, things: dict[str, Any]) -> None:
        validate(things)
        assert sorted(op["operationId"] for _, _, op in operations(things)) == [
            "CreateThing",
            "ExportThings",
            "GetThing",
            "WatchThings",
        ]
        tag = things["tags"][0]
        assert tag == {
            "name": "ThingService",
            "description": "Things and their parts.\n\nA second paragraph.",
        }

    def test_summary_is_the_first_sentence(self, things: dict[str, Any]) -> None:
        get = things["paths"]["/v1/{name}"]["get"]
        assert (get["summary"], get["description"]) == (
            "Get one thing.",
            "Get one thing. It has parts.",
        )
        assert "description" not in things["paths"]["/v1/things/watch"]["get"]

    def test_parameters(self, things: dict[str, Any]) -> None:
        params = {p["name"]: p for p in things["paths"]["/v1/{name}"]["get"]["parameters"]}
        assert list(params) == ["name", "page_size", "since_id", "color", "labels"]
        assert params["name"] == {
            "name": "name",
            "in": "path",
            "required": True,
            "schema": {"type": "string"},
            "description": "The thing's resource name.",
        }
        assert params["page_size"]["schema"]["maximum"] == 1000
        assert params["page_size"]["description"] == "Rows per page; 1..1000; default 100."
        assert params["since_id"]["schema"] == {
            "type": "string",
            "format": "int64",
            "pattern": "^-?[0-9]+$",
        }
        assert params["since_id"]["required"] is False
        assert params["color"]["schema"]["enum"] == ["COLOR_UNSPECIFIED", "COLOR_RED"]
        assert params["labels"]["schema"] == {"type": "array", "items": {"type": "string"}}

    def test_message_schema(self, things: dict[str, Any]) -> None:
        thing = things["components"]["schemas"]["Thing"]
        assert thing["description"] == "A thing."
        assert thing["additionalProperties"] is False
        # Fields without presence are always printed; optional, message and oneof fields are not.
        assert thing["required"] == ["id", "parts", "counts", "color", "blob", "small"]
        props = thing["properties"]
        assert props["id"] == {
            "type": "string",
            "format": "int64",
            "pattern": "^-?[0-9]+$",
            "description": "Its id, printed as a string.",
        }
        assert props["created"] == {"type": "string", "format": "date-time"}
        assert props["score"]["type"] == "number"
        assert props["parts"] == {
            "type": "array",
            "items": {"$ref": "#/components/schemas/Thing.Part"},
        }
        assert props["counts"] == {
            "type": "object",
            "additionalProperties": {"type": "integer", "format": "int32"},
        }
        assert (
            props["color"]["description"] == "- `COLOR_UNSPECIFIED`: Not set.\n- `COLOR_RED`: Red."
        )
        assert props["parent"] == {"$ref": "#/components/schemas/Thing"}  # recursion
        assert props["blob"] == {"type": "string", "contentEncoding": "base64"}
        assert props["small"] == {"type": "integer", "minimum": 0, "maximum": 2**32 - 1}
        assert things["components"]["schemas"]["Thing.Part"]["description"] == "A part of a thing."

    def test_the_schema_rejects_both_ways(self, things: dict[str, Any]) -> None:
        check = schema_validator(things, "/components/schemas/Thing")
        good = {
            "id": "12",
            "parts": [{"name": "wheel"}],
            "counts": {"a": 1},
            "color": "COLOR_RED",
            "blob": "",
            "small": 0,
            "created": "2026-03-02T12:00:00Z",
            "parent": {
                "id": "1",
                "parts": [],
                "counts": {},
                "color": "COLOR_RED",
                "blob": "",
                "small": 1,
            },
        }
        assert errors(check, good) == []
        assert errors(check, good | {"extra": 1}) == [
            "(root): Additional properties are not allowed ('extra' was unexpected)"
        ]
        assert errors(check, {k: v for k, v in good.items() if k != "id"}) == [
            "(root): 'id' is a required property"
        ]
        assert errors(check, good | {"id": 12})  # int64 is a string
        assert errors(check, good | {"created": "yesterday"})  # date-time is checked
        assert errors(check, good | {"score": "NaN"})

    def test_streaming_http_body_and_request_body(self, things: dict[str, Any]) -> None:
        watch = things["paths"]["/v1/things/watch"]["get"]["responses"]["200"]["content"]
        assert list(watch) == ["text/event-stream"]
        assert watch["text/event-stream"]["x-event-data-schema"] == {
            "$ref": "#/components/schemas/Thing"
        }
        export = things["paths"]["/v1/things/export"]["get"]["responses"]["200"]
        assert export["content"] == {"text/csv": {"schema": {"type": "string"}}}
        create = things["paths"]["/v1/things"]["post"]
        assert create["requestBody"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Thing"
        }
        assert "parameters" not in create

    def test_errors(self, things: dict[str, Any]) -> None:
        # 404 only where a path names a resource (or a model_id parameter names a model).
        assert "404" in things["paths"]["/v1/{name}"]["get"]["responses"]
        assert sorted(things["paths"]["/v1/things/export"]["get"]["responses"]) == [
            "200",
            "400",
            "503",
            "504",
        ]
        status = things["components"]["schemas"]["google.rpc.Status"]
        assert status["required"] == ["code", "message", "details"]
        assert status["properties"]["details"]["items"] == {
            "anyOf": [{"$ref": "#/components/schemas/google.rpc.BadRequest"}]
        }

    def test_duplicate_operation_ids_are_refused(self, tmp_path: Path) -> None:
        other = """
// Another service with an RPC of the same name.
service OtherService {
  // The same name.
  rpc GetThing(GetThingRequest) returns (Thing) {
    option (google.api.http) = {get: "/v2/{name=things/*}"};
  }
}
"""
        descriptors = compile_proto(tmp_path, THINGS_PROTO + other)
        with pytest.raises(ValueError, match="two RPCs named GetThing"):
            document(descriptors, INFO, package="things.v1")
