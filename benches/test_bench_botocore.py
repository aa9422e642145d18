"""botocore's whole event-stream path, stock and with aws_eventstream.botocore installed.

Each case runs what a client runs on a response: the operation's real parser (from
``botocore.parsers.create_parser``) builds a ``botocore.eventstream.EventStream`` over a
raw body whose ``stream()`` yields the reads, and the events are iterated, each message
going through ``to_response_dict()`` and the parser. Stock and installed are grouped by
case, so one run gives the ratio; events per second are ``extra_info["events"]`` over the
mean. Skipped without botocore.
"""

from __future__ import annotations

from typing import Tuple

import pytest

pytest.importorskip("botocore", reason="botocore is not installed (the [botocore] extra)")

from aws_eventstream import botocore as ours  # noqa: E402
from aws_eventstream._tools import bench_sdk  # noqa: E402

EVENTS = 2000


def converse_body() -> Tuple[bytes, int]:
    return bench_sdk.converse_body(EVENTS)


def invoke_body() -> Tuple[bytes, int]:
    return bench_sdk.invoke_body(EVENTS)


def select_body() -> Tuple[bytes, int]:
    return bench_sdk.select_body(EVENTS)


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


full_path = bench_sdk.botocore_path  # one response through the operation's parser and EventStream


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
