"""Pure-Python twin of the event-stream codec.

Same names and behaviour as the Cython twin (``_codec_c``); used where the
extension is not built, or when ``AWS_EVENTSTREAM_PURE_PYTHON=1``.

Frame layout (all integers big-endian)::

    total length u32 | headers length u32 | prelude CRC u32 | headers | payload | message CRC u32

The prelude CRC covers the first 8 bytes; the message CRC covers everything before it.
"""

from __future__ import annotations

import datetime as _dt
import operator
import struct
import uuid
import zlib
from collections.abc import Mapping
from typing import Any, List, Optional

from ._types import Int8, Int16, Int32, Int64, Message, Timestamp
from .errors import ChecksumError, EventStreamError, FrameError, HeaderError

__all__ = [
    "encode", "decode", "Encoder", "Decoder", "crc32", "crc_kernels",
    "CRC_KERNEL", "MAX_FRAME", "MAX_HEADERS", "MAX_HEADER_VALUE",
]

MAX_FRAME = 24 * 1024 * 1024  # botocore and aws-c-event-stream accept 24 MiB frames
MAX_HEADERS = 128 * 1024  # header block limit of the AWS implementations
MAX_HEADER_VALUE = 32767  # byte array / string values: a signed 16-bit length on the wire

CRC_KERNEL = "zlib"  # the pure twin always uses zlib's CRC-32

_PRELUDE = 12
_OVERHEAD = 16  # prelude + message CRC
_U32_MAX = 0xFFFFFFFF

_prelude_struct = struct.Struct(">III")
_u32 = struct.Struct(">I")
_u16 = struct.Struct(">H")
_i8 = struct.Struct(">b")
_i16 = struct.Struct(">h")
_i32 = struct.Struct(">i")
_i64 = struct.Struct(">q")

# Fixed-size wire types: type byte -> (struct, value class). Byte arrays (6),
# strings (7) and bools (0, 1) are handled separately.
_FIXED = {
    2: (_i8, Int8),
    3: (_i16, Int16),
    4: (_i32, Int32),
    5: (_i64, Int64),
    8: (_i64, Timestamp),
}
# Encoding order matters: Timestamp is checked before the plain fixed ints it resembles.
_FIXED_ENCODE = ((Timestamp, 8, _i64), (Int8, 2, _i8), (Int16, 3, _i16),
                 (Int32, 4, _i32), (Int64, 5, _i64))
_INT32_MIN, _INT32_MAX = -(1 << 31), (1 << 31) - 1
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1


_SMALL = 4096  # bytes objects up to this size are sliced directly: cheaper than a memoryview


def _view(obj: Any, what: str) -> Any:
    """A flat byte view of a bytes-like object, or TypeError naming the argument.

    A small ``bytes`` object is returned as it is (slicing it copies little).
    """
    if type(obj) is bytes and len(obj) <= _SMALL:
        return obj
    if isinstance(obj, str):
        raise TypeError(f"{what} must be a bytes-like object, not str (encode it first)")
    try:
        mv = memoryview(obj)
    except TypeError:
        raise TypeError(f"{what} must be a bytes-like object, not {type(obj).__name__}") from None
    if not mv.c_contiguous:
        raise TypeError(f"{what} must be a C-contiguous bytes-like object")
    if mv.ndim != 1 or mv.itemsize != 1:
        mv = mv.cast("B")
    return mv


def crc32(data: Any, value: int = 0) -> int:
    """The CRC-32 of ``data`` (zlib's polynomial), continuing from ``value``."""
    mv = _view(data, "data")
    value = operator.index(value)
    if not 0 <= value <= _U32_MAX:
        raise ValueError(f"value must be in 0..0xFFFFFFFF, got {value}")
    return zlib.crc32(mv, value)


def crc_kernels() -> tuple:
    """Names of the CRC-32 kernels available to this twin."""
    return (CRC_KERNEL,)


# --------------------------------------------------------------------------- encoding


def _encode_value(name: str, value: Any) -> bytes:
    """The type byte and the value bytes of one header."""
    if value is True:
        return b"\x00"
    if value is False:
        return b"\x01"
    if isinstance(value, int) and not isinstance(value, bool):
        for cls, tbyte, st in _FIXED_ENCODE:
            if isinstance(value, cls):
                try:
                    return bytes((tbyte,)) + st.pack(value)
                except struct.error:
                    raise HeaderError(
                        f"header {name!r}: {value!r} is out of range for its wire type"
                    ) from None
        if _INT32_MIN <= value <= _INT32_MAX:
            return b"\x04" + _i32.pack(value)
        if _INT64_MIN <= value <= _INT64_MAX:
            return b"\x05" + _i64.pack(value)
        raise HeaderError(f"header {name!r}: integer {value} does not fit in 64 bits")
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        return b"\x06" + _value_len(name, len(raw)) + raw
    if isinstance(value, str):
        try:
            raw = value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise HeaderError(f"header {name!r}: value is not encodable as UTF-8 ({exc.reason})") from None
        return b"\x07" + _value_len(name, len(raw)) + raw
    if isinstance(value, _dt.datetime):
        try:
            ms = Timestamp.from_datetime(value)
        except (ValueError, OverflowError) as exc:
            raise HeaderError(f"header {name!r}: {exc}") from None
        return b"\x08" + _i64.pack(ms)
    if isinstance(value, uuid.UUID):
        return b"\x09" + value.bytes
    raise HeaderError(f"header {name!r}: a value of type {type(value).__name__} cannot be encoded")


