"""The benchmark suite: cases, the implementations compared in each, and the timer.

Used by ``aws-eventstream bench`` and by the pytest-benchmark suites in ``benches/``, so
both measure the same things. Every implementation is checked to give the right answer
before it is timed; a peer that is not installed is reported as skipped. ``report``
turns the rows into the table, the plot and the description of the machine.
"""

from __future__ import annotations

import contextlib
import os
import re
import statistics
import time
import zlib
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Callable, Dict, Iterator, List, Optional, Protocol, Sequence, Tuple

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
    partial: bool = False  # does part of the case's work only: shown, never the "best peer"
    # Called with True before each sample (and the check and calibration), False after,
    # outside the timed calls: a setting the implementation runs under.
    around: Optional[Callable[[bool], None]] = None


@dataclass
class Case:
    group: str  # "crc32", "encode", "decode", "stream", "frame"
    name: str
    size: int  # bytes processed per call, for throughput
    impls: List[Impl] = field(default_factory=list)


@dataclass
class Row:
    """One implementation of one case: its samples (seconds per call, one per round)."""

    case: Case
    impl: Impl
    samples: List[float] = field(default_factory=list)
    loops: int = 0  # calls timed together in each sample
    skipped: Optional[str] = None

    @property
    def seconds(self) -> Optional[float]:
        """The median of the samples (None if skipped)."""
        return statistics.median(self.samples) if self.samples else None

    @property
    def low(self) -> Optional[float]:
        return interval(self.samples)[0] if self.samples else None

    @property
    def high(self) -> Optional[float]:
        return interval(self.samples)[1] if self.samples else None

    @property
    def spread(self) -> Optional[float]:
        """The range's width over the median: 0.1 means the rounds agreed within 10%."""
        if not self.samples:
            return None
        low, high = interval(self.samples)
        return (high - low) / statistics.median(self.samples)

    @property
    def throughput(self) -> Optional[float]:
        return self.case.size / self.seconds if self.seconds else None


def _coverage(n: int, k: int) -> float:
    """P(the k-th lowest <= the true median <= the k-th highest) of n independent samples."""
    import math

    return 1.0 - 2.0 * sum(math.comb(n, i) for i in range(k)) / float(2 ** n)


def _rank(n: int) -> int:
    """The innermost rank whose interval still holds the median with 95% probability (1 at least)."""
    k = 1
    while k + 1 <= n // 2 and _coverage(n, k + 1) >= 0.95:
        k += 1
    return k


def interval(values: List[float]) -> Tuple[float, float]:
    """The range reported for a median: a distribution-free 95% confidence interval, the
    k-th lowest to the k-th highest of the rounds with k as large as that allows (for the
    15 rounds of a full run, the 4th: three slow outliers each way are dropped); with
    fewer than 6 rounds, the lowest to the highest (75% for the 3 rounds of ``--quick``).
    """
    ordered = sorted(values)
    k = _rank(len(ordered))
    return ordered[k - 1], ordered[-k]


def coverage(rounds: int) -> float:
    """The probability that :func:`interval` of ``rounds`` samples holds their true median."""
    return _coverage(rounds, _rank(rounds))


@dataclass(frozen=True)
class Ratio:
    """How many times faster ours is than a peer: the median over rounds and its range.

    Both were measured in the same rounds, one right after the other, so each round's
    ratio sees the same moment of the machine; the range is :func:`interval` of the
    per-round ratios.
    """

    median: float
    low: float
    high: float


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

    if module.startswith("pipecat"):
        _quiet_pipecat()
    try:
        return importlib.import_module(module)
    except ImportError:
        raise Skip(f"{package} is not installed") from None
    except Exception as exc:  # a peer that fails to import for reasons of its own
        raise Skip(f"{package} failed to import: {exc}") from None


def _quiet_pipecat() -> None:
    """pipecat logs a banner through loguru when imported, in every worker: not the bench's output."""
    try:
        from loguru import logger
    except ImportError:
        return
    logger.disable("pipecat")


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


def _decode_impls(frame: bytes) -> List[Impl]:
    """Frame decoders only; what reads the JSON too is in the typed-events cases (bench_typed)."""
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


