"""botocore's parsing of an event, for the events our buffer decodes: the same result, fewer steps.

Once the buffer is ours, botocore's parser is most of what an event costs: for each one,
``EventStream._parse_event`` builds a response dict and ``parser.parse`` walks the output
shape through a dozen method calls, two log calls and a ``getattr`` per value. Here each
event shape of a stream is compiled, once, into a plan: the header members to copy, where
the payload goes, and for a JSON body, per structure, the member names to look up and what
to do with each value. Running the plan gives the dict botocore's parser gives.

The plan does exactly what botocore's code does, and is used only where that code is known:

* The botocore (and aiobotocore) functions it stands in for are read from their source
  when first needed and fingerprinted; a fingerprint not in :data:`_DIALECTS` (another
  botocore release changed one of them, or something replaced one) turns plans off.
* A parser whose class (or instance) resolves any of those names to something else, a
  timestamp or blob parser other than botocore's own, a shape type with a handler of its
  own, and botocore's DEBUG log being on (``parse`` logs every event) each send the events
  concerned down botocore's own path.
* Anything a plan does not expect of a value (a structure that is not a dict, a union
  with no member or an unknown one, a ``null``), and any exception, gives the event to
  botocore's own ``_parse_event``, which returns or raises what it always did. Everything
  a plan calls is a pure function, so running botocore's code after it changes nothing.
* ``error`` and ``exception`` messages always take botocore's path.
"""

from __future__ import annotations

import hashlib
import inspect
import logging
import textwrap
import threading
import weakref
from typing import Any, Callable, Dict, FrozenSet, List, NamedTuple, Optional, Tuple

import botocore.eventstream as _be
import botocore.parsers as _bp


class _Dialect(NamedTuple):
    """What differs between the botocore releases whose code plans were checked against."""

    sparse_lists: bool  # a null in a list stays None (older releases parse it as the member shape)
    wire_name_unions: bool  # a union's member is found by its wire name, nulls left out (older: by
    # member name, nulls counted)


#: Fingerprints (see :func:`_fingerprint`) of botocore's code that plans stand in for, each
#: reviewed against the plans here, and how that release parses.
_DIALECTS: Dict[str, _Dialect] = {
    "3a8a9538eaff8b3208e3ca52d921fdca": _Dialect(True, True),  # 1.42 to 1.44
    "9be7a01d1a6a3a0564c00585753ecca8": _Dialect(False, True),  # 1.39 to 1.40
    "2f8bd5ff8f00bfa96780694090fe4140": _Dialect(False, True),  # 1.36 to 1.38
    "193cd9871e0e3f0bd62b5525a318b95b": _Dialect(False, False),  # 1.34 to 1.35
}

#: The same for aiobotocore's ``AioEventStream._parse_event`` and ``AioResponseParser.parse``.
_AIO_VERIFIED = frozenset({
    "16655f98212447bc00f0172bc71238cb",  # aiobotocore 2.x, 3.x
})

# The functions plans stand in for, as they are when this module is first imported (before
# install() replaces any of them).
_SYNC_FUNCTIONS: Tuple[Any, ...] = tuple(owner.__dict__[name] for owner, name in (
    (_be.EventStream, "_parse_event"),
    (_be.EventStreamMessage, "to_response_dict"),
    (_bp.ResponseParser, "parse"),
    (_bp.ResponseParser, "_parse_shape"),
    (_bp.ResponseParser, "_handle_list"),
    (_bp.ResponseParser, "_default_handle"),
    (_bp.ResponseParser, "_default_blob_parser"),
    (_bp.ResponseParser, "_has_unknown_tagged_union_member"),
    (_bp.BaseJSONParser, "_handle_structure"),
    (_bp.BaseJSONParser, "_handle_map"),
    (_bp.BaseJSONParser, "_handle_blob"),
    (_bp.BaseJSONParser, "_handle_timestamp"),
    (_bp.BaseJSONParser, "_parse_body_as_json"),
    (_bp.BaseEventStreamParser, "_do_parse"),
    (_bp.BaseEventStreamParser, "_parse_payload"),
    (_bp.BaseEventStreamParser, "_parse_non_payload_attrs"),
    (_bp.EventStreamJSONParser, "_initial_body_parse"),
))

