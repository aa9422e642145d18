"""botocore's whole event-stream path, stock and with our buffer installed.

Each case runs what a client runs on a response: the operation's real parser (from
``botocore.parsers.create_parser``) builds a ``botocore.eventstream.EventStream`` over a
raw body whose ``stream()`` yields the reads, and the events are iterated, each message
going through ``to_response_dict()`` and the parser. Stock and installed are grouped by
case, so one run gives the ratio; events per second are ``extra_info["events"]`` over the
mean. Skipped without botocore.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Callable, List, Tuple

import pytest

pytest.importorskip("botocore", reason="botocore is not installed (the [botocore] extra)")

import botocore.session  # noqa: E402
from botocore.parsers import create_parser  # noqa: E402

from aws_eventstream import encode  # noqa: E402
from aws_eventstream import botocore as ours  # noqa: E402

EVENTS = 2000
_EVENT = {":event-type": "", ":content-type": "application/json", ":message-type": "event"}


def _event(name: str, body: Any, content_type: str = "application/json") -> bytes:
    headers = dict(_EVENT, **{":event-type": name, ":content-type": content_type})
    payload = body if isinstance(body, bytes) else json.dumps(body, separators=(",", ":")).encode()
    return encode(headers, payload)


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
    record = lambda i: (b"%08d," % i).ljust(255, b"x") + b"\n"  # noqa: E731
    frames = [_event("Records", record(i), "application/octet-stream") for i in range(n)]
    frames.append(_event("Stats", b"<Stats><Details><BytesScanned>1</BytesScanned><BytesProcessed>1"
                                  b"</BytesProcessed><BytesReturned>1</BytesReturned></Details></Stats>",
                         "text/xml"))
    frames.append(encode({":event-type": "End", ":message-type": "event"}, b""))
    return b"".join(frames), len(frames)


class RawBody:
    """The urllib3 response an EventStream reads: ``stream()`` yields the reads."""

    def __init__(self, chunks: List[bytes]) -> None:
        self._chunks = chunks

    def stream(self) -> Any:
        return iter(self._chunks)

    def close(self) -> None:
        pass


CASES = {
    "ConverseStream 1 KiB reads": ("bedrock-runtime", "ConverseStream", converse_body, 1024),
    "ConverseStream 64 KiB reads": ("bedrock-runtime", "ConverseStream", converse_body, 64 * 1024),
    "InvokeModelWithResponseStream 1 KiB reads": ("bedrock-runtime", "InvokeModelWithResponseStream",
                                                  invoke_body, 1024),
    "InvokeModelWithResponseStream 64 KiB reads": ("bedrock-runtime", "InvokeModelWithResponseStream",
                                                   invoke_body, 64 * 1024),
    "S3 Select 256 B records, 64 KiB reads": ("s3", "SelectObjectContent", select_body, 64 * 1024),
    "S3 Select 256 B records, 1 KiB reads": ("s3", "SelectObjectContent", select_body, 1024),
}


def full_path(service: str, operation: str, body: bytes, read: int) -> Callable[[], int]:
    """One response through the operation's parser and EventStream: returns the events seen."""
    model = botocore.session.get_session().get_service_model(service)
    op = model.operation_model(operation)
    chunks = [body[i:i + read] for i in range(0, len(body), read)]
    name = op.output_shape.event_stream_name
    parser = create_parser(model.protocol)  # a client makes its parser once

    def run() -> int:
        response = {"status_code": 200, "headers": {}, "body": RawBody(chunks),
                    "context": {"operation_name": operation}}
        return sum(1 for _ in parser.parse(response, op.output_shape)[name])
    return run


@pytest.fixture(params=["stock", "installed"])
def mode(request):
    if request.param == "installed":
        with ours.installed():
            yield request.param
    else:
        assert not ours.is_installed()
        yield request.param


@pytest.mark.parametrize("case", list(CASES))
def test_botocore_full_path(benchmark, case, mode):
    service, operation, make, read = CASES[case]
    body, events = make()
    run = full_path(service, operation, body, read)
    assert run() == events  # every event parsed, before any timing
    benchmark.group = f"botocore {case}"
    benchmark.extra_info["events"] = events
    assert benchmark(run) == events
