"""Behaviour of the codec, one body for both twins (fixture ``codec``: ``c`` and ``py``)."""

from __future__ import annotations

import array
import datetime as dt
import pickle
import struct
import uuid
import zlib

import pytest

from aws_eventstream import (
    ChecksumError,
    EventStreamError,
    FrameError,
    HeaderError,
    Int8,
    Int16,
    Int32,
    Int64,
    MAX_HEADER_VALUE,
    Message,
    Timestamp,
)
from helpers import raw_frame, raw_header

AUDIO_HEADERS = {
    ":content-type": "application/octet-stream",
    ":event-type": "AudioEvent",
    ":message-type": "event",
}


# --------------------------------------------------------------------------- round trips

EVERY_TYPE = {
    "t": True,
    "f": False,
    "i8": Int8(-128),
    "i16": Int16(32767),
    "i32": Int32(-(2**31)),
    "i64": Int64(2**63 - 1),
    "bytes": b"\x00\xffraw",
    "str": "h\u00e9llo \u2603",
    "ts": Timestamp(1_700_000_000_123),
    "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
}
WIRE_TYPES = {"t": 0, "f": 1, "i8": 2, "i16": 3, "i32": 4, "i64": 5, "bytes": 6, "str": 7, "ts": 8, "uuid": 9}


def test_every_header_type_round_trips_with_its_type(codec):
    frame = codec.encode(EVERY_TYPE, b"payload")
    msg = codec.decode(frame)
    assert msg == Message(EVERY_TYPE, b"payload")
    assert list(msg.headers) == list(EVERY_TYPE)
    for name, value in EVERY_TYPE.items():
        assert type(msg.headers[name]) is type(value), name
    assert codec.encode(msg.headers, msg.payload) == frame


def test_wire_type_bytes(codec):
    for name, value in EVERY_TYPE.items():
        frame = codec.encode({name: value})
        assert frame[12 + 1 + len(name)] == WIRE_TYPES[name], name


def test_wire_layout_against_struct(codec):
    frame = codec.encode({"a": "xy"}, b"PAY")
    block = b"\x01a\x07\x00\x02xy"
    assert frame == raw_frame(block, b"PAY")


@pytest.mark.parametrize("value, tbyte, width", [
    (0, 4, 4), (2**31 - 1, 4, 4), (-(2**31), 4, 4), (2**31, 5, 8), (-(2**31) - 1, 5, 8),
    (2**63 - 1, 5, 8), (-(2**63), 5, 8),
])
def test_plain_int_takes_the_smallest_of_int32_and_int64(codec, value, tbyte, width):
    frame = codec.encode({"n": value})
    assert frame[14] == tbyte
    got = codec.decode(frame).headers["n"]
    assert got == value and type(got) is (Int32 if tbyte == 4 else Int64)
    assert len(frame) == 16 + 3 + width


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 10**30])
def test_int_beyond_64_bits_is_a_header_error(codec, value):
    with pytest.raises(HeaderError, match="'n'"):
        codec.encode({"n": value})


@pytest.mark.parametrize("cls, bits", [(Int8, 8), (Int16, 16), (Int32, 32), (Int64, 64), (Timestamp, 64)])
def test_fixed_ints_check_their_range(cls, bits):
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    assert cls(lo) == lo and cls(hi) == hi
    for bad in (lo - 1, hi + 1):
        with pytest.raises(ValueError, match=cls.__name__):
            cls(bad)
    with pytest.raises(TypeError):
        cls(1.5)
    assert repr(cls(7)) == f"{cls.__name__}(7)"
    assert pickle.loads(pickle.dumps(cls(7))) == 7 and type(pickle.loads(pickle.dumps(cls(7)))) is cls


def test_out_of_range_fixed_int_built_around_the_check_is_refused(codec):
    sneaky = int.__new__(Int8, 1000)  # bypasses Int8's own check
    with pytest.raises(HeaderError, match="out of range"):
        codec.encode({"b": sneaky})


