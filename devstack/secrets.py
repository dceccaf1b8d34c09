"""Per-installation secrets, generated on first start and never committed.

    python -m devstack.secrets --state DIR [--broker-dir DIR --broker-host NAME ...]

The local run (devstack/up.py, devstack/stack.py) calls :func:`installation_secrets` for its state
folder (``var/run/``, gitignored); compose runs this module once as its ``init`` service into the
``state`` volume, with ``--broker-dir`` for the broker's TLS files and first access-control
configuration. Nothing here has a default value: every secret is random per installation.

What is generated (``secrets.env``, mode 0600):

* ``EP_INGEST_SERVICE_SECRET``, ``EP_METER_SERVICE_SECRET`` and ``EP_AUTH_SERVICE_ACCOUNTS``: the
  service accounts auth_svc creates and ingest / meter_sim log in with;
* ``EP_AUTH_KEY_ENCRYPTION_KEY``: encrypts auth_svc's JWT signing keys at rest;
* ``EP_ALERT_SERVICE_SECRET`` (alert_svc's service account, in ``EP_AUTH_SERVICE_ACCOUNTS`` too) and
  ``EP_ALERT_KEY_ENCRYPTION_KEY`` (encrypts households' webhook secrets and MQTT passwords); a state
  folder made before alert_svc existed gets them added on the next start;
* ``EP_INGEST_MQTT_PASSWORD``: ingest's broker password (the broker holds only its hash);
* ``EP_AUTH_DEMO_ADMIN_PASSWORD``, ``EP_AUTH_DEMO_USER_PASSWORD``: the demo accounts' passwords
  (``admin``; ``household-0001`` ...), printed by ./scripts/run's banner and the init service's
  log; added to an older installation's file on its next start (auth_svc then replaces the
  once-published passwords of accounts seeded before);
* ``EP_LEDGER_SIGNING_KEY_FILE``: a fresh Ed25519 key signing the ledger's tree heads;
* ``EP_LEDGER_VERIFIER_KEY`` and ``EP_WITNESS_LEDGER_KEY``: not secret, derived from that key: its
  C2SP note verifier key under the log's origin (``--ledger-origin``, default
  ``EP_LEDGER_ORIGIN`` or ``energypulse.local/ledger``), the key the witness pins (compose's
  witness reads it from ``ledger-pins.env``, a public copy of the pins alone; spec §16).
  Added to an older installation's file on its next start. A ledger run with ``EP_LEDGER_SIGNING_KEY_SEED`` instead of the file needs its own.

With ``--kubernetes-secret NAME`` (docs/KUBERNETES.md): the same files as one Secret manifest on
standard output, for ``kubectl apply -f -``; pass ``--key-dir /secrets``, where the pods mount it.

With ``--broker-dir``: a private CA, the broker's certificate (for ``--broker-host`` names), the
plugin's ``dynamic-security.json`` and a ``health`` login for the container healthcheck.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import ipaddress
import json
import os
import secrets
import string
import sys
from collections.abc import Sequence
from pathlib import Path

from common.config import read_env_file
from common.mqtt_auth import new_secret, pbkdf2_sha512
from contracts.mqtt.access import dynsec_document

__all__ = [
    "SECRETS_FILE",
    "SECRET_KEYS",
    "installation_secrets",
    "ledger_verifier_key",
    "main",
    "write_broker_files",
]

SECRETS_FILE = "secrets.env"
PINS_FILE = "ledger-pins.env"  # public: what the witness reads (compose mounts only this)
DEFAULT_ORIGIN = "energypulse.local/ledger"  # ledger_svc's EP_LEDGER_ORIGIN default
# The random values; every other line of the file is derived from them or is a path.
SECRET_KEYS = (
    "EP_INGEST_SERVICE_SECRET",
    "EP_METER_SERVICE_SECRET",
    "EP_AUTH_KEY_ENCRYPTION_KEY",
    "EP_INGEST_MQTT_PASSWORD",
    "EP_ALERT_SERVICE_SECRET",
    "EP_ALERT_KEY_ENCRYPTION_KEY",
    "EP_AUTH_DEMO_ADMIN_PASSWORD",
    "EP_AUTH_DEMO_USER_PASSWORD",
)
LEDGER_KEY_FILE = "ledger_signing_key.pem"


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def _ledger_key(path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    if not path.exists():
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        _write_private(path, pem)


def ledger_verifier_key(key_file: Path, origin: str) -> str:
    """The note verifier key (C2SP signed-note vkey) of the ledger signing key in ``key_file``."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from common import tlog

    key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{key_file} is not an Ed25519 key")
    return tlog.verifier_key(origin, tlog.ALG_ED25519, key.public_key().public_bytes_raw())