def _value_len(name: str, n: int) -> bytes:
    if n > MAX_HEADER_VALUE:
        raise HeaderError(f"header {name!r}: value is {n} bytes, over the limit of {MAX_HEADER_VALUE}")
    return _u16.pack(n)


def _encode_headers(headers: Any) -> bytes:
    """The wire header block for a mapping of name to value."""
    if not isinstance(headers, Mapping):
        raise TypeError(f"headers must be a mapping, not {type(headers).__name__}")
    parts: List[bytes] = []
    size = 0
    for name, value in headers.items():
        if not isinstance(name, str):
            raise HeaderError(f"header name {name!r} must be str, not {type(name).__name__}")
        try:
            raw_name = name.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise HeaderError(f"header name {name!r} is not encodable as UTF-8 ({exc.reason})") from None
        if not 0 < len(raw_name) <= 255:
            raise HeaderError(f"header name {name!r} is {len(raw_name)} bytes; it must be 1..255")
        part = bytes((len(raw_name),)) + raw_name + _encode_value(name, value)
        size += len(part)
        if size > MAX_HEADERS:
            raise HeaderError(f"header block is over the limit of {MAX_HEADERS} bytes at header {name!r}")
        parts.append(part)
    return b"".join(parts)


def _frame(block: bytes, payload: Any) -> bytes:
    pv = _view(payload, "payload")
    total = _OVERHEAD + len(block) + len(pv)
    if total > MAX_FRAME:
        raise FrameError(f"frame would be {total} bytes, over the limit of {MAX_FRAME}")
    prelude = _prelude_struct.pack(total, len(block), 0)[:8]
    head = prelude + _u32.pack(zlib.crc32(prelude)) + block
    return b"".join((head, pv, _u32.pack(zlib.crc32(pv, zlib.crc32(head)))))


def encode(headers: Any, payload: Any = b"") -> bytes:
    """One complete frame carrying ``headers`` (name -> value, in order) and ``payload``.

    Raises:
        HeaderError: a header name or value cannot be encoded, or the block is too large.
        FrameError: the frame would exceed ``MAX_FRAME``.
        TypeError: ``headers`` is not a mapping or ``payload`` is not bytes-like.
    """
    return _frame(_encode_headers(headers), payload)


class Encoder:
    """Encodes frames that share one set of headers; the header block is built once."""

    __slots__ = ("_block",)

    def __init__(self, headers: Any) -> None:
        self._block = _encode_headers(headers)

    @property
    def header_block(self) -> bytes:
        """The encoded header block every frame carries."""
        return self._block

    def encode(self, payload: Any = b"") -> bytes:
        """One frame with this encoder's headers and ``payload``; same bytes as :func:`encode`."""
        return _frame(self._block, payload)

    def __repr__(self) -> str:
        return f"<Encoder ({len(self._block)}-byte header block)>"


# --------------------------------------------------------------------------- decoding


def _check_prelude(buf: Any, pos: int, offset: int, max_frame: int, max_headers: int):
    """Validate the prelude at ``buf[pos:pos+12]`` (frame at stream ``offset``).

    Returns (total length, headers length, prelude CRC).
    """
    total, hlen, expected = _prelude_struct.unpack_from(buf, pos)
    actual = zlib.crc32(buf[pos:pos + 8])
    if actual != expected:
        raise ChecksumError("prelude", expected, actual, offset)
    if total < _OVERHEAD:
        raise FrameError(f"frame at byte {offset}: total length {total} is under the minimum of 16")
    if total > max_frame:
        raise FrameError(f"frame at byte {offset}: total length {total} is over the limit of {max_frame}")
    if hlen > total - _OVERHEAD:
        raise FrameError(
            f"frame at byte {offset}: headers length {hlen} does not fit in total length {total}"
        )
    if hlen > max_headers:
        raise HeaderError(
            f"frame at byte {offset}: headers length {hlen} is over the limit of {max_headers}"
        )
    return total, hlen, expected


