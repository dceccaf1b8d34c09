"""Start-up refuses unsafe settings outside demo mode."""

from __future__ import annotations

import base64
import os

import pytest

from auth_svc.config import (
    DEMO_KEY_ENCRYPTION_KEY,
    AuthConfig,
    parse_audit_reporters,
    parse_service_accounts,
    validate,
)
from common.config import ConfigError, from_env

GOOD_KEK = base64.urlsafe_b64encode(os.urandom(32)).decode()


def test_demo_mode_has_no_default_secrets() -> None:
    """Demo mode seeds the demo accounts; its secrets are the installation's, never published ones."""
    assert parse_service_accounts(AuthConfig(demo=True)) == {}
    with pytest.raises(ConfigError, match="EP_AUTH_KEY_ENCRYPTION_KEY is required"):
        validate(AuthConfig(demo=True))
    with pytest.raises(ConfigError, match="published demo key"):
        validate(AuthConfig(demo=True, key_encryption_key=DEMO_KEY_ENCRYPTION_KEY))
    published = AuthConfig(
        demo=True, key_encryption_key=GOOD_KEK, service_accounts="ingest:ingest-demo-secret"
    )
    with pytest.raises(ConfigError, match="published demo secret"):
        validate(published)
    accounts = f"ingest:{'x' * 32}"
    # The demo accounts' passwords have no default either (they were once published: admin-demo).
    with pytest.raises(ConfigError, match="EP_AUTH_DEMO_ADMIN_PASSWORD and EP_AUTH_DEMO_USER_PASSWORD"):
        validate(AuthConfig(demo=True, key_encryption_key=GOOD_KEK, service_accounts=accounts))
    with pytest.raises(ConfigError, match="EP_AUTH_DEMO_ADMIN_PASSWORD"):
        validate(
            AuthConfig(
                demo=True,
                key_encryption_key=GOOD_KEK,
                service_accounts=accounts,
                demo_admin_password="a" * 16,
            )
        )
    validate(
        AuthConfig(
            demo=True,
            key_encryption_key=GOOD_KEK,
            service_accounts=accounts,
            demo_admin_password="a" * 16,
            demo_user_password="u" * 16,
        )
    )
    validate(
        AuthConfig(demo=False, key_encryption_key=GOOD_KEK, service_accounts=accounts)
    )  # production: none


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({}, "EP_AUTH_KEY_ENCRYPTION_KEY is required"),
        ({"key_encryption_key": DEMO_KEY_ENCRYPTION_KEY}, "published demo key"),
        ({"key_encryption_key": "c2hvcnQ="}, "32 bytes"),
        (
            {"key_encryption_key": GOOD_KEK, "service_accounts": "ingest:ingest-demo-secret"},
            "published demo secret",
        ),
        ({"key_encryption_key": GOOD_KEK, "service_accounts": "ingest:short"}, "shorter than 16"),
        ({"key_encryption_key": GOOD_KEK, "service_accounts": "ingest"}, "name:secret"),
    ],
)
def test_production_refuses_unsafe_settings(overrides: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        validate(AuthConfig(demo=False, **overrides))  # type: ignore[arg-type]


def test_production_settings_from_environment() -> None:
    config = from_env(
        AuthConfig,
        {
            "EP_AUTH_KEY_ENCRYPTION_KEY": GOOD_KEK,
            "EP_AUTH_SERVICE_ACCOUNTS": "ingest:0123456789abcdefXYZ, meter_sim:abcdefghijklmnop1",
        },
    )
    validate(config)
    assert parse_service_accounts(config) == {
        "ingest": "0123456789abcdefXYZ",
        "meter_sim": "abcdefghijklmnop1",
    }


def test_audit_reporters_name_an_account_and_its_actions() -> None:
    config = from_env(AuthConfig, {"EP_AUTH_AUDIT_REPORTERS": "ingest:BILL_CORRECTED|X, ops:Y"})
    assert parse_audit_reporters(config) == {
        "ingest": frozenset({"BILL_CORRECTED", "X"}),
        "ops": frozenset({"Y"}),
    }
    assert parse_audit_reporters(from_env(AuthConfig, {})) == {"ingest": frozenset({"BILL_CORRECTED"})}
    with pytest.raises(ConfigError):
        parse_audit_reporters(from_env(AuthConfig, {"EP_AUTH_AUDIT_REPORTERS": "ingest"}))
