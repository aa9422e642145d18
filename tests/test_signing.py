"""Event-stream signing and verification, presigned URL verification, header signing."""

from __future__ import annotations

import datetime as dt
import functools
import hmac
from unittest import mock
from urllib.parse import urlsplit

import pytest

from aws_eventstream import EventStreamError, Message, SignatureError, Timestamp, decode, encode
from aws_eventstream import auth, signing
from aws_eventstream.auth import (
    EMPTY_SHA256,
    STREAMING_PAYLOAD,
    Credentials,
    presign_url,
    sign_request,
    verify_presigned_url,
    verify_signed_request,
)
from aws_eventstream.signing import EventSigner, EventVerifier, chunk_signature
from helpers import signing_chains

CREDS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
NOW = dt.datetime(2026, 11, 23, 10, 0, 0, 123456, tzinfo=dt.timezone.utc)
SEED = "9d9ab996c81f32c9d4e6fc166c92584f3741d1cb5ce325cd11a77d1f962c8de2"


def _when(text):
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_known_answers_chunk_by_chunk():
    for chain in signing_chains():
        creds = Credentials(chain["access_key"], chain["secret_key"])
        prior = bytes.fromhex(chain["seed_signature_hex"])
        for chunk in chain["chunks"]:
            headers = (chunk["headers_utf8"].encode() if "headers_utf8" in chunk
                       else bytes.fromhex(chunk["headers_hex"]))
            sig = chunk_signature(prior, headers, chunk["payload_utf8"].encode(), credentials=creds,
                                  region=chain["region"], service=chain["service"], when=_when(chain["time"]))
            assert sig.hex() == chunk["signature_hex"]
            prior = sig


def test_known_answer_through_the_signer():
    """The amazon-transcribe vector hashes the encoded :date header: our signer must agree."""
    chain = next(c for c in signing_chains() if "headers_hex" in c["chunks"][0])
    chunk = chain["chunks"][0]
    signer = EventSigner(credentials=Credentials(chain["access_key"], chain["secret_key"]),
                         region=chain["region"], service=chain["service"], seed_signature=chain["seed_signature_hex"])
    envelope = decode(signer.sign(chunk["payload_utf8"].encode(), now=_when(chain["time"])))
    assert envelope.headers[":chunk-signature"].hex() == chunk["signature_hex"]
    assert encode({":date": envelope.headers[":date"]})[12:-4].hex() == chunk["headers_hex"]
    assert list(envelope.headers) == [":date", ":chunk-signature"]
    assert envelope.payload == chunk["payload_utf8"].encode()


def _signed_stream(n=5, creds=CREDS, seed=SEED):
    signer = EventSigner(credentials=creds, region="us-east-1", service="transcribe", seed_signature=seed)
    inner = [encode({":event-type": "AudioEvent"}, bytes([i]) * 100) for i in range(n)]
    envelopes = [signer.sign(f, now=NOW + dt.timedelta(milliseconds=100 * i)) for i, f in enumerate(inner)]
    envelopes.append(signer.end(now=NOW + dt.timedelta(seconds=1)))
    return inner, envelopes, signer


def _verifier(seed=SEED, **kw):
    return EventVerifier(credentials=CREDS, region="us-east-1", service="transcribe", seed_signature=seed, **kw)


def test_signer_and_verifier_round_trip():
    inner, envelopes, signer = _signed_stream()
    verifier = _verifier()
    got = [verifier.verify(e, now=NOW) for e in envelopes]
    assert got == inner + [b""] and verifier.ended and signer.ended
    with pytest.raises(ValueError, match="ended"):
        signer.sign(b"more")
    with pytest.raises(SignatureError, match="already ended"):
        verifier.verify(envelopes[0], now=NOW)