def test_timestamp_datetime_round_trip():
    when = dt.datetime(2024, 2, 29, 12, 30, 45, 678999, tzinfo=dt.timezone.utc)
    ts = Timestamp.from_datetime(when)
    assert ts == 1709209845678
    assert ts.to_datetime() == when.replace(microsecond=678000)
    assert Timestamp(-1).to_datetime() == dt.datetime(1969, 12, 31, 23, 59, 59, 999000, tzinfo=dt.timezone.utc)
    with pytest.raises(ValueError, match="naive"):
        Timestamp.from_datetime(dt.datetime(2024, 1, 1))


def test_aware_datetime_encodes_as_timestamp(codec):
    tz = dt.timezone(dt.timedelta(hours=5, minutes=30))
    when = dt.datetime(2020, 1, 1, 5, 30, tzinfo=tz)
    got = codec.decode(codec.encode({"d": when})).headers["d"]
    assert type(got) is Timestamp and got.to_datetime() == when


def test_naive_datetime_is_a_header_error(codec):
    with pytest.raises(HeaderError, match="'d'"):
        codec.encode({"d": dt.datetime(2020, 1, 1)})


@pytest.mark.parametrize("value", [bytearray(b"ab"), memoryview(b"ab"), memoryview(b"xaxb")[1::2]])
def test_bytes_like_header_values_decode_as_bytes(codec, value):
    got = codec.decode(codec.encode({"b": value})).headers["b"]
    assert got == b"ab" and type(got) is bytes


@pytest.mark.parametrize("value", [1.5, None, object(), ["a"], array.array("b", [1])])
def test_unencodable_value_type_is_a_header_error(codec, value):
    with pytest.raises(HeaderError, match="'x'.*cannot be encoded"):
        codec.encode({"x": value})


@pytest.mark.parametrize("name, match", [
    ("", "1..255"), ("x" * 256, "1..255"), ("\u00e9" * 128, "1..255"),
    (b"bytes", "must be str"), (1, "must be str"), ("\ud800", "UTF-8"),
])
def test_bad_header_names(codec, name, match):
    with pytest.raises(HeaderError, match=match):
        codec.encode({name: "v"})


def test_name_of_255_bytes_is_fine(codec):
    name = "n" * 255
    assert list(codec.decode(codec.encode({name: True})).headers) == [name]


def test_value_length_limit(codec):
    assert codec.decode(codec.encode({"s": "x" * 32767})).headers["s"] == "x" * 32767
    assert codec.decode(codec.encode({"b": b"x" * 32767})).headers["b"] == b"x" * 32767
    for value in ("x" * 32768, b"x" * 32768, "\u00e9" * 16384):
        with pytest.raises(HeaderError, match="over the limit of 32767"):
            codec.encode({"v": value})
    with pytest.raises(HeaderError, match="UTF-8"):
        codec.encode({"v": "bad \udc80"})


def test_header_block_limit(codec):
    values = {f"h{i}": "v" * 32000 for i in range(4)}  # 128 KiB is 131072: four fit
    assert len(codec.encode(values)) > 128_000
    values["h4"] = "v" * 32000
    with pytest.raises(HeaderError, match="131072.*'h4'"):
        codec.encode(values)
    with pytest.raises(HeaderError):
        codec.Encoder(values)


def test_frame_size_limit(codec):
    limit = codec.MAX_FRAME
    ok = codec.encode({}, bytes(limit - 16))
    assert len(ok) == limit and codec.decode(ok).payload == bytes(limit - 16)
    with pytest.raises(FrameError, match=str(limit)):
        codec.encode({}, bytes(limit - 15))


def test_headers_must_be_a_mapping(codec):
    for bad in ([("a", "b")], "ab", None):
        with pytest.raises(TypeError, match="mapping"):
            codec.encode(bad)
    with pytest.raises(TypeError):
        codec.Encoder([("a", "b")])


def test_any_mapping_is_accepted(codec):
    import types
    from collections import OrderedDict

    for mapping in (OrderedDict(a="1", b="2"), types.MappingProxyType({"a": "1", "b": "2"})):
        assert codec.encode(mapping) == codec.encode({"a": "1", "b": "2"})


