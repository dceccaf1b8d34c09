"""The REAL auth_svc, predict_svc and ledger_svc, in-process on loopback ports, for bridge tests.

Each is built by its own server module (``build`` + ``services`` + ``interceptors``) exactly as
``python -m <svc>`` does; predict and ledger check tokens against the running auth_svc. Servers
can be stopped and started again on the same port (outage tests).
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import create_engine, text

from auth_svc.config import AuthConfig
from auth_svc.passwords import Argon2Hasher
from auth_svc.server import build as build_auth
from auth_svc.server import start as start_auth
from common.mqtt_auth import new_secret
from common.server import RunningServer, ServerConfig, start_server
from ledger_svc.canonical import Prediction, Settlement, decode_record
from ledger_svc.config import LedgerConfig
from ledger_svc.server import build as build_ledger
from ledger_svc.server import interceptors as ledger_interceptors
from ledger_svc.server import services as ledger_services
from ledger_svc.signing import Signer
from predict_svc.config import PredictConfig
from predict_svc.model import TrainParams, save_model, train_model
from predict_svc.server import build as build_predict
from predict_svc.server import interceptors as predict_interceptors
from predict_svc.server import services as predict_services
from predict_svc.synthetic import generate_market, load_params
from tests.demo_accounts import DEMO_ADMIN_PASSWORD, DEMO_USER_PASSWORD
from tests.ingest_svc.mqtt_broker import free_port

__all__ = ["Services", "ledger_records", "train_small_model"]

ISSUER, AUDIENCE = "energypulse-auth", "energypulse"

# Random per test session, as an installation's (no secret has a default).
SERVICE_SECRETS = {"ingest": new_secret(), "meter_sim": new_secret()}
KEK = base64.urlsafe_b64encode(os.urandom(32)).decode()


def train_small_model(directory: Path) -> Path:
    """A deliberately tiny NO1 model (seconds to train): the bridge tests need a forecast, not a good one."""
    now = pd.Timestamp.now(tz="UTC").floor("h")
    frame = generate_market(
        load_params("NO1"), now - pd.Timedelta(days=120), now + pd.Timedelta(days=2), seed=42
    )
    # The week-ahead part too (its defaults fit ~55 boosters of 300 rounds: minutes under load, and
    # the setup of a bridge test once ran into pytest's timeout beside busy cores).
    params = TrainParams(
        rounds=8,
        num_leaves=7,
        multi_rows=1500,
        validation_hours=24 * 7,
        threads=1,
        week_ahead_rounds=8,
        week_ahead_folds=2,
    )
    model = train_model(frame, "NO1", train_end=now - pd.Timedelta(days=3), params=params, source="synthetic")
    directory.mkdir(parents=True, exist_ok=True)
    save_model(model, directory / "NO1.json")
    return directory


@dataclass
class Services:
    root: Path
    model_dir: Path
    auth_port: int = field(default_factory=free_port)
    predict_port: int = field(default_factory=free_port)
    ledger_port: int = field(default_factory=free_port)
    running: dict[str, RunningServer] = field(default_factory=dict)
    apps: dict[str, Any] = field(default_factory=dict)
    predict_now: Callable[[], datetime] | None = None  # predict_svc's clock (default: real time)
    auth_database_url: str = ""  # auth_svc's database (default: a SQLite file under root)

    @property
    def ledger_url(self) -> str:
        return f"sqlite:///{self.root / 'ledger.db'}"

    def target(self, name: str) -> str:
        return f"127.0.0.1:{getattr(self, name + '_port')}"

    async def start_all(self) -> None:
        for name in ("auth", "predict", "ledger"):
            await self.start(name)

    async def start(self, name: str) -> None:
        starters: dict[str, Callable[[], Any]] = {
            "auth": self._start_auth,
            "predict": self._start_predict,
            "ledger": self._start_ledger,
        }
        self.running[name] = await starters[name]()

    async def stop(self, name: str) -> None:
        server = self.running.pop(name, None)
        if server is not None:
            await server.stop(None)
        app = self.apps.pop(name, None)
        if app is not None and hasattr(app, "engine"):
            app.engine.dispose()

    async def stop_all(self) -> None:
        for name in ("ledger", "predict", "auth"):
            await self.stop(name)

    async def _start_auth(self) -> RunningServer:
        config = AuthConfig(
            database_url=self.auth_database_url or f"sqlite:///{self.root / 'auth.db'}",
            demo=True,
            demo_households=1,
            demo_admin_password=DEMO_ADMIN_PASSWORD,
            demo_user_password=DEMO_USER_PASSWORD,
            key_encryption_key=KEK,
            service_accounts=",".join(f"{k}:{v}" for k, v in SERVICE_SECRETS.items()),
        )
        app = build_auth(config, hasher=Argon2Hasher(time_cost=1, memory_cost_kib=1024))
        self.apps["auth"] = app
        return await start_auth(app, ServerConfig(port=self.auth_port, metrics_port=-1))

    async def _start_predict(self) -> RunningServer:
        config = PredictConfig(
            zones=("NO1",),
            model_dir=str(self.model_dir),
            state_dir=str(Path(self.model_dir).parent / "predict-state"),
            train_missing=False,
            auth_target=self.target("auth"),
            jwt_issuer=ISSUER,
            jwt_audience=AUDIENCE,
        )
        app = (
            build_predict(config) if self.predict_now is None else build_predict(config, now=self.predict_now)
        )
        self.apps["predict"] = app
        return await start_server(
            ServerConfig(port=self.predict_port, metrics_port=-1),
            predict_services(app),
            predict_interceptors(app),
        )

    async def _start_ledger(self) -> RunningServer:
        config = LedgerConfig(
            database_url=self.ledger_url,
            block_max_txs=1000,
            block_max_ms=3_600_000,
            auth_target=self.target("auth"),
        )
        app = build_ledger(config, signer=Signer.from_seed(bytes(range(32))))
        self.apps["ledger"] = app
        return await start_server(
            ServerConfig(port=self.ledger_port, metrics_port=-1),
            ledger_services(app),
            ledger_interceptors(app),
        )


def ledger_records(ledger_url: str) -> list[Prediction | Settlement]:
    """Every record in the ledger, read from its database and decoded with its own codec."""
    engine = create_engine(ledger_url)
    try:
        with engine.connect() as conn:
            blobs = [
                bytes(r[0])
                for r in conn.execute(text("select record from ledger_transactions order by leaf_index"))
            ]
    finally:
        engine.dispose()
    return [decode_record(b) for b in blobs]
