"""The events of ``InvokeModelWithBidirectionalStream``, sans-IO.

Both ways an event is a ``chunk``: a JSON body ``{"bytes": "<base64>"}`` (the model's
``BidirectionalInputPayloadPart`` / ``BidirectionalOutputPayloadPart``, whose one member
is a blob), the bytes being the model's own JSON event (Nova Sonic's ``{"event": {...}}``).
The service's modeled exceptions come as ``exception`` messages named by their member
(``modelStreamErrorException``), and failures of the stream as ``error`` messages.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, Callable, Dict, List, Optional

from .. import MAX_FRAME, Decoder, Encoder, EventStreamError, Message, _shapes
from .._common import ANY, BASE64, INT, NULL, OBJECT, STR, ShapeError
from ._errors import BedrockErrorFrame, BedrockProtocolError, service_error

# In the order the smithy SDKs write them (aws-sdk-bedrock-runtime: the same frame, byte for byte)
CHUNK_HEADERS = {":message-type": "event", ":event-type": "chunk", ":content-type": "application/json"}
_CHUNK = Encoder(CHUNK_HEADERS)


def chunk_frame(event: Any) -> bytes:
    """The ``chunk`` frame that carries ``event`` (any JSON-serialisable value) to or from the model.

    Raises:
        TypeError, ValueError: ``event`` cannot be written as JSON (NaN and Infinity included).
    """
    raw = json.dumps(event, separators=(",", ":"), allow_nan=False).encode("utf-8")
    return chunk_frame_of_bytes(raw)


def chunk_frame_of_bytes(raw: bytes) -> bytes:
    """The ``chunk`` frame around ``raw`` bytes (the model's event, already serialised)."""
    return _CHUNK.encode(b'{"bytes":"' + base64.b64encode(raw) + b'"}')


_BYTES_OPEN, _BYTES_CLOSE = b'{"bytes":"', b'"}'


def chunk_bytes(message: Message) -> bytes:
    """The model's event bytes a ``chunk`` message carries.

    Raises:
        BedrockProtocolError: the body is not ``{"bytes": "<base64>"}``.
    """
    payload = message.payload
    if type(payload) is bytes and len(payload) >= 12 and payload.startswith(_BYTES_OPEN) \
            and payload.endswith(_BYTES_CLOSE):
        try:  # the body as the service writes it: no JSON to parse (base64 has no quote or escape)
            return _shapes._twin.b64decode(payload[10:-2])  # type: ignore[no-any-return]
        except (binascii.Error, ValueError):
            pass  # json.loads says what it is
    try:
        body = json.loads(message.payload)
        return _shapes._twin.b64decode(body["bytes"])  # type: ignore[no-any-return]
    except (ValueError, KeyError, TypeError, binascii.Error, RecursionError) as exc:
        raise BedrockProtocolError(f"a chunk event whose body is not {{\"bytes\": base64}}: {exc}") from None


def parse_message(message: Message) -> Any:
    """The model's event a message carries (decoded JSON), or the error it reports, raised.

    Raises:
        BedrockServiceError: an ``exception`` message (its subclass: ``ValidationException``...).
        BedrockErrorFrame: an ``error`` message.
        BedrockProtocolError: anything else that is not a ``chunk`` of JSON.
    """
    raw = message_bytes(message)
    try:
        return _shapes.loads(raw)  # json.loads's value (msgspec's speed when installed)
    except (ValueError, RecursionError) as exc:
        raise BedrockProtocolError(f"a chunk whose bytes are not JSON: {exc}") from None


def message_bytes(message: Message) -> bytes:
    """The model's event bytes a ``chunk`` message carries (not parsed), or the error it reports, raised.

    Raises:
        BedrockServiceError: an ``exception`` message (its subclass: ``ValidationException``...).
        BedrockErrorFrame: an ``error`` message.
        BedrockProtocolError: anything else that is not a ``chunk``.
    """
    headers = message.headers
    kind = headers.get(":message-type")
    if kind == "exception":
        name = str(headers.get(":exception-type", ""))
        try:
            body = json.loads(message.payload) if message.payload else {}
        except (ValueError, RecursionError):
            body = {}
        text = body.get("message", body.get("Message", "")) if isinstance(body, dict) else ""
        raise service_error(name, str(text))
    if kind == "error":
        raise BedrockErrorFrame(str(headers.get(":error-code", "")), str(headers.get(":error-message", "")))
    if kind != "event" or headers.get(":event-type") != "chunk":
        raise BedrockProtocolError(f"an event that is not a chunk: {kind!r} {headers.get(':event-type')!r}")
    return chunk_bytes(message)


class ChunkStream:
    """Bytes of the response in, the model's events out (sans-IO): ``feed`` and ``close``.

    An error the stream reports is raised from :meth:`feed` after the events before it,
    which are kept: the next call to :meth:`feed` (even with no bytes) gives them first.
    With ``raw=True`` the events are the bytes the model sent (its JSON, not parsed); with
    ``typed=True`` they are typed (:func:`parse_event`).
    """

    def __init__(self, max_frame: int = MAX_FRAME, *, raw: bool = False, typed: bool = False) -> None:
        if raw and typed:
            raise ValueError("raw and typed cannot both be asked for")
        self._decoder = Decoder(max_frame=max_frame)
        self._parse: Callable[[Message], Any] = message_bytes if raw else parse_typed if typed else parse_message
        self._messages: List[Message] = []
        self._broken: Optional[EventStreamError] = None  # the framing failed after _messages

    @property
    def held(self) -> bool:
        """True when frames already decoded (or an error) wait for the next :meth:`feed`."""
        return bool(self._messages) or self._broken is not None

    def feed(self, data: bytes) -> List[Dict[str, Any]]:
        """The model's events completed by ``data``, in order."""
        if self._broken is None:
            try:
                self._messages.extend(self._decoder.feed(data))
            except EventStreamError as exc:  # the frames before the bad one still count
                self._messages.extend(exc.messages)
                self._broken = exc
        out: List[Any] = []
        while self._messages:
            message = self._messages[0]
            try:
                event = self._parse(message)
            except Exception:
                del self._messages[0]
                if out:  # the events before the error first; the error on the next call
                    self._messages.insert(0, message)
                    return out
                raise
            del self._messages[0]
            out.append(event)
        if not out and self._broken is not None:
            raise self._broken
        return out

    def close(self) -> None:
        """The end of the response: a frame cut short raises ``FrameError``."""
        self._decoder.close()


# --------------------------------------------------------------------------- typed output events

_M = "aws_eventstream.bedrock"
_F = _shapes.Field


def _ids(*more: Any) -> List[Any]:
    """The fields every Nova Sonic output event has, then ``more``."""
    return [_F("session_id", "sessionId", STR | NULL, None), _F("prompt_name", "promptName", STR | NULL, None),
            _F("completion_id", "completionId", STR | NULL, None), *more]


_CONTENT_ID = _F("content_id", "contentId", STR | NULL, None)

CompletionStart = _shapes.model("CompletionStart", _M, "``completionStart``: the model begins its answer.", _ids())
ContentStart = _shapes.model(
    "ContentStart", _M, "``contentStart``: a block of text, audio or tool use begins (``type``, ``role``).", _ids(
        _CONTENT_ID, _F("type", "type", STR | NULL, None), _F("role", "role", STR | NULL, None),
        _F("additional_model_fields", "additionalModelFields", STR | NULL, None),
        _F("text_output_configuration", "textOutputConfiguration", OBJECT | NULL, None),
        _F("audio_output_configuration", "audioOutputConfiguration", OBJECT | NULL, None),
        _F("tool_use_output_configuration", "toolUseOutputConfiguration", OBJECT | NULL, None)))
TextOutput = _shapes.model("TextOutput", _M, "``textOutput``: text (the user's transcript or the model's words).",
                           _ids(_CONTENT_ID, _F("content", "content", STR, ""), _F("role", "role", STR | NULL, None)))
AudioOutput = _shapes.model("AudioOutput", _M, "``audioOutput``: the model's speech, ``audio`` decoded from base64.",
                            _ids(_CONTENT_ID, _F("audio", "content", BASE64, b"")))
ToolUse = _shapes.model("ToolUse", _M, "``toolUse``: the model asks for a tool (``content``: its input, as JSON text).",
                        _ids(_CONTENT_ID, _F("tool_name", "toolName", STR | NULL, None),
                             _F("tool_use_id", "toolUseId", STR | NULL, None), _F("content", "content", STR, "")))
ContentEnd = _shapes.model("ContentEnd", _M, "``contentEnd``: a block ends (``stop_reason``).",
                           _ids(_CONTENT_ID, _F("type", "type", STR | NULL, None),
                                _F("stop_reason", "stopReason", STR | NULL, None)))
CompletionEnd = _shapes.model("CompletionEnd", _M, "``completionEnd``: the answer is over (``stop_reason``).",
                              _ids(_F("stop_reason", "stopReason", STR | NULL, None)))
UsageEvent = _shapes.model("UsageEvent", _M, "``usageEvent``: tokens used so far (``details``: the breakdown).", _ids(
    _F("total_input_tokens", "totalInputTokens", INT | NULL, None),
    _F("total_output_tokens", "totalOutputTokens", INT | NULL, None),
    _F("total_tokens", "totalTokens", INT | NULL, None), _F("details", "details", OBJECT | NULL, None)))
OtherEvent = _shapes.model("OtherEvent", _M, "An event this module does not model: its name and JSON body.",
                           [_F("name", "name", STR, ""), _F("body", "body", ANY, None)])

#: The typed class of each output event, by its name.
OUTPUT_EVENTS: Dict[str, Any] = {
    "completionStart": CompletionStart, "contentStart": ContentStart, "textOutput": TextOutput,
    "audioOutput": AudioOutput, "toolUse": ToolUse, "contentEnd": ContentEnd, "completionEnd": CompletionEnd,
    "usageEvent": UsageEvent,
}
_KINDS = {name: _shapes.JsonType(cls) for name, cls in OUTPUT_EVENTS.items()}
_ENVELOPE = _shapes.envelope_decoder()  # msgspec: {"event": {name: <undecoded JSON>}}, or None


def parse_event(raw: Any) -> Any:
    """The typed event of a model event's JSON bytes (``{"event": {name: {...}}}``): one of
    :data:`OUTPUT_EVENTS`' classes, or :class:`OtherEvent` for any other name.

    Raises:
        BedrockProtocolError: not JSON, not that shape, or a field of the wrong type (the
            message names the event and the field).
    """
    if _shapes._fast and _ENVELOPE is not None and _shapes.msgspec_may(raw):
        try:
            ((name, body),) = _ENVELOPE(raw).event.items()
            kind = _KINDS.get(name)
            if kind is not None:
                return kind.decode_fast(body)
        except Exception:  # noqa: BLE001 - the long way decides, and says what is wrong
            pass
    try:
        value = _shapes.loads_std(raw)
    except ShapeError as exc:
        raise BedrockProtocolError(exc.describe("a model event")) from None
    inner = value.get("event") if type(value) is dict else None
    if type(inner) is not dict or len(inner) != 1:
        raise BedrockProtocolError('a model event that is not {"event": {name: {...}}}')
    ((name, body),) = inner.items()
    kind = _KINDS.get(name)
    if kind is None:
        return OtherEvent(name, body)
    try:
        return _shapes._build(kind.plan, body)
    except ShapeError as exc:
        raise BedrockProtocolError(exc.describe(name)) from None


def parse_typed(message: Message) -> Any:
    """The typed event a ``chunk`` message carries (:func:`parse_event`), or the error it reports, raised."""
    return parse_event(message_bytes(message))
