"""The HTTP/2 API (``StartStreamTranscription``) of the fake server, over the ``h2`` library.

The request is ``POST /stream-transcription`` (``/medical-stream-transcription``), signed
with SigV4 in its headers over the payload hash ``STREAMING-AWS4-HMAC-SHA256-EVENTS``; its
parameters are ``x-amzn-transcribe-*`` headers (the model's httpHeader bindings); the body
is a chain of signed envelopes (``:date``, ``:chunk-signature``) around AudioEvent frames,
seeded by the request's signature. A request the service refuses gets an HTTP error with
``x-amzn-errortype`` and a JSON ``{"Message": ...}`` body, as restJson1 operations answer;
an accepted one gets ``200`` with the parameters echoed, ``x-amzn-request-id`` and
``x-amzn-transcribe-session-id``, then the result stream.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Tuple, Union

from ..auth import EMPTY_SHA256, STREAMING_PAYLOAD, verify_signed_request
from ..errors import EventStreamError
from ._connection import Connection, SessionRecord, auth_refusal

if TYPE_CHECKING:
    from ._server import FakeTranscribeServer
from ._stream import Refusal, Settings

try:
    import h2.config
    import h2.connection
    import h2.events
    import h2.exceptions
except ImportError:  # optional: reported when the HTTP/2 API is started
    h2 = None  # type: ignore[assignment]

_PATHS = {"/stream-transcription": False, "/medical-stream-transcription": True}
_PREFIX = "x-amzn-transcribe-"
# The headers the server acts on: a request carrying one of them unsigned is refused (403
# InvalidSignatureException; the service's text for it is undocumented), so that a header
# nobody signed (a session-id that would end another client's stream) is never trusted.
_MUST_SIGN = (_PREFIX, "x-amz-content-sha256", "x-amz-security-token")
# A connection with no request open (one that sent nothing, only the preface, or only
# pings and settings since its last stream ended) is closed after this many seconds, as
# the WebSocket front end's handshake times out.
IDLE_TIMEOUT = 10.0
_STATUS = {"BadRequestException": 400, "LimitExceededException": 429, "InternalFailureException": 500,
           "ConflictException": 409, "ServiceUnavailableException": 503, "UnrecognizedClientException": 403,
           "AccessDeniedException": 403, "InvalidSignatureException": 403}
_DENIED = ("User: {principal} is not authorized to perform: transcribe:StartStreamTranscription "
           "because no identity-based policy allows the transcribe:StartStreamTranscription action")


class _Stream(Connection):
    """One HTTP/2 request stream, as the stream loop sees it."""

    def __init__(self, link: "_Link", stream_id: int, record: SessionRecord) -> None:
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


class _Link:
    """One client connection: the h2 state machine, its socket, its request streams."""

    def __init__(self, front: "HTTP2FrontEnd", reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.front = front
        self.reader = reader
        self.writer = writer
        assert h2 is not None
        self.h2 = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False, header_encoding=None))
        self.streams: Dict[int, _Stream] = {}
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
        idle_since: Optional[float] = loop.time()  # when the connection last had no request open
        try:
            while True:
                if self.streams:
                    idle_since = None
                elif idle_since is None:
                    idle_since = loop.time()
                try:
                    data = await asyncio.wait_for(
                        self.reader.read(65536), None if idle_since is None else idle_since + IDLE_TIMEOUT - loop.time())
                except asyncio.TimeoutError:
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
            record = SessionRecord(path=(headers or {}).get(":path", ""), transport="http2")
            self.front.core.sessions.append(record)
            # Registered now: the body's first DATA frames may come in the same read.
            opened = self.streams[event.stream_id] = _Stream(self, event.stream_id, record)
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

    async def _request(self, stream: _Stream, headers: Optional[Dict[str, str]]) -> None:
        try:
            await self._handle(stream, headers)
        except Exception as exc:  # a fault of the fake itself: reported, never a silent hang
            if stream.reset and isinstance(exc, h2.exceptions.StreamClosedError):
                # The client cancelled (RST_STREAM) before the response could go: its doing, not ours.
                if stream.record.error is None:
                    stream.record.error, stream.record.reason = "cancelled", "the client reset the stream (RST_STREAM)"
                return
            if stream.record.error is None:
                self._error(stream.stream_id, stream.record, "InternalFailureException",
                            f"The fake server failed: {exc!r}")

    async def _handle(self, stream: _Stream, headers: Optional[Dict[str, str]]) -> None:
        core = self.front.core
        stream_id, record = stream.stream_id, stream.record
        if headers is None:
            self._error(stream_id, record, "BadRequestException", "A request header is not valid UTF-8.")
            return
        path = record.path
        medical = _PATHS.get(path.split("?", 1)[0])
        if headers.get(":method") != "POST" or medical is None:
            record.error, record.reason = "404", f"no such operation: {headers.get(':method')} {path}"
            stream.closing = True
            try:
                self.respond(stream_id, 404, [("content-type", "text/plain")], f"{record.reason}\n".encode())
            except h2.exceptions.H2Error:
                self.reset_stream(stream_id)
            return
        record.params = {k[len(_PREFIX):].replace("_", "-"): v for k, v in headers.items() if k.startswith(_PREFIX)}
        refusal, seed = self._verify(headers)
        if refusal is not None:
            self._error(stream_id, record, *refusal)
            return
        try:
            Settings.from_params(record.params, medical=medical)
        except Refusal as exc:
            self._error(stream_id, record, exc.exception_type, exc.message)
            return
        core.new_ids(record)
        echoed = [(k, v) for k, v in headers.items() if k.startswith(_PREFIX) and k != f"{_PREFIX}session-id"]
        self.respond(stream_id, 200, [("content-type", "application/vnd.amazon.eventstream"),
                                      ("x-amzn-request-id", str(record.request_id)),
                                      (f"{_PREFIX}session-id", str(record.session_id)), *echoed], None)
        await core.serve(stream, record, medical=medical, seed_signature=seed, signed=True)

    def _verify(self, headers: Dict[str, str]) -> Tuple[Optional[Tuple[str, str]], Optional[str]]:
        core = self.front.core
        authority = core.authority(headers.get(":authority") or headers.get("host"))
        if authority is None:
            return ("BadRequestException", "The :authority header does not name this server."), None
        signed = {k: v for k, v in headers.items() if not k.startswith(":")}
        signed["host"] = authority
        scheme = "https" if self.front.ssl_context else "http"
        url = f"{scheme}://{authority}{headers[':path']}"
        # The payload hash of an event stream is STREAMING-AWS4-HMAC-SHA256-EVENTS; the
        # amazon-transcribe SDK signs over the empty body's hash instead, and the service
        # takes both (an X-Amz-Content-SHA256 header, when sent, decides).
        failure: Optional[EventStreamError] = None
        for payload_hash in (STREAMING_PAYLOAD, EMPTY_SHA256):
            try:
                seed = verify_signed_request("POST", url, signed, credentials=core.credentials, service="transcribe",
                                             region=core.region, max_skew=core.max_skew, payload_hash=payload_hash,
                                             must_sign=_MUST_SIGN)
                break
            except EventStreamError as exc:
                failure = failure or exc
        else:
            assert failure is not None
            kind, message = auth_refusal(failure)
            # Over HTTP/2 a signature that does not verify is an HTTP 403 InvalidSignatureException.
            return ("InvalidSignatureException" if kind == "BadRequestException" else kind, message), None
        return core.check_access(core.credentials.access_key, _DENIED), seed

    def _error(self, stream_id: int, record: SessionRecord, kind: str, message: str) -> None:
        record.error, record.reason = kind, message
        self.streams[stream_id].closing = True
        body = json.dumps({"Message": message}, separators=(",", ":")).encode()
        try:
            self.respond(stream_id, _STATUS.get(kind, 400), [("content-type", "application/json"),
                                                             ("x-amzn-errortype", kind)], body)
        except h2.exceptions.H2Error:  # the stream is gone, or its window is shut: drop it
            self.reset_stream(stream_id)


class HTTP2FrontEnd:
    """Serves ``StartStreamTranscription`` over HTTP/2: TLS with ALPN ``h2``, or prior knowledge."""

    def __init__(self, core: "FakeTranscribeServer", ssl_context: Optional[ssl.SSLContext]) -> None:
        if h2 is None:
            raise ImportError('the HTTP/2 API of the fake server needs h2: pip install "aws-eventstream[http2]"')
        self.core = core
        self.ssl_context = ssl_context
        if ssl_context is not None:
            ssl_context.set_alpn_protocols(["h2", "http/1.1"])
        self.server: Optional[asyncio.Server] = None
        self._links: List[_Link] = []
        self._tasks: "set[asyncio.Task[Any]]" = set()

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
        link = _Link(self, reader, writer)
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
