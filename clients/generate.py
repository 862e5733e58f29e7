"""Generate everything that is derived from ``protos/``; never edit the output by hand.

Usage (from the repository root, inside the project's virtualenv)::

    python clients/generate.py           # Python stubs + typed .pyi + Envoy descriptor set
    python clients/generate.py --lint    # buf lint (offline) over protos/

Outputs (git-ignored, but for the marked generated blocks of three tracked files: the endpoint
tables of README.md and docs/DEFINITIONS.md and Envoy's transcoder list):

* ``clients/python/mlanalytics/v1/*_pb2.py``, ``*_pb2_grpc.py`` and their ``.pyi`` stubs
  (mypy-protobuf). ``clients/python`` is the root of the generated tree, so protoc's absolute
  imports (``from mlanalytics.v1 import common_pb2``) work as they are.
* ``build/mlanalytics.pb``: the descriptor set Envoy's gRPC-JSON transcoder loads, with every
  import included, ``google/rpc/status.proto`` and ``google/rpc/error_details.proto`` among them so
  that error details render as JSON.
* ``build/proto-deps/``: the few googleapis protos we import, copied from the installed
  ``googleapis-common-protos`` package, so that protoc and buf work offline.
* ``clients/python/mlanalytics/v1/openapi.json``: the OpenAPI 3.1 document of the REST face, a
  walk over that descriptor set (``mlanalytics.openapi``); the service serves it.
* the endpoint tables of ``README.md`` and ``docs/DEFINITIONS.md``: their generated blocks,
  rewritten from the descriptors (one row per RPC with a REST path, its declared parameters);
* ``clients/python/mlanalytics/v1/docs/``: the scripts, style sheet and icons of the pages
  ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), copied from the npm packages ``swagger-ui-dist``
  and ``redoc`` in ``docs/ui`` when ``npm ci`` has been run there (``make gen`` does).
* ``clients/python/mlanalytics/v1/dashboard/``: the desk view (``/dashboard``): its page, style
  sheet and script, compiled from ``docs/ui/dashboard/dashboard.ts`` by the TypeScript compiler of
  ``clients/typescript``, and the chart library uplot from ``docs/ui``.
* ``clients/typescript/src/gen/``: TypeScript interfaces of the REST JSON (ts-proto) and
  ``types.ts`` re-exporting them; ``paths.ts``, the REST path of every RPC from its
  ``google.api.http`` rule; ``methods.ts``, the client's typed methods (mlanalytics/faces.py);
  written only when ``npm ci`` has been run in ``clients/typescript`` (``make gen`` does).
* ``clients/python/mlanalytics/v1/services.py`` and ``methods.py``: the services in listing
  order and the Python client's typed methods (mlanalytics/faces.py);
* the transcoder's ``services:`` list in ``envoy.yaml`` (its generated block).
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import shutil
import subprocess
import sys
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from google.api import annotations_pb2
from google.protobuf import descriptor_pb2
from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "protos"
PYTHON_OUT = ROOT / "clients" / "python"
BUILD = ROOT / "build"
DEPS = BUILD / "proto-deps"
DESCRIPTOR_SET = BUILD / "mlanalytics.pb"
TYPESCRIPT = ROOT / "clients" / "typescript"
TS_OUT = TYPESCRIPT / "src" / "gen"
TS_PROTO = TYPESCRIPT / "node_modules" / ".bin" / "protoc-gen-ts_proto"
OPENAPI = PYTHON_OUT / "mlanalytics" / "v1" / "openapi.json"
DOCS_UI = ROOT / "docs" / "ui" / "node_modules"
DOCS_ASSETS = PYTHON_OUT / "mlanalytics" / "v1" / "docs"
#: The files the documentation pages load, by the name they are served under (/docs/<name>).
DOCS_ASSET_SOURCES = {
    "swagger-ui-bundle.js": "swagger-ui-dist/swagger-ui-bundle.js",
    "swagger-ui.css": "swagger-ui-dist/swagger-ui.css",
    "favicon-16x16.png": "swagger-ui-dist/favicon-16x16.png",
    "favicon-32x32.png": "swagger-ui-dist/favicon-32x32.png",
    "redoc.standalone.js": "redoc/bundles/redoc.standalone.js",
}
DASHBOARD_SOURCE = ROOT / "docs" / "ui" / "dashboard"
DASHBOARD_ASSETS = PYTHON_OUT / "mlanalytics" / "v1" / "dashboard"
TSC = TYPESCRIPT / "node_modules" / ".bin" / "tsc"
#: The desk view's files copied as they are, by the name they are served under (/dashboard/<name>)
#: (dashboard.html is the page's body; dashboard.js is compiled).
DASHBOARD_COPIED = {
    "uPlot.iife.min.js": DOCS_UI / "uplot" / "dist" / "uPlot.iife.min.js",
    "uPlot.min.css": DOCS_UI / "uplot" / "dist" / "uPlot.min.css",
    "dashboard.css": DASHBOARD_SOURCE / "dashboard.css",
    "dashboard.html": DASHBOARD_SOURCE / "dashboard.html",
    "favicon-32x32.png": DOCS_UI / "swagger-ui-dist" / "favicon-32x32.png",
}
#: The services in the order of the README's endpoint table (any other follows).
TAG_ORDER = (
    "MetricsService",
    "PredictionService",
    "DriftService",
    "HealthService",
    "PerformanceService",
    "ModelVersionService",
    "AnomalyService",
)
#: Listed after every other service: the documentation pages.
LAST = "DocsService"
API_DESCRIPTION = """\
Production monitoring of the USD/COP reinforcement-learning trading models: rolling metrics,
prediction accuracy, input drift and model health, read from the inference log.

