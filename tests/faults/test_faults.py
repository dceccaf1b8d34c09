"""Faults under steady load, one at a time: kill -9 and restart every service, Envoy and the broker;
stop PostgreSQL; flood the dead-letter path. For each: clients get a prompt, clear error while the
part is down (every call has a deadline, and the error is UNAVAILABLE / HTTP 503, never a
timeout), the system recovers unaided (health SERVING, calls succeed), and at the end no reading
was lost or stored twice and every ledger append is present exactly once in a chain that verifies.

Time-to-recover per fault goes to test-artifacts/faults.json (bench/bench_faults.py reports it).
The tests run in file order and share one stack (tests/faults/conftest.py).
"""

from __future__ import annotations

import json
import os
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import grpc
import paho.mqtt.client as mqtt
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import text

from energypulse.auth.v1 import auth_service_pb2, auth_service_pb2_grpc
from energypulse.ledger.v1 import ledger_service_pb2, ledger_service_pb2_grpc
from energypulse.prediction.v1 import prediction_service_pb2, prediction_service_pb2_grpc
from energypulse.telemetry.v1 import telemetry_service_pb2, telemetry_service_pb2_grpc
from tests.faults.conftest import FaultRig

pytestmark = pytest.mark.slow

DEADLINE_S = 3.0  # every probe call's deadline; an answer at the deadline would be a hang
RECOVER_TIMEOUT_S = 60.0
HEALTH_NAMES = {
    "auth": "energypulse.auth.v1.AuthService",
    "predict": "energypulse.prediction.v1.PredictionService",
    "ledger": "energypulse.ledger.v1.LedgerService",
    "ingest": "energypulse.telemetry.v1.TelemetryService",
}


# --- probes ------------------------------------------------------------------------------
def _native_call(rig: FaultRig, svc: str, target: str | None = None) -> Callable[[], Any]:
    """One cheap read RPC of ``svc`` straight to its server (or to ``target``, e.g. Envoy)."""
    channel = grpc.insecure_channel(target or rig.stack.target(svc))
    meta = [("authorization", f"Bearer {rig.admin_token}")]
    if svc == "auth":
        stub = auth_service_pb2_grpc.AuthServiceStub(channel)
        return lambda: stub.Login(
            auth_service_pb2.LoginRequest(username="admin", password="admin-demo"), timeout=DEADLINE_S
        )
    if svc == "predict":
        p = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        return lambda: p.GetPriceForecast(
            prediction_service_pb2.GetPriceForecastRequest(zone="NO1", horizon_hours=6),
            metadata=meta,
            timeout=DEADLINE_S,
        )
    if svc == "ledger":
        lg = ledger_service_pb2_grpc.LedgerServiceStub(channel)
        return lambda: lg.GetSignedHead(
            ledger_service_pb2.GetSignedHeadRequest(), metadata=meta, timeout=DEADLINE_S
        )
    t = telemetry_service_pb2_grpc.TelemetryServiceStub(channel)
    return lambda: t.GetGridStats(
        telemetry_service_pb2.GetGridStatsRequest(), metadata=meta, timeout=DEADLINE_S
    )


JSON_ROUTE = {
    "auth": ("POST", "/api/v1/auth/login", {"username": "admin", "password": "admin-demo"}),
    "predict": ("GET", "/api/v1/zones/NO1/price-forecast?horizonHours=6", None),
    "ledger": ("GET", "/api/v1/ledger/head", None),
    "ingest": ("GET", "/api/v1/grid/stats", None),
}


def _json_call(rig: FaultRig, svc: str) -> tuple[int, Any]:
    method, path, body = JSON_ROUTE[svc]
    return rig.stack.api(method, path, body, token=rig.admin_token, timeout=DEADLINE_S)


def _grpc_outcome(call: Callable[[], Any]) -> tuple[grpc.StatusCode, float]:
    started = time.monotonic()
    try:
        call()
        code = grpc.StatusCode.OK
    except grpc.RpcError as error:
        code = error.code()
    return code, time.monotonic() - started


def assert_prompt_unavailable(
    rig: FaultRig, svc: str, via_edge: bool = True, native: bool = True
) -> dict[str, Any]:
    """While ``svc`` is down: UNAVAILABLE natively and through Envoy's gRPC, 503 as JSON, all prompt."""
    seen: dict[str, Any] = {}
    if native:
        code, took = _grpc_outcome(_native_call(rig, svc))
        assert code == grpc.StatusCode.UNAVAILABLE, f"native {svc} while down: {code} after {took:.1f}s"
        seen["native"] = code.name
    if via_edge:
        code, took = _grpc_outcome(_native_call(rig, svc, rig.stack.target("edge")))
        assert code == grpc.StatusCode.UNAVAILABLE, (
            f"gRPC via Envoy to {svc} while down: {code} after {took:.1f}s"
        )
        started = time.monotonic()
        status, body = _json_call(rig, svc)
        took = time.monotonic() - started
        assert status == 503, f"JSON via Envoy to {svc} while down: HTTP {status} after {took:.1f}s: {body}"
        seen["edge_grpc"], seen["edge_json"] = code.name, status
    return seen


