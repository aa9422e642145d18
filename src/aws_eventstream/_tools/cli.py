"""``aws-eventstream``: bench, dump, presign, frame and load.

Exit status: 0 on success, 1 when the input data is bad (``dump`` on a corrupt stream,
``frame`` on audio that ends in a partial sample) or a write fails, 2 for wrong usage,
a closed standard stream, or missing or unusable credentials.
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import os
import stat
import sys
import uuid
from typing import IO, Any, Callable, Dict, Iterable, Iterator, Optional, Sequence, TextIO, Union

from .. import (BACKEND, CRC_KERNEL, MAX_FRAME, Decoder, Encoder, EventStreamError, Int8, Int16, Int32, Int64,
                Message, Timestamp, __version__, transcribe)
from ..auth import resolve_credentials

PROG = "aws-eventstream"
READ_SIZE = 64 * 1024


class UsageError(Exception):
    """Wrong arguments or environment: exit status 2."""


class DataError(Exception):
    """The input data is bad: exit status 1."""


# Python sets sys.stdin / sys.stdout to None when it starts with that descriptor closed.
def _stdin() -> IO[bytes]:
    if sys.stdin is None:
        raise UsageError("cannot read <stdin>: standard input is closed")
    return sys.stdin.buffer


def _stdout() -> TextIO:
    if sys.stdout is None:
        raise UsageError("cannot write the output: standard output is closed")
    return sys.stdout


def _say(text: str) -> None:
    """A message for the user, on stderr; dropped when stderr is closed (never sent to stdout,
    which may be carrying the command's output: print(file=None) would write it there)."""
    if sys.stderr is not None:
        print(text, file=sys.stderr)


def _open_in(path: str) -> IO[bytes]:
    if path == "-":
        return _stdin()
    try:
        return open(path, "rb")
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None


def _chunks(stream: IO[bytes]) -> Iterator[bytes]:
    while True:
        chunk = stream.read(READ_SIZE)
        if not chunk:
            return
        yield chunk


# --------------------------------------------------------------------------- bench


def _load_results(path: str) -> Any:
    """A results document: the parsed JSON (for its settings) and its rows."""
    from . import results

    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        return doc, results.read(doc)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    except (ValueError, RecursionError) as exc:  # not JSON, or not a results document
        raise UsageError(f"{path}: {exc}") from None


def _writable_plot(path: str) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
        raise UsageError(f"--plot {path}: the folder {folder} does not exist or cannot be written")


def cmd_bench(args: argparse.Namespace) -> int:
    from . import bench, report, results

    _stdout()
    if args.fail_on_regression is not None and not args.compare:
        raise UsageError("--fail-on-regression goes with --compare")
    if args.compare and len(args.compare) > 2:
        raise UsageError("--compare takes OLD.json and, optionally, NEW.json")
    if args.compare and len(args.compare) == 2:
        given = [flag for flag, on in (("--json", args.json), ("--plot", args.plot), ("--case", args.case),
                                       ("--rounds", args.rounds), ("--quick", args.quick)) if on]
        if given:
            raise UsageError(f"{', '.join(given)}: nothing is measured when --compare is given two files")
    if args.plot:
        _writable_plot(args.plot)
    old_doc, old = _load_results(args.compare[0]) if args.compare else (None, None)
    if old is not None and len(args.compare) == 2:
        new_doc, new = _load_results(args.compare[1])
        return _report_changes(_compare(old, new), args, results.caveats(old_doc, new_doc))
    rounds = args.rounds or (bench.QUICK if args.quick else bench.FULL)[0]
    sample_seconds = (bench.QUICK if args.quick else bench.FULL)[1]
    before = results.machine()  # the load average before the run's own load
    try:
        rows = bench.run(args.case, quick=args.quick, rounds=rounds, progress=report.progress(sys.stderr) if sys.stderr is not None else None)
    except bench.NoCase as exc:
        raise UsageError(str(exc)) from None
    except bench.WorkerError as exc:
        _say(f"{PROG} bench: {exc}")
        return 1
    doc = results.document(rows, quick=args.quick, rounds=rounds, sample_seconds=sample_seconds,
                           cases=args.case, info=before)
    per_stream: Optional[Dict[str, Any]] = None
    if not args.case:  # a whole run: the clients' CPU per real-time stream too (seconds of streaming)
        from . import cpu

        seconds = cpu.QUICK_SECONDS if args.quick else cpu.FULL_SECONDS
        per_stream = {"seconds": seconds, "rows": cpu.measure(seconds),
                      "concurrent": cpu.concurrency(*((20, cpu.QUICK_SECONDS) if args.quick else (200, 10.0)))}
        doc["cpu_per_stream"] = per_stream
    if args.json:
        json.dump(doc, sys.stdout, indent=1)
        sys.stdout.write("\n")
    elif old is None:
        env = report.environment()
        print(report.wrap(
            f"{PROG} {env['version']} bench{' --quick' if args.quick else ''}: backend {env['backend']}, "
            f"CRC kernel {env['crc_kernel']} (this CPU offers {', '.join(env['crc_kernels'])}; "
            f"AWS_EVENTSTREAM_CRC=NAME forces one), JSON {env['json']}, Python {env['python']}, {env['machine']}, "
            f"{env['cpus']} CPUs; {rounds} interleaved rounds, medians and their range") + "\n")
        if doc["streams_per_core"]:
            print(report.wrap("Transcribe streams one core carries (event-stream work only: the audio frames "
                              f"encoded, {bench.RESULTS_PER_SECOND} results a second decoded and read):") + "\n")
            print(report.streams_table(doc["streams_per_core"], markdown=args.markdown) + "\n")
        print(report.table(rows, bench.ratios(rows), markdown=args.markdown))
        skipped = sorted({f"{r.impl.name}: {r.skipped}" for r in rows if r.skipped})
        if skipped:
            print("\nskipped:\n" + "\n".join(report.wrap(line, "  ") for line in skipped))
        if per_stream is not None:
            from . import cpu

            print("\n" + cpu.table(per_stream["rows"], per_stream["seconds"], markdown=args.markdown))
            print(report.wrap(cpu.concurrency_line(per_stream["concurrent"])))
    for line in doc["warnings"]:
        _say(report.wrap(f"warning: {line}"))
    if args.plot:
        try:
            written = report.plot(rows, args.plot)
        except (ImportError, ValueError) as exc:  # matplotlib is an optional extra; nothing measured
            raise UsageError(str(exc)) from None
        _say(f"plot written to {' and '.join(written)}")
    if old is not None:
        return _report_changes(_compare(old, results.read(doc)), args, results.caveats(old_doc, doc))
    return 0


def _compare(old: Any, new: Any) -> Any:
    from . import results

    try:
        return results.compare(old, new)
    except results.ResultsError as exc:
        raise UsageError(str(exc)) from None


def _report_changes(changes: Any, args: argparse.Namespace, caveats: Sequence[str]) -> int:
    from . import report, results

    if not changes:
        raise UsageError("the two runs have no case and implementation in common")
    for line in caveats:
        _say(f"note: {line}")
    if not args.json:
        print(report.compare_table(changes, markdown=args.markdown))
        ours = [c for c in changes if c.new.ours]
        others = [c for c in changes if not c.new.ours]
        print(f"\n{sum(c.significant for c in ours)} of our {len(ours)} figures changed beyond the noise of both "
              "runs (their ranges over rounds do not overlap)"
              + (f"; {sum(c.significant for c in others)} of the {len(others)} figures of the peers and references "
                 "moved by time (the machine or the peers changed)" if others else ""))
    if args.fail_on_regression is not None:
        worse = results.regressions(changes, args.fail_on_regression)
        for c in worse:
            _say(f"regression: {c.new.case} | {c.new.implementation}: {c.change:+.1%} "
                  f"(more than {args.fail_on_regression:g}%)")
        return 1 if worse else 0
    return 0


# --------------------------------------------------------------------------- dump

_TYPE_NAMES = ((bool, "bool"), (Int8, "byte"), (Int16, "short"), (Int32, "integer"), (Int64, "long"),
               (Timestamp, "timestamp"), (bytes, "bytes"), (str, "string"), (uuid.UUID, "uuid"))


def _header_json(name: str, value: Any) -> Dict[str, Any]:
    kind = next(n for t, n in _TYPE_NAMES if isinstance(value, t))
    if kind == "bytes":
        shown: Any = base64.b64encode(value).decode("ascii")
    elif kind == "uuid":
        shown = str(value)
    elif kind == "bool":
        shown = value
    elif kind == "string":
        shown = value
    else:
        shown = int(value)
    out = {"name": name, "type": kind, "value": shown}
    if kind == "timestamp":
        try:
            out["iso"] = value.to_datetime().isoformat()
        except (OverflowError, ValueError):
            pass
    return out


def _not_json(text: str) -> Any:
    raise ValueError(f"{text} is not a JSON number")  # NaN, Infinity: Python's json reads them, JSON has none


def _finite(text: str) -> float:
    value = float(text)
    if value in (math.inf, -math.inf):
        raise ValueError(f"{text} does not fit in a float")  # 1e400 would come back out as Infinity
    return value


def _payload_json(payload: bytes, as_json: bool = True) -> Dict[str, Any]:
    """The payload as JSON where it is JSON (RFC 8259: no NaN or Infinity; ``as_json``);
    else as text where it is UTF-8; else base64."""
    if payload and as_json:
        try:
            value = json.loads(payload, parse_constant=_not_json, parse_float=_finite)
            return {"payload": value, "payload_encoding": "json"}
        except (ValueError, RecursionError):
            pass
    try:
        return {"payload": payload.decode("utf-8"), "payload_encoding": "text"}
    except UnicodeDecodeError:
        return {"payload": base64.b64encode(payload).decode("ascii"), "payload_encoding": "base64"}


def cmd_dump(args: argparse.Namespace) -> int:
    out = _stdout()
    source = _open_in(args.file)
    name = "<stdin>" if args.file == "-" else args.file
    decoder = Decoder()
    offset = 0

    def emit(messages: Iterable[Message]) -> None:
        nonlocal offset
        for msg in messages:
            # decoding round-trips byte for byte, so the header block re-encodes to its wire length
            length = 16 + len(Encoder(msg.headers).header_block) + len(msg.payload)
            record = {"offset": offset, "length": length,
                      "headers": [_header_json(k, v) for k, v in msg.headers.items()]}
            full = {**record, **_payload_json(msg.payload)}
            try:
                line = json.dumps(full, ensure_ascii=False)
            except RecursionError:  # nested deeper than the writer goes: shown as the text it is
                full = {**record, **_payload_json(msg.payload, as_json=False)}
                line = json.dumps(full, ensure_ascii=False)
            try:
                data = line.encode("utf-8")
            except UnicodeEncodeError:  # a lone surrogate, escaped in the payload's JSON: kept escaped
                data = json.dumps(full).encode("ascii")
            # JSON Lines are UTF-8 whatever the locale's encoding of stdout
            out.buffer.write(data + b"\n")
            offset += length

    try:
        for chunk in _chunks(source):
            emit(decoder.feed(chunk))
        decoder.close()
    except EventStreamError as exc:
        emit(exc.messages)
        out.buffer.flush()
        _say(f"{PROG} dump: {name}: {exc}")
        return 1
    finally:
        if args.file != "-":
            source.close()
    return 0


# --------------------------------------------------------------------------- presign


def cmd_presign(args: argparse.Namespace) -> int:
    out = _stdout()
    try:
        found = resolve_credentials(region=args.region)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if found.credentials is None:
        raise UsageError("no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
                         "or configure a profile")
    common = dict(region=found.region, credentials=found.credentials, media_encoding=args.media_encoding,
                  sample_rate=args.sample_rate, number_of_channels=args.channels,
                  enable_channel_identification=args.channel_identification,
                  show_speaker_label=args.speaker_labels, vocabulary_name=args.vocabulary_name,
                  session_id=args.session_id, expires=args.expires, endpoint=args.endpoint, fips=args.fips)
    try:
        if args.medical:
            url = transcribe.medical_presigned_url(
                specialty=args.specialty, type=args.type, language_code=args.language_code or "en-US", **common)
        else:
            options = args.language_options.split(",") if args.language_options else None
            url = transcribe.presigned_url(
                language_code=args.language_code, identify_language=args.identify_language,
                identify_multiple_languages=args.identify_multiple_languages,
                language_options=options, preferred_language=args.preferred_language,
                enable_partial_results_stabilization=args.stability is not None,
                partial_results_stability=args.stability, **common)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    print(url, file=out)
    return 0


# --------------------------------------------------------------------------- frame


def _same_file(source: str, target: Union[str, int]) -> bool:
    """True when ``target`` (a path, through any link, or an open descriptor) is the regular
    file ``source`` names (``-``: standard input)."""
    try:
        there = os.fstat(target) if isinstance(target, int) else os.stat(target)
        mine = os.fstat(0) if source == "-" else os.stat(source)
    except OSError:
        return False  # one of them is not there (yet): opening says what is wrong
    return stat.S_ISREG(mine.st_mode) and (mine.st_dev, mine.st_ino) == (there.st_dev, there.st_ino)


def cmd_frame(args: argparse.Namespace) -> int:
    sample = args.channels * args.sample_width  # one sample of every channel
    size = args.sample_rate * args.ms // 1000 * sample  # whole samples: a frame never splits one
    if size <= 0:
        raise UsageError("--ms, --sample-rate, --channels and --sample-width give an empty frame")
    room = MAX_FRAME - len(transcribe.END_OF_STREAM)  # what an AudioEvent frame leaves for audio
    if size > room:
        raise UsageError(f"--ms {args.ms} makes frames of {size} bytes of audio, but an AudioEvent carries at "
                         f"most {room} (frames are limited to {MAX_FRAME} bytes): use a smaller --ms")
    to_stdout = args.output == "-"
    if to_stdout and _stdout().isatty():
        raise UsageError("refusing to write binary frames to a terminal: use -o FILE or a pipe")
    if not to_stdout and _same_file(args.input, args.output):
        raise UsageError(f"-o {args.output} is the input itself: opening it for writing would empty it "
                         "before it is read")
    if to_stdout and _same_file(args.input, _stdout().fileno()):
        raise UsageError("standard output is the input itself: the frames written would be read back "
                         "without end")
    source = _open_in(args.input)
    name = "<stdin>" if args.input == "-" else args.input
    try:
        sink = _stdout().buffer if to_stdout else open(args.output, "wb")
    except OSError as exc:
        raise UsageError(f"cannot write {args.output}: {exc.strerror}") from None
    frames = largest = total = 0
    try:
        pending = b""
        for chunk in _chunks(source):
            total += len(chunk)
            pending += chunk
            cut = len(pending) - len(pending) % size
            view = memoryview(pending)
            for i in range(0, cut, size):
                sink.write(transcribe.audio_event(view[i:i + size]))
                frames += 1
                largest = size
            view.release()
            pending = pending[cut:]
        if len(pending) % sample:
            raise DataError(f"{name} ends in a partial sample: {total} bytes is not a whole number of "
                            f"{sample}-byte samples (--sample-width x --channels); no end-of-stream frame "
                            "was written")
        if pending:
            sink.write(transcribe.audio_event(pending))
            frames += 1
            largest = max(largest, len(pending))
        sink.write(transcribe.END_OF_STREAM)
        sink.flush()
    finally:
        if not to_stdout:
            sink.close()
        if args.input != "-":
            source.close()
    _say(f"{PROG} frame: {frames} AudioEvent frame{'s' if frames != 1 else ''} of up to {largest} bytes "
          "of audio, then the end-of-stream frame")
    return 0


# --------------------------------------------------------------------------- load


def cmd_load(args: argparse.Namespace) -> int:
    try:
        import websockets  # noqa: F401
    except ImportError:
        raise UsageError('load needs websockets: pip install "aws-eventstream[websockets]"') from None
    from .load import run_load

    out = _stdout()
    _say(f"{PROG} load: {args.sessions} sessions x {args.frames} frames of {args.ms} ms, at real time, "
          "against the fake Transcribe server on 127.0.0.1 ...")
    report = run_load(sessions=args.sessions, frames=args.frames, ms=args.ms, ramp=args.ramp)
    if args.json:
        print(json.dumps(report, indent=1), file=out)
    else:
        lat = report["latency_ms"]
        print(f"sessions held   {report['sessions_held']} of {report['sessions']}", file=out)
        print(f"frames sent     {report['frames_sent']}  (server received {report['server_frames']})", file=out)
        print(f"frames lost     {report['frames_lost']}", file=out)
        print(f"frame-to-result latency  p50 {lat['p50']} ms  p99 {lat['p99']} ms  max {lat['max']} ms", file=out)
        print(f"wall time       {report['seconds']} s", file=out)
        for error in report["errors"]:
            print(f"error           {error}", file=out)
    return 0 if report["frames_lost"] == 0 and report["sessions_held"] == report["sessions"] else 1


# --------------------------------------------------------------------------- main


def _positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


MAX_RAMP = 3600.0  # an hour of connecting: any longer and the run is not a load test that ends


def _ramp(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (0 <= value <= MAX_RAMP):  # NaN fails this too
        raise argparse.ArgumentTypeError(f"{text} is not a number of seconds from 0 to {MAX_RAMP:g}")
    return value


def _percent(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (value >= 0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"{text} is not a finite percentage >= 0")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="AWS event-stream framing: benchmarks and tools.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__} ({BACKEND}, {CRC_KERNEL})")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("bench", help="benchmark both twins against every peer installed")
    p.add_argument("--quick", action="store_true", help="short measurements (seconds, for CI and a first look)")
    p.add_argument("--rounds", type=_positive, metavar="N",
                   help="interleaved rounds (default 15, or 3 with --quick); more give steadier ranges")
    p.add_argument("--json", action="store_true",
                   help="the results as a versioned JSON document on stdout (for --compare)")
    p.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    p.add_argument("--plot", metavar="FILE.png",
                   help="draw every family measured, as FILE.png and FILE.svg (needs the 'plot' extra)")
    p.add_argument("--case", action="append", metavar="TEXT", help="only cases whose name contains TEXT")
    p.add_argument("--compare", nargs="+", metavar="JSON",
                   help="OLD.json [NEW.json]: the change of each figure, and whether it is beyond the noise "
                        "(without NEW, against a run made now)")
    p.add_argument("--fail-on-regression", type=_percent, metavar="PCT",
                   help="with --compare: exit 1 if one of our figures got slower by more than PCT%% beyond the noise")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("dump", help="print each frame of an event-stream capture as one JSON line")
    p.add_argument("file", help="capture file, or - for stdin")
    p.set_defaults(func=cmd_dump)

    p = sub.add_parser("presign", help="print a presigned Amazon Transcribe streaming URL")
    p.add_argument("--region", help="AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, us-east-1)")
    p.add_argument("-l", "--language-code", help="e.g. en-US")
    p.add_argument("--identify-language", action="store_true")
    p.add_argument("--identify-multiple-languages", action="store_true")
    p.add_argument("--language-options", metavar="A,B", help="comma-separated language codes")
    p.add_argument("--preferred-language")
    p.add_argument("--sample-rate", type=int, default=16000)
    p.add_argument("--media-encoding", default="pcm", choices=transcribe.MEDIA_ENCODINGS)
    p.add_argument("--channels", type=int, default=1)
    p.add_argument("--channel-identification", action="store_true")
    p.add_argument("--speaker-labels", action="store_true")
    p.add_argument("--stability", choices=transcribe.STABILITY,
                   help="enable partial-results stabilization at this level")
    p.add_argument("--vocabulary-name")
    p.add_argument("--session-id")
    p.add_argument("--expires", type=int, default=transcribe.MAX_EXPIRES,
                   help=f"seconds, 1 to {transcribe.MAX_EXPIRES}")
    p.add_argument("--medical", action="store_true", help="Transcribe Medical endpoint")
    p.add_argument("--specialty", default="PRIMARYCARE", choices=transcribe.MEDICAL_SPECIALTIES, help="with --medical")
    p.add_argument("--type", default="CONVERSATION", choices=transcribe.MEDICAL_TYPES, help="with --medical")
    p.add_argument("--endpoint", help="override the endpoint, e.g. ws://127.0.0.1:8765")
    p.add_argument("--fips", action="store_true")
    p.set_defaults(func=cmd_presign)

    p = sub.add_parser("load", help="N concurrent Transcribe sessions against the fake server (loopback)")
    p.add_argument("--sessions", type=_positive, default=100)
    p.add_argument("--frames", type=_positive, default=50, help="frames per session")
    p.add_argument("--ms", type=_positive, default=100, help="audio per frame, sent at real time")
    p.add_argument("--ramp", type=_ramp, default=2.0, help="seconds over which sessions connect")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_load)

    p = sub.add_parser("frame", help="cut raw PCM into AudioEvent frames")
    p.add_argument("input", help="raw PCM file, or - for stdin")
    p.add_argument("-o", "--output", default="-", help="output file (default: stdout)")
    p.add_argument("--ms", type=_positive, default=100, help="milliseconds of audio per frame")
    p.add_argument("--sample-rate", type=_positive, default=16000)
    p.add_argument("--channels", type=_positive, default=1)
    p.add_argument("--sample-width", type=_positive, default=2, help="bytes per sample")
    p.set_defaults(func=cmd_frame)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    if sys.stderr is None:  # started with stderr closed: argparse would print its usage to stdout
        sys.stderr = open(os.devnull, "w")
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        command: Callable[[argparse.Namespace], int] = args.func
        status = command(args)
        if sys.stdout is not None:
            sys.stdout.flush()  # here, so that a failed write is reported like any other
        return status
    except UsageError as exc:
        _say(f"{PROG} {args.command}: {exc}")
        return 2
    except DataError as exc:
        _say(f"{PROG} {args.command}: {exc}")
        return 1
    except BrokenPipeError:  # e.g. `aws-eventstream dump x | head`
        _discard_stdout()
        return 0
    except OSError as exc:  # a write that failed, e.g. on a full disk
        _say(f"{PROG} {args.command}: {exc.strerror or exc}")
        _discard_stdout()
        return 1
    except KeyboardInterrupt:
        return 130


def _discard_stdout() -> None:
    """Point stdout at /dev/null, so that the flush at exit cannot fail a second time."""
    if sys.stdout is not None:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