@pytest.mark.parametrize("payload", [bytearray(b"abc"), memoryview(b"abc"), memoryview(b"zabc")[1:],
                                     array.array("B", b"abc")])
def test_payload_accepts_any_contiguous_buffer(codec, payload):
    assert codec.encode({}, payload) == codec.encode({}, b"abc")


def test_payload_of_wider_items_is_taken_as_raw_bytes(codec):
    arr = array.array("i", [1, 2])
    assert codec.decode(codec.encode({}, arr)).payload == arr.tobytes()


@pytest.mark.parametrize("payload, match", [
    ("text", "str"), (123, "int"), (None, "NoneType"), (memoryview(b"abcdef")[::2], "contiguous"),
])
def test_payload_must_be_contiguous_bytes(codec, payload, match):
    with pytest.raises(TypeError, match=match):
        codec.encode({}, payload)
    with pytest.raises(TypeError, match=match):
        codec.Encoder({}).encode(payload)


def test_encoder_matches_encode(codec):
    enc = codec.Encoder(AUDIO_HEADERS)
    for payload in (b"", b"x", bytes(range(256)) * 13):
        assert enc.encode(payload) == codec.encode(AUDIO_HEADERS, payload)
    assert enc.header_block == codec.encode(AUDIO_HEADERS)[12:-4]
    assert "header block" in repr(enc)


def test_encoder_is_not_affected_by_later_changes_to_its_dict(codec):
    headers = dict(AUDIO_HEADERS)
    enc = codec.Encoder(headers)
    headers[":event-type"] = "Other"
    assert enc.encode(b"a") == codec.encode(AUDIO_HEADERS, b"a")


def test_empty_frame(codec):
    frame = codec.encode({})
    assert len(frame) == 16
    assert codec.decode(frame) == Message({}, b"")


def test_message_value_semantics():
    a = Message({"a": "1"}, b"p")
    assert a == Message({"a": "1"}, b"p")
    assert a != Message({"a": "2"}, b"p") and a != Message({"a": "1"}, b"q")
    assert a != ("a", b"p")
    with pytest.raises(TypeError):
        hash(a)
    assert "b'p'" in repr(a) and "1 bytes" in repr(a)
    assert pickle.loads(pickle.dumps(a)) == a
    assert "..." in repr(Message({}, b"x" * 1000))


# --------------------------------------------------------------------------- decode errors


def _ok():
    return raw_frame(raw_header(b"a", 7, b"\x00\x01b"), b"payload")


def test_decode_needs_exactly_one_frame(codec):
    frame = _ok()
    with pytest.raises(FrameError, match="truncated.*5 bytes"):
        codec.decode(frame[:5])
    with pytest.raises(FrameError, match=f"truncated.*{len(frame) - 1} bytes of the {len(frame)}"):
        codec.decode(frame[:-1])
    with pytest.raises(FrameError, match="trailing bytes: 3"):
        codec.decode(frame + b"abc")
    with pytest.raises(FrameError, match="trailing"):
        codec.decode(frame + frame)
    with pytest.raises(FrameError):
        codec.decode(b"")


def test_lengths_that_disagree(codec):
    with pytest.raises(FrameError, match="under the minimum of 16"):
        codec.decode(raw_frame(b"", total=15))
    with pytest.raises(FrameError, match="headers length 5 does not fit"):
        codec.decode(raw_frame(b"", b"", hlen=5))
    with pytest.raises(FrameError, match="over the limit"):
        codec.decode(raw_frame(b"", total=24 * 1024 * 1024 + 1))


def test_prelude_is_checked_before_lengths(codec):
    bad = bytearray(raw_frame(b"", total=3))
    bad[8] ^= 1
    with pytest.raises(ChecksumError) as info:
        codec.decode(bytes(bad))
    assert info.value.kind == "prelude"


