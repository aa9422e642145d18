"""Bedrock bidirectional streams (Nova Sonic) on our HTTP/2 client, against the fake Bedrock
server: the conversation Nova Sonic's guide describes, the service's refusals and in-stream
exceptions as their classes, signatures checked by botocore's signer and frames read by
botocore's parser (oracles we did not write), and nothing left open on a cancellation."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import ssl
from unittest import mock

import pytest

pytest.importorskip("h2", reason="the HTTP/2 client needs h2 (the test extra has it)")
trustme = pytest.importorskip("trustme", reason="the TLS tests need trustme (the test extra has it)")

from aws_eventstream import Decoder, bedrock  # noqa: E402
from aws_eventstream.auth import STREAMING_PAYLOAD, Credentials, sign_request  # noqa: E402
from aws_eventstream.testing import BedrockFault, FakeBedrockServer, NovaSonic  # noqa: E402

CREDS = Credentials("AKIDBEDROCK", "bedrock-secret")
MODEL = "amazon.nova-sonic-v1:0"
SERVICE_NAME = "bedrock-runtime.us-east-1.amazonaws.com"


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


def ev(name, **data):
    return {"event": {name: data}}


def _pcm(seconds, rate=16000):
    return base64.b64encode(bytes(int(2 * rate * seconds))).decode("ascii")


OPENING = [ev("sessionStart", inferenceConfiguration={"maxTokens": 1024, "topP": 0.9, "temperature": 0.7}),
           ev("promptStart", promptName="p", textOutputConfiguration={"mediaType": "text/plain"},
              audioOutputConfiguration={"mediaType": "audio/lpcm", "sampleRateHertz": 24000, "sampleSizeBits": 16,
                                        "channelCount": 1, "voiceId": "matthew", "encoding": "base64",
                                        "audioType": "SPEECH"}),
           ev("contentStart", promptName="p", contentName="audio-1", type="AUDIO", interactive=True, role="USER",
              audioInputConfiguration={"mediaType": "audio/lpcm", "sampleRateHertz": 16000, "sampleSizeBits": 16,
                                       "channelCount": 1, "audioType": "SPEECH", "encoding": "base64"})]
AUDIO = [ev("audioInput", promptName="p", contentName="audio-1", content=_pcm(0.1)) for _ in range(10)]
CLOSING = [ev("contentEnd", promptName="p", contentName="audio-1"), ev("promptEnd", promptName="p"),
           ev("sessionEnd")]


async def _converse(server, events=OPENING + AUDIO + CLOSING, **kw):
    async with bedrock.BidirectionalStream(MODEL, region="us-east-1", credentials=CREDS, endpoint_url=server.endpoint,
                                           **kw) as stream:
        for event in events:
            await stream.send(event)
        await stream.end()
        return [e async for e in stream]


def _names(events):
    return [next(iter(e["event"])) for e in events]


def test_a_nova_sonic_conversation():
    async def main():
        async with FakeBedrockServer(credentials=CREDS, responder=NovaSonic(["What time is it?"], ["It is noon."]),
                                     ) as server:
            return await _converse(server), server.sessions[0]

    events, record = run(main())
    names = _names(events)
    assert names[0] == "completionStart" and names[-1] == "completionEnd"
    assert names[1:4] == ["contentStart", "textOutput", "contentEnd"]  # what the user said
    texts = [(e["event"]["textOutput"]["role"], e["event"]["textOutput"]["content"]) for e in events
             if "textOutput" in e["event"]]
    assert texts == [("USER", "What time is it?"), ("ASSISTANT", "It is noon."), ("ASSISTANT", "It is noon.")]
    audio = b"".join(base64.b64decode(e["event"]["audioOutput"]["content"]) for e in events
                     if "audioOutput" in e["event"])
    assert len(audio) == 2 * int(len("It is noon.") * 0.06 * 24000)  # 24 kHz, 16-bit, as configured
    starts = [e["event"]["contentStart"] for e in events if "contentStart" in e["event"]]
    assert [(s["type"], s["role"]) for s in starts] == [("TEXT", "USER"), ("TEXT", "ASSISTANT"),
                                                        ("AUDIO", "ASSISTANT"), ("TEXT", "ASSISTANT")]
    assert json.loads(starts[1]["additionalModelFields"]) == {"generationStage": "SPECULATIVE"}
    assert record.model_id == MODEL and record.events_in == OPENING + AUDIO + CLOSING
    assert record.events_out == len(events) and record.ended_cleanly and record.error is None


def test_tls_with_alpn_h2_through_an_https_proxy_to_the_services_own_name(monkeypatch):
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(SERVICE_NAME, "127.0.0.1").configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)

    async def main():
        async with FakeBedrockServer(credentials=CREDS, ssl_context=server_ctx, server_name=SERVICE_NAME) as server:
            for name in ("NO_PROXY", "no_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
                monkeypatch.delenv(name, raising=False)
            monkeypatch.setenv("HTTPS_PROXY", server.proxy)
            async with bedrock.BidirectionalStream(MODEL, region="us-east-1", credentials=CREDS,
                                                   ssl=client_ctx) as stream:  # the default endpoint
                for event in OPENING + AUDIO + CLOSING:
                    await stream.send(event)
                await stream.end()
                return [e async for e in stream], server.sessions[0]

    events, record = run(main())
    assert _names(events)[0] == "completionStart" and record.ended_cleanly


def test_the_request_is_signed_as_botocores_signer_signs_it():
    """The model id's ':' is escaped in the path and escaped again in the canonical request."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials as BotoCredentials

    now = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.timezone.utc)
    url = "https://" + SERVICE_NAME + bedrock.path_for(MODEL)
    headers = {"content-type": "application/vnd.amazon.eventstream", "x-amz-content-sha256": STREAMING_PAYLOAD}
    ours = sign_request("POST", url, service=bedrock.SERVICE, region="us-east-1", credentials=CREDS,
                        headers=headers, payload_hash=STREAMING_PAYLOAD, now=now)
    request = AWSRequest(method="POST", url=url, headers=dict(headers))
    with mock.patch("botocore.auth.get_current_datetime", return_value=now.replace(tzinfo=None)):
        SigV4Auth(BotoCredentials(CREDS.access_key, CREDS.secret_key), "bedrock", "us-east-1").add_auth(request)
    assert ours.headers["Authorization"] == request.headers["Authorization"]
    assert "%3A" in bedrock.path_for(MODEL)


