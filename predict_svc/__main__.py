"""``python -m predict_svc``: run the prediction service until SIGTERM."""

from __future__ import annotations

import asyncio
import sys

from common.config import ConfigError, from_env
from common.log import configure_logging, get_logger
from common.server import serve
from energy.billrules import bill_rules_from_env
from predict_svc.config import PredictConfig
from predict_svc.market import MarketDataError
from predict_svc.server import (
    build,
    interceptors,
    server_config,
    services,
    start_training,
    warm_forecasts,
    watch_models,
)


def main() -> int:
    try:
        config = from_env(PredictConfig)
    except ConfigError as exc:
        print(f"predict_svc: {exc}", file=sys.stderr)
        return 2
    configure_logging("predict_svc", config.log_level)
    log = get_logger("predict_svc")
    try:
        app = build(config, rules=bill_rules_from_env())
        grpc_config = server_config()
    except (ConfigError, MarketDataError, ValueError) as exc:
        log.error("config_invalid", error=str(exc))
        return 2
    start_training(app)
    background = [lambda: warm_forecasts(app)]
    if config.watch_seconds > 0:
        background.append(lambda: watch_models(app, config.watch_seconds))
    asyncio.run(
        serve(
            grpc_config,
            services(app),
            interceptors(app),
            background=background,
            ready=app.ready,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
