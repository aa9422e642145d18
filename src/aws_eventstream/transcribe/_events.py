"""The events of a Transcribe stream, sans I/O: AudioEvent frames out, results in.

:func:`audio_event` and :data:`END_OF_STREAM` are what a client sends;
:func:`parse_message` and :class:`TranscriptStream` turn what the service sends into
typed results, and its ``exception`` / ``error`` frames into typed errors. Nothing is
dropped silently.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple, Union

from .. import Decoder, Encoder, EventStreamError, Message
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
            message = body.get(key)
            if isinstance(message, str):
                return message
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