def test_message_crc_is_checked_before_headers(codec):
    frame = bytearray(raw_frame(raw_header(b"a", 42)))  # unknown type byte 42...
    frame[-1] ^= 0xFF  # ...but the CRC is wrong, and that is what is reported
    with pytest.raises(ChecksumError) as info:
        codec.decode(bytes(frame))
    assert info.value.kind == "message"


def test_checksum_error_fields_and_pickling(codec):
    frame = bytearray(_ok())
    frame[20] ^= 0x10
    with pytest.raises(ChecksumError) as info:
        codec.decode(bytes(frame))
    err = info.value
    assert err.expected == struct.unpack(">I", frame[-4:])[0]
    assert err.actual == zlib.crc32(bytes(frame[:-4]))
    assert f"0x{err.expected:08x}" in str(err) and f"0x{err.actual:08x}" in str(err)
    again = pickle.loads(pickle.dumps(err))
    assert type(again) is ChecksumError and str(again) == str(err) and again.kind == "message"


@pytest.mark.parametrize("block, match", [
    (raw_header(b"", 7, b"\x00\x00"), "byte 12: name is empty"),
    (b"\x05ab", "name and type run past"),
    (b"\x02ab", "name and type run past"),
    (raw_header(b"a", 10), "'a' at byte 12: unknown value type 10"),
    (raw_header(b"a", 255), "unknown value type 255"),
    (raw_header(b"\xff\xfe", 0), "name is not valid UTF-8"),
    (raw_header(b"s", 7, b"\x00\x02\xc3\x28"), "'s'.*not valid UTF-8"),
    (raw_header(b"s", 7, b"\x00"), "value length runs past"),
    (raw_header(b"s", 7, b"\x00\x05abc"), "value runs past"),
    (raw_header(b"s", 6, b"\x80\x00" + b"x" * 32768), "over the limit of 32767"),
    (raw_header(b"i", 4, b"\x00\x00"), "'i'.*value runs past"),
    (raw_header(b"i", 5, b"\x00" * 7), "value runs past"),
    (raw_header(b"i", 8, b"\x00" * 7), "value runs past"),
    (raw_header(b"i", 3, b"\x00"), "value runs past"),
    (raw_header(b"i", 2), "value runs past"),
    (raw_header(b"u", 9, b"\x00" * 15), "value runs past"),
    (raw_header(b"a", 0) + raw_header(b"b", 1) + raw_header(b"a", 1), "'a' at byte 18: duplicate"),
])
def test_bad_header_blocks(codec, block, match):
    with pytest.raises(HeaderError, match=match):
        codec.decode(raw_frame(block, b"payload"))


def test_header_parse_never_reads_past_the_block(codec):
    # the string claims 4 bytes; the payload right after the block would supply them
    block = raw_header(b"s", 7, b"\x00\x04ab")
    with pytest.raises(HeaderError, match="runs past"):
        codec.decode(raw_frame(block, b"cdcdcd"))


def test_header_block_over_limit_on_decode(codec):
    block = b"".join(raw_header(f"h{i}".encode(), 6, b"\x7f\xff" + b"x" * 32767) for i in range(5))
    with pytest.raises(HeaderError, match="over the limit of 131072"):
        codec.decode(raw_frame(block))


@pytest.mark.parametrize("frame, match", [("text", "str"), (None, "NoneType"), (5, "int")])
def test_decode_wrong_argument_types(codec, frame, match):
    with pytest.raises(TypeError, match=match):
        codec.decode(frame)


@pytest.mark.parametrize("wrap", [bytes, bytearray, memoryview])
def test_decode_accepts_bytes_like(codec, wrap):
    assert codec.decode(wrap(_ok())).headers == {"a": "b"}


# --------------------------------------------------------------------------- Decoder


def test_decoder_byte_at_a_time(codec):
    frames = [codec.encode({"n": Int32(i)}, bytes([i]) * i) for i in range(20)]
    stream = b"".join(frames)
    dec = codec.Decoder()
    got = []
    for i in range(len(stream)):
        got += dec.feed(stream[i:i + 1])
        assert dec.buffered <= max(len(f) for f in frames)
    dec.close()
    assert [m.headers["n"] for m in got] == list(range(20))
    assert dec.offset == len(stream) and dec.buffered == 0


