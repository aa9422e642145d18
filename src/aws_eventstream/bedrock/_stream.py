"""``InvokeModelWithBidirectionalStream`` (Nova Sonic) over our HTTP/2 client.

The request is ``POST /model/{modelId}/invoke-with-bidirectional-stream``, signed with
SigV4 for the ``bedrock`` service over the streaming payload; each event the caller sends
is a ``chunk`` inside a signed envelope chained to the request's signature; the stream
ends with the empty signed envelope, then END_STREAM. ``h2`` is imported on connect.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Union
from urllib.parse import quote, urlsplit

from .. import MAX_FRAME, Decoder
from .._credentials import Credentials
from .._signedstream import SignedStream, credentials_for, refusal
from ..auth import check_region
from ._errors import BedrockConnectionError, BedrockError, service_error
from ._events import ChunkStream, chunk_frame, chunk_frame_of_bytes

SERVICE = "bedrock"  # the signing name of bedrock-runtime


def endpoint_url_for(region: str) -> str:
    """The bedrock-runtime endpoint of a region."""
    check_region(region)
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"https://bedrock-runtime.{region}.{suffix}"


def path_for(model_id: str) -> str:
    """The request path for ``model_id`` (an id like ``amazon.nova-sonic-v1:0`` or an ARN)."""
    if not isinstance(model_id, str) or not model_id or len(model_id) > 2048:
        raise ValueError(f"model_id must be a non-empty str of at most 2048 characters, got {model_id!r}")
    return f"/model/{quote(model_id, safe='')}/invoke-with-bidirectional-stream"


class BidirectionalStream:
    """One bidirectional stream with a Bedrock model (Nova Sonic speech-to-speech).

    ``async with BidirectionalStream(model_id, region=...) as stream``: ``await
    stream.send(event)`` sends one model event (a JSON-serialisable dict) as a ``chunk``;
    ``async for event in stream`` gives the model's events as decoded dicts; ``await
    stream.end()`` ends the input (the output goes on). Modeled errors raise their classes
    (:class:`ValidationException`, :class:`ModelStreamErrorException`...), from the
    iteration or, for a refused request, from the first read or send; the events before an
    error come first. A corrupt frame raises the codec's error
    (:class:`~aws_eventstream.ChecksumError`, :class:`~aws_eventstream.FrameError`), and a
    failed connection :class:`BedrockConnectionError`.

    Credentials default to :func:`~aws_eventstream.auth.resolve_credentials`, read once
    when the stream opens: the request and every event of the stream are signed with them
    (an event signature chains to the one before it, so they cannot change mid-stream).
    Credentials that expire sooner than the stream (Nova Sonic sessions last up to 8
    minutes) keep signing: the service checks them when the stream opens. To be safe
    from a service that checks later, open the next stream with fresh credentials
    before the current ones expire.

    With ``raw=True`` the iteration gives each event as the bytes the model sent (its JSON,
    not parsed), the counterpart of :meth:`send_bytes`. With ``typed=True`` it gives typed
    events (:class:`TextOutput`, :class:`AudioOutput` with its audio as bytes,
    :class:`ToolUse`...; :func:`parse_event`), cheaper than the dicts.
    """

    def __init__(self, model_id: str, *, region: str, credentials: Optional[Credentials] = None,
                 endpoint_url: Optional[str] = None, ssl: Any = None, proxy: Union[str, bool, None] = True,
                 open_timeout: float = 10.0, max_frame: int = MAX_FRAME, raw: bool = False,
                 typed: bool = False) -> None:
        check_region(region)
        if raw and typed:
            raise ValueError("raw and typed cannot both be asked for")
        self.model_id = model_id
        path = path_for(model_id)
        base = endpoint_url_for(region) if endpoint_url is None else endpoint_url
        parts = urlsplit(base)
        if parts.scheme not in ("https", "http") or not parts.hostname or parts.query or parts.fragment \
                or parts.path not in ("", "/"):
            raise ValueError(f"endpoint_url {base!r} must be an https:// (or http://) URL with a host and no path")
        self._url = f"{parts.scheme}://{parts.netloc}{path}"
        self._region = region
        self._credentials = credentials
        self._ssl = ssl
        self._proxy = proxy
        self._open_timeout = open_timeout
        self._max_frame = Decoder(max_frame=max_frame).max_frame
        self._raw, self._typed = bool(raw), bool(typed)
        self._signed: Optional[SignedStream] = None
        self._events = ChunkStream(self._max_frame, raw=self._raw, typed=self._typed)
        self._pending: List[Any] = []
        self._answered = False
        self.response_headers: Dict[str, str] = {}

    async def __aenter__(self) -> "BidirectionalStream":
        return await self.connect()

    async def __aexit__(self, exc_type: Any, *exc: Any) -> None:
        if exc_type is None:
            await self.close()
        else:  # an error or a cancellation: nothing more is read or sent
            await self.abort()

    async def connect(self) -> "BidirectionalStream":
        """Open the connection and send the signed request (the response comes with the first read).

        Raises:
            BedrockConnectionError: the connection failed.
        """
        credentials = credentials_for(self._credentials, self._region, BedrockError)
        signed = SignedStream(self._url, region=self._region, service=SERVICE, credentials=credentials, headers={},
                              ssl=self._ssl, proxy=self._proxy, open_timeout=self._open_timeout,
                              error=BedrockConnectionError)
        self._signed = await signed.open()
        self._events = ChunkStream(self._max_frame, raw=self._raw, typed=self._typed)
        self._pending, self._answered = [], False
        return self

    def _open(self) -> SignedStream:
        if self._signed is None or not self._signed.is_open:
            raise RuntimeError("the stream is not open")
        return self._signed

    async def _check_response(self) -> None:
        """Wait for the response headers; a refusal raises the service's error."""
        if self._answered:
            return
        status, headers, body = await self._open().response()
        self._answered = True
        self.response_headers = headers
        if status != 200:
            kind, message = refusal(headers, body)
            raise service_error(kind or f"HTTP{status}", message, status)

    async def send(self, event: Any) -> None:
        """Send one model event (a JSON-serialisable dict) as a signed ``chunk``.

        Raises:
            RuntimeError: the input was already ended, or the stream is not open.
            TypeError, ValueError: ``event`` cannot be written as JSON.
            BedrockError: the stream failed, or the service refused it.
        """
        self._open()
        await self._send_frame(chunk_frame(event))  # a value JSON cannot write is refused before anything is sent

    async def send_bytes(self, data: Any) -> None:
        """Send one model event already serialised (its JSON as bytes) as a signed ``chunk``.

        The bytes go as they are, not parsed: the model is the judge of them.

        Raises:
            RuntimeError: the input was already ended, or the stream is not open.
            TypeError: ``data`` is not bytes, bytearray or memoryview.
            BedrockError: the stream failed, or the service refused it.
        """
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"data must be bytes, bytearray or memoryview, not {type(data).__name__}")
        self._open()
        await self._send_frame(chunk_frame_of_bytes(bytes(data)))

    async def _send_frame(self, frame: bytes) -> None:
        signed = self._open()
        if signed.ended:
            raise RuntimeError("the input stream was already ended")
        try:
            await signed.send(frame)
        except BedrockConnectionError:
            await self._refusal_first()
            raise

    async def _refusal_first(self) -> None:
        """A send failed: the service's refusal, if it answered with one, says why."""
        if not self._answered and self._signed is not None and self._signed.answered:
            await self._check_response()

    async def end(self) -> None:
        """End the input: the empty signed envelope, then END_STREAM. Output keeps coming."""
        try:
            await self._open().end()
        except BedrockConnectionError:
            await self._refusal_first()
            raise

    def __aiter__(self) -> "BidirectionalStream":
        return self

    async def __anext__(self) -> Any:
        signed = self._open()
        await self._check_response()
        while not self._pending:
            if self._events.held:  # an error (or events) that came with the last read: before reading on
                self._pending.extend(self._events.feed(b""))
                continue
            data = await signed.read()
            if not data:
                self._pending.extend(self._events.feed(b""))  # events held back before an error
                if self._pending:
                    break
                self._events.close()
                raise StopAsyncIteration
            self._pending.extend(self._events.feed(data))
        return self._pending.pop(0)

    async def abort(self) -> None:
        """Reset the stream and close the connection at once."""
        if self._signed is not None:
            await self._signed.abort()

    async def close(self, *, drain_timeout: float = 5.0) -> None:
        """End the input if it was not ended, read what the model still sends, and close."""
        if self._signed is not None:
            await self._signed.close(drain_timeout)
