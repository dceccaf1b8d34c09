"""EUR/NOK: the last close on or before the day, carried over weekends; gaps are errors."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from energy.fx import FallbackFxSource, FileFxSource, FixedFxSource, MissingFxRate, eur_mwh_to_micro_per_kwh

COMMODITIES = Path("/work/shared/data/fundamentals/commodities_daily.csv")


@pytest.mark.skipif(not COMMODITIES.exists(), reason="shared fundamentals data not present")
def test_backtest_file_carries_the_friday_close_over_the_weekend() -> None:
    fx = FileFxSource(COMMODITIES)
    assert fx.rate_on(date(2024, 12, 27)) == Decimal("11.8709")  # Friday
    assert fx.rate_on(date(2024, 12, 28)) == Decimal("11.8709")  # Saturday: Friday's close
    assert fx.rate_on(date(2024, 12, 29)) == Decimal("11.8709")
    assert fx.rate_on(date(2024, 12, 30)) == Decimal("11.8328")
    with pytest.raises(MissingFxRate, match="within 7 days"):
        fx.rate_on(date(2025, 3, 1))  # the file ends 2024-12-31: never a stale or zero rate


def _csv(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "fx.csv"
    path.write_text("date,eur_nok\n" + body)
    return path


def test_empty_cells_are_missing_and_gaps_raise(tmp_path: Path) -> None:
    fx = FileFxSource(_csv(tmp_path, "2026-01-02,11.5\n2026-01-05,\n2026-01-06,11.6\n"), max_carry_days=3)
    assert fx.rate_on(date(2026, 1, 5)) == Decimal("11.5")
    with pytest.raises(MissingFxRate, match="on or before 2026-01-01"):
        fx.rate_on(date(2026, 1, 1))
    with pytest.raises(MissingFxRate):
        fx.rate_on(date(2026, 1, 10))


def test_bad_files_fail_at_start(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="dates must increase"):
        FileFxSource(_csv(tmp_path, "2026-01-02,11.5\n2026-01-02,11.6\n"))
    with pytest.raises(ValueError, match="rate must be positive"):
        FileFxSource(_csv(tmp_path, "2026-01-02,0\n"))
    with pytest.raises(ValueError, match="unreadable"):
        FileFxSource(tmp_path / "absent.csv")


def test_fallback_is_used_only_when_the_primary_has_no_rate(tmp_path: Path) -> None:
    fx = FallbackFxSource(
        FileFxSource(_csv(tmp_path, "2026-01-02,11.5\n"), max_carry_days=2), FixedFxSource(Decimal("11.9"))
    )
    assert fx.rate_on(date(2026, 1, 3)) == Decimal("11.5")
    assert fx.rate_on(date(2026, 2, 1)) == Decimal("11.9")


def test_conversion_rounds_half_away_from_zero_once() -> None:
    assert eur_mwh_to_micro_per_kwh(100.0, Decimal("11.5")) == 1_150_000  # 1.15 NOK/kWh
    assert eur_mwh_to_micro_per_kwh(0.00005, Decimal(10)) == 1  # 0.5 µ -> 1
    assert eur_mwh_to_micro_per_kwh(-0.00005, Decimal(10)) == -1
    assert eur_mwh_to_micro_per_kwh(-12.34, Decimal("11.2016")) == -138_228
