"""A fake Amazon Transcribe streaming server for tests, on a real WebSocket (127.0.0.1).

It behaves like the service where a client can tell: it verifies the presigned URL
(a bad or expired signature is refused with HTTP 403 during the handshake), answers a
bad parameter with a ``BadRequestException`` frame, decodes AudioEvent frames with the
package's ``Decoder`` (signed ``:chunk-signature`` envelopes are verified too), answers
each audio frame with a partial TranscriptEvent and each finished segment with a final
one, and closes cleanly after the empty AudioEvent.

Needs the ``websockets`` package (``pip install "aws-eventstream[websockets]"``)::

    async with FakeTranscribeServer(credentials=creds, transcript="hello world") as server:
        url = server.presigned_url(language_code="en-US")
        async with transcribe.TranscribeSession(url) as session:
            ...
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Callable, Dict, List, Optional
from urllib.parse import parse_qsl, urlsplit

from . import MAX_FRAME, Decoder, EventStreamError, Message, decode, encode
from .auth import Credentials, _max_skew, verify_presigned_url
from .signing import EventVerifier
from .transcribe import (
    MEDIA_ENCODINGS,
    MEDICAL_STREAM_PATH,
    STREAM_PATH,
    medical_presigned_url,
    presigned_url,
)

__all__ = ["FakeTranscribeServer", "SessionRecord", "transcript_event", "exception_frame"]


_serve: Optional[Callable[..., Server]]
try:
    from websockets.asyncio.server import Server
    from websockets.asyncio.server import serve as _serve
    from websockets.exceptions import ConnectionClosed
except ImportError:  # optional: reported when a server is started
    _serve = None

    class ConnectionClosed(Exception):  # type: ignore[no-redef]
        pass


def _websockets() -> Callable[..., Server]:
    if _serve is None:
        raise ImportError('the fake server needs websockets: pip install "aws-eventstream[websockets]"')
    return _serve


def transcript_event(words: List[str], *, result_id: str, start: float, end: float, partial: bool,
                     channel_id: str = "ch_0", language_code: Optional[str] = None) -> bytes:
    """A TranscriptEvent frame as Amazon Transcribe sends it."""
    step = (end - start) / max(len(words), 1)
    items = [{"Content": w, "StartTime": round(start + i * step, 3), "EndTime": round(start + (i + 1) * step, 3),
              "Type": "pronunciation", "VocabularyFilterMatch": False, "Stable": not partial}
             for i, w in enumerate(words)]
    result: Dict[str, Any] = {"Alternatives": [{"Items": items, "Transcript": " ".join(words)}],
                              "ChannelId": channel_id, "EndTime": round(end, 3), "IsPartial": partial,
                              "ResultId": result_id, "StartTime": round(start, 3)}
    if language_code:
        result["LanguageCode"] = language_code
    body = {"Transcript": {"Results": [result]}}
    return encode({":event-type": "TranscriptEvent", ":content-type": "application/json",
                   ":message-type": "event"}, json.dumps(body, separators=(",", ":")).encode())


def exception_frame(exception_type: str, message: str) -> bytes:
    """An ``exception`` frame carrying ``{"Message": message}``."""
    return encode({":exception-type": exception_type, ":content-type": "application/json",
                   ":message-type": "exception"}, json.dumps({"Message": message}).encode())


@dataclass
class SessionRecord:
    """What the server saw of one connection (for assertions in tests)."""

    path: str = field(repr=False)  # the query carries the signature and any session token
    params: Dict[str, str] = field(default_factory=dict)
    audio_frames: int = 0
    audio_bytes: int = 0
    results_sent: int = 0
    ended_cleanly: bool = False  # the stream was ended with the empty AudioEvent
    # exception type sent, "403" for a refused handshake, "1009" for a message over max_frame
    error: Optional[str] = None


class FakeTranscribeServer:
    """A local stand-in for Amazon Transcribe streaming (see the module docstring).

    Args:
        credentials: the only credentials it accepts (the URL must be signed with them).
        region: the region the URL must be signed for.
        transcript: the words it "hears": each audio frame reveals one more word of the
            segment as a partial result; a finished segment is sent again as final.
        echo: instead of ``transcript``, each frame's audio decoded as UTF-8 is the next
            word (``<N bytes>`` when it is not text): results derived from the audio.
        frame_ms: audio time each frame stands for, for result timestamps.
        max_skew: seconds the URL's and each envelope's date may be off the clock.
        max_frame: the largest WebSocket message and event-stream frame accepted; a larger
            message closes the connection (1009) before it is buffered.
    """

    def __init__(self, *, credentials: Credentials, region: str = "us-east-1",
                 transcript: str = "hello from the fake transcribe server", echo: bool = False,
                 frame_ms: float = 100.0, max_skew: float = 300.0, max_frame: int = MAX_FRAME) -> None:
        self.credentials = credentials
        self.region = region
        self.words = transcript.split() or ["..."]
        self.echo = echo
        self.frame_ms = frame_ms
        self.max_skew = _max_skew(max_skew, optional=False)
        self.max_frame = Decoder(max_frame=max_frame).max_frame  # the Decoder refuses a bad limit now
        self.sessions: List[SessionRecord] = []
        self._server: Any = None
        self._refused: Dict[int, str] = {}

    # -- lifecycle

    async def start(self) -> "FakeTranscribeServer":
        serve = _websockets()
        self._server = await serve(self._handle, "127.0.0.1", 0, process_request=self._check_request,
                                   compression=None, max_size=self.max_frame, ping_interval=None)
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> "FakeTranscribeServer":
        return await self.start()

    async def __aexit__(self, *exc: Any) -> None:
        await self.stop()

    @property
    def endpoint(self) -> str:
        """``ws://127.0.0.1:<port>``, for ``presigned_url(endpoint=...)``."""
        if self._server is None:
            raise RuntimeError("the server is not started")
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"ws://{host}:{port}"

    def presigned_url(self, *, medical: bool = False, **kwargs: Any) -> str:
        """A URL presigned with this server's credentials and region, pointing at it."""
        kwargs.setdefault("region", self.region)
        kwargs.setdefault("credentials", self.credentials)
        if medical:
            kwargs.setdefault("specialty", "PRIMARYCARE")
            kwargs.setdefault("type", "CONVERSATION")
            return medical_presigned_url(endpoint=self.endpoint, **kwargs)
        return presigned_url(endpoint=self.endpoint, **kwargs)

    # -- the handshake: the presigned URL

    def _check_request(self, connection: Any, request: Any) -> Any:
        record = SessionRecord(path=request.path)
        self.sessions.append(record)
        # The request as received, at the address this server is bound to. Never the Host
        # header: a client could put a query signed for another path there.
        url = self.endpoint + request.path
        parts = urlsplit(url)
        if parts.path not in (STREAM_PATH, MEDICAL_STREAM_PATH):
            record.error = "404"
            return connection.respond(HTTPStatus.NOT_FOUND, f"no such path: {parts.path}\n")
        try:
            record.params = verify_presigned_url(
                url, credentials=self.credentials, service="transcribe", region=self.region,
                max_skew=self.max_skew)
        except EventStreamError as exc:  # SignatureError
            record.error = "403"
            return connection.respond(HTTPStatus.FORBIDDEN, f"{exc}\n")
        connection.record = record
        connection.stream_path = parts.path
        connection.seed_signature = dict(parse_qsl(parts.query, keep_blank_values=True))["X-Amz-Signature"]
        return None

    # -- the stream

    def _bad_request(self, params: Dict[str, str], path: str) -> Optional[str]:
        rate = params.get("sample-rate", "")
        if not rate.isdigit() or not 8000 <= int(rate) <= 48000:
            return f"sample-rate {rate!r} is not between 8000 and 48000 Hz"
        if params.get("media-encoding") not in MEDIA_ENCODINGS:
            return f"media-encoding {params.get('media-encoding')!r} is not supported"
        if path == STREAM_PATH and not ("language-code" in params or "identify-language" in params
                                        or "identify-multiple-languages" in params):
            return "a language-code or language identification is required"
        return None

    async def _handle(self, ws: Any) -> None:
        record: SessionRecord = ws.record
        params = record.params
        problem = self._bad_request(params, ws.stream_path)
        if problem:
            record.error = "BadRequestException"
            await ws.send(exception_frame("BadRequestException", problem))
            await ws.close()
            return
        verifier: Optional[EventVerifier] = None
        decoder = Decoder(max_frame=self.max_frame)
        segment: List[str] = []
        seg = _Segment()
        language = params.get("language-code") or (params.get("language-options", "").split(",")[0] or None)

        async def send_result(partial: bool) -> None:
            end = seg.frame * self.frame_ms / 1000.0
            await ws.send(transcript_event(list(segment), result_id=str(uuid.UUID(int=seg.number)),
                                           start=seg.start, end=end, partial=partial, language_code=language))
            record.results_sent += 1

        async def finish_segment() -> None:
            await send_result(partial=False)
            segment.clear()
            seg.number += 1
            seg.start = seg.frame * self.frame_ms / 1000.0

        try:
            async for data in ws:
                if isinstance(data, str):
                    raise _Refuse("text WebSocket messages are not event-stream frames")
                for msg in decoder.feed(data):
                    if ":chunk-signature" in msg.headers:  # a signed envelope around the frame
                        if verifier is None:
                            verifier = EventVerifier(credentials=self.credentials, region=self.region,
                                                     service="transcribe", seed_signature=ws.seed_signature,
                                                     max_skew=self.max_skew)
                        inner = verifier.verify(msg)
                        msg = decode(inner) if inner else _END_OF_AUDIO
                    if msg.headers.get(":event-type") != "AudioEvent" or msg.headers.get(":message-type") != "event":
                        raise _Refuse(f"expected an AudioEvent, got {msg.headers.get(':event-type')!r}")
                    if not msg.payload:  # end of the audio
                        record.ended_cleanly = True
                        if segment:
                            await finish_segment()
                        await ws.close()
                        return
                    record.audio_frames += 1
                    record.audio_bytes += len(msg.payload)
                    seg.frame += 1
                    segment.append(self._word(msg.payload, seg.frame))
                    await send_result(partial=True)
                    if not self.echo and len(segment) == len(self.words):
                        await finish_segment()
        except (EventStreamError, _Refuse) as exc:
            record.error = "BadRequestException"
            await ws.send(exception_frame("BadRequestException", f"could not read the audio stream: {exc}"))
            await ws.close()
        except ConnectionClosed as exc:  # the client went away, or sent a message over max_frame
            if exc.sent is not None and exc.sent.code == 1009:
                record.error = "1009"

    def _word(self, audio: bytes, n: int) -> str:
        if self.echo:
            try:
                text = audio.decode("utf-8").strip()
            except UnicodeDecodeError:
                text = ""
            return text if text and text.isprintable() else f"<{len(audio)} bytes>"
        return self.words[(n - 1) % len(self.words)]


class _Segment:
    """Where the current result segment stands: its number, start time, frames so far."""

    __slots__ = ("number", "start", "frame")

    def __init__(self) -> None:
        self.number = 0
        self.start = 0.0
        self.frame = 0


class _Refuse(Exception):
    """The client sent something that is not an audio stream."""


_END_OF_AUDIO = Message({":event-type": "AudioEvent", ":message-type": "event"}, b"")
