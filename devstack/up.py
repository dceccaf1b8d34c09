"""Start the whole local stack under honcho and say where to open it.

    python -m devstack.up [--meters N] [--var-dir var] [--replicas ingest_svc=2,predict_svc=2] [--postgres URL]

Ports: the standard ones where free, else free ones (printed). Ctrl-C stops everything cleanly:
honcho forwards the signal and every service drains its in-flight calls.

Replicas (devstack/replicas.py): each copy of a service is its own entry of the generated
var/run/Procfile.run, with its own ports; Envoy round-robins over them, ingest replicas share one
MQTT subscription. Several replicas on SQLite files work on one machine (SQLite serialises
writers) but PostgreSQL is what scale-out is for: pass ``--postgres URL``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

from devstack.env import (
    SERVICES,
    allocate_ports,
    dashboard_locale,
    generate_envoy,
    pin_keys,
    replica_targets,
    stack_env,
)
from devstack.processes import read_procfile
from devstack.readiness import wait_all
from devstack.replicas import expand_procfile, parse_replicas, render_procfile

ROOT = Path(__file__).resolve().parents[1]

SERVICE_NAMES = {
    "auth": "energypulse.auth.v1.AuthService",
    "predict": "energypulse.prediction.v1.PredictionService",
    "ledger": "energypulse.ledger.v1.LedgerService",
    "ingest": "energypulse.telemetry.v1.TelemetryService",
    "alert": "energypulse.alert.v1.AlertService",
}


def write_env_file(env: dict[str, str], path: Path) -> None:
    # It carries the installation's secrets (devstack/secrets.py): readable by its owner only.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.chmod(path, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write("".join(f"{key}={value}\n" for key, value in sorted(env.items())))


def build_pinned_dashboard(env: dict[str, str], var_dir: Path) -> None:
    """Build the dashboard with this installation's pinned keys (VITE_EP_*: the ledger's and the
    witness's, spec §16, and the installation's locale) into its own state folder and serve that
    build: the page never fetches them at run time, and dashboard/dist (the plain build the tests
    serve) is left alone, so an installation's keys never leak into a later test stack's pages."""
    dashboard = ROOT / "dashboard"
    if not (dashboard / "node_modules").exists():
        return  # no toolchain: the plain build (if any) is served, with no pinned keys
    out_dir = var_dir.resolve() / "web"
    print("[run] building the dashboard with this installation's pinned keys", file=sys.stderr)
    subprocess.run(
        ["npm", "run", "--silent", "build", "--", "--outDir", str(out_dir), "--emptyOutDir"],
        cwd=dashboard,
        env={**os.environ, **env},
        check=True,
        stdout=subprocess.DEVNULL,
    )
    env["EP_WEB_DIST"] = str(out_dir)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meters", type=int, default=int(os.environ.get("EP_METER_COUNT", "20")))
    parser.add_argument(
        "--backfill-days",
        type=float,
        default=float(os.environ.get("EP_METER_BACKFILL_DAYS", "28")),
        help="days of back-history the meters publish at first start (0: none)",
    )
    parser.add_argument("--var-dir", type=Path, default=ROOT / "var" / "run")
    parser.add_argument("--ready-timeout", type=float, default=180.0)
    parser.add_argument(
        "--replicas",
        default=os.environ.get("EP_REPLICAS", ""),
        help="replica counts, e.g. ingest_svc=2,predict_svc=2 (auth_svc, predict_svc, ledger_svc, ingest_svc)",
    )
    parser.add_argument(
        "--postgres",
        default=os.environ.get("EP_DATABASE_URL", ""),
        metavar="URL",
        help="store every service in this PostgreSQL database (postgresql+psycopg://...) instead of SQLite",
    )
    args = parser.parse_args()
    try:
        replicas = parse_replicas(args.replicas)
    except ValueError as error:
        parser.error(str(error))
    if args.postgres and not args.postgres.startswith("postgresql"):
        parser.error("--postgres takes a postgresql+psycopg:// URL")
    scaled = sorted(name for name, count in replicas.items() if count > 1)
    if scaled and not args.postgres:
        print(
            f"warning: {', '.join(scaled)} run with several replicas on SQLite files. That works on one "
            "machine (writers take turns) but is not how it scales: pass --postgres URL.",
            file=sys.stderr,
        )

    args.var_dir.mkdir(parents=True, exist_ok=True)
    ports = allocate_ports(prefer_standard=True, replicas=replicas)
    env = stack_env(
        ports,
        args.var_dir,
        demo=True,
        meters=args.meters,
        database_url=args.postgres or None,
        backfill_days=args.backfill_days,
    )
    env.update(pin_keys(args.var_dir, ports))
    env["VITE_EP_LOCALE"] = dashboard_locale(env)  # written into the build with the pinned keys
    build_pinned_dashboard(env, args.var_dir)
    write_env_file(env, args.var_dir / "run.env")
    generate_envoy(env)
    procfile = args.var_dir / "Procfile.run"
    render_procfile(expand_procfile(read_procfile(), replicas, ports.ports), procfile)

    venv_bin = str(Path(sys.executable).parent)  # this environment has the project installed
    child_env = {
        **os.environ,
        **env,
        "PATH": venv_bin + os.pathsep + os.environ.get("PATH", ""),
        "PYTHONUNBUFFERED": "1",
    }
    honcho = subprocess.Popen(
        [str(Path(venv_bin) / "honcho"), "start", "-f", str(procfile), "-d", str(ROOT)],
        env=child_env,
        cwd=ROOT,
    )
    # Ctrl-C reaches honcho through the terminal's process group; a TERM sent to us is passed on.
    signal.signal(signal.SIGTERM, lambda *_: honcho.send_signal(signal.SIGTERM))
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    grpc_targets = {
        f"{svc}_svc" + (f"-{i}" if i > 1 else ""): target
        for svc in SERVICES
        for i, target in enumerate(replica_targets(ports, svc), start=1)
    }
    http_urls = {
        "envoy": f"http://127.0.0.1:{ports['edge']}/healthz",
        "web": f"http://127.0.0.1:{ports['web']}/",
        "witness": f"{env['EP_WITNESS_URL']}/healthz",
    }
    not_ready = asyncio.run(wait_all(grpc_targets, http_urls, timeout=args.ready_timeout))
    if honcho.poll() is None:
        url = f"http://127.0.0.1:{ports['edge']}/"
        banner = [
            "",
            "EnergyPulse is running" + (f" (not ready yet: {', '.join(not_ready)})" if not_ready else ""),
            f"  Dashboard + JSON API:  {url}",
            f"  Native gRPC (Envoy):   127.0.0.1:{ports['edge']}",
            "  Services (grpcurl):    "
            + ", ".join(f"{svc} {' '.join(replica_targets(ports, svc))}" for svc in SERVICES),
            f"  Processes:             {procfile}",
            f"  MQTT broker:           127.0.0.1:{ports['mqtt']} (loopback, logins only: docs/broker-security.md)",
            f"  Secrets (generated):   {args.var_dir / 'secrets.env'}",
            f"  Ledger key (pin it):   {env['EP_LEDGER_VERIFIER_KEY']}",
            f"  Witness:               {env['EP_WITNESS_URL']}/checkpoint  key {env['EP_WITNESS_VERIFIER_KEY']}",
            f"  Demo sign-in:          admin / {env['EP_AUTH_DEMO_ADMIN_PASSWORD']}   (operator)",
            f"                         household-0001 / {env['EP_AUTH_DEMO_USER_PASSWORD']}   (a household; -0002 ... likewise)",
            "                         (generated for this installation; kept in the secrets file above)",
            "  Stop with Ctrl-C.",
            "",
        ]
        print("\n".join(banner), flush=True)
    sys.exit(honcho.wait())


if __name__ == "__main__":
    main()
