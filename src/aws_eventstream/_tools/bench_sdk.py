"""Cases of the suite that time an AWS SDK's whole event-stream path, stock and on our core.

Each botocore case runs what a client runs on a response: the operation's real parser
builds botocore's ``EventStream`` over a body whose reads are the given size, and every
event is iterated (to_response_dict, parse). aiobotocore's case does the same through
``AioEventStream``; smithy's decode its ``Event.decode_async`` until the source ends, and
its encode ``EventMessage.encode``. "on aws-eventstream" is the same code under
``aws_eventstream.botocore.installed()`` (or ``aws_eventstream.smithy.installed()``).
An SDK that is not installed is skipped.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import json
import sys
from typing import Any, Callable, List, Tuple

from .. import BACKEND, _codec_py
from .bench import Case, Impl, Skip, _check, _need
from .workloads import chunked

EVENTS = 500  # per response: a long Bedrock answer streams a few hundred deltas

_EVENT = {":event-type": "", ":content-type": "application/json", ":message-type": "event"}


def _event(name: str, body: Any, content_type: str = "application/json") -> bytes:
    headers = dict(_EVENT, **{":event-type": name, ":content-type": content_type})
    payload = body if isinstance(body, bytes) else json.dumps(body, separators=(",", ":")).encode()
    return _codec_py.encode(headers, payload)


def converse_body(n: int = EVENTS) -> Tuple[bytes, int]:
    """A Bedrock ConverseStream reply: messageStart, ``n`` text deltas, the closing events."""
    frames = [_event("messageStart", {"role": "assistant"})]
    frames += [_event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": f" token{i}"}})
               for i in range(n)]
    frames += [_event("contentBlockStop", {"contentBlockIndex": 0}),
               _event("messageStop", {"stopReason": "end_turn"}),
               _event("metadata", {"usage": {"inputTokens": 9, "outputTokens": n, "totalTokens": n + 9},
                                   "metrics": {"latencyMs": 1234}})]
    return b"".join(frames), len(frames)


def invoke_body(n: int = EVENTS) -> Tuple[bytes, int]:
    """A Bedrock InvokeModelWithResponseStream reply: ``n`` chunks, each a base64 model event."""
    def chunk(i: int) -> bytes:
        inner = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": f" token{i}"}}
        return _event("chunk", {"bytes": base64.b64encode(json.dumps(inner).encode()).decode()})
    return b"".join(chunk(i) for i in range(n)), n


def select_body(n: int = EVENTS) -> Tuple[bytes, int]:
    """An S3 SelectObjectContent reply: ``n`` Records events of 256 bytes, then Stats and End."""
    def record(i: int) -> bytes:
        return (b"%08d," % i).ljust(255, b"x") + b"\n"
    frames = [_event("Records", record(i), "application/octet-stream") for i in range(n)]
    frames.append(_event("Stats", b"<Stats><Details><BytesScanned>1</BytesScanned><BytesProcessed>1"
                                  b"</BytesProcessed><BytesReturned>1</BytesReturned></Details></Stats>",
                         "text/xml"))
    frames.append(_codec_py.encode({":event-type": "End", ":message-type": "event"}, b""))
    return b"".join(frames), len(frames)


class RawBody:
    """The urllib3 response an EventStream reads: ``stream()`` yields the reads."""

    def __init__(self, chunks: List[bytes]) -> None:
        self._chunks = chunks

    def stream(self) -> Any:
        return iter(self._chunks)

    def close(self) -> None:
        pass


class _AioContent:
    def __init__(self, chunks: List[bytes]) -> None:
        self._chunks = chunks

    async def iter_chunks(self) -> Any:
        for chunk in self._chunks:
            yield chunk, True


class AioRawBody:
    """The aiohttp response an AioEventStream reads: ``content.iter_chunks()``."""

    def __init__(self, chunks: List[bytes]) -> None:
        self.content = _AioContent(chunks)

    def close(self) -> None:
        pass


def _operation(service: str, operation: str) -> Tuple[str, Any, str]:
    """The service's protocol, the operation's model and the name of its event-stream member."""
    import botocore.session

    model = botocore.session.get_session().get_service_model(service)
    op = model.operation_model(operation)
    return model.protocol, op, op.output_shape.event_stream_name


def botocore_path(service: str, operation: str, body: bytes, read: int) -> Callable[[], int]:
    """One response through the operation's parser and EventStream: returns the events seen."""
    _need("botocore.eventstream", "botocore")
    from botocore.parsers import create_parser

    protocol, op, name = _operation(service, operation)
    chunks = chunked(body, read)
    parser = create_parser(protocol)  # a client makes its parser once

    def run() -> int:
        response = {"status_code": 200, "headers": {}, "body": RawBody(chunks),
                    "context": {"operation_name": operation}}
        return sum(1 for _ in parser.parse(response, op.output_shape)[name])
    return run


