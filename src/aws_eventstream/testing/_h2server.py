"""The fake servers' HTTP/2 side, over the ``h2`` library: connections and request streams.

One :class:`H2Link` per client connection owns the h2 state machine and its socket, routes
each request's DATA to its :class:`H2Stream` (acknowledged only as the stream loop takes it,
so a client cannot outrun the server), and closes a connection that has had no request
open for :data:`IDLE_TIMEOUT` seconds. What a request means is the :class:`H2Server`
subclass's: ``new_record`` for each request, ``handle`` to serve it, ``fail`` for a fault
of the fake itself. The fake Transcribe and fake Bedrock servers are two such subclasses.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

from ._connection import Connection

try:
    import h2.config
    import h2.connection
    import h2.events
    import h2.exceptions
except ImportError:  # optional: reported when an HTTP/2 server is started
    h2 = None  # type: ignore[assignment]

__all__ = ["H2Server", "H2Link", "H2Stream", "IDLE_TIMEOUT", "CANCELLED", "h2"]

# A connection with no request open (one that sent nothing, only the preface, or only
# pings and settings since its last stream ended) is closed after this many seconds, as
# the WebSocket front end's handshake times out.
IDLE_TIMEOUT = 10.0
CANCELLED = ("cancelled", "the client reset the stream (RST_STREAM)")


class H2Stream(Connection):
    """One HTTP/2 request stream, as a stream loop sees it."""

    def __init__(self, link: "H2Link", stream_id: int, record: Any) -> None:
        self.link = link
        self.stream_id = stream_id
        self.record = record
        # DATA as it came, and its flow-controlled length: acknowledged (the client's window
        # reopened) only when the stream loop takes it, so a client cannot outrun the server.
        self.inbox: "asyncio.Queue[Optional[Tuple[bytes, int]]]" = asyncio.Queue()
        self.remote_ended = False  # the client ended its side (END_STREAM or RST_STREAM)
        self.reset = False  # by the client's RST_STREAM: a cancellation
        self.sending = asyncio.Lock()  # one frame at a time: a frame goes out in window-sized pieces

    async def recv(self) -> Union[bytes, str, None]:
        if self.closing:
            return None
        item = await self.inbox.get()
        if item is None:
            return None
        data, length = item
        self.link.acknowledge(self.stream_id, length)
        return data

    async def send(self, frame: bytes) -> bool:
        if self.closing:
            return False
        async with self.sending:
            return await self.link.send_data(self.stream_id, frame)

    def _release(self) -> None:
        """Acknowledge what is still queued: the connection's window must not lose it."""
        while not self.inbox.empty():
            item = self.inbox.get_nowait()
            if item is not None:
                self.link.acknowledge(self.stream_id, item[1])

    async def close(self) -> None:
        if not self.closing:
            self.closing = True
            self._release()
            self.inbox.put_nowait(None)
            async with self.sending:
                # The response ends here; what the client still sends is read, acknowledged
                # and dropped until it ends its side (a reset stream's DATA would be dropped
                # by h2 without its room in the connection's window being given back).
                self.link.end_stream(self.stream_id)

    def abort(self) -> None:
        self.closing = True
        self._release()
        self.inbox.put_nowait(None)
        self.link.reset_stream(self.stream_id)


