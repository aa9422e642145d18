"""aws_eventstream.botocore's event plans: botocore's parse() result, without botocore's parse().

The differential tests of test_botocore_integration run every operation's events through
botocore with and without plans. These check that plans are really what parses them (a
fallback to botocore's code would pass any differential test), that values a plan does not
expect give botocore's result or exception, and that plans step aside wherever botocore's
code would do something they do not (log, call a parser of the caller's, run a subclass's
method).
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

botocore = pytest.importorskip("botocore", reason="botocore is not installed (the [botocore] extra)")

import botocore.eventstream as be  # noqa: E402
import botocore.parsers as bp  # noqa: E402
from botocore.parsers import create_parser  # noqa: E402

from aws_eventstream import _botocore_parse as plans  # noqa: E402
from aws_eventstream import botocore as ours  # noqa: E402
from aws_eventstream import encode  # noqa: E402
from botocore_cases import (OPERATIONS, _Client, _event_frame, _initial_frame, _json_struct, _op, _Raw,  # noqa: E402
                            _stream_shape, assert_same, run_async, run_sync, typed)

JSON_PROTOCOLS = {"json", "rest-json"}


def _messages(data):
    buf = ours.EventStreamBuffer()
    buf.add_data(data)
    return list(buf)


class _Stream:
    """What a plan reads of an EventStream: its parser and output shape."""

    def __init__(self, parser, shape):
        self._parser = parser
        self._output_shape = shape


def _event_parser(protocol, factory=None):
    parser = (factory or bp.ResponseParserFactory()).create_parser(protocol)
    return parser._event_stream_parser


# --------------------------------------------------------------------------- plans are what runs


def test_plans_are_on_for_the_botocore_installed():
    assert plans._verified(), (
        "botocore's event-parsing code is not the code the plans were checked against: read the "
        "changes to the functions in _botocore_parse._SYNC_FUNCTIONS, mirror them, and add the "
        f"new fingerprint {plans._fingerprint(plans._SYNC_FUNCTIONS)} to _DIALECTS")
    aio = pytest.importorskip("aiobotocore.eventstream", reason="aiobotocore is not installed")
    assert plans.async_replacement(aio.AioEventStream) is not None


def test_a_plan_parses_every_event_of_every_operation_as_botocore_does():
    """Every event shape of every operation, by its plan alone (no fallback), equal to botocore's parse()."""
    by_plan = {"json": 0, "xml": 0}
    for service, operation in OPERATIONS:
        protocol, op = _op(service, operation)
        shape = _stream_shape(op)
        parser = _event_parser(protocol)
        plan = plans.plan_for(_Stream(parser, shape), bp.ResponseParser.parse)
        assert plan is not None, (service, operation)
        for name, member in shape.members.items():
            if member.metadata.get("exception"):
                continue
            (message,) = _messages(_event_frame(protocol, name, member))
            want = parser.parse(message.to_response_dict(), shape)
            if protocol not in JSON_PROTOCOLS and plan._events[name] is None:
                continue  # an XML body: botocore's parser reads it
            got = plan.parse(message.headers, message.payload)  # raises _Fallback if the plan gives up
            assert typed(got) == typed(want), (service, operation, name)
            by_plan["json" if protocol in JSON_PROTOCOLS else "xml"] += 1
    # Bedrock, Kinesis, Lambda... have dozens of event shapes (botocore 1.35 already 40); of
    # S3 Select's, Records has no XML body.
    assert by_plan["json"] >= 30 and by_plan["xml"] >= 1, by_plan


def _spy(monkeypatch):
    """A list that gets, for each event parsed with our parse function, whether a plan parsed it."""
    seen = []
    real = plans._parsed

    def spy(stream, event, parse):
        got = real(stream, event, parse)
        seen.append(got is not plans._MISS)
        return got
    monkeypatch.setattr(plans, "_parsed", spy)
    return seen


