"""ENTSO-E A44 day-ahead prices: recorded-format fixture documents (written from the documented
Publication_MarketDocument shape), 60- and 15-minute resolution, no network."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd
import pytest

from predict_svc.download import download
from predict_svc.entsoe_api import EIC, EntsoeA44Client, EntsoeError, parse_a44

FIXTURES = Path(__file__).parent / "fixtures"


def _read(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_hourly_document_is_24_hours_of_the_cet_delivery_day() -> None:
    prices = parse_a44(_read("entsoe_a44_no1_60min.xml"))
    assert len(prices) == 24
    assert prices.index[0] == pd.Timestamp("2024-03-04T23:00Z")
    assert prices.index[-1] == pd.Timestamp("2024-03-05T22:00Z")
    assert prices.iloc[0] == 40.25 and prices.iloc[23] == 63.25


def test_quarter_hour_document_repeats_left_out_positions_of_curve_a03() -> None:
    prices = parse_a44(_read("entsoe_a44_no1_15min.xml"))
    assert len(prices) == 96
    assert prices.index[0] == pd.Timestamp("2025-10-01T22:00Z")
    assert (prices.index[1:] - prices.index[:-1] == pd.Timedelta(minutes=15)).all()
    # Hour 0: only position 1 given (60.00); positions 2-4 repeat it.
    assert list(prices.iloc[0:4]) == [60.0, 60.0, 60.0, 60.0]
    # Hour 8: all four positions given.
    assert list(prices.iloc[32:36]) == [68.0, 68.5, 69.0, 69.5]
    # Position 96 given on its own.
    assert prices.iloc[95] == 84.5 and prices.iloc[94] == 83.0


def test_no_data_is_empty_and_a_refusal_is_an_error() -> None:
    assert parse_a44(_read("entsoe_ack_no_data.xml")).empty
    with pytest.raises(EntsoeError, match="exceeds allowed limit"):
        parse_a44(_read("entsoe_ack_bad_interval.xml"))
    with pytest.raises(EntsoeError, match="not XML"):
        parse_a44(b"<html>502 Bad Gateway")


def test_client_sends_the_documented_query_and_feeds_the_downloader(tmp_path: Path) -> None:
    calls: list[tuple[str, dict[str, str]]] = []

    def transport(url: str, params: Mapping[str, str]) -> bytes:
        calls.append((url, dict(params)))
        return _read("entsoe_a44_no1_60min.xml")

    client = EntsoeA44Client(token="test-token", base_url="https://example.invalid/api", transport=transport)
    start = pd.Timestamp("2024-03-05", tz="Europe/Oslo")
    end = pd.Timestamp("2024-03-06", tz="Europe/Oslo")
    prices = client.query_day_ahead_prices("NO_1", start=start, end=end)
    url, params = calls[0]
    assert url == "https://example.invalid/api"
    assert params == {
        "documentType": "A44",
        "in_Domain": EIC["NO1"],
        "out_Domain": EIC["NO1"],
        "periodStart": "202403042300",
        "periodEnd": "202403052300",
        "securityToken": "test-token",
    }
    assert len(prices) == 24 and str(prices.index.tz) == "Europe/Oslo"

    # The downloader's --prices-only path: the bare A44 client, prices alone.
    rows = download(client, "NO1", start, end, tmp_path, series=("day_ahead_prices",))  # type: ignore[arg-type]
    assert rows == {"day_ahead_prices": 24}
    text = (tmp_path / "day_ahead_prices_NO_1.csv").read_text().splitlines()
    assert len(text) == 25 and "40.25" in text[1]


def test_client_refuses_without_token_or_known_zone() -> None:
    start = pd.Timestamp("2024-03-05", tz="Europe/Oslo")
    with pytest.raises(EntsoeError, match="ENTSOE_API_KEY"):
        EntsoeA44Client(token="", transport=lambda _u, _p: b"").query_day_ahead_prices(
            "NO1", start=start, end=start + pd.Timedelta(days=1)
        )
    with pytest.raises(EntsoeError, match="EIC"):
        EntsoeA44Client(token="t", transport=lambda _u, _p: b"").query_day_ahead_prices(
            "XX9", start=start, end=start + pd.Timedelta(days=1)
        )
