"""Invoice periods and the server-side verdict on invoice lines (spec §11)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from common.errors import InvalidArgument
from ledger_svc.canonical import tx_hash
from ledger_svc.merkle import ProofError, leaf_hash, verify_inclusion
from ledger_svc.reads import StoredTx

__all__ = ["LineVerdict", "month_bounds_ms", "verify_line"]

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
# Ledger times are Unix milliseconds, so no invoice month precedes 1970; the last month is the one
# whose end (the next month's first day) ``datetime`` can still represent with any zone offset.
FIRST_YEAR, LAST_YEAR = 1970, 9998


def month_bounds_ms(month: str, tz: ZoneInfo) -> tuple[int, int]:
    """[start, end) of the local calendar month ``YYYY-MM`` (years 1970 to 9998), as UTC milliseconds."""
    m = _MONTH.match(month)
    if m is None:
        raise InvalidArgument("BAD_MONTH", f"month must be YYYY-MM, got {month!r}")
    year, mon = int(m.group(1)), int(m.group(2))
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise InvalidArgument(
            "BAD_MONTH", f"month must lie between {FIRST_YEAR}-01 and {LAST_YEAR}-12, got {month!r}"
        )
    start = datetime(year, mon, 1, tzinfo=tz)
    end = datetime(year + (mon == 12), mon % 12 + 1, 1, tzinfo=tz)
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)


@dataclass(frozen=True, slots=True)
class LineVerdict:
    tx_hash: bytes
    hash_valid: bool
    inclusion_valid: bool
    reason: str


def verify_line(tx: StoredTx, tree_size: int, root: bytes, proof: list[bytes] | None) -> LineVerdict:
    """Recompute the line's hash from its record and prove *that* hash against the head."""
    recomputed = tx_hash(tx.record_bytes, tx.appended_at_ms, tx.prev_tx_hash)
    hash_valid = recomputed == tx.tx_hash
    if proof is None:
        return LineVerdict(
            tx.tx_hash, hash_valid, False, "NOT_IN_SIGNED_HEAD" if hash_valid else "HASH_MISMATCH"
        )
    try:
        verify_inclusion(tx.leaf_index, tree_size, leaf_hash(recomputed), proof, root)
        included = True
    except ProofError:
        included = False
    reason = "" if hash_valid and included else ("HASH_MISMATCH" if not hash_valid else "INCLUSION_FAILED")
    return LineVerdict(tx.tx_hash, hash_valid, included, reason)