def healthy(rig: FaultRig, svc: str) -> bool:
    stub = health_pb2_grpc.HealthStub(rig.stack.channel(svc))
    try:
        reply = stub.Check(health_pb2.HealthCheckRequest(service=HEALTH_NAMES[svc]), timeout=1.0)
    except grpc.RpcError:
        return False
    return reply.status == health_pb2.HealthCheckResponse.SERVING


def wait_until(what: str, check: Callable[[], bool], timeout: float = RECOVER_TIMEOUT_S) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if check():
                return time.monotonic() - started
        except (grpc.RpcError, OSError, urllib.error.URLError):
            pass
        time.sleep(0.1)
    state = (
        f"published={len(rig_for_messages.publisher.published)} unacked={rig_for_messages.publisher.unacked()} "
        f"connects={rig_for_messages.publisher.connects} crashed={rig_for_messages.publisher.crashed!r} appends={len(rig_for_messages.appender.receipts)} "
        f"append_failures={rig_for_messages.appender.failures}"
        if rig_for_messages is not None
        else ""
    )
    raise AssertionError(f"not recovered after {timeout:.0f}s: {what} ({state})")


rig_for_messages: FaultRig | None = None


@pytest.fixture(autouse=True)
def _describe(rig: FaultRig) -> None:
    global rig_for_messages
    rig_for_messages = rig


def service_recovered(rig: FaultRig, svc: str) -> Callable[[], bool]:
    def check() -> bool:
        if not healthy(rig, svc):
            return False
        status, _ = _json_call(rig, svc)
        return (
            status == 200
            and _grpc_outcome(_native_call(rig, svc, rig.stack.target("edge")))[0] == grpc.StatusCode.OK
        )

    return check


def progress_after(rig: FaultRig, since: float) -> Callable[[], bool]:
    """New readings stored and a new ledger append acknowledged since ``since`` (monotonic)."""
    published_before = set(rig.publisher.published)
    appends_before = len(rig.appender.receipts)

    def check() -> bool:
        new_stored = rig.stored_readings() - published_before
        return bool(new_stored) and len(rig.appender.receipts) > appends_before

    return check


def kill_and_restart(
    rig: FaultRig, process: str, svc: str | None, probe: Callable[[], dict[str, Any]]
) -> None:
    group = rig.stack.processes
    assert group.alive(process), group.log_tail(process)
    killed = time.monotonic()
    group.kill(process)  # SIGKILL: no drain, no goodbye
    time.sleep(0.5)  # let the kill be noticed (connections reset)
    errors = probe()
    restarted = time.monotonic()
    group.start(process)
    recover = wait_until(
        f"{process} healthy and answering", service_recovered(rig, svc) if svc else lambda: True
    )
    wait_until(f"load flowing again after {process}", progress_after(rig, restarted))
    restarted_to_flowing = time.monotonic() - restarted
    rig.record(
        {
            "fault": f"kill -9 {process}",
            "recover_s": round(recover, 2),  # restart -> health SERVING and calls through Envoy succeed
            "load_flowing_s": round(restarted_to_flowing, 2),
            "outage_s": round(time.monotonic() - killed, 2),
            "errors_while_down": errors,
        }
    )


# --- the faults, in order ------------------------------------------------------------------
def test_load_is_flowing_before_any_fault(rig: FaultRig) -> None:
    wait_until(
        "readings stored and ledger appends acknowledged", progress_after(rig, time.monotonic()), timeout=90
    )


@pytest.mark.parametrize("svc", ["ingest", "predict", "ledger", "auth"])
def test_kill_and_restart_service(rig: FaultRig, svc: str) -> None:
    kill_and_restart(rig, f"{svc}_svc", svc, lambda: assert_prompt_unavailable(rig, svc))


