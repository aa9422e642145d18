"""aws_eventstream.botocore under botocore, boto3 and aiobotocore: nothing a caller sees changes.

The differential tests build frames from the event-stream shapes of botocore's own service
models and parse them with botocore's real parsers, stock and with our buffer (installed
process-wide, or enabled on one parser), whole and in random chunkings; the results must be
equal: the same events, the same initial response, the same error at the same place.
"""

from __future__ import annotations

import asyncio
import os
import struct
import subprocess
import sys
import threading
import uuid
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

botocore = pytest.importorskip("botocore", reason="botocore is not installed (the [botocore] extra)")

import botocore.eventstream as be  # noqa: E402
import botocore.session  # noqa: E402
from botocore.exceptions import EventStreamError as BotocoreEventStreamError  # noqa: E402

from aws_eventstream import (ChecksumError, EventStreamError, FrameError, HeaderError, Int8,  # noqa: E402
                             Int16, Int32, Int64, Timestamp, encode)
from aws_eventstream import botocore as ours  # noqa: E402

from helpers import cut, raw_frame, raw_header  # noqa: E402
from botocore_cases import (HERE, NAMED, OPERATIONS, _IDS, _chunkings, _events, _flip,  # noqa: E402
                            _op, _scenarios, assert_same, run_async, run_sync, serve_bedrock, spy_plans)


def test_the_named_operations_are_found():
    assert NAMED <= set(OPERATIONS)


@pytest.mark.parametrize("service, operation", OPERATIONS, ids=_IDS)
def test_differential_whole_and_by_byte(service, operation):
    protocol, op = _op(service, operation)
    for name, data in _scenarios(protocol, op).items():
        for sizes in ([], [1], [3, 11], [len(data) or 1]):
            stock = run_sync(protocol, op, data, sizes, "stock")
            for mode in ("installed", "enabled"):
                assert_same(stock, run_sync(protocol, op, data, sizes, mode))


@pytest.mark.parametrize("service, operation", OPERATIONS, ids=_IDS)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sizes=_chunkings, which=st.integers(0, 100))
def test_differential_random_chunks(service, operation, sizes, which):
    protocol, op = _op(service, operation)
    scenarios = _scenarios(protocol, op)
    name = sorted(scenarios)[which % len(scenarios)]
    data = scenarios[name]
    stock = run_sync(protocol, op, data, sizes, "stock")
    assert_same(stock, run_sync(protocol, op, data, sizes, "installed"))
    assert_same(stock, run_sync(protocol, op, data, sizes, "enabled"))


def test_the_scenarios_reach_what_they_mean_to():
    """The differential tests are only as good as their streams: each case does what it says."""
    protocol, op = _op("bedrock-runtime", "ConverseStream")
    s = _scenarios(protocol, op)
    assert len(run_sync(protocol, op, s["events"], [], "stock")["events"]) == 2 * len(_events(protocol, op)) > 0
    assert isinstance(run_sync(protocol, op, s["error-frame"], [], "stock")["error"], BotocoreEventStreamError)
    assert isinstance(run_sync(protocol, op, s["exception-0"], [], "stock")["error"], BotocoreEventStreamError)
    assert isinstance(run_sync(protocol, op, s["bad-message-crc"], [], "stock")["error"], be.ChecksumMismatch)
    assert isinstance(run_sync(protocol, op, s["bad-prelude-crc"], [], "stock")["error"], be.ChecksumMismatch)
    assert run_sync(protocol, op, s["truncated"], [], "stock")["error"] is None
    protocol, op = _op("kinesis", "SubscribeToShard")
    s = _scenarios(protocol, op)
    assert run_sync(protocol, op, s["events"], [], "stock")["initial"] is not None
    assert run_sync(protocol, op, s["no-initial-response"], [], "stock")["error"] is not None


# --------------------------------------------------------------------------- aiobotocore


