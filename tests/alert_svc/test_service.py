"""alert_svc end to end in process: real gRPC server and auth interceptor, stand-in upstream gRPC
servers, a local webhook receiver and a real Mosquitto as the household's broker."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path
from typing import Any

import grpc
import paho.mqtt.client as mqtt
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import select
from sqlalchemy.orm import Session

from alert_svc.store import DeliveryRow, SubscriptionRow
from common.timestamps import from_ms
from energypulse.alert.v1 import alert_pb2
from energypulse.alert.v1 import alert_service_pb2 as pb
from energypulse.prediction.v1 import forecast_pb2
from tests.alert_svc.alert_rig import Rig, alert_rig, published_hours, verify_signature
from tests.conftest import Broker
from tests.mqtt_identities import HARNESS_PASSWORD, HARNESS_USER, login

HH, OTHER = "hh-1", "hh-2"
HOUR = 3_600_000


def _info(error: grpc.aio.AioRpcError) -> error_details_pb2.ErrorInfo:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None
    info = error_details_pb2.ErrorInfo()
    status.details[0].Unpack(info)
    return info


def _reason(error: grpc.aio.AioRpcError) -> str:
    return _info(error).reason


def _now_hour() -> int:
    return int(time.time() * 1000) // HOUR * HOUR


async def _rule(rig: Rig, **condition: Any) -> alert_pb2.AlertRule:
    rule = alert_pb2.AlertRule(**condition)
    response = await rig.stub.CreateAlertRule(
        pb.CreateAlertRuleRequest(household_id=HH, rule=rule), metadata=rig.user(HH)
    )
    return response.rule


async def _webhook(rig: Rig) -> pb.CreateSubscriptionResponse:
    sub = alert_pb2.Subscription(webhook=alert_pb2.WebhookTarget(url=rig.receiver.url))
    return await rig.stub.CreateSubscription(
        pb.CreateSubscriptionRequest(household_id=HH, subscription=sub), metadata=rig.user(HH)
    )


async def _deliver_until(rig: Rig, done: Any, cap_s: float = 30) -> None:
    deadline = time.monotonic() + cap_s
    while not done():
        assert time.monotonic() < deadline, "deliveries not done"
        await asyncio.to_thread(rig.app.deliverer.deliver_due)
        await asyncio.sleep(0.05)


class Listener:
    """A Home Assistant stand-in: subscribes to discovery and the household's topics."""

    def __init__(self, broker: Broker) -> None:
        self.messages: dict[str, list[tuple[bytes, bool]]] = {}
        self.lock = threading.Lock()
        self.ready = threading.Event()
        self.client = login(mqtt.Client(CallbackAPIVersion.VERSION2, client_id="ha-standin"))

        def on_connect(c: mqtt.Client, *_: object) -> None:
            c.subscribe([("homeassistant/#", 1), ("energypulse/#", 1)])

        def on_subscribe(*_: object) -> None:
            self.ready.set()

        def on_message(_c: object, _u: object, msg: mqtt.MQTTMessage) -> None:
            with self.lock:
                self.messages.setdefault(msg.topic, []).append((msg.payload, bool(msg.retain)))

        self.client.on_connect, self.client.on_subscribe, self.client.on_message = (
            on_connect,
            on_subscribe,
            on_message,
        )
        self.client.connect("127.0.0.1", broker.port)
        self.client.loop_start()
        assert self.ready.wait(10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


async def _wait(condition: Any, cap_s: float = 15) -> None:
    deadline = time.monotonic() + cap_s
    while not condition():
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)


