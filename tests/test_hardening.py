"""Hostile callers: re-entrant callbacks, odd objects, uninitialised objects, failed allocations.

One body for both twins (fixture ``codec``). Each test names the defect class it guards.
"""

from __future__ import annotations

import enum
import gc
import os
import subprocess
import sys
import textwrap
import threading
import uuid
import weakref

import pytest

from aws_eventstream import ChecksumError, EventStreamError, HeaderError, Int8, Int16, Message, Timestamp
from helpers import raw_frame, raw_header


# --------------------------------------------------------------------------- the header-block cache


def test_a_callback_run_by_cache_eviction_sees_a_whole_cache(codec):
    """Evicting a cached block frees its dict; a weakref callback then decodes the same block."""
    frame = codec.encode({"id": uuid.UUID(int=1), "n": "x"})
    msg = codec.decode(frame)
    got = []
    ref = weakref.ref(msg.headers["id"], lambda _: got.append(codec.decode(frame)))
    del msg
    for i in range(20_000):
        if got:
            break
        codec.decode(codec.encode({"k": str(i)}))
    assert got, "the cached block was never evicted"
    assert ref() is None
    junk = [[i] for i in range(10_000)]  # reuses freed memory, if any was handed out
    assert type(got[0].headers["id"]) is uuid.UUID, type(got[0].headers["id"])
    del junk
    assert got[0] == Message({"id": uuid.UUID(int=1), "n": "x"}, b"")


def test_cache_entries_do_not_depend_on_freed_strings(codec):
    """Names and values cached by the decoder survive every other object being collected."""
    frames = [codec.encode({f"name-\u00e9{i}": f"value-\u2603{i}"}) for i in range(600)]
    for _ in range(3):
        for i, frame in enumerate(frames):
            assert codec.decode(frame).headers == {f"name-\u00e9{i}": f"value-\u2603{i}"}
        gc.collect()


# --------------------------------------------------------------------------- odd header values


class _UUIDWith(uuid.UUID):
    """A UUID whose ``bytes`` is whatever the test says."""

    __slots__ = ("_fake",)

    def __init__(self, fake):
        super().__init__(int=7)
        object.__setattr__(self, "_fake", fake)

    @property
    def bytes(self):
        return self._fake


class _Bytes(bytes):
    pass


@pytest.mark.parametrize("fake", [b"", b"x" * 15, b"x" * 17, 12, "0123456789abcdef", None,
                                  _Bytes(b"x" * 16), bytearray(16)])
def test_a_uuid_whose_bytes_are_not_16_bytes_is_refused(codec, fake):
    with pytest.raises(HeaderError, match=r"header 'id': _UUIDWith\.bytes is"):
        codec.encode({"id": _UUIDWith(fake)})
    with pytest.raises(HeaderError, match="header 'id'"):
        codec.Encoder({"a": "b", "id": _UUIDWith(fake)})


def test_a_uuid_subclass_with_honest_bytes_encodes_as_a_uuid(codec):
    value = _UUIDWith(uuid.UUID(int=99).bytes)
    frame = codec.encode({"id": value})
    assert codec.decode(frame).headers == {"id": uuid.UUID(int=99)}


def test_a_uuid_with_a_corrupt_int_is_refused(codec):
    broken = uuid.UUID(int=1)
    object.__setattr__(broken, "int", 1 << 200)  # what .bytes is computed from
    with pytest.raises(HeaderError, match="UUID.bytes failed"):
        codec.encode({"id": broken})


class _Name(str, enum.Enum):
    EVENT = ":event-type"


if sys.version_info >= (3, 11):
    class _StrName(enum.StrEnum):
        EVENT = ":event-type"


@pytest.mark.parametrize("value", ["AudioEvent", b"\x00raw", 5, 2**40, True, Int16(3),
                                   Timestamp(1_700_000_000_000), uuid.UUID(int=5)])