def aiobotocore_path(service: str, operation: str, body: bytes, read: int) -> Callable[[], int]:
    """The same through aiobotocore's parser and AioEventStream, on one event loop."""
    _need("aiobotocore.parsers", "aiobotocore")
    from aiobotocore.parsers import create_parser

    protocol, op, name = _operation(service, operation)
    chunks = chunked(body, read)
    parser = create_parser(protocol)
    loop = asyncio.new_event_loop()

    async def go() -> int:
        response = {"status_code": 200, "headers": {}, "body": AioRawBody(chunks),
                    "context": {"operation_name": operation}}
        parsed = await parser.parse(response, op.output_shape)
        n = 0
        async for _ in parsed[name]:
            n += 1
        return n

    return lambda: loop.run_until_complete(go())


def _sdk_impls(path: Callable[[], Callable[[], int]], events: int, patch: Callable[[], Any],
               sdk: str) -> List[Impl]:
    def make(installed: bool) -> Callable[[], Callable[[], int]]:
        def setup() -> Callable[[], int]:
            run = path()
            switch = patch()

            def timed() -> int:
                with switch.installed() if installed else contextlib.nullcontext():
                    return run()
            _check(timed(), events, sdk)
            return timed
        return setup
    return [Impl(f"{sdk} on aws-eventstream ({BACKEND})", make(True), ours=True),
            Impl(f"{sdk} (stock)", make(False))]


def _botocore_switch() -> Any:
    from .. import botocore as ours
    return ours


# --------------------------------------------------------------------------- smithy

AUDIO_FRAME = 2900  # bytes of payload in a Nova Sonic / Transcribe-sized audio event


def _smithy() -> Any:
    if sys.version_info < (3, 12):
        raise Skip("smithy-aws-event-stream needs Python 3.12+")
    _need("smithy_aws_event_stream.events", "smithy-aws-event-stream")
    from .. import smithy as ours
    return ours


AUDIO_HEADERS = {":message-type": "event", ":event-type": "audioOutput", ":content-type": "application/json"}


def _smithy_messages(n: int) -> List[Any]:
    from smithy_aws_event_stream.events import EventMessage

    return [EventMessage(headers=dict(AUDIO_HEADERS), payload=bytes([i % 251]) * AUDIO_FRAME) for i in range(n)]


def _smithy_decode(read: int, n: int) -> Callable[[], Callable[[], int]]:
    def path() -> Callable[[], int]:
        _smithy()
        from smithy_aws_event_stream.events import Event
        from smithy_core.aio.types import AsyncBytesReader

        data = b"".join(_codec_py.encode(m.headers, m.payload) for m in _smithy_messages(n))
        chunks = chunked(data, read) if read else None
        loop = asyncio.new_event_loop()

        async def source() -> Any:
            for chunk in chunks or ():
                yield chunk

        async def go() -> int:
            reader = AsyncBytesReader(source() if chunks is not None else data)
            count = 0
            while await Event.decode_async(reader) is not None:
                count += 1
            return count
        return lambda: loop.run_until_complete(go())
    return path


def _smithy_encode() -> Callable[[], Callable[[], int]]:
    def path() -> Callable[[], int]:
        _smithy()
        messages = _smithy_messages(20)

        def run() -> int:
            for m in messages:
                m.encode()
            return len(messages)
        return run
    return path


def _nova_sonic_output(n: int) -> bytes:
    """``n`` Nova Sonic audioOutput events (40 ms of 24 kHz audio each) as the service frames
    them: ``chunk`` events whose body is ``{"bytes": base64(the model's JSON)}``."""
    import base64
    import json

    from ..bedrock import chunk_frame

    audio = base64.b64encode(bytes(1920)).decode()
    return b"".join(chunk_frame({"event": {"audioOutput": {"promptName": "p", "contentId": f"c-{i}",
                                                           "content": audio}}}) for i in range(n))


