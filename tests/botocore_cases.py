"""Event-stream cases from botocore's own service models, and botocore run on them stock and on our core.

Shared by the botocore integration tests: every event-stream operation botocore's data
holds, frames built from its output shapes, and runners that parse a stream through
botocore's (or aiobotocore's) real parser and EventStream, stock, installed or enabled.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gzip
import http.server
import json
import pathlib
import threading

import botocore.eventstream as be
import botocore.session
import cbor2
from botocore.parsers import ResponseParserFactory
from hypothesis import strategies as st

from aws_eventstream import EventStreamError, Int8, Int16, Int32, Int64, Timestamp, encode
from aws_eventstream import _botocore_parse
from aws_eventstream import botocore as ours
from aws_eventstream._tools.bench_sdk import AioRawBody, RawBody
from helpers import cut

HERE = pathlib.Path(__file__).parent
NAMED = {("bedrock-runtime", "ConverseStream"), ("bedrock-runtime", "InvokeModelWithResponseStream"),
         ("s3", "SelectObjectContent"), ("kinesis", "SubscribeToShard"), ("lambda", "InvokeWithResponseStream")}


# --------------------------------------------------------------------------- the models


def _eventstream_services():
    """Services whose newest model has an event-stream shape, found by scanning botocore's data."""
    data = pathlib.Path(botocore.__file__).parent / "data"
    found = []
    for d in sorted(data.iterdir()):
        versions = sorted(p for p in d.iterdir() if p.is_dir()) if d.is_dir() else []
        if not versions:
            continue
        for name in ("service-2.json.gz", "service-2.json"):
            f = versions[-1] / name
            if f.exists():
                raw = f.read_bytes()
                if name.endswith(".gz"):
                    raw = gzip.decompress(raw)
                if b'"eventstream":true' in raw:
                    found.append(d.name)
                break
    return found


_SESSION = botocore.session.get_session()

#: The protocols whose bodies these cases can write, and each one's content type. A
#: protocol botocore gives event streams later is listed in UNKNOWN_PROTOCOLS, and its
#: operations are left out of OPERATIONS (test_botocore_plans names them and fails).
CONTENT_TYPES = {"json": "application/json", "rest-json": "application/json", "rest-xml": "text/xml",
                 "smithy-rpc-v2-cbor": "application/cbor"}


def _operations():
    known, unknown = [], {}
    for service in _eventstream_services():
        model = _SESSION.get_service_model(service)
        for name in model.operation_names:
            op = model.operation_model(name)
            if op.has_event_stream_output:
                if model.protocol in CONTENT_TYPES:
                    known.append((service, name))
                else:
                    unknown.setdefault(model.protocol, []).append(f"{service}.{name}")
    return known, unknown


OPERATIONS, UNKNOWN_PROTOCOLS = _operations()


def _op(service, name):
    model = _SESSION.get_service_model(service)
    return model.protocol, model.operation_model(name)


# --------------------------------------------------------------------------- sample values


def _sample_value(shape, depth=0, cbor=False):
    """A value of ``shape`` as it appears in a JSON body, or with ``cbor`` a CBOR one
    (None: leave the member out)."""
    t = shape.type_name
    if t == "structure":
        if depth > 3:
            return None
        return _sample_struct(shape, depth + 1, cbor)
    if t == "list":
        v = _sample_value(shape.member, depth + 1, cbor)
        return [] if v is None else [v]
    if t == "map":
        v = _sample_value(shape.value, depth + 1, cbor)
        return {} if v is None else {"k": v}
    if t == "string":
        return shape.enum[0] if shape.enum else "text \u00e9"
    if t in ("integer", "long", "short", "byte"):
        return 7
    if t in ("float", "double"):
        return 1.5
    if t == "boolean":
        return True
    if t == "blob":
        return b"\x00blob\xff" if cbor else base64.b64encode(b"\x00blob\xff").decode()
    if t == "timestamp":
        return cbor2.CBORTag(1, 1700000000.5) if cbor else 1700000000  # CBOR: epoch seconds, tagged
    return None  # documents and anything new: left out


