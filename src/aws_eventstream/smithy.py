"""Our codec under smithy-aws-event-stream, the event streams of the smithy-python AWS SDKs.

The new AWS SDKs for Python (``aws-sdk-bedrock-runtime``, ``aws-sdk-transcribe-streaming``...)
read every event of an event stream through ``Event.decode_async`` of
``smithy_aws_event_stream.events``, which awaits four small reads per event and walks the
headers through a memoryview a slice at a time, and write every event through
``EventMessage.encode``. :func:`install` (or the :func:`installed` context manager) puts
this module's versions in their place:

* ``Event.decode_async`` keeps one buffered :class:`aws_eventstream.Decoder` per byte
  source. From smithy's own ``AsyncBytesReader`` over an async iterable (the response body
  of the aiohttp and CRT transports) it takes each chunk as the transport delivered it; over
  an in-memory ``BytesIO`` it reads large blocks; from any other source it reads exactly
  the bytes of the next frame, in smithy's own reads (8, 4, the rest, 4 bytes), so it never
  waits for bytes smithy's decoder would not have waited for, and a source that answers a
  read short (``asyncio.StreamReader``) gets smithy's decoder, with the same answers.
* ``EventMessage.encode`` encodes with :func:`aws_eventstream.encode`.

What stays as smithy does it:

* Events are smithy's ``Event``, ``EventPrelude`` and ``EventMessage`` with the same field
  values, and header values of smithy's types: ``Byte``, ``Short``, ``int`` and ``Long``
  for the four integer widths, ``datetime`` for timestamps (converted by smithy's own
  ``TimestampFormat``), ``bytes``, ``str``, ``bool`` and ``uuid.UUID``.
* Encoding gives smithy's bytes: a plain ``int`` is a 32-bit integer, a ``datetime`` is
  ``int(value.timestamp() * 1000)`` milliseconds.
* Errors are smithy's, raised by smithy's own code: at a frame our decoder refuses, at the
  end of the stream, and for any header value or message our encoder does not take as
  smithy would, the bytes (or the message) go to smithy's original function, which
  raises what it always raised (``ChecksumMismatch``, ``InvalidEventBytes``,
  ``InvalidHeadersLength``, ``InvalidPayloadLength``, ``DuplicateHeader``...) or, for the
  rare frames it reads and we refuse (an empty header name), decodes them. A source stays
  with smithy's decoder from that point on.

It needs Python 3.12 or newer and ``smithy-aws-event-stream``:
``pip install "aws-eventstream[smithy]"``.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import io
import struct
import sys
import uuid
import weakref
from collections import deque
from typing import Any, Callable, Deque, Dict, Iterator, List, Optional, Tuple

_NEEDS = 'aws_eventstream.smithy needs Python 3.12+ and smithy-aws-event-stream: pip install "aws-eventstream[smithy]"'

if sys.version_info < (3, 12):  # smithy-python's packages use 3.12 syntax throughout
    raise ImportError(f"{_NEEDS} (this is Python {sys.version_info[0]}.{sys.version_info[1]})")

try:
    import smithy_aws_event_stream.events as _se
    from smithy_core.aio.types import AsyncBytesReader as _AsyncBytesReader
    from smithy_core.types import TimestampFormat as _TimestampFormat
except ImportError as _exc:  # pragma: no cover - exercised in a venv without the package
    raise ImportError(_NEEDS) from _exc

from . import Decoder, Int8, Int16, Int32, Int64, Message, Timestamp, encode
from .errors import EventStreamError
from ._switch import Switch

__all__ = ["install", "uninstall", "installed", "is_installed", "MAX_HEADERS_LENGTH", "MAX_PAYLOAD_LENGTH"]

#: smithy's limits, read from smithy itself so that a change there carries over.
MAX_HEADERS_LENGTH: int = getattr(_se, "MAX_HEADERS_LENGTH", 128 * 1024)
MAX_PAYLOAD_LENGTH: int = getattr(_se, "MAX_PAYLOAD_LENGTH", 16 * 1024 * 1024)
_MAX_FRAME = MAX_PAYLOAD_LENGTH + MAX_HEADERS_LENGTH + 16
_MAX_HEADER_VALUE: int = getattr(_se, "MAX_HEADER_VALUE_BYTE_LENGTH", 32 * 1024 - 1)

_Event: Any = _se.Event
_EventPrelude: Any = _se.EventPrelude
_EventMessage: Any = _se.EventMessage
_Byte: Any = _se.Byte
_Short: Any = _se.Short
_Long: Any = _se.Long

# smithy's own functions, whatever install() does later: the fallback for what we leave to smithy.
_ORIGINAL_DECODE_ASYNC: Any = _Event.__dict__["decode_async"].__func__
_ORIGINAL_ENCODE: Any = _EventMessage.__dict__["encode"]
_ORIGINAL_HEADERS_BYTES: Any = _EventMessage.__dict__["_get_headers_bytes"]

_BLOCK = 64 * 1024  # what one read asks of an in-memory source
_prelude = struct.Struct(">III")
_u32 = struct.Struct(">I")
_new = object.__new__
_epoch_seconds = _TimestampFormat.EPOCH_SECONDS.deserialize


# --------------------------------------------------------------------------- decoding


def _smithy_value(value: Any) -> Any:
    """A header value as smithy decodes it."""
    t = type(value)
    if t is Int32:
        return int(value)
    if t is Int64:
        return _Long(value)
    if t is Int16:
        return _Short(value)
    if t is Int8:
        return _Byte(value)
    if t is str or t is bool or t is bytes or t is uuid.UUID:
        return value
    # A Timestamp: smithy reads milliseconds as float seconds, so the same float gives the same datetime.
    return _epoch_seconds(int(value) / 1000)


def _event(cls: Any, m: Message, raw: Any, at: int, total: int, hlen: int, pcrc: int) -> Any:
    """smithy's event for our message ``m``, whose frame (with that prelude) starts at ``raw[at]``."""
    crc = _u32.unpack_from(raw, at + total - 4)[0]
    headers = m.headers
    for value in headers.values():
        t = type(value)
        if t is not str and t is not bool and t is not bytes:
            headers = {k: _smithy_value(v) for k, v in headers.items()}
            break
    if cls is not _Event:  # a subclass of smithy's: built by its own __init__, as smithy builds it
        prelude = _EventPrelude(total_length=total, headers_length=hlen, crc=pcrc)
        return cls(prelude, _EventMessage(headers=headers, payload=m.payload), crc)
    # The three dataclasses get the fields their own __init__ would set, in its order,
    # without its limit checks (the decoder made them) and frozen __setattr__ (per field).
    prelude = _new(_EventPrelude)
    fields = prelude.__dict__
    fields["total_length"] = total
    fields["headers_length"] = hlen
    fields["crc"] = pcrc
    message = _new(_EventMessage)
    fields = message.__dict__
    fields["headers"] = headers
    fields["payload"] = m.payload
    event = _new(_Event)
    fields = event.__dict__
    fields["prelude"] = prelude
    fields["message"] = message
    fields["crc"] = crc
    return event


