"""Amazon Transcribe streaming over HTTP/2 (``StartStreamTranscription``), on our HTTP/2 client.

The request is ``POST /stream-transcription`` (``/medical-stream-transcription``), its
parameters ``x-amzn-transcribe-*`` headers, signed with SigV4 over the streaming payload
``STREAMING-AWS4-HMAC-SHA256-EVENTS``; every AudioEvent goes inside a signed envelope
whose signature chains to the one before (:class:`aws_eventstream.signing.EventSigner`),
and the audio ends with the empty signed envelope, then END_STREAM. The response is an
event stream of TranscriptEvents, read exactly as the WebSocket session reads them.
``h2`` is imported when a session connects: the package imports without it.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Union
from urllib.parse import urlsplit

from .. import MAX_FRAME, Decoder
from .._credentials import Credentials
from .._signedstream import SignedStream, credentials_for, refusal
from ..auth import check_region
from ._errors import TranscribeConnectionError, TranscribeError, TranscribeHandshakeError, service_error
from ._events import TranscriptEvent, TranscriptStream, UnknownEvent, audio_event
from ._url import SERVICE, medical_stream_params, stream_params

PATH = "/stream-transcription"
MEDICAL_PATH = "/medical-stream-transcription"
_PREFIX = "x-amzn-transcribe-"


def endpoint_url_for(region: str) -> str:
    """The HTTP/2 endpoint of a region (China regions use amazonaws.com.cn)."""
    check_region(region)
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"https://transcribestreaming.{region}.{suffix}"


def _wire(value: object) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


class TranscribeHTTP2Session:
    """One Amazon Transcribe stream over HTTP/2, with :class:`TranscribeSession`'s interface.

    Made by :func:`start_stream_transcription`; ``async with`` connects (the response
    headers arrive, or the service's refusal is raised) and closes. Send audio with
    :meth:`send_audio`, end it with :meth:`end`, iterate for the typed events.
    """

    def __init__(self, *, region: str, credentials: Optional[Credentials] = None,
                 endpoint_url: Optional[str] = None, ssl: Any = None, medical: bool = False,
                 proxy: Union[str, bool, None] = True, open_timeout: float = 10.0,
                 max_frame: int = MAX_FRAME, **params: Any) -> None:
        check_region(region)
        self._params = medical_stream_params(**params) if medical else stream_params(**params)
        self._region = region
        self._credentials = credentials
        base = endpoint_url_for(region) if endpoint_url is None else endpoint_url
        parts = urlsplit(base)
        if parts.scheme not in ("https", "http") or not parts.hostname or parts.query or parts.fragment:
            raise ValueError(f"endpoint_url {base!r} must be an https:// (or http://) URL with a host and no query")
        self._url = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}{MEDICAL_PATH if medical else PATH}"
        self._ssl = ssl
        self._proxy = proxy
        self._open_timeout = open_timeout
        self._max_frame = Decoder(max_frame=max_frame).max_frame  # the Decoder refuses a bad limit now
        self._signed: Optional[SignedStream] = None
        self._events = TranscriptStream(max_frame=self._max_frame)
        self._pending: List[Union[TranscriptEvent, UnknownEvent]] = []
        self._failure: Optional[BaseException] = None  # to raise once _pending is handed out
        self.response_headers: Dict[str, str] = {}

    @property
    def max_frame(self) -> int:
        """The largest event-stream frame accepted from the service."""
        return self._max_frame

    @property
    def session_id(self) -> Optional[str]:
        """The session's id, as the service sent it back (``x-amzn-transcribe-session-id``)."""
        return self.response_headers.get(f"{_PREFIX}session-id")

    @property
    def request_id(self) -> Optional[str]:
        return self.response_headers.get("x-amzn-request-id")

    async def connect(self) -> "TranscribeHTTP2Session":
        """Open the connection and the request; wait for the response headers.

        Raises:
            TranscribeServiceError: the service refused the request (its ``x-amzn-errortype``:
                ``BadRequestException``, ``UnrecognizedClientException``, ``AccessDeniedException``...).
            TranscribeHandshakeError: any other HTTP status.
            TranscribeConnectionError: the connection failed.
        """
        credentials = credentials_for(self._credentials, self._region, TranscribeError)
        signed = SignedStream(self._url, region=self._region, service=SERVICE, credentials=credentials,
                              headers={f"{_PREFIX}{name}": _wire(value) for name, value in self._params.items()},
                              ssl=self._ssl, proxy=self._proxy, open_timeout=self._open_timeout,
                              error=TranscribeConnectionError)
        await signed.open()
        try:
            status, headers, body = await signed.response()
            if status != 200:
                kind, message = refusal(headers, body)
                raise service_error(kind, message) if kind else TranscribeHandshakeError(
                    status, body.decode("utf-8", "replace"))
        except BaseException:
            await signed.abort()
            raise
        self._signed = signed
        self.response_headers = headers
        self._events = TranscriptStream(max_frame=self._max_frame)
        self._pending, self._failure = [], None
        return self

    async def __aenter__(self) -> "TranscribeHTTP2Session":
        return await self.connect()

    async def __aexit__(self, exc_type: Any, *exc: Any) -> None:
        if exc_type is None:
            await self.close()
        else:  # an error or a cancellation: nothing more is read or sent
            await self.abort()

    def _open(self) -> SignedStream:
        if self._signed is None or not self._signed.is_open:
            raise RuntimeError("the session is not connected")
        return self._signed

    async def send_audio(self, audio: Any) -> None:
        """Send one AudioEvent carrying ``audio``, signed (an empty chunk is skipped)."""
        if self._open().ended:
            raise RuntimeError("the audio stream was already ended")
        if len(memoryview(audio)):
            await self.send_frame(audio_event(audio))

    async def send_frame(self, frame: Any) -> None:
        """Send one encoded event-stream frame, inside its signed envelope."""
        signed = self._open()
        if signed.ended:
            raise RuntimeError("the audio stream was already ended")
        await signed.send(frame)

    async def end(self) -> None:
        """End the audio: the empty signed envelope, then END_STREAM. Results keep coming."""
        await self._open().end()

    def __aiter__(self) -> "TranscribeHTTP2Session":
        return self

    async def __anext__(self) -> Union[TranscriptEvent, UnknownEvent]:
        signed = self._open()
        while not self._pending:
            if self._failure is not None:  # raised after the events before it
                failure, self._failure = self._failure, None
                raise failure
            data = await signed.read()
            if not data:
                self._events.close()  # FrameError if the stream was cut inside a frame
                raise StopAsyncIteration
            self._failure = self._events.take(data, self._pending)
        return self._pending.pop(0)

    async def abort(self) -> None:
        """Reset the stream and close the connection at once."""
        if self._signed is not None:
            await self._signed.abort()

    async def close(self, *, drain_timeout: float = 5.0) -> None:
        """End the audio if it was not ended, read what the service still sends, and close.

        A task cancelled here, or a caller leaving ``async with`` on an error, resets the
        stream and closes the connection: nothing is left open.
        """
        if self._signed is not None:
            await self._signed.close(drain_timeout)


def start_stream_transcription(*, region: str, credentials: Optional[Credentials] = None,
                               endpoint_url: Optional[str] = None, ssl: Any = None, medical: bool = False,
                               **params: Any) -> TranscribeHTTP2Session:
    """A Transcribe stream over HTTP/2: ``async with start_stream_transcription(...) as session``.

    ``params`` are those of :func:`presigned_url` (``language_code``, ``sample_rate``,
    ``media_encoding``...; with ``medical=True`` those of :func:`medical_presigned_url`),
    sent as ``x-amzn-transcribe-*`` headers; ``proxy``, ``open_timeout`` and ``max_frame``
    are as for :class:`TranscribeSession`. Credentials default to
    :func:`~aws_eventstream.auth.resolve_credentials` (environment, then botocore's chain).
    ``ssl`` may be an ``ssl.SSLContext`` (a test CA). Needs ``h2``:
    ``pip install "aws-eventstream[http2]"``.

    Raises:
        ValueError: a parameter Transcribe would refuse (before anything is sent).
    """
    return TranscribeHTTP2Session(region=region, credentials=credentials, endpoint_url=endpoint_url, ssl=ssl,
                                  medical=medical, **params)
