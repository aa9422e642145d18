"""The errors of a Transcribe stream, each defined once.

What the service reports in a frame (:class:`TranscribeServiceError` and its subclasses,
:class:`TranscribeErrorFrame`), what it sent that cannot be read
(:class:`TranscribeProtocolError`), and what the connection did
(:class:`TranscribeHandshakeError`, :class:`TranscribeAuthError`,
:class:`TranscribeConnectionError`). All derive from :class:`TranscribeError`.
"""

from __future__ import annotations

from typing import Optional


class TranscribeError(Exception):
    """Base class: something the Transcribe stream reported or did wrong."""


class TranscribeServiceError(TranscribeError):
    """An ``exception`` frame from the service. ``exception_type`` and ``message`` say what."""

    exception_type = ""

    def __init__(self, message: str, exception_type: Optional[str] = None) -> None:
        super().__init__(message)
        self.message = message
        if exception_type is not None:
            self.exception_type = exception_type

    def __str__(self) -> str:
        return f"{self.exception_type}: {self.message}"


class BadRequestException(TranscribeServiceError):
    exception_type = "BadRequestException"


class LimitExceededException(TranscribeServiceError):
    exception_type = "LimitExceededException"


class InternalFailureException(TranscribeServiceError):
    exception_type = "InternalFailureException"


class ConflictException(TranscribeServiceError):
    exception_type = "ConflictException"


class ServiceUnavailableException(TranscribeServiceError):
    exception_type = "ServiceUnavailableException"


class UnrecognizedClientException(TranscribeServiceError):
    """The access key (or session token) was not recognized: sent after the upgrade."""

    exception_type = "UnrecognizedClientException"


class AccessDeniedException(TranscribeServiceError):
    """IAM does not allow ``transcribe:StartStreamTranscriptionWebSocket`` to the caller."""

    exception_type = "AccessDeniedException"


class InvalidSignatureException(TranscribeServiceError):
    """HTTP/2: the request's SigV4 signature did not verify (HTTP 403)."""

    exception_type = "InvalidSignatureException"


class UnknownServiceException(TranscribeServiceError):
    """An ``exception`` frame of a type this module does not know; ``exception_type`` names it."""


class TranscribeErrorFrame(TranscribeError):
    """An ``error`` frame (``:error-code``, ``:error-message``)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class TranscribeProtocolError(TranscribeError):
    """A frame that is valid event-stream but not a Transcribe message we can read."""


class TranscribeHandshakeError(TranscribeError):
    """The WebSocket handshake was refused (``status``, ``body``), e.g. an expired URL."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"handshake refused with HTTP {status}: {body.strip()}")
        self.status = status
        self.body = body


class TranscribeAuthError(TranscribeHandshakeError):
    """HTTP 403: the presigned URL's signature, scope or expiry was not accepted."""


class TranscribeConnectionError(TranscribeError):
    """The connection dropped without a clean close."""


_SERVICE_ERRORS = {cls.exception_type: cls for cls in (
    BadRequestException, LimitExceededException, InternalFailureException,
    ConflictException, ServiceUnavailableException, UnrecognizedClientException, AccessDeniedException,
    InvalidSignatureException)}


def service_error(exception_type: str, message: str) -> TranscribeServiceError:
    """The error an ``exception`` frame carries: the subclass named by ``exception_type``.

    An exception type this module does not know gives :class:`UnknownServiceException`.
    """
    cls = _SERVICE_ERRORS.get(exception_type)
    if cls is None:
        return UnknownServiceException(message, exception_type)
    return cls(message)
