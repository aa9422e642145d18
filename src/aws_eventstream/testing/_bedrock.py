"""A fake Amazon Bedrock ``InvokeModelWithBidirectionalStream`` for tests, on loopback.

Point a client at :attr:`FakeBedrockServer.endpoint` (HTTP/2 with prior knowledge, or TLS
with ALPN ``h2`` given ``ssl_context``; :attr:`~FakeBedrockServer.proxy` with
``server_name`` for a client that must reach the service's own name). It checks what the
service checks: the request's SigV4 signature for ``bedrock`` over the streaming payload,
every header it acts on signed, and the chain of signed envelopes around every event. It
answers from a *responder*: an async generator function given the client's events (the
model's JSON events, decoded from each ``chunk``) that yields the events to send back.
The default, :class:`NovaSonic`, behaves as the Amazon Nova user guide describes Nova
Sonic's output ("Speech-to-speech", "Handling output events"): ``completionStart`` once the
prompt starts; for each user turn, the user's transcript (``contentStart`` /
``textOutput`` / ``contentEnd``, role USER), the assistant's speculative text, its audio
(``audioOutput``, 24 kHz 16-bit LPCM in base64, as ``audioOutputConfiguration`` asks),
its final text, and with tools configured a ``toolUse``; ``completionEnd`` at
``promptEnd``. Faults: any modeled exception after a chosen number of client events
(:class:`BedrockFault`), and the session limit (8 minutes, ``max_session_seconds``).

Undocumented, and options here: the exception and text at the session limit
(``modelTimeoutException``) and for a bad envelope (``validationException``); the words of
the fake conversation.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import ssl
import uuid
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Callable, Dict, Iterable, List, Optional, Sequence, Set, Tuple

from .. import Decoder, EventStreamError, decode, encode
from .._credentials import Credentials
from ..auth import STREAMING_PAYLOAD, check_region, verify_signed_request
from ..bedrock import chunk_frame, parse_message
from ..bedrock._errors import BedrockError
from ..signing import EventVerifier
from ._connection import auth_refusal
from ._h2server import H2Link, H2Server, H2Stream, h2
from ._proxy import ConnectProxy

__all__ = ["FakeBedrockServer", "BedrockSessionRecord", "BedrockFault", "NovaSonic", "MAX_SESSION_SECONDS"]

MAX_SESSION_SECONDS = 8 * 60.0  # Nova Sonic's session limit (Amazon Nova user guide)
_PATH = re.compile(r"^/model/([^/?]+)/invoke-with-bidirectional-stream$")
_MUST_SIGN = ("x-amz-content-sha256", "x-amz-security-token")
_STATUS = {"ValidationException": 400, "AccessDeniedException": 403, "UnrecognizedClientException": 403,
           "InvalidSignatureException": 403, "ResourceNotFoundException": 404, "ThrottlingException": 429,
           "InternalServerException": 500, "ServiceUnavailableException": 503}
# The exception members of the output event stream (the bedrock-runtime model).
EXCEPTIONS = ("internalServerException", "modelStreamErrorException", "validationException",
              "throttlingException", "modelTimeoutException", "serviceUnavailableException")
_LIMIT_TEXT = "The session exceeded its maximum duration of {seconds:g} seconds."  # undocumented text

Responder = Callable[[AsyncIterator[Any]], AsyncIterator[Any]]


@dataclass
class BedrockSessionRecord:
    """What the fake saw of one request (for assertions in tests)."""

    path: str = field(repr=False)
    model_id: Optional[str] = None
    request_id: Optional[str] = None
    events_in: List[Any] = field(default_factory=list)  # the client's model events, decoded
    events_out: int = 0  # chunk events sent
    ended_cleanly: bool = False  # the client ended with the empty signed envelope
    # Why it was refused or stopped: the exception type sent, "cancelled" (the client reset
    # the stream), "shutdown" (stop() cut it); ``reason`` says why, in words.
    error: Optional[str] = None
    reason: Optional[str] = None


@dataclass
class BedrockFault:
    """Send ``exception_type`` (an output exception member, e.g. ``modelStreamErrorException``)
    once the session has received ``after`` events; ``session`` picks the n-th request (0-based;
    None: every one)."""

    exception_type: str
    message: Optional[str] = None
    after: int = 0
    session: Optional[int] = None

    def __post_init__(self) -> None:
        if self.exception_type not in EXCEPTIONS:
            raise ValueError(f"exception_type must be one of {', '.join(EXCEPTIONS)}, got {self.exception_type!r}")
        if isinstance(self.after, bool) or not isinstance(self.after, int) or self.after < 0:
            raise ValueError(f"after must be an int >= 0, got {self.after!r}")


class NovaSonic:
    """A responder that answers as Nova Sonic does, turn by turn.

    A user turn ends with the ``contentEnd`` of a USER AUDIO content, or every
    ``turn_seconds`` of its audio (None: only at ``contentEnd``), or with the ``textInput``
    of a USER TEXT content started with ``"interactive": true`` (Nova 2 Sonic's text turn;
    other text, such as the conversation's history, is taken in without an answer).
    Each turn answers with the next of ``heard`` (the user's transcript; for a text turn,
    its text) and ``replies`` (the assistant's words), cycling; the reply's audio lasts ``seconds_per_char`` per
    character, in ``audio_chunk_seconds`` pieces. With a ``toolConfiguration`` in
    ``promptStart``, the first turn asks for its first tool (``toolUse``, then
    ``contentEnd`` with ``stopReason`` TOOL_USE); the reply follows the ``toolResult``.
    """

    def __init__(self, heard: Sequence[str] = ("Hello there.",), replies: Sequence[str] = ("Hi! How can I help?",),
                 *, turn_seconds: Optional[float] = None, seconds_per_char: float = 0.06,
                 audio_chunk_seconds: float = 0.04) -> None:
        self.heard = list(heard) or [""]
        self.replies = list(replies) or [""]
        self.turn_seconds = turn_seconds
        self.seconds_per_char = seconds_per_char
        self.audio_chunk_seconds = audio_chunk_seconds

    def __call__(self, events: AsyncIterator[Any]) -> AsyncIterator[Any]:
        return self._run(events)

    async def _run(self, events: AsyncIterator[Any]) -> AsyncIterator[Any]:
        prompt, completion = "", str(uuid.uuid4())
        output_rate, voice = 24000, "matthew"
        tools: List[Any] = []
        input_rate, user_audio, audio_content = 16000, 0.0, None
        interactive_text: Set[str] = set()  # contentNames of the USER TEXT contents that ask for an answer
        turn, started = 0, False
        async for item in events:
            body = item.get("event") if isinstance(item, dict) else None
            if not isinstance(body, dict) or len(body) != 1:
                continue
            (name, data), = body.items()
            data = data if isinstance(data, dict) else {}
            if name == "promptStart":
                prompt = str(data.get("promptName", ""))
                config = _dict(data.get("audioOutputConfiguration"))
                output_rate = _rate(config.get("sampleRateHertz"), 24000)
                voice = str(config.get("voiceId", voice))
                tools = [t for t in _dict(data.get("toolConfiguration")).get("tools") or [] if isinstance(t, dict)] \
                    if isinstance(_dict(data.get("toolConfiguration")).get("tools"), list) else []
                if not started:
                    started = True
                    yield {"event": {"completionStart": {"sessionId": str(uuid.uuid4()), "promptName": prompt,
                                                         "completionId": completion}}}
            elif name == "contentStart" and data.get("type") == "AUDIO" and data.get("role") == "USER":
                audio_content = data.get("contentName")
                input_rate = _rate(_dict(data.get("audioInputConfiguration")).get("sampleRateHertz"), 16000)
            elif name == "contentStart" and data.get("type") == "TEXT" and data.get("role") == "USER" \
                    and data.get("interactive") is True and isinstance(data.get("contentName"), str):
                interactive_text.add(data["contentName"])
            elif name == "textInput" and data.get("contentName") in interactive_text:
                interactive_text.discard(data["contentName"])
                async for out in self._turn(prompt, completion, turn, output_rate, voice, tools,
                                            heard=str(data.get("content", ""))):
                    yield out
                turn += 1
            elif name == "audioInput" and data.get("contentName") == audio_content:
                try:
                    user_audio += len(base64.b64decode(str(data.get("content", "")))) / (2 * input_rate)
                except ValueError:  # not base64: no audio
                    pass
                if self.turn_seconds is not None and user_audio >= self.turn_seconds:
                    user_audio = 0.0
                    async for out in self._turn(prompt, completion, turn, output_rate, voice, tools):
                        yield out
                    turn += 1
            elif name == "contentEnd" and data.get("contentName") == audio_content and user_audio > 0:
                user_audio = 0.0
                async for out in self._turn(prompt, completion, turn, output_rate, voice, tools):
                    yield out
                turn += 1
            elif name == "toolResult":
                async for out in self._reply(prompt, completion, turn, output_rate, voice):
                    yield out
            elif name == "promptEnd":
                yield {"event": {"completionEnd": {"promptName": prompt, "completionId": completion,
                                                   "stopReason": "END_TURN"}}}
            elif name == "sessionEnd":
                return

    def _content(self, prompt: str, completion: str, kind: str, role: str, stage: Optional[str] = None,
                 **extra: Any) -> Tuple[str, Dict[str, Any]]:
        content_id = str(uuid.uuid4())
        start: Dict[str, Any] = {"promptName": prompt, "completionId": completion, "contentId": content_id,
                                 "type": kind, "role": role, **extra}
        if stage is not None:
            start["additionalModelFields"] = json.dumps({"generationStage": stage})
        return content_id, {"event": {"contentStart": start}}

    def _end(self, prompt: str, completion: str, content_id: str, kind: str, stop: str) -> Dict[str, Any]:
        return {"event": {"contentEnd": {"promptName": prompt, "completionId": completion, "contentId": content_id,
                                         "stopReason": stop, "type": kind}}}

    def _text(self, prompt: str, completion: str, role: str, stage: str, text: str, stop: str) -> List[Dict[str, Any]]:
        content_id, start = self._content(prompt, completion, "TEXT", role, stage)
        return [start, {"event": {"textOutput": {"promptName": prompt, "completionId": completion,
                                                 "contentId": content_id, "content": text, "role": role}}},
                self._end(prompt, completion, content_id, "TEXT", stop)]

    async def _turn(self, prompt: str, completion: str, turn: int, rate: int, voice: str,
                    tools: List[Any], heard: Optional[str] = None) -> AsyncIterator[Dict[str, Any]]:
        heard = self.heard[turn % len(self.heard)] if heard is None else heard
        for out in self._text(prompt, completion, "USER", "FINAL", heard, "END_TURN"):
            yield out
        if tools and turn == 0:
            spec = _dict(tools[0].get("toolSpec"))
            content_id, start = self._content(prompt, completion, "TOOL", "TOOL")
            yield start
            yield {"event": {"toolUse": {"promptName": prompt, "completionId": completion, "contentId": content_id,
                                         "toolName": spec.get("name", "tool"), "toolUseId": str(uuid.uuid4()),
                                         "content": "{}"}}}
            yield self._end(prompt, completion, content_id, "TOOL", "TOOL_USE")
            return
        async for out in self._reply(prompt, completion, turn, rate, voice):
            yield out

    async def _reply(self, prompt: str, completion: str, turn: int, rate: int,
                     voice: str) -> AsyncIterator[Dict[str, Any]]:
        reply = self.replies[turn % len(self.replies)]
        for out in self._text(prompt, completion, "ASSISTANT", "SPECULATIVE", reply, "PARTIAL_TURN"):
            yield out
        content_id, start = self._content(prompt, completion, "AUDIO", "ASSISTANT", audioOutputConfiguration={
            "mediaType": "audio/lpcm", "sampleRateHertz": rate, "sampleSizeBits": 16, "channelCount": 1,
            "voiceId": voice, "encoding": "base64", "audioType": "SPEECH"})
        yield start
        samples = int(len(reply) * self.seconds_per_char * rate)
        step = max(1, int(self.audio_chunk_seconds * rate))
        for at in range(0, samples, step):
            chunk = bytes(2 * min(step, samples - at))  # silence: the words are the text's
            yield {"event": {"audioOutput": {"promptName": prompt, "completionId": completion, "contentId": content_id,
                                             "content": base64.b64encode(chunk).decode("ascii")}}}
        yield self._end(prompt, completion, content_id, "AUDIO", "END_TURN")
        for out in self._text(prompt, completion, "ASSISTANT", "FINAL", reply, "END_TURN"):
            yield out


def _rate(value: Any, default: int) -> int:
    """A sample rate from a client's configuration: an int from 8 to 48 kHz, else ``default``."""
    return value if type(value) is int and 8000 <= value <= 48000 else default


def _dict(value: Any) -> Dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _exception(kind: str, message: str) -> bytes:
    return encode({":message-type": "exception", ":exception-type": kind, ":content-type": "application/json"},
                  json.dumps({"message": message}, separators=(",", ":")).encode())


class _Stop(Exception):
    """The session ends with an exception event (kind, message)."""


class FakeBedrockServer(H2Server):
    """A fake Bedrock runtime serving ``InvokeModelWithBidirectionalStream`` over HTTP/2.

    Args:
        credentials: the only credentials it accepts.
        region: the region requests must be signed for.
        responder: an async generator function from the client's events to the events to
            send (default: a :class:`NovaSonic`).
        faults: exceptions to send at chosen points (also ``server.faults.append(...)``).
        max_session_seconds: the session limit (Nova Sonic's 8 minutes; shorten it in tests).
        authorize: a function from access key id to whether IAM allows the call.
        ssl_context: serve TLS with ALPN ``h2`` (a server context the client trusts).
        server_name: the name clients reach through :attr:`proxy` (``HTTPS_PROXY``), e.g.
            ``bedrock-runtime.us-east-1.amazonaws.com``, with a certificate for it.
        max_skew: seconds a request's and each envelope's date may be off the clock.
    """

    def __init__(self, *, credentials: Credentials, region: str = "us-east-1",
                 responder: Optional[Responder] = None, faults: Iterable[BedrockFault] = (),
                 max_session_seconds: float = MAX_SESSION_SECONDS, authorize: Optional[Callable[[str], bool]] = None,
                 ssl_context: Optional[ssl.SSLContext] = None, server_name: Optional[str] = None,
                 max_skew: float = 300.0) -> None:
        if not isinstance(credentials, Credentials):
            raise TypeError(f"credentials must be Credentials, not {type(credentials).__name__}")
        check_region(region)
        if not (isinstance(max_session_seconds, (int, float)) and 0 < max_session_seconds < float("inf")):
            raise ValueError(f"max_session_seconds must be a positive number of seconds, got {max_session_seconds!r}")
        super().__init__(ssl_context)
        self.credentials = credentials
        self.region = region
        self.responder: Responder = responder if responder is not None else NovaSonic()
        self.faults: List[BedrockFault] = list(faults)
        self.max_session_seconds = float(max_session_seconds)
        self.authorize = authorize
        self.server_name = server_name
        self.max_skew = float(max_skew)
        self.sessions: List[BedrockSessionRecord] = []
        self._proxy: Optional[ConnectProxy] = None

    async def start(self, host: str = "127.0.0.1") -> None:
        await super().start(host)
        if self.server_name is not None:
            self._proxy = ConnectProxy({f"{self.server_name}:443": self.address})
            await self._proxy.start(host)

    async def stop(self) -> None:
        if self._proxy is not None:
            await self._proxy.stop()
            self._proxy = None
        await super().stop()

    async def __aenter__(self) -> "FakeBedrockServer":
        await self.start()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.stop()

    @property
    def proxy(self) -> str:
        """``http://127.0.0.1:<port>``: ``HTTPS_PROXY`` for a client that connects to
        ``https://<server_name>``; only that is tunnelled, to this server."""
        if self._proxy is None:
            raise RuntimeError("the proxy runs with server_name given, once the server is started")
        return self._proxy.url

    # -- the requests

    def new_record(self, path: str) -> BedrockSessionRecord:
        record = BedrockSessionRecord(path=path)
        self.sessions.append(record)
        return record

    def fail(self, link: H2Link, stream: H2Stream, exc: BaseException) -> None:
        self._refuse(link, stream, "InternalServerException", f"The fake server failed: {exc!r}")

    def _refuse(self, link: H2Link, stream: H2Stream, kind: str, message: str) -> None:
        stream.record.error, stream.record.reason = kind, message
        stream.closing = True
        body = json.dumps({"message": message}, separators=(",", ":")).encode()
        try:
            link.respond(stream.stream_id, _STATUS.get(kind, 400), [("content-type", "application/json"),
                                                                    ("x-amzn-errortype", kind)], body)
        except h2.exceptions.H2Error:
            link.reset_stream(stream.stream_id)

    def _verify(self, headers: Dict[str, str]) -> Tuple[Optional[Tuple[str, str]], Optional[str]]:
        names = {"127.0.0.1", "localhost"} | ({self.server_name.lower()} if self.server_name else set())
        authority = headers.get(":authority") or headers.get("host") or ""
        if authority.rsplit(":", 1)[0].lower() not in names:
            return ("ValidationException", "The :authority header does not name this server."), None
        signed = {k: v for k, v in headers.items() if not k.startswith(":")}
        signed["host"] = authority
        url = f"{'https' if self.ssl_context else 'http'}://{authority}{headers.get(':path', '')}"
        try:
            seed = verify_signed_request("POST", url, signed, credentials=self.credentials, service="bedrock",
                                         region=self.region, max_skew=self.max_skew, payload_hash=STREAMING_PAYLOAD,
                                         must_sign=_MUST_SIGN)
        except EventStreamError as exc:
            kind, message = auth_refusal(exc)
            return ("InvalidSignatureException" if kind == "BadRequestException" else kind, message), None
        if self.authorize is not None and not self.authorize(self.credentials.access_key):
            return ("AccessDeniedException", "User is not authorized to perform: "
                    "bedrock:InvokeModelWithBidirectionalStream"), None
        return None, seed

    async def handle(self, link: H2Link, stream: H2Stream, headers: Optional[Dict[str, str]]) -> None:
        record: Any = stream.record  # a BedrockSessionRecord: new_record made it
        index = self.sessions.index(record)
        if headers is None:
            self._refuse(link, stream, "ValidationException", "A request header is not valid UTF-8.")
            return
        match = _PATH.match(record.path.split("?", 1)[0])  # an empty query ("...stream?") is the SDKs' way
        if headers.get(":method") != "POST" or match is None:
            self._refuse(link, stream, "UnknownOperationException", f"No such operation: {record.path}")
            return
        from urllib.parse import unquote
        record.model_id = unquote(match.group(1))
        refusal, seed = self._verify(headers)
        if refusal is not None:
            self._refuse(link, stream, *refusal)
            return
        assert seed is not None
        record.request_id = str(uuid.uuid4())
        link.respond(stream.stream_id, 200, [("content-type", "application/vnd.amazon.eventstream"),
                                             ("x-amzn-requestid", record.request_id)], None)
        try:
            await asyncio.wait_for(self._serve(stream, record, index, seed), self.max_session_seconds)
        except asyncio.TimeoutError:
            await self._stop_with(stream, record, "modelTimeoutException",
                                  _LIMIT_TEXT.format(seconds=self.max_session_seconds))
        except _Stop as stop:
            await self._stop_with(stream, record, *stop.args)
        else:
            await stream.close()

    async def _stop_with(self, stream: H2Stream, record: BedrockSessionRecord, kind: str, message: str) -> None:
        if record.error is None:
            record.error, record.reason = kind, message
        await stream.send(_exception(kind, message))
        await stream.close()

    async def _serve(self, stream: H2Stream, record: BedrockSessionRecord, index: int, seed: str) -> None:
        verifier = EventVerifier(credentials=self.credentials, region=self.region, service="bedrock",
                                 seed_signature=seed, max_skew=self.max_skew)
        inbox: "asyncio.Queue[Any]" = asyncio.Queue()
        done = object()

        async def client_events() -> AsyncIterator[Any]:
            while True:
                item = await inbox.get()
                if item is done:
                    return
                yield item

        def check_faults() -> None:
            for fault in self.faults:
                if fault.after == len(record.events_in) and fault.session in (None, index):
                    raise _Stop(fault.exception_type, fault.message or
                                f"The fake model failed ({fault.exception_type}).")

        async def read() -> None:
            decoder = Decoder()
            try:
                check_faults()  # after=0: before any event
                while True:
                    data = await stream.recv()
                    if data is None or isinstance(data, str):
                        break
                    for envelope in decoder.feed(data):
                        if record.ended_cleanly:  # undocumented: the service's answer to bytes after the end
                            raise _Stop("validationException", "Invalid input event: data after the end of the stream")
                        inner = verifier.verify(envelope)
                        if not inner:
                            record.ended_cleanly = True
                            continue  # read on: nothing more may come
                        event = parse_message(decode(inner))  # exactly one whole frame in each envelope
                        record.events_in.append(event)
                        check_faults()
                        await inbox.put(event)
                decoder.close()
            except (EventStreamError, BedrockError) as exc:  # undocumented: the service's answer to a bad event
                raise _Stop("validationException", f"Invalid input event: {exc}") from None
            finally:
                await inbox.put(done)

        reader = asyncio.ensure_future(read())
        try:
            async for event in self.responder(client_events()):
                if not await stream.send(chunk_frame(event)):
                    break
                record.events_out += 1
            await reader
        finally:
            if not reader.done():
                reader.cancel()
                try:
                    await reader
                except (asyncio.CancelledError, _Stop):
                    pass
