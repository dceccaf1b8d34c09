"""The household's chain, with ``python -m verifier`` against a real ledger_svc: meter signature ->
settlement energy -> invoice line -> inclusion proof -> signed head, and the invoice's completeness."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from contracts.mqtt.boundary import boundary_message, key_id
from energypulse.ledger.v1 import ledger_service_pb2 as pb
from energypulse.ledger.v1 import record_pb2
from ledger_svc.canonical import MeterKey, MeterPeriod, SettlementV2, SignedValue, UnbilledPeriod
from ledger_svc.convert import record_to_proto
from ledger_svc.invoices import month_bounds_ms
from tests.verifier.verifier_stack import Deployed
from verifier import metering
from verifier.cli import run
from verifier.spec import SpecError

QUARTER = 900_000


def _month(household: str, meter: str, private: Ed25519PrivateKey, skip: set[int]) -> list[record_pb2.Record]:
    """A meter-key record and every quarter-hour of January 2026 (UTC), minus ``skip``."""
    from zoneinfo import ZoneInfo

    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    kid = key_id(public)
    start, end = month_bounds_ms("2026-01", ZoneInfo("Europe/Oslo"))
    out = [record_to_proto(MeterKey(b"", household, start - 86_400_000, meter, kid, "ed25519", public))]
    imp = 5_000_000

    def signed(t: int, w: int, seq: int) -> SignedValue:
        return SignedValue(t, w, 0, seq, private.sign(boundary_message(meter, t, w, 0, seq)))

    prev = signed(start, imp, 0)
    for n, t in enumerate(range(start, end, QUARTER)):
        imp += 200 + n % 7 * 30
        nxt = signed(t + QUARTER, imp, n + 1)
        wh = nxt.import_wh - prev.import_wh
        if n not in skip:
            cost = wh * 125  # µNOK: the bill's parts, as ingest records them (energy.bill.period)
            out.append(
                record_to_proto(
                    SettlementV2(
                        b"",
                        household,
                        t,
                        QUARTER,
                        wh,
                        100_000,
                        cost,
                        "NOK",
                        (("spot_energy", wh * 100), ("vat", wh * 25)),
                        (MeterPeriod(meter, kid, prev, nxt),),
                    )
                )
            )
        prev = nxt
    return out


async def _append(d: Deployed, records: list[record_pb2.Record]) -> None:
    meta = [("authorization", f"Bearer {d.token('service', ())}")]
    await d.stub.AppendRecords(pb.AppendRecordsRequest(records=records), metadata=meta, timeout=60)


async def _verify(d: Deployed, household: str) -> tuple[int, dict[str, Any]]:
    args = [
        "--base-url",
        d.base_url,
        "--token",
        d.token("user", (household,)),
        "--public-key",
        base64.b64encode(d.signer.public_key).decode(),
    ]
    return await asyncio.to_thread(run, [*args, "invoice", household, "2026-01"])


async def test_a_complete_signed_month_verifies_and_a_missing_period_is_flagged(deployed: Deployed) -> None:
    key = Ed25519PrivateKey.generate()
    await _append(deployed, _month("hh-full", "m-full", key, set()))
    await _append(deployed, _month("hh-gap", "m-gap", Ed25519PrivateKey.generate(), {500}))

    status, result = await _verify(deployed, "hh-full")
    assert status == 0, result
    assert result["invoice"]["status"] == "meter-signed" and result["invoice"]["complete"] is True
    assert result["invoice"]["expected_periods"] == result["invoice"]["settled_periods"] == 31 * 96
    assert all(k["hash_valid"] and k["inclusion_valid"] for k in result["meter_keys"])

    status, result = await _verify(deployed, "hh-gap")
    assert status == 1
    assert result["invoice"]["missing_periods"] == ["2026-01-06T04:00:00Z"]
    assert result["invoice"]["problems"] == []  # the ledger listed it: accounted for, but not billed
    # The log says nothing of why: NOT_SETTLED, so the month is not accounted for either.
    assert result["invoice"]["missing_reasons"] == [
        {"period_start": "2026-01-06T04:00:00Z", "reason": "NOT_SETTLED", "detail": ""}
    ]
    assert result["invoice"]["accounted"] is False


async def test_a_missing_period_shows_the_reason_on_the_log(deployed: Deployed) -> None:
    """Billing recorded why it did not bill the period (spec §17.7): the verifier proves that
    record in the head and shows its reason; still not billed, so still not complete."""
    from zoneinfo import ZoneInfo

    records = _month("hh-told", "m-told", Ed25519PrivateKey.generate(), {500, 501})
    start, _end = month_bounds_ms("2026-01", ZoneInfo("Europe/Oslo"))
    told = UnbilledPeriod(
        b"", "hh-told", start + 500 * QUARTER, QUARTER, 2, "m-told", "NO_READINGS", "silent"
    )
    await _append(deployed, [*records, record_to_proto(told)])

    status, result = await _verify(deployed, "hh-told")
    assert status == 1
    check = result["invoice"]
    assert check["problems"] == [] and check["complete"] is False and check["accounted"] is True
    assert [(r["period_start"], r["reason"], r["detail"]) for r in check["missing_reasons"]] == [
        ("2026-01-06T04:00:00Z", "NO_READINGS", "silent"),
        ("2026-01-06T04:15:00Z", "NO_READINGS", "silent"),
    ]
    [proven] = result["unbilled"]
    assert proven["hash_valid"] is True and proven["inclusion_valid"] is True


def test_the_verifier_catches_what_the_ledger_would_refuse() -> None:
    """Invoice JSON doctored after the fact (energy, chain, a line dropped silently)."""
    key = Ed25519PrivateKey.generate()
    records = _month("hh-x", "m-x", key, set())[:4]
    from google.protobuf import json_format

    def js(r: record_pb2.Record) -> dict[str, Any]:
        return json_format.MessageToDict(r)

    lines = [{"transaction": {"record": js(r)}} for r in records[1:]]
    invoice = {
        "householdId": "hh-x",
        "periodStart": "2025-12-31T23:00:00Z",
        "periodEnd": "2025-12-31T23:45:00Z",
        "lines": lines,
        "meterKeys": [{"record": js(records[0])}],
        "totalWh": str(sum(int(line["transaction"]["record"]["settlement"]["meteredWh"]) for line in lines)),
        "totalCostMicroEur": str(
            sum(int(line["transaction"]["record"]["settlement"]["totalCostMicroEur"]) for line in lines)
        ),
    }
    good = metering.check_invoice(invoice, 2_000_000_000_000)
    assert good.complete and good.settled == 3, good.problems

    inflated = dataclasses.replace  # readability: the doctored copies below
    del inflated
    bad = {**invoice, "lines": [dict(line) for line in lines]}
    s = bad["lines"][1]["transaction"]["record"]["settlement"]
    bad["lines"][1] = {
        "transaction": {"record": {"settlement": {**s, "meteredWh": str(int(s["meteredWh"]) + 900)}}}
    }
    assert any("signed" in p for p in metering.check_invoice(bad, 2_000_000_000_000).problems)

    # a NOK part doctored (VAT lowered) while the total stays: the parts no longer sum to it
    parts = {**invoice, "lines": [dict(line) for line in lines]}
    s = parts["lines"][0]["transaction"]["record"]["settlement"]
    doctored = [dict(c) for c in s["components"]]
    doctored[-1]["amountMicro"] = str(int(doctored[-1]["amountMicro"]) - 1)
    parts["lines"][0] = {"transaction": {"record": {"settlement": {**s, "components": doctored}}}}
    assert s["currency"] == "NOK"
    assert any("components sum" in p for p in metering.check_invoice(parts, 2_000_000_000_000).problems)

    dropped = {**invoice, "lines": [lines[0], lines[2]]}
    dropped["totalWh"] = str(
        sum(int(x["transaction"]["record"]["settlement"]["meteredWh"]) for x in dropped["lines"])
    )
    dropped["totalCostMicroEur"] = str(
        sum(int(x["transaction"]["record"]["settlement"]["totalCostMicroEur"]) for x in dropped["lines"])
    )
    check = metering.check_invoice(dropped, 2_000_000_000_000)
    assert check.missing == ["2025-12-31T23:15:00Z"] and any(
        "neither billed nor listed" in p for p in check.problems
    )

    # The dropped period listed with a reason the log does not give (no unbilled record): caught;
    # with the unbilled-period record that gives it: accounted for.
    said = {**dropped, "missingPeriods": [{"periodStart": "2025-12-31T23:15:00Z", "reason": "NO_READINGS"}]}
    check = metering.check_invoice(said, 2_000_000_000_000)
    assert any("another reason than the log" in p for p in check.problems)
    run = UnbilledPeriod(b"", "hh-x", 1_767_222_900_000, QUARTER, 1, "m-x", "NO_READINGS", "")
    told = {**said, "unbilled": [{"txHash": "ab", "record": js(record_to_proto(run))}]}
    check = metering.check_invoice(told, 2_000_000_000_000)
    assert check.problems == [] and check.accounted and not check.complete
    assert check.reasons == [{"period_start": "2025-12-31T23:15:00Z", "reason": "NO_READINGS", "detail": ""}]


def test_a_small_order_meter_key_signs_nothing() -> None:
    """With the identity point as the meter key, R = identity and S = 0 pass OpenSSL's verify
    for any values: the verifier refuses the key (and such an R) itself."""
    identity = (1).to_bytes(32, "little")
    forged = base64.b64encode(identity + bytes(32)).decode()
    kid = key_id(identity)

    def value(t: str, wh: int) -> dict[str, Any]:
        return {"boundaryTime": t, "importWh": str(wh), "exportWh": "0", "seq": "1", "signature": forged}

    settlement = {
        "periodStart": "2026-01-01T00:00:00Z",
        "periodSeconds": "900",
        "meterPeriods": [
            {
                "meterId": "m-x",
                "keyId": kid,
                "start": value("2026-01-01T00:00:00Z", 1_000),
                "end": value("2026-01-01T00:15:00Z", 501_000),
            }
        ],
        "meteredWh": "500000",
        "components": [],
        "totalCostMicroEur": "0",
    }
    try:
        metering.signed_energy(settlement, {("m-x", kid): identity})
    except SpecError as exc:
        assert "small order" in str(exc)
    else:
        raise AssertionError("a settlement signed under the identity key verified")


def test_the_unbilled_period_vector_encodes_from_the_api_json() -> None:
    """The verifier's own encoding of an UNBILLED_PERIOD record (spec §17.7) gives the vector's bytes."""
    import json
    from pathlib import Path

    from google.protobuf import json_format

    from ledger_svc.vectors import v2_unbilled
    from verifier import spec

    vector = json.loads(
        (Path(__file__).resolve().parents[2] / "docs/ledger-test-vectors.json").read_text("utf-8")
    )
    want = vector["format_version_2"]["unbilled_period"]["transaction"]["canonical_hex"]
    record = v2_unbilled()
    as_json = json_format.MessageToDict(record_to_proto(record))
    assert spec.record_bytes_from_json(as_json, record.salt.hex()).hex() == want
