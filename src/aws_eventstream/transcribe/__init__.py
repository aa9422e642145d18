"""Amazon Transcribe streaming over WebSocket, on top of the codec and SigV4.

- :func:`presigned_url` / :func:`medical_presigned_url`: the ``wss://`` URL that opens a
  stream, with every query parameter the WebSocket API takes, validated (``_url``).
- :func:`audio_event` / :data:`END_OF_STREAM`: AudioEvent frames (header block built once);
  :func:`parse_message` and :class:`TranscriptStream`: server frames to typed results, and
  ``exception`` / ``error`` frames to typed errors. Nothing is dropped silently (``_events``).
- The errors, each defined once (``_errors``).
- :class:`TranscribeSession`: the asyncio WebSocket client (``_session``), the only part
  that needs ``websockets``; :func:`start_stream_transcription`: the same stream over
  HTTP/2 on our client (``_h2session``), the only part that needs ``h2``. Everything else
  here is sans-IO and imports without either.
"""

from __future__ import annotations

from ._errors import (
    AccessDeniedException,
    BadRequestException,
    ConflictException,
    InternalFailureException,
    InvalidSignatureException,
    LimitExceededException,
    ServiceUnavailableException,
    TranscribeAuthError,
    TranscribeConnectionError,
    TranscribeError,
    TranscribeErrorFrame,
    TranscribeHandshakeError,
    TranscribeProtocolError,
    TranscribeServiceError,
    UnknownServiceException,
    UnrecognizedClientException,
)
from ._events import (
    AUDIO_HEADERS,
    END_OF_STREAM,
    Alternative,
    Entity,
    Item,
    LanguageWithScore,
    Result,
    TranscriptEvent,
    TranscriptStream,
    UnknownEvent,
    audio_event,
    parse_message,
    transcript_event,
)
from ._h2session import TranscribeHTTP2Session, start_stream_transcription
from ._session import TranscribeSession
from ._url import (
    FILTER_METHODS,
    MAX_EXPIRES,
    MEDIA_ENCODINGS,
    MEDICAL_SPECIALTIES,
    MEDICAL_STREAM_PATH,
    MEDICAL_TYPES,
    SERVICE,
    STABILITY,
    STREAM_PATH,
    endpoint_for,
    medical_presigned_url,
    presigned_url,
)

__all__ = [
    "start_stream_transcription",
    "TranscribeHTTP2Session",
    "presigned_url",
    "medical_presigned_url",
    "endpoint_for",
    "audio_event",
    "END_OF_STREAM",
    "AUDIO_HEADERS",
    "parse_message",
    "transcript_event",
    "TranscriptStream",
    "TranscriptEvent",
    "Result",
    "Alternative",
    "Item",
    "Entity",
    "LanguageWithScore",
    "UnknownEvent",
    "TranscribeError",
    "TranscribeServiceError",
    "BadRequestException",
    "LimitExceededException",
    "InternalFailureException",
    "ConflictException",
    "ServiceUnavailableException",
    "UnknownServiceException",
    "UnrecognizedClientException",
    "AccessDeniedException",
    "InvalidSignatureException",
    "TranscribeErrorFrame",
    "TranscribeProtocolError",
    "TranscribeHandshakeError",
    "TranscribeAuthError",
    "TranscribeConnectionError",
    "TranscribeSession",
    "SERVICE",
    "STREAM_PATH",
    "MEDICAL_STREAM_PATH",
    "MAX_EXPIRES",
    "MEDIA_ENCODINGS",
    "STABILITY",
    "FILTER_METHODS",
    "MEDICAL_SPECIALTIES",
    "MEDICAL_TYPES",
]
