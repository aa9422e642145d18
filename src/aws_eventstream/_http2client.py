"""A small asyncio HTTP/2 client for AWS's bidirectional event streams, on ``h2``.

One :class:`Connection` owns one ``h2.connection.H2Connection`` and its socket. A reader
task takes bytes off the socket, feeds them to h2 and routes each event to its stream;
nothing else reads the socket. Each :class:`Stream` is one request: write the body as it
goes (:meth:`Stream.write` waits while the peer's flow-control window is shut), read the
response body as it comes (:meth:`Stream.read`). Received data is acknowledged to the
peer as the application reads it, never on arrival, so a reader that falls behind holds
the server back instead of filling memory. A stream's failure (the peer's RST_STREAM, a
cancelled task) resets that stream only; a protocol error or a lost socket fails every
stream of the connection with :class:`ConnectionLost`.

TLS is negotiated with ALPN ``h2``; ``https_proxy`` / ``HTTPS_PROXY`` is honoured with an
HTTP CONNECT tunnel (``no_proxy`` too), and loopback hosts never go through a proxy. The
event-stream framing, signing and the services' APIs are layered on top
(:mod:`aws_eventstream.transcribe`); this module only moves bytes.
"""

from __future__ import annotations

import asyncio
import socket
import ssl as _ssl
import urllib.request
from collections import deque
from typing import Any, Deque, Dict, Optional, Sequence, Tuple, Union
from urllib.parse import urlsplit

try:
    import h2.config
    import h2.connection
    import h2.errors
    import h2.events
    import h2.exceptions
    import h2.settings
except ImportError as _exc:  # pragma: no cover - exercised in a venv without h2
    raise ImportError('the HTTP/2 client needs h2: pip install "aws-eventstream[http2]"') from _exc

__all__ = ["Connection", "Stream", "HTTP2Error", "ConnectionLost", "StreamReset", "open_connection"]

_LOOPBACK = ("127.0.0.1", "localhost", "::1")
_READ = 65536
# How much a stream may have received and not yet read before the server must wait: the
# initial window h2 advertises per stream. Data is acknowledged as it is read. The
# connection's window is larger, so that one stream's unread data never stops the others.
_WINDOW = 1 << 20
_CONNECTION_WINDOW = 16 << 20
_CLOSE_TIMEOUT = 2.0  # seconds a closing socket may take to flush before it is cut


class HTTP2Error(Exception):
    """The HTTP/2 connection or stream failed."""


class ConnectionLost(HTTP2Error):
    """The connection is gone (closed by the peer, a socket error, a protocol error, GOAWAY)."""


class StreamReset(HTTP2Error):
    """The peer reset the stream (RST_STREAM) with ``error_code``."""

    def __init__(self, stream_id: int, error_code: int) -> None:
        try:
            name = h2.errors.ErrorCodes(error_code).name
        except ValueError:
            name = str(error_code)
        super().__init__(f"the server reset stream {stream_id} ({name})")
        self.stream_id = stream_id
        self.error_code = error_code


_END = object()  # in a stream's inbox: the peer ended its side


