"""Start the whole local stack under honcho and say where to open it.

    python -m devstack.up [--meters N] [--var-dir var]

Ports: the standard ones where free, else free ones (printed). Ctrl-C stops everything cleanly:
honcho forwards the signal and every service drains its in-flight calls.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

from devstack.env import SERVICES, allocate_ports, stack_env
from devstack.readiness import wait_all

ROOT = Path(__file__).resolve().parents[1]

SERVICE_NAMES = {
    "auth": "energypulse.auth.v1.AuthService",
    "predict": "energypulse.prediction.v1.PredictionService",
    "ledger": "energypulse.ledger.v1.LedgerService",
    "ingest": "energypulse.telemetry.v1.TelemetryService",
}


def write_env_file(env: dict[str, str], path: Path) -> None:
    path.write_text("".join(f"{key}={value}\n" for key, value in sorted(env.items())))


def generate_envoy(env: dict[str, str]) -> None:
    subprocess.run(
        [
            sys.executable, str(ROOT / "envoy" / "generate.py"), "--mode", "local",
            "--listen-port", env["EP_EDGE_PORT"], "--admin-port", env["EP_ENVOY_ADMIN_PORT"],
            "--out", env["EP_ENVOY_CONFIG"],
        ],
        check=True,
        env={**os.environ, **env},
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meters", type=int, default=int(os.environ.get("EP_METER_COUNT", "20")))
    parser.add_argument("--var-dir", type=Path, default=ROOT / "var" / "run")
    parser.add_argument("--ready-timeout", type=float, default=180.0)
    args = parser.parse_args()

    args.var_dir.mkdir(parents=True, exist_ok=True)
    ports = allocate_ports(prefer_standard=True)
    env = stack_env(ports, args.var_dir, demo=True, meters=args.meters)
    write_env_file(env, args.var_dir / "run.env")
    generate_envoy(env)

    venv_bin = str(ROOT / ".venv" / "bin")
    child_env = {**os.environ, **env, "PATH": venv_bin + os.pathsep + os.environ.get("PATH", ""),
                 "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    honcho = subprocess.Popen(
        [str(Path(venv_bin) / "honcho"), "start", "-f", str(ROOT / "Procfile"), "-d", str(ROOT)],
        env=child_env,
        cwd=ROOT,
    )
    # Ctrl-C reaches honcho through the terminal's process group; a TERM sent to us is passed on.
    signal.signal(signal.SIGTERM, lambda *_: honcho.send_signal(signal.SIGTERM))
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    grpc_targets = {f"{svc}_svc": f"127.0.0.1:{ports[svc]}" for svc in SERVICES}
    http_urls = {
        "envoy": f"http://127.0.0.1:{ports['edge']}/healthz",
        "web": f"http://127.0.0.1:{ports['web']}/",
    }
    not_ready = asyncio.run(wait_all(grpc_targets, http_urls, timeout=args.ready_timeout))
    if honcho.poll() is None:
        url = f"http://127.0.0.1:{ports['edge']}/"
        banner = [
            "",
            "EnergyPulse is running" + (f" (not ready yet: {', '.join(not_ready)})" if not_ready else ""),
            f"  Dashboard + JSON API:  {url}",
            f"  Native gRPC (Envoy):   127.0.0.1:{ports['edge']}",
            f"  Services (grpcurl):    " + ", ".join(f"{svc} 127.0.0.1:{ports[svc]}" for svc in SERVICES),
            f"  MQTT broker:           127.0.0.1:{ports['mqtt']}",
            "  Demo sign-in:          admin / admin-demo   (operator)",
            "                         household-0001 / demo (a household; -0002 ... likewise)",
            "  Stop with Ctrl-C.",
            "",
        ]
        print("\n".join(banner), flush=True)
    sys.exit(honcho.wait())


if __name__ == "__main__":
    main()