def _parse(buf: Any, pos: int, total: int, hlen: int, prelude_crc: int, offset: int) -> Message:
    """Check the message CRC of the frame at ``buf[pos:pos+total]`` and decode it."""
    end = pos + total
    (expected,) = _u32.unpack_from(buf, end - 4)
    # The prelude CRC is the CRC of the first 8 bytes, so the message CRC continues from it.
    actual = zlib.crc32(buf[pos + 8:end - 4], prelude_crc)
    if actual != expected:
        raise ChecksumError("message", expected, actual, offset)
    hstart = pos + _PRELUDE
    headers = _decode_headers(buf, hstart, hstart + hlen, offset - pos)
    return Message(headers, bytes(buf[hstart + hlen:end - 4]))


# Most streams repeat the same few header blocks frame after frame (":event-type",
# ":content-type", ":message-type"). Blocks that decoded cleanly are remembered, raw
# bytes to dict; every value type is immutable, so only the dict itself is copied.
_BLOCK_CACHE: dict = {}
_BLOCK_CACHE_SIZE = 256
_BLOCK_CACHE_MAX_LEN = 512


def _decode_headers(buf: Any, pos: int, end: int, base: int) -> dict:
    """Decode the header block ``buf[pos:end]``; ``base + index`` is the stream offset."""
    if end - pos > _BLOCK_CACHE_MAX_LEN:
        return _parse_headers(buf, pos, end, base)
    key = bytes(buf[pos:end])
    cached = _BLOCK_CACHE.get(key)
    if cached is None:
        cached = _parse_headers(buf, pos, end, base)
        if len(_BLOCK_CACHE) >= _BLOCK_CACHE_SIZE:
            _BLOCK_CACHE.clear()
        _BLOCK_CACHE[key] = cached
    return cached.copy()


def _parse_headers(buf: Any, pos: int, end: int, base: int) -> dict:
    """Parse the header block ``buf[pos:end]`` byte by byte."""
    headers: dict = {}
    while pos < end:
        at = base + pos
        nlen = buf[pos]
        pos += 1
        if nlen == 0:
            raise HeaderError(f"header at byte {at}: name is empty")
        if pos + nlen + 1 > end:
            raise HeaderError(f"header at byte {at}: name and type run past the header block")
        try:
            name = str(buf[pos:pos + nlen], "utf-8")
        except UnicodeDecodeError as exc:
            raise HeaderError(f"header at byte {at}: name is not valid UTF-8 ({exc.reason})") from None
        pos += nlen
        tbyte = buf[pos]
        pos += 1
        if tbyte == 0 or tbyte == 1:
            value: Any = tbyte == 0
        elif tbyte in _FIXED:
            st, cls = _FIXED[tbyte]
            if pos + st.size > end:
                raise HeaderError(f"header {name!r} at byte {at}: value runs past the header block")
            value = int.__new__(cls, st.unpack_from(buf, pos)[0])
            pos += st.size
        elif tbyte == 6 or tbyte == 7:
            if pos + 2 > end:
                raise HeaderError(f"header {name!r} at byte {at}: value length runs past the header block")
            (vlen,) = _u16.unpack_from(buf, pos)
            pos += 2
            if vlen > MAX_HEADER_VALUE:
                raise HeaderError(
                    f"header {name!r} at byte {at}: value is {vlen} bytes, over the limit of {MAX_HEADER_VALUE}"
                )
            if pos + vlen > end:
                raise HeaderError(f"header {name!r} at byte {at}: value runs past the header block")
            if tbyte == 6:
                value = bytes(buf[pos:pos + vlen])
            else:
                try:
                    value = str(buf[pos:pos + vlen], "utf-8")
                except UnicodeDecodeError as exc:
                    raise HeaderError(
                        f"header {name!r} at byte {at}: string value is not valid UTF-8 ({exc.reason})"
                    ) from None
            pos += vlen
        elif tbyte == 9:
            if pos + 16 > end:
                raise HeaderError(f"header {name!r} at byte {at}: value runs past the header block")
            value = uuid.UUID(bytes=bytes(buf[pos:pos + 16]))
            pos += 16
        else:
            raise HeaderError(f"header {name!r} at byte {at}: unknown value type {tbyte}")
        if name in headers:
            raise HeaderError(f"header {name!r} at byte {at}: duplicate header name")
        headers[name] = value
    return headers


def decode(frame: Any) -> Message:
    """Decode exactly one whole frame.

    Raises:
        ChecksumError: the prelude or message CRC does not match.
        FrameError: the bytes are not exactly one frame (truncated, trailing bytes, bad lengths).
        HeaderError: the header block is malformed.
        TypeError: ``frame`` is not bytes-like.
    """
    mv = _view(frame, "frame")
    n = len(mv)
    if n < _PRELUDE:
        raise FrameError(f"truncated frame: {n} bytes, the prelude alone is 12")
    total, hlen, pcrc = _check_prelude(mv, 0, 0, MAX_FRAME, MAX_HEADERS)
    if n < total:
        raise FrameError(f"truncated frame: {n} bytes of the {total} its prelude announces")
    if n > total:
        raise FrameError(f"trailing bytes: {n - total} after the {total}-byte frame")
    return _parse(mv, 0, total, hlen, pcrc, 0)


