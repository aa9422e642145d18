"""The command line, run as a user runs it: subprocesses, exit codes, output shape."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from aws_eventstream import MAX_FRAME, Decoder, decode, encode
from aws_eventstream import transcribe as t
from aws_eventstream.auth import Credentials
from helpers import vectors_dir
from sigv4_oracle import assert_signed_like_botocore


def run(*args, stdin=None, env=None, check=False, text=True, redirect="", limit_file_blocks=None):
    """Run the CLI; ``redirect`` is shell syntax applied first, e.g. ``<&-`` to close stdin;
    ``limit_file_blocks`` caps the size of any file it writes (``ulimit -f``, 512-byte blocks)."""
    # No AWS settings of the caller's (credentials, profiles); this package's own stay.
    full = {k: v for k, v in os.environ.items()
            if not k.startswith("AWS_") or k.startswith("AWS_EVENTSTREAM_")}
    full["AWS_EC2_METADATA_DISABLED"] = "true"
    full.update(env or {})
    command = [sys.executable, "-m", "aws_eventstream", *args]
    if redirect or limit_file_blocks:
        limit = f"ulimit -f {int(limit_file_blocks)}; " if limit_file_blocks else ""
        command = ["sh", "-c", f'{limit}exec "$@" {redirect}', "sh", *command]
    out = subprocess.run(command, input=stdin, env=full, capture_output=True, text=text, timeout=300)
    if check:
        assert out.returncode == 0, out.stderr
    return out


def test_console_script_and_version():
    out = run("--version", check=True)
    assert out.stdout.startswith("aws-eventstream ")
    script = shutil.which("aws-eventstream")
    if script is None:
        pytest.skip("the aws-eventstream script is not on PATH (package not installed with pip)")
    direct = subprocess.run([script, "--version"], capture_output=True, text=True, check=True)
    assert direct.stdout == out.stdout


def test_usage_errors_exit_2():
    assert run().returncode == 2
    assert run("nosuchcommand").returncode == 2
    assert run("frame", "-", "--ms", "0").returncode == 2


# --------------------------------------------------------------------------- bench


def test_bench_quick_table():
    out = run("bench", "--quick", "--case", "decode TranscriptEvent", check=True)
    lines = out.stdout.splitlines()
    assert lines[0].startswith("aws-eventstream ") and "CRC kernel" in lines[0]
    assert max(len(line) for line in lines) <= 100  # a terminal's width; the detail is in --markdown and --json
    import aws_eventstream

    text = " ".join(out.stdout.split())
    assert f"this CPU offers {', '.join(aws_eventstream.crc_kernels())};" in text
    header = next(line for line in lines if "time/op" in line)
    for column in ("range", "throughput", "speed-up"):
        assert column in header
    case = next(line for line in lines if line.startswith("decode TranscriptEvent"))
    fastest = case.split("speed-up against ")[1].split(",")[0]
    ours = next(line for line in lines if "aws-eventstream (python)" in line)
    assert "x [" in ours  # ratio [range over rounds] against the fastest peer
    assert fastest in {"botocore", "amazon-transcribe"}
    progress = [line for line in out.stderr.splitlines() if not line.startswith(("warning:", "  "))]
    assert progress == [progress[0]] and progress[0].startswith("measuring")  # one progress line, not one a step
    full = run("bench", "--quick", "--markdown", "--case", "decode TranscriptEvent", check=True).stdout
    assert "] botocore" in full  # every peer, in Markdown


def test_bench_json_and_skipped_peers(tmp_path):
    fake = tmp_path / "pipecat"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise ImportError('not here')\n")
    out = run("bench", "--quick", "--json", "--case", "encode AudioEvent 640", "--case", "crc32 64 B",
              env={"PYTHONPATH": str(tmp_path)}, check=True)
    report = json.loads(out.stdout)
    assert (report["format"], report["version"]) == ("aws-eventstream-bench", 2)
    assert report["settings"] == {"quick": True, "rounds": 3, "sample_seconds": report["settings"]["sample_seconds"],
                                  "cases": ["encode AudioEvent 640", "crc32 64 B"], "coverage": 0.75}
    import aws_eventstream

    ours = report["aws_eventstream"]
    assert ours["backend"] in ("cython", "python") and ours["crc_kernels"] == list(aws_eventstream.crc_kernels())
    assert ours["crc_kernel"] in ours["crc_kernels"]
    assert report["packages"]["aws-eventstream"] == aws_eventstream.__version__
    assert report["python"]["version"] == ".".join(map(str, sys.version_info[:3]))
    machine = report["machine"]
    assert machine["logical_cpus"] == os.cpu_count() and machine["arch"]
    if machine["arch"] == "x86_64" and os.path.exists("/proc/cpuinfo"):
        flags = open("/proc/cpuinfo").read().split("flags", 1)[1].split("\n", 1)[0].split()
        assert machine["cpu_flags"]["pclmulqdq"] == ("pclmulqdq" in flags)
        assert machine["cpu_flags"]["avx512f"] == ("avx512f" in flags)
    rows = report["results"]
    assert {r["case"] for r in rows} == {"encode AudioEvent 640 B", "crc32 64 B"}
    pipecat = next(r for r in rows if r["implementation"].startswith("pipecat-ai"))
    assert pipecat["skipped"] == "pipecat-ai is not installed" and pipecat["median"] is None
    for r in rows:
        if r["skipped"] is None:
            assert len(r["samples"]) == 3 and r["min"] <= r["median"] <= r["max"] and r["throughput"] > 0
            assert r["median"] == sorted(r["samples"])[1] and r["loops"] >= 1
    ours_crc = [r for r in rows if r["ours"] and r["case"] == "crc32 64 B"]
    zlib = next(r for r in rows if r["implementation"] == "zlib")
    for r in ours_crc:
        per_round = sorted(z / o for z, o in zip(zlib["samples"], r["samples"]))
        assert r["speedup"]["zlib"] == {"median": per_round[1], "min": per_round[0], "max": per_round[2]}
    text = run("bench", "--quick", "--case", "encode AudioEvent 640", env={"PYTHONPATH": str(tmp_path)}, check=True)
    skipped = text.stdout.split("\nskipped:\n", 1)[1].splitlines()
    assert "  pipecat-ai build_event_message: pipecat-ai is not installed" in skipped


def _has(module):
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _results(tmp_path, name, *args, env=None, quick=True):
    out = run("bench", *(["--quick"] if quick else []), "--json", *args, env=env, check=True)
    path = tmp_path / name
    path.write_text(out.stdout)
    return path, json.loads(out.stdout)


def _doc(figures, *, rounds=15, coverage=0.9648, packages=None):
    """A hand-made results document: {(case, implementation): (median, low, high, ours, speedups)}."""
    results = []
    for (case, name), (median, low, high, ours, speedup) in figures.items():
        results.append({"case": case, "group": "crc32", "bytes": 64, "implementation": name, "ours": ours,
                        "reference": False, "partial": False, "skipped": None, "loops": 1, "samples": [median],
                        "median": median, "min": low, "max": high, "spread": 0.0, "throughput": 1.0,
                        "speedup": {peer: {"median": m, "min": lo, "max": hi} for peer, (m, lo, hi) in speedup.items()}})
    return {"format": "aws-eventstream-bench", "version": 2, "settings": {"rounds": rounds, "coverage": coverage},
            "packages": packages or {"isal": "1.7"}, "results": results}


def test_bench_compare_judges_ours_by_the_speedup_against_a_peer(tmp_path):
    """Two runs of one machine where everything got 20% slower (the machine, not the code)
    and one where ours lost against the same peer: only the second is a regression."""
    ours, peer = ("crc32 64 B", "aws-eventstream (cython, vpclmul512)"), ("crc32 64 B", "isal")
    base = _doc({ours: (100, 95, 105, True, {"isal": (1.0, 0.97, 1.03)}), peer: (100, 96, 104, False, {})})
    drift = _doc({ours: (120, 114, 126, True, {"isal": (1.0, 0.96, 1.04)}), peer: (120, 115, 125, False, {})})
    worse = _doc({(ours[0], "aws-eventstream (cython, table)"): (300, 290, 310, True, {"isal": (0.33, 0.32, 0.35)}),
                  peer: (100, 96, 104, False, {})})
    paths = {}
    for name, doc in (("base", base), ("drift", drift), ("worse", worse)):
        paths[name] = tmp_path / f"{name}.json"
        paths[name].write_text(json.dumps(doc))
    same = run("bench", "--compare", str(paths["base"]), str(paths["drift"]), "--fail-on-regression", "10")
    assert same.returncode == 0, same.stdout + same.stderr
    ours_line = next(line for line in same.stdout.splitlines() if "aws-eventstream" in line)
    assert "vs isal" in ours_line and "+0.0%" in ours_line and "within noise" in ours_line
    peer_line = next(line for line in same.stdout.splitlines() if line.strip().startswith("isal"))
    assert "+20.0%" in peer_line and "slower" in peer_line  # by time: the machine drifted
    bad = run("bench", "--compare", str(paths["base"]), str(paths["worse"]), "--fail-on-regression", "50")
    assert bad.returncode == 1
    assert "regression: crc32 64 B | aws-eventstream (cython, table): +203.0% (more than 50%)" in bad.stderr
    assert run("bench", "--compare", str(paths["base"]), str(paths["worse"]), "--fail-on-regression",
               "250").returncode == 0
    md = run("bench", "--compare", str(paths["base"]), str(paths["worse"]), "--markdown", check=True)
    assert md.stdout.startswith("| case | implementation | old | new | change |")


def test_bench_compare_warns_of_thin_ranges_and_other_packages(tmp_path):
    row = {("crc32 64 B", "zlib"): (100, 100, 100, False, {})}
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(json.dumps(_doc(row, rounds=3, coverage=0.75, packages={"isal": "1.6"})))
    new.write_text(json.dumps(_doc(row)))
    out = run("bench", "--compare", str(old), str(new), check=True)
    assert "only 75%" in out.stderr and "isal 1.6 -> 1.7" in out.stderr


@pytest.mark.parametrize("field, value", [("median", 0), ("median", float("inf")), ("min", 200), ("max", -1),
                                          ("median", float("nan")), ("median", "fast")])
def test_bench_compare_refuses_bad_figures(tmp_path, field, value):
    doc = _doc({("crc32 64 B", "zlib"): (100, 90, 110, False, {})})
    doc["results"][0][field] = value
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    out = run("bench", "--compare", str(path), str(path))
    assert out.returncode == 2 and "malformed" in out.stderr and "Traceback" not in out.stderr


def test_bench_multiprocess_run_reads_back_and_compares(tmp_path):
    """A full-style run (rounds over worker processes) gives a document --compare reads."""
    _, report = _results(tmp_path, "mp.json", "--case", "crc32 64 B", "--rounds", "4", quick=False)
    rows = [r for r in report["results"] if r["skipped"] is None]
    assert rows and all(len(r["samples"]) == 4 for r in rows)
    out = run("bench", "--compare", str(tmp_path / "mp.json"), str(tmp_path / "mp.json"), check=True)
    assert "0 of our" in out.stdout and "changed beyond the noise" in out.stdout


def test_bench_compare_reads_and_refuses(tmp_path):
    old = tmp_path / "v1.json"
    old.write_text(json.dumps({"results": [{"case": "crc32 64 B", "implementation": "zlib", "ours": False,
                                            "seconds": 1e-7, "skipped": None}]}))
    new, _ = _results(tmp_path, "new.json", "--case", "crc32 64 B")
    out = run("bench", "--compare", str(old), str(new), check=True)  # version 1: no range, read all the same
    assert "zlib" in out.stdout
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "aws-eventstream-bench", "version": 99, "results": []}')
    flags = ("--quick", "--case", "crc32 64 B")
    for args, message in (((str(bad), str(new)), "version 99"), ((str(tmp_path / "missing.json"),), "cannot read"),
                          ((str(old), str(new), str(new)), "OLD.json and, optionally"),
                          ((str(new), str(new), *flags), "nothing is measured when --compare is given two files"),
                          ((str(new), "--plot", str(tmp_path / "no" / "x.png")), "cannot be written"),
                          ((str(new), *flags), None)):
        out = run("bench", "--compare", *args)
        if message is None:  # against a run made now
            assert out.returncode == 0 and "crc32 64 B" in out.stdout
        else:
            assert out.returncode == 2 and message in out.stderr and "Traceback" not in out.stderr
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100000 + "]" * 100000)
    out = run("bench", "--compare", str(deep), str(deep))
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert run("bench", "--fail-on-regression", "5").returncode == 2
    for bad_pct in ("nan", "inf", "-5", "x"):
        assert run("bench", "--compare", str(new), str(new), "--fail-on-regression", bad_pct).returncode == 2
    assert run("bench", "--rounds", "0").returncode == 2
    out = run("bench", "--quick", "--case", "smithy EventMessage.encode", "--plot", str(tmp_path / "none.png"))
    if sys.version_info < (3, 12) or not _has("smithy_aws_event_stream"):  # every row skipped: nothing to draw
        assert out.returncode == 2 and "Traceback" not in out.stderr


def test_bench_markdown_and_streams_per_core():
    out = run("bench", "--quick", "--markdown", "--case", "Transcribe stream", check=True)
    assert "| implementation | streams per core, 20 ms frames | streams per core, 100 ms frames |" in out.stdout
    row = next(line for line in out.stdout.splitlines() if line.startswith("| aws-eventstream (python)"))
    assert int(row.split("|")[2].strip().replace(",", "")) > 0
    assert "| case | implementation | time/op (median) | range |" in out.stdout


def test_bench_plot(tmp_path):
    target = tmp_path / "bench.png"
    out = run("bench", "--quick", "--case", "crc32 64 B", "--case", "decode TranscriptEvent", "--plot", str(target))
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert out.returncode == 2 and "aws-eventstream[plot]" in out.stderr
    else:
        assert out.returncode == 0, out.stderr
        assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert (tmp_path / "bench.svg").read_text().lstrip().startswith("<?xml")


def test_bench_unknown_case():
    out = run("bench", "--quick", "--case", "no such case")
    assert out.returncode == 2 and "no case matches" in out.stderr


# --------------------------------------------------------------------------- dump


def _dump(*args, **kw):
    out = run("dump", *args, **kw)
    return out, [json.loads(line) for line in out.stdout.splitlines()]


def test_dump_the_aws_vectors():
    base = vectors_dir()
    for path in sorted((base / "encoded" / "positive").iterdir()):
        out, records = _dump(str(path))
        assert out.returncode == 0, out.stderr
        (rec,) = records
        want = json.loads((base / "decoded" / "positive" / path.name).read_text())
        assert rec["offset"] == 0 and rec["length"] == want["total_length"] == path.stat().st_size
        assert [(h["name"], h["type"]) for h in rec["headers"]] == [
            (h["name"], ["bool", "bool", "byte", "short", "integer", "long", "bytes", "string", "timestamp",
                         "uuid"][h["type"]]) for h in want["headers"]]


def test_dump_typed_values_and_payload_encodings(tmp_path):
    import uuid

    from aws_eventstream import Int16, Timestamp

    frames = [
        encode({"s": "x", "n": Int16(-3), "t": Timestamp(0), "u": uuid.UUID(int=1), "b": b"\xff", "f": False},
               b'{"k": [1, 2]}'),
        encode({}, "caf\u00e9".encode()),
        encode({}, b"\xff\xfe\x00"),
    ]
    path = tmp_path / "capture.bin"
    path.write_bytes(b"".join(frames))
    out, records = _dump(str(path))
    assert out.returncode == 0
    assert [r["offset"] for r in records] == [0, len(frames[0]), len(frames[0]) + len(frames[1])]
    first = {h["name"]: h for h in records[0]["headers"]}
    assert first["n"] == {"name": "n", "type": "short", "value": -3}
    assert first["t"]["iso"].startswith("1970-01-01T00:00:00")
    assert first["u"]["value"] == "00000000-0000-0000-0000-000000000001" and first["b"]["value"] == "/w=="
    assert first["f"]["value"] is False
    assert (records[0]["payload"], records[0]["payload_encoding"]) == ({"k": [1, 2]}, "json")
    assert (records[1]["payload"], records[1]["payload_encoding"]) == ("caf\u00e9", "text")
    assert (records[2]["payload"], records[2]["payload_encoding"]) == ("//4A", "base64")


def test_dump_stdin_in_any_chunking():
    stream = b"".join(encode({"i": i}, bytes(i)) for i in range(50))
    out = run("dump", "-", stdin=stream, text=False)
    assert out.returncode == 0
    assert len(out.stdout.splitlines()) == 50


def test_dump_corrupt_input_stops_at_the_bad_frame(tmp_path):
    good = encode({"a": "b"}, b"payload")
    bad = bytearray(good)
    bad[-2] ^= 1
    path = tmp_path / "bad.bin"
    path.write_bytes(good * 2 + bytes(bad) + good)
    out, records = _dump(str(path))
    assert out.returncode == 1 and len(records) == 2
    (line,) = out.stderr.strip().splitlines()
    assert f"byte {2 * len(good)}" in line and "checksum mismatch" in line.lower()


def test_dump_truncated_input(tmp_path):
    good = encode({"a": "b"}, b"payload")
    path = tmp_path / "cut.bin"
    path.write_bytes(good + good[:-5])
    out, records = _dump(str(path))
    assert out.returncode == 1 and len(records) == 1
    assert f"stream ended inside the frame at byte {len(good)}" in out.stderr


def test_dump_negative_vectors_fail_with_exit_1():
    for path in sorted((vectors_dir() / "encoded" / "negative").iterdir()):
        out, records = _dump(str(path))
        assert out.returncode == 1 and records == [] and "at byte 0" in out.stderr


def test_dump_missing_file():
    out = run("dump", "/no/such/file")
    assert out.returncode == 2 and "cannot read" in out.stderr


# --------------------------------------------------------------------------- presign

SECRET = "cli-secret-key/+="
KEYS = {"AWS_ACCESS_KEY_ID": "AKIDCLI", "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_SESSION_TOKEN": "cli-token"}


def test_presign(tmp_path):
    out = run("presign", "-l", "en-US", "--region", "eu-west-1", "--sample-rate", "8000", "--stability", "high",
              "--speaker-labels", env=KEYS, check=True)
    url = out.stdout.strip()
    assert url.startswith("wss://transcribestreaming.eu-west-1.amazonaws.com:8443/stream-transcription-websocket?")
    assert "sample-rate=8000" in url and "partial-results-stability=high" in url
    assert SECRET not in out.stdout + out.stderr
    assert_signed_like_botocore(url, Credentials("AKIDCLI", SECRET, "cli-token"), "eu-west-1")
    medical = run("presign", "--medical", "--specialty", "CARDIOLOGY", "--type", "DICTATION", env=KEYS, check=True)
    assert "/medical-stream-transcription-websocket?" in medical.stdout and "us-east-1" in medical.stdout
    ident = run("presign", "--identify-language", "--language-options", "en-US,es-US", env=KEYS, check=True)
    assert "identify-language=true" in ident.stdout and "language-options=en-US%2Ces-US" in ident.stdout


def test_presign_offers_the_values_transcribe_accepts():
    """The choices are transcribe's own constants, so the two cannot drift apart."""
    usage = " ".join(run("presign", "--help", check=True).stdout.split())
    for values in (t.MEDIA_ENCODINGS, t.STABILITY, t.MEDICAL_SPECIALTIES, t.MEDICAL_TYPES):
        assert "{" + ",".join(values) + "}" in usage
    assert f"1 to {t.MAX_EXPIRES}" in usage
    out = run("presign", "--medical", "--specialty", "DENTAL", env=KEYS)
    assert out.returncode == 2 and "invalid choice" in out.stderr and "DENTAL" in out.stderr


