"""aws_eventstream.smithy under smithy-aws-event-stream: nothing a caller sees changes.

Every test decodes (or encodes) the same input with smithy's own methods and with ours
installed, and compares what comes out: every field of every event with its type, the
bytes of every frame, and the type and text of the error, at the same place.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import io
import struct
import sys
import threading
import uuid
import zlib

import pytest

if sys.version_info < (3, 12):
    pytest.skip("aws_eventstream.smithy needs Python 3.12+, as smithy-aws-event-stream does",
                allow_module_level=True)

pytest.importorskip("smithy_aws_event_stream",
                    reason="smithy-aws-event-stream is not installed (the [smithy] extra)")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from smithy_aws_event_stream import exceptions as sx  # noqa: E402
from smithy_aws_event_stream.events import Byte, Event, EventMessage, Long, Short  # noqa: E402
from smithy_core.aio.types import AsyncBytesReader  # noqa: E402

from aws_eventstream import smithy as ours  # noqa: E402
from helpers import cut  # noqa: E402

UTC = datetime.timezone.utc
MAX_PAYLOAD = 16 * 1024 * 1024
STOCK_DECODE = Event.__dict__["decode_async"]
STOCK_ENCODE = EventMessage.__dict__["encode"]


@pytest.fixture(autouse=True)
def _twin(codec, monkeypatch):
    """Each test runs on both codec twins, and leaves smithy as it found it."""
    monkeypatch.setattr(ours, "Decoder", codec.Decoder)
    monkeypatch.setattr(ours, "encode", codec.encode)
    yield
    ours.uninstall()
    assert Event.__dict__["decode_async"] is STOCK_DECODE
    assert EventMessage.__dict__["encode"] is STOCK_ENCODE


# --------------------------------------------------------------------------- frames and sources


def every_header():
    """One header of each wire type smithy encodes, with values at the edges of their ranges."""
    return {
        "true": True,
        "false": False,
        "byte": Byte(-128),
        "byte-max": Byte(127),
        "short": Short(-32768),
        "int": 2**31 - 1,
        "int-min": -(2**31),
        "long": Long(-(2**63)),
        "long-max": Long(2**63 - 1),
        "bytes": b"\x00\xffraw",
        "empty-bytes": b"",
        "string": "h\u00e9llo \U0001f600",
        "empty-string": "",
        "timestamp": datetime.datetime(2024, 2, 29, 23, 59, 59, 999000, tzinfo=UTC),
        "old-timestamp": datetime.datetime(1969, 7, 20, 20, 17, 40, 123000, tzinfo=UTC),
        "uuid": uuid.UUID("0123456789abcdef0123456789abcdef"),
        ":message-type": "event",
    }


def audio_event(payload):
    return EventMessage(headers={":message-type": "event", ":event-type": "AudioEvent",
                                 ":content-type": "application/octet-stream"}, payload=payload)


def stream(messages):
    """The bytes of the messages, encoded by smithy itself."""
    return b"".join(STOCK_ENCODE(m) for m in messages)


def many(n):
    """n varied messages: header sets and payload sizes from 0 up."""
    out = []
    for i in range(n):
        headers = every_header() if i % 3 == 0 else {":message-type": "event", ":event-type": f"E{i}"}
        out.append(EventMessage(headers=headers, payload=bytes([i % 256]) * (i * 37 % 3000)))
    return out


async def agen(chunks):
    for c in chunks:
        yield c


class ExactStream:
    """An async byte stream whose read(n) gives n bytes until the end, as smithy's sources do."""

    def __init__(self, data):
        self._data = io.BytesIO(data)
        self.reads = []

    async def read(self, size=-1):
        self.reads.append(size)
        return self._data.read(size)


