"""Delivery channels: subscriptions (validated, secrets sealed), the messages sent on them, and the
worker that delivers due alerts with retries and backoff.

A delivery is tried when due; a 2xx (webhook) or the broker's acknowledgements (MQTT) make it
``sent``; anything else schedules the next attempt ``backoff * 2^(attempt-1)`` seconds later (at
most an hour), and after ``max_attempts`` it is ``failed``. Rate limiting happens when the alert
is raised (store.raise_alert), per household and channel.

Replicas: each delivery is claimed before it is tried (store.claim_due: one replica wins the row)
for a lease of ``lease_s`` (at least four delivery timeouts, and a minute), so two replicas never
send the same delivery; a replica that dies while sending leaves it to be retried once the lease
ends (at least once, never twice while the sender lives).
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Callable

from google.protobuf import json_format
from prometheus_client import Counter

from alert_svc import homeassistant
from alert_svc.prices import price_unit
from alert_svc.store import AlertRow, AlertStore, DeliveryRow, SubscriptionRow
from alert_svc.targets import TargetPolicy, parse_webhook_url, valid_host
from alert_svc.webhook import DeliveryError, post_webhook
from common.errors import InvalidArgument
from common.log import get_logger
from common.sealing import seal, unseal
from common.timestamps import from_ms
from energypulse.alert.v1 import alert_pb2 as pb
from energypulse.errors.v1 import error_reason_pb2 as reasons

__all__ = ["Deliverer", "alert_message", "new_subscription", "subscription_message"]

log = get_logger(__name__)

DELIVERIES = Counter("energypulse_alert_deliveries_total", "Alert delivery attempts", ["channel", "outcome"])
VERSION = "1"


def _context(subscription_id: str) -> bytes:
    return f"alert-subscription:{subscription_id}".encode()


def alert_message(row: AlertRow, currency: str) -> pb.Alert:
    """``currency``: the installation's, for alerts stored before they carried their own."""
    currency = row.currency or currency
    return pb.Alert(
        alert_id=str(row.id),
        household_id=row.household_id,
        rule_id=row.rule_id,
        kind=row.kind,  # type: ignore[arg-type]
        period_start_time=from_ms(row.period_start_ms),
        period_end_time=from_ms(row.period_end_ms),
        title=row.title,
        message=row.message,
        value=row.value,
        create_time=from_ms(row.create_ms),
        read=row.read_ms is not None,
        currency=currency,
        spot_micro_per_kwh=row.spot_micro_per_kwh,
        price_unit=price_unit(currency),
        facts=pb.AlertFacts.FromString(row.facts) if row.facts else None,
    )


def subscription_message(row: SubscriptionRow) -> pb.Subscription:
    sub = pb.Subscription(
        subscription_id=row.subscription_id, household_id=row.household_id, create_time=from_ms(row.create_ms)
    )
    json_format.Parse(row.target_json, sub.webhook if row.channel == "webhook" else sub.mqtt)
    return sub


def new_subscription(
    household_id: str, sub: pb.Subscription, kek: bytes, policy: TargetPolicy, now_ms: int
) -> tuple[SubscriptionRow, str]:
    """The row to store and the webhook signing secret ("" for MQTT); refuses bad or private targets."""
    subscription_id = secrets.token_hex(8)
    which = sub.WhichOneof("target")
    public: pb.WebhookTarget | pb.MqttTarget
    sealed: bytes | None
    if which == "webhook":
        target = parse_webhook_url(sub.webhook.url)
        policy.check(target.host, target.port)
        secret = secrets.token_urlsafe(32)
        public = pb.WebhookTarget(url=sub.webhook.url)
        sealed = seal(kek, secret.encode(), _context(subscription_id))
    elif which == "mqtt":
        m = sub.mqtt
        valid_host(m.host)
        port = m.port or (8883 if m.tls else 1883)
        if not 1 <= port <= 65535:
            raise InvalidArgument(reasons.ALERT_INVALID_TARGET, f"mqtt port must be 1-65535, got {m.port}")
        for name, topic in (("discovery_prefix", m.discovery_prefix), ("base_topic", m.base_topic)):
            if len(topic) > 200 or any(c in topic for c in "+#\0") or topic.startswith("$"):
                raise InvalidArgument(reasons.ALERT_INVALID_TARGET, f"mqtt {name} must be a plain topic")
        policy.check(m.host, port)
        secret = ""
        public = pb.MqttTarget(
            host=m.host,
            port=port,
            tls=m.tls,
            username=m.username,
            discovery_prefix=m.discovery_prefix or "homeassistant",
            base_topic=m.base_topic,
        )
        sealed = seal(kek, m.password.encode(), _context(subscription_id)) if m.password else None
    else:
        raise InvalidArgument(
            reasons.ALERT_INVALID_TARGET, "a subscription needs a webhook or an mqtt target"
        )
    row = SubscriptionRow(
        subscription_id=subscription_id,
        household_id=household_id,
        channel=which,
        target_json=json_format.MessageToJson(public, indent=None),
        secret_sealed=sealed,
        create_ms=now_ms,
    )
    return row, secret