class _Unbuilt:
    """In a reader's ``ready`` queue: an event smithy's decoder would fail to build (a
    timestamp header out of ``datetime``'s range), and the error it raises, in its place."""

    __slots__ = ("error", "total")

    def __init__(self, error: BaseException, total: int) -> None:
        self.error = error
        self.total = total  # the frame's length, read past as smithy's decoder reads past it


def _hand_out(item: Any) -> Any:
    """An event taken from a ready queue, or the error smithy's decoder raises at that frame."""
    if type(item) is _Unbuilt:
        raise item.error
    return item


class _Replay:
    """An async byte source that gives back what was taken from ``source`` first, then reads it.

    smithy's decoder reads through it once a source is handed back to it, so the bytes
    already taken from the source are read again, in order. ``taken`` is bytes, read again
    in whatever sizes are asked for (from a source that fills every read), or a list of
    the answers to reads made in smithy's sizes, given back one answer per read as they
    came (from a source that may answer short, whose answers depend on the sizes asked).
    """

    def __init__(self, taken: Any, source: Any) -> None:
        self._answers: List[bytes] = taken if isinstance(taken, list) else []
        self._pending: bytes = b"" if isinstance(taken, list) else taken
        self._source = source

    async def read(self, size: int = -1) -> bytes:
        if self._answers:
            return self._answers.pop(0)
        pending = self._pending
        if not pending:
            data: bytes = await self._source.read(size)
            return data
        if 0 <= size <= len(pending):
            self._pending = pending[size:]
            return pending[:size]
        self._pending = b""
        more: bytes = await self._source.read(-1 if size < 0 else size - len(pending))
        return pending + more


