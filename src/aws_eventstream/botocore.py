"""Our Decoder under the event streams of botocore, boto3 and aiobotocore.

botocore parses every event-stream response (Bedrock ``converse_stream``, S3
``select_object_content``, Kinesis ``subscribe_to_shard``, Lambda
``invoke_with_response_stream``...) through ``botocore.eventstream.EventStreamBuffer``,
which copies its whole buffer again for every event it takes off the front. The
:class:`EventStreamBuffer` here has the same interface and gives the same events and the
same errors, decoded by :class:`aws_eventstream.Decoder` in time linear in the bytes fed.

With the buffer swapped, botocore's parsing of each event is most of what is left, so the
event streams also get a faster ``_parse_event``: each event shape is compiled once into a
plan that builds the dict botocore's parser builds, used only where botocore's code is
code the plans were checked against, and giving botocore's own code every event it does
not expect (see ``aws_eventstream._botocore_parse``).

Two ways to use them:

* process-wide: :func:`install` (or the :func:`installed` context manager) puts the
  buffer in place of botocore's class in ``botocore.eventstream`` and
  ``aiobotocore.eventstream``, the two places the event streams look it up, and the
  event parsing on ``EventStream`` and ``AioEventStream``; :func:`uninstall` puts
  botocore's back.
* per client, touching no global state: :func:`enable` makes one botocore, boto3 or
  aiobotocore client's event streams use them; every other client keeps botocore's.

What stays as botocore does it:

* Messages are ``botocore.eventstream.EventStreamMessage`` instances with botocore's header
  value types: ``bool``, ``int`` for byte, short, integer, long and timestamp headers
  (timestamps in milliseconds), ``bytes`` for byte arrays, ``str``, and the 16 raw bytes
  of a uuid. ``.prelude`` (a ``MessagePrelude``) and ``.crc``, which botocore itself never
  reads, are computed when first read.
* A partial frame left when the data ends is silently kept, never an error: iteration
  stops, as botocore's does, until more data is added.
* Limits are botocore's (``_MAX_HEADERS_LENGTH`` for the header block,
  ``_MAX_PAYLOAD_LENGTH`` for the payload, none for a single header value), checked as
  soon as a frame's prelude arrives.
* Every error is an instance of botocore's ``ParserError`` class for it
  (``ChecksumMismatch``, ``InvalidHeadersLength``, ``InvalidPayloadLength``,
  ``DuplicateHeader``) and of our :class:`~aws_eventstream.EventStreamError`
  subclass for it, so both kinds of ``except`` clause catch it. It is raised from
  ``next()`` after the good messages before the bad frame, and again on every later call.
  Frames botocore reads without checking (a total length under 16, a header block that
  runs past its frame, an unknown header type) raise :class:`InvalidFrame` or
  :class:`InvalidHeader`, both ``ParserError`` subclasses, where botocore would fail with
  an unrelated exception or yield garbage.
* A frame botocore reads and our Decoder refuses (a header with an empty name, which AWS
  never sends) goes to botocore's own buffer, which reads the rest of that stream: its
  messages, and its errors, are then botocore's, as the smithy integration does with smithy.
"""

from __future__ import annotations

import contextlib
import struct
import sys
import types
import uuid
import zlib
from collections import deque
from typing import Any, Deque, Dict, Iterator, Optional, Tuple

try:
    import botocore.eventstream as _be
except ImportError as _exc:  # pragma: no cover - exercised in a venv without botocore
    raise ImportError(
        'aws_eventstream.botocore needs botocore: pip install "aws-eventstream[botocore]"'
    ) from _exc

from . import Decoder, Int8, Int16, Int32, Int64, Message, Timestamp, crc32
from . import _botocore_parse
from .errors import ChecksumError, EventStreamError, FrameError, HeaderError
from ._switch import Switch

__all__ = [
    "EventStreamBuffer",
    "EventStreamMessage",
    "ChecksumMismatch",
    "InvalidHeadersLength",
    "InvalidPayloadLength",
    "DuplicateHeader",
    "InvalidFrame",
    "InvalidHeader",
    "install",
    "uninstall",
    "installed",
    "is_installed",
    "enable",
    "disable",
    "MAX_HEADERS_LENGTH",
    "MAX_PAYLOAD_LENGTH",
]

