"""The errors of a Bedrock bidirectional stream, each defined once.

The service's modeled exceptions (the ``InvokeModelWithBidirectionalStream`` shapes of the
bedrock-runtime model) arrive two ways: as an HTTP error before the stream starts
(``x-amzn-errortype``, a JSON ``{"message": ...}``), or as an ``exception`` event inside
it, named by the event member (``modelStreamErrorException``). Either way the same class.
"""

from __future__ import annotations

from typing import Dict, Optional, Type


class BedrockError(Exception):
    """Base class: something a Bedrock stream reported or did wrong."""


class BedrockServiceError(BedrockError):
    """A modeled exception from the service; ``exception_type`` and ``message`` say what."""

    exception_type = ""

    def __init__(self, message: str, exception_type: Optional[str] = None, status: Optional[int] = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status  # the HTTP status, when the error came before the stream
        if exception_type is not None:
            self.exception_type = exception_type

    def __str__(self) -> str:
        return f"{self.exception_type}: {self.message}"


class ValidationException(BedrockServiceError):
    """The input does not meet the model's constraints."""

    exception_type = "ValidationException"


class ThrottlingException(BedrockServiceError):
    """The request was throttled."""

    exception_type = "ThrottlingException"


class ModelStreamErrorException(BedrockServiceError):
    """The model failed while streaming."""

    exception_type = "ModelStreamErrorException"


class ModelTimeoutException(BedrockServiceError):
    """The model took too long, or the session outlasted its limit."""

    exception_type = "ModelTimeoutException"


class ServiceUnavailableException(BedrockServiceError):
    """The service is unavailable."""

    exception_type = "ServiceUnavailableException"


class InternalServerException(BedrockServiceError):
    """The service failed."""

    exception_type = "InternalServerException"


class AccessDeniedException(BedrockServiceError):
    """IAM does not allow the caller to invoke the model."""

    exception_type = "AccessDeniedException"


class ResourceNotFoundException(BedrockServiceError):
    """No such model."""

    exception_type = "ResourceNotFoundException"


class ServiceQuotaExceededException(BedrockServiceError):
    """A quota was exceeded."""

    exception_type = "ServiceQuotaExceededException"


class ModelNotReadyException(BedrockServiceError):
    """The model is not ready."""

    exception_type = "ModelNotReadyException"


class ModelErrorException(BedrockServiceError):
    """The model failed."""

    exception_type = "ModelErrorException"


class UnrecognizedClientException(BedrockServiceError):
    """The access key (or session token) is not known."""

    exception_type = "UnrecognizedClientException"


class InvalidSignatureException(BedrockServiceError):
    """The request's signature did not verify."""

    exception_type = "InvalidSignatureException"


class UnknownServiceException(BedrockServiceError):
    """A modeled exception this module does not know; ``exception_type`` names it."""


class BedrockErrorFrame(BedrockError):
    """An ``error`` event (``:error-code``, ``:error-message``)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class BedrockProtocolError(BedrockError):
    """A frame that is valid event-stream but not a Bedrock event we can read."""


class BedrockConnectionError(BedrockError):
    """The connection or the stream failed (reset, lost, never answered)."""


SERVICE_ERRORS: Dict[str, Type[BedrockServiceError]] = {cls.exception_type: cls for cls in (
    ValidationException, ThrottlingException, ModelStreamErrorException, ModelTimeoutException,
    ServiceUnavailableException, InternalServerException, AccessDeniedException, ResourceNotFoundException,
    ServiceQuotaExceededException, ModelNotReadyException, ModelErrorException, UnrecognizedClientException,
    InvalidSignatureException)}


def service_error(name: str, message: str, status: Optional[int] = None) -> BedrockServiceError:
    """The error named ``name``: an HTTP ``x-amzn-errortype`` (``ValidationException:...``)
    or an event member (``validationException``)."""
    name = name.split(":", 1)[0]
    name = name[:1].upper() + name[1:]
    cls = SERVICE_ERRORS.get(name)
    if cls is None:
        return UnknownServiceException(message, name, status)
    return cls(message, status=status)
