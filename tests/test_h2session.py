"""Transcribe over HTTP/2 on our own client (aws_eventstream._http2client), against the fake
service: the same results as the WebSocket session, the service's refusals as its typed
errors, TLS with ALPN h2 through an HTTPS_PROXY tunnel, and nothing left open when a
caller cancels or a server misbehaves."""

from __future__ import annotations

import asyncio
import ssl

import pytest

pytest.importorskip("h2", reason="the HTTP/2 client needs h2 (the test extra has it)")
pytest.importorskip("websockets", reason="the fake server needs websockets (the test extra has it)")
trustme = pytest.importorskip("trustme", reason="the TLS tests need trustme (the test extra has it)")

from aws_eventstream import _http2client  # noqa: E402
from aws_eventstream import transcribe as t  # noqa: E402
from aws_eventstream.auth import Credentials  # noqa: E402
from aws_eventstream.testing import FakeTranscribeServer, Fault, Script  # noqa: E402
from helpers import h2_test_server, tcp_test_server  # noqa: E402

CREDS = Credentials("AKIDHTTP2", "http2-secret")
SERVICE_NAME = "transcribestreaming.us-east-1.amazonaws.com"
AUDIO = [bytes(3200)] * 10  # 1 s of 16 kHz PCM in 100 ms chunks


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    """A server context for the service's name and 127.0.0.1, and a client context trusting its CA."""
    ca = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(SERVICE_NAME, "127.0.0.1").configure_cert(server)
    client = ssl.create_default_context()
    ca.configure_trust(client)
    return server, client


def _texts(events):
    return [(r.alternatives[0].transcript, r.is_partial) for e in events for r in e.results]


async def _http2(server, *, ssl_context=None, audio=AUDIO, **kw):
    params = {"language_code": "en-US", "sample_rate": 16000, **kw}
    async with t.start_stream_transcription(region="us-east-1", credentials=CREDS, endpoint_url=server.http2_endpoint,
                                            ssl=ssl_context, **params) as session:
        for chunk in audio:
            await session.send_audio(chunk)
        await session.end()
        return [e async for e in session], session.session_id


async def _websocket(server):
    async with t.TranscribeSession(server.presigned_url(language_code="en-US", sample_rate=16000)) as session:
        for chunk in AUDIO:
            await session.send_audio(chunk)
        await session.end()
        return [e async for e in session]


@pytest.mark.parametrize("secure", [False, True], ids=["h2c", "tls-alpn-h2"])
def test_the_same_results_as_the_websocket_session(tls, secure):
    script = Script.from_text("Hello there.").then("Over HTTP/2.")

    async def main():
        kw = {"ssl_context": tls[0]} if secure else {}
        async with FakeTranscribeServer(credentials=CREDS, http2=True, transcript=script, seed=7, **kw) as server:
            events, session_id = await _http2(server, ssl_context=tls[1] if secure else None)
            record = server.sessions[-1]
        async with FakeTranscribeServer(credentials=CREDS, transcript=script, seed=7) as server:
            over_ws = await _websocket(server)  # the WebSocket session, on a plain fake
        return events, session_id, record, over_ws

    events, session_id, record, over_ws = run(main())
    assert events and all(isinstance(e, t.TranscriptEvent) for e in events)
    assert _texts(events) == _texts(over_ws) and ("Hello there.", False) in _texts(events)
    assert record.transport == "http2" and record.ended_cleanly and record.error is None
    assert record.audio_frames == 10 and record.audio_seconds == pytest.approx(1.0)
    assert session_id == record.session_id and record.params["language-code"] == "en-US"


