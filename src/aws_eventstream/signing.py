"""Event-stream signing: the SigV4 ``:chunk-signature`` chain of an HTTP/2 event stream.

:class:`EventSigner` wraps each frame in a signed ``:date`` / ``:chunk-signature``
envelope, as the AWS SDKs do for Transcribe, Lex and Bedrock streams over HTTP/2;
:class:`EventVerifier` checks such a chain as the service would. Built on the SigV4 of
:mod:`aws_eventstream.auth` (which re-exports these names) and on the codec.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import time
from typing import Any, Optional, Union

from . import Message, Timestamp, decode, encode
from .auth import Credentials, _check_scope, _max_skew, _utc_now, amz_date, credential_scope, signing_key
from .errors import SignatureError

_sha256 = hashlib.sha256

__all__ = ["PAYLOAD_ALGORITHM", "chunk_signature", "EventSigner", "EventVerifier"]

PAYLOAD_ALGORITHM = "AWS4-HMAC-SHA256-PAYLOAD"


def chunk_signature(prior: bytes, headers: bytes, payload: bytes, *, credentials: Credentials,
                    region: str, service: str, when: _dt.datetime) -> bytes:
    """The signature of one event-stream chunk, chained to ``prior`` (raw bytes).

    String to sign: ``AWS4-HMAC-SHA256-PAYLOAD``, the timestamp, the scope, the hex prior
    signature, and the hex SHA-256 of ``headers`` (the encoded ``:date`` header) and of
    ``payload`` (the inner frame).
    """
    stamp, datestamp = amz_date(when)
    return _chained(hmac.new(signing_key(credentials.secret_key, datestamp, region, service),
                             digestmod=_sha256),
                    _prefix(stamp, datestamp, region, service), bytes(prior), headers, payload)


def _prefix(stamp: str, datestamp: str, region: str, service: str) -> str:
    """The start of every string to sign within one second: algorithm, timestamp, scope."""
    return f"{PAYLOAD_ALGORITHM}\n{stamp}\n{credential_scope(datestamp, region, service)}\n"


def _chained(mac: "hmac.HMAC", prefix: str, prior: bytes, headers: bytes, payload: bytes) -> bytes:
    """The HMAC (``mac``: keyed, nothing fed yet; left unchanged) of one chunk's string to sign."""
    string_to_sign = "".join((prefix, prior.hex(), "\n", _sha256(headers).hexdigest(), "\n",
                              _sha256(payload).hexdigest()))
    mac = mac.copy()  # a copy of a keyed HMAC: cheaper than keying one per chunk
    mac.update(string_to_sign.encode("utf-8"))
    return mac.digest()


def _seed(seed_signature: Union[str, bytes]) -> bytes:
    if isinstance(seed_signature, str):
        try:
            return bytes.fromhex(seed_signature)
        except ValueError:
            raise ValueError("seed_signature must be hex (the opening request's signature)") from None
    return bytes(seed_signature)


# The encoded ``:date`` header up to its value: name length, name, type 8 (timestamp).
_DATE_NAME = b"\x05:date\x08"


def _date_header(ms: int) -> bytes:
    return _DATE_NAME + ms.to_bytes(8, "big", signed=True)


def _ms(when: _dt.datetime) -> int:
    return int(Timestamp.from_datetime(when))