def _sample_struct(shape, depth=0, cbor=False):
    body = {}
    for name, member in shape.members.items():
        if member.serialization.get("eventheader") or member.serialization.get("eventstream"):
            continue
        v = _sample_value(member, depth, cbor)
        if v is not None:
            # rpc-v2-cbor keys a structure by member name; JSON protocols by wire name
            body[name if cbor else member.serialization.get("name", name)] = v
            if shape.metadata.get("union"):
                break  # a union carries one member
    return body


def _xml_value(shape, depth=0):
    t = shape.type_name
    if t == "structure":
        return None if depth > 3 else _xml_struct(shape, depth + 1)
    if t == "string":
        return shape.enum[0] if shape.enum else "text"
    if t in ("integer", "long"):
        return "7"
    if t == "boolean":
        return "true"
    if t == "blob":
        return base64.b64encode(b"blob").decode()
    if t == "timestamp":
        return "2024-01-02T03:04:05Z"
    return None


def _xml_struct(shape, depth=0):
    parts = []
    for name, member in shape.members.items():
        if member.serialization.get("eventheader"):
            continue
        v = _xml_value(member, depth)
        if v is not None:
            tag = member.serialization.get("name", name)
            parts.append(f"<{tag}>{v}</{tag}>")
    return "".join(parts)


def _body(protocol, shape):
    """A body of ``shape``, written as ``protocol`` writes it."""
    if protocol == "rest-xml":
        return f"<Body>{_xml_struct(shape)}</Body>".encode()
    if protocol == "smithy-rpc-v2-cbor":
        return cbor2.dumps(_sample_struct(shape, cbor=True))
    assert CONTENT_TYPES[protocol] == "application/json", protocol
    return json.dumps(_sample_struct(shape)).encode()


_HEADER_VALUES = {"string": "hv", "integer": Int32(-5), "long": Int64(1 << 40), "boolean": False,
                  "blob": b"\x01\x02", "timestamp": Timestamp(1700000000123), "byte": Int8(-1),
                  "short": Int16(300)}


def _event_frame(protocol, name, shape):
    """One ``:message-type event`` frame for the event member ``name``."""
    headers = {":message-type": "event", ":event-type": name, ":content-type": CONTENT_TYPES[protocol]}
    payload = None
    for mname, member in shape.members.items():
        ser = member.serialization
        if ser.get("eventheader") and member.type_name in _HEADER_VALUES:
            headers[mname] = _HEADER_VALUES[member.type_name]
        elif ser.get("eventpayload"):
            if member.type_name == "blob":
                payload = b"\x00raw payload \xff"
                headers[":content-type"] = "application/octet-stream"
            elif member.type_name == "string":
                payload = "a string payload \u00e9".encode()
            else:
                payload = _body(protocol, member)
    if payload is None:
        payload = _body(protocol, shape) if shape.members else b""
    return encode(headers, payload)


def _exception_frame(protocol, name, shape):
    headers = {":message-type": "exception", ":exception-type": name, ":content-type": CONTENT_TYPES[protocol]}
    return encode(headers, _body(protocol, shape))


def _error_frame():
    return encode({":message-type": "error", ":error-code": "InternalFailure", ":error-message": "it broke"})


#: The protocols whose streams open with an ``initial-response`` event (the output's other members).
INITIAL_RESPONSE = {"json": "application/x-amz-json-1.1", "smithy-rpc-v2-cbor": "application/cbor"}


def _initial_frame(protocol, output_shape):
    if protocol not in INITIAL_RESPONSE:
        return b""
    headers = {":message-type": "event", ":event-type": "initial-response", ":content-type": INITIAL_RESPONSE[protocol]}
    return encode(headers, _body(protocol, output_shape))


def _stream_shape(op):
    out = op.output_shape
    return out.members[out.event_stream_name]


def _events(protocol, op):
    shape = _stream_shape(op)
    return [_event_frame(protocol, n, m) for n, m in shape.members.items() if not m.metadata.get("exception")]


def _exceptions(protocol, op):
    shape = _stream_shape(op)
    return [_exception_frame(protocol, n, m) for n, m in shape.members.items() if m.metadata.get("exception")]


def _flip(frame, at):
    b = bytearray(frame)
    b[at % len(b)] ^= 0x20
    return bytes(b)


