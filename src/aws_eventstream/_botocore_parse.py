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
  with no member or an unknown one, a ``null``, structures nested past MAX_DEPTH), and any
  exception, gives the event to botocore's own ``_parse_event``, which returns or raises
  what it always did. Until then a plan calls only pure functions (JSON, base64):
  timestamps, whose parser can warn and log, are parsed once the plan has finished, in
  the order botocore parses them, so running botocore's code after a plan repeats nothing.
* ``error`` and ``exception`` messages always take botocore's path.

One difference cannot be removed: the stack. botocore's walk takes three or four frames
for each level of a value, a plan one, and Python offers no cheap way to ask how many
frames are left. An event parsed within a few dozen frames of the recursion limit (code
that is itself deeply recursive, or a limit set very low) can make botocore raise
``RecursionError`` where a plan returns the event botocore gives with room to spare.
"""

from __future__ import annotations

import hashlib
import inspect
import json
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
    "3a8a9538eaff8b3208e3ca52d921fdca": _Dialect(True, True),  # seen in 1.43.0, 1.44.18
    "9be7a01d1a6a3a0564c00585753ecca8": _Dialect(False, True),  # 1.41.6, 1.42.1
    "2f8bd5ff8f00bfa96780694090fe4140": _Dialect(False, True),  # 1.38.0, 1.39.0, 1.40.0
    "193cd9871e0e3f0bd62b5525a318b95b": _Dialect(False, False),  # 1.34.0, 1.35.99, 1.36.0
}

#: Each function's fingerprint in the releases of :data:`_DIALECTS`, by qualified name: when
#: the botocore installed is not one of them, these name the functions that changed.
_FUNCTION_PRINTS: Dict[str, FrozenSet[str]] = {
    "EventStream._parse_event": frozenset({"1f6a012ba9f07ce9505a1abf3b5d3b1c"}),
    "EventStreamMessage.to_response_dict": frozenset({"335a5636991378b6418b128ab2997cc4"}),
    "ResponseParser.parse": frozenset({"75c178350e33209dfe02a22114ec662d"}),
    "ResponseParser._parse_shape": frozenset({"85e1c029612426cfc56c867bbcebc249"}),
    "ResponseParser._handle_list": frozenset({"58182017a34d99b9e92e92326ad3bf8e", "7739aebea0c06e5c48a69049edf3f1a7"}),
    "ResponseParser._default_handle": frozenset({"1082ec424ba513e63f0428968283a181"}),
    "ResponseParser._default_blob_parser": frozenset({"e7dcacec42b4bdf9e4a4e555c19b2e38"}),
    "ResponseParser._has_unknown_tagged_union_member": frozenset({
        "59585bf5a2b06ef95002f9f19b556822", "79bdb378ab4de5adb3acaa43ccd5e83e", "de612e1bcee57d987aa573bdcd7de8a9"}),
    "BaseJSONParser._handle_structure": frozenset({"971568715f566cdcd61fd9e203ba224a"}),
    "BaseJSONParser._handle_map": frozenset({"f54ec9c40bd2fb812833c06085f82324"}),
    "BaseJSONParser._handle_blob": frozenset({"6549ae95724347fa03f57d3231c6c0cb"}),
    "BaseJSONParser._handle_timestamp": frozenset({"750b19deb238bac339f9ff708edf9e5b"}),
    "BaseJSONParser._parse_body_as_json": frozenset({"7281caf63604ce2d7481bac600970dd9"}),
    "BaseEventStreamParser._do_parse": frozenset({"e4e211806b6d6c8a0414651d8f94ba60"}),
    "BaseEventStreamParser._parse_payload": frozenset({"13769f7182db9c3801ecda9c0c3bd1b4"}),
    "BaseEventStreamParser._parse_non_payload_attrs": frozenset({"f8758743fee88745b0faa8bb3a872a9d"}),
    "EventStreamJSONParser._initial_body_parse": frozenset({"5a83faa0a97bfebf9fcbf6a920792ca3"}),
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

# What a parser's class must resolve these names to (the functions above) for plans to
# stand in for its parse(); the type handlers it may have are exactly those plans mirror.
_ORIGINALS: Dict[str, Any] = {f.__name__: f for f in _SYNC_FUNCTIONS[2:]}
_EVENT_METHODS = ("_do_parse", "_parse_payload", "_parse_non_payload_attrs")
_JSON_METHODS = ("_initial_body_parse", "_parse_body_as_json", "_parse_shape", "_default_handle",
                 "_has_unknown_tagged_union_member", "_handle_structure", "_handle_list",
                 "_handle_map", "_handle_blob", "_handle_timestamp")
_JSON_HANDLERS = frozenset({"_handle_structure", "_handle_list", "_handle_map", "_handle_blob", "_handle_timestamp",
                            "_handle_unknown_tagged_union_member"})
_INSTANCE_NAMES = frozenset(("parse", "DEFAULT_ENCODING") + _EVENT_METHODS + _JSON_METHODS)
_TO_RESPONSE_DICT = _SYNC_FUNCTIONS[1]
_DEFAULT_BLOB = _ORIGINALS["_default_blob_parser"]
_DEFAULT_TIMESTAMP = _bp.DEFAULT_TIMESTAMP_PARSER  # called, not mirrored: any change there carries over
# The standard library's json.loads, and what it comes to on a str when called without
# options: this decoder's decode (every failure a ValueError, as botocore catches). Plans
# use it only while botocore's parsers module would call that same json.loads.
_STDLIB_LOADS = json.loads
_json_decode = json.JSONDecoder().decode


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


def changed_functions(functions: Tuple[Any, ...] = _SYNC_FUNCTIONS) -> List[str]:
    """The qualified names of those ``functions`` whose source is in no release plans were checked against."""
    return [f.__qualname__ for f in functions
            if _fingerprint((f,)) not in _FUNCTION_PRINTS.get(f.__qualname__, frozenset())]


class _Fallback(Exception):
    """A value a plan does not handle: the event goes through botocore's own code."""