This document is generated from the service's protos (`make gen`), the same descriptors Envoy
transcodes with, so it describes exactly what the REST face on this port answers. Every
`/api/...` success body is `{"success": true, "data": {...}, "timestamp": "<RFC 3339>"}` with
the proto field names; counts are numbers, `int64` values strings, and a value that does not
exist is absent (never `NaN`). Every error body is `{"code", "message", "details"}`: the gRPC
status, with the HTTP status 400, 404, 503 or 504. Definitions of every number:
`docs/DEFINITIONS.md` in the repository. The same RPCs answer native gRPC on this port.
"""
# Interfaces that describe the JSON exactly as Envoy's transcoder prints it, and nothing else.
TS_PROTO_OPTIONS = (
    "onlyTypes=true",  # interfaces only: no encode/decode, no runtime dependency
    "useJsonWireFormat=true",  # well-known types as JSON: a Timestamp is an RFC 3339 string
    "snakeToCamel=false",  # keys are the proto field names, as Envoy prints them
    "forceLong=string",  # int64 (inference_id) is a JSON string
    "useOptionals=messages",  # unset message fields are absent ("?"), like proto3 `optional` ones
    "outputServices=false",  # the REST client is hand-written over fetch
    "exportCommonSymbols=false",  # no protobufPackage / DeepPartial exports
    "importSuffix=.js",  # ESM imports that Node and `moduleResolution: nodenext` resolve
    "emitImportedFiles=false",  # only our own files; imports are well-known types or annotations
)
GOOGLEAPIS = (
    "google/api/annotations.proto",
    "google/api/http.proto",
    "google/api/httpbody.proto",
    "google/rpc/status.proto",
    "google/rpc/error_details.proto",
)


def _copy_googleapis() -> None:
    """Copy the googleapis protos we need out of the installed googleapis-common-protos."""
    package_root = Path(annotations_pb2.__file__).parent.parent.parent
    for name in GOOGLEAPIS:
        target = DEPS / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(package_root / name, target)


def _empty(directory: Path) -> None:
    """``directory``, created empty: nothing is left of a proto that has since been removed."""
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)


def _protoc(*args: str) -> None:
    well_known = Path(str(resources.files("grpc_tools") / "_proto"))
    plugin_dir = Path(sys.executable).parent
    command = [
        "grpc_tools.protoc",
        f"--proto_path={PROTO_ROOT}",
        f"--proto_path={DEPS}",
        f"--proto_path={well_known}",
        f"--plugin=protoc-gen-mypy={plugin_dir / 'protoc-gen-mypy'}",
        f"--plugin=protoc-gen-mypy_grpc={plugin_dir / 'protoc-gen-mypy_grpc'}",
        *args,
    ]
    if protoc.main(command) != 0:
        sys.exit(f"protoc failed: {' '.join(args)}")


def generate() -> None:
    """Write the Python stubs and the Envoy descriptor set."""
    _copy_googleapis()
    sources = sorted(str(p.relative_to(PROTO_ROOT)) for p in PROTO_ROOT.rglob("*.proto"))
    out = PYTHON_OUT / "mlanalytics" / "v1"
    _empty(out)
    _protoc(
        f"--python_out={PYTHON_OUT}",
        f"--grpc_python_out={PYTHON_OUT}",
        f"--mypy_out=quiet:{PYTHON_OUT}",
        f"--mypy_grpc_out=quiet:{PYTHON_OUT}",
        *sources,
    )
    (out / "__init__.py").write_text(
        '"""Generated from protos/mlanalytics/v1 by clients/generate.py."""\n'
    )
    _protoc(
        "--include_imports",
        "--include_source_info",
        f"--descriptor_set_out={DESCRIPTOR_SET}",
        *sources,
        "google/rpc/status.proto",
        "google/rpc/error_details.proto",
    )
    _python_faces()
    _openapi()
    _envoy_services()
    _endpoint_tables()
    _docs_assets()
    _dashboard()
    _typescript(sources)


def services() -> list[Any]:
    """The services of ``mlanalytics.v1`` from the generated stubs: TAG_ORDER first, then any
    other in the order of their proto files, LAST last."""
    if str(PYTHON_OUT) not in sys.path:
        sys.path.insert(0, str(PYTHON_OUT))
    found = [
        service
        for proto in sorted((PROTO_ROOT / "mlanalytics" / "v1").glob("*_service.proto"))
        for service in importlib.import_module(
            f"mlanalytics.v1.{proto.stem}_pb2"
        ).DESCRIPTOR.services_by_name.values()
    ]
    order = {name: i for i, name in enumerate(TAG_ORDER)} | {LAST: len(TAG_ORDER) + 1}
    return sorted(found, key=lambda s: order.get(s.name, len(TAG_ORDER)))


def _python_faces() -> None:
    """The generated modules of the Python package: the service list and the typed methods."""
    from mlanalytics import faces  # noqa: PLC0415 (needs the stubs written above)

    listed = services()
    out = PYTHON_OUT / "mlanalytics" / "v1"
    (out / "services.py").write_text(faces.python_services(listed))
    summary = faces.summaries(DESCRIPTOR_SET.read_bytes())
    try:
        rpcs = faces.typed_rpcs(listed, summary)
    except ValueError as error:
        sys.exit(f"make gen: {error}")
    (out / "methods.py").write_text(faces.python_methods(rpcs, summary))


#: The generated block of envoy.yaml: the services its transcoder serves.
_ENVOY_BEGIN = "# services: generated from the protos by `make gen`; edit the protos, not this"
_ENVOY_END = "# end of services"


def envoy_services(indent: str) -> str:
    """The transcoder's ``services:`` list, each item indented by ``indent``."""
    return "\n".join(f"{indent}- {s.full_name}" for s in services())