def test_str_subclass_names_encode_like_their_characters(codec, value):
    plain = codec.encode({":event-type": value})
    assert codec.encode({_Name.EVENT: value}) == plain
    assert codec.Encoder({_Name.EVENT: value}).encode(b"") == plain
    if sys.version_info >= (3, 11):
        assert codec.encode({_StrName.EVENT: value}) == plain


class _Str(str):
    def encode(self, *args, **kwargs):  # never called: the characters are what count
        return b"lie"

    def __str__(self):
        return "lie"


class _Int(int):
    def __index__(self):
        return 99

    def __int__(self):
        return 98

    def __le__(self, other):
        return False

    def __ge__(self, other):
        return False


class _Int8(Int8):
    def __index__(self):
        return 99


class _ByteArray(bytearray):
    def __bytes__(self):
        return b"lie"


def test_subclass_values_encode_as_their_real_value(codec):
    odd = {"s": _Str("real"), "i": _Int(5), "big": _Int(2**40), "i8": _Int8(-3),
           "raw": _Bytes(b"real"), "ba": _ByteArray(b"real")}
    plain = {"s": "real", "i": 5, "big": 2**40, "i8": Int8(-3), "raw": b"real", "ba": b"real"}
    assert codec.encode(odd) == codec.encode(plain)
    assert codec.decode(codec.encode(odd)).headers == plain


def test_names_that_encode_alike_are_duplicates(codec):
    class Loose(str):
        def __eq__(self, other):
            return False

        def __hash__(self):
            return id(self)

    with pytest.raises(HeaderError, match="'a': duplicate header name"):
        codec.encode({"a": 1, Loose("a"): 2})
    with pytest.raises(HeaderError, match="duplicate header name"):
        codec.Encoder({Loose("b"): 1, "c": 2, Loose("b"): 3})


def test_a_mapping_that_yields_a_name_twice_is_refused(codec):
    from collections.abc import Mapping

    class Twice(Mapping):
        def __getitem__(self, key):
            return "v"

        def __iter__(self):
            return iter(["x", "x"])

        def __len__(self):
            return 2

    with pytest.raises(HeaderError, match="'x': duplicate header name"):
        codec.encode(Twice())


def test_huge_ints_are_refused_with_a_header_error(codec):
    with pytest.raises(HeaderError, match=r"integer a 20000-bit integer does not fit"):
        codec.encode({"n": 1 << 19999})
    with pytest.raises(HeaderError, match="out of range"):
        codec.encode({"n": int.__new__(Int8, 1 << 20000)})


def test_a_value_callback_that_changes_the_headers_does_not_change_the_frame(codec):
    """Both twins read a mapping once, before any value's own code runs."""
    import datetime as dt

    headers = {}

    class Sneaky(dt.tzinfo):
        def utcoffset(self, when):
            headers.clear()
            headers["late"] = "x"
            return dt.timedelta(0)

    headers.update({"a": "1", "when": dt.datetime(2024, 1, 1, tzinfo=Sneaky()), "b": "2"})
    frame = codec.encode(headers)
    assert list(codec.decode(frame).headers) == ["a", "when", "b"]


def test_a_callback_may_use_the_codec_while_a_header_is_being_encoded(codec):
    import datetime as dt

    class Reentrant(dt.tzinfo):
        def utcoffset(self, when):
            inner = codec.encode({"inner": uuid.UUID(int=3)}, b"p" * 3000)
            assert codec.decode(inner).payload == b"p" * 3000
            return dt.timedelta(hours=1)

    when = dt.datetime(2024, 1, 1, 1, tzinfo=Reentrant())
    frame = codec.encode({"t": when, "s": "x" * 2000})
    assert codec.decode(frame).headers["t"] == Timestamp(1_704_067_200_000)


