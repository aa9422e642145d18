"""Pure-Python twin of the event-stream codec.

Same names and behaviour as the Cython twin (``_codec_c``); used where the
extension is not built, or when ``AWS_EVENTSTREAM_PURE_PYTHON=1``.

Frame layout (all integers big-endian)::

    total length u32 | headers length u32 | prelude CRC u32 | headers | payload | message CRC u32

The prelude CRC covers the first 8 bytes; the message CRC covers everything before it.
"""

from __future__ import annotations

import _thread
import struct
import uuid
import zlib
from typing import Any, Dict, List, Optional, Tuple

from ._common import (ANY, BASE64, BOOL, FLOAT, INT, KIND_NAMES, LIST, MAKE_CALL, MAKE_TUPLE_SUBCLASS, NULL,
                      OBJECT, RECORD, REQUIRED, STR, _U32_MAX, ShapeError, attach_messages, canonical, check_depth,
                      check_limits, check_spec, crc_start, failed_again, first_duplicate, items_of, json_type,
                      unbase64, uuid_bytes)
from ._types import (MAX_FRAME, MAX_HEADER_VALUE, MAX_HEADERS, BytesLike, Headers, Int8, Int16, Int32, Int64,
                     Message, Timestamp)
from .errors import (ChecksumError, _block_too_long, _cannot_encode, _duplicate_at, _duplicate_name,
                     _empty_name, _frame_too_long, _headers_do_not_fit, _headers_over_limit, _length_past_block,
                     _name_length, _name_not_encodable, _name_not_str, _name_not_utf8, _name_past_block,
                     _not_bytes_like, _not_contiguous, _not_initialised, _not_picklable, _out_of_range,
                     _over_limit, _payload_over_limit, _reentered, _stream_cut, _string_not_utf8, _too_big, _trailing, _truncated,
                     _truncated_prelude, _under_minimum, _unknown_type, _unusable_buffer, _value_not_encodable,
                     _value_over_limit, _value_past_block, _value_too_long)

__all__ = [
    "encode", "decode", "Encoder", "Decoder", "crc32", "crc_kernels",
    "CRC_KERNEL", "MAX_FRAME", "MAX_HEADERS", "MAX_HEADER_VALUE", "build", "plan", "b64decode",
]

CRC_KERNEL = "zlib"  # the pure twin always uses zlib's CRC-32

_PRELUDE = 12
_OVERHEAD = 16  # prelude + message CRC

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
# Exact fixed-width types by id: (type byte, struct). Keyed by id so that a lookup never
# runs a metaclass's __eq__. Subclasses go through _common.canonical.
_FIXED_ENCODE = {id(Timestamp): (b"\x08", _i64), id(Int8): (b"\x02", _i8), id(Int16): (b"\x03", _i16),
                 id(Int32): (b"\x04", _i32), id(Int64): (b"\x05", _i64)}
_INT32_MIN, _INT32_MAX = -(1 << 31), (1 << 31) - 1
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1


_SMALL = 4096  # bytes objects up to this size are sliced directly: cheaper than a memoryview


def _view(obj: Any, what: str) -> Any:
    """A flat byte view of a bytes-like object, or TypeError naming the argument.

    A small ``bytes`` object is returned as it is (slicing it copies little).
    """
    if type(obj) is bytes and len(obj) <= _SMALL:
        return obj
    if issubclass(type(obj), str):
        raise _not_bytes_like(what, obj)
    try:
        mv = memoryview(obj)
    except BufferError:
        raise _not_contiguous(what) from None
    except TypeError:
        raise _not_bytes_like(what, obj) from None
    except ValueError as exc:  # a released memoryview
        raise _unusable_buffer(what, exc) from None
    if not mv.c_contiguous:
        raise _not_contiguous(what)
    if mv.ndim != 1 or mv.itemsize != 1:
        mv = mv.cast("B")
    return mv


def _stable(obj: Any, what: str) -> Any:
    """The bytes of a bytes-like object, read once.

    Anything but ``bytes`` (or a memoryview of bytes) may change while it is read:
    another thread writing a bytearray while zlib runs without the GIL, or code run while
    a message is built. So it is copied first: every byte checksummed is then a byte
    returned. Large ``bytes`` come back as a memoryview.
    """
    mv = _view(obj, what)
    if type(obj) is not bytes and not (type(obj) is memoryview and type(obj.obj) is bytes):
        mv = mv.tobytes()
        if len(mv) > _SMALL:
            mv = memoryview(mv)
    return mv