class H2Link:
    """One client connection: the h2 state machine, its socket, its request streams."""

    def __init__(self, front: "H2Server", reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.front = front
        self.reader = reader
        self.writer = writer
        assert h2 is not None
        self.h2 = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False, header_encoding=None))
        self.streams: Dict[int, H2Stream] = {}
        self.tasks: "set[asyncio.Task[None]]" = set()
        self.window = asyncio.Event()
        self.dead = False  # the connection is gone: nothing more can be sent

    def flush(self) -> None:
        data = self.h2.data_to_send()
        if data and not self.writer.is_closing():
            self.writer.write(data)

    async def run(self) -> None:
        self.h2.initiate_connection()
        self.flush()
        loop = asyncio.get_running_loop()
        idle_since: Optional[float] = loop.time()  # when the connection last had no request in progress
        try:
            while True:
                # A request is in progress until the server is done with it (a refused one whose
                # client never ends its side is not); looked at again at least every IDLE_TIMEOUT,
                # since a request can end while the read waits.
                if any(not s.closing for s in self.streams.values()):
                    idle_since = None
                elif idle_since is None:
                    idle_since = loop.time()
                left = IDLE_TIMEOUT if idle_since is None else idle_since + IDLE_TIMEOUT - loop.time()
                try:
                    data = await asyncio.wait_for(self.reader.read(65536), max(left, 0.0))
                except asyncio.TimeoutError:
                    if idle_since is None or loop.time() < idle_since + IDLE_TIMEOUT:
                        continue
                    self.h2.close_connection()  # GOAWAY: nothing was asked of it
                    self.flush()
                    break
                if not data:
                    break
                try:
                    events = self.h2.receive_data(data)
                except h2.exceptions.ProtocolError:
                    self.flush()  # the GOAWAY h2 has queued
                    break
                for event in events:
                    self._event(event)
                self.flush()
                await self.writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self.dead = True
            self.writer.close()
            for stream in self.streams.values():
                stream.closing = True
                stream.inbox.put_nowait(None)
            self.window.set()
            tasks = list(self.tasks)
            for task in tasks:
                if not task.done():
                    task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def _event(self, event: Any) -> None:
        if isinstance(event, h2.events.RequestReceived):
            try:
                headers = {bytes(k).decode("utf-8"): bytes(v).decode("utf-8") for k, v in event.headers}
            except UnicodeDecodeError:
                headers = None
            record = self.front.new_record((headers or {}).get(":path", ""))
            # Registered now: the body's first DATA frames may come in the same read.
            opened = self.streams[event.stream_id] = H2Stream(self, event.stream_id, record)
            task = asyncio.ensure_future(self._request(opened, headers))
            self.tasks.add(task)
            task.add_done_callback(self._finished)
        elif isinstance(event, h2.events.DataReceived):
            stream = self.streams.get(event.stream_id)
            if stream is not None and not stream.closing:
                stream.inbox.put_nowait((event.data, event.flow_controlled_length))
            else:
                self.acknowledge(event.stream_id, event.flow_controlled_length)
        elif isinstance(event, (h2.events.StreamEnded, h2.events.StreamReset)):
            stream = self.streams.get(event.stream_id)
            if stream is not None:
                stream.remote_ended = True
                stream.reset = stream.reset or isinstance(event, h2.events.StreamReset)
                stream.inbox.put_nowait(None)
            self.window.set()
        elif isinstance(event, (h2.events.WindowUpdated, h2.events.RemoteSettingsChanged)):
            self.window.set()

    async def send_data(self, stream_id: int, data: bytes) -> bool:
        """Send ``data`` as the windows allow; False if the stream or connection went first."""
        view = memoryview(data)
        while view:
            if self.dead:
                return False
            try:
                room = min(self.h2.local_flow_control_window(stream_id), self.h2.max_outbound_frame_size)
            except h2.exceptions.StreamClosedError:
                return False
            if room <= 0:
                self.window.clear()
                await self.window.wait()
                continue
            try:
                self.h2.send_data(stream_id, bytes(view[:room]))
            except h2.exceptions.StreamClosedError:
                return False
            view = view[room:]
            self.flush()
            await self.writer.drain()
        return True

    def _finished(self, task: "asyncio.Task[None]") -> None:
        self.tasks.discard(task)
        for stream_id in [i for i, s in self.streams.items() if s.closing and s.remote_ended]:
            del self.streams[stream_id]

    def _on_stream(self, action: Callable[..., Any], *args: Any) -> None:
        """Do ``action`` to a stream and send it, unless the stream is already gone."""
        try:
            action(*args)
        except (h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError):
            return
        self.flush()

    def acknowledge(self, stream_id: int, length: int) -> None:
        self._on_stream(self.h2.acknowledge_received_data, length, stream_id)

    def reset_stream(self, stream_id: int) -> None:
        self._on_stream(self.h2.reset_stream, stream_id)

    def end_stream(self, stream_id: int) -> None:
        self._on_stream(self.h2.end_stream, stream_id)

    def respond(self, stream_id: int, status: int, headers: List[Tuple[str, str]], body: Optional[bytes]) -> None:
        """Send the response headers, and ``body`` to end the stream (None: a stream follows)."""
        self.h2.send_headers(stream_id, [(":status", str(status)), *headers], end_stream=body == b"")
        if body:
            self.h2.send_data(stream_id, body, end_stream=True)
        self.flush()

    async def _request(self, stream: H2Stream, headers: Optional[Dict[str, str]]) -> None:
        try:
            await self.front.handle(self, stream, headers)
        except Exception as exc:  # a fault of the fake itself: reported, never a silent hang
            if stream.reset:  # whatever failed after it
                # The client cancelled (RST_STREAM) before the response could go: its doing, not ours.
                if stream.record.error is None:
                    stream.record.error, stream.record.reason = CANCELLED
                return
            if stream.record.error is None:
                self.front.fail(self, stream, exc)


class H2Server:
    """An HTTP/2 server on 127.0.0.1: TLS with ALPN ``h2``, or prior knowledge (h2c)."""

    def __init__(self, ssl_context: Optional[ssl.SSLContext]) -> None:
        if h2 is None:
            raise ImportError('the HTTP/2 side of the fake servers needs h2: pip install "aws-eventstream[http2]"')
        self.ssl_context = ssl_context
        if ssl_context is not None:
            ssl_context.set_alpn_protocols(["h2", "http/1.1"])
        self.server: Optional[asyncio.Server] = None
        self._links: List[H2Link] = []
        self._tasks: "set[asyncio.Task[Any]]" = set()

    # -- what a subclass says

    def new_record(self, path: str) -> Any:
        """The record of a new request (it needs ``error`` and ``reason``)."""
        raise NotImplementedError

    async def handle(self, link: H2Link, stream: H2Stream, headers: Optional[Dict[str, str]]) -> None:
        """Serve one request (``headers`` None: not valid UTF-8)."""
        raise NotImplementedError

    def fail(self, link: H2Link, stream: H2Stream, exc: BaseException) -> None:
        """Answer a request the fake itself failed on."""
        raise NotImplementedError

    # -- the server

    async def start(self, host: str) -> None:
        self.server = await asyncio.start_server(self._client, host, 0, ssl=self.ssl_context)

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            # Each connection's task ends once its socket is closed (a cancelled one would
            # be reported by asyncio's stream callback).
            for link in self._links:
                link.writer.close()
            done, pending = await asyncio.wait(self._tasks, timeout=1.0) if self._tasks else (set(), set())
            if pending:  # a client that reads nothing keeps its socket open: cut it
                for link in self._links:
                    link.writer.transport.abort()
                await asyncio.gather(*pending, return_exceptions=True)
            await self.server.wait_closed()
            self.server = None

    @property
    def address(self) -> Tuple[str, int]:
        if self.server is None:
            raise RuntimeError("the server is not started")
        host, port = self.server.sockets[0].getsockname()[:2]
        return host, port

    @property
    def endpoint(self) -> str:
        host, port = self.address
        return f"{'https' if self.ssl_context else 'http'}://{host}:{port}"

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        link = H2Link(self, reader, writer)
        self._links.append(link)
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await link.run()
        finally:
            self._links.remove(link)
            if task is not None:
                self._tasks.discard(task)
