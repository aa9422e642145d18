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

from typing import Any, Dict, List, Optional, Tuple, Union
from urllib.parse import urlsplit

from .. import MAX_FRAME, Decoder
from .._credentials import Credentials, resolve_credentials
from ..auth import STREAMING_PAYLOAD, check_region, sign_request
from ..signing import EventSigner
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
        self._base = f"{parts.scheme}://{parts.netloc}"
        self._path = (parts.path.rstrip("/") or "") + (MEDICAL_PATH if medical else PATH)
        self._ssl = ssl
        self._proxy = proxy
        self._open_timeout = open_timeout
        self._max_frame = Decoder(max_frame=max_frame).max_frame  # the Decoder refuses a bad limit now
        self._conn: Any = None
        self._stream: Any = None
        self._signer: Optional[EventSigner] = None
        self._events = TranscriptStream(max_frame=self._max_frame)
        self._pending: List[Union[TranscriptEvent, UnknownEvent]] = []
        self._ended = False
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

    def _credentials_now(self) -> Credentials:
        if self._credentials is not None:
            return self._credentials
        found = resolve_credentials(region=self._region)
        if found.credentials is None:
            raise TranscribeError("no AWS credentials found: pass credentials=, set AWS_ACCESS_KEY_ID and "
                                  "AWS_SECRET_ACCESS_KEY, or configure a profile")
        return found.credentials

    def _request_headers(self, credentials: Credentials) -> Tuple[List[Tuple[str, str]], str]:
        headers = {"content-type": "application/vnd.amazon.eventstream", "x-amz-content-sha256": STREAMING_PAYLOAD}
        headers.update({f"{_PREFIX}{name}": _wire(value) for name, value in self._params.items()})
        signed = sign_request("POST", self._base + self._path, service=SERVICE, region=self._region,
                              credentials=credentials, headers=headers, payload_hash=STREAMING_PAYLOAD)
        # host travels as :authority in HTTP/2
        return [(k, v) for k, v in signed.headers.items() if k.lower() != "host"], signed.signature

    async def connect(self) -> "TranscribeHTTP2Session":
        """Open the connection and the request; wait for the response headers.

        Raises:
            TranscribeServiceError: the service refused the request (its ``x-amzn-errortype``:
                ``BadRequestException``, ``UnrecognizedClientException``, ``AccessDeniedException``...).
            TranscribeHandshakeError: any other HTTP status.
            TranscribeConnectionError: the connection failed.
        """
        import asyncio

        from .. import _http2client as h2c

        credentials = self._credentials_now()
        headers, seed = self._request_headers(credentials)
        try:
            conn = await h2c.open_connection(self._base, ssl=self._ssl, proxy=self._proxy,
                                             timeout=self._open_timeout)
        except h2c.ConnectionLost as exc:
            raise TranscribeConnectionError(str(exc)) from None
        try:
            stream = await conn.request("POST", self._path, headers, scheme=urlsplit(self._base).scheme)
            status, response = await asyncio.wait_for(stream.response(), self._open_timeout)
            if status != 200:
                body = await asyncio.wait_for(self._read_all(stream), self._open_timeout)
                raise self._refusal(status, response, body)
        except asyncio.TimeoutError:
            await conn.close()
            raise TranscribeConnectionError(f"no response within {self._open_timeout:g} s") from None
        except h2c.HTTP2Error as exc:
            await conn.close()
            raise TranscribeConnectionError(str(exc)) from None
        except BaseException:
            await conn.close()
            raise
        self._conn, self._stream = conn, stream
        self._signer = EventSigner(credentials=credentials, region=self._region, service=SERVICE, seed_signature=seed)
        self.response_headers = response
        self._events = TranscriptStream(max_frame=self._max_frame)
        self._pending = []
        self._ended = False
        return self

    @staticmethod
    async def _read_all(stream: Any) -> bytes:
        parts: List[bytes] = []
        while True:
            data = await stream.read()
            if not data:
                return b"".join(parts)
            parts.append(data)

    @staticmethod
    def _refusal(status: int, headers: Dict[str, str], body: bytes) -> TranscribeError:
        import json

        kind = headers.get("x-amzn-errortype", "").split(":", 1)[0]
        try:
            decoded = json.loads(body) if body else {}
            message = decoded.get("Message", decoded.get("message", "")) if isinstance(decoded, dict) else ""
        except ValueError:
            message = body.decode("utf-8", "replace")
        if kind:
            return service_error(kind, str(message))
        return TranscribeHandshakeError(status, body.decode("utf-8", "replace"))

    async def __aenter__(self) -> "TranscribeHTTP2Session":
        return await self.connect()

    async def __aexit__(self, exc_type: Any, *exc: Any) -> None:
        if exc_type is None:
            await self.close()
        else:  # an error or a cancellation: nothing more is read or sent
            await self.abort()

    async def abort(self) -> None:
        """Reset the stream and close the connection at once."""
        conn, stream = self._conn, self._stream
        self._conn = self._stream = None
        if conn is not None:
            stream.reset()
            await conn.close()

    def _open(self) -> Any:
        if self._stream is None:
            raise RuntimeError("the session is not connected")
        return self._stream

    async def send_audio(self, audio: Any) -> None:
        """Send one AudioEvent carrying ``audio``, signed (an empty chunk is skipped)."""
        if self._ended:
            raise RuntimeError("the audio stream was already ended")
        if len(memoryview(audio)):
            await self.send_frame(audio_event(audio))

    async def send_frame(self, frame: Any) -> None:
        """Send one encoded event-stream frame, inside its signed envelope."""
        from .. import _http2client as h2c

        stream = self._open()
        assert self._signer is not None
        if self._ended:
            raise RuntimeError("the audio stream was already ended")
        envelope = self._signer.sign(frame)
        try:
            await stream.write(envelope)
        except h2c.HTTP2Error as exc:
            raise TranscribeConnectionError(str(exc)) from None

    async def end(self) -> None:
        """End the audio: the empty signed envelope, then END_STREAM. Results keep coming."""
        from .. import _http2client as h2c

        stream = self._open()
        if self._ended:
            return
        self._ended = True
        assert self._signer is not None
        try:
            await stream.write(self._signer.end())
            await stream.end()
        except h2c.HTTP2Error as exc:
            raise TranscribeConnectionError(str(exc)) from None

    def __aiter__(self) -> "TranscribeHTTP2Session":
        return self

    async def __anext__(self) -> Union[TranscriptEvent, UnknownEvent]:
        from .. import _http2client as h2c

        stream = self._open()
        while not self._pending:
            try:
                data = await stream.read()
            except h2c.HTTP2Error as exc:
                raise TranscribeConnectionError(f"the stream failed: {exc}") from None
            if not data:
                self._events.close()  # FrameError if the stream was cut inside a frame
                raise StopAsyncIteration
            self._pending.extend(self._events.feed(data))
        return self._pending.pop(0)

    async def close(self, *, drain_timeout: float = 5.0) -> None:
        """End the audio if it was not ended, read what the service still sends, and close.

        A task cancelled here, or a caller leaving ``async with`` on an error, resets the
        stream and closes the connection: nothing is left open.
        """
        import asyncio

        conn, stream = self._conn, self._stream
        if conn is None:
            return
        self._conn = self._stream = None
        try:
            if not self._ended and not stream.closed:
                self._ended = True
                assert self._signer is not None
                await asyncio.wait_for(stream.write(self._signer.end()), drain_timeout)
                await stream.end()

            async def drain() -> None:
                while await stream.read():
                    pass
            await asyncio.wait_for(drain(), drain_timeout)
        except (asyncio.TimeoutError, Exception):  # noqa: BLE001 - closing: what failed no longer matters
            pass
        finally:
            stream.reset()
            await conn.close()


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
