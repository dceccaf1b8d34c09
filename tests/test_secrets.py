"""No published secrets in any default (issue #18, item 6).

Two fresh installations (the generator the local run and compose's init service use) share no
secret, and none of their secrets appears anywhere in the repository; the local run's environment
and compose carry no value this repository ever published.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import yaml

from auth_svc.config import (
    DEMO_KEY_ENCRYPTION_KEY,
    DEMO_SERVICE_SECRETS,
    PUBLISHED_DEMO_ADMIN_PASSWORD,
    PUBLISHED_DEMO_USER_PASSWORD,
)
from common.config import read_env_file
from devstack.env import allocate_ports, stack_env
from devstack.secrets import SECRET_KEYS, installation_secrets, main, write_broker_files

ROOT = Path(__file__).resolve().parents[1]
# Every secret value earlier versions published as a default.
PUBLISHED = {
    *DEMO_SERVICE_SECRETS.values(),
    DEMO_KEY_ENCRYPTION_KEY,
    "ZW5lcmd5cHVsc2UtZGVtby1sZWRnZXItc2VlZC0zMmI=",  # the old compose ledger signing seed
    PUBLISHED_DEMO_ADMIN_PASSWORD,
}


def _install(state: Path) -> set[str]:
    """Run the compose init's generator into ``state``; every secret it made, as text."""
    main(["--state", str(state), "--broker-dir", str(state / "broker"), "--database-host", "postgres"])
    env = installation_secrets(state)
    found = {env[k] for k in SECRET_KEYS}
    found |= {url.split(":", 2)[2].split("@", 1)[0] for k, url in env.items() if k.endswith("_DATABASE_URL")}
    found.add((state / "postgres.password").read_text())
    found.add((state / "ledger_signing_key.pem").read_text())
    found.add((state / "broker" / "tls" / "server.key").read_text())
    found.add((state / "broker" / "health.password").read_text())
    dynsec = json.loads((state / "broker" / "dynamic-security.json").read_text())
    found |= {c["password"] for c in dynsec["clients"]} | {c["salt"] for c in dynsec["clients"]}
    assert all(len(v) >= 16 for v in found)
    return found


def _repository_text() -> str:
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    parts = []
    for name in files.splitlines():
        path = ROOT / name
        if path.is_file() and path.stat().st_size < 2_000_000:
            parts.append(path.read_bytes().decode(errors="replace"))
    return "\n".join(parts)


def test_two_fresh_installs_share_no_secret_and_none_is_in_the_repository(tmp_path: Path) -> None:
    first, second = _install(tmp_path / "a"), _install(tmp_path / "b")
    assert len(first) >= 12 and len(second) >= 12
    assert first.isdisjoint(second)
    repository = _repository_text()
    leaked = [s[:12] for s in first | second if s in repository]
    assert leaked == []
    assert (first | second).isdisjoint(PUBLISHED)


def test_a_second_start_keeps_the_installations_secrets(tmp_path: Path) -> None:
    before = installation_secrets(tmp_path)
    key = (tmp_path / "ledger_signing_key.pem").read_bytes()
    assert installation_secrets(tmp_path) == before
    assert (tmp_path / "ledger_signing_key.pem").read_bytes() == key
    assert oct((tmp_path / "secrets.env").stat().st_mode & 0o777) == "0o600"
    write_broker_files(tmp_path / "broker", before["EP_INGEST_MQTT_PASSWORD"], ["localhost"])
    server = (tmp_path / "broker" / "tls" / "server.pem").read_bytes()
    write_broker_files(tmp_path / "broker", before["EP_INGEST_MQTT_PASSWORD"], ["localhost"])
    assert (tmp_path / "broker" / "tls" / "server.pem").read_bytes() == server


def test_the_local_run_environment_has_no_published_value(tmp_path: Path) -> None:
    env = stack_env(allocate_ports(prefer_standard=False), tmp_path, demo=True)
    assert env["EP_DEMO"] == "1"  # demo accounts stay; their secrets do not
    # The demo accounts sign in with the installation's passwords, not the once-documented ones
    # ("demo" is too short to search for as a substring: compared whole).
    assert len(env["EP_AUTH_DEMO_ADMIN_PASSWORD"]) >= 16 and len(env["EP_AUTH_DEMO_USER_PASSWORD"]) >= 16
    assert env["EP_AUTH_DEMO_USER_PASSWORD"] != PUBLISHED_DEMO_USER_PASSWORD
    assert set(env.values()).isdisjoint(PUBLISHED)
    for published in PUBLISHED:
        assert all(published not in value for value in env.values())
    accounts = dict(item.split(":", 1) for item in env["EP_AUTH_SERVICE_ACCOUNTS"].split(","))
    assert accounts == {
        "ingest": env["EP_INGEST_SERVICE_SECRET"],
        "meter_sim": env["EP_METER_SERVICE_SECRET"],
        "alert": env["EP_ALERT_SERVICE_SECRET"],
    }


