"""The fake Transcribe server against what the service does: handshake, errors, results, timing.

The service's behaviour comes from the transcribe-streaming model and the developer guide
(see aws_eventstream.testing._facts); each test names the rule it checks.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest

pytest.importorskip("websockets", reason="the fake server needs websockets (the test extra has it)")

from websockets.asyncio.client import connect  # noqa: E402
from websockets.exceptions import ConnectionClosed  # noqa: E402

from aws_eventstream import Decoder, decode, encode  # noqa: E402
from aws_eventstream import transcribe as t  # noqa: E402
from aws_eventstream.auth import Credentials, presign_url  # noqa: E402
from aws_eventstream.testing import FakeTranscribeServer, Fault, Script, Word  # noqa: E402
from aws_eventstream.testing._audio import AudioClock  # noqa: E402
from aws_eventstream.testing._facts import EXCEPTIONS, LANGUAGES  # noqa: E402

CREDS = Credentials("AKIDFAKESERVER", "fake-server-secret")
SECOND = 32000  # bytes of 16 kHz mono 16-bit PCM
AUDIO = Path(__file__).parent / "data" / "audio"


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


async def transcribe(server, seconds=2.0, chunk=0.1, *, rate=16000, channels=1, end=True, **url):
    """Send ``seconds`` of silence in ``chunk``-second AudioEvents while reading; return every event.

    An error frame raises its typed error with ``before``: the events that came first.
    """
    url.setdefault("language_code", "en-US")
    step = int(rate * chunk) * 2 * channels
    events = []
    async with t.TranscribeSession(server.presigned_url(sample_rate=rate, number_of_channels=channels,
                                                        **url)) as session:
        async def send():
            try:
                for _ in range(round(seconds / chunk)):
                    await session.send_audio(bytes(step))
                if end:
                    await session.end()
            except ConnectionClosed:  # the server ended the stream (an exception frame)
                pass

        sender = asyncio.ensure_future(send())
        try:
            async for event in session:
                events.append(event)
        except t.TranscribeServiceError as exc:
            exc.before = events + exc.events
            raise
        finally:
            await sender
    return events


def results(events):
    return [r for e in events for r in e.results]


def raw_results(events):
    return [r for e in events for r in e.raw["Transcript"]["Results"]]


# --------------------------------------------------------------------------- the handshake


async def _handshake(server, extra=b"", key=b"dGhlIHNhbXBsZSBub25jZQ==", target=None):
    """Status line and headers of a hand-written upgrade request."""
    address = urlsplit(server.endpoint)
    reader, writer = await asyncio.open_connection(address.hostname, address.port)
    target = target or urlsplit(server.presigned_url(language_code="en-US"))
    path = f"{target.path}?{target.query}".encode()
    writer.write(b"GET " + path + b" HTTP/1.1\r\nHost: " + address.netloc.encode() + b"\r\nUpgrade: websocket\r\n"
                 b"Connection: Upgrade\r\nSec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n" +
                 extra + b"\r\n")
    await writer.drain()
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    writer.close()
    headers = {}
    for line in head[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    return head[0], headers


def test_a_second_sec_websocket_key_is_accepted_and_the_first_answered():
    """pipecat sends its own Sec-WebSocket-Key and version after the websockets library's."""
    async def main():
        async with FakeTranscribeServer(credentials=CREDS) as server:
            status, headers = await _handshake(
                server, b"Sec-WebSocket-Key: pipecatsownkey12345\r\nSec-WebSocket-Version: 13\r\n"
                        b"Origin: https://localhost\r\nConnection: keep-alive\r\n")
            return status, headers, server.sessions

    status, headers, sessions = run(main())
    expected = base64.b64encode(hashlib.sha1(b"dGhlIHNhbXBsZSBub25jZQ==258EAFA5-E914-47DA-95CA-C5AB0DC85B11")
                                .digest()).decode()
    assert status.startswith("HTTP/1.1 101") and headers["sec-websocket-accept"] == expected
    assert sessions[0].duplicate_headers == ("Sec-WebSocket-Key", "Sec-WebSocket-Version")


