"""pipecat's Nova Sonic service on our HTTP/2 transport: the same frames out of the pipeline.

pipecat 1.14's ``AWSNovaSonicLLMService`` runs in pipecat's own test pipeline against
:class:`~aws_eventstream.testing.FakeBedrockServer`: first stock, on the SDK pipecat pins
(``aws-sdk-bedrock-runtime`` 0.9 on awscrt), which proves the fake (its request and every
event envelope verify); then after :func:`aws_eventstream.pipecat.install`, which must give
the same frames, send the model the same events, and leave the SDK's transport unused.
Skipped unless ``pipecat-ai[aws-nova-sonic]`` is installed (Python 3.12+; CI's own venv).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import re
import ssl
import threading

import pytest

pytest.importorskip("aws_sdk_bedrock_runtime", reason="pipecat-ai[aws-nova-sonic] is not installed (Python 3.12+)")
pytest.importorskip("pipecat.services.aws.nova_sonic.llm", reason="pipecat-ai is not installed")
pytest.importorskip("awscrt", reason="awscrt is not installed (pipecat-ai[aws-nova-sonic] brings it)")
trustme = pytest.importorskip("trustme", reason="the TLS tests need trustme (the test extra has it)")

from awscrt import io as crt_io  # noqa: E402
from pipecat.frames.frames import (ErrorFrame, InputAudioRawFrame, LLMContextFrame, LLMFullResponseEndFrame,  # noqa: E402
                                   LLMFullResponseStartFrame, LLMTextFrame, TranscriptionFrame, TTSAudioRawFrame,
                                   TTSStartedFrame, TTSStoppedFrame, TTSTextFrame)
from pipecat.processors.aggregators.llm_context import LLMContext  # noqa: E402
from pipecat.services.aws.nova_sonic import llm as nova  # noqa: E402
from pipecat.tests.utils import SleepFrame, run_test  # noqa: E402
from smithy_http.aio.crt import AWSCRTHTTPClient  # noqa: E402

from aws_eventstream import pipecat as ours  # noqa: E402
from aws_eventstream.auth import Credentials  # noqa: E402
from aws_eventstream.bedrock import BidirectionalStream  # noqa: E402
from aws_eventstream.testing import BedrockFault, FakeBedrockServer, NovaSonic  # noqa: E402

CREDS = Credentials("AKIDPIPECATNOVA", "pipecat-nova-secret")
NAME = "bedrock-runtime.us-east-1.amazonaws.com"
# the service's own frames, in the order it pushes them (pipecat's frames pass through too)
SERVICE_FRAMES = (TranscriptionFrame, LLMFullResponseStartFrame, LLMFullResponseEndFrame, LLMTextFrame,
                  TTSStartedFrame, TTSStoppedFrame, TTSTextFrame, TTSAudioRawFrame, ErrorFrame)
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    ca = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(NAME, "localhost", "127.0.0.1").configure_cert(server)
    client = ssl.create_default_context()
    ca.configure_trust(client)
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return server, client, str(path)


def _sdk_to(monkeypatch, endpoint, ca_file):
    """pipecat's own create_client() runs; only the endpoint and the CA the SDK trusts change."""
    def trusted_transport(config):
        transport = AWSCRTHTTPClient()
        options = crt_io.TlsContextOptions()
        options.override_default_trust_store_from_path(ca_filepath=ca_file)
        transport._tls_ctx = crt_io.ClientTlsContext(options)
        config.transport = transport

    class TrustingClient(nova.BedrockRuntimeClient):
        # Each operation deep-copies the config, and a copied CRT transport trusts only the
        # system's CAs: the transport goes in as an operation plugin, after the copy.
        async def invoke_model_with_bidirectional_stream(self, input, plugins=None):
            return await super().invoke_model_with_bidirectional_stream(input, [trusted_transport, *(plugins or [])])

    config = nova.Config
    monkeypatch.setattr(nova, "Config", lambda **kw: config(**{**kw, "endpoint_uri": endpoint}))
    monkeypatch.setattr(nova, "BedrockRuntimeClient", TrustingClient)


def _pcm(seconds, rate=16000):
    return bytes(2 * int(seconds * rate))


def _service(**kw):
    return nova.AWSNovaSonicLLMService(access_key_id=CREDS.access_key, secret_access_key=CREDS.secret_key,
                                       region="us-east-1", settings=nova.AWSNovaSonicLLMService.Settings(
                                           model="amazon.nova-2-sonic-v1:0", system_instruction="You are a test."),
                                       **kw)


def _frames(down):
    """The service's frames, as values (ids and timestamps aside)."""
    out = []
    for frame in down:
        if not isinstance(frame, SERVICE_FRAMES):
            continue
        value = getattr(frame, "text", None)
        if isinstance(frame, TTSAudioRawFrame):
            value = (len(frame.audio), frame.sample_rate)
        elif isinstance(frame, ErrorFrame):
            value = frame.error.split(":")[0]
        out.append((type(frame).__name__, value))
    return out