class _Reader:
    """One source's buffered decoder: bytes in, smithy events out."""

    def __init__(self, source: Any) -> None:
        self.source = source
        # smithy's limits, each checked where smithy checks it: a frame the Decoder refuses
        # goes to smithy's decoder, which raises its own error for it.
        self.decoder = Decoder(max_frame=_MAX_FRAME, max_headers=MAX_HEADERS_LENGTH,
                               max_payload=MAX_PAYLOAD_LENGTH, max_header_value=_MAX_HEADER_VALUE)
        self.partial = bytearray()  # the bytes so far of the frame being read
        self.ready: Deque[Any] = deque()  # events made, not handed out yet
        self.replay: Optional[_Replay] = None  # set once smithy's decoder takes over
        self.handover: Any = None  # for smithy's decoder once ready drains: what a _Replay gives back
        self.iterator: Any = None
        self.pull = self._pull_kind(source)
        self.exact = self.pull == self._pull_exact
        # The bytes the events in ``ready`` came from: they end at walked_end in walked_raw.
        self.walked_raw: Any = b""
        self.walked_end = 0
        self.detached = False  # uninstall() handed what it held back to the source
        # Exact reads: the answers to the reads of the frame in progress, in smithy's sizes.
        self.answers: List[bytes] = []
        self.stash: List[bytes] = []  # what a detached exact reader could not hand back (mid-frame)

    def _pull_kind(self, source: Any) -> Callable[[int], Any]:
        """How to read this source: as it delivers, in blocks, or exactly a frame at a time."""
        if type(source) is _AsyncBytesReader:
            data = getattr(source, "_data", None)
            if isinstance(data, io.BytesIO):
                return self._pull_block
            if data is not None and hasattr(data, "__aiter__") and not hasattr(data, "read"):
                return self._pull_iterable
        return self._pull_exact

    async def _pull_iterable(self, want: int) -> bytes:
        """The next chunk of the async iterable under smithy's AsyncBytesReader, as it came."""
        source = self.source
        if source._closed or not source._data:
            data: bytes = await source.read(want)  # raises smithy's "closed file" error
            return data
        remainder = source._remainder  # what the reader kept back from a read of its own
        if remainder:
            source._remainder = b""
            return bytes(remainder)
        if self.iterator is None:
            self.iterator = source._data.__aiter__()
        while True:
            try:
                chunk = await self.iterator.__anext__()
            except StopAsyncIteration:
                return b""
            if chunk:  # the reader skips empty chunks too: they are not the end
                return chunk if type(chunk) is bytes else bytes(chunk)

    async def _pull_block(self, want: int) -> bytes:
        data: bytes = await self.source.read(max(want, _BLOCK))
        return data

    async def _pull_exact(self, want: int) -> bytes:
        data: bytes = await self.source.read(want)
        return data

    def _want(self) -> int:
        """The size of the next exact read: smithy's reads of a frame are 8, 4, total - 16 and 4 bytes.

        The same sizes, so that a source which answers short (``asyncio.StreamReader``) gives
        the answers it would give smithy's decoder, and smithy's decoder can be given them.
        """
        step = len(self.answers)
        if step < 2:
            return 8 if step == 0 else 4
        if step == 2:
            total: int = _u32.unpack_from(self.partial)[0]
            return total - 16  # the Decoder has checked the prelude: not negative
        return 4

    def _feed(self, cls: Any, chunk: bytes) -> None:
        """Decode a chunk into events; on a frame the decoder refuses, prepare the handover."""
        partial = self.partial
        if partial:
            partial += chunk
            raw: Any = partial
        else:
            raw = chunk  # the usual case, a chunk that starts with a frame: no copy
        failed = False
        try:
            messages = self.decoder.feed(chunk)
        except EventStreamError as exc:
            messages = list(exc.messages)
            failed = True
        ready = self.ready
        at = 0
        for m in messages:
            total, hlen, pcrc = _prelude.unpack_from(raw, at)
            try:
                ready.append(_event(cls, m, raw, at, total, hlen, pcrc))
            except Exception as exc:  # where smithy's decoder fails to build it: its error, in order
                ready.append(_Unbuilt(exc, total))
            at += total
        # Kept for detach(), never copied: a partial buffer walked here is replaced, not changed.
        self.walked_raw = raw
        self.walked_end = at
        if failed:
            self.handover = self._taken(raw[at:])
        elif at == len(raw):
            self.partial = bytearray()
            self.answers = []
        else:
            self.partial = bytearray(memoryview(raw)[at:])

    async def next(self, cls: Any) -> Any:
        """The next event, or what smithy's decoder gives once the source is handed to it."""
        ready = self.ready
        while True:
            if ready:
                try:
                    item = ready.popleft()
                except IndexError:  # an uninstall() in another thread emptied it since
                    pass
                else:
                    return _hand_out(item)
            if self.detached:  # a call that began before uninstall(): smithy's decoder goes on
                replay = _Replay(self.stash, self.source)
                self.stash = []
                return await _ORIGINAL_DECODE_ASYNC(cls, replay)
            if self.handover is not None:
                self.replay = _Replay(self.handover, self.source)
                self.handover = None
                self.partial = bytearray()
            if self.replay is not None:
                return await _ORIGINAL_DECODE_ASYNC(cls, self.replay)
            want = self._want() if self.exact else 0
            chunk = await self.pull(want)
            with _lock:  # against a detach() from another thread while the bytes go in
                if self.detached:
                    self._push(chunk, after=True)
                elif self.exact:
                    self.answers.append(chunk)
                    if len(chunk) < want:
                        # Short (or the end): smithy's decoder gets the same answers, and says what they mean.
                        self.handover = self._taken(b"")
                    else:
                        self._feed(cls, chunk)
                elif chunk:
                    self._feed(cls, chunk)
                else:  # the end: smithy's decoder says what a partial frame (or none) means
                    self.handover = bytes(self.partial)

    def _taken(self, raw: Any) -> Any:
        """What smithy's decoder is to read again of the frame in progress (from ``raw``, its
        bytes, for a source that fills every read; the answers of an exact one)."""
        if not self.exact:
            return bytes(raw)
        answers, self.answers = self.answers, []
        return answers

    def detach(self) -> None:
        """Give the bytes read from the source and not handed out as events back to it.

        Called by uninstall(), under the lock: smithy's own decoder then reads the source
        from the first event this reader had not handed out. A call in progress on this
        reader gives back what its read brings, when it comes, and decodes with smithy's.
        """
        taken = 0
        while True:
            try:
                item = self.ready.popleft()
                taken += item.total if type(item) is _Unbuilt else item.prelude.total_length
            except IndexError:
                break
        events = bytes(self.walked_raw[self.walked_end - taken:self.walked_end]) if taken else b""
        if self.exact:
            # Exact reads stop at the end of a frame, so only the frame in progress is held;
            # the call reading it finishes it with smithy's decoder, from the same answers.
            # An event not handed out yet was read whole, in smithy's sizes.
            answers = []
            at = 0
            while at < len(events):
                total = _u32.unpack_from(events, at)[0]
                for size in (8, 4, total - 16, 4):
                    answers.append(events[at:at + size])
                    at += size
            if self.replay is not None:
                answers += self.replay._answers
                self.replay._answers = []
            answers += self.handover if self.handover is not None else self.answers
            self.stash, self.answers = answers, []
        else:
            parts = [events]
            if self.replay is not None:
                parts.append(self.replay._pending)
                self.replay._pending = b""
            elif self.handover is not None:
                parts.append(self.handover)  # it holds the partial frame's bytes too
            else:
                parts.append(bytes(self.partial))
            self._push(b"".join(parts), after=False)
        self.handover = None
        self.partial = bytearray()
        self.walked_raw = b""
        self.detached = True

    def _push(self, data: bytes, after: bool) -> None:
        """Put ``data`` back into the source: before what it holds, or ``after`` it (a read that landed late)."""
        if self.exact:  # a read that landed after detach(): the answer smithy's decoder gets next
            self.stash.append(data)
            return
        if not data:
            return
        source = self.source
        if self.pull == self._pull_iterable:
            held = source._remainder
            source._remainder = held + data if after else data + held
        elif self.pull == self._pull_block:
            source._data.seek(-len(data), 1)  # relative: the order of two give-backs does not matter


