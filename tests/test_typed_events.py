"""Typed events: Transcribe results and Nova Sonic output events, from JSON.

Every behaviour runs on both codec twins (their ``build``) and both JSON paths (msgspec
straight into the classes, when installed; ``json`` and ``build`` otherwise). The oracle
is the standard library: what ``json.loads`` and ``base64.b64decode`` make of the same
bytes, read field by field here.
"""

from __future__ import annotations

import base64
import json
import os
import pickle
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import aws_eventstream
from aws_eventstream import _shapes, bedrock, decode, encode, utils
from aws_eventstream import transcribe as t
from aws_eventstream._common import REQUIRED as REQUIRED_
from aws_eventstream._common import ShapeError
from aws_eventstream.testing import NovaSonic
from helpers import TWINS, json_paths, json_replaced, outcome, twin

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
PATHS = ["msgspec", "json"]
HAS_MSGSPEC = _shapes._msgspec is not None


@pytest.fixture(params=PATHS)
def typed(request, codec):
    """Typed events built by ``codec``'s twin, through the JSON path named by the id."""
    if request.param == "msgspec" and not HAS_MSGSPEC:
        pytest.skip("msgspec is not installed (the fast extra)")
    _shapes.use_twin(codec)
    before = _shapes.use_msgspec(request.param == "msgspec")
    yield request.param
    _shapes.use_msgspec(before)
    _shapes.use_twin(_loaded_twin())


def _loaded_twin():
    """The twin the package loaded, which typed events build with outside these tests."""
    return twin("c") if aws_eventstream.BACKEND == "cython" else twin("py")


def _every_way(fn, *args):
    """``fn(*args)`` under each twin and JSON path: (outcome, ...), an outcome being the
    repr of the value or the error's type and message."""
    outcomes = []
    before = _shapes.use_msgspec(False)
    try:
        for name in TWINS:
            _shapes.use_twin(twin(name))
            for path in PATHS:
                if path == "msgspec" and not HAS_MSGSPEC:
                    continue
                _shapes.use_msgspec(path == "msgspec")
                outcomes.append(outcome(lambda: repr(fn(*args))))
    finally:
        _shapes.use_msgspec(before)
        _shapes.use_twin(_loaded_twin())
    return outcomes


# -- a Transcribe result as the service sends it (the standard API, PII and language identification)

STANDARD = {"Transcript": {"Results": [{
    "ResultId": "r-1", "StartTime": 0.12, "EndTime": 1.5, "IsPartial": False, "ChannelId": "ch_0",
    "LanguageCode": "en-US",
    "LanguageIdentification": [{"LanguageCode": "en-US", "Score": 0.97}, {"LanguageCode": "de-DE", "Score": 0.03}],
    "Alternatives": [{
        "Transcript": "I am Jane.",
        "Items": [
            {"Content": "I", "StartTime": 0.12, "EndTime": 0.2, "Type": "pronunciation", "Confidence": 0.99,
             "Speaker": "0", "Stable": True, "VocabularyFilterMatch": False},
            {"Content": "am", "StartTime": 0.2, "EndTime": 0.4, "Type": "pronunciation", "Confidence": 1,
             "Speaker": "0", "Stable": True, "VocabularyFilterMatch": False},
            {"Content": "Jane", "StartTime": 0.4, "EndTime": 1, "Type": "pronunciation", "Confidence": 0.91,
             "Speaker": "0", "Stable": False, "VocabularyFilterMatch": True},
            {"Content": ".", "StartTime": 1, "EndTime": 1, "Type": "punctuation", "Stable": True,
             "VocabularyFilterMatch": False},
        ],
        "Entities": [{"StartTime": 0.4, "EndTime": 1.0, "Category": "PII", "Type": "NAME", "Content": "Jane",
                      "Confidence": 0.95}],
    }],
}]}}
# The medical API's shape: no language fields, entities without a type, items without stability.
MEDICAL = {"Transcript": {"Results": [{
    "ResultId": "m-1", "StartTime": 0, "EndTime": 2, "IsPartial": True, "ChannelId": "CHANNEL_0",
    "Alternatives": [{
        "Transcript": "take aspirin",
        "Items": [{"Content": "take", "StartTime": 0, "EndTime": 0.5, "Type": "pronunciation", "Confidence": 1},
                  {"Content": "aspirin", "StartTime": 0.5, "EndTime": 2, "Type": "pronunciation",
                   "Confidence": 0.88, "Speaker": "1"}],
        "Entities": [{"StartTime": 0.5, "EndTime": 2, "Category": "MEDICATION", "Content": "aspirin",
                      "Confidence": 0.93}],
    }],
}]}}