#: botocore's limits, read from botocore itself so that a change there carries over.
MAX_HEADERS_LENGTH: int = getattr(_be, "_MAX_HEADERS_LENGTH", 128 * 1024)
MAX_PAYLOAD_LENGTH: int = getattr(_be, "_MAX_PAYLOAD_LENGTH", 24 * 1024 * 1024)
# The largest frame botocore accepts: the largest header block beside the largest payload.
_MAX_FRAME = MAX_PAYLOAD_LENGTH + MAX_HEADERS_LENGTH + 16
# botocore limits the header block, not a value in it: a value may be as long as its
# 16-bit length says.
_MAX_HEADER_VALUE = 0xFFFF

_ORIGINAL_BUFFER: Any = _be.EventStreamBuffer  # botocore's class, whatever install() does later
_prelude = struct.Struct(">III")
_u16 = struct.Struct(">H")
_u32 = struct.Struct(">I")


# --------------------------------------------------------------------------- errors


class ChecksumMismatch(_be.ChecksumMismatch, ChecksumError):  # type: ignore[misc]
    """A prelude or message CRC-32 does not match: botocore's ChecksumMismatch and our ChecksumError."""

    def __init__(self, kind: str, expected: int, actual: int, offset: int = 0) -> None:
        # botocore's text, from botocore's class: its __init__ cannot run here, as its
        # super() call would reach ChecksumError's __init__ next in this class's MRO.
        Exception.__init__(self, *_be.ChecksumMismatch(expected, actual).args)
        self.kind = kind
        self.expected = expected
        self.actual = actual
        self.offset = offset


class InvalidHeadersLength(_be.InvalidHeadersLength, HeaderError):  # type: ignore[misc]
    """A header block over botocore's limit: botocore's InvalidHeadersLength and our HeaderError."""

    def __init__(self, length: int) -> None:
        Exception.__init__(self, *_be.InvalidHeadersLength(length).args)  # botocore's text
        self.length = length

    def __reduce__(self) -> Tuple[Any, Tuple[int]]:
        return (type(self), (self.length,))


class InvalidPayloadLength(_be.InvalidPayloadLength, FrameError):  # type: ignore[misc]
    """A payload over botocore's limit: botocore's InvalidPayloadLength and our FrameError."""

    def __init__(self, length: int) -> None:
        Exception.__init__(self, *_be.InvalidPayloadLength(length).args)  # botocore's text
        self.length = length

    def __reduce__(self) -> Tuple[Any, Tuple[int]]:
        return (type(self), (self.length,))


class DuplicateHeader(_be.DuplicateHeader, HeaderError):  # type: ignore[misc]
    """Two headers of one frame share a name: botocore's DuplicateHeader and our HeaderError."""

    def __init__(self, header: str) -> None:
        Exception.__init__(self, *_be.DuplicateHeader(header).args)  # botocore's text
        self.header = header

    def __reduce__(self) -> Tuple[Any, Tuple[str]]:
        return (type(self), (self.header,))


class InvalidFrame(_be.ParserError, FrameError):  # type: ignore[misc]
    """Framing botocore does not check (lengths that disagree): its ParserError and our FrameError."""


class InvalidHeader(_be.ParserError, HeaderError):  # type: ignore[misc]
    """A header botocore cannot read either (unknown type, bad UTF-8): its ParserError and our HeaderError."""


def _header_names(block: bytes) -> Iterator[str]:
    """The names in a header block, in order, as far as the block can be walked."""
    sizes = {0: 0, 1: 0, 2: 1, 3: 2, 4: 4, 5: 8, 8: 8, 9: 16}
    pos, end = 0, len(block)
    while pos < end:
        nlen = block[pos]
        name_end = pos + 1 + nlen
        if name_end >= end:
            return
        try:
            name = block[pos + 1:name_end].decode("utf-8")
        except UnicodeDecodeError:
            return
        yield name
        tbyte = block[name_end]
        pos = name_end + 1
        if tbyte in (6, 7):
            if pos + 2 > end:
                return
            pos += 2 + _u16.unpack_from(block, pos)[0]
        elif tbyte in sizes:
            pos += sizes[tbyte]
        else:
            return


