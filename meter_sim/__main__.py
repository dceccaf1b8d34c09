"""``python -m meter_sim``: run the simulator (flags override EP_METER_* settings)."""

from __future__ import annotations

import argparse
import signal
import threading
from typing import Any

from common.config import from_env
from common.log import configure_logging
from meter_sim.config import MeterSimConfig
from meter_sim.simulator import Simulator

_FLAGS = {
    "count": int,
    "heating_mix": str,
    "ev_share": float,
    "solar_share": float,
    "interval_s": float,
    "seed": int,
    "speedup": float,
    "start": str,
    "connections": int,
    "id_prefix": str,
    "buffer_max": int,
    "readings_per_meter": int,
    "mqtt_url": str,
    "ingest_addr": str,
}


# argparse's values are untyped (each one converted by its flag's ``type=``).
def parse_args(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        prog="meter_sim", description="Simulated smart meters publishing over MQTT"
    )
    for name, kind in _FLAGS.items():
        parser.add_argument("--" + name.replace("_", "-"), dest=name, type=kind, default=None)
    parser.add_argument("--allow-future", dest="allow_future", action="store_true", default=None)
    args = vars(parser.parse_args(argv))
    return {k: v for k, v in args.items() if v is not None}


def main(argv: list[str] | None = None) -> None:
    config = from_env(MeterSimConfig, **parse_args(argv))
    configure_logging("meter_sim", config.log_level)
    registrar = provisioner = None
    if config.ingest_addr:
        from meter_sim.credentials import make_provisioner
        from meter_sim.registration import make_registrar

        registrar = make_registrar(
            config.ingest_addr,
            config.auth_target,
            config.service_username,
            config.service_secret,
            config.zone,
        )
        if config.provision:
            provisioner = make_provisioner(
                config.ingest_addr, config.auth_target, config.service_username, config.service_secret
            )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    Simulator(config, registrar=registrar, provisioner=provisioner).run(stop)


if __name__ == "__main__":
    main()
