"""Ledger records for tests and benches: one builder of a format-1 settlement (billed in EUR), the
record a correction may correct and the verifier replays (used by tests/ and bench/)."""

from __future__ import annotations

from google.protobuf.timestamp_pb2 import Timestamp

from energypulse.ledger.v1 import record_pb2

__all__ = ["JAN_1_2026_S", "settlement_v1"]

JAN_1_2026_S = 1_767_225_600  # 2026-01-01T00:00:00Z


def settlement_v1(household: str, hour: int, wh: int, *, epoch_s: int = JAN_1_2026_S) -> record_pb2.Record:
    """A format-1 settlement of ``wh`` for the hour ``hour`` hours after ``epoch_s``: spot 90,000 and
    grid 40,000 µEUR/kWh, capacity 12,000 and standing 3,000 µEUR, VAT 25 % (floored), consistent
    totals (so the ledger accepts it and the verifier recomputes it)."""
    spot, grid = wh * 90, wh * 40
    vat = (spot + grid + 15_000) // 4
    return record_pb2.Record(
        settlement=record_pb2.SettlementRecord(
            household_id=household,
            hour_start=Timestamp(seconds=epoch_s + hour * 3600),
            metered_wh=wh,
            spot_price_micro_eur_per_kwh=90_000,
            spot_cost_micro_eur=spot,
            grid_energy_cost_micro_eur=grid,
            capacity_cost_micro_eur=12_000,
            standing_charge_micro_eur=3_000,
            vat_micro_eur=vat,
            total_cost_micro_eur=spot + grid + 15_000 + vat,
        )
    )