class Stream:
    """One request on a :class:`Connection`: its body out, its response in."""

    def __init__(self, conn: "Connection", stream_id: int) -> None:
        self._conn = conn
        self.id = stream_id
        self._response: "asyncio.Future[Tuple[int, Dict[str, str]]]" = asyncio.get_running_loop().create_future()
        self._inbox: Deque[Any] = deque()  # (data, flow-controlled length), _END, or an exception
        self._arrived = asyncio.Event()
        self._window = asyncio.Event()
        # One write at a time: a write waits for window in pieces, and two tasks writing at
        # once would interleave their bytes. FIFO, so writes go out in the order made.
        self._writing = asyncio.Lock()
        self._error: Optional[BaseException] = None
        self._local_ended = False
        self._remote_ended = False
        self._closed = False

    @property
    def closed(self) -> bool:
        """True once both sides ended, or the stream was reset or failed."""
        return self._closed

    def _unread(self) -> int:
        """Take back what was received and never read: its share of the connection's window."""
        length = 0
        kept: Deque[Any] = deque()
        for item in self._inbox:
            if isinstance(item, tuple):
                length += item[1]
            else:
                kept.append(item)
        self._inbox = kept
        return length

    def _fail(self, exc: BaseException) -> None:
        """The stream is over: ``exc`` is raised once what arrived before it has been read."""
        if self._error is None:
            self._error = exc
        self._inbox.append(exc)
        self._arrived.set()
        self._window.set()
        if not self._response.done():
            self._response.set_exception(exc)
            self._response.exception()  # retrieved: nobody may ever ask for the response
        self._closed = True

    @property
    def answered(self) -> bool:
        """True once the response headers (or the stream's failure) arrived."""
        return self._response.done()

    async def response(self) -> Tuple[int, Dict[str, str]]:
        """The response's status and headers (names lowercase), once they arrive."""
        return await asyncio.shield(self._response)

    async def read(self) -> bytes:
        """The next piece of the response body; ``b""`` at its end.

        Raises:
            StreamReset: the peer reset the stream.
            ConnectionLost: the connection went.
        """
        while not self._inbox:
            self._arrived.clear()
            await self._arrived.wait()
        item = self._inbox[0]
        if item is _END:
            return b""  # left in place: every later read gives the end too
        if isinstance(item, BaseException):
            raise item
        self._inbox.popleft()
        data, length = item
        self._conn._acknowledge(self, length)
        return bytes(data)

    async def write(self, data: bytes) -> None:
        """Send ``data`` on the stream, as the peer's windows let it through.

        Raises:
            StreamReset, ConnectionLost: the stream or the connection failed.
            RuntimeError: the stream was already ended.
        """
        if self._local_ended:
            raise RuntimeError("the request body was already ended")
        async with self._writing:
            if self._local_ended:
                raise RuntimeError("the request body was already ended")
            view = memoryview(data)
            conn = self._conn
            while view:
                if self._error is not None:
                    raise self._error
                room = conn._room(self)
                if room <= 0:
                    self._window.clear()
                    await self._window.wait()
                    continue
                conn._send_data(self, view[:room])
                view = view[room:]
                await conn._drain()

    async def end(self) -> None:
        """End the request body (END_STREAM), after the writes already made; the response goes on."""
        async with self._writing:
            await self._end()

    async def _end(self) -> None:
        if self._error is not None:
            raise self._error
        if not self._local_ended:
            self._local_ended = True
            self._conn._end(self)
            if self._remote_ended:  # both sides ended: the stream's slot is free
                self._closed = True
                self._conn._forget(self.id)
            await self._conn._drain()

    def reset(self, error_code: int = h2.errors.ErrorCodes.CANCEL) -> None:
        """Abandon the stream (RST_STREAM); nothing more is sent or read on it."""
        # What arrived and will never be read now: its room goes back to the connection.
        self._conn._give_back(self._unread())
        if not self._closed:
            self._conn._reset(self, error_code)
            self._fail(StreamReset(self.id, error_code))