def _frame(body, event_type="TranscriptEvent"):
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    return encode({":event-type": event_type, ":content-type": "application/json", ":message-type": "event"},
                  payload)


def _num(value, default=0.0):
    return default if value is None else float(value)


def _expected(body):
    """The results as the oracle reads them: json.loads's dicts, field by field."""
    out = []
    for r in body["Transcript"].get("Results", []):
        alternatives = tuple(t.Alternative(
            a.get("Transcript", ""),
            tuple(t.Item(i.get("Content", ""), _num(i.get("StartTime")), _num(i.get("EndTime")), i.get("Type", ""),
                         None if i.get("Confidence") is None else float(i["Confidence"]), i.get("Speaker"),
                         i.get("Stable"), i.get("VocabularyFilterMatch", False)) for i in a.get("Items", [])),
            tuple(t.Entity(_num(e.get("StartTime")), _num(e.get("EndTime")), e.get("Category"), e.get("Type"),
                           e.get("Content"), None if e.get("Confidence") is None else float(e["Confidence"]))
                  for e in a.get("Entities", [])))
            for a in r.get("Alternatives", []))
        out.append(t.Result(r.get("ResultId", ""), _num(r.get("StartTime")), _num(r.get("EndTime")),
                            r.get("IsPartial", False), alternatives, r.get("ChannelId"), r.get("LanguageCode"),
                            tuple(t.LanguageWithScore(s.get("LanguageCode"), None if s.get("Score") is None
                                                      else float(s["Score"]))
                                  for s in r.get("LanguageIdentification", []))))
    return tuple(out)


@pytest.mark.parametrize("body", [STANDARD, MEDICAL], ids=["standard", "medical"])
def test_a_transcript_event_reads_every_field(typed, body):
    event = t.parse_message(decode(_frame(body)))
    assert isinstance(event, t.TranscriptEvent)
    assert event.results == _expected(body)
    assert event.raw == body and event == t.TranscriptEvent(_expected(body))
    (result,) = event.results
    first = result.alternatives[0]
    assert result.transcript == first.transcript and first.items[-1].content in (".", "aspirin")
    assert all(type(i.start_time) is float and type(i.end_time) is float for i in first.items)
    assert [(e.category, e.content) for e in first.entities] in ([("PII", "Jane")], [("MEDICATION", "aspirin")])
    if body is STANDARD:
        assert [(s.language_code, s.score) for s in result.language_identification] == [("en-US", 0.97),
                                                                                        ("de-DE", 0.03)]
        assert first.items[1].confidence == 1.0 and type(first.items[1].confidence) is float
    else:
        assert result.language_code is None and result.language_identification == ()
        assert first.entities[0].type is None and first.items[0].stable is None


def test_the_stream_the_session_and_transcript_event_give_the_same(typed):
    stream = t.TranscriptStream()
    frames = _frame(STANDARD) + _frame(MEDICAL) + _frame(b"{}", "SomethingNew")
    events = [e for i in range(0, len(frames), 7) for e in stream.feed(frames[i:i + 7])]
    assert [type(e) for e in events] == [t.TranscriptEvent, t.TranscriptEvent, t.UnknownEvent]
    assert events[0] == t.transcript_event(json.dumps(STANDARD).encode())
    assert events[1].results == _expected(MEDICAL)


