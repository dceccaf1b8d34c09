"""gRPC server reflection, ``grpc.reflection.v1`` and ``v1alpha``, for grpcurl and other tools.

grpcio-reflection ships only ``v1alpha``; clients (grpcurl, grpc-go's and grpc-java's tools) ask
for ``v1`` first. The two protos are wire-identical apart from the package name, so one servicer
(grpcio-reflection's, on ``v1alpha`` messages) answers both: ``v1`` is registered as a generic
handler with the same message classes (v1alpha too, so both are registered alike), and a copy of the ``v1alpha`` file descriptor renamed to
``grpc.reflection.v1`` joins the descriptor pool, so ``v1`` itself can be described.

The pool reflection reads is the default pool with one addition: upb's
``FindFileContainingSymbol`` finds services, messages, fields and enums, but not a method's full
name (``pkg.Service.Method``), so ``grpcurl describe`` of a method answered "Symbol not found".

Through the edge: one Envoy listener fronts four services, and a reflection stream (one bidi call
carrying ``list``, then ``file_containing_symbol`` for any of them) cannot be split by route.
Envoy sends reflection to one upstream and sets ``x-energypulse-reflection: edge``
(envoy/generate.py, overwriting any client value); a request with that header is answered for every
``energypulse.*`` service in the contracts, as the edge serves them all. Without it a server
describes only what it serves itself. Both views read the same generated descriptors, which every
service ships (the contracts are public: docs/CLIENTS.md).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import AsyncIterator, Iterable

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.descriptor import Descriptor, FieldDescriptor, FileDescriptor
from grpc_reflection.v1alpha import reflection, reflection_pb2

__all__ = ["EDGE_HEADER", "SERVICE_NAMES", "V1", "V1ALPHA", "contract_service_names", "enable_reflection"]

V1ALPHA = reflection.SERVICE_NAME
V1 = "grpc.reflection.v1.ServerReflection"
SERVICE_NAMES = (V1, V1ALPHA)
_V1_FILE = "grpc/reflection/v1/reflection.proto"
# Set by the edge on the reflection routes (envoy/generate.py: REFLECTION_HEADER, the same name).
EDGE_HEADER = "x-energypulse-reflection"
HEALTH = "grpc.health.v1.Health"


class _Pool:
    """The descriptor pool as reflection reads it: the given pool, also resolving method names."""

    def __init__(self, pool: descriptor_pool.DescriptorPool) -> None:
        self._pool = pool

    def FindFileContainingSymbol(self, symbol: str) -> FileDescriptor:
        try:
            return self._pool.FindFileContainingSymbol(symbol)
        except KeyError:
            return self._pool.FindMethodByName(symbol).containing_service.file  # KeyError if not one

    def FindFileByName(self, name: str) -> FileDescriptor:
        return self._pool.FindFileByName(name)

    def FindMessageTypeByName(self, name: str) -> Descriptor:
        return self._pool.FindMessageTypeByName(name)

    def FindExtensionByNumber(self, message: Descriptor, number: int) -> FieldDescriptor:
        return self._pool.FindExtensionByNumber(message, number)

    def FindAllExtensions(self, message: Descriptor) -> list[FieldDescriptor]:
        return self._pool.FindAllExtensions(message)


def _add_v1_descriptor(pool: descriptor_pool.DescriptorPool) -> None:
    """Add ``grpc/reflection/v1/reflection.proto`` to ``pool``: the v1alpha file, renamed."""
    try:
        pool.FindFileByName(_V1_FILE)
        return  # already there (a later grpcio-reflection, or a second server in this process)
    except KeyError:
        pass
    proto = descriptor_pb2.FileDescriptorProto()
    reflection_pb2.DESCRIPTOR.CopyToProto(proto)
    old, new = f".{proto.package}.", ".grpc.reflection.v1."
    proto.name, proto.package = _V1_FILE, "grpc.reflection.v1"
    proto.ClearField("options")  # v1alpha's java_package and the like name the old package
    for message in proto.message_type:
        for field in message.field:
            if field.type_name.startswith(old):
                field.type_name = new + field.type_name.removeprefix(old)
    for service in proto.service:
        for method in service.method:
            method.input_type = new + method.input_type.removeprefix(old)
            method.output_type = new + method.output_type.removeprefix(old)
    pool.Add(proto)


def contract_service_names() -> list[str]:
    """Every ``energypulse.*`` service in the generated contracts (importing each ``*_pb2``
    module adds its file to the default descriptor pool)."""
    import energypulse

    names: set[str] = set()
    for module in pkgutil.walk_packages(energypulse.__path__, "energypulse."):
        if not module.name.endswith("_pb2"):
            continue
        file = importlib.import_module(module.name).DESCRIPTOR
        names.update(service.full_name for service in file.services_by_name.values())
    return sorted(names)


def enable_reflection(service_names: Iterable[str], server: grpc.aio.Server) -> None:
    """Serve reflection (v1 and v1alpha) for ``service_names`` and the reflection services; for
    every contract service when the edge asks (see the module docstring)."""
    pool = descriptor_pool.Default()
    _add_v1_descriptor(pool)
    own = reflection.aio.ReflectionServicer([*service_names, *SERVICE_NAMES], pool=_Pool(pool))
    edge: list[reflection.aio.ReflectionServicer] = []  # built on the first edge request

    def edge_servicer() -> reflection.aio.ReflectionServicer:
        if not edge:
            names = [*contract_service_names(), HEALTH, *SERVICE_NAMES]
            edge.append(reflection.aio.ReflectionServicer(names, pool=_Pool(pool)))
        return edge[0]

    async def info_behaviour(
        requests: AsyncIterator[reflection_pb2.ServerReflectionRequest],
        context: grpc.aio.ServicerContext[
            reflection_pb2.ServerReflectionRequest, reflection_pb2.ServerReflectionResponse
        ],
    ) -> AsyncIterator[reflection_pb2.ServerReflectionResponse]:
        metadata = context.invocation_metadata() or ()
        via_edge = any(key == EDGE_HEADER and value == "edge" for key, value in metadata)
        servicer = edge_servicer() if via_edge else own
        # The stubs type it as a coroutine; it is an async generator function.
        async for response in servicer.ServerReflectionInfo(requests, context):  # type: ignore[attr-defined]
            yield response

    info = grpc.stream_stream_rpc_method_handler(
        info_behaviour,
        request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
        response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
    )
    server.add_generic_rpc_handlers(
        [grpc.method_handlers_generic_handler(name, {"ServerReflectionInfo": info}) for name in SERVICE_NAMES]
    )
