"""The fault suite's system: the whole stack from the Procfile, ledger_svc and ingest_svc on a
private PostgreSQL cluster (so the database itself can be stopped), under steady load."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from devstack.stack import Stack, start_stack
from energypulse.auth.v1 import auth_service_pb2, auth_service_pb2_grpc
from energypulse.telemetry.v1 import reading_pb2, telemetry_service_pb2, telemetry_service_pb2_grpc
from tests.faults.load import LedgerAppender, ReadingPublisher
from tests.faults.pg import PrivatePostgres

ROOT = Path(__file__).resolve().parents[2]
ARTIFACT = ROOT / "test-artifacts" / "faults.json"
PARTS = ["broker", "auth_svc", "predict_svc", "ledger_svc", "ingest_svc", "alert_svc", "envoy"]


@dataclass
class FaultRig:
    stack: Stack
    pg: PrivatePostgres
    ingest_db: Engine
    ledger_db: Engine
    publisher: ReadingPublisher
    appender: LedgerAppender
    admin_token: str
    results: list[dict[str, Any]] = field(default_factory=list)

    def record(self, entry: dict[str, Any]) -> None:
        """Append one fault's figures and rewrite the artifact (partial results survive a failure)."""
        self.results = [r for r in self.results if r["fault"] != entry["fault"]] + [entry]
        ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
        load = {
            "readings_per_s": self.publisher.meters / self.publisher.period_s,
            "ledger_appends_per_s": round(1 / self.appender.period_s, 1),
            "meters": self.publisher.meters,
        }
        ARTIFACT.write_text(
            json.dumps(
                {
                    "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "load": load,
                    "faults": self.results,
                },
                indent=2,
            )
            + "\n"
        )

    def stored_readings(self) -> set[tuple[str, int]]:
        with self.ingest_db.connect() as conn:
            rows = conn.execute(
                text("SELECT meter_id, seq FROM readings WHERE meter_id LIKE :p"),
                {"p": self.publisher.prefix + "%"},
            ).all()
        return {(str(m), int(s)) for m, s in rows}

    def unstored(self, keys: list[tuple[str, int]]) -> set[tuple[str, int]]:
        """Which of ``keys`` (a window of published readings) are not in the database (yet)."""
        if not keys:
            return set()
        with self.ingest_db.connect() as conn:
            rows = conn.execute(
                text("SELECT meter_id, seq FROM readings WHERE meter_id LIKE :p AND seq BETWEEN :lo AND :hi"),
                {
                    "p": self.publisher.prefix + "%",
                    "lo": min(k[1] for k in keys),
                    "hi": max(k[1] for k in keys),
                },
            ).all()
        return set(keys) - {(str(m), int(s)) for m, s in rows}

    def stored_after(self, seq: int) -> bool:
        """Whether any reading with a seq above ``seq`` (produced later) is stored."""
        with self.ingest_db.connect() as conn:
            row = conn.execute(
                text("SELECT 1 FROM readings WHERE meter_id LIKE :p AND seq > :s LIMIT 1"),
                {"p": self.publisher.prefix + "%", "s": seq},
            ).first()
        return row is not None


def service_token(stack: Stack) -> str:
    stub = auth_service_pb2_grpc.AuthServiceStub(stack.channel("edge"))
    reply = stub.Login(
        auth_service_pb2.LoginRequest(username="ingest", password=stack.env["EP_INGEST_SERVICE_SECRET"]),
        timeout=5,
    )
    return str(reply.tokens.access_token)


GARBAGE_METERS = [f"garbage-{i}" for i in range(50)]


def provision(stack: Stack, device_id: str, meter_ids: list[str]) -> tuple[str, str]:
    """Register the meters (one household each) and have their device's credentials issued, as a
    meter integrator does: the broker admits nobody else (docs/broker-security.md)."""
    telemetry = telemetry_service_pb2_grpc.TelemetryServiceStub(stack.channel("ingest"))
    meta = [("authorization", f"Bearer {service_token(stack)}")]
    households = [
        reading_pb2.Household(
            household_id=f"h-{m}",
            zone="NO1",
            time_zone="Europe/Oslo",
            residents=2,
            heating=reading_pb2.HEATING_TYPE_HEAT_PUMP,
            meters=[reading_pb2.Meter(meter_id=m, household_id=f"h-{m}")],
        )
        for m in meter_ids
    ]
    telemetry.RegisterHouseholds(
        telemetry_service_pb2.RegisterHouseholdsRequest(households=households), metadata=meta, timeout=30
    )
    issued = telemetry.IssueDeviceCredentials(
        telemetry_service_pb2.IssueDeviceCredentialsRequest(device_id=device_id, meter_ids=meter_ids),
        metadata=meta,
        timeout=30,
    )
    return issued.username, issued.password


# Module scope: torn down right after test_faults.py, so this stack and test_replicas_stack.py's
# do not share the 2 cores.
@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultRig]:
    # Our own cluster on a free port: the suite stops it, so it must never be the shared server.
    pg = PrivatePostgres()
    try:
        pg.init(["ledger", "ingest"])
        var_dir = tmp_path_factory.mktemp("faults")
        extra = {
            "EP_LEDGER_DATABASE_URL": pg.url("ledger"),
            "EP_INGEST_DATABASE_URL": pg.url("ingest"),
            "EP_AUTH_ACCESS_TTL_S": "3600",  # the suite outlives the default 5 min token
            "EP_PREDICT_ZONES": "NO1",  # one model to train on this 2-core machine
            "EP_LEDGER_BLOCK_MAX_MS": "200",
        }
        stack = start_stack(var_dir, PARTS, meters=1, timeout=300, extra_env=extra)
    except BaseException:
        pg.destroy()
        raise
    ingest_db = create_engine(pg.url("ingest"), pool_pre_ping=True)
    ledger_db = create_engine(pg.url("ledger"), pool_pre_ping=True)
    publisher = ReadingPublisher(stack.ports["mqtt"], meters=10, period_s=0.1)
    appender = LedgerAppender(stack.target("edge"), lambda: service_token(stack), period_s=0.2)
    try:
        rig = FaultRig(
            stack, pg, ingest_db, ledger_db, publisher, appender, stack.login("admin", "admin-demo")
        )
        publisher.username, publisher.password = provision(stack, "fault-gw", publisher.meter_ids())
        publisher.start()
        appender.start()
        yield rig
    finally:
        publisher.stop()
        appender.stop()
        ingest_db.dispose()
        ledger_db.dispose()
        stack.close()
        pg.destroy()


def grpc_code(call: Any) -> grpc.StatusCode:
    try:
        call()
    except grpc.RpcError as error:
        return error.code()  # type: ignore[no-any-return]
    return grpc.StatusCode.OK