# What a parser's class must resolve these names to for plans to stand in for its parse().
_EVENT_METHODS = ("_do_parse", "_parse_payload", "_parse_non_payload_attrs")
_JSON_METHODS = ("_initial_body_parse", "_parse_body_as_json", "_parse_shape", "_default_handle",
                 "_has_unknown_tagged_union_member", "_handle_structure", "_handle_list",
                 "_handle_map", "_handle_blob", "_handle_timestamp")
_HANDLED_TYPES = frozenset({"structure", "list", "map", "blob", "timestamp"})


def _fingerprint(functions: Tuple[Any, ...]) -> Optional[str]:
    """A digest of the functions' source text; None when any source cannot be read."""
    digest = hashlib.sha256()
    try:
        for func in functions:
            digest.update(textwrap.dedent(inspect.getsource(func)).encode("utf-8"))
            digest.update(b"\0")
    except (OSError, TypeError):
        return None
    return digest.hexdigest()[:32]


class _Fallback(Exception):
    """A value a plan does not handle: the event goes through botocore's own code."""


_FALLBACK = _Fallback()


# --------------------------------------------------------------------------- plans for JSON values

# A plan for one shape is a function of the JSON value, or None when botocore returns the
# value as it is (strings, numbers, booleans, documents).
ValuePlan = Optional[Callable[[Any], Any]]


class _Unsupported(Exception):
    """A shape a plan cannot stand in for: events using it take botocore's path."""


class _Compiler:
    """Compiles shapes into value plans, for one parser's class and its timestamp and blob parsers.

    One compiler serves one event shape: when any shape under it is unsupported, the plans
    it built (some of them incomplete, for a recursive shape) are all dropped with it.
    """

    def __init__(self, parser: Any, dialect: _Dialect) -> None:
        cls = type(parser)
        self._cls = cls
        self._dialect = dialect
        self._timestamp: ValuePlan = (parser._timestamp_parser
                                      if parser._timestamp_parser is _bp.DEFAULT_TIMESTAMP_PARSER else None)
        # botocore hands an event-stream parser the blob parser of the parser that made it:
        # botocore's own is a method of whichever parser, and its code does not use self.
        blob = parser._blob_parser
        self._blob: ValuePlan = blob if getattr(blob, "__func__", None) is _bp.ResponseParser._default_blob_parser else None
        self._structures: Dict[str, Callable[[Any], Any]] = {}

    def value(self, shape: Any) -> ValuePlan:
        t = shape.type_name
        if t not in _HANDLED_TYPES:
            if getattr(self._cls, f"_handle_{t}", None) is not None:
                raise _Unsupported(t)  # a handler of its own, not one a plan mirrors
            return None
        if t == "structure":
            return self._structure(shape)
        if t == "list":
            return _list_plan(self.value(shape.member), self._dialect.sparse_lists)
        if t == "map":
            return _map_plan(self.value(shape.key), self.value(shape.value))
        if t == "timestamp":
            if self._timestamp is None:
                raise _Unsupported(t)
            return self._timestamp
        if self._blob is None:
            raise _Unsupported(t)
        return self._blob

    def _structure(self, shape: Any) -> ValuePlan:
        if shape.is_document_type:
            return None
        plan = self._structures.get(shape.name)
        if plan is not None:
            return plan  # compiled already, or being compiled: a recursive shape
        members: List[Tuple[str, str, ValuePlan]] = []
        union: Optional[FrozenSet[str]] = None
        wire_names = self._dialect.wire_name_unions
        if shape.is_tagged_union:
            union = frozenset(m.serialization.get("name", n) if wire_names else n for n, m in shape.members.items())
        plan = _structure_plan(members, union, wire_names)
        self._structures[shape.name] = plan
        for name, member in shape.members.items():
            members.append((name, member.serialization.get("name", name), self.value(member)))
        return plan


