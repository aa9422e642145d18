"""The benchmark suite: cases, the implementations compared in each, and the timer.

Used by ``aws-eventstream bench`` and by the pytest-benchmark suites in ``benches/``, so
both measure the same things. Every implementation is checked to give the right answer
before it is timed; a peer that is not installed is reported as skipped. ``report``
turns the rows into the table, the plot and the description of the machine.
"""

from __future__ import annotations

import os
import time
import zlib
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Callable, Dict, List, Optional, Protocol, Tuple

from .. import BytesLike, Headers, Message, _codec_py
from ..transcribe import AUDIO_HEADERS
from .workloads import audio_chunk, chunked, transcript_frame

BIG = 16 * 1024 * 1024 - 64  # payload of a 16 MiB frame (within every peer's limit)
STREAM_FRAMES = 1000
CRC_SIZES = (64, 3200, 64 * 1024, 1024 * 1024, 16 * 1024 * 1024)
AUDIO_SIZES = (640, 3200)


class Skip(Exception):
    """The implementation cannot run here (a peer not installed, an extension not built)."""


@dataclass
class Impl:
    """One implementation of a case: ``make()`` returns the zero-argument call to time."""

    name: str
    make: Callable[[], Callable[[], Any]]
    ours: bool = False
    reference: bool = False  # a yardstick (a plain copy), not a competitor


@dataclass
class Case:
    group: str  # "crc32", "encode", "decode", "stream", "frame"
    name: str
    size: int  # bytes processed per call, for throughput
    impls: List[Impl] = field(default_factory=list)


@dataclass
class Row:
    case: Case
    impl: Impl
    seconds: Optional[float] = None  # per call
    skipped: Optional[str] = None

    @property
    def throughput(self) -> Optional[float]:
        return self.case.size / self.seconds if self.seconds else None


# --------------------------------------------------------------------------- our twins and the peers


class _Encoder(Protocol):
    def encode(self, payload: BytesLike = ...) -> bytes: ...


class _Decoder(Protocol):
    def feed(self, data: BytesLike) -> List[Message]: ...
    def close(self) -> None: ...


class _Twin(Protocol):
    """What the cases use of a codec twin: the ``_codec_py`` and ``_codec_c`` modules."""

    @property
    def Encoder(self) -> Callable[[Headers], _Encoder]: ...
    @property
    def Decoder(self) -> Callable[[], _Decoder]: ...
    def crc32(self, data: BytesLike, value: int = ...) -> int: ...
    def decode(self, frame: BytesLike) -> Message: ...


def _twin(name: str) -> _Twin:
    if name == "py":
        return _codec_py
    try:
        from .. import _codec_c
    except ImportError:
        raise Skip("the extension is not built") from None
    return _codec_c


def _twin_label(name: str) -> str:
    if name == "py":
        return "aws-eventstream (python)"
    try:
        from .. import _codec_c
    except ImportError:
        return "aws-eventstream (cython)"
    return f"aws-eventstream (cython, {_codec_c.CRC_KERNEL})"


def _need(module: str, package: str) -> ModuleType:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise Skip(f"{package} is not installed") from None
    except Exception as exc:  # a peer that fails to import for reasons of its own
        raise Skip(f"{package} failed to import: {exc}") from None


def _check(got: Any, want: Any, who: str) -> None:
    if got != want:
        raise AssertionError(f"{who} gave a wrong answer; it is not benchmarked")


def _crc_impls(data: bytes) -> List[Impl]:
    want = zlib.crc32(data)

    def ours(twin: str) -> Callable[[], Callable[[], int]]:
        def make() -> Callable[[], int]:
            fn = _twin(twin).crc32
            _check(fn(data), want, twin)
            return lambda: fn(data)
        return make

    def peer(module: str, attr: str, package: str,
             wrap: Optional[Callable[[Any], Any]] = None) -> Callable[[], Callable[[], Any]]:
        def make() -> Callable[[], Any]:
            fn = getattr(_need(module, package), attr)
            if wrap:
                fn = wrap(fn)
            _check(fn(data), want, package)
            return lambda: fn(data)
        return make

    return [
        Impl(_twin_label("c"), ours("c"), ours=True),
        Impl("zlib", lambda: (lambda: zlib.crc32(data))),
        Impl("isal", peer("isal.isal_zlib", "crc32", "isal")),
        Impl("zlib-ng", peer("zlib_ng.zlib_ng", "crc32", "zlib-ng")),
        Impl("crcmod", peer("crcmod.predefined", "mkCrcFun", "crcmod", wrap=lambda mk: mk("crc-32"))),
    ]