# Readers by id(source), each with a weak reference that drops it when its source goes.
_readers: Dict[int, Tuple[Any, _Reader]] = {}


def _reader(source: Any) -> Optional[_Reader]:
    """The reader of ``source``, made on first use; None if the source cannot be tracked."""
    key = id(source)
    entry = _readers.get(key)
    if entry is not None and entry[0]() is source:
        return entry[1]
    try:
        ref = weakref.ref(source, functools.partial(_forget, key))
    except TypeError:  # no weak references: smithy's decoder reads it
        return None
    reader = _Reader(source)
    with _lock:
        _readers[key] = (ref, reader)
    return reader


def _forget(key: int, _ref: Any) -> None:
    with _lock:
        entry = _readers.get(key)
        if entry is not None and entry[0]() is None:
            del _readers[key]


async def _decode_async(cls: Any, source: Any) -> Any:
    """Decode the next event from an async byte source (``Event.decode_async``, installed).

    Args:
        source: an object with an async ``read(size)``, as for smithy's method.

    Returns:
        The next ``Event`` (an instance of ``cls``), or None at the end of the source.

    Raises:
        smithy_aws_event_stream.exceptions.EventError: as smithy's method raises it.
    """
    entry = _readers.get(id(source))
    if entry is not None and entry[0]() is source:
        reader = entry[1]
        if reader.ready:  # the usual case: an event decoded from a chunk read for an earlier one
            try:
                item = reader.ready.popleft()
            except IndexError:  # an uninstall() in another thread emptied it since
                pass
            else:
                return _hand_out(item)
        return await reader.next(cls)
    made = _reader(source)
    if made is None:
        return await _ORIGINAL_DECODE_ASYNC(cls, source)
    return await made.next(cls)


