"""Property tests (hypothesis): round trips, chunkings, corruption, and the twins agreeing."""

from __future__ import annotations

import datetime as dt
import struct
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aws_eventstream import (
    ChecksumError,
    EventStreamError,
    FrameError,
    Int8,
    Int16,
    Int32,
    Int64,
    Message,
    Timestamp,
)
from helpers import TWINS, raw_frame, raw_header, twin

SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def _fixed(cls, bits):
    return st.integers(-(1 << (bits - 1)), (1 << (bits - 1)) - 1).map(cls)


header_values = st.one_of(
    st.booleans(),
    _fixed(Int8, 8), _fixed(Int16, 16), _fixed(Int32, 32), _fixed(Int64, 64), _fixed(Timestamp, 64),
    st.binary(max_size=300),
    st.text(max_size=100),
    st.uuids(),
)
header_names = st.text(min_size=1, max_size=40).filter(lambda s: len(s.encode("utf-8")) <= 255)
headers_st = st.dictionaries(header_names, header_values, max_size=8)
payloads = st.binary(max_size=2000)
messages = st.builds(Message, headers_st, payloads)


def _same_types(a: dict, b: dict) -> bool:
    return list(a) == list(b) and all(type(a[k]) is type(b[k]) for k in a)


@SETTINGS
@given(msg=messages)
def test_round_trip_every_header_type(codec, msg):
    frame = codec.encode(msg.headers, msg.payload)
    got = codec.decode(frame)
    assert got == msg and _same_types(got.headers, msg.headers)
    assert codec.encode(got.headers, got.payload) == frame
    assert codec.Encoder(msg.headers).encode(msg.payload) == frame


@SETTINGS
@given(msgs=st.lists(messages, max_size=6), data=st.data())
def test_any_chunking_gives_the_same_messages(codec, msgs, data):
    stream = b"".join(codec.encode(m.headers, m.payload) for m in msgs)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=12)))
    dec = codec.Decoder()
    got = []
    for a, b in zip([0] + cuts, cuts + [len(stream)]):
        got += dec.feed(memoryview(stream)[a:b])
    dec.close()
    assert got == msgs