def _encode_impls(payload: bytes) -> List[Impl]:
    want = _codec_py.encode(AUDIO_HEADERS, payload)

    def ours(twin: str) -> Callable[[], Callable[[], bytes]]:
        def make() -> Callable[[], bytes]:
            enc = _twin(twin).Encoder(AUDIO_HEADERS)
            _check(enc.encode(payload), want, twin)
            return lambda: enc.encode(payload)
        return make

    def pipecat() -> Callable[[], Any]:
        fn = _need("pipecat.services.aws.utils", "pipecat-ai").build_event_message
        _check(fn(payload), want, "pipecat-ai")
        return lambda: fn(payload)

    def amazon_transcribe() -> Callable[[], Any]:
        ser = _need("amazon_transcribe.eventstream", "amazon-transcribe").EventStreamMessageSerializer()
        _check(ser.serialize(AUDIO_HEADERS, payload), want, "amazon-transcribe")
        return lambda: ser.serialize(AUDIO_HEADERS, payload)

    return [
        Impl(_twin_label("c"), ours("c"), ours=True),
        Impl(_twin_label("py"), ours("py"), ours=True),
        Impl("pipecat-ai build_event_message", pipecat),
        Impl("amazon-transcribe serializer", amazon_transcribe),
    ]


def _buffer_decoder(module: str, package: str) -> Callable[[bytes], Any]:
    """A one-frame decode through a peer's EventStreamBuffer (botocore and amazon-transcribe)."""
    cls = _need(module, package).EventStreamBuffer

    def run(frame: bytes) -> Any:
        buf = cls()
        buf.add_data(frame)
        return next(iter(buf))
    return run


def _decode_impls(frame: bytes, payload_is_json: bool) -> List[Impl]:
    want = _codec_py.decode(frame)

    def ours(twin: str) -> Callable[[], Callable[[], Message]]:
        def make() -> Callable[[], Message]:
            fn = _twin(twin).decode
            _check(fn(frame), want, twin)
            return lambda: fn(frame)
        return make

    def peer(module: str, package: str) -> Callable[[], Callable[[], Any]]:
        def make() -> Callable[[], Any]:
            run = _buffer_decoder(module, package)
            got = run(frame)
            _check((dict(got.headers), got.payload), (want.headers, want.payload), package)
            return lambda: run(frame)
        return make

    impls = [
        Impl(_twin_label("c"), ours("c"), ours=True),
        Impl(_twin_label("py"), ours("py"), ours=True),
        Impl("botocore EventStreamBuffer", peer("botocore.eventstream", "botocore")),
        Impl("amazon-transcribe EventStreamBuffer", peer("amazon_transcribe.eventstream", "amazon-transcribe")),
    ]
    if payload_is_json:
        def pipecat() -> Callable[[], Any]:
            fn = _need("pipecat.services.aws.utils", "pipecat-ai").decode_event
            _check(fn(frame)[0], want.headers, "pipecat-ai")
            return lambda: fn(frame)

        def ours_json() -> Callable[[], Tuple[Dict[str, Any], Any]]:
            from ..utils import decode_event

            return lambda: decode_event(frame)

        impls += [Impl("pipecat-ai decode_event (+JSON)", pipecat),
                  Impl("aws-eventstream utils.decode_event (+JSON)", ours_json, ours=True)]
    return impls


def _stream_impls(chunks: List[bytes], count: int) -> List[Impl]:
    def ours(twin: str) -> Callable[[], Callable[[], int]]:
        def make() -> Callable[[], int]:
            cls = _twin(twin).Decoder

            def run() -> int:
                dec = cls()
                n = 0
                for chunk in chunks:
                    n += len(dec.feed(chunk))
                dec.close()
                return n
            _check(run(), count, twin)
            return run
        return make

    def peer(module: str, package: str) -> Callable[[], Callable[[], int]]:
        def make() -> Callable[[], int]:
            cls = _need(module, package).EventStreamBuffer

            def run() -> int:
                buf = cls()
                n = 0
                for chunk in chunks:
                    buf.add_data(chunk)
                    for _ in buf:
                        n += 1
                return n
            _check(run(), count, package)
            return run
        return make

    return [
        Impl(_twin_label("c"), ours("c"), ours=True),
        Impl(_twin_label("py"), ours("py"), ours=True),
        Impl("botocore EventStreamBuffer", peer("botocore.eventstream", "botocore")),
        Impl("amazon-transcribe EventStreamBuffer", peer("amazon_transcribe.eventstream", "amazon-transcribe")),
    ]