_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-(2 ** 70), 2 ** 70), st.floats(allow_nan=False),
                     st.text(max_size=5))
_JSON = st.recursive(_SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.text(max_size=4), inner, max_size=3)),
                     max_leaves=8)


def _field(kind):
    return {"str": st.text(max_size=8), "num": st.one_of(st.integers(-1000, 10 ** 6), st.floats(-1e6, 1e6)),
            "bool": st.booleans()}[kind]


def _maybe(d):
    """A dict strategy whose keys may each be left out."""
    return st.fixed_dictionaries({}, optional=d)


_ITEM = _maybe({"Content": _field("str"), "StartTime": _field("num"), "EndTime": _field("num"),
                "Type": _field("str"), "Confidence": st.one_of(st.none(), _field("num")),
                "Speaker": st.one_of(st.none(), _field("str")), "Stable": st.one_of(st.none(), _field("bool")),
                "VocabularyFilterMatch": _field("bool"), "Unmodelled": _JSON})
_ENTITY = _maybe({"StartTime": _field("num"), "EndTime": _field("num"), "Category": _field("str"),
                  "Type": _field("str"), "Content": _field("str"), "Confidence": _field("num")})
_ALTERNATIVE = _maybe({"Transcript": _field("str"), "Items": st.lists(_ITEM, max_size=3),
                       "Entities": st.lists(_ENTITY, max_size=2)})
_RESULT = _maybe({"ResultId": _field("str"), "StartTime": _field("num"), "EndTime": _field("num"),
                  "IsPartial": _field("bool"), "Alternatives": st.lists(_ALTERNATIVE, max_size=2),
                  "ChannelId": _field("str"), "LanguageCode": _field("str"),
                  "LanguageIdentification": st.lists(_maybe({"LanguageCode": _field("str"),
                                                             "Score": _field("num")}), max_size=2)})
_BODY = st.builds(lambda results: {"Transcript": {"Results": results}}, st.lists(_RESULT, max_size=3))


@SETTINGS
@given(body=_BODY)
def test_any_well_formed_result_reads_as_the_oracle_does(typed, body):
    event = t.transcript_event(json.dumps(body).encode())
    assert event.results == _expected(body)


@SETTINGS
@given(body=_BODY, data=st.data())
def test_a_wrong_value_anywhere_gives_the_same_error_every_way(body, data):
    """Any value put anywhere (or a key taken away): every twin and JSON path gives the
    same objects or the same TranscribeProtocolError, whose message says where."""
    paths = list(json_paths(body))
    path = data.draw(st.sampled_from(paths))
    if data.draw(st.booleans()) and path and isinstance(path[-1], str):  # take the key away
        parent = body
        for step in path[:-1]:
            parent = parent[step]
        bad = json_replaced(body, path[:-1], {k: v for k, v in parent.items() if k != path[-1]})
    else:
        bad = json_replaced(body, path, data.draw(_JSON))
    payload = json.dumps(bad).encode()
    outcomes = _every_way(t.transcript_event, payload)
    assert len(set(outcomes)) == 1, outcomes
    kind, text = outcomes[0]
    assert kind in ("value", "TranscribeProtocolError"), outcomes[0]
    if kind != "value":
        assert text.startswith("TranscriptEvent: ")


@SETTINGS
@given(payload=st.one_of(st.binary(max_size=40), _JSON.map(lambda v: json.dumps(v).encode()),
                         st.sampled_from([b'{"Transcript": {"Results": [{"StartTime": NaN}]}}',
                                          b'{"Transcript": {"Results": [{"StartTime": 1e400}]}}',
                                          b'{"Transcript": {"Results": [{"StartTime": 1' + b"0" * 400 + b'}]}}',
                                          b'{"Transcript": {"Results": [{"ResultId": "\\ud800"}]}}',
                                          b'\xef\xbb\xbf{"Transcript": {}}', b'{"Transcript": {}} ',
                                          b'{"Transcript": {"Results": []}, "Transcript": 1}',
                                          b'{"Transcript": ' * 3000 + b'1' + b'}' * 3000,
                                          '{"Transcript": {}}'.encode("utf-16")])))
