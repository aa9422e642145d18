"""A Transcribe session end to end: our async client against the fake server, on loopback."""

from __future__ import annotations

import asyncio
import datetime as dt
from urllib.parse import urlsplit

import pytest

pytest.importorskip("websockets", reason="the session tests need websockets (the test extra has it)")

from aws_eventstream import MAX_FRAME, Timestamp, encode  # noqa: E402
from aws_eventstream import transcribe as t  # noqa: E402
from aws_eventstream.auth import Credentials, EventSigner, presign_url  # noqa: E402
from aws_eventstream.testing import FakeTranscribeServer, Script  # noqa: E402
from sigv4_oracle import query  # noqa: E402

CREDS = Credentials("AKIDFAKESERVER", "fake-server-secret")


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


async def _collect(session):
    return [event async for event in session]


SECOND = 32000  # bytes of 16 kHz mono 16-bit PCM


def test_results_arrive_in_order_and_nothing_is_lost():
    script = Script.of([(0.1, 0.3, "one"), (0.35, 0.5, "two"), (1.2, 1.4, "three")])
    async def main():
        async with FakeTranscribeServer(credentials=CREDS, transcript=script) as server:
            async with t.TranscribeSession(server.presigned_url(language_code="en-US")) as session:
                for _ in range(20):  # 2 s in 100 ms chunks
                    await session.send_audio(bytes(SECOND // 10))
                await session.end()
                events = await _collect(session)
            return server.sessions, events

    sessions, events = run(main())
    (record,) = sessions
    assert record.audio_frames == 20 and record.audio_bytes == 2 * SECOND and record.ended_cleanly
    assert record.audio_seconds == pytest.approx(2.0)
    results = [e.results[0] for e in events]
    assert [(r.transcript, r.is_partial) for r in results] == [
        ("one", True), ("one two", True), ("one two", False), ("three", True), ("three", False)]
    # each word is shown once the audio has reached its end; a segment ends after a 0.5 s pause
    assert [r.end_time for r in results] == [0.3, 0.5, 0.5, 1.4, 1.4]
    assert results[0].result_id == results[1].result_id == results[2].result_id != results[3].result_id
    assert record.results_sent == record.events_sent == len(events)


def test_results_derived_from_the_audio():
    async def main():
        async with FakeTranscribeServer(credentials=CREDS, echo=True) as server:
            async with t.TranscribeSession(server.presigned_url(identify_language=True,
                                                                language_options=["en-US", "fr-FR"])) as s:
                for word in (b"bonjour", b"le", b"monde", bytes([0xFF, 0x00])):
                    await s.send_audio(word)
                await s.end()
                return await _collect(s)

    events = run(main())
    assert events[-2].results[0].transcript == "bonjour le monde <2-bytes>"
    assert events[-1].results[0].is_partial is False and events[-1].results[0].language_code == "en-US"


@pytest.mark.parametrize("how", ["unknown key", "wrong secret", "tampered", "expired", "wrong region"])
def test_a_bad_url_is_refused_with_the_services_exception_frame(how):
    async def main():
        async with FakeTranscribeServer(credentials=CREDS) as server:
            url = _bad_url(server, how)
            async with t.TranscribeSession(url) as session:  # the upgrade succeeds, as with the service
                with pytest.raises(t.TranscribeServiceError) as info:
                    await _collect(session)
            return info.value, server.sessions

    err, sessions = run(main())
    kind, text = {
        "unknown key": (t.UnrecognizedClientException, "The security token included in the request is invalid."),
        "wrong secret": (t.BadRequestException, "The request signature we calculated does not match"),
        "tampered": (t.BadRequestException, "The request signature we calculated does not match"),
        "expired": (t.BadRequestException, "Signature expired"),
        "wrong region": (t.BadRequestException, "signed for region"),
    }[how]
    assert type(err) is kind and text in err.message
    assert sessions[0].error == err.exception_type and sessions[0].reason == err.message


@pytest.mark.parametrize("how", ["unknown key", "wrong secret", "tampered", "expired", "wrong region"])
def test_a_bad_url_is_refused_with_403_when_asked(how):
    async def main():
        async with FakeTranscribeServer(credentials=CREDS, auth_failure="http") as server:
            with pytest.raises(t.TranscribeAuthError) as info:
                await t.TranscribeSession(_bad_url(server, how)).connect()
            return info.value, server.sessions

    err, sessions = run(main())
    assert err.status == 403 and sessions[0].error == "403" and sessions[0].reason == err.body.strip()


def _bad_url(server, how):
    if how == "unknown key":
        return server.presigned_url(language_code="en-US", credentials=Credentials("AKIDOTHER", CREDS.secret_key))
    if how == "wrong secret":
        return server.presigned_url(language_code="en-US", credentials=Credentials(CREDS.access_key, "not-the-secret"))
    if how == "tampered":
        return server.presigned_url(language_code="en-US").replace("en-US", "en-GB")
    if how == "expired":
        return server.presigned_url(language_code="en-US", expires=60,
                                    now=dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5))
    return server.presigned_url(language_code="en-US", region="eu-west-1")


def test_bad_sample_rate_is_a_bad_request_exception():
    async def main():
        async with FakeTranscribeServer(credentials=CREDS) as server:
            # our presigned_url refuses 96 kHz, so sign the URL by hand as a careless client would
            url = presign_url(server.endpoint + t.STREAM_PATH, service="transcribe", region="us-east-1",
                              credentials=CREDS, params={"language-code": "en-US", "media-encoding": "pcm",
                                                         "sample-rate": 96000})
            async with t.TranscribeSession(url) as session:
                with pytest.raises(t.BadRequestException, match="at 'mediaSampleRateHertz' failed to satisfy") as info:
                    await _collect(session)
            return info.value

    assert run(main()).exception_type == "BadRequestException"


@pytest.mark.parametrize("frame", [
    "corrupt", "not audio", "text",
])
def test_a_bad_frame_is_refused(frame):
    async def main():
        async with FakeTranscribeServer(credentials=CREDS) as server:
            async with t.TranscribeSession(server.presigned_url(language_code="en-US")) as session:
                await session.send_audio(bytes(320))
                if frame == "corrupt":
                    bad = bytearray(t.audio_event(bytes(320)))
                    bad[-1] ^= 1
                    await session.send_frame(bad)
                elif frame == "not audio":
                    await session.send_frame(encode({":event-type": "ConfigurationEvent", ":message-type": "event"}))
                else:
                    await session._socket().send("hello")
                with pytest.raises(t.BadRequestException) as info:
                    await _collect(session)
            return info.value, server.sessions[0]

    err, record = run(main())
    assert record.error == "BadRequestException" and record.audio_frames == 1
    if frame == "text":
        assert err.message == "Unexpected WebSocket frame received."
    else:
        assert "Could not read the audio stream" in err.message


def test_signed_envelopes_are_verified():
    async def main():
        async with FakeTranscribeServer(credentials=CREDS) as server:
            url = server.presigned_url(language_code="en-US")
            signer = EventSigner(credentials=CREDS, region="us-east-1", service="transcribe",
                                 seed_signature=query(url)["X-Amz-Signature"])
            async with t.TranscribeSession(url) as session:
                for _ in range(3):
                    await session.send_frame(signer.sign(t.audio_event(bytes(SECOND // 2))))
                await session.send_frame(signer.end())
                good = await _collect(session)
            signer = EventSigner(credentials=CREDS, region="us-east-1", service="transcribe",
                                 seed_signature="00" * 32)
            async with t.TranscribeSession(server.presigned_url(language_code="en-US")) as session:
                await session.send_frame(signer.sign(t.audio_event(bytes(640))))
                with pytest.raises(t.BadRequestException, match="signature"):
                    await _collect(session)
            return good, server.sessions

    good, sessions = run(main())
    assert sessions[0].audio_frames == 3 and sessions[0].ended_cleanly
    assert [r.transcript for e in good for r in e.results if not r.is_partial] == ["Hello from the"]  # 1.5 s heard
    assert sessions[1].error == "BadRequestException"


def test_reconnect_uses_a_fresh_url():
    async def main():
        async with FakeTranscribeServer(credentials=CREDS) as server:
            urls = []

            def fresh():
                urls.append(server.presigned_url(language_code="en-US"))
                return urls[-1]

            session = t.TranscribeSession(fresh)
            async with session:
                await session.send_audio(bytes(SECOND))
                first = await session.__anext__()
                await session.reconnect()
                await session.send_audio(bytes(SECOND))
                await session.end()
                rest = await _collect(session)
            return urls, first, rest, server.sessions

    urls, first, rest, sessions = run(main())
    assert len(urls) == 2 and len(sessions) == 2
    assert sessions[0].ended_cleanly and sessions[1].ended_cleanly
    assert first.results[0].is_partial and rest[-1].results[0].is_partial is False


def test_medical_and_unknown_paths():
    async def main():
        async with FakeTranscribeServer(credentials=CREDS) as server:
            async with t.TranscribeSession(server.presigned_url(medical=True)) as session:
                await session.send_audio(bytes(SECOND))
                await session.end()
                medical = await _collect(session)
            bad_path = presign_url(server.endpoint + "/other", service="transcribe", region="us-east-1",
                                   credentials=CREDS)
            with pytest.raises(t.TranscribeHandshakeError) as info:
                await t.TranscribeSession(bad_path).connect()
            return medical, info.value

    medical, err = run(main())
    assert medical and err.status == 404 and not isinstance(err, t.TranscribeAuthError)


def test_session_misuse():
    async def main():
        session = t.TranscribeSession("ws://127.0.0.1:9/never")
        with pytest.raises(RuntimeError, match="not connected"):
            await session.send_audio(b"x")
        await session.close()  # closing an unopened session is harmless
        async with FakeTranscribeServer(credentials=CREDS) as server:
            async with t.TranscribeSession(server.presigned_url(language_code="en-US")) as session:
                await session.end()
                with pytest.raises(RuntimeError, match="already ended"):
                    await session.send_audio(b"x")
                assert await _collect(session) == []

    run(main())


# --------------------------------------------------------------------------- hostile clients


def test_an_envelope_dated_beyond_the_calendar_is_a_bad_request():
    async def main():
        async with FakeTranscribeServer(credentials=CREDS) as server:
            async with t.TranscribeSession(server.presigned_url(language_code="en-US")) as session:
                await session.send_frame(encode({":date": Timestamp(2**62), ":chunk-signature": b"x" * 32},
                                                t.audio_event(bytes(640))))
                with pytest.raises(t.BadRequestException, match=":date") as info:
                    await _collect(session)
            return info.value, server.sessions[0]

    err, record = run(main())
    assert record.error == "BadRequestException" and "outside" in err.message


def test_the_server_checks_max_skew_when_built():
    for bad, exc in ((float("nan"), ValueError), (-1, ValueError), (None, TypeError)):
        with pytest.raises(exc, match="max_skew"):
            FakeTranscribeServer(credentials=CREDS, max_skew=bad)


async def _raw_handshake(endpoint, target, host):
    """The status line the server answers a hand-written upgrade request with."""
    address = urlsplit(endpoint)
    reader, writer = await asyncio.open_connection(address.hostname, address.port)
    writer.write(b"GET " + target + b" HTTP/1.1\r\nHost: " + host + b"\r\nUpgrade: websocket\r\n"
                 b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                 b"Sec-WebSocket-Version: 13\r\n\r\n")
    await writer.drain()
    status = await reader.readline()
    writer.close()
    return status.decode("latin-1").split()[1]


def test_the_host_header_cannot_carry_the_signature():
    """A signed query smuggled into Host must not sign the query actually requested."""
    async def main():
        async with FakeTranscribeServer(credentials=CREDS, auth_failure="http") as server:
            signed = urlsplit(server.presigned_url(medical=True))
            smuggled = f"{signed.netloc}{signed.path}?{signed.query}#".encode()
            unsigned = f"{t.STREAM_PATH}?language-code=en-US&media-encoding=pcm&sample-rate=16000".encode()
            status = await _raw_handshake(server.endpoint, unsigned, smuggled)
            forged = await _raw_handshake(server.endpoint, unsigned + b"&X-Amz-Signature=" + b"0" * 64, smuggled)
            return status, forged, server.sessions

    status, forged, sessions = run(main())
    assert (status, forged) == ("403", "403")
    assert [s.error for s in sessions] == ["403", "403"]


def test_the_server_refuses_a_message_over_its_frame_limit():
    async def main():
        async with FakeTranscribeServer(credentials=CREDS, max_frame=1024) as server:
            overhead = len(t.END_OF_STREAM)
            async with t.TranscribeSession(server.presigned_url(language_code="en-US")) as session:
                await session.send_audio(bytes(1024 - overhead))  # exactly at the limit: accepted
                await session.send_audio(bytes(1025 - overhead))
                with pytest.raises(t.TranscribeConnectionError, match="1009"):
                    await _collect(session)
            return server.sessions[0]

    record = run(main())
    assert record.audio_frames == 1 and record.error == "1009"
    assert record.reason == "a WebSocket message over the limit of 1024 bytes"


def test_the_server_refuses_a_frame_over_its_limit_sent_in_pieces():
    async def main():
        async with FakeTranscribeServer(credentials=CREDS, max_frame=1024) as server:
            frame = t.audio_event(bytes(2000))
            async with t.TranscribeSession(server.presigned_url(language_code="en-US")) as session:
                for i in range(0, len(frame), 1000):  # each message is under the limit, the frame is not
                    await session.send_frame(frame[i:i + 1000])
                with pytest.raises(t.BadRequestException, match="over the limit of 1024"):
                    await _collect(session)
            return server.sessions[0]

    assert run(main()).error == "BadRequestException"


def test_the_session_refuses_a_message_over_its_frame_limit():
    async def main():
        async with FakeTranscribeServer(credentials=CREDS) as server:
            url = server.presigned_url(language_code="en-US")
            async with t.TranscribeSession(url, max_frame=64) as session:
                await session.send_audio(bytes(SECOND))  # answered with a result frame of some 400 bytes
                with pytest.raises(t.TranscribeConnectionError, match="1009"):
                    await _collect(session)

    run(main())


def test_frame_limits_default_to_the_codec_limit_and_are_checked():
    server = FakeTranscribeServer(credentials=CREDS)
    assert server.max_frame == MAX_FRAME
    assert t.TranscribeSession("ws://127.0.0.1:9/x").max_frame == MAX_FRAME
    for bad, exc in ((0, ValueError), ("big", TypeError), (None, TypeError)):
        with pytest.raises(exc, match="max_frame"):
            FakeTranscribeServer(credentials=CREDS, max_frame=bad)
        with pytest.raises(exc, match="max_frame"):
            t.TranscribeSession("ws://127.0.0.1:9/x", max_frame=bad)