@pytest.mark.parametrize("service, operation", sorted(NAMED), ids=[f"{s}.{o}" for s, o in sorted(NAMED)])
def test_aiobotocore_differential(service, operation):
    pytest.importorskip("aiobotocore", reason="aiobotocore is not installed (the [aiobotocore] extra)")
    protocol, op = _op(service, operation)
    for name, data in _scenarios(protocol, op).items():
        for sizes in ([], [1], [5, 17]):
            stock = run_sync(protocol, op, data, sizes, "stock")
            assert_same(stock, run_async(protocol, op, data, sizes, "stock"), decoded_by_us=False)
            assert_same(stock, run_async(protocol, op, data, sizes, "installed"))
            assert_same(stock, run_async(protocol, op, data, sizes, "enabled"))


def test_install_patches_aiobotocore_and_uninstall_restores_it():
    aio = pytest.importorskip("aiobotocore.eventstream", reason="aiobotocore is not installed")
    original = be.EventStreamBuffer
    assert aio.EventStreamBuffer is original
    with ours.installed():
        assert aio.EventStreamBuffer is ours.EventStreamBuffer
    assert aio.EventStreamBuffer is original


def test_aiobotocore_imported_while_installed_is_restored_to_botocores_class():
    code = (
        "import botocore.eventstream as be\n"
        "from aws_eventstream import botocore as ours\n"
        "original = be.EventStreamBuffer\n"
        "ours.install()\n"
        "import aiobotocore.eventstream as aio\n"
        "assert aio.EventStreamBuffer is ours.EventStreamBuffer\n"
        "ours.uninstall()\n"
        "assert aio.EventStreamBuffer is original and be.EventStreamBuffer is original\n"
    )
    pytest.importorskip("aiobotocore", reason="aiobotocore is not installed")
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------- the buffer itself


_ALL_TYPES = {"t": True, "f": False, "b": Int8(-2), "s": Int16(-300), "i": Int32(70000), "l": Int64(-(1 << 40)),
              "a": b"\x00bytes", "u": "utf8 \u00e9", "ts": Timestamp(1700000000123),
              "id": uuid.UUID("0123456789abcdef0123456789abcdef")}


def _both(data, sizes=()):
    """(botocore's messages or error, ours) for ``data`` cut into ``sizes``."""
    out = []
    for cls in (ours._ORIGINAL_BUFFER, ours.EventStreamBuffer):
        buf, got, err = cls(), [], None
        try:
            for chunk in cut(data, list(sizes)):
                buf.add_data(chunk)
                got.extend(buf)
        except Exception as exc:
            err = exc
        out.append((got, err))
    return out


def _fields(m):
    return (m.headers, m.payload, m.crc, m.prelude.total_length, m.prelude.headers_length, m.prelude.crc,
            m.prelude.payload_length, m.to_response_dict(), m.to_response_dict(201))


def test_every_header_type_as_botocore_gives_it():
    frame = encode(_ALL_TYPES, b"payload")
    (theirs, _), (mine, _) = _both(frame)
    assert [_fields(m) for m in mine] == [_fields(m) for m in theirs]
    for k, v in mine[0].headers.items():
        assert type(v) is type(theirs[0].headers[k]), k  # plain int, never Int8 or Timestamp
    assert mine[0].headers["id"] == _ALL_TYPES["id"].bytes
    assert isinstance(mine[0], be.EventStreamMessage)
    assert isinstance(mine[0].prelude, be.MessagePrelude)


@settings(max_examples=60, deadline=None)
@given(sizes=_chunkings, n=st.integers(0, 6), cut=st.integers(0, 200))
def test_buffer_matches_botocore_in_any_chunking(sizes, n, cut):
    frames = [encode({":event-type": f"e{i}", "n": Int32(i)}, b"x" * (i * 37)) for i in range(n)]
    data = b"".join(frames) + encode(_ALL_TYPES, b"tail")[:cut]
    (theirs, e1), (mine, e2) = _both(data, sizes)
    assert e1 is None and e2 is None
    assert [_fields(m) for m in mine] == [_fields(m) for m in theirs]


