"""Meter-signed settlements (docs/ledger-spec.md §17), re-implemented from the document: the
version-2 record bytes, the meter's boundary signatures, and an invoice's completeness.

The chain a household checks: meter signature -> settlement energy -> invoice line -> inclusion
proof -> signed head. This module does the first three links; ``cli`` proves each line (and each
meter-key record) against the head.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from verifier.spec import SpecError, rfc3339_to_ms

__all__ = [
    "InvoiceCheck",
    "boundary_message",
    "check_corrections",
    "check_invoice",
    "check_totals",
    "correction_bytes",
    "currency_sums",
    "is_v2",
    "meter_key_bytes",
    "settlement_v2_bytes",
    "signed_energy",
    "unbilled_bytes",
    "unbilled_reasons",
]

HOUR_MS = 3_600_000


def _str(value: str) -> bytes:
    raw = value.encode("utf-8")
    return struct.pack(">I", len(raw)) + raw


def _i64(value: object) -> bytes:
    return struct.pack(">q", int(str(value or 0)))  # proto3 JSON: int64 as strings, zeros omitted


def _b64(value: object) -> bytes:
    return base64.b64decode(str(value or ""))


def is_v2(record: Mapping[str, Any]) -> bool:
    s = record.get("settlement")
    return isinstance(s, Mapping) and int(s.get("formatVersion") or 0) == 2


def boundary_message(meter_id: str, t_ms: int, import_wh: int, export_wh: int, seq: int) -> bytes:
    """What the meter signs at a boundary (spec §17.1)."""
    return b"EPMV\x01" + _str(meter_id) + struct.pack(">qqqq", t_ms, import_wh, export_wh, seq)


_P = 2**255 - 19
# The points of order 1, 2, 4 and 8 (sign bit cleared), canonical or not (libsodium's blocklist).
_SMALL_ORDER = frozenset(
    {
        0,
        1,
        0x05FC536D880238B13933C6D305ACDFD5F098EFF289F4C345B027B2C28F95E826,
        0x7A03AC9277FDC74EC6CC392CFA53202A0F67100D760B3CBA4FD84D3D706A17C7,
        _P - 1,
        _P,
        _P + 1,
    }
)


def _weak_point(encoded: bytes) -> bool:
    """True for an encoding of small order, or not canonical: as a meter key (or a signature's R)
    it makes a cofactorless verify, such as OpenSSL's, accept a signature of anything."""
    y = int.from_bytes(encoded, "little") & ((1 << 255) - 1)
    return len(encoded) != 32 or y in _SMALL_ORDER or y >= _P


def _value(v: Mapping[str, Any]) -> tuple[int, int, int, int, bytes]:
    return (
        rfc3339_to_ms(v["boundaryTime"]),
        int(v.get("importWh") or 0),
        int(v.get("exportWh") or 0),
        int(v.get("seq") or 0),
        _b64(v.get("signature")),
    )


def settlement_v2_bytes(s: Mapping[str, Any], salt: bytes) -> bytes:
    """Canonical bytes of a version-2 settlement from its JSON (spec §17.2)."""
    parts = [
        b"EPRC\x02\x02",
        salt,
        _str(s.get("householdId", "")),
        _i64(rfc3339_to_ms(s["periodStart"])),
        _i64(int(s.get("periodSeconds") or 0) * 1000),
        _i64(s.get("meteredWh")),
        _i64(s.get("spotPriceMicroEurPerKwh")),
        _i64(s.get("totalCostMicroEur")),
        _str(s.get("currency", "")),
        struct.pack(">I", len(s.get("components", []))),
    ]
    for c in s.get("components", []):
        parts += (_str(c.get("name", "")), _i64(c.get("amountMicro")))
    meters = s.get("meterPeriods", [])
    parts.append(struct.pack(">I", len(meters)))
    for m in meters:
        parts += (_str(m.get("meterId", "")), _str(m.get("keyId", "")))
        for side in ("start", "end"):
            t, imp, exp, seq, sig = _value(m[side])
            parts += (struct.pack(">qqqq", t, imp, exp, seq), sig)
    return b"".join(parts)


def meter_key_bytes(k: Mapping[str, Any], salt: bytes) -> bytes:
    """Canonical bytes of a meter-key record from its JSON (spec §17.3)."""
    public = _b64(k.get("publicKey"))
    return b"".join(
        (
            b"EPRC\x02\x04",
            salt,
            _str(k.get("householdId", "")),
            _i64(rfc3339_to_ms(k["registerTime"])),
            _str(k.get("meterId", "")),
            _str(k.get("keyId", "")),
            _str(k.get("algorithm", "")),
            struct.pack(">I", len(public)),
            public,
        )
    )


def correction_bytes(c: Mapping[str, Any], salt: bytes) -> bytes:
    """Canonical bytes of an operator correction from its JSON (spec §17.6)."""
    return b"".join(
        (
            b"EPRC\x02\x05",
            salt,
            _str(c.get("householdId", "")),
            _i64(rfc3339_to_ms(c["periodStart"])),
            _i64(int(c.get("periodSeconds") or 0) * 1000),
            _i64(c.get("amountMicro")),
            _str(c.get("currency", "")),
            _str(c.get("reason", "")),
            _str(c.get("operator", "")),
        )
    )


def unbilled_bytes(u: Mapping[str, Any], salt: bytes) -> bytes:
    """Canonical bytes of an unbilled-period record from its JSON (spec §17.7)."""
    return b"".join(
        (
            b"EPRC\x02\x06",
            salt,
            _str(u.get("householdId", "")),
            _i64(rfc3339_to_ms(u["periodStart"])),
            _i64(int(u.get("periodSeconds") or 0) * 1000),
            _i64(u.get("periodCount")),
            _str(u.get("meterId", "")),
            _str(u.get("reason", "")),
            _str(u.get("detail", "")),
        )
    )


NOT_SETTLED = "NOT_SETTLED"  # a period the log says nothing about (no line, no unbilled record)


def unbilled_reasons(invoice: Mapping[str, Any], period_ms: int) -> dict[int, tuple[str, str, str]]:
    """{period start ms: (reason, detail, tx hash)} from the invoice's unbilled-period records of
    its household, the first on the log for each period (spec §17.7)."""
    out: dict[int, tuple[str, str, str]] = {}
    household = invoice.get("householdId", "")
    for tx in sorted(invoice.get("unbilled", []), key=lambda t: int(t.get("leafIndex") or 0)):
        u = tx.get("record", {}).get("unbilledPeriod")
        if not isinstance(u, Mapping) or u.get("householdId", "") != household:
            continue
        start = rfc3339_to_ms(u["periodStart"])
        end = start + int(u.get("periodSeconds") or 0) * 1000 * int(u.get("periodCount") or 0)
        for p in range(start - start % period_ms, end, period_ms):
            out.setdefault(p, (str(u.get("reason", "")), str(u.get("detail", "")), str(tx.get("txHash", ""))))
    return out


def check_corrections(invoice: Mapping[str, Any]) -> tuple[list[dict[str, object]], list[str]]:
    """The invoice's operator corrections as shown to the household (amount, reason, operator)
    and the problems with them: a correction of a period no line bills, a missing reason, or
    sums that are not the corrections' (spec §17.6)."""
    billed: set[tuple[int, int]] = set()
    for line in invoice.get("lines", []):
        s = line["transaction"].get("record", {}).get("settlement")
        if not s:
            continue
        if int(s.get("formatVersion") or 0) == 2:
            billed.add((rfc3339_to_ms(s["periodStart"]), int(s.get("periodSeconds") or 0) * 1000))
        else:
            billed.add((rfc3339_to_ms(s["hourStart"]), HOUR_MS))
    shown: list[dict[str, object]] = []
    problems: list[str] = []
    total = 0
    for tx in invoice.get("corrections", []):
        c = tx.get("record", {}).get("correction")
        if c is None:
            problems.append(f"correction {tx.get('txHash')} has no visible correction record")
            continue
        start, period = rfc3339_to_ms(c["periodStart"]), int(c.get("periodSeconds") or 0) * 1000
        amount = int(c.get("amountMicro") or 0)
        total += amount
        shown.append(
            {
                "tx_hash": tx.get("txHash"),
                "period_start": c["periodStart"],
                "amount_micro": amount,
                "currency": c.get("currency", ""),
                "reason": c.get("reason", ""),
                "operator": c.get("operator", ""),
            }
        )
        if (start, period) not in billed:
            problems.append(f"correction {tx.get('txHash')} corrects {c['periodStart']}, which no line bills")
        if not str(c.get("reason", "")).strip() or not c.get("operator"):
            problems.append(f"correction {tx.get('txHash')} names no reason or no operator")
    sums = currency_sums(invoice)
    claimed = int(invoice.get("correctionTotalMicroEur") or 0), int(invoice.get("amountDueMicroEur") or 0)
    sent = bool(invoice.get("corrections")) or claimed != (0, 0)  # a ledger from before corrections: neither
    if sent and len(sums) <= 1:
        due = int(invoice.get("totalCostMicroEur") or 0) + total
        if (total, due) != claimed:
            problems.append(
                f"corrections sum to {total} and the amount due is {due}, the invoice says "
                f"{invoice.get('correctionTotalMicroEur')} / {invoice.get('amountDueMicroEur')}"
            )
    # several currencies: check_totals holds each currency's sums, and no sum across them
    return shown, problems


def _currency(settlement: Mapping[str, Any]) -> str:
    """A version-1 line is EUR (spec §1); a version-2 line without a currency too."""
    version2 = int(settlement.get("formatVersion") or 0) == 2
    return str(settlement.get("currency") or "EUR") if version2 else "EUR"


def currency_sums(invoice: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    """Per currency, from the lines and corrections themselves: lines, Wh, cost, corrections, due."""
    out: dict[str, dict[str, int]] = {}

    def bucket(currency: str) -> dict[str, int]:
        return out.setdefault(currency, {"lines": 0, "wh": 0, "cost": 0, "corrections": 0, "due": 0})

    for line in invoice.get("lines", []):
        s = line["transaction"].get("record", {}).get("settlement")
        if s is None:
            continue
        b = bucket(_currency(s))
        b["lines"] += 1
        b["wh"] += int(s.get("meteredWh") or 0)
        b["cost"] += int(s.get("totalCostMicroEur") or 0)
        b["due"] += int(s.get("totalCostMicroEur") or 0)
    for tx in invoice.get("corrections", []):
        c = tx.get("record", {}).get("correction")
        if c is None:
            continue
        b = bucket(str(c.get("currency") or "EUR"))
        b["corrections"] += int(c.get("amountMicro") or 0)
        b["due"] += int(c.get("amountMicro") or 0)
    return dict(sorted(out.items()))


def check_totals(invoice: Mapping[str, Any]) -> list[str]:
    """The invoice's money totals against its lines and corrections, per currency: the per-currency
    ``totals`` (when sent) are each currency's sums; with more than one currency the
    single-currency fields are 0 (never a sum across currencies), with one they are its sums."""
    sums = currency_sums(invoice)
    problems: list[str] = []
    sent = invoice.get("totals")
    if sent is not None or len(sums) > 1:
        claimed = {
            str(t.get("currency", "")): {
                "lines": int(t.get("lineCount") or 0),
                "wh": int(t.get("totalWh") or 0),
                "cost": int(t.get("totalCostMicro") or 0),
                "corrections": int(t.get("correctionTotalMicro") or 0),
                "due": int(t.get("amountDueMicro") or 0),
            }
            for t in sent or []
        }
        if claimed != sums:
            problems.append(f"the totals per currency {claimed} are not the lines' and corrections' {sums}")
    if len(sums) > 1:
        single = [
            invoice.get(k) for k in ("totalCostMicroEur", "correctionTotalMicroEur", "amountDueMicroEur")
        ]
        if any(int(v or 0) for v in single) or invoice.get("currency"):
            problems.append(f"the invoice adds {', '.join(sums)} into one total")
    elif sums:
        [(currency, only)] = sums.items()
        if only["cost"] != int(invoice.get("totalCostMicroEur") or 0):
            problems.append(
                f"the total {invoice.get('totalCostMicroEur')} is not the lines' {only['cost']} {currency}"
            )
        if invoice.get("currency") not in (None, "", currency):
            problems.append(f"the invoice says {invoice.get('currency')}, its lines are in {currency}")
    return problems


def signed_energy(s: Mapping[str, Any], keys: Mapping[tuple[str, str], bytes]) -> int:
    """The period's energy as the meters signed it; raises SpecError when a signature, a boundary
    or the record's own arithmetic fails."""
    start = rfc3339_to_ms(s["periodStart"])
    end = start + int(s.get("periodSeconds") or 0) * 1000
    total = 0
    meters = s.get("meterPeriods", [])
    if not meters:
        raise SpecError("a version-2 settlement names no meter")
    for m in meters:
        meter, key_id = m.get("meterId", ""), m.get("keyId", "")
        public = keys.get((meter, key_id))
        if public is None:
            raise SpecError(f"no verified meter-key record for {meter} key {key_id}")
        if _weak_point(public):
            raise SpecError(f"meter key {key_id} of {meter} is of small order or not canonical")
        key = Ed25519PublicKey.from_public_bytes(public)
        values = {}
        for side in ("start", "end"):
            t, imp, exp, seq, sig = _value(m[side])
            if len(sig) == 64 and _weak_point(sig[:32]):
                raise SpecError(f"{meter} {side} value at {t}: its signature's R is of small order")
            try:
                key.verify(sig, boundary_message(meter, t, imp, exp, seq))
            except InvalidSignature as exc:
                raise SpecError(f"{meter} {side} value at {t} is not signed by key {key_id}") from exc
            values[side] = (t, imp, exp)
        if values["start"][0] != start or values["end"][0] != end:
            raise SpecError(f"{meter}: signed values are not at the period's boundaries")
        total += (values["end"][1] - values["start"][1]) - (values["end"][2] - values["start"][2])
    if total != int(s.get("meteredWh") or 0):
        raise SpecError(f"metered {s.get('meteredWh')} Wh but the meter signed {total} Wh")
    parts = sum(int(c.get("amountMicro") or 0) for c in s.get("components", []))
    if parts != int(s.get("totalCostMicroEur") or 0):
        raise SpecError(f"components sum to {parts}, total is {s.get('totalCostMicroEur')}")
    return total


def verified_keys(key_records: Sequence[Mapping[str, Any]], household: str) -> dict[tuple[str, str], bytes]:
    """(meter, key id) -> public key of the household's meter-key records whose key id is the
    hash of their key (the records' own inclusion is proven by the caller)."""
    out: dict[tuple[str, str], bytes] = {}
    for k in key_records:
        public = _b64(k.get("publicKey"))
        if (
            k.get("householdId") == household
            and k.get("algorithm") == "ed25519"
            and len(public) == 32
            and hashlib.sha256(public).digest()[:16].hex() == k.get("keyId")
        ):
            out[(k.get("meterId", ""), k.get("keyId", ""))] = public
    return out


@dataclass
class InvoiceCheck:
    """The invoice-level verdict: every period accounted for, the chain, the totals."""

    legacy: bool = True
    period_ms: int = HOUR_MS
    expected: int = 0
    settled: int = 0
    missing: list[str] = field(default_factory=list)  # RFC 3339 starts of periods not settled
    # per missing period: its start, the reason (from a proven unbilled-period record, or
    # NOT_SETTLED) and the record's detail
    reasons: list[dict[str, str]] = field(default_factory=list)
    open: int = 0  # periods not yet closed at the head's time (not counted missing)
    problems: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.missing and not self.problems

    @property
    def accounted(self) -> bool:
        """Every period is billed, still open, or has a reason on the log (not NOT_SETTLED)."""
        return not self.problems and all(r["reason"] != NOT_SETTLED for r in self.reasons)

    def as_dict(self) -> dict[str, object]:
        return {
            "status": "legacy: not meter-signed" if self.legacy else "meter-signed",
            "complete": self.complete,
            "accounted": self.accounted,
            "period_seconds": self.period_ms // 1000,
            "expected_periods": self.expected,
            "settled_periods": self.settled,
            "missing_periods": self.missing,
            "missing_reasons": self.reasons,
            "open_periods": self.open,
            "problems": self.problems,
        }


def _iso(ms: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_invoice(invoice: Mapping[str, Any], head_time_ms: int) -> InvoiceCheck:
    """Count, chain and totals of an invoice whose lines' records are visible (spec §17.4)."""
    out = InvoiceCheck()
    household = invoice.get("householdId", "")
    records = [line["transaction"].get("record", {}) for line in invoice.get("lines", [])]
    settlements = [r["settlement"] for r in records if "settlement" in r]
    signed = [s for s in settlements if int(s.get("formatVersion") or 0) == 2]
    out.legacy = not signed
    keys = verified_keys(
        [t.get("record", {}).get("meterKey", {}) for t in invoice.get("meterKeys", [])], household
    )
    spans: list[tuple[int, int]] = []
    for s in settlements:
        if int(s.get("formatVersion") or 0) == 2:
            start = rfc3339_to_ms(s["periodStart"])
            spans.append((start, start + int(s.get("periodSeconds") or 0) * 1000))
            try:
                signed_energy(s, keys)
            except SpecError as exc:
                out.problems.append(f"{s.get('periodStart')}: {exc}")
        else:
            start = rfc3339_to_ms(s["hourStart"])
            spans.append((start, start + HOUR_MS))
    runs = [t.get("record", {}).get("unbilledPeriod", {}) for t in invoice.get("unbilled", [])]
    if signed:
        out.period_ms = int(signed[0].get("periodSeconds") or 0) * 1000
    elif runs:  # a month of a meter-signed household with no line yet: its records' periods
        out.period_ms = int(runs[0].get("periodSeconds") or 0) * 1000
        out.legacy = False
    if out.period_ms <= 0 or HOUR_MS % out.period_ms:
        out.problems.append(f"settlement period {out.period_ms} ms does not divide an hour")
        return out
    begin = rfc3339_to_ms(invoice["periodStart"])
    finish = rfc3339_to_ms(invoice["periodEnd"])
    covered: dict[int, int] = {}
    for a, b in spans:
        for p in range(a - a % out.period_ms, b, out.period_ms):
            covered[p] = covered.get(p, 0) + 1
    periods = range(begin + (-begin % out.period_ms), finish, out.period_ms)
    out.expected = len(periods)
    for p in periods:
        n = covered.get(p, 0)
        if n > 1:
            out.problems.append(f"period {_iso(p)} is billed {n} times")
        if n:
            out.settled += 1
        elif p + out.period_ms > head_time_ms:
            out.open += 1
        else:
            out.missing.append(_iso(p))
    listed = {
        rfc3339_to_ms(m["periodStart"]): m for m in invoice.get("missingPeriods", []) if m.get("periodStart")
    }
    unlisted = [m for m in out.missing if rfc3339_to_ms(m) not in listed]
    if unlisted:
        out.problems.append(f"{len(unlisted)} periods neither billed nor listed missing, first {unlisted[0]}")
    # The reason of each missing period is the log's, not the server's word (spec §17.7).
    logged = unbilled_reasons(invoice, out.period_ms)
    wrong = []
    for m in out.missing:
        reason, detail, _tx = logged.get(rfc3339_to_ms(m), (NOT_SETTLED, "", ""))
        out.reasons.append({"period_start": m, "reason": reason, "detail": detail})
        said = listed.get(rfc3339_to_ms(m))
        if said is not None and (said.get("reason") or "") != reason:
            wrong.append(f"{m} ({said.get('reason')!s}, the log says {reason})")
    if wrong:
        out.problems.append(
            f"{len(wrong)} missing periods give another reason than the log, first {wrong[0]}"
        )
    if any(not begin <= a < finish for a, _b in spans):
        out.problems.append("a line lies outside the invoice month")
    _check_chain(signed, out)
    wh = sum(int(s.get("meteredWh") or 0) for s in settlements)
    if wh != int(invoice.get("totalWh") or 0):
        out.problems.append(f"total {invoice.get('totalWh')} Wh is not the lines' {wh}")
    out.problems += check_totals(invoice)  # money: per currency, never across currencies
    return out


def _check_chain(signed: Sequence[Mapping[str, Any]], out: InvoiceCheck) -> None:
    """Per meter, each period starts with the values the previous one ended with."""
    ends: dict[str, dict[int, tuple[int, int, int]]] = {}
    starts: dict[str, dict[int, tuple[int, int, int]]] = {}
    for s in signed:
        for m in s.get("meterPeriods", []):
            meter = m.get("meterId", "")
            a, b = _value(m["start"]), _value(m["end"])
            starts.setdefault(meter, {})[a[0]] = a[1:4]
            ends.setdefault(meter, {})[b[0]] = b[1:4]
    for meter, by_start in starts.items():
        for t, value in sorted(by_start.items()):
            before = ends[meter].get(t)
            if before is not None and before[:2] != value[:2]:
                out.problems.append(f"{meter}: period at {_iso(t)} does not start where the previous ended")
