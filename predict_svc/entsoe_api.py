"""ENTSO-E Transparency day-ahead prices (document A44) without third-party clients.

:class:`EntsoeA44Client` implements the price query of :class:`predict_svc.download.MarketClient`
(``query_day_ahead_prices``), so the downloader can fetch prices with it instead of entsoe-py.
It GETs ``<base_url>?documentType=A44&in_Domain=<EIC>&out_Domain=<EIC>&periodStart=yyyyMMddHHmm
&periodEnd=...&securityToken=...`` (UTC) and parses the XML answer with :func:`parse_a44`.

The answer (``Publication_MarketDocument``, namespaces ``...publicationdocument:7:0`` and
``:7:3``) holds ``TimeSeries`` with ``Period`` elements: ``timeInterval/start``, ``resolution``
(``PT60M`` before 2025-10-01, ``PT15M`` since, ``PT30M`` elsewhere) and ``Point`` elements
(``position`` from 1, ``price.amount`` in EUR/MWh). Under curve type ``A03`` (variable-sized
blocks) a position may be left out: it repeats the previous point. No data is answered with an
``Acknowledgement_MarketDocument`` whose ``Reason/text`` says "No matching data found" (an empty
series here); any other acknowledgement (also code 999: the text tells them apart) is an
:class:`EntsoeError`.

Settings: the token from ``ENTSOE_API_KEY`` (as the downloader), the URL from
``EP_ENTSOE_API_URL`` (default :data:`DEFAULT_URL`). Nothing here runs unless asked: the service
stays on its files (live mode off by default).
"""

from __future__ import annotations

import os
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import pandas as pd

__all__ = ["DEFAULT_URL", "EIC", "EntsoeA44Client", "EntsoeError", "parse_a44", "urllib_get"]

DEFAULT_URL = "https://web-api.tp.entsoe.eu/api"
# Bidding-zone EIC codes (ENTSO-E area codes, as published by ENTSO-E and used by entsoe-py).
EIC: dict[str, str] = {
    "NO1": "10YNO-1--------2",
    "NO2": "10YNO-2--------T",
    "NO3": "10YNO-3--------J",
    "NO4": "10YNO-4--------9",
    "NO5": "10Y1001A1001A48H",
}
_RESOLUTIONS = {"PT15M": 15, "PT30M": 30, "PT60M": 60, "P1D": 1440}
Get = Callable[[str, Mapping[str, str]], bytes]


class EntsoeError(RuntimeError):
    """The API refused the query or answered something that is not an A44 document."""


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(node: ET.Element, name: str) -> ET.Element | None:
    return next((c for c in node if _local(c.tag) == name), None)


def _text(node: ET.Element, path: str) -> str:
    here: ET.Element | None = node
    for name in path.split("/"):
        here = _child(here, name) if here is not None else None
    if here is None or here.text is None:
        raise EntsoeError(f"A44 document lacks {path}")
    return here.text.strip()


def parse_a44(document: bytes | str) -> pd.Series:
    """Prices (EUR/MWh) by period start (UTC), at the document's native resolution; periods of
    several time series are merged (a later one wins for the same start)."""
    try:
        root = ET.fromstring(document)
    except ET.ParseError as exc:
        raise EntsoeError(f"not XML: {exc}") from exc
    kind = _local(root.tag)
    if kind == "Acknowledgement_MarketDocument":
        reason = _child(root, "Reason")
        code = _text(reason, "code") if reason is not None else ""
        text = _text(reason, "text") if reason is not None and _child(reason, "text") is not None else ""
        if "no matching data" in text.lower():  # code 999, as every refusal: the text tells
            return pd.Series([], index=pd.DatetimeIndex([], tz="UTC"), dtype=float, name="price_eur_mwh")
        raise EntsoeError(f"ENTSO-E refused the query ({code}): {text}")
    if kind != "Publication_MarketDocument":
        raise EntsoeError(f"expected a Publication_MarketDocument, got {kind}")
    values: dict[pd.Timestamp, float] = {}
    for series in (c for c in root if _local(c.tag) == "TimeSeries"):
        curve = _child(series, "curveType")
        repeat = curve is not None and (curve.text or "").strip() == "A03"
        for period in (c for c in series if _local(c.tag) == "Period"):
            start = pd.Timestamp(_text(period, "timeInterval/start"))
            end = pd.Timestamp(_text(period, "timeInterval/end"))
            resolution = _text(period, "resolution")
            minutes = _RESOLUTIONS.get(resolution)
            if minutes is None:
                raise EntsoeError(f"unknown resolution {resolution}")
            step = pd.Timedelta(minutes=minutes)
            count = int((end - start) / step)
            points: dict[int, float] = {}
            for point in (c for c in period if _local(c.tag) == "Point"):
                position = int(_text(point, "position"))
                if not 1 <= position <= count:
                    raise EntsoeError(f"point position {position} outside 1..{count}")
                points[position] = float(_text(point, "price.amount"))
            last: float | None = None
            for position in range(1, count + 1):
                if position in points:
                    last = points[position]
                elif not repeat or last is None:
                    continue  # A01 (fixed blocks): a missing position is missing
                values[start + (position - 1) * step] = last
    index = pd.DatetimeIndex(sorted(values)).tz_convert("UTC") if values else pd.DatetimeIndex([], tz="UTC")
    return pd.Series([values[t] for t in index], index=index, dtype=float, name="price_eur_mwh")


def urllib_get(timeout: float = 30.0) -> Get:
    """The real transport: HTTPS GET with the standard library; the body as bytes (ENTSO-E
    answers errors with an acknowledgement document and HTTP 400, which is parsed too)."""

    def get(url: str, params: Mapping[str, str]) -> bytes:
        full = f"{url}?{urllib.parse.urlencode(params)}"
        try:
            with urllib.request.urlopen(full, timeout=timeout) as response:
                body: bytes = response.read()
                return body
        except urllib.error.HTTPError as exc:
            detail: bytes = exc.read()
            return detail

    return get


@dataclass(frozen=True)
class EntsoeA44Client:
    """Day-ahead prices of a bidding zone from the Transparency Platform REST API."""

    token: str = field(default_factory=lambda: os.environ.get("ENTSOE_API_KEY", ""))
    base_url: str = field(default_factory=lambda: os.environ.get("EP_ENTSOE_API_URL", DEFAULT_URL))
    transport: Get = field(default_factory=urllib_get)

    def query_day_ahead_prices(
        self, country_code: str, *, start: pd.Timestamp, end: pd.Timestamp
    ) -> pd.Series:
        """Prices for ``[start, end)`` (aware timestamps) of zone ``country_code`` (NO1 or
        NO_1 ...), index in the local market time like entsoe-py's."""
        zone = country_code.replace("_", "").upper()
        eic = EIC.get(zone)
        if eic is None:
            raise EntsoeError(f"no EIC code known for zone {country_code}")
        if not self.token:
            raise EntsoeError("set ENTSOE_API_KEY (the Transparency Platform security token)")
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("start and end must be timezone-aware")
        fmt = "%Y%m%d%H%M"
        params = {
            "documentType": "A44",
            "in_Domain": eic,
            "out_Domain": eic,
            "periodStart": start.tz_convert("UTC").strftime(fmt),
            "periodEnd": end.tz_convert("UTC").strftime(fmt),
            "securityToken": self.token,
        }
        try:
            body = self.transport(self.base_url, params)
        except OSError as exc:
            raise EntsoeError(f"ENTSO-E request failed: {exc}") from exc
        prices = parse_a44(body)
        prices = prices[(prices.index >= start) & (prices.index < end)]
        return prices.tz_convert(start.tzinfo)