def test_decoder_many_frames_in_one_chunk(codec):
    frames = [codec.encode(AUDIO_HEADERS, bytes([i]) * 100) for i in range(100)]
    dec = codec.Decoder()
    got = dec.feed(bytearray(b"".join(frames)))
    assert [m.payload[0] for m in got] == list(range(100))
    assert dec.feed(b"") == []
    dec.close()


def test_decoder_refuses_oversized_frame_at_its_prelude(codec):
    dec = codec.Decoder(max_frame=1000)
    prelude = struct.pack(">II", 5000, 0)
    prelude += struct.pack(">I", zlib.crc32(prelude))
    assert dec.feed(prelude[:11]) == []
    with pytest.raises(FrameError, match="5000 is over the limit of 1000"):
        dec.feed(prelude[11:])
    assert dec.buffered < 5000


def test_decoder_max_headers(codec):
    frame = codec.encode({"a": "x" * 100})
    with pytest.raises(HeaderError, match="over the limit of 50"):
        codec.Decoder(max_headers=50).feed(frame)
    assert len(codec.Decoder(max_headers=105).feed(frame)) == 1


def test_decoder_max_payload_is_checked_from_the_prelude(codec):
    frame = raw_frame(raw_header(b"a", 7, b"\x00\x03xyz"), b"p" * 100)
    dec = codec.Decoder(max_payload=99)
    assert dec.max_payload == 99
    assert dec.feed(frame[:11]) == []
    with pytest.raises(FrameError, match="frame at byte 0: payload length 100 is over the limit of 99"):
        dec.feed(frame[11:12])  # the prelude alone: the rest never needs to arrive
    assert [m.payload for m in codec.Decoder(max_payload=100).feed(frame)] == [b"p" * 100]
    # the frame limit still holds beside it, and comes first, as it did
    with pytest.raises(FrameError, match="total length 124 is over the limit of 123"):
        codec.Decoder(max_frame=123, max_payload=10).feed(frame)
    # a payload limit over what the frame limit allows changes nothing
    assert len(codec.Decoder(max_frame=124, max_payload=2**32 - 1).feed(frame)) == 1
    assert codec.Decoder().max_payload is None
    with pytest.raises(FrameError, match="payload length 1 is over the limit of 0"):
        codec.Decoder(max_payload=0).feed(raw_frame(b"", b"x"))
    assert len(codec.Decoder(max_payload=0).feed(raw_frame(raw_header(b"h", 0)))) == 1


@pytest.mark.parametrize("tbyte, value", [(6, b"\xff"), (7, b"s")])
def test_decoder_max_header_value(codec, tbyte, value):
    def frame(n):
        return raw_frame(raw_header(b"v", tbyte, struct.pack(">H", n) + value * n))

    assert codec.Decoder().max_header_value == MAX_HEADER_VALUE == 32767
    with pytest.raises(HeaderError, match="'v' at byte 12: value is 32768 bytes, over the limit of 32767"):
        codec.Decoder().feed(frame(32768))
    with pytest.raises(HeaderError, match="value is 32768 bytes, over the limit of 32767"):
        codec.decode(frame(32768))  # decode() keeps the specification's limit
    wide = codec.Decoder(max_header_value=65535)
    got = wide.feed(frame(65535) + frame(40000) + frame(0))
    assert [len(m.headers["v"]) for m in got] == [65535, 40000, 0]
    assert codec.encode(got[2].headers) == frame(0)
    narrow = codec.Decoder(max_header_value=3)
    assert [len(m.headers["v"]) for m in narrow.feed(frame(3))] == [3]
    with pytest.raises(HeaderError, match="value is 4 bytes, over the limit of 3"):
        narrow.feed(frame(4))


