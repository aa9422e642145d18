"""Amazon Transcribe streaming over WebSocket, on top of the codec and SigV4.

- :func:`presigned_url` / :func:`medical_presigned_url`: the ``wss://`` URL that opens a
  stream, with every query parameter the WebSocket API takes, validated.
- :func:`audio_event` / :data:`END_OF_STREAM`: AudioEvent frames (header block built once).
- :func:`parse_message` and :class:`TranscriptStream`: server frames to typed results, and
  ``exception`` / ``error`` frames to typed errors. Nothing is dropped silently.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union
from urllib.parse import urlsplit

from . import MAX_FRAME, Decoder, Encoder, Message
from .auth import Credentials, presign_url

__all__ = [
    "presigned_url",
    "medical_presigned_url",
    "endpoint_for",
    "audio_event",
    "END_OF_STREAM",
    "AUDIO_HEADERS",
    "parse_message",
    "TranscriptStream",
    "TranscriptEvent",
    "Result",
    "Alternative",
    "Item",
    "UnknownEvent",
    "TranscribeError",
    "TranscribeServiceError",
    "BadRequestException",
    "LimitExceededException",
    "InternalFailureException",
    "ConflictException",
    "ServiceUnavailableException",
    "UnknownServiceException",
    "TranscribeErrorFrame",
    "TranscribeProtocolError",
    "TranscribeHandshakeError",
    "TranscribeAuthError",
    "TranscribeConnectionError",
    "TranscribeSession",
]

SERVICE = "transcribe"
STREAM_PATH = "/stream-transcription-websocket"
MEDICAL_STREAM_PATH = "/medical-stream-transcription-websocket"
MAX_EXPIRES = 300  # Transcribe refuses presigned URLs valid for longer

MEDIA_ENCODINGS = ("pcm", "ogg-opus", "flac")
STABILITY = ("low", "medium", "high")
FILTER_METHODS = ("remove", "mask", "tag")
MEDICAL_SPECIALTIES = ("PRIMARYCARE", "CARDIOLOGY", "NEUROLOGY", "ONCOLOGY", "RADIOLOGY", "UROLOGY")
MEDICAL_TYPES = ("CONVERSATION", "DICTATION")

_LANGUAGE_RE = re.compile(r"^[a-z]{2,3}-[A-Z]{2}$")
_NAME_RE = re.compile(r"^[0-9a-zA-Z._-]{1,200}$")
_REGION_RE = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d+$")


# --------------------------------------------------------------------------- URLs


def endpoint_for(region: str, *, medical: bool = False, fips: bool = False) -> str:
    """The streaming WebSocket endpoint of a region (China regions use amazonaws.com.cn)."""
    if not isinstance(region, str) or not _REGION_RE.match(region):
        raise ValueError(f"region {region!r} is not an AWS region name (e.g. us-west-2)")
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    host = f"transcribestreaming{'-fips' if fips else ''}.{region}.{suffix}"
    return f"wss://{host}:8443{MEDICAL_STREAM_PATH if medical else STREAM_PATH}"


def _language(what: str, value: str) -> str:
    if not isinstance(value, str) or not _LANGUAGE_RE.match(value):
        raise ValueError(f"{what} {value!r} is not a language code like en-US")
    return value


def _names(what: str, value: Union[str, Sequence[str]]) -> str:
    items = value.split(",") if isinstance(value, str) else list(value)
    if not items:
        raise ValueError(f"{what} is empty")
    for item in items:
        if not isinstance(item, str) or not _NAME_RE.match(item):
            raise ValueError(f"{what}: {item!r} is not a valid resource name")
    return ",".join(items)


def _choice(what: str, value: str, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise ValueError(f"{what} must be one of {', '.join(allowed)}; got {value!r}")
    return value


def _flag(what: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{what} must be True or False, got {value!r}")
    return value


def _audio_params(params: Dict[str, object], media_encoding: str, sample_rate: int,
                  number_of_channels: int, enable_channel_identification: bool,
                  show_speaker_label: bool, session_id: Optional[str]) -> None:
    params["media-encoding"] = _choice("media-encoding", media_encoding, MEDIA_ENCODINGS)
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int) or not 8000 <= sample_rate <= 48000:
        raise ValueError(f"sample-rate must be an int from 8000 to 48000 Hz, got {sample_rate!r}")
    params["sample-rate"] = sample_rate
    if number_of_channels not in (1, 2) or isinstance(number_of_channels, bool):
        raise ValueError(f"number-of-channels must be 1 or 2, got {number_of_channels!r}")
    if _flag("enable-channel-identification", enable_channel_identification):
        if number_of_channels != 2:
            raise ValueError("enable-channel-identification needs number-of-channels=2")
        params["enable-channel-identification"] = True
    if number_of_channels == 2:
        params["number-of-channels"] = 2
    if _flag("show-speaker-label", show_speaker_label):
        params["show-speaker-label"] = True
    if session_id is not None:
        try:
            params["session-id"] = str(uuid.UUID(str(session_id)))
        except ValueError:
            raise ValueError(f"session-id must be a UUID, got {session_id!r}") from None


def _url(endpoint: Optional[str], region: str, *, medical: bool, fips: bool) -> str:
    """The endpoint to sign: the regional one, or an override (its path defaults to the API's)."""
    if endpoint is None:
        return endpoint_for(region, medical=medical, fips=fips)
    parts = urlsplit(endpoint)
    if parts.scheme not in ("wss", "ws", "https", "http") or not parts.hostname:
        raise ValueError(f"endpoint {endpoint!r} must be a ws(s):// or http(s):// URL with a host")
    if parts.query or parts.fragment:
        raise ValueError(f"endpoint {endpoint!r} must not carry a query or fragment")
    if parts.path in ("", "/"):
        return endpoint.rstrip("/") + (MEDICAL_STREAM_PATH if medical else STREAM_PATH)
    return endpoint


def _sign(url: str, region: str, credentials: Credentials, params: Dict[str, object],
          expires: int, now: Optional[_dt.datetime]) -> str:
    if isinstance(expires, bool) or not isinstance(expires, int) or not 1 <= expires <= MAX_EXPIRES:
        raise ValueError(f"expires must be an int from 1 to {MAX_EXPIRES} seconds, got {expires!r}")
    return presign_url(url, service=SERVICE, region=region, credentials=credentials,
                       expires=expires, now=now, params=params)


def presigned_url(
    *,
    region: str,
    credentials: Credentials,
    language_code: Optional[str] = None,
    identify_language: bool = False,
    identify_multiple_languages: bool = False,
    language_options: Optional[Sequence[str]] = None,
    preferred_language: Optional[str] = None,
    media_encoding: str = "pcm",
    sample_rate: int = 16000,
    number_of_channels: int = 1,
    enable_channel_identification: bool = False,
    show_speaker_label: bool = False,
    enable_partial_results_stabilization: bool = False,
    partial_results_stability: Optional[str] = None,
    vocabulary_name: Optional[str] = None,
    vocabulary_names: Optional[Sequence[str]] = None,
    vocabulary_filter_name: Optional[str] = None,
    vocabulary_filter_names: Optional[Sequence[str]] = None,
    vocabulary_filter_method: Optional[str] = None,
    language_model_name: Optional[str] = None,
    content_identification_type: Optional[str] = None,
    content_redaction_type: Optional[str] = None,
    pii_entity_types: Union[str, Sequence[str], None] = None,
    session_id: Optional[str] = None,
    expires: int = MAX_EXPIRES,
    endpoint: Optional[str] = None,
    fips: bool = False,
    now: Optional[_dt.datetime] = None,
) -> str:
    """A presigned ``wss://`` URL that opens an Amazon Transcribe streaming session.

    Exactly one of ``language_code``, ``identify_language`` and
    ``identify_multiple_languages`` is required; the last two need at least two
    ``language_options``. ``endpoint`` overrides the regional endpoint (another
    partition, a VPC endpoint, a local test server); ``fips`` picks the FIPS one.

    Raises:
        ValueError: a value or combination Transcribe would refuse; the message names
            the query parameter.
    """
    params: Dict[str, object] = {}
    chosen = [n for n, on in (("language-code", language_code is not None),
                              ("identify-language", _flag("identify-language", identify_language)),
                              ("identify-multiple-languages",
                               _flag("identify-multiple-languages", identify_multiple_languages))) if on]
    if len(chosen) != 1:
        raise ValueError("give exactly one of language-code, identify-language and "
                         f"identify-multiple-languages (got {', '.join(chosen) or 'none'})")
    identifying = language_code is None
    if language_code is not None:
        params["language-code"] = _language("language-code", language_code)
    else:
        params[chosen[0]] = True
    options: List[str] = []
    if language_options is not None:
        if not identifying:
            raise ValueError("language-options goes with identify-language or identify-multiple-languages")
        options = [_language("language-options", o) for o in language_options]
        if len(options) < 2 or len(set(options)) != len(options):
            raise ValueError("language-options needs at least two different language codes")
        params["language-options"] = ",".join(options)
    elif identifying:
        raise ValueError(f"{chosen[0]} needs language-options (at least two language codes)")
    if preferred_language is not None:
        if preferred_language not in options:
            raise ValueError("preferred-language must be one of the language-options")
        params["preferred-language"] = preferred_language

    _audio_params(params, media_encoding, sample_rate, number_of_channels,
                  enable_channel_identification, show_speaker_label, session_id)

    if _flag("enable-partial-results-stabilization", enable_partial_results_stabilization):
        params["enable-partial-results-stabilization"] = True
    if partial_results_stability is not None:
        if not enable_partial_results_stabilization:
            raise ValueError("partial-results-stability needs enable-partial-results-stabilization")
        params["partial-results-stability"] = _choice("partial-results-stability",
                                                      partial_results_stability, STABILITY)

    for single, plural, value, values in (
        ("vocabulary-name", "vocabulary-names", vocabulary_name, vocabulary_names),
        ("vocabulary-filter-name", "vocabulary-filter-names", vocabulary_filter_name, vocabulary_filter_names),
    ):
        if value is not None and values is not None:
            raise ValueError(f"give {single} or {plural}, not both")
        if value is not None:
            params[single] = _names(single, value)
        if values is not None:
            if not identifying:
                raise ValueError(f"{plural} goes with language identification; use {single}")
            params[plural] = _names(plural, values)
    if vocabulary_filter_method is not None:
        if vocabulary_filter_name is None and vocabulary_filter_names is None:
            raise ValueError("vocabulary-filter-method needs vocabulary-filter-name(s)")
        params["vocabulary-filter-method"] = _choice("vocabulary-filter-method",
                                                     vocabulary_filter_method, FILTER_METHODS)
    if language_model_name is not None:
        if identifying:
            raise ValueError("language-model-name needs a fixed language-code")
        params["language-model-name"] = _names("language-model-name", language_model_name)

    if content_identification_type is not None and content_redaction_type is not None:
        raise ValueError("give content-identification-type or content-redaction-type, not both")
    for name, value in (("content-identification-type", content_identification_type),
                        ("content-redaction-type", content_redaction_type)):
        if value is not None:
            params[name] = _choice(name, value, ("PII",))
    if pii_entity_types is not None:
        if content_identification_type is None and content_redaction_type is None:
            raise ValueError("pii-entity-types needs content-identification-type or content-redaction-type")
        types = pii_entity_types.split(",") if isinstance(pii_entity_types, str) else list(pii_entity_types)
        for t in types:
            if not isinstance(t, str) or not re.match(r"^[A-Z_]{2,40}$", t):
                raise ValueError(f"pii-entity-types: {t!r} is not an entity type like NAME or ADDRESS")
        params["pii-entity-types"] = ",".join(types)

    return _sign(_url(endpoint, region, medical=False, fips=fips), region, credentials, params, expires, now)


def medical_presigned_url(
    *,
    region: str,
    credentials: Credentials,
    specialty: str,
    type: str,
    language_code: str = "en-US",
    media_encoding: str = "pcm",
    sample_rate: int = 16000,
    number_of_channels: int = 1,
    enable_channel_identification: bool = False,
    show_speaker_label: bool = False,
    vocabulary_name: Optional[str] = None,
    content_identification_type: Optional[str] = None,
    session_id: Optional[str] = None,
    expires: int = MAX_EXPIRES,
    endpoint: Optional[str] = None,
    fips: bool = False,
    now: Optional[_dt.datetime] = None,
) -> str:
    """A presigned URL for Amazon Transcribe Medical streaming (``specialty``, ``type``)."""
    if language_code != "en-US":
        raise ValueError(f"language-code must be en-US for Transcribe Medical, got {language_code!r}")
    params: Dict[str, object] = {
        "language-code": language_code,
        "specialty": _choice("specialty", specialty, MEDICAL_SPECIALTIES),
        "type": _choice("type", type, MEDICAL_TYPES),
    }
    _audio_params(params, media_encoding, sample_rate, number_of_channels,
                  enable_channel_identification, show_speaker_label, session_id)
    if vocabulary_name is not None:
        params["vocabulary-name"] = _names("vocabulary-name", vocabulary_name)
    if content_identification_type is not None:
        params["content-identification-type"] = _choice("content-identification-type",
                                                        content_identification_type, ("PHI",))
    return _sign(_url(endpoint, region, medical=True, fips=fips), region, credentials, params, expires, now)


# --------------------------------------------------------------------------- audio frames

AUDIO_HEADERS = {
    ":content-type": "application/octet-stream",
    ":event-type": "AudioEvent",
    ":message-type": "event",
}
_AUDIO = Encoder(AUDIO_HEADERS)


def audio_event(audio: Any) -> bytes:
    """One AudioEvent frame carrying ``audio`` (bytes-like PCM, Ogg Opus or FLAC)."""
    return _AUDIO.encode(audio)


END_OF_STREAM = _AUDIO.encode(b"")
"""The empty AudioEvent that tells Transcribe the audio is over."""


# --------------------------------------------------------------------------- server frames


@dataclass(frozen=True)
class Item:
    """One word or punctuation mark of an alternative."""

    content: str
    start_time: float
    end_time: float
    type: str
    confidence: Optional[float] = None
    speaker: Optional[str] = None
    stable: Optional[bool] = None
    vocabulary_filter_match: bool = False


@dataclass(frozen=True)
class Alternative:
    transcript: str
    items: Tuple[Item, ...] = ()
    entities: Tuple[Dict[str, Any], ...] = ()


@dataclass(frozen=True)
class Result:
    """One transcription result; partial results are revised until ``is_partial`` is False."""

    result_id: str
    start_time: float
    end_time: float
    is_partial: bool
    alternatives: Tuple[Alternative, ...]
    channel_id: Optional[str] = None
    language_code: Optional[str] = None

    @property
    def transcript(self) -> str:
        """The best alternative's text ("" if there is none)."""
        return self.alternatives[0].transcript if self.alternatives else ""


@dataclass(frozen=True)
class TranscriptEvent:
    """A TranscriptEvent frame: its results, and the JSON it came from."""

    results: Tuple[Result, ...]
    raw: Dict[str, Any] = field(repr=False, compare=False, default_factory=dict)


@dataclass(frozen=True)
class UnknownEvent:
    """An event this module does not model, handed over as it came."""

    event_type: str
    headers: Dict[str, Any]
    payload: bytes


class TranscribeError(Exception):
    """Base class: something the Transcribe stream reported or did wrong."""


class TranscribeServiceError(TranscribeError):
    """An ``exception`` frame from the service. ``exception_type`` and ``message`` say what."""

    exception_type = ""

    def __init__(self, message: str, exception_type: Optional[str] = None) -> None:
        super().__init__(message)
        self.message = message
        if exception_type is not None:
            self.exception_type = exception_type

    def __str__(self) -> str:
        return f"{self.exception_type}: {self.message}"


class BadRequestException(TranscribeServiceError):
    exception_type = "BadRequestException"


class LimitExceededException(TranscribeServiceError):
    exception_type = "LimitExceededException"


class InternalFailureException(TranscribeServiceError):
    exception_type = "InternalFailureException"


class ConflictException(TranscribeServiceError):
    exception_type = "ConflictException"


class ServiceUnavailableException(TranscribeServiceError):
    exception_type = "ServiceUnavailableException"


class UnknownServiceException(TranscribeServiceError):
    """An ``exception`` frame of a type this module does not know; ``exception_type`` names it."""


class TranscribeErrorFrame(TranscribeError):
    """An ``error`` frame (``:error-code``, ``:error-message``)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class TranscribeProtocolError(TranscribeError):
    """A frame that is valid event-stream but not a Transcribe message we can read."""


_EXCEPTIONS = {cls.exception_type: cls for cls in (
    BadRequestException, LimitExceededException, InternalFailureException,
    ConflictException, ServiceUnavailableException)}


def _text(headers: Dict[str, Any], name: str) -> Optional[str]:
    value = headers.get(name)
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _json(payload: bytes, what: str) -> Any:
    try:
        return json.loads(payload)
    except ValueError as exc:
        raise TranscribeProtocolError(f"{what} payload is not JSON: {exc}") from None


def _service_message(payload: bytes) -> str:
    try:
        body = json.loads(payload)
    except ValueError:
        return payload.decode("utf-8", "replace")
    if isinstance(body, dict):
        for key in ("Message", "message"):
            if isinstance(body.get(key), str):
                return body[key]
    return payload.decode("utf-8", "replace")


def _item(raw: Dict[str, Any]) -> Item:
    return Item(
        content=raw.get("Content", ""), start_time=float(raw.get("StartTime", 0.0)),
        end_time=float(raw.get("EndTime", 0.0)), type=raw.get("Type", ""),
        confidence=raw.get("Confidence"), speaker=raw.get("Speaker"), stable=raw.get("Stable"),
        vocabulary_filter_match=bool(raw.get("VocabularyFilterMatch", False)),
    )


def _transcript_event(body: Any) -> TranscriptEvent:
    try:
        results = tuple(
            Result(
                result_id=r.get("ResultId", ""), start_time=float(r.get("StartTime", 0.0)),
                end_time=float(r.get("EndTime", 0.0)), is_partial=bool(r.get("IsPartial", False)),
                alternatives=tuple(
                    Alternative(transcript=a.get("Transcript", ""),
                                items=tuple(_item(i) for i in a.get("Items", ())),
                                entities=tuple(a.get("Entities", ())))
                    for a in r.get("Alternatives", ())
                ),
                channel_id=r.get("ChannelId"), language_code=r.get("LanguageCode"),
            )
            for r in body["Transcript"]["Results"]
        )
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise TranscribeProtocolError(f"TranscriptEvent has an unexpected shape: {exc!r}") from None
    return TranscriptEvent(results, body)


def parse_message(message: Message) -> Union[TranscriptEvent, UnknownEvent]:
    """Turn one decoded server frame into a result, or raise the error it carries.

    Raises:
        TranscribeServiceError: an ``exception`` frame (the subclass named by ``:exception-type``).
        TranscribeErrorFrame: an ``error`` frame.
        TranscribeProtocolError: a frame without a known ``:message-type``, or a bad body.
    """
    headers = message.headers
    kind = _text(headers, ":message-type")
    if kind == "event":
        event_type = _text(headers, ":event-type")
        if event_type == "TranscriptEvent":
            return _transcript_event(_json(message.payload, "TranscriptEvent"))
        return UnknownEvent(event_type or "", dict(headers), message.payload)
    if kind == "exception":
        exception_type = _text(headers, ":exception-type") or "UnknownException"
        text = _service_message(message.payload)
        cls = _EXCEPTIONS.get(exception_type)
        if cls is None:
            raise UnknownServiceException(text, exception_type)
        raise cls(text)
    if kind == "error":
        raise TranscribeErrorFrame(_text(headers, ":error-code") or "UnknownError",
                                   _text(headers, ":error-message") or "")
    raise TranscribeProtocolError(f"frame has :message-type {kind!r}; expected event, exception or error")


class TranscriptStream:
    """Sans-IO reader of a Transcribe result stream: bytes in, events out, errors raised.

    Example::

        stream = TranscriptStream()
        async for chunk in websocket:
            for event in stream.feed(chunk):
                ...
    """

    def __init__(self, *, max_frame: Optional[int] = None) -> None:
        self._decoder = Decoder() if max_frame is None else Decoder(max_frame=max_frame)

    def feed(self, data: Any) -> List[Union[TranscriptEvent, UnknownEvent]]:
        """Decode ``data`` and return its events, in order.

        Raises:
            EventStreamError: the bytes are corrupt.
            TranscribeError: a frame carried an error; ``exc.events`` holds the events that
                came before it in the same chunk.
        """
        events: List[Union[TranscriptEvent, UnknownEvent]] = []
        for message in self._decoder.feed(data):
            try:
                events.append(parse_message(message))
            except TranscribeError as exc:
                exc.events = events  # type: ignore[attr-defined]
                raise
        return events

    def close(self) -> None:
        """End of stream: raises FrameError if it was cut inside a frame."""
        self._decoder.close()


# --------------------------------------------------------------------------- async client


class TranscribeHandshakeError(TranscribeError):
    """The WebSocket handshake was refused (``status``, ``body``), e.g. an expired URL."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"handshake refused with HTTP {status}: {body.strip()}")
        self.status = status
        self.body = body


class TranscribeAuthError(TranscribeHandshakeError):
    """HTTP 403: the presigned URL's signature, scope or expiry was not accepted."""


class TranscribeConnectionError(TranscribeError):
    """The connection dropped without a clean close."""


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
            try:
                data = await ws.recv()
            except ConnectionClosedOK:
                self._stream.close()  # FrameError if the stream was cut inside a frame
                raise StopAsyncIteration from None
            except ConnectionClosedError as exc:
                raise TranscribeConnectionError(f"the connection dropped: {exc}") from None
            if isinstance(data, str):
                raise TranscribeProtocolError("a text message on an event stream")
            self._pending.extend(self._stream.feed(data))
        return self._pending.pop(0)

    async def _finish(self, timeout: float, keep: bool) -> None:
        """End the audio, read what the service still sends until it closes, then close."""
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