_FLIPPED = b"".join(encode({":event-type": f"e{i}", "n": Int32(i), "id": uuid.UUID(int=i)}, bytes(range(i * 9)))
                    for i in range(6))


@settings(max_examples=300, deadline=None)
@given(flips=st.lists(st.tuples(st.integers(0, len(_FLIPPED) - 1), st.integers(0, 7)), min_size=1, max_size=3),
       sizes=_chunkings)
def test_flipped_bits_give_botocores_messages_and_error(flips, sizes):
    data = bytearray(_FLIPPED)
    for at, bit in flips:
        data[at] ^= 1 << bit
    (theirs, e1), (mine, e2) = _both(bytes(data), sizes)
    assert [_fields(m) for m in mine] == [_fields(m) for m in theirs]
    assert (e1 is None) == (e2 is None)
    if e1 is not None:
        assert isinstance(e2, type(e1)) and isinstance(e2, EventStreamError) and str(e2) == str(e1)


def _raw_frame(block, payload, hlen=None, total=None):
    """A frame with valid CRCs around whatever lengths it is given."""
    hlen = len(block) if hlen is None else hlen
    total = 16 + len(block) + len(payload) if total is None else total
    pre = struct.pack(">II", total, hlen)
    pre += struct.pack(">I", zlib.crc32(pre))
    body = pre + block + payload
    return body + struct.pack(">I", zlib.crc32(body))


_GOOD = encode({":event-type": "a"}, b"good")
_BAD = {
    "prelude-crc": (_flip(_GOOD, 9), ours.ChecksumMismatch, ChecksumError),
    "message-crc": (_flip(_GOOD, -6), ours.ChecksumMismatch, ChecksumError),
    "duplicate": (_raw_frame(b"\x01a\x07\x00\x01b\x01a\x07\x00\x01c", b"p"), ours.DuplicateHeader, HeaderError),
    "headers-length": (_raw_frame(b"", b"", hlen=200 * 1024, total=300 * 1024), ours.InvalidHeadersLength,
                       HeaderError),
    "payload-length": (_raw_frame(b"", b"", total=ours.MAX_PAYLOAD_LENGTH + 17), ours.InvalidPayloadLength,
                       FrameError),
}


@pytest.mark.parametrize("case", sorted(_BAD))
@pytest.mark.parametrize("sizes", [(), (1,), (7, 13), (4096,)], ids=["whole", "bytes", "odd", "4k"])
def test_errors_are_botocores_and_ours(case, sizes):
    data, cls, base = _BAD[case]
    data = _GOOD + data + _GOOD
    if case in ("headers-length", "payload-length") and sizes == (1,):
        sizes = (5,)  # a byte at a time through a 24 MiB stream is slow and proves nothing more
    (theirs, e1), (mine, e2) = _both(data, sizes)
    assert [_fields(m) for m in mine] == [_fields(m) for m in theirs]
    assert type(e2) is cls and isinstance(e2, type(e1)) and isinstance(e2, base)
    assert isinstance(e2, EventStreamError) and isinstance(e2, be.ParserError)
    assert str(e2) == str(e1)


def test_an_error_is_raised_again_on_every_later_call():
    buf = ours.EventStreamBuffer()
    buf.add_data(_GOOD + _flip(_GOOD, -6))
    assert len([next(buf)]) == 1
    for _ in range(3):
        with pytest.raises(ours.ChecksumMismatch):
            next(buf)
    buf.add_data(_GOOD)
    with pytest.raises(ours.ChecksumMismatch):
        buf.next()


def test_oversized_payload_is_refused_from_its_prelude_alone():
    frame = _raw_frame(b"", b"", total=ours.MAX_PAYLOAD_LENGTH + 17)
    for cls in (be.EventStreamBuffer, ours.EventStreamBuffer):
        buf = cls()
        buf.add_data(frame[:12])
        with pytest.raises(be.InvalidPayloadLength):
            list(buf)


def _value(name, tbyte, n):
    return raw_header(name, tbyte, struct.pack(">H", n) + b"v" * n)