def _copy_reference(payload: bytes) -> Impl:
    def make() -> Callable[[], bytes]:
        src = bytearray(payload)
        return lambda: bytes(src)
    return Impl("plain copy of the payload (reference)", make, reference=True)


def _size_label(n: int) -> str:
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale and n % scale == 0:
            return f"{n // scale} {unit}"
    return f"{n} B"


def build_cases() -> List[Case]:
    """Every case of the suite, with its implementations (peers not yet imported)."""
    cases: List[Case] = []
    for size in CRC_SIZES:
        data = os.urandom(size)
        cases.append(Case("crc32", f"crc32 {_size_label(size)}", size, _crc_impls(data)))
    for size in AUDIO_SIZES:
        payload = audio_chunk(size)
        frame_len = len(_codec_py.encode(AUDIO_HEADERS, payload))
        cases.append(Case("encode", f"encode AudioEvent {_size_label(size)}", frame_len, _encode_impls(payload)))
    frame = transcript_frame(_codec_py.encode)
    cases.append(Case("decode", f"decode TranscriptEvent ({len(frame)} B)", len(frame), _decode_impls(frame, True)))
    stream = frame * STREAM_FRAMES
    cases.append(Case("stream", f"Decoder: {STREAM_FRAMES} frames in 1 KiB chunks", len(stream),
                      _stream_impls(chunked(stream, 1024), STREAM_FRAMES)))
    from . import bench_sdk

    cases.extend(bench_sdk.build_cases())
    big = os.urandom(BIG)
    big_frame = _codec_py.encode(AUDIO_HEADERS, big)
    cases.append(Case("frame", "encode 16 MiB frame", len(big_frame),
                      _encode_impls(big) + [_copy_reference(big)]))
    cases.append(Case("frame", "decode 16 MiB frame", len(big_frame),
                      _decode_impls(big_frame, False) + [_copy_reference(big)]))
    return cases


# --------------------------------------------------------------------------- timing


def time_call(fn: Callable[[], Any], *, min_time: float, repeats: int) -> float:
    """Seconds per call: the best of ``repeats`` runs, each at least ``min_time`` long."""
    fn()  # warm up (caches, lazy imports, page faults)
    number = 1
    while True:
        start = time.perf_counter()
        for _ in range(number):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= min_time:
            break
        number = max(number * 2, int(number * min_time / max(elapsed, 1e-9) * 1.1))
    best = elapsed / number
    for _ in range(repeats - 1):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best


def run(cases: List[Case], *, quick: bool = False, progress: Optional[Callable[[int, int, str], None]] = None,
        ) -> List[Row]:
    """Measure every implementation of every case, in one process, one after another."""
    min_time, repeats = (0.02, 3) if quick else (0.2, 5)
    total = sum(len(c.impls) for c in cases)
    rows: List[Row] = []
    done = 0
    for case in cases:
        for impl in case.impls:
            done += 1
            if progress:
                progress(done, total, f"{case.name} | {impl.name}")
            try:
                fn = impl.make()
            except Skip as why:
                rows.append(Row(case, impl, skipped=str(why)))
                continue
            rows.append(Row(case, impl, seconds=time_call(fn, min_time=min_time, repeats=repeats)))
    return rows


def ratios(rows: List[Row]) -> Dict[int, Dict[str, float]]:
    """For each of our rows (by index): how many times faster than each measured peer of its case."""
    out: Dict[int, Dict[str, float]] = {}
    for i, row in enumerate(rows):
        if not row.impl.ours or row.seconds is None:
            continue
        out[i] = {
            other.impl.name: other.seconds / row.seconds
            for other in rows
            if other.case is row.case and not other.impl.ours and other.seconds is not None
        }
    return out