def test_presign_without_credentials(tmp_path):
    env = {"HOME": str(tmp_path), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
           "AWS_CONFIG_FILE": str(tmp_path / "none")}
    out = run("presign", "-l", "en-US", env=env)
    assert out.returncode == 2 and out.stdout == ""
    assert len(out.stderr.strip().splitlines()) == 1 and "no AWS credentials" in out.stderr


@pytest.mark.parametrize("args, match", [
    (["-l", "en-US", "--sample-rate", "96000"], "sample-rate"),
    (["-l", "en-US", "--expires", "900"], "expires"),
    (["-l", "en-US", "--identify-language"], "exactly one"),
])
def test_presign_bad_parameters(args, match):
    out = run("presign", *args, env=KEYS)
    assert out.returncode == 2 and match in out.stderr and SECRET not in out.stderr


# --------------------------------------------------------------------------- frame


def test_frame_cuts_pcm_and_ends_the_stream(tmp_path):
    pcm = bytes(range(256)) * 125  # 32000 bytes: one second of 16 kHz 16-bit mono
    src = tmp_path / "audio.raw"
    src.write_bytes(pcm + b"\x01\x02")  # a short last frame
    dst = tmp_path / "audio.es"
    out = run("frame", str(src), "-o", str(dst), "--ms", "100")
    assert out.returncode == 0, out.stderr
    data = dst.read_bytes()
    from aws_eventstream import Decoder

    messages = Decoder().feed(data)
    assert [len(m.payload) for m in messages] == [3200] * 10 + [2, 0]
    assert all(m.headers == t.AUDIO_HEADERS for m in messages)
    assert b"".join(m.payload for m in messages) == pcm + b"\x01\x02"
    assert data.endswith(t.END_OF_STREAM)
    dumped = run("dump", str(dst), check=True)
    assert len(dumped.stdout.splitlines()) == 12


