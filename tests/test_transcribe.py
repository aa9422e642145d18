"""Amazon Transcribe: presigned URLs, audio frames, and server frames end to end."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import textwrap

import pytest

from aws_eventstream import FrameError, Int32, Message
from aws_eventstream import transcribe as t
from aws_eventstream.auth import Credentials, check_region, presign_url, sign_request
from aws_eventstream.signing import EventSigner
from sigv4_oracle import assert_signed_like_botocore, query

CREDS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "session/token+=")
NOW = dt.datetime(2026, 11, 23, 9, 30, tzinfo=dt.timezone.utc)


def _url(**kwargs):
    args = dict(region="us-west-2", credentials=CREDS, now=NOW)
    args.update(kwargs)
    return t.presigned_url(**args)


# --------------------------------------------------------------------------- URLs


def test_minimal_url():
    url = _url(language_code="en-US")
    assert url.startswith("wss://transcribestreaming.us-west-2.amazonaws.com:8443/stream-transcription-websocket?")
    q = query(url)
    assert {k: v for k, v in q.items() if not k.startswith("X-Amz-")} == {
        "language-code": "en-US", "media-encoding": "pcm", "sample-rate": "16000"}
    assert q["X-Amz-Expires"] == "300"
    assert_signed_like_botocore(url, CREDS, "us-west-2")


def test_every_parameter():
    url = _url(language_code="en-US", media_encoding="ogg-opus", sample_rate=48000, number_of_channels=2,
               enable_channel_identification=True, show_speaker_label=True,
               enable_partial_results_stabilization=True, partial_results_stability="medium",
               vocabulary_name="my-vocab", vocabulary_filter_name="my.filter", vocabulary_filter_method="mask",
               language_model_name="model_1", content_redaction_type="PII", pii_entity_types=["NAME", "SSN"],
               session_id="12345678-1234-5678-1234-567812345678", expires=60)
    q = query(url)
    assert q["media-encoding"] == "ogg-opus" and q["sample-rate"] == "48000"
    assert q["number-of-channels"] == "2" and q["enable-channel-identification"] == "true"
    assert q["show-speaker-label"] == "true" and q["enable-partial-results-stabilization"] == "true"
    assert q["partial-results-stability"] == "medium" and q["vocabulary-filter-method"] == "mask"
    assert q["vocabulary-name"] == "my-vocab" and q["vocabulary-filter-name"] == "my.filter"
    assert q["language-model-name"] == "model_1" and q["content-redaction-type"] == "PII"
    assert q["pii-entity-types"] == "NAME,SSN" and q["session-id"] == "12345678-1234-5678-1234-567812345678"
    assert q["X-Amz-Expires"] == "60"
    assert_signed_like_botocore(url, CREDS, "us-west-2")


def test_language_identification():
    url = _url(identify_language=True, language_options=["en-US", "es-US", "fr-CA"],
               preferred_language="es-US", vocabulary_names=["v-en", "v-es"],
               vocabulary_filter_names="f-en,f-es")
    q = query(url)
    assert q["identify-language"] == "true" and q["language-options"] == "en-US,es-US,fr-CA"
    assert q["preferred-language"] == "es-US" and "language-code" not in q
    assert q["vocabulary-names"] == "v-en,v-es" and q["vocabulary-filter-names"] == "f-en,f-es"
    assert_signed_like_botocore(url, CREDS, "us-west-2")
    q = query(_url(identify_multiple_languages=True, language_options=["en-US", "de-DE"],
                   content_identification_type="PII"))
    assert q["identify-multiple-languages"] == "true" and q["content-identification-type"] == "PII"


@pytest.mark.parametrize("kwargs, match", [
    ({}, "exactly one of language-code"),
    ({"language_code": "en-US", "identify_language": True, "language_options": ["en-US", "de-DE"]},
     "exactly one.*language-code, identify-language"),
    ({"identify_language": True, "identify_multiple_languages": True, "language_options": ["en-US", "de-DE"]},
     "exactly one"),
    ({"identify_language": True}, "identify-language needs language-options"),
    ({"identify_language": True, "language_options": ["en-US"]}, "language-options needs at least two"),
    ({"identify_language": True, "language_options": ["en-US", "en-US"]}, "language-options"),
    ({"language_code": "en-US", "language_options": ["en-US", "de-DE"]}, "language-options goes with"),
    ({"identify_language": True, "language_options": ["en-US", "de-DE"], "preferred_language": "fr-FR"},
     "preferred-language"),
    ({"language_code": "english"}, "language-code"),
    ({"language_code": "en-US", "sample_rate": 7999}, "sample-rate"),
    ({"language_code": "en-US", "sample_rate": 48001}, "sample-rate"),
    ({"language_code": "en-US", "sample_rate": 16000.0}, "sample-rate"),
    ({"language_code": "en-US", "media_encoding": "mp3"}, "media-encoding"),
    ({"language_code": "en-US", "number_of_channels": 3}, "number-of-channels"),
    ({"language_code": "en-US", "enable_channel_identification": True}, "number-of-channels=2"),
    ({"language_code": "en-US", "partial_results_stability": "high"}, "enable-partial-results-stabilization"),
    ({"language_code": "en-US", "enable_partial_results_stabilization": True,
      "partial_results_stability": "max"}, "partial-results-stability"),
    ({"language_code": "en-US", "vocabulary_names": ["a", "b"]}, "vocabulary-names"),
    ({"language_code": "en-US", "vocabulary_name": "a", "vocabulary_names": ["b"]}, "vocabulary-name or"),
    ({"language_code": "en-US", "vocabulary_name": "bad name!"}, "vocabulary-name"),
    ({"language_code": "en-US", "vocabulary_filter_method": "mask"}, "vocabulary-filter-method needs"),
    ({"language_code": "en-US", "vocabulary_filter_name": "f", "vocabulary_filter_method": "drop"},
     "vocabulary-filter-method"),
    ({"identify_language": True, "language_options": ["en-US", "de-DE"], "language_model_name": "m"},
     "language-model-name"),
    ({"language_code": "en-US", "content_identification_type": "PII", "content_redaction_type": "PII"},
     "not both"),
    ({"language_code": "en-US", "content_redaction_type": "PHI"}, "content-redaction-type"),
    ({"language_code": "en-US", "pii_entity_types": ["NAME"]}, "pii-entity-types needs"),
    ({"language_code": "en-US", "session_id": "not-a-uuid"}, "session-id"),
    ({"language_code": "en-US", "expires": 0}, "expires"),
    ({"language_code": "en-US", "expires": 301}, "expires"),
    ({"language_code": "en-US", "show_speaker_label": "yes"}, "show-speaker-label"),
    ({"language_code": "en-US", "region": "nowhere"}, "region"),
    ({"language_code": "en-US", "endpoint": "ftp://x"}, "endpoint"),
])
def test_invalid_combinations_name_the_parameter(kwargs, match):
    with pytest.raises(ValueError, match=match):
        _url(**kwargs)


def test_endpoints():
    assert t.endpoint_for("cn-north-1") == \
        "wss://transcribestreaming.cn-north-1.amazonaws.com.cn:8443/stream-transcription-websocket"
    assert t.endpoint_for("us-gov-west-1", fips=True).startswith("wss://transcribestreaming-fips.us-gov-west-1.")
    local = _url(language_code="en-US", endpoint="ws://127.0.0.1:8765")
    assert local.startswith("ws://127.0.0.1:8765/stream-transcription-websocket?")
    assert_signed_like_botocore(local, CREDS, "us-west-2")
    custom = _url(language_code="en-US", endpoint="wss://vpce-1.example.com/custom/path")
    assert custom.startswith("wss://vpce-1.example.com/custom/path?")
    fips = _url(language_code="en-US", fips=True)
    assert fips.startswith("wss://transcribestreaming-fips.us-west-2.amazonaws.com:8443/")


def test_medical_url():
    url = t.medical_presigned_url(region="us-east-1", credentials=CREDS, specialty="CARDIOLOGY",
                                  type="DICTATION", content_identification_type="PHI", now=NOW)
    assert url.startswith("wss://transcribestreaming.us-east-1.amazonaws.com:8443/medical-stream-transcription-websocket?")
    q = query(url)
    assert (q["specialty"], q["type"], q["language-code"], q["content-identification-type"]) == (
        "CARDIOLOGY", "DICTATION", "en-US", "PHI")
    assert_signed_like_botocore(url, CREDS, "us-east-1")
    for kwargs, match in (({"specialty": "DENTAL"}, "specialty"), ({"type": "CHAT"}, "type"),
                          ({"language_code": "de-DE"}, "en-US"), ({"expires": 600}, "expires")):
        args = dict(region="us-east-1", credentials=CREDS, specialty="ONCOLOGY", type="CONVERSATION")
        args.update(kwargs)
        with pytest.raises(ValueError, match=match):
            t.medical_presigned_url(**args)


def test_url_never_contains_the_secret():
    assert CREDS.secret_key not in _url(language_code="en-US")


# Names auth.py took and transcribe.py refused when each had its own region check: real
# regions of newer partitions, and shapes that name no region.
@pytest.mark.parametrize("region, ok", [
    ("us-west-2", True), ("us-gov-west-1", True), ("cn-north-1", True), ("us-isob-east-1", True),
    ("eu-isoe-west-1", True), ("eusc-de-east-1", True), ("region-name", True),
    ("nowhere", False), ("local", False), ("us-east-1-", False), ("us--east-1", False),
    ("US-EAST-1", False), ("us_east_1", False), ("us-east-1/../x", False), ("", False), (None, False),
])
def test_one_region_check_for_signing_and_endpoints(region, ok):
    def outcome(call):
        try:
            call()
        except ValueError as exc:
            assert "region" in str(exc)
            return False
        return True

    local = "ws://127.0.0.1:8765"
    answers = {
        "check_region": outcome(lambda: check_region(region)),
        "presign_url": outcome(lambda: presign_url(local, service="transcribe", region=region, credentials=CREDS)),
        "sign_request": outcome(lambda: sign_request("GET", local, service="transcribe", region=region,
                                                     credentials=CREDS)),
        "EventSigner": outcome(lambda: EventSigner(credentials=CREDS, region=region, service="transcribe",
                                                   seed_signature=b"")),
        "endpoint_for": outcome(lambda: t.endpoint_for(region)),
        "presigned_url": outcome(lambda: _url(region=region, language_code="en-US")),
        "presigned_url to an endpoint": outcome(lambda: _url(region=region, language_code="en-US", endpoint=local)),
    }
    assert answers == dict.fromkeys(answers, ok)


def test_the_sans_io_part_imports_without_websockets():
    """URLs, frames and events need no websockets; only a session's connect asks for it."""
    code = textwrap.dedent("""
        import asyncio, sys
        sys.modules["websockets"] = None  # any import of websockets now fails
        from aws_eventstream import transcribe as t
        from aws_eventstream.auth import Credentials
        url = t.presigned_url(region="us-west-2", credentials=Credentials("AKID", "secret"),
                              language_code="en-US")
        (event,) = t.TranscriptStream().feed(t.audio_event(b"pcm"))
        assert url.startswith("wss://") and event.event_type == "AudioEvent"
        try:
            asyncio.run(t.TranscribeSession(url).connect())
        except ImportError as exc:
            print(exc)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "websockets" in out.stdout and "pip install" in out.stdout


# --------------------------------------------------------------------------- audio frames


def test_audio_frames(codec):
    pcm = bytes(range(256)) * 12
    frame = t.audio_event(pcm)
    assert frame == codec.encode(t.AUDIO_HEADERS, pcm)
    msg = codec.decode(frame)
    assert list(msg.headers) == [":content-type", ":event-type", ":message-type"]
    assert msg.headers[":event-type"] == "AudioEvent" and msg.payload == pcm
    end = codec.decode(t.END_OF_STREAM)
    assert end.payload == b"" and end.headers == t.AUDIO_HEADERS
    assert t.audio_event(memoryview(pcm)) == frame


# --------------------------------------------------------------------------- server frames

TRANSCRIPT = {"Transcript": {"Results": [{
    "Alternatives": [{"Items": [
        {"Content": "hello", "StartTime": 0.1, "EndTime": 0.4, "Type": "pronunciation",
         "Confidence": 0.98, "Speaker": "0", "Stable": True, "VocabularyFilterMatch": False}],
        "Transcript": "hello"}],
    "ChannelId": "ch_0", "EndTime": 0.4, "IsPartial": False, "ResultId": "r-1", "StartTime": 0.1,
    "LanguageCode": "en-US",
}]}}


def _event(codec, event_type, body):
    return codec.encode({":event-type": event_type, ":content-type": "application/json",
                         ":message-type": "event"}, json.dumps(body).encode())


def _exception(codec, exception_type, message):
    return codec.encode({":exception-type": exception_type, ":content-type": "application/json",
                         ":message-type": "exception"}, json.dumps({"Message": message}).encode())


def test_transcript_event(codec):
    event = t.parse_message(codec.decode(_event(codec, "TranscriptEvent", TRANSCRIPT)))
    assert isinstance(event, t.TranscriptEvent)
    (result,) = event.results
    assert (result.result_id, result.is_partial, result.channel_id, result.language_code) == (
        "r-1", False, "ch_0", "en-US")
    assert result.transcript == "hello" and result.start_time == 0.1 and result.end_time == 0.4
    (item,) = result.alternatives[0].items
    assert (item.content, item.confidence, item.speaker, item.stable) == ("hello", 0.98, "0", True)
    assert event.raw == TRANSCRIPT
    empty = t.parse_message(codec.decode(_event(codec, "TranscriptEvent", {"Transcript": {"Results": []}})))
    assert empty.results == ()


@pytest.mark.parametrize("name", ["BadRequestException", "LimitExceededException", "InternalFailureException",
                                  "ConflictException", "ServiceUnavailableException"])
def test_each_exception_type_is_typed(codec, name):
    frame = _exception(codec, name, f"{name} happened here")
    with pytest.raises(getattr(t, name)) as info:
        t.parse_message(codec.decode(frame))
    assert info.value.message == f"{name} happened here"
    assert info.value.exception_type == name and isinstance(info.value, t.TranscribeServiceError)
    assert name in str(info.value) and "happened here" in str(info.value)


def test_unknown_exception_type_keeps_its_name(codec):
    with pytest.raises(t.UnknownServiceException) as info:
        t.parse_message(codec.decode(_exception(codec, "BrandNewException", "new")))
    assert info.value.exception_type == "BrandNewException" and info.value.message == "new"
    plain = codec.encode({":exception-type": "BadRequestException", ":message-type": "exception"}, b"plain text")
    with pytest.raises(t.BadRequestException, match="plain text"):
        t.parse_message(codec.decode(plain))


def test_error_frame_raises(codec):
    frame = codec.encode({":error-code": "InternalError", ":error-message": "it broke",
                          ":message-type": "error"})
    with pytest.raises(t.TranscribeErrorFrame) as info:
        t.parse_message(codec.decode(frame))
    assert (info.value.code, info.value.message) == ("InternalError", "it broke")


def test_nothing_is_dropped(codec):
    other = t.parse_message(codec.decode(codec.encode({":event-type": "Other", ":message-type": "event"}, b"x")))
    assert isinstance(other, t.UnknownEvent) and other.event_type == "Other" and other.payload == b"x"
    with pytest.raises(t.TranscribeProtocolError, match="message-type"):
        t.parse_message(Message({":event-type": "TranscriptEvent"}, b"{}"))
    with pytest.raises(t.TranscribeProtocolError, match="JSON"):
        t.parse_message(codec.decode(codec.encode({":event-type": "TranscriptEvent", ":message-type": "event"},
                                                  b"not json")))
    with pytest.raises(t.TranscribeProtocolError, match="^TranscriptEvent: Transcript: expected an object, got a number$"):
        t.parse_message(codec.decode(_event(codec, "TranscriptEvent", {"Transcript": 5})))
    with pytest.raises(t.TranscribeProtocolError):
        t.parse_message(Message({":message-type": Int32(3)}, b""))


def test_transcript_stream_end_to_end(codec):
    frames = [_event(codec, "TranscriptEvent", TRANSCRIPT) for _ in range(5)]
    stream_bytes = b"".join(frames) + _exception(codec, "LimitExceededException", "too many streams")
    stream = t.TranscriptStream()
    events = []
    with pytest.raises(t.LimitExceededException, match="too many streams") as info:
        for i in range(0, len(stream_bytes), 100):
            events += stream.feed(stream_bytes[i:i + 100])
    assert len(events) + len(info.value.events) == 5
    ok = t.TranscriptStream()
    got = ok.feed(b"".join(frames))
    assert [e.results[0].transcript for e in got] == ["hello"] * 5
    ok.feed(frames[0][:10])
    with pytest.raises(FrameError):
        ok.close()