def test_decoder_value_limit_holds_for_header_blocks_seen_before(codec):
    """A header block decoded once (and remembered) is checked again under a smaller limit."""
    frame = raw_frame(raw_header(b":event-type", 7, b"\x00\x0aAudioEvent"))
    assert len(codec.Decoder().feed(frame * 3)) == 3
    with pytest.raises(HeaderError, match="':event-type' at byte 12: value is 10 bytes, over the limit of 9"):
        codec.Decoder(max_header_value=9).feed(frame)
    assert len(codec.Decoder(max_header_value=10).feed(frame)) == 1


def test_decoder_stays_failed(codec):
    dec = codec.Decoder()
    good = codec.encode({"a": "1"}, b"x")
    bad = bytearray(good)
    bad[-1] ^= 1
    with pytest.raises(ChecksumError) as first:
        dec.feed(good + bytes(bad) + good)
    assert first.value.messages == [codec.decode(good)]  # the good frame before it is not lost
    assert first.value.offset == len(good)
    for call in (lambda: dec.feed(good), lambda: dec.feed(b""), dec.close):
        with pytest.raises(ChecksumError):
            call()


def test_decoder_error_offsets_are_stream_offsets(codec):
    good = codec.encode({"a": "1"}, b"x")
    bad = raw_frame(raw_header(b"z", 77))
    dec = codec.Decoder()
    dec.feed(good * 3)
    with pytest.raises(HeaderError, match=f"at byte {3 * len(good) + 12}"):
        dec.feed(bad)


def test_decoder_close_reports_partial_frame(codec):
    frame = codec.encode({"a": "1"}, b"xyz")
    for cut in (1, 11, 12, 13, len(frame) - 1):
        dec = codec.Decoder()
        assert dec.feed(frame[:cut]) == []
        with pytest.raises(FrameError, match=f"stream ended inside the frame at byte 0: {cut} of"):
            dec.close()
        with pytest.raises(FrameError):
            dec.feed(frame[cut:])
    dec = codec.Decoder()
    dec.feed(frame)
    dec.close()


def test_decoder_argument_checks(codec):
    for kwargs in ({"max_frame": 15}, {"max_frame": 2**32}, {"max_headers": -1}, {"max_payload": -1},
                   {"max_payload": 2**32}, {"max_header_value": -1}, {"max_header_value": 65536}):
        with pytest.raises(ValueError, match=next(iter(kwargs))):
            codec.Decoder(**kwargs)
    for kwargs in ({"max_frame": 1.5}, {"max_headers": "1"}, {"max_frame": True}, {"max_payload": 1.0},
                   {"max_payload": False}, {"max_header_value": None}, {"max_header_value": "9"}):
        with pytest.raises(TypeError, match=next(iter(kwargs))):
            codec.Decoder(**kwargs)
    with pytest.raises(TypeError):
        codec.Decoder(100, 10, 5)  # the two new limits are keyword-only
    dec = codec.Decoder(max_frame=100, max_headers=10, max_payload=7, max_header_value=65535)
    assert (dec.max_frame, dec.max_headers, dec.max_payload, dec.max_header_value) == (100, 10, 7, 65535)
    with pytest.raises(TypeError, match="str"):
        dec.feed("text")
    with pytest.raises(TypeError, match="contiguous"):
        dec.feed(memoryview(b"abcd")[::2])
    assert "Decoder" in repr(dec)


def test_decoder_large_frame_in_small_chunks(codec):
    payload = bytes(range(256)) * 4096  # 1 MiB
    frame = codec.encode({"k": "v"}, payload)
    dec = codec.Decoder()
    got = []
    for i in range(0, len(frame), 65536):
        got += dec.feed(memoryview(frame)[i:i + 65536])
    assert len(got) == 1 and got[0].payload == payload


def test_exceptions_are_value_errors(codec):
    with pytest.raises(ValueError):
        codec.decode(b"\x00" * 16)
    assert issubclass(HeaderError, EventStreamError)


# --------------------------------------------------------------------------- crc32


