"""alert_svc with several replicas on one database: leases (one claimant per delivery and per
evaluation shard, on SQLite and PostgreSQL), a WatchAlerts stream on one replica woken by an alert
another raised (PostgreSQL NOTIFY, no polling), and two real ``python -m alert_svc`` processes
against one PostgreSQL database delivering every alert exactly once."""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import secrets
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alert_svc.channels import new_subscription
from alert_svc.config import AlertConfig
from alert_svc.evaluator import shard_of
from alert_svc.rules import storage_json, validated
from alert_svc.server import MIGRATIONS, VERSION_TABLE, build
from alert_svc.signals import listen_forever
from alert_svc.store import AlertRow, AlertStore, DeliveryRow, NewAlert, RuleRow
from alert_svc.targets import TargetPolicy
from common.auth.credentials import IssuedToken, ServiceCredentials
from common.db import make_engine, upgrade
from devstack.stack import start_stack
from energypulse.alert.v1 import alert_pb2
from energypulse.alert.v1 import alert_service_pb2 as pb
from energypulse.prediction.v1 import forecast_pb2
from tests.alert_svc.alert_rig import Receiver, Upstreams, alert_rig, published_hours, start_standins
from tests.conftest import private_database, sqlite_or_postgres

HOUR = 3_600_000


def _spiky_hours(start_ms: int) -> list[forecast_pb2.PricePeriod]:
    return published_hours([40, 250, 260, 30] + [50] * 20, start_ms)


def _new_alert(hh: str, period: str) -> NewAlert:
    return NewAlert(hh, "r-" + hh, alert_pb2.ALERT_KIND_PRICE_SPIKE, period, 0, 0, "t", "m", 1.0)


database_url = sqlite_or_postgres(
    "ep_alert_leases", lambda url: upgrade(url, MIGRATIONS, version_table=VERSION_TABLE)
)


def test_a_lease_has_one_holder_until_it_runs_out(database_url: str) -> None:
    engines = [make_engine(database_url) for _ in range(2)]
    a, b = (AlertStore(e) for e in engines)
    try:
        assert a.claim_lease("evaluate:3/16", "a", 1_000, 2_000)  # created
        assert not b.claim_lease("evaluate:3/16", "b", 1_500, 2_500)  # a's runs
        assert b.claim_lease("evaluate:4/16", "b", 1_500, 2_500)  # another shard is free
        assert b.claim_lease("evaluate:3/16", "b", 2_000, 3_000)  # a's ran out
        assert not a.claim_lease("evaluate:3/16", "a", 2_999, 4_000)
    finally:
        for engine in engines:
            engine.dispose()


def test_a_due_delivery_is_claimed_by_one_replica_and_a_lost_lease_writes_nothing(database_url: str) -> None:
    engines = [make_engine(database_url) for _ in range(2)]
    a, b = (AlertStore(e) for e in engines)
    try:
        with Session(engines[0]) as s, s.begin():
            s.add(
                RuleRow(
                    rule_id="r-h1",
                    household_id="h1",
                    kind=1,
                    condition_json="{}",
                    display_name="",
                    create_ms=0,
                )
            )
        for i in range(3):
            assert a.raise_alert(_new_alert("h1", f"p{i}"), 1_000, 20) is not None
        with Session(engines[0]) as s, s.begin():  # pretend each has a webhook delivery owed
            for row in s.scalars(select(DeliveryRow)):
                row.status = "pending"
        got_a = a.claim_due(1_000, 61_000)
        got_b = b.claim_due(1_000, 61_000)
        assert len(got_a) == 3 and got_b == []  # each row to one claimant
        # a's lease runs out (a died mid-send): b may retry; a's late outcome is not written.
        got_b = b.claim_due(61_000, 121_000)
        assert len(got_b) == 3
        assert not a.finish(got_a[0], "sent", 1, 0, "")
        assert b.finish(got_b[0], "sent", 1, 0, "")
        assert [d.status for d in b.deliveries(got_b[0].alert_id)] == ["sent"]
        # b's lease on the other two runs out in turn: they are due again, the sent one is not.
        again = a.claim_due(121_000, 181_000)
        assert sorted(d.id for d in again) == sorted(d.id for d in got_b[1:])
    finally:
        for engine in engines:
            engine.dispose()