def test_frame_stdin_to_stdout_with_options():
    pcm = bytes(48000 * 2 * 2 // 50)  # 20 ms of 48 kHz stereo, twice
    out = run("frame", "-", "--ms", "10", "--sample-rate", "48000", "--channels", "2", stdin=pcm, text=False)
    assert out.returncode == 0
    from aws_eventstream import Decoder

    messages = Decoder().feed(out.stdout)
    assert [len(m.payload) for m in messages] == [1920, 1920, 0]
    assert decode(t.END_OF_STREAM) == messages[-1]


def test_load_smoke():
    pytest.importorskip("websockets")
    out = run("load", "--sessions", "5", "--frames", "5", "--ms", "20", "--ramp", "0.1", "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["sessions_held"] == 5 and report["frames_sent"] == 25
    assert report["frames_lost"] == 0 and report["server_frames"] == 25
    assert report["latency_ms"]["p50"] is not None and report["latency_ms"]["p99"] >= report["latency_ms"]["p50"]


# --------------------------------------------------------------------------- failures: one line, no traceback


@pytest.fixture
def home(tmp_path):
    """A private HOME with no ~/.aws (``run`` already drops every AWS_* variable)."""
    return {"HOME": str(tmp_path)}


def one_line_error(out, status):
    assert out.returncode == status, out.stderr
    assert "Traceback" not in out.stderr
    (line,) = out.stderr.strip().splitlines()
    return line


@pytest.mark.parametrize("args", [["dump", "-"], ["frame", "-", "-o", "{tmp}/out.es"]])
def test_closed_stdin(tmp_path, home, args):
    args = [a.format(tmp=tmp_path) for a in args]
    line = one_line_error(run(*args, env=home, redirect="<&-"), 2)
    assert "standard input is closed" in line
    assert not (tmp_path / "out.es").exists()


@pytest.mark.parametrize("args", [["dump", "{capture}"], ["frame", "{raw}"], ["presign", "-l", "en-US"]])
def test_closed_stdout(tmp_path, home, args):
    (tmp_path / "capture.bin").write_bytes(encode({"a": "b"}, b"payload"))
    (tmp_path / "audio.raw").write_bytes(bytes(640))
    args = [a.format(capture=tmp_path / "capture.bin", raw=tmp_path / "audio.raw") for a in args]
    line = one_line_error(run(*args, env={**home, **KEYS}, redirect=">&-"), 2)
    assert "standard output is closed" in line and SECRET not in line


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_failed_write_to_stdout(tmp_path, home):
    capture = tmp_path / "capture.bin"
    capture.write_bytes(encode({"a": "b"}, b"payload" * 10000) * 20)
    line = one_line_error(run("dump", str(capture), env=home, redirect=">/dev/full"), 1)
    assert "No space left on device" in line


def test_frame_over_the_frame_limit_is_refused_up_front(tmp_path, home):
    src = tmp_path / "big.raw"
    src.write_bytes(bytes(6400))
    dst = tmp_path / "out.es"
    line = one_line_error(run("frame", str(src), "-o", str(dst), "--ms", "1000000", env=home), 2)
    assert "--ms" in line and f"limited to {MAX_FRAME} bytes" in line
    assert not dst.exists()


def test_frame_reports_the_frames_it_wrote(tmp_path, home):
    src = tmp_path / "short.raw"
    src.write_bytes(bytes(100))
    out = run("frame", str(src), "-o", str(tmp_path / "out.es"), "--ms", "100", env=home)
    assert out.returncode == 0, out.stderr
    assert "1 AudioEvent frame" in out.stderr and "100 bytes" in out.stderr and "3200" not in out.stderr


@pytest.mark.parametrize("size, channels", [(3201, 1), (3202, 2), (1, 1)])
def test_frame_refuses_a_partial_sample(tmp_path, home, size, channels):
    src = tmp_path / "odd.raw"
    src.write_bytes(bytes(size))
    out = run("frame", str(src), "-o", str(tmp_path / "out.es"), "--channels", str(channels), env=home)
    line = one_line_error(out, 1)
    assert "partial sample" in line and str(size) in line
    assert not (tmp_path / "out.es").read_bytes().endswith(t.END_OF_STREAM)


def test_frames_never_split_a_sample(tmp_path, home):
    src = tmp_path / "audio.raw"
    src.write_bytes(bytes(range(12)))
    dst = tmp_path / "out.es"
    # 1500 Hz for 1 ms is 1.5 samples: each frame carries one whole 2-byte sample, not 3 bytes
    out = run("frame", str(src), "-o", str(dst), "--ms", "1", "--sample-rate", "1500", env=home)
    assert out.returncode == 0, out.stderr
    from aws_eventstream import Decoder

    assert [len(m.payload) for m in Decoder().feed(dst.read_bytes())] == [2] * 6 + [0]


def test_presign_with_an_unknown_profile(home):
    line = one_line_error(run("presign", "-l", "en-US", env={**home, "AWS_PROFILE": "nope"}), 2)
    assert "nope" in line


def test_presign_with_a_malformed_config_file(tmp_path, home):
    config = tmp_path / "config"
    config.write_text("[default\nregion = us-east-1\n")
    line = one_line_error(run("presign", "-l", "en-US", env={**home, "AWS_CONFIG_FILE": str(config)}), 2)
    assert str(config) in line


def test_presign_with_a_malformed_config_in_home(tmp_path, home):
    (tmp_path / ".aws").mkdir()
    (tmp_path / ".aws" / "config").write_text("not an ini file\n")
    line = one_line_error(run("presign", "-l", "en-US", env=home), 2)
    assert "config" in line


def test_presign_with_an_undecodable_secret(home):
    secret = "FIRSTHALFOFSECRET\udcffSECONDHALFOFSECRET"  # the byte 0xff, as Python reads it from the environment
    env = {**home, "AWS_ACCESS_KEY_ID": "AKIDCLI", "AWS_SECRET_ACCESS_KEY": secret}
    line = one_line_error(run("presign", "-l", "en-US", env=env), 2)
    assert "AWS_SECRET_ACCESS_KEY" in line
    for leak in ("FIRSTHALF", "SECONDHALF", "udcff", "xff", "position", "17"):
        assert leak not in line


# --------------------------------------------------------------------------- no traceback, no corrupted output


@pytest.mark.parametrize("ramp", ["inf", "1e308", "nan", "-1", "-0.5", "3600.5", "soon"])
def test_load_refuses_a_ramp_that_never_ends_or_means_nothing(ramp):
    out = run("load", "--sessions", "1", "--ramp", ramp)
    assert out.returncode == 2 and "--ramp" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.parametrize("payload, encoding", [
    (b"[" * 100_000 + b"]" * 100_000, "text"),  # deeper than json goes: shown as the text it is
    (b'{"a": ' * 2000 + b"1" + b"}" * 2000, None),  # deep, but within what the writer takes: either way, exact
    (b'{"v": NaN}', "text"), (b"[Infinity, -Infinity]", "text"), (b"1e400", "text"),  # not JSON (RFC 8259)
    (b'{"v": 1.5e300}', "json"),
])
def test_dump_writes_only_json_and_says_what_a_payload_is(tmp_path, payload, encoding):
    path = tmp_path / "capture.bin"
    path.write_bytes(encode({"a": "b"}, payload))
    out = run("dump", str(path), text=False)
    assert out.returncode == 0 and b"Traceback" not in out.stderr, out.stderr
    (record,) = [json.loads(line, parse_constant=lambda c: pytest.fail(f"{c} is not JSON"))
                 for line in out.stdout.splitlines()]
    if encoding is not None:
        assert record["payload_encoding"] == encoding
    if record["payload_encoding"] == "text":
        assert record["payload"].encode() == payload
    else:
        assert record["payload"] == json.loads(payload)


def test_dump_keeps_an_escaped_lone_surrogate_escaped(tmp_path):
    path = tmp_path / "capture.bin"
    path.write_bytes(encode({"a": "b"}, b'{"s": "\\ud800 and \\u00e9"}'))
    out = run("dump", str(path), text=False)
    assert out.returncode == 0 and b"Traceback" not in out.stderr, out.stderr
    (line,) = out.stdout.splitlines()
    line.decode("utf-8")  # the output is UTF-8 throughout
    record = json.loads(line)
    assert record["payload_encoding"] == "json" and record["payload"] == {"s": "\ud800 and \u00e9"}


@pytest.mark.parametrize("settings", [{"coverage": -0.5}, {"coverage": 10**400}, {"coverage": float("nan")},
                                      {"coverage": "high"}, {"coverage": True}])
def test_bench_compare_refuses_a_coverage_that_is_not_a_probability(tmp_path, settings):
    doc = _doc({("crc32 64 B", "zlib"): (100, 90, 110, False, {})})
    doc["settings"].update(settings)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    out = run("bench", "--compare", str(path), str(path))
    assert out.returncode == 2 and "coverage" in out.stderr and "Traceback" not in out.stderr


def test_bench_compare_refuses_a_figure_too_big_for_a_float(tmp_path):
    doc = _doc({("crc32 64 B", "zlib"): (100, 90, 110, False, {})})
    doc["results"][0]["max"] = 10**400
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    out = run("bench", "--compare", str(path), str(path))
    assert out.returncode == 2 and "malformed" in out.stderr and "Traceback" not in out.stderr


def test_with_stderr_closed_nothing_but_the_output_reaches_stdout(tmp_path, home):
    raw = tmp_path / "audio.raw"
    raw.write_bytes(bytes(6400))
    out = run("frame", str(raw), env=home, redirect="2>&-", text=False)
    assert out.returncode == 0
    decoder = Decoder()
    frames = decoder.feed(out.stdout)
    decoder.close()  # every byte of stdout is a frame: no status line appended
    assert len(frames) == 3 and frames[-1].payload == b""
    bad = run("dump", str(raw), env=home, redirect="2>&-")
    assert bad.returncode == 1 and bad.stdout == ""  # the error has nowhere to go, and does not go to stdout


@pytest.mark.parametrize("link", [False, True])
def test_frame_refuses_to_write_over_its_input(tmp_path, home, link):
    raw = tmp_path / "audio.raw"
    audio = bytes(range(256)) * 25
    raw.write_bytes(audio)
    target = raw
    if link:
        target = tmp_path / "link.raw"
        target.symlink_to(raw)
    line = one_line_error(run("frame", str(raw), "-o", str(target), env=home), 2)
    assert "is the input itself" in line
    assert raw.read_bytes() == audio


def test_dump_nested_to_the_writers_limit_is_shown_as_text(tmp_path):
    """The record wraps the payload two levels deeper: a payload the reader takes may still be
    too deep for the writer (1,497 levels on 3.12), and is shown as its text."""
    for depth in range(1490, 1505):
        payload = b"[" * depth + b"]" * depth
        path = tmp_path / f"deep{depth}.bin"
        path.write_bytes(encode({"a": "b"}, payload))
        out = run("dump", str(path), text=False)
        assert out.returncode == 0 and b"Traceback" not in out.stderr, (depth, out.stderr[-300:])
        (line,) = out.stdout.splitlines()
        try:
            assert json.loads(line)["payload_encoding"] in ("json", "text")
        except RecursionError:  # deeper than json reads on this Python (3.12's C limit is fixed): written whole
            assert line.startswith(b'{"offset": 0, ') and line.endswith(b'"payload_encoding": "json"}')
            assert line.count(b"[") == line.count(b"]") == depth + 1  # and the headers list


def test_dump_writes_utf8_whatever_the_locale(tmp_path):
    path = tmp_path / "capture.bin"
    path.write_bytes(encode({"\u00e9": "caf\u00e9"}, '{"k": "\u00e9"}'.encode()))
    out = run("dump", str(path), env={"PYTHONIOENCODING": "ascii"}, text=False)
    assert out.returncode == 0 and b"Traceback" not in out.stderr, out.stderr
    record = json.loads(out.stdout.decode("utf-8"))
    assert record["headers"][0]["name"] == "\u00e9" and record["payload"] == {"k": "\u00e9"}


@pytest.mark.parametrize("args", [["dump", "--nope"], ["load", "--ramp", "nan"], ["frame"]])
def test_usage_errors_never_reach_stdout_with_stderr_closed(args):
    out = run(*args, redirect="2>&-")
    assert out.returncode == 2 and out.stdout == ""


def test_frame_refuses_to_append_to_its_own_input(tmp_path, home):
    raw = tmp_path / "audio.raw"
    audio = bytes(6400)
    raw.write_bytes(audio)
    # ulimit -f: were the refusal ever gone, the file could grow by 1 MiB at most, not fill the disk
    out = run("frame", str(raw), env=home, redirect=f">> {raw}", limit_file_blocks=2048)
    assert out.returncode == 2 and "standard output is the input itself" in out.stderr
    assert raw.read_bytes() == audio


def test_bench_compare_refuses_figures_too_far_apart_to_compare(tmp_path):
    tiny, huge = _doc({("crc32 64 B", "zlib"): (5e-324, 5e-324, 5e-324, False, {})}), \
        _doc({("crc32 64 B", "zlib"): (1e308, 1e308, 1e308, False, {})})
    paths = []
    for name, doc in (("tiny.json", tiny), ("huge.json", huge)):
        paths.append(tmp_path / name)
        paths[-1].write_text(json.dumps(doc))
    out = run("bench", "--compare", *map(str, paths), "--fail-on-regression", "5")
    assert out.returncode == 2 and "too far apart" in out.stderr and "inf" not in out.stdout


def test_cpu_per_real_time_stream_measures_each_client_alone():
    """The bench's CPU per stream: each client streams at real time against the fakes in
    another process; what is checked is that each was measured, never how fast it was."""
    pytest.importorskip("trustme", reason="the fake servers' TLS needs trustme")
    from aws_eventstream._tools import cpu

    names = [cpu.PACING, "aws-eventstream Transcribe, WebSocket", "aws-eventstream Transcribe, HTTP/2",
             "aws-eventstream Bedrock Nova Sonic-like, HTTP/2"]
    rows = cpu.measure(1.0, names=names)
    assert [r["name"] for r in rows] == names
    assert rows[0]["results"] == 0  # the pacing alone: nothing sent, nothing read
    for r in rows:
        assert r["skipped"] is None, r
        assert r["cpu_seconds"] > 0 and r["wall_seconds"] >= 0.8  # paced: the last chunk at 0.9 s
        assert r["results"] > 0 or r is rows[0]
        assert r["cpu_per_minute"] == pytest.approx(r["cpu_seconds"] * 60, abs=0.05)  # each rounded to 3 places
    text = cpu.table(rows, 1.0)
    assert "vs WS" in text and "1.00x" in text and max(map(len, text.splitlines())) <= 100
    assert cpu.table(rows, 1.0, markdown=True).startswith("| client |")
    many = cpu.concurrency(8, 1.0)
    assert many["events"] == many["expected"] == 80  # every output event of every stream arrived
    assert many["p50_ms"] <= many["p99_ms"] <= many["max_ms"] and many["rss_per_stream_kib"] >= 0
    assert 0 < many["steady_events"] <= many["events"] and many["steady_p99_ms"] <= many["max_ms"]
    assert "8 concurrent Nova Sonic-like streams" in cpu.concurrency_line(many)


def test_cpu_per_real_time_stream_of_the_official_smithy_sdks_where_they_install():
    """aws-sdk-transcribe-streaming and aws-sdk-bedrock-runtime (Python 3.12+, the sdk-oracles
    extra) stream against the same fakes, on their awscrt transport, every result read."""
    pytest.importorskip("trustme", reason="the fake servers' TLS needs trustme")
    pytest.importorskip("aws_sdk_transcribe_streaming", reason="the sdk-oracles extra is not installed (3.12+)")
    sdk = pytest.importorskip("aws_sdk_bedrock_runtime.config", reason="the sdk-oracles extra is not installed (3.12+)")
    if not hasattr(sdk, "AsyncBedrockRuntimeConfig"):
        pytest.skip("the bench drives aws-sdk-bedrock-runtime 0.11 and later")
    from aws_eventstream._tools import cpu

    names = ["aws-sdk-transcribe-streaming (awscrt HTTP/2)", "aws-sdk-bedrock-runtime Nova Sonic-like (awscrt HTTP/2)"]
    rows = cpu.measure(1.0, names=names)
    assert [r["name"] for r in rows] == names
    for r in rows:
        assert r["skipped"] is None, r
        assert r["cpu_seconds"] > 0 and r["results"] > 0 and r["wall_seconds"] >= 0.8


def test_the_smithy_sdks_whole_receiving_path_is_measured_stock_and_on_our_codec():
    """aws-sdk-bedrock-runtime's receiver and deserializer on a Nova Sonic output stream and a
    ConverseStream response: both rows measured, each giving every event (Python 3.12+)."""
    pytest.importorskip("smithy_aws_event_stream", reason="smithy needs Python 3.12+ (the smithy extra)")
    sdk = pytest.importorskip("aws_sdk_bedrock_runtime.config", reason="the sdk-oracles extra is not installed")
    if not hasattr(sdk, "AsyncBedrockRuntimeConfig"):
        pytest.skip("the bench drives aws-sdk-bedrock-runtime 0.11 and later")
    from aws_eventstream._tools import bench

    rows = bench.measure(bench.select(["whole path"]), 1, 0.001)
    assert len({r.case.name for r in rows}) == 3 and len(rows) == 6
    for row in rows:
        assert row.skipped is None and row.samples, (row.case.name, row.impl.name, row.skipped)