class Connection:
    """One HTTP/2 connection: many streams, up to the server's ``SETTINGS_MAX_CONCURRENT_STREAMS``.

    Use :func:`open_connection`; close it with :meth:`close` (or ``async with``).
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, authority: str) -> None:
        self._reader = reader
        self._writer = writer
        self.authority = authority
        config = h2.config.H2Configuration(client_side=True, header_encoding="utf-8")
        self._h2 = h2.connection.H2Connection(config)
        self._streams: Dict[int, Stream] = {}
        self._slots = asyncio.Condition()
        self._error: Optional[ConnectionLost] = None
        self._h2.local_settings = h2.settings.Settings(client=True, initial_values={
            h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: _WINDOW,
            h2.settings.SettingCodes.ENABLE_PUSH: 0,
        })
        self._h2.initiate_connection()
        self._h2.increment_flow_control_window(_CONNECTION_WINDOW - self._h2.inbound_flow_control_window)
        self._flush()
        self._task = asyncio.ensure_future(self._read_loop())

    async def __aenter__(self) -> "Connection":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    @property
    def closed(self) -> bool:
        return self._error is not None

    # -- streams

    async def request(self, method: str, path: str, headers: Sequence[Tuple[str, str]], *,
                      scheme: str = "https") -> Stream:
        """Open a stream with the request's headers; the body follows with :meth:`Stream.write`.

        Waits while the server's limit of concurrent streams is reached.
        """
        async with self._slots:
            while True:
                if self._error is not None:
                    raise self._error
                limit = self._h2.remote_settings.max_concurrent_streams
                if self._h2.open_outbound_streams < limit:
                    break
                await self._slots.wait()
            stream_id = self._h2.get_next_available_stream_id()
            stream = Stream(self, stream_id)
            self._streams[stream_id] = stream
            try:
                self._h2.send_headers(stream_id, [(":method", method), (":scheme", scheme),
                                                  (":authority", self.authority), (":path", path),
                                                  *((k.lower(), v) for k, v in headers)])
            except h2.exceptions.ProtocolError as exc:
                del self._streams[stream_id]
                raise HTTP2Error(f"the request could not be sent: {exc}") from None
            self._flush()
        return stream

    async def close(self) -> None:
        """Send GOAWAY, close the socket and fail what is still open; never waits long on the peer."""
        if self._error is None:
            try:
                self._h2.close_connection()
                self._flush()
            except h2.exceptions.ProtocolError:
                pass
        self._lose(self._error or ConnectionLost("the connection was closed"))  # streams a GOAWAY left too
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass
        self._writer.close()
        try:  # a peer that reads nothing would hold the flush for ever: cut it
            await asyncio.wait_for(self._writer.wait_closed(), _CLOSE_TIMEOUT)
        except (asyncio.TimeoutError, ConnectionError, OSError):
            self._writer.transport.abort()

    # -- what streams ask of the connection

    def _refused(self, stream: Stream, exc: BaseException) -> HTTP2Error:
        """What a send on ``stream`` that h2 refused raises: the stream's or connection's failure."""
        if isinstance(stream._error, HTTP2Error):
            return stream._error
        if isinstance(exc, h2.exceptions.StreamClosedError):
            return StreamReset(stream.id, h2.errors.ErrorCodes.STREAM_CLOSED)
        return self._error or ConnectionLost(f"the connection can send no more: {exc}")

    def _room(self, stream: Stream) -> int:
        try:
            return min(self._h2.local_flow_control_window(stream.id), self._h2.max_outbound_frame_size)
        except h2.exceptions.ProtocolError as exc:  # StreamClosedError too: a stream or connection gone
            raise self._refused(stream, exc) from None

    def _send_data(self, stream: Stream, data: memoryview) -> None:
        try:
            self._h2.send_data(stream.id, bytes(data))
        except h2.exceptions.ProtocolError as exc:
            raise self._refused(stream, exc) from None
        self._flush()

    def _end(self, stream: Stream) -> None:
        try:
            self._h2.end_stream(stream.id)
        except h2.exceptions.ProtocolError as exc:
            raise self._refused(stream, exc) from None
        self._flush()

    def _reset(self, stream: Stream, error_code: int) -> None:
        if self._error is None:
            try:
                self._h2.reset_stream(stream.id, error_code)
                self._flush()
            except h2.exceptions.StreamClosedError:
                pass
        self._forget(stream.id)

    def _give_back(self, length: int) -> None:
        """Reopen the connection's window for data no stream will read."""
        if length and self._error is None:
            try:
                self._h2.increment_flow_control_window(length)
            except (h2.exceptions.ProtocolError, ValueError):
                return
            self._flush()

    def _acknowledge(self, stream: Stream, length: int) -> None:
        if length and self._error is None:
            try:
                self._h2.acknowledge_received_data(length, stream.id)
            except h2.exceptions.StreamClosedError:  # the stream is over: the connection's share still counts
                self._h2.increment_flow_control_window(length)
            self._flush()

    async def _drain(self) -> None:
        if self._error is not None:
            raise self._error
        try:
            await self._writer.drain()
        except (ConnectionError, OSError) as exc:
            self._lose(ConnectionLost(f"the connection failed: {exc}"))
            raise self._error from None  # type: ignore[misc]

    # -- the socket

    def _flush(self) -> None:
        data = self._h2.data_to_send()
        if data and not self._writer.is_closing():
            self._writer.write(data)

    def _forget(self, stream_id: int) -> None:
        if self._streams.pop(stream_id, None) is not None:
            asyncio.ensure_future(self._notify_slot())

    async def _notify_slot(self) -> None:
        async with self._slots:
            self._slots.notify_all()

    def _lose(self, error: ConnectionLost) -> None:
        if self._error is None:
            self._error = error
        streams = list(self._streams.values())
        self._streams.clear()
        for stream in streams:
            stream._fail(self._error)
        asyncio.ensure_future(self._notify_slot())

    async def _read_loop(self) -> None:
        try:
            while True:
                data = await self._reader.read(_READ)
                if not data:
                    self._lose(ConnectionLost("the server closed the connection"))
                    return
                try:
                    events = self._h2.receive_data(data)
                except h2.exceptions.ProtocolError as exc:
                    self._flush()  # the GOAWAY h2 queued
                    self._lose(ConnectionLost(f"HTTP/2 protocol error: {exc}"))
                    return
                for event in events:
                    self._dispatch(event)
                self._flush()
        except (ConnectionError, OSError) as exc:
            self._lose(ConnectionLost(f"the connection failed: {exc}"))
        finally:
            if self._error is None:
                self._lose(ConnectionLost("the connection was closed"))

    def _dispatch(self, event: Any) -> None:
        stream = self._streams.get(getattr(event, "stream_id", 0) or 0)
        if isinstance(event, h2.events.ResponseReceived):
            if stream is not None and not stream._response.done():
                headers = {str(k).lower(): str(v) for k, v in event.headers}
                try:
                    status = int(headers.get(":status", ""))
                except ValueError:
                    stream.reset(h2.errors.ErrorCodes.PROTOCOL_ERROR)
                    return
                stream._response.set_result((status, headers))
        elif isinstance(event, h2.events.DataReceived):
            if stream is not None and not stream._closed:
                stream._inbox.append((event.data, event.flow_controlled_length))
                stream._arrived.set()
            else:  # a stream we gave up on: its bytes still count against the connection
                self._h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        elif isinstance(event, h2.events.StreamEnded):
            if stream is not None:
                stream._remote_ended = True
                stream._inbox.append(_END)
                stream._arrived.set()
                if not stream._response.done():
                    stream._fail(HTTP2Error(f"stream {stream.id} ended without a response"))
                stream._closed = stream._local_ended
                if stream._closed:
                    self._forget(stream.id)
        elif isinstance(event, h2.events.StreamReset):
            if stream is not None:
                stream._fail(StreamReset(event.stream_id, event.error_code))
                self._forget(stream.id)
        elif isinstance(event, h2.events.WindowUpdated):
            targets = self._streams.values() if event.stream_id == 0 else [stream] if stream else []
            for s in targets:
                s._window.set()
        elif isinstance(event, h2.events.RemoteSettingsChanged):
            for s in self._streams.values():
                s._window.set()
            asyncio.ensure_future(self._notify_slot())
        elif isinstance(event, h2.events.ConnectionTerminated):
            last = event.last_stream_id or 0
            self._error = ConnectionLost(f"the server closed the connection (GOAWAY, "
                                         f"{getattr(event.error_code, 'name', event.error_code)})")
            for stream_id, s in list(self._streams.items()):
                if stream_id > last:  # never processed: safe to send again elsewhere
                    s._fail(self._error)
                    self._forget(stream_id)