def test_chain_detects_tampering_reordering_and_drops():
    inner, envelopes, _ = _signed_stream()
    cases = {
        "altered": [envelopes[0], encode(dict(decode(envelopes[1]).headers), b"X" + inner[1][1:])],
        "reordered": [envelopes[1], envelopes[0]],
        "dropped": [envelopes[0], envelopes[2]],
    }
    for seq in cases.values():
        verifier = _verifier()
        with pytest.raises(SignatureError, match="does not continue the chain"):
            for e in seq:
                verifier.verify(e, now=NOW)
    with pytest.raises(SignatureError):
        _verifier(seed="00" * 32).verify(envelopes[0], now=NOW)
    other = Credentials("AKIDEXAMPLE", "another-secret")
    with pytest.raises(SignatureError):
        EventVerifier(credentials=other, region="us-east-1", service="transcribe",
                      seed_signature=SEED).verify(envelopes[0], now=NOW)


def test_signature_error_is_an_event_stream_error():
    assert issubclass(SignatureError, EventStreamError)


def test_auth_re_exports_the_signing_names():
    """``from aws_eventstream.auth import EventSigner`` goes on working, with the same objects."""
    for name in signing.__all__:
        assert getattr(auth, name) is getattr(signing, name)
        assert name in dir(auth)
    assert set(signing.__all__) - {"PAYLOAD_ALGORITHM"} <= set(auth.__all__)
    with pytest.raises(AttributeError, match="no_such_name"):
        auth.no_such_name  # noqa: B018


@pytest.mark.parametrize("headers", [
    {":date": Timestamp(0)},
    {":chunk-signature": b"x" * 32},
    {":date": 5, ":chunk-signature": b"x" * 32},
    {":date": Timestamp(0), ":chunk-signature": b"short"},
    {":date": Timestamp(0), ":chunk-signature": b"x" * 32, "extra": "h"},
])
def test_malformed_envelopes(headers):
    with pytest.raises(SignatureError, match="needs exactly"):
        _verifier().verify(Message(headers, b"frame"), now=NOW)


def test_clock_skew_of_envelopes():
    _, envelopes, _ = _signed_stream(1)
    with pytest.raises(SignatureError, match="off the clock"):
        _verifier().verify(envelopes[0], now=NOW + dt.timedelta(minutes=10))
    assert _verifier(max_skew=None).verify(envelopes[0], now=NOW + dt.timedelta(days=1))


@pytest.mark.parametrize("ms", [2**62, 2**63 - 1, -2**63, 10**15, -10**15])
@pytest.mark.parametrize("max_skew", [None, 300.0])
def test_a_date_beyond_the_calendar_is_a_signature_error(ms, max_skew):
    envelope = Message({":date": Timestamp(ms), ":chunk-signature": b"x" * 32}, b"frame")
    with pytest.raises(SignatureError, match=f"envelope 0: :date {ms} "):
        _verifier(max_skew=max_skew).verify(envelope, now=NOW)


@pytest.mark.parametrize("max_skew, exc", [
    (float("nan"), ValueError), (-1.0, ValueError), (float("inf"), ValueError), ("300", TypeError),
    (True, TypeError),
])
def test_max_skew_must_be_a_finite_non_negative_number(max_skew, exc):
    with pytest.raises(exc, match="max_skew"):
        _verifier(max_skew=max_skew)
    with pytest.raises(exc, match="max_skew"):
        verify_presigned_url(_presigned(), credentials=CREDS, service="transcribe", now=NOW, max_skew=max_skew)
    with pytest.raises(TypeError, match="max_skew"):  # only a stream's verifier may turn the check off
        verify_presigned_url(_presigned(), credentials=CREDS, service="transcribe", now=NOW, max_skew=None)
    assert _verifier(max_skew=0).verify(_signed_stream(1)[1][0], now=NOW.replace(microsecond=123000))


def test_a_nan_skew_cannot_let_a_future_url_in():
    url = _presigned(now=NOW + dt.timedelta(days=365))
    with pytest.raises(ValueError):
        verify_presigned_url(url, credentials=CREDS, service="transcribe", now=NOW, max_skew=float("nan"))