RESULTS_PER_SECOND = 3  # Transcribe sends a result every few hundred milliseconds of speech


def _stream_second_impls(frame_ms: int) -> Tuple[int, List[Impl]]:
    """One second of one Transcribe stream, both ways: the audio frames encoded, the
    results decoded and read (ours: typed events; the peers: dicts). (bytes handled, implementations)."""
    import json

    chunk = audio_chunk(32 * frame_ms)  # 16 kHz, 16-bit mono
    frames = 1000 // frame_ms
    result = transcript_frame(_codec_py.encode)
    want_audio = _codec_py.encode(AUDIO_HEADERS, chunk)
    want_body = json.loads(_codec_py.decode(result).payload)
    size = frames * len(want_audio) + RESULTS_PER_SECOND * len(result)

    def second(encode: Optional[Callable[[bytes], bytes]], receive: Callable[[bytes], Any],
               who: str, as_json: Callable[[Any], Any] = lambda body: body) -> Callable[[], Any]:
        if encode is not None:
            _check(encode(chunk), want_audio, who)
        _check(as_json(receive(result)), want_body, who)

        def run() -> None:
            if encode is not None:
                for _ in range(frames):
                    encode(chunk)
            for _ in range(RESULTS_PER_SECOND):
                receive(result)
        return run

    def ours(twin: str) -> Callable[[], Callable[[], Any]]:
        def make() -> Callable[[], Any]:
            from ..transcribe import parse_message

            codec = _twin(twin)
            encoder = codec.Encoder(AUDIO_HEADERS)  # results read as typed events (msgspec's if installed)
            return second(encoder.encode, lambda f: parse_message(codec.decode(f)), twin, lambda e: e.raw)
        return make

    def pipecat() -> Callable[[], Any]:
        utils = _need("pipecat.services.aws.utils", "pipecat-ai")
        return second(utils.build_event_message, lambda f: utils.decode_event(f)[1], "pipecat-ai")

    def amazon_transcribe() -> Callable[[], Any]:
        serializer = _need("amazon_transcribe.eventstream", "amazon-transcribe").EventStreamMessageSerializer()
        run = _buffer_decoder("amazon_transcribe.eventstream", "amazon-transcribe")
        return second(lambda c: serializer.serialize(AUDIO_HEADERS, c), lambda f: json.loads(run(f).payload),
                      "amazon-transcribe")

    def botocore() -> Callable[[], Any]:
        run = _buffer_decoder("botocore.eventstream", "botocore")
        return second(None, lambda f: json.loads(run(f).payload), "botocore")

    return size, [
        Impl(_twin_label("c"), ours("c"), ours=True),
        Impl(_twin_label("py"), ours("py"), ours=True),
        Impl("pipecat-ai utils", pipecat),
        Impl("amazon-transcribe", amazon_transcribe),
        Impl("botocore (receiving only: it has no encoder)", botocore, partial=True),
    ]


def streams_per_core(rows: List[Row]) -> Dict[str, Dict[str, float]]:
    """From the "one second of a stream" cases: how many streams one core carries, per
    implementation and frame length (the event-stream work only, not the network's)."""
    out: Dict[str, Dict[str, float]] = {}
    for row in rows:
        frames = re.search(r"\d+ ms frames", row.case.name)
        if row.case.group == "transcribe" and row.seconds and frames:
            out.setdefault(row.impl.name, {})[frames.group(0)] = 1.0 / row.seconds
    return out


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
    cases.append(Case("decode", f"decode TranscriptEvent ({len(frame)} B)", len(frame), _decode_impls(frame)))
    stream = frame * STREAM_FRAMES
    cases.append(Case("stream", f"Decoder: {STREAM_FRAMES} frames in 1 KiB chunks", len(stream),
                      _stream_impls(chunked(stream, 1024), STREAM_FRAMES)))
    for frame_ms in (20, 100):
        size, impls = _stream_second_impls(frame_ms)
        cases.append(Case("transcribe", f"1 s of a Transcribe stream, {frame_ms} ms frames "
                                        f"({1000 // frame_ms} out, {RESULTS_PER_SECOND} results in)", size, impls))
    from . import bench_sdk, bench_typed

    cases.extend(bench_typed.build_cases())
    cases.extend(bench_sdk.build_cases())
    big = os.urandom(BIG)
    big_frame = _codec_py.encode(AUDIO_HEADERS, big)
    cases.append(Case("frame", "encode 16 MiB frame", len(big_frame),
                      _encode_impls(big) + [_copy_reference(big)]))
    cases.append(Case("frame", "decode 16 MiB frame", len(big_frame),
                      _decode_impls(big_frame) + [_copy_reference(big)]))
    return cases