def crc32(data: BytesLike, value: int = 0) -> int:
    """The CRC-32 of ``data`` (zlib's polynomial), continuing from ``value``."""
    mv = _view(data, "data")
    if type(value) is not int or not 0 <= value <= _U32_MAX:
        value = crc_start(value)
    return zlib.crc32(mv, value)


def crc_kernels() -> Tuple[str, ...]:
    """Names of the CRC-32 kernels available to this twin."""
    return (CRC_KERNEL,)


# --------------------------------------------------------------------------- encoding


def _raw_value(tbyte: bytes, name: Any, raw: bytes) -> bytes:
    n = len(raw)
    if n > MAX_HEADER_VALUE:
        raise _value_too_long(name, n)
    return tbyte + _u16.pack(n) + raw


def _encode_value(name: Any, value: Any, converted: bool = False) -> bytes:
    """The type byte and the value bytes of one header."""
    t = type(value)
    if t is str:
        try:
            raw = value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise _value_not_encodable(name, exc.reason) from None
        return _raw_value(b"\x07", name, raw)
    if value is True:
        return b"\x00"
    if value is False:
        return b"\x01"
    if t is int:
        if _INT32_MIN <= value <= _INT32_MAX:
            return b"\x04" + _i32.pack(value)
        if _INT64_MIN <= value <= _INT64_MAX:
            return b"\x05" + _i64.pack(value)
        raise _too_big(name, value)
    fixed = _FIXED_ENCODE.get(id(t))
    if fixed is not None:
        try:
            return fixed[0] + fixed[1].pack(value)
        except struct.error:
            raise _out_of_range(name, value) from None
    if t is bytes:
        return _raw_value(b"\x06", name, value)
    if t is uuid.UUID:
        raw = uuid_bytes(name, value)
        if type(raw) is not bytes or len(raw) != 16:  # uuid_bytes checks this; a frame relies on it
            raise _cannot_encode(name, value)
        return b"\x09" + raw
    # Subclasses, bytearray, memoryview, datetime: the same conversion as the Cython twin;
    # what comes back is one of the exact types above.
    if converted:
        raise _cannot_encode(name, value)
    return _encode_value(name, canonical(name, value), True)


def _encode_name(name: Any) -> bytes:
    """The length byte and UTF-8 bytes of a header name."""
    if not issubclass(type(name), str):
        raise _name_not_str(name)
    try:
        raw = str.encode(name, "utf-8")  # a subclass's own characters, not its encode()
    except UnicodeEncodeError as exc:
        raise _name_not_encodable(name, exc.reason) from None
    if not 0 < len(raw) <= 255:
        raise _name_length(name, len(raw))
    return bytes((len(raw),)) + raw


def _plain(value: Any) -> bool:
    """True for the exact types encoded without running any code of the caller's."""
    t = type(value)
    return t is str or t is int or t is bytes or value is True or value is False or id(t) in _FIXED_ENCODE


def _encode_headers(headers: Any) -> bytes:
    """The wire header block for a mapping of name to value."""
    if type(headers) is not dict:
        return _encode_items(items_of(headers))
    parts: List[bytes] = []
    size = 0
    for name, value in headers.items():
        if type(name) is not str or not _plain(value):
            # From here on the caller's code may run and change the dict: start again
            # on a snapshot, as the Cython twin does (nothing of theirs has run yet).
            return _encode_items(list(headers.items()))
        part = _encode_name(name) + _encode_value(name, value)
        size += len(part)
        if size > MAX_HEADERS:
            raise _block_too_long(name)
        parts.append(part)
    return b"".join(parts)


def _encode_items(items: List[Tuple[Any, Any]]) -> bytes:
    """Encode a snapshot of (name, value) pairs; two names may be the same only here."""
    parts: List[bytes] = []
    names: List[bytes] = []
    size = 0
    for name, value in items:
        raw_name = _encode_name(name)
        names.append(raw_name[1:])
        part = raw_name + _encode_value(name, value)
        size += len(part)
        if size > MAX_HEADERS:
            raise _block_too_long(name)
        parts.append(part)
    dup = first_duplicate(names, items)
    if dup is not None:
        raise _duplicate_name(dup)
    return b"".join(parts)


