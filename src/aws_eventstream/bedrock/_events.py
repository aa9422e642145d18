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

from .. import MAX_FRAME, Decoder, Encoder, EventStreamError, Message
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


def chunk_bytes(message: Message) -> bytes:
    """The model's event bytes a ``chunk`` message carries.

    Raises:
        BedrockProtocolError: the body is not ``{"bytes": "<base64>"}``.
    """
    try:
        body = json.loads(message.payload)
        return base64.b64decode(body["bytes"], validate=True)
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
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
        return json.loads(raw)
    except ValueError as exc:
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
        except ValueError:
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
    With ``raw=True`` the events are the bytes the model sent (its JSON, not parsed).
    """

    def __init__(self, max_frame: int = MAX_FRAME, *, raw: bool = False) -> None:
        self._decoder = Decoder(max_frame=max_frame)
        self._parse: Callable[[Message], Any] = message_bytes if raw else parse_message
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