def _events(record):
    """The model's events the fake received, with the service's random names made one."""
    return json.loads(UUID.sub("<uuid>", json.dumps(record.events_in)))


async def _conversation(service, audio_seconds=1.2):
    context = LLMContext(messages=[{"role": "user", "content": "Say hello."}])
    audio = [InputAudioRawFrame(audio=_pcm(0.1), sample_rate=16000, num_channels=1)
             for _ in range(round(audio_seconds / 0.1))]
    frames = [LLMContextFrame(context), SleepFrame(sleep=1.0), *audio, SleepFrame(sleep=3.0)]
    down, up = await asyncio.wait_for(run_test(service, frames_to_send=frames), 60)
    return list(down), list(up)


@contextlib.contextmanager
def _fake_in_a_thread(**kw):
    """A FakeBedrockServer on its own event loop: the SDK's awscrt transport blocks the
    caller's loop while it connects, which would stall a server on that loop."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = FakeBedrockServer(**kw)
    asyncio.run_coroutine_threadsafe(server.start(), loop).result(10)
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def _run(tls, monkeypatch, *, installed, responder=None, faults=()):
    responder = responder or NovaSonic(["I said hello."], ["Hello to you."], turn_seconds=1.0)
    with _fake_in_a_thread(credentials=CREDS, ssl_context=tls[0], faults=faults, responder=responder) as server:
        endpoint = f"https://localhost:{server.address[1]}"
        if installed:
            with ours.installed(endpoint_url=endpoint, ssl=tls[1]):
                down = asyncio.run(_conversation(_service()))
        else:
            with monkeypatch.context() as patch:
                _sdk_to(patch, endpoint, tls[2])
                down = asyncio.run(_conversation(_service()))
    return down, server.sessions


def test_pipecats_nova_sonic_service_gives_the_same_frames_on_our_transport(tls, monkeypatch):
    streams = []
    real_connect = BidirectionalStream.connect

    async def counting_connect(self):
        streams.append(self)
        return await real_connect(self)
    monkeypatch.setattr(BidirectionalStream, "connect", counting_connect)

    stock_down, stock_sessions = _run(tls, monkeypatch, installed=False)
    assert streams == []  # the SDK carried it
    mine_down, mine_sessions = _run(tls, monkeypatch, installed=True)
    assert len(streams) == 1 and not ours.is_installed()

    (stock,), (mine,) = stock_sessions, mine_sessions
    # The SDK's request and each of its envelopes verified: the fake took every event.
    assert stock.error is None and stock.model_id == "amazon.nova-2-sonic-v1:0"
    assert mine.error is None and mine.model_id == stock.model_id
    names = [next(iter(e["event"])) for e in _events(stock)]
    assert names[:2] == ["sessionStart", "promptStart"] and names[-2:] == ["promptEnd", "sessionEnd"]
    assert names.count("audioInput") == 12
    assert _events(mine) == _events(stock)  # the model was sent the same events
    # completionStart and the two turns' 31 events each reached both; the completionEnd the
    # fake sends for promptEnd may be cut off by the service's close (it no longer reads then)
    assert stock.events_out in (63, 64) and mine.events_out in (63, 64)

    down, up = _frames(stock_down[0]), _frames(stock_down[1])
    # Two turns: the interactive text, then 1 s of audio; the user's words go upstream.
    assert up == [("TranscriptionFrame", "Say hello."), ("TranscriptionFrame", "I said hello.")]
    reply = [("LLMFullResponseStartFrame", None), ("TTSStartedFrame", None), ("LLMTextFrame", "Hello to you."),
             *[("TTSAudioRawFrame", (1920, 24000))] * 19, ("TTSAudioRawFrame", (960, 24000)),
             ("TTSTextFrame", "Hello to you."), ("LLMFullResponseEndFrame", None), ("TTSStoppedFrame", None)]
    assert down == reply * 2
    assert (_frames(mine_down[0]), _frames(mine_down[1])) == (down, up)
    assert [f.audio for f in mine_down[0] if isinstance(f, TTSAudioRawFrame)] == \
        [f.audio for f in stock_down[0] if isinstance(f, TTSAudioRawFrame)]


def test_a_modeled_exception_reaches_the_pipeline_as_the_sdks_and_the_service_reconnects(tls, monkeypatch):
    fault = [BedrockFault("modelStreamErrorException", "the model failed", after=6, session=0)]
    seen = {}
    for installed in (False, True):
        down, sessions = _run(tls, monkeypatch, installed=installed, faults=fault)
        errors = [frame for frame in [*down[0], *down[1]] if isinstance(frame, ErrorFrame)]
        seen[installed] = [(e.error, type(e.exception).__module__, type(e.exception).__name__,
                            getattr(e.exception, "message", None), e.category) for e in errors]
        assert sessions[0].error == "modelStreamErrorException"
        assert len(sessions) == 2 and sessions[1].error is None and sessions[1].events_out > 0  # reconnected
    assert seen[False] == [("Error processing responses: the model failed", "aws_sdk_bedrock_runtime.models",
                            "ModelStreamErrorException", "the model failed", seen[False][0][4])]
    assert seen[True] == seen[False]


def test_install_and_uninstall_swap_create_client_and_nothing_else_stays(monkeypatch):
    original = nova.AWSNovaSonicLLMService.create_client
    with ours.installed(endpoint_url="https://127.0.0.1:1"):
        service = _service()
        client = service.create_client()
        assert isinstance(client, ours.NovaSonicClient) and client.region == "us-east-1"
        assert CREDS.secret_key not in repr(client)
    assert nova.AWSNovaSonicLLMService.create_client is original
    assert type(_service().create_client()).__module__.startswith("aws_sdk_bedrock_runtime")


def test_empty_keys_take_the_credential_chain(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDFROMENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret-from-env")
    with ours.installed():
        service = nova.AWSNovaSonicLLMService(access_key_id="", secret_access_key="", region="us-east-1")
        client = service.create_client()
    assert client._credentials is None  # resolved when the stream opens


def test_the_audio_sent_is_the_services_bytes(tls, monkeypatch):
    """Each audioInput carries, base64, exactly the PCM pipecat was given."""
    _, (record,) = _run(tls, monkeypatch, installed=True)
    audio = [base64.b64decode(e["event"]["audioInput"]["content"]) for e in record.events_in
             if "audioInput" in e["event"]]
    assert audio == [_pcm(0.1)] * 12


def test_the_duplex_stream_closes_its_connection_on_every_path(tls):
    """As the service uses it: an unreachable endpoint raises from the output, not from
    opening; a refused request raises from the output and again from close(), as the SDK's;
    close() with a receive pending is prompt; closing the input alone (pipecat's session
    handoff) closes the connection a bounded time later; sends after the end are dropped."""
    from aws_eventstream.bedrock import BedrockConnectionError

    op = nova.InvokeModelWithBidirectionalStreamOperationInput(model_id="amazon.nova-2-sonic-v1:0")
    chunk = nova.InvokeModelWithBidirectionalStreamInputChunk(
        value=nova.BidirectionalInputPayloadPart(bytes_=b'{"event":{"sessionStart":{}}}'))

    async def main():
        async with FakeBedrockServer(credentials=CREDS, ssl_context=tls[0]) as server:
            endpoint = f"https://localhost:{server.address[1]}"
            # unreachable: the stream comes back; its output raises
            dead = await ours.NovaSonicClient("us-east-1", CREDS, endpoint_url="https://localhost:1",
                                              ssl=tls[1]).invoke_model_with_bidirectional_stream(op)
            _, output = await dead.await_output()
            with pytest.raises(BedrockConnectionError):
                await output.receive()
            await dead.input_stream.send(chunk)  # dropped
            await dead.close()
            # refused: the output raises the service's error, and close() raises it again
            wrong = Credentials(CREDS.access_key, "wrong")
            refused = await ours.NovaSonicClient("us-east-1", wrong, endpoint_url=endpoint, ssl=tls[1]) \
                .invoke_model_with_bidirectional_stream(op)
            _, output = await refused.await_output()
            with pytest.raises(Exception) as first:
                await output.receive()
            with pytest.raises(type(first.value)):
                await refused.close()
            # close() while the service's receive task waits: prompt, and the waiting read ends
            client = ours.NovaSonicClient("us-east-1", CREDS, endpoint_url=endpoint, ssl=tls[1])
            live = await client.invoke_model_with_bidirectional_stream(op)
            await live.input_stream.send(chunk)
            _, output = await live.await_output()
            pending = asyncio.ensure_future(output.receive())
            await asyncio.sleep(0.1)
            started = asyncio.get_running_loop().time()
            await live.close()
            took = asyncio.get_running_loop().time() - started
            with contextlib.suppress(Exception):
                await asyncio.wait_for(pending, 2)
            assert live.stream._signed is None or not live.stream._signed.is_open
            # the input alone closed, nobody reading: the connection goes within the grace
            handoff = await client.invoke_model_with_bidirectional_stream(op)
            await handoff.input_stream.send(chunk)
            await asyncio.wait_for(handoff.input_stream.close(), 2)
            await asyncio.sleep(ours._CLOSE_GRACE + 0.3)
            assert not handoff.stream._signed.is_open
            await handoff.input_stream.send(chunk)  # after the end: dropped
            return first.value, took, server.sessions

    refusal, took, sessions = asyncio.run(main())
    assert type(refusal).__name__ == "InvalidSignatureException" and sessions[0].error == "InvalidSignatureException"
    assert took < 0.5
    assert sessions[-1].ended_cleanly and sessions[-1].events_in == [{"event": {"sessionStart": {}}}]
