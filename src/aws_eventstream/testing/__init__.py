"""A fake Amazon Transcribe streaming service for tests, on loopback.

Point an unmodified client at it, changing only the address: our
:class:`~aws_eventstream.transcribe.TranscribeSession`, pipecat's
``AWSTranscribeSTTService`` (WebSocket API), or the ``amazon-transcribe`` SDK and other
HTTP/2 clients (``StartStreamTranscription``, with ``http2=True``). It behaves like the
service where a client can tell:

- **The handshake.** The presigned URL (or the HTTP/2 request's SigV4 ``Authorization``)
  is verified; a failure is an exception frame after the upgrade, as the guide documents:
  ``UnrecognizedClientException`` for an unknown access key, ``BadRequestException`` for a
  signature mismatch or an expired URL, ``AccessDeniedException`` naming
  ``transcribe:StartStreamTranscriptionWebSocket`` when ``authorize`` says no
  (``auth_failure="http"`` answers HTTP 403 instead). A ``Sec-WebSocket-Key`` sent twice is
  accepted, the first one answered. The 101 carries ``x-amzn-RequestId``,
  ``x-amzn-SessionId`` (the ``session-id`` given, or a new UUID), ``websocket-origin`` and
  ``websocket-location``.
- **What it refuses**, with ``BadRequestException`` frames (compact JSON, ``{"Message":...}``):
  parameters the model's validation refuses (a language code not in the model's enum, a
  sample rate outside 8-48 kHz...), a text WebSocket message ("Unexpected WebSocket frame
  received."), a corrupt or non-AudioEvent frame, an AudioEvent whose ``:content-type`` is
  not ``application/octet-stream``, a chunk of more than 1 s of audio, a bad signed envelope,
  and 15 s without audio ("Your request timed out because no new audio was received for
  15 seconds."). A second stream with a live stream's ``session-id`` ends the first with
  ``ConflictException``. Any exception can be injected at a chosen point (:class:`Fault`).
- **The results.** What it "hears" is a :class:`Script` of timed words (a text, or
  ``(start_s, end_s, word)`` tuples, with speaker, channel, language and PII
  annotations), cut as audio time advances. Audio time comes from the bytes: PCM by its
  sample rate and channels, Ogg Opus by granule positions, FLAC by frame headers. A word
  shows in a partial result once its end has been heard; a segment is final after a pause
  of ``segment_pause`` or when the audio ends. ResultIds are random UUIDs (``seed`` makes
  them repeat). ``Stable`` appears only with partial-results stabilization; final items
  carry ``Confidence``; punctuation is its own item; ``Speaker`` (on final results) with
  ``show-speaker-label``; ``Entities`` (final results) with PII identification, and
  ``[TYPE]`` in place of the words with redaction; ``LanguageCode`` and
  ``LanguageIdentification`` with language identification; results of both channels,
  ``ch_0`` and ``ch_1``, with channel identification. An event holds one result per
  channel, and silence brings empty ``Results`` events.
- **Pacing.** ``pacing="audio"`` (the default, deterministic) sends each result as soon as
  the audio that makes it due has arrived; ``pacing="realtime"`` sends it when real time,
  counted from the first audio, reaches its audio time plus ``latency``.

Sources of truth (each fact is listed with its source in :mod:`._facts`):

- the Smithy model of ``transcribe-streaming`` (2017-10-26): the LanguageCode enum (99
  codes), the parameters and their constraints, the exception shapes and their
  documentation, ``AudioEvent.AudioChunk`` (at most 1 s of audio), the Item, Result,
  Entity and LanguageWithScore shapes, the HTTP/2 operation's header bindings;
- the Amazon Transcribe Developer Guide: "Setting up a WebSocket stream" (the 101's
  headers, exception frames, ``UnrecognizedClientException``), "Setting up an HTTP/2
  stream" (the signed envelopes), "Partial-result stabilization", "Partitioning speakers
  (diarization)" (labels on finished segments only), "Redacting or identifying PII in a
  real-time stream" (final results only; en-US, en-GB, en-AU, es-US; not with language
  identification), "Identifying the dominant languages" and "Channel identification";
- the service's own answers as users report them, where the guide prints none: the
  texts of the authentication failures and of the 15-second silence timeout.

Undocumented behaviour is marked where it is defined and is an option here:
``auth_failure`` (frame or HTTP 403), ``silence_events`` (how often silence brings an
empty event), ``Script.segment_pause`` (the pause that ends a segment), ``latency``, the
exception type and text for an over-long chunk and an expired URL, and ``ChannelId`` on
every result.

Needs the ``websockets`` package (``pip install "aws-eventstream[websockets]"``), and
``h2`` for the HTTP/2 API::

    script = Script.from_text("Hi, I'm Jane.", pii={"Jane": "NAME"})
    async with FakeTranscribeServer(credentials=creds, transcript=script) as server:
        url = server.presigned_url(language_code="en-US", content_redaction_type="PII")
        async with transcribe.TranscribeSession(url) as session:
            ...
"""

from __future__ import annotations

import ssl
from typing import Any, Callable, Dict, Iterable, List, Optional, Union

from .. import MAX_FRAME
from ..auth import Credentials
from ..transcribe import medical_presigned_url, presigned_url
from ._facts import MAX_CHUNK_SECONDS, SILENCE_TIMEOUT
from ._script import DEFAULT_TEXT, Script, Word
from ._server import Fault, ScriptSource, ServerCore, SessionRecord
from ._stream import exception_frame, transcript_event, transcript_frame
from ._proxy import ConnectProxy
from ._websocket import WebSocketFrontEnd

__all__ = ["FakeTranscribeServer", "SessionRecord", "Script", "Word", "Fault", "exception_frame",
           "transcript_event", "transcript_frame"]


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
        self._core = ServerCore(
            credentials=credentials, region=region, transcript=transcript, echo=echo, pacing=pacing,
            latency=latency, seed=seed, silence_timeout=silence_timeout, silence_events=silence_events,
            max_chunk=max_chunk, auth_failure=auth_failure, authorize=authorize, faults=faults,
            server_name=server_name, max_skew=max_skew, max_frame=max_frame)
        self._websocket = WebSocketFrontEnd(self._core, ssl_context)
        self._http2: Any = None
        if http2:
            from ._http2 import HTTP2FrontEnd

            self._http2 = HTTP2FrontEnd(self._core, ssl_context)
        self._proxy: Optional[ConnectProxy] = None

    # -- what tests look at

    @property
    def sessions(self) -> List[SessionRecord]:
        """One record per connection, in the order they came."""
        return self._core.sessions

    @property
    def faults(self) -> List[Fault]:
        return self._core.faults

    @property
    def credentials(self) -> Credentials:
        return self._core.credentials

    @property
    def region(self) -> str:
        return self._core.region

    @property
    def max_skew(self) -> float:
        return self._core.max_skew

    @property
    def max_frame(self) -> int:
        return self._core.max_frame

    # -- lifecycle

    async def start(self) -> "FakeTranscribeServer":
        await self._websocket.start("127.0.0.1")
        if self._http2 is not None:
            await self._http2.start("127.0.0.1")
        name = self._core.server_name
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
        await self._core.shutdown()
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