def test_signer_keeps_its_credentials():
    signer = EventSigner(credentials=CREDS, region="us-east-1", service="transcribe", seed_signature=SEED)
    first = signer.sign(b"a", now=NOW)
    # Credentials are immutable: whatever rotates elsewhere, the signer goes on with its own.
    with pytest.raises(AttributeError):
        CREDS.secret_key = "rotated"
    second = signer.sign(b"b", now=NOW)
    verifier = _verifier()
    assert verifier.verify(first, now=NOW) == b"a" and verifier.verify(second, now=NOW) == b"b"
    with pytest.raises(TypeError):
        EventSigner(credentials={"access_key": "a"}, region="us-east-1", service="s", seed_signature=SEED)
    with pytest.raises(ValueError, match="hex"):
        EventSigner(credentials=CREDS, region="us-east-1", service="s", seed_signature="not hex")
    assert CREDS.secret_key not in repr(signer)


# --------------------------------------------------------------------------- presigned URL verification

URL = "wss://transcribestreaming.us-east-1.amazonaws.com:8443/stream-transcription-websocket"


def _presigned(creds=CREDS, **kw):
    args = dict(service="transcribe", region="us-east-1", credentials=creds, now=NOW,
                params={"language-code": "en-US", "sample-rate": 16000})
    args.update(kw)
    return presign_url(URL, **args)


def test_verify_presigned_url():
    url = _presigned()
    assert verify_presigned_url(url, credentials=CREDS, service="transcribe", region="us-east-1", now=NOW) == {
        "language-code": "en-US", "sample-rate": "16000"}
    lookup = {CREDS.access_key: CREDS}.get
    assert verify_presigned_url(url, credentials=lookup, service="transcribe", now=NOW)
    token = Credentials("AKIDTOKEN", "s3cr3t", "tok")
    assert verify_presigned_url(_presigned(token), credentials=token, service="transcribe", now=NOW)


@pytest.mark.parametrize("mutate, match", [
    (lambda u: u.replace("sample-rate=16000", "sample-rate=8000"), "signature mismatch"),
    (lambda u: u.replace("language-code=en-US", "language-code=en-GB"), "signature mismatch"),
    (lambda u: u[:-1] + ("0" if u[-1] != "0" else "1"), "signature mismatch"),
    (lambda u: u.replace(":8443", ":9443"), "signature mismatch"),
    (lambda u: u.replace("AKIDEXAMPLE", "AKIDOTHER"), "unknown access key"),
    (lambda u: u.replace("X-Amz-Expires=300", "X-Amz-Expires=30"), "expired"),
    (lambda u: u.replace("%2Ftranscribe%2F", "%2Fpolly%2F"), "service"),
    (lambda u: u.replace("%2Fus-east-1%2F", "%2Fus-west-2%2F"), "region"),
    (lambda u: u.split("&X-Amz-Signature")[0], "X-Amz-Signature is missing"),
    (lambda u: u + "&sample-rate=1", "appears twice"),
])
def test_verify_refuses_tampered_urls(mutate, match):
    with pytest.raises(SignatureError, match=match):
        verify_presigned_url(mutate(_presigned()), credentials=CREDS, service="transcribe", region="us-east-1",
                             now=NOW + dt.timedelta(seconds=60))


def test_verify_expiry_and_skew():
    url = _presigned(expires=60)
    verify_presigned_url(url, credentials=CREDS, service="transcribe", now=NOW + dt.timedelta(seconds=59))
    with pytest.raises(SignatureError, match="expired"):
        verify_presigned_url(url, credentials=CREDS, service="transcribe", now=NOW + dt.timedelta(seconds=61))
    with pytest.raises(SignatureError, match="future"):
        verify_presigned_url(url, credentials=CREDS, service="transcribe", now=NOW - dt.timedelta(minutes=6))


def _refusal(url, creds):
    with pytest.raises(SignatureError) as info:
        verify_presigned_url(url, credentials=creds, service="transcribe", now=NOW)
    return str(info.value)