def _envoy_services() -> None:
    """The generated block of envoy.yaml (skipped where there is no envoy.yaml: an image's
    code-generation stage)."""
    path = ROOT / "envoy.yaml"
    if not path.exists():
        print("envoy.yaml skipped: not here")
        return
    text = path.read_text()
    pattern = re.compile(
        rf"(^ *{re.escape(_ENVOY_BEGIN)}\n)(( *)- .*?\n)(^ *{re.escape(_ENVOY_END)}$)", re.M | re.S
    )
    if not pattern.search(text):
        sys.exit(f"envoy.yaml has no block {_ENVOY_BEGIN!r} ... {_ENVOY_END!r}")
    path.write_text(pattern.sub(lambda m: f"{m[1]}{envoy_services(m[3])}\n{m[4]}", text))


def _openapi() -> None:
    """The OpenAPI document, from the descriptor set just written (with its source info)."""
    # Imported only now: the package needs the stubs written above (and may not be installed).
    sys.path.insert(0, str(PYTHON_OUT))
    from mlanalytics.openapi import Info, document  # noqa: PLC0415

    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    doc = document(
        DESCRIPTOR_SET.read_bytes(),
        Info("ML Analytics Service", version, API_DESCRIPTION),
        package="mlanalytics.v1",
        tag_order=TAG_ORDER,
    )
    OPENAPI.write_text(json.dumps(doc, indent=1) + "\n")


