"""pipecat's Nova Sonic service where its SDK cannot be installed (Python 3.10, 3.11):
after aws_eventstream.pipecat.install() the module loads with stand-ins for the SDK's
names and the service runs on our HTTP/2 transport, in pipecat's test pipeline against
FakeBedrockServer, with the frames test_pipecat_nova_sonic.py sees on 3.12 with the SDK.
Skipped where the SDK is installed (that file runs there) or pipecat is not."""

from __future__ import annotations

import asyncio
import importlib.util
import ssl
import sys

import pytest

if importlib.util.find_spec("aws_sdk_bedrock_runtime") is not None:
    pytest.skip("aws-sdk-bedrock-runtime is installed: test_pipecat_nova_sonic.py runs", allow_module_level=True)
pytest.importorskip("pipecat", reason="pipecat-ai is not installed")
trustme = pytest.importorskip("trustme", reason="the TLS tests need trustme (the test extra has it)")

from aws_eventstream import pipecat as ours  # noqa: E402
from aws_eventstream.auth import Credentials  # noqa: E402
from aws_eventstream.testing import FakeBedrockServer, NovaSonic  # noqa: E402

CREDS = Credentials("AKIDPIPECATNOSDK", "pipecat-no-sdk-secret")


@pytest.fixture()
def nova():
    found = ours._pipecat_version()
    if tuple(int(x) for x in found.split(".")[:2]) not in ours.TESTED:
        pytest.skip(f"install() refuses pipecat-ai {found}")
    if "pipecat.services.aws.nova_sonic.llm" not in sys.modules:  # (an earlier install() may have loaded it)
        with pytest.raises(ImportError):  # before install(): pipecat's module needs the SDK
            importlib.import_module("pipecat.services.aws.nova_sonic.llm")
    ours.install()
    try:
        module = importlib.import_module("pipecat.services.aws.nova_sonic.llm")
        assert module.AWSNovaSonicLLMService.create_client is ours._create_client
        yield module
    finally:
        ours.uninstall()


def test_pipecats_nova_sonic_service_runs_without_its_sdk(nova):
    from pipecat.frames.frames import (InputAudioRawFrame, LLMContextFrame, LLMFullResponseEndFrame,
                                       LLMFullResponseStartFrame, LLMTextFrame, TranscriptionFrame, TTSAudioRawFrame,
                                       TTSStartedFrame, TTSStoppedFrame, TTSTextFrame)
    from pipecat.processors.aggregators.llm_context import LLMContext
    from pipecat.tests.utils import SleepFrame, run_test

    assert "aws_sdk_bedrock_runtime" not in sys.modules  # the stand-ins were there only while it loaded
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    kinds = (TranscriptionFrame, LLMFullResponseStartFrame, LLMFullResponseEndFrame, LLMTextFrame, TTSStartedFrame,
             TTSStoppedFrame, TTSTextFrame, TTSAudioRawFrame)

    def values(frames):
        return [(type(f).__name__, (len(f.audio), f.sample_rate) if isinstance(f, TTSAudioRawFrame)
                 else getattr(f, "text", None)) for f in frames if isinstance(f, kinds)]

    async def main():
        async with FakeBedrockServer(credentials=CREDS, ssl_context=server_context,
                                     responder=NovaSonic(["I said hello."], ["Hello to you."], turn_seconds=1.0)) as server:
            ours.install(endpoint_url=f"https://localhost:{server.address[1]}", ssl=client_context)
            service = nova.AWSNovaSonicLLMService(
                access_key_id=CREDS.access_key, secret_access_key=CREDS.secret_key, region="us-east-1",
                settings=nova.AWSNovaSonicLLMService.Settings(model="amazon.nova-2-sonic-v1:0",
                                                              system_instruction="You are a test."))
            audio = [InputAudioRawFrame(audio=bytes(3200), sample_rate=16000, num_channels=1) for _ in range(12)]
            frames = [LLMContextFrame(LLMContext(messages=[{"role": "user", "content": "Say hello."}])),
                      SleepFrame(sleep=1.0), *audio, SleepFrame(sleep=3.0)]
            down, up = await asyncio.wait_for(run_test(service, frames_to_send=frames), 60)
            return values(down), values(up), server.sessions

    down, up, (record,) = asyncio.run(main())
    assert record.error is None and record.model_id == "amazon.nova-2-sonic-v1:0"
    assert up == [("TranscriptionFrame", "Say hello."), ("TranscriptionFrame", "I said hello.")]
    reply = [("LLMFullResponseStartFrame", None), ("TTSStartedFrame", None), ("LLMTextFrame", "Hello to you."),
             *[("TTSAudioRawFrame", (1920, 24000))] * 19, ("TTSAudioRawFrame", (960, 24000)),
             ("TTSTextFrame", "Hello to you."), ("LLMFullResponseEndFrame", None), ("TTSStoppedFrame", None)]
    assert down == reply * 2