_FALLBACK = _Fallback()


# --------------------------------------------------------------------------- plans for JSON values

#: How deep structures may nest in a value a plan parses; deeper ones go to botocore's code,
#: whose own recursion decides what they give (its walk takes more frames per level).
MAX_DEPTH = 64


# The state of one event's parse, a list: the nesting depth, then the timestamps to parse
# once the plan is done, as (container, key, raw value, from a header). Timestamps are
# parsed last, in the order botocore's walk parses them: botocore's timestamp parser can
# warn and log, so it runs only once a plan is sure to finish.
_Run = List[Any]


# A plan for one shape is a function of the JSON value and the run. Members, items and
# values of a shape are read as they are (_AS_IS), by a plan (_PLAN) or as a timestamp (_TS).
ValuePlan = Callable[[Any, _Run], Any]
_AS_IS, _PLAN, _TS = 0, 1, 2
Part = Tuple[int, Optional[ValuePlan]]


class _Unsupported(Exception):
    """A shape a plan cannot stand in for: events using it take botocore's path."""


class _Compiler:
    """Compiles shapes into value plans, for one parser's class and its blob parser.

    One compiler serves one event shape: when any shape under it is unsupported, the plans
    it built (some of them incomplete, for a recursive shape) are all dropped with it.
    """

    def __init__(self, parser: Any, dialect: _Dialect, timestamps: bool) -> None:
        self._dialect = dialect
        self._timestamps = timestamps
        # botocore hands an event-stream parser the blob parser of the parser that made it:
        # botocore's own is a method of whichever parser, and its code does not use self.
        blob = parser._blob_parser
        self._blob = blob if getattr(blob, "__func__", None) is _DEFAULT_BLOB else None
        self._structures: Dict[Tuple[str, bool, bool], ValuePlan] = {}

    def part(self, shape: Any) -> Part:
        t = shape.type_name
        if t == "structure":
            if shape.is_document_type:
                return _AS_IS, None
            return _PLAN, self._structure(shape)
        if t == "list":
            return _PLAN, _list_plan(self.part(shape.member), self._dialect.sparse_lists)
        if t == "map":
            key = self.part(shape.key)
            if key[0] != _AS_IS:
                raise _Unsupported("a map whose keys are parsed")
            return _PLAN, _map_plan(self.part(shape.value))
        if t == "timestamp":
            if not self._timestamps:
                raise _Unsupported(t)
            return _TS, None
        if t == "blob":
            if self._blob is None:
                raise _Unsupported(t)
            return _PLAN, _blob_plan(self._blob)
        return _AS_IS, None  # no handler of its own in a parser plans serve: botocore returns it as it is

    def _structure(self, shape: Any) -> ValuePlan:
        # A member reference can make a shape a union or a document: part of the key.
        key = (shape.name, bool(shape.is_tagged_union), bool(shape.is_document_type))
        plan = self._structures.get(key)
        if plan is not None:
            return plan  # compiled already, or being compiled: a recursive shape
        members: List[Tuple[str, str, int, Optional[ValuePlan]]] = []
        union: Optional[FrozenSet[str]] = None
        wire_names = self._dialect.wire_name_unions
        if shape.is_tagged_union:
            union = frozenset(m.serialization.get("name", n) if wire_names else n for n, m in shape.members.items())
        plan = _structure_plan(members, union, wire_names)
        self._structures[key] = plan
        for name, member in shape.members.items():
            kind, sub = self.part(member)
            members.append((name, member.serialization.get("name", name), kind, sub))
        return plan


