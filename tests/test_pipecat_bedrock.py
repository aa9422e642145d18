"""pipecat's AWS Bedrock LLM service on our core: the same frames out, decoded by aws_eventstream.

``AWSBedrockLLMService`` streams a reply with aiobotocore's ``converse_stream``. Here it
runs in pipecat's own test pipeline against a local Bedrock endpoint, stock and after
``aws_eventstream.botocore.install()``: the text frames it pushes must be the same, and
with install() every event must have come through our buffer and event plans. Skipped
unless pipecat-ai with its AWS extra (``pip install "pipecat-ai[aws]"``) is installed.
"""

from __future__ import annotations

import asyncio

import pytest

pytest.importorskip("aiobotocore", reason="aiobotocore is not installed (pipecat-ai[aws] brings it)")
pytest.importorskip("pipecat.services.aws.llm", reason="pipecat-ai[aws] is not installed")

from pipecat.frames.frames import LLMContextFrame, LLMTextFrame  # noqa: E402
from pipecat.processors.aggregators.llm_context import LLMContext  # noqa: E402
from pipecat.services.aws.llm import AWSBedrockLLMService  # noqa: E402
from pipecat.tests.utils import run_test  # noqa: E402

from aws_eventstream import botocore as ours  # noqa: E402
from botocore_cases import serve_bedrock, spy_plans  # noqa: E402


def _reply_text(endpoint, monkeypatch):
    """The text pipecat's Bedrock service pushes for one user turn, through pipecat's test pipeline."""
    # botocore's per-service endpoint setting: the service's own client code is left as it is.
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", endpoint)
    service = AWSBedrockLLMService(aws_access_key="AKIDEXAMPLE", aws_secret_key="secret", aws_region="us-east-1",
                                   settings=AWSBedrockLLMService.Settings(model="ok"))
    context = LLMContext(messages=[{"role": "user", "content": "Say something."}])
    down, _ = asyncio.run(run_test(service, frames_to_send=[LLMContextFrame(context)]))
    return [f.text for f in down if isinstance(f, LLMTextFrame)]


def test_pipecats_bedrock_service_streams_the_same_text_on_our_core(monkeypatch):
    parsed = spy_plans(monkeypatch)
    buffers = []
    real_init = ours.EventStreamBuffer.__init__

    def counting_init(self):
        buffers.append(self)
        real_init(self)
    monkeypatch.setattr(ours.EventStreamBuffer, "__init__", counting_init)

    with serve_bedrock() as endpoint:
        stock = _reply_text(endpoint, monkeypatch)
        assert buffers == [] and parsed == []
        with ours.installed():
            mine = _reply_text(endpoint, monkeypatch)
    assert stock == [f"word {i} " for i in range(40)]
    assert mine == stock
    # One response, decoded by our buffer; each of its events (messageStart, 40 deltas and
    # the three closing events) parsed by a plan.
    assert len(buffers) == 1 and parsed == [True] * 44