def _check_limits(max_frame: Any, max_headers: Any) -> None:
    for what, v, low in (("max_frame", max_frame, _OVERHEAD), ("max_headers", max_headers, 0)):
        if not isinstance(v, int) or isinstance(v, bool):
            raise TypeError(f"{what} must be an int, not {type(v).__name__}")
        if not low <= v <= _U32_MAX:
            raise ValueError(f"{what} must be in {low}..{_U32_MAX}, got {v}")


class Decoder:
    """Sans-IO streaming decoder: feed it bytes in any chunking, get whole messages back.

    It holds at most one partial frame, refuses a frame over ``max_frame`` as soon as its
    12-byte prelude arrives, and after an error stays failed: every later call raises it again.
    """

    __slots__ = ("_max_frame", "_max_headers", "_buf", "_need", "_hlen", "_pcrc", "_offset", "_error")

    def __init__(self, max_frame: int = MAX_FRAME, max_headers: int = MAX_HEADERS) -> None:
        _check_limits(max_frame, max_headers)
        self._max_frame = max_frame
        self._max_headers = max_headers
        self._buf = bytearray()  # the partial frame, if any
        self._need = 0  # its total length once its prelude is in, else 0
        self._hlen = 0
        self._pcrc = 0
        self._offset = 0  # stream offset of the next frame's first byte
        self._error: Optional[EventStreamError] = None

    @property
    def max_frame(self) -> int:
        return self._max_frame

    @property
    def max_headers(self) -> int:
        return self._max_headers

    @property
    def offset(self) -> int:
        """Stream offset of the first byte not yet decoded into a message."""
        return self._offset

    @property
    def buffered(self) -> int:
        """Bytes of a partial frame held, waiting for the rest."""
        return len(self._buf)

    def feed(self, data: Any) -> List[Message]:
        """Add bytes; return every message completed by them, in order.

        Raises:
            EventStreamError: the stream is corrupt; ``exc.messages`` holds the messages
                completed in this call before the bad frame.
        """
        if self._error is not None:
            raise self._error.with_traceback(None)
        mv = _view(data, "data")
        out: List[Message] = []
        try:
            self._feed(mv, out)
        except EventStreamError as exc:
            exc.messages = out
            self._error = exc
            raise
        return out

    def _feed(self, mv: memoryview, out: List[Message]) -> None:
        n = len(mv)
        pos = 0
        buf = self._buf
        if buf:
            if not self._need:
                pos = min(_PRELUDE - len(buf), n)
                buf += mv[:pos]
                if len(buf) < _PRELUDE:
                    return
                self._need, self._hlen, self._pcrc = _check_prelude(
                    buf, 0, self._offset, self._max_frame, self._max_headers
                )
            take = min(self._need - len(buf), n - pos)
            buf += mv[pos:pos + take]
            pos += take
            if len(buf) < self._need:
                return
            with memoryview(buf) as whole:
                out.append(_parse(whole, 0, self._need, self._hlen, self._pcrc, self._offset))
            self._offset += self._need
            self._need = 0
            del buf[:]
        offset = self._offset
        while n - pos >= _PRELUDE:
            total, hlen, pcrc = _check_prelude(mv, pos, offset, self._max_frame, self._max_headers)
            if n - pos < total:
                self._need, self._hlen, self._pcrc = total, hlen, pcrc
                break
            out.append(_parse(mv, pos, total, hlen, pcrc, offset))
            pos += total
            offset += total
            self._offset = offset
        if pos < n:
            buf += mv[pos:]

    def close(self) -> None:
        """Declare the end of the stream.

        Raises:
            FrameError: a partial frame is left (the stream was cut inside a frame).
        """
        if self._error is not None:
            raise self._error.with_traceback(None)
        if self._buf:
            have = len(self._buf)
            want = self._need if self._need else _PRELUDE
            what = "frame" if self._need else "prelude"
            self._error = FrameError(
                f"stream ended inside the frame at byte {self._offset}: "
                f"{have} of its {want} {what} bytes arrived"
            )
            raise self._error

    def __repr__(self) -> str:
        state = "failed" if self._error is not None else f"{len(self._buf)} bytes buffered"
        return f"<Decoder at byte {self._offset}, {state}>"

    def __reduce__(self):
        raise TypeError("a Decoder is tied to one live stream and cannot be pickled or copied")
