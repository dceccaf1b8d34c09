"""Thousands of hypothesis-generated malformed payloads through a real broker: every one is
dead-lettered with a reason, the service stays healthy, good readings are unaffected."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from common.config import from_env
from ingest_svc.app import IngestApp
from ingest_svc.config import IngestConfig
from tests.ingest_svc.helpers import encode, publish_all, reading, rows, scalar, wait_for
from tests.ingest_svc.mqtt_broker import MosquittoBroker

NUMERIC = ["seq", "ts_ms", "voltage_v", "current_a", "power_w", "power_factor", "import_kwh", "export_kwh"]


def _base(meter: str) -> dict[str, Any]:
    return reading(meter, 1, int(time.time() * 1000), power_w=2300.0)


@st.composite
def malformed(draw: st.DrawFn) -> tuple[str, bytes, str]:
    """(meter id, payload, kind): a payload that must never be stored."""
    meter = f"bad-{draw(st.integers(0, 999)):03d}"
    doc = _base(meter)
    kind = draw(
        st.sampled_from(
            [
                "truncated",
                "wrong_type",
                "nan",
                "huge",
                "wrong_units",
                "oversized",
                "missing",
                "unknown",
                "mismatch",
                "garbage",
            ]
        )
    )
    if kind == "truncated":
        raw = encode(doc)
        return meter, raw[: draw(st.integers(0, len(raw) - 1))], kind
    if kind == "wrong_type":
        field = draw(st.sampled_from([*NUMERIC, "meter_id"]))
        doc[field] = draw(
            st.one_of(
                st.text(max_size=8),
                st.booleans(),
                st.none(),
                st.lists(st.integers(), max_size=2),
                st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
            )
        )
        if field == "meter_id" and isinstance(doc[field], str):
            doc[field] = doc[field] + "/x"  # a string meter id that is still malformed
        return meter, encode(doc), kind
    if kind == "nan":
        field = draw(st.sampled_from(NUMERIC))
        token = draw(st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999"]))
        return (
            meter,
            encode(doc).replace(f'"{field}":'.encode() + encode(doc[field]), f'"{field}":{token}'.encode()),
            kind,
        )
    if kind == "huge":
        doc[draw(st.sampled_from(NUMERIC))] = draw(st.sampled_from([1e17, -1e17, 10**30, -(10**20), 1e308]))
        return meter, json.dumps(doc).encode(), kind  # stdlib json: orjson refuses ints over 64 bits
    if kind == "wrong_units":
        unit = draw(st.sampled_from(["kW", "kV", "mA"]))
        if unit == "kW":
            doc["power_w"] = doc["power_w"] / 1000
        elif unit == "kV":
            doc["voltage_v"] = doc["voltage_v"] / 1000
        else:
            doc["current_a"] = doc["current_a"] * 1000
        return meter, encode(doc), kind
    if kind == "oversized":
        doc["meter_id"] = meter
        raw = encode(doc)
        pad = draw(st.integers(1100, 60_000))
        return meter, raw[:-1] + b" " * pad + b"}", kind
    if kind == "missing":
        del doc[draw(st.sampled_from(sorted(doc)))]
        return meter, encode(doc), kind
    if kind == "unknown":
        doc[draw(st.sampled_from(["unit", "power_kw", "x", "__proto__"]))] = draw(st.integers())
        return meter, encode(doc), kind
    if kind == "mismatch":
        doc["meter_id"] = "someone-else"
        return meter, encode(doc), kind
    return meter, draw(st.binary(max_size=300)), kind


def generate(n: int) -> list[tuple[str, bytes, str]]:
    found: list[tuple[str, bytes, str]] = []

    @settings(max_examples=n, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(malformed())
    def collect(item: tuple[str, bytes, str]) -> None:
        found.append(item)

    collect()
    return found


def test_malformed_flood_is_dead_lettered_and_good_readings_flow(
    broker: MosquittoBroker, tmp_path: Path
) -> None:
    db_url = f"sqlite:///{tmp_path / 'ingest.db'}"
    app = IngestApp(
        from_env(
            IngestConfig,
            {},
            mqtt_url=broker.url,
            db_url=db_url,
            client_id="ingest-fuzz",
            require_registered=False,  # random meter ids: this is about malformed messages
            batch_wait_ms=20,
            bridge=False,
        ),
        registry=CollectorRegistry(),
    )
    app.start()
    try:
        assert wait_for(lambda: app.subscriber.subscribed, 10)
        bad = generate(2500)
        assert len(bad) >= 2000
        now = int(time.time() * 1000)
        good = [(f"good-{m}", s) for s in range(1, 31) for m in range(20)]
        # Replayed sequence numbers: a second, different reading under a seq already stored.
        replays = [(f"good-{m}", s) for m in range(20) for s in (3, 10)]
        items: list[tuple[str, bytes]] = []
        g = iter(good)
        for i, (meter, payload, _kind) in enumerate(bad):
            items.append((f"energy/meters/{meter}", payload))
            if i % 4 == 0:
                nxt = next(g, None)
                if nxt is not None:
                    items.append((f"energy/meters/{nxt[0]}", encode(reading(nxt[0], nxt[1], now + nxt[1]))))
        items += [(f"energy/meters/{m}", encode(reading(m, s, now + s))) for m, s in g]
        items += [(f"energy/meters/{m}", encode(reading(m, s, now + s, power_w=999.0))) for m, s in replays]
        publish_all(broker.port, items)

        expected_dead = len(bad) + len(replays)
        assert wait_for(lambda: scalar(db_url, "select count(*) from dead_letters") == expected_dead, 60)
        assert scalar(db_url, "select count(*) from readings") == len(good)
        assert scalar(db_url, "select count(*) from readings where meter_id like 'bad-%'") == 0
        # Good readings are untouched by the replays (first version kept).
        assert scalar(db_url, "select count(*) from readings where power_w = 999.0") == 0
        reasons = dict(rows(db_url, "select reason, count(*) from dead_letters group by reason"))
        assert reasons["SEQ_REPLAYED"] == len(replays)
        assert all(r and r == r.upper() for r in reasons), reasons
        # The raw payload is kept byte for byte.
        stored = {bytes(p) for (p,) in rows(db_url, "select payload from dead_letters")}
        assert {payload for _m, payload, _k in bad} <= stored

        # Metrics count them (updated just after the commit, so wait briefly), and the service is
        # still healthy and ingesting.
        def counted() -> float:
            return sum(app.metrics.dead_letters.labels(r)._value.get() for r in reasons)

        assert wait_for(lambda: counted() == expected_dead, 10), counted()
        assert app.pipeline._thread is not None and app.pipeline._thread.is_alive()
        publish_all(broker.port, [("energy/meters/after-1", encode(reading("after-1", 1, now)))])
        assert wait_for(
            lambda: scalar(db_url, "select count(*) from readings where meter_id = 'after-1'") == 1, 10
        )
    finally:
        app.stop()
