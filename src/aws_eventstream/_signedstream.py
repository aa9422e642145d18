"""One signed AWS event stream over HTTP/2: what the Transcribe and Bedrock sessions share.

The request is a POST signed with SigV4 over the streaming payload
(``STREAMING-AWS4-HMAC-SHA256-EVENTS``); each frame the caller sends goes inside a signed
envelope chained to the one before it (:class:`~aws_eventstream.signing.EventSigner`);
:meth:`SignedStream.end` sends the empty signed envelope, then END_STREAM. A failure of the
HTTP/2 layer comes out as the caller's own connection error class. ``h2`` is imported when
a stream opens.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Mapping, Optional, Tuple, Type, Union
from urllib.parse import urlsplit

from ._credentials import Credentials, resolve_credentials
from .auth import STREAMING_PAYLOAD, sign_request
from .signing import EventSigner

CONTENT_TYPE = "application/vnd.amazon.eventstream"


def credentials_for(credentials: Optional[Credentials], region: str, error: Type[Exception]) -> Credentials:
    """``credentials``, or those :func:`~aws_eventstream.auth.resolve_credentials` finds; ``error`` if none."""
    if credentials is not None:
        return credentials
    found = resolve_credentials(region=region)
    if found.credentials is None:
        raise error("no AWS credentials found: pass credentials=, set AWS_ACCESS_KEY_ID and "
                    "AWS_SECRET_ACCESS_KEY, or configure a profile")
    return found.credentials


def refusal(headers: Mapping[str, str], body: bytes) -> Tuple[str, str]:
    """(error type, message) of an HTTP error: ``x-amzn-errortype`` (its part before any ``:``)
    and the JSON body's ``message`` (or ``Message``), else the body as text."""
    kind = headers.get("x-amzn-errortype", "").split(":", 1)[0]
    try:
        decoded = json.loads(body) if body else {}
        message = decoded.get("message", decoded.get("Message", "")) if isinstance(decoded, dict) else ""
    except ValueError:
        message = body.decode("utf-8", "replace")
    return kind, str(message)


class SignedStream:
    """The request and its signed frames; ``error`` is the class its failures are raised as."""

    def __init__(self, url: str, *, region: str, service: str, credentials: Credentials,
                 headers: Mapping[str, str], ssl: Any, proxy: Union[str, bool, None], open_timeout: float,
                 error: Type[Exception]) -> None:
        parts = urlsplit(url)
        self._base = f"{parts.scheme}://{parts.netloc}"
        self._path = parts.path + (f"?{parts.query}" if parts.query else "")
        self._scheme = parts.scheme
        self._signed = sign_request("POST", url, service=service, region=region, credentials=credentials,
                                    headers={"content-type": CONTENT_TYPE, "x-amz-content-sha256": STREAMING_PAYLOAD,
                                             **headers}, payload_hash=STREAMING_PAYLOAD)
        self._signer = EventSigner(credentials=credentials, region=region, service=service,
                                   seed_signature=self._signed.signature)
        self._ssl = ssl
        self._proxy = proxy
        self._open_timeout = open_timeout
        self._error = error
        self._conn: Any = None
        self._stream: Any = None
        self.ended = False  # the caller's side: the empty envelope and END_STREAM were sent

    async def open(self) -> "SignedStream":
        """Connect and send the request headers (the response comes with :meth:`response`)."""
        from . import _http2client as h2c

        try:
            conn = await h2c.open_connection(self._base, ssl=self._ssl, proxy=self._proxy,
                                             timeout=self._open_timeout)
        except h2c.ConnectionLost as exc:
            raise self._error(str(exc)) from None
        headers = [(k, v) for k, v in self._signed.headers.items() if k.lower() != "host"]  # it is :authority
        try:
            self._stream = await conn.request("POST", self._path, headers, scheme=self._scheme)
        except h2c.HTTP2Error as exc:
            await conn.close()
            raise self._error(str(exc)) from None
        self._conn = conn
        return self

    @property
    def is_open(self) -> bool:
        return self._conn is not None

    @property
    def answered(self) -> bool:
        """True once the response headers (or the stream's failure) arrived."""
        return self._stream is not None and bool(self._stream.answered)

    def _open_stream(self) -> Any:
        if self._stream is None or self._conn is None:
            raise RuntimeError("the stream is not open")
        return self._stream

    async def response(self) -> Tuple[int, Dict[str, str], bytes]:
        """(status, headers, body): the body only when the status is not 200 (a refusal)."""
        import asyncio

        from . import _http2client as h2c

        stream = self._open_stream()
        try:
            status, headers = await asyncio.wait_for(stream.response(), self._open_timeout)
        except asyncio.TimeoutError:
            raise self._error(f"no response within {self._open_timeout:g} s") from None
        except h2c.HTTP2Error as exc:
            raise self._error(str(exc)) from None
        body = b""
        if status != 200:
            try:  # a refusal whose body never ends: its status and x-amzn-errortype still say what it was
                body = await asyncio.wait_for(self._read_all(), self._open_timeout)
            except asyncio.TimeoutError:
                pass
        return status, headers, body

    async def _read_all(self) -> bytes:
        """The body of a refusal; what arrived of it when the stream fails part-way (the
        status and x-amzn-errortype already say what went wrong)."""
        from . import _http2client as h2c

        parts: "list[bytes]" = []
        try:
            while True:
                data = await self._stream.read()
                if not data:
                    break
                parts.append(data)
        except h2c.HTTP2Error:
            pass
        return b"".join(parts)

    async def read(self) -> bytes:
        """The next piece of the response body; ``b""`` at its end."""
        from . import _http2client as h2c

        stream = self._open_stream()
        try:
            data: bytes = await stream.read()
        except h2c.HTTP2Error as exc:
            raise self._error(f"the stream failed: {exc}") from None
        return data

    async def send(self, frame: Any) -> None:
        """Send ``frame`` (an encoded event-stream frame) inside its signed envelope."""
        from . import _http2client as h2c

        stream = self._open_stream()
        if self.ended:
            raise RuntimeError("the stream's input was already ended")
        try:
            await stream.write(self._signer.sign(frame))
        except h2c.HTTP2Error as exc:
            raise self._error(str(exc)) from None

    async def end(self) -> None:
        """The empty signed envelope, then END_STREAM (once)."""
        from . import _http2client as h2c

        stream = self._open_stream()
        if self.ended:
            return
        self.ended = True
        try:
            await stream.write(self._signer.end())
            await stream.end()
        except h2c.HTTP2Error as exc:
            raise self._error(str(exc)) from None

    async def abort(self) -> None:
        """Reset the stream and close the connection at once."""
        conn, stream = self._conn, self._stream
        self._conn = None
        if conn is not None:
            stream.reset()
            await conn.close()

    async def close(self, drain_timeout: float = 5.0) -> None:
        """End the input if it was not ended, read what is still sent back, and close."""
        import asyncio

        if self._conn is None:
            return
        stream = self._stream
        try:
            if not self.ended and not stream.closed:
                await asyncio.wait_for(self.end(), drain_timeout)

            async def drain() -> None:
                while await stream.read():
                    pass
            await asyncio.wait_for(drain(), drain_timeout)
        except (asyncio.TimeoutError, Exception):  # noqa: BLE001 - closing: what failed no longer matters
            pass
        finally:
            await self.abort()
