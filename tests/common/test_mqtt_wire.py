"""The MQTT v5 codec shared by ingest and meter_sim (common/mqtt_wire.py): framing across arbitrary read
boundaries, property skipping, and refusal of malformed or oversized packets."""

from __future__ import annotations

import struct

import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from common.mqtt_wire import (
    CONNACK,
    PINGRESP,
    PUBACK,
    SUBACK,
    Control,
    PacketReader,
    ProtocolError,
    Publish,
    Will,
    decode_connack,
    decode_puback,
    decode_suback,
    encode_connect,
    encode_pubacks,
    encode_publish,
    encode_publish_qos1,
    encode_subscribe,
)


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _packet(first: int, body: bytes) -> bytes:
    return bytes((first,)) + _varint(len(body)) + body


def _publish(p: Publish, properties: bytes = b"\x00") -> bytes:
    """A PUBLISH as a broker sends it, built by hand (independent of the encoder under test)."""
    topic = p.topic.encode()
    body = struct.pack("!H", len(topic)) + topic + (struct.pack("!H", p.mid) if p.qos else b"")
    first = 0x30 | (p.qos << 1) | (0x08 if p.dup else 0) | (0x01 if p.retain else 0)
    return _packet(first, body + properties + p.payload)


def _forwarded_properties() -> bytes:
    """Properties a broker may forward with a reading (encoded by paho): all must be skipped."""
    props = Properties(PacketTypes.PUBLISH)
    props.MessageExpiryInterval = 3600
    props.ContentType = "application/json"
    props.UserProperty = [("origin", "gw-1"), ("k", "v" * 200)]
    props.SubscriptionIdentifier = [300]
    return bytes(props.pack())


STREAM_PACKETS: list[Publish | Control] = [
    Control(CONNACK, 0, b"\x01\x00\x03\x21\x00\x14"),
    Publish("energy/meters/m-1", b'{"seq":1}', 7, 1, False, False),
    Publish("energy/meters/m-2", b"x" * 300, 8, 1, True, False),  # two-byte remaining length
    Publish("energy/meters/m-3", b"", 0, 0, False, True),  # QoS 0, retained, empty payload
    Publish("energy/meters/m-4", b"y" * 20_000, 65535, 1, False, False),  # three-byte length
    Control(SUBACK, 0, b"\x00\x05\x00\x01\x01"),
    Publish("energy/meters/with-props", b'{"p":1}', 9, 1, True, False),
    Control(PINGRESP, 0, b""),
]


def _stream() -> bytes:
    out = b""
    for p in STREAM_PACKETS:
        if isinstance(p, Control):
            out += _packet((p.kind << 4) | p.flags, p.body)
        elif p.topic.endswith("with-props"):
            out += _publish(p, _forwarded_properties())
        else:
            out += _publish(p)
    return out


def test_whole_stream_in_one_read() -> None:
    reader = PacketReader()
    assert reader.feed(_stream()) == STREAM_PACKETS
    assert reader.buffered == 0


def test_stream_split_at_every_offset_gives_the_same_packets() -> None:
    data = _stream()
    for cut in range(len(data) + 1):
        reader = PacketReader()
        got = reader.feed(data[:cut]) + reader.feed(data[cut:])
        assert got == STREAM_PACKETS, cut
        assert reader.buffered == 0


def test_stream_fed_in_small_chunks() -> None:
    data = _stream()
    for size in (1, 2, 3, 7, 64, 1000):
        reader = PacketReader()
        got: list[Publish | Control] = []
        for start in range(0, len(data), size):
            got += reader.feed(data[start : start + size])
        assert got == STREAM_PACKETS, size


def test_encoded_publish_frames_back() -> None:
    raw = encode_publish("energy/ingest/x/subscribed", b'{"ts_ms":1}', qos=1, retain=True, packet_id=9)
    assert PacketReader().feed(raw) == [
        Publish("energy/ingest/x/subscribed", b'{"ts_ms":1}', 9, 1, False, True)
    ]


