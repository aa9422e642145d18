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
from .._credentials import Credentials, resolve_credentials
from ..auth import STREAMING_PAYLOAD, check_region, sign_request
from ..signing import EventSigner
from ._errors import BedrockConnectionError, BedrockError, service_error
from ._events import ChunkStream, chunk_frame

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
    iteration or, for a refused request, from the first read or send.

    Credentials default to :func:`~aws_eventstream.auth.resolve_credentials`, read once
    when the stream opens: the request and every event of the stream are signed with them
    (an event signature chains to the one before it, so they cannot change mid-stream).
    Credentials that expire sooner than the stream (Nova Sonic sessions last up to 8
    minutes) keep signing: the service checks them when the stream opens. To be safe
    from a service that checks later, open the next stream with fresh credentials
    before the current ones expire.
    """

    def __init__(self, model_id: str, *, region: str, credentials: Optional[Credentials] = None,
                 endpoint_url: Optional[str] = None, ssl: Any = None, proxy: Union[str, bool, None] = True,
                 open_timeout: float = 10.0, max_frame: int = MAX_FRAME) -> None:
        check_region(region)
        self.model_id = model_id
        self._path = path_for(model_id)
        base = endpoint_url_for(region) if endpoint_url is None else endpoint_url
        parts = urlsplit(base)
        if parts.scheme not in ("https", "http") or not parts.hostname or parts.query or parts.fragment \
                or parts.path not in ("", "/"):
            raise ValueError(f"endpoint_url {base!r} must be an https:// (or http://) URL with a host and no path")
        self._base = f"{parts.scheme}://{parts.netloc}"
        self._region = region
        self._credentials = credentials
        self._ssl = ssl
        self._proxy = proxy
        self._open_timeout = open_timeout
        self._max_frame = Decoder(max_frame=max_frame).max_frame
        self._conn: Any = None
        self._stream: Any = None
        self._signer: Optional[EventSigner] = None
        self._events = ChunkStream(self._max_frame)
        self._pending: List[Any] = []
        self._answered = False
        self._ended = False
        self.response_headers: Dict[str, str] = {}

    async def __aenter__(self) -> "BidirectionalStream":
        return await self.connect()

    async def __aexit__(self, exc_type: Any, *exc: Any) -> None:
        if exc_type is None:
            await self.close()
        else:  # an error or a cancellation: nothing more is read or sent
            await self.abort()

    def _credentials_now(self) -> Credentials:
        if self._credentials is not None:
            return self._credentials
        found = resolve_credentials(region=self._region)
        if found.credentials is None:
            raise BedrockError("no AWS credentials found: pass credentials=, set AWS_ACCESS_KEY_ID and "
                               "AWS_SECRET_ACCESS_KEY, or configure a profile")
        return found.credentials

    async def connect(self) -> "BidirectionalStream":
        """Open the connection and send the signed request (the response comes with the first read).

        Raises:
            BedrockConnectionError: the connection failed.
        """
        from .. import _http2client as h2c

        credentials = self._credentials_now()
        signed = sign_request("POST", self._base + self._path, service=SERVICE, region=self._region,
                              credentials=credentials, payload_hash=STREAMING_PAYLOAD,
                              headers={"content-type": "application/vnd.amazon.eventstream",
                                       "x-amz-content-sha256": STREAMING_PAYLOAD})
        headers = [(k, v) for k, v in signed.headers.items() if k.lower() != "host"]
        try:
            conn = await h2c.open_connection(self._base, ssl=self._ssl, proxy=self._proxy,
                                             timeout=self._open_timeout)
        except h2c.ConnectionLost as exc:
            raise BedrockConnectionError(str(exc)) from None
        try:
            stream = await conn.request("POST", self._path, headers, scheme=urlsplit(self._base).scheme)
        except h2c.HTTP2Error as exc:
            await conn.close()
            raise BedrockConnectionError(str(exc)) from None
        self._conn, self._stream = conn, stream
        self._signer = EventSigner(credentials=credentials, region=self._region, service=SERVICE,
                                   seed_signature=signed.signature)
        self._events = ChunkStream(self._max_frame)
        self._pending, self._answered, self._ended = [], False, False
        return self

    def _open(self) -> Any:
        if self._stream is None:
            raise RuntimeError("the stream is not open")
        return self._stream

    async def _check_response(self) -> None:
        """Wait for the response headers; a refusal raises the service's error."""
        import asyncio
        import json

        if self._answered:
            return
        stream = self._open()
        try:
            status, headers = await asyncio.wait_for(stream.response(), self._open_timeout)
        except asyncio.TimeoutError:
            raise BedrockConnectionError(f"no response within {self._open_timeout:g} s") from None
        self._answered = True
        self.response_headers = headers
        if status == 200:
            return
        body = b""
        while True:
            data = await stream.read()
            if not data:
                break
            body += data
        kind = headers.get("x-amzn-errortype", "")
        try:
            decoded = json.loads(body) if body else {}
            message = decoded.get("message", decoded.get("Message", "")) if isinstance(decoded, dict) else ""
        except ValueError:
            message = body.decode("utf-8", "replace")
        raise service_error(kind or f"HTTP{status}", str(message), status)

    async def send(self, event: Any) -> None:
        """Send one model event (a JSON-serialisable dict) as a signed ``chunk``.

        Raises:
            RuntimeError: the input was already ended, or the stream is not open.
            TypeError, ValueError: ``event`` cannot be written as JSON.
            BedrockError: the stream failed, or the service refused it.
        """
        from .. import _http2client as h2c

        stream = self._open()
        if self._ended:
            raise RuntimeError("the input stream was already ended")
        frame = chunk_frame(event)  # a value JSON cannot write is refused before anything is sent
        assert self._signer is not None
        envelope = self._signer.sign(frame)
        try:
            await stream.write(envelope)
        except h2c.HTTP2Error as exc:
            await self._raise_refusal_or(exc)

    async def _raise_refusal_or(self, exc: BaseException) -> None:
        """A send failed: the service's refusal if it answered with one, else the failure."""
        if not self._answered and self._stream is not None and self._stream.answered:
            await self._check_response()
        raise BedrockConnectionError(str(exc)) from None

    async def end(self) -> None:
        """End the input: the empty signed envelope, then END_STREAM. Output keeps coming."""
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
            await self._raise_refusal_or(exc)

    def __aiter__(self) -> "BidirectionalStream":
        return self

    async def __anext__(self) -> Any:
        from .. import _http2client as h2c

        stream = self._open()
        await self._check_response()
        while not self._pending:
            try:
                data = await stream.read()
            except h2c.HTTP2Error as exc:
                raise BedrockConnectionError(f"the stream failed: {exc}") from None
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
        conn, stream = self._conn, self._stream
        self._conn = self._stream = None
        if conn is not None:
            stream.reset()
            await conn.close()

    async def close(self, *, drain_timeout: float = 5.0) -> None:
        """End the input if it was not ended, read what the model still sends, and close."""
        import asyncio

        conn, stream = self._conn, self._stream
        if conn is None:
            return
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
            self._conn = self._stream = None
            stream.reset()
            await conn.close()
