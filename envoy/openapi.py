"""OpenAPI 3 document of the JSON API, generated from the descriptor set (never hand-written).

    python envoy/openapi.py [--descriptor build/energypulse.pb] [--out build/openapi.json]

It describes what Envoy's gRPC-JSON transcoder serves (envoy/generate.py), from the same source:
- one operation per RPC with a ``google.api.http`` rule; ``{field}`` path parameters;
- GET: query parameters from the request message's remaining fields, in lowerCamelCase
  (scalars, enums, repeated scalars and well-known types that print as strings);
- POST with ``body: "*"``: a JSON body of the request message minus the path fields;
- responses: the response message's proto3 JSON schema (int64 as a decimal string, enums by
  name, bytes base64, Timestamp RFC 3339, unset fields still printed), errors as google.rpc.Status;
- server-streaming RPCs are Server-Sent Events (``text/event-stream``, ``x-streaming: true``);
- ``bearer`` security on every RPC whose access rule is not PUBLIC.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from generate import public_rpcs  # envoy/generate.py, beside this script
from google.api import annotations_pb2, http_pb2
from google.protobuf import descriptor_pb2

ROOT = Path(__file__).resolve().parents[1]

__all__ = ["build_openapi", "main"]

FDP = descriptor_pb2.FieldDescriptorProto
_INT64: dict[str, object] = {"type": "string", "format": "int64", "pattern": "^-?[0-9]{1,18}$"}
_UINT64: dict[str, object] = {"type": "string", "format": "uint64", "pattern": "^[0-9]{1,19}$"}
_SCALARS: dict[int, dict[str, object]] = {
    FDP.TYPE_DOUBLE: {"type": "number", "format": "double"},
    FDP.TYPE_FLOAT: {"type": "number", "format": "float"},
    FDP.TYPE_INT64: _INT64,
    FDP.TYPE_SINT64: _INT64,
    FDP.TYPE_SFIXED64: _INT64,
    FDP.TYPE_UINT64: _UINT64,
    FDP.TYPE_FIXED64: _UINT64,
    FDP.TYPE_INT32: {"type": "integer", "format": "int32"},
    FDP.TYPE_SINT32: {"type": "integer", "format": "int32"},
    FDP.TYPE_SFIXED32: {"type": "integer", "format": "int32"},
    FDP.TYPE_UINT32: {"type": "integer", "format": "int64", "minimum": 0, "maximum": 4294967295},
    FDP.TYPE_FIXED32: {"type": "integer", "format": "int64", "minimum": 0, "maximum": 4294967295},
    FDP.TYPE_BOOL: {"type": "boolean"},
    FDP.TYPE_STRING: {"type": "string"},
    FDP.TYPE_BYTES: {"type": "string", "format": "byte"},
}
# Well-known types print as JSON strings or values, not as objects (proto3 JSON mapping).
_WELL_KNOWN: dict[str, dict[str, object]] = {
    ".google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    ".google.protobuf.Duration": {"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]{1,9})?s$"},
    ".google.protobuf.FieldMask": {"type": "string"},
    ".google.protobuf.Empty": {"type": "object", "additionalProperties": False},
    ".google.protobuf.StringValue": {"type": "string"},
    ".google.protobuf.BoolValue": {"type": "boolean"},
    ".google.protobuf.Int32Value": {"type": "integer", "format": "int32"},
    ".google.protobuf.Int64Value": _INT64,
    ".google.protobuf.UInt32Value": {"type": "integer", "minimum": 0},
    ".google.protobuf.UInt64Value": _UINT64,
    ".google.protobuf.DoubleValue": {"type": "number"},
    ".google.protobuf.FloatValue": {"type": "number"},
    ".google.protobuf.BytesValue": {"type": "string", "format": "byte"},
    ".google.protobuf.Struct": {"type": "object"},
    ".google.protobuf.Value": {},
    ".google.protobuf.ListValue": {"type": "array", "items": {}},
    ".google.protobuf.Any": {"type": "object", "properties": {"@type": {"type": "string"}}},
}
_PATH_PARAM = re.compile(r"\{([a-zA-Z0-9_.]+)(=[^}]*)?\}")


def lower_camel(name: str) -> str:
    """proto field name -> its JSON name (what the transcoder prints and accepts)."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


