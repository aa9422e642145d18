"""Amazon Bedrock bidirectional streams (``InvokeModelWithBidirectionalStream``, Nova Sonic).

- :class:`BidirectionalStream`: the asyncio client, on this package's HTTP/2 client
  (``_stream``; needs ``h2``: ``pip install "aws-eventstream[http2]"``).
- :func:`chunk_frame`, :func:`parse_message`, :class:`ChunkStream`: the ``chunk`` events
  both ways, and the service's exceptions, sans-IO (``_events``); :func:`parse_event` and
  the typed output events (:data:`OUTPUT_EVENTS`).
- The errors, each defined once (``_errors``).
"""

from __future__ import annotations

from ._errors import (
    AccessDeniedException,
    BedrockConnectionError,
    BedrockError,
    BedrockErrorFrame,
    BedrockProtocolError,
    BedrockServiceError,
    InternalServerException,
    InvalidSignatureException,
    ModelErrorException,
    ModelNotReadyException,
    ModelStreamErrorException,
    ModelTimeoutException,
    ResourceNotFoundException,
    ServiceQuotaExceededException,
    ServiceUnavailableException,
    ThrottlingException,
    UnknownServiceException,
    UnrecognizedClientException,
    ValidationException,
)
from ._events import (
    CHUNK_HEADERS,
    OUTPUT_EVENTS,
    AudioOutput,
    ChunkStream,
    CompletionEnd,
    CompletionStart,
    ContentEnd,
    ContentStart,
    OtherEvent,
    TextOutput,
    ToolUse,
    UsageEvent,
    chunk_frame,
    parse_event,
    parse_message,
)
from ._stream import SERVICE, BidirectionalStream, endpoint_url_for, path_for

__all__ = [
    "BidirectionalStream",
    "chunk_frame",
    "parse_message",
    "parse_event",
    "ChunkStream",
    "OUTPUT_EVENTS",
    "CompletionStart",
    "ContentStart",
    "TextOutput",
    "AudioOutput",
    "ToolUse",
    "ContentEnd",
    "CompletionEnd",
    "UsageEvent",
    "OtherEvent",
    "CHUNK_HEADERS",
    "SERVICE",
    "endpoint_url_for",
    "path_for",
    "BedrockError",
    "BedrockServiceError",
    "BedrockErrorFrame",
    "BedrockProtocolError",
    "BedrockConnectionError",
    "ValidationException",
    "ThrottlingException",
    "ModelStreamErrorException",
    "ModelTimeoutException",
    "ServiceUnavailableException",
    "InternalServerException",
    "AccessDeniedException",
    "ResourceNotFoundException",
    "ServiceQuotaExceededException",
    "ModelNotReadyException",
    "ModelErrorException",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "UnknownServiceException",
]