async def test_alerts_reach_the_app_the_webhook_and_the_broker_once(
    tmp_path: Path, mosquitto: Broker
) -> None:
    async with alert_rig(tmp_path) as rig:
        now = _now_hour()
        rig.up.periods = published_hours([40, 250, 260, 30, 10, 12, 50, 60] + [70] * 20, now + HOUR)
        rig.up.last_read_ms = int(time.time() * 1000) - 45 * 60_000
        rig.up.capacity_basis_kw = 4.7  # BKK: 94 % of the 5 kW step
        spike = await _rule(rig, price_spike=alert_pb2.PriceSpikeCondition(threshold_eur_mwh=200))
        await _rule(rig, cheap_window=alert_pb2.CheapWindowCondition(duration_minutes=120))
        await _rule(rig, capacity_step=alert_pb2.CapacityStepCondition())
        await _rule(rig, meter_silent=alert_pb2.MeterSilentCondition(silent_minutes=30))
        assert (
            spike.price_spike.min_probability == 0.5 and spike.price_spike.lookahead_hours == 24
        )  # defaults

        hook = await _webhook(rig)
        assert len(hook.signing_secret) >= 40
        broker = await rig.stub.CreateSubscription(
            pb.CreateSubscriptionRequest(
                household_id=HH,
                subscription=alert_pb2.Subscription(
                    mqtt=alert_pb2.MqttTarget(
                        host="127.0.0.1",
                        port=mosquitto.port,
                        username=HARNESS_USER,
                        password=HARNESS_PASSWORD,
                    )
                ),
            ),
            metadata=rig.user(HH),
        )
        assert broker.subscription.mqtt.password == "" and broker.signing_secret == ""
        listener = Listener(mosquitto)
        try:
            watch = rig.stub.WatchAlerts(pb.WatchAlertsRequest(household_id=HH), metadata=rig.user(HH))
            first = await watch.read()
            assert first.unread_count == 0 and not first.HasField("alert")

            evaluated = await rig.stub.EvaluateAlerts(pb.EvaluateAlertsRequest(), metadata=rig.admin())
            assert (evaluated.households, evaluated.raised) == (1, 4)
            assert rig.up.thresholds and set(rig.up.thresholds) == {200.0}
            assert rig.up.seen_tokens and all(t.startswith("Bearer ") for t in rig.up.seen_tokens)

            # The app: listed, counted, pushed on the stream.
            listed = await rig.stub.ListAlerts(pb.ListAlertsRequest(household_id=HH), metadata=rig.user(HH))
            kinds = {a.kind for a in listed.alerts}
            assert kinds == {
                alert_pb2.ALERT_KIND_PRICE_SPIKE,
                alert_pb2.ALERT_KIND_CHEAP_WINDOW,
                alert_pb2.ALERT_KIND_CAPACITY_STEP,
                alert_pb2.ALERT_KIND_METER_SILENT,
            }
            assert listed.unread_count == 4
            pushed = [await watch.read() for _ in range(4)]
            assert {m.alert.alert_id for m in pushed} == {a.alert_id for a in listed.alerts}
            spike_alert = next(a for a in listed.alerts if a.kind == alert_pb2.ALERT_KIND_PRICE_SPIKE)
            assert spike_alert.period_start_time.seconds * 1000 == now + 2 * HOUR
            cheap = next(a for a in listed.alerts if a.kind == alert_pb2.ALERT_KIND_CHEAP_WINDOW)
            assert cheap.period_start_time.seconds * 1000 == now + 5 * HOUR and cheap.value == 11

            # The webhook: every alert once, signed with the subscription's secret.
            await _deliver_until(rig, lambda: len(rig.receiver.requests) >= 4)
            assert sorted(p["alertId"] for p in rig.payloads()) == sorted(a.alert_id for a in listed.alerts)
            for headers, body in rig.receiver.requests:
                assert verify_signature(hook.signing_secret, headers, body)
                assert not verify_signature("another secret", headers, body)
            # The broker: discovery for the three sensors, each alert on the alert sensor.
            await _wait(lambda: len(listener.messages.get(f"energypulse/{HH}/alerts", [])) >= 4)
            assert {
                "homeassistant/sensor/energypulse_hh-1/price/config",
                "homeassistant/sensor/energypulse_hh-1/alert/config",
            } <= set(listener.messages)

            # Again: nothing new for the same periods, nothing delivered twice.
            again = await rig.stub.EvaluateAlerts(
                pb.EvaluateAlertsRequest(household_id=HH), metadata=rig.admin()
            )
            assert again.raised == 0
            await asyncio.to_thread(rig.app.deliverer.deliver_due)
            assert len(rig.receiver.requests) == 4

            acked = await rig.stub.AcknowledgeAlerts(
                pb.AcknowledgeAlertsRequest(household_id=HH, alert_ids=[spike_alert.alert_id]),
                metadata=rig.user(HH),
            )
            assert acked.unread_count == 3
            assert (await watch.read()).unread_count == 3  # the badge follows
            watch.cancel()
        finally:
            listener.close()