def _translate(exc: EventStreamError, frame: bytes) -> EventStreamError:
    """The error botocore raises for the frame starting at ``frame[0]``, where our Decoder raised ``exc``.

    ``frame`` holds the bad frame's bytes received so far (its prelude at least).
    """
    if len(frame) >= 12:
        total, hlen, pcrc = _prelude.unpack_from(frame)
        actual = zlib.crc32(frame[:8])
        offset = getattr(exc, "offset", 0)
        # botocore's order of checks on a prelude: its CRC, then the header length, then the payload length.
        if actual != pcrc:
            return ChecksumMismatch("prelude", pcrc, actual, offset)
        if hlen > MAX_HEADERS_LENGTH:
            return InvalidHeadersLength(hlen)
        if total - hlen - 16 > MAX_PAYLOAD_LENGTH:
            return InvalidPayloadLength(total - hlen - 16)
        if isinstance(exc, HeaderError) and len(frame) >= 12 + hlen:
            seen = set()
            for name in _header_names(frame[12:12 + hlen]):
                if name in seen:
                    return DuplicateHeader(name)
                seen.add(name)
    if isinstance(exc, ChecksumError):
        return ChecksumMismatch(exc.kind, exc.expected, exc.actual, exc.offset)
    if isinstance(exc, HeaderError):
        return InvalidHeader(str(exc))
    return InvalidFrame(str(exc))


# --------------------------------------------------------------------------- messages


# A decoded value's wire type and how its bytes are written, by exact type: the types
# the Decoder gives (Timestamp and Int8...Int64 are distinct classes, never subclasses here).
_WIRE: Dict[type, Tuple[int, Optional[struct.Struct]]] = {
    Int8: (2, struct.Struct(">b")), Int16: (3, struct.Struct(">h")), Int32: (4, struct.Struct(">i")),
    Int64: (5, struct.Struct(">q")), Timestamp: (8, struct.Struct(">q")),
    bytes: (6, None), str: (7, None), uuid.UUID: (9, None),
}


def _wire_block(headers: Dict[str, Any]) -> bytes:
    """The header block of a decoded message, as it was on the wire.

    Not :func:`aws_eventstream.encode`: that refuses what botocore accepts and the Decoder
    here lets through (values over 32,767 bytes, frames over 24 MiB).
    """
    out = bytearray()
    for name, value in headers.items():
        raw = name.encode("utf-8")
        out += bytes((len(raw),)) + raw
        if value is True or value is False:
            out.append(0 if value else 1)
            continue
        tbyte, fixed = _WIRE[type(value)]
        out.append(tbyte)
        if fixed is not None:
            out += fixed.pack(value)
        elif tbyte == 9:
            out += value.bytes
        else:
            data = value if tbyte == 6 else value.encode("utf-8")
            out += _u16.pack(len(data)) + data
    return bytes(out)


