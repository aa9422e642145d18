"""Clients we did not write against the fake Transcribe server, changing nothing but the address.

- pipecat's ``AWSTranscribeSTTService`` in a pipeline (when ``pipecat-ai`` is installed): it
  builds the service's own URL, so it reaches the fake the way it would reach a proxy
  (``HTTPS_PROXY``), over TLS with a certificate from a test authority (``trustme``).
- the ``amazon-transcribe`` SDK (when installed) over HTTP/2 with TLS and ALPN ``h2``.
- a bare HTTP/2 client (the ``h2`` library) for the HTTP/2 API's refusals, and botocore's
  event-stream decoder on the frames the fake sends.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from urllib.parse import urlsplit

import pytest

pytest.importorskip("websockets", reason="the fake server needs websockets (the test extra has it)")
trustme = pytest.importorskip("trustme", reason="the TLS tests need trustme (the test extra has it)")

from aws_eventstream import Decoder, encode  # noqa: E402
from aws_eventstream import transcribe as t  # noqa: E402
from aws_eventstream.auth import STREAMING_PAYLOAD, Credentials, EventSigner, sign_request  # noqa: E402
from aws_eventstream.testing import FakeTranscribeServer, Script  # noqa: E402

CREDS = Credentials("AKIDCLIENTS", "clients-secret")
SERVICE_NAME = "transcribestreaming.us-east-1.amazonaws.com"


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 90))


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    """A server context with a certificate for the service's name and 127.0.0.1, and the CA's file."""
    ca = trustme.CA()
    cert = ca.issue_cert(SERVICE_NAME, "127.0.0.1")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return context, str(path)


# --------------------------------------------------------------------------- pipecat


def _pipecat_transcribe(monkeypatch, tls, script):
    """pipecat's Transcribe STT service in pipecat's test pipeline: 4 s of audio, every frame out."""
    from pipecat.frames.frames import InputAudioRawFrame
    from pipecat.services.aws.stt import AWSTranscribeSTTService
    from pipecat.tests.utils import SleepFrame, run_test

    context, ca_file = tls

    async def main():
        async with FakeTranscribeServer(credentials=CREDS, transcript=script, ssl_context=context,
                                        server_name=SERVICE_NAME) as server:
            # Where it connects, and which authority it trusts: nothing else is changed.
            for name in ("NO_PROXY", "no_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
                monkeypatch.delenv(name, raising=False)
            monkeypatch.setenv("HTTPS_PROXY", server.proxy)
            monkeypatch.setenv("SSL_CERT_FILE", ca_file)
            service = AWSTranscribeSTTService(api_key=CREDS.secret_key, aws_access_key_id=CREDS.access_key,
                                              region="us-east-1", sample_rate=16000)
            frames = []
            for _ in range(200):  # 4 s of 16 kHz PCM in 20 ms chunks
                frames += [InputAudioRawFrame(audio=bytes(640), sample_rate=16000, num_channels=1),
                           SleepFrame(0.001)]
            frames.append(SleepFrame(0.5))
            down, _ = await run_test(service, frames_to_send=frames)
            return down, server.sessions

    return run(main())


def test_pipecats_transcribe_service_in_a_pipeline(monkeypatch, tls):
    pytest.importorskip("pipecat.services.aws.stt", reason="pipecat-ai[aws] is not installed")
    from pipecat.frames.frames import InterimTranscriptionFrame, TranscriptionFrame

    down, sessions = _pipecat_transcribe(monkeypatch, tls, Script.from_text("Hello world.").then("This is pipecat."))
    interim = [f for f in down if isinstance(f, InterimTranscriptionFrame)]
    final = [f for f in down if isinstance(f, TranscriptionFrame)]
    assert [f.text for f in interim] == ["Hello", "Hello world.", "This", "This is", "This is pipecat."]
    assert [f.text for f in final] == ["Hello world.", "This is pipecat."]
    # the result timing is the script's, from the audio pipecat sent
    assert [(f.result["StartTime"], f.result["EndTime"]) for f in final] == [(0.3, 0.95), (1.75, 2.75)]
    (record,) = sessions
    assert record.duplicate_headers == ("Sec-WebSocket-Key", "Sec-WebSocket-Version")
    assert record.audio_frames == 200 and record.audio_seconds == pytest.approx(4.0)
    assert record.params["partial-results-stability"] == "high"
    # pipecat ends with a JSON text message, which the service answers as it does any text frame
    assert (record.error, record.reason) == ("BadRequestException", "Unexpected WebSocket frame received.")


def test_pipecats_transcribe_service_gives_the_same_frames_on_our_utils(monkeypatch, tls):
    """aws_eventstream.pipecat.install(): the service frames, signs and reads through
    aws_eventstream.utils (spied), and the pipeline gives the same frames."""
    pytest.importorskip("pipecat.services.aws.stt", reason="pipecat-ai[aws] is not installed")
    from pipecat.frames.frames import InterimTranscriptionFrame, TranscriptionFrame
    from pipecat.services.aws import stt as pipecat_stt
    from pipecat.services.aws import utils as pipecat_utils

    from aws_eventstream import pipecat as ours
    from aws_eventstream import utils as our_utils
    found = ours._pipecat_version()
    if tuple(int(x) for x in found.split(".")[:2]) not in ours.TESTED:
        pytest.skip(f"install() refuses pipecat-ai {found} (tests/test_pipecat_nova_sonic.py checks that)")

    calls = {name: 0 for name in ours._STT_NAMES}
    for name in calls:
        def spy(*args, __name=name, __real=getattr(our_utils, name), **kwargs):
            calls[__name] += 1
            return __real(*args, **kwargs)
        monkeypatch.setattr(our_utils, name, spy)

    def texts(down):
        return [(type(f).__name__, f.text, f.result.get("StartTime") if isinstance(f.result, dict) else None)
                for f in down if isinstance(f, (InterimTranscriptionFrame, TranscriptionFrame))]

    script = Script.from_text("Hello world.").then("This is pipecat.")
    stock, _ = _pipecat_transcribe(monkeypatch, tls, script)
    assert set(calls.values()) == {0}
    originals = {name: getattr(pipecat_stt, name) for name in ours._STT_NAMES}
    with ours.installed():
        assert all(getattr(pipecat_stt, name) is getattr(our_utils, name) for name in ours._STT_NAMES)
        assert pipecat_utils.resolve_credentials is pipecat_stt.resolve_credentials  # pipecat's, renewable
        mine, (record,) = _pipecat_transcribe(monkeypatch, tls, script)
    assert {name: getattr(pipecat_stt, name) for name in ours._STT_NAMES} == originals  # uninstalled
    assert texts(mine) == texts(stock) and len(texts(stock)) == 7
    # every audio frame framed by us, every event read by us, the URL presigned by us
    assert calls["build_event_message"] == record.audio_frames == 200
    assert calls["decode_event"] >= 7 and calls["get_presigned_url"] == 1


def test_the_proxy_only_tunnels_to_the_fake(tls):
    context, _ = tls

    async def main():
        async with FakeTranscribeServer(credentials=CREDS, ssl_context=context, server_name=SERVICE_NAME) as server:
            address = urlsplit(server.proxy)
            answers = []
            for target in (b"example.com:443", SERVICE_NAME.encode() + b":8443"):
                reader, writer = await asyncio.open_connection(address.hostname, address.port)
                writer.write(b"CONNECT " + target + b" HTTP/1.1\r\nHost: " + target + b"\r\n\r\n")
                answers.append((await reader.readline()).decode().strip())
                writer.close()
            return answers

    assert run(main()) == ["HTTP/1.1 403 Forbidden", "HTTP/1.1 200 Connection established"]


# --------------------------------------------------------------------------- the amazon-transcribe SDK


def test_the_amazon_transcribe_sdk_over_http2(tls):
    pytest.importorskip("amazon_transcribe", reason="amazon-transcribe is not installed")
    from amazon_transcribe.auth import StaticCredentialResolver
    from amazon_transcribe.client import TranscribeStreamingClient
    from amazon_transcribe.endpoints import StaticEndpointResolver
    from amazon_transcribe.handlers import TranscriptResultStreamHandler
    from awscrt import io

    context, ca_file = tls

    class Handler(TranscriptResultStreamHandler):
        def __init__(self, stream):
            super().__init__(stream)
            self.seen = []

        async def handle_transcript_event(self, event):
            self.seen += [(r.is_partial, r.start_time, r.end_time, r.alternatives[0].transcript)
                          for r in event.transcript.results]

    async def main():
        async with FakeTranscribeServer(credentials=CREDS, http2=True, ssl_context=context,
                                        transcript="Hello SDK world.") as server:
            client = TranscribeStreamingClient(
                region="us-east-1", endpoint_resolver=StaticEndpointResolver(server.http2_endpoint),
                credential_resolver=StaticCredentialResolver(CREDS.access_key, CREDS.secret_key))
            # The SDK's TLS context takes the system trust store and no argument for another:
            # this one attribute is the only thing set on it.
            options = io.TlsContextOptions()
            options.override_default_trust_store_from_path(ca_filepath=ca_file)
            client._session_manager._tls_ctx = io.ClientTlsContext(options)
            stream = await client.start_stream_transcription(language_code="en-US", media_sample_rate_hz=16000,
                                                             media_encoding="pcm")
            handler = Handler(stream.output_stream)

            async def send():
                for _ in range(20):
                    await stream.input_stream.send_audio_event(audio_chunk=bytes(3200))
                await stream.input_stream.end_stream()

            await asyncio.gather(send(), handler.handle_events())
            return handler.seen, server.sessions

    seen, sessions = run(main())
    assert seen == [(True, 0.3, 0.6, "Hello"), (True, 0.3, 0.95, "Hello SDK"), (True, 0.3, 1.3, "Hello SDK world."),
                    (False, 0.3, 1.3, "Hello SDK world.")]
    (record,) = sessions
    assert record.transport == "http2" and record.ended_cleanly and record.audio_frames == 20
    assert record.params == {"language-code": "en-US", "sample-rate": "16000", "media-encoding": "pcm"}


# --------------------------------------------------------------------------- a bare HTTP/2 client


async def _h2_request(server, *, params=None, creds=CREDS, frames=None, sign=True, end_event=True, unsigned=None):
    """POST /stream-transcription over h2c (prior knowledge): (status, headers, body frames).

    ``unsigned`` headers are added after the request is signed."""
    import h2.config
    import h2.connection
    import h2.events

    address = urlsplit(server.http2_endpoint)
    url = f"http://{address.netloc}/stream-transcription"
    headers = {"content-type": "application/vnd.amazon.eventstream", "x-amz-content-sha256": STREAMING_PAYLOAD}
    headers.update({f"x-amzn-transcribe-{k}": str(v) for k, v in (params or {
        "language-code": "en-US", "sample-rate": 16000, "media-encoding": "pcm"}).items()})
    signed = sign_request("POST", url, service="transcribe", region="us-east-1", credentials=creds, headers=headers)
    reader, writer = await asyncio.open_connection(address.hostname, address.port)
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    conn.initiate_connection()
    conn.send_headers(1, [(":method", "POST"), (":scheme", "http"), (":authority", address.netloc),
                          (":path", "/stream-transcription"), *((k.lower(), v) for k, v in signed.headers.items()),
                          *(unsigned or {}).items()])
    signer = EventSigner(credentials=creds, region="us-east-1", service="transcribe", seed_signature=signed.signature)
    for frame in frames if frames is not None else [t.audio_event(bytes(4000))] * 8:  # 1 s, in one window
        conn.send_data(1, signer.sign(frame) if sign else frame)
    if end_event:
        conn.send_data(1, signer.end())
    conn.end_stream(1)
    writer.write(conn.data_to_send())
    status, response, body, done = None, {}, b"", False
    while not done:
        data = await reader.read(65536)
        if not data:
            break
        for event in conn.receive_data(data):
            if isinstance(event, h2.events.ResponseReceived):
                response = dict(event.headers)
                status = int(response[":status"])
            elif isinstance(event, h2.events.DataReceived):
                conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                body += event.data
            elif isinstance(event, (h2.events.StreamEnded, h2.events.StreamReset)):
                done = True
        writer.write(conn.data_to_send())
    writer.close()
    return status, response, body


def test_http2_results_and_response_headers():
    async def main():
        async with FakeTranscribeServer(credentials=CREDS, http2=True, transcript="Over two.") as server:
            return await _h2_request(server), server.sessions[0]

    (status, headers, body), record = run(main())
    assert status == 200 and headers["content-type"] == "application/vnd.amazon.eventstream"
    assert headers["x-amzn-request-id"] == record.request_id
    assert headers["x-amzn-transcribe-session-id"] == record.session_id
    assert headers["x-amzn-transcribe-language-code"] == "en-US" and headers["x-amzn-transcribe-sample-rate"] == "16000"
    texts = [(r["Alternatives"][0]["Transcript"], r["IsPartial"]) for m in Decoder().feed(body)
             for r in json.loads(m.payload)["Transcript"]["Results"]]
    assert texts == [("Over", True), ("Over two.", True), ("Over two.", False)]
    assert record.ended_cleanly and record.audio_seconds == pytest.approx(1.0)


@pytest.mark.parametrize("how, status, kind", [
    ("unknown key", 403, "UnrecognizedClientException"),
    ("wrong secret", 403, "InvalidSignatureException"),
    ("bad language", 400, "BadRequestException"),
    ("denied", 403, "AccessDeniedException"),
])
def test_http2_refusals_are_http_errors(how, status, kind):
    async def main():
        async with FakeTranscribeServer(credentials=CREDS, http2=True,
                                        authorize=lambda key: how != "denied") as server:
            creds = {"unknown key": Credentials("AKIDOTHER", CREDS.secret_key),
                     "wrong secret": Credentials(CREDS.access_key, "nope")}.get(how, CREDS)
            params = {"language-code": "xx-XX", "sample-rate": 16000, "media-encoding": "pcm"} \
                if how == "bad language" else None
            return await _h2_request(server, creds=creds, params=params), server.sessions[0]

    (got, headers, body), record = run(main())
    assert (got, headers["x-amzn-errortype"]) == (status, kind) and record.error == kind
    assert json.loads(body) == {"Message": record.reason}
    if how == "denied":
        assert "transcribe:StartStreamTranscription " in record.reason


_LIVE_SESSION = "6f1e7cc5-5df4-4b6e-a08a-1c5b2b4d3d9a"


@pytest.mark.parametrize("header, value", [("x-amzn-transcribe-session-id", _LIVE_SESSION),
                                           ("x-amzn-transcribe-vocabulary-name", "injected"),
                                           ("x-amz-security-token", "not-signed")])
def test_http2_a_header_the_server_acts_on_must_be_signed(header, value):
    """A session-id nobody signed could end another client's live stream with ConflictException."""
    async def main():
        async with FakeTranscribeServer(credentials=CREDS, http2=True, transcript="Over two.") as server:
            live = asyncio.ensure_future(_h2_request(server, params={
                "language-code": "en-US", "sample-rate": 16000, "media-encoding": "pcm", "session-id": _LIVE_SESSION}))
            await asyncio.sleep(0.2)
            forged = await _h2_request(server, unsigned={header: value})
            return await live, forged, server.sessions

    (status, _, body), (forged, headers, forged_body), sessions = run(main())
    assert forged == 403 and headers["x-amzn-errortype"] == "InvalidSignatureException"
    assert header in json.loads(forged_body)["Message"] and "not signed" in json.loads(forged_body)["Message"]
    assert status == 200 and [m.headers[":message-type"] for m in Decoder().feed(body)].count("exception") == 0
    assert sessions[0].ended_cleanly and sessions[0].error is None


