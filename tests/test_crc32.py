"""CRC-32 kernels: every kernel this CPU runs against zlib and crcmod."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import zlib

import crcmod.predefined
import pytest

from aws_eventstream import ChecksumError, _codec_py
from helpers import twin

_crcmod = crcmod.predefined.mkCrcFun("crc-32")


def _kernels():
    try:
        from aws_eventstream import _codec_c
    except ImportError:
        return []
    return list(_codec_c.crc_kernels())


@pytest.fixture(params=_kernels() or ["<extension not built>"])
def kernel(request):
    """The Cython twin with one CRC kernel switched on; restores the default after."""
    c = twin("c")
    default = c.CRC_KERNEL
    c._use_crc_kernel(request.param)
    yield c
    c._use_crc_kernel(default)


RND = random.Random(20241123)
DATA = bytes(RND.getrandbits(8) for _ in range(2048 + 64 + 64))


def test_every_length_and_alignment(kernel):
    mv = memoryview(DATA)
    for align in range(64):
        for n in range(0, 2049, 1 if align < 4 else 61):
            chunk = mv[align:align + n]
            assert kernel.crc32(chunk) == zlib.crc32(chunk), (kernel.CRC_KERNEL, align, n)
    for n in range(0, 2049):
        assert kernel.crc32(mv[:n]) == zlib.crc32(mv[:n]), (kernel.CRC_KERNEL, n)


@pytest.mark.parametrize("fill", [0x00, 0xFF])
def test_constant_data(kernel, fill):
    for n in (1, 15, 16, 63, 64, 255, 256, 511, 512, 513, 1023, 4096, 100_000):
        data = bytes([fill]) * n
        assert kernel.crc32(data) == zlib.crc32(data) == _crcmod(data)


def test_chained_initial_values(kernel):
    for value in (0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xDEADBEEF):
        for n in (0, 3, 64, 300, 2048):
            assert kernel.crc32(DATA[:n], value) == zlib.crc32(DATA[:n], value)
    running = 0
    for i in range(0, len(DATA), 97):
        running = kernel.crc32(DATA[i:i + 97], running)
    assert running == zlib.crc32(DATA)


def test_several_mebibytes(kernel):
    big = os.urandom(5 * 1024 * 1024 + 13)
    assert kernel.crc32(big) == zlib.crc32(big) == _crcmod(big)
    assert kernel.crc32(memoryview(big)[7:]) == zlib.crc32(big[7:])


def test_crcmod_agrees_on_random_lengths(kernel):
    for n in RND.sample(range(1, 2048), 60):
        data = DATA[:n]
        assert kernel.crc32(data) == _crcmod(data)


def test_frames_carry_the_same_crcs_with_every_kernel(kernel):
    payload = DATA * 40
    frame = kernel.encode({"k": "v"}, payload)
    assert frame == _codec_py.encode({"k": "v"}, payload)
    assert kernel.decode(frame).payload == payload


def test_large_frames_through_the_streaming_copy_with_every_kernel(kernel):
    """From 4 MiB the copying kernels stream their stores past the cache: same frames."""
    base = os.urandom((5 << 20) + 64)
    for size, offset in (((4 << 20) - 1, 0), (4 << 20, 3), ((4 << 20) + 17, 5), (5 << 20, 1)):
        payload = memoryview(base)[offset:offset + size]
        frame = kernel.encode({"k": "v"}, payload)
        assert frame == _codec_py.encode({"k": "v"}, bytes(payload))
        assert kernel.decode(frame).payload == payload


def test_threads_share_the_extension_safely(kernel):
    """The GIL is released for large buffers: results must stay exact under threads."""
    payloads = [os.urandom(300_000 + i) for i in range(4)]
    want = [zlib.crc32(p) for p in payloads]
    frames = [_codec_py.encode({"i": i}, p) for i, p in enumerate(payloads)]
    errors = []

    def work(i):
        try:
            for _ in range(20):
                assert kernel.crc32(payloads[i]) == want[i]
                assert kernel.encode({"i": i}, payloads[i]) == frames[i]
                assert kernel.decode(frames[i]).payload == payloads[i]
        except BaseException as exc:  # reported in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_available_kernels_and_default(kernel):
    kernels = kernel.crc_kernels()
    assert kernels[0] == "table"
    with pytest.raises(ValueError, match="not available"):
        kernel._use_crc_kernel("no-such-kernel")
    assert kernel.CRC_KERNEL in kernels


def _in_subprocess(code, **env):
    full = dict(os.environ)
    full.update(env)
    return subprocess.run([sys.executable, "-W", "always", "-c", code], env=full,
                          capture_output=True, text=True, check=True)


@pytest.mark.parametrize("name", _kernels() or ["<extension not built>"])
def test_env_var_forces_a_kernel(name):
    twin("c")
    out = _in_subprocess(
        "import zlib, aws_eventstream as e; d = bytes(range(256)) * 40;"
        "assert e.crc32(d) == zlib.crc32(d); print(e.CRC_KERNEL)",
        AWS_EVENTSTREAM_CRC=name, AWS_EVENTSTREAM_PURE_PYTHON="0")
    assert out.stdout.split() == [name]


def test_default_kernel_is_the_fastest_available():
    c = twin("c")
    out = _in_subprocess("import aws_eventstream as e; print(e.CRC_KERNEL)",
                         AWS_EVENTSTREAM_CRC="", AWS_EVENTSTREAM_PURE_PYTHON="0")
    assert out.stdout.split() == [c.crc_kernels()[-1]]


def test_unknown_kernel_in_env_warns_and_keeps_working():
    c = twin("c")
    out = _in_subprocess("import aws_eventstream as e; print(e.CRC_KERNEL)",
                         AWS_EVENTSTREAM_CRC="bogus", AWS_EVENTSTREAM_PURE_PYTHON="0")
    assert out.stdout.split() == [c.crc_kernels()[-1]]
    assert "AWS_EVENTSTREAM_CRC ignored" in out.stderr


def test_the_earlier_name_of_the_avx512_kernel_still_selects_it():
    c = twin("c")
    if "vpclmul512" not in c.crc_kernels():
        pytest.skip("no AVX-512 VPCLMULQDQ here")
    default = c.CRC_KERNEL
    try:
        assert c._use_crc_kernel("vpclmul") == "vpclmul512"
    finally:
        c._use_crc_kernel(default)


def _cpu_features(aarch64):
    """The CPU's feature flags as Linux reports them: an oracle independent of our cpuid code.

    /proc/cpuinfo's "flags" (x86) or "Features" (aarch64); under user-mode emulation that
    file describes the host, so aarch64 falls back on getauxval(AT_HWCAP), which the
    emulator fills in, read through ctypes with the bit positions of Linux's hwcap.h.
    """
    key = "Features" if aarch64 else "flags"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                name, _, value = line.partition(":")
                if name.strip() == key:
                    return set(value.split())
    except OSError:
        pass
    if not aarch64:
        return None
    import ctypes

    libc = ctypes.CDLL(None)
    libc.getauxval.restype = ctypes.c_ulong
    hwcap = libc.getauxval(16)  # AT_HWCAP
    bits = {"pmull": 1 << 4, "crc32": 1 << 7, "sha3": 1 << 17}
    return {name for name, bit in bits.items() if hwcap & bit}


def test_the_dispatcher_offers_what_the_cpu_reports():
    """crc_kernels() is exactly what /proc/cpuinfo's flags allow, no more and no fewer."""
    import platform

    c = twin("c")
    machine = platform.machine().lower()
    flags = _cpu_features(machine in ("aarch64", "arm64")) if sys.platform.startswith("linux") else None
    if flags is None or machine not in ("x86_64", "amd64", "aarch64", "arm64"):
        pytest.skip("needs Linux's /proc/cpuinfo on x86-64 or aarch64")
    want = ["table"]
    if machine in ("x86_64", "amd64"):
        if {"pclmulqdq", "sse4_1"} <= flags:
            want.append("pclmul")
            if {"avx", "avx2", "vpclmulqdq"} <= flags:
                want.append("vpclmul256")
                if {"avx512f", "avx512vl", "avx512bw"} <= flags:
                    want.append("vpclmul512")
    elif "crc32" in flags:
        want.append("crc32")
        if "pmull" in flags:
            want.append("pmull")
            if "sha3" in flags:
                want.append("pmull-eor3")
    assert list(c.crc_kernels()) == want, flags