# botocore's own limits, as the botocore installed has them (24 MiB payloads from 1.36, 16 MiB before)
_PAYLOAD, _BLOCK = ours.MAX_PAYLOAD_LENGTH, ours.MAX_HEADERS_LENGTH
_RECORDS = (raw_header(b":message-type", 7, b"\x00\x05event") + raw_header(b":event-type", 7, b"\x00\x07Records")
            + raw_header(b":content-type", 7, b"\x00\x18application/octet-stream"))
# A header block of exactly botocore's limit: two long values (no value may pass 65,535 bytes).
_BLOCK_FULL = _value(b"a", 6, 65535) + _value(b"b", 7, _BLOCK - len(_value(b"a", 6, 65535)) - len(_value(b"b", 7, 0)))
assert len(_BLOCK_FULL) == _BLOCK

#: Frames at and just past each limit botocore has, and what stock botocore does with each.
_LIMITS = {
    "string value of 40,000 bytes": (raw_frame(_value(b"s", 7, 40000), b"x"), None),
    "byte array value of 65,535 bytes": (raw_frame(_value(b"b", 6, 65535), b"x"), None),
    "header block at the limit": (raw_frame(_BLOCK_FULL, b"x"), None),
    "header block at the limit + 1": (raw_frame(_BLOCK_FULL + raw_header(b"c", 0), b"x"), be.InvalidHeadersLength),
    "payload at the limit, beside headers": (raw_frame(_RECORDS, b"r" * _PAYLOAD), None),
    "payload at the limit + 1": (raw_frame(_RECORDS, b"r" * (_PAYLOAD + 1)), be.InvalidPayloadLength),
    "both over: botocore names the header block": (raw_frame(_BLOCK_FULL + raw_header(b"c", 0), b"r" * (_PAYLOAD + 1)),
                                                   be.InvalidHeadersLength),
}


@pytest.mark.parametrize("case", list(_LIMITS))
def test_botocores_limits_exactly(case):
    """What stock botocore accepts is accepted; what it refuses is refused with its class and text."""
    frame, refused = _LIMITS[case]
    for sizes in ((), (65536,)):
        (theirs, e1), (mine, e2) = _both(_GOOD + frame + _GOOD, sizes)
        assert (type(e1) if e1 else None) is refused, e1  # the case is what it says, on the botocore installed
        assert [_fields(m) for m in mine] == [_fields(m) for m in theirs]
        if refused is None:
            assert e2 is None and len(mine) == 3
        else:
            assert isinstance(e2, refused) and isinstance(e2, EventStreamError) and str(e2) == str(e1)
            assert len(mine) == 1


def test_botocores_limits_through_s3_select():
    """An S3 Select Records event with a payload at botocore's limit (and past it): stock, installed and enabled."""
    protocol, op = _op("s3", "SelectObjectContent")
    for n in (_PAYLOAD, _PAYLOAD + 1):
        data = raw_frame(_RECORDS, b"r" * n)
        for sizes in ([], [1 << 20]):
            stock = run_sync(protocol, op, data, sizes, "stock")
            assert (stock["error"] is None) == (n == _PAYLOAD), stock["error"]
            for mode in ("installed", "enabled"):
                assert_same(stock, run_sync(protocol, op, data, sizes, mode))


def test_frames_botocore_reads_unchecked_raise_parser_errors():
    short = _raw_frame(b"", b"", total=12)
    buf = ours.EventStreamBuffer()
    buf.add_data(short + b"\x00" * 20)
    with pytest.raises(ours.InvalidFrame) as info:
        next(buf)
    assert isinstance(info.value, be.ParserError) and isinstance(info.value, FrameError)
    buf = ours.EventStreamBuffer()
    buf.add_data(_raw_frame(b"\x01a\x0f", b""))  # unknown type byte 15
    with pytest.raises(ours.InvalidHeader):
        next(buf)