def test_a_wrong_session_token_reads_as_any_other_signature_failure():
    token = Credentials("AKIDTOKEN", "s3cr3t", "the-right-token")
    mismatch = _refusal(_presigned(token), Credentials("AKIDTOKEN", "another-secret", "the-right-token"))
    assert "signature mismatch" in mismatch
    for url, creds in [
        (_presigned(Credentials("AKIDTOKEN", "s3cr3t", "a-guessed-token")), token),
        (_presigned(Credentials("AKIDTOKEN", "s3cr3t")), token),
        (_presigned(token), Credentials("AKIDTOKEN", "s3cr3t")),
    ]:
        message = _refusal(url, creds)
        assert message == mismatch and "token" not in message


def test_the_session_token_is_compared_in_constant_time():
    token = Credentials("AKIDTOKEN", "s3cr3t", "the-right-token")
    real = hmac.compare_digest
    seen = []

    def spy(a, b):
        seen.append((bytes(a), bytes(b)))
        return real(a, b)

    with mock.patch("hmac.compare_digest", spy):
        _refusal(_presigned(Credentials("AKIDTOKEN", "s3cr3t", "a-guessed-token")), token)
    assert (b"the-right-token", b"a-guessed-token") in seen


@pytest.mark.parametrize("url, credentials", [
    (12, CREDS), (b"wss://h/?X-Amz-Date=x", CREDS), (None, CREDS),
    ("wss://h/", "AKIDEXAMPLE"), ("wss://h/", {"AKIDEXAMPLE": CREDS}),
])
def test_verify_presigned_url_argument_types(url, credentials):
    with pytest.raises(TypeError):
        verify_presigned_url(url, credentials=credentials, service="transcribe", now=NOW)


def test_a_url_with_undecodable_bytes_is_a_signature_error():
    with pytest.raises(SignatureError, match="UTF-8"):
        verify_presigned_url(_presigned() + "&x=\udcff", credentials=CREDS, service="transcribe", now=NOW)


def test_a_lookup_must_return_credentials_or_none():
    with pytest.raises(TypeError, match="credentials lookup"):
        verify_presigned_url(_presigned(), credentials=lambda key: (key, "secret"), service="transcribe", now=NOW)
    with pytest.raises(SignatureError, match="unknown access key"):
        verify_presigned_url(_presigned(), credentials=lambda key: None, service="transcribe", now=NOW)


# --------------------------------------------------------------------------- the request that opens a stream


@pytest.mark.parametrize("token", [None, "session-token"])
def test_header_signing_agrees_with_botocore(token):
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials as BotoCredentials

    creds = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)
    url = "https://transcribestreaming.us-west-2.amazonaws.com:8443/stream-transcription?x=1&a=b%20c"
    headers = {
        "Content-Type": "application/vnd.amazon.eventstream",
        "X-Amz-Content-SHA256": STREAMING_PAYLOAD,
        "x-amzn-transcribe-language-code": "en-US",
        "x-amzn-transcribe-sample-rate": "16000",
        "x-amzn-transcribe-media-encoding": "pcm",
        "User-Agent": "not-signed/1.0",
    }
    ours = sign_request("POST", url, service="transcribe", region="us-west-2", credentials=creds,
                        headers=headers, now=NOW)
    request = AWSRequest(method="POST", url=url, headers=dict(headers))
    with mock.patch("botocore.auth.get_current_datetime", return_value=NOW.replace(tzinfo=None)):
        SigV4Auth(BotoCredentials(creds.access_key, creds.secret_key, token), "transcribe", "us-west-2").add_auth(
            request)
    assert ours.headers["Authorization"] == request.headers["Authorization"]
    assert ours.headers["X-Amz-Date"] == request.headers["X-Amz-Date"]
    assert ours.headers.get("X-Amz-Security-Token") == token
    assert ours.signature == request.headers["Authorization"].rsplit("Signature=", 1)[1]
    # its signature seeds the event chain
    signer = EventSigner(credentials=creds, region="us-west-2", service="transcribe", seed_signature=ours.signature)
    assert _verifier_for(creds, ours.signature).verify(signer.sign(b"frame", now=NOW), now=NOW) == b"frame"


def _verifier_for(creds, seed):
    return EventVerifier(credentials=creds, region="us-west-2", service="transcribe", seed_signature=seed)