def _frame(block: bytes, payload: Any) -> bytes:
    pv = _stable(payload, "payload")
    total = _OVERHEAD + len(block) + len(pv)
    if total > MAX_FRAME:
        raise _frame_too_long(total)
    prelude = _prelude_struct.pack(total, len(block), 0)[:8]
    head = prelude + _u32.pack(zlib.crc32(prelude)) + block
    return b"".join((head, pv, _u32.pack(zlib.crc32(pv, zlib.crc32(head)))))


def encode(headers: Headers, payload: BytesLike = b"") -> bytes:
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
    _block: Optional[bytes]

    def __new__(cls, *args: Any, **kwargs: Any) -> "Encoder":
        self = super().__new__(cls)
        self._block = None  # until __init__ runs
        return self

    def __init__(self, headers: Headers) -> None:
        self._block = _encode_headers(headers)

    def _ready(self) -> bytes:
        block = self._block
        if block is None:
            raise _not_initialised("Encoder")
        return block

    @property
    def header_block(self) -> bytes:
        """The encoded header block every frame carries."""
        return self._ready()

    def encode(self, payload: BytesLike = b"") -> bytes:
        """One frame with this encoder's headers and ``payload``; same bytes as :func:`encode`."""
        return _frame(self._ready(), payload)

    def __repr__(self) -> str:
        if self._block is None:
            return "<Encoder (not initialised)>"
        return f"<Encoder ({len(self._block)}-byte header block)>"

    def __reduce__(self) -> Tuple[Any, Tuple[Dict[str, Any]]]:
        # Pickled as its headers: unpickling re-encodes them, so no unchecked block gets in.
        block = self._ready()
        return (type(self), (_decode_headers(block, 0, len(block), 0),))


# --------------------------------------------------------------------------- decoding


def _check_prelude(buf: Any, pos: int, offset: int, max_frame: int, max_headers: int,
                   max_payload: int = -1) -> Tuple[int, int, int]:
    """Validate the prelude at ``buf[pos:pos+12]`` (frame at stream ``offset``); -1: no payload limit.

    Returns (total length, headers length, prelude CRC).
    """
    total, hlen, expected = _prelude_struct.unpack_from(buf, pos)
    actual = zlib.crc32(buf[pos:pos + 8])
    if actual != expected:
        raise ChecksumError("prelude", expected, actual, offset)
    if total < _OVERHEAD:
        raise _under_minimum(offset, total)
    if total > max_frame:
        raise _over_limit(offset, total, max_frame)
    if hlen > total - _OVERHEAD:
        raise _headers_do_not_fit(offset, hlen, total)
    if hlen > max_headers:
        raise _headers_over_limit(offset, hlen, max_headers)
    if 0 <= max_payload < total - _OVERHEAD - hlen:
        raise _payload_over_limit(offset, total - _OVERHEAD - hlen, max_payload)
    return total, hlen, expected


def _parse(buf: Any, pos: int, total: int, hlen: int, prelude_crc: int, offset: int,
           max_value: int = MAX_HEADER_VALUE) -> Message:
    """Check the message CRC of the frame at ``buf[pos:pos+total]`` and decode it."""
    end = pos + total
    (expected,) = _u32.unpack_from(buf, end - 4)
    # The prelude CRC is the CRC of the first 8 bytes, so the message CRC continues from it.
    actual = zlib.crc32(buf[pos + 8:end - 4], prelude_crc)
    if actual != expected:
        raise ChecksumError("message", expected, actual, offset)
    hstart = pos + _PRELUDE
    headers = _headers_of(buf, hstart, hstart + hlen, offset - pos, max_value)
    return Message(headers, bytes(buf[hstart + hlen:end - 4]))


# Most streams repeat the same few header blocks frame after frame (":event-type",
# ":content-type", ":message-type"). Blocks that decoded cleanly are remembered, raw
# bytes to dict; every value type is immutable, so only the dict itself is copied.
_BLOCK_CACHE: Dict[bytes, Dict[str, Any]] = {}
_BLOCK_CACHE_SIZE = 256
_BLOCK_CACHE_MAX_LEN = 512


