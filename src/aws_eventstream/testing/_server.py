"""The fake server: its options, the request checks, and the stream loop both APIs share."""

from __future__ import annotations

import asyncio
import random
import re
import ssl
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple, Union

from .. import MAX_FRAME, Decoder, EventStreamError, Message, decode
from ..auth import Credentials, _max_skew, check_region, verify_presigned_url
from ..signing import EventVerifier
from ..transcribe import medical_presigned_url, presigned_url
from ._connection import Connection, SessionRecord, auth_refusal
from ._facts import (
    ACCESS_DENIED,
    EXCEPTIONS,
    MAX_CHUNK_SECONDS,
    SILENCE_MESSAGE,
    SILENCE_TIMEOUT,
    TEXT_FRAME_MESSAGE,
)
from ._proxy import ConnectProxy
from ._script import DEFAULT_TEXT, Script, WordLike, seconds
from ._stream import Refusal, Settings, Stream, exception_frame, transcript_frame
from ._websocket import WebSocketFrontEnd

ScriptSource = Union[Script, str, Iterable[WordLike]]

_NAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*\Z")
_EXCEPTION_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.]{0,127}\Z")
_AUTHORITY = re.compile(r"^[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?\Z")


@dataclass(frozen=True)
class Fault:
    """An exception frame the server sends at a chosen point of a stream.

    Args:
        exception_type: any exception of the model (``LimitExceededException``,
            ``InternalFailureException``, ``ConflictException``,
            ``ServiceUnavailableException``, ``BadRequestException``) or another name.
        message: the ``Message`` it carries; by default the model's documentation of it.
        at: seconds of audio received before it is sent; 0 sends it right after the upgrade.
        session: the connection it applies to, as its index in ``server.sessions`` (0 for
            the first request of either API, refused ones included); None for every stream.
    """

    exception_type: str
    message: Optional[str] = None
    at: float = 0.0
    session: Optional[int] = None

    def __post_init__(self) -> None:
        if not isinstance(self.exception_type, str) or not _EXCEPTION_NAME.match(self.exception_type):
            raise ValueError(f"exception_type must be an exception name like LimitExceededException, "
                             f"got {self.exception_type!r}")
        if self.message is not None and not isinstance(self.message, str):
            raise ValueError(f"message must be a str or None, got {self.message!r}")
        object.__setattr__(self, "at", seconds("at", self.at))
        if self.session is not None and (type(self.session) is not int or self.session < 0):
            raise ValueError(f"session must be a stream's index (an int >= 0) or None, got {self.session!r}")

    @property
    def text(self) -> str:
        if self.message is not None:
            return self.message
        return EXCEPTIONS.get(self.exception_type, f"{self.exception_type} (injected by the test)")


_END_OF_AUDIO = Message({":event-type": "AudioEvent", ":message-type": "event"}, b"")
_OCTET_STREAM = "application/octet-stream"


class _Stalled(Exception):
    """The client read no result for ``send_timeout`` seconds."""


