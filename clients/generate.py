"""Generate everything that is derived from ``protos/``; never edit the output by hand.

Usage (from the repository root, inside the project's virtualenv)::

    python clients/generate.py           # Python stubs + typed .pyi + Envoy descriptor set
    python clients/generate.py --lint    # buf lint (offline) over protos/

Outputs (all git-ignored):

* ``clients/python/mlanalytics/v1/*_pb2.py``, ``*_pb2_grpc.py`` and their ``.pyi`` stubs
  (mypy-protobuf). ``clients/python`` is the root of the generated tree, so protoc's absolute
  imports (``from mlanalytics.v1 import common_pb2``) work as they are.
* ``build/mlanalytics.pb``: the descriptor set Envoy's gRPC-JSON transcoder loads, with every
  import included, ``google/rpc/status.proto`` and ``google/rpc/error_details.proto`` among them so
  that error details render as JSON.
* ``build/proto-deps/``: the few googleapis protos we import, copied from the installed
  ``googleapis-common-protos`` package, so that protoc and buf work offline.
* ``clients/typescript/src/gen/``: TypeScript interfaces of the REST JSON (ts-proto), written only
  when ``npm ci`` has been run in ``clients/typescript`` (``make gen`` does); skipped otherwise.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

from google.api import annotations_pb2
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
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
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
    _typescript(sources)


def _typescript(sources: list[str]) -> None:
    """TypeScript interfaces of the REST JSON, if ``npm ci`` has installed ts-proto (and node)."""
    if not TS_PROTO.exists() or shutil.which("node") is None:
        print("TypeScript types skipped: no ts-proto (npm ci in clients/typescript) or no node")
        return
    shutil.rmtree(TS_OUT, ignore_errors=True)
    TS_OUT.mkdir(parents=True)
    _protoc(
        f"--plugin=protoc-gen-ts_proto={TS_PROTO}",
        f"--ts_proto_out={TS_OUT}",
        f"--ts_proto_opt={','.join(TS_PROTO_OPTIONS)}",
        *sources,
    )


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
