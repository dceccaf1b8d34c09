"""SSRF: webhook and broker targets that resolve to non-public addresses are refused unless the
operator's allow-list permits them; malformed URLs are refused with a reason."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

import pytest

from alert_svc.targets import TargetPolicy, parse_webhook_url
from common.errors import InvalidArgument


def resolver(table: dict[str, Sequence[str]]):  # type: ignore[no-untyped-def]
    def resolve(host: str, port: int) -> Sequence[str]:
        if host in table:
            return table[host]
        try:
            return [str(ipaddress.ip_address(host))]
        except ValueError:
            raise OSError("no such host") from None

    return resolve


PUBLIC = "93.184.215.14"


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "10.1.2.3",
        "172.16.0.9",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # carrier-grade NAT
        "0.0.0.0",
        "224.0.0.1",
        "::1",
        "fc00::1",
        "fe80::1",
        "::ffff:127.0.0.1",  # IPv4-mapped loopback
        "::ffff:10.0.0.1",
    ],
)
def test_non_public_addresses_are_refused(address: str) -> None:
    policy = TargetPolicy(resolve=resolver({}))
    with pytest.raises(InvalidArgument) as refused:
        policy.check(address, 443)
    assert refused.value.reason == "ALERT_TARGET_NOT_ALLOWED"


def test_a_name_resolving_to_a_private_address_is_refused_even_with_a_public_one_beside_it() -> None:
    policy = TargetPolicy(resolve=resolver({"hooks.example.com": [PUBLIC, "10.0.0.7"]}))
    with pytest.raises(InvalidArgument) as refused:
        policy.check("hooks.example.com", 443)
    assert refused.value.reason == "ALERT_TARGET_NOT_ALLOWED" and "10.0.0.7" in refused.value.message


def test_unresolvable_names_are_refused() -> None:
    with pytest.raises(InvalidArgument) as refused:
        TargetPolicy(resolve=resolver({})).check("nowhere.invalid", 80)
    assert refused.value.reason == "ALERT_TARGET_NOT_ALLOWED"


def test_public_addresses_pass_and_the_checked_address_is_what_to_connect_to() -> None:
    policy = TargetPolicy(resolve=resolver({"hooks.example.com": [PUBLIC]}))
    assert policy.check("hooks.example.com", 443) == PUBLIC


def test_the_allow_list_permits_exactly_its_networks() -> None:
    policy = TargetPolicy((ipaddress.ip_network("127.0.0.0/8"),), resolve=resolver({}))
    assert policy.check("127.0.0.1", 8080) == "127.0.0.1"
    assert policy.check("::ffff:127.0.0.1", 8080) == "::ffff:7f00:1"  # mapped loopback, allowed too
    for other in ("10.0.0.1", "169.254.169.254", "::1"):
        with pytest.raises(InvalidArgument):
            policy.check(other, 8080)


@pytest.mark.parametrize(
    "url",
    [
        "",
        "ftp://example.com/x",
        "file:///etc/passwd",
        "gopher://example.com",
        "http://user:pw@example.com/",
        "http://example.com:99999/",
        "http:///nohost",
        "https://" + "a" * 2050 + ".com/",
    ],
)
def test_malformed_webhook_urls_are_refused(url: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        parse_webhook_url(url)
    assert refused.value.reason == "ALERT_INVALID_TARGET"


def test_webhook_url_parts() -> None:
    url = parse_webhook_url("https://hooks.example.com/ep?x=1")
    assert (url.scheme, url.host, url.port, url.path) == ("https", "hooks.example.com", 443, "/ep?x=1")
