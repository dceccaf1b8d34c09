"""``python -m auth_svc`` as a process: demo start-up, grpcurl without a token, SIGTERM; and a
production start-up that refuses the published demo key."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from auth_svc.config import DEMO_KEY_ENCRYPTION_KEY
from devstack.ports import free_port
from tests.conftest import ROOT, wait_for_port
from tests.demo_accounts import DEMO_ADMIN_PASSWORD, DEMO_USER_PASSWORD

GRPCURL = ROOT / ".venv" / "bin" / "grpcurl"


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EP_AUTH_")}
    env.update(
        EP_AUTH_DATABASE_URL=f"sqlite:///{tmp_path / 'auth.db'}",
        EP_AUTH_ARGON2_TIME_COST="1",
        EP_AUTH_ARGON2_MEMORY_KIB="1024",
        **extra,
    )
    return env


def _grpcurl(port: int, *args: str) -> subprocess.CompletedProcess[str]:
    # grpcurl [flags] address verb-or-method
    return subprocess.run(
        [str(GRPCURL), "-plaintext", *args[:-1], f"127.0.0.1:{port}", args[-1]],
        capture_output=True,
        text=True,
        timeout=20,
    )


def _demo_env(tmp_path: Path, port: int) -> dict[str, str]:
    return _env(
        tmp_path,
        EP_AUTH_DEMO="1",
        EP_AUTH_DEMO_ADMIN_PASSWORD=DEMO_ADMIN_PASSWORD,
        EP_AUTH_DEMO_USER_PASSWORD=DEMO_USER_PASSWORD,
        EP_AUTH_DEMO_HOUSEHOLDS="2",
        EP_AUTH_GRPC_PORT=str(port),
        EP_AUTH_KEY_ENCRYPTION_KEY=base64.urlsafe_b64encode(os.urandom(32)).decode(),
    )


def test_demo_process_serves_and_stops_gracefully(tmp_path: Path) -> None:
    port = free_port()
    env = _demo_env(tmp_path, port)
    proc = subprocess.Popen(
        [sys.executable, "-m", "auth_svc"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_port(port, timeout=30)
        listed = _grpcurl(port, "list")
        assert "energypulse.auth.v1.AuthService" in listed.stdout, listed.stderr
        login = _grpcurl(
            port,
            "-d",
            '{"username":"household-0001","password":"demo"}',
            "energypulse.auth.v1.AuthService/Login",
        )
        assert login.returncode == 0, login.stderr
        tokens = json.loads(login.stdout)["tokens"]
        assert tokens.get("accessToken", tokens.get("access_token", "")).count(".") == 2, tokens
        denied = _grpcurl(port, "energypulse.auth.v1.AuthService/ListUsers")
        assert "Unauthenticated" in denied.stderr
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "shutdown_complete" in err


def test_shutdown_ends_open_revocation_watches_cleanly(tmp_path: Path) -> None:
    """SIGTERM with a WatchRevocations stream open: the server ends the stream (status OK, so the
    watcher reconnects to another replica) before it stops, instead of leaving it to be cancelled
    when the grace period runs out (logged by gRPC as an unhandled error, with a raw traceback)."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "auth_svc"],
        cwd=ROOT,
        env=_demo_env(tmp_path, port) | {"EP_AUTH_SHUTDOWN_GRACE_SECONDS": "3"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    watcher: subprocess.Popen[str] | None = None
    try:
        wait_for_port(port, timeout=30)
        watcher = subprocess.Popen(
            [
                str(GRPCURL),
                "-plaintext",
                f"127.0.0.1:{port}",
                "energypulse.auth.v1.AuthService/WatchRevocations",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert watcher.stdout is not None
        assert watcher.stdout.readline().strip() == "{"  # the first list arrived: the stream is open
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert watcher is not None
    _watch_out, watch_err = watcher.communicate(timeout=30)
    assert watcher.returncode == 0, watch_err  # ended by the server with OK, not cancelled
    assert "Exception not handled" not in err and "CancelledError" not in err, err
    assert "shutdown_complete" in err


def test_production_start_refuses_demo_key(tmp_path: Path) -> None:
    env = _env(tmp_path, EP_AUTH_KEY_ENCRYPTION_KEY=DEMO_KEY_ENCRYPTION_KEY)
    done = subprocess.run(
        [sys.executable, "-m", "auth_svc"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "published demo key" in done.stderr