def test_connack_properties_and_suback_codes() -> None:
    body = b"\x01\x00" + _varint(11) + b"\x13\x00\x3c" + b"\x21\x00\x64" + b"\x12\x00\x02id"
    connack = decode_connack(body)
    assert connack.session_present and connack.reason_code == 0
    assert connack.properties == {0x13: 60, 0x21: 100, 0x12: "id"}
    assert decode_connack(b"\x00\x87").reason_code == 0x87  # refused, v5 without properties
    assert decode_suback(b"\x00\x05\x00\x01\x87") == (5, [1, 0x87])


def test_encoders_produce_what_the_reader_frames() -> None:
    assert encode_pubacks([1, 258, 65535]) == b"\x40\x02\x00\x01\x40\x02\x01\x02\x40\x02\xff\xff"
    connect = encode_connect(
        "ingest-1", 15, session_expiry_s=60, receive_maximum=100, username="u", password="p"
    )
    assert connect[0] == 0x10 and connect[1] == len(connect) - 2
    assert b"\x00\x04MQTT\x05\xc0\x00\x0f" in connect  # v5, user+password flags, keepalive 15
    subscribe = encode_subscribe(3, [("$share/g/energy/meters/+", 1)])
    assert subscribe[0] == 0x82 and subscribe.endswith(b"$share/g/energy/meters/+\x01")


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b"\x30\xff\xff\xff\xff\x01", "remaining length longer than 4 bytes"),
        (_packet(0x36, b"\x00\x01t\x00\x01\x00"), "QoS 3"),
        (_packet(0x32, b"\x00\x01t\x00\x00\x00"), "packet id 0"),
        (_packet(0x32, b"\x00\x09t\x00\x01\x00"), "topic longer than the packet"),
        (_packet(0x30, b"\x00\x00\x00payload"), "empty topic (an alias we never allowed)"),
        (_packet(0x30, b"\x00\x02\xff\xfe\x00"), "topic not UTF-8"),
        (_packet(0x30, b"\x00\x01t\x20"), "properties longer than the packet"),
        (_packet(0x10, b"\x00"), "CONNECT sent by a broker"),
        (_packet(0xF0, b"\x00"), "AUTH (never negotiated)"),
        (_packet(0x00, b""), "reserved type 0"),
    ],
)
def test_malformed_packets_raise_protocol_error(raw: bytes, why: str) -> None:
    with pytest.raises(ProtocolError):
        PacketReader().feed(raw)


def test_oversized_packet_is_refused_before_it_is_buffered() -> None:
    reader = PacketReader(max_packet=1000)
    header = b"\x30" + _varint(5000)
    with pytest.raises(ProtocolError, match="exceeds"):
        reader.feed(header)  # refused on the length alone, not after 5,000 bytes arrive


def test_malformed_properties_in_connack_and_suback() -> None:
    with pytest.raises(ProtocolError):
        decode_connack(b"\x00\x00\x03\x13\x00")  # property runs past its block
    with pytest.raises(ProtocolError):
        decode_connack(b"\x00\x00\x02\x7f\x00")  # unknown property id
    with pytest.raises(ProtocolError):
        decode_suback(b"\x00\x01\x00")  # no reason codes


# --- the publisher's side (meter_sim/gateway.py) --------------------------------------------