# --------------------------------------------------------------------------- timing


def calibrate(fn: Callable[[], Any], min_time: float) -> int:
    """How many calls make one sample last at least ``min_time`` (after a warm-up call)."""
    fn()  # caches, lazy imports, page faults
    number = 1
    while True:
        start = time.perf_counter()
        for _ in range(number):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= min_time:
            return number
        number = max(number * 2, int(number * min_time / max(elapsed, 1e-9) * 1.1))


def sample(fn: Callable[[], Any], number: int) -> float:
    """Seconds per call over ``number`` calls."""
    start = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - start) / number


class NoCase(ValueError):
    """No case has a name containing any of the texts given."""


class WorkerError(RuntimeError):
    """A worker process of a full run failed or stalled."""


WORKER_SILENCE = 300.0
QUICK = (3, 0.004, 1)  # rounds, seconds per sample, processes
FULL = (15, 0.025, 5)


def select(names: Optional[Sequence[str]] = None) -> List[Case]:
    """The cases whose name contains one of ``names`` (every case if None)."""
    cases = build_cases()
    if names:
        cases = [c for c in cases if any(n.lower() in c.name.lower() for n in names)]
    return cases


def measure(cases: List[Case], rounds: int, min_time: float,
            progress: Optional[Callable[[str], None]] = None, first_round: int = 0) -> List[Row]:
    """Check and calibrate every implementation, then time them in interleaved rounds.

    Each round times every implementation of a case once, one right after the other,
    each round starting one place further along the list (``first_round`` is this
    share's first round of the whole run), so over the run every implementation takes
    every place in turn and a slow moment of the machine falls on ours and the peers
    alike; a case's rounds are spread over the whole run. An implementation that gives
    a wrong answer is reported as skipped, with the reason.
    """
    rows: List[Row] = []
    calls: Dict[int, Tuple[Callable[[], Any], int]] = {}
    for case in cases:
        for impl in case.impls:
            if progress:
                progress(f"checking and calibrating {case.name} | {impl.name}")
            row = Row(case, impl)
            rows.append(row)
            try:
                with _setting(impl):
                    fn = impl.make()
                    row.loops = calibrate(fn, min_time)
            except Skip as why:
                row.skipped = str(why)
                continue
            except AssertionError as wrong:  # _check: a wrong answer is not timed
                row.skipped = str(wrong)
                continue
            calls[id(row)] = (fn, row.loops)
    for r in range(rounds):
        if progress:
            progress(f"round {r + 1} of {rounds}")
        for case in cases:
            timed = [row for row in rows if row.case is case and id(row) in calls]
            if not timed:
                continue
            shift = (first_round + r) % len(timed)
            for row in timed[shift:] + timed[:shift]:
                fn, loops = calls[id(row)]
                with _setting(row.impl):
                    row.samples.append(sample(fn, loops))
    return rows


@contextlib.contextmanager
def _setting(impl: Impl) -> Iterator[None]:
    if impl.around is not None:
        impl.around(True)
    try:
        yield
    finally:
        if impl.around is not None:
            impl.around(False)


def _worker(conn: Any, names: Optional[List[str]], rounds: int, min_time: float, first_round: int) -> None:
    """A worker process: measure its share of the rounds, send the samples back."""
    rows = measure(select(names), rounds, min_time, progress=lambda what: conn.send(("progress", what)),
                   first_round=first_round)
    conn.send(("rows", [(r.case.name, r.impl.name, r.samples, r.loops, r.skipped) for r in rows]))
    conn.close()