@pytest.mark.parametrize("sizes", [(), (1,), (7, 13)], ids=["whole", "bytes", "odd"])
def test_a_header_with_an_empty_name_is_read_as_botocore_reads_it(sizes):
    """botocore reads such a frame; from it on, the stream is botocore's buffer's, errors and all."""
    empty = raw_frame(raw_header(b"", 7, b"\x00\x01x"), b"p")
    duplicate = raw_frame(raw_header(b"", 7, b"\x00\x01x") * 2, b"q")  # botocore raises for this one
    cases = [(_GOOD + empty + _GOOD * 2, 4, None), (_GOOD + empty + _flip(_GOOD, -6) + _GOOD, 2, be.ChecksumMismatch),
             (_GOOD + duplicate + _GOOD, 1, be.DuplicateHeader), (_GOOD + empty + duplicate, 2, be.DuplicateHeader)]
    for data, count, error in cases:
        (theirs, e1), (mine, e2) = _both(data, sizes)
        assert len(theirs) == count and (type(e1) if e1 else None) is error  # what stock botocore does
        assert [_fields(m) for m in mine] == [_fields(m) for m in theirs]
        assert (e2 is None) == (e1 is None) and isinstance(e2, type(e1)) and str(e2) == str(e1)


def test_a_frame_read_in_tiny_pieces_costs_about_its_own_size():
    """What the buffer keeps of a pending frame is bounded by the frame, not by the number of reads."""
    import tracemalloc
    payload = bytes(range(256)) * 4096  # 1 MiB
    frame = encode({":event-type": "big"}, payload)
    buf = ours.EventStreamBuffer()
    tracemalloc.start()
    try:
        for i in range(0, len(frame) - 2, 2):  # each read a new object, as from a socket
            buf.add_data(frame[i:i + 2])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    buf.add_data(frame[i + 2:])
    (message,) = list(buf)
    assert message.payload == payload
    assert peak < 3 * len(frame), peak  # the Decoder's copy and ours; the reads kept apart cost 23x


def test_add_data_copies_a_reused_buffer_and_refuses_str():
    scratch = bytearray(_GOOD)
    buf = ours.EventStreamBuffer()
    buf.add_data(scratch)
    scratch[:] = b"\x00" * len(scratch)
    assert next(buf).payload == b"good"
    with pytest.raises(TypeError):
        buf.add_data("text")
    with pytest.raises(StopIteration):
        next(buf)


def test_message_fields_can_be_set_like_botocores():
    buf = ours.EventStreamBuffer()
    buf.add_data(_GOOD)
    m = next(buf)
    m.crc = 5
    m.prelude = be.MessagePrelude(1, 2, 3)
    assert m.crc == 5 and m.prelude.total_length == 1
    m.headers["x"] = "changed by its reader"
    fresh = ours.EventStreamBuffer()
    fresh.add_data(_GOOD)
    assert next(fresh).prelude.total_length == len(_GOOD)


@pytest.mark.parametrize("headers", [{":event-type": "a", ":content-type": "application/json"}, _ALL_TYPES],
                         ids=["strings", "every-type"])
def test_a_reader_changing_headers_changes_no_other_message(headers):
    # The Decoder repeats one header block's values frame after frame; each message must
    # still hand out a dict of its own, and keep its prelude and CRC whatever is done to it.
    frame = encode(headers, b"payload")
    (theirs, _), (mine, _) = _both(frame * 3, [len(frame) + 5])
    assert len(mine) == 3
    first = mine[0]
    first.headers["x"] = "added by its reader"
    first.headers.pop(next(iter(headers)))
    mine[1].headers.clear()
    assert first.prelude.total_length == len(frame) and first.crc == theirs[0].crc
    assert first.prelude.headers_length == theirs[0].prelude.headers_length
    assert mine[1].prelude.total_length == len(frame) and mine[1].crc == theirs[1].crc
    assert _fields(mine[2]) == _fields(theirs[2])
    buf = ours.EventStreamBuffer()
    buf.add_data(frame)
    assert next(buf).headers == theirs[0].headers  # a later buffer is untouched as well
    assert len({id(m.headers) for m in mine}) == 3


