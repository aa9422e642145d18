"""The official SDK is the oracle for the fake Bedrock server: ``aws-sdk-bedrock-runtime``
(smithy-python, Python 3.12+) on its awscrt transport runs unmodified against it (only its
endpoint, static credentials and a transport that trusts the test CA, given through
``plugins=[...]`` since the client deep-copies its config), and its request and every
event verify. Both configuration APIs: 0.12's (``AsyncBedrockRuntimeConfig.resolve``, CI's
3.12 and 3.13 venvs) and the 0.9 that pipecat pins (``Config``, CI's pipecat venv)."""

from __future__ import annotations

import asyncio
import json
import ssl

import pytest

sdk = pytest.importorskip("aws_sdk_bedrock_runtime", reason="aws-sdk-bedrock-runtime is not installed "
                          "(Python 3.12+; the sdk-oracles extra)")
pytest.importorskip("awscrt", reason="awscrt is not installed (the sdk-oracles extra)")
trustme = pytest.importorskip("trustme", reason="the TLS tests need trustme (the test extra has it)")

from awscrt import io as crt_io  # noqa: E402
from aws_sdk_bedrock_runtime import client as sdk_client  # noqa: E402
from aws_sdk_bedrock_runtime import config as sdk_config  # noqa: E402
from aws_sdk_bedrock_runtime.models import (BidirectionalInputPayloadPart,  # noqa: E402
                                            InvokeModelWithBidirectionalStreamInputChunk,
                                            InvokeModelWithBidirectionalStreamOperationInput)
from smithy_aws_core.identity.components import AWSCredentialsIdentity  # noqa: E402
from smithy_aws_core.identity.static import StaticCredentialsResolver  # noqa: E402
from smithy_http.aio.crt import AWSCRTHTTPClient  # noqa: E402

from aws_eventstream.auth import Credentials  # noqa: E402
from aws_eventstream.testing import FakeBedrockServer, NovaSonic  # noqa: E402

CREDS = Credentials("AKIDSDKORACLE", "sdk-oracle-secret")
NAME = "bedrock-runtime.us-east-1.amazonaws.com"


def ev(name, **data):
    return {"event": {name: data}}


EVENTS = [ev("sessionStart", inferenceConfiguration={"maxTokens": 1024}),
          ev("promptStart", promptName="p", audioOutputConfiguration={"sampleRateHertz": 24000}),
          ev("contentStart", promptName="p", contentName="a", type="AUDIO", role="USER",
             audioInputConfiguration={"sampleRateHertz": 16000}),
          *[ev("audioInput", promptName="p", contentName="a", content="AAAA" * 800)] * 5,
          ev("contentEnd", promptName="p", contentName="a"), ev("promptEnd", promptName="p"), ev("sessionEnd")]


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    ca = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(NAME, "127.0.0.1").configure_cert(server)
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return server, str(path)


async def _sdk_session(server, ca_file, creds=CREDS):
    def trusted_transport(config):  # after the deep copy: a CRT transport whose TLS trusts the test CA
        transport = AWSCRTHTTPClient()
        options = crt_io.TlsContextOptions()
        options.override_default_trust_store_from_path(ca_filepath=ca_file)
        transport._tls_ctx = crt_io.ClientTlsContext(options)
        config.transport = transport

    endpoint = f"https://127.0.0.1:{server.address[1]}"
    if hasattr(sdk_config, "AsyncBedrockRuntimeConfig"):  # 0.11 on
        identity = AWSCredentialsIdentity(access_key_id=creds.access_key, secret_access_key=creds.secret_key)
        config = await sdk_config.AsyncBedrockRuntimeConfig.resolve(
            endpoint_uri=endpoint, region="us-east-1", aws_credentials_identity_resolver=StaticCredentialsResolver(identity))
        client = sdk_client.AsyncBedrockRuntimeClient(config=config, plugins=[trusted_transport])
    else:  # 0.9, which pipecat pins
        config = sdk_config.Config(endpoint_uri=endpoint, region="us-east-1", aws_access_key_id=creds.access_key,
                                   aws_secret_access_key=creds.secret_key,
                                   aws_credentials_identity_resolver=StaticCredentialsResolver())
        client = sdk_client.BedrockRuntimeClient(config=config)
    # The operation deep-copies the config again (0.9 drops a copied transport's trust): the
    # transport goes in once more after that copy.
    stream = await client.invoke_model_with_bidirectional_stream(
        InvokeModelWithBidirectionalStreamOperationInput(model_id="amazon.nova-sonic-v1:0"), [trusted_transport])
    for event in EVENTS:
        await stream.input_stream.send(InvokeModelWithBidirectionalStreamInputChunk(
            value=BidirectionalInputPayloadPart(bytes_=json.dumps(event).encode())))
    await stream.input_stream.close()
    _, output = await stream.await_output()
    got = []
    while True:
        item = await output.receive()
        if item is None:
            return got
        got.append(json.loads(item.value.bytes_))