# --------------------------------------------------------------------------- encoding


def _timestamp(value: Any) -> Any:
    return Timestamp(int(value.timestamp() * 1000))  # smithy's arithmetic, float rounding and all


# smithy's encoding of each header value type, as our header types; other types go to smithy.
_ENCODE_AS: Dict[type, Callable[[Any], Any]] = {
    bool: lambda v: v,
    str: lambda v: v,
    bytes: lambda v: v,
    uuid.UUID: lambda v: v,
    int: Int32,
    _Byte: Int8,
    _Short: Int16,
    _Long: Int64,
    datetime.datetime: _timestamp,
}


def _encode(self: Any) -> bytes:
    """Encode an event message to its frame (``EventMessage.encode``, installed).

    Returns:
        smithy's bytes for the message.

    Raises:
        smithy_aws_event_stream.exceptions.EventError: as smithy's method raises it.
    """
    payload = self.payload
    if (
        type(payload) is not bytes
        or len(payload) > MAX_PAYLOAD_LENGTH
        or (type(self) is not _EventMessage and type(self)._get_headers_bytes is not _ORIGINAL_HEADERS_BYTES)
    ):
        return bytes(_ORIGINAL_ENCODE(self))
    headers = self.headers
    try:
        if type(headers) is dict:
            for value in headers.values():
                t = type(value)
                if t is not str and t is not bytes and t is not bool:
                    break
            else:  # the usual headers: their wire types are the same in both codecs
                return encode(headers, payload)
        ours: Dict[str, Any] = {}
        for name, value in headers.items():
            t = type(value)
            convert = _ENCODE_AS.get(t)
            if convert is None:
                return bytes(_ORIGINAL_ENCODE(self))
            ours[name] = convert(value)
        if len(ours) != len(headers):  # a mapping whose names repeat: smithy's error
            return bytes(_ORIGINAL_ENCODE(self))
        return encode(ours, payload)
    except (ValueError, TypeError, OverflowError, OSError):
        # Out of range, over a limit, a name smithy takes and we do not: smithy says what
        # happens (its error, or its bytes).
        return bytes(_ORIGINAL_ENCODE(self))