# --------------------------------------------------------------------------- connecting


def _proxy_for(host: str, scheme: str, proxy: Union[str, bool, None]) -> Optional[str]:
    """The proxy URL to tunnel through: the given one, or the environment's (None: direct)."""
    if proxy is None or proxy is False or host in _LOOPBACK:
        return None
    if isinstance(proxy, str):
        return proxy
    if urllib.request.proxy_bypass(host):  # no_proxy / NO_PROXY
        return None
    found = urllib.request.getproxies().get(scheme)
    return found or None


def _tunnel(proxy_url: str, host: str, port: int, timeout: float) -> socket.socket:
    """A socket through an HTTP CONNECT tunnel to host:port (blocking; run in a thread)."""
    parts = urlsplit(proxy_url if "://" in proxy_url else f"http://{proxy_url}")
    if parts.scheme != "http" or not parts.hostname:
        raise ConnectionLost(f"only http:// proxies are supported for HTTP/2, got {proxy_url!r}")
    sock = socket.create_connection((parts.hostname, parts.port or 80), timeout=timeout)
    try:
        target = f"{host}:{port}"
        request = f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n"
        if parts.username is not None:
            import base64
            from urllib.parse import unquote
            creds = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
            request += f"Proxy-Authorization: Basic {base64.b64encode(creds).decode()}\r\n"
        sock.sendall((request + "\r\n").encode("latin-1"))
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk or len(head) > 65536:
                raise ConnectionLost(f"the proxy {parts.hostname} closed the tunnel before answering")
            head += chunk
        status_line = head.split(b"\r\n", 1)[0].decode("latin-1")
        fields = status_line.split(" ", 2)
        if len(fields) < 2 or fields[1] != "200":
            raise ConnectionLost(f"the proxy refused the tunnel to {target}: {status_line}")
        if head.index(b"\r\n\r\n") + 4 != len(head):
            raise ConnectionLost("the proxy sent bytes after its answer to CONNECT")
        sock.settimeout(None)
        return sock
    except BaseException:
        sock.close()
        raise