def _scenarios(protocol, op):
    """name -> stream bytes: good streams, modeled exceptions, error frames, corruption, truncation."""
    head = _initial_frame(protocol, op.output_shape)
    events = _events(protocol, op)
    first = events[0] if events else _error_frame()
    out = {
        "events": head + b"".join(events + events[::-1]),
        "error-frame": head + first + _error_frame() + first,
        "truncated": head + b"".join(events) + first[:len(first) // 2],
        "bad-message-crc": head + first + _flip(first, -7) + first,
        "bad-prelude-crc": head + first + _flip(first, 5) + first,
        "empty": b"",
    }
    for i, exc in enumerate(_exceptions(protocol, op)[:3]):
        out[f"exception-{i}"] = head + first + exc + first
    if protocol in INITIAL_RESPONSE:
        out["no-initial-response"] = b"".join(events)
    return out


# --------------------------------------------------------------------------- running botocore


class _Endpoint:
    def __init__(self, factory):
        self._response_parser_factory = factory


class _Client:
    """What enable() reads of a client: its response parser, and its endpoint's parser factory,
    which makes the parser of every response a real client parses."""

    def __init__(self, parser, factory=None):
        self._response_parser = parser
        self._endpoint = _Endpoint(factory or ResponseParserFactory())


def parser_for(mode, protocol, factory_cls=None):
    """The parser a client's endpoint makes for one response: of an enabled client's with ``enabled``."""
    factory = (factory_cls or ResponseParserFactory)()
    if mode != "enabled":
        return factory.create_parser(protocol)
    client = ours.enable(_Client(factory.create_parser(protocol), factory))
    return client._endpoint._response_parser_factory.create_parser(protocol)


def spy_plans(monkeypatch):
    """A list that gets, for each event parsed with our parse function, whether a plan parsed it."""
    seen = []
    real = _botocore_parse._parsed

    def spy(stream, event, parse):
        got = real(stream, event, parse)
        seen.append(got is not _botocore_parse._MISS)
        return got
    monkeypatch.setattr(_botocore_parse, "_parsed", spy)
    return seen


def _uses_ours(event_stream):
    gen = event_stream._event_generator
    frame = getattr(gen, "gi_frame", None) or getattr(gen, "ag_frame", None)
    return frame is not None and frame.f_globals.get("EventStreamBuffer") is ours.EventStreamBuffer


def _mode(mode):
    return ours.installed() if mode == "installed" else contextlib.nullcontext()


def _outcome(initial, events, exc):
    return {"initial": initial, "events": events, "error": exc}


def _split(parsed, op):
    name = op.output_shape.event_stream_name
    stream = parsed[name]
    initial = {k: v for k, v in parsed.items() if k not in (name, "ResponseMetadata")}
    return initial, stream


def run_sync(protocol, op, data, sizes, mode):
    """What botocore's parser and EventStream give for ``data`` cut into ``sizes``."""
    parser = parser_for(mode, protocol)
    response = {"status_code": 200, "headers": {}, "body": RawBody(cut(data, sizes)),
                "context": {"operation_name": op.name}}
    initial, events = None, []
    with _mode(mode):
        try:
            parsed = parser.parse(response, op.output_shape)
            initial, stream = _split(parsed, op)
            assert _uses_ours(stream) == (mode != "stock") or stream._event_generator.gi_frame is None
            for event in stream:
                events.append(event)
        except Exception as exc:  # every failure is part of the outcome compared
            return _outcome(initial, events, exc)
    return _outcome(initial, events, None)


def run_async(protocol, op, data, sizes, mode):
    """The same through aiobotocore's parser and AioEventStream."""
    from aiobotocore.parsers import AioResponseParserFactory

    async def go():
        parser = parser_for(mode, protocol, AioResponseParserFactory)
        response = {"status_code": 200, "headers": {}, "body": AioRawBody(cut(data, sizes)),
                    "context": {"operation_name": op.name}}
        initial, events = None, []
        with _mode(mode):
            try:
                parsed = await parser.parse(response, op.output_shape)
                initial, stream = _split(parsed, op)
                assert _uses_ours(stream) == (mode != "stock") or stream._event_generator.ag_frame is None
                async for event in stream:
                    events.append(event)
            except Exception as exc:
                return _outcome(initial, events, exc)
        return _outcome(initial, events, None)

    return asyncio.run(go())


def typed(value):
    """``value`` with the type of every part spelled out: equal only if botocore's types are kept too.

    (``1 == True == 1.0`` and ``{"a": 1} == {"a": True}``: plain ``==`` would not see a change of type.)
    """
    if isinstance(value, dict):
        return (type(value).__name__, [(typed(k), typed(v)) for k, v in value.items()])
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [typed(v) for v in value])
    return (type(value).__name__, repr(value))


