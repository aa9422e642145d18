"""Run botocore's own event-stream unit tests against aws_eventstream.botocore.

botocore's sdist carries ``tests/unit/test_eventstream.py``. This script finds the sdist of
the installed botocore version in a cache directory (downloading it there with pip unless
``--no-download``), copies that one test file into a temporary directory, and runs it with
pytest in a fresh process where the names it imports from ``botocore.eventstream`` are
ours: :func:`aws_eventstream.botocore.install` puts our ``EventStreamBuffer`` in place (so
botocore's ``EventStream`` uses it too), and the error classes the file expects
(``ChecksumMismatch``, ``DuplicateHeader``, ``InvalidHeadersLength``,
``InvalidPayloadLength``) are ours, which is stricter: ours subclass botocore's.

Usage::

    python tests/run_botocore_eventstream_tests.py [--cache DIR] [--no-download] [--stock] [pytest args...]

The cache directory is ``--cache``, else ``$AWS_EVENTSTREAM_BOTOCORE_SDIST``, else
``~/.cache/aws-eventstream/botocore-sdist``. ``--stock`` runs the file against botocore's
own classes, for comparison. Exit status: pytest's; 3 when the sdist is not available.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tarfile
import tempfile
from importlib.metadata import version

TEST_FILE = "tests/unit/test_eventstream.py"

# Loaded by pytest in the child process, before botocore's test file is imported.
CONFTEST = '''
import json, os
import botocore.eventstream as be
from aws_eventstream import botocore as ours

OURS = os.environ["AWS_EVENTSTREAM_UNDER_TEST"] == "ours"
ERRORS = ("ChecksumMismatch", "DuplicateHeader", "InvalidHeadersLength", "InvalidPayloadLength")
_saved = {}
if OURS:
    ours.install()
    # Only while the test file imports them: botocore's own code keeps raising its own classes.
    for name in ERRORS:
        _saved[name] = getattr(be, name)
        setattr(be, name, getattr(ours, name))


def pytest_collection_finish(session):
    for name, cls in _saved.items():
        setattr(be, name, cls)
    if OURS:
        for item in session.items:
            assert item.module.EventStreamBuffer is ours.EventStreamBuffer
            assert be.EventStreamBuffer is ours.EventStreamBuffer


def pytest_terminal_summary(terminalreporter):
    counts = {k: len(terminalreporter.stats.get(k, [])) for k in ("passed", "failed", "error", "skipped")}
    with open(os.environ["AWS_EVENTSTREAM_COUNTS"], "w") as f:
        json.dump(counts, f)
'''


def find_sdist(cache: pathlib.Path, wanted: str, download: bool) -> pathlib.Path | None:
    """The cached sdist of botocore ``wanted``, fetched with pip if allowed and missing."""
    path = cache / f"botocore-{wanted}.tar.gz"
    if path.exists() or not download:
        return path if path.exists() else None
    cache.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                    f"botocore=={wanted}", "-d", str(cache)], check=True)
    return path if path.exists() else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", default=os.environ.get("AWS_EVENTSTREAM_BOTOCORE_SDIST")
                        or str(pathlib.Path.home() / ".cache" / "aws-eventstream" / "botocore-sdist"))
    parser.add_argument("--no-download", action="store_true")
    parser.add_argument("--stock", action="store_true", help="botocore's own classes, for comparison")
    args, pytest_args = parser.parse_known_args(argv)

    wanted = version("botocore")
    sdist = find_sdist(pathlib.Path(args.cache), wanted, not args.no_download)
    if sdist is None:
        print(f"botocore {wanted} sdist not in {args.cache}")
        return 3
    with tempfile.TemporaryDirectory() as tmp, tarfile.open(sdist) as tar:
        root = pathlib.Path(tmp)
        member = tar.getmember(f"botocore-{wanted}/{TEST_FILE}")
        source = tar.extractfile(member)
        assert source is not None
        (root / "test_botocore_eventstream.py").write_bytes(source.read())
        # The file imports `mock` from botocore's test package; unittest's is the same object.
        (root / "tests").mkdir()
        (root / "tests" / "__init__.py").write_text("from unittest import mock\n")
        (root / "conftest.py").write_text(CONFTEST)
        (root / "pytest.ini").write_text("[pytest]\n")
        counts_file = root / "counts.json"
        env = dict(os.environ, AWS_EVENTSTREAM_UNDER_TEST="stock" if args.stock else "ours",
                   AWS_EVENTSTREAM_COUNTS=str(counts_file))
        code = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", tmp,
                               str(root / "test_botocore_eventstream.py"), *pytest_args], cwd=tmp, env=env).returncode
        counts = json.loads(counts_file.read_text()) if counts_file.exists() else {}
    under = "botocore's own classes" if args.stock else "aws_eventstream.botocore"
    summary = ", ".join(f"{v} {k}" for k, v in counts.items()) or f"did not run (pytest exit status {code})"
    print(f"botocore {wanted} {TEST_FILE} with {under}: {summary}")
    return code


if __name__ == "__main__":
    sys.exit(main())