def test_the_upgrade_carries_the_services_headers():
    """Developer guide, "Setting up a WebSocket stream": the 101's x-amzn-* and websocket-* headers."""
    given = str(uuid.uuid4())

    async def main():
        async with FakeTranscribeServer(credentials=CREDS) as server:
            seen = []
            for url in (server.presigned_url(language_code="en-US", session_id=given),
                        server.presigned_url(language_code="en-US")):
                async with connect(url, proxy=None) as ws:
                    seen.append((url, dict(ws.response.headers.raw_items())))
            return server.endpoint, seen, server.sessions

    endpoint, seen, sessions = run(main())
    netloc = urlsplit(endpoint).netloc
    for (url, headers), record in zip(seen, sessions):
        assert headers["x-amzn-RequestId"] == record.request_id and uuid.UUID(record.request_id).version == 4
        assert headers["x-amzn-SessionId"] == record.session_id
        assert headers["websocket-origin"] == f"ws://{netloc}"
        parts = urlsplit(url)
        assert headers["websocket-location"] == f"{netloc}{parts.path}?{parts.query}"
    assert sessions[0].session_id == given
    assert uuid.UUID(sessions[1].session_id).version == 4 and sessions[1].session_id != given


def test_a_handshake_refused_by_the_websocket_layer_records_why():
    async def main():
        async with FakeTranscribeServer(credentials=CREDS) as server:
            status, _ = await _handshake(server, key=b"not-a-key")
            return status, server.sessions

    status, sessions = run(main())
    assert status.startswith("HTTP/1.1 400")
    assert sessions[0].error == "400" and "Sec-WebSocket-Key" in sessions[0].reason


def test_iam_denial_names_the_websocket_action():
    async def main():
        async with FakeTranscribeServer(credentials=CREDS, authorize=lambda key: key != CREDS.access_key) as server:
            with pytest.raises(t.AccessDeniedException) as info:
                await transcribe(server, 0.2)
            return info.value

    err = run(main())
    assert err.message.startswith(f"User: arn:aws:iam::000000000000:user/{CREDS.access_key} is not authorized "
                                  "to perform: transcribe:StartStreamTranscriptionWebSocket")


# --------------------------------------------------------------------------- exception frames


async def _first_frame(url):
    async with connect(url, proxy=None) as ws:
        return await ws.recv()


def test_exception_frames_are_compact_json_with_the_services_headers():
    async def main():
        async with FakeTranscribeServer(credentials=CREDS) as server:
            return await _first_frame(server.presigned_url(language_code="en-US",
                                                           credentials=Credentials("AKIDOTHER", "x")))

    frame = decode(run(main()))
    assert dict(frame.headers) == {":message-type": "exception", ":exception-type": "UnrecognizedClientException",
                                   ":content-type": "application/json"}
    assert frame.payload == b'{"Message":"The security token included in the request is invalid."}'


@pytest.mark.parametrize("kind", sorted(EXCEPTIONS))
def test_any_modeled_exception_can_be_sent_at_a_chosen_point(kind):
    script = Script.of([(0.1, 0.3, "before"), (1.5, 1.7, "after")])

    async def main():
        async with FakeTranscribeServer(credentials=CREDS, transcript=script,
                                        faults=[Fault(kind, at=1.0, session=1)]) as server:
            clean = await transcribe(server, 2.0)  # session 0: the fault is for session 1
            with pytest.raises(t.TranscribeServiceError) as info:
                await transcribe(server, 2.0)
            return clean, info.value, server.sessions

    clean, err, sessions = run(main())
    assert [r.transcript for r in results(clean) if not r.is_partial] == ["before", "after"]
    assert type(err).__name__ == kind and err.message == EXCEPTIONS[kind]
    # what was due before the fault was sent first, with the results of the first second
    assert [r.transcript for r in results(err.before)] == ["before", "before"]
    assert sessions[1].error == kind and sessions[1].audio_seconds == pytest.approx(1.0)


def test_a_fault_at_zero_comes_right_after_the_upgrade_with_any_name_and_message():
    async def main():
        async with FakeTranscribeServer(credentials=CREDS) as server:
            server.faults.append(Fault("ThrottlingException", "slow down"))
            return await _first_frame(server.presigned_url(language_code="en-US")), server.sessions

    frame, sessions = run(main())
    assert decode(frame).headers[":exception-type"] == "ThrottlingException"
    assert decode(frame).payload == b'{"Message":"slow down"}' and sessions[0].audio_frames == 0