def test_any_bytes_give_an_event_or_a_protocol_error_the_same_every_way(payload):
    outcomes = _every_way(t.transcript_event, payload)
    assert len(set(outcomes)) == 1, outcomes
    assert outcomes[0][0] in ("value", "TranscribeProtocolError"), outcomes[0]


@pytest.mark.parametrize("body, message", [
    (b"not json", "TranscriptEvent: not JSON (Expecting value: line 1 column 1 (char 0))"),
    ({}, "TranscriptEvent: Transcript: missing"),
    ({"Transcript": []}, "TranscriptEvent: Transcript: expected an object, got an array"),
    ({"Transcript": {"Results": [{"IsPartial": "yes"}]}},
     "TranscriptEvent: Transcript.Results[0].IsPartial: expected a boolean, got a string"),
    ({"Transcript": {"Results": [{}, {"Alternatives": [{"Items": [{}, {"StartTime": None}]}]}]}},
     "TranscriptEvent: Transcript.Results[1].Alternatives[0].Items[1].StartTime: expected a number, got null"),
    ({"Transcript": {"Results": [{"EndTime": True}]}},
     "TranscriptEvent: Transcript.Results[0].EndTime: expected a number, got a boolean"),
    ({"Transcript": {"Results": [{"StartTime": 10 ** 400}]}},
     "TranscriptEvent: Transcript.Results[0].StartTime: expected a number, got a number out of range"),
    ({"Transcript": {"Results": [{"Alternatives": [{"Entities": [5]}]}]}},
     "TranscriptEvent: Transcript.Results[0].Alternatives[0].Entities[0]: expected an object, got a number"),
])
def test_errors_name_the_event_the_field_and_the_problem(typed, body, message):
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    with pytest.raises(t.TranscribeProtocolError) as info:
        t.parse_message(decode(_frame(payload)))
    assert str(info.value) == message
    with pytest.raises(t.TranscribeProtocolError) as again:
        t.TranscriptStream().feed(_frame(payload))
    assert str(again.value) == message and again.value.events == []


# -- the classes


def test_the_classes_are_frozen_comparable_hashable_and_pickle(typed):
    item = t.Item("hi", 0.5, 0.75, "pronunciation", confidence=0.9)
    assert item == t.Item(content="hi", start_time=0.5, end_time=0.75, type="pronunciation", confidence=0.9)
    assert item != t.Item("hi") and hash(item) == hash(t.Item("hi", 0.5, 0.75, "pronunciation", 0.9))
    assert repr(item) == ("Item(content='hi', start_time=0.5, end_time=0.75, type='pronunciation', confidence=0.9, "
                          "speaker=None, stable=None, vocabulary_filter_match=False)")
    assert t.Item() == t.Item("", 0.0, 0.0, "", None, None, None, False)
    assert item != t.Entity(0.5, 0.75) and (item == ("hi", 0.5)) is False
    with pytest.raises(AttributeError):
        item.content = "no"
    with pytest.raises(TypeError):
        t.Item(nope=1)
    with pytest.raises(TypeError):
        t.Item(1, 2, 3, 4, 5, 6, 7, 8, 9)
    event = t.transcript_event(json.dumps(STANDARD).encode())
    for value in (item, event.results[0], event):
        assert pickle.loads(pickle.dumps(value)) == value
    assert pickle.loads(pickle.dumps(event)).raw == STANDARD
    assert type(event.results[0]).__module__ == "aws_eventstream.transcribe" and t.Result.__name__ == "Result"
    audio = bedrock.AudioOutput(audio=b"\x00\x01", content_id="c")
    assert audio.audio == b"\x00\x01" and pickle.loads(pickle.dumps(audio)) == audio


