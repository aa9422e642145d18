"""CRC-32 kernels one by one, and threads: what the main suite does not show.

The peers (zlib, isal, zlib-ng, crcmod) and the 16 MiB frames are in test_suite.py.
"""

from __future__ import annotations

import os
import threading
import zlib

import pytest


SIZES = {"64B": 64, "3200B": 3200, "1MiB": 1 << 20, "16MiB": 16 << 20}
DATA = {name: os.urandom(n) for name, n in SIZES.items()}


def _c():
    return pytest.importorskip("aws_eventstream._codec_c", reason="the extension is not built")


@pytest.fixture(params=["table", "pclmul", "vpclmul256", "vpclmul512", "crc32", "pmull", "pmull-eor3"])
def kernel(request):
    c = _c()
    if request.param not in c.crc_kernels():
        pytest.skip(f"this CPU has no {request.param} kernel")
    default = c.CRC_KERNEL
    c._use_crc_kernel(request.param)
    yield c
    c._use_crc_kernel(default)


@pytest.mark.parametrize("size", list(SIZES))
def test_crc32_kernel(benchmark, kernel, size):
    """Each kernel this CPU runs (the suite in test_suite.py times only the default one)."""
    benchmark.group = f"crc32 {size} by kernel"
    data = DATA[size]
    assert benchmark(kernel.crc32, data) == zlib.crc32(data)


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
