"""The AWS SDK event-stream vectors (tests/data/eventstream): decode, re-encode, refuse."""

import base64
import json
import struct
import uuid

import pytest

from aws_eventstream import ChecksumError, Int8, Int16, Int32, Int64, Timestamp
from helpers import vector_names, vectors_dir

_TYPES = {2: Int8, 3: Int16, 4: Int32, 5: Int64, 8: Timestamp}


def pytest_generate_tests(metafunc):
    for kind in ("positive", "negative"):
        arg = f"{kind}_vector"
        if arg in metafunc.fixturenames:
            metafunc.parametrize(arg, vector_names(kind))


def _load(kind, name):
    base = vectors_dir()
    return (base / "encoded" / kind / name).read_bytes(), (base / "decoded" / kind / name).read_text()


def _expected_value(h):
    t, v = h["type"], h["value"]
    if t in (0, 1):
        return (True, bool) if t == 0 else (False, bool)
    if t in _TYPES:
        return v, _TYPES[t]
    raw = base64.b64decode(v)
    if t == 6:
        return raw, bytes
    if t == 7:
        return raw.decode("utf-8"), str
    assert t == 9
    return uuid.UUID(bytes=raw), uuid.UUID


def test_positive_vector_decodes_and_reencodes(codec, positive_vector):
    raw, text = _load("positive", positive_vector)
    want = json.loads(text)
    msg = codec.decode(raw)
    assert msg.payload == base64.b64decode(want["payload"])
    assert list(msg.headers) == [h["name"] for h in want["headers"]]
    for h in want["headers"]:
        value, typ = _expected_value(h)
        got = msg.headers[h["name"]]
        assert got == value and type(got) is typ, h
    total, hlen, pcrc = struct.unpack(">III", raw[:12])
    assert (total, hlen) == (want["total_length"], want["headers_length"])
    assert pcrc == want["prelude_crc"] & 0xFFFFFFFF
    assert struct.unpack(">I", raw[-4:])[0] == want["message_crc"] & 0xFFFFFFFF
    assert codec.encode(msg.headers, msg.payload) == raw
    assert codec.Encoder(msg.headers).encode(msg.payload) == raw


def test_positive_vectors_as_one_stream(codec):
    frames = [_load("positive", n)[0] for n in vector_names("positive")]
    stream = b"".join(frames)
    dec = codec.Decoder()
    got = []
    for i in range(0, len(stream), 7):
        got += dec.feed(stream[i:i + 7])
    dec.close()
    assert got == [codec.decode(f) for f in frames]


def test_negative_vector_is_a_checksum_error(codec, negative_vector):
    raw, reason = _load("negative", negative_vector)
    kind = reason.split()[0].lower()  # "Prelude checksum mismatch" -> "prelude"
    with pytest.raises(ChecksumError) as info:
        codec.decode(raw)
    assert info.value.kind == kind
    assert str(info.value).startswith(reason.strip())
    with pytest.raises(ChecksumError):
        codec.Decoder().feed(raw)
