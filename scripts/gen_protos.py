"""Regenerate everything derived from protos/: the one command behind `make protos`.

Writes (none of it edited by hand; all but the reasons table untracked):
- energypulse/**: Python messages, gRPC stubs and .pyi type stubs (grpcio-tools);
- build/energypulse.pb: the descriptor set for Envoy's transcoder (imports + source info);
- build/openapi.json: OpenAPI 3 of the JSON API (envoy/openapi.py);
- docs/error-reasons.md: the table of ErrorInfo reasons (scripts/gen_error_reasons.py; tracked,
  checked by tests/common/test_error_reasons.py);
- dashboard/src/gen/**: TypeScript types (protoc-gen-es), when the dashboard's node_modules exist,
  and dashboard/src/gen/routes.ts: one typed path function per RPC from its google.api.http rule
  (gathered from dashboard/src/gen/routes/<service>.ts, one module per service);
- the client SDKs (sdk/README.md): sdk/typescript/src/gen/** and its build (sdk/typescript/dist/, tsc),
  when sdk/typescript's node_modules exist; sdk/python/src/energypulse/** (the same Python code as
  energypulse/, so the package stands alone).

googleapis' annotations.proto and http.proto are vendored under protos/google/{api,rpc} (tracked, copied
once from the googleapis-common-protos wheel), so protoc, buf and `buf breaking` against an older
commit all resolve them offline.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

from google.api import annotations_pb2, http_pb2
from google.protobuf import descriptor_pb2
from grpc_tools import protoc

ROOT = Path(__file__).resolve().parents[1]
PROTOS = ROOT / "protos"
PY_OUT = ROOT
DESCRIPTOR = ROOT / "build" / "energypulse.pb"
TS_OUT = ROOT / "dashboard" / "src" / "gen"
ES_PLUGIN = ROOT / "dashboard" / "node_modules" / ".bin" / "protoc-gen-es"
TS_SDK = ROOT / "sdk" / "typescript"
PY_SDK_OUT = ROOT / "sdk" / "python" / "src"
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
            f"--mypy_out=quiet:{PY_OUT}",
            f"--grpc_python_out={PY_OUT}",
            f"--mypy_grpc_out=quiet:{PY_OUT}",
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
        write_ts_routes()
    generate_python_sdk()
    if (TS_SDK / "node_modules" / ".bin" / "protoc-gen-es").exists():
        generate_typescript_sdk(files)
    elif typescript:
        print(
            f"note: {TS_SDK}/node_modules missing (npm ci there): TypeScript SDK not built", file=sys.stderr
        )


def generate_python_sdk() -> None:
    """sdk/python/src/energypulse: the generated Python messages and stubs, beside energypulse_client."""
    target = PY_SDK_OUT / "energypulse"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(PY_OUT / "energypulse", target, ignore=shutil.ignore_patterns("__pycache__"))


def generate_typescript_sdk(files: list[str]) -> None:
    """sdk/typescript: messages and service descriptors (protoc-gen-es, Node ESM imports), then tsc."""
    out = TS_SDK / "src" / "gen"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    google = ["google/api/annotations.proto", "google/api/http.proto", *ERROR_PROTOS]
    _protoc(
        [
            f"--plugin=protoc-gen-es={TS_SDK / 'node_modules' / '.bin' / 'protoc-gen-es'}",
            f"--es_out={out}",
            "--es_opt=target=ts,import_extension=js",
            *google,
            *files,
        ]
    )
    shutil.rmtree(TS_SDK / "dist", ignore_errors=True)
    subprocess.run(["npm", "run", "--silent", "build"], cwd=TS_SDK, check=True)


_PATH_PARAM = re.compile(r"\{([a-z0-9_]+)\}")
_ROUTE_HELPERS = """\
// Generated by scripts/gen_protos.py from the google.api.http rules. Do not edit.
// What every service's routes (./<service>.ts) are built with.
import type { DescMessage, MessageShape } from "@bufbuild/protobuf";

export interface Route<Input extends DescMessage = DescMessage, Output extends DescMessage = DescMessage> {
  /** "Service.Method", for messages and probes. */
  readonly rpc: string;
  readonly method: "GET" | "POST";
  readonly path: string;
  /** The request message: the query parameters (GET) or the body (POST) are its other fields. */
  readonly input: Input;
  readonly output: Output;
}

interface Rpc<Input extends DescMessage, Output extends DescMessage> {
  readonly name: string;
  readonly parent: { readonly name: string };
  readonly input: Input;
  readonly output: Output;
}

/** A path parameter's type: the request field's own type (int64 fields also take their decimal string). */
export type Param<R extends Rpc<DescMessage, DescMessage>, K extends keyof MessageShape<R["input"]>> = MessageShape<R["input"]>[K];

export const seg = (value: string | number | bigint): string => encodeURIComponent(String(value));