def test_through_an_https_proxy_to_the_services_own_name(tls, monkeypatch):
    """The default endpoint (the service's name), reached through HTTPS_PROXY with CONNECT."""
    async def main():
        async with FakeTranscribeServer(credentials=CREDS, http2=True, transcript="Proxied.",
                                        ssl_context=tls[0], server_name=SERVICE_NAME) as server:
            for name in ("NO_PROXY", "no_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
                monkeypatch.delenv(name, raising=False)
            monkeypatch.setenv("HTTPS_PROXY", server.proxy)
            async with t.start_stream_transcription(region="us-east-1", credentials=CREDS, ssl=tls[1],
                                                    language_code="en-US") as session:
                for chunk in AUDIO:
                    await session.send_audio(chunk)
                await session.end()
                events = [e async for e in session]
            return events, server.sessions

    events, sessions = run(main())
    assert ("Proxied.", False) in _texts(events)
    assert sessions[-1].transport == "http2" and sessions[-1].ended_cleanly


def test_credentials_from_the_environment(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", CREDS.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", CREDS.secret_key)
    monkeypatch.setenv("AWS_SESSION_TOKEN", "a-session-token")
    with_token = Credentials(CREDS.access_key, CREDS.secret_key, "a-session-token")

    async def main():
        async with FakeTranscribeServer(credentials=with_token, http2=True, transcript="From the environment.") as server:
            async with t.start_stream_transcription(region="us-east-1", endpoint_url=server.http2_endpoint,
                                                    language_code="en-US") as session:
                for chunk in AUDIO:
                    await session.send_audio(chunk)
                await session.end()
                return [e async for e in session], server.sessions[-1]

    events, record = run(main())
    assert events and record.error is None and record.ended_cleanly


@pytest.mark.parametrize("how, error", [
    ("unknown key", t.UnrecognizedClientException),
    ("wrong secret", t.InvalidSignatureException),
    ("denied", t.AccessDeniedException),
])
def test_the_services_refusals_are_its_typed_errors(how, error):
    async def main():
        async with FakeTranscribeServer(credentials=CREDS, http2=True, authorize=lambda key: how != "denied") as server:
            creds = {"unknown key": Credentials("AKIDOTHER", CREDS.secret_key),
                     "wrong secret": Credentials(CREDS.access_key, "nope")}.get(how, CREDS)
            with pytest.raises(error) as info:
                async with t.start_stream_transcription(region="us-east-1", credentials=creds,
                                                        endpoint_url=server.http2_endpoint, language_code="en-US"):
                    pass
            return info.value, server.sessions[-1]

    exc, record = run(main())
    assert exc.exception_type == record.error and exc.message == record.reason


def test_a_bad_parameter_is_refused_before_anything_is_sent():
    with pytest.raises(ValueError, match="sample-rate"):
        t.start_stream_transcription(region="us-east-1", credentials=CREDS, language_code="en-US", sample_rate=7)
    with pytest.raises(ValueError, match="endpoint_url"):
        t.start_stream_transcription(region="us-east-1", credentials=CREDS, language_code="en-US",
                                     endpoint_url="wss://example.com")


def test_an_exception_in_the_stream_is_raised_from_the_iteration():
    async def main():
        async with FakeTranscribeServer(credentials=CREDS, http2=True, transcript="Never finished.",
                                        faults=[Fault("LimitExceededException", at=0.5)]) as server:
            with pytest.raises(t.LimitExceededException) as info:
                await _http2(server)
            return info.value

    assert "LimitExceededException" in str(run(main()))


def test_sending_after_end_is_refused_and_nothing_is_lost():
    async def main():
        async with FakeTranscribeServer(credentials=CREDS, http2=True, transcript="Ended.") as server:
            async with t.start_stream_transcription(region="us-east-1", credentials=CREDS,
                                                    endpoint_url=server.http2_endpoint, language_code="en-US") as s:
                for chunk in AUDIO:
                    await s.send_audio(chunk)
                await s.end()
                with pytest.raises(RuntimeError, match="already ended"):
                    await s.send_audio(bytes(3200))
                await s.end()  # again: nothing
                events = [e async for e in s]
            return events, server.sessions[-1]

    events, record = run(main())
    assert events and record.ended_cleanly and record.audio_frames == 10


def test_a_cancelled_task_resets_the_stream_and_leaves_nothing_open():
    async def main():
        async with FakeTranscribeServer(credentials=CREDS, http2=True, transcript="Cut.") as server:
            started = asyncio.Event()

            async def stream_forever():
                async with t.start_stream_transcription(region="us-east-1", credentials=CREDS,
                                                        endpoint_url=server.http2_endpoint,
                                                        language_code="en-US") as s:
                    started.set()
                    while True:
                        await s.send_audio(bytes(3200))
                        await asyncio.sleep(0.01)

            before = set(asyncio.all_tasks())
            task = asyncio.ensure_future(stream_forever())
            await started.wait()
            await asyncio.sleep(0.1)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await asyncio.sleep(0.2)
            left = {x for x in asyncio.all_tasks() - before if not x.done() and "_read_loop" in repr(x)}
            for _ in range(50):
                if server.sessions[-1].error is not None or not server.sessions[-1].ended_cleanly:
                    break
                await asyncio.sleep(0.02)
            return left, server.sessions[-1]

    left, record = run(main())
    assert left == set()  # the connection's reader is gone
    assert not record.ended_cleanly and record.audio_frames >= 1


@pytest.mark.parametrize("behaviour", ["garbage", "closes", "silent"])
def test_a_server_that_misbehaves_gives_a_connection_error(behaviour):
    async def handler(reader, writer):
        if behaviour == "garbage":
            writer.write(b"HTTP/1.1 400 Bad Request\r\n\r\nthis is not HTTP/2" * 10)
        elif behaviour == "closes":
            await reader.read(10)
        else:
            await asyncio.sleep(5)
        writer.close()

    async def main():
        server, url = await tcp_test_server(handler)
        async with server:
            session = t.TranscribeHTTP2Session(region="us-east-1", credentials=CREDS, endpoint_url=url,
                                               language_code="en-US", open_timeout=0.5)
            with pytest.raises(t.TranscribeConnectionError):
                await session.connect()

    run(main())


def test_a_server_that_resets_mid_stream_gives_a_connection_error():
    """h2's own server resets the stream after the response began: the reader sees it, typed."""
    import h2.events

    async def react(conn, event, writer):
        if isinstance(event, h2.events.RequestReceived):
            conn.send_headers(event.stream_id, [(":status", "200")])
            conn.send_data(event.stream_id, b"\x00\x00")  # two bytes of a frame, then the reset
            conn.reset_stream(event.stream_id)

    async def main():
        server, url = await h2_test_server(react)
        async with server:
            async with t.TranscribeHTTP2Session(region="us-east-1", credentials=CREDS, endpoint_url=url,
                                                language_code="en-US") as session:
                with pytest.raises(t.TranscribeConnectionError, match="reset"):
                    async for _ in session:
                        pass

    run(main())


def test_received_data_is_acknowledged_as_it_is_read():
    """A reader that reads nothing keeps the server's window shut; reading reopens it, and
    every byte arrives."""
    import h2.config
    import h2.connection
    import h2.events

    total = 5 * 1024 * 1024
    sent = []

    async def handler(reader, writer):
        try:
            await serve(reader, writer)
        finally:
            writer.close()  # (from 3.12 a server's wait_closed waits for its connections)

    async def serve(reader, writer):
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
        conn.initiate_connection()
        writer.write(conn.data_to_send())
        stream_id, left = None, total
        while True:
            try:
                data = await asyncio.wait_for(reader.read(65536), 0.05)
            except asyncio.TimeoutError:
                data = None
            if data == b"":
                return
            for event in conn.receive_data(data or b""):
                if isinstance(event, h2.events.RequestReceived):
                    stream_id = event.stream_id
                    conn.send_headers(stream_id, [(":status", "200")])
            while stream_id is not None and left:
                room = min(conn.local_flow_control_window(stream_id), conn.max_outbound_frame_size, left)
                if room <= 0:
                    break
                conn.send_data(stream_id, b"x" * room, end_stream=room == left)
                left -= room
                sent.append(room)
            writer.write(conn.data_to_send())
            await writer.drain()

    async def main():
        server, url = await tcp_test_server(handler)
        async with server:
            async with await _http2client.open_connection(url) as conn:
                stream = await conn.request("POST", "/", [], scheme="http")
                await stream.end()
                assert (await stream.response())[0] == 200
                await asyncio.sleep(0.5)  # reading nothing
                held = sum(sent)
                got = 0
                while True:
                    data = await stream.read()
                    if not data:
                        break
                    got += len(data)
                return held, got

    held, got = run(main())
    assert held <= _http2client._WINDOW  # what one stream may have unread
    assert got == total


# --------------------------------------------------------------------------- the client under a misbehaving peer


def test_closing_never_waits_on_a_peer_that_reads_nothing():
    import h2.events

    async def react(conn, event, writer):
        if isinstance(event, h2.events.RequestReceived):
            conn.send_headers(event.stream_id, [(":status", "200")])
            conn.increment_flow_control_window(1 << 30)
            conn.increment_flow_control_window(1 << 30, stream_id=event.stream_id)
            writer.transport.pause_reading()  # and never reads again
            stuck.append(writer)

    stuck = []

    async def main():
        server, url = await h2_test_server(react)
        async with server:
            conn = await _http2client.open_connection(url)
            stream = await conn.request("POST", "/", [], scheme="http")
            await stream.response()
            with pytest.raises(asyncio.TimeoutError):  # the socket's buffers fill: the write waits
                await asyncio.wait_for(stream.write(bytes(8 << 20)), 2)
            started = asyncio.get_running_loop().time()
            await conn.close()
            took = asyncio.get_running_loop().time() - started
            for writer in stuck:  # the test server's side, which would never see the end
                writer.transport.abort()
            return took

    assert run(main()) < 5


def test_unread_data_of_one_stream_never_stops_the_others_and_a_reset_gives_it_back():
    import h2.events

    async def react(conn, event, writer):
        if isinstance(event, h2.events.RequestReceived):
            conn.send_headers(event.stream_id, [(":status", "200")])
            for _ in range(4):  # 60 KB in frames h2 takes
                conn.send_data(event.stream_id, b"x" * 15000)

    async def main():
        server, url = await h2_test_server(react)
        async with server:
            async with await _http2client.open_connection(url) as conn:
                left_unread = []
                for _ in range(3):  # 180 KB unread: more than HTTP/2's default connection window
                    stream = await conn.request("POST", "/", [], scheme="http")
                    await stream.response()
                    left_unread.append(stream)
                await asyncio.sleep(0.2)
                for stream in left_unread[:2]:
                    stream.reset()  # never to be read: its share of the window comes back
                fresh = await conn.request("POST", "/", [], scheme="http")
                await fresh.response()
                got = 0
                while got < 60000:
                    got += len(await asyncio.wait_for(fresh.read(), 5))
                return got

    assert run(main()) == 60000  # (before: the connection's window, shut by the unread 180 KB, held it)


def test_a_stream_slot_is_freed_when_the_server_ends_first():
    import h2.events
    import h2.settings

    async def react(conn, event, writer):
        if isinstance(event, h2.events.RequestReceived):
            conn.send_headers(event.stream_id, [(":status", "200")], end_stream=True)

    async def main():
        server, url = await h2_test_server(react, {h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: 1})
        async with server:
            async with await _http2client.open_connection(url) as conn:
                await asyncio.sleep(0.1)  # the server's settings are in
                statuses = []
                for _ in range(5):
                    stream = await asyncio.wait_for(conn.request("POST", "/", [], scheme="http"), 5)
                    statuses.append((await stream.response())[0])
                    assert await stream.read() == b""  # the server's side ended first
                    await stream.end()  # then ours: the slot is free
                return statuses

    assert run(main()) == [200] * 5


def test_after_goaway_a_send_fails_typed_and_a_read_never_hangs():
    import h2.events

    async def react(conn, event, writer):
        if isinstance(event, h2.events.RequestReceived):
            conn.send_headers(event.stream_id, [(":status", "200")])
            conn.close_connection(last_stream_id=event.stream_id)

    async def main():
        server, url = await h2_test_server(react)
        async with server:
            conn = await _http2client.open_connection(url)
            stream = await conn.request("POST", "/", [], scheme="http")
            await stream.response()
            await asyncio.sleep(0.1)
            with pytest.raises(_http2client.HTTP2Error):
                await stream.write(b"more")
            reading = asyncio.ensure_future(stream.read())
            await conn.close()
            with pytest.raises(_http2client.HTTP2Error):
                await asyncio.wait_for(reading, 5)

    run(main())


def test_events_before_a_corrupt_frame_in_the_same_read_come_first():
    import h2.events

    from aws_eventstream.testing import transcript_frame
    event = transcript_frame([{"ResultId": "r", "IsPartial": False, "StartTime": 0.0, "EndTime": 1.0,
                               "Alternatives": [{"Transcript": "kept", "Items": []}]}])
    corrupt = bytearray(event)
    corrupt[8] ^= 0xFF  # the prelude's CRC

    async def react(conn, ev, writer):
        if isinstance(ev, h2.events.RequestReceived):
            conn.send_headers(ev.stream_id, [(":status", "200")])
            conn.send_data(ev.stream_id, event + bytes(corrupt))

    async def main():
        server, url = await h2_test_server(react)
        async with server:
            async with t.TranscribeHTTP2Session(region="us-east-1", credentials=CREDS, endpoint_url=url,
                                                language_code="en-US") as session:
                got = []
                from aws_eventstream import ChecksumError
                with pytest.raises(ChecksumError):
                    async for e in session:
                        got.append(e)
                return got

    (first,) = run(main())
    assert first.results[0].alternatives[0].transcript == "kept"