def test_botocores_parser_reads_the_chunks_as_the_bedrock_model_says():
    """Frames from the fake, parsed by botocore's event-stream parser for the operation's output."""
    import botocore.eventstream as be
    import botocore.session
    from botocore.parsers import create_parser

    op = botocore.session.get_session().get_service_model("bedrock-runtime").operation_model(
        "InvokeModelWithBidirectionalStream")
    shape = op.output_shape.members["body"]
    event = ev("textOutput", content="caf\u00e9", role="ASSISTANT")
    buffer = be.EventStreamBuffer()
    buffer.add_data(bedrock.chunk_frame(event))
    (message,) = list(buffer)
    parsed = create_parser("rest-json")._event_stream_parser.parse(message.to_response_dict(), shape)
    assert json.loads(parsed["chunk"]["bytes"]) == event
    assert bedrock.parse_message(Decoder().feed(bedrock.chunk_frame(event))[0]) == event


@pytest.mark.parametrize("how, error", [
    ("unknown key", bedrock.UnrecognizedClientException),
    ("wrong secret", bedrock.InvalidSignatureException),
    ("denied", bedrock.AccessDeniedException),
])
def test_the_services_refusals_are_its_classes(how, error):
    async def main():
        async with FakeBedrockServer(credentials=CREDS, authorize=lambda key: how != "denied") as server:
            creds = {"unknown key": Credentials("AKIDOTHER", CREDS.secret_key),
                     "wrong secret": Credentials(CREDS.access_key, "nope")}.get(how, CREDS)
            with pytest.raises(error) as info:
                async with bedrock.BidirectionalStream(MODEL, region="us-east-1", credentials=creds,
                                                       endpoint_url=server.endpoint) as stream:
                    await stream.send(OPENING[0])
                    async for _ in stream:
                        pass
            return info.value, server.sessions[0]

    exc, record = run(main())
    assert exc.exception_type == record.error and exc.message == record.reason and exc.status == 403


@pytest.mark.parametrize("kind, cls", [("modelStreamErrorException", bedrock.ModelStreamErrorException),
                                       ("throttlingException", bedrock.ThrottlingException),
                                       ("validationException", bedrock.ValidationException)])