#: The generated blocks of the documents: file -> block name -> how a row of it reads.
DOCUMENTS = {"README.md": "endpoints", "docs/DEFINITIONS.md": "endpoint-directory"}
_BEGIN = "<!-- {name}: generated from the protos by `make gen`; edit the protos, not this -->"
_END = "<!-- end of {name} -->"


def endpoint_tables() -> dict[str, str]:
    """The endpoint table of each document in DOCUMENTS, one row per RPC with a REST path, read
    from the generated descriptors (paths, parameters and their declared defaults)."""
    listed = services()
    from google.protobuf.descriptor import MethodDescriptor  # noqa: PLC0415

    from mlanalytics.parameters import Parameter, request_parameters  # noqa: PLC0415

    def rows() -> list[tuple[str, MethodDescriptor, list[Parameter]]]:
        found = []
        for service in listed:
            for method in service.methods:
                rule = method.GetOptions().Extensions[annotations_pb2.http]
                if rule.get:
                    declared = request_parameters(method.input_type).values()
                    query = [p for p in declared if "{" + p.name + "}" not in rule.get]
                    found.append((rule.get, method, query))
        return found

    def readme(p: Parameter) -> str:
        if p.required:
            return p.name
        facts = [p.default_text or str(p.default)] + ([p.bounds] if p.bounds else [])
        return f"{p.name} ({', '.join(facts)})"

    def kind(method: MethodDescriptor) -> str:
        if method.server_streaming:
            return "server stream; SSE on REST"
        if method.output_type.full_name == "google.api.HttpBody":
            return "`google.api.HttpBody`"
        return ""

    readme_rows = ["| path | RPC | parameters (defaults) |", "|---|---|---|"]
    definitions_rows = ["| path | RPC | parameters |", "|---|---|---|"]
    for path, method, query in rows():
        rpc = f"{method.containing_service.name}.{method.name}"
        note = f" ({kind(method)})" if kind(method) else ""
        readme_rows.append(
            f"| `{path}` | {rpc}{note} | {', '.join(map(readme, query)) or 'none'} |"
        )
        named = ", ".join(f"`{p.name}`" for p in query) or "none"
        definitions_rows.append(f"| `{path}` | `{rpc}`{note} | {named} |")
    return {
        "README.md": "\n".join(readme_rows),
        "docs/DEFINITIONS.md": "\n".join(definitions_rows),
    }


def generated_block(text: str, name: str) -> str | None:
    """The generated block ``name`` of a document's ``text``, without its markers."""
    begin, end = _BEGIN.format(name=name), _END.format(name=name)
    if begin not in text or end not in text:
        return None
    return text.split(begin, 1)[1].split(end, 1)[0].strip("\n")


def _endpoint_tables() -> None:
    """Write the endpoint table of each document into its generated block."""
    for document, table in endpoint_tables().items():
        path, name = ROOT / document, DOCUMENTS[document]
        if not path.exists():  # an image's code-generation stage has no documents
            print(f"{document} skipped: not here")
            continue
        text = path.read_text()
        old = generated_block(text, name)
        if old is None:
            sys.exit(f"{document} has no block {_BEGIN.format(name=name)!r} ... {_END!r}")
        begin, end = _BEGIN.format(name=name), _END.format(name=name)
        path.write_text(text.replace(f"{begin}\n{old}\n{end}", f"{begin}\n{table}\n{end}"))


def _docs_assets() -> None:
    """The documentation pages' assets, if ``npm ci`` has installed them in docs/ui."""
    missing = [s for s in DOCS_ASSET_SOURCES.values() if not (DOCS_UI / s).is_file()]
    if missing:
        print(f"documentation assets skipped: no {missing[0]} (npm ci in docs/ui)")
        return
    DOCS_ASSETS.mkdir(parents=True, exist_ok=True)
    for name, source in DOCS_ASSET_SOURCES.items():
        shutil.copyfile(DOCS_UI / source, DOCS_ASSETS / name)