def assert_same(stock, other, decoded_by_us=True):
    assert typed(other["initial"]) == typed(stock["initial"])
    assert other["events"] == stock["events"]
    assert typed(other["events"]) == typed(stock["events"])  # the same types, keys in the same order
    a, b = stock["error"], other["error"]
    if a is None:
        assert b is None, repr(b)
        return
    assert isinstance(b, type(a)), (a, b)  # ours are subclasses of botocore's classes
    assert str(b) == str(a)
    assert getattr(b, "response", None) == getattr(a, "response", None)
    if decoded_by_us and isinstance(a, be.ParserError):
        assert isinstance(b, EventStreamError)


_IDS = [f"{s}.{o}" for s, o in OPERATIONS]
_chunkings = st.lists(st.integers(1, 97), min_size=0, max_size=12)


# --------------------------------------------------------------------------- a local Bedrock


def _converse_frames(kind):
    ev = lambda name, body: encode({":message-type": "event", ":event-type": name,  # noqa: E731
                                    ":content-type": "application/json"}, json.dumps(body).encode())
    frames = [ev("messageStart", {"role": "assistant"})]
    frames += [ev("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": f"word {i} "}}) for i in range(40)]
    if kind == "exception":
        frames.append(encode({":message-type": "exception", ":exception-type": "modelStreamErrorException",
                              ":content-type": "application/json"},
                             json.dumps({"message": "model fell over", "originalStatusCode": 500}).encode()))
    elif kind == "error":
        frames.append(_error_frame())
    elif kind == "corrupt":
        frames.append(_flip(frames[-1], -9))
    elif kind == "truncated":
        frames.append(frames[-1][:20])
    frames += [ev("contentBlockStop", {"contentBlockIndex": 0}), ev("messageStop", {"stopReason": "end_turn"}),
               ev("metadata", {"usage": {"inputTokens": 1, "outputTokens": 2, "totalTokens": 3},
                               "metrics": {"latencyMs": 4}})]
    return b"".join(frames)


def _invoke_frames(kind):
    chunk = lambda i: encode({":message-type": "event", ":event-type": "chunk",  # noqa: E731
                              ":content-type": "application/json"},
                             json.dumps({"bytes": base64.b64encode(b'{"i": %d}' % i).decode()}).encode())
    frames = [chunk(i) for i in range(30)]
    if kind == "exception":
        frames.insert(10, encode({":message-type": "exception", ":exception-type": "throttlingException",
                                  ":content-type": "application/json"}, b'{"message": "slow down"}'))
    elif kind == "error":
        frames.insert(10, _error_frame())
    elif kind == "corrupt":
        frames.insert(10, _flip(frames[10], 3))
    elif kind == "truncated":
        frames.append(frames[0][:-1])
    return b"".join(frames)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        model = self.path.split("/")[2]  # /model/<kind>/converse-stream
        body = _converse_frames(model) if self.path.endswith("converse-stream") else _invoke_frames(model)
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.amazon.eventstream")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("x-amzn-RequestId", "req-1")
        self.send_header("X-Amzn-Bedrock-Content-Type", "application/json")
        self.end_headers()
        for i in range(0, len(body), 333):  # chunks that cut frames anywhere
            piece = body[i:i + 333]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request, client_address):
        pass  # a client that stops reading at an error drops its connection: expected here


@contextlib.contextmanager
def serve_bedrock():
    """A Bedrock runtime endpoint on 127.0.0.1 for the length of a ``with`` block: yields its URL.

    The model id picks the stream: ``ok``, or ``exception``, ``error``, ``corrupt``,
    ``truncated`` for a stream that goes wrong part-way (see _converse_frames).
    """
    server = _Server(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