def test_json_backend_says_which_library_decodes_and_the_environment_can_turn_msgspec_off(tmp_path):
    assert aws_eventstream.JSON_BACKEND == ("msgspec" if HAS_MSGSPEC else "json")
    code = ("import json, aws_eventstream as a; from aws_eventstream import transcribe as t; "
            f"e = t.transcript_event(json.dumps({STANDARD!r}).encode()); print(a.JSON_BACKEND); print(repr(e))")
    env = dict(os.environ, AWS_EVENTSTREAM_JSON="json")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    backend, text = out.splitlines()
    assert backend == "json"
    assert text == repr(t.transcript_event(json.dumps(STANDARD).encode()))  # the same objects, read the same


# -- utils.decode_event: json.loads's dicts, faster


@SETTINGS
@given(payload=st.one_of(_JSON.map(lambda v: json.dumps(v).encode()), st.binary(max_size=30),
                         st.sampled_from([b"NaN", b'{"a": Infinity}', b"[1e400, -0.0, 1E5]", b'"\\ud83d\\ude00"',
                                          b'"\\ud800"', b'{"a":1,"a":2}', b" {} ", b"\xef\xbb\xbf[]",
                                          "[1]".encode("utf-16-le"), b"123456789012345678901234567890"])))
def test_decode_event_gives_what_json_loads_gives(payload):
    frame = _frame(payload)
    expected = outcome(lambda: repr(json.loads(payload)))
    assert set(_every_way(lambda f: utils.decode_event(f)[1], frame)) == {expected}


# -- Bedrock's output events


def _nova_events():
    """The fake Nova Sonic's whole output for one turn with a tool, as dicts."""
    import asyncio

    async def collect():
        inputs = [{"event": {"sessionStart": {}}},
                  {"event": {"promptStart": {"promptName": "p", "toolConfiguration": {
                      "tools": [{"toolSpec": {"name": "clock"}}]}}}},
                  {"event": {"contentStart": {"promptName": "p", "contentName": "a", "type": "AUDIO",
                                              "role": "USER"}}},
                  {"event": {"audioInput": {"promptName": "p", "contentName": "a",
                                            "content": base64.b64encode(bytes(3200)).decode()}}},
                  {"event": {"contentEnd": {"promptName": "p", "contentName": "a"}}},
                  {"event": {"toolResult": {"promptName": "p", "content": "{}"}}},
                  {"event": {"promptEnd": {"promptName": "p"}}}]

        async def events():
            for e in inputs:
                yield e
        return [e async for e in NovaSonic(["hi"], ["hello there"])(events())]
    return asyncio.run(collect())


def _camel(name):
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def test_every_nova_sonic_output_event_is_typed_as_the_oracle_reads_it(typed):
    events = _nova_events() + [{"event": {"usageEvent": {
        "completionId": "c", "promptName": "p", "sessionId": "s", "totalInputTokens": 10, "totalOutputTokens": 20,
        "totalTokens": 30, "details": {"delta": {"input": {"speechTokens": 1, "textTokens": 0}}}}}},
        {"event": {"somethingNew": {"x": [1, 2]}}}]
    seen = set()
    for event in events:
        raw = json.dumps(event).encode()
        typed_event = bedrock.parse_event(raw)
        (name, body), = event["event"].items()
        assert typed_event == bedrock.ChunkStream(typed=True).feed(bedrock.chunk_frame(event))[0]
        if name not in bedrock.OUTPUT_EVENTS:
            assert typed_event == bedrock.OtherEvent(name, body)
            continue
        seen.add(name)
        assert type(typed_event) is bedrock.OUTPUT_EVENTS[name]
        for attr in type(typed_event).__match_args__:
            key = "content" if attr == "audio" else _camel(attr)
            expected = body.get(key)
            if attr == "audio":
                expected = base64.b64decode(expected, validate=True)
            elif expected is None:
                expected = "" if attr == "content" else None
            assert getattr(typed_event, attr) == expected, (name, attr)
    assert seen == set(bedrock.OUTPUT_EVENTS)