def test_events_of_an_installed_stream_go_through_the_plan(monkeypatch):
    protocol, op = _op("bedrock-runtime", "ConverseStream")
    seen = _spy(monkeypatch)
    original = be.EventStream.__dict__["_parse_event"]
    data = b"".join(_event_frame(protocol, n, m) for n, m in _stream_shape(op).members.items()
                    if not m.metadata.get("exception"))
    with ours.installed():
        assert be.EventStream.__dict__["_parse_event"] is not original
        parser = create_parser(protocol)._event_stream_parser
        events = list(be.EventStream(_Raw([data]), _stream_shape(op), parser, "ConverseStream"))
    assert be.EventStream.__dict__["_parse_event"] is original
    assert len(events) >= 5 and seen == [True] * len(events)


# --------------------------------------------------------------------------- values a plan does not expect

_json = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8)


def _paths(value, path=()):
    yield path
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, path + (i,))


def _replace(value, path, new):
    if not path:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = _replace(value[path[0]], path[1:], new)
    return copy


_ODD = st.sampled_from([None, [], {}, "not base64 !", "2024-13-45", "", 0, -1, 1e300, True, "NaN",
                        {"__type": "x"}, {"a": 1, "b": 2}, [None], {"k": None}, "AAAA", 1700000000123])