def _dashboard() -> None:
    """The desk view's files, if ``npm ci`` has installed uplot in docs/ui and the TypeScript
    compiler in clients/typescript (a type error stops the generation). Without node, a script
    compiled beforehand into build/dashboard (the Dockerfile's node stage) is taken as it is."""
    missing = [s for s in DASHBOARD_COPIED.values() if not s.exists()]
    precompiled = BUILD / "dashboard" / "dashboard.js"
    compiler = TSC.exists() and shutil.which("node") is not None
    if missing or not (compiler or precompiled.is_file()):
        print(f"desk view skipped: no {missing[0] if missing else TSC} (npm ci)")
        return
    _empty(DASHBOARD_ASSETS)
    for name, source in DASHBOARD_COPIED.items():
        shutil.copyfile(source, DASHBOARD_ASSETS / name)
    if not compiler:
        shutil.copyfile(precompiled, DASHBOARD_ASSETS / "dashboard.js")
        return
    compiled = subprocess.run(
        [str(TSC), "-p", str(DASHBOARD_SOURCE), "--outDir", str(DASHBOARD_ASSETS)], check=False
    )
    if compiled.returncode:
        sys.exit("tsc failed on docs/ui/dashboard")


def _typescript(sources: list[str]) -> None:
    """TypeScript interfaces of the REST JSON, if ``npm ci`` has installed ts-proto (and node)."""
    if not TS_PROTO.exists() or shutil.which("node") is None:
        print("TypeScript types skipped: no ts-proto (npm ci in clients/typescript) or no node")
        return
    _empty(TS_OUT)
    _protoc(
        f"--plugin=protoc-gen-ts_proto={TS_PROTO}",
        f"--ts_proto_out={TS_OUT}",
        f"--ts_proto_opt={','.join(TS_PROTO_OPTIONS)}",
        *sources,
    )
    (TS_OUT / "paths.ts").write_text(_typescript_paths())
    from mlanalytics import faces  # noqa: PLC0415

    rpcs = faces.typed_rpcs(services(), faces.summaries(DESCRIPTOR_SET.read_bytes()))
    (TS_OUT / "methods.ts").write_text(faces.typescript_methods(rpcs))
    (TS_OUT / "types.ts").write_text(
        "/** Every message type of the protos (generated by clients/generate.py). */\n"
        + "".join(
            f'export type * from "./{source.removesuffix(".proto")}.js";\n'
            for source in sources
            if not source.endswith("options.proto")
        )
    )


def _typescript_paths() -> str:
    """``src/gen/paths.ts``: the REST path template of every RPC, from its google.api.http rule."""
    files = descriptor_pb2.FileDescriptorSet.FromString(DESCRIPTOR_SET.read_bytes()).file
    lines = [
        "/** The REST path of every RPC, by RPC name: its google.api.http rule (generated by",
        " * clients/generate.py from the protos; `{field}` is filled from the request). */",
        "export const PATHS = {",
    ]
    for file in files:
        if file.package != "mlanalytics.v1":
            continue
        for service in file.service:
            for method in service.method:
                options = descriptor_pb2.MethodOptions.FromString(
                    method.options.SerializeToString()
                )
                rule = options.Extensions[annotations_pb2.http]
                if rule.get:
                    lines.append(f"  {method.name}: {json.dumps(rule.get)},")
    return "\n".join([*lines, "} as const;", ""])


def lint() -> None:
    """Run ``buf lint`` over protos/ offline, resolving googleapis imports from build/proto-deps."""
    _copy_googleapis()
    buf = Path(sys.executable).parent / "buf"
    if subprocess.run([str(buf), "lint"], cwd=ROOT, check=False).returncode:
        sys.exit("buf lint failed")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lint", action="store_true", help="run buf lint instead of generating")
    args = parser.parse_args()
    lint() if args.lint else generate()


if __name__ == "__main__":
    main()
