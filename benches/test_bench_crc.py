"""CRC-32 and large-frame benchmarks: our kernels against zlib, isal and zlib-ng.

Groups put every implementation of one size side by side; ratios come from one run.
"""

from __future__ import annotations

import os
import threading
import zlib

import pytest

from aws_eventstream import _codec_py

SIZES = {"64B": 64, "3200B": 3200, "1MiB": 1 << 20, "16MiB": 16 << 20}
DATA = {name: os.urandom(n) for name, n in SIZES.items()}


def _peer_crc32(name):
    if name == "zlib":
        return zlib.crc32
    if name == "isal":
        return pytest.importorskip("isal.isal_zlib", reason="isal is not installed").crc32
    if name == "zlib-ng":
        return pytest.importorskip("zlib_ng.zlib_ng", reason="zlib-ng is not installed").crc32
    raise AssertionError(name)


def _c():
    return pytest.importorskip("aws_eventstream._codec_c", reason="the extension is not built")


@pytest.fixture(params=["table", "pclmul", "vpclmul"])
def kernel(request):
    c = _c()
    if request.param not in c.crc_kernels():
        pytest.skip(f"this CPU has no {request.param} kernel")
    default = c.CRC_KERNEL
    c._use_crc_kernel(request.param)
    yield c
    c._use_crc_kernel(default)


@pytest.mark.parametrize("size", list(SIZES))
def test_crc32_ours(benchmark, kernel, size):
    benchmark.group = f"crc32 {size}"
    data = DATA[size]
    assert benchmark(kernel.crc32, data) == zlib.crc32(data)


@pytest.mark.parametrize("peer", ["zlib", "isal", "zlib-ng"])
@pytest.mark.parametrize("size", list(SIZES))
def test_crc32_peer(benchmark, peer, size):
    benchmark.group = f"crc32 {size}"
    fn = _peer_crc32(peer)
    data = DATA[size]
    assert benchmark(fn, data) == zlib.crc32(data)


BIG = DATA["16MiB"]
BIG_FRAME = _codec_py.encode({":event-type": "Chunk"}, BIG)


@pytest.mark.benchmark(group="16 MiB frame")
def test_plain_copy_16mib(benchmark):
    src = bytearray(BIG)
    assert len(benchmark(bytes, src)) == len(BIG)


@pytest.mark.benchmark(group="16 MiB frame")
def test_encode_16mib(benchmark, codec):
    assert len(benchmark(codec.encode, {":event-type": "Chunk"}, BIG)) == len(BIG_FRAME)


@pytest.mark.benchmark(group="16 MiB frame")
def test_decode_16mib(benchmark, codec):
    assert benchmark(codec.decode, BIG_FRAME).payload == BIG


EIGHT_MIB = DATA["16MiB"][: 8 << 20]


def _repeat(fn, count):
    for _ in range(count):
        fn(EIGHT_MIB)


def _in_threads(fn, total, threads):
    workers = [threading.Thread(target=_repeat, args=(fn, total // threads)) for _ in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()


# The GIL is released while large buffers are copied and checksummed, so threads
# working on big frames run in parallel (up to what memory bandwidth allows).
@pytest.mark.parametrize("threads", [1, 2])
def test_encode_8mib_frames_threads(benchmark, threads):
    benchmark.group = "encode 8 x 8 MiB frames: 1 thread vs 2"
    enc = _c().Encoder({":event-type": "Chunk"})
    benchmark(_in_threads, enc.encode, 8, threads)


@pytest.mark.parametrize("threads", [1, 2])
def test_crc32_8mib_threads(benchmark, threads):
    benchmark.group = "crc32 8 x 8 MiB: 1 thread vs 2"
    benchmark(_in_threads, _c().crc32, 8, threads)
