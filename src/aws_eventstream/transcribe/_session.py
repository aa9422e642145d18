"""The asyncio WebSocket client of Amazon Transcribe streaming.

The only part of :mod:`aws_eventstream.transcribe` that needs an event loop and the
``websockets`` package; websockets is imported when a session connects, so the rest of
the package imports without it.
"""

from __future__ import annotations

from typing import Any, List, Optional, Union
from urllib.parse import urlsplit

from .. import MAX_FRAME, Decoder
from ._errors import (
    TranscribeAuthError,
    TranscribeConnectionError,
    TranscribeError,
    TranscribeHandshakeError,
    TranscribeProtocolError,
)
from ._events import END_OF_STREAM, TranscriptEvent, TranscriptStream, UnknownEvent, audio_event

_LOOPBACK = ("127.0.0.1", "localhost", "::1")


class TranscribeSession:
    """An asyncio client for one Amazon Transcribe streaming session over WebSocket.

    Send audio with :meth:`send_audio` (one AudioEvent frame per call) and end it with
    :meth:`end`; iterate over the session for :class:`TranscriptEvent` objects, in order.
    Exception and error frames raise their typed errors from the iteration. A presigned
    URL lives at most 5 minutes: give a function instead of a URL and :meth:`reconnect`
    opens a new session with a fresh one. A message from the service larger than
    ``max_frame`` closes the connection (1009) before it is buffered. Needs the
    ``websockets`` package::

        async with TranscribeSession(lambda: presigned_url(...)) as session:
            await session.send_audio(pcm_100ms)
            await session.end()
            async for event in session:
                ...
    """

    def __init__(self, url: Union[str, Any], *, open_timeout: float = 10.0,
                 proxy: Union[str, bool, None] = True, max_frame: int = MAX_FRAME) -> None:
        self._url_source = url
        self._open_timeout = open_timeout
        self._proxy = proxy
        self._ws: Any = None
        self._max_frame = Decoder(max_frame=max_frame).max_frame  # the Decoder refuses a bad limit now
        self._stream = TranscriptStream(max_frame=self._max_frame)
        self._pending: List[Union[TranscriptEvent, UnknownEvent]] = []
        self._failure: Optional[BaseException] = None  # to raise once _pending is handed out
        self._ended = False

    @property
    def max_frame(self) -> int:
        """The largest message and event-stream frame accepted from the service."""
        return self._max_frame

    def _next_url(self) -> str:
        return self._url_source() if callable(self._url_source) else self._url_source

    async def connect(self) -> "TranscribeSession":
        """Open the WebSocket (the handshake checks the presigned URL)."""
        try:
            from websockets.asyncio.client import connect
            from websockets.exceptions import InvalidStatus
        except ImportError:
            raise ImportError('TranscribeSession needs websockets: pip install "aws-eventstream[websockets]"') from None
        url = self._next_url()
        proxy: Any = self._proxy
        if proxy is True and urlsplit(url).hostname in _LOOPBACK:
            proxy = None  # a local test server is never behind the system proxy
        try:
            self._ws = await connect(url, open_timeout=self._open_timeout, proxy=proxy, compression=None,
                                     max_size=self._max_frame, ping_interval=None)
        except InvalidStatus as exc:
            status = exc.response.status_code
            body = (exc.response.body or b"").decode("utf-8", "replace")
            raise (TranscribeAuthError if status == 403 else TranscribeHandshakeError)(status, body) from None
        self._stream = TranscriptStream(max_frame=self._max_frame)
        self._pending = []
        self._ended = False
        return self

    async def __aenter__(self) -> "TranscribeSession":
        return await self.connect()

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    def _socket(self) -> Any:
        if self._ws is None:
            raise RuntimeError("the session is not connected")
        return self._ws

    async def send_audio(self, audio: Any) -> None:
        """Send one AudioEvent frame carrying ``audio`` (an empty chunk is skipped)."""
        if self._ended:
            raise RuntimeError("the audio stream was already ended")
        if len(memoryview(audio)):
            await self._socket().send(audio_event(audio))

    async def send_frame(self, frame: Any) -> None:
        """Send one already encoded frame as it is (a signed envelope, a hand-made frame)."""
        await self._socket().send(bytes(frame))

    async def end(self) -> None:
        """Send the empty AudioEvent that ends the audio; results keep coming until the close."""
        if not self._ended:
            self._ended = True
            await self._socket().send(END_OF_STREAM)

    def __aiter__(self) -> "TranscribeSession":
        return self

    async def __anext__(self) -> Union[TranscriptEvent, UnknownEvent]:
        from websockets.exceptions import ConnectionClosedError, ConnectionClosedOK

        ws = self._socket()
        while not self._pending:
            if self._failure is not None:
                failure, self._failure = self._failure, None
                raise failure
            try:
                data = await ws.recv()
            except ConnectionClosedOK:
                self._stream.close()  # FrameError if the stream was cut inside a frame
                raise StopAsyncIteration from None
            except ConnectionClosedError as exc:
                raise TranscribeConnectionError(f"the connection dropped: {exc}") from None
            if isinstance(data, str):
                raise TranscribeProtocolError("a text message on an event stream")
            self._failure = self._stream.take(data, self._pending)  # raised after the events before it
        return self._pending.pop(0)

    async def _finish(self, timeout: float, keep: bool) -> None:
        """End the audio, read what the service still sends until it closes, then close."""
        # Imported here, like websockets: importing the transcribe package (the CLI does, for
        # its argument choices) need not load asyncio.
        import asyncio

        from websockets.exceptions import ConnectionClosed

        ws, self._ws = self._ws, None

        async def read_until_closed() -> None:
            while True:
                data = await ws.recv()
                if keep and isinstance(data, bytes):
                    self._pending.extend(self._stream.feed(data))

        try:
            if not self._ended:
                self._ended = True
                await ws.send(END_OF_STREAM)
            await asyncio.wait_for(read_until_closed(), timeout)
        except (ConnectionClosed, asyncio.TimeoutError):
            pass
        finally:
            await ws.close()

    async def reconnect(self, *, drain_timeout: float = 5.0) -> "TranscribeSession":
        """End this stream properly, then open a new one with a fresh URL.

        Results the old stream still sends before it closes are kept and come first
        when iterating; an error it reports is raised here.
        """
        if self._ws is not None:
            await self._finish(drain_timeout, keep=True)
        pending = self._pending
        await self.connect()
        self._pending = pending
        return self

    async def close(self, *, drain_timeout: float = 5.0) -> None:
        """End the audio if it was not ended, wait for the service to close, and close."""
        if self._ws is None:
            return
        try:
            await self._finish(drain_timeout, keep=False)
        except TranscribeError:  # the old stream's late errors do not matter to a closing caller
            pass
