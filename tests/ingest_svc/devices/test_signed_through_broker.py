"""Signed meter values attacked through a real Mosquitto (the shipped configuration) into ingest.

Issue #18's signature, plausibility-cap and replay attacks, published by a meter that holds valid
broker credentials (issued by ingest's provisioning), so the broker lets every message through and
only ingest's checks stand between the message and the bill. Each test then settles the periods
(the Settler, on ingest's own database) to show that the attacked period is not billed and the
meter's genuine readings after the attack still are.

Readings are stamped a few hours in the past (a reading every 5 minutes from boundary ``B0``), so
no test waits for the wall clock.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from contracts.mqtt.boundary import KEY_ALGORITHM
from ingest_svc.app import IngestApp
from ingest_svc.billing.settlement import Closed, Settler
from ingest_svc.intake.store import READING_TABLES
from meter_sim.signing import MeterSigner
from tests.ingest_svc.devices.broker_clients import Probe, ingest_on
from tests.ingest_svc.helpers import encode, rows, scalar, wait_for
from tests.ingest_svc.mqtt_broker import MosquittoBroker

Q = 900_000  # the settlement period (ingest's default)
STEP = 300_000  # a reading every 5 minutes: boundaries at k = 0, 3, 6, ...
B0 = (int(time.time() * 1000) // 3_600_000 - 3) * 3_600_000  # an hour start, three hours ago
METER = "m-signed"
WH_PER_STEP = 95  # ~1.1 kW


@pytest.fixture
def signer() -> MeterSigner:
    return MeterSigner.generate(METER)


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def app(
    shipped: MosquittoBroker, signer: MeterSigner, registry: CollectorRegistry, tmp_path: Path
) -> Iterator[IngestApp]:
    household = {
        "household_id": "h-signed",
        "residents": 2,
        "heating": "heat_pump",
        "has_ev": False,
        "has_solar": False,
        "meter_ids": [METER],
        "meter_keys": [(METER, signer.key_id, KEY_ALGORITHM, signer.public_key)],
    }
    with ingest_on(shipped, tmp_path, "ingest-signed", [household], B0, registry) as ingest:
        yield ingest


@pytest.fixture
def meter(app: IngestApp, shipped: MosquittoBroker) -> Iterator[Probe]:
    """The meter's own MQTT session, with the credentials provisioning issued for it."""
    issued = app.devices.issue("gw-signed", [METER])
    with Probe(shipped, issued.username, issued.password) as probe:
        assert probe.connect_result == "Success"
        yield probe


def wh(k: int) -> int:
    """The meter's genuine import register at step ``k``."""
    return 1_000_000 + WH_PER_STEP * k


def doc(k: int, import_wh: int | None = None, boundary: dict[str, Any] | None = None) -> dict[str, Any]:
    """Reading ``k`` (seq k, at B0 + k x 5 min) with the given register and boundary object."""
    register = wh(k) if import_wh is None else import_wh
    out: dict[str, Any] = {
        "v": 1,
        "meter_id": METER,
        "seq": k,
        "ts_ms": B0 + k * STEP,
        "voltage_v": 230.0,
        "current_a": 5.0,
        "power_w": 1150.0,
        "power_factor": 1.0,
        "import_kwh": register / 1000,
        "export_kwh": 0.0,
    }
    if boundary is not None:
        out["boundary"] = boundary
    return out


def genuine(signer: MeterSigner, k: int) -> bytes:
    """What the real meter sends at step ``k``: signed register values on each boundary."""
    ts = B0 + k * STEP
    return encode(doc(k, boundary=signer.boundary(ts, wh(k), 0, k) if ts % Q == 0 else None))


def send(meter: Probe, payloads: list[bytes]) -> None:
    for payload in payloads:
        # The broker accepts every one: the meter's credentials are valid for its topic.
        assert meter.publish(f"energy/meters/{METER}", payload) == "Success"


def stored_seqs(app: IngestApp) -> list[int]:
    return [int(s) for (s,) in rows(app.config.db_url, "select seq from readings order by seq")]


def dead(app: IngestApp) -> list[tuple[str, str]]:
    return [(str(r), str(d)) for r, d in rows(app.config.db_url, "select reason, detail from dead_letters")]


def boundaries(app: IngestApp) -> list[int]:
    got = rows(app.config.db_url, "select boundary_ms from meter_boundaries order by boundary_ms")
    return [int(t) - B0 for (t,) in got]