def test_http2_a_stream_the_client_resets_before_the_response_is_its_cancellation():
    import h2.config
    import h2.connection
    import h2.errors

    async def main():
        async with FakeTranscribeServer(credentials=CREDS, http2=True) as server:
            address = urlsplit(server.http2_endpoint)
            head, _ = _request_head(address.netloc)
            reader, writer = await asyncio.open_connection(address.hostname, address.port)
            conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
            conn.initiate_connection()
            conn.send_headers(1, head)
            conn.reset_stream(1, h2.errors.ErrorCodes.CANCEL)
            writer.write(conn.data_to_send())  # the request and its reset in one read
            for _ in range(50):
                if server.sessions and server.sessions[0].error is not None:
                    break
                await asyncio.sleep(0.02)
            writer.close()
            return server.sessions[0]

    record = run(main())
    assert (record.error, record.reason) == ("cancelled", "the client reset the stream (RST_STREAM)")


@pytest.mark.parametrize("sends", ["nothing", "the preface", "pings", "a request answered", "a request refused"])
def test_http2_a_connection_that_asks_nothing_is_closed(monkeypatch, sends):
    import h2.config
    import h2.connection

    from aws_eventstream.testing import _h2server
    monkeypatch.setattr(_h2server, "IDLE_TIMEOUT", 0.5)

    async def main():
        async with FakeTranscribeServer(credentials=CREDS, http2=True) as server:
            address = urlsplit(server.http2_endpoint)
            reader, writer = await asyncio.open_connection(address.hostname, address.port)
            conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
            if sends != "nothing":
                conn.initiate_connection()
                if sends == "a request answered":  # a 404, the stream ended both ways
                    conn.send_headers(1, [(":method", "GET"), (":scheme", "http"), (":authority", address.netloc),
                                          (":path", "/x")], end_stream=True)
                elif sends == "a request refused":  # a 403, and the client never ends its side
                    head, _ = _request_head(address.netloc)
                    conn.send_headers(1, [(k, "wrong" if k == "authorization" else v) for k, v in head])
                writer.write(conn.data_to_send())
            start = asyncio.get_running_loop().time()
            closed_after = None
            while closed_after is None and asyncio.get_running_loop().time() - start < 5:
                try:
                    if sends == "pings":
                        conn.ping(b"12345678")
                        writer.write(conn.data_to_send())
                    data = await asyncio.wait_for(reader.read(65536), 0.1)
                except asyncio.TimeoutError:
                    continue
                except ConnectionError:  # the server closed it while we wrote
                    data = b""
                if not data:
                    closed_after = asyncio.get_running_loop().time() - start
            writer.close()
            return closed_after

    closed_after = run(main())
    assert closed_after is not None and closed_after >= 0.4  # closed, and not before its time


