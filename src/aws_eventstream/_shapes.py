"""Typed events from JSON: the classes, and the two ways of filling them.

A typed event class is described once, as a table of fields (attribute, JSON key, kind,
default, nested class). From the table come:

- the class: a frozen ``msgspec.Struct`` when msgspec is installed (the ``fast`` extra),
  else a frozen record on ``tuple`` (:func:`_record_class`); the same attributes,
  constructor, ``repr``, equality and pickling either way;
- its *spec*, which the codec's ``build`` (both twins) follows to check a decoded JSON
  value and make the object from it.

:class:`JsonType` decodes one JSON document into such a class: with msgspec straight
from the bytes; if msgspec refuses the bytes, or without it, with :func:`json.loads` and
``build``, which decide what is accepted and what the error says. So both ways give the
same objects and the same errors.

``AWS_EVENTSTREAM_JSON=json`` in the environment makes the package behave as if msgspec
were not installed.
"""

from __future__ import annotations

import json
import operator
import os
import re
import sys
from typing import Any, Dict, List, NamedTuple, Optional, Tuple

from ._common import (ANY, BASE64, BOOL, FLOAT, INT, LIST, MAKE_CALL, MAKE_TUPLE_SUBCLASS, NULL, OBJECT, RECORD,
                      REQUIRED, STR, ShapeError)

_msgspec: Any
try:
    if os.environ.get("AWS_EVENTSTREAM_JSON", "").strip().lower() == "json":
        raise ImportError("AWS_EVENTSTREAM_JSON=json")
    import msgspec as _msgspec
except ImportError:
    _msgspec = None

#: Which JSON library decodes events: "msgspec" (the ``fast`` extra) or "json".
JSON_BACKEND = "msgspec" if _msgspec is not None else "json"

_fast = _msgspec is not None  # msgspec decodes first (the tests turn it off to compare)


_kinds: "List[JsonType]" = []  # every JsonType made, each with a plan for the twin in use


def use_twin(codec: Any) -> None:
    """Build typed events with ``codec``'s ``build`` (the tests run both twins)."""
    global _build, _twin
    _twin, _build = codec, codec.build
    for kind in _kinds:
        kind.plan = codec.plan(kind.spec)


def use_msgspec(on: bool) -> bool:
    """Let msgspec decode first (if it is installed), or not; returns the setting before."""
    global _fast
    before, _fast = _fast, bool(on) and _msgspec is not None
    return before


class Field(NamedTuple):
    attr: str
    key: str
    kind: int
    default: Any = None
    sub: Any = None  # the class of a LIST's elements or of a RECORD


def _annotation(field: Field) -> Any:
    base = field.kind & ~NULL
    kind: Any = {STR: str, FLOAT: float, INT: int, BOOL: bool, BASE64: bytes, OBJECT: Dict[str, Any],
                 ANY: Any}.get(base)
    if base == LIST:
        kind = Tuple[field.sub, ...]
    elif base == RECORD:
        kind = field.sub
    return Optional[kind] if field.kind & NULL else kind


def model(name: str, module: str, doc: str, fields: List[Field]) -> Any:
    """The class for ``fields`` (required ones first), with its spec as ``_spec``."""
    if _msgspec is not None:
        cls: Any = _msgspec.defstruct(
            name, [(f.attr, _annotation(f)) if f.default is REQUIRED else (f.attr, _annotation(f), f.default)
                   for f in fields],
            module=module, frozen=True, gc=False, rename={f.attr: f.key for f in fields},
            namespace={"__doc__": doc})
        how = MAKE_CALL
    else:
        cls = _record_class(name, module, doc, fields)
        how = MAKE_TUPLE_SUBCLASS
    cls._spec = (cls, how, tuple((f.key, f.kind, f.default, None if f.sub is None else f.sub._spec)
                                 for f in fields))
    return cls


class _Record(tuple):  # type: ignore[type-arg]
    """A frozen record: fields by name, equal only to a record of its own class."""

    __slots__ = ()
    _fields: Tuple[str, ...] = ()
    _defaults: Dict[str, Any] = {}

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        names = cls._fields
        if len(args) > len(names):
            raise TypeError(f"{cls.__name__} takes at most {len(names)} positional arguments ({len(args)} given)")
        values = list(args)
        for name in names[len(args):]:
            if name in kwargs:
                values.append(kwargs.pop(name))
            elif name in cls._defaults:
                values.append(cls._defaults[name])
            else:
                raise TypeError(f"{cls.__name__} is missing the required argument {name!r}")
        if kwargs:
            extra = next(iter(kwargs))
            if extra in names:
                raise TypeError(f"{cls.__name__} got multiple values for argument {extra!r}")
            raise TypeError(f"{cls.__name__} got an unexpected keyword argument {extra!r}")
        return tuple.__new__(cls, values)

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={value!r}" for name, value in zip(self._fields, tuple.__iter__(self)))
        return f"{type(self).__name__}({inner})"

    def __eq__(self, other: Any) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return tuple.__eq__(self, other)

    def __ne__(self, other: Any) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return tuple.__ne__(self, other)

    __hash__ = tuple.__hash__

    def __lt__(self, other: Any) -> bool:
        return NotImplemented

    __le__ = __gt__ = __ge__ = __lt__

    def __reduce__(self) -> Any:
        return (type(self), tuple(tuple.__iter__(self)))

    def __copy__(self) -> Any:
        return self

    def __deepcopy__(self, memo: Any) -> Any:
        return self