def test_shards_split_households_the_same_way_everywhere() -> None:
    households = [f"sim-h{i:06d}" for i in range(200)]
    shards = {shard_of(h, 16) for h in households}
    assert shards == set(range(16))
    assert [shard_of(h, 16) for h in households] == [shard_of(h, 16) for h in households]
    assert shard_of("sim-h000000", 16) == 7  # CRC-32: fixed across processes and releases


async def test_a_stream_on_one_replica_hears_an_alert_raised_by_another(
    tmp_path: Path, postgres_url: str
) -> None:
    with private_database(postgres_url, "ep_alert_notify") as url:
        async with alert_rig(tmp_path, database_url=url) as rig:
            # Replica B: same database, a stream that would look only every 10 minutes unwoken.
            async def fetch() -> IssuedToken:
                return IssuedToken("unused", 10**10)

            other = build(
                AlertConfig(
                    database_url=url,
                    key_encryption_key=base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
                    service_secret="s" * 20,
                    watch_poll_seconds=600,
                    watch_fallback_seconds=600,
                ),
                creds=ServiceCredentials(fetch),
            )
            listener = asyncio.create_task(listen_forever(other.signals, url))
            stream = other.servicer.WatchAlerts(pb.WatchAlertsRequest(household_id="hh-1"), None)  # type: ignore[arg-type]
            try:
                first = await stream.__anext__()
                assert first.unread_count == 0
                deadline = time.monotonic() + 30
                while not other.signals.listening:  # LISTEN is up (else B would poll)
                    assert time.monotonic() < deadline
                    await asyncio.sleep(0.05)
                nxt = asyncio.ensure_future(stream.__anext__())
                rig.up.periods = _spiky_hours(int(time.time() * 1000) // HOUR * HOUR + HOUR)
                await rig.stub.CreateAlertRule(
                    pb.CreateAlertRuleRequest(
                        household_id="hh-1",
                        rule=alert_pb2.AlertRule(
                            price_spike=alert_pb2.PriceSpikeCondition(threshold_eur_mwh=200)
                        ),
                    ),
                    metadata=rig.user("hh-1"),
                )
                raised = await rig.stub.EvaluateAlerts(pb.EvaluateAlertsRequest(), metadata=rig.admin())
                assert raised.raised == 1
                # A cap, far below B's 600 s look: only the NOTIFY can have woken the stream.
                pushed = await asyncio.wait_for(nxt, 60)
                assert pushed.alert.title.startswith("Price above 200") and pushed.unread_count == 1
                # Read on replica A: B's stream follows the badge.
                listed = await rig.stub.ListAlerts(
                    pb.ListAlertsRequest(household_id="hh-1"), metadata=rig.user("hh-1")
                )
                await rig.stub.AcknowledgeAlerts(
                    pb.AcknowledgeAlertsRequest(household_id="hh-1", alert_ids=[listed.alerts[0].alert_id]),
                    metadata=rig.user("hh-1"),
                )
                badge = await asyncio.wait_for(stream.__anext__(), 60)
                assert badge.unread_count == 0 and not badge.HasField("alert")
            finally:
                await stream.aclose()
                listener.cancel()
                await asyncio.gather(listener, return_exceptions=True)
                await other.upstream.close()
                other.engine.dispose()


class _StandinThread:
    """The stand-in upstreams on their own event loop (the stack under test is other processes)."""

    def __init__(self, up: Upstreams) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server, self.port = asyncio.run_coroutine_threadsafe(start_standins(up), self.loop).result(30)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(None), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def _metric(port: int, name: str, **labels: str) -> float:
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    total = 0.0
    for line in body.splitlines():
        if not line.startswith(name):
            continue
        head = line.rsplit(" ", 1)[0]
        if head.split("{")[0] == name and all(f'{k}="{v}"' in head for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


@pytest.mark.slow
def test_two_alert_svc_processes_on_one_postgres_deliver_each_alert_once(
    tmp_path: Path, postgres_url: str
) -> None:
    households = [f"rep-h{i:03d}" for i in range(24)]
    up = Upstreams()
    up.periods = _spiky_hours(int(time.time() * 1000) // HOUR * HOUR + HOUR)
    standins = _StandinThread(up)
    receiver = Receiver()
    try:
        with private_database(postgres_url, "ep_alert_replicas") as url:
            stack = start_stack(
                tmp_path / "stack",
                ["auth_svc", "alert_svc"],
                meters=1,
                timeout=180,
                replicas={"alert_svc": 2},
                database_url=url,
                extra_env={
                    "EP_PREDICT_TARGET": f"127.0.0.1:{standins.port}",
                    "EP_TELEMETRY_TARGET": f"127.0.0.1:{standins.port}",
                    "EP_ALERT_EVALUATE_SECONDS": "1",
                    "EP_ALERT_DELIVER_SECONDS": "0.05",
                    "EP_ALERT_EVALUATION_SHARDS": "8",
                    "EP_ALERT_ALLOWED_TARGET_NETWORKS": "127.0.0.0/8",
                },
            )
            engine = make_engine(url)
            try:
                assert {"alert_svc", "alert_svc-2"} <= set(stack.processes.procs)
                kek = base64.urlsafe_b64decode(stack.env["EP_ALERT_KEY_ENCRYPTION_KEY"])
                store = AlertStore(engine)
                policy = TargetPolicy((ipaddress.ip_network("127.0.0.0/8"),))
                rule = validated(
                    alert_pb2.AlertRule(price_spike=alert_pb2.PriceSpikeCondition(threshold_eur_mwh=200)),
                    "NOK",
                )
                for hh in households:  # two webhooks per household: 48 deliveries
                    for _ in range(2):
                        sub, _secret = new_subscription(
                            hh,
                            alert_pb2.Subscription(webhook=alert_pb2.WebhookTarget(url=receiver.url)),
                            kek,
                            policy,
                            0,
                        )
                        assert store.add_subscription(sub, 5)
                for hh in households:  # the replicas' rounds find the rules from here on
                    assert store.add_rule(
                        RuleRow(
                            rule_id=f"r-{hh}",
                            household_id=hh,
                            kind=rule.kind,
                            condition_json=storage_json(rule.condition),
                            display_name="spike",
                            create_ms=0,
                        ),
                        20,
                    )
                metrics = [stack.ports["alert_metrics"], stack.ports["alert_metrics.2"]]
                expected = 2 * len(households)
                deadline = time.monotonic() + 120  # a cap on the wait, not a timing assertion
                while len(receiver.requests) < expected:
                    assert time.monotonic() < deadline, f"{len(receiver.requests)} of {expected} delivered"
                    time.sleep(0.1)
                # Both replicas keep going for several more rounds each: still nothing twice.
                rounds = [_metric(p, "energypulse_alert_round_seconds_count") for p in metrics]
                while any(
                    _metric(p, "energypulse_alert_round_seconds_count") < r + 3
                    for p, r in zip(metrics, rounds, strict=True)
                ):
                    assert time.monotonic() < deadline, "replicas stopped evaluating"
                    time.sleep(0.2)
                deliveries = [h["x-energypulse-delivery"] for h, _ in receiver.requests]
                assert len(deliveries) == expected and len(set(deliveries)) == expected
                with Session(engine) as s:
                    assert s.scalar(select(func.count()).select_from(AlertRow)) == len(households)
                    statuses = list(s.scalars(select(DeliveryRow.status).where(DeliveryRow.channel != "app")))
                assert statuses == ["sent"] * expected
                sent = [
                    _metric(p, "energypulse_alert_deliveries_total", channel="webhook", outcome="sent")
                    for p in metrics
                ]
                assert sum(sent) == expected  # counted once, by whichever replica claimed each
            finally:
                engine.dispose()
                stack.close()
    finally:
        receiver.close()
        standins.close()
