"""Checks, conversions and error texts both codec twins share; none is on a hot path.

Each twin encodes exact built-in values inline. Any other value (a subclass of str,
int, bytes, ``datetime`` or ``uuid.UUID``, with whatever dunders it overrides, or a
bytearray or memoryview) passes through :func:`canonical` first and comes out as an
exact value read from the object's real data, without calling anything it overrides.
Both twins call the same code here, so they give the same bytes or the same error.
"""

from __future__ import annotations

import copy
import datetime as _dt
import operator
import uuid
from collections.abc import Mapping
from typing import Any, List, Tuple

from ._types import Int8, Int16, Int32, Int64, Timestamp
from .errors import HeaderError

# Subclasses are matched most specific first: Timestamp before the plain fixed ints.
_FIXED = (Timestamp, Int8, Int16, Int32, Int64)
_U32_MAX = 0xFFFFFFFF
_SHOWN_BITS = 128  # larger integers are described by size: str() of a huge int can fail


def canonical(name: Any, value: Any) -> Any:
    """The exact-typed value ``value`` encodes as.

    Returns an exact ``str``, ``int``, ``Int8``/``Int16``/``Int32``/``Int64``/``Timestamp``,
    ``bytes`` or ``uuid.UUID``.

    Raises:
        HeaderError: the value has no wire type, or cannot become one.
    """
    t = type(value)
    if issubclass(t, str):
        return str.__str__(value)  # an exact copy of the characters
    if issubclass(t, int):  # bool never gets here: True and False are matched first
        v = int.__index__(value)  # the integer value itself, not what __index__ says
        for cls in _FIXED:
            if issubclass(t, cls):
                return int.__new__(cls, v)
        return v
    if issubclass(t, (bytes, bytearray, memoryview)):
        try:
            return memoryview(value).tobytes()
        except (ValueError, BufferError, TypeError) as exc:  # a released view, a bad __buffer__
            raise HeaderError(f"header {name!r}: {exc}") from None
    if issubclass(t, _dt.datetime):
        try:
            return Timestamp.from_datetime(value)
        except (ValueError, TypeError, OverflowError) as exc:
            raise HeaderError(f"header {name!r}: {exc}") from None
    if issubclass(t, uuid.UUID):
        return uuid.UUID(bytes=uuid_bytes(name, value))
    raise cannot_encode(name, value)


def cannot_encode(name: Any, value: Any) -> HeaderError:
    """The error for a value no wire type takes."""
    return HeaderError(f"header {name!r}: a value of type {type(value).__name__} cannot be encoded")


def uuid_bytes(name: Any, value: Any) -> bytes:
    """The 16 bytes of a ``uuid.UUID`` header value, checked.

    Raises:
        HeaderError: ``value.bytes`` fails or is not exactly 16 bytes of type bytes.
    """
    what = type(value).__name__
    try:
        raw = value.bytes
    except (ValueError, TypeError, OverflowError, AttributeError) as exc:
        raise HeaderError(f"header {name!r}: {what}.bytes failed ({type(exc).__name__})") from None
    if type(raw) is not bytes:
        raise HeaderError(f"header {name!r}: {what}.bytes is a {type(raw).__name__}, not bytes")
    if len(raw) != 16:
        raise HeaderError(f"header {name!r}: {what}.bytes is {len(raw)} bytes, not 16")
    return raw


def _shown(value: int) -> str:
    if int.bit_length(value) > _SHOWN_BITS:
        return f"a {int.bit_length(value)}-bit integer"
    return int.__repr__(value)


def out_of_range(name: Any, value: int) -> HeaderError:
    """The error for a fixed-width value outside its wire type's range."""
    return HeaderError(
        f"header {name!r}: {type(value).__name__}({_shown(value)}) is out of range for its wire type"
    )


def too_big(name: Any, value: int) -> HeaderError:
    """The error for a plain int that fits in neither 32 nor 64 bits."""
    return HeaderError(f"header {name!r}: integer {_shown(value)} does not fit in 64 bits")


def duplicate_name(name: Any) -> HeaderError:
    """The error for two headers whose names encode to the same bytes."""
    return HeaderError(f"header {name!r}: duplicate header name")


def items_of(headers: Any) -> List[Tuple[Any, Any]]:
    """The (name, value) pairs of a mapping, read once, up front.

    A value's own code (a tzinfo, a ``bytes`` property) runs later and may change the
    mapping; encoding what it held when it was passed keeps both twins alike.

    Raises:
        TypeError: ``headers`` is not a mapping.
    """
    if not isinstance(headers, Mapping):
        raise TypeError(f"headers must be a mapping, not {type(headers).__name__}")
    return [(name, value) for name, value in headers.items()]


def first_duplicate(names: List[bytes], items: List[Tuple[Any, Any]]) -> Any:
    """The name of the first pair whose encoded name (in ``names``) came before, or None."""
    seen = set()
    for raw, (name, _) in zip(names, items):
        if raw in seen:
            return name
        seen.add(raw)
    return None


def crc_start(value: Any) -> int:
    """The starting value of a chained CRC-32, checked.

    Raises:
        TypeError: not an integer.
        ValueError: outside 0..0xFFFFFFFF.
    """
    v = operator.index(value)
    if not 0 <= v <= _U32_MAX:
        raise ValueError(f"value must be in 0..0xFFFFFFFF, got {_shown(v)}")
    return v


def check_limits(max_frame: Any, max_headers: Any) -> Tuple[int, int]:
    """A Decoder's limits as exact ints, checked.

    Raises:
        TypeError: a limit is not an int (bool included).
        ValueError: ``max_frame`` is outside 16..2**32-1 or ``max_headers`` outside 0..2**32-1.
    """
    out = []
    for what, v, low in (("max_frame", max_frame, 16), ("max_headers", max_headers, 0)):
        if not issubclass(type(v), int) or type(v) is bool:
            raise TypeError(f"{what} must be an int, not {type(v).__name__}")
        v = int.__index__(v)
        if not low <= v <= _U32_MAX:
            raise ValueError(f"{what} must be in {low}..{_U32_MAX}, got {_shown(v)}")
        out.append(v)
    return out[0], out[1]


def not_initialised(what: str) -> ValueError:
    """The error every method of an object whose ``__init__`` never ran raises."""
    return ValueError(f"this {what} was never initialised: create it by calling {what}(...)")


def failed_again(error: BaseException) -> BaseException:
    """What a failed Decoder raises on each call after the one that failed.

    A copy of the error without ``messages`` (those were delivered with the first one, and
    must not be delivered twice), caused by the original.
    """
    try:
        again = copy.copy(error)
        again.messages = ()  # type: ignore[attr-defined]
    except Exception:  # an exception type that cannot be copied: the original, messages and all
        return error.with_traceback(None)
    again.__cause__ = error
    return again.with_traceback(None)


def reentered(what: str) -> RuntimeError:
    """The error for a Decoder used from two places at once."""
    return RuntimeError(
        f"Decoder.{what}() while another call on the same decoder runs: one decoder serves one stream at a time"
    )