def _record_class(name: str, module: str, doc: str, fields: List[Field]) -> Any:
    namespace: Dict[str, Any] = {
        "__slots__": (), "__doc__": doc, "__module__": module, "__qualname__": name,
        "_fields": tuple(f.attr for f in fields), "__match_args__": tuple(f.attr for f in fields),
        "_defaults": {f.attr: f.default for f in fields if f.default is not REQUIRED},
    }
    for index, field in enumerate(fields):
        namespace[field.attr] = property(operator.itemgetter(index), doc=f"``{field.key}``")
    return type(name, (_Record,), namespace)


#: ``sys.get_int_max_str_digits`` (0, no limit, where Python has none): a payload no longer
#: than it cannot hold an integer int() refuses, whatever msgspec skipped.
int_limit: Any = getattr(sys, "get_int_max_str_digits", lambda: 0)
_DIGIT_RUNS: Dict[Any, Any] = {}  # (type, limit) -> a pattern for a run of more digits than int() takes


def msgspec_may(payload: Any) -> bool:
    """Whether msgspec's answer for ``payload`` can stand: msgspec skips what a class does not
    model without checking all of it, so bytes that json.loads refuses (invalid UTF-8, an
    integer longer than ``sys.get_int_max_str_digits()``) go the standard library's way,
    as do inputs json.loads does not take."""
    kind = type(payload)
    if kind is bytes or kind is bytearray:
        if not payload.isascii():
            try:
                payload.decode("utf-8", "surrogatepass")  # as json.loads decodes
            except UnicodeDecodeError:
                return False
    elif kind is not str:
        return False
    limit = int_limit()
    if limit and len(payload) > limit:
        pattern = _DIGIT_RUNS.get((kind, limit))
        if pattern is None:
            text = "[0-9]{%d,}" % (limit + 1)
            pattern = _DIGIT_RUNS[(kind, limit)] = re.compile(text if kind is str else text.encode())
        if pattern.search(payload):
            return False
    return True


class JsonType:
    """Decodes one JSON document into a :func:`model` class, or raises ShapeError."""

    __slots__ = ("spec", "plan", "decode_fast")
    decode_fast: Any

    def __init__(self, cls: Any) -> None:
        self.spec = cls._spec
        self.plan = _twin.plan(self.spec)
        _kinds.append(self)
        #: msgspec's decoder (None without msgspec): what it refuses, ``decode`` decides on
        self.decode_fast = _msgspec.json.Decoder(cls).decode if _msgspec is not None else None

    def decode(self, payload: Any) -> Any:
        if _fast and msgspec_may(payload):
            try:
                return self.decode_fast(payload)
            except Exception:  # noqa: BLE001 - json and build say what is wrong, and if anything is
                pass
        return _build(self.plan, loads_std(payload))


_scan: Any = getattr(json.JSONDecoder(), "scan_once")  # the C scanner json.loads runs, made as json.loads makes it


def json_loads(payload: Any) -> Any:
    """``json.loads(payload)``: the same value or the same error, without its detours for
    the common case (bytes that open an object: UTF-8 as json.loads reads them, no
    whitespace around)."""
    if type(payload) is bytes and payload[:1] == b"{" and payload[1:2] != b"\x00":
        try:
            text = payload.decode("utf-8", "surrogatepass")  # as json.loads decodes bytes
            value, end = _scan(text, 0)
        except (StopIteration, ValueError, RecursionError):
            pass  # json.loads says what is wrong
        else:
            if end == len(text):
                return value
    return json.loads(payload)


def loads_std(payload: Any) -> Any:
    """``json.loads`` of ``payload``; ShapeError if it is not JSON."""
    try:
        return json_loads(payload)
    except (ValueError, RecursionError) as exc:
        raise ShapeError(f"not JSON ({exc})") from None


def envelope_decoder() -> Any:
    """msgspec's decoder of ``{"event": {name: ...}}`` leaving the inner value undecoded
    (its ``.event`` a dict of name to ``msgspec.Raw``), or None without msgspec."""
    if _msgspec is None:
        return None
    envelope = _msgspec.defstruct("_Envelope", [("event", Dict[str, _msgspec.Raw])], gc=False)
    return _msgspec.json.Decoder(envelope).decode


def loads(payload: Any) -> Any:
    """What ``json.loads(payload)`` gives, or its error; with msgspec, sooner."""
    if _fast and msgspec_may(payload):
        try:
            return _msgspec.json.decode(payload)
        except Exception:  # noqa: BLE001 - json.loads decides, and says why
            pass
    return json_loads(payload)


from . import _codec as _loaded  # noqa: E402 - the twin the package loaded

_twin: Any = _loaded
_build: Any = _twin.build