async def test_an_open_watch_ends_with_ok_when_the_replica_drains(tmp_path: Path) -> None:
    """At shutdown the WatchAlerts streams return (status OK) instead of being cancelled when the
    grace period runs out: the app reconnects to another replica at once."""
    async with alert_rig(tmp_path) as rig:
        watch = rig.stub.WatchAlerts(pb.WatchAlertsRequest(household_id=HH), metadata=rig.user(HH))
        first = await watch.read()
        assert first.unread_count == 0
        await rig.app.servicer.drain.close()
        assert await asyncio.wait_for(watch.read(), 30) == grpc.aio.EOF  # a cap, not a timing
        assert await watch.code() == grpc.StatusCode.OK


async def test_secrets_are_stored_sealed(tmp_path: Path, mosquitto: Broker) -> None:
    async with alert_rig(tmp_path) as rig:
        hook = await _webhook(rig)
        await rig.stub.CreateSubscription(
            pb.CreateSubscriptionRequest(
                household_id=HH,
                subscription=alert_pb2.Subscription(
                    mqtt=alert_pb2.MqttTarget(
                        host="127.0.0.1", port=mosquitto.port, username="u", password="hunter2-secret"
                    )
                ),
            ),
            metadata=rig.user(HH),
        )
        raw = (tmp_path / "alert.db").read_bytes() + (tmp_path / "alert.db-wal").read_bytes()
        assert hook.signing_secret.encode() not in raw and b"hunter2-secret" not in raw
        with Session(rig.app.engine) as s:
            assert all(r.secret_sealed for r in s.scalars(select(SubscriptionRow)))
        listed = await rig.stub.ListSubscriptions(
            pb.ListSubscriptionsRequest(household_id=HH), metadata=rig.user(HH)
        )
        assert [s.mqtt.password for s in listed.subscriptions if s.HasField("mqtt")] == [""]


async def test_webhook_retries_with_backoff_then_gives_up(tmp_path: Path) -> None:
    async with alert_rig(tmp_path, max_attempts=3) as rig:
        rig.up.periods = published_hours([300, 20], _now_hour() + HOUR)
        await _rule(rig, price_spike=alert_pb2.PriceSpikeCondition(threshold_eur_mwh=100))
        await _webhook(rig)
        rig.receiver.fail_next = 2
        await rig.stub.EvaluateAlerts(pb.EvaluateAlertsRequest(), metadata=rig.admin())
        await _deliver_until(rig, lambda: len(rig.receiver.requests) >= 3)
        with Session(rig.app.engine) as s:
            [hook] = [d for d in s.scalars(select(DeliveryRow)) if d.channel != "app"]
        assert (hook.status, hook.attempts) == ("sent", 3)
        ids = {h["x-energypulse-delivery"] for h, _ in rig.receiver.requests}
        assert len(ids) == 1  # the same delivery id on every retry: receivers deduplicate on it

        rig.up.periods = published_hours([20, 300], _now_hour() + HOUR)  # a new spike period
        rig.receiver.fail_next = 10
        await rig.stub.EvaluateAlerts(pb.EvaluateAlertsRequest(), metadata=rig.admin())
        for _ in range(5):
            await asyncio.to_thread(rig.app.deliverer.deliver_due)
        with Session(rig.app.engine) as s:
            statuses = sorted(
                (d.status, d.attempts) for d in s.scalars(select(DeliveryRow)) if d.channel != "app"
            )
        assert statuses == [("failed", 3), ("sent", 3)]


