"""Operator corrections in ``verifier/`` (spec §17.6): the CORRECTION vector re-encoded from its API
JSON byte for byte, and an invoice's corrections checked: a correction of a period no line bills,
and sums that do not add up, are problems; amount, reason and operator are shown."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from google.protobuf import json_format

from ledger_svc.canonical import HOUR_MS, Correction
from ledger_svc.convert import record_to_proto
from ledger_svc.vectors import v2_correction
from tests.ledger_svc.ledger_records import settlement
from verifier import metering, spec

VECTOR = json.loads(
    (Path(__file__).resolve().parents[2] / "docs/ledger-test-vectors.json").read_text("utf-8")
)["format_version_2"]["correction"]["transaction"]


def _js(record: Any) -> dict[str, Any]:
    return json_format.MessageToDict(record_to_proto(record))


def test_the_correction_vector_reencodes_from_its_json() -> None:
    record = _js(v2_correction())
    body = spec.record_bytes_from_json(record, VECTOR["record"]["salt"])
    assert body.hex() == VECTOR["canonical_hex"]
    tx = spec.tx_hash(body, VECTOR["appended_at_ms"], bytes.fromhex(VECTOR["prev_tx_hash"]))
    assert tx.hex() == VECTOR["tx_hash"]


def _invoice(line_hour: int, amount_due: int | None = None) -> dict[str, Any]:
    line = settlement("hh-1", hour=line_hour)
    fix = Correction(
        b"", "hh-1", settlement("hh-1", hour=2).hour_ms, HOUR_MS, -25_000, "EUR", "tariff", "admin"
    )
    return {
        "householdId": "hh-1",
        "lines": [{"transaction": {"record": _js(line)}}],
        "totalCostMicroEur": str(line.total_cost_ueur),
        "corrections": [{"txHash": "ab" * 32, "record": _js(fix)}],
        "correctionTotalMicroEur": "-25000",
        "amountDueMicroEur": str(line.total_cost_ueur - 25_000 if amount_due is None else amount_due),
    }


def test_corrections_are_shown_and_checked() -> None:
    shown, problems = metering.check_corrections(_invoice(line_hour=2))
    assert problems == []
    assert shown == [
        {
            "tx_hash": "ab" * 32,
            "period_start": "2026-01-01T02:00:00Z",
            "amount_micro": -25_000,
            "currency": "EUR",
            "reason": "tariff",
            "operator": "admin",
        }
    ]
    _shown, problems = metering.check_corrections(_invoice(line_hour=3))
    assert problems and "no line bills" in problems[0]
    _shown, problems = metering.check_corrections(_invoice(line_hour=2, amount_due=1))
    assert problems and "amount due" in problems[0]


def test_a_month_in_two_currencies_is_checked_per_currency_never_summed_across() -> None:
    """A legacy EUR hour and a NOK line (here a version-1 shape relabelled: only the sums matter)
    with a NOK correction: each currency's totals are checked, and a single total is a problem."""
    eur = settlement("hh-1", hour=2)
    nok_line = _js(settlement("hh-1", hour=3))
    shape = nok_line["settlement"]
    nok_line["settlement"] = {
        **shape,
        "formatVersion": 2,
        "currency": "NOK",
        "periodStart": shape["hourStart"],
        "periodSeconds": "3600",
    }
    nok_cost = int(nok_line["settlement"]["totalCostMicroEur"])
    fix = Correction(b"", "hh-1", eur.hour_ms + HOUR_MS, HOUR_MS, 5_000, "NOK", "late fee", "admin")
    invoice: dict[str, Any] = {
        "householdId": "hh-1",
        "lines": [{"transaction": {"record": _js(eur)}}, {"transaction": {"record": nok_line}}],
        "corrections": [{"txHash": "cd" * 32, "record": _js(fix)}],
        "totals": [
            {
                "currency": "EUR",
                "lineCount": 1,
                "totalWh": str(eur.metered_wh),
                "totalCostMicro": str(eur.total_cost_ueur),
                "amountDueMicro": str(eur.total_cost_ueur),
            },
            {
                "currency": "NOK",
                "lineCount": 1,
                "totalWh": nok_line["settlement"]["meteredWh"],
                "totalCostMicro": str(nok_cost),
                "correctionTotalMicro": "5000",
                "amountDueMicro": str(nok_cost + 5_000),
            },
        ],
    }
    assert metering.check_totals(invoice) == []
    assert metering.currency_sums(invoice)["NOK"]["due"] == nok_cost + 5_000
    _shown, problems = metering.check_corrections(invoice)
    assert problems == []
    # one total adding EUR to NOK
    summed = {**invoice, "totalCostMicroEur": str(eur.total_cost_ueur + nok_cost)}
    assert any("into one total" in p for p in metering.check_totals(summed))
    # a currency's total that is not its lines'
    wrong = {**invoice, "totals": [invoice["totals"][0], {**invoice["totals"][1], "amountDueMicro": "1"}]}
    assert any("per currency" in p for p in metering.check_totals(wrong))
    # mixed lines without per-currency totals cannot be checked: a problem, not a pass
    assert metering.check_totals({k: v for k, v in invoice.items() if k != "totals"})