class EventStreamMessage(_be.EventStreamMessage):  # type: ignore[misc]
    """A decoded message, as botocore's ``EventStreamMessage`` gives it.

    ``headers`` and ``payload`` are set at once; ``prelude`` and ``crc`` are worked out
    from the message the first time they are read (botocore's own readers never do), from
    its header block written again: decoding and writing round-trip byte for byte.
    """

    # Read through the class until prelude or crc is first asked for: one attribute
    # fewer to set on every message, which is built once per event.
    _frame: Optional[Tuple[Any, int]] = None

    def __init__(self, headers: Dict[str, Any], payload: bytes, source: Message) -> None:
        # botocore's __init__ is not called: it would need the prelude and CRC up front.
        # ``source`` is the Decoder's message, never handed out, so a reader changing
        # ``headers`` cannot change the prelude and CRC worked out from it later.
        self.headers = headers
        self.payload = payload
        self._source = source

    def _frame_info(self) -> Tuple[Any, int]:
        if self._frame is None:
            block, payload = _wire_block(self._source.headers), self._source.payload
            total = 16 + len(block) + len(payload)
            pcrc = crc32(_u32.pack(total) + _u32.pack(len(block)))
            # The message CRC runs on from the prelude's, over the prelude CRC, block and payload.
            crc = crc32(payload, crc32(block, crc32(_u32.pack(pcrc), pcrc)))
            self._frame = (_be.MessagePrelude(total, len(block), pcrc), crc)
        return self._frame

    @property
    def prelude(self) -> Any:
        """The message's ``botocore.eventstream.MessagePrelude``."""
        return self._frame_info()[0]

    @prelude.setter
    def prelude(self, value: Any) -> None:
        self._frame = (value, self._frame_info()[1])

    @property
    def crc(self) -> int:
        """The message CRC-32 the frame carried."""
        return self._frame_info()[1]

    @crc.setter
    def crc(self, value: int) -> None:
        self._frame = (self._frame_info()[0], value)


def _botocore_value(value: Any) -> Any:
    """A header value as botocore decodes it."""
    t = type(value)
    if t is str or t is bool or t is bytes:
        return value
    if t is uuid.UUID:
        return value.bytes
    return int(value)  # Int8...Int64 and Timestamp: botocore gives plain ints


# --------------------------------------------------------------------------- the buffer


def _botocore_reads(exc: EventStreamError, rest: bytes) -> bool:
    """True when botocore's own buffer reads the frame at the start of ``rest``, which our
    Decoder refused with ``exc``: a header with an empty name (AWS never sends one)."""
    if not isinstance(exc, HeaderError) or len(rest) < 12:
        return False
    total, hlen, _ = _prelude.unpack_from(rest)
    if "" not in _header_names(rest[12:12 + hlen]):
        return False
    stock = _ORIGINAL_BUFFER()
    stock.add_data(rest[:total])
    try:
        next(stock)
    except Exception:  # botocore fails on it too: our error, in botocore's class, says why
        return False
    return True