async def test_backoff_doubles_per_attempt(tmp_path: Path) -> None:
    async with alert_rig(tmp_path, max_attempts=5) as rig:
        rig.app.deliverer.backoff_s = 10.0
        frozen = [1_000_000.0]
        rig.app.deliverer.clock = lambda: frozen[0]
        rig.up.periods = published_hours([300], _now_hour() + HOUR)
        await _rule(rig, price_spike=alert_pb2.PriceSpikeCondition(threshold_eur_mwh=100))
        await _webhook(rig)
        rig.receiver.fail_next = 10
        await rig.stub.EvaluateAlerts(pb.EvaluateAlertsRequest(), metadata=rig.admin())
        with Session(rig.app.engine) as s, s.begin():
            s.execute(DeliveryRow.__table__.update().values(next_attempt_ms=0))
        delays = []
        for _ in range(3):
            await asyncio.to_thread(rig.app.deliverer.deliver_due)
            with Session(rig.app.engine) as s:
                [d] = [d for d in s.scalars(select(DeliveryRow)) if d.channel != "app"]
            delays.append(d.next_attempt_ms / 1000 - frozen[0])
            frozen[0] = d.next_attempt_ms / 1000
        assert delays == [10.0, 20.0, 40.0]


async def test_alerts_are_rate_limited_per_household_and_channel(tmp_path: Path) -> None:
    async with alert_rig(tmp_path, rate_limit_per_hour=2) as rig:
        # Three separate spike runs: three alerts, of which the channel takes two in the hour.
        rig.up.periods = published_hours([300, 10, 300, 10, 300], _now_hour() + HOUR)
        await _rule(rig, price_spike=alert_pb2.PriceSpikeCondition(threshold_eur_mwh=100))
        await _webhook(rig)
        raised = await rig.stub.EvaluateAlerts(pb.EvaluateAlertsRequest(), metadata=rig.admin())
        assert raised.raised == 3
        await _deliver_until(rig, lambda: len(rig.receiver.requests) >= 2)
        await asyncio.to_thread(rig.app.deliverer.deliver_due)
        assert len(rig.receiver.requests) == 2
        with Session(rig.app.engine) as s:
            by_channel: dict[str, list[str]] = {}
            for d in s.scalars(select(DeliveryRow).order_by(DeliveryRow.id)):
                by_channel.setdefault("app" if d.channel == "app" else "hook", []).append(d.status)
        assert by_channel == {
            "app": ["sent", "sent", "rate_limited"],
            "hook": ["sent", "sent", "rate_limited"],
        }
        listed = await rig.stub.ListAlerts(pb.ListAlertsRequest(household_id=HH), metadata=rig.user(HH))
        assert len(listed.alerts) == 3  # still listed in the app