def _headers_of(buf: Any, pos: int, end: int, base: int, max_value: int) -> Dict[str, Any]:
    """Decode the header block ``buf[pos:end]``; ``base + index`` is the stream offset.

    The cache holds blocks decoded under any value limit: it serves only blocks too short
    to hold a value over ``max_value``, which decode the same under every limit.
    """
    if end - pos > _BLOCK_CACHE_MAX_LEN or end - pos > max_value:
        return _decode_headers(buf, pos, end, base, max_value)
    key = bytes(buf[pos:end])
    cached = _BLOCK_CACHE.get(key)
    if cached is None:
        cached = _decode_headers(buf, pos, end, base, max_value)
        if len(_BLOCK_CACHE) >= _BLOCK_CACHE_SIZE:
            _BLOCK_CACHE.clear()
        _BLOCK_CACHE[key] = cached
    return cached.copy()


def _decode_headers(buf: Any, pos: int, end: int, base: int, max_value: int = MAX_HEADER_VALUE) -> Dict[str, Any]:
    """Parse the header block ``buf[pos:end]`` byte by byte; no byte array or string over ``max_value``."""
    headers: Dict[str, Any] = {}
    while pos < end:
        at = base + pos
        nlen = buf[pos]
        pos += 1
        if nlen == 0:
            raise _empty_name(at)
        if pos + nlen + 1 > end:
            raise _name_past_block(at)
        try:
            name = str(buf[pos:pos + nlen], "utf-8")
        except UnicodeDecodeError as exc:
            raise _name_not_utf8(at, exc.reason) from None
        pos += nlen
        tbyte = buf[pos]
        pos += 1
        if tbyte == 0 or tbyte == 1:
            value: Any = tbyte == 0
        elif tbyte in _FIXED:
            st, cls = _FIXED[tbyte]
            if pos + st.size > end:
                raise _value_past_block(at, name)
            value = int.__new__(cls, st.unpack_from(buf, pos)[0])
            pos += st.size
        elif tbyte == 6 or tbyte == 7:
            if pos + 2 > end:
                raise _length_past_block(at, name)
            (vlen,) = _u16.unpack_from(buf, pos)
            pos += 2
            if vlen > max_value:
                raise _value_over_limit(at, name, vlen, max_value)
            if pos + vlen > end:
                raise _value_past_block(at, name)
            if tbyte == 6:
                value = bytes(buf[pos:pos + vlen])
            else:
                try:
                    value = str(buf[pos:pos + vlen], "utf-8")
                except UnicodeDecodeError as exc:
                    raise _string_not_utf8(at, name, exc.reason) from None
            pos += vlen
        elif tbyte == 9:
            if pos + 16 > end:
                raise _value_past_block(at, name)
            value = uuid.UUID(bytes=bytes(buf[pos:pos + 16]))
            pos += 16
        else:
            raise _unknown_type(at, name, tbyte)
        if name in headers:
            raise _duplicate_at(at, name)
        headers[name] = value
    return headers


def decode(frame: BytesLike) -> Message:
    """Decode exactly one whole frame.

    Raises:
        ChecksumError: the prelude or message CRC does not match.
        FrameError: the bytes are not exactly one frame (truncated, trailing bytes, bad lengths).
        HeaderError: the header block is malformed.
        TypeError: ``frame`` is not bytes-like.
    """
    mv = _stable(frame, "frame")
    n = len(mv)
    if n < _PRELUDE:
        raise _truncated_prelude(n)
    total, hlen, pcrc = _check_prelude(mv, 0, 0, MAX_FRAME, MAX_HEADERS)
    if n < total:
        raise _truncated(n, total)
    if n > total:
        raise _trailing(n, total)
    return _parse(mv, 0, total, hlen, pcrc, 0)


