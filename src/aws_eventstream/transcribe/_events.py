"""The events of a Transcribe stream, sans I/O: AudioEvent frames out, results in.

:func:`audio_event` and :data:`END_OF_STREAM` are what a client sends;
:func:`parse_message` and :class:`TranscriptStream` turn what the service sends into
typed results, and its ``exception`` / ``error`` frames into typed errors. Nothing is
dropped silently.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple, Union

from .. import Decoder, Encoder, EventStreamError, Message, _shapes
from .._common import BOOL, FLOAT, LIST, NULL, RECORD, REQUIRED, STR, ShapeError
from ._errors import TranscribeError, TranscribeErrorFrame, TranscribeProtocolError, service_error

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


_M = "aws_eventstream.transcribe"
_F = _shapes.Field

Item = _shapes.model("Item", _M, "One word or punctuation mark of an alternative.", [
    _F("content", "Content", STR, ""),
    _F("start_time", "StartTime", FLOAT, 0.0),
    _F("end_time", "EndTime", FLOAT, 0.0),
    _F("type", "Type", STR, ""),
    _F("confidence", "Confidence", FLOAT | NULL, None),
    _F("speaker", "Speaker", STR | NULL, None),
    _F("stable", "Stable", BOOL | NULL, None),
    _F("vocabulary_filter_match", "VocabularyFilterMatch", BOOL, False),
])
Entity = _shapes.model(
    "Entity", _M, "Personal (PII) or medical information found in an alternative, and where it is.", [
        _F("start_time", "StartTime", FLOAT, 0.0),
        _F("end_time", "EndTime", FLOAT, 0.0),
        _F("category", "Category", STR | NULL, None),
        _F("type", "Type", STR | NULL, None),
        _F("content", "Content", STR | NULL, None),
        _F("confidence", "Confidence", FLOAT | NULL, None),
    ])
LanguageWithScore = _shapes.model("LanguageWithScore", _M, "One language identified, with its score.", [
    _F("language_code", "LanguageCode", STR | NULL, None),
    _F("score", "Score", FLOAT | NULL, None),
])
Alternative = _shapes.model("Alternative", _M, "One transcription of a result: its text, words and entities.", [
    _F("transcript", "Transcript", STR, ""),
    _F("items", "Items", LIST, (), Item),
    _F("entities", "Entities", LIST, (), Entity),
])
Result = _shapes.model(
    "Result", _M, "One transcription result; partial results are revised until ``is_partial`` is False.", [
        _F("result_id", "ResultId", STR, ""),
        _F("start_time", "StartTime", FLOAT, 0.0),
        _F("end_time", "EndTime", FLOAT, 0.0),
        _F("is_partial", "IsPartial", BOOL, False),
        _F("alternatives", "Alternatives", LIST, (), Alternative),
        _F("channel_id", "ChannelId", STR | NULL, None),
        _F("language_code", "LanguageCode", STR | NULL, None),
        _F("language_identification", "LanguageIdentification", LIST, (), LanguageWithScore),
    ])
Result.transcript = property(  # a Struct's class takes attributes after its creation, as a record's does
    lambda self: self.alternatives[0].transcript if self.alternatives else "",
    doc="The best alternative's text (\"\" if there is none).")
_Transcript = _shapes.model("_Transcript", _M, "", [_F("results", "Results", LIST, (), Result)])
_Body = _shapes.model("_Body", _M, "", [_F("transcript", "Transcript", RECORD, REQUIRED, _Transcript)])
_BODY = _shapes.JsonType(_Body)


class TranscriptEvent(tuple):  # type: ignore[type-arg]
    """A TranscriptEvent frame: its results (the same for the standard and the medical API).

    ``raw`` is the JSON it came from, decoded anew at each access.
    """

    __slots__ = ()

    def __new__(cls, results: Tuple[Any, ...] = (), raw: Any = None) -> "TranscriptEvent":
        return tuple.__new__(cls, (tuple(results), {} if raw is None else raw))

    @property
    def results(self) -> Tuple[Any, ...]:
        return tuple.__getitem__(self, 0)

    @property
    def raw(self) -> Any:
        """The event's JSON body, as ``json.loads`` gives it."""
        raw = tuple.__getitem__(self, 1)
        return json.loads(raw) if type(raw) is bytes else raw

    def __repr__(self) -> str:
        return f"TranscriptEvent(results={self.results!r})"

    def __eq__(self, other: Any) -> bool:
        if type(other) is not TranscriptEvent:
            return NotImplemented
        return self.results == other.results

    def __ne__(self, other: Any) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __hash__(self) -> int:
        return hash(self.results)

    def __reduce__(self) -> Any:
        return (TranscriptEvent, (self.results, self.raw))