def _structure_plan(members: List[Tuple[str, str, ValuePlan]], union: Optional[FrozenSet[str]],
                    skip_nulls: bool) -> Callable[[Any], Any]:
    def run(value: Any) -> Dict[str, Any]:
        if type(value) is not dict:
            raise _FALLBACK
        if union is not None:
            tag = None
            for key, item in value.items():
                if key != "__type" and (item is not None or not skip_nulls):
                    if tag is not None:
                        raise _FALLBACK  # more than one member set: botocore raises
                    tag = key
            if tag not in union:
                raise _FALLBACK  # none set (botocore raises), or one it does not know (it logs)
        out = {}
        for name, key, plan in members:
            raw = value.get(key)
            if raw is not None:
                out[name] = raw if plan is None else plan(raw)
        return out
    return run


def _list_plan(item: ValuePlan, sparse: bool) -> Callable[[Any], Any]:
    def run(value: Any) -> List[Any]:
        if type(value) is not list:
            raise _FALLBACK
        if item is None:
            return list(value)  # a null is None either way
        if not sparse and None in value:
            raise _FALLBACK  # parsed as the member shape: botocore's code says what that gives
        return [None if x is None else item(x) for x in value]
    return run


def _map_plan(key: ValuePlan, value: ValuePlan) -> Callable[[Any], Any]:
    def run(node: Any) -> Dict[Any, Any]:
        if type(node) is not dict:
            raise _FALLBACK
        if key is None and value is None:
            return dict(node)
        out = {}
        for k, v in node.items():
            if value is not None and v is None:
                raise _FALLBACK
            out[k if key is None else key(k)] = v if value is None else value(v)
        return out
    return run


# --------------------------------------------------------------------------- plans for events


def _json_body(body: bytes) -> Any:
    """What botocore's JSON event parser makes of a payload before walking the shape."""
    if not body:
        return {}
    text = body.decode("utf-8")
    try:
        return _bp.json.loads(text)
    except ValueError:
        return {"message": text}


EventPlan = Callable[[Dict[str, Any], bytes], Dict[str, Any]]


def _event_plan(shape: Any, compiler: Optional[_Compiler], timestamp: Any) -> EventPlan:
    """The plan for one event shape, its header members then its payload, built with a
    fresh ``compiler`` (see :class:`_Compiler`)."""
    if shape.serialization.get("eventstream"):
        raise _Unsupported("an event stream inside an event stream")
    headers: List[Tuple[str, bool]] = []
    for name, member in shape.members.items():
        if member.serialization.get("eventheader"):
            if member.type_name == "timestamp" and timestamp is None:
                raise _Unsupported("timestamp")
            headers.append((name, member.type_name == "timestamp"))
    kind, target, body_plan = "none", "", None
    if shape.serialization.get("event"):
        for name, member in shape.members.items():
            if member.serialization.get("eventpayload"):
                kind, target = "member", name
                if member.type_name == "blob":
                    kind = "blob"
                elif member.type_name == "string":
                    kind = "string"
                break
        else:
            kind = "whole"
        if kind in ("member", "whole"):
            if compiler is None:
                raise _Unsupported("a body this parser does not read as JSON")
            body_plan = compiler.value(shape if kind == "whole" else shape.members[target])

    def run(event_headers: Dict[str, Any], body: bytes) -> Dict[str, Any]:
        out: Dict[str, Any] = {}
        for name, is_timestamp in headers:
            if name in event_headers:
                value = event_headers[name]
                out[name] = timestamp(value / 1000.0) if is_timestamp else value
        if kind == "none":
            return out
        if kind == "blob":
            out[target] = body
        elif kind == "string":
            out[target] = body.decode("utf-8")
        else:
            raw = _json_body(body)
            if raw is None:
                raise _FALLBACK
            parsed = raw if body_plan is None else body_plan(raw)
            if kind == "member":
                out[target] = parsed
            else:
                out.update(parsed)
        return out
    return run


