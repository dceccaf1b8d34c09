"""Settings of witness_svc (environment variables EP_WITNESS_*). The witness has its own key and its
own storage; all it knows of the ledger is its address and its pinned note key."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from common.config import env_field

__all__ = ["WitnessConfig"]


@dataclass(frozen=True)
class WitnessConfig:
    ledger_target: str = env_field("EP_LEDGER_TARGET", "127.0.0.1:50053", "ledger_svc host:port (gRPC)")
    ledger_key: str = env_field(
        "EP_WITNESS_LEDGER_KEY",
        "",
        "the ledger's pinned note verifier key (vkey, printed by the run command); required",
    )
    name: str = env_field(
        "EP_WITNESS_NAME", "energypulse.local/witness", "the witness's key name in its cosignatures"
    )
    var_dir: str = env_field("EP_VAR_DIR", "var", "directory for local state")
    key_file: str = env_field(
        "EP_WITNESS_KEY_FILE", "", "PEM Ed25519 cosigning key (default $EP_VAR_DIR/witness/witness_key.pem)"
    )
    state_file: str = env_field(
        "EP_WITNESS_STATE_FILE", "", "last cosigned checkpoint (default $EP_VAR_DIR/witness/state.json)"
    )
    create_key: bool = env_field(
        "EP_WITNESS_CREATE_KEY", False, "create the key file when missing (also on with EP_DEMO=1)"
    )
    demo: bool = env_field("EP_DEMO", False, "demo mode: create a missing key")
    poll_ms: int = env_field("EP_WITNESS_POLL_MS", 1000, "how often the ledger's checkpoint is fetched")
    http_host: str = env_field("EP_WITNESS_HTTP_HOST", "127.0.0.1", "address of the checkpoint endpoint")
    http_port: int = env_field("EP_WITNESS_HTTP_PORT", 50060, "port of GET /checkpoint (0: any free port)")
    log_level: str = env_field("EP_LOG_LEVEL", "INFO", "log level")

    @property
    def key_path(self) -> Path:
        return Path(self.key_file or Path(self.var_dir) / "witness" / "witness_key.pem")

    @property
    def state_path(self) -> Path:
        return Path(self.state_file or Path(self.var_dir) / "witness" / "state.json")