def test_a_finalizer_that_empties_the_headers_while_an_error_is_made(codec):
    """Making the error allocates; the collector runs a finalizer that frees the header."""
    headers = {}

    class Clear:
        def __del__(self):
            headers.clear()

    headers["".join(["na", "me"])] = "".join(["\ud800", "x"])  # only the dict holds them
    junk = Clear()
    junk.cycle = junk
    del junk
    old = gc.get_threshold()
    try:
        gc.set_threshold(1)
        try:
            frame = codec.encode(headers)
        except HeaderError as exc:
            assert str(exc).startswith("header 'name': value is not encodable as UTF-8")
        else:  # the collector ran before the header was reached
            assert frame == codec.encode({})
    finally:
        gc.set_threshold(*old)
        gc.collect()


# --------------------------------------------------------------------------- objects never initialised


def test_an_encoder_never_initialised_refuses_cleanly(codec):
    enc = codec.Encoder.__new__(codec.Encoder)
    for call in (lambda: enc.encode(b"x"), lambda: enc.header_block, lambda: enc.__reduce__()):
        with pytest.raises(ValueError, match="never initialised"):
            call()
    assert "not initialised" in repr(enc)


def test_a_decoder_never_initialised_refuses_cleanly(codec):
    dec = codec.Decoder.__new__(codec.Decoder)
    frame = codec.encode({"a": "b"})
    for call in (lambda: dec.feed(frame), dec.close):
        with pytest.raises(ValueError, match="never initialised"):
            call()
    assert "failed" in repr(dec)
    dec.__init__()
    assert dec.feed(frame) == [Message({"a": "b"}, b"")]


def test_reinitialising_a_decoder_starts_a_new_stream(codec):
    frame = codec.encode({"a": "b"}, b"xyz")
    dec = codec.Decoder()
    dec.feed(frame[:20])
    with pytest.raises(ChecksumError):
        dec.feed(b"\xff" * 40)
    dec.__init__(max_frame=1000)
    assert (dec.offset, dec.buffered, dec.max_frame) == (0, 0, 1000)
    assert dec.feed(frame) == [Message({"a": "b"}, b"xyz")]


def test_reinitialising_an_encoder_while_it_encodes_keeps_its_block_alive(codec):
    """Acquiring the payload runs the payload's code on Python 3.12+: it re-initialises the encoder."""
    enc = codec.Encoder({"first": "x" * 500})
    want = codec.encode({"first": "x" * 500}, b"payload")

    class Payload:
        def __buffer__(self, flags):
            enc.__init__({"second": "y"})
            gc.collect()
            return memoryview(b"payload")

    if sys.version_info < (3, 12):
        pytest.skip("a Python class can give a buffer only from Python 3.12 on")
    assert enc.encode(Payload()) == want
    assert enc.encode(b"payload") == codec.encode({"second": "y"}, b"payload")


# --------------------------------------------------------------------------- the Decoder's state


def test_a_callback_during_feed_cannot_use_the_same_decoder(codec):
    """Building a message runs Python code (uuid.UUID); code run then cannot use the decoder."""
    frame = codec.encode({"id": uuid.UUID(int=4)}, b"x")
    dec = codec.Decoder()
    dec.feed(frame[:30])  # the next feed parses from the decoder's own buffer
    seen = []

    def profile(frame_, event, arg):
        if event == "call" and frame_.f_code.co_name == "__init__" and "uuid" in frame_.f_code.co_filename:
            sys.setprofile(None)
            for call in (lambda: dec.feed(frame), dec.close, dec.__init__):
                try:
                    call()
                except RuntimeError as exc:
                    seen.append(str(exc))

    sys.setprofile(profile)
    try:
        msgs = dec.feed(frame[30:] + frame)
    finally:
        sys.setprofile(None)
    assert msgs == [Message({"id": uuid.UUID(int=4)}, b"x")] * 2
    assert len(seen) == 3 and all("while another call on the same decoder runs" in s for s in seen), seen
    assert dec.feed(frame) == msgs[:1] and dec.offset == 3 * len(frame)
    dec.close()