def test_a_state_folder_from_before_alert_svc_gets_its_secrets_added(tmp_path: Path) -> None:
    first = installation_secrets(tmp_path)
    path = tmp_path / "secrets.env"
    old = {k: v for k, v in first.items() if not k.startswith("EP_ALERT_")}
    old["EP_AUTH_SERVICE_ACCOUNTS"] = ",".join(
        a for a in first["EP_AUTH_SERVICE_ACCOUNTS"].split(",") if not a.startswith("alert:")
    )
    path.write_text("".join(f"{k}={v}\n" for k, v in old.items()))
    again = installation_secrets(tmp_path)
    assert {k: again[k] for k in old if k != "EP_AUTH_SERVICE_ACCOUNTS"} == {
        k: v for k, v in old.items() if k != "EP_AUTH_SERVICE_ACCOUNTS"
    }
    assert again["EP_AUTH_SERVICE_ACCOUNTS"].endswith(f",alert:{again['EP_ALERT_SERVICE_SECRET']}")
    assert again["EP_ALERT_KEY_ENCRYPTION_KEY"] and oct(path.stat().st_mode & 0o777) == "0o600"
    assert installation_secrets(tmp_path) == again  # added once, then reused


def test_compose_sets_no_secret() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    compose = yaml.safe_load(text)
    for published in PUBLISHED:
        assert published not in text
    for name, service in compose["services"].items():
        env = service.get("environment", {})
        for key in env:
            lowered = key.lower()
            if any(
                word in lowered
                for word in ("secret", "password", "seed", "key_encryption", "service_accounts")
            ):
                assert key.endswith("_FILE"), (
                    f"{name}: {key} is set in compose; it belongs in the generated file"
                )
            if key.endswith("DATABASE_URL"):
                raise AssertionError(f"{name}: {key} would carry a database password")


def test_the_init_service_provides_the_witness_its_pinned_ledger_key(tmp_path: Path) -> None:
    """compose's witness pins the ledger's note key from the generated file (#18): init derives it
    from the signing key it made, so nobody has to set EP_LEDGER_VERIFIER_KEY by hand."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from common import tlog
    from common.config import from_env
    from witness_svc.config import WitnessConfig

    state = tmp_path / "state"
    main(["--state", str(state)])
    env = installation_secrets(state)
    key = serialization.load_pem_private_key((state / "ledger_signing_key.pem").read_bytes(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    expected = tlog.verifier_key(
        "energypulse.local/ledger", tlog.ALG_ED25519, key.public_key().public_bytes_raw()
    )
    assert env["EP_LEDGER_VERIFIER_KEY"] == env["EP_WITNESS_LEDGER_KEY"] == expected
    # What the witness container sees: the secrets file, nothing set by hand.
    config = from_env(WitnessConfig, {**env})
    assert config.ledger_key == expected
    # An installation made before the pin existed gets it on its next start, secrets unchanged.
    lines = (state / "secrets.env").read_text().splitlines()
    (state / "secrets.env").write_text(
        "".join(f"{line}\n" for line in lines if "LEDGER_KEY=" not in line and "VERIFIER_KEY=" not in line)
    )
    again = installation_secrets(state)
    assert again == env
    # A log with another origin pins a key of that name.
    other = installation_secrets(tmp_path / "other", ledger_origin="example.org/log")
    assert other["EP_WITNESS_LEDGER_KEY"].startswith("example.org/log+")


def test_compose_witness_reads_only_the_public_pins_and_sets_no_empty_pin(tmp_path: Path) -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    witness = compose["services"]["witness_svc"]
    # Never the state volume: it holds the ledger's signing key, which a witness must not see.
    assert not any(v.startswith("state:") for v in witness["volumes"])
    assert "pins:/pins:ro" in witness["volumes"]
    assert witness["environment"]["EP_SECRETS_FILE"] == "/pins/ledger-pins.env"
    assert "/pins/ledger-pins.env" in compose["services"]["init"]["command"]
    # The pins file holds the public pins and nothing else.
    env = installation_secrets(tmp_path / "state")
    pins = read_env_file(str(tmp_path / "state" / "ledger-pins.env"))
    assert pins == {k: env[k] for k in ("EP_LEDGER_VERIFIER_KEY", "EP_WITNESS_LEDGER_KEY")}
    # An environment value would win over the file (common/config.py): none may shadow the pin.
    assert "EP_WITNESS_LEDGER_KEY" not in witness["environment"]


def test_a_state_folder_from_before_generated_demo_passwords_gets_them(tmp_path: Path) -> None:
    first = installation_secrets(tmp_path)
    path = tmp_path / "secrets.env"
    old = {k: v for k, v in first.items() if not k.startswith("EP_AUTH_DEMO_")}
    path.write_text("".join(f"{k}={v}\n" for k, v in old.items()))
    again = installation_secrets(tmp_path)
    assert {k: again[k] for k in old} == old  # nothing else changes
    assert len(again["EP_AUTH_DEMO_ADMIN_PASSWORD"]) == 16 and again["EP_AUTH_DEMO_USER_PASSWORD"].isalnum()
    assert installation_secrets(tmp_path) == again  # added once, then reused
