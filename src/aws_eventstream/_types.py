"""Header value types and :class:`Message`, shared by both codec twins.

Decoding returns exactly these types, so re-encoding a decoded message gives
back the same wire types and the same bytes.
"""

from __future__ import annotations

import datetime as _dt
import operator
import uuid
from typing import TYPE_CHECKING, Any, Dict, Mapping, Tuple, Union

__all__ = ["Int8", "Int16", "Int32", "Int64", "Timestamp", "Message", "BytesLike", "HeaderValue", "Headers"]

# Limits of the AWS implementations, for both twins (the extension repeats them as C
# constants and checks at import that they agree).
MAX_FRAME = 24 * 1024 * 1024  # botocore and aws-c-event-stream accept 24 MiB frames
MAX_HEADERS = 128 * 1024  # the header block
MAX_HEADER_VALUE = 32767  # byte array and string values: a signed 16-bit length on the wire

if TYPE_CHECKING:
    # Any object with a C-contiguous buffer (PEP 688): bytes, bytearray, memoryview,
    # array.array, mmap... Only type checkers read it; typing_extensions comes with them.
    from typing_extensions import Buffer as BytesLike  # noqa: F401 - re-exported below
else:
    BytesLike = Union[bytes, bytearray, memoryview]  # the same idea, for readers at run time

#: A header value ``encode`` takes (Int8...Int64 and Timestamp are ints; decoding gives
#: back bool, Int8...Int64, bytes, str, Timestamp and uuid.UUID).
HeaderValue = Union[bool, int, bytes, bytearray, memoryview, str, _dt.datetime, uuid.UUID]
#: The headers ``encode`` and ``Encoder`` take: names to values, written in the mapping's order.
Headers = Mapping[str, HeaderValue]

_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
_MS = _dt.timedelta(milliseconds=1)


class _FixedInt(int):
    """An int that encodes as a fixed-width signed wire integer."""

    __slots__ = ()
    _bits = 64

    def __new__(cls, value: Any = 0) -> "_FixedInt":
        v = operator.index(value)
        limit = 1 << (cls._bits - 1)
        if not -limit <= v < limit:
            raise ValueError(f"{cls.__name__} must be in {-limit}..{limit - 1}, got {v}")
        return int.__new__(cls, v)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({int(self)})"

    def __reduce__(self) -> Tuple[Any, Tuple[int]]:
        return (type(self), (int(self),))


class Int8(_FixedInt):
    """Header value of wire type byte (2): a signed 8-bit integer."""

    __slots__ = ()
    _bits = 8


class Int16(_FixedInt):
    """Header value of wire type short (3): a signed 16-bit integer."""

    __slots__ = ()
    _bits = 16


class Int32(_FixedInt):
    """Header value of wire type integer (4): a signed 32-bit integer."""

    __slots__ = ()
    _bits = 32


class Int64(_FixedInt):
    """Header value of wire type long (5): a signed 64-bit integer."""

    __slots__ = ()
    _bits = 64


class Timestamp(_FixedInt):
    """Header value of wire type timestamp (8): milliseconds since the Unix epoch."""

    __slots__ = ()
    _bits = 64

    @classmethod
    def from_datetime(cls, value: _dt.datetime) -> "Timestamp":
        """The timestamp of an aware datetime, truncated to whole milliseconds.

        Raises:
            ValueError: the datetime is naive (its time zone would be a guess).
        """
        # datetime's own methods, not what a subclass overrides: both codec twins call
        # this, and must read the same instant from the same object.
        if _dt.datetime.utcoffset(value) is None:
            raise ValueError("a naive datetime has no defined instant; give it a tzinfo")
        return cls(_dt.datetime.__sub__(value, _EPOCH) // _MS)

    def to_datetime(self) -> _dt.datetime:
        """This instant as an aware UTC datetime."""
        return _EPOCH + _dt.timedelta(milliseconds=int(self))


class Message:
    """One decoded event-stream frame.

    Attributes:
        headers: dict of header name to typed value, in wire order.
        payload: the payload bytes.
    """

    __slots__ = ("headers", "payload")

    def __init__(self, headers: Dict[str, Any], payload: bytes = b"") -> None:
        self.headers = headers
        self.payload = payload

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Message):
            return NotImplemented
        return self.payload == other.payload and self.headers == other.headers

    __hash__ = None  # type: ignore[assignment]  # headers is a dict: mutable

    def __repr__(self) -> str:
        payload = self.payload
        shown = repr(payload[:64]) + ("..." if len(payload) > 64 else "")
        return f"Message(headers={self.headers!r}, payload={shown} ({len(payload)} bytes))"

    def __reduce__(self) -> Tuple[Any, Tuple[Dict[str, Any], bytes]]:
        return (Message, (self.headers, self.payload))