def test_an_exception_event_after_some_events_comes_after_them(kind, cls):
    async def main():
        async with FakeBedrockServer(credentials=CREDS, faults=[BedrockFault(kind, "it broke", after=5)]) as server:
            got = []
            with pytest.raises(cls, match="it broke"):
                async with bedrock.BidirectionalStream(MODEL, region="us-east-1", credentials=CREDS,
                                                       endpoint_url=server.endpoint) as stream:
                    for event in OPENING + AUDIO:
                        await stream.send(event)
                    async for event in stream:
                        got.append(event)
            return got, server.sessions[0]

    got, record = run(main())
    assert _names(got) == ["completionStart"] and len(record.events_in) == 5 and record.error == kind


def test_the_session_limit_ends_the_stream_with_model_timeout():
    async def main():
        async with FakeBedrockServer(credentials=CREDS, max_session_seconds=0.3) as server:
            with pytest.raises(bedrock.ModelTimeoutException, match="maximum duration"):
                async with bedrock.BidirectionalStream(MODEL, region="us-east-1", credentials=CREDS,
                                                       endpoint_url=server.endpoint) as stream:
                    for event in OPENING:
                        await stream.send(event)
                    async for _ in stream:
                        pass
            return server.sessions[0]

    assert run(main()).error == "modelTimeoutException"


def test_a_tool_is_asked_for_and_the_reply_follows_its_result():
    tools = {"tools": [{"toolSpec": {"name": "getTime", "description": "the time",
                                     "inputSchema": {"json": "{}"}}}]}
    opening = [OPENING[0], ev("promptStart", promptName="p", toolConfiguration=tools,
                              audioOutputConfiguration={"sampleRateHertz": 24000}), OPENING[2]]

    async def main():
        async with FakeBedrockServer(credentials=CREDS, responder=NovaSonic(["Time?"], ["Noon."])) as server:
            async with bedrock.BidirectionalStream(MODEL, region="us-east-1", credentials=CREDS,
                                                   endpoint_url=server.endpoint) as stream:
                for event in opening + AUDIO + CLOSING[:1]:
                    await stream.send(event)
                events = []
                async for event in stream:
                    events.append(event)
                    if "toolUse" in event["event"]:
                        use = event["event"]["toolUse"]
                        await stream.send(ev("toolResult", promptName="p", contentName="t",
                                             toolUseId=use["toolUseId"], content='{"time": "12:00"}'))
                    if "textOutput" in event["event"] and event["event"]["textOutput"]["role"] == "ASSISTANT":
                        break
                return events

    events = run(main())
    uses = [e["event"]["toolUse"] for e in events if "toolUse" in e["event"]]
    assert len(uses) == 1 and uses[0]["toolName"] == "getTime"
    assert events[-1]["event"]["textOutput"]["content"] == "Noon."


def test_a_responder_of_ones_own():
    async def echo(events):
        async for event in events:
            yield {"echo": event}

    async def main():
        async with FakeBedrockServer(credentials=CREDS, responder=echo) as server:
            return await _converse(server, events=[{"a": 1}, {"b": [True, None, "\u00e9"]}])

    assert run(main()) == [{"echo": {"a": 1}}, {"echo": {"b": [True, None, "\u00e9"]}}]


def test_bad_input_is_refused_before_anything_is_sent_and_after_end_too():
    async def main():
        async with FakeBedrockServer(credentials=CREDS) as server:
            async with bedrock.BidirectionalStream(MODEL, region="us-east-1", credentials=CREDS,
                                                   endpoint_url=server.endpoint) as stream:
                with pytest.raises(ValueError):
                    await stream.send({"x": float("nan")})
                with pytest.raises(TypeError):
                    await stream.send({"x": object()})
                await stream.send(OPENING[0])
                await stream.end()
                with pytest.raises(RuntimeError, match="already ended"):
                    await stream.send(OPENING[1])
                events = [e async for e in stream]
            return events, server.sessions[0]

    events, record = run(main())
    assert events == [] and record.events_in == [OPENING[0]] and record.ended_cleanly
    with pytest.raises(ValueError, match="model_id"):
        bedrock.BidirectionalStream("", region="us-east-1", credentials=CREDS)
    with pytest.raises(ValueError, match="endpoint_url"):
        bedrock.BidirectionalStream(MODEL, region="us-east-1", credentials=CREDS, endpoint_url="http://h/path")