@pytest.mark.parametrize("raw, message", [
    (b"[1]", 'a model event that is not {"event": {name: {...}}}'),
    (b'{"event": {}}', 'a model event that is not {"event": {name: {...}}}'),
    (b'{"event": {"a": {}, "b": {}}}', 'a model event that is not {"event": {name: {...}}}'),
    (b"{", "a model event: not JSON (Expecting property name enclosed in double quotes: line 1 column 2 (char 1))"),
    (b'{"event": {"audioOutput": {"content": "A"}}}',
     "audioOutput: content: expected a base64 string, got a string that is not base64"),
    (b'{"event": {"audioOutput": {"content": 5}}}', "audioOutput: content: expected a base64 string, got a number"),
    (b'{"event": {"usageEvent": {"totalTokens": 1.5}}}', "usageEvent: totalTokens: expected an integer, got a number"),
    (b'{"event": {"textOutput": []}}', "textOutput: expected an object, got an array"),
])
def test_bedrock_event_errors_say_which_event_and_field(typed, raw, message):
    with pytest.raises(bedrock.BedrockProtocolError) as info:
        bedrock.parse_event(raw)
    assert str(info.value) == message


@SETTINGS
@given(event=st.builds(lambda name, body: {"event": {name: body}},
                       st.sampled_from(sorted(bedrock.OUTPUT_EVENTS) + ["other"]),
                       st.dictionaries(st.sampled_from(["content", "contentId", "totalTokens", "stopReason", "role",
                                                        "details", "type", "toolName"]),
                                       st.one_of(_JSON, st.sampled_from(["AAAA", "AA==", "AAAA====", "A"])),
                                       max_size=4)))
def test_any_bedrock_event_gives_the_same_every_way(event):
    outcomes = _every_way(bedrock.parse_event, json.dumps(event).encode())
    assert len(set(outcomes)) == 1, outcomes
    assert outcomes[0][0] in ("value", "BedrockProtocolError"), outcomes[0]


def test_a_typed_bidirectional_stream_gives_the_dict_streams_events_typed():
    import asyncio

    from aws_eventstream.auth import Credentials
    from aws_eventstream.testing import FakeBedrockServer

    creds = Credentials("AKIDTYPED", "typed-secret")
    opening = [{"event": {"sessionStart": {}}}, {"event": {"promptStart": {"promptName": "p"}}},
               {"event": {"contentStart": {"promptName": "p", "contentName": "a", "type": "AUDIO", "role": "USER"}}}]
    audio = [{"event": {"audioInput": {"promptName": "p", "contentName": "a",
                                       "content": base64.b64encode(bytes(6400)).decode()}}}]
    closing = [{"event": {"contentEnd": {"promptName": "p", "contentName": "a"}}},
               {"event": {"promptEnd": {"promptName": "p"}}}, {"event": {"sessionEnd": {}}}]

    async def converse(server, **kw):
        async with bedrock.BidirectionalStream("amazon.nova-sonic-v1:0", region="us-east-1", credentials=creds,
                                               endpoint_url=server.endpoint, **kw) as stream:
            for e in opening + audio + closing:
                await stream.send(e)
            await stream.end()
            return [e async for e in stream]

    fixed = _nova_events()

    async def replay(events):  # the same output on each stream
        answered = False
        async for _ in events:
            if not answered:
                answered = True
                for event in fixed:
                    yield event

    async def main():
        async with FakeBedrockServer(credentials=creds, responder=replay) as server:
            return await converse(server), await converse(server, typed=True)

    dicts, typed_events = asyncio.run(asyncio.wait_for(main(), 30))
    assert dicts == fixed and len(typed_events) == len(fixed) > 5
    for d, e in zip(dicts, typed_events):
        assert e == bedrock.parse_event(json.dumps(d).encode())
    assert any(type(e) is bedrock.AudioOutput and e.audio for e in typed_events)
    with pytest.raises(ValueError):
        bedrock.BidirectionalStream("m", region="us-east-1", raw=True, typed=True)


