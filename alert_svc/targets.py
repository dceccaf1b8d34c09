"""Where a household's webhooks and MQTT brokers may point: public addresses only, unless the
operator allows more (EP_ALERT_ALLOWED_TARGET_NETWORKS).

Server-side request forgery: a household names a URL or host, the service connects to it from
inside the installation. So a target is refused when any address it resolves to is loopback,
private (RFC 1918, unique local), link-local (cloud metadata at 169.254.169.254), unspecified,
multicast, reserved, shared (100.64/10) or otherwise not globally routable, IPv4-mapped IPv6
included, unless an allowed network contains it. The check runs when the subscription is created
(a clear 400) and again before every delivery, and the connection goes to the address that was
checked, so a name that re-resolves elsewhere afterwards (DNS rebinding) cannot redirect it.
Webhook redirects are not followed.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from common.errors import InvalidArgument
from energypulse.errors.v1 import error_reason_pb2 as reasons

__all__ = ["Network", "Resolver", "TargetPolicy", "WebhookUrl", "parse_webhook_url", "valid_host"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]
MAX_URL_CHARS = 2048


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


@dataclass(frozen=True)
class WebhookUrl:
    scheme: str
    host: str
    port: int
    path: str  # with the query


def parse_webhook_url(url: str) -> WebhookUrl:
    if not url or len(url) > MAX_URL_CHARS:
        raise InvalidArgument(
            reasons.ALERT_INVALID_TARGET, f"webhook url must be 1-{MAX_URL_CHARS} characters"
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidArgument(reasons.ALERT_INVALID_TARGET, f"webhook url does not parse: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise InvalidArgument(reasons.ALERT_INVALID_TARGET, "webhook url must start with http:// or https://")
    if parts.username is not None or parts.password is not None:
        raise InvalidArgument(reasons.ALERT_INVALID_TARGET, "webhook url must not carry user info")
    host = parts.hostname or ""
    valid_host(host)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return WebhookUrl(parts.scheme, host, port or (443 if parts.scheme == "https" else 80), path)


def valid_host(host: str) -> str:
    if not host or len(host) > 253 or any(c.isspace() or c in "/@?#" for c in host):
        raise InvalidArgument(reasons.ALERT_INVALID_TARGET, f"not a host name or address: {host!r}")
    return host


def _public(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return _public(address.ipv4_mapped)
    return address.is_global and not address.is_multicast


@dataclass(frozen=True)
class TargetPolicy:
    allowed: tuple[Network, ...] = ()
    resolve: Resolver = system_resolver

    def permits(self, address: Address) -> bool:
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return _public(address) or any(address in network for network in self.allowed)

    def check(self, host: str, port: int) -> str:
        """The address to connect to: every address ``host`` resolves to must be permitted."""
        try:
            found = [ipaddress.ip_address(a.split("%", 1)[0]) for a in self.resolve(host, port)]
        except (OSError, UnicodeError, ValueError):
            found = []
        if not found:
            raise InvalidArgument(reasons.ALERT_TARGET_NOT_ALLOWED, f"{host} does not resolve")
        refused = [str(a) for a in found if not self.permits(a)]
        if refused:
            raise InvalidArgument(
                reasons.ALERT_TARGET_NOT_ALLOWED,
                f"{host} resolves to {', '.join(refused)}: loopback, private, link-local and other "
                "non-public addresses are refused",
            )
        return str(found[0])