def test_raw_bytes_go_out_as_they_are_and_come_back_unparsed():
    """send_bytes() and raw=True: the model's JSON as bytes both ways (pipecat's service
    writes its own), each chunk's bytes exactly the ones given, as botocore's parser reads them."""
    sent = [json.dumps(e, indent=2).encode() for e in OPENING + AUDIO + CLOSING]  # not our spelling of the JSON
    wire = []

    async def main():
        async with FakeBedrockServer(credentials=CREDS) as server:
            async with bedrock.BidirectionalStream(MODEL, region="us-east-1", credentials=CREDS,
                                                   endpoint_url=server.endpoint, raw=True) as stream:
                real_send = stream._signed.send

                async def keep(frame):
                    wire.append(bytes(frame))
                    await real_send(frame)
                stream._signed.send = keep
                for i, data in enumerate(sent):
                    await stream.send_bytes([bytes, bytearray, memoryview][i % 3](data))
                with pytest.raises(TypeError, match="bytes, bytearray or memoryview, not str"):
                    await stream.send_bytes(sent[0].decode())
                await stream.end()
                with pytest.raises(RuntimeError, match="already ended"):
                    await stream.send_bytes(sent[0])
                got = [e async for e in stream]
            return got, server.sessions[0]

    got, record = run(main())
    assert record.events_in == OPENING + AUDIO + CLOSING and record.ended_cleanly
    assert all(isinstance(e, bytes) for e in got) and _names([json.loads(e) for e in got])[0] == "completionStart"
    # each chunk (signed on its way out) carries the given bytes, base64 in {"bytes": ...}
    inner = [m for frame in wire for m in Decoder().feed(frame)]
    assert all(m.headers == bedrock.CHUNK_HEADERS for m in inner)
    assert [base64.b64decode(json.loads(m.payload)["bytes"]) for m in inner] == sent


def test_an_unsigned_event_is_refused_by_the_fake():
    async def main():
        async with FakeBedrockServer(credentials=CREDS) as server:
            with pytest.raises(bedrock.ValidationException, match="Invalid input event"):
                async with bedrock.BidirectionalStream(MODEL, region="us-east-1", credentials=CREDS,
                                                       endpoint_url=server.endpoint) as stream:
                    await stream.send(OPENING[0])
                    await stream._signed._stream.write(bedrock.chunk_frame(OPENING[1]))  # no envelope
                    async for _ in stream:
                        pass
            return server.sessions[0]

    record = run(main())
    assert record.error == "validationException" and record.events_in == [OPENING[0]]


def test_a_cancelled_task_resets_the_stream_and_leaves_nothing_open():
    async def main():
        async with FakeBedrockServer(credentials=CREDS) as server:
            opened = asyncio.Event()

            async def talk():
                async with bedrock.BidirectionalStream(MODEL, region="us-east-1", credentials=CREDS,
                                                       endpoint_url=server.endpoint) as stream:
                    for event in OPENING:
                        await stream.send(event)
                    opened.set()
                    while True:
                        await stream.send(AUDIO[0])
                        await asyncio.sleep(0.01)

            before = set(asyncio.all_tasks())
            task = asyncio.ensure_future(talk())
            await opened.wait()
            await asyncio.sleep(0.1)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await asyncio.sleep(0.2)
            return {t for t in asyncio.all_tasks() - before if not t.done() and "_read_loop" in repr(t)}, \
                server.sessions[0]

    left, record = run(main())
    assert left == set() and not record.ended_cleanly and len(record.events_in) > 3


# --------------------------------------------------------------------------- a server that misbehaves


def _frames_of(*events):
    return b"".join(bedrock.chunk_frame(e) for e in events)


def _exception_frame(kind, message):
    from aws_eventstream import encode
    return encode({":message-type": "exception", ":exception-type": kind, ":content-type": "application/json"},
                  json.dumps({"message": message}).encode())