def test_kill_and_restart_envoy(rig: FaultRig) -> None:
    def probe() -> dict[str, Any]:
        started = time.monotonic()
        with pytest.raises((urllib.error.URLError, ConnectionError)):
            urllib.request.urlopen(f"{rig.stack.base_url}/healthz", timeout=DEADLINE_S)
        code, _ = _grpc_outcome(_native_call(rig, "ledger", rig.stack.target("edge")))
        assert code == grpc.StatusCode.UNAVAILABLE, code
        # The services themselves still answer natively.
        assert _grpc_outcome(_native_call(rig, "ledger"))[0] == grpc.StatusCode.OK
        return {
            "edge_json": "connection refused",
            "edge_grpc": code.name,
            "took_s": round(time.monotonic() - started, 2),
        }

    def edge_back() -> bool:
        status, _ = rig.stack.api("GET", "/api/v1/ledger/head", token=rig.admin_token, timeout=DEADLINE_S)
        return status == 200

    group = rig.stack.processes
    killed = time.monotonic()
    group.kill("envoy")
    errors = probe()
    restarted = time.monotonic()
    group.start("envoy")
    recover = wait_until("Envoy answering with a valid token (JWKS fetched again)", edge_back)
    wait_until("load flowing again after Envoy", progress_after(rig, restarted))
    rig.record(
        {
            "fault": "kill -9 envoy",
            "recover_s": round(recover, 2),
            "load_flowing_s": round(time.monotonic() - restarted, 2),
            "outage_s": round(time.monotonic() - killed, 2),
            "errors_while_down": errors,
        }
    )


def test_kill_and_restart_broker(rig: FaultRig) -> None:
    group = rig.stack.processes
    killed = time.monotonic()
    group.kill("broker")
    time.sleep(0.5)
    started = time.monotonic()
    with pytest.raises(ConnectionRefusedError):  # a publisher learns at once, it does not hang
        socket.create_connection(("127.0.0.1", rig.stack.ports["mqtt"]), timeout=DEADLINE_S)
    errors = {"mqtt_connect": "connection refused", "took_s": round(time.monotonic() - started, 2)}
    assert healthy(rig, "ingest"), "ingest_svc must keep serving its API while the broker is away"
    restarted = time.monotonic()
    group.start("broker")
    recover = wait_until(
        "publisher reconnected", lambda: rig.publisher.connects >= 2 and rig.publisher.unacked() < 2000
    )
    wait_until("readings published after the restart stored", progress_after(rig, restarted))
    rig.record(
        {
            "fault": "kill -9 broker",
            "recover_s": round(recover, 2),
            "load_flowing_s": round(time.monotonic() - restarted, 2),
            "outage_s": round(time.monotonic() - killed, 2),
            "errors_while_down": errors,
        }
    )


def test_stop_postgresql(rig: FaultRig) -> None:
    """PostgreSQL (ledger_svc's and ingest_svc's store) stopped for 10 s (shortened from 30 s to
    keep the suite within its time budget; nothing in the behaviour depends on the length)."""
    stopped = time.monotonic()
    rig.pg.stop("fast")
    time.sleep(1.0)
    # A write needs the database: a prompt UNAVAILABLE (DATABASE_UNAVAILABLE), not INTERNAL, not a hang.
    lg = ledger_service_pb2_grpc.LedgerServiceStub(rig.stack.channel("ledger"))
    meta = [("authorization", f"Bearer {rig.admin_token}")]
    code, took = _grpc_outcome(
        lambda: lg.VerifyChain(ledger_service_pb2.VerifyChainRequest(), metadata=meta, timeout=DEADLINE_S)
    )
    assert code == grpc.StatusCode.UNAVAILABLE, (
        f"VerifyChain with the database down: {code} after {took:.1f}s"
    )
    status, body = rig.stack.api(
        "GET", "/api/v1/households?pageSize=5", token=rig.admin_token, timeout=DEADLINE_S
    )
    assert status == 503, f"ListHouseholds via Envoy with the database down: HTTP {status} {body}"
    errors = {"ledger_native": code.name, "ingest_json": status, "appender": dict(rig.appender.failures)}
    time.sleep(max(0.0, 10.0 - (time.monotonic() - stopped)))
    restarted = time.monotonic()
    rig.pg.start()
    recover = wait_until(
        "ledger and ingest answering from the database again",
        lambda: (
            _grpc_outcome(
                lambda: lg.VerifyChain(
                    ledger_service_pb2.VerifyChainRequest(), metadata=meta, timeout=DEADLINE_S
                )
            )[0]
            == grpc.StatusCode.OK
            and rig.stack.api(
                "GET", "/api/v1/households?pageSize=5", token=rig.admin_token, timeout=DEADLINE_S
            )[0]
            == 200
        ),
    )
    wait_until("load flowing again after PostgreSQL", progress_after(rig, restarted))
    rig.record(
        {
            "fault": "stop PostgreSQL 10 s",
            "recover_s": round(recover, 2),
            "load_flowing_s": round(time.monotonic() - restarted, 2),
            "outage_s": round(time.monotonic() - stopped, 2),
            "errors_while_down": errors,
        }
    )


