"""Random and mutated frames through the extension: only EventStreamError may come out.

Run under AddressSanitizer by ``fuzz/asan.sh``; any out-of-bounds read or write in the
extension aborts the process. Usage: ``python fuzz/fuzz_codec.py [iterations] [seed]``.
"""

from __future__ import annotations

import os
import random
import struct
import sys
import uuid
import zlib

from aws_eventstream import EventStreamError, Int8, Timestamp
from aws_eventstream import _codec_c as c


def crc_wrapped(block: bytes, payload: bytes) -> bytes:
    """Arbitrary header bytes behind valid CRCs, so the header parser sees them."""
    prelude = struct.pack(">II", 16 + len(block) + len(payload), len(block))
    head = prelude + struct.pack(">I", zlib.crc32(prelude)) + block + payload
    return head + struct.pack(">I", zlib.crc32(head))


def main(iterations: int, seed: int) -> None:
    rnd = random.Random(seed)
    good = [
        c.encode({"a": "b", "n": rnd.randrange(1 << 40), "u": uuid.UUID(int=i), "t": Timestamp(i),
                  "i": Int8(-i % 128), "raw": os.urandom(i)}, os.urandom(rnd.randrange(600)))
        for i in range(20)
    ]
    decoded = failed = 0
    for _ in range(iterations):
        kind = rnd.randrange(4)
        if kind == 0:
            data = rnd.randbytes(rnd.randrange(200))
        elif kind == 1:
            data = crc_wrapped(rnd.randbytes(rnd.randrange(100)), rnd.randbytes(rnd.randrange(50)))
        elif kind == 2:
            buf = bytearray(rnd.choice(good) * rnd.randrange(1, 4))
            for _ in range(rnd.randrange(1, 4)):
                buf[rnd.randrange(len(buf))] = rnd.randrange(256)
            data = bytes(buf)
        else:
            data = b"".join(rnd.choice(good) for _ in range(3))[: rnd.randrange(2000)]
        try:
            c.decode(data)
            decoded += 1
        except EventStreamError:
            failed += 1
        dec = c.Decoder(max_frame=rnd.choice([16, 100, 1000, 1 << 20]), max_headers=rnd.choice([0, 50, 1 << 17]))
        step = rnd.randrange(1, 64)
        try:
            for i in range(0, len(data), step):
                dec.feed(memoryview(data)[i:i + step])
            dec.close()
        except EventStreamError:
            pass
    for kernel in c.crc_kernels():
        c._use_crc_kernel(kernel)
        for n in range(0, 3000, 7):
            blob = rnd.randbytes(n)
            assert c.crc32(blob) == zlib.crc32(blob), (kernel, n)
            assert c.decode(c.encode({"x": "y"}, blob)).payload == blob, (kernel, n)
    print(f"fuzz: {iterations} inputs, {decoded} decoded, {failed} refused; kernels {c.crc_kernels()} ok")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50_000, int(sys.argv[2]) if len(sys.argv) > 2 else 0)
