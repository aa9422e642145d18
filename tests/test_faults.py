"""Allocation-failure injection: fail each allocation of a call in turn, on both twins.

``_testcapi.set_nomemory(n, n + 1)`` makes the n-th allocation from now fail (every
allocator domain CPython has, which the extension uses for its own buffers too). For
n = 0, 1, 2, ... each call must either succeed with the right answer or raise
MemoryError, and leave the object and the module's caches usable (or, for a Decoder
that had consumed part of its input, cleanly failed). The walk ends once enough
successive runs succeed without meeting the failure.
"""

from __future__ import annotations

import gc
import uuid
import zlib

import pytest

import tally
from aws_eventstream import Int16, Message, Timestamp

_testcapi = pytest.importorskip("_testcapi", reason="CPython's _testcapi injects the allocation failures")

QUIET_RUNS = 40  # successive clean runs that end a walk: past the call's last allocation
MAX_STEPS = 4000

HEADERS = {":event-type": "TranscriptEvent", "id": uuid.UUID(int=42), "n": Int16(7),
           "when": Timestamp(1_700_000_000_000), "long": "x" * 100, "raw": b"\x00\x01"}
PAYLOAD = bytes(range(256)) * 3


def _walk(run):
    """Call ``run(fail)`` for n = 0, 1, ...; ``fail()`` arms the failure right before the call.

    Returns (steps, MemoryErrors seen).
    """
    quiet = failures = 0
    for n in range(MAX_STEPS):
        hit = []

        def fail(call, *args, _n=n):
            # No collections meanwhile: other code's gc callbacks (hypothesis has one) would
            # meet the failure instead of the call, and the walk would not be repeatable.
            gc.disable()
            _testcapi.set_nomemory(_n, _n + 1)
            try:
                return call(*args)
            except MemoryError:
                hit.append(True)
                raise
            finally:
                _testcapi.remove_mem_hooks()
                gc.enable()

        run(fail)
        failures += bool(hit)
        quiet = 0 if hit else quiet + 1
        if quiet >= QUIET_RUNS:
            tally.count("fault injection: calls run with one allocation failing", n + 1)
            tally.count("fault injection: MemoryErrors raised and recovered from", failures)
            return n + 1, failures
    raise AssertionError(f"still meeting allocation failures after {MAX_STEPS} steps")


def _outcome(fail, call, *args):
    try:
        return fail(call, *args)
    except MemoryError:
        return MemoryError


@pytest.mark.parametrize("cache", ["cold", "warm"])
def test_encode_and_decode(codec, cache):
    counter = iter(range(10**9))

    def run(fail):
        headers = dict(HEADERS, k=str(next(counter)) if cache == "cold" else "same")
        want = codec.encode(headers, PAYLOAD)
        got = _outcome(fail, codec.encode, headers, PAYLOAD)
        assert got is MemoryError or got == want
        msg = _outcome(fail, codec.decode, want)
        assert msg is MemoryError or msg == Message(headers, PAYLOAD)
        # nothing the failure touched is left broken: the caches serve the next call right
        assert codec.decode(want) == Message(headers, PAYLOAD)
        assert codec.encode(headers, PAYLOAD) == want

    steps, failures = _walk(run)
    assert failures > 0


def test_encoder(codec):
    def run(fail):
        enc = _outcome(fail, codec.Encoder, HEADERS)
        if enc is MemoryError:
            enc = codec.Encoder(HEADERS)
        got = _outcome(fail, enc.encode, PAYLOAD)
        assert got is MemoryError or got == codec.encode(HEADERS, PAYLOAD)
        assert enc.encode(PAYLOAD) == codec.encode(HEADERS, PAYLOAD)

    assert _walk(run)[1] > 0


def test_crc32(codec):
    data = bytes(range(256)) * 300

    def run(fail):
        got = _outcome(fail, codec.crc32, data, 12345)
        assert got is MemoryError or got == zlib.crc32(data, 12345)

    _walk(run)


@pytest.mark.parametrize("split", list(range(1, 13)) + [20, 60])
def test_decoder_feed_split_at_every_prelude_byte(codec, split):
    """The first frame arrives in two feeds, split at ``split``; the failure hits the second."""
    frames = [codec.encode(dict(HEADERS, i=i), PAYLOAD[: 100 * i]) for i in range(3)]
    want = [codec.decode(f) for f in frames]
    stream = b"".join(frames)

    def run(fail):
        dec = codec.Decoder()
        assert dec.feed(stream[:split]) == []
        before = (dec.offset, dec.buffered)
        try:
            got = fail(dec.feed, stream[split:])
        except MemoryError as exc:
            try:
                dec.feed(b"")
            except MemoryError as again:  # failed: the same error every time, caused by the first
                assert again.__cause__ is exc and again.messages == ()
                assert all(m in want for m in getattr(exc, "messages", ()))
                with pytest.raises(MemoryError):
                    dec.close()
                return
            # not failed: then nothing was consumed, and the same bytes go through again
            assert (dec.offset, dec.buffered) == before
            got = dec.feed(stream[split:])
        assert got == want
        dec.close()

    assert _walk(run)[1] > 0
