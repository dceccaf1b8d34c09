"""Regenerate everything derived from protos/: the one command behind `make protos`.

Writes (none of it edited by hand; all but the reasons table untracked):
- energypulse/**: Python messages, gRPC stubs and .pyi type stubs (grpcio-tools);
- build/energypulse.pb: the descriptor set for Envoy's transcoder (imports + source info);
- build/openapi.json: OpenAPI 3 of the JSON API (envoy/openapi.py);
- docs/error-reasons.md: the table of ErrorInfo reasons (scripts/gen_error_reasons.py; tracked,
  checked by tests/common/test_error_reasons.py);
- dashboard/src/gen/**: TypeScript types (protoc-gen-es), when the dashboard's node_modules exist.

googleapis' annotations.proto and http.proto are vendored under protos/google/{api,rpc} (tracked, copied
once from the googleapis-common-protos wheel), so protoc, buf and `buf breaking` against an older
commit all resolve them offline.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parents[1]
PROTOS = ROOT / "protos"
PY_OUT = ROOT
DESCRIPTOR = ROOT / "build" / "energypulse.pb"
TS_OUT = ROOT / "dashboard" / "src" / "gen"
ES_PLUGIN = ROOT / "dashboard" / "node_modules" / ".bin" / "protoc-gen-es"
GOOGLE_API_FILES = ("api/annotations.proto", "api/http.proto", "rpc/status.proto", "rpc/error_details.proto")
# Not imported by our protos, but Envoy needs their descriptors to print the google.rpc.ErrorInfo
# inside an error's status as JSON (without them the transcoder sends an empty body).
ERROR_PROTOS = ["google/rpc/status.proto", "google/rpc/error_details.proto"]


def vendor_google_api() -> None:
    """Refresh protos/google/api from the installed wheel (only when upgrading googleapis)."""
    spec = importlib.util.find_spec("google.api.annotations_pb2")
    assert spec is not None and spec.origin is not None, "googleapis-common-protos is not installed"
    source = Path(spec.origin).parent.parent
    for name in GOOGLE_API_FILES:
        (PROTOS / "google" / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / name, PROTOS / "google" / name)


def _our_protos() -> list[str]:
    return sorted(str(p.relative_to(PROTOS)) for p in (PROTOS / "energypulse").rglob("*.proto"))


def _protoc(args: list[str]) -> None:
    include = str(Path(protoc.__file__).parent / "_proto")
    code = protoc.main(["grpc_tools.protoc", f"-I{PROTOS}", f"-I{include}", *args])
    if code != 0:
        sys.exit(f"protoc failed ({code}) for {args[:3]}")


def generate(typescript: bool) -> None:
    files = _our_protos()
    shutil.rmtree(PY_OUT / "energypulse", ignore_errors=True)
    # mypy-protobuf's plugins write the .pyi of messages and of the gRPC stubs/servicers, so
    # servicers, clients and `context` are typed from the contracts (grpcio-tools' own --pyi_out
    # leaves *_pb2_grpc untyped).
    bin_dir = Path(sys.executable).parent
    _protoc(
        [
            f"--plugin=protoc-gen-mypy={bin_dir / 'protoc-gen-mypy'}",
            f"--plugin=protoc-gen-mypy_grpc={bin_dir / 'protoc-gen-mypy_grpc'}",
            f"--python_out={PY_OUT}",
            f"--mypy_out={PY_OUT}",
            f"--grpc_python_out={PY_OUT}",
            f"--mypy_grpc_out={PY_OUT}",
            *files,
        ]
    )
    for package in {p.parent for p in (PY_OUT / "energypulse").rglob("*.py")}:
        for directory in [package, *package.parents]:
            if directory == PY_OUT:
                break
            (directory / "__init__.py").touch()
    DESCRIPTOR.parent.mkdir(parents=True, exist_ok=True)
    _protoc(
        [
            f"--descriptor_set_out={DESCRIPTOR}",
            "--include_imports",
            "--include_source_info",
            *files,
            *ERROR_PROTOS,
        ]
    )
    # The OpenAPI document (Envoy's JSON API, for schemathesis and API clients) from the same descriptor.
    subprocess.run([sys.executable, str(ROOT / "envoy" / "openapi.py")], check=True)
    # docs/error-reasons.md (tracked) from the ErrorReason comments in the same descriptor.
    subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_error_reasons.py")], check=True)
    if typescript:
        if not ES_PLUGIN.exists():
            sys.exit(f"{ES_PLUGIN} missing: run `npm ci` in dashboard/ first")
        shutil.rmtree(TS_OUT, ignore_errors=True)
        TS_OUT.mkdir(parents=True)
        # google/api/* too: the generated TS imports them (annotations_pb) through our files' imports.
        google_api = ["google/api/annotations.proto", "google/api/http.proto"]
        _protoc(
            [
                f"--plugin=protoc-gen-es={ES_PLUGIN}",
                f"--es_out={TS_OUT}",
                "--es_opt=target=ts",
                *google_api,
                *files,
            ]
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--typescript", choices=("auto", "yes", "no"), default="auto")
    parser.add_argument("--vendor-google-api", action="store_true", help="refresh protos/google/{api,rpc}")
    args = parser.parse_args()
    if args.vendor_google_api:
        vendor_google_api()
    typescript = args.typescript == "yes" or (args.typescript == "auto" and ES_PLUGIN.exists())
    generate(typescript)


if __name__ == "__main__":
    main()