def test_http2_events_must_be_signed():
    async def main():
        async with FakeTranscribeServer(credentials=CREDS, http2=True) as server:
            return await _h2_request(server, sign=False), server.sessions[0]

    (status, _, body), record = run(main())
    (message,) = Decoder().feed(body)
    assert status == 200 and message.headers[":exception-type"] == "BadRequestException"
    assert b"signed envelope" in message.payload and record.error == "BadRequestException"


# --------------------------------------------------------------------------- botocore reads the frames


def test_botocores_decoder_reads_what_the_fake_sends():
    from botocore.eventstream import EventStreamBuffer

    async def main():
        async with FakeTranscribeServer(credentials=CREDS, http2=True, transcript="Hi there.") as server:
            ok = await _h2_request(server)
            bad = await _h2_request(server, frames=[encode({":event-type": "AudioEvent", ":message-type": "event"},
                                                           b"x")])
            return ok[2] + bad[2]

    buffer = EventStreamBuffer()
    buffer.add_data(run(main()))
    messages = list(buffer)
    assert [m.headers[":message-type"] for m in messages] == ["event"] * len(messages[:-1]) + ["exception"]
    assert json.loads(messages[-2].payload)["Transcript"]["Results"][0]["Alternatives"][0]["Transcript"] == "Hi there."
    assert json.loads(messages[-1].payload) == {"Message": "An AudioEvent must have :content-type "
                                                           "application/octet-stream, got None"}