def test_errors_pickle():
    import pickle

    for exc in (ours.ChecksumMismatch("message", 1, 2, 3), ours.DuplicateHeader("h"),
                ours.InvalidHeadersLength(5), ours.InvalidPayloadLength(6), ours.InvalidFrame("x")):
        again = pickle.loads(pickle.dumps(exc))
        assert type(again) is type(exc) and str(again) == str(exc)


# --------------------------------------------------------------------------- install


def test_install_is_idempotent_and_uninstall_restores_the_original():
    original = be.EventStreamBuffer
    assert not ours.is_installed()
    ours.install()
    ours.install()
    try:
        assert be.EventStreamBuffer is ours.EventStreamBuffer
        assert ours.is_installed()
    finally:
        ours.uninstall()
    ours.uninstall()
    assert be.EventStreamBuffer is original and not ours.is_installed()


def test_installed_nests_and_keeps_an_outer_install():
    original = be.EventStreamBuffer
    with ours.installed():
        with ours.installed():
            assert be.EventStreamBuffer is ours.EventStreamBuffer
        assert be.EventStreamBuffer is ours.EventStreamBuffer
    assert be.EventStreamBuffer is original
    ours.install()
    try:
        with ours.installed():
            pass
        assert be.EventStreamBuffer is ours.EventStreamBuffer
    finally:
        ours.uninstall()
    assert be.EventStreamBuffer is original


def test_uninstall_restores_what_was_there_before():
    original = be.EventStreamBuffer

    class Earlier(original):
        pass

    be.EventStreamBuffer = Earlier
    try:
        with ours.installed():
            assert be.EventStreamBuffer is ours.EventStreamBuffer
        assert be.EventStreamBuffer is Earlier
    finally:
        be.EventStreamBuffer = original


def test_uninstall_leaves_a_later_patch_alone():
    original = be.EventStreamBuffer

    class Theirs(original):
        pass

    ours.install()
    be.EventStreamBuffer = Theirs
    try:
        ours.uninstall()
        assert be.EventStreamBuffer is Theirs
    finally:
        be.EventStreamBuffer = original