class ShortReads:
    """An async byte stream whose read(n) answers with what has arrived, up to n bytes, as
    asyncio.StreamReader does: the data arrives in the pieces ``sizes`` cuts it into."""

    def __init__(self, data, sizes):
        self._pieces = cut(data, list(sizes))
        self._held = b""

    async def read(self, size=-1):
        if not self._held and self._pieces:
            self._held = self._pieces.pop(0)
        n = len(self._held) if size < 0 else size
        out, self._held = self._held[:n], self._held[n:]
        return out


class NoWeakref:
    """A source that cannot be weakly referenced: smithy's decoder reads it."""

    __slots__ = ("_data",)

    def __init__(self, data):
        self._data = io.BytesIO(data)

    async def read(self, size=-1):
        return self._data.read(size)


SOURCES = {
    "iterable": lambda data, sizes: AsyncBytesReader(agen(cut(data, sizes))),
    "bytesio": lambda data, sizes: AsyncBytesReader(data),
    "exact": lambda data, sizes: ExactStream(data),
    "reader-over-stream": lambda data, sizes: AsyncBytesReader(ExactStream(data)),
    "no-weakref": lambda data, sizes: NoWeakref(data),
}
# Not among the sources assert_same compares with stock smithy on an iterable: on this one
# stock smithy fails where reads come short, and the installed decoder must fail alike.
ALL_SOURCES = {**SOURCES, "short-reads": ShortReads}


def fields(event):
    """Everything an event holds, with each header value's type."""
    m = event.message
    return (type(event), type(event.prelude), type(m), event.prelude.total_length, event.prelude.headers_length,
            event.prelude.crc, event.crc, [(k, type(v), v) for k, v in m.headers.items()], type(m.payload), m.payload)


def outcome(events, exc):
    return ([fields(e) for e in events], None if exc is None else (type(exc), str(exc)))


async def _decode_all(source, limit=100_000):
    events = []
    try:
        for _ in range(limit):
            event = await Event.decode_async(source)
            if event is None:
                # smithy gives None again, and so must we
                assert await Event.decode_async(source) is None
                return events, None
            events.append(event)
    except Exception as exc:  # noqa: BLE001 - the error is compared with smithy's
        return events, exc
    raise AssertionError("the stream did not end")


def decode(data, sizes=(), kind="iterable", installed=False):
    """smithy's events (and error) for ``data``, from a source of ``kind``, cut into ``sizes``."""
    source = ALL_SOURCES[kind](data, list(sizes))
    if installed:
        with ours.installed():
            return outcome(*asyncio.run(_decode_all(source)))
    assert not ours.is_installed()
    return outcome(*asyncio.run(_decode_all(source)))


def assert_same(data, sizes=(), kinds=tuple(SOURCES)):
    stock = decode(data, sizes, "iterable")
    for kind in kinds:
        assert decode(data, sizes, kind, installed=True) == stock, kind
    return stock


def flip(data, at, bit=0):
    b = bytearray(data)
    b[at] ^= 1 << bit
    return bytes(b)


def raw_frame(block, payload=b"", hlen=None, total=None, pcrc=None, crc=None):
    """A frame from a raw header block, with lengths and CRCs that may lie."""
    hlen = len(block) if hlen is None else hlen
    total = 16 + len(block) + len(payload) if total is None else total
    head = struct.pack(">II", total, hlen)
    prelude = head + struct.pack(">I", zlib.crc32(head) if pcrc is None else pcrc)
    body = prelude + block + payload
    return body + struct.pack(">I", zlib.crc32(body) if crc is None else crc)


# --------------------------------------------------------------------------- decoding


def test_every_header_type_decodes_to_smithys_types_and_values():
    data = stream([EventMessage(headers=every_header(), payload=b"payload")])
    (event,), exc = decode(data, installed=True)
    assert exc is None
    assert [event] == decode(data)[0]
    types = {k: t for k, t, _ in event[7]}
    assert types["byte"] is Byte and types["short"] is Short and types["long"] is Long
    assert types["int"] is int and types["true"] is bool and types["timestamp"] is datetime.datetime
    assert types["uuid"] is uuid.UUID and types["bytes"] is bytes and types["string"] is str


