"""The WebSocket API (``/stream-transcription-websocket``) of the fake server."""

from __future__ import annotations

import asyncio
import ssl
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Callable, Optional, Tuple, Union
from urllib.parse import parse_qsl

from ..transcribe import MEDICAL_STREAM_PATH, STREAM_PATH
from ._connection import Connection, SessionRecord

if TYPE_CHECKING:
    from ._server import FakeTranscribeServer

_serve: Optional[Callable[..., Any]]
try:
    from websockets.asyncio.server import serve as _serve
    from websockets.exceptions import ConnectionClosed
except ImportError:  # optional: reported when a server is started
    _serve = None

    class ConnectionClosed(Exception):  # type: ignore[no-redef]
        pass

# The handshake headers a client may send twice. pipecat adds a Sec-WebSocket-Key (and
# version) of its own after the websockets library's; the service answers with the first,
# which is the one the client checks Sec-WebSocket-Accept against.
_FIRST_VALUE_WINS = ("Sec-WebSocket-Key", "Sec-WebSocket-Version")


def websockets_serve() -> Callable[..., Any]:
    if _serve is None:
        raise ImportError('the fake server needs websockets: pip install "aws-eventstream[websockets]"')
    return _serve


class _WebSocket(Connection):
    def __init__(self, ws: Any, record: SessionRecord, max_frame: int) -> None:
        self.ws = ws
        self.record = record
        self.max_frame = max_frame
        self._receiving = False

    async def recv(self) -> Union[bytes, str, None]:
        # Only the stream's own loop calls this; once the connection is closing, what still
        # comes is read and dropped here until the client's close frame.
        if self.closing:
            return None
        self._receiving = True
        try:
            while True:
                data: Union[bytes, str] = await self.ws.recv()
                if not self.closing:
                    return data
        except ConnectionClosed as exc:
            if exc.sent is not None and exc.sent.code == 1009:  # a message over max_frame
                self.record.error = "1009"
                self.record.reason = f"a WebSocket message over the limit of {self.max_frame} bytes"
            return None
        finally:
            self._receiving = False

    async def send(self, frame: bytes) -> bool:
        if self.closing:
            return False
        try:
            await self.ws.send(frame)
            return True
        except ConnectionClosed:
            return False  # the client went away; what it missed is its own business

    def abort(self) -> None:
        self.closing = True
        self.ws.transport.abort()

    async def close(self) -> None:
        if self.closing:
            return
        self.closing = True

        # Read (and drop) what the client still sends until its close frame: a client that
        # keeps sending audio would otherwise fill the incoming queue, and the close
        # handshake would wait out its timeout. The loop's own recv does it if it is reading.
        async def drop_until_closed() -> None:
            try:
                while True:
                    await self.ws.recv()
            except ConnectionClosed:
                pass

        reader = None if self._receiving else asyncio.ensure_future(drop_until_closed())
        try:
            await self.ws.close()
        finally:
            if reader is not None:
                reader.cancel()
                await asyncio.gather(reader, return_exceptions=True)


class WebSocketFrontEnd:
    """The handshake and connection handling of the WebSocket API, for a :class:`FakeTranscribeServer`."""

    def __init__(self, core: "FakeTranscribeServer", ssl_context: Optional[ssl.SSLContext]) -> None:
        self.core = core
        self.ssl_context = ssl_context
        self.server: Any = None

    async def start(self, host: str) -> None:
        serve = websockets_serve()
        self.server = await serve(self._handle, host, 0, ssl=self.ssl_context, process_request=self._check_request,
                                  process_response=self._respond, compression=None,
                                  max_size=self.core.max_frame, ping_interval=None)

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            try:
                await asyncio.wait_for(asyncio.shield(self.server.wait_closed()), 2.0)
            except asyncio.TimeoutError:  # a client that reads nothing holds its close: cut it
                for connection in list(self.server.connections):
                    connection.transport.abort()
                await self.server.wait_closed()
            self.server = None

    @property
    def scheme(self) -> str:
        return "wss" if self.ssl_context else "ws"

    @property
    def endpoint(self) -> str:
        if self.server is None:
            raise RuntimeError("the server is not started")
        host, port = self.address
        return f"{self.scheme}://{host}:{port}"

    @property
    def address(self) -> Tuple[str, int]:
        host, port = self.server.sockets[0].getsockname()[:2]
        return host, port

    def _check_request(self, connection: Any, request: Any) -> Any:
        record = SessionRecord(path=request.path)
        self.core.sessions.append(record)
        connection.record = record
        headers = request.headers
        twice = []
        for name in _FIRST_VALUE_WINS:
            values = headers.get_all(name)
            if len(values) > 1:
                del headers[name]
                headers[name] = values[0]
                twice.append(name)
        record.duplicate_headers = tuple(twice)
        path, _, query = request.path.partition("?")
        if path not in (STREAM_PATH, MEDICAL_STREAM_PATH):
            return connection.respond(HTTPStatus.NOT_FOUND, f"no such path: {path}\n")
        connection.stream_path = path
        # The URL as the client signed it: this server's name as the Host header gives it
        # (a bare name[:port] this server answers to, nothing else), and the path requested.
        hosts = headers.get_all("Host")
        authority = self.core.authority(hosts[0]) if len(hosts) == 1 else None
        connection.authority = authority  # for the upgrade response's headers
        if authority is None:
            connection.refusal = ("BadRequestException", "The Host header does not name this server.")
        else:
            url = f"{self.scheme}://{authority}{request.path}"
            connection.refusal = self.core.check_url(url, record)
        connection.seed_signature = None
        if connection.refusal is None:
            connection.seed_signature = dict(parse_qsl(query, keep_blank_values=True))["X-Amz-Signature"]
        elif self.core.auth_failure == "http":  # undocumented for the WebSocket API; an option
            return connection.respond(HTTPStatus.FORBIDDEN, f"{connection.refusal[1]}\n")
        self.core.new_ids(record)
        return None

    def _respond(self, connection: Any, request: Any, response: Any) -> Any:
        record: SessionRecord = connection.record
        if response.status_code != HTTPStatus.SWITCHING_PROTOCOLS:
            record.error = str(int(response.status_code))
            record.reason = (response.body or b"").decode("utf-8", "replace").strip() or response.reason_phrase
            return None
        # The upgrade response headers of the Developer Guide ("Setting up a WebSocket stream").
        authority = connection.authority or "%s:%d" % self.address  # set: a 101 follows the request checks
        response.headers["x-amzn-RequestId"] = record.request_id
        response.headers["x-amzn-SessionId"] = record.session_id
        response.headers["websocket-origin"] = f"{self.scheme}://{authority}"
        response.headers["websocket-location"] = f"{authority}{request.path}"
        return None

    async def _handle(self, ws: Any) -> None:
        conn = _WebSocket(ws, ws.record, self.core.max_frame)
        await self.core.serve(conn, ws.record, medical=ws.stream_path == MEDICAL_STREAM_PATH,
                              seed_signature=ws.seed_signature, signed=False, refusal=ws.refusal)