class EventStreamBuffer:
    """Drop-in for ``botocore.eventstream.EventStreamBuffer``: add bytes, iterate messages.

    Bytes are decoded as they are added; an error found is kept and comes out of
    ``next()`` after the messages before it, as it does from botocore's buffer. A frame
    our Decoder refuses but botocore reads (a header with an empty name) goes to botocore's
    own buffer, which then reads the rest of the stream, as the smithy integration does.
    """

    def __init__(self) -> None:
        self._decoder = Decoder(max_frame=_MAX_FRAME, max_headers=MAX_HEADERS_LENGTH,
                                max_payload=MAX_PAYLOAD_LENGTH, max_header_value=_MAX_HEADER_VALUE)
        self._ready: Deque[Message] = deque()  # decoded, not handed out yet
        self._error: Optional[EventStreamError] = None  # raised once _ready is empty
        self._fed = 0  # stream offset just past the bytes fed to the decoder
        # The stream's bytes from offset _held_at that hold the decoder's partial frame: the
        # bytes an error is explained from, without asking the decoder for its buffer. The
        # read it arrived in (no copy) while the frame fits in one; else the frame's bytes
        # so far, in one growing bytearray: never more than the frame, however small the reads.
        self._held: Any = b""
        self._held_at = 0
        self._stock: Any = None  # botocore's own buffer, once it has taken the stream over

    def add_data(self, data: Any) -> None:
        """Add bytes to the buffer (any bytes-like object; it is copied unless it is bytes).

        Raises:
            TypeError: ``data`` is not bytes-like.
        """
        if type(data) is not bytes:
            data = bytes(memoryview(data))  # the caller may reuse its buffer, as with botocore's
        if self._stock is not None:
            self._stock.add_data(data)
        # Decoded now: a decoding error is kept, not raised, and next() raises it after
        # the messages before it, as botocore's buffer does. Nothing is decoded past it.
        elif data and self._error is None:
            self._feed(data)

    def next(self) -> EventStreamMessage:
        """The next complete message.

        Raises:
            StopIteration: no complete message is buffered (yet).
            botocore.eventstream.ParserError: the stream is corrupt (see the module docstring).
        """
        ready = self._ready
        if not ready:
            if self._error is not None:
                raise self._error.with_traceback(None)  # the same error each time, its traceback fresh
            if self._stock is not None:
                return self._stock.next()  # type: ignore[no-any-return]
            raise StopIteration()
        m = ready.popleft()
        # botocore's view of the message: plain ints, and uuids as their 16 bytes. Most
        # streams' headers are all strings, which botocore gives as they are: then the
        # reader gets its own copy of the dict, and the Decoder's message keeps its own.
        headers = m.headers
        for value in headers.values():
            t = type(value)
            if t is not str and t is not bool and t is not bytes:
                return EventStreamMessage({k: _botocore_value(v) for k, v in headers.items()}, m.payload, m)
        return EventStreamMessage(headers.copy(), m.payload, m)

    __next__ = next

    def __iter__(self) -> "EventStreamBuffer":
        return self

    def _bytes_from(self, offset: int, chunk: bytes, n: int) -> bytes:
        """Up to ``n`` stream bytes from ``offset``, out of the held bytes and ``chunk`` (which follows them)."""
        skip = offset - self._held_at
        held = self._held
        if skip >= len(held):
            skip -= len(held)
            return chunk[skip:skip + n]
        return bytes(held[skip:skip + n]) + chunk[:max(n - (len(held) - skip), 0)]

    def _feed(self, chunk: bytes) -> None:
        decoder = self._decoder
        start = self._fed
        self._fed += len(chunk)
        try:
            got = decoder.feed(chunk)
        except EventStreamError as exc:
            got = list(exc.messages)
            bad = decoder.offset  # where the frame that failed starts
            rest = self._bytes_from(bad, chunk, self._fed - bad)
            if _botocore_reads(exc, rest):
                self._stock = _ORIGINAL_BUFFER()
                self._stock.add_data(rest)
            else:
                self._error = _translate(exc, rest)
            self._held = b""
        else:
            partial = decoder.buffered
            if not partial:
                self._held, self._held_at = b"", self._fed
            elif partial <= len(chunk):
                self._held, self._held_at = chunk, start
            else:
                held = self._held
                if type(held) is bytes:  # the frame's first read: from here on, its bytes alone
                    at = self._fed - partial
                    held = self._held = bytearray(memoryview(held)[at - self._held_at:])
                    self._held_at = at
                held += chunk
        self._ready.extend(got)


# --------------------------------------------------------------------------- install


# What each patched module held before install: restored exactly by uninstall().
_saved: Dict[str, Any] = {}


def _async_module() -> Any:
    """``aiobotocore.eventstream`` if it is already imported, else None.

    It is not imported here (it brings aiohttp): aiobotocore copies the name from
    botocore when it is imported, so imported while we are installed it copies ours, and
    :func:`uninstall` then gives it what botocore held before.
    """
    return sys.modules.get("aiobotocore.eventstream")


# The event-parsing functions install() puts on the EventStream classes: {class: (ours, theirs)}.
_parsers_saved: Dict[type, Tuple[Any, Any]] = {}


def _parse_pair(cls: Any, module: Any) -> Optional[Tuple[Any, Any]]:
    """(our ``_parse_event`` for an EventStream class, the botocore or aiobotocore one it replaces),
    when the class holds either of them; None otherwise (plans off, or someone else's function)."""
    current = cls.__dict__.get("_parse_event")
    original = _botocore_parse.original_of(current)
    if original is not None:
        return current, original  # ours, already there
    if module is _be:
        ours = _botocore_parse.sync_replacement() if current is _botocore_parse.SYNC_ORIGINAL else None
    else:
        ours = _botocore_parse.async_replacement(cls)
    return (ours, current) if ours is not None else None


