"""Who may read what (spec §10): headers and hashes for every signed-in caller, record contents
(and salts) only for the household's owner and admins."""

from __future__ import annotations

from collections.abc import Collection

__all__ = ["may_read_record"]


def may_read_record(
    caller_role: str, caller_households: Collection[str], record_household: str | None
) -> bool:
    """True if a caller with this role and these households may see a record's content.

    Zone-level forecasts (no household) are public to every signed-in caller. Service accounts
    write records but do not read household contents back.
    """
    if caller_role == "admin":
        return True
    if record_household is None:
        return True
    return caller_role == "user" and record_household in caller_households
