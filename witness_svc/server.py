"""The witness process: poll the ledger's checkpoint, check it, cosign it, serve the last cosigned one.

``GET /checkpoint`` on the witness's own HTTP port returns the last checkpoint it cosigned (the
ledger's signed note with the witness's cosignature/v1 line appended, text/plain; CORS open, so
the dashboard can fetch it from its own origin). ``GET /healthz`` is 200 once a checkpoint has
been cosigned. Clients get the witness's verifier key from configuration, never from here.
"""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc

from common import tlog
from common.channels import make_channel
from common.config import ConfigError, from_env
from common.log import configure_logging, get_logger
from energypulse.ledger.v1 import ledger_service_pb2 as pb
from energypulse.ledger.v1 import ledger_service_pb2_grpc
from witness_svc.config import WitnessConfig
from witness_svc.witness import Refused, Witness, load_or_create_key

__all__ = ["CheckpointServer", "build", "main", "poll_once", "run"]

log = get_logger("witness_svc")


class CheckpointServer:
    """The witness's read endpoint, on a thread of its own."""

    def __init__(self, witness: Witness, host: str, port: int) -> None:
        self._witness = witness
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                state = outer._witness.state
                if self.path.split("?")[0] == "/checkpoint" and state is not None:
                    self._reply(200, state.note)
                elif self.path == "/healthz":
                    self._reply(200 if state is not None else 503, "ok\n" if state else "no checkpoint yet\n")
                else:
                    self._reply(404, "not found\n")

            def _reply(self, status: int, body: str) -> None:
                data = body.encode()
                self.send_response(status)
                self.send_header("content-type", "text/plain; charset=utf-8")
                self.send_header("content-length", str(len(data)))
                self.send_header("access-control-allow-origin", "*")
                self.send_header("cache-control", "no-store")
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                return  # requests are not worth a log line each

        self._httpd = ThreadingHTTPServer((host, port), Handler)
        self.port = int(self._httpd.server_address[1])
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="witness-http", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def build(config: WitnessConfig) -> Witness:
    if not config.ledger_key:
        raise ValueError("EP_WITNESS_LEDGER_KEY (the ledger's pinned verifier key) is required")
    key = load_or_create_key(config.key_path, create=config.create_key or config.demo)
    return Witness(tlog.Verifier.parse(config.ledger_key), config.name, key, config.state_path)


async def poll_once(witness: Witness, stub: ledger_service_pb2_grpc.LedgerServiceAsyncStub) -> int:
    """Fetch, check and cosign the ledger's newest checkpoint; returns its size."""
    from_size = witness.state.size if witness.state else 0
    reply = await stub.GetCheckpoint(pb.GetCheckpointRequest(from_size=from_size), timeout=10)
    proof = [bytes.fromhex(p) for p in reply.consistency_proof]
    before = witness.state
    state = witness.observe(reply.checkpoint, reply.from_size, proof)
    if before is None or state.size != before.size:
        log.info("witness_cosigned", tree_size=state.size, previous=before.size if before else None)
    return state.size


async def run(config: WitnessConfig, stop: asyncio.Event) -> None:
    witness = build(config)
    http = CheckpointServer(witness, config.http_host, config.http_port)
    http.start()
    log.info("witness_ready", verifier_key=str(witness.verifier), http_port=http.port, origin=witness.origin)
    channel = make_channel(config.ledger_target)
    # The AsyncStub class exists only in the .pyi: the Stub made on an aio channel is one.
    stub: ledger_service_pb2_grpc.LedgerServiceAsyncStub = ledger_service_pb2_grpc.LedgerServiceStub(channel)
    try:
        while not stop.is_set():
            started = time.monotonic()
            try:
                await poll_once(witness, stub)
            except Refused as exc:
                # Never cosigned; what the witness serves stays the last good checkpoint.
                log.error("witness_refused_checkpoint", reason=exc.reason, detail=str(exc))
            except grpc.aio.AioRpcError as exc:
                log.warning("witness_ledger_unreachable", code=exc.code().name, detail=exc.details())
            wait = max(config.poll_ms / 1000 - (time.monotonic() - started), 0.0)
            try:
                await asyncio.wait_for(stop.wait(), timeout=wait)
            except TimeoutError:
                pass
    finally:
        await channel.close()
        http.stop()


def main() -> int:
    try:
        config = from_env(WitnessConfig)
    except ConfigError as exc:
        print(f"witness_svc: {exc}", flush=True)
        return 2
    configure_logging("witness_svc", config.log_level)

    async def _main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await run(config, stop)

    try:
        asyncio.run(_main())
    except (FileNotFoundError, ValueError, tlog.NoteError) as exc:
        log.error("config_invalid", error=str(exc))
        return 2
    return 0
