"""Invoice periods and the server-side verdict on invoice lines (spec §11)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from common.errors import InvalidArgument
from ledger_svc.canonical import HOUR_MS, Correction, Settlement, SettlementV2, UnbilledPeriod, tx_hash
from ledger_svc.merkle import ProofError, leaf_hash, verify_inclusion
from ledger_svc.reads import StoredTx

__all__ = [
    "Coverage",
    "CurrencySum",
    "LineVerdict",
    "Missing",
    "coverage",
    "currency_of",
    "currency_sums",
    "month_bounds_ms",
    "verify_line",
]

NOT_SETTLED = "NOT_SETTLED"  # neither a line nor an unbilled-period record for the period


@dataclass(frozen=True, slots=True)
class Missing:
    """A period of the month that no line bills, and why (spec §17.7)."""

    start_ms: int
    reason: str  # the unbilled-period record's, or NOT_SETTLED
    detail: str = ""
    tx_hash: bytes = b""  # the unbilled-period transaction that says so


@dataclass(frozen=True, slots=True)
class Coverage:
    """How a month's lines account for its settlement periods (spec §17.4)."""

    period_ms: int
    expected: int
    covered: int
    missing: list[Missing]
    legacy: bool  # no line is meter-signed
    open: int = 0  # periods not yet ended at ``now_ms``: neither settled nor missing


def coverage(
    lines: list[StoredTx],
    start_ms: int,
    end_ms: int,
    now_ms: int | None = None,
    unbilled: list[StoredTx] | None = None,
) -> Coverage:
    """Which periods of [start_ms, end_ms) the lines cover. The period is the signed (v2) lines'
    (the first one's), else the unbilled records' (a month with no line at all), else an hour; a
    legacy hour covers each of its periods. Every period not covered is listed with a reason: the
    unbilled-period record's that covers it (the first on the log), or NOT_SETTLED; so lines +
    missing = all. A period both settled and recorded unbilled is covered (the line wins)."""
    runs = [(t, t.record) for t in unbilled or [] if isinstance(t.record, UnbilledPeriod)]
    signed = [t.record for t in lines if isinstance(t.record, SettlementV2)]
    period = signed[0].period_ms if signed else runs[0][1].period_ms if runs else HOUR_MS
    why: dict[int, Missing] = {}
    for t, run in runs:
        for p in range(run.period_start_ms - run.period_start_ms % period, run.end_ms, period):
            why.setdefault(p, Missing(p, run.reason, run.detail, t.tx_hash))
    covered: set[int] = set()
    for t in lines:
        r = t.record
        if isinstance(r, SettlementV2):
            span = (r.period_start_ms, r.period_start_ms + r.period_ms)
        elif isinstance(r, Settlement):
            span = (r.hour_ms, r.hour_ms + HOUR_MS)
        else:
            continue
        first = span[0] - span[0] % period
        covered.update(p for p in range(first, span[1], period) if start_ms <= p < end_ms)
    first = start_ms + (-start_ms % period)
    every = range(first, end_ms, period)
    ended = end_ms if now_ms is None else now_ms
    missing = [
        why.get(p) or Missing(p, NOT_SETTLED) for p in every if p not in covered and p + period <= ended
    ]
    still_open = sum(1 for p in every if p not in covered and p + period > ended)
    return Coverage(period, len(every), len(covered), missing, not signed and not runs, still_open)


def currency_of(record: Settlement | SettlementV2 | Correction) -> str:
    """The currency of a line or correction: a version-1 line's is EUR (spec §1), a version-2 line
    without one (an older writer) too."""
    if isinstance(record, Settlement):
        return "EUR"
    return record.currency or "EUR"


@dataclass(slots=True)
class CurrencySum:
    """An invoice's sums in one currency (micro-units): never added across currencies."""

    currency: str
    lines: int = 0
    wh: int = 0
    cost: int = 0
    corrections: int = 0

    @property
    def due(self) -> int:
        return self.cost + self.corrections


def currency_sums(
    settled: list[Settlement | SettlementV2], corrections: list[Correction]
) -> list[CurrencySum]:
    """The lines' and corrections' sums per currency, by currency code."""
    out: dict[str, CurrencySum] = {}
    for r in settled:
        c = out.setdefault(currency_of(r), CurrencySum(currency_of(r)))
        c.lines += 1
        c.wh += r.metered_wh
        c.cost += r.total_cost_ueur
    for k in corrections:
        c = out.setdefault(currency_of(k), CurrencySum(currency_of(k)))
        c.corrections += k.amount_ueur
    return [out[k] for k in sorted(out)]


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