def _structure_plan(members: List[Tuple[str, str, int, Optional[ValuePlan]]], union: Optional[FrozenSet[str]],
                    skip_nulls: bool) -> ValuePlan:
    def run(value: Any, state: _Run) -> Dict[str, Any]:
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
        state[0] += 1
        if state[0] > MAX_DEPTH:
            raise _FALLBACK
        out: Dict[str, Any] = {}
        for name, key, kind, plan in members:
            raw = value.get(key)
            if raw is not None:
                if kind == _AS_IS:
                    out[name] = raw
                elif kind == _PLAN:
                    out[name] = plan(raw, state)  # type: ignore[misc]
                else:
                    out[name] = None  # holds the key's place until the timestamp is parsed
                    state.append((out, name, raw, False))
        state[0] -= 1
        return out
    return run


def _list_plan(item: Part, sparse: bool) -> ValuePlan:
    kind, plan = item

    def run(value: Any, state: _Run) -> List[Any]:
        if type(value) is not list:
            raise _FALLBACK
        if kind == _AS_IS:
            return list(value)  # a null is None either way
        if not sparse and None in value:
            raise _FALLBACK  # parsed as the member shape: botocore's code says what that gives
        if kind == _PLAN:
            return [None if x is None else plan(x, state) for x in value]  # type: ignore[misc]
        out = list(value)
        for i, x in enumerate(value):
            if x is not None:
                out[i] = None
                state.append((out, i, x, False))
        return out
    return run


def _map_plan(value_part: Part) -> ValuePlan:
    kind, plan = value_part

    def run(node: Any, state: _Run) -> Dict[Any, Any]:
        if type(node) is not dict:
            raise _FALLBACK
        if kind == _AS_IS:
            return dict(node)
        out: Dict[Any, Any] = {}
        for k, v in node.items():
            if v is None:
                raise _FALLBACK  # botocore parses a null as the value shape: its code says what that gives
            if kind == _PLAN:
                out[k] = plan(v, state)  # type: ignore[misc]
            else:
                out[k] = None
                state.append((out, k, v, False))
        return out
    return run


def _blob_plan(blob: Callable[[Any], Any]) -> ValuePlan:
    def run(value: Any, state: _Run) -> Any:
        return blob(value)  # base64.b64decode: no side effect if it raises
    return run


# --------------------------------------------------------------------------- plans for events