def test_pure_twin_names_its_kernel():
    assert _codec_py.CRC_KERNEL == "zlib" and _codec_py.crc_kernels() == ("zlib",)


# --------------------------------------------------------------------------- a source that changes

_SRC = os.path.join(os.path.dirname(__file__), os.pardir, "src", "aws_eventstream")
_HARNESS = os.path.join(os.path.dirname(__file__), "c", "crc_copy_race.c")


def _build_harness(tmp_path_factory, source, name, *flags):
    """A C harness in tests/c built against the kernels' source with the system compiler."""
    import shutil
    import sysconfig

    cc = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if not shutil.which(cc) or not os.path.exists(os.path.join(_SRC, "_crc32.c")):
        pytest.skip("needs a C compiler and the kernels' source (a checkout) to build the harness")
    exe = tmp_path_factory.mktemp(name) / name
    subprocess.run([cc, "-O2", *flags, "-I", _SRC, source, os.path.join(_SRC, "_crc32.c"), "-o", str(exe)],
                   check=True, capture_output=True)
    return exe


@pytest.fixture(scope="module")
def race_harness(tmp_path_factory):
    """tests/c/crc_copy_race.c, built."""
    return _build_harness(tmp_path_factory, _HARNESS, "crc_copy_race", "-pthread")