def test_http2_a_request_ended_without_the_empty_event_still_gets_its_results_and_an_end():
    async def main():
        async with FakeTranscribeServer(credentials=CREDS, http2=True, transcript="Cut short.") as server:
            return await _h2_request(server, end_event=False), server.sessions[0]

    (status, _, body), record = run(main())
    finals = [r["Alternatives"][0]["Transcript"] for m in Decoder().feed(body)
              for r in json.loads(m.payload)["Transcript"]["Results"] if not r["IsPartial"]]
    assert status == 200 and finals == ["Cut short."] and not record.ended_cleanly and record.error is None


def _request_head(netloc):
    """The signed request headers of a StartStreamTranscription over h2c, and its envelope signer."""
    url = f"http://{netloc}/stream-transcription"
    headers = {"x-amz-content-sha256": STREAMING_PAYLOAD, "x-amzn-transcribe-language-code": "en-US",
               "x-amzn-transcribe-sample-rate": "16000", "x-amzn-transcribe-media-encoding": "pcm"}
    signed = sign_request("POST", url, service="transcribe", region="us-east-1", credentials=CREDS, headers=headers)
    signer = EventSigner(credentials=CREDS, region="us-east-1", service="transcribe", seed_signature=signed.signature)
    head = [(":method", "POST"), (":scheme", "http"), (":authority", netloc), (":path", "/stream-transcription"),
            *((k.lower(), v) for k, v in signed.headers.items())]
    return head, signer