def _add_pins(path: Path, vkey: str) -> None:
    """Append the derived (public) pins to the secrets file when it lacks them."""
    have = read_env_file(str(path))
    missing = {k: vkey for k in ("EP_LEDGER_VERIFIER_KEY", "EP_WITNESS_LEDGER_KEY") if not have.get(k)}
    if missing:
        with path.open("a", encoding="utf-8") as out:
            out.write("".join(f"{k}={v}\n" for k, v in missing.items()))


def _write_public_pins(path: Path, vkey: str) -> None:
    """The pins alone, in a file a witness may read: it must never see the state folder, which
    holds the ledger's signing key (an independent witness has only the log's public key)."""
    body = "".join(f"{k}={vkey}\n" for k in ("EP_LEDGER_VERIFIER_KEY", "EP_WITNESS_LEDGER_KEY"))
    text = "# Public: the ledger's note verifier key (devstack/secrets.py); not a secret.\n" + body
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
        path.chmod(0o644)


def installation_secrets(
    state_dir: Path,
    key_dir: Path | None = None,
    database_host: str | None = None,
    ledger_origin: str | None = None,
) -> dict[str, str]:
    """The installation's secrets, made on the first call for ``state_dir`` and reused after.

    ``key_dir``: where the files the environment points at live, as the services see them
    (compose: the same volume mounted elsewhere); default ``state_dir``. ``database_host``: a
    PostgreSQL server to give a generated password (``postgres.password``, for the server's
    POSTGRES_PASSWORD_FILE) and the services' database URLs with it.
    """
    state_dir = state_dir.resolve()
    path = state_dir / SECRETS_FILE
    if not path.exists():
        values = {
            "EP_INGEST_SERVICE_SECRET": new_secret(),
            "EP_METER_SERVICE_SECRET": new_secret(),
            "EP_AUTH_KEY_ENCRYPTION_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
            "EP_INGEST_MQTT_PASSWORD": new_secret(),
            **_alert_secrets(),
            **_demo_passwords(),
        }
        where = key_dir or state_dir
        values["EP_AUTH_SERVICE_ACCOUNTS"] = (
            f"ingest:{values['EP_INGEST_SERVICE_SECRET']},meter_sim:{values['EP_METER_SERVICE_SECRET']},"
            f"alert:{values['EP_ALERT_SERVICE_SECRET']}"
        )
        values["EP_LEDGER_SIGNING_KEY_FILE"] = str(where / LEDGER_KEY_FILE)
        if database_host:
            password = new_secret()
            _write_private(state_dir / "postgres.password", password.encode())
            for svc in ("auth", "predict", "ledger", "ingest", "alert"):
                values[f"EP_{svc.upper()}_DATABASE_URL"] = (
                    f"postgresql+psycopg://energypulse:{password}@{database_host}:5432/{svc}"
                )
        header = "# Generated at first start by devstack/secrets.py; never commit this file.\n"
        body = "".join(f"{k}={v}\n" for k, v in values.items())
        _write_private(path, (header + body).encode())
    _ledger_key(state_dir / LEDGER_KEY_FILE)
    values = read_env_file(str(path))
    if "EP_ALERT_SERVICE_SECRET" not in values:  # a state folder from before alert_svc
        added = _alert_secrets()
        accounts = values.get("EP_AUTH_SERVICE_ACCOUNTS", "")
        added["EP_AUTH_SERVICE_ACCOUNTS"] = ",".join(
            filter(None, (accounts, f"alert:{added['EP_ALERT_SERVICE_SECRET']}"))
        )
        values.update(added)
        header = "# Generated at first start by devstack/secrets.py; never commit this file.\n"
        body = "".join(f"{k}={v}\n" for k, v in values.items())
        path.write_text(header + body)
        path.chmod(0o600)
    if "EP_AUTH_DEMO_ADMIN_PASSWORD" not in values:  # a state folder from before they were generated
        with path.open("a", encoding="utf-8") as out:
            out.write("".join(f"{k}={v}\n" for k, v in _demo_passwords().items()))
    origin = ledger_origin or os.environ.get("EP_LEDGER_ORIGIN") or DEFAULT_ORIGIN
    vkey = ledger_verifier_key(state_dir / LEDGER_KEY_FILE, origin)
    _add_pins(path, vkey)
    _write_public_pins(state_dir / PINS_FILE, vkey)
    return read_env_file(str(path))


