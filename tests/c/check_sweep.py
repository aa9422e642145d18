"""Check crc_sweep's output against zlib.crc32.

    python tests/c/check_sweep.py [--max N] [--expect KERNEL...] [--available KERNEL...] -- COMMAND...

runs ``COMMAND N`` (the sweep harness, native or under an emulator), and checks every
CRC it printed, for every kernel, against zlib; exits non-zero on any difference, on a
FAIL line from the harness or a harness that did not finish (a kernel that dies of an
illegal instruction), when a kernel named with --expect was not swept, or when the
kernels the harness found available are not exactly those given with --available.
"""

import argparse
import subprocess
import sys
import zlib

ALIGNS = 64


def source(size):
    return bytes(((i * 131 + 7) & 255) ^ (i >> 8) & 255 for i in range(size))


def check(output, max_len):
    """{kernel: number of CRCs checked}; raises AssertionError naming the first difference."""
    src = source(max_len + ALIGNS + 64)
    want = [zlib.crc32(src[a:a + n]) for a in range(ALIGNS) for n in range(max_len + 1)]
    lines = output.splitlines()
    fails = [line for line in lines if line.startswith("FAIL")]
    assert not fails, "\n".join(fails)
    assert lines and lines[0].startswith("available "), lines[:1]
    swept, name, got = {}, None, []

    def finish():
        if name is None:
            return
        assert len(got) == len(want), f"{name}: {len(got)} CRCs, expected {len(want)}"
        for i, (g, w) in enumerate(zip(got, want)):
            a, n = divmod(i, max_len + 1)
            assert g == w, f"{name}: crc32 of src[{a}:{a + n}] is {g:08x}, zlib says {w:08x}"
        swept[name] = len(got)

    for line in lines[1:]:
        if line.startswith("kernel "):
            finish()
            name, got = line.split()[1], []
        else:
            got.extend(int(word, 16) for word in line.split())
    finish()
    return lines[0].split()[1:], swept


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max", type=int, default=4096)
    parser.add_argument("--expect", nargs="*", default=[])
    parser.add_argument("--available", nargs="*", default=None)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    out = subprocess.run([*command, str(args.max)], capture_output=True, text=True)
    if out.returncode != 0 and not out.stdout.startswith("available "):
        sys.exit(f"the harness exited with {out.returncode}: {out.stderr.strip()}")
    available, swept = check(out.stdout, args.max)
    if out.returncode != 0:
        sys.exit(f"the harness exited with {out.returncode}: {out.stderr.strip()}")
    missing = [k for k in args.expect if k not in swept]
    if missing:
        sys.exit(f"not swept: {missing}; available: {available}")
    if args.available is not None and available != args.available:
        sys.exit(f"the harness found {available} available, expected exactly {args.available}")
    for kernel, count in swept.items():
        print(f"{kernel}: {count} CRCs (lengths 0..{args.max} at alignments 0..{ALIGNS - 1}, plain, copying "
              "and chained) agree with zlib")
    return 0


if __name__ == "__main__":
    sys.exit(main())