# -- the pieces under it: base64 and build, both twins


@SETTINGS
@given(text=st.one_of(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=",
                              max_size=24),
                      st.binary(max_size=40).map(lambda b: base64.b64encode(b).decode()),
                      st.text(max_size=12)),
       as_bytes=st.booleans())
def test_b64decode_is_base64_b64decode_validate(codec, text, as_bytes):
    data = text.encode("utf-8") if as_bytes else text
    assert outcome(codec.b64decode, data) == outcome(lambda d: base64.b64decode(d, validate=True), data)


def test_b64decode_of_a_large_block_and_of_odd_objects(codec):
    blob = os.urandom(300_000)
    assert codec.b64decode(base64.b64encode(blob)) == blob  # decoded without the GIL
    for odd in (bytearray(b"AAAA"), memoryview(b"AA=="), "AAAA\u00e9", 5, None):
        assert outcome(codec.b64decode, odd) == outcome(lambda d: base64.b64decode(d, validate=True), odd)


@pytest.mark.parametrize("spec", [
    None, (), (1, 2), (tuple, 0, None), (tuple, 9, ()), (int, 0, ()), (tuple, 2, (("k", 99, None, None),)),
    (tuple, 2, (("k",),)), (tuple, 2, ((5, 1, None, None),)), (tuple, 2, (("k", 5, None, "not a spec"),)),
    (tuple, True, ()), (tuple, 2, (("k", 1.0, None, None),)),
], ids=repr)
def test_a_bad_spec_is_refused_alike_by_both_twins(spec):
    errors = []
    for name in TWINS:
        with pytest.raises((TypeError, ValueError)) as info:
            twin(name).plan(spec)
        errors.append((type(info.value), str(info.value)))
    assert errors[0] == errors[1]


def test_build_takes_only_plans_and_reads_a_list_as_it_was_when_code_it_ran_changed_it(codec):
    with pytest.raises(TypeError):
        codec.build((tuple, 2, ()), {})
    armed = []

    class Evil(str):  # a key whose comparison empties the list being read
        def __hash__(self):
            return hash("k")

        def __eq__(self, other):
            if armed:
                armed.pop().clear()
            return False

    element = (None, 2, (("k", 1 | 32, None, None),))
    plan = codec.plan((None, 2, (("xs", 5, (), element),)))
    box = [{Evil("k"): 1}, {"k": "w"}]
    armed.append(box)
    assert codec.build(plan, {"xs": box}) == (((None,), ("w",)),)
    assert box == []
    with pytest.raises(ShapeError):
        codec.build(codec.plan(element), {"k": 5})


@pytest.mark.parametrize("spec", [
    (tuple, 2, (("a", 5, (), None),)),  # a list with no spec for its elements
    (tuple, 2, (("a", 6, None, None),)),  # a record with no spec
    (os.stat_result, 0, (("a", 1, "", None),)),  # a struct sequence: tuple.__new__ cannot make one
], ids=["list-without-spec", "record-without-spec", "struct-sequence"])
def test_specs_the_extension_could_not_follow_safely_are_refused_by_both_twins(spec):
    errors = []
    for name in TWINS:
        with pytest.raises(TypeError) as info:
            twin(name).plan(spec)
        errors.append(str(info.value))
    assert errors[0] == errors[1]