class Deliverer:
    def __init__(
        self,
        store: AlertStore,
        kek: bytes,
        policy: TargetPolicy,
        *,
        max_attempts: int,
        backoff_s: float,
        timeout_s: float,
        currency: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store, self.kek, self.policy = store, kek, policy
        self.currency = currency  # the installation's: alert payloads, the sensors' unit
        self.max_attempts, self.backoff_s, self.timeout_s = max_attempts, backoff_s, timeout_s
        self.clock = clock
        self.lease_s = max(60.0, 4 * timeout_s)

    def _secret(self, row: SubscriptionRow) -> bytes:
        if row.secret_sealed is None:
            return b""
        return unseal(self.kek, row.secret_sealed, _context(row.subscription_id))

    def broker(self, row: SubscriptionRow) -> homeassistant.BrokerTarget:
        m = subscription_message(row).mqtt
        return homeassistant.BrokerTarget(
            m.host, m.port, m.tls, m.username, self._secret(row).decode(), m.discovery_prefix, m.base_topic
        )

    def _send(self, delivery: DeliveryRow, sub: SubscriptionRow, alert: AlertRow) -> None:
        body = json_format.MessageToDict(alert_message(alert, self.currency))
        if sub.channel == "webhook":
            payload = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
            post_webhook(
                subscription_message(sub).webhook.url,
                payload,
                self._secret(sub),
                str(delivery.id),
                int(self.clock()),
                self.policy,
                self.timeout_s,
            )
        else:
            target = self.broker(sub)
            messages = homeassistant.discovery_messages(
                target, sub.household_id, VERSION, price_unit(self.currency)
            )
            messages += homeassistant.alert_messages(target, sub.household_id, body)
            homeassistant.publish(
                target, f"energypulse-{sub.subscription_id}", messages, self.policy, self.timeout_s
            )

    def deliver_due(self) -> int:
        """Try every due delivery once; sync (network and database): run in a thread."""
        done = 0
        now = self.clock()
        for delivery in self.store.claim_due(int(now * 1000), int((now + self.lease_s) * 1000)):
            sub = self.store.subscription(delivery.channel)
            alert = self.store.alert(delivery.alert_id)
            if sub is None or alert is None:
                self.store.finish(
                    delivery, "failed", delivery.attempts, delivery.next_attempt_ms, "channel removed"
                )
                continue
            attempts = delivery.attempts + 1
            try:
                self._send(delivery, sub, alert)
            except (DeliveryError, InvalidArgument) as exc:
                error = exc.message if isinstance(exc, InvalidArgument) else str(exc)
                give_up = attempts >= self.max_attempts
                delay = min(self.backoff_s * 2 ** (attempts - 1), 3600.0)
                self.store.finish(
                    delivery,
                    "failed" if give_up else "pending",
                    attempts,
                    int((self.clock() + delay) * 1000),
                    error,
                )
                DELIVERIES.labels(sub.channel, "failed" if give_up else "retry").inc()
                log.info("alert_delivery_failed", channel=sub.channel, attempt=attempts, error=error[:200])
                continue
            if not self.store.finish(delivery, "sent", attempts, delivery.next_attempt_ms, ""):
                log.warning("alert_delivery_lease_lost", delivery_id=delivery.id, channel=sub.channel)
            DELIVERIES.labels(sub.channel, "sent").inc()
            done += 1
        return done

    def publish_states(
        self,
        sub: SubscriptionRow,
        price: float,
        price_attrs: dict[str, object],
        forecast: float | None,
        forecast_attrs: dict[str, object],
    ) -> None:
        """Discovery and the price/forecast sensors' states on an MQTT subscription (best effort);
        ``price`` and ``forecast`` in the installation's :func:`~alert_svc.prices.price_unit`."""
        target = self.broker(sub)
        messages = homeassistant.discovery_messages(
            target, sub.household_id, VERSION, price_unit(self.currency)
        )
        messages += homeassistant.state_messages(
            target, sub.household_id, price, price_attrs, forecast, forecast_attrs
        )
        try:
            homeassistant.publish(
                target, f"energypulse-{sub.subscription_id}", messages, self.policy, self.timeout_s
            )
            DELIVERIES.labels("mqtt_state", "sent").inc()
        except (DeliveryError, InvalidArgument) as exc:
            DELIVERIES.labels("mqtt_state", "failed").inc()
            log.info("alert_state_publish_failed", error=str(exc)[:200])


async def deliver_forever(deliverer: Deliverer, period_s: float) -> None:
    while True:
        await asyncio.sleep(period_s)
        try:
            await asyncio.to_thread(deliverer.deliver_due)
        except Exception as exc:  # noqa: BLE001 - a busy database must not kill the worker
            log.warning("alert_delivery_round_failed", error=repr(exc))