class Decoder:
    """Sans-IO streaming decoder: feed it bytes in any chunking, get whole messages back.

    It holds at most one partial frame, refuses a frame over ``max_frame`` as soon as its
    12-byte prelude arrives, and after an error stays failed: every later call raises it again.

    Args:
        max_frame: the largest frame accepted, in bytes (16..2**32-1).
        max_headers: the largest header block accepted, in bytes (0..2**32-1).
        max_payload: the largest payload accepted, in bytes (0..2**32-1), checked from the
            prelude like the two above; None (the default): only ``max_frame`` bounds it.
        max_header_value: the longest byte array or string header value accepted, in bytes
            (0..65535; the default is the event-stream specification's 32767).
    """

    __slots__ = ("_max_frame", "_max_headers", "_max_payload", "_max_value", "_buf", "_need", "_hlen", "_pcrc",
                 "_offset", "_error", "_busy")
    _max_frame: int
    _max_headers: int
    _max_payload: int  # -1: none of its own
    _max_value: int
    _buf: bytearray
    _need: int
    _hlen: int
    _pcrc: int
    _offset: int
    _error: Optional[BaseException]
    _busy: "_thread.LockType"

    def __new__(cls, *args: Any, **kwargs: Any) -> "Decoder":
        self = super().__new__(cls)
        self._max_frame = self._max_headers = self._max_value = self._need = self._hlen = self._pcrc = 0
        self._offset = 0
        self._max_payload = -1
        self._buf = bytearray()
        # Held for the whole of feed(): a second thread, or a callback run while a
        # message is built, must not see or change a half-updated decoder.
        self._busy = _thread.allocate_lock()
        self._error = _not_initialised("Decoder")  # until __init__ runs
        return self

    def __init__(self, max_frame: int = MAX_FRAME, max_headers: int = MAX_HEADERS, *,
                 max_payload: Optional[int] = None, max_header_value: int = MAX_HEADER_VALUE) -> None:
        if not self._busy.acquire(False):
            raise _reentered("__init__")
        try:
            self._max_frame, self._max_headers, self._max_payload, self._max_value = check_limits(
                max_frame, max_headers, max_payload, max_header_value)
            self._buf = bytearray()  # the partial frame, if any
            self._need = 0  # its total length once its prelude is in, else 0
            self._hlen = 0
            self._pcrc = 0
            self._offset = 0  # stream offset of the next frame's first byte
            self._error = None
        finally:
            self._busy.release()

    @property
    def max_frame(self) -> int:
        return self._max_frame

    @property
    def max_headers(self) -> int:
        return self._max_headers

    @property
    def max_payload(self) -> Optional[int]:
        """The payload limit of its own, or None: the frame limit alone bounds the payload."""
        return None if self._max_payload < 0 else self._max_payload

    @property
    def max_header_value(self) -> int:
        """The longest byte array or string header value accepted, in bytes."""
        return self._max_value

    @property
    def offset(self) -> int:
        """Stream offset of the first byte not yet decoded into a message."""
        return self._offset

    @property
    def buffered(self) -> int:
        """Bytes of a partial frame held, waiting for the rest."""
        return len(self._buf)

    def feed(self, data: BytesLike) -> List[Message]:
        """Add bytes; return every message completed by them, in order.

        Raises:
            EventStreamError: the stream is corrupt; ``exc.messages`` holds the messages
                completed in this call before the bad frame.
            MemoryError: as any error met inside the stream, it leaves the decoder failed,
                with the messages completed before it on ``exc.messages``.
        """
        if not self._busy.acquire(False):
            raise _reentered("feed")
        try:
            if self._error is not None:
                raise failed_again(self._error)
            out: List[Message] = []
            mv = _stable(data, "data")
            try:
                self._feed(mv, out)
            except BaseException as exc:
                # Part of the input may be consumed and some messages built: the stream
                # cannot go on, whatever the error was.
                self._error = exc
                attach_messages(exc, out)
                raise
        finally:
            self._busy.release()
        return out

    def _feed(self, mv: Any, out: List[Message]) -> None:
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
                    buf, 0, self._offset, self._max_frame, self._max_headers, self._max_payload
                )
            take = min(self._need - len(buf), n - pos)
            buf += mv[pos:pos + take]
            pos += take
            if len(buf) < self._need:
                return
            with memoryview(buf) as whole:  # our own buffer: nobody else writes it
                out.append(_parse(whole, 0, self._need, self._hlen, self._pcrc, self._offset, self._max_value))
            self._offset += self._need
            self._need = 0
            del buf[:]
        offset = self._offset
        while n - pos >= _PRELUDE:
            total, hlen, pcrc = _check_prelude(mv, pos, offset, self._max_frame, self._max_headers,
                                               self._max_payload)
            if n - pos < total:
                self._need, self._hlen, self._pcrc = total, hlen, pcrc
                break
            out.append(_parse(mv, pos, total, hlen, pcrc, offset, self._max_value))
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
        if not self._busy.acquire(False):
            raise _reentered("close")
        try:
            if self._error is not None:
                raise failed_again(self._error)
            if self._buf:
                self._error = _stream_cut(self._offset, len(self._buf), self._need)
                raise self._error
        finally:
            self._busy.release()

    def __repr__(self) -> str:
        state = "failed" if self._error is not None else f"{len(self._buf)} bytes buffered"
        return f"<Decoder at byte {self._offset}, {state}>"

    def __reduce__(self) -> Any:
        raise _not_picklable()


