"""The ENTSO-E download command with an injected client returning entsoe-py-shaped frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from predict_svc.download import download, main
from predict_svc.market import load_market

OSLO = "Europe/Oslo"


class RecordedClient:
    """Returns what EntsoePandasClient returns: tz-aware (Europe/Oslo) Series / DataFrames; from
    2025-10-01 the day-ahead prices come in 15-minute periods."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, pd.Timestamp, pd.Timestamp]] = []

    def _index(self, start: pd.Timestamp, end: pd.Timestamp, freq: str) -> pd.DatetimeIndex:
        return pd.date_range(start, end, freq=freq, inclusive="left", tz=OSLO)

    def query_day_ahead_prices(
        self, country_code: str, *, start: pd.Timestamp, end: pd.Timestamp
    ) -> pd.Series:
        self.calls.append(("prices", country_code, start, end))
        index = self._index(start, end, "15min")
        hourly = index.floor("h")
        quarter = np.asarray(index.hour * 4 + index.minute // 15)
        values = 50 + 10 * np.sin(quarter / 8) - 60 * (hourly.hour == 3)
        series = pd.Series(values, index=index)
        # Before the 15-minute switch the market published hourly values only.
        return pd.concat([series[index < "2025-10-01"].resample("h").mean(), series[index >= "2025-10-01"]])

    def query_load_forecast(
        self, country_code: str, *, start: pd.Timestamp, end: pd.Timestamp
    ) -> pd.DataFrame:
        self.calls.append(("load_forecast", country_code, start, end))
        index = self._index(start, end, "h")
        return pd.DataFrame({"Forecasted Load": np.linspace(4000, 5000, len(index))}, index=index)

    def query_load(self, country_code: str, *, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        self.calls.append(("load", country_code, start, end))
        index = self._index(start, end, "h")
        return pd.DataFrame({"Actual Load": np.linspace(4100, 5100, len(index))}, index=index)

    def query_wind_and_solar_forecast(
        self, country_code: str, *, start: pd.Timestamp, end: pd.Timestamp
    ) -> pd.DataFrame:
        self.calls.append(("wind_solar", country_code, start, end))
        index = self._index(start, end, "h")
        return pd.DataFrame({"Solar": 0.0, "Wind Onshore": 120.5}, index=index)  # no offshore column


def test_download_writes_the_loader_layout(tmp_path: Path) -> None:
    client = RecordedClient()
    start = pd.Timestamp("2025-09-30", tz=OSLO)
    end = pd.Timestamp("2025-10-02", tz=OSLO)
    rows = download(client, "NO1", start, end, tmp_path)
    assert {c[1] for c in client.calls} == {"NO_1"}
    assert rows["day_ahead_prices"] == 24 + 96
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "actual_load_NO_1.csv",
        "day_ahead_prices_NO_1.csv",
        "load_forecast_NO_1.csv",
        "wind_solar_forecast_NO_1.csv",
    ]
    first = (tmp_path / "day_ahead_prices_NO_1.csv").read_text().splitlines()[:2]
    assert first[0] == "datetime,price_eur_mwh" and first[1].startswith("2025-09-30 00:00:00+02:00,")
    market = load_market(tmp_path, "NO1")
    assert len(market) == 48  # quarter hours aggregated to hourly
    assert market["wind_offshore"].isna().all() and (market["wind_onshore"] == 120.5).all()
    assert (market["price"] < 0).any()
    quarter = client.query_day_ahead_prices(
        "NO_1", start=pd.Timestamp("2025-10-01", tz=OSLO), end=pd.Timestamp("2025-10-01 01:00", tz=OSLO)
    )
    assert market.loc[pd.Timestamp("2025-10-01 00:00", tz=OSLO), "price"] == pytest.approx(
        round(quarter.mean(), 3), abs=1e-3
    )


def test_download_merges_with_existing_files(tmp_path: Path) -> None:
    client = RecordedClient()
    download(
        client, "NO1", pd.Timestamp("2025-01-01", tz=OSLO), pd.Timestamp("2025-01-03", tz=OSLO), tmp_path
    )
    download(
        client, "NO1", pd.Timestamp("2025-01-02", tz=OSLO), pd.Timestamp("2025-01-04", tz=OSLO), tmp_path
    )
    market = load_market(tmp_path, "NO1")
    assert len(market) == 72 and market.index.is_unique


def test_cli_needs_a_token_unless_a_client_is_injected(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ENTSOE_API_KEY", raising=False)
    args = ["--zone", "NO5", "--start", "2025-03-30", "--end", "2025-03-30", "--out-dir", str(tmp_path)]
    assert main(args) == 2
    assert main([*args, "--token", ""], client=None) == 2
    assert main(args, client=RecordedClient()) == 0
    out = capsys.readouterr().out
    assert "day_ahead_prices: 23 rows" in out  # the 23-hour DST day