def _json_body(body: bytes) -> Any:
    """What botocore's JSON event parser makes of a payload before walking the shape."""
    if not body:
        return {}
    text = body.decode("utf-8")
    # Looked up as botocore looks it up, at each call: a json module or json.loads put in
    # place since (one that reads floats as Decimal, say) is the one used.
    loads = _bp.json.loads
    try:
        return _json_decode(text) if loads is _STDLIB_LOADS else loads(text)
    except ValueError:
        return {"message": text}


EventPlan = Callable[[Dict[str, Any], bytes, _Run], Dict[str, Any]]


def _event_plan(shape: Any, compiler: Optional[_Compiler], timestamps: bool) -> EventPlan:
    """The plan for one event shape, its header members then its payload, built with a
    fresh ``compiler`` (see :class:`_Compiler`)."""
    if shape.serialization.get("eventstream"):
        raise _Unsupported("an event stream inside an event stream")
    headers: List[Tuple[str, bool]] = []
    for name, member in shape.members.items():
        if member.serialization.get("eventheader"):
            if member.type_name == "timestamp" and not timestamps:
                raise _Unsupported("timestamp")
            headers.append((name, member.type_name == "timestamp"))
    kind, target = "none", ""
    body_plan: Optional[ValuePlan] = None
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
            part_kind, body_plan = compiler.part(shape if kind == "whole" else shape.members[target])
            if part_kind == _TS:
                raise _Unsupported("a timestamp payload")

    def run(event_headers: Dict[str, Any], body: bytes, state: _Run) -> Dict[str, Any]:
        out: Dict[str, Any] = {}
        for name, is_timestamp in headers:
            if name in event_headers:
                value = event_headers[name]
                if is_timestamp:
                    out[name] = None
                    state.append((out, name, value, True))
                else:
                    out[name] = value
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
            parsed = raw if body_plan is None else body_plan(raw, state)
            if kind == "member":
                out[target] = parsed
            else:
                out.update(parsed)
                for i in range(1, len(state)):
                    if state[i][0] is parsed:  # the timestamp's place is in out now
                        state[i] = (out,) + state[i][1:]
        return out
    return run


class StreamPlan:
    """The plans for one event-stream shape and parser: ``parse(headers, body)`` or _Fallback."""

    def __init__(self, shape: Any, parser: Any, json_body: bool, dialect: _Dialect) -> None:
        timestamps = parser._timestamp_parser is _DEFAULT_TIMESTAMP
        self.timestamp = parser._timestamp_parser
        # Every member, as botocore looks the event type up among them: None where the
        # event shape has no plan, so that those events take botocore's path.
        self._events: Dict[Any, Optional[EventPlan]] = {}
        for name, member in shape.members.items():
            if not member:
                continue  # botocore skips a member shape that is false
            try:
                compiler = _Compiler(parser, dialect, timestamps) if json_body else None
                self._events[name] = _event_plan(member, compiler, timestamps)
            except Exception:  # _Unsupported, or a shape that is not what a plan expects
                self._events[name] = None

    def parse(self, headers: Dict[str, Any], body: bytes) -> Tuple[Dict[str, Any], _Run]:
        """The event's dict, with its timestamps still to parse (see :meth:`finish`); or _Fallback."""
        event_type = headers.get(":event-type")
        state: _Run = [0]
        try:
            plan = self._events[event_type]
        except KeyError:  # (an unhashable type is a TypeError: botocore's code raises it)
            return {}, state  # botocore finds no member for it, and gives an empty dict
        if plan is None:
            raise _FALLBACK
        parsed: Dict[Any, Any] = {event_type: plan(headers, body, state)}
        return parsed, state

    def finish(self, state: _Run) -> None:
        """Parse the timestamps a run put off, in botocore's order; what they raise is botocore's."""
        timestamp = self.timestamp
        for container, key, raw, from_header in state[1:]:
            container[key] = timestamp(raw / 1000.0) if from_header else timestamp(raw)