# --------------------------------------------------------------------------- typed events


class _Plan(tuple):  # type: ignore[type-arg]
    """A checked spec: (maker, how, fields, depth), each field's sub-spec a _Plan too."""

    __slots__ = ()

    def __reduce__(self) -> Any:
        raise TypeError("a plan cannot be pickled")


def plan(spec: Any) -> Any:
    """``spec`` made ready for :func:`build` (``_common.check_spec`` says what a spec is).

    Raises:
        TypeError, ValueError: ``spec`` is not a spec, or is nested too deep.
    """
    return _plan(spec, 1)


def _plan(spec: Any, depth: int) -> Any:
    check_depth(depth)
    maker, how, fields = check_spec(spec)
    checked = []
    deepest = 0
    for key, kind, default, sub in fields:
        if sub is not None:
            sub = sub if type(sub) is _Plan else _plan(sub, depth + 1)
            deepest = max(deepest, sub[3])
        checked.append((key, kind, default, sub))
    return _Plan((maker, how, tuple(checked), check_depth(1 + deepest)))


def build(plan: Any, value: Any) -> Any:
    """The record ``plan`` describes, made from ``value`` (decoded JSON), or ShapeError.

    A missing key takes its default (REQUIRED: an error); a present one must have its
    kind: exact JSON types, a number for a float (an int becomes a float), null only
    where the kind allows it.
    """
    if type(plan) is not _Plan:
        raise TypeError("build takes a plan (made by plan())")
    return _record(plan, value)


def _record(spec: Any, value: Any) -> Any:
    if type(value) is not dict:
        raise ShapeError(f"expected an object, got {json_type(value)}")
    maker, how, fields, _ = spec
    values = []
    for key, kind, default, sub in fields:
        try:
            item = value.get(key, REQUIRED)
            if item is REQUIRED:
                if default is REQUIRED:
                    raise ShapeError("missing")
                values.append(default)
                continue
            values.append(_field(kind, item, sub))
        except ShapeError as exc:
            exc.parts.append(key)
            raise
    if how == MAKE_TUPLE_SUBCLASS:
        return tuple.__new__(maker, values)
    if how == MAKE_CALL:
        return maker(*values)
    return tuple(values)


def _field(kind: int, item: Any, sub: Any) -> Any:
    base = kind & ~NULL
    if base == ANY:
        return item
    if item is None:
        if kind & NULL:
            return None
        raise ShapeError(f"expected {KIND_NAMES[base]}, got null")
    t = type(item)
    if base == STR:
        if t is str:
            return item
    elif base == FLOAT:
        if t is float:
            return item
        if t is int:
            try:
                return float(item)
            except OverflowError:
                raise ShapeError("expected a number, got a number out of range") from None
    elif base == INT:
        if t is int:
            return item
    elif base == BOOL:
        if t is bool:
            return item
    elif base == LIST:
        if t is list:
            out = []
            for i, element in enumerate(tuple(item)):  # as it is now, whatever runs meanwhile
                try:
                    out.append(_record(sub, element))
                except ShapeError as exc:
                    exc.parts.append(f"[{i}]")
                    raise
            return tuple(out)
    elif base == RECORD:
        return _record(sub, item)
    elif base == BASE64:
        if t is str:
            return unbase64(item)
    elif base == OBJECT:
        if t is dict:
            return item
    raise ShapeError(f"expected {KIND_NAMES[base]}, got {json_type(item)}")


def b64decode(data: Any) -> bytes:
    """``base64.b64decode(data, validate=True)`` (the Cython twin decodes canonical base64 itself)."""
    import base64

    return base64.b64decode(data, validate=True)