class FakeTranscribeServer:
    """A local stand-in for Amazon Transcribe streaming (see the module docstring).

    Args:
        credentials: the only credentials it accepts.
        region: the region requests must be signed for.
        transcript: what it hears: a text, a :class:`Script`, ``(start_s, end_s, word)``
            tuples, or a function from the stream's parameters to one of those (per session).
        echo: instead, each audio chunk decoded as UTF-8 is heard during that chunk
            (``<N-bytes>`` when it is not text): results derived from the audio.
        pacing: ``"audio"`` (deterministic) or ``"realtime"`` (see the module docstring).
        latency: seconds after real time that results leave with ``pacing="realtime"``.
        seed: seeds the ResultIds, request ids and session ids it makes up.
        silence_timeout: seconds without an audio event before the stream is ended with
            the service's BadRequestException (None: never).
        silence_events: seconds of silent audio between empty ``Results`` events (None: none).
        max_chunk: the most audio one AudioEvent may carry, in seconds (None: no limit).
        auth_failure: ``"frame"`` (documented: an exception frame after the upgrade) or
            ``"http"`` (HTTP 403 during the handshake).
        authorize: a function from access key id to whether IAM allows the stream.
        faults: exceptions to send at chosen points (also ``server.faults.append(...)``).
        http2: also serve the HTTP/2 API (needs ``h2``).
        ssl_context: serve TLS (``wss://``, and ``https://`` with ALPN ``h2`` for the HTTP/2
            SDKs, which need TLS): a server context whose certificate the client trusts. With
            ``http2=True`` its ALPN protocols are set to ``h2`` and ``http/1.1``.
        server_name: the name clients sign for and reach through :attr:`proxy`, e.g.
            ``transcribestreaming.us-east-1.amazonaws.com`` (with a certificate for it): for a
            client that cannot be given another address. 127.0.0.1 and localhost always work.
        max_skew: seconds a request's and each envelope's date may be off the clock.
        max_frame: the largest WebSocket message and event-stream frame accepted; a larger
            message closes the connection (1009) before it is buffered.
    """

    def __init__(self, *, credentials: Credentials, region: str = "us-east-1",
                 transcript: Union[ScriptSource, Callable[[Dict[str, str]], ScriptSource]] = DEFAULT_TEXT,
                 echo: bool = False, pacing: str = "audio", latency: float = 0.3, seed: Optional[int] = None,
                 silence_timeout: Optional[float] = SILENCE_TIMEOUT, silence_events: Optional[float] = 1.0,
                 max_chunk: Optional[float] = MAX_CHUNK_SECONDS, auth_failure: str = "frame",
                 authorize: Optional[Callable[[str], bool]] = None, faults: Iterable[Fault] = (),
                 http2: bool = False, ssl_context: Optional[ssl.SSLContext] = None,
                 server_name: Optional[str] = None, max_skew: float = 300.0, max_frame: int = MAX_FRAME) -> None:
        if not isinstance(credentials, Credentials):
            raise TypeError(f"credentials must be Credentials, not {type(credentials).__name__}")
        if pacing not in ("audio", "realtime"):
            raise ValueError(f"pacing must be 'audio' or 'realtime', got {pacing!r}")
        if auth_failure not in ("frame", "http"):
            raise ValueError(f"auth_failure must be 'frame' or 'http', got {auth_failure!r}")
        if not isinstance(echo, bool):
            raise ValueError(f"echo must be True or False, got {echo!r}")
        check_region(region)
        latency = seconds("latency", latency)
        silence_timeout = None if silence_timeout is None else seconds("silence_timeout", silence_timeout,
                                                                       positive=True)
        silence_events = None if silence_events is None else seconds("silence_events", silence_events,
                                                                     positive=True)
        max_chunk = None if max_chunk is None else seconds("max_chunk", max_chunk, positive=True)
        if server_name is not None and (not isinstance(server_name, str) or not _NAME.match(server_name)):
            raise ValueError(f"server_name must be a DNS name like transcribestreaming.us-east-1.amazonaws.com, "
                             f"got {server_name!r}")
        self.credentials = credentials
        self.region = region
        self.server_name = server_name
        self.names = {"127.0.0.1", "localhost"} | ({server_name.lower()} if server_name else set())
        self._transcript = transcript if callable(transcript) else Script.of(transcript)
        self.echo = echo
        self.pacing = pacing
        self.latency = float(latency)
        self.silence_timeout = silence_timeout
        self.silence_events = silence_events
        self.max_chunk = max_chunk
        self.auth_failure = auth_failure
        self.authorize = authorize
        self.faults: List[Fault] = list(faults)
        self.max_skew = _max_skew(max_skew, optional=False)
        self.max_frame = Decoder(max_frame=max_frame).max_frame  # the Decoder refuses a bad limit now
        self.sessions: List[SessionRecord] = []
        self._rng = random.Random(seed)
        self._live: Dict[str, Connection] = {}  # session id -> the stream using it
        self._tasks: "set[asyncio.Task[Any]]" = set()
        # How long a send may wait on a client that does not read before the stream is dropped.
        self.send_timeout = float(silence_timeout) if silence_timeout is not None else SILENCE_TIMEOUT
        self._websocket = WebSocketFrontEnd(self, ssl_context)
        self._http2: Any = None
        if http2:
            from ._http2 import HTTP2FrontEnd

            self._http2 = HTTP2FrontEnd(self, ssl_context)
        self._proxy: Optional[ConnectProxy] = None

    # -- lifecycle

    async def start(self) -> "FakeTranscribeServer":
        await self._websocket.start("127.0.0.1")
        if self._http2 is not None:
            await self._http2.start("127.0.0.1")
        name = self.server_name
        if name is not None:
            routes = {f"{name}:8443": self._websocket.address}
            if self._http2 is not None:
                routes[f"{name}:443"] = self._http2.address
            self._proxy = ConnectProxy(routes)
            await self._proxy.start("127.0.0.1")
        return self

    async def stop(self) -> None:
        if self._proxy is not None:
            await self._proxy.stop()
            self._proxy = None
        await self._shutdown()
        await self._websocket.stop()
        if self._http2 is not None:
            await self._http2.stop()

    async def __aenter__(self) -> "FakeTranscribeServer":
        return await self.start()

    async def __aexit__(self, *exc: Any) -> None:
        await self.stop()

    @property
    def endpoint(self) -> str:
        """``ws://127.0.0.1:<port>``, for ``presigned_url(endpoint=...)``."""
        return self._websocket.endpoint

    @property
    def proxy(self) -> str:
        """``http://127.0.0.1:<port>``: set ``HTTPS_PROXY`` to it for a client that connects to
        the service's own address (``wss://<server_name>:8443``, ``https://<server_name>``);
        only those two are tunnelled, to this server. Needs ``server_name``."""
        if self._proxy is None:
            raise RuntimeError("the proxy runs with server_name given, once the server is started")
        return self._proxy.url

    @property
    def http2_endpoint(self) -> str:
        """``https://127.0.0.1:<port>`` (``http://`` without ``ssl_context``), for HTTP/2 clients."""
        if self._http2 is None:
            raise RuntimeError("the HTTP/2 API is off: start the server with http2=True")
        return str(self._http2.endpoint)

    def presigned_url(self, *, medical: bool = False, **kwargs: Any) -> str:
        """A URL presigned with this server's credentials and region, pointing at it."""
        kwargs.setdefault("region", self.region)
        kwargs.setdefault("credentials", self.credentials)
        if medical:
            kwargs.setdefault("specialty", "PRIMARYCARE")
            kwargs.setdefault("type", "CONVERSATION")
            return medical_presigned_url(endpoint=self.endpoint, **kwargs)
        return presigned_url(endpoint=self.endpoint, **kwargs)

    # -- the request

    def authority(self, host: Optional[str]) -> Optional[str]:
        """The Host (or ``:authority``) a request was signed for, if this server answers to it.

        Only a bare ``name[:port]`` naming this server: a path or query smuggled into the
        header must not become part of what the signature is checked against.
        """
        if host is None or not _AUTHORITY.match(host):
            return None
        name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
        return host if name.lower() in self.names else None

    def check_url(self, url: str, record: SessionRecord) -> Optional[Tuple[str, str]]:
        """Verify a presigned URL; returns the exception to answer with, or None."""
        try:
            record.params = verify_presigned_url(url, credentials=self.credentials, service="transcribe",
                                                 region=self.region, max_skew=self.max_skew)
        except EventStreamError as exc:  # SignatureError
            return auth_refusal(exc)
        return self.check_access(self.credentials.access_key)

    def check_access(self, access_key: str, template: str = ACCESS_DENIED[1]) -> Optional[Tuple[str, str]]:
        """AccessDeniedException and its message (from ``template``) if ``authorize`` says no."""
        if self.authorize is not None and not self.authorize(access_key):
            return ACCESS_DENIED[0], template.format(principal=f"arn:aws:iam::000000000000:user/{access_key}")
        return None

    def new_ids(self, record: SessionRecord) -> None:
        record.request_id = str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
        given = record.params.get("session-id")
        try:
            record.session_id = str(uuid.UUID(given)) if given else None
        except ValueError:
            record.session_id = None  # refused as a bad request once the stream opens
        if record.session_id is None:
            record.session_id = str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def script_for(self, params: Dict[str, str]) -> Script:
        source = self._transcript(dict(params)) if callable(self._transcript) else self._transcript
        return Script.of(source)

    # -- the stream

    async def refuse(self, conn: Connection, record: SessionRecord, kind: str, message: str) -> None:
        if conn.closing:  # already ended (a conflict, a stall): the first reason stands
            return
        record.error, record.reason = kind, message
        try:
            await asyncio.wait_for(conn.send(exception_frame(kind, message)), self.send_timeout)
            await asyncio.wait_for(conn.close(), self.send_timeout)
        except asyncio.TimeoutError:  # a client that reads nothing
            conn.abort()

    async def serve(self, conn: Connection, record: SessionRecord, *, medical: bool,
                    seed_signature: Optional[str], signed: bool,
                    refusal: Optional[Tuple[str, str]] = None) -> None:
        """Run one stream to its end; every way it stops is recorded in ``record``."""
        try:
            await self._serve(conn, record, medical=medical, seed_signature=seed_signature, signed=signed,
                              refusal=refusal)
        except Exception as exc:  # a fault of the fake itself: reported, never a silent hang
            if record.error is None:
                await self.refuse(conn, record, "InternalFailureException", f"The fake server failed: {exc!r}")
            else:
                conn.abort()

    async def _serve(self, conn: Connection, record: SessionRecord, *, medical: bool,
                     seed_signature: Optional[str], signed: bool, refusal: Optional[Tuple[str, str]]) -> None:
        index = next(i for i, r in enumerate(self.sessions) if r is record)
        if refusal is not None:
            await self.refuse(conn, record, *refusal)
            return
        try:
            settings = Settings.from_params(record.params, medical=medical)
        except Refusal as exc:
            await self.refuse(conn, record, exc.exception_type, exc.message)
            return
        faults = sorted((f for f in self.faults if f.session in (None, index)), key=lambda f: f.at)
        stream = Stream(settings, self.script_for(record.params) if not self.echo else Script(),
                        rng=self._rng, silence_events=self.silence_events, max_chunk=self.max_chunk)
        outbox = _Outbox(conn, record, self.pacing, self.latency, self.send_timeout)
        session_id = str(record.session_id)
        old = self._live.get(session_id)
        self._live[session_id] = conn
        if old is not None:  # the service ends the older stream with this session id
            self._background(self._end_conflicted(old))
        try:
            await self._loop(conn, record, stream, outbox, faults, seed_signature, signed)
        except Refusal as exc:
            await outbox.drop()
            await self.refuse(conn, record, exc.exception_type, exc.message)
        except _Stalled:
            pass  # recorded, and the connection dropped, where it was found
        finally:
            await outbox.drop()
            if self._live.get(session_id) is conn:
                del self._live[session_id]
            record.audio_seconds = stream.seconds

    def _background(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _end_conflicted(self, old: Connection) -> None:
        """ConflictException to a stream whose session id a new stream took; off the new stream's path."""
        try:
            await asyncio.wait_for(self.refuse(old, old.record, "ConflictException", EXCEPTIONS["ConflictException"]),
                                   self.send_timeout)
        except (asyncio.TimeoutError, Exception):
            old.abort()

    async def _shutdown(self) -> None:
        """Mark the streams a stop cuts, and end the background work (conflicts being sent)."""
        for conn in self._live.values():
            if conn.record.error is None and not conn.record.ended_cleanly:
                conn.record.error, conn.record.reason = "shutdown", "the server was stopped during the stream"
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _loop(self, conn: Connection, record: SessionRecord, stream: Stream, outbox: "_Outbox",
                    faults: List[Fault], seed_signature: Optional[str], signed: bool) -> None:
        verifier: Optional[EventVerifier] = None
        decoder = Decoder(max_frame=self.max_frame)
        while True:
            await _fault_due(faults, stream, outbox)
            try:
                data = await asyncio.wait_for(conn.recv(), self.silence_timeout)
            except asyncio.TimeoutError:
                await outbox.flush()
                raise Refusal("BadRequestException", SILENCE_MESSAGE.format(seconds=self.silence_timeout)) from None
            if data is None and conn.closing:  # the server ended it (a conflict, a stall, a stop)
                return
            if data is None:  # the client closed (or, over HTTP/2, ended its request) without the empty event
                await _finish(conn, stream, outbox)
                return
            if isinstance(data, str):
                raise Refusal("BadRequestException", TEXT_FRAME_MESSAGE)
            try:
                messages = decoder.feed(data)
            except EventStreamError as exc:
                raise Refusal("BadRequestException", f"Could not read the audio stream: {exc}") from None
            for msg in messages:
                if ":chunk-signature" in msg.headers:  # a signed envelope around the frame
                    if seed_signature is None:
                        raise Refusal("BadRequestException", "Signed event envelopes need a signed request")
                    if verifier is None:
                        verifier = EventVerifier(credentials=self.credentials, region=self.region,
                                                 service="transcribe", seed_signature=seed_signature,
                                                 max_skew=self.max_skew)
                    try:
                        inner = verifier.verify(msg)
                        msg = decode(inner) if inner else _END_OF_AUDIO
                    except EventStreamError as exc:
                        raise Refusal("BadRequestException", f"Could not read the audio stream: {exc}") from None
                elif signed:
                    raise Refusal("BadRequestException", "Every event must be a signed envelope "
                                                         "(:date and :chunk-signature headers)")
                if msg.headers.get(":message-type") != "event" or msg.headers.get(":event-type") != "AudioEvent":
                    raise Refusal("BadRequestException", "Could not read the audio stream: expected an AudioEvent, "
                                                         f"got {msg.headers.get(':event-type')!r}")
                if not msg.payload:  # the end of the audio
                    record.ended_cleanly = True
                    await _finish(conn, stream, outbox)
                    return
                content_type = msg.headers.get(":content-type")
                if content_type != _OCTET_STREAM:
                    raise Refusal("BadRequestException", f"An AudioEvent must have :content-type "
                                                         f"{_OCTET_STREAM}, got {content_type!r}")
                record.audio_frames += 1
                record.audio_bytes += len(msg.payload)
                outbox.heard()
                heard = _echo(msg.payload) if self.echo else None
                for event in stream.audio(msg.payload, heard=heard):
                    outbox.put(event, stream.seconds)
                record.audio_seconds = stream.seconds
                await _fault_due(faults, stream, outbox)
                await outbox.pump()


async def _fault_due(faults: List[Fault], stream: Stream, outbox: "_Outbox") -> None:
    """Raise the first fault once the audio has reached it, after what was due before it."""
    if faults and faults[0].at <= stream.seconds:
        await outbox.flush()
        raise Refusal(faults[0].exception_type, faults[0].text)


async def _finish(conn: Connection, stream: Stream, outbox: "_Outbox") -> None:
    """The audio is over: the last results, then the close."""
    for event in stream.end():
        outbox.put(event, stream.seconds)
    await outbox.flush()
    await conn.close()


def _echo(audio: bytes) -> str:
    """Echo mode: the chunk as UTF-8 text, or ``<N-bytes>`` when it is not text."""
    try:
        text = audio.decode("utf-8").strip()
    except UnicodeDecodeError:
        text = ""
    return text if text and text.isprintable() else f"<{len(audio)}-bytes>"


class _Outbox:
    """Sends result events: at once (``pacing="audio"``) or when real time reaches them."""

    def __init__(self, conn: Connection, record: SessionRecord, pacing: str, latency: float,
                 send_timeout: float) -> None:
        self._conn = conn
        self._send_timeout = send_timeout
        self._record = record
        self._realtime = pacing == "realtime"
        self._latency = latency
        self._queue: List[Tuple[float, bytes, int]] = []
        self._origin: Optional[float] = None
        self._task: Optional["asyncio.Task[None]"] = None

    def heard(self) -> None:
        """Audio arrived: the first arrival is audio time 0 for realtime pacing."""
        if self._origin is None:
            self._origin = asyncio.get_running_loop().time()

    def put(self, results: List[Dict[str, Any]], audio_seconds: float) -> None:
        self.heard()
        assert self._origin is not None
        due = self._origin + audio_seconds + self._latency if self._realtime else 0.0
        self._queue.append((due, transcript_frame(results), len(results)))

    async def _send_due(self) -> None:
        loop = asyncio.get_running_loop()
        while self._queue:
            due, frame, count = self._queue[0]
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                sent = await asyncio.wait_for(self._conn.send(frame), self._send_timeout)
            except asyncio.TimeoutError:
                # A client that reads nothing: the stream is dropped at once (over HTTP/2 a
                # frame may have left in part, and nothing may follow it).
                self._record.error = "stalled"
                self._record.reason = f"the client read no result for {self._send_timeout:g} s"
                self._queue.clear()
                self._conn.abort()
                raise _Stalled() from None
            self._queue.pop(0)
            if sent:
                self._record.events_sent += 1
                self._record.results_sent += count

    async def pump(self) -> None:
        """Send what is queued: now, or from one background sender at each result's time."""
        if not self._realtime:
            await self._send_due()
            return
        if self._task is not None and self._task.done():
            task, self._task = self._task, None
            task.result()  # the sender's failure (a stalled client) ends the stream here
        if self._queue and self._task is None:
            self._task = asyncio.ensure_future(self._send_due())

    async def flush(self) -> None:
        """Send everything queued, waiting for each result's time."""
        if self._task is not None:
            await self._task
            self._task = None
        await self._send_due()

    async def drop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
            self._task = None
        self._queue.clear()