def _patch() -> None:
    for module in (_be, _async_module()):
        if module is None:
            continue
        current = getattr(module, "EventStreamBuffer", None)
        if current is not EventStreamBuffer:
            _saved[module.__name__] = current
            module.EventStreamBuffer = EventStreamBuffer
        cls = getattr(module, "AioEventStream" if module is not _be else "EventStream", None)
        if cls is not None and cls not in _parsers_saved:
            pair = _parse_pair(cls, module)
            if pair is not None:
                _parsers_saved[cls] = pair
                setattr(cls, "_parse_event", pair[0])


def _restore() -> None:
    before = _saved.get(_be.__name__, _ORIGINAL_BUFFER)
    for module in (_be, _async_module()):
        if module is not None and getattr(module, "EventStreamBuffer", None) is EventStreamBuffer:
            module.EventStreamBuffer = _saved.get(module.__name__, before)
    _saved.clear()
    for cls, (ours, theirs) in _parsers_saved.items():
        if cls.__dict__.get("_parse_event") is ours:
            setattr(cls, "_parse_event", theirs)
    _parsers_saved.clear()


# One lock for the patch, its undo and this module's own shared state.
_switch = Switch(_patch, _restore)
_lock = _switch.lock


def is_installed() -> bool:
    """True while botocore's event streams use our buffer (:func:`install` or :func:`installed`)."""
    return _be.EventStreamBuffer is EventStreamBuffer


def install() -> None:
    """Make botocore's and aiobotocore's event streams decode with our buffer, process-wide.

    Replaces ``EventStreamBuffer`` in ``botocore.eventstream`` (looked up there by
    ``EventStream``) and in ``aiobotocore.eventstream`` (looked up there by
    ``AioEventStream``), and those classes' ``_parse_event`` with event plans (when
    botocore's code is code they were checked against). aiobotocore is patched only if it
    is already imported. Calling it again does nothing; it is thread-safe.
    """
    _switch.install()


def uninstall() -> None:
    """Put back what :func:`install` replaced, at once (even inside an :func:`installed` block).

    A name someone else has replaced since is left as they set it. Calling it when not
    installed does nothing.
    """
    _switch.uninstall()


@contextlib.contextmanager
def installed() -> Iterator[None]:
    """Our buffer and event parsing under botocore's event streams for the duration of a ``with`` block.

    Blocks nest, in one thread or across threads: botocore's class comes back when the
    last block running exits, unless :func:`install` was called, which outlasts them.
    """
    with _switch.installed():
        yield


# --------------------------------------------------------------------------- per client

# Rebound copies of botocore's and aiobotocore's raw-event generators, keyed by the
# original function: the same code, with our buffer under the name it looks up.
_rebound: Dict[Any, Any] = {}


def _with_our_buffer(func: Any) -> Any:
    """``func`` running with our buffer as its global ``EventStreamBuffer``; None if it reads no such name."""
    code = getattr(func, "__code__", None)
    if code is None or "EventStreamBuffer" not in code.co_names:
        return None
    with _lock:
        copy = _rebound.get(func)
        if copy is None:
            # A copy of the module's namespace, taken once: the function's other globals
            # (builtins, imports) are the module's; only the buffer's name points elsewhere.
            namespace = dict(func.__globals__)
            namespace["EventStreamBuffer"] = EventStreamBuffer
            copy = types.FunctionType(code, namespace, func.__name__, func.__defaults__, func.__closure__)
            _rebound[func] = copy
    return copy


def _retarget(stream: Any) -> Any:
    """Give one EventStream (or AioEventStream) a raw-event generator built on our buffer, and our event parsing."""
    cls = type(stream)
    generator = _with_our_buffer(getattr(cls, "_create_raw_event_generator", None))
    if generator is not None:
        # The generator __init__ made has not started: nothing was read from the body yet.
        stream._event_generator = generator(stream)
    for owner in cls.__mro__:
        if "_parse_event" in owner.__dict__:
            module = sys.modules.get(owner.__module__)
            pair = _parse_pair(owner, module) if module in (_be, _async_module()) else None
            if pair is not None:
                stream._parse_event = types.MethodType(pair[0], stream)
            break
    return stream


