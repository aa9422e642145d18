"""Drop-in for ``pipecat.services.aws.utils``, built on the fast codec.

Same names, signatures and outputs (frames byte for byte, URLs with the same endpoint and
query), with two things made safe: secrets never appear in a ``repr``, and CRC checks are
real checks that ``python -O`` cannot remove.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple
from urllib.parse import urlsplit

from . import Encoder, _shapes, decode
from .auth import ALGORITHM, Credentials, amz_date, credential_scope, presign_url, resolve_credential_parts
from .errors import ChecksumError
from .transcribe import STREAM_PATH, audio_event

__all__ = [
    "AWSCredentials",
    "resolve_credentials",
    "get_presigned_url",
    "AWSTranscribePresignedURL",
    "get_headers",
    "build_event_message",
    "decode_event",
    "EventChecksumError",
]


@dataclass
class AWSCredentials:
    """Resolved AWS credentials ready for use by any AWS service."""

    access_key: Optional[str]
    secret_key: Optional[str]
    session_token: Optional[str]
    region: str

    def to_boto_kwargs(self) -> Dict[str, Optional[str]]:
        """The credentials as keyword arguments for botocore / boto3 clients."""
        return {
            "aws_access_key_id": self.access_key,
            "aws_secret_access_key": self.secret_key,
            "aws_session_token": self.session_token,
            "region_name": self.region,
        }

    def __repr__(self) -> str:
        secret = "<hidden>" if self.secret_key else None
        token = "<hidden>" if self.session_token else None
        return (f"AWSCredentials(access_key={self.access_key!r}, secret_key={secret}, "
                f"session_token={token}, region={self.region!r})")

    __str__ = __repr__


def resolve_credentials(
    *,
    aws_access_key_id: Optional[str] = None,
    aws_secret_access_key: Optional[str] = None,
    aws_session_token: Optional[str] = None,
    region: Optional[str] = None,
) -> AWSCredentials:
    """Resolve credentials: explicit parameters, then the environment, then botocore's chain.

    Key, secret and token each come from the parameter or its ``AWS_*`` variable; the
    region from the parameter, ``AWS_REGION``, ``AWS_DEFAULT_REGION``, else ``us-east-1``.
    Only when both key and secret are still missing is botocore's default chain asked
    (profiles, SSO, container and instance roles); without botocore that step is skipped.

    Raises:
        ValueError: a value from the environment is not usable text (the message names the
            variable, never the value), or botocore's chain failed (e.g. an unknown profile).
    """
    key, secret, token, where, _ = resolve_credential_parts(
        aws_access_key_id, aws_secret_access_key, aws_session_token, region, True)
    return AWSCredentials(access_key=key, secret_key=secret, session_token=token, region=where)


def get_presigned_url(
    *,
    region: str,
    credentials: Dict[str, Optional[str]],
    language_code: str,
    media_encoding: str = "pcm",
    sample_rate: int = 16000,
    number_of_channels: int = 1,
    enable_partial_results_stabilization: bool = True,
    partial_results_stability: str = "high",
    vocabulary_name: Optional[str] = None,
    vocabulary_filter_name: Optional[str] = None,
    show_speaker_label: bool = False,
    enable_channel_identification: bool = False,
) -> str:
    """A presigned WebSocket URL for Amazon Transcribe streaming.

    ``credentials`` holds ``access_key``, ``secret_key`` and optionally ``session_token``.

    Raises:
        ValueError: the access key or the secret key is missing or empty.
    """
    access_key = credentials.get("access_key")
    secret_key = credentials.get("secret_key")
    if not access_key or not secret_key:
        raise ValueError("AWS credentials are required")
    return AWSTranscribePresignedURL(
        access_key=access_key, secret_key=secret_key,
        session_token=credentials.get("session_token"), region=region,
    ).get_request_url(
        sample_rate=sample_rate,
        language_code=language_code,
        media_encoding=media_encoding,
        vocabulary_name=vocabulary_name,
        vocabulary_filter_name=vocabulary_filter_name,
        show_speaker_label=show_speaker_label,
        enable_channel_identification=enable_channel_identification,
        number_of_channels=number_of_channels,
        enable_partial_results_stabilization=enable_partial_results_stabilization,
        partial_results_stability=partial_results_stability,
    )


class AWSTranscribePresignedURL:
    """Presigned Amazon Transcribe WebSocket URLs (SigV4), as the seed module made them.

    After :meth:`get_request_url` the attributes ``endpoint``, ``host``, ``amz_date``,
    ``datestamp``, ``credential_scope``, ``signature`` and ``request_url`` describe the
    last URL. ``repr`` never shows the secret key or the token.
    """

    def __init__(self, access_key: str, secret_key: str, session_token: Optional[str],
                 region: str = "us-east-1") -> None:
        self.access_key = access_key
        self.secret_key = secret_key
        self.session_token = session_token
        self.region = region
        self.method = "GET"
        self.service = "transcribe"
        self.algorithm = ALGORITHM
        self.canonical_uri = STREAM_PATH
        self.signed_headers = "host"
        self.endpoint = ""
        self.host = ""
        self.amz_date = ""
        self.datestamp = ""
        self.credential_scope = ""
        self.signature = ""
        self.request_url = ""

    def __repr__(self) -> str:
        return f"<AWSTranscribePresignedURL access_key={self.access_key!r} region={self.region!r}>"

    def get_request_url(
        self,
        sample_rate: int,
        language_code: str = "",
        media_encoding: str = "pcm",
        vocabulary_name: Optional[str] = None,
        vocabulary_filter_name: Optional[str] = None,
        show_speaker_label: bool = False,
        enable_channel_identification: bool = False,
        number_of_channels: int = 1,
        enable_partial_results_stabilization: bool = False,
        partial_results_stability: str = "",
        *,
        now: Optional[_dt.datetime] = None,
    ) -> str:
        """The presigned URL, valid for 300 seconds from ``now`` (default: the current time).

        Parameters are included exactly when the seed module included them.
        """
        params: Dict[str, Any] = {}
        if enable_channel_identification:
            params["enable-channel-identification"] = "true"
        if enable_partial_results_stabilization:
            params["enable-partial-results-stabilization"] = "true"
        if language_code:
            params["language-code"] = language_code
        if media_encoding:
            params["media-encoding"] = media_encoding
        if number_of_channels > 1:
            params["number-of-channels"] = str(number_of_channels)
        if partial_results_stability:
            params["partial-results-stability"] = partial_results_stability
        if sample_rate:
            params["sample-rate"] = str(sample_rate)
        if show_speaker_label:
            params["show-speaker-label"] = "true"
        if vocabulary_filter_name:
            params["vocabulary-filter-name"] = vocabulary_filter_name
        if vocabulary_name:
            params["vocabulary-name"] = vocabulary_name

        now = now or _dt.datetime.now(_dt.timezone.utc)
        self.host = f"transcribestreaming.{self.region}.amazonaws.com:8443"
        self.endpoint = f"wss://{self.host}"
        self.amz_date, self.datestamp = amz_date(now)
        self.credential_scope = credential_scope(self.datestamp, self.region, self.service)
        self.request_url = presign_url(
            self.endpoint + self.canonical_uri, service=self.service, region=self.region,
            credentials=Credentials(self.access_key, self.secret_key, self.session_token),
            expires=300, now=now, params=params, method=self.method,
        )
        self.signature = urlsplit(self.request_url).query.rsplit("X-Amz-Signature=", 1)[1]
        return self.request_url


def get_headers(header_name: str, header_value: str) -> bytearray:
    """One string header in event-stream wire format."""
    if not isinstance(header_value, str):
        raise TypeError(f"header_value must be str, not {type(header_value).__name__}")
    return bytearray(Encoder({header_name: header_value}).header_block)


def build_event_message(payload: bytes) -> bytes:
    """An AudioEvent frame carrying ``payload`` (headers ``:content-type``,
    ``:event-type``, ``:message-type``, in that order)."""
    return audio_event(payload)


class EventChecksumError(ChecksumError, AssertionError):
    """A CRC mismatch in :func:`decode_event`: both our ChecksumError and the
    AssertionError the seed module documented (raised even under ``python -O``)."""

    def __init__(self, kind: str, expected: int, actual: int, offset: int = 0) -> None:
        super().__init__(kind, expected, actual, offset)
        self.args = (f"{kind.capitalize()} CRC check failed: {self.args[0]}",)


def decode_event(message: Any) -> Tuple[Dict[str, Any], Any]:
    """Decode one frame into ``(headers, payload parsed as JSON)``.

    Raises:
        EventChecksumError: a CRC does not match (an AssertionError too, as documented
            by the seed module).
        EventStreamError: any other defect of the frame.
        ValueError: the payload is not JSON.
    """
    try:
        msg = decode(message)
    except ChecksumError as exc:
        raise EventChecksumError(exc.kind, exc.expected, exc.actual, exc.offset) from None
    return msg.headers, _shapes.loads(msg.payload)  # json.loads's value or error; msgspec's speed if installed