class StreamPlan:
    """The plans for one event-stream shape and parser: ``parse(headers, body)`` or _Fallback."""

    def __init__(self, shape: Any, parser: Any, json_body: bool, dialect: _Dialect) -> None:
        timestamp = parser._timestamp_parser if parser._timestamp_parser is _bp.DEFAULT_TIMESTAMP_PARSER else None
        # Every member, as botocore looks the event type up among them: None where the
        # event shape has no plan, so that those events take botocore's path.
        self._events: Dict[Any, Optional[EventPlan]] = {}
        for name, member in shape.members.items():
            if not member:
                continue  # botocore skips a member shape that is false
            try:
                compiler = _Compiler(parser, dialect) if json_body else None
                self._events[name] = _event_plan(member, compiler, timestamp)
            except Exception:  # _Unsupported, or a shape that is not what a plan expects
                self._events[name] = None

    def parse(self, headers: Dict[str, Any], body: bytes) -> Dict[str, Any]:
        event_type = headers.get(":event-type")
        try:
            plan = self._events[event_type]
        except (KeyError, TypeError):
            return {}  # botocore finds no member for it, and gives an empty dict
        if plan is None:
            raise _FALLBACK
        parsed: Dict[Any, Any] = {event_type: plan(headers, body)}
        return parsed


# --------------------------------------------------------------------------- which parsers plans serve

_lock = threading.Lock()
_verdicts: Dict[Tuple[Any, ...], Optional[_Dialect]] = {}
_classes: "weakref.WeakKeyDictionary[type, Optional[bool]]" = weakref.WeakKeyDictionary()
_plans: "weakref.WeakKeyDictionary[Any, Dict[Any, StreamPlan]]" = weakref.WeakKeyDictionary()


_UNKNOWN = _Dialect(False, False)  # a stand-in in _verdicts: code no plan was checked against


def _dialect(extra: Tuple[Any, ...] = ()) -> Optional[_Dialect]:
    """How the botocore installed parses, if its code (and aiobotocore's functions in ``extra``)
    is code the plans were checked against; None if it is not."""
    verdict = _verdicts.get(extra)
    if verdict is None:
        found = _DIALECTS.get(_fingerprint(_SYNC_FUNCTIONS) or "")
        if found is not None and extra and _fingerprint(extra) not in _AIO_VERIFIED:
            found = None
        verdict = _verdicts[extra] = found if found is not None else _UNKNOWN
    return None if verdict is _UNKNOWN else verdict


def _verified(extra: Tuple[Any, ...] = ()) -> bool:
    """True when botocore's code (and the functions in ``extra``) is code the plans were checked against."""
    return _dialect(extra) is not None


def _class_support(cls: type, parse: Any) -> Optional[bool]:
    """None: plans cannot serve this parser class; False: events without a JSON body only; True: all."""
    try:
        return _classes[cls]
    except KeyError:
        pass
    support: Optional[bool] = None
    if issubclass(cls, _bp.BaseEventStreamParser) and getattr(cls, "parse", None) is parse \
            and getattr(cls, "DEFAULT_ENCODING", None) == "utf-8" \
            and all(getattr(cls, n, None) is getattr(_bp.BaseEventStreamParser, n) for n in _EVENT_METHODS):
        support = all(getattr(cls, n, None) is getattr(_bp.EventStreamJSONParser, n) for n in _JSON_METHODS)
    _classes[cls] = support
    return support


_INSTANCE_NAMES = frozenset(("parse",) + _EVENT_METHODS + _JSON_METHODS)


def plan_for(stream: Any, parse: Any) -> Optional[StreamPlan]:
    """The plan for an EventStream's events, or None when its events must take botocore's path.

    ``parse`` is the ``parse`` function its parser's class must have (botocore's, or
    aiobotocore's for an AioEventStream).
    """
    parser = getattr(stream, "_parser", None)
    shape = getattr(stream, "_output_shape", None)
    if parser is None or shape is None:
        return None
    try:
        if not shape.serialization.get("eventstream"):
            return None
        support = _class_support(type(parser), parse)
        if support is None or _INSTANCE_NAMES & vars(parser).keys():
            return None
        # What a plan depends on besides the shape: plans are shared by the parsers that agree on it.
        key = (type(parser), parser._timestamp_parser is _bp.DEFAULT_TIMESTAMP_PARSER,
               getattr(parser._blob_parser, "__func__", None) is _bp.ResponseParser._default_blob_parser)
        with _lock:
            by_parser = _plans.setdefault(shape, {})
            plan = by_parser.get(key)
        if plan is None:
            dialect = _dialect()
            if dialect is None:
                return None
            plan = StreamPlan(shape, parser, support, dialect)
            with _lock:
                plan = by_parser.setdefault(key, plan)
        return plan
    except Exception:
        return None