@SETTINGS
@given(msg=messages, data=st.data())
def test_every_single_bit_flip_is_caught(codec, msg, data):
    frame = codec.encode(msg.headers, msg.payload)
    bit = data.draw(st.integers(0, len(frame) * 8 - 1))
    bad = bytearray(frame)
    bad[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(ChecksumError) as info:
        codec.decode(bytes(bad))
    assert info.value.kind == ("prelude" if bit < 96 else "message")
    with pytest.raises(ChecksumError):
        codec.Decoder().feed(bad)


def test_every_bit_flip_of_one_frame(codec):
    frame = codec.encode({":event-type": "AudioEvent", "n": Int16(7), "u": uuid.UUID(int=5)}, b"audio!")
    for bit in range(len(frame) * 8):
        bad = bytearray(frame)
        bad[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(ChecksumError):
            codec.decode(bytes(bad))


@SETTINGS
@given(msg=messages, data=st.data())
def test_every_truncation_waits_in_decoder_and_fails_elsewhere(codec, msg, data):
    frame = codec.encode(msg.headers, msg.payload)
    cut = data.draw(st.integers(0, len(frame) - 1))
    with pytest.raises(FrameError, match="truncated"):
        codec.decode(frame[:cut])
    dec = codec.Decoder()
    assert dec.feed(frame[:cut]) == []
    if cut:
        with pytest.raises(FrameError, match="stream ended"):
            dec.close()
    else:
        dec.close()


@SETTINGS
@given(blob=st.binary(max_size=400))
def test_random_bytes_only_raise_event_stream_errors(codec, blob):
    try:
        codec.decode(blob)
    except EventStreamError:
        pass
    dec = codec.Decoder()
    try:
        dec.feed(blob)
        dec.close()
    except EventStreamError:
        pass


@SETTINGS
@given(block=st.binary(max_size=200), payload=st.binary(max_size=50))
def test_random_header_blocks_with_valid_crcs(codec, block, payload):
    """Behind valid CRCs the header parser sees arbitrary bytes: only our errors come out."""
    frame = raw_frame(block, payload)
    try:
        msg = codec.decode(frame)
    except EventStreamError as exc:
        assert type(exc).__name__ == "HeaderError", exc
    else:
        assert codec.encode(msg.headers, msg.payload) == frame


# --------------------------------------------------------------------------- the twins agree


@pytest.fixture(scope="module")
def twins():
    return twin("c"), twin("py")


@SETTINGS
@given(msg=messages)
def test_twins_encode_identical_bytes(twins, msg):
    c, py = twins
    assert c.encode(msg.headers, msg.payload) == py.encode(msg.headers, msg.payload)
    assert c.Encoder(msg.headers).header_block == py.Encoder(msg.headers).header_block


def _outcome(fn, arg):
    try:
        msg = fn(arg)
    except EventStreamError as exc:
        return type(exc), str(exc)
    return msg, [type(v) for v in msg.headers.values()]


@SETTINGS
@given(block=st.binary(max_size=200), payload=st.binary(max_size=50))
def test_twins_decode_identically(twins, block, payload):
    c, py = twins
    frame = raw_frame(block, payload)
    assert _outcome(c.decode, frame) == _outcome(py.decode, frame)


@SETTINGS
@given(blob=st.binary(max_size=300), data=st.data())
def test_twins_fail_identically_on_random_streams(twins, blob, data):
    c, py = twins
    chunk = data.draw(st.integers(1, 64))
    limits = data.draw(st.fixed_dictionaries({}, optional={"max_payload": st.integers(0, 200),
                                                           "max_header_value": st.integers(0, 200)}))
    results = []
    for mod in (c, py):
        dec = mod.Decoder(max_frame=200, **limits)
        got = []
        err = None
        try:
            for i in range(0, len(blob), chunk):
                got += dec.feed(blob[i:i + chunk])
            dec.close()
        except EventStreamError as exc:
            err = (type(exc), str(exc))
        results.append((got, err))
    assert results[0] == results[1]


@SETTINGS
@given(values=st.lists(st.binary(max_size=60), min_size=1, max_size=4), payload=st.binary(max_size=60),
       max_payload=st.none() | st.integers(0, 70), max_header_value=st.integers(0, 70), chunk=st.integers(1, 40))
def test_twins_apply_the_keyword_limits_identically(twins, values, payload, max_payload, max_header_value, chunk):
    """Frames with valid CRCs whose values and payloads straddle the limits: the same messages, the same error."""
    block = b"".join(raw_header(b"h%d" % i, 6 + i % 2, struct.pack(">H", len(v)) + v.hex().encode()[:len(v)])
                     for i, v in enumerate(values))
    stream = raw_frame(block, payload) * 2
    results = []
    for mod in twins:
        dec = mod.Decoder(max_payload=max_payload, max_header_value=max_header_value)
        got, err = [], None
        try:
            for i in range(0, len(stream), chunk):
                got += dec.feed(stream[i:i + chunk])
        except EventStreamError as exc:
            err = (type(exc), str(exc))
        results.append((got, err))
    assert results[0] == results[1]
    fits = all(len(v) <= max_header_value for v in values) and (max_payload is None or len(payload) <= max_payload)
    assert (results[0][1] is None) == fits, results[0][1]


@SETTINGS
@given(value=st.one_of(st.integers(), st.datetimes(timezones=st.just(dt.timezone.utc)),
                       st.floats(), st.none(), st.text(max_size=5), st.binary(max_size=5)))
def test_twins_agree_on_plain_values(twins, value):
    c, py = twins
    results = []
    for mod in (c, py):
        try:
            results.append(mod.encode({"v": value}))
        except EventStreamError as exc:
            results.append((type(exc), str(exc)))
    assert results[0] == results[1]


@pytest.mark.parametrize("name", TWINS)
def test_decoded_types_match_between_twins(name):
    mod = twin(name)
    other = twin("py" if name == "c" else "c")
    msg = Message({"a": Int8(1), "b": Timestamp(5), "c": uuid.UUID(int=1), "d": b"x", "e": True}, b"")
    frame = other.encode(msg.headers)
    got = mod.decode(frame)
    assert _same_types(got.headers, msg.headers) and got == msg