def test_two_threads_feeding_one_decoder_get_an_error_not_a_corrupt_decoder(codec):
    frame = codec.encode({"u": uuid.UUID(int=9)}, b"p" * 100)
    dec = codec.Decoder()
    errors, counts = [], []
    barrier = threading.Barrier(2)

    def work():
        barrier.wait()
        n = 0
        for _ in range(300):
            try:
                n += len(dec.feed(frame * 20))
            except RuntimeError as exc:
                errors.append(exc)
        counts.append(n)

    threads = [threading.Thread(target=work) for _ in range(2)]
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old)
    assert sum(counts) == 20 * (600 - len(errors))
    assert all("one decoder serves one stream" in str(e) for e in errors)
    assert dec.buffered == 0
    dec.close()


def test_any_error_inside_feed_leaves_the_decoder_failed_with_the_good_messages(codec):
    good = codec.encode({"a": "1"})
    dec = codec.Decoder()
    with pytest.raises(EventStreamError) as info:
        dec.feed(good + good + b"\x00" * 16)
    assert len(info.value.messages) == 2
    for call in (lambda: dec.feed(good), dec.close):
        with pytest.raises(EventStreamError) as again:
            call()
        assert again.value.messages == () and again.value.__cause__ is info.value


_BUFFER_MEMORY_ERROR = textwrap.dedent("""
    import resource, struct, zlib
    from aws_eventstream import {module} as codec
    pre = struct.pack(">II", 1 << 30, 3)
    prelude = pre + struct.pack(">I", zlib.crc32(pre))
    dec = codec.Decoder(max_frame={max_frame})
    dec.feed(prelude[:5])
    dec.feed(prelude[5:])               # the prelude of a 1 GiB frame, in two feeds
    print("prelude held:", dec.buffered)
    body = b"z" * (300 << 20)           # made before the limit is set
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/statm") as f:
        used = int(f.read().split()[0]) * resource.getpagesize()
    resource.setrlimit(resource.RLIMIT_AS, (used + (200 << 20), hard))
    try:
        probe = bytearray(250 << 20)
    except MemoryError:
        pass
    else:                               # user-mode emulators do not pass RLIMIT_AS on
        print("RLIMIT_AS not enforced")
        raise SystemExit(0)
    try:
        dec.feed(body)
    except MemoryError:
        print("MemoryError")
    else:
        print("no MemoryError")
    for _ in range(3):
        try:
            dec.feed(b"z" * 100)
        except MemoryError:
            print("still failed")
        else:
            print("fed", dec.buffered)
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS and /proc are Linux's")
@pytest.mark.parametrize("max_frame", [0xFFFFFFFF, "1 << 31"])
def test_a_failed_buffer_allocation_fails_the_decoder(codec, max_frame):
    """A frame's bytes arrive and its buffer cannot grow to hold them."""
    module = "_codec_c" if codec.__name__.endswith("_codec_c") else "_codec_py"
    script = _BUFFER_MEMORY_ERROR.format(module=module, max_frame=max_frame)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "AWS_EVENTSTREAM_PURE_PYTHON": "0"})
    assert out.returncode == 0, out.stderr[-2000:]
    if "RLIMIT_AS not enforced" in out.stdout:
        pytest.skip("this system does not enforce RLIMIT_AS (qemu-user passes it to no one)")
    assert out.stdout.split("\n")[:5] == ["prelude held: 12", "MemoryError"] + ["still failed"] * 3, out.stdout


def test_a_prelude_reserves_no_memory_for_the_frame_it_announces(codec):
    """Only bytes that arrived are held: preludes of large frames cost a peer nothing."""
    import tracemalloc

    frame = codec.encode({"a": "b"}, b"x" * (20 << 20))
    tracemalloc.start()
    try:
        decoders = [codec.Decoder() for _ in range(100)]
        for dec in decoders:
            assert dec.feed(frame[:100]) == []
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert held < 1 << 20, held  # 100 x 100 bytes, not 100 x 20 MiB
    assert decoders[0].feed(frame[100:])[0].payload == b"x" * (20 << 20)


