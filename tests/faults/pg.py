"""A private PostgreSQL cluster the fault suite can stop and start (initdb/pg_ctl, as scripts/ensure-postgres)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from devstack.ports import free_port

__all__ = ["PrivatePostgres", "postgres_bindir"]


def postgres_bindir() -> Path | None:
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    return candidates[-1] if candidates else None


class PrivatePostgres:
    """initdb in a fresh directory, pg_ctl start/stop on a free port; ``url(db)`` for SQLAlchemy."""

    def __init__(self) -> None:
        bindir = postgres_bindir()
        if bindir is None:
            raise FileNotFoundError(
                "PostgreSQL server binaries not found (scripts/ensure-postgres installs them)"
            )
        self.bindir = bindir
        self.port = free_port()
        # Not under pytest's tmp dir: that is 0700 root, and the server runs as user postgres.
        self.root = Path(tempfile.mkdtemp(prefix="ep-faults-pg-"))
        self.data = self.root / "data"
        self._as_pg: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
            self._as_pg = ["runuser", "-u", "postgres", "--"]

    def _run(self, *args: str) -> None:
        subprocess.run([*self._as_pg, *args], check=True, capture_output=True, timeout=120)

    def init(self, databases: list[str]) -> None:
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust")
        self.start()
        for name in databases:
            self._run(
                str(self.bindir / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name
            )

    def start(self) -> None:
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.root / "log"),
            "-w",
            "-t",
            "60",
            "-o",
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=on",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def destroy(self) -> None:
        try:
            self.stop("immediate")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.root, ignore_errors=True)
