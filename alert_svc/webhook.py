"""Webhook deliveries: a JSON POST signed with the subscription's secret.

Headers (the receiver checks them; docs/alerts.md has a receiver in a few lines):

* ``X-EnergyPulse-Timestamp``: UNIX seconds of the attempt (refuse old ones to stop replays);
* ``X-EnergyPulse-Signature``: ``sha256=`` + hex HMAC-SHA256 over ``<timestamp>.<body>`` with the
  subscription's signing secret (returned once by CreateSubscription);
* ``X-EnergyPulse-Delivery``: the delivery id, the same on every retry (deduplicate on it).

The connection goes to the address :class:`~alert_svc.targets.TargetPolicy` checked (with the
URL's host in ``Host`` and, for https, in SNI and certificate verification); redirects are not
followed. Any 2xx is success; anything else, or no answer, is retried with backoff.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import socket
import ssl

from alert_svc.targets import TargetPolicy, parse_webhook_url

__all__ = ["DeliveryError", "post_webhook", "signature"]


class DeliveryError(Exception):
    """The receiver did not take the delivery (retry later)."""


def signature(secret: bytes, timestamp: int, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address
        self._context = ssl.create_default_context()

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(raw, server_hostname=self.host)


def post_webhook(
    url: str,
    body: bytes,
    secret: bytes,
    delivery_id: str,
    timestamp: int,
    policy: TargetPolicy,
    timeout: float,
) -> int:
    """POST ``body``; the HTTP status on a 2xx, DeliveryError otherwise. Sync: run in a thread."""
    target = parse_webhook_url(url)
    address = policy.check(target.host, target.port)  # again: the name may resolve elsewhere now
    cls = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    conn = cls(target.host, target.port, address, timeout)
    try:
        conn.request(
            "POST",
            target.path,
            body=body,
            headers={
                "content-type": "application/json",
                "user-agent": "EnergyPulse-Alerts/1",
                "x-energypulse-timestamp": str(timestamp),
                "x-energypulse-signature": signature(secret, timestamp, body),
                "x-energypulse-delivery": delivery_id,
            },
        )
        response = conn.getresponse()
        response.read(65536)
        status = int(response.status)
    except (OSError, http.client.HTTPException) as exc:
        raise DeliveryError(f"{type(exc).__name__}: {exc}") from None
    finally:
        conn.close()
    if not 200 <= status < 300:
        raise DeliveryError(f"HTTP {status}")
    return status