async def test_a_household_sees_and_edits_only_its_own(tmp_path: Path) -> None:
    async with alert_rig(tmp_path) as rig:
        mine = await _rule(rig, meter_silent=alert_pb2.MeterSilentCondition())
        for call in (
            rig.stub.ListAlertRules(pb.ListAlertRulesRequest(household_id=HH), metadata=rig.user(OTHER)),
            rig.stub.ListAlerts(pb.ListAlertsRequest(household_id=HH), metadata=rig.user(OTHER)),
            rig.stub.DeleteAlertRule(
                pb.DeleteAlertRuleRequest(household_id=HH, rule_id=mine.rule_id), metadata=rig.user(OTHER)
            ),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as denied:
                await call
            assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
            assert _reason(denied.value) == "HOUSEHOLD_NOT_PERMITTED"
        # Its own household id with another household's rule id: not found, nothing deleted.
        with pytest.raises(grpc.aio.AioRpcError) as missing:
            await rig.stub.DeleteAlertRule(
                pb.DeleteAlertRuleRequest(household_id=OTHER, rule_id=mine.rule_id), metadata=rig.user(OTHER)
            )
        assert _reason(missing.value) == "ALERT_RULE_NOT_FOUND"
        with pytest.raises(grpc.aio.AioRpcError) as admin_only:
            await rig.stub.EvaluateAlerts(pb.EvaluateAlertsRequest(), metadata=rig.user(HH))
        assert admin_only.value.code() == grpc.StatusCode.PERMISSION_DENIED
        rules = await rig.stub.ListAlertRules(
            pb.ListAlertRulesRequest(household_id=HH), metadata=rig.user(HH)
        )
        assert [r.rule_id for r in rules.rules] == [mine.rule_id]


_FIELD_AT_FAULT = {
    "needs one condition": "condition",
    "threshold": "threshold_eur_mwh",
    "min_probability": "min_probability",
    "multiple of 15": "duration_minutes",
    "lookahead": "lookahead_hours",
    "approach_percent": "approach_percent",
    "silent_minutes": "silent_minutes",
    "display_name": "display_name",
}


@pytest.mark.parametrize(
    ("rule", "fragment"),
    [
        (alert_pb2.AlertRule(), "needs one condition"),
        (
            alert_pb2.AlertRule(price_spike=alert_pb2.PriceSpikeCondition(threshold_eur_mwh=float("nan"))),
            "threshold",
        ),
        (alert_pb2.AlertRule(price_spike=alert_pb2.PriceSpikeCondition(threshold_eur_mwh=9e9)), "threshold"),
        (
            alert_pb2.AlertRule(price_spike=alert_pb2.PriceSpikeCondition(min_probability=1.5)),
            "min_probability",
        ),
        (
            alert_pb2.AlertRule(cheap_window=alert_pb2.CheapWindowCondition(duration_minutes=50)),
            "multiple of 15",
        ),
        (
            alert_pb2.AlertRule(
                cheap_window=alert_pb2.CheapWindowCondition(duration_minutes=240, lookahead_hours=99)
            ),
            "lookahead",
        ),
        (
            alert_pb2.AlertRule(capacity_step=alert_pb2.CapacityStepCondition(approach_percent=120)),
            "approach_percent",
        ),
        (
            alert_pb2.AlertRule(meter_silent=alert_pb2.MeterSilentCondition(silent_minutes=1)),
            "silent_minutes",
        ),
        (
            alert_pb2.AlertRule(meter_silent=alert_pb2.MeterSilentCondition(), display_name="x" * 81),
            "display_name",
        ),
    ],
)
async def test_bad_rules_are_refused_with_the_reason(
    tmp_path: Path, rule: alert_pb2.AlertRule, fragment: str
) -> None:
    async with alert_rig(tmp_path) as rig:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await rig.stub.CreateAlertRule(
                pb.CreateAlertRuleRequest(household_id=HH, rule=rule), metadata=rig.user(HH)
            )
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert _reason(refused.value) == "ALERT_INVALID_RULE" and fragment in (refused.value.details() or "")
        # The field at fault, for a client to word the problem in its user's language.
        assert _info(refused.value).metadata["field"] == _FIELD_AT_FAULT[fragment]


async def test_loopback_and_private_targets_are_refused_without_the_operator_allow_list(
    tmp_path: Path,
) -> None:
    async with alert_rig(tmp_path, allowed="") as rig:
        targets = [
            alert_pb2.Subscription(webhook=alert_pb2.WebhookTarget(url=rig.receiver.url)),
            alert_pb2.Subscription(
                webhook=alert_pb2.WebhookTarget(url="http://169.254.169.254/latest/meta-data")
            ),
            alert_pb2.Subscription(webhook=alert_pb2.WebhookTarget(url="http://[::1]:8080/")),
            alert_pb2.Subscription(webhook=alert_pb2.WebhookTarget(url="http://localhost/")),
            alert_pb2.Subscription(mqtt=alert_pb2.MqttTarget(host="10.0.0.5")),
            alert_pb2.Subscription(mqtt=alert_pb2.MqttTarget(host="127.0.0.1", port=1883)),
        ]
        for sub in targets:
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await rig.stub.CreateSubscription(
                    pb.CreateSubscriptionRequest(household_id=HH, subscription=sub), metadata=rig.user(HH)
                )
            assert _reason(refused.value) == "ALERT_TARGET_NOT_ALLOWED", sub
        assert rig.receiver.requests == []


async def test_a_target_that_becomes_private_after_the_check_is_not_delivered_to(tmp_path: Path) -> None:
    """DNS rebinding: the name is checked again before every delivery."""
    async with alert_rig(tmp_path) as rig:
        rig.up.periods = published_hours([300], _now_hour() + HOUR)
        await _rule(rig, price_spike=alert_pb2.PriceSpikeCondition(threshold_eur_mwh=100))
        await _webhook(rig)
        from dataclasses import replace

        rig.app.deliverer.policy = replace(
            rig.app.deliverer.policy, allowed=()
        )  # as if it now pointed inside
        await rig.stub.EvaluateAlerts(pb.EvaluateAlertsRequest(), metadata=rig.admin())
        await asyncio.to_thread(rig.app.deliverer.deliver_due)
        assert rig.receiver.requests == []
        with Session(rig.app.engine) as s:
            [d] = [d for d in s.scalars(select(DeliveryRow)) if d.channel != "app"]
        assert "non-public" in d.last_error


async def test_limits_per_household(tmp_path: Path) -> None:
    async with alert_rig(tmp_path, max_rules=2) as rig:
        for _ in range(2):
            await _rule(rig, meter_silent=alert_pb2.MeterSilentCondition())
        with pytest.raises(grpc.aio.AioRpcError) as full:
            await _rule(rig, meter_silent=alert_pb2.MeterSilentCondition())
        assert (
            full.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            and _reason(full.value) == "ALERT_LIMIT_REACHED"
        )


def test_payload_is_the_json_api_form() -> None:
    from google.protobuf import json_format

    alert = alert_pb2.Alert(alert_id="7", kind=alert_pb2.ALERT_KIND_METER_SILENT, title="t")
    assert json.loads(json_format.MessageToJson(alert))["kind"] == "ALERT_KIND_METER_SILENT"


async def test_odd_ids_are_client_errors_not_server_errors(tmp_path: Path) -> None:
    async with alert_rig(tmp_path) as rig:
        for ids in (["99999999999999999999999999"], ["１２"], ["-1"], ["1e3"]):
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await rig.stub.AcknowledgeAlerts(
                    pb.AcknowledgeAlertsRequest(household_id=HH, alert_ids=ids), metadata=rig.user(HH)
                )
            assert _reason(refused.value) == "ALERT_NOT_FOUND", ids
        with pytest.raises(grpc.aio.AioRpcError) as long_id:
            await rig.stub.CreateAlertRule(
                pb.CreateAlertRuleRequest(
                    household_id="h" * 65,
                    rule=alert_pb2.AlertRule(meter_silent=alert_pb2.MeterSilentCondition()),
                ),
                metadata=rig.admin(),
            )
        assert _reason(long_id.value) == "INVALID_HOUSEHOLD_ID"


async def test_cheap_windows_come_from_predict_svcs_find_cheapest_windows(tmp_path: Path) -> None:
    async with alert_rig(tmp_path) as rig:
        now = _now_hour()
        # Forecast hours (not published) from now + 1 h; two equally cheap 2-hour runs.
        rig.up.periods = [
            forecast_pb2.PricePeriod(
                start_time=from_ms(now + (i + 1) * HOUR),
                duration_minutes=60,
                kind=forecast_pb2.PRICE_KIND_FORECAST,
                price_eur_mwh=p,
                quantiles=[
                    forecast_pb2.Quantile(level=0.1, price_eur_mwh=p - 8),
                    forecast_pb2.Quantile(level=0.9, price_eur_mwh=p + 8),
                ],
            )
            for i, p in enumerate([80, 20, 21, 80, 80, 21, 20, 80] + [90] * 16)
        ]
        await _rule(
            rig, cheap_window=alert_pb2.CheapWindowCondition(duration_minutes=120, lookahead_hours=12)
        )
        rig.up.fail_windows = True
        down = await rig.stub.EvaluateAlerts(pb.EvaluateAlertsRequest(), metadata=rig.admin())
        assert down.raised == 0  # no answer, no alert; the next round asks again
        rig.up.fail_windows = False
        up = await rig.stub.EvaluateAlerts(pb.EvaluateAlertsRequest(), metadata=rig.admin())
        assert up.raised == 1
        assert rig.up.window_requests == [(120, 2, 12), (120, 2, 12)]
        listed = await rig.stub.ListAlerts(pb.ListAlertsRequest(household_id=HH), metadata=rig.user(HH))
        [alert] = listed.alerts
        assert alert.period_start_time.seconds * 1000 == now + 2 * HOUR and alert.value == 20.5
        assert "likely" in alert.message and "not distinguishable from it" in alert.message