def handled(app: IngestApp, n: int) -> bool:
    """True once ``n`` messages were stored or dead-lettered."""
    stored = int(scalar(app.config.db_url, "select count(*) from readings") or 0)
    letters = int(scalar(app.config.db_url, "select count(*) from dead_letters") or 0)
    return stored + letters >= n


def settle(app: IngestApp) -> list[tuple[int, int, str]]:
    """Close every due period: (start - B0, billed Wh, missing reason)."""
    settler = Settler(app.engine, READING_TABLES, grace_ms=0)
    settler.start_new_households()
    closed: list[Closed] = []
    while batch := settler.close_due():
        closed += batch
    return [(c.hour_start_ms - B0, c.metered_wh, c.missing) for c in closed]


def billed_periods(app: IngestApp) -> list[tuple[int, int]]:
    got = rows(app.config.db_url, "select hour_start_ms, metered_wh from settlements order by hour_start_ms")
    return [(int(t) - B0, int(w)) for t, w in got]


def test_bad_signature_is_dead_lettered_not_billed_and_the_meter_goes_on(
    app: IngestApp, meter: Probe, signer: MeterSigner
) -> None:
    # k=6 (boundary B0+2Q): the register value is lowered after signing (the signature is the
    # meter's own, for other values).
    signed = signer.boundary(B0 + 6 * STEP, wh(6), 0, 6)
    forged = encode(doc(6, boundary={**signed, "import_wh": wh(6) - 900}))
    send(
        meter, [genuine(signer, k) for k in range(6)] + [forged] + [genuine(signer, k) for k in range(7, 13)]
    )
    assert wait_for(lambda: handled(app, 13), 15)
    assert [r for r, _ in dead(app)] == ["BAD_SIGNATURE"]
    assert stored_seqs(app) == [k for k in range(13) if k != 6]  # the following readings are stored
    assert boundaries(app) == [0, Q, 3 * Q, 4 * Q]
    assert settle(app) == [
        (0, wh(3) - wh(0), ""),
        (Q, 0, "NOT_SIGNED"),  # its end is the forged value
        (2 * Q, 0, "NOT_SIGNED"),  # its start is the forged value
        (3 * Q, wh(12) - wh(9), ""),
    ]
    assert billed_periods(app) == [(0, wh(3) - wh(0)), (3 * Q, wh(12) - wh(9))]


def test_a_key_nobody_registered_is_dead_lettered_not_billed(
    app: IngestApp, meter: Probe, signer: MeterSigner
) -> None:
    stranger = MeterSigner.generate(METER)  # a valid key for the meter id, never registered
    impostor = encode(doc(3, boundary=stranger.boundary(B0 + 3 * STEP, wh(3), 0, 3)))
    send(
        meter,
        [genuine(signer, k) for k in range(3)] + [impostor] + [genuine(signer, k) for k in range(4, 10)],
    )
    assert wait_for(lambda: handled(app, 10), 15)
    [(reason, detail)] = dead(app)
    assert reason == "UNKNOWN_METER_KEY" and stranger.key_id in detail
    assert stored_seqs(app) == [k for k in range(10) if k != 3]
    assert boundaries(app) == [0, 2 * Q, 3 * Q]
    assert settle(app) == [(0, 0, "NOT_SIGNED"), (Q, 0, "NOT_SIGNED"), (2 * Q, wh(9) - wh(6), "")]


def test_a_signed_impossible_jump_is_dead_lettered_not_billed(
    app: IngestApp, meter: Probe, signer: MeterSigner
) -> None:
    # k=6: the meter (or whoever holds its key) signs a register 500 kWh up in 5 minutes (6 MW):
    # the signature is good, the energy is physically impossible behind a 63 A main fuse.
    jump = wh(6) + 500_000
    signed_jump = encode(doc(6, jump, signer.boundary(B0 + 6 * STEP, jump, 0, 6)))
    # k=9: only the signed registers jump, the reading's own counter is plausible.
    boundary_jump = encode(doc(9, boundary=signer.boundary(B0 + 9 * STEP, wh(9) + 500_000, 0, 9)))
    # k=10: a telemetry sample between boundaries (unsigned) with the same jump in its counter.
    sample_jump = encode(doc(10, wh(10) + 500_000))
    payloads = [genuine(signer, k) for k in range(15)]
    payloads[6], payloads[9], payloads[10] = signed_jump, boundary_jump, sample_jump
    send(meter, payloads)
    assert wait_for(lambda: handled(app, 15), 15)
    letters = dead(app)
    assert [r for r, _ in letters] == ["IMPLAUSIBLE_ENERGY"] * 3
    assert "signed registers rose" in letters[1][1] and " Wh in 600 s " in letters[2][1]  # since k=8
    assert stored_seqs(app) == [k for k in range(15) if k not in (6, 9, 10)]  # later ones are fine
    assert boundaries(app) == [0, Q, 4 * Q]
    assert settle(app) == [
        (0, wh(3) - wh(0), ""),
        (Q, 0, "NOT_SIGNED"),
        (2 * Q, 0, "NOT_SIGNED"),
        (3 * Q, 0, "NOT_SIGNED"),
    ]
    assert billed_periods(app) == [(0, wh(3) - wh(0))]  # no period bills the 500 kWh


