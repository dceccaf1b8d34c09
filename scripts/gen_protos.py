"""Regenerate everything derived from protos/: the one command behind `make protos`.

Writes (none of it tracked by git, none of it edited by hand):
- energypulse/**: Python messages, gRPC stubs and .pyi type stubs (grpcio-tools);
- build/energypulse.pb: the descriptor set for Envoy's transcoder (imports + source info);
- dashboard/src/gen/**: TypeScript types (protoc-gen-es), when the dashboard's node_modules exist.

googleapis' annotations.proto and http.proto are vendored under protos/google/api (tracked, copied
once from the googleapis-common-protos wheel), so protoc, buf and `buf breaking` against an older
commit all resolve them offline.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import sys
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parents[1]
PROTOS = ROOT / "protos"
PY_OUT = ROOT
DESCRIPTOR = ROOT / "build" / "energypulse.pb"
TS_OUT = ROOT / "dashboard" / "src" / "gen"
ES_PLUGIN = ROOT / "dashboard" / "node_modules" / ".bin" / "protoc-gen-es"
GOOGLE_API_FILES = ("annotations.proto", "http.proto")


def vendor_google_api() -> None:
    """Refresh protos/google/api from the installed wheel (only when upgrading googleapis)."""
    spec = importlib.util.find_spec("google.api.annotations_pb2")
    assert spec is not None and spec.origin is not None, "googleapis-common-protos is not installed"
    source = Path(spec.origin).parent
    target = PROTOS / "google" / "api"
    target.mkdir(parents=True, exist_ok=True)
    for name in GOOGLE_API_FILES:
        shutil.copyfile(source / name, target / name)


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
    _protoc([f"--python_out={PY_OUT}", f"--pyi_out={PY_OUT}", f"--grpc_python_out={PY_OUT}", *files])
    for package in {p.parent for p in (PY_OUT / "energypulse").rglob("*.py")}:
        for directory in [package, *package.parents]:
            if directory == PY_OUT:
                break
            (directory / "__init__.py").touch()
    DESCRIPTOR.parent.mkdir(parents=True, exist_ok=True)
    _protoc([f"--descriptor_set_out={DESCRIPTOR}", "--include_imports", "--include_source_info", *files])
    if typescript:
        if not ES_PLUGIN.exists():
            sys.exit(f"{ES_PLUGIN} missing: run `npm ci` in dashboard/ first")
        shutil.rmtree(TS_OUT, ignore_errors=True)
        TS_OUT.mkdir(parents=True)
        # google/api/* too: the generated TS imports them (annotations_pb) through our files' imports.
        google_api = [f"google/api/{name}" for name in GOOGLE_API_FILES]
        _protoc([f"--plugin=protoc-gen-es={ES_PLUGIN}", f"--es_out={TS_OUT}", "--es_opt=target=ts", *google_api, *files])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--typescript", choices=("auto", "yes", "no"), default="auto")
    parser.add_argument("--vendor-google-api", action="store_true", help="refresh protos/google/api")
    args = parser.parse_args()
    if args.vendor_google_api:
        vendor_google_api()
    typescript = args.typescript == "yes" or (args.typescript == "auto" and ES_PLUGIN.exists())
    generate(typescript)


if __name__ == "__main__":
    main()