def test_header_signing_with_a_body():
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials as BotoCredentials

    body = b'{"hello": "world"}'
    ours = sign_request("POST", "https://example.amazonaws.com/", service="lex", region="eu-west-1",
                        credentials=CREDS, body=body, now=NOW)
    request = AWSRequest(method="POST", url="https://example.amazonaws.com/", data=body)
    with mock.patch("botocore.auth.get_current_datetime", return_value=NOW.replace(tzinfo=None)):
        SigV4Auth(BotoCredentials(CREDS.access_key, CREDS.secret_key), "lex", "eu-west-1").add_auth(request)
    assert ours.headers["Authorization"] == request.headers["Authorization"]
    assert CREDS.secret_key not in repr(ours)


def _botocore_signed(creds, url, headers, *, region="us-west-2", when=None):
    """Headers of a request botocore's SigV4 signer signed (the independent signer)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials as BotoCredentials

    request = AWSRequest(method="POST", url=url, headers=dict(headers))
    with mock.patch("botocore.auth.get_current_datetime", return_value=(when or NOW).replace(tzinfo=None)):
        SigV4Auth(BotoCredentials(creds.access_key, creds.secret_key, creds.session_token), "transcribe",
                  region).add_auth(request)
    out = dict(request.headers.items())
    out["host"] = urlsplit(url).netloc
    return out


_STREAM_URL = "https://transcribestreaming.us-west-2.amazonaws.com/stream-transcription"
_STREAM_HEADERS = {"X-Amz-Content-SHA256": STREAMING_PAYLOAD, "x-amzn-transcribe-language-code": "en-US",
                   "x-amzn-transcribe-sample-rate": "16000"}


@pytest.mark.parametrize("token", [None, "session-token"])
def test_verify_signed_request_accepts_what_botocore_signs(token):
    creds = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)
    headers = _botocore_signed(creds, _STREAM_URL, _STREAM_HEADERS)
    seed = verify_signed_request("POST", _STREAM_URL, headers, credentials=creds, service="transcribe",
                                 region="us-west-2", now=NOW)
    assert seed == headers["Authorization"].rsplit("Signature=", 1)[1]
    # header names in any case; without X-Amz-Content-SHA256 the given payload hash is used
    lower = {k.lower(): v for k, v in _botocore_signed(creds, _STREAM_URL, {
        k: v for k, v in _STREAM_HEADERS.items() if k != "X-Amz-Content-SHA256"}).items()}
    assert verify_signed_request("POST", _STREAM_URL, lower, credentials=creds, service="transcribe",
                                 now=NOW, payload_hash=EMPTY_SHA256)
    with pytest.raises(SignatureError, match="no payload hash"):
        verify_signed_request("POST", _STREAM_URL, lower, credentials=creds, service="transcribe", now=NOW)


@pytest.mark.parametrize("change, match", [
    (lambda h: h.update({"x-amzn-transcribe-language-code": "en-GB"}), "signature mismatch"),
    (lambda h: h.update({"host": "elsewhere.example.com"}), "signature mismatch"),
    (lambda h: h.pop("x-amzn-transcribe-sample-rate"), "signed header 'x-amzn-transcribe-sample-rate' is not in"),
    (lambda h: h.pop("Authorization"), "Authorization header is missing"),
    (lambda h: h.update({"Authorization": h["Authorization"].replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1")}),
     "not AWS4-HMAC-SHA256"),
    (lambda h: h.update({"Authorization": h["Authorization"].replace("/transcribe/", "/lex/")}),
     "signed for service 'lex'"),
    (lambda h: h.update({"Authorization": h["Authorization"].replace("AKIDEXAMPLE", "AKIDOTHER")}),
     "unknown access key"),
    (lambda h: h.update({"X-Amz-Date": "2026-11-23"}), "X-Amz-Date is malformed"),
    (lambda h: h.update({"X-Amz-Security-Token": "guessed"}), "signature mismatch"),
])
def test_verify_signed_request_refuses_what_was_changed(change, match):
    headers = _botocore_signed(CREDS, _STREAM_URL, _STREAM_HEADERS)
    change(headers)
    with pytest.raises(SignatureError, match=match):
        verify_signed_request("POST", _STREAM_URL, headers, credentials=CREDS, service="transcribe",
                              region="us-west-2", now=NOW)


def test_verify_signed_request_refuses_unsigned_headers_a_server_acts_on():
    """botocore signs every header it is given; one added afterwards is refused where the server names it."""
    headers = _botocore_signed(CREDS, _STREAM_URL, _STREAM_HEADERS)
    headers["x-amzn-transcribe-session-id"] = "added after signing"
    headers["x-amzn-trace-id"] = "Root=1-unsigned"  # a header no server acts on: left alone
    verify = functools.partial(verify_signed_request, "POST", _STREAM_URL, headers, credentials=CREDS,
                               service="transcribe", region="us-west-2", now=NOW)
    assert verify()  # the signature covers what it covers
    with pytest.raises(SignatureError, match="header 'x-amzn-transcribe-session-id' is not signed"):
        verify(must_sign=("x-amzn-transcribe-",))
    with pytest.raises(SignatureError, match="header 'x-amzn-transcribe-session-id' is not signed"):
        verify(must_sign=["x-amzn-transcribe-session-id"])
    assert verify(must_sign=("x-amzn-transcribe-language-code", "x-amz-content-sha256"))  # both signed
    for bad in ("x-amzn-transcribe-", [b"x-amzn-"]):
        with pytest.raises(TypeError, match="must_sign"):
            verify(must_sign=bad)
    with pytest.raises(SignatureError, match="is not signed"):  # an iterator is read once, whole
        verify(must_sign=iter(["x-amzn-transcribe-"]))
    with pytest.raises(SignatureError, match="is not signed"):
        verify(must_sign=(name for name in ["x-amzn-transcribe-session-id"]))
    for bad in (["X-Amzn-Transcribe-"], ["x-amzn-transcribe- "], [""]):  # would never match: refused
        with pytest.raises(ValueError, match="lowercase"):
            verify(must_sign=bad)


def test_verify_signed_request_checks_the_clock_both_ways():
    headers = _botocore_signed(CREDS, _STREAM_URL, _STREAM_HEADERS)
    for off in (dt.timedelta(seconds=301), dt.timedelta(seconds=-301)):
        with pytest.raises(SignatureError, match="off the clock"):
            verify_signed_request("POST", _STREAM_URL, headers, credentials=CREDS, service="transcribe",
                                  now=NOW + off)
    assert verify_signed_request("POST", _STREAM_URL, headers, credentials=CREDS, service="transcribe",
                                 now=NOW + dt.timedelta(seconds=299))
    with pytest.raises(TypeError):
        verify_signed_request("POST", _STREAM_URL, headers, credentials="secret", service="transcribe")
    with pytest.raises(ValueError, match="max_skew"):
        verify_signed_request("POST", _STREAM_URL, headers, credentials=CREDS, service="transcribe", max_skew=-1)


def test_verify_signed_request_argument_and_text_checks():
    headers = _botocore_signed(CREDS, _STREAM_URL, _STREAM_HEADERS)
    for bad_headers in (None, [("host", "x")]):
        with pytest.raises(TypeError, match="headers must be a mapping"):
            verify_signed_request("POST", _STREAM_URL, bad_headers, credentials=CREDS, service="transcribe", now=NOW)
    with pytest.raises(TypeError, match="payload_hash"):
        verify_signed_request("POST", _STREAM_URL, headers, credentials=CREDS, service="transcribe", now=NOW,
                              payload_hash=5)
    with pytest.raises(SignatureError, match="not valid UTF-8"):
        verify_signed_request("POST", _STREAM_URL + "?\udcff", headers, credentials=CREDS, service="transcribe",
                              now=NOW)
    trailing = dict(headers, Authorization=headers["Authorization"] + "\n")
    with pytest.raises(SignatureError, match="Authorization header is missing or not"):
        verify_signed_request("POST", _STREAM_URL, trailing, credentials=CREDS, service="transcribe", now=NOW)
