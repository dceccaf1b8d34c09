"""Replicas in the local run (devstack --replicas), on PostgreSQL: two of every service behind
Envoy; the ingest replicas split one MQTT shared subscription; killing one replica of a service
costs clients nothing (Envoy and the gRPC clients go to the other), and readings keep being
stored exactly once."""

from __future__ import annotations

import asyncio
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from devstack.env import replica_targets
from devstack.readiness import wait_all
from devstack.stack import Stack, start_stack
from tests.conftest import private_database
from tests.faults.conftest import provision
from tests.faults.load import ReadingPublisher

pytestmark = pytest.mark.slow

REPLICAS = {"auth_svc": 2, "predict_svc": 2, "ledger_svc": 2, "ingest_svc": 2}
READ_ROUTES = ["/api/v1/ledger/head", "/api/v1/zones/NO1/price-forecast?horizonHours=6", "/api/v1/grid/stats"]


@pytest.fixture(scope="module")
def shared_db(postgres_url: str) -> Iterator[str]:
    with private_database(postgres_url, "ep_replicas") as url:
        yield url


@pytest.fixture(scope="module")
def replicated(tmp_path_factory: pytest.TempPathFactory, shared_db: str) -> Iterator[Stack]:
    var_dir: Path = tmp_path_factory.mktemp("replicas")
    stack = start_stack(
        var_dir,
        ["broker", *REPLICAS, "envoy"],
        meters=1,
        timeout=300,
        replicas=REPLICAS,
        database_url=shared_db,
        extra_env={"EP_PREDICT_ZONES": "NO1"},
    )
    yield stack
    stack.close()


def _stored_by_replica(stack: Stack) -> list[float]:
    counts = []
    for key in ("ingest_metrics", "ingest_metrics.2"):
        body = (
            urllib.request.urlopen(f"http://127.0.0.1:{stack.ports[key]}/metrics", timeout=5).read().decode()
        )
        counts.append(
            sum(
                float(line.split()[-1])
                for line in body.splitlines()
                if line.startswith("ingest_readings_stored_total")
            )
        )
    return counts


def test_every_replica_serves_and_ingest_replicas_share_the_stream(replicated: Stack, shared_db: str) -> None:
    names = set(replicated.processes.procs)
    assert {"ingest_svc", "ingest_svc-2", "predict_svc-2", "ledger_svc-2", "auth_svc-2"} <= names
    token = replicated.login("admin", "admin-demo")
    for route in READ_ROUTES:
        # A fresh predict replica computes its week-ahead price path on the first call (seconds per
        # zone on a busy machine, issue #16's notes): this test is about every replica serving.
        assert replicated.api("GET", route, token=token, timeout=90)[0] == 200
    publisher = ReadingPublisher(replicated.ports["mqtt"], meters=10, period_s=0.1, prefix="rep-m")
    publisher.username, publisher.password = provision(replicated, "rep-gw", publisher.meter_ids())
    publisher.start()
    time.sleep(4)
    publisher.stop_producing()
    assert publisher.wait_all_acked(30)
    publisher.stop()
    published = set(publisher.published)
    engine = create_engine(shared_db)
    deadline = time.monotonic() + 30
    stored: set[tuple[str, int]] = set()
    while time.monotonic() < deadline and stored != published:
        with engine.connect() as conn:
            stored = {
                (m, int(s))
                for m, s in conn.execute(
                    text("SELECT meter_id, seq FROM readings WHERE meter_id LIKE 'rep-m%'")
                )
            }
        time.sleep(0.3)
    engine.dispose()
    assert stored == published
    first, second = _stored_by_replica(replicated)
    assert first > 0 and second > 0, f"the broker gave every reading to one replica: {first}, {second}"


@pytest.mark.parametrize("svc", ["auth", "predict", "ledger", "ingest"])
def test_killing_one_replica_costs_clients_nothing(replicated: Stack, svc: str) -> None:
    token = replicated.login("admin", "admin-demo")
    group = replicated.processes
    group.kill(f"{svc}_svc-2")
    try:
        route = {
            "auth": "/api/v1/auth/jwks",
            "predict": READ_ROUTES[1],
            "ledger": READ_ROUTES[0],
            "ingest": READ_ROUTES[2],
        }[svc]
        statuses = [replicated.api("GET", route, token=token, timeout=5)[0] for _ in range(20)]
        assert statuses == [200] * 20, f"{svc} with one of two replicas killed: {statuses}"
    finally:
        # Serving again before the next test: it may need both replicas (the shared stream).
        group.start(f"{svc}_svc-2")
        target = replica_targets(replicated.ports, svc)[1]
        assert not asyncio.run(wait_all({f"{svc}_svc-2": target}, {}, timeout=120)), (
            f"{svc}_svc-2 not serving after its restart:\n{group.log_tail(f'{svc}_svc-2')}"
        )