class _Types:
    """Every message and enum of the descriptor set, by fully qualified name (".pkg.Name")."""

    def __init__(self, fds: descriptor_pb2.FileDescriptorSet) -> None:
        self.messages: dict[str, descriptor_pb2.DescriptorProto] = {}
        self.enums: dict[str, descriptor_pb2.EnumDescriptorProto] = {}
        for file in fds.file:
            prefix = f".{file.package}" if file.package else ""
            for enum in file.enum_type:
                self.enums[f"{prefix}.{enum.name}"] = enum
            for message in file.message_type:
                self._add(prefix, message)

    def _add(self, prefix: str, message: descriptor_pb2.DescriptorProto) -> None:
        full = f"{prefix}.{message.name}"
        self.messages[full] = message
        for enum in message.enum_type:
            self.enums[f"{full}.{enum.name}"] = enum
        for nested in message.nested_type:
            self._add(full, nested)


class _SchemaBuilder:
    def __init__(self, types: _Types) -> None:
        self.types = types
        self.components: dict[str, dict[str, object]] = {}

    @staticmethod
    def ref_name(type_name: str) -> str:
        return type_name.lstrip(".")

    def field_schema(self, field: descriptor_pb2.FieldDescriptorProto) -> dict[str, object]:
        if field.type == FDP.TYPE_MESSAGE:
            entry = self.types.messages.get(field.type_name)
            if entry is not None and entry.options.map_entry:
                value = next(f for f in entry.field if f.name == "value")
                return {"type": "object", "additionalProperties": self.field_schema(value)}
            base = self.message_ref(field.type_name)
        elif field.type == FDP.TYPE_ENUM:
            base = self.enum_schema(field.type_name)
        else:
            base = dict(_SCALARS[field.type])
        if field.label == FDP.LABEL_REPEATED:
            return {"type": "array", "items": base}
        return base

    def enum_schema(self, type_name: str) -> dict[str, object]:
        enum = self.types.enums[type_name]
        return {"type": "string", "enum": [v.name for v in enum.value]}

    def message_ref(self, type_name: str) -> dict[str, object]:
        if type_name in _WELL_KNOWN:
            return dict(_WELL_KNOWN[type_name])
        name = self.ref_name(type_name)
        if name not in self.components:
            self.components[name] = {}  # placeholder first: messages may refer to themselves
            self.components[name] = self.message_schema(type_name)
        return {"$ref": f"#/components/schemas/{name}"}

    def message_schema(self, type_name: str, drop: frozenset[str] = frozenset()) -> dict[str, object]:
        message = self.types.messages[type_name]
        properties = {lower_camel(f.name): self.field_schema(f) for f in message.field if f.name not in drop}
        return {"type": "object", "properties": properties, "additionalProperties": False}


def _http_rule(method: descriptor_pb2.MethodDescriptorProto) -> tuple[str, str] | None:
    rule: http_pb2.HttpRule = method.options.Extensions[annotations_pb2.http]
    pattern = rule.WhichOneof("pattern")
    if pattern in (None, "custom"):
        return None
    return pattern, getattr(rule, pattern)


def _query_parameters(
    builder: _SchemaBuilder, message: descriptor_pb2.DescriptorProto, path_fields: set[str]
) -> list[dict[str, object]]:
    params = []
    for field in message.field:
        if field.name in path_fields:
            continue
        if field.type == FDP.TYPE_MESSAGE and field.type_name not in _WELL_KNOWN:
            continue  # nested messages are not sent as query parameters by our clients
        schema = builder.field_schema(field)
        if schema.get("type") == "object":
            continue
        param: dict[str, object] = {
            "name": lower_camel(field.name),
            "in": "query",
            "required": False,
            "schema": schema,
        }
        if schema.get("type") == "array":
            param["style"], param["explode"] = "form", True
        params.append(param)
    return params