def test_decoded_events_are_equal_to_smithys():
    data = stream(many(10))
    source = AsyncBytesReader(data)
    with ours.installed():
        mine, _ = asyncio.run(_decode_all(source))
    theirs, _ = asyncio.run(_decode_all(AsyncBytesReader(data)))
    assert mine == theirs
    assert [e.message for e in mine] == [e.message for e in theirs]


@pytest.mark.parametrize("size", [0, 1, 15, 16, 2900, 32768, 65536 + 3, 1 << 20, MAX_PAYLOAD])
def test_payload_sizes(size):
    data = stream([audio_event(bytes(range(256)) * (size // 256) + b"x" * (size % 256)), audio_event(b"after")])
    # smithy's reader joins the chunks of a read one by one (quadratic): large frames in large chunks.
    for sizes in ((), (4096,), (65536,)) if size < 1 << 20 else ((), (1 << 20,)):
        events, exc = assert_same(data, sizes, kinds=("iterable", "bytesio", "exact"))
        assert exc is None and len(events) == 2 and len(events[0][-1]) == size


@pytest.mark.parametrize("sizes", [(1,), (2,), (3, 5, 7), (11,), (12,), (13,), (4096,), (), (0, 1, 0, 9)],
                         ids=lambda s: "-".join(map(str, s)) or "whole")
def test_many_events_in_any_chunking(sizes):
    data = stream(many(60))
    events, exc = assert_same(data, sizes)
    assert exc is None and len(events) == 60


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(0, 12), sizes=st.lists(st.integers(0, 5000), max_size=8))
def test_random_chunkings(n, sizes):
    assert_same(stream(many(n)), sizes, kinds=("iterable", "exact"))


def test_an_empty_source_gives_none():
    assert assert_same(b"") == ([], None)


@pytest.mark.parametrize("sizes", [(), (1,), (100,)], ids=["whole", "by-byte", "100"])
def test_a_truncated_stream_fails_as_smithy_fails(sizes):
    messages = many(4)
    data = stream(messages)
    last = len(stream(messages[:3]))
    frame = len(data) - last
    for keep in sorted({1, 7, 8, 11, 12, 13, 20, frame // 2, frame - 4, frame - 3, frame - 1}):
        events, exc = assert_same(data[:last + keep], sizes)
        assert len(events) == 3 and exc is not None, keep


@pytest.mark.parametrize("where", ["prelude-crc", "length", "header", "payload", "message-crc"])
@pytest.mark.parametrize("sizes", [(), (1,), (1000,)], ids=["whole", "by-byte", "1000"])
def test_a_corrupt_frame_raises_smithys_checksum_mismatch(where, sizes):
    messages = many(5)
    before = len(stream(messages[:2]))
    bad = STOCK_ENCODE(messages[2])
    at = {"prelude-crc": 9, "length": 5, "header": 14, "payload": len(bad) - 6, "message-crc": len(bad) - 1}[where]
    data = stream(messages[:2]) + flip(bad, at) + stream(messages[3:])
    assert data[:before] == stream(messages[:2])
    events, exc = assert_same(data, sizes)
    assert len(events) == 2
    assert exc is not None and exc[0] is sx.ChecksumMismatch or where == "length"


@pytest.mark.parametrize("frame", [
    pytest.param(raw_frame(b"\x01a\x07\x00\x01x\x01a\x07\x00\x01y"), id="duplicate-header"),
    pytest.param(raw_frame(b"\x01a\x63"), id="unknown-type"),
    pytest.param(raw_frame(b"\x01a\x07\x00\x02\xff\xfe"), id="bad-utf8"),
    pytest.param(raw_frame(b"\x00\x07\x00\x01x", b"p"), id="empty-name"),
    pytest.param(raw_frame(b"\x02\xff\xfe\x00"), id="bad-utf8-name"),
    pytest.param(raw_frame(b"", total=12), id="total-under-16"),
    pytest.param(raw_frame(b"", b"abcd", hlen=9), id="headers-past-frame"),
    pytest.param(raw_frame(b"x" * 10, hlen=128 * 1024 + 1), id="headers-over-limit"),
    pytest.param(raw_frame(b"", total=MAX_PAYLOAD + 17)[:12], id="payload-over-limit"),
    pytest.param(raw_frame(b"\x01a\x06\x80\x00" + b"z" * 32768), id="value-over-limit"),
])
@pytest.mark.parametrize("sizes", [(), (1,)], ids=["whole", "by-byte"])
def test_frames_smithy_refuses_or_reads_oddly_give_its_result(frame, sizes):
    good = stream(many(2))
    events, exc = assert_same(good + frame + good, sizes, kinds=("iterable", "exact", "bytesio"))
    assert len(events) >= 2


def _value(name, tbyte, n):
    return bytes([len(name)]) + name + bytes([tbyte]) + struct.pack(">H", n) + b"v" * n


_HEADERS = _value(b":event-type", 7, 5)
_BLOCK_128K = b"".join(_value(b"h%d" % i, 6, 32767) for i in range(3))
_BLOCK_128K += _value(b"last", 7, 128 * 1024 - len(_BLOCK_128K) - len(_value(b"last", 7, 0)))
assert len(_BLOCK_128K) == 128 * 1024


@pytest.mark.parametrize("frame, refused", [
    pytest.param(raw_frame(_value(b"s", 7, 32767), b"x"), None, id="string-value-32767"),
    pytest.param(raw_frame(_value(b"s", 7, 32768), b"x"), sx.InvalidHeaderValueLength, id="string-value-32768"),
    pytest.param(raw_frame(_value(b"b", 6, 32767), b"x"), None, id="bytes-value-32767"),
    pytest.param(raw_frame(_value(b"b", 6, 40000), b"x"), sx.InvalidHeaderValueLength, id="bytes-value-40000"),
    pytest.param(raw_frame(_BLOCK_128K, b"x"), None, id="header-block-128k"),
    pytest.param(raw_frame(_BLOCK_128K + b"\x01z\x00", b"x"), sx.InvalidHeadersLength, id="header-block-128k+1"),
    pytest.param(raw_frame(_HEADERS, b"p" * MAX_PAYLOAD), None, id="payload-16m-beside-headers"),
    pytest.param(raw_frame(_HEADERS, b"p" * (MAX_PAYLOAD + 1)), sx.InvalidPayloadLength, id="payload-16m+1"),
])
@pytest.mark.parametrize("sizes", [(), (65536,)], ids=["whole", "64k"])
def test_smithys_limits_exactly(frame, refused, sizes):
    """What stock smithy accepts is accepted; what it refuses is refused with its class and text."""
    good = stream(many(2))
    events, exc = assert_same(good + frame + good, sizes, kinds=("iterable", "exact", "bytesio"))
    assert (exc[0] if exc else None) is refused, exc  # the case is what it says, on the smithy installed
    assert len(events) == (4 + 1 if refused is None else 2)


def test_events_before_an_error_in_the_same_chunk_come_first():
    messages = many(6)
    data = stream(messages[:4]) + flip(STOCK_ENCODE(messages[4]), 20)
    events, exc = assert_same(data)
    assert len(events) == 4 and exc[0] is sx.ChecksumMismatch


async def _every_outcome(source, limit=50):
    """What each call of decode_async gives until None: events' fields, or the error's type and text."""
    out = []
    for _ in range(limit):
        try:
            event = await Event.decode_async(source)
        except Exception as exc:  # noqa: BLE001 - compared with smithy's
            out.append((type(exc), str(exc)))
            continue
        if event is None:
            return out
        out.append(fields(event))
    raise AssertionError("the stream did not end")


@pytest.mark.parametrize("kind", sorted(SOURCES))
@pytest.mark.parametrize("ms", [2**62, -(2**62), 253402300800000])  # past datetime's range either way
def test_an_event_smithy_cannot_build_fails_in_its_place_and_the_rest_follow(kind, ms):
    """A timestamp header out of datetime's range: smithy raises for that frame alone, in order."""
    from aws_eventstream import Timestamp, encode

    good = many(3)
    data = STOCK_ENCODE(good[0]) + encode({"t": Timestamp(ms)}, b"bad") + stream(good[1:])

    def run_on(installed):
        source = SOURCES[kind](data, [])
        with ours.installed() if installed else contextlib.nullcontext():
            return asyncio.run(_every_outcome(source))
    stock = run_on(False)
    assert len(stock) == 4 and stock[1][0] in (ValueError, OverflowError)  # good, the error, good, good
    assert run_on(True) == stock


def test_sources_are_read_independently():
    a, b = stream(many(7)), stream(many(9)[::-1])

    async def interleaved():
        sa, sb = AsyncBytesReader(agen(cut(a, [100]))), ExactStream(b)
        out = []
        for _ in range(10):
            out.append(await Event.decode_async(sa))
            out.append(await Event.decode_async(sb))
        return [None if e is None else fields(e) for e in out]

    stock = asyncio.run(interleaved())
    with ours.installed():
        assert asyncio.run(interleaved()) == stock


def test_an_iterable_is_not_read_past_the_chunk_an_event_ends_in():
    # A bidirectional stream: the next chunk may only come after the caller answers.
    frames = [STOCK_ENCODE(m) for m in many(5)]
    pulled = []

    async def live():
        for i, f in enumerate(frames):
            pulled.append(i)
            yield f

    async def run():
        source = AsyncBytesReader(live())
        for i in range(5):
            await Event.decode_async(source)
            assert pulled[-1] == i

    with ours.installed():
        asyncio.run(run())


def test_an_exact_stream_is_read_a_frame_at_a_time():
    messages = many(5)
    source = ExactStream(stream(messages))

    async def run():
        for m in messages:
            event = await Event.decode_async(source)
            assert sum(source.reads) == sum(event.prelude.total_length for event in done + [event])
            done.append(event)

    done = []
    with ours.installed():
        asyncio.run(run())
    first = len(STOCK_ENCODE(messages[0]))
    assert source.reads[:4] == [8, 4, first - 16, 4]  # smithy's own read sizes


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(0, 5), sizes=st.lists(st.integers(1, 40), min_size=1, max_size=8),
       flip_at=st.none() | st.integers(0, 10**6), cut_at=st.none() | st.integers(0, 10**6))
def test_a_source_that_answers_short_gives_what_stock_smithy_gives(n, sizes, flip_at, cut_at):
    """asyncio.StreamReader answers read(n) with what has arrived: every chunking, good or bad bytes, as stock."""
    data = stream(many(n)) + STOCK_ENCODE(EventMessage(headers={"k": "v"}, payload=b"tail"))
    if flip_at is not None:
        data = flip(data, flip_at % len(data))
    if cut_at is not None:
        data = data[:cut_at % len(data)]
    stock = decode(data, sizes, "short-reads")
    assert decode(data, sizes, "short-reads", installed=True) == stock


def test_a_source_that_answers_short_is_still_decoded_by_ours_when_it_answers_whole():
    messages = many(4)
    data = stream(messages)
    seen = []
    real = ours.Decoder.feed

    class Spy(ours.Decoder):
        def feed(self, chunk):
            seen.append(len(chunk))
            return real(self, chunk)
    events, exc = decode(data, [len(data)], "short-reads")
    with pytest.MonkeyPatch.context() as m:
        m.setattr(ours, "Decoder", Spy)
        assert decode(data, [len(data)], "short-reads", installed=True) == (events, exc)
    assert exc is None and len(events) == 4 and sum(seen) == len(data)


def test_an_event_subclass_gets_instances_of_itself():
    class Mine(Event):
        pass

    data = stream(many(3))
    with ours.installed():
        events, exc = asyncio.run(_decode_all(AsyncBytesReader(data)))
        assert exc is None
        mine = asyncio.run(Mine.decode_async(AsyncBytesReader(data)))
    assert type(mine) is Mine and mine.message == events[0].message


def test_a_closed_source_fails_as_smithys_does():
    async def run():
        source = AsyncBytesReader(agen([b"x"]))
        await source.close()
        try:
            await Event.decode_async(source)
        except Exception as exc:  # noqa: BLE001
            return type(exc), str(exc)

    stock = asyncio.run(run())
    with ours.installed():
        assert asyncio.run(run()) == stock


# --------------------------------------------------------------------------- encoding


def encoded(message, installed):
    try:
        if installed:
            with ours.installed():
                return message.encode()
        return message.encode()
    except Exception as exc:  # noqa: BLE001 - compared with smithy's
        return type(exc), str(exc)


def assert_same_bytes(message):
    stock = encoded(message, False)
    assert encoded(message, True) == stock
    return stock


@pytest.mark.parametrize("size", [0, 1, 2900, 1 << 20])
def test_encoding_every_header_type_gives_smithys_bytes(size):
    message = EventMessage(headers=every_header(), payload=b"\xab" * size)
    out = assert_same_bytes(message)
    assert isinstance(out, bytes)


@pytest.mark.parametrize("headers", [
    pytest.param({}, id="none"),
    pytest.param({"i": 2**31}, id="int-over-32-bits"),
    pytest.param({"b": Byte(128)}, id="byte-out-of-range"),
    pytest.param({"s": Short(-32769)}, id="short-out-of-range"),
    pytest.param({"l": Long(2**63)}, id="long-out-of-range"),
    pytest.param({"ba": bytearray(b"x")}, id="bytearray"),
    pytest.param({"f": 1.5}, id="float"),
    pytest.param({"s": "x" * 32768}, id="string-over-limit"),
    pytest.param({"b": b"x" * 32767}, id="bytes-at-limit"),
    pytest.param({"": "empty name"}, id="empty-name"),
    pytest.param({"n" * 256: 1}, id="name-over-255"),
    pytest.param({"\ud800": 1}, id="surrogate-name"),
    pytest.param({"v": "\ud800"}, id="surrogate-value"),
    pytest.param({f"h{i}": "v" * 30000 for i in range(5)}, id="block-over-limit"),
    pytest.param({"t": datetime.datetime(2024, 1, 1, 12, 0, 0, 123456)}, id="naive-datetime"),
    pytest.param({"t": datetime.datetime(1960, 1, 1, 0, 0, 0, 500, tzinfo=UTC)}, id="negative-fraction"),
    pytest.param({"t": datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone(datetime.timedelta(hours=5)))},
                 id="offset-datetime"),
    pytest.param({"true": True, "int": 1, "s": "x"}, id="bool-int-str"),
    pytest.param({"sub": type("S", (str,), {})("x")}, id="str-subclass"),
])
def test_encoding_odd_headers_gives_smithys_bytes_or_error(headers):
    assert_same_bytes(EventMessage(headers=headers, payload=b"p"))


def test_encoding_odd_payloads_gives_smithys_result():
    for payload in (bytearray(b"abc"), memoryview(b"abc")):
        message = EventMessage(payload=b"")
        message.payload = payload
        assert_same_bytes(message)


def test_a_message_subclass_with_its_own_headers_bytes_keeps_them():
    class Signed(EventMessage):
        def _get_headers_bytes(self):
            return b"\x01z\x07\x00\x01!" + super()._get_headers_bytes()

    assert_same_bytes(Signed(headers={"a": "b"}, payload=b"p"))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(
    st.text(max_size=10),
    st.one_of(st.booleans(), st.integers(-(2**64), 2**64), st.builds(Byte, st.integers(-200, 200)),
              st.builds(Short, st.integers(-40000, 40000)), st.builds(Long, st.integers(-(2**64), 2**64)),
              st.binary(max_size=20), st.text(max_size=20), st.uuids(),
              st.datetimes(timezones=st.just(UTC)), st.datetimes()),
    max_size=6), st.binary(max_size=100))
def test_encoding_random_headers(headers, payload):
    out = assert_same_bytes(EventMessage(headers=headers, payload=payload))
    if isinstance(out, bytes):  # and decoding it gives smithy's event back
        assert_same(out, (), kinds=("iterable",))


# --------------------------------------------------------------------------- a real SDK's event stream


def test_bedrock_bidirectional_stream_through_its_receiver_and_publisher():
    pytest.importorskip("aws_sdk_bedrock_runtime", reason="aws-sdk-bedrock-runtime is not installed")
    from aws_sdk_bedrock_runtime import config as bedrock_config
    from aws_sdk_bedrock_runtime import models
    from smithy_aws_core.aio.protocols import RestJsonClientProtocol
    from smithy_aws_event_stream.aio import AWSEventPublisher, AWSEventReceiver

    codec = RestJsonClientProtocol(bedrock_config._PROTOCOL_SETTINGS).payload_codec
    deserialize = models._InvokeModelWithBidirectionalStreamOutputDeserializer().deserialize

    class Sink:
        def __init__(self):
            self.data = b""

        async def write(self, data):
            self.data += data

    async def converse():
        # What the client sends: audio chunks through the publisher...
        sink = Sink()
        publisher = AWSEventPublisher(payload_codec=codec, async_writer=sink)
        for i in range(5):
            chunk = models.BidirectionalInputPayloadPart(bytes_=bytes([i]) * 2900)
            await publisher.send(models.InvokeModelWithBidirectionalStreamInputChunk(value=chunk))
        # ...and what the service sends back, read by the receiver: chunks, then an error.
        replies = [EventMessage(headers={":message-type": "event", ":event-type": "chunk",
                                         ":content-type": "application/json"},
                                payload=b'{"bytes":"' + __import__("base64").b64encode(bytes([i]) * 2900) + b'"}')
                   for i in range(5)]
        replies.append(EventMessage(headers={":message-type": "exception", ":exception-type": "throttlingException",
                                             ":content-type": "application/json"},
                                    payload=b'{"message":"slow down"}'))
        wire = b"".join(m.encode() for m in replies)
        receiver = AWSEventReceiver(payload_codec=codec, source=AsyncBytesReader(agen(cut(wire, [1000]))),
                                    deserializer=deserialize)
        got = []
        try:
            while (event := await receiver.receive()) is not None:
                got.append(event)
        except Exception as exc:  # noqa: BLE001 - compared
            got.append((type(exc), str(exc)))
        return sink.data, wire, got

    stock = asyncio.run(converse())
    with ours.installed():
        mine = asyncio.run(converse())
    assert mine == stock
    assert len(stock[2]) == 6 and stock[2][0].value.bytes_ == bytes([0]) * 2900


# --------------------------------------------------------------------------- install


def test_install_is_idempotent_and_uninstall_restores_the_originals():
    assert not ours.is_installed()
    ours.install()
    ours.install()
    assert ours.is_installed()
    assert Event.__dict__["decode_async"] is not STOCK_DECODE and EventMessage.__dict__["encode"] is not STOCK_ENCODE
    ours.uninstall()
    ours.uninstall()
    assert not ours.is_installed()
    assert Event.__dict__["decode_async"] is STOCK_DECODE and EventMessage.__dict__["encode"] is STOCK_ENCODE


def test_installed_nests_and_keeps_an_outer_install():
    with ours.installed():
        with ours.installed():
            assert ours.is_installed()
        assert ours.is_installed()
    assert not ours.is_installed()
    ours.install()
    with ours.installed():
        pass
    assert ours.is_installed()
    ours.uninstall()
    assert not ours.is_installed()


def test_uninstall_leaves_a_later_patch_alone():
    ours.install()

    def theirs(self):
        return b"theirs"

    EventMessage.encode = theirs
    try:
        ours.uninstall()
        assert EventMessage.__dict__["encode"] is theirs
        assert Event.__dict__["decode_async"] is STOCK_DECODE
    finally:
        EventMessage.encode = STOCK_ENCODE


def test_install_from_many_threads():
    barrier = threading.Barrier(8)
    errors = []

    def churn():
        barrier.wait()
        for _ in range(200):
            with ours.installed():
                if not ours.is_installed():
                    errors.append("not installed inside a block")

    threads = [threading.Thread(target=churn) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and not ours.is_installed()


def test_a_source_is_dropped_with_its_reader():
    import gc

    with ours.installed():
        source = AsyncBytesReader(stream(many(3)))
        asyncio.run(Event.decode_async(source))
        assert any(ref() is source for ref, _ in ours._readers.values())
        del source
        gc.collect()
    assert not any(ref() is None for ref, _ in ours._readers.values())


# --------------------------------------------------------------------------- uninstall mid-stream


@pytest.mark.parametrize("kind", ["iterable", "bytesio", "exact", "reader-over-stream"])
@pytest.mark.parametrize("sizes", [(), (1,), (1000,), (5000,)], ids=["whole", "by-byte", "1000", "5000"])
@pytest.mark.parametrize("switch", [0, 1, 3, 7])
def test_uninstall_mid_stream_hands_the_rest_to_smithy(kind, sizes, switch):
    data = stream(many(9))
    stock = decode(data, sizes)

    async def run():
        source = SOURCES[kind](data, list(sizes))
        events = []
        ours.install()
        for _ in range(switch):
            events.append(await Event.decode_async(source))
        ours.uninstall()
        rest, exc = await _decode_all(source)
        return outcome(events + rest, exc)

    assert asyncio.run(run()) == stock


@pytest.mark.parametrize("kind", ["iterable", "exact"])
def test_reinstalling_mid_stream_goes_on_from_the_same_place(kind):
    data = stream(many(12))
    stock = decode(data, (700,))

    async def run():
        source = SOURCES[kind](data, [700])
        events = []
        for i in range(12):
            (ours.install if i % 2 else ours.uninstall)()
            events.append(await Event.decode_async(source))
        ours.uninstall()
        rest, exc = await _decode_all(source)
        return outcome(events + rest, exc)

    assert asyncio.run(run()) == stock


@pytest.mark.parametrize("kind", ["iterable", "exact"])
def test_uninstall_while_a_read_is_in_progress(kind):
    data = stream(many(6))
    stock = decode(data, (300,))

    class Gate:
        """A source whose first read once armed waits until the test opens it."""

        def __init__(self, inner):
            self.inner, self.armed = inner, False
            self.opened, self.waiting = asyncio.Event(), asyncio.Event()

        async def read(self, size=-1):
            if self.armed:
                self.armed = False
                self.waiting.set()
                await self.opened.wait()
            return await self.inner.read(size)

        def __aiter__(self):
            return self

        async def __anext__(self):
            chunk = await self.read(300)
            if not chunk:
                raise StopAsyncIteration
            return chunk

    async def run():
        inner = ExactStream(data)
        if kind == "iterable":
            source = AsyncBytesReader(Gate(inner).__aiter__())
            gate = source._data
        else:
            source = gate = Gate(inner)
        ours.install()
        events = [await Event.decode_async(source) for _ in range(2)]
        gate.armed = True
        pending = asyncio.ensure_future(Event.decode_async(source))
        waiting = asyncio.ensure_future(gate.waiting.wait())
        await asyncio.wait({pending, waiting}, return_when=asyncio.FIRST_COMPLETED)
        assert gate.waiting.is_set()  # the call is inside a read
        ours.uninstall()
        gate.opened.set()
        events.append(await pending)
        rest, exc = await _decode_all(source)
        return outcome(events + rest, exc)

    assert asyncio.run(run()) == stock