export function route<Input extends DescMessage, Output extends DescMessage>(rpc: Rpc<Input, Output>, method: Route["method"], path: string): Route<Input, Output> {
  return { rpc: `${rpc.parent.name}.${rpc.name}`, method, path, input: rpc.input, output: rpc.output };
}
"""

# One module per service, so a page loads only its services' schemas (issue #21: the sign-in
# page needs AuthService's alone); routes.ts gathers them for everything else.
_SERVICE_ROUTES_HEADER = """\
// Generated by scripts/gen_protos.py from the google.api.http rules. Do not edit.
// One function per RPC: its typed path parameters in; the method, path and request/response schemas out.
import {{ {service} }} from "../{module}";
import {{ {helpers} }} from "./route";
"""

_ROUTES_INDEX_HEADER = """\
// Generated by scripts/gen_protos.py from the google.api.http rules. Do not edit.
// Every service's routes (one module each under ./routes/, which the sign-in path imports alone).
"""


def _lower_camel(name: str) -> str:
    """A field name (household_id) or an RPC name (GetBlock) as protoc-gen-es spells it in TypeScript."""
    head, *rest = name.split("_")
    return head[:1].lower() + head[1:] + "".join(part[:1].upper() + part[1:] for part in rest)


def _ts_routes(fds: descriptor_pb2.FileDescriptorSet) -> dict[str, str]:
    """dashboard/src/gen/routes.ts (`routes.<service>.<rpc>(pathParams)` for every annotated RPC)
    and the per-service modules it gathers, routes/<service>.ts (`<service>Routes.<rpc>`); by path
    under dashboard/src/gen."""
    messages = {f".{f.package}.{m.name}": m for f in fds.file for m in f.message_type}
    out: dict[str, str] = {"routes/route.ts": _ROUTE_HELPERS}
    shorts: list[str] = []
    for file in fds.file:
        if not file.package.startswith("energypulse.") or not file.service:
            continue
        module = file.name.removesuffix(".proto") + "_pb"
        for service in file.service:
            lines = []
            uses_params = False
            for method in service.method:
                rule: http_pb2.HttpRule = method.options.Extensions[annotations_pb2.http]
                verb = rule.WhichOneof("pattern")
                if verb is None:
                    continue  # gRPC only (no JSON route through Envoy)
                if verb not in ("get", "post"):
                    sys.exit(f"{service.name}.{method.name}: the dashboard's Route has no {verb} yet")
                template: str = getattr(rule, verb)
                fields = {f.name: f for f in messages[method.input_type].field}
                rpc = f"{service.name}.method.{_lower_camel(method.name)}"
                params = []
                for name in _PATH_PARAM.findall(template):
                    string = fields[name].type == descriptor_pb2.FieldDescriptorProto.TYPE_STRING
                    param = f'Param<typeof {rpc}, "{_lower_camel(name)}">'
                    params.append(f"{_lower_camel(name)}: {param}{'' if string else ' | string'}")
                path = _PATH_PARAM.sub(lambda m: f"${{seg(p.{_lower_camel(m.group(1))})}}", template)
                if "{" in path.replace("${", ""):
                    sys.exit(f"{service.name}.{method.name}: unsupported path template {template}")
                uses_params = uses_params or bool(params)
                args = f"p: {{ {'; '.join(params)} }}" if params else ""
                lines.append(f"  /** {service.name}.{method.name}: {verb.upper()} {template} */")
                lines.append(
                    f'  {_lower_camel(method.name)}: ({args}) => route({rpc}, "{verb.upper()}", `{path}`),'
                )
            short = service.name.removesuffix("Service").lower()
            shorts.append(short)
            helpers = "route, seg, type Param" if uses_params else "route"
            header = _SERVICE_ROUTES_HEADER.format(service=service.name, module=module, helpers=helpers)
            body = f"export const {short}Routes = {{\n" + "\n".join(lines) + "\n} as const;\n"
            out[f"routes/{short}.ts"] = header + "\n" + body
    imports = "".join(f'import {{ {s}Routes }} from "./routes/{s}";\n' for s in shorts)
    body = "export const routes = {\n" + "".join(f"  {s}: {s}Routes,\n" for s in shorts) + "} as const;\n"
    reexport = 'export type { Route } from "./routes/route";\n'
    out["routes.ts"] = _ROUTES_INDEX_HEADER + imports + reexport + "\n" + body
    return out


def write_ts_routes() -> None:
    fds = descriptor_pb2.FileDescriptorSet.FromString(DESCRIPTOR.read_bytes())
    shutil.rmtree(TS_OUT / "routes", ignore_errors=True)
    (TS_OUT / "routes").mkdir(parents=True)
    for name, text in _ts_routes(fds).items():
        (TS_OUT / name).write_text(text)


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