def test_replayed_signed_boundary_values_are_refused(
    app: IngestApp, meter: Probe, signer: MeterSigner, registry: CollectorRegistry
) -> None:
    send(meter, [genuine(signer, k) for k in range(10)])
    assert wait_for(lambda: handled(app, 10), 15)
    old = signer.boundary(B0 + 3 * STEP, wh(3), 0, 3)  # the meter's genuine values at B0+Q
    # 1. The old message again, byte for byte (as an attacker who recorded it would send it).
    # 2. The old signed values in a new reading (a later seq and time).
    # 3. The old signed values with their seq, in a re-stamped reading.
    send(
        meter,
        [
            genuine(signer, 3),
            encode(doc(10, wh(10), old)),
            encode(doc(3, boundary=old) | {"ts_ms": B0 + 10 * STEP}),
        ],
    )
    assert wait_for(lambda: len(dead(app)) >= 2, 15)
    # 1 is a redelivery of what is stored: acknowledged, not stored again.
    assert wait_for(lambda: (registry.get_sample_value("ingest_readings_duplicate_total") or 0) >= 1, 5)
    assert sorted(r for r, _ in dead(app)) == ["BAD_SIGNATURE", "SEQ_REPLAYED"]
    send(meter, [genuine(signer, k) for k in range(11, 16)])  # seq 10 was the replay's: skipped
    assert wait_for(lambda: handled(app, 17), 15)
    assert stored_seqs(app) == [*range(10), *range(11, 16)]
    assert boundaries(app) == [0, Q, 2 * Q, 3 * Q, 4 * Q, 5 * Q]  # each once, the genuine values
    # Every period billed exactly its genuine signed delta; the replays add nothing.
    assert settle(app) == [(i * Q, wh(3 * i + 3) - wh(3 * i), "") for i in range(5)]


def test_a_replay_after_an_ingest_restart_is_refused(
    app: IngestApp, meter: Probe, signer: MeterSigner
) -> None:
    """A restarted ingest has not seen the meter yet (the sequence tracker is per process): the
    replayed old values, re-stamped just before the meter's next reading, used to become the
    meter's last state, and that genuine next reading was dead-lettered IMPLAUSIBLE_ENERGY."""
    send(meter, [genuine(signer, k) for k in range(10)])
    assert wait_for(lambda: handled(app, 10), 15)
    app.stop()
    again = IngestApp(app.config, registry=CollectorRegistry())
    again.start()
    try:
        assert wait_for(lambda: again.subscriber.subscribed, 10)
        old = signer.boundary(B0 + 3 * STEP, wh(3), 0, 3)
        send(meter, [encode(doc(3, boundary=old) | {"ts_ms": B0 + 10 * STEP - 1000})])
        send(meter, [genuine(signer, k) for k in range(10, 16)])
        assert wait_for(lambda: handled(again, 17), 15)
        assert [r for r, _ in dead(again)] == ["SEQ_REPLAYED"]
        assert stored_seqs(again) == list(range(16))  # the meter is not silenced
        got = rows(again.config.db_url, f"select ts_ms from readings where seq = 3 and meter_id = '{METER}'")
        assert got == [(B0 + 3 * STEP,)]  # the genuine reading, not the re-stamped one
        assert boundaries(again) == [0, Q, 2 * Q, 3 * Q, 4 * Q, 5 * Q]
        assert settle(again) == [(i * Q, wh(3 * i + 3) - wh(3 * i), "") for i in range(5)]
    finally:
        again.stop()