# --------------------------------------------------------------------------- which parsers plans serve

_lock = threading.Lock()
_verdicts: Dict[Tuple[Any, ...], Optional[_Dialect]] = {}
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
    """None: plans cannot serve this parser class; False: events without a JSON body only; True: all.

    The class must resolve every name plans stand in for to botocore's own function (as it
    was when this module was imported and fingerprinted), and have no handler of its own
    for any shape type: checked for each stream, so a patch made since is seen.
    """
    if getattr(cls, "__getattribute__", None) is not object.__getattribute__ or hasattr(cls, "__getattr__"):
        return None
    if not issubclass(cls, _bp.BaseEventStreamParser) or getattr(cls, "parse", None) is not parse \
            or getattr(cls, "DEFAULT_ENCODING", None) != "utf-8" \
            or any(getattr(cls, n, None) is not _ORIGINALS[n] for n in _EVENT_METHODS):
        return None
    handlers = {n for k in cls.__mro__ for n in vars(k) if n.startswith("_handle_")}
    return handlers == _JSON_HANDLERS and all(getattr(cls, n, None) is _ORIGINALS[n] for n in _JSON_METHODS)


def _instance_ok(parser: Any) -> bool:
    """No name plans depend on is set on the parser itself."""
    own = getattr(parser, "__dict__", None)
    if own is None:
        return False
    return not any(n in _INSTANCE_NAMES or n.startswith("_handle_") for n in own)


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
        dialect = _dialect()
        support = _class_support(type(parser), parse)
        if dialect is None or support is None or not _instance_ok(parser):
            return None
        blob = parser._blob_parser
        # What a plan depends on besides the shape: plans are shared by the parsers that agree on it.
        key = (type(parser), parse, support, parser._timestamp_parser,
               getattr(blob, "__func__", None) is _DEFAULT_BLOB)
        with _lock:
            by_parser = _plans.setdefault(shape, {})
            plan = by_parser.get(key)
        if plan is None:
            plan = StreamPlan(shape, parser, support, dialect)
            with _lock:
                plan = by_parser.setdefault(key, plan)
        return plan
    except Exception:
        return None


# --------------------------------------------------------------------------- EventStream._parse_event

_MISS = object()
_LOG = _bp.LOG
_DEBUG = logging.DEBUG

#: botocore's ``EventStream._parse_event``, as it was when this module was imported.
SYNC_ORIGINAL = _be.EventStream.__dict__["_parse_event"]


class _StreamState:
    """What an EventStream's plan was made for: a change to any of it makes a new one."""

    __slots__ = ("parser", "shape", "timestamp", "blob", "plan")

    def __init__(self, stream: Any, parse: Any) -> None:
        self.parser = stream._parser
        self.shape = stream._output_shape
        self.timestamp = getattr(self.parser, "_timestamp_parser", None)
        self.blob = getattr(self.parser, "_blob_parser", None)
        self.plan = plan_for(stream, parse)


_KEY = "_aws_eventstream_plan"  # where an EventStream keeps its _StreamState
_plain_classes: Dict[type, bool] = {}  # message class: its attribute lookup is plain


def _plain_message(cls: type) -> bool:
    """True for a message class whose headers, payload and to_response_dict are botocore's plain ones.

    ``to_response_dict`` is looked up for each event: a class can be patched at any time
    (``mock.patch`` in a test), and botocore's code then calls the patched one. How the class
    looks attributes up (no ``__getattr__``, no class-level ``headers``) is remembered.
    """
    if getattr(cls, "to_response_dict", None) is not _TO_RESPONSE_DICT:
        return False
    plain = _plain_classes.get(cls)
    if plain is None:
        plain = (getattr(cls, "__getattribute__", None) is object.__getattribute__
                 and not hasattr(cls, "__getattr__") and not hasattr(cls, "headers") and not hasattr(cls, "payload"))
        with _lock:
            _plain_classes[cls] = plain
    return plain


