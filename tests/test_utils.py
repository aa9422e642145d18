"""aws_eventstream.utils: the pipecat-compatible facade (compared with pipecat-ai when installed)."""

from __future__ import annotations

import datetime as dt
import json
import struct
import subprocess
import sys
import zlib

import pytest

from aws_eventstream import ChecksumError, EventStreamError, encode
from aws_eventstream import utils
from aws_eventstream.auth import Credentials
from sigv4_oracle import assert_signed_like_botocore, query

NOW = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
SECRET = "verysecretkey/+="


def _manual_string_header(name: str, value: str) -> bytes:
    n, v = name.encode(), value.encode()
    return bytes([len(n)]) + n + b"\x07" + struct.pack(">H", len(v)) + v


def test_get_headers_is_a_string_header():
    got = utils.get_headers(":event-type", "AudioEvent")
    assert isinstance(got, bytearray) and got == _manual_string_header(":event-type", "AudioEvent")
    with pytest.raises(TypeError):
        utils.get_headers(":n", 5)


def test_build_event_message_layout():
    payload = bytes(range(200)) * 16
    frame = utils.build_event_message(payload)
    block = b"".join(_manual_string_header(n, v) for n, v in (
        (":content-type", "application/octet-stream"), (":event-type", "AudioEvent"), (":message-type", "event")))
    prelude = struct.pack(">II", 16 + len(block) + len(payload), len(block))
    head = prelude + struct.pack(">I", zlib.crc32(prelude)) + block + payload
    assert frame == head + struct.pack(">I", zlib.crc32(head))
    assert isinstance(frame, bytes)


def test_decode_event():
    frame = encode({":event-type": "TranscriptEvent", ":message-type": "event"}, b'{"Transcript": {"Results": []}}')
    headers, payload = utils.decode_event(frame)
    assert headers == {":event-type": "TranscriptEvent", ":message-type": "event"}
    assert payload == {"Transcript": {"Results": []}}
    with pytest.raises(EventStreamError):
        utils.decode_event(frame[:-3])
    with pytest.raises(ValueError):
        utils.decode_event(encode({}, b"not json"))


@pytest.mark.parametrize("where, kind", [(3, "Prelude"), (-1, "Message"), (20, "Message")])
def test_bad_crc_is_assertion_error_and_checksum_error(where, kind):
    frame = bytearray(encode({"a": "b"}, b"{}"))
    frame[where] ^= 0x40
    with pytest.raises(AssertionError) as info:
        utils.decode_event(bytes(frame))
    assert isinstance(info.value, ChecksumError) and isinstance(info.value, utils.EventChecksumError)
    assert str(info.value).startswith(f"{kind} CRC check failed")