def test_the_official_sdk_runs_a_nova_sonic_session_against_the_fake(tls):
    async def main():
        async with FakeBedrockServer(credentials=CREDS, ssl_context=tls[0], server_name=NAME,
                                     responder=NovaSonic(["Hi."], ["Hello from the fake."])) as server:
            return await asyncio.wait_for(_sdk_session(server, tls[1]), 30), server.sessions

    events, sessions = asyncio.run(main())
    (record,) = sessions
    # the SDK's request and each of its event envelopes verified, every event decoded
    assert record.error is None and record.ended_cleanly and record.events_in == EVENTS
    assert record.model_id == "amazon.nova-sonic-v1:0" and record.events_out == len(events)
    texts = [e["event"]["textOutput"]["content"] for e in events if "textOutput" in e["event"]]
    assert texts == ["Hi.", "Hello from the fake.", "Hello from the fake."]


def test_the_sdks_request_with_a_wrong_secret_is_refused(tls):
    async def main():
        async with FakeBedrockServer(credentials=CREDS, ssl_context=tls[0], server_name=NAME) as server:
            with pytest.raises(Exception) as info:
                await asyncio.wait_for(_sdk_session(server, tls[1], Credentials(CREDS.access_key, "wrong")), 30)
            return info.value, server.sessions

    error, sessions = asyncio.run(main())
    assert sessions[0].error == "InvalidSignatureException" and "InvalidSignatureException" in str(error)


class _Recording(FakeBedrockServer):
    """The fake, keeping each request's headers and body bytes as they came."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.requests, self.bodies = [], []

    async def handle(self, link, stream, headers):
        self.requests.append(dict(headers or {}))
        body = bytearray()
        self.bodies.append(body)
        real_recv = stream.recv

        async def recv():
            data = await real_recv()
            if isinstance(data, bytes):
                body.extend(data)
            return data
        stream.recv = recv
        await super().handle(link, stream, headers)


def test_at_a_fixed_clock_our_signers_give_the_sdks_request_signature_and_event_frames(tls, monkeypatch):
    """The SDK's clock fixed (its signer's ``datetime.now``): our ``sign_request`` over the
    headers it signed gives its Authorization byte for byte, and our ``EventSigner``, seeded
    with its signature, gives each of its envelopes byte for byte (``:date``,
    ``:chunk-signature``, the chunk inside), the closing empty one included; each chunk
    inside is the frame our ``chunk_frame_of_bytes`` writes for the same event bytes."""
    import datetime as dt
    import types

    from aws_sdk_signers import signers

    from aws_eventstream import Decoder
    from aws_eventstream.auth import sign_request
    from aws_eventstream.bedrock._events import chunk_bytes, chunk_frame_of_bytes
    from aws_eventstream.signing import EventSigner

    at = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)

    class Fixed(dt.datetime):
        @classmethod
        def now(cls, tz=None):
            return at if tz is not None else at.replace(tzinfo=None)
    clock = types.ModuleType("datetime")
    clock.__dict__.update(vars(dt))
    clock.datetime = Fixed
    monkeypatch.setattr(signers, "datetime", clock)

    async def main():
        async with _Recording(credentials=CREDS, ssl_context=tls[0]) as server:
            await asyncio.wait_for(_sdk_session(server, tls[1]), 30)
            return server.requests, server.bodies, server.sessions, server.address[1]

    (headers,), (body,), (record,), port = asyncio.run(main())
    assert record.error is None and record.ended_cleanly
    auth = headers["authorization"]
    names = auth.split("SignedHeaders=")[1].split(",")[0].split(";")
    assert {"host", "x-amz-date", "x-amz-content-sha256"} <= set(names)
    ours = sign_request("POST", f"https://127.0.0.1:{port}{headers[':path']}", service="bedrock", region="us-east-1",
                        credentials=CREDS, headers={n: headers[n] for n in names if n not in ("host", "x-amz-date")},
                        payload_hash=headers["x-amz-content-sha256"], now=at)
    assert ours.headers["Authorization"] == auth
    assert headers["x-amz-date"] == ours.headers["X-Amz-Date"] == at.strftime("%Y%m%dT%H%M%SZ")

    signer = EventSigner(credentials=CREDS, region="us-east-1", service="bedrock", seed_signature=ours.signature)
    envelopes = Decoder().feed(bytes(body))
    assert len(envelopes) == len(EVENTS) + 1 and envelopes[-1].payload == b""
    rebuilt = b"".join(signer.sign(m.payload, now=at) for m in envelopes[:-1]) + signer.end(now=at)
    assert rebuilt == bytes(body)
    inner = [Decoder().feed(m.payload)[0] for m in envelopes[:-1]]
    assert [chunk_frame_of_bytes(chunk_bytes(m)) for m in inner] == [m.payload for m in envelopes[:-1]]
    assert [json.loads(chunk_bytes(m)) for m in inner] == EVENTS
