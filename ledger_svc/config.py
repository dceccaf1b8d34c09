"""Settings of ledger_svc (environment variables EP_LEDGER_*, plus the shared EP_AUTH_*)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from common.config import env_field

__all__ = ["LedgerConfig"]


@dataclass(frozen=True)
class LedgerConfig:
    database_url: str = env_field(
        "EP_LEDGER_DATABASE_URL", "sqlite:///var/ledger.db", "SQLAlchemy URL of the ledger database"
    )
    block_max_txs: int = env_field(
        "EP_LEDGER_BLOCK_MAX_TXS", 1000, "seal a block once this many txs are pending"
    )
    block_max_ms: int = env_field(
        "EP_LEDGER_BLOCK_MAX_MS", 1000, "seal pending txs once the oldest is this old (ms)"
    )
    signing_key_file: str = env_field(
        "EP_LEDGER_SIGNING_KEY_FILE",
        "",
        "PEM Ed25519 key signing tree heads (default $EP_VAR_DIR/ledger_signing_key.pem)",
    )
    var_dir: str = env_field("EP_VAR_DIR", "var", "directory for local state")
    signing_key_seed: str = env_field(
        "EP_LEDGER_SIGNING_KEY_SEED", "", "base64 32-byte Ed25519 seed (overrides the key file)"
    )
    create_signing_key: bool = env_field(
        "EP_LEDGER_CREATE_SIGNING_KEY", False, "create the key file when missing (also on with EP_DEMO=1)"
    )
    demo: bool = env_field("EP_DEMO", False, "demo mode: create missing keys")
    max_append_batch: int = env_field(
        "EP_LEDGER_MAX_APPEND_BATCH", 10000, "most records in one AppendRecords"
    )
    head_max_age_ms: int = env_field(
        "EP_LEDGER_HEAD_MAX_AGE_MS",
        250,
        "GetSignedHead reuses a head (ListBlocks its newest page) this young if nothing grew here (0: fresh)",
    )
    writer_accounts: str = env_field(
        "EP_LEDGER_WRITER_ACCOUNTS",
        "ingest",
        "service accounts allowed to AppendRecords, comma-separated (administrators never are)",
    )
    origin: str = env_field(
        "EP_LEDGER_ORIGIN",
        "energypulse.local/ledger",
        "the log's origin: first line of its checkpoints and the name of its note key",
    )
    invoice_time_zone: str = env_field(
        "EP_LEDGER_INVOICE_TIME_ZONE", "Europe/Oslo", "time zone of invoice months"
    )
    auth_target: str = env_field(
        "EP_AUTH_TARGET", "127.0.0.1:50051", "auth_svc host:port (keys, revocations)"
    )
    jwt_issuer: str = env_field("EP_AUTH_ISSUER", "energypulse-auth", "expected iss of access tokens")
    jwt_audience: str = env_field("EP_AUTH_AUDIENCE", "energypulse", "expected aud of access tokens")
    log_level: str = env_field("EP_LOG_LEVEL", "INFO", "log level")

    @property
    def writers(self) -> frozenset[str]:
        return frozenset(a.strip() for a in self.writer_accounts.split(",") if a.strip())

    @property
    def signing_key_path(self) -> Path:
        return Path(self.signing_key_file or Path(self.var_dir) / "ledger_signing_key.pem")
