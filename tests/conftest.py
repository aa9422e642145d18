"""Shared fixtures: every behaviour test runs against both codec twins."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import pytest

from aws_eventstream import _codec_py

try:
    from aws_eventstream import _codec_c
except ImportError:  # reported by test_backend; the 'c' cases fail below
    _codec_c = None

_PURE_FORCED = os.environ.get("AWS_EVENTSTREAM_PURE_PYTHON", "").strip().lower() not in (
    "", "0", "false", "no", "off")

VECTORS = Path(os.environ.get(
    "AWS_EVENTSTREAM_VECTORS",
    Path(__file__).resolve().parents[2] / "shared" / "vectors",
))


def _twin(name: str):
    if name == "py":
        return _codec_py
    if _codec_c is None:
        if _PURE_FORCED:
            pytest.skip("the extension is not built and AWS_EVENTSTREAM_PURE_PYTHON is set")
        pytest.fail("the Cython extension aws_eventstream._codec_c is not built")
    return _codec_c


@pytest.fixture(params=["c", "py"], scope="session")
def codec(request):
    """The codec module under test: the Cython twin (``c``) or the pure twin (``py``)."""
    return _twin(request.param)


TWINS = ["c", "py"]


def twin(name: str):
    """The codec module by fixture id, for tests that cross the twins."""
    return _twin(name)


def vectors_dir() -> Path:
    """The AWS SDK event-stream vectors (../shared/vectors/eventstream)."""
    path = VECTORS / "eventstream"
    if not path.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"AWS SDK vectors not found at {path}")
        pytest.skip(f"AWS SDK vectors not found at {path} (set AWS_EVENTSTREAM_VECTORS)")
    return path


def raw_frame(header_block: bytes, payload: bytes = b"", *, total: int | None = None,
              hlen: int | None = None) -> bytes:
    """A frame with valid CRCs around arbitrary bytes, built with zlib, not with our codec.

    ``total``/``hlen`` override the lengths written in the prelude (the CRCs still match).
    """
    if total is None:
        total = 16 + len(header_block) + len(payload)
    if hlen is None:
        hlen = len(header_block)
    prelude = struct.pack(">II", total, hlen)
    head = prelude + struct.pack(">I", zlib.crc32(prelude)) + header_block + payload
    return head + struct.pack(">I", zlib.crc32(head))


def raw_header(name: bytes, tbyte: int, value: bytes = b"") -> bytes:
    """One wire header from raw parts."""
    return bytes([len(name)]) + name + bytes([tbyte]) + value


def pytest_terminal_summary(terminalreporter):
    import tally

    for what, n in sorted(tally.COUNTS.items()):
        terminalreporter.write_line(f"{what}: {n}")