def _enable_parser(parser: Any) -> Any:
    """Give one response parser an instance-level ``_create_event_stream`` on our buffer (once)."""
    if "_create_event_stream" in vars(parser):
        return parser
    original = parser._create_event_stream  # the class's method, bound to this parser

    def _create_event_stream(response: Any, shape: Any) -> Any:
        return _retarget(original(response, shape))

    parser._create_event_stream = _create_event_stream
    return parser


class _EnabledParsers:
    """One client's response parser factory: botocore's (or aiobotocore's), whose parsers
    make their event streams on our buffer.

    botocore's endpoint makes a parser from this factory for every response it parses
    (``Endpoint._do_get_response``); the factory itself is the session's, shared by every
    client the session made, so the client's endpoint gets this wrapper instead.
    """

    def __init__(self, factory: Any) -> None:
        self.wrapped = factory
        self.active = True  # disable() turns it off where it cannot take it out (wrapped by another)

    def create_parser(self, protocol_name: str) -> Any:
        parser = self.wrapped.create_parser(protocol_name)
        return _enable_parser(parser) if self.active else parser

    def __getattr__(self, name: str) -> Any:  # set_parser_defaults and the rest: the factory's own
        try:
            wrapped = self.__dict__["wrapped"]
        except KeyError:  # a copy being made, before its __dict__ is filled
            raise AttributeError(name) from None
        return getattr(wrapped, name)


_ENABLED = "_aws_eventstream_parsers"  # on an enabled client's endpoint: its _EnabledParsers


def enable(client: Any) -> Any:
    """Make one client's event streams decode with our buffer; no global state changes.

    Works with botocore and boto3 clients and with aiobotocore clients. The parsers the
    client's endpoint makes for its responses (and ``client._response_parser``) get an
    instance-level ``_create_event_stream`` that builds the event stream as before
    (botocore's ``EventStream``, aiobotocore's ``AioEventStream``) and then gives it a
    raw-event generator that runs the class's own ``_create_raw_event_generator`` code with
    this module's :class:`EventStreamBuffer` in place of botocore's, and an instance-level
    ``_parse_event`` that runs event plans as :func:`install` does. Other clients (those of
    the same session too), and botocore's modules and classes, are untouched. Calling it
    again does nothing.

    Args:
        client: a client from ``boto3.client``, ``botocore.session.Session.create_client``
            or aiobotocore's ``AioSession.create_client``.

    Returns:
        The same client, for chaining.

    Raises:
        TypeError: the object has no botocore response parser or endpoint.
    """
    parser = getattr(client, "_response_parser", None)
    endpoint: Any = getattr(client, "_endpoint", None)
    factory = getattr(endpoint, "_response_parser_factory", None)
    if parser is None or not hasattr(parser, "_create_event_stream") or not hasattr(factory, "create_parser"):
        raise TypeError(f"{type(client).__name__} is not a botocore client (no response parser and endpoint)")
    _enable_parser(parser)
    ours = getattr(endpoint, _ENABLED, None)
    if isinstance(ours, _EnabledParsers):
        ours.active = True  # still in place, perhaps under a factory someone else put over it
    else:
        ours = _EnabledParsers(factory)
        endpoint._response_parser_factory = ours
        setattr(endpoint, _ENABLED, ours)
    return client


def disable(client: Any) -> Any:
    """Undo :func:`enable` on one client: its next event streams use botocore's buffer again.

    Returns:
        The same client.
    """
    parser = getattr(client, "_response_parser", None)
    if parser is not None and "_create_event_stream" in vars(parser):
        del parser._create_event_stream
    endpoint: Any = getattr(client, "_endpoint", None)
    ours = getattr(endpoint, _ENABLED, None)
    if isinstance(ours, _EnabledParsers):
        ours.active = False
        if endpoint._response_parser_factory is ours:  # on top: taken out; under another's: switched off
            endpoint._response_parser_factory = ours.wrapped
            delattr(endpoint, _ENABLED)
    return client