def run(names: Optional[Sequence[str]] = None, *, quick: bool = False, rounds: Optional[int] = None,
        progress: Optional[Callable[[int, int, str], None]] = None) -> List[Row]:
    """Measure the cases named (all by default): ``rounds`` interleaved rounds (see :func:`measure`).

    A full run splits its rounds over 5 worker processes, one after the other, each
    building the cases afresh: what differs from one process to the next (where buffers
    and objects land, the hash seed) then shows in each figure's range, as it would
    between two runs, and not only what differs from one moment to the next.
    ``--quick`` measures in this process.
    """
    default_rounds, min_time, processes = QUICK if quick else FULL
    rounds = rounds or default_rounds
    if rounds < 1:
        raise ValueError(f"rounds must be at least 1, got {rounds}")
    cases = select(names)
    if not cases:
        raise NoCase(f"no case matches {list(names or [])}")
    processes = max(1, min(processes, rounds))
    total = processes * (sum(len(c.impls) for c in cases)) + rounds
    done = 0

    def step(what: str) -> None:
        nonlocal done
        done += 1
        if progress:
            progress(min(done, total), total, what)

    if processes == 1:
        return measure(cases, rounds, min_time, step)
    import multiprocessing

    rows = [Row(case, impl) for case in cases for impl in case.impls]
    by_name = {(r.case.name, r.impl.name): r for r in rows}
    context = multiprocessing.get_context("spawn")
    first = 0
    for p in range(processes):
        share = rounds // processes + (1 if p < rounds % processes else 0)
        parent, child = context.Pipe()
        worker = context.Process(target=_worker, args=(child, list(names) if names else None, share, min_time,
                                                       first), daemon=True)
        first += share
        worker.start()
        child.close()
        try:
            while True:
                # Every message comes within seconds; a worker silent for this long is stuck.
                if not parent.poll(WORKER_SILENCE):
                    worker.kill()
                    raise WorkerError(f"bench worker {p + 1} of {processes} sent nothing for "
                                      f"{WORKER_SILENCE:g} s and was stopped")
                try:
                    kind, payload = parent.recv()
                except EOFError:
                    worker.join(10)
                    raise WorkerError(f"bench worker {p + 1} of {processes} ended without its results "
                                      f"(exit code {worker.exitcode}; its error is above)") from None
                if kind == "progress":
                    step(f"process {p + 1} of {processes}: {payload}")
                    continue
                for case_name, impl_name, samples, loops, skipped in payload:
                    row = by_name[(case_name, impl_name)]
                    row.samples.extend(samples)
                    row.loops = max(row.loops, loops)
                    row.skipped = row.skipped or skipped
                break
        finally:
            worker.join(30)
            parent.close()
    for row in rows:
        if row.skipped:
            row.samples = []
    return rows


def ratios(rows: List[Row]) -> Dict[int, Dict[str, Ratio]]:
    """For each of our rows (by index): how many times faster than each measured peer of its case."""
    out: Dict[int, Dict[str, Ratio]] = {}
    for i, row in enumerate(rows):
        if not row.impl.ours or not row.samples:
            continue
        out[i] = {}
        for other in rows:
            if other.case is not row.case or other.impl.ours or not other.samples:
                continue
            if len(other.samples) != len(row.samples):  # not measured in the same rounds
                continue
            per_round = [theirs / mine for theirs, mine in zip(other.samples, row.samples)]
            out[i][other.impl.name] = Ratio(statistics.median(per_round), *interval(per_round))
    return out


def best_peer(rows: List[Row], row: Row, table: Dict[int, Dict[str, Ratio]]) -> Optional[Tuple[str, Ratio]]:
    """The fastest peer of ``row``'s case, and ours against it."""
    index = next(i for i, r in enumerate(rows) if r is row)
    references = {r.impl.name for r in rows if r.case is row.case and (r.impl.reference or r.impl.partial)}
    against = {name: ratio for name, ratio in table.get(index, {}).items() if name not in references}
    if not against:
        return None
    name = min(against, key=lambda n: against[n].median)
    return name, against[name]