def test_a_reused_session_id_ends_the_older_stream_with_conflict_exception():
    """Model, ConflictException: "A new stream started with the same session ID..."."""
    session_id = str(uuid.uuid4())

    async def main():
        async with FakeTranscribeServer(credentials=CREDS) as server:
            url = server.presigned_url(language_code="en-US", session_id=session_id)
            async with t.TranscribeSession(url) as first:
                await first.send_audio(bytes(SECOND // 10))
                second_events = await transcribe(server, 1.0, session_id=session_id)
                with pytest.raises(t.ConflictException) as info:
                    _ = [e async for e in first]
            return info.value, second_events, server.sessions

    err, second_events, sessions = run(main())
    assert err.message == EXCEPTIONS["ConflictException"]
    assert sessions[0].error == "ConflictException" and sessions[1].error is None and sessions[1].ended_cleanly
    assert results(second_events)


@pytest.mark.parametrize("kwargs, match", [
    ({"exception_type": ""}, "exception_type"),
    ({"exception_type": "BadRequestException", "at": -1}, "at must be"),
    ({"exception_type": "BadRequestException", "at": float("nan")}, "at must be"),
    ({"exception_type": "BadRequestException", "at": True}, "at must be"),
])
def test_fault_arguments_are_checked(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Fault(**kwargs)


# --------------------------------------------------------------------------- what the service refuses


def _signed(server, **params):
    """A URL signed by hand, as a careless client would make it (our presigned_url validates)."""
    params = {"media-encoding": "pcm", "sample-rate": 16000, **params}
    return presign_url(server.endpoint + t.STREAM_PATH, service="transcribe", region="us-east-1",
                       credentials=CREDS, params=params)


@pytest.mark.parametrize("params, message", [
    ({"language-code": "xx-XX"}, "Value 'xx-XX' at 'languageCode' failed to satisfy constraint: Member must "
                                 "satisfy enum value set: [en-US, en-GB"),
    ({"identify-language": "true", "language-options": "en-US,tlh-QO"}, "Value 'tlh-QO' at 'languageOptions'"),
    ({"language-code": "en-US", "media-encoding": "mp3"}, "at 'mediaEncoding' failed to satisfy"),
    ({"language-code": "en-US", "identify-language": "true", "language-options": "en-US,fr-FR"}, "Exactly one of"),
    ({"language-code": "fr-FR", "content-redaction-type": "PII"}, "PII identification and redaction need"),
    ({"language-code": "en-US", "session-id": "not-a-uuid"}, "at 'sessionId' failed to satisfy"),
    ({"language-code": "en-US", "partial-results-stability": "high"}, "needs enable-partial-results-stabilization"),
])
def test_parameters_the_service_refuses(params, message):
    async def main():
        async with FakeTranscribeServer(credentials=CREDS) as server:
            async with t.TranscribeSession(_signed(server, **params)) as session:
                with pytest.raises(t.BadRequestException) as info:
                    _ = [e async for e in session]
            return info.value, server.sessions[0]

    err, record = run(main())
    assert message in err.message and record.error == "BadRequestException" and record.reason == err.message


def test_every_language_of_the_model_is_accepted():
    assert len(LANGUAGES) == len(set(LANGUAGES)) == 99 and "en-US" in LANGUAGES and "ckb-IQ" in LANGUAGES

    async def main():
        async with FakeTranscribeServer(credentials=CREDS) as server:
            for code in ("ckb-IQ", "zu-ZA", "en-AB"):
                await transcribe(server, 0.1, language_code=code)
            return server.sessions

    assert [s.error for s in run(main())] == [None, None, None]


@pytest.mark.parametrize("headers, message", [
    ({":content-type": "audio/wav"}, "got 'audio/wav'"),
    ({}, "got None"),
])
def test_an_audio_event_must_be_octet_stream(headers, message):
    async def main():
        async with FakeTranscribeServer(credentials=CREDS) as server:
            async with t.TranscribeSession(server.presigned_url(language_code="en-US")) as session:
                await session.send_frame(encode({":event-type": "AudioEvent", ":message-type": "event", **headers},
                                                bytes(640)))
                with pytest.raises(t.BadRequestException) as info:
                    _ = [e async for e in session]
            return info.value

    err = run(main())
    assert "application/octet-stream" in err.message and message in err.message


def test_an_audio_chunk_over_one_second_is_refused():
    """API reference, AudioEvent.AudioChunk: at most 1 s of audio per chunk."""
    async def main():
        async with FakeTranscribeServer(credentials=CREDS) as server:
            await transcribe(server, 1.0, chunk=1.0)  # exactly the limit
            with pytest.raises(t.BadRequestException, match="1001 ms of audio; the maximum is 1000 ms"):
                async with t.TranscribeSession(server.presigned_url(language_code="en-US", sample_rate=8000)) as s:
                    await s.send_audio(bytes(16016))  # 1.001 s at 8 kHz
                    _ = [e async for e in s]
            async with FakeTranscribeServer(credentials=CREDS, max_chunk=None) as unlimited:
                await transcribe(unlimited, 3.0, chunk=3.0)
            return server.sessions, unlimited.sessions

    sessions, unlimited = run(main())
    assert [s.error for s in sessions] == [None, "BadRequestException"] and unlimited[0].error is None


def test_silence_ends_the_stream():
    async def main():
        async with FakeTranscribeServer(credentials=CREDS, silence_timeout=0.2) as server:
            async with t.TranscribeSession(server.presigned_url(language_code="en-US")) as session:
                await session.send_audio(bytes(640))
                with pytest.raises(t.BadRequestException) as info:
                    _ = [e async for e in session]
            return info.value, server.sessions[0]

    err, record = run(main())
    assert err.message == "Your request timed out because no new audio was received for 0.2 seconds."
    assert record.error == "BadRequestException" and not record.ended_cleanly
    # the service's own wording at its own timeout
    from aws_eventstream.testing._facts import SILENCE_MESSAGE, SILENCE_TIMEOUT
    assert SILENCE_MESSAGE.format(seconds=SILENCE_TIMEOUT) == \
        "Your request timed out because no new audio was received for 15 seconds."


# --------------------------------------------------------------------------- results


def test_stable_appears_only_with_partial_results_stabilization():
    script = Script.from_text("one two three four")

    async def main():
        async with FakeTranscribeServer(credentials=CREDS, transcript=script) as server:
            plain = await transcribe(server)
            stable = {level: await transcribe(server, enable_partial_results_stabilization=True,
                                              partial_results_stability=level) for level in ("high", "low")}
            return plain, stable

    plain, stable = run(main())
    assert all(i.stable is None for r in results(plain) for a in r.alternatives for i in a.items)
    for level, lag in (("high", 1), ("low", 3)):
        partials = [r for r in results(stable[level]) if r.is_partial]
        last = partials[-1].alternatives[0].items
        assert [i.stable for i in last] == [True] * (len(last) - lag) + [False] * lag
        final = [r for r in results(stable[level]) if not r.is_partial][0]
        assert all(i.stable for i in final.alternatives[0].items)


def test_items_confidence_and_punctuation():
    async def main():
        async with FakeTranscribeServer(credentials=CREDS, transcript="Well, hello there.") as server:
            return await transcribe(server)

    res = results(run(main()))
    partial, final = res[-2], res[-1]
    assert final.transcript == "Well, hello there." and not final.is_partial
    items = final.alternatives[0].items
    assert [(i.content, i.type) for i in items] == [
        ("Well", "pronunciation"), (",", "punctuation"), ("hello", "pronunciation"), ("there", "pronunciation"),
        (".", "punctuation")]
    assert all(i.confidence is not None for i in items)
    assert items[1].start_time == items[1].end_time == items[0].end_time
    assert all(i.confidence is None for i in partial.alternatives[0].items)


def test_speaker_labels_on_final_results():
    """Diarization (streaming): labels "0", "1"... appear for entirely transcribed segments."""
    script = Script.from_text("Hi there.", speaker="0").then("Hello.", speaker="1")

    async def main():
        async with FakeTranscribeServer(credentials=CREDS, transcript=script) as server:
            return await transcribe(server, 3.0, show_speaker_label=True), await transcribe(server, 3.0)

    labelled, plain = run(main())
    finals = [r for r in results(labelled) if not r.is_partial]
    assert [[i.speaker for i in r.alternatives[0].items] for r in finals] == [["0", "0", "0"], ["1", "1"]]
    assert all(i.speaker is None for r in results(labelled) if r.is_partial for i in r.alternatives[0].items)
    assert all(i.speaker is None for r in results(plain) for i in r.alternatives[0].items)


@pytest.mark.parametrize("mode", ["identification", "redaction"])
def test_pii_entities_on_final_results(mode):
    script = Script.from_text("I am Jane Doe from Ohio.", pii={"Jane": "NAME", "Doe": "NAME", "Ohio": "ADDRESS"})
    kwargs = {"content_identification_type" if mode == "identification" else "content_redaction_type": "PII"}

    async def main():
        async with FakeTranscribeServer(credentials=CREDS, transcript=script) as server:
            every = await transcribe(server, 3.0, **kwargs)
            names = await transcribe(server, 3.0, pii_entity_types=["NAME"], **kwargs)
            return every, names

    every, names = run(main())
    final = [r for r in results(every) if not r.is_partial][0]
    entities = final.alternatives[0].entities
    assert [(e.type, e.category) for e in entities] == [("NAME", "PII"), ("NAME", "PII"), ("ADDRESS", "PII")]
    if mode == "redaction":
        assert final.transcript == "I am [NAME] [NAME] from [ADDRESS]."
        assert [e.content for e in entities] == ["[NAME]", "[NAME]", "[ADDRESS]"]
    else:
        assert final.transcript == "I am Jane Doe from Ohio."
        assert [e.content for e in entities] == ["Jane", "Doe", "Ohio"]
    # "only upon complete transcription of the audio segments": partials are left alone
    assert all(not r.alternatives[0].entities and "[" not in r.transcript for r in results(every) if r.is_partial)
    only_names = [r for r in results(names) if not r.is_partial][0]
    assert [e.type for e in only_names.alternatives[0].entities] == ["NAME", "NAME"]
    assert "Ohio" in only_names.transcript


def test_language_identification():
    script = Script.from_text("Bonjour tout le monde.", language="fr-FR").then("Hello everyone.", language="en-US")

    async def main():
        async with FakeTranscribeServer(credentials=CREDS, transcript=script) as server:
            single = await transcribe(server, 4.0, language_code=None, identify_language=True,
                                      language_options=["en-US", "fr-FR"])
            multiple = await transcribe(server, 4.0, language_code=None, identify_multiple_languages=True,
                                        language_options=["en-US", "fr-FR"])
            fixed = await transcribe(server, 4.0)
            return single, multiple, fixed, raw_results(single)

    single, multiple, fixed, raw = run(main())
    assert {r.language_code for r in results(single)} == {"fr-FR"}
    assert [r.language_code for r in results(multiple) if not r.is_partial] == ["fr-FR", "en-US"]
    assert all(r.language_code is None for r in results(fixed))
    scores = raw[-1]["LanguageIdentification"]
    assert [s["LanguageCode"] for s in scores] == ["fr-FR", "en-US"] and scores[0]["Score"] > scores[1]["Score"]


def test_channel_identification_gives_a_result_per_channel_in_one_event():
    script = Script.of([(0.1, 0.4, "left", {"channel": 0}), (0.2, 0.4, "right", {"channel": 1})])

    async def main():
        async with FakeTranscribeServer(credentials=CREDS, transcript=script) as server:
            both = await transcribe(server, 1.0, channels=2, enable_channel_identification=True)
            mixed = await transcribe(server, 1.0)
            return both, mixed

    both, mixed = run(main())
    assert [[(r.channel_id, r.transcript, r.is_partial) for r in e.results] for e in both] == [
        [("ch_0", "left", True), ("ch_1", "right", True)], [("ch_0", "left", False), ("ch_1", "right", False)]]
    assert {r.channel_id for r in results(mixed)} == {"ch_0"} and results(mixed)[-1].transcript == "left right"


def test_result_ids_are_random_uuids_and_a_seed_repeats_everything():
    async def main(seed):
        async with FakeTranscribeServer(credentials=CREDS, seed=seed, transcript="One. Two. Three.") as server:
            events = await transcribe(server, 4.0)
            return [e.raw for e in events], server.sessions[0].request_id

    a, b, c = run(main(7)), run(main(7)), run(main(8))
    assert a == b and a[0] != c[0]
    ids = [r["ResultId"] for e in a[0] for r in e["Transcript"]["Results"]]
    assert len(set(ids)) == 3 and all(uuid.UUID(i).version == 4 for i in ids)


def test_silence_brings_empty_results_events():
    async def main():
        async with FakeTranscribeServer(credentials=CREDS, transcript=Script.of([(2.5, 2.8, "late")])) as server:
            some = await transcribe(server, 3.0)
        async with FakeTranscribeServer(credentials=CREDS, silence_events=None, transcript="") as server:
            none = await transcribe(server, 3.0)
        return some, none

    some, none = run(main())
    assert [len(e.results) for e in some] == [0, 0, 1, 1]  # at 1 s and 2 s, then "late"
    assert none == []


# --------------------------------------------------------------------------- time from the audio


@pytest.mark.parametrize("rate, channels", [(8000, 1), (16000, 1), (48000, 1), (16000, 2)])
def test_audio_time_comes_from_the_pcm_bytes(rate, channels):
    script = Script.of([(0.5, 0.9, "hello")])

    async def main():
        async with FakeTranscribeServer(credentials=CREDS, transcript=script) as server:
            events = await transcribe(server, 2.0, chunk=0.02, rate=rate, channels=channels)
            return events, server.sessions[0]

    events, record = run(main())
    assert record.audio_frames == 100 and record.audio_seconds == pytest.approx(2.0)
    assert [(r.start_time, r.end_time, r.is_partial) for r in results(events)] == [(0.5, 0.9, True),
                                                                                 (0.5, 0.9, False)]


@pytest.mark.parametrize("name, encoding, rate, seconds", [
    ("tone-16k-mono-2s.opus", "ogg-opus", 16000, 2.0),
    ("tone-16k-mono-2s.flac", "flac", 16000, 2.0),
    ("tones-44k-stereo-1.5s.flac", "flac", 44100, 1.5),
])
@pytest.mark.parametrize("chunk", [1 << 20, 1000, 61])
def test_audio_time_of_compressed_audio(name, encoding, rate, seconds, chunk):
    """Files encoded by libsndfile (tests/data/audio): their duration, at any chunking."""
    data = (AUDIO / name).read_bytes()
    clock = AudioClock(encoding, rate, 2 if "stereo" in name else 1)
    seen = []
    for i in range(0, len(data), chunk):
        clock.chunk_seconds(data[i:i + chunk])
        seen.append(clock.seconds)
    assert clock.seconds == pytest.approx(seconds, abs=1e-6)
    assert seen == sorted(seen) and clock.bytes == len(data)


def test_a_stream_of_flac_over_the_wire():
    data = (AUDIO / "tone-16k-mono-2s.flac").read_bytes()

    async def main():
        async with FakeTranscribeServer(credentials=CREDS, transcript=Script.of([(1.0, 1.5, "tone")])) as server:
            async with t.TranscribeSession(server.presigned_url(language_code="en-US",
                                                                media_encoding="flac")) as session:
                for i in range(0, len(data), 2000):
                    await session.send_audio(data[i:i + 2000])
                await session.end()
                return [e async for e in session], server.sessions[0]

    events, record = run(main())
    assert record.audio_seconds == pytest.approx(2.0) and results(events)[-1].transcript == "tone"


# --------------------------------------------------------------------------- pacing


def test_realtime_pacing_holds_results_until_their_audio_time():
    script = Script.of([(0.1, 0.3, "one"), (0.9, 1.0, "two")])

    async def main():
        async with FakeTranscribeServer(credentials=CREDS, transcript=script, pacing="realtime",
                                        latency=0.2) as server:
            async with t.TranscribeSession(server.presigned_url(language_code="en-US")) as session:
                started = time.monotonic()
                for _ in range(3):  # 1.5 s at once
                    await session.send_audio(bytes(SECOND // 2))
                await session.end()
                arrivals = []
                async for event in session:
                    arrivals.append((time.monotonic() - started, [r.transcript for r in event.results]))
            return arrivals

    arrivals = run(main())
    assert [text for _, text in arrivals] == [["one"], ["one"], ["two"], ["two"]]
    # 1.5 s of audio sent at once: each result waits for the real time of the chunk that made
    # it due (0.5 s, 1 s, 1 s, 1.5 s) plus the latency
    assert all(at >= due + 0.2 - 0.02 for (at, _), due in zip(arrivals, (0.5, 1.0, 1.0, 1.5)))


def test_pacing_and_other_arguments_are_checked():
    for kwargs, match in (({"pacing": "fast"}, "pacing"), ({"auth_failure": "silent"}, "auth_failure"),
                          ({"latency": -1}, "latency"), ({"silence_timeout": float("inf")}, "silence_timeout"),
                          ({"max_chunk": "1"}, "max_chunk"), ({"server_name": "bad name"}, "server_name"),
                          ({"silence_timeout": 0}, "silence_timeout"), ({"latency": 10**400}, "latency"),
                          ({"echo": "yes"}, "echo"), ({"region": "not a region"}, "region")):
        with pytest.raises(ValueError, match=match):
            FakeTranscribeServer(credentials=CREDS, **kwargs)
    with pytest.raises(TypeError, match="credentials"):
        FakeTranscribeServer(credentials=("AKID", "secret"))


# --------------------------------------------------------------------------- scripts


def test_scripts_from_text_tuples_and_then():
    script = Script.from_text("Hi, Jane.", speaker="0", pii={"Jane": "NAME"}).then([(0, 0.2, "ok", {"speaker": "1"})])
    assert [(w.text, w.speaker, w.pii) for w in script.words] == [("Hi,", "0", None), ("Jane.", "0", "NAME"),
                                                                   ("ok", "1", None)]
    assert script.words[2].start == pytest.approx(script.words[1].end + 0.8)
    assert Script.of(script) is script and Script.of("a b").words[1].text == "b"
    assert [len(s) for s in Script.from_text("a b. c").segments()[0]] == [2, 1]


@pytest.mark.parametrize("bad, match", [
    (lambda: Word(0.5, 0.2, "x"), "start <= end"),
    (lambda: Word(0, 1, "two words"), "one non-empty token"),
    (lambda: Word(0, 1, "..."), "one non-empty token"),
    (lambda: Word(0, float("inf"), "x"), "finite"),
    (lambda: Word(0, 1, "x", channel=2), "channel"),
    (lambda: Word(0, 1, "x", pii="name"), "entity type"),
    (lambda: Word(0, 1, "x", confidence=2), "confidence"),
    (lambda: Script.of([(0, 1)]), "timed word"),
    (lambda: Script(segment_pause=0), "segment_pause"),
    (lambda: Script(("x",)), "takes Word objects"),
    (lambda: Word(0, 10**400, "x"), "end must be a finite"),
    (lambda: Word(0, 1, "tab\tseparated"), "one non-empty token"),
    (lambda: Word(0, 1, "x", speaker=0), "speaker must be"),
    (lambda: Word(0, 1, "x", pii="NAME\n"), "pii must be"),
    (lambda: Word(0, 1, "x", language="english"), "language must be"),
    (lambda: Fault("BadRequestException", session=True), "session must be"),
    (lambda: Fault("BadRequestException", session="0"), "session must be"),
    (lambda: Fault("BadRequestException", message=5), "message must be"),
    (lambda: Fault("Bad Request"), "exception_type"),
])
def test_script_arguments_are_checked(bad, match):
    with pytest.raises(ValueError, match=match):
        bad()


def test_a_script_per_session_from_its_parameters():
    def per_session(params):
        return "Bonjour." if params["language-code"] == "fr-FR" else "Hello."

    async def main():
        async with FakeTranscribeServer(credentials=CREDS, transcript=per_session) as server:
            return await transcribe(server, 2.0, language_code="fr-FR"), await transcribe(server, 2.0)

    fr, en = run(main())
    assert results(fr)[-1].transcript == "Bonjour." and results(en)[-1].transcript == "Hello."


def test_a_frame_decoder_reads_every_event_the_server_sends():
    """Frames are whole event-stream messages: any decoder reads them back (botocore's is in test_clients)."""
    async def main():
        async with FakeTranscribeServer(credentials=CREDS, transcript="Hi.") as server:
            async with connect(server.presigned_url(language_code="en-US"), proxy=None) as ws:
                await ws.send(t.audio_event(bytes(SECOND)))
                await ws.send(t.END_OF_STREAM)
                return [m async for m in ws]

    frames = run(main())
    decoder = Decoder()
    bodies = [json.loads(m.payload) for f in frames for m in decoder.feed(f)]
    assert bodies[-1]["Transcript"]["Results"][0]["IsPartial"] is False


def test_hand_made_frames_read_back_as_typed_results_and_errors():
    from aws_eventstream.testing import exception_frame, transcript_event, transcript_frame

    stream = t.TranscriptStream()
    (event,) = stream.feed(transcript_event(["a", "b"], result_id="r1", start=1.0, end=2.0, partial=False,
                                            language_code="en-US"))
    (result,) = event.results
    assert (result.transcript, result.result_id, result.language_code, result.is_partial) == ("a b", "r1", "en-US",
                                                                                              False)
    assert [(i.start_time, i.end_time, i.confidence) for i in result.alternatives[0].items] == [(1.0, 1.5, 1.0),
                                                                                                (1.5, 2.0, 1.0)]
    assert stream.feed(transcript_frame([]))[0].results == ()
    with pytest.raises(t.LimitExceededException, match="too many"):
        stream.feed(exception_frame("LimitExceededException", "too many"))


def test_medical_results_have_the_medical_shapes():
    """Model: MedicalItem has no VocabularyFilterMatch; MedicalEntity is PHI and has no Type."""
    script = Script.from_text("Patient John has a cough.", pii={"John": "NAME"})

    async def main():
        async with FakeTranscribeServer(credentials=CREDS, transcript=script) as server:
            async with t.TranscribeSession(server.presigned_url(medical=True,
                                                                content_identification_type="PHI")) as session:
                for _ in range(30):
                    await session.send_audio(bytes(SECOND // 10))
                await session.end()
                return [e async for e in session]

    raw = raw_results(run(main()))
    final = raw[-1]
    assert final["IsPartial"] is False and final["Alternatives"][0]["Transcript"] == "Patient John has a cough."
    assert all("VocabularyFilterMatch" not in i and "Stable" not in i for r in raw for i in r["Alternatives"][0]["Items"])
    assert final["Alternatives"][0]["Entities"] == [{"Category": "PHI", "Confidence": 0.98, "Content": "John",
                                                     "EndTime": 0.95, "StartTime": 0.65}]


# --------------------------------------------------------------------------- hostile clients


def test_a_sample_rate_in_other_digits_is_a_bad_request():
    async def main():
        async with FakeTranscribeServer(credentials=CREDS) as server:
            async with t.TranscribeSession(_signed(server, **{"language-code": "en-US", "sample-rate": "\u00b2"})) as s:
                with pytest.raises(t.BadRequestException, match="whole number of hertz"):
                    _ = [e async for e in s]
            return server.sessions[0]

    assert run(main()).error == "BadRequestException"


def test_the_session_id_the_server_made_up_is_the_one_that_conflicts():
    async def main():
        async with FakeTranscribeServer(credentials=CREDS) as server:
            async with connect(server.presigned_url(language_code="en-US"), proxy=None) as first:
                made_up = first.response.headers["x-amzn-SessionId"]
                await transcribe(server, 0.5, session_id=made_up)
                frame = decode(await first.recv())
            return frame, server.sessions

    frame, sessions = run(main())
    assert frame.headers[":exception-type"] == "ConflictException"
    assert sessions[0].session_id == sessions[1].session_id and sessions[0].error == "ConflictException"


@pytest.mark.parametrize("pacing", ["audio", "realtime"])
def test_a_client_that_reads_nothing_is_dropped_and_does_not_hold_the_server(pacing, caplog):
    async def main():
        server = FakeTranscribeServer(credentials=CREDS, echo=True, silence_timeout=0.5, pacing=pacing, latency=0)
        await server.start()
        ws = await connect(server.presigned_url(language_code="en-US"), proxy=None, max_queue=1)
        ws.transport.pause_reading()  # reads nothing from here on
        for i in range(4000):
            try:
                await asyncio.wait_for(ws.send(t.audio_event(f"word{i} ".encode() * 50)), 1.0)
            except (asyncio.TimeoutError, ConnectionClosed):
                break
        for _ in range(100):
            if server.sessions[0].error:
                break
            await asyncio.sleep(0.05)
        started = time.monotonic()
        await server.stop()
        stopping = time.monotonic() - started
        ws.transport.abort()
        return server.sessions[0], stopping

    record, stopping = run(main())
    assert record.error == "stalled" and "read no result for 0.5 s" in record.reason
    assert stopping < 10
    assert not [r for r in caplog.records if r.levelname == "ERROR"]  # no task failed unseen