def build_openapi(
    descriptor_path: Path, title: str = "EnergyPulse JSON API", version: str = "v1"
) -> dict[str, object]:
    fds = descriptor_pb2.FileDescriptorSet.FromString(descriptor_path.read_bytes())
    types = _Types(fds)
    public_paths = public_rpcs(fds)
    builder = _SchemaBuilder(types)
    status_ref = (
        builder.message_ref(".google.rpc.Status")
        if ".google.rpc.Status" in types.messages
        else {"type": "object"}
    )
    paths: dict[str, dict[str, object]] = {}
    tags = []
    for file in fds.file:
        if not file.package.startswith("energypulse."):
            continue
        for service in file.service:
            full_service = f"{file.package}.{service.name}"
            tags.append({"name": service.name, "description": full_service})
            for method in service.method:
                rule = _http_rule(method)
                if rule is None or method.client_streaming:
                    continue
                verb, template = rule
                path_fields = [m.group(1) for m in _PATH_PARAM.finditer(template)]
                openapi_path = _PATH_PARAM.sub(lambda m: "{" + m.group(1) + "}", template)
                request = types.messages[method.input_type]
                by_name = {f.name: f for f in request.field}
                parameters: list[dict[str, object]] = [
                    {
                        "name": name,
                        "in": "path",
                        "required": True,
                        # Path segments cannot hold "/" and an empty one matches no route.
                        "schema": {
                            **builder.field_schema(by_name[name]),
                            **(
                                {"pattern": "^[^/]+$", "minLength": 1}
                                if by_name[name].type == FDP.TYPE_STRING
                                else {}
                            ),
                        },
                    }
                    for name in path_fields
                    if name in by_name
                ]
                operation: dict[str, object] = {
                    "operationId": f"{service.name}_{method.name}",
                    "tags": [service.name],
                    "summary": f"{full_service}/{method.name}",
                }
                if verb == "get":
                    parameters += _query_parameters(builder, request, set(path_fields))
                elif verb in ("post", "put", "patch"):
                    body_rule = method.options.Extensions[annotations_pb2.http].body
                    if body_rule == "*":
                        schema = builder.message_schema(method.input_type, drop=frozenset(path_fields))
                    elif body_rule:
                        schema = builder.field_schema(by_name[body_rule])
                    else:
                        schema = None
                    if schema is not None:
                        operation["requestBody"] = {
                            "required": True,
                            "content": {"application/json": {"schema": schema}},
                        }
                if parameters:
                    operation["parameters"] = parameters
                response_schema = builder.message_ref(method.output_type)
                if method.server_streaming:
                    operation["x-streaming"] = True
                    ok = {
                        "description": "Server-Sent Events, one JSON message per event",
                        "content": {"text/event-stream": {"schema": {"type": "string"}}},
                    }
                else:
                    ok = {"description": "OK", "content": {"application/json": {"schema": response_schema}}}
                operation["responses"] = {
                    "200": ok,
                    "default": {
                        "description": "google.rpc.Status with one google.rpc.ErrorInfo",
                        "content": {"application/json": {"schema": status_ref}},
                    },
                }
                public = f"/{full_service}/{method.name}" in public_paths
                operation["security"] = [] if public else [{"bearer": []}]
                paths.setdefault(openapi_path, {})[verb] = operation
    return {
        "openapi": "3.0.3",
        "info": {
            "title": title,
            "version": version,
            "description": "Generated by envoy/openapi.py from the protos; served by Envoy's gRPC-JSON transcoder.",
        },
        "servers": [{"url": "/"}],
        "tags": tags,
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(builder.components.items())),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--descriptor", type=Path, default=ROOT / "build" / "energypulse.pb")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "openapi.json")
    args = parser.parse_args(argv)
    document = build_openapi(args.descriptor)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, indent=2) + "\n")


if __name__ == "__main__":
    main()
