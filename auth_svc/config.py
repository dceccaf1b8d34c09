"""auth_svc settings (EP_AUTH_*), built once in ``main()`` and passed down.

No secret has a default, in demo mode neither (demo mode seeds the documented demo *accounts*
only): ``validate`` runs at start-up and fails fast when a secret is missing or equals one of the
values this repository once published. The local run and compose generate the secrets per
installation on first start (devstack/secrets.py).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from common.auth.verifier import DEFAULT_AUDIENCE, DEFAULT_ISSUER
from common.config import ConfigError, env_field
from common.sealing import decode_kek

__all__ = [
    "DEMO_KEY_ENCRYPTION_KEY",
    "DEMO_SERVICE_SECRETS",
    "PUBLISHED_DEMO_ADMIN_PASSWORD",
    "PUBLISHED_DEMO_USER_PASSWORD",
    "AuthConfig",
    "key_encryption_key",
    "parse_audit_reporters",
    "parse_service_accounts",
    "validate",
]

# Published by earlier versions of this repository: refused everywhere, demo mode included.
DEMO_KEY_ENCRYPTION_KEY = base64.urlsafe_b64encode(b"energypulse-demo-key-encryption!").decode()
DEMO_SERVICE_SECRETS: dict[str, str] = {
    "ingest": "ingest-demo-secret",
    "meter_sim": "meter_sim-demo-secret",
}
# The demo accounts' passwords this repository documented before they were generated per
# installation: an installation seeded with them gets the configured ones at the next start.
PUBLISHED_DEMO_ADMIN_PASSWORD = "admin-demo"
PUBLISHED_DEMO_USER_PASSWORD = "demo"


@dataclass(frozen=True)
class AuthConfig:
    database_url: str = env_field(
        "EP_AUTH_DATABASE_URL", "sqlite:///data/auth.db", "SQLAlchemy URL of the auth database"
    )
    demo: bool = env_field("EP_AUTH_DEMO", False, "demo mode: seed the documented demo accounts")
    demo_households: int = env_field(
        "EP_AUTH_DEMO_HOUSEHOLDS",
        100,
        "demo mode: users household-0001..; keep = EP_METER_COUNT",
    )
    demo_admin_password: str = env_field(
        "EP_AUTH_DEMO_ADMIN_PASSWORD",
        "",
        "demo mode: the admin account's password (required in demo mode; ./scripts/run and compose generate one)",
    )
    demo_user_password: str = env_field(
        "EP_AUTH_DEMO_USER_PASSWORD",
        "",
        "demo mode: the demo household users' password (required in demo mode; generated likewise)",
    )
    demo_household_format: str = env_field(
        "EP_AUTH_DEMO_HOUSEHOLD_FORMAT",
        "sim-h{index:06d}",
        "demo mode: household id linked to user N (index N-1), matching meter_sim's ids",
    )
    issuer: str = env_field("EP_AUTH_ISSUER", DEFAULT_ISSUER, "JWT iss claim")
    audience: str = env_field("EP_AUTH_AUDIENCE", DEFAULT_AUDIENCE, "JWT aud claim")
    access_ttl_s: int = env_field(
        "EP_AUTH_ACCESS_TTL_S", 300, "access token lifetime (also the revocation window bound)"
    )
    refresh_ttl_s: int = env_field("EP_AUTH_REFRESH_TTL_S", 14 * 24 * 3600, "refresh token lifetime")
    password_reset_ttl_s: int = env_field(
        "EP_AUTH_PASSWORD_RESET_TTL_S", 3600, "lifetime of an operator-issued one-time password-reset token"
    )
    # The operator's health monitor (auth_svc/ops): what it probes, how often, when it alerts.
    monitor_auth_target: str = env_field("EP_AUTH_TARGET", "127.0.0.1:50051", "auth_svc address(es) to probe")
    monitor_predict_target: str = env_field(
        "EP_PREDICT_TARGET", "127.0.0.1:50052", "predict_svc address(es) to probe"
    )
    monitor_ledger_target: str = env_field(
        "EP_LEDGER_TARGET", "127.0.0.1:50053", "ledger_svc address(es) to probe"
    )
    monitor_telemetry_target: str = env_field(
        "EP_TELEMETRY_TARGET", "127.0.0.1:50054", "ingest_svc address(es) to probe"
    )
    monitor_alert_target: str = env_field(
        "EP_ALERT_TARGET", "127.0.0.1:50055", "alert_svc address(es) to probe (empty: not watched)"
    )
    monitor_witness_url: str = env_field(
        "EP_WITNESS_URL",
        "http://127.0.0.1:50060",
        "witness_svc's HTTP endpoint, probed at /healthz (empty: not watched)",
    )
    health_probe_interval_s: float = env_field(
        "EP_AUTH_HEALTH_PROBE_INTERVAL_S",
        10.0,
        "seconds between health probes of every replica (0: monitor off)",
    )
    health_alert_after_s: float = env_field(
        "EP_AUTH_HEALTH_ALERT_AFTER_S", 60.0, "seconds a service must be unhealthy before its alert fires"
    )
    health_history_s: int = env_field(
        "EP_AUTH_HEALTH_HISTORY_S", 24 * 3600, "seconds of health history kept in memory (bounded ring)"
    )
    key_rotation_s: int = env_field(
        "EP_AUTH_KEY_ROTATION_S", 7 * 24 * 3600, "age after which a new signing key is made"
    )
    key_encryption_key: str = env_field(
        "EP_AUTH_KEY_ENCRYPTION_KEY",
        "",
        "urlsafe base64 of 32 random bytes; encrypts signing keys at rest (required in production)",
    )
    service_accounts: str = env_field(
        "EP_AUTH_SERVICE_ACCOUNTS",
        "",
        "service accounts as name:secret,name:secret (generated per installation: devstack/secrets.py)",
    )
    audit_reporters: str = env_field(
        "EP_AUTH_AUDIT_REPORTERS",
        "ingest:BILL_CORRECTED",
        "service accounts that may RecordAuditEvent and the actions each may report, as"
        " account:ACTION[|ACTION],account:ACTION",
    )
    # Sign-in throttling (auth_svc/ratelimit.py): delays, never a lockout of the owner.
    pair_free_failures: int = env_field(
        "EP_AUTH_PAIR_FREE_FAILURES",
        3,
        "failed sign-ins on one account from one address before each attempt waits (exponential)",
    )
    client_free_failures: int = env_field(
        "EP_AUTH_CLIENT_FREE_FAILURES", 20, "failed sign-ins from one address (any account) before delays"
    )
    account_free_failures: int = env_field(
        "EP_AUTH_ACCOUNT_FREE_FAILURES",
        100,
        "failed sign-ins on one account from all addresses before delays (distributed guessing)",
    )
    throttle_base_delay_s: float = env_field(
        "EP_AUTH_THROTTLE_BASE_DELAY_S", 1.0, "first delay once free failures are spent; doubles after"
    )
    throttle_max_delay_s: float = env_field(
        "EP_AUTH_THROTTLE_MAX_DELAY_S", 900.0, "longest delay between attempts"
    )
    login_window_s: int = env_field(
        "EP_AUTH_LOGIN_WINDOW_S", 900, "quiet time after which failed sign-ins are forgotten"
    )
    trusted_proxies: str = env_field(
        "EP_AUTH_TRUSTED_PROXIES",
        "",
        "peers (IPs, CIDRs or host names, comma-separated) whose x-energypulse-client-address"
        " header names the client: the edge only. Anyone else is keyed on its own address",
    )
    argon2_time_cost: int = env_field("EP_AUTH_ARGON2_TIME_COST", 3, "argon2id iterations")
    argon2_memory_kib: int = env_field("EP_AUTH_ARGON2_MEMORY_KIB", 65536, "argon2id memory")
    log_level: str = env_field("EP_LOG_LEVEL", "INFO", "log level")


def decode_key_encryption_key(value: str) -> bytes:
    return decode_kek(value, "EP_AUTH_KEY_ENCRYPTION_KEY")


def parse_service_accounts(config: AuthConfig) -> dict[str, str]:
    """name -> client secret."""
    accounts: dict[str, str] = {}
    for item in config.service_accounts.split(","):
        item = item.strip()
        if not item:
            continue
        name, sep, secret = item.partition(":")
        if not sep or not name.strip() or not secret:
            raise ConfigError("EP_AUTH_SERVICE_ACCOUNTS entries must look like name:secret")
        accounts[name.strip()] = secret
    return accounts


def parse_audit_reporters(config: AuthConfig) -> dict[str, frozenset[str]]:
    """EP_AUTH_AUDIT_REPORTERS as {service account: the actions it may report}."""
    out: dict[str, frozenset[str]] = {}
    for item in (part.strip() for part in config.audit_reporters.split(",")):
        if not item:
            continue
        name, sep, actions = item.partition(":")
        if not sep or not name.strip() or not actions.strip():
            raise ConfigError(f"EP_AUTH_AUDIT_REPORTERS entry {item!r} is not account:ACTION[|ACTION]")
        out[name.strip()] = frozenset(a.strip() for a in actions.split("|") if a.strip())
    return out


def validate(config: AuthConfig) -> None:
    """Refuse unsafe settings (demo mode included: it changes the accounts, not the secrets)."""
    kek = config.key_encryption_key
    if not kek:
        raise ConfigError("EP_AUTH_KEY_ENCRYPTION_KEY is required (./scripts/run and compose generate one)")
    decode_key_encryption_key(kek)
    if config.access_ttl_s <= 0 or config.refresh_ttl_s <= 0:
        raise ConfigError("EP_AUTH_ACCESS_TTL_S and EP_AUTH_REFRESH_TTL_S must be positive")
    if kek == DEMO_KEY_ENCRYPTION_KEY:
        raise ConfigError("EP_AUTH_KEY_ENCRYPTION_KEY is the published demo key; generate one")
    for name, secret in parse_service_accounts(config).items():
        if secret in DEMO_SERVICE_SECRETS.values():
            raise ConfigError(f"service account {name!r} uses a published demo secret")
        if len(secret) < 16:
            raise ConfigError(f"service account {name!r} secret is shorter than 16 characters")
    if config.demo and not (config.demo_admin_password and config.demo_user_password):
        raise ConfigError(
            "demo mode needs EP_AUTH_DEMO_ADMIN_PASSWORD and EP_AUTH_DEMO_USER_PASSWORD "
            "(./scripts/run and compose generate them per installation: devstack/secrets.py)"
        )
    parse_audit_reporters(config)


def key_encryption_key(config: AuthConfig) -> bytes:
    return decode_key_encryption_key(config.key_encryption_key)