# --------------------------------------------------------------------------- EventStream._parse_event

_KEY = "_aws_eventstream_plan"  # where an EventStream keeps its plan (None: botocore's path)
_MISS = object()
_TO_RESPONSE_DICT = _be.EventStreamMessage.__dict__["to_response_dict"]
_LOG = _bp.LOG
_DEBUG = logging.DEBUG

#: botocore's ``EventStream._parse_event``, as it was when this module was imported.
SYNC_ORIGINAL = _be.EventStream.__dict__["_parse_event"]


def _parsed(stream: Any, event: Any, parse: Any) -> Any:
    """The plan's result for ``event``, or _MISS when botocore's code must parse it."""
    state = stream.__dict__
    plan = state.get(_KEY, _MISS)
    if plan is _MISS:
        plan = state[_KEY] = plan_for(stream, parse)
    if plan is None or _LOG.isEnabledFor(_DEBUG):
        return _MISS
    if getattr(type(event), "to_response_dict", None) is not _TO_RESPONSE_DICT:
        return _MISS
    headers = event.headers
    body = event.payload
    if type(headers) is not dict or type(body) is not bytes:
        return _MISS
    message_type = headers.get(":message-type")
    if message_type == "error" or message_type == "exception":
        return _MISS  # a status 400 response: botocore's error parsing
    try:
        return plan.parse(headers, body)
    except Exception:
        return _MISS  # botocore's code returns or raises what it always did


def sync_replacement() -> Optional[Callable[[Any, Any], Any]]:
    """The function to put in place of ``EventStream._parse_event``; None if plans are off."""
    if not _verified():
        return None
    original, parse = SYNC_ORIGINAL, _bp.ResponseParser.parse

    def _parse_event(self: Any, event: Any) -> Any:
        parsed = _parsed(self, event, parse)
        if parsed is _MISS:
            return original(self, event)
        return parsed
    _parse_event.__qualname__ = "EventStream._parse_event"
    _parse_event.__doc__ = "botocore's EventStream._parse_event, run as a plan when it can be."
    return _parse_event


_async_replacements: Dict[Any, Callable[[Any, Any], Any]] = {}


def async_replacement(stream_cls: type) -> Optional[Callable[[Any, Any], Any]]:
    """The function to put in place of aiobotocore's ``AioEventStream._parse_event``; None if plans are off.

    ``stream_cls`` is ``aiobotocore.eventstream.AioEventStream``; its ``_parse_event`` and
    aiobotocore's ``AioResponseParser.parse`` are fingerprinted with botocore's code.
    """
    original = stream_cls.__dict__.get("_parse_event")
    if original is None:
        return None
    with _lock:
        if original in _async_replacements.values():
            ours: Callable[[Any, Any], Any] = original
            return ours  # install() put it there
    try:
        from aiobotocore.parsers import AioResponseParser
    except ImportError:  # pragma: no cover - aiobotocore.eventstream imported without its parsers
        return None
    if not _verified((original, AioResponseParser.__dict__.get("parse"))):
        return None
    with _lock:
        replacement = _async_replacements.get(original)
    if replacement is None:
        parse = AioResponseParser.parse

        async def _parse_event(self: Any, event: Any) -> Any:
            parsed = _parsed(self, event, parse)
            if parsed is _MISS:
                return await original(self, event)
            return parsed
        _parse_event.__qualname__ = "AioEventStream._parse_event"
        _parse_event.__doc__ = "aiobotocore's AioEventStream._parse_event, run as a plan when it can be."
        with _lock:
            replacement = _async_replacements.setdefault(original, _parse_event)
    return replacement