def _smithy_sdk_path(body: bytes, read: int, deserializer: str) -> Callable[[], Callable[[], int]]:
    """One output stream through aws-sdk-bedrock-runtime's whole receiving path: smithy's
    ``AWSEventReceiver`` (its event decoding, then the SDK's deserializer building the modeled
    output objects from each event's JSON), as the client reads a response."""
    def path() -> Callable[[], int]:
        _smithy()
        sdk = _need("aws_sdk_bedrock_runtime.models", "aws-sdk-bedrock-runtime")
        config = _need("aws_sdk_bedrock_runtime.config", "aws-sdk-bedrock-runtime")
        from smithy_aws_event_stream.aio import AWSEventReceiver
        from smithy_core.aio.types import AsyncBytesReader

        if not hasattr(config, "AsyncBedrockRuntimeConfig"):
            raise Skip("the bench drives aws-sdk-bedrock-runtime 0.11 and later")
        loop = asyncio.new_event_loop()
        resolved = loop.run_until_complete(config.AsyncBedrockRuntimeConfig.resolve(
            endpoint_uri="https://localhost", region="us-east-1"))
        codec = resolved.protocol.payload_codec  # the codec the client decodes events' JSON with
        deserialize = getattr(sdk, deserializer)().deserialize
        chunks = chunked(body, read)

        async def source() -> Any:
            for chunk in chunks:
                yield chunk

        async def go() -> int:
            receiver = AWSEventReceiver(payload_codec=codec, source=AsyncBytesReader(source()),
                                        deserializer=deserialize)
            count = 0
            while await receiver.receive() is not None:
                count += 1
            return count
        return lambda: loop.run_until_complete(go())
    return path


def build_cases() -> List[Case]:
    """The SDK cases: botocore, aiobotocore and smithy, each stock and on our core."""
    cases: List[Case] = []
    bodies = {"ConverseStream": converse_body(), "InvokeModelWithResponseStream": invoke_body(),
              "SelectObjectContent": select_body()}
    for operation, service, reads in (("ConverseStream", "bedrock-runtime", (1024, 64 * 1024)),
                                      ("InvokeModelWithResponseStream", "bedrock-runtime", (1024, 64 * 1024)),
                                      ("SelectObjectContent", "s3", (1024, 64 * 1024))):
        body, events = bodies[operation]
        for read in reads:
            label = f"{read // 1024} KiB reads"
            title = (f"boto3 S3 Select: {events} events of 256 B records, {label}" if service == "s3"
                     else f"boto3 {operation}: {events} events, {label}")
            path = functools.partial(botocore_path, service, operation, body, read)
            cases.append(Case("sdk", title, len(body), _sdk_impls(path, events, _botocore_switch, "botocore")))
    body, events = bodies["ConverseStream"]
    cases.append(Case("sdk", f"aiobotocore ConverseStream: {events} events, 1 KiB reads", len(body), _sdk_impls(
        lambda: aiobotocore_path("bedrock-runtime", "ConverseStream", body, 1024), events,
        _botocore_switch, "aiobotocore")))
    n = 200
    frame = len(_codec_py.encode(AUDIO_HEADERS, bytes(AUDIO_FRAME)))
    for read, label in ((frame, "one transport chunk per event"), (16 * 1024, "16 KiB chunks"),
                        (0, "an in-memory source")):
        cases.append(Case("sdk", f"smithy Event.decode_async: {n} audio events, {label}", n * frame,
                          _sdk_impls(_smithy_decode(read, n), n, _smithy, "smithy")))
    cases.append(Case("sdk", f"smithy EventMessage.encode: 20 audio events of {AUDIO_FRAME} B", 20 * frame,
                      _sdk_impls(_smithy_encode(), 20, _smithy, "smithy")))
    # The whole receiving path of an SDK on smithy: its deserializer too, not only the framing.
    nova = _nova_sonic_output(n)
    cases.append(Case("sdk", f"aws-sdk-bedrock-runtime Nova Sonic output, whole path: {n} audioOutput events, "
                             "16 KiB chunks", len(nova),
                      _sdk_impls(_smithy_sdk_path(nova, 16 * 1024, "_InvokeModelWithBidirectionalStreamOutputDeserializer"),
                                 n, _smithy, "aws-sdk-bedrock-runtime")))
    for read in (1024, 64 * 1024):
        cases.append(Case("sdk", f"aws-sdk-bedrock-runtime ConverseStream, whole path: {events} events, "
                                 f"{read // 1024} KiB reads", len(body),
                          _sdk_impls(_smithy_sdk_path(body, read, "_ConverseStreamOutputDeserializer"), events,
                                     _smithy, "aws-sdk-bedrock-runtime")))
    return cases
