"""``python -m auth_svc``: run the auth service until SIGTERM."""

from __future__ import annotations

import asyncio
import sys

from auth_svc.config import AuthConfig
from auth_svc.server import background, build, interceptors, server_config, services
from common.config import ConfigError, from_env
from common.log import configure_logging, get_logger
from common.server import serve


def main() -> int:
    config = from_env(AuthConfig)
    configure_logging("auth_svc", config.log_level)
    log = get_logger("auth_svc")
    try:
        app = build(config)
        grpc_config = server_config()
    except ConfigError as exc:
        log.error("config_invalid", error=str(exc))
        return 2

    async def dispose() -> None:
        app.engine.dispose()

    asyncio.run(
        serve(
            grpc_config,
            services(app),
            interceptors(app),
            background=background(app),
            on_shutdown=[dispose],
            on_draining=[app.servicer.drain.close],
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