def _demo_passwords() -> dict[str, str]:
    """The demo accounts' passwords, per installation (the banner of ./scripts/run prints them;
    compose: the init service's log). Letters and digits only, so they can be typed."""
    alphabet = string.ascii_letters + string.digits
    return {
        key: "".join(secrets.choice(alphabet) for _ in range(16))
        for key in ("EP_AUTH_DEMO_ADMIN_PASSWORD", "EP_AUTH_DEMO_USER_PASSWORD")
    }


def _alert_secrets() -> dict[str, str]:
    return {
        "EP_ALERT_SERVICE_SECRET": new_secret(),
        "EP_ALERT_KEY_ENCRYPTION_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
    }


def _tls(broker_dir: Path, hosts: Sequence[str]) -> None:
    """A private CA and the broker's certificate (ECDSA P-256, 825 days), once."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    tls = broker_dir / "tls"
    if (tls / "server.pem").exists():
        return
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"EnergyPulse broker CA {new_secret(4)}")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=825))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    tls.mkdir(parents=True, exist_ok=True)
    (tls / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (tls / "server.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_private(
        tls / "server.key",
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
    )


def write_broker_files(broker_dir: Path, ingest_password: str, hosts: Sequence[str]) -> None:
    """TLS files, the plugin's first configuration and the healthcheck login, each only once."""
    _tls(broker_dir, hosts)
    dynsec = broker_dir / "dynamic-security.json"
    if not dynsec.exists():
        health_password = new_secret()
        document = dynsec_document(ingest_password)
        document["clients"].append(
            {"username": "health", "roles": [{"rolename": "health"}]} | pbkdf2_sha512(health_password)
        )
        document["roles"].append(
            {
                "rolename": "health",
                "acls": [
                    {"acltype": a, "topic": "$SYS/broker/uptime", "priority": 0, "allow": True}
                    for a in ("subscribeLiteral", "publishClientReceive")
                ],
            }
        )
        _write_private(broker_dir / "health.password", health_password.encode())
        _write_private(dynsec, json.dumps(document, indent=1).encode())


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="devstack.secrets", description=__doc__.splitlines()[0])
    parser.add_argument("--state", type=Path, required=True, help="where secrets.env and keys go")
    parser.add_argument("--key-dir", type=Path, default=None, help="the state folder as services mount it")
    parser.add_argument("--broker-dir", type=Path, default=None, help="the broker's data folder")
    parser.add_argument("--broker-host", action="append", default=[], help="broker certificate names")
    parser.add_argument("--database-host", default=None, help="PostgreSQL host to generate a password for")
    parser.add_argument("--ledger-origin", default=None, help="the log's origin (EP_LEDGER_ORIGIN)")
    parser.add_argument("--owner", default="", help="uid:gid to own the state files (compose)")
    parser.add_argument("--broker-owner", default="", help="uid:gid to own the broker files (compose)")
    parser.add_argument(
        "--kubernetes-secret",
        default="",
        metavar="NAME",
        help="also print a Secret NAME holding secrets.env and the ledger key (for kubectl apply -f -)",
    )
    args = parser.parse_args(argv)
    values = installation_secrets(args.state, args.key_dir, args.database_host, args.ledger_origin)
    if args.broker_dir is not None:
        hosts = args.broker_host or ["localhost", "127.0.0.1"]
        write_broker_files(args.broker_dir, values["EP_INGEST_MQTT_PASSWORD"], hosts)
    for folder, owner in ((args.state, args.owner), (args.broker_dir, args.broker_owner)):
        if folder is not None and owner:
            uid, _, gid = owner.partition(":")
            for root, _dirs, files in os.walk(folder):
                for name in [".", *files]:
                    os.chown(os.path.join(root, name), int(uid), int(gid or uid))
    # compose has no banner: the init service's log says how to sign in (the values stay in the
    # state volume; `docker compose logs init` shows them to whoever runs the installation).
    print(
        "demo sign-in (EP_DEMO=1): admin / "
        f"{values['EP_AUTH_DEMO_ADMIN_PASSWORD']}, household-0001 ... / {values['EP_AUTH_DEMO_USER_PASSWORD']}",
        file=sys.stderr,
    )
    if args.kubernetes_secret:
        from devstack.manifests import secret_manifest

        sys.stdout.write(secret_manifest(args.state, args.kubernetes_secret))


if __name__ == "__main__":
    main()