def test_http2_flow_control_holds_a_client_that_outruns_the_server():
    """DATA is acknowledged as the stream takes it: a client that lets no result out (a window
    of 0) cannot go on sending audio into the server's memory."""
    import h2.config
    import h2.connection
    import h2.settings

    async def main():
        async with FakeTranscribeServer(credentials=CREDS, http2=True, echo=True) as server:
            address = urlsplit(server.http2_endpoint)
            head, signer = _request_head(address.netloc)
            reader, writer = await asyncio.open_connection(address.hostname, address.port)
            conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
            conn.initiate_connection()
            conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 0})
            conn.send_headers(1, head)
            writer.write(conn.data_to_send())
            sent = 0
            for _ in range(100):  # as much as the window lets through, reading what comes back
                frame = signer.sign(t.audio_event(b"word " * 600))
                if conn.local_flow_control_window(1) >= len(frame):
                    conn.send_data(1, frame)
                    sent += len(frame)
                    writer.write(conn.data_to_send())
                try:
                    data = await asyncio.wait_for(reader.read(65536), 0.01)
                except asyncio.TimeoutError:
                    continue
                conn.receive_data(data)  # never acknowledged: no result can leave the server
                writer.write(conn.data_to_send())
            writer.close()
            return sent, server.sessions[0].audio_frames

    sent, frames = run(main())
    # the first window (65,535 bytes), and what the server took before its first result blocked
    assert sent <= 2 * 65535 and frames <= 2