@pytest.mark.parametrize("name", _kernels() or ["<extension not built>"])
def test_copy_kernels_checksum_exactly_what_they_wrote(race_harness, name):
    """A second thread writes the source throughout: every CRC must match the bytes copied."""
    out = subprocess.run([str(race_harness), name, "300000"], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_frames_from_a_buffer_another_thread_writes_are_self_consistent(kernel):
    """encode() and decode() read a bytearray once: the frame checks out, whatever it holds."""
    payload = bytearray(os.urandom(65536 + 64 + 15))  # copied without the GIL, odd tail
    frame = bytearray(_codec_py.encode({"k": "v"}, bytes(payload)))
    original = kernel.decode(bytes(frame))
    stop = False

    def writer():
        i = 0
        while not stop:
            payload[-1 - i % 16] ^= 0xFF
            frame[-5 - i % 16] ^= 0xFF  # the payload's tail inside the frame
            i += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        for _ in range(300):
            out = kernel.encode({"k": "v"}, payload)
            assert _codec_py.decode(out).headers == {"k": "v"}  # raises if its CRC is wrong
            try:
                msg = kernel.decode(frame)
            except ChecksumError:
                continue
            assert msg == original
    finally:
        stop = True
        thread.join()


# --------------------------------------------------------------------------- the C harness sweep

_SWEEP = os.path.join(os.path.dirname(__file__), "c", "crc_sweep.c")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "c"))
import check_sweep  # noqa: E402  (tests/c/check_sweep.py)


def _build_sweep(tmp_path_factory, name, *defines):
    return _build_harness(tmp_path_factory, _SWEEP, name, "-std=c99", *defines)


def test_every_kernel_in_c_at_every_length_and_alignment_against_zlib(tmp_path_factory):
    """Lengths 0..4096 at alignments 0..63, plain, copying (into guarded memory) and chained."""
    exe = _build_sweep(tmp_path_factory, "crc_sweep")
    out = subprocess.run([str(exe), "4096"], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[:2000] + out.stderr
    available, swept = check_sweep.check(out.stdout, 4096)
    assert sorted(swept) == sorted(_kernels() or available)
    assert all(count == 64 * 4097 for count in swept.values())


def test_the_sse_form_of_pclmul_in_c_against_zlib(tmp_path_factory):
    """The legacy-SSE build of the 128-bit kernel, which CPUs with AVX never run."""
    import platform

    if platform.machine().lower() not in ("x86_64", "amd64") or "pclmul" not in _kernels():
        pytest.skip("needs an x86-64 CPU with PCLMULQDQ")
    exe = _build_sweep(tmp_path_factory, "crc_sweep_sse", "-DAWS_ES_CRC32_TEST_NO_AVX")
    out = subprocess.run([str(exe), "1024", "pclmul"], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[:2000] + out.stderr
    available, swept = check_sweep.check(out.stdout, 1024)
    assert available == ["table", "pclmul"] and list(swept) == ["pclmul"]
