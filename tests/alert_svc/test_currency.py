"""Alerts in the installation's currency: a NOK household sets its spike threshold in øre/kWh (the
unit of its bill and home page), predict_svc compares it at each period's EUR rate, and the app,
the webhook and the broker (Home Assistant sensors) get figures in øre/kWh; an EUR installation
keeps EUR/MWh. Real gRPC, a real webhook receiver and a real Mosquitto (tests/alert_svc/alert_rig).

The stand-in predict_svc converts with predict_svc's own SpotConverter at the EP_BILL_* default
rate (11.50 NOK/EUR, no EUR/NOK file): 140 EUR/MWh = 161 øre/kWh, 160 EUR/MWh = 184 øre/kWh.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal
from pathlib import Path

import grpc
import pytest

from energy.billrules import DEFAULT_EURNOK_FALLBACK, BillRules
from energy.fx import EUR_IDENTITY, eur_mwh_to_micro_per_kwh
from energy.ratebook import load_ratebook
from energypulse.alert.v1 import alert_pb2
from energypulse.alert.v1 import alert_service_pb2 as pb
from predict_svc.costs import HouseholdCosts
from tests.alert_svc.alert_rig import Rig, alert_rig, eur_ruleset, published_hours
from tests.alert_svc.test_service import HH, HOUR, Listener, _deliver_until, _reason, _wait, _webhook
from tests.conftest import Broker
from tests.mqtt_identities import HARNESS_PASSWORD, HARNESS_USER

FX = Decimal(DEFAULT_EURNOK_FALLBACK)


def _now_hour() -> int:
    return int(time.time() * 1000) // HOUR * HOUR


async def _create(rig: Rig, rule: alert_pb2.AlertRule) -> alert_pb2.AlertRule:
    response = await rig.stub.CreateAlertRule(
        pb.CreateAlertRuleRequest(household_id=HH, rule=rule), metadata=rig.user(HH)
    )
    return response.rule


async def _broker(rig: Rig, mosquitto: Broker) -> None:
    target = alert_pb2.MqttTarget(
        host="127.0.0.1", port=mosquitto.port, username=HARNESS_USER, password=HARNESS_PASSWORD
    )
    await rig.stub.CreateSubscription(
        pb.CreateSubscriptionRequest(household_id=HH, subscription=alert_pb2.Subscription(mqtt=target)),
        metadata=rig.user(HH),
    )


@pytest.mark.parametrize(
    ("rule", "reason", "fragment"),
    [
        (
            alert_pb2.PriceSpikeCondition(threshold_eur_mwh=150, threshold_micro_per_kwh=1_500_000),
            "ALERT_PRICE_THRESHOLD_CONFLICT",
            "not both",
        ),
        (
            alert_pb2.CheapWindowCondition(
                duration_minutes=60, max_price_eur_mwh=40, max_price_micro_per_kwh=460_000
            ),
            "ALERT_PRICE_THRESHOLD_CONFLICT",
            "not both",
        ),
        (
            alert_pb2.PriceSpikeCondition(threshold_micro_per_kwh=50_000_001),
            "ALERT_INVALID_RULE",
            "threshold_micro_per_kwh",
        ),
        (
            alert_pb2.PriceSpikeCondition(threshold_micro_per_kwh=-10_000_001),
            "ALERT_INVALID_RULE",
            "threshold_micro_per_kwh",
        ),
        (
            alert_pb2.CheapWindowCondition(duration_minutes=60, max_price_micro_per_kwh=10**12),
            "ALERT_INVALID_RULE",
            "max_price_micro_per_kwh",
        ),
    ],
)
async def test_a_price_in_both_units_or_out_of_range_is_refused_with_its_reason(
    tmp_path: Path,
    rule: alert_pb2.PriceSpikeCondition | alert_pb2.CheapWindowCondition,
    reason: str,
    fragment: str,
) -> None:
    async with alert_rig(tmp_path) as rig:
        if isinstance(rule, alert_pb2.PriceSpikeCondition):
            message = alert_pb2.AlertRule(price_spike=rule)
        else:
            message = alert_pb2.AlertRule(cheap_window=rule)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await _create(rig, message)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert _reason(refused.value) == reason and fragment in (refused.value.details() or "")


async def test_a_nok_threshold_fires_in_ore_on_every_channel(tmp_path: Path, mosquitto: Broker) -> None:
    async with alert_rig(tmp_path) as rig:
        now = _now_hour()
        # The current hour (the sensors' state), then 140 and 160 EUR/MWh: above 150 øre/kWh at 11.50.
        rig.up.periods = published_hours([100, 140, 160, 90] + [80] * 20, now)
        rule = await _create(
            rig,
            alert_pb2.AlertRule(price_spike=alert_pb2.PriceSpikeCondition(threshold_micro_per_kwh=1_500_000)),
        )
        assert (
            rule.price_spike.threshold_micro_per_kwh == 1_500_000 and rule.price_spike.threshold_eur_mwh == 0
        )
        assert rule.display_name == "Price above 150 øre/kWh"
        listed_rules = await rig.stub.ListAlertRules(
            pb.ListAlertRulesRequest(household_id=HH), metadata=rig.user(HH)
        )
        assert listed_rules.currency == "NOK"
        assert listed_rules.rules[0].price_spike.threshold_micro_per_kwh == 1_500_000  # stored as given
        await _webhook(rig)
        await _broker(rig, mosquitto)
        listener = Listener(mosquitto)
        try:
            evaluated = await rig.stub.EvaluateAlerts(pb.EvaluateAlertsRequest(), metadata=rig.admin())
            assert evaluated.raised == 1
            # predict_svc got the threshold as set (it compares at each period's rate), not EUR/MWh.
            assert rig.up.micro_thresholds and set(rig.up.micro_thresholds) == {1_500_000}
            assert rig.up.thresholds == []

            [alert] = (
                await rig.stub.ListAlerts(pb.ListAlertsRequest(household_id=HH), metadata=rig.user(HH))
            ).alerts
            top = eur_mwh_to_micro_per_kwh(160, FX)
            assert top == 1_840_000
            assert (alert.currency, alert.price_unit, alert.spot_micro_per_kwh) == ("NOK", "øre/kWh", top)
            assert alert.value == 160  # the EUR/MWh figure stays for old clients
            # Stored and served with its figures, for clients that word it themselves.
            assert alert.facts.threshold_micro_per_kwh == 1_500_000 and alert.facts.published
            assert (alert.period_start_time.seconds * 1000, alert.period_end_time.seconds * 1000) == (
                now + HOUR,
                now + 3 * HOUR,
            )
            assert alert.title.startswith("Price above 150 øre/kWh ")
            assert alert.message == "Published prices reach 184.0 øre/kWh."

            # The webhook: the API's JSON form, with the unit and the figure in NOK.
            await _deliver_until(rig, lambda: len(rig.receiver.requests) >= 1)
            [payload] = rig.payloads()
            assert payload["currency"] == "NOK" and payload["priceUnit"] == "øre/kWh"
            assert payload["spotMicroPerKwh"] == str(top)  # int64 in proto JSON
            assert payload["message"] == "Published prices reach 184.0 øre/kWh."

            # The broker: sensors announced in øre/kWh, states in øre/kWh, the alert with its unit.
            base = "energypulse/hh-1"
            await _wait(
                lambda: f"{base}/alerts" in listener.messages and f"{base}/price/state" in listener.messages
            )
            for sensor in ("price", "forecast"):
                config = json.loads(
                    listener.messages[f"homeassistant/sensor/energypulse_hh-1/{sensor}/config"][-1][0]
                )
                assert config["unit_of_measurement"] == "øre/kWh"
            current = eur_mwh_to_micro_per_kwh(100, FX) / 10_000  # 115 øre
            assert listener.messages[f"{base}/price/state"][-1][0] == f"{current:.2f}".encode() == b"115.00"
            nxt = eur_mwh_to_micro_per_kwh(140, FX) / 10_000  # the next hour: 161 øre
            assert listener.messages[f"{base}/forecast/state"][-1][0] == f"{nxt:.2f}".encode() == b"161.00"
            attrs = json.loads(listener.messages[f"{base}/forecast/attributes"][-1][0])
            assert (attrs["p10"], attrs["p90"], attrs["currency"]) == (161.0, 161.0, "NOK")
            sent = json.loads(listener.messages[f"{base}/alerts"][-1][0])
            assert sent["priceUnit"] == "øre/kWh" and sent["spotMicroPerKwh"] == str(top)
        finally:
            listener.close()


async def test_a_nok_cheap_window_maximum_in_ore(tmp_path: Path) -> None:
    async with alert_rig(tmp_path) as rig:
        rig.up.periods = published_hours([90, 40, 40, 90] + [90] * 20, _now_hour() + HOUR)
        window = alert_pb2.CheapWindowCondition(duration_minutes=120, max_price_micro_per_kwh=400_000)
        await _create(rig, alert_pb2.AlertRule(cheap_window=window))  # 40 EUR/MWh = 46 øre: above 40 øre
        assert (await rig.stub.EvaluateAlerts(pb.EvaluateAlertsRequest(), metadata=rig.admin())).raised == 0
        window.max_price_micro_per_kwh = 460_000
        await _create(rig, alert_pb2.AlertRule(cheap_window=window))
        assert (await rig.stub.EvaluateAlerts(pb.EvaluateAlertsRequest(), metadata=rig.admin())).raised == 1
        [alert] = (
            await rig.stub.ListAlerts(pb.ListAlertsRequest(household_id=HH), metadata=rig.user(HH))
        ).alerts
        assert alert.spot_micro_per_kwh == eur_mwh_to_micro_per_kwh(40, FX) == 460_000
        assert alert.message == "Mean spot price 46.0 øre/kWh (published prices)."
        assert (alert.facts.duration_minutes, alert.facts.published) == (120, True)


async def test_answers_in_another_currency_raise_nothing(tmp_path: Path) -> None:
    """predict_svc answering a NOK installation in EUR: figures its texts cannot state in øre, so
    neither the spike nor the window rule fires, though both hold in either currency; once it
    answers in NOK again (a new round) both do."""
    async with alert_rig(tmp_path) as rig:
        rig.up.periods = published_hours([90, 40, 40, 90] + [200] * 20, _now_hour() + HOUR)
        nok = rig.up.costs
        rig.up.costs = HouseholdCosts(BillRules(load_ratebook(eur_ruleset(tmp_path)), EUR_IDENTITY, "glitre"))
        window = alert_pb2.CheapWindowCondition(duration_minutes=120, max_price_micro_per_kwh=460_000)
        await _create(rig, alert_pb2.AlertRule(cheap_window=window))
        # 15 øre/kWh, or 0.15 EUR/kWh: 200 EUR/MWh is above it in either currency.
        spike = alert_pb2.PriceSpikeCondition(threshold_micro_per_kwh=150_000)
        await _create(rig, alert_pb2.AlertRule(price_spike=spike))
        assert (await rig.stub.EvaluateAlerts(pb.EvaluateAlertsRequest(), metadata=rig.admin())).raised == 0
        rig.up.costs = nok
        assert (await rig.stub.EvaluateAlerts(pb.EvaluateAlertsRequest(), metadata=rig.admin())).raised == 2


async def test_an_eur_installation_keeps_eur(tmp_path: Path, mosquitto: Broker) -> None:
    async with alert_rig(tmp_path, currency="EUR") as rig:
        now = _now_hour()
        rig.up.periods = published_hours([100, 140, 160, 90] + [80] * 20, now)
        # A micro threshold is µEUR/kWh here: 150 000 µEUR/kWh = 150 EUR/MWh.
        rule = await _create(
            rig,
            alert_pb2.AlertRule(price_spike=alert_pb2.PriceSpikeCondition(threshold_micro_per_kwh=150_000)),
        )
        assert rule.display_name == "Price above 150 EUR/MWh"
        listed = await rig.stub.ListAlertRules(
            pb.ListAlertRulesRequest(household_id=HH), metadata=rig.user(HH)
        )
        assert listed.currency == "EUR"
        await _broker(rig, mosquitto)
        listener = Listener(mosquitto)
        try:
            assert (
                await rig.stub.EvaluateAlerts(pb.EvaluateAlertsRequest(), metadata=rig.admin())
            ).raised == 1
            [alert] = (
                await rig.stub.ListAlerts(pb.ListAlertsRequest(household_id=HH), metadata=rig.user(HH))
            ).alerts
            assert (alert.currency, alert.price_unit, alert.spot_micro_per_kwh, alert.value) == (
                "EUR",
                "EUR/MWh",
                160_000,
                160,
            )
            assert alert.message == "Published prices reach 160.0 EUR/MWh."
            base = "energypulse/hh-1"
            await _wait(lambda: f"{base}/forecast/state" in listener.messages)
            config = json.loads(
                listener.messages["homeassistant/sensor/energypulse_hh-1/price/config"][-1][0]
            )
            assert config["unit_of_measurement"] == "EUR/MWh"
            assert listener.messages[f"{base}/price/state"][-1][0] == b"100.00"
            assert listener.messages[f"{base}/forecast/state"][-1][0] == b"140.00"
        finally:
            listener.close()
