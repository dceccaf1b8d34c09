"""``python -m ledger_svc``: run the ledger service until SIGTERM."""

from __future__ import annotations

import asyncio
import sys

from common.config import ConfigError, from_env
from common.log import configure_logging, get_logger
from common.server import serve
from ledger_svc.config import LedgerConfig
from ledger_svc.server import build, interceptors, seal_forever, server_config, services


def main() -> int:
    config = from_env(LedgerConfig)
    configure_logging("ledger_svc", config.log_level)
    log = get_logger("ledger_svc")
    try:
        app = build(config)
        grpc_config = server_config()
    except (ConfigError, FileNotFoundError, ValueError) as exc:
        log.error("config_invalid", error=str(exc))
        return 2

    async def dispose() -> None:
        app.engine.dispose()

    async def run() -> None:
        # The auth channel (grpc.aio) must be created inside the running event loop.
        await serve(
            grpc_config,
            services(app),
            interceptors(app),
            background=[lambda: seal_forever(app.ledger, config.block_max_ms)],
            on_shutdown=[dispose],
        )

    asyncio.run(run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