def test_http2_refused_streams_give_back_their_share_of_the_connection_window():
    """Streams refused while their client still sends must not shrink the connection's window
    for good: the eleventh stream on the connection is served like the first."""
    import h2.config
    import h2.connection
    import h2.events

    async def main():
        from aws_eventstream.testing import Fault

        refused = 10
        faults = [Fault("LimitExceededException", at=0, session=i) for i in range(refused)]
        async with FakeTranscribeServer(credentials=CREDS, http2=True, faults=faults, transcript="Served.") as server:
            address = urlsplit(server.http2_endpoint)
            reader, writer = await asyncio.open_connection(address.hostname, address.port)
            conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
            conn.initiate_connection()
            writer.write(conn.data_to_send())
            bodies = {}

            async def read(timeout):
                try:
                    data = await asyncio.wait_for(reader.read(65536), timeout)
                except asyncio.TimeoutError:
                    return
                for event in conn.receive_data(data):
                    if isinstance(event, h2.events.DataReceived):
                        conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                        bodies[event.stream_id] = bodies.get(event.stream_id, b"") + event.data
                writer.write(conn.data_to_send())

            for n in range(refused + 1):
                stream_id = 1 + 2 * n
                head, signer = _request_head(address.netloc)
                conn.send_headers(stream_id, head)
                writer.write(conn.data_to_send())
                for _ in range(12):  # 1.2 s of audio, about 40 KB, waiting for window when it runs out
                    frame = signer.sign(t.audio_event(bytes(3200)))
                    for _ in range(50):
                        if conn.local_flow_control_window(stream_id) >= len(frame):
                            break
                        await read(0.1)
                    conn.send_data(stream_id, frame)
                    writer.write(conn.data_to_send())
                conn.send_data(stream_id, signer.end(), end_stream=True)
                writer.write(conn.data_to_send())
                await read(0.2)
            for _ in range(20):
                await read(0.1)
            writer.close()
            return bodies, server.sessions

    bodies, sessions = run(main())
    assert [s.error for s in sessions] == ["LimitExceededException"] * 10 + [None]
    last = [json.loads(m.payload) for m in Decoder().feed(bodies[21])]
    assert last[-1]["Transcript"]["Results"][0]["Alternatives"][0]["Transcript"] == "Served."
    assert sessions[-1].audio_frames == 12 and sessions[-1].ended_cleanly