def _parsed(stream: Any, event: Any, parse: Any) -> Any:
    """The plan's result for ``event``, or _MISS when botocore's code must parse it."""
    fields = stream.__dict__
    state = fields.get(_KEY)
    parser = fields.get("_parser")
    if state is None or state.parser is not parser or state.shape is not fields.get("_output_shape") \
            or state.timestamp is not getattr(parser, "_timestamp_parser", None) \
            or state.blob is not getattr(parser, "_blob_parser", None):
        state = fields[_KEY] = _StreamState(stream, parse)
    plan = state.plan
    if plan is None or _LOG.isEnabledFor(_DEBUG):
        return _MISS
    if not _plain_message(type(event)):
        return _MISS
    own = getattr(event, "__dict__", None)
    if own is None or "to_response_dict" in own:
        return _MISS
    headers = own.get("headers")
    body = own.get("payload")
    if type(headers) is not dict or type(body) is not bytes:
        return _MISS
    message_type = headers.get(":message-type")
    if message_type == "error" or message_type == "exception":
        return _MISS  # a status 400 response: botocore's error parsing
    try:
        parsed, run = plan.parse(headers, body)
    except Exception:
        return _MISS  # botocore's code returns or raises what it always did
    if len(run) > 1:
        plan.finish(run)  # raises what botocore's timestamp parser raises, where botocore would
    return parsed


_sync_replacement: List[Callable[[Any, Any], Any]] = []


def sync_replacement() -> Optional[Callable[[Any, Any], Any]]:
    """The function to put in place of ``EventStream._parse_event``; None if plans are off."""
    if not _verified():
        return None
    with _lock:
        if _sync_replacement:
            return _sync_replacement[0]
    original, parse = SYNC_ORIGINAL, _ORIGINALS["parse"]

    def _parse_event(self: Any, event: Any) -> Any:
        parsed = _parsed(self, event, parse)
        if parsed is _MISS:
            return original(self, event)
        return parsed
    _parse_event.__qualname__ = "EventStream._parse_event"
    _parse_event.__doc__ = "botocore's EventStream._parse_event, run as a plan when it can be."
    with _lock:
        if not _sync_replacement:
            _sync_replacement.append(_parse_event)
        return _sync_replacement[0]


_async_replacements: Dict[Any, Callable[[Any, Any], Any]] = {}


def async_replacement(stream_cls: type) -> Optional[Callable[[Any, Any], Any]]:
    """The function to put in place of aiobotocore's ``AioEventStream._parse_event``; None if plans are off.

    ``stream_cls`` is ``aiobotocore.eventstream.AioEventStream``; its ``_parse_event`` and
    aiobotocore's ``AioResponseParser.parse`` are fingerprinted with botocore's code.
    """
    original = stream_cls.__dict__.get("_parse_event")
    if original is None:
        return None
    try:
        from aiobotocore.parsers import AioResponseParser
    except ImportError:  # pragma: no cover - aiobotocore.eventstream imported without its parsers
        return None
    aio_parse = AioResponseParser.__dict__.get("parse")
    if not _verified((original, aio_parse)):
        return None
    with _lock:
        replacement = _async_replacements.get(original)
    if replacement is None:
        async def _parse_event(self: Any, event: Any) -> Any:
            parsed = _parsed(self, event, aio_parse)
            if parsed is _MISS:
                return await original(self, event)
            return parsed
        _parse_event.__qualname__ = "AioEventStream._parse_event"
        _parse_event.__doc__ = "aiobotocore's AioEventStream._parse_event, run as a plan when it can be."
        with _lock:
            replacement = _async_replacements.setdefault(original, _parse_event)
    return replacement


def original_of(replacement: Any) -> Any:
    """The botocore or aiobotocore function ``replacement`` (one of ours) stands in for; None if it is not ours."""
    with _lock:
        if _sync_replacement and replacement is _sync_replacement[0]:
            return SYNC_ORIGINAL
        for original, ours in _async_replacements.items():
            if ours is replacement:
                return original
    return None