async def _bounded(aw: Any, timeout: float) -> Any:
    """``await aw`` for at most ``timeout`` seconds (asyncio.TimeoutError after).

    Not ``asyncio.wait_for``: before Python 3.12 it can swallow a cancellation that comes
    as ``aw`` completes, and the caller then goes on with a connection it meant to drop.
    A cancellation here always propagates, and what ``aw`` opened meanwhile is closed.
    """
    task = asyncio.ensure_future(aw)
    try:
        done, _ = await asyncio.wait({task}, timeout=timeout)
    except asyncio.CancelledError:
        task.cancel()
        try:
            opened = await task
        except BaseException:  # noqa: BLE001 - cancelled, or failed: nothing to close
            raise asyncio.CancelledError() from None
        _close_opened(opened)
        raise
    if not done:
        task.cancel()
        try:
            _close_opened(await task)
        except BaseException:  # noqa: BLE001 - the cancellation we asked for
            pass
        raise asyncio.TimeoutError()
    return task.result()


def _close_opened(opened: Any) -> None:
    """Close what an abandoned connect opened: a (reader, writer) pair, or a socket."""
    if isinstance(opened, tuple) and len(opened) == 2 and hasattr(opened[1], "close"):
        opened[1].close()
    elif isinstance(opened, socket.socket):
        opened.close()


async def open_connection(url: str, *, ssl: Union[_ssl.SSLContext, bool, None] = None,
                          proxy: Union[str, bool, None] = True, timeout: float = 10.0) -> Connection:
    """Connect to ``url``'s host (``https://`` with TLS and ALPN ``h2``, ``http://`` with
    prior knowledge) and start HTTP/2.

    Args:
        ssl: an ``ssl.SSLContext`` to use (a test CA, say); None or True: the default one.
        proxy: an ``http://`` proxy URL, True for the environment's (``HTTPS_PROXY``,
            ``NO_PROXY``), None or False for none. Loopback hosts are always direct.
        timeout: seconds for the TCP, proxy and TLS handshakes.

    Raises:
        ConnectionLost: the connection, the tunnel or the TLS handshake failed, or the
            server does not speak HTTP/2.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"{url!r} must be an https:// or http:// URL with a host")
    host = parts.hostname
    port = parts.port or (443 if parts.scheme == "https" else 80)
    context: Optional[_ssl.SSLContext] = None
    if parts.scheme == "https":
        if isinstance(ssl, _ssl.SSLContext):
            context = ssl
        elif ssl is None or ssl is True:
            context = _ssl.create_default_context()
        else:
            raise TypeError(f"ssl must be an ssl.SSLContext, True or None for an https:// URL, not {ssl!r}")
        context.set_alpn_protocols(["h2"])
    elif ssl not in (None, False):
        raise ValueError(f"{url!r} is http://: no TLS to configure")
    authority = parts.netloc.rsplit("@", 1)[-1]
    via = _proxy_for(host, parts.scheme, proxy)
    try:
        if via is not None:
            sock = await _bounded(asyncio.get_running_loop().run_in_executor(
                None, _tunnel, via, host, port, timeout), timeout)
            reader, writer = await _bounded(asyncio.open_connection(
                sock=sock, ssl=context, server_hostname=host if context else None), timeout)
        else:
            reader, writer = await _bounded(asyncio.open_connection(
                host, port, ssl=context, server_hostname=host if context else None), timeout)
    except asyncio.TimeoutError:
        raise ConnectionLost(f"connecting to {authority} took over {timeout:g} s") from None
    except (OSError, _ssl.SSLError) as exc:
        raise ConnectionLost(f"could not connect to {authority}: {exc}") from None
    if context is not None:
        ssl_object = writer.get_extra_info("ssl_object")
        if ssl_object is None or ssl_object.selected_alpn_protocol() != "h2":
            writer.close()
            raise ConnectionLost(f"{authority} did not agree to HTTP/2 (ALPN h2)")
    return Connection(reader, writer, authority)
