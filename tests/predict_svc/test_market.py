"""Market loader edge cases, on the real ENTSO-E exports and on files built from them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from predict_svc.market import (
    COLUMNS,
    SERIES,
    MarketDataError,
    available_zones,
    file_suffix,
    load_market,
    load_market_hourly,
    read_series_csv,
)

OSLO = "Europe/Oslo"


@pytest.fixture(scope="module")
def no1(entsoe_dir: Path) -> pd.DataFrame:
    return load_market(entsoe_dir, "NO1")


def test_index_is_regular_hourly_utc(no1: pd.DataFrame) -> None:
    assert str(no1.index.tz) == "UTC"
    assert no1.index.is_monotonic_increasing and no1.index.is_unique
    assert (np.diff(no1.index.asi8) == np.diff(no1.index.asi8)[0]).all()
    assert list(no1.columns) == list(COLUMNS)
    assert no1.index[0] == pd.Timestamp("2019-01-01 00:00", tz=OSLO)
    assert no1.index[-1] == pd.Timestamp("2024-12-31 23:00", tz=OSLO)


def test_dst_days_have_23_and_25_local_hours(no1: pd.DataFrame) -> None:
    local = no1["price"].tz_convert(OSLO)
    per_day = local.groupby(local.index.date).count()
    assert per_day[pd.Timestamp("2019-03-31").date()] == 23
    assert per_day[pd.Timestamp("2019-10-27").date()] == 25
    # Both 02:00 local hours of the autumn switch are present, with their own values.
    autumn = local.loc["2019-10-27 01:00":"2019-10-27 03:00"]
    assert len(autumn) == 4
    assert autumn.iloc[1] == pytest.approx(37.11) and autumn.iloc[2] == pytest.approx(37.11)


def test_hour_missing_around_dst_switch_is_nan_not_dropped(no1: pd.DataFrame) -> None:
    # The wind/solar export lacks 2019-10-27 01:00 UTC (the repeated 02:00 local hour).
    hole = pd.Timestamp("2019-10-27 01:00", tz="UTC")
    assert hole in no1.index
    assert np.isnan(no1.loc[hole, "wind_onshore"])
    assert np.isfinite(no1.loc[hole, "price"])


def test_empty_column_is_missing_not_zero(no1: pd.DataFrame) -> None:
    offshore = no1["wind_offshore"]
    assert offshore.isna().sum() > 30_000
    assert np.isnan(no1.loc[pd.Timestamp("2024-12-31 22:00", tz="UTC"), "wind_offshore"])
    assert (offshore.dropna() == 0).all()  # where the export has values they are real zeros


def test_negative_prices_are_kept(entsoe_dir: Path) -> None:
    frame = load_market(entsoe_dir, "NO2")
    assert (frame["price"] < 0).sum() > 0
    assert frame["price"].max() > 700  # the 2022 spikes survive loading


def test_mixed_hourly_and_quarter_hour_rows_aggregate_to_hourly_mean(
    entsoe_dir: Path, tmp_path: Path
) -> None:
    source = pd.read_csv(entsoe_dir / "day_ahead_prices_NO_1.csv", dtype=str).iloc[:48]
    rows = [source.iloc[:24]]
    # Second day in quarter hours: each hour becomes four rows around the real value.
    quarters = []
    for stamp, price in zip(source["datetime"].iloc[24:], source["price_eur_mwh"].iloc[24:], strict=True):
        start = pd.Timestamp(stamp)
        for k, delta in enumerate((-2.0, -1.0, 1.0, 2.0)):
            quarters.append(
                {
                    "datetime": str(start + pd.Timedelta(minutes=15 * k)),
                    "price_eur_mwh": f"{float(price) + delta:.2f}",
                }
            )
    rows.append(pd.DataFrame(quarters))
    mixed = pd.concat(rows, ignore_index=True)
    (tmp_path / "day_ahead_prices_NO_1.csv").write_text(mixed.to_csv(index=False))
    frame = load_market(tmp_path, "NO1")
    assert len(frame) == 48
    expected = source["price_eur_mwh"].astype(float).to_numpy()
    np.testing.assert_allclose(frame["price"].to_numpy(), expected, atol=1e-9)
    # Series without a file are all-NaN columns.
    assert frame["load_forecast"].isna().all()


def test_duplicates_last_row_wins_and_gaps_become_nan(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text(
        "datetime,price_eur_mwh\n"
        "2024-03-31 00:00:00+01:00,10\n"
        "2024-03-31 01:00:00+01:00,11\n"
        "2024-03-31 01:00:00+01:00,12\n"  # revision of the same hour
        "2024-03-31 04:00:00+02:00,\n"  # empty cell
        "2024-03-31 05:00:00+02:00,-3.5\n"
    )
    frame = read_series_csv(path, {"price_eur_mwh": "price"})
    # 00:00 and 01:00 CET are 23:00 and 00:00 UTC; 03:00 CEST is missing -> NaN row.
    assert list(frame.index) == list(pd.date_range("2024-03-30 23:00", periods=5, freq="h", tz="UTC"))
    assert frame["price"].iloc[1] == 12
    assert np.isnan(frame["price"].iloc[2]) and np.isnan(frame["price"].iloc[3])
    assert frame["price"].iloc[4] == -3.5


def test_clipping_zone_names_and_errors(entsoe_dir: Path, tmp_path: Path) -> None:
    frame = load_market(entsoe_dir, "no5", "2024-01-01", "2024-01-02 23:00")
    assert len(frame) == 48
    assert file_suffix("NO1") == "NO_1" and file_suffix("NO_2") == "NO_2" and file_suffix("DE_LU") == "DE_LU"
    assert set(available_zones(entsoe_dir)) == {"NO1", "NO2", "NO5"}
    with pytest.raises(MarketDataError, match="no price file"):
        load_market(entsoe_dir, "NO3")
    with pytest.raises(MarketDataError, match="does not exist"):
        load_market(tmp_path / "missing", "NO1")
    (tmp_path / "day_ahead_prices_NO_1.csv").write_text("when,price\n1,2\n")
    with pytest.raises(MarketDataError, match="datetime"):
        load_market(tmp_path, "NO1")


def _pandas_reference(path: Path, columns: dict[str, str]) -> pd.DataFrame:
    """The former pandas parser (read_csv, to_datetime, groupby mean): the behaviour to keep."""
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    stamps = pd.to_datetime(raw["datetime"].str.strip(), utc=True, format="ISO8601", errors="coerce")
    data = pd.DataFrame(index=pd.DatetimeIndex(stamps, name="time"))
    for source, target in columns.items():
        data[target] = pd.to_numeric(raw[source].str.strip().replace("", np.nan), errors="coerce").to_numpy()
    data = data[data.index.notna()]
    data = data[~data.index.duplicated(keep="last")]
    hourly = data.groupby(data.index.floor("h")).mean()
    grid = pd.date_range(hourly.index.min(), hourly.index.max(), freq="h", tz="UTC", name="time")
    return hourly.reindex(grid).astype(float)


@pytest.mark.parametrize("zone", ["NO1", "NO2", "NO5"])
def test_numpy_loader_equals_the_pandas_parser_bit_for_bit(entsoe_dir: Path, zone: str) -> None:
    hourly = load_market_hourly(entsoe_dir, zone)
    for spec in SERIES:
        path = entsoe_dir / f"{spec.prefix}_{file_suffix(zone)}.csv"
        reference = _pandas_reference(path, spec.columns).reindex(hourly.to_frame().index)
        for name in spec.columns.values():
            np.testing.assert_array_equal(hourly[name], reference[name].to_numpy(), err_msg=f"{zone} {name}")


def test_quarter_hours_with_gaps_and_revisions_equal_the_pandas_parser(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text(
        "datetime,price_eur_mwh\n"
        "2025-10-01 00:00:00+02:00,10.1\n"
        "2025-10-01 00:15:00+02:00,20.7\n"
        "2025-10-01 00:30:00+02:00,\n"
        "2025-10-01 00:45:00+02:00,0.3\n"
        "2025-10-01 00:15:00+02:00,20.2\n"  # revision, counted at its own position
        "bad stamp,5\n"
        "2025-10-01 02:00:00+02:00,x\n"
        "2025-10-01 03:00:00+02:00,-1e3\n"
    )
    ours = read_series_csv(path, {"price_eur_mwh": "price"})
    reference = _pandas_reference(path, {"price_eur_mwh": "price"})
    pd.testing.assert_frame_equal(ours, reference, check_freq=False, check_index_type=False)