# Operations whose event shapes hold unions, lists, maps, blobs, timestamps and documents between them.
_DEEP = [op for op in OPERATIONS if op[0] in ("bedrock-runtime", "bedrock-agent-runtime", "kinesis", "lambda")]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(which=st.integers(0, 10**6), where=st.integers(0, 10**6), new=_ODD | _json, sizes=st.sampled_from([[], [7]]))
def test_odd_values_give_botocores_result_or_exception(which, where, new, sizes):
    service, operation = _DEEP[which % len(_DEEP)]
    protocol, op = _op(service, operation)
    members = [(n, m) for n, m in _stream_shape(op).members.items() if not m.metadata.get("exception")]
    name, member = members[(which // len(_DEEP)) % len(members)]
    frame = _event_frame(protocol, name, member)
    (message,) = _messages(frame)
    if message.headers.get(":content-type") != "application/json" or not message.payload:
        return
    body = json.loads(message.payload)
    paths = list(_paths(body))
    body = _replace(body, paths[where % len(paths)], new)
    data = encode(message.headers, json.dumps(body).encode())
    stock = run_sync(protocol, op, data, sizes, "stock")
    assert_same(stock, run_sync(protocol, op, data, sizes, "installed"))
    assert_same(stock, run_sync(protocol, op, data, sizes, "enabled"))


@pytest.mark.parametrize("payload", [b"", b"null", b"[]", b"1", b'"s"', b"{", b"not json", b"\xff\xfe",
                                     b'{"delta": null}', b'{"delta": {}}', b'{"delta": {"text": "a", "toolUse": {}}}',
                                     b'{"delta": {"brandNew": 1}}', b'{"delta": {"text": null, "__type": "t"}}',
                                     b'{"contentBlockIndex": "7", "delta": {"text": 5}}'])
def test_odd_bodies_give_botocores_result_or_exception(payload, caplog):
    protocol, op = _op("bedrock-runtime", "ConverseStream")
    data = encode({":message-type": "event", ":event-type": "contentBlockDelta",
                   ":content-type": "application/json"}, payload)
    with caplog.at_level(logging.INFO, logger="botocore.parsers"):
        stock = run_sync(protocol, op, data, [], "stock")
        logged = [r.getMessage() for r in caplog.records]
        caplog.clear()
        assert_same(stock, run_sync(protocol, op, data, [], "installed"))
        assert [r.getMessage() for r in caplog.records] == logged  # an unknown union member is logged, as botocore does


@pytest.mark.parametrize("headers", [
    {":event-type": "contentBlockDelta"},  # no message type: botocore reads it as an event
    {":message-type": "event", ":event-type": "notAnEvent"},
    {":message-type": "event", ":event-type": 5},
    {":message-type": "event"},
    {":message-type": b"error", ":event-type": "contentBlockDelta"},
    {":message-type": "exception", ":exception-type": "throttlingException"},
    {":message-type": "error", ":error-code": "E", ":error-message": "m"},
])
def test_odd_headers_give_botocores_result_or_exception(headers):
    protocol, op = _op("bedrock-runtime", "ConverseStream")
    data = encode(headers, b'{"contentBlockIndex": 0, "delta": {"text": "t"}}')
    stock = run_sync(protocol, op, data, [], "stock")
    assert_same(stock, run_sync(protocol, op, data, [], "installed"))


def test_header_members_and_timestamps_as_botocore_gives_them():
    """Kinesis events carry timestamps in their bodies; header members are copied before the body's."""
    protocol, op = _op("kinesis", "SubscribeToShard")
    shape = _stream_shape(op)
    member = shape.members["SubscribeToShardEvent"]
    body = _json_struct(member)
    body["Records"][0]["ApproximateArrivalTimestamp"] = 1700000000.125
    body["Records"][0]["Data"] = base64.b64encode(b"\x00\x01").decode()
    data = _initial_frame(protocol, op.output_shape) + encode(
        {":message-type": "event", ":event-type": "SubscribeToShardEvent", ":content-type": "application/json"},
        json.dumps(body).encode())
    stock = run_sync(protocol, op, data, [], "stock")
    assert stock["events"] and stock["error"] is None
    assert_same(stock, run_sync(protocol, op, data, [], "installed"))


# --------------------------------------------------------------------------- where plans step aside


def _converse(protocol):
    return encode({":message-type": "event", ":event-type": "metadata", ":content-type": "application/json"},
                  json.dumps({"usage": {"inputTokens": 1, "outputTokens": 2, "totalTokens": 3},
                              "metrics": {"latencyMs": 4}}).encode())


def test_debug_logging_is_what_botocore_logs(caplog):
    protocol, op = _op("bedrock-runtime", "ConverseStream")
    data = _converse(protocol)

    def messages():  # the body objects' addresses differ from run to run
        return [re.sub(r" at 0x[0-9a-f]+", "", r.getMessage()) for r in caplog.records]
    with caplog.at_level(logging.DEBUG, logger="botocore.parsers"):
        stock = run_sync(protocol, op, data, [], "stock")
        logged = messages()
        caplog.clear()
        assert_same(stock, run_sync(protocol, op, data, [], "installed"))
        assert any("inputTokens" in m for m in logged) and messages() == logged


def test_a_timestamp_parser_of_the_callers_is_called_as_often_as_botocore_calls_it():
    protocol, op = _op("kinesis", "SubscribeToShard")
    member = _stream_shape(op).members["SubscribeToShardEvent"]
    data = _event_frame(protocol, "SubscribeToShardEvent", member)
    counts = []

    def run(mode):
        calls = []
        factory = bp.ResponseParserFactory()
        factory.set_parser_defaults(timestamp_parser=lambda v: calls.append(v) or ("ts", v))
        parser = _event_parser(protocol, factory)
        with ours.installed() if mode == "installed" else _nothing():
            stream = be.EventStream(_Raw([data]), _stream_shape(op), parser, operation_name="SubscribeToShard")
            events = list(stream)
        counts.append(len(calls))
        return events

    assert typed(run("stock")) == typed(run("installed"))
    assert counts[0] == counts[1] > 0


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class _MarkingParser(bp.EventStreamJSONParser):
    def _handle_structure(self, shape, value):
        out = super()._handle_structure(shape, value)
        if isinstance(out, dict):
            out["marked"] = True
        return out


def test_a_parser_subclass_with_its_own_method_is_run():
    protocol, op = _op("bedrock-runtime", "ConverseStream")
    data = _converse(protocol)
    for mode in ("stock", "installed"):
        with ours.installed() if mode == "installed" else _nothing():
            stream = be.EventStream(_Raw([data]), _stream_shape(op), _MarkingParser(), "ConverseStream")
            (event,) = list(stream)
        assert event["metadata"]["marked"] is True and event["metadata"]["usage"]["marked"] is True


def test_a_method_set_on_the_parser_instance_is_run():
    protocol, op = _op("bedrock-runtime", "ConverseStream")
    parser = _event_parser(protocol)
    parser._handle_structure = lambda shape, value: {"replaced": shape.name}
    assert plans.plan_for(_Stream(parser, _stream_shape(op)), bp.ResponseParser.parse) is None
    with ours.installed():
        (event,) = list(be.EventStream(_Raw([_converse(protocol)]), _stream_shape(op), parser, "ConverseStream"))
    assert event == {"metadata": {"replaced": "ConverseStreamMetadataEvent"}}


def test_code_that_is_not_the_verified_code_turns_plans_off(monkeypatch):
    monkeypatch.setattr(plans, "_DIALECTS", {})
    monkeypatch.setattr(plans, "_verdicts", {})
    assert plans.sync_replacement() is None
    original = be.EventStream.__dict__["_parse_event"]
    with ours.installed():
        assert be.EventStream.__dict__["_parse_event"] is original  # the buffer alone
        assert be.EventStreamBuffer is ours.EventStreamBuffer


# --------------------------------------------------------------------------- install, enable


def test_install_puts_back_the_parse_function_exactly_and_leaves_a_later_patch_alone():
    original = be.EventStream.__dict__["_parse_event"]
    ours.install()
    ours.install()
    try:
        assert be.EventStream.__dict__["_parse_event"] is not original
    finally:
        ours.uninstall()
    assert be.EventStream.__dict__["_parse_event"] is original

    def theirs(self, event):
        return original(self, event)
    ours.install()
    be.EventStream._parse_event = theirs
    try:
        ours.uninstall()
        assert be.EventStream.__dict__["_parse_event"] is theirs
    finally:
        be.EventStream._parse_event = original
    ours.install()  # someone else's function in place: left as it is, the buffer still ours
    try:
        be.EventStream._parse_event = theirs
        ours.uninstall()
        be.EventStream._parse_event = theirs
        ours.install()
        assert be.EventStream.__dict__["_parse_event"] is theirs and be.EventStreamBuffer is ours.EventStreamBuffer
    finally:
        ours.uninstall()
        be.EventStream._parse_event = original


def test_enable_gives_the_stream_a_plan_and_leaves_the_class_alone():
    protocol, op = _op("bedrock-runtime", "ConverseStream")
    original = be.EventStream.__dict__["_parse_event"]
    parser = create_parser(protocol)
    ours.enable(_Client(parser))
    response = {"status_code": 200, "headers": {}, "body": _Raw([_converse(protocol)]),
                "context": {"operation_name": "ConverseStream"}}
    stream = parser.parse(response, op.output_shape)["stream"]
    assert "_parse_event" in vars(stream) and be.EventStream.__dict__["_parse_event"] is original
    assert typed(list(stream)) == typed(run_sync(protocol, op, _converse(protocol), [], "stock")["events"])


def test_aiobotocore_streams_go_through_the_plan(monkeypatch):
    aio = pytest.importorskip("aiobotocore.eventstream", reason="aiobotocore is not installed")
    protocol, op = _op("bedrock-runtime", "ConverseStream")
    data = _converse(protocol)
    seen = _spy(monkeypatch)
    original = aio.AioEventStream.__dict__["_parse_event"]
    stock = run_sync(protocol, op, data, [], "stock")
    for mode in ("installed", "enabled"):
        assert_same(stock, run_async(protocol, op, data, [], mode))
    assert seen == [True, True]
    assert aio.AioEventStream.__dict__["_parse_event"] is original


def test_plans_are_built_once_from_many_threads():
    protocol, op = _op("bedrock-agent-runtime", "InvokeAgent")
    shape = _stream_shape(op)
    parser = _event_parser(protocol)
    got, barrier = [], threading.Barrier(8)
    plans._plans.pop(shape, None)

    def build():
        barrier.wait()
        got.append(plans.plan_for(_Stream(parser, shape), bp.ResponseParser.parse))
    threads = [threading.Thread(target=build) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 8 and all(p is got[0] for p in got) and got[0] is not None
