"""Each of our x86-64 CRC kernels against ISA-L's kernel for the same instructions, in C.

    python benches/crc_kernels_vs_isal.py [--quick]

ISA-L (the `isal` package) ships its CRC-32 kernels by instruction set inside its
extension module: crc32_gzip_refl_by8 (PCLMULQDQ on 128-bit lanes), _avx2 (VPCLMULQDQ on
256-bit registers) and _by16_10 (AVX-512). `aws-eventstream bench` compares whole calls
from Python, where every peer runs its own best kernel; this compares kernel with kernel
of the same class, called from the same C loop (benches/c/crc_timing.c, built here with
the system compiler against src/aws_eventstream/_crc32.c), so each of our kernels can be
judged on one machine that has all of them. Each time is the best of several rounds,
ours and ISA-L's in turn. Prints a Markdown table of ratios (ISA-L's time / ours: above
1 is faster).
"""

from __future__ import annotations

import argparse
import ctypes
import os
import platform
import subprocess
import sys
import sysconfig
import tempfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, os.pardir, "src", "aws_eventstream")
PAIRS = [("pclmul", "crc32_gzip_refl_by8"), ("vpclmul256", "crc32_gzip_refl_avx2"),
         ("vpclmul512", "crc32_gzip_refl_by16_10")]
SIZES = [64, 100, 200, 3200, 64 << 10, 1 << 20, 16 << 20]


def _label(n):
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale and n % scale == 0:
            return f"{n // scale} {unit}"
    return f"{n} B"


def build(tmp):
    cc = (sysconfig.get_config_var("CC") or "cc").split()[0]
    out = os.path.join(tmp, "crc_timing.so")
    subprocess.run([cc, "-O2", "-std=c99", "-D_POSIX_C_SOURCE=199309L", "-shared", "-fPIC", "-I", SRC,
                    os.path.join(HERE, "c", "crc_timing.c"), os.path.join(SRC, "_crc32.c"), "-o", out],
                   check=True)
    return ctypes.CDLL(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter rounds")
    args = parser.parse_args(argv)
    if platform.machine().lower() not in ("x86_64", "amd64"):
        sys.exit("x86-64 only: ISA-L's kernels by instruction set are x86-64 kernels")
    try:
        from isal import isal_zlib
    except ImportError:
        sys.exit("needs the isal package (pip install isal, or the 'peers' extra)")
    isal = ctypes.CDLL(isal_zlib.__file__)
    fn_type = ctypes.CFUNCTYPE(ctypes.c_uint32, ctypes.c_uint32, ctypes.c_char_p, ctypes.c_uint64)
    with tempfile.TemporaryDirectory() as tmp:
        lib = build(tmp)
        lib.bench_init()
        lib.bench_select.argtypes = [ctypes.c_char_p]
        lib.bench_seconds.restype = ctypes.c_double
        lib.bench_seconds.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_uint64, ctypes.c_long,
                                      ctypes.c_int]
        ours = ctypes.cast(lib.bench_ours, ctypes.c_void_p).value
        data = os.urandom(max(SIZES) + 64)
        rounds = 3 if args.quick else 11
        rows = []
        for kernel, symbol in PAIRS:
            if lib.bench_select(kernel.encode()) != 0:
                print(f"{kernel}: not on this CPU, skipped", file=sys.stderr)
                continue
            theirs = ctypes.cast(getattr(isal, symbol), ctypes.c_void_p).value
            row = [kernel, symbol]
            for n in SIZES:
                want = zlib.crc32(data[:n])
                for fn in (ours, theirs):  # both must compute zlib's CRC before they are timed
                    got = fn_type(fn)(0, data, n)
                    assert got == want, (kernel, symbol, n, hex(got), hex(want))
                calls = max(3, (40 if not args.quick else 8) * (1 << 20) // (n + 64))
                t_ours = t_theirs = float("inf")
                for _ in range(rounds):  # in turn, so a slow moment of the machine hits both
                    t_ours = min(t_ours, lib.bench_seconds(ours, data, n, calls, 1))
                    t_theirs = min(t_theirs, lib.bench_seconds(theirs, data, n, calls, 1))
                row.append(f"{t_theirs / t_ours:.2f}x")
                print(f"{kernel:<10} {_label(n):>7}: ours {t_ours * 1e9:10.1f} ns, {symbol} {t_theirs * 1e9:10.1f} ns",
                      file=sys.stderr)
            rows.append(row)
    print("| our kernel | ISA-L kernel | " + " | ".join(_label(n) for n in SIZES) + " |")
    print("|---|---|" + "---|" * len(SIZES))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