def test_install_from_many_threads():
    original = be.EventStreamBuffer
    barrier = threading.Barrier(8)

    def churn(i):
        barrier.wait()
        for _ in range(200):
            with ours.installed():
                assert be.EventStreamBuffer is ours.EventStreamBuffer

    threads = [threading.Thread(target=churn, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Blocks from different threads overlap: the last one out restores botocore's class.
    assert be.EventStreamBuffer is original


def test_enable_touches_only_that_client():
    boto3 = pytest.importorskip("boto3", reason="boto3 is not installed")
    kw = dict(region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    a, b = boto3.client("bedrock-runtime", **kw), boto3.client("bedrock-runtime", **kw)
    original = be.EventStreamBuffer
    assert ours.enable(a) is a
    ours.enable(a)
    assert be.EventStreamBuffer is original
    assert "_create_event_stream" in vars(a._response_parser)
    assert "_create_event_stream" not in vars(b._response_parser)
    ours.disable(a)
    assert "_create_event_stream" not in vars(a._response_parser)
    with pytest.raises(TypeError):
        ours.enable(object())


def test_importing_without_botocore_names_the_extra():
    code = ("import sys; sys.modules['botocore'] = None\n"
            "try:\n    import aws_eventstream.botocore\n"
            "except ImportError as exc:\n    print(exc)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert 'pip install "aws-eventstream[botocore]"' in out


# --------------------------------------------------------------------------- botocore's own tests


def test_botocores_own_eventstream_tests_pass_with_our_buffer():
    cache = os.environ.get("AWS_EVENTSTREAM_BOTOCORE_SDIST")
    if not cache:
        pytest.skip("set AWS_EVENTSTREAM_BOTOCORE_SDIST to a directory holding botocore's sdist "
                    "(tests/run_botocore_eventstream_tests.py downloads it there)")
    proc = subprocess.run([sys.executable, str(HERE / "run_botocore_eventstream_tests.py"), "--cache", cache,
                           "--no-download"], capture_output=True, text=True)
    if proc.returncode == 3:
        pytest.skip(proc.stdout.strip().splitlines()[-1])
    assert proc.returncode == 0, proc.stdout + proc.stderr


# --------------------------------------------------------------------------- a real client, over HTTP


@pytest.fixture(scope="module")
def endpoint():
    with serve_bedrock() as url:
        yield url


def _client(endpoint):
    boto3 = pytest.importorskip("boto3", reason="boto3 is not installed")
    from botocore.config import Config

    return boto3.client("bedrock-runtime", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="x", aws_secret_access_key="y",
                        config=Config(retries={"max_attempts": 1}))


def _call(client, operation, kind):
    events = []
    try:
        if operation == "converse_stream":
            response = client.converse_stream(modelId=kind, messages=[{"role": "user", "content": [{"text": "hi"}]}])
            stream = response["stream"]
        else:
            response = client.invoke_model_with_response_stream(modelId=kind, body=b"{}")
            stream = response["body"]
        for event in stream:
            events.append(event)
    except Exception as exc:
        return events, exc
    return events, None


@pytest.mark.parametrize("kind", ["ok", "exception", "error", "corrupt", "truncated"])
@pytest.mark.parametrize("operation", ["converse_stream", "invoke_model_with_response_stream"])
def test_a_real_client_over_http(endpoint, operation, kind):
    stock = _call(_client(endpoint), operation, kind)
    with ours.installed():
        installed = _call(_client(endpoint), operation, kind)
    enabled = _call(ours.enable(_client(endpoint)), operation, kind)
    assert stock[0], "the stream gave no events: the server or the request is wrong"
    for events, exc in (installed, enabled):
        assert events == stock[0]
        if stock[1] is None:
            assert exc is None
        else:
            assert isinstance(exc, type(stock[1])) and str(exc) == str(stock[1])
    if kind in ("exception", "error"):
        assert isinstance(stock[1], BotocoreEventStreamError)
    if kind == "exception":
        assert type(installed[1]) is type(stock[1])  # the client's modeled exception class


def _spy_buffer(monkeypatch):
    """A list that gets the size of every read our EventStreamBuffer is fed."""
    fed = []
    real = ours.EventStreamBuffer.add_data

    def add_data(self, data):
        fed.append(len(data))
        return real(self, data)
    monkeypatch.setattr(ours.EventStreamBuffer, "add_data", add_data)
    return fed


@pytest.mark.parametrize("operation", ["converse_stream", "invoke_model_with_response_stream"])
def test_enable_puts_one_real_client_on_our_buffer_and_plans(endpoint, operation, monkeypatch):
    """A boto3 client parses each response with a new parser from its endpoint's factory: enable() must reach those."""
    fed, seen = _spy_buffer(monkeypatch), spy_plans(monkeypatch)
    stock = _call(_client(endpoint), operation, "ok")
    assert stock[0] and stock[1] is None and fed == [] and seen == []
    client, other = ours.enable(_client(endpoint)), _client(endpoint)
    enabled = _call(client, operation, "ok")
    assert enabled == stock
    assert sum(fed) > 0 and seen == [True] * len(stock[0])  # every event through our buffer and a plan
    fed.clear(), seen.clear()
    assert _call(other, operation, "ok") == stock and fed == [] and seen == []  # other clients keep botocore's
    assert _call(ours.disable(client), operation, "ok") == stock and fed == [] and seen == []


def test_enable_leaves_the_sessions_parser_factory_alone():
    session = botocore.session.get_session()
    a = session.create_client("bedrock-runtime", region_name="us-east-1", aws_access_key_id="x",
                              aws_secret_access_key="y")
    factory = a._endpoint._response_parser_factory
    ours.enable(a)
    ours.enable(a)  # again: nothing more
    assert a._endpoint._response_parser_factory.wrapped is factory
    b = session.create_client("bedrock-runtime", region_name="us-east-1", aws_access_key_id="x",
                              aws_secret_access_key="y")
    assert b._endpoint._response_parser_factory is factory
    assert "_create_event_stream" not in vars(b._endpoint._response_parser_factory.create_parser("rest-json"))
    ours.disable(a)
    assert a._endpoint._response_parser_factory is factory
    with pytest.raises(TypeError, match="not a botocore client"):
        ours.enable(object())


class _TheirWrapper:
    """A factory wrapper of another library's, put over ours."""

    def __init__(self, factory):
        self.inner = factory

    def create_parser(self, protocol_name):
        return self.inner.create_parser(protocol_name)


def test_enable_and_disable_with_another_librarys_wrapper_over_ours():
    import copy
    session = botocore.session.get_session()
    client = session.create_client("bedrock-runtime", region_name="us-east-1", aws_access_key_id="x",
                                   aws_secret_access_key="y")
    endpoint = client._endpoint
    stock = endpoint._response_parser_factory
    ours.enable(client)
    assert copy.copy(endpoint._response_parser_factory).wrapped is stock  # copied as botocore's copies
    endpoint._response_parser_factory = _TheirWrapper(endpoint._response_parser_factory)

    def enabled():
        return "_create_event_stream" in vars(endpoint._response_parser_factory.create_parser("rest-json"))
    assert enabled()
    ours.disable(client)
    assert not enabled()  # switched off under their wrapper, which stays
    assert isinstance(endpoint._response_parser_factory, _TheirWrapper)
    ours.enable(client)
    assert enabled() and endpoint._response_parser_factory.inner.wrapped is stock  # no second layer
    endpoint._response_parser_factory = endpoint._response_parser_factory.inner  # they take theirs out
    ours.disable(client)
    assert endpoint._response_parser_factory is stock


async def _aio_call(endpoint, operation, kind, setup):
    from aiobotocore.session import get_session
    from botocore.config import Config

    events = []
    async with get_session().create_client(
            "bedrock-runtime", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="x",
            aws_secret_access_key="y", config=Config(retries={"max_attempts": 1})) as client:
        setup(client)
        try:
            if operation == "converse_stream":
                response = await client.converse_stream(
                    modelId=kind, messages=[{"role": "user", "content": [{"text": "hi"}]}])
                stream = response["stream"]
            else:
                response = await client.invoke_model_with_response_stream(modelId=kind, body=b"{}")
                stream = response["body"]
            async for event in stream:
                events.append(event)
        except Exception as exc:
            return events, exc
    return events, None


@pytest.mark.parametrize("kind", ["ok", "exception", "corrupt", "truncated"])
@pytest.mark.parametrize("operation", ["converse_stream", "invoke_model_with_response_stream"])
def test_a_real_aiobotocore_client_over_http(endpoint, operation, kind, monkeypatch):
    pytest.importorskip("aiobotocore", reason="aiobotocore is not installed (the [aiobotocore] extra)")
    stock = _call(_client(endpoint), operation, kind)
    aio_stock = asyncio.run(_aio_call(endpoint, operation, kind, lambda c: None))
    def check_installed(client):
        import aiobotocore.eventstream

        assert aiobotocore.eventstream.EventStreamBuffer is ours.EventStreamBuffer

    with ours.installed():
        aio_installed = asyncio.run(_aio_call(endpoint, operation, kind, check_installed))
    fed, seen = _spy_buffer(monkeypatch), spy_plans(monkeypatch)
    aio_enabled = asyncio.run(_aio_call(endpoint, operation, kind, ours.enable))
    assert sum(fed) > 0 and seen and all(seen[:len(stock[0])])  # enable() reached aiobotocore's parsers
    assert stock[0]
    for events, exc in (aio_stock, aio_installed, aio_enabled):
        assert events == stock[0]
        assert (exc is None) == (stock[1] is None)
        if exc is not None:
            assert isinstance(exc, type(stock[1])) and str(exc) == str(stock[1])
