"""What the tests share: the codec twins by name, raw frames built without our codec, the data."""

from __future__ import annotations

import asyncio
import json
import os
import struct
import zlib
from pathlib import Path
from typing import Any, Dict, List

import pytest

from aws_eventstream import _codec_py

try:
    from aws_eventstream import _codec_c
except ImportError:  # reported by test_backend; the 'c' cases fail in twin()
    _codec_c = None

PURE_FORCED = os.environ.get("AWS_EVENTSTREAM_PURE_PYTHON", "").strip().lower() not in (
    "", "0", "false", "no", "off")

DATA = Path(__file__).resolve().parent / "data"

TWINS = ["c", "py"]


def twin(name: str):
    """The codec module by fixture id (``c`` or ``py``), for tests that cross the twins."""
    if name == "py":
        return _codec_py
    if _codec_c is None:
        if PURE_FORCED:
            pytest.skip("the extension is not built and AWS_EVENTSTREAM_PURE_PYTHON is set")
        pytest.fail("the Cython extension aws_eventstream._codec_c is not built")
    return _codec_c


def vectors_dir() -> Path:
    """The AWS SDK event-stream vectors (``tests/data/eventstream``)."""
    return DATA / "eventstream"


def vector_names(kind: str) -> List[str]:
    """The names of the ``positive`` or ``negative`` event-stream vectors, sorted."""
    return sorted(p.name for p in (vectors_dir() / "encoded" / kind).iterdir())


def signing_chains() -> List[Dict[str, Any]]:
    """The chunk-signature chains of ``tests/data/signing.json``."""
    return json.loads((DATA / "signing.json").read_text())["chains"]


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


def cut(data: bytes, sizes: List[int]) -> List[bytes]:
    """``data`` in chunks of the given sizes (cycled); a size of 0 gives an empty chunk, and
    no sizes (or only zeros) the whole of ``data`` in one chunk."""
    chunks, at, i = [], 0, 0
    if not any(sizes):
        sizes = [len(data)]
    while at < len(data):
        n = sizes[i % len(sizes)]
        chunks.append(data[at:at + n])
        at += n
        i += 1
    return chunks


# --------------------------------------------------------------------------- test servers on loopback


async def tcp_test_server(handler):
    """A TCP server on 127.0.0.1 that answers with ``handler(reader, writer)``; its URL."""
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    return server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"


async def h2_test_server(react, settings=None):
    """An h2 server on 127.0.0.1 whose ``react(conn, event, writer)`` answers each event; its URL."""
    import h2.config
    import h2.connection

    async def handler(reader, writer):
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
        conn.initiate_connection()
        if settings:
            conn.update_settings(settings)
        writer.write(conn.data_to_send())
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    return
                for event in conn.receive_data(data):
                    await react(conn, event, writer)
                writer.write(conn.data_to_send())
        except (ConnectionError, Exception):  # noqa: BLE001 - a test server going away with its client
            return
        finally:
            writer.close()
    return await tcp_test_server(handler)




def json_paths(value: Any, path: tuple = ()) -> Any:
    """Every path into a decoded JSON value (keys and indexes), the value's own () first."""
    yield path
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from json_paths(inner, path + (key,))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from json_paths(inner, path + (index,))


def json_replaced(value: Any, path: tuple, new: Any) -> Any:
    """``value`` with what is at ``path`` replaced by ``new`` (copies along the path only)."""
    if not path:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = json_replaced(value[path[0]], path[1:], new)
    return copy


def outcome(fn: Any, *args: Any) -> tuple:
    """``("value", fn(*args))``, or the exception's type name and message."""
    try:
        return ("value", fn(*args))
    except Exception as exc:  # noqa: BLE001 - compared, not swallowed
        return (type(exc).__name__, str(exc))