@pytest.mark.parametrize("data", [b"", b"a", b"123456789", bytes(range(256)) * 9])
def test_crc32_is_zlibs(codec, data):
    assert codec.crc32(data) == zlib.crc32(data)
    assert codec.crc32(data, 0xDEADBEEF) == zlib.crc32(data, 0xDEADBEEF)
    assert codec.crc32(data[5:], codec.crc32(data[:5])) == zlib.crc32(data)


def test_crc32_arguments(codec):
    assert codec.crc32(bytearray(b"abc")) == codec.crc32(memoryview(b"abc")) == zlib.crc32(b"abc")
    with pytest.raises(TypeError):
        codec.crc32("abc")
    with pytest.raises(TypeError, match="contiguous"):
        codec.crc32(memoryview(b"abcdef")[::2])
    with pytest.raises(ValueError):
        codec.crc32(b"a", -1)
    with pytest.raises(ValueError):
        codec.crc32(b"a", 2**32)
    with pytest.raises(TypeError):
        codec.crc32(b"a", 1.0)


def test_decoded_messages_are_freed(codec):
    """No reference leaks: decoded messages, their dicts and payloads all go away."""
    import gc
    import sys

    frame = codec.encode({"a": "1", "b": Int16(2), "u": uuid.UUID(int=3)}, b"payload")

    def counts(m):
        return sys.getrefcount(m), sys.getrefcount(m.headers), sys.getrefcount(m.payload)

    # Each part of a decoded message has one owner, as in a message built here from new
    # objects: the counts are compared, not written down, since what getrefcount reports
    # for one owner differs between CPython versions (3.14 borrows references).
    msg = codec.decode(frame)
    by_hand = Message(dict(msg.headers), bytes(bytearray(msg.payload)))
    assert counts(msg) == counts(by_hand)
    assert by_hand.payload is not msg.payload and by_hand.headers is not msg.headers

    def live():
        gc.collect()
        return sum(1 for o in gc.get_objects() if type(o) is Message)

    before = live()
    dec = codec.Decoder()
    for _ in range(200):
        codec.decode(frame)
        dec.feed(frame[:7])
        dec.feed(frame[7:])
    assert live() == before


def test_repeated_header_blocks_give_independent_dicts(codec):
    """Decoders may remember header blocks; what they hand out must stay the caller's own."""
    frame = codec.encode({"a": "1", "b": Int32(2)}, b"x")
    first = codec.decode(frame)
    first.headers["a"] = "changed"
    del first.headers["b"]
    for _ in range(3):
        again = codec.decode(frame)
        assert again.headers == {"a": "1", "b": 2} and again.headers is not first.headers
    dec = codec.Decoder()
    m1, m2 = dec.feed(frame + frame)
    assert m1.headers is not m2.headers
    m1.headers.clear()
    assert m2.headers == {"a": "1", "b": 2}


def test_many_distinct_header_blocks(codec):
    frames = [codec.encode({"k": f"value-{i}", "n": Int16(i)}, bytes([i % 256])) for i in range(300)]
    for _ in range(2):
        for i, frame in enumerate(frames):
            msg = codec.decode(frame)
            assert msg.headers == {"k": f"value-{i}", "n": i}


def test_a_bad_block_stays_bad(codec):
    bad = raw_frame(raw_header(b"a", 0) + raw_header(b"a", 1))
    for _ in range(3):
        with pytest.raises(HeaderError, match="duplicate"):
            codec.decode(bad)


def test_pickling_and_copying(codec):
    import copy

    enc = codec.Encoder(AUDIO_HEADERS)
    again = pickle.loads(pickle.dumps(enc))
    assert type(again) is type(enc) and again.encode(b"x") == enc.encode(b"x")
    assert copy.copy(enc).encode(b"y") == enc.encode(b"y")
    dec = codec.Decoder()
    for attempt in (lambda: pickle.dumps(dec), lambda: copy.copy(dec), lambda: copy.deepcopy(dec)):
        with pytest.raises(TypeError, match="cannot be pickled"):
            attempt()
