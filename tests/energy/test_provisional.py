"""Bill lines name the unverified rate entries they rest on (energy.bill.provisional)."""

from __future__ import annotations

from energy.bill import Contract
from energy.provisional import unverified_rates
from energy.ratebook import load_ratebook

BOOK = load_ratebook()


def own_supplier(grid: str, municipality: str) -> Contract:
    """A household with its own supplier contract (markup and fee), so only public rates count."""
    return Contract(grid, municipality, markup_micro_per_kwh=49_000, monthly_fee_nano=39_000_000_000)


def test_a_month_on_checked_rates_has_nothing_provisional() -> None:
    # October 2024, Glitre (its 2024 list verified), the household's own supplier contract.
    assert unverified_rates(BOOK, own_supplier("glitre", "3301"), 2024, 10, 31) == {}


def test_january_2027_runs_on_carried_over_rates() -> None:
    got = unverified_rates(BOOK, own_supplier("glitre", "3301"), 2027, 1, 3)
    assert got["elavgift"] == ["elavgift from 2027-01-01"]
    assert got["enova"] == ["enova from 2027-01-01"]
    assert got["stromstotte"] == ["stromstotte from 2027-01-01"]
    assert got["norgespris"] == ["norgespris from 2027-01-01"]
    assert got["grid_energy"] == ["grid/glitre from 2025-01-01"]  # 2024's list carried forward
    assert "supplier_markup" not in got and "supplier_fee" not in got


def test_only_the_days_billed_count_and_the_default_supplier_is_flagged() -> None:
    # December 2026 through the 31st: the 2026 support threshold (unverified) only; the 2027
    # entries start the day after the last billed day.
    december = unverified_rates(BOOK, Contract("glitre", "3301"), 2026, 12, 31)
    assert december["stromstotte"] == ["stromstotte from 2026-01-01"]
    assert "elavgift" not in december and "norgespris" not in december
    assert december["supplier_markup"] == december["supplier_fee"] == ["supplier from 2023-01-01"]


def test_the_entry_in_force_decides_not_the_item() -> None:
    # Tensio: the 2023 list verified, carried forward unverified from 2024.
    got = unverified_rates(BOOK, own_supplier("tensio", "5001"), 2023, 12, 31)
    assert "grid_energy" not in got
    assert unverified_rates(BOOK, own_supplier("tensio", "5001"), 2024, 1, 31)["grid_energy"] == [
        "grid/tensio from 2024-01-01"
    ]
