"""The rule set loads, answers by date, and refuses bad configuration with a clear error."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from energy.ratebook import RateConfigError, RateGapError, UnknownGridCompany, load_ratebook
from tests.energy.bill_helpers import copy_ruleset


def test_shipped_rule_set_loads_with_sources_and_checked_dates() -> None:
    book = load_ratebook()
    assert book.currency == "NOK"
    assert book.elavgift.at(date(2026, 6, 1)) == 71_300  # 7.13 ore/kWh in µNOK/kWh
    assert book.elavgift.at(date(2024, 3, 31)) == 95_100 and book.elavgift.at(date(2024, 4, 1)) == 164_400
    assert book.vat_bp.at(date(2026, 1, 1)) == 2_500
    assert book.support.at(date(2025, 7, 1)).threshold_micro_per_kwh == 750_000
    assert book.norgespris.at(date(2025, 10, 1)).price_micro_per_kwh == 400_000
    assert book.norgespris.at(date(2025, 10, 1)).cap_wh_cabin == 1_000_000
    assert set(book.grids) >= {"bkk", "glitre", "tensio"}
    assert (book.grid_for_zone("NO5"), book.grid_for_zone("NO2"), book.grid_for_zone("NO4")) == (
        "bkk",
        "glitre",
        None,
    )
    for _, entries in [("el", book.elavgift.entries), ("np", book.norgespris.entries)]:
        for validity, _ in entries:
            assert validity.source and validity.checked is not None and validity.checked >= date(2026, 12, 1)
    assert "stromstotte from 2026-01-01" in book.unverified()


def test_norgespris_did_not_exist_before_october_2025() -> None:
    with pytest.raises(RateGapError, match="2025-09-30"):
        load_ratebook().norgespris.at(date(2025, 9, 30))


def test_locations_decide_exemptions_not_zones() -> None:
    loc = load_ratebook().location
    assert loc.vat_exempt("1804") and loc.vat_exempt("5501") and loc.vat_exempt("5603")  # Bodo, Tromso, Alta
    assert not loc.vat_exempt("4601")  # Bergen
    assert loc.elavgift_exempt("5603") and loc.elavgift_exempt("5544")  # Finnmark, Nordreisa
    assert not loc.elavgift_exempt("5501") and not loc.elavgift_exempt("1804")
    # Karlsoy (5534) is in the Nord-Troms action zone; Dyroy (5528), once listed here by mistake, is not.
    assert loc.elavgift_exempt("5534") and not loc.elavgift_exempt("5528")
    assert all(loc.elavgift_exempt(m) for m in ("5536", "5538", "5540", "5542", "5546"))
    assert loc.default_zone("1804", "") == "NO4" and loc.default_zone("1804", "NO3") == "NO3"
    assert loc.default_zone("0301", "") == ""


def test_unknown_grid_company_names_the_known_ones() -> None:
    with pytest.raises(UnknownGridCompany, match=r"'nowhere'.*bkk"):
        load_ratebook().grid("nowhere")


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_overlapping_validity_periods_fail_at_load(tmp_path: Path) -> None:
    rules = copy_ruleset(tmp_path)
    _edit(
        rules / "taxes.toml",
        'valid_from = "2024-04-01"\nvalid_until = "2025-01-01"',
        'valid_from = "2024-03-15"\nvalid_until = "2025-01-01"',
    )
    with pytest.raises(
        RateConfigError, match=r"elavgift: validity periods overlap: 2024-01-01\.\.2024-04-01 and 2024-03-15"
    ):
        load_ratebook(rules)


def test_negative_rate_fails_at_load(tmp_path: Path) -> None:
    rules = copy_ruleset(tmp_path)
    _edit(
        rules / "grid" / "bkk.toml", 'energy_night_ore_per_kwh = "18.305"', 'energy_night_ore_per_kwh = "-1"'
    )
    with pytest.raises(
        RateConfigError, match=r"bkk.toml \[\[tariff\]\] #1: energy_night_ore_per_kwh is negative"
    ):
        load_ratebook(rules)


def test_value_without_source_fails(tmp_path: Path) -> None:
    rules = copy_ruleset(tmp_path)
    text = (rules / "support.toml").read_text()
    start = text.index('source = "https://www.finansavisen.no/samfunn')
    end = text.index("\n", start)
    (rules / "support.toml").write_text(text[:start] + text[end + 1 :])
    with pytest.raises(RateConfigError, match=r"norgespris\]\] #1: every value needs its source"):
        load_ratebook(rules)


@pytest.mark.parametrize(
    ("file", "old", "new", "message"),
    [
        ("taxes.toml", 'percent = "25"', 'percent = "125"', "percent must be at most 100"),
        ("support.toml", 'period = "hour"', 'period = "minute"', "period must be one of"),
        ("taxes.toml", 'ore_per_kwh = "7.13"', 'ore_per_kwh = "abc"', "is not a number"),
        ("taxes.toml", 'ore_per_kwh = "7.13"', 'ore_per_kwh = "7.13"\nrate = 1', "unknown keys"),
        ("grid/glitre.toml", '["inf", "4784"]', '["120", "4784"]', "last capacity step must be open"),
    ],
)
def test_bad_values_fail_with_where(tmp_path: Path, file: str, old: str, new: str, message: str) -> None:
    rules = copy_ruleset(tmp_path)
    _edit(rules / file, old, new)
    with pytest.raises(RateConfigError, match=message):
        load_ratebook(rules)


def test_missing_file_fails(tmp_path: Path) -> None:
    rules = copy_ruleset(tmp_path)
    (rules / "support.toml").unlink()
    with pytest.raises(RateConfigError, match="rule set file missing"):
        load_ratebook(rules)


def test_next_capacity_step_is_the_next_dearer_one_from_the_configuration() -> None:
    """BKK 2024: steps [0-2) 116, [2-5) 192, ... [20-25) 588, [25-inf) 720 (the same 720 twice)."""
    tariff = load_ratebook().grid("bkk").at(date(2024, 6, 1))
    assert tariff.next_step(1_500) == (2_000, 192 * 10**9)
    assert tariff.next_step(2_000) == (5_000, 320 * 10**9)  # a basis on a bound is in the step above it
    assert tariff.next_step(19_999) == (20_000, 720 * 10**9)
    # In the 20-25 kW step the next ones cost the same 720: there is no dearer step to warn about.
    assert tariff.next_step(22_000) is None
    assert tariff.next_step(30_000) is None