def test_dead_letter_flood(rig: FaultRig) -> None:
    """2,000 garbage messages (bad JSON, wrong shapes, 100 KB blobs, lying topics) while readings flow."""
    with rig.ingest_db.connect() as conn:
        before = int(conn.execute(text("SELECT count(*) FROM dead_letters")).scalar_one())
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="fault-garbage", protocol=mqtt.MQTTv5)
    client.max_inflight_messages_set(500)
    client.connect("127.0.0.1", rig.stack.ports["mqtt"])
    client.loop_start()
    garbage: list[tuple[str, bytes]] = []
    for i in range(2000):
        kind = i % 5
        topic = f"energy/meters/garbage-{i % 50}"
        payload = [
            b"\xff\xfe not json",
            json.dumps({"v": 1, "meter_id": "someone-else", "seq": i}).encode(),
            os.urandom(100_000) if i % 100 == 2 else b"[1, 2, 3]",
            json.dumps(
                {"v": 1, "meter_id": f"garbage-{i % 50}", "seq": i, "ts_ms": 0, "voltage_v": "NaN"}
            ).encode(),
            b"",
        ][kind]
        garbage.append((topic, payload))
    started = time.monotonic()
    infos = [client.publish(t, p, qos=1) for t, p in garbage]
    wait_until("the broker accepted every garbage message", lambda: all(i.is_published() for i in infos))
    client.loop_stop()
    client.disconnect()

    def drained() -> bool:
        with rig.ingest_db.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM dead_letters")).scalar_one()) - before >= len(
                garbage
            )

    wait_until("every garbage message dead-lettered", drained)
    drain = time.monotonic() - started  # first garbage published -> the last one dead-lettered
    assert healthy(rig, "ingest")
    wait_until("readings still flowing after the flood", progress_after(rig, time.monotonic()))
    status, body = rig.stack.api(
        "GET", "/api/v1/dead-letters?pageSize=10", token=rig.admin_token, timeout=DEADLINE_S
    )
    assert status == 200 and body.get("deadLetters"), (status, str(body)[:300])
    rig.record(
        {
            "fault": "dead-letter flood (2,000 garbage messages)",
            "recover_s": round(drain, 2),
            "load_flowing_s": round(time.monotonic() - started, 2),
            "outage_s": 0.0,
            "note": "recover_s = publishing the flood until every message is dead-lettered",
            "errors_while_down": {"ingest_health": "SERVING throughout"},
        }
    )


# --- the books balance -----------------------------------------------------------------------
def test_no_reading_lost_or_duplicated(rig: FaultRig) -> None:
    rig.publisher.stop_producing()
    assert rig.publisher.wait_all_acked(60), (
        f"{rig.publisher.unacked()} readings never acknowledged by the broker"
    )
    published = set(rig.publisher.published)
    wait_until("every published reading stored", lambda: published <= rig.stored_readings(), timeout=90)
    with rig.ingest_db.connect() as conn:
        rows = int(
            conn.execute(text("SELECT count(*) FROM readings WHERE meter_id LIKE 'fault-m%'")).scalar_one()
        )
        ours_dead = conn.execute(
            text("SELECT reason, count(*) FROM dead_letters WHERE meter_id LIKE 'fault-m%' GROUP BY reason")
        ).all()
    assert rig.stored_readings() == published, "stored readings differ from the published ones"
    assert rows == len(published), "a reading is stored twice"
    assert not ours_dead, f"valid readings were dead-lettered: {ours_dead}"
    assert len(published) > 1000


def test_every_ledger_append_present_exactly_once_and_chain_verifies(rig: FaultRig) -> None:
    rig.appender.stop_producing()
    wait_until("the last append acknowledged", rig.appender.idle, timeout=60)
    receipts = rig.appender.receipts
    assert len(receipts) > 50
    assert all(len(tx) == 1 for tx in receipts.values())
    with rig.ledger_db.connect() as conn:
        counts = dict(
            conn.execute(
                text(
                    "SELECT household_id, count(*) FROM ledger_transactions "
                    "WHERE household_id LIKE 'fault-ledger-%' GROUP BY household_id"
                )
            ).all()
        )
    expected = {f"fault-ledger-{rid.rsplit('-', 1)[1]}" for rid in receipts}
    assert set(counts) == expected, "ledger holds appends nobody got a receipt for, or misses some"
    assert set(counts.values()) == {1}, f"appended twice: {[h for h, c in counts.items() if c > 1]}"
    lg = ledger_service_pb2_grpc.LedgerServiceStub(rig.stack.channel("ledger"))
    meta = [("authorization", f"Bearer {rig.admin_token}")]
    for tx in list(receipts.values())[:: max(1, len(receipts) // 20)]:
        lg.GetTransaction(ledger_service_pb2.GetTransactionRequest(tx_hash=tx[0]), metadata=meta, timeout=5)
    verdict = lg.VerifyChain(ledger_service_pb2.VerifyChainRequest(), metadata=meta, timeout=30)
    assert verdict.valid, f"chain broken at {verdict.first_bad_height}: {verdict.reason} {verdict.detail}"
    assert verdict.transactions_checked >= len(receipts)
