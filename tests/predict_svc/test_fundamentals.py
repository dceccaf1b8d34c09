"""Fundamentals as known at 10:00 CET on D-1: publication lags on hand-made files, and the real files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from predict_svc.fundamentals import FileFundamentals, find_fundamentals_dir, temperature_series


def _write(path: Path, text: str) -> None:
    path.write_text(text.strip() + "\n")


@pytest.fixture
def fund(tmp_path: Path) -> Path:
    _write(
        tmp_path / "reservoir_NO_1.csv",
        """
week_end,published,iso_year,iso_week,fill_pct,capacity_twh,fill_twh,min_fill_pct,median_fill_pct,max_fill_pct
2024-01-07,2024-01-10,2024,1,0.60,6,3.6,0.4,0.55,0.7
2024-01-14,2024-01-17,2024,2,0.50,6,3.0,0.4,0.56,0.7
""",
    )
    _write(
        tmp_path / "commodities_daily.csv",
        """
date,gas_ttf_eur_mwh,carbon_eua_eur_t,oil_brent_usd_bbl,eur_nok
2024-01-12,30,70,80,11.5
2024-01-15,31,71,,11.6
2024-01-16,32,72,82,11.7
2024-01-17,99,99,99,99
""",
    )
    _write(
        tmp_path / "weather_daily_NO_1.csv",
        """
date,temperature_2m,apparent_temperature
2024-01-15,-5,-8
2024-01-16,-6,-9
2024-01-17,-20,-25
""",
    )
    return tmp_path


def test_publication_lags(fund: Path) -> None:
    provider = FileFundamentals(fund)
    days = np.array(["2024-01-18", "2024-01-19", "2024-01-11"], dtype="datetime64[D]")
    f = provider.features("NO1", days)
    # D = 18th, issue 17th 10:00: week 2 was published on the 17th itself -> not yet; week 1 is
    assert f["reservoir_fill"][0] == 0.60 and f["reservoir_dev"][0] == pytest.approx(0.05)
    assert f["reservoir_fill"][1] == 0.50  # D = 19th: published on the 17th, before D-1
    assert np.isnan(f["reservoir_fill"][2])  # D = 11th: week 1 was published on the 10th = D-1
    # closes up to D-2: the 16th for D = 18th (never the 17th's 99)
    assert f["gas_ttf"][0] == 32 and f["carbon_eua"][0] == 72 and f["eur_nok"][0] == 11.7
    assert f["brent"][1] == 99 and f["gas_ttf"][1] == 99  # D = 19th may use the 17th
    assert f["brent"][0] == 82
    assert np.isnan(f["gas_ttf"][2])  # nothing closed by the 9th
    # weather observations up to D-2 only
    assert f["temp_lag"][0] == -6 and f["temp_mean7"][0] == pytest.approx(-5.5)
    assert f["temp_lag"][1] == -20


def test_temperature_series_is_the_day_before(fund: Path) -> None:
    hours = np.array(["2024-01-17T00", "2024-01-17T23", "2024-01-18T05"], dtype="datetime64[h]")
    np.testing.assert_array_equal(temperature_series(FileFundamentals(fund), "NO1", hours), [-6, -6, -20])


def test_directory_discovery(fund: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert find_fundamentals_dir(None, fund) == fund
    assert find_fundamentals_dir(None, empty) is None
    assert find_fundamentals_dir(fund, empty) == fund
    assert FileFundamentals(empty).sources("NO1") == []
    assert all(
        np.isnan(v).all()
        for v in FileFundamentals(empty)
        .features("NO1", np.array(["2024-01-01"], dtype="datetime64[D]"))
        .values()
    )


def test_real_files_have_every_feature_in_2024(entsoe_dir: Path) -> None:
    provider = FileFundamentals(entsoe_dir.parent / "fundamentals")
    days = np.arange(np.datetime64("2024-01-01"), np.datetime64("2025-01-01"))
    for zone in ("NO1", "NO2", "NO5"):
        feats = provider.features(zone, days)
        for name, values in feats.items():
            assert np.isfinite(values).mean() > 0.95, (zone, name)