def test_a_plan_nests_at_most_32_deep_in_both_twins(codec):
    plan = codec.plan((tuple, 2, ()))
    for _ in range(31):
        plan = codec.plan((tuple, 2, (("a", 6, None, plan),)))
    value = {}
    for _ in range(31):
        value = {"a": value}
    assert codec.build(plan, value) is not None  # 32 deep: built
    with pytest.raises(ValueError, match="nested more than 32 deep"):
        codec.plan((tuple, 2, (("a", 6, None, plan),)))
    deep = (tuple, 2, ())
    for _ in range(5000):
        deep = (tuple, 2, (("a", 6, None, deep),))
    with pytest.raises(ValueError, match="nested more than 32 deep"):
        codec.plan(deep)


def test_a_record_is_never_seen_half_built(codec):
    """Code a key's comparison runs meanwhile (a finalizer, the garbage collector) sees no
    record with empty slots, and a failed record is never made at all."""
    import gc

    deleted = []

    class Record(tuple):
        def __del__(self):
            deleted.append(tuple(self))  # reads every slot

    class Key(str):
        __hash__ = str.__hash__

        def __eq__(self, other):
            for obj in gc.get_objects():
                if type(obj) is tuple and len(obj) == 3 and obj[:1] == ("MARK",):
                    obj[2]  # noqa: B018 - a half-built tuple would have nothing here
            return str.__eq__(self, other)

    plan = codec.plan((Record, 0, (("a", 1, REQUIRED_, None), ("b", 3, REQUIRED_, None))))
    deleted.clear()  # plan() tried making an empty one
    with pytest.raises(ShapeError):
        codec.build(plan, {"a": "x", "b": "not an int"})
    assert deleted == []
    made = codec.build(plan, {"a": "x", "b": 2})
    del made
    assert deleted == [("x", 2)]
    three = codec.plan((None, 2, (("a", 1, REQUIRED_, None), ("b", 1, REQUIRED_, None), ("c", 1, "d", None))))
    assert codec.build(three, {"a": "MARK", Key("b"): "y"}) == ("MARK", "y", "d")


@pytest.mark.parametrize("payload", [
    b'{"Transcript": {"Results": []}, "X": "\xff"}',  # invalid UTF-8 where nothing is modelled
    b'{"Transcript": {"Results": [{"Junk": [1' + b"0" * 5000 + b']}]}}',  # an int longer than int() takes
    b'{"Transcript": {"Results": [{"Junk": "\xed\xa0\x80"}]}}',  # a surrogate, which json.loads lets through
], ids=["bad-utf8", "long-int", "surrogate"])
def test_what_json_loads_refuses_where_nothing_is_modelled_is_refused_every_way(payload):
    outcomes = _every_way(t.transcript_event, payload)
    assert len(set(outcomes)) == 1, outcomes
    inner = b'{"event": {"textOutput": {"content": "hi"}}, "x": ' + payload[-12:] + b"}"
    assert len(set(_every_way(bedrock.parse_event, inner))) == 1
    frame = _frame(payload)
    assert len(set(_every_way(lambda f: utils.decode_event(f)[1], frame))) == 1


def test_inputs_json_loads_does_not_take_are_refused_every_way():
    for odd in (memoryview(b'{"event": {"textOutput": {}}}'), 5):
        assert len(set(_every_way(bedrock.parse_event, odd))) == 1
    with pytest.raises(TypeError):
        t.transcript_event("not bytes")


def test_chunk_bodies_the_service_never_sends_are_protocol_errors():
    from aws_eventstream.bedrock import CHUNK_HEADERS, ChunkStream

    for body in (b'{"bytes":"}', b"[" * 5000, b'{"bytes":' + b"[" * 5000):
        with pytest.raises(bedrock.BedrockProtocolError):
            ChunkStream(raw=True).feed(encode(CHUNK_HEADERS, body))
    deep = encode({":message-type": "exception", ":exception-type": "ThrottlingException"}, b"[" * 5000)
    with pytest.raises(bedrock.ThrottlingException):
        ChunkStream().feed(deep)
    deep = encode({":message-type": "exception", ":exception-type": "BadRequestException"}, b"[" * 5000)
    with pytest.raises(t.BadRequestException):
        t.parse_message(decode(deep))