def test_a_failed_decoder_delivers_its_good_messages_once(codec):
    good = codec.encode({"n": 1}, b"good")
    bad = bytearray(codec.encode({"n": 2}, b"bad"))
    bad[-1] ^= 1
    dec = codec.Decoder()
    delivered = []
    errors = []
    for call in (lambda: dec.feed(good + bytes(bad)), lambda: dec.feed(b"more"), dec.close):
        try:
            delivered += call()
        except ChecksumError as exc:
            delivered += exc.messages
            errors.append(exc)
    assert [m.payload for m in delivered] == [b"good"]
    assert len(errors) == 3 and errors[1].__cause__ is errors[0] and errors[2].__cause__ is errors[0]
    assert str(errors[1]) == str(errors[0])


def test_the_decoder_reads_a_callers_buffer_once(codec):
    """Code run while a message is built changes the buffer being fed: what was fed counts."""
    first = codec.encode({"u": uuid.UUID(int=1)}, b"first")
    second, changed = codec.encode({"n": 2}, b"second"), codec.encode({"n": 3}, b"SECOND")
    for data in (bytearray(first + second), memoryview(bytearray(first + second))):
        target = data if isinstance(data, bytearray) else data.obj

        def profile(frame, event, arg):
            if event == "call" and frame.f_code is uuid.UUID.__init__.__code__:
                target[len(first):] = changed

        sys.setprofile(profile)
        try:
            got = codec.Decoder().feed(data)
        finally:
            sys.setprofile(None)
        assert [m.payload for m in got] == [b"first", b"second"]


def test_methods_called_on_the_wrong_object_raise(codec):
    for call in (lambda: codec.Encoder.encode(None, b"x"), lambda: codec.Decoder.close(None),
                 lambda: codec.Decoder.feed(bytearray(256), b"\x00" * 20),
                 lambda: codec.Encoder.__reduce__(object()), lambda: list(map(codec.Encoder.encode, [b"p"]))):
        with pytest.raises((TypeError, AttributeError)):
            call()


def test_replacing_names_in_the_codec_module_cannot_corrupt_it(codec, monkeypatch):
    class Other:
        def __init__(self, headers, payload):
            self.headers, self.payload = headers, payload

    frame = codec.encode({"a": "b"}, b"x")
    monkeypatch.setattr(codec, "Message", Other)
    monkeypatch.setattr(codec, "uuid_bytes", lambda name, value: b"\x01")
    monkeypatch.setattr(codec, "canonical", lambda name, value: value)
    msg = codec.decode(frame)
    assert (msg.headers, msg.payload) == ({"a": "b"}, b"x")
    for value in (uuid.UUID(int=0), 1.5):
        try:
            out = codec.encode({"u": value})
        except (HeaderError, RecursionError):
            continue
        assert codec.decode(out).headers == {"u": value}


def test_a_released_view_is_named_in_the_error(codec):
    view = memoryview(b"abc")
    view.release()
    with pytest.raises(ValueError, match="^payload: operation forbidden on released memoryview"):
        codec.encode({}, view)
    with pytest.raises(ValueError, match="^frame: "):
        codec.decode(view)
    with pytest.raises(HeaderError, match="^header 'v': operation forbidden on released memoryview"):
        codec.encode({"v": view})


# --------------------------------------------------------------------------- bytes read once


def test_a_decoded_header_block_is_the_one_checksummed(codec):
    """The header block of a frame in a bytearray is copied as it is checked, then parsed."""
    block = raw_header(b"k", 7, b"\x00\x03abc")
    frame = bytearray(raw_frame(block, b"p" * 70_000))  # big enough to release the GIL
    stop = False

    def writer():
        i = 0
        while not stop:
            frame[12 + 5 + i % 3] ^= 0x01  # 'abc' <-> 'a`b'...: still valid UTF-8
            i += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        for _ in range(200):
            try:
                msg = codec.decode(frame)
            except ChecksumError:
                continue
            assert msg.headers == {"k": "abc"}
    finally:
        stop = True
        thread.join()
