"""``python -m ingest_svc``: MQTT ingest pipeline + TelemetryService in one process until SIGTERM.

The MQTT subscriber and the batching writer run in their own threads (blocking sockets, and
the writer is database-bound); the gRPC server runs on asyncio. On SIGTERM the server drains,
then the pipeline stores and acknowledges everything it has received before disconnecting.
"""

from __future__ import annotations

import asyncio
import sys

from common.config import ConfigError, from_env
from common.log import configure_logging, get_logger
from common.server import serve
from ingest_svc.app import IngestApp
from ingest_svc.config import IngestConfig
from ingest_svc.server import interceptors, server_config, services


def main() -> int:
    config = from_env(IngestConfig)
    configure_logging("ingest_svc", config.log_level)
    log = get_logger("ingest_svc")
    try:
        app = IngestApp(config)
        grpc_config = server_config()
    except (ConfigError, ValueError) as exc:
        log.error("config_invalid", error=str(exc))
        return 2
    app.start()

    async def stop_pipeline() -> None:
        await asyncio.to_thread(app.stop)

    background = [app.run_billing] if app.billing is not None else []
    asyncio.run(
        serve(
            grpc_config,
            services(app),
            interceptors(app),
            background=background,
            on_shutdown=[stop_pipeline],
            on_draining=[app.drain.close],
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