@dataclass(frozen=True)
class UnknownEvent:
    """An event this module does not model, handed over as it came."""

    event_type: str
    headers: Dict[str, Any]
    payload: bytes


def _text(headers: Dict[str, Any], name: str) -> Optional[str]:
    value = headers.get(name)
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _service_message(payload: bytes) -> str:
    try:
        body = json.loads(payload)
    except (ValueError, RecursionError):
        return payload.decode("utf-8", "replace")
    if isinstance(body, dict):
        for key in ("Message", "message"):
            message = body.get(key)
            if isinstance(message, str):
                return message
    return payload.decode("utf-8", "replace")


def transcript_event(payload: bytes) -> TranscriptEvent:
    """The typed TranscriptEvent of a frame's JSON ``payload``.

    Raises:
        TranscribeProtocolError: the payload is not JSON, or not a TranscriptEvent's shape
            (the message says which field, and what is wrong with it).
    """
    if type(payload) is not bytes:
        payload = memoryview(payload).tobytes()  # TypeError for what is not bytes-like
    try:
        body = _BODY.decode(payload)
    except ShapeError as exc:
        raise TranscribeProtocolError(exc.describe("TranscriptEvent")) from None
    return _new(TranscriptEvent, (body.transcript.results, payload))


_new = tuple.__new__


def parse_message(message: Message) -> Union[TranscriptEvent, UnknownEvent]:
    """Turn one decoded server frame into a result, or raise the error it carries.

    Raises:
        TranscribeServiceError: an ``exception`` frame (the subclass named by ``:exception-type``).
        TranscribeErrorFrame: an ``error`` frame.
        TranscribeProtocolError: a frame without a known ``:message-type``, or a bad body.
    """
    headers = message.headers
    payload = message.payload
    if _shapes._fast and headers.get(":event-type") == "TranscriptEvent" and headers.get(":message-type") == "event" \
            and type(payload) is bytes and (payload.isascii() and len(payload) <= _shapes.int_limit()
                                            or _shapes.msgspec_may(payload)):
        try:  # the common case, in short: _BODY.decode's first step, inline on this hot path
            return _new(TranscriptEvent, (_BODY.decode_fast(payload).transcript.results, payload))
        except Exception:  # noqa: BLE001 - the long way decides
            pass
    kind = headers.get(":message-type")
    if type(kind) is not str:
        kind = _text(headers, ":message-type")
    if kind == "event":
        event_type = headers.get(":event-type")
        if type(event_type) is not str:
            event_type = _text(headers, ":event-type")
        if event_type == "TranscriptEvent":
            return transcript_event(message.payload)
        return UnknownEvent(event_type or "", dict(headers), message.payload)
    if kind == "exception":
        raise service_error(_text(headers, ":exception-type") or "UnknownException",
                            _service_message(message.payload))
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
            EventStreamError: the bytes are corrupt; ``exc.events`` holds the events of the
                frames before the corrupt one in the same chunk.
            TranscribeError: a frame carried an error; ``exc.events`` holds the events that
                came before it in the same chunk.
        """
        events: List[Union[TranscriptEvent, UnknownEvent]] = []
        broken: Optional[EventStreamError] = None
        try:
            messages = self._decoder.feed(data)
        except EventStreamError as exc:  # the frames before the corrupt one still count
            messages, broken = list(exc.messages), exc
        for message in messages:
            try:
                events.append(parse_message(message))
            except TranscribeError as exc:
                exc.events = events  # type: ignore[attr-defined]
                raise
        if broken is not None:
            broken.events = events  # type: ignore[attr-defined]
            raise broken
        return events

    def take(self, data: Any, pending: List[Union[TranscriptEvent, UnknownEvent]]) -> Optional[BaseException]:
        """Feed ``data``; its events go to ``pending``, those before an error too. Returns the
        error (raise it once the events before it are handed out), or None."""
        try:
            pending.extend(self.feed(data))
        except (TranscribeError, EventStreamError) as exc:
            pending.extend(getattr(exc, "events", ()))
            return exc
        return None

    def close(self) -> None:
        """End of stream: raises FrameError if it was cut inside a frame."""
        self._decoder.close()