@pytest.mark.parametrize("then", ["reset", "silence"])
def test_an_exception_that_comes_with_events_is_raised_after_them(then):
    import h2.errors
    import h2.events

    from helpers import h2_test_server

    async def react(conn, event, writer):
        if isinstance(event, h2.events.RequestReceived):
            conn.send_headers(event.stream_id, [(":status", "200")])
            conn.send_data(event.stream_id, _frames_of({"a": 1}) + _exception_frame("modelStreamErrorException", "boom"))
            if then == "reset":
                conn.reset_stream(event.stream_id, h2.errors.ErrorCodes.INTERNAL_ERROR)

    async def main():
        server, url = await h2_test_server(react)
        async with server:
            got = []
            with pytest.raises(bedrock.ModelStreamErrorException, match="boom"):
                async with bedrock.BidirectionalStream(MODEL, region="us-east-1", credentials=CREDS,
                                                       endpoint_url=url, open_timeout=2) as stream:
                    async for event in stream:
                        got.append(event)
            return got

    assert run(main()) == [{"a": 1}]


@pytest.mark.parametrize("body", ["reset", "never ends"])
def test_a_refusal_whose_body_fails_is_still_the_services_error(body):
    import h2.events

    from helpers import h2_test_server

    async def react(conn, event, writer):
        if isinstance(event, h2.events.RequestReceived):
            conn.send_headers(event.stream_id, [(":status", "403"), ("x-amzn-errortype", "AccessDeniedException:x")])
            conn.send_data(event.stream_id, b'{"message": "no')
            if body == "reset":
                conn.reset_stream(event.stream_id)

    async def main():
        server, url = await h2_test_server(react)
        async with server:
            with pytest.raises(bedrock.AccessDeniedException) as info:
                async with bedrock.BidirectionalStream(MODEL, region="us-east-1", credentials=CREDS,
                                                       endpoint_url=url, open_timeout=1) as stream:
                    async for _ in stream:
                        pass
            return info.value

    assert run(main()).status == 403


def test_a_fault_after_no_event_comes_first():
    async def main():
        async with FakeBedrockServer(credentials=CREDS, faults=[BedrockFault("throttlingException")]) as server:
            with pytest.raises(bedrock.ThrottlingException):
                await _converse(server)
            return server.sessions[0]

    record = run(main())
    assert record.error == "throttlingException" and record.events_in == []


@pytest.mark.parametrize("odd", [
    {"audioOutputConfiguration": "x"}, {"audioOutputConfiguration": {"sampleRateHertz": "abc"}},
    {"audioOutputConfiguration": {"sampleRateHertz": 10**9}}, {"toolConfiguration": "x"},
    {"toolConfiguration": {"tools": [5]}}, {"toolConfiguration": {"tools": "x"}},
])
def test_nova_sonic_takes_odd_configurations_as_its_defaults(odd):
    opening = [OPENING[0], ev("promptStart", promptName="p", **odd),
               ev("contentStart", promptName="p", contentName="audio-1", type="AUDIO", role="USER",
                  audioInputConfiguration={"sampleRateHertz": 0})]

    async def main():
        async with FakeBedrockServer(credentials=CREDS) as server:
            return await _converse(server, events=opening + AUDIO + CLOSING), server.sessions[0]

    events, record = run(main())
    assert record.error is None and _names(events)[0] == "completionStart" and "audioOutput" in _names(events)


def test_sends_from_two_tasks_at_once_are_not_interleaved(monkeypatch):
    """Events sent by several tasks at once, each written in many pieces (the room each
    write gets is cut to 4 KiB, and every piece yields to the loop): each envelope goes out
    whole, in the order the sends were made, and every signature verifies."""
    from aws_eventstream import _http2client as h2c
    real_room, real_drain = h2c.Connection._room, h2c.Connection._drain

    async def yielding_drain(self):
        await real_drain(self)
        await asyncio.sleep(0)
    monkeypatch.setattr(h2c.Connection, "_room", lambda self, stream: min(real_room(self, stream), 4096))
    monkeypatch.setattr(h2c.Connection, "_drain", yielding_drain)
    big = [ev("audioInput", promptName="p", contentName="audio-1", content=_pcm(0.5 + i / 10)) for i in range(4)]

    async def main():
        async with FakeBedrockServer(credentials=CREDS, responder=_silent) as server:
            async with bedrock.BidirectionalStream(MODEL, region="us-east-1", credentials=CREDS,
                                                   endpoint_url=server.endpoint) as stream:
                await asyncio.gather(*(stream.send(e) for e in big))
                await stream.end()
                assert [e async for e in stream] == []
            return server.sessions[0]

    record = run(main())
    assert record.error is None and record.ended_cleanly and record.events_in == big


async def _silent(events):
    async for _ in events:
        pass
    return
    yield