def test_crc_check_survives_python_dash_o():
    code = ("import aws_eventstream as e, aws_eventstream.utils as u\n"
            "f = bytearray(e.encode({'a': 'b'}, b'{}')); f[-1] ^= 1\n"
            "assert False, 'asserts are on'\n")
    code_o = ("import aws_eventstream as e, aws_eventstream.utils as u\n"
              "f = bytearray(e.encode({'a': 'b'}, b'{}')); f[-1] ^= 1\n"
              "try:\n    u.decode_event(bytes(f))\nexcept AssertionError as x:\n    print('caught', type(x).__name__)\n")
    out = subprocess.run([sys.executable, "-O", "-c", code], capture_output=True, text=True)
    assert out.returncode == 0  # -O really strips asserts here
    out = subprocess.run([sys.executable, "-O", "-c", code_o], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "caught EventChecksumError"


def test_aws_credentials():
    creds = utils.AWSCredentials(access_key="AKID", secret_key=SECRET, session_token="tok123", region="eu-west-1")
    for text in (repr(creds), str(creds)):
        assert SECRET not in text and "tok123" not in text and "AKID" in text
    assert creds.to_boto_kwargs() == {"aws_access_key_id": "AKID", "aws_secret_access_key": SECRET,
                                      "aws_session_token": "tok123", "region_name": "eu-west-1"}
    assert creds == utils.AWSCredentials("AKID", SECRET, "tok123", "eu-west-1")


@pytest.mark.parametrize("creds", [{}, {"access_key": "a"}, {"secret_key": "s"},
                                   {"access_key": "", "secret_key": "s"}, {"access_key": "a", "secret_key": None}])
def test_get_presigned_url_needs_key_and_secret(creds):
    with pytest.raises(ValueError, match="credentials are required"):
        utils.get_presigned_url(region="us-east-1", credentials=creds, language_code="en-US")


def test_get_presigned_url_defaults_and_signature():
    url = utils.get_presigned_url(region="us-west-2", credentials={"access_key": "AKID", "secret_key": SECRET,
                                                                    "session_token": "tok"},
                                  language_code="en-US")
    q = query(url)
    assert url.startswith("wss://transcribestreaming.us-west-2.amazonaws.com:8443/stream-transcription-websocket?")
    assert {k: v for k, v in q.items() if not k.startswith("X-Amz-")} == {
        "enable-partial-results-stabilization": "true", "language-code": "en-US", "media-encoding": "pcm",
        "partial-results-stability": "high", "sample-rate": "16000"}
    assert q["X-Amz-Security-Token"] == "tok" and q["X-Amz-Expires"] == "300"
    assert_signed_like_botocore(url, Credentials("AKID", SECRET, "tok"), "us-west-2")


def test_presigned_url_object_keeps_the_seed_attributes():
    gen = utils.AWSTranscribePresignedURL("AKID", SECRET, None, "ap-southeast-2")
    url = gen.get_request_url(8000, "en-AU", vocabulary_filter_name="f", now=NOW)
    assert gen.request_url == url and gen.amz_date == "20260102T030405Z" and gen.datestamp == "20260102"
    assert gen.host == "transcribestreaming.ap-southeast-2.amazonaws.com:8443"
    assert url.endswith("&X-Amz-Signature=" + gen.signature)
    assert SECRET not in repr(gen)
    assert_signed_like_botocore(url, Credentials("AKID", SECRET), "ap-southeast-2")


# --------------------------------------------------------------------------- against pipecat-ai


@pytest.fixture(scope="module")
def seed():
    mod = pytest.importorskip("pipecat.services.aws.utils", reason="pipecat-ai is not installed")
    return mod


@pytest.fixture
def seed_at_now(seed, monkeypatch):
    class _Clock:
        @staticmethod
        def utcnow():
            return NOW.replace(tzinfo=None)

        @staticmethod
        def now(tz=None):
            return NOW if tz else NOW.replace(tzinfo=None)

    class _Datetime:
        datetime = _Clock

    monkeypatch.setattr(seed, "datetime", _Datetime)
    return seed


@pytest.mark.parametrize("payload", [b"", b"\x00", bytes(3200), bytes(range(256)) * 30])
def test_frames_match_pipecat(seed, payload):
    assert utils.build_event_message(payload) == seed.build_event_message(payload)


def test_headers_match_pipecat(seed):
    for name, value in ((":content-type", "application/json"), ("x", ""), ("n\u00e9", "v\u2603")):
        assert utils.get_headers(name, value) == seed.get_headers(name, value)


def test_decode_event_matches_pipecat(seed):
    frame = encode({":event-type": "TranscriptEvent", ":content-type": "application/json",
                    ":message-type": "event"}, json.dumps({"Transcript": {"Results": [{"x": 1}]}}).encode())
    assert utils.decode_event(frame) == seed.decode_event(frame)


@pytest.mark.parametrize("kwargs", [
    {},
    {"media_encoding": "flac", "sample_rate": 44100, "vocabulary_name": "v", "vocabulary_filter_name": "f",
     "show_speaker_label": True, "enable_channel_identification": True, "number_of_channels": 2},
    {"enable_partial_results_stabilization": False, "partial_results_stability": ""},
])
@pytest.mark.parametrize("token", [None, "tok/+="])
def test_urls_match_pipecat(seed_at_now, kwargs, token):
    creds = {"access_key": "AKIDEXAMPLE", "secret_key": SECRET, "session_token": token}
    theirs = seed_at_now.get_presigned_url(region="eu-central-1", credentials=creds, language_code="de-DE", **kwargs)
    ours = utils.AWSTranscribePresignedURL("AKIDEXAMPLE", SECRET, token, "eu-central-1").get_request_url(
        sample_rate=kwargs.get("sample_rate", 16000), language_code="de-DE",
        media_encoding=kwargs.get("media_encoding", "pcm"), vocabulary_name=kwargs.get("vocabulary_name"),
        vocabulary_filter_name=kwargs.get("vocabulary_filter_name"),
        show_speaker_label=kwargs.get("show_speaker_label", False),
        enable_channel_identification=kwargs.get("enable_channel_identification", False),
        number_of_channels=kwargs.get("number_of_channels", 1),
        enable_partial_results_stabilization=kwargs.get("enable_partial_results_stabilization", True),
        partial_results_stability=kwargs.get("partial_results_stability", "high"), now=NOW)
    assert ours == theirs


def test_same_names_as_pipecat(seed):
    import inspect

    for name in ("AWSCredentials", "resolve_credentials", "get_presigned_url", "AWSTranscribePresignedURL",
                 "get_headers", "build_event_message", "decode_event"):
        ours, theirs = getattr(utils, name), getattr(seed, name)
        if inspect.isclass(theirs):
            ours, theirs = ours.__init__, theirs.__init__
        ours_params = list(inspect.signature(ours).parameters.values())
        theirs_params = list(inspect.signature(theirs).parameters.values())
        assert [(p.name, p.kind, p.default) for p in ours_params[:len(theirs_params)]] == \
            [(p.name, p.kind, p.default) for p in theirs_params], name
    seed_method = inspect.signature(seed.AWSTranscribePresignedURL.get_request_url).parameters
    ours_method = inspect.signature(utils.AWSTranscribePresignedURL.get_request_url).parameters
    assert [(p.name, p.default) for p in list(ours_method.values())[:len(seed_method)]] == \
        [(p.name, p.default) for p in seed_method.values()]