# --------------------------------------------------------------------------- install


_OURS: Dict[Tuple[Any, str], Any] = {
    (_Event, "decode_async"): classmethod(_decode_async),
    (_EventMessage, "encode"): _encode,
}
# What each patched class held before install: restored exactly by uninstall().
_saved: Dict[Tuple[Any, str], Any] = {}


def _patch() -> None:
    for (cls, name), ours in _OURS.items():
        current = cls.__dict__.get(name)
        if current is not ours:
            _saved[(cls, name)] = current
            setattr(cls, name, ours)


def _restore() -> None:
    for _, reader in list(_readers.values()):
        reader.detach()
    _readers.clear()
    for (cls, name), ours in _OURS.items():
        if cls.__dict__.get(name) is ours:
            before = _saved.get((cls, name))
            if before is None:
                delattr(cls, name)
            else:
                setattr(cls, name, before)
    _saved.clear()


# One lock for the patch, its undo and this module's own shared state.
_switch = Switch(_patch, _restore)
_lock = _switch.lock


def is_installed() -> bool:
    """True while smithy's events decode and encode with our codec."""
    return _Event.__dict__.get("decode_async") is _OURS[(_Event, "decode_async")]


def install() -> None:
    """Make smithy's ``Event.decode_async`` and ``EventMessage.encode`` use our codec, process-wide.

    Calling it again does nothing; it is thread-safe. Sources already being read by
    smithy's decoder are not affected: the first event decoded after install starts
    from the source's current position.
    """
    _switch.install()


def uninstall() -> None:
    """Put back what :func:`install` replaced, at once (even inside an :func:`installed` block).

    A stream part-way read goes on with smithy's decoder from the next event: the bytes
    read ahead are given back to smithy's ``AsyncBytesReader`` (or its ``BytesIO``). A
    method someone else has replaced since is left as they set it. Calling it when not
    installed does nothing.
    """
    _switch.uninstall()


@contextlib.contextmanager
def installed() -> Iterator[None]:
    """Our codec under smithy's events for the duration of a ``with`` block.

    Blocks nest, in one thread or across threads: smithy's methods come back when the
    last block running exits, unless :func:`install` was called, which outlasts them.
    """
    with _switch.installed():
        yield