class EventSigner:
    """Signs each frame of an HTTP/2 event stream into a ``:date`` / ``:chunk-signature`` envelope.

    Seeded with the signature of the request that opened the stream; each signature chains
    to the one before it. The credentials are fixed for the whole stream: rotating them
    mid-stream would break the chain.
    """

    def __init__(self, *, credentials: Credentials, region: str, service: str,
                 seed_signature: Union[str, bytes]) -> None:
        _check_scope(credentials, region, service)
        self._credentials = credentials
        self._region = region
        self._service = service
        self._prior = _seed(seed_signature)
        self._ended = False
        self._second: Optional[int] = None  # what _mac and _prefix were made for
        self._mac = hmac.new(b"", digestmod=_sha256)
        self._prefix = ""

    @property
    def prior_signature(self) -> bytes:
        """The last signature in the chain (the seed before the first frame)."""
        return self._prior

    @property
    def ended(self) -> bool:
        return self._ended

    def sign(self, frame: Any, now: Optional[_dt.datetime] = None) -> bytes:
        """The envelope frame around ``frame`` (an encoded event-stream frame).

        Raises:
            ValueError: the stream was already ended with :meth:`end`.
        """
        if self._ended:
            raise ValueError("the event stream has ended; nothing can be signed after its end")
        ms = time.time_ns() // 1_000_000 if now is None else _ms(_utc_now(now))
        second = ms // 1000
        if second != self._second:  # the timestamp, scope and key change at most once a second
            stamp, datestamp = amz_date(_dt.datetime.fromtimestamp(second, _dt.timezone.utc))
            self._mac = hmac.new(signing_key(self._credentials.secret_key, datestamp, self._region, self._service),
                                 digestmod=_sha256)
            self._prefix = _prefix(stamp, datestamp, self._region, self._service)
            self._second = second
        payload = bytes(frame)
        sig = _chained(self._mac, self._prefix, self._prior, _date_header(ms), payload)
        self._prior = sig
        if not payload:
            self._ended = True
        return encode({":date": Timestamp(ms), ":chunk-signature": sig}, payload)

    def end(self, now: Optional[_dt.datetime] = None) -> bytes:
        """The signed empty envelope that ends the stream."""
        return self.sign(b"", now)

    def __repr__(self) -> str:
        return f"<EventSigner {self._service}/{self._region} {self._credentials!r} ended={self._ended}>"


class EventVerifier:
    """Checks a chain of signed envelopes as a service would; returns the inner frames.

    ``max_skew`` is how far (seconds, finite and >= 0) each ``:date`` may be from the
    clock; None turns that check off.
    """

    def __init__(self, *, credentials: Credentials, region: str, service: str,
                 seed_signature: Union[str, bytes], max_skew: Optional[float] = 300.0) -> None:
        _check_scope(credentials, region, service)
        self._credentials = credentials
        self._region = region
        self._service = service
        self._prior = _seed(seed_signature)
        self._max_skew = _max_skew(max_skew, optional=True)
        self._count = 0
        self._ended = False

    @property
    def ended(self) -> bool:
        """True once the empty end-of-stream envelope has verified."""
        return self._ended

    def verify(self, envelope: Any, now: Optional[_dt.datetime] = None) -> bytes:
        """Check one envelope (a :class:`Message` or its frame bytes); return its inner frame.

        Raises:
            SignatureError: a missing or malformed signature header, a signature that does
                not continue the chain, a frame after the end, or a ``:date`` too far off.
        """
        msg = envelope if isinstance(envelope, Message) else decode(envelope)
        n = self._count
        if self._ended:
            raise SignatureError(f"envelope {n}: the stream already ended")
        date = msg.headers.get(":date")
        sig = msg.headers.get(":chunk-signature")
        if type(date) is not Timestamp or not isinstance(sig, bytes) or len(sig) != 32 \
                or set(msg.headers) != {":date", ":chunk-signature"}:
            raise SignatureError(f"envelope {n}: needs exactly a :date timestamp and a 32-byte :chunk-signature")
        try:
            when = date.to_datetime()
        except (OverflowError, ValueError):  # a wire timestamp may lie far outside the years 1 to 9999
            raise SignatureError(f"envelope {n}: :date {int(date)} ms is outside the calendar's range") from None
        if self._max_skew is not None:
            skew = abs((when - _utc_now(now)).total_seconds())
            if skew > self._max_skew:
                raise SignatureError(f"envelope {n}: :date is {skew:.0f} s off the clock")
        expected = chunk_signature(self._prior, _date_header(int(date)), msg.payload,
                                   credentials=self._credentials, region=self._region, service=self._service,
                                   when=when.replace(microsecond=0))
        if not hmac.compare_digest(expected, sig):
            raise SignatureError(f"envelope {n}: the signature does not continue the chain "
                                 "(altered, reordered, dropped or signed with other credentials)")
        self._prior = sig
        self._count += 1
        if not msg.payload:
            self._ended = True
        return msg.payload