@pytest.mark.parametrize("size", [0, 50, 200, 20_000, 300_000])
def test_qos1_publish_encoder_frames_back_at_every_length_form(size: int) -> None:
    """One-, two-, three-byte remaining lengths, with and without retain."""
    payload = bytes(range(256)) * (size // 256) + b"p" * (size % 256)
    raw = encode_publish_qos1(b"energy/meters/m-1", payload, 65535) + encode_publish_qos1(
        b"energy/meters/m-1/status", b"{}", 1, retain=True
    )
    assert PacketReader().feed(raw) == [
        Publish("energy/meters/m-1", payload, 65535, 1, False, False),
        Publish("energy/meters/m-1/status", b"{}", 1, 1, False, True),
    ]
    assert raw.startswith(encode_publish("energy/meters/m-1", payload, qos=1, packet_id=65535))
    with pytest.raises(ValueError):
        encode_publish_qos1(b"t", b"", 0)  # packet id 0 is reserved for QoS 0


def test_connect_with_a_retained_qos1_will() -> None:
    will = Will("energy/gateways/gw-0/status", b'{"status":"offline"}', 1, True)
    connect = encode_connect("gw-0", 15, clean_start=True, username="u", password="p", will=will)
    # v5, flags: user name, password, will retain, will QoS 1, will flag, clean start.
    assert b"\x00\x04MQTT\x05" + bytes((0x80 | 0x40 | 0x20 | 0x08 | 0x04 | 0x02,)) in connect
    # After the client id: an empty will property block, the will topic, then its payload.
    assert b"\x00\x04gw-0\x00\x00\x1benergy/gateways/gw-0/status\x00\x14" + will.payload in connect
    assert connect.endswith(b"\x00\x01u\x00\x01p")
    plain = encode_connect("gw-0", 15, clean_start=True)
    assert b"\x00\x04MQTT\x05\x02" in plain and plain.endswith(b"\x00\x04gw-0")


def test_puback_reason_codes() -> None:
    assert decode_puback(b"\x01\x02") == (258, 0)  # no reason code: Success
    assert decode_puback(b"\x00\x07\x10\x00") == (7, 0x10)  # no matching subscribers: still delivered
    assert decode_puback(b"\x00\x07\x87") == (7, 0x87)  # not authorised
    with pytest.raises(ProtocolError):
        decode_puback(b"\x00")
    framed = PacketReader().feed(b"\x40\x02\x00\x05" + b"\x40\x03\x00\x06\x87")
    assert [decode_puback(p.body) for p in framed if isinstance(p, Control)] == [(5, 0), (6, 0x87)]


def test_feed_acks_fast_path_and_fallback_give_the_same_ids() -> None:
    plain = encode_pubacks(range(1, 1001))
    reader = PacketReader()
    assert reader.feed_acks(plain) == (list(range(1, 1001)), [])
    # Split inside a PUBACK: the tail waits for the next read, then the stream realigns.
    two = plain + plain
    assert reader.feed_acks(two[:4002]) == (list(range(1, 1001)), [])
    assert reader.feed_acks(two[4002:4006]) == ([1], [])
    assert reader.feed_acks(two[4006:]) == (list(range(2, 1001)), [])  # aligned again: fast path
    assert reader.buffered == 0
    # Success with a reason code (0x10: no matching subscribers), in a run of its own.
    no_match = b"".join(b"\x40\x03" + i.to_bytes(2, "big") + b"\x10" for i in range(1, 101))
    assert PacketReader().feed_acks(no_match) == (list(range(1, 101)), [])
    # Mixed reads: successful acks still come out as ids; anything else (a PUBACK with a failure
    # reason code, a marker PUBLISH, a SUBACK) is framed as usual.
    marker = encode_publish("energy/ingest/i/subscribed", b'{"ts_ms":1}', qos=1, retain=True, packet_id=3)
    mixed = plain[:8] + b"\x40\x03\x00\x09\x87" + marker + b"\x90\x04\x00\x05\x00\x01" + plain[8:12]
    ids, others = PacketReader().feed_acks(mixed)
    assert ids == [1, 2, 3]
    refused = b"\x40\x03\x00\x01\x10\x40\x03\x00\x02\x87"  # same size, one refusal: framed
    assert PacketReader().feed_acks(refused) == ([1], [Control(PUBACK, 0, b"\x00\x02\x87")])
    assert others == [
        Control(PUBACK, 0, b"\x00\x09\x87"),
        Publish("energy/ingest/i/subscribed", b'{"ts_ms":1}', 3, 1, False, True),
        Control(SUBACK, 0, b"\x00\x05\x00\x01"),
    ]
