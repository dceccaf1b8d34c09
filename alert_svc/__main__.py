"""``python -m alert_svc``: run the alert service until SIGTERM."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Coroutine

from alert_svc.channels import deliver_forever
from alert_svc.config import AlertConfig
from alert_svc.evaluator import evaluate_forever
from alert_svc.server import build, interceptors, server_config, services
from alert_svc.signals import listen_forever
from common.config import ConfigError, from_env
from common.log import configure_logging, get_logger
from common.server import serve
from energy.ratebook import RateConfigError


def main() -> int:
    config = from_env(AlertConfig)
    configure_logging("alert_svc", config.log_level)
    log = get_logger("alert_svc")
    try:
        app = build(config)
        grpc_config = server_config()
    except (ConfigError, RateConfigError, ValueError) as exc:
        log.error("config_invalid", error=str(exc))
        return 2

    async def dispose() -> None:
        await app.upstream.close()
        app.engine.dispose()

    async def run() -> None:
        background: list[Callable[[], Coroutine[object, None, None]]] = [
            lambda: deliver_forever(app.deliverer, config.deliver_seconds)
        ]
        if app.store.notifies:  # PostgreSQL: streams of every replica woken by NOTIFY
            background.append(lambda: listen_forever(app.signals, config.database_url))
        if config.evaluate_seconds > 0:
            background.append(lambda: evaluate_forever(app.evaluator, config.evaluate_seconds))
        await serve(
            grpc_config,
            services(app),
            interceptors(app),
            background=background,
            on_shutdown=[dispose],
            on_draining=[app.servicer.drain.close],
        )

    asyncio.run(run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
