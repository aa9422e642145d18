"""Checks and conversions both codec twins share; none is on a hot path.

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

from ._types import MAX_HEADER_VALUE, Int8, Int16, Int32, Int64, Timestamp
from .errors import _bad_uuid, _cannot_encode, _not_int, _out_of_bounds, _value_unusable

# Subclasses are matched most specific first: Timestamp before the plain fixed ints.
_FIXED = (Timestamp, Int8, Int16, Int32, Int64)
_U32_MAX = 0xFFFFFFFF
_U16_MAX = 0xFFFF  # the widest header value length the wire can carry


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
            raise _value_unusable(name, exc) from None
    if issubclass(t, _dt.datetime):
        try:
            return Timestamp.from_datetime(value)
        except (ValueError, TypeError, OverflowError) as exc:
            raise _value_unusable(name, exc) from None
    if issubclass(t, uuid.UUID):
        return uuid.UUID(bytes=uuid_bytes(name, value))
    raise _cannot_encode(name, value)


def uuid_bytes(name: Any, value: Any) -> bytes:
    """The 16 bytes of a ``uuid.UUID`` header value, checked.

    Raises:
        HeaderError: ``value.bytes`` fails or is not exactly 16 bytes of type bytes.
    """
    try:
        raw = value.bytes
    except (ValueError, TypeError, OverflowError, AttributeError) as exc:
        raise _bad_uuid(name, value, failure=exc) from None
    if type(raw) is not bytes or len(raw) != 16:
        raise _bad_uuid(name, value, raw)
    return raw


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
        raise _out_of_bounds("value", v, 0, _U32_MAX)
    return v


def check_limits(max_frame: Any, max_headers: Any, max_payload: Any = None,
                 max_header_value: Any = MAX_HEADER_VALUE) -> Tuple[int, int, int, int]:
    """A Decoder's limits as exact ints, checked; ``max_payload`` None (no limit of its own) is -1.

    Raises:
        TypeError: a limit is not an int (bool included), or ``max_payload`` is neither an int nor None.
        ValueError: ``max_frame`` is outside 16..2**32-1, ``max_headers`` or ``max_payload``
            outside 0..2**32-1, ``max_header_value`` outside 0..65535.
    """
    out = []
    for what, v, low, high in (("max_frame", max_frame, 16, _U32_MAX), ("max_headers", max_headers, 0, _U32_MAX),
                               ("max_payload", max_payload, 0, _U32_MAX),
                               ("max_header_value", max_header_value, 0, _U16_MAX)):
        if v is None and what == "max_payload":
            out.append(-1)
            continue
        if not issubclass(type(v), int) or type(v) is bool:
            raise _not_int(what, v)
        v = int.__index__(v)
        if not low <= v <= high:
            raise _out_of_bounds(what, v, low, high)
        out.append(v)
    return out[0], out[1], out[2], out[3]


def attach_messages(exc: BaseException, out: List[Any]) -> None:
    """Put the messages a Decoder completed before ``exc`` on it, if it takes attributes."""
    try:
        exc.messages = out  # type: ignore[attr-defined]
    except Exception:  # an exception type without a __dict__: the error itself matters more
        pass


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


# -- typed events: the shape a JSON value must have, checked by both twins' ``build``

# A field's kind; NULL added: JSON null is allowed (and is the value).
STR, FLOAT, INT, BOOL, LIST, RECORD, BASE64, OBJECT, ANY = range(1, 10)
NULL = 32
KIND_NAMES = {STR: "a string", FLOAT: "a number", INT: "an integer", BOOL: "a boolean", LIST: "an array",
              RECORD: "an object", BASE64: "a base64 string", OBJECT: "an object"}
# How a record is made from its values (a tuple, in field order).
MAKE_TUPLE_SUBCLASS, MAKE_CALL, MAKE_VALUES = 0, 1, 2


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()  # a field's default when it must be present


class ShapeError(Exception):
    """A JSON value that does not have the shape asked for; where, and what is wrong with it."""

    def __init__(self, problem: str, key: Any = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.parts: List[str] = [] if key is None else [key]  # innermost first

    def describe(self, what: str) -> str:
        """``what: path: problem``, the path in the JSON (``Transcript.Results[0].StartTime``)."""
        path = ""
        for part in reversed(self.parts):
            path += part if part.startswith("[") or not path else "." + part
        return f"{what}: {path}: {self.problem}" if path else f"{what}: {self.problem}"


def json_type(value: Any) -> str:
    """What ``value`` is, in JSON's words (for a message)."""
    kind = type(value)
    if value is None:
        return "null"
    if kind is bool:
        return "a boolean"
    if kind is int or kind is float:
        return "a number"
    if kind is str:
        return "a string"
    if kind is list:
        return "an array"
    if kind is dict:
        return "an object"
    return f"a {kind.__name__}"


def unbase64(value: str) -> bytes:
    """Strict base64 (the standard alphabet, padded) to bytes, or ShapeError."""
    import base64
    import binascii

    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ShapeError("expected a base64 string, got a string that is not base64") from None


MAX_SPEC_DEPTH = 32  # records nested in records: Transcribe's go 5 deep


def check_spec(spec: Any) -> Tuple[Any, int, List[Tuple[str, int, Any, Any]]]:
    """``(maker, how, fields)`` of a typed-event spec, checked (both twins' ``plan`` start here).

    A spec is ``(maker, how, fields)``; each field ``(key, kind, default, sub-spec)``; a
    LIST's or RECORD's sub-spec (a spec, or a plan) describes its elements or its object.
    """
    if type(spec) is not tuple or len(spec) != 3:
        raise TypeError("a spec is a (maker, how, fields) tuple")
    maker, how, fields = spec
    if type(fields) is not tuple:
        raise TypeError("a spec's fields must be a tuple")
    if type(how) is not int or how not in (MAKE_TUPLE_SUBCLASS, MAKE_CALL, MAKE_VALUES):
        raise ValueError(f"unknown way of making a record: {how!r}")
    if how == MAKE_TUPLE_SUBCLASS:
        if not (type(maker) is type and issubclass(maker, tuple)):
            raise TypeError("a record made in place must be a tuple subclass")
        tuple.__new__(maker, ())  # a type tuple.__new__ cannot make (a struct sequence) is refused here
    out = []
    for field in fields:
        if type(field) is not tuple or len(field) != 4:
            raise TypeError("a spec's field is a (key, kind, default, sub-spec) tuple")
        key, kind, default, sub = field
        if type(key) is not str:
            raise TypeError("a field's key must be a str")
        if type(kind) is not int or not 0 < kind & ~NULL <= ANY or kind & ~(NULL | 31):
            raise ValueError(f"unknown kind of field: {kind!r}")
        nested = kind & ~NULL in (LIST, RECORD)
        if nested and sub is None:
            raise TypeError(f"the field {key!r} is a list or a record: it needs a sub-spec")
        out.append((key, kind, default, sub if nested else None))
    return maker, how, out


def check_depth(depth: int) -> int:
    """``depth`` (of a plan: 1 plus its deepest sub-plan's), if it is within MAX_SPEC_DEPTH."""
    if depth > MAX_SPEC_DEPTH:
        raise ValueError(f"a spec nested more than {MAX_SPEC_DEPTH} deep")
    return depth
