"""What the fake server's stream loop and its two front ends share: the record of a
connection, the transport interface, and the service's answer to a failed signature."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Optional, Tuple, Union

from ..errors import EventStreamError
from ._facts import EXPIRED, SIGNATURE_MISMATCH, UNRECOGNIZED_CLIENT


@dataclass
class SessionRecord:
    """What the server saw of one connection (for assertions in tests)."""

    path: str = field(repr=False)  # the query carries the signature and any session token
    transport: str = "websocket"  # or "http2"
    params: Dict[str, str] = field(default_factory=dict)
    session_id: Optional[str] = None  # as sent back in x-amzn-SessionId / x-amzn-transcribe-session-id
    request_id: Optional[str] = None
    duplicate_headers: Tuple[str, ...] = ()  # handshake headers sent twice (the first value is used)
    audio_frames: int = 0
    audio_bytes: int = 0
    audio_seconds: float = 0.0  # from the bytes, the sample rate and the media encoding
    results_sent: int = 0  # results in all TranscriptEvents (an event may hold several, or none)
    events_sent: int = 0  # TranscriptEvent frames
    ended_cleanly: bool = False  # the stream was ended with the empty AudioEvent
    # Why the stream was refused or stopped: the exception type sent ("BadRequestException",
    # "UnrecognizedClientException"...), the HTTP status of a refused handshake ("403", "400"),
    # "1009" for a message over max_frame, "stalled" for a client that read nothing, "shutdown"
    # for a stream the server's stop() cut, "cancelled" for an HTTP/2 stream the client reset
    # before its response; ``reason`` says why, in words.
    error: Optional[str] = None
    reason: Optional[str] = None


def auth_refusal(exc: EventStreamError) -> Tuple[str, str]:
    """The exception frame the service sends for a presigned URL that does not verify."""
    text = str(exc)
    if text.startswith("unknown access key"):
        return UNRECOGNIZED_CLIENT
    if text.startswith("signature mismatch"):
        return SIGNATURE_MISMATCH
    if text.startswith("the URL expired"):
        return EXPIRED
    return "BadRequestException", f"The request signature is not valid: {text}"



class Connection:
    """What the stream loop needs of a transport; ``record`` is its :class:`SessionRecord`."""

    record: SessionRecord
    closing = False  # the server has begun to close it: nothing more is read or sent

    async def recv(self) -> Union[bytes, str, None]:  # None: the client closed its side, or the server did
        raise NotImplementedError

    async def send(self, frame: bytes) -> bool:
        """Send one frame; False if it could not leave (the stream is gone)."""
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    def abort(self) -> None:
        """Drop the connection (or HTTP/2 stream) without a goodbye."""
        raise NotImplementedError
