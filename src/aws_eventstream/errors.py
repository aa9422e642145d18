"""Errors raised by the event-stream codec, and the one place their messages are written.

Every error about bad input is an :class:`EventStreamError`, which is a
:class:`ValueError`, so callers that already catch ``ValueError`` keep working.

Below the classes, one private function per failure builds its error: both codec twins
raise through them (only when raising, never on a hot path), so each text exists once
and the twins cannot drift apart.
"""

from __future__ import annotations

from typing import Any, List, Tuple, Union

from ._types import MAX_FRAME, MAX_HEADER_VALUE, MAX_HEADERS

__all__ = ["EventStreamError", "ChecksumError", "FrameError", "HeaderError", "SignatureError"]


class EventStreamError(ValueError):
    """Base class: the bytes are not a valid event-stream frame (or cannot be made one).

    When :meth:`Decoder.feed` fails part-way through a chunk, ``messages`` holds the
    complete frames it decoded from that chunk before the bad one, so that no good
    frame is lost with the error.
    """

    messages: Union[List[Any], Tuple[Any, ...]] = ()


class ChecksumError(EventStreamError):
    """A prelude or message CRC-32 does not match the bytes it covers.

    Attributes:
        kind: ``"prelude"`` or ``"message"``.
        expected: the CRC carried by the frame.
        actual: the CRC computed over the bytes received.
        offset: byte offset of the frame's first byte (in the stream, for a Decoder).
    """

    def __init__(self, kind: str, expected: int, actual: int, offset: int = 0) -> None:
        self.kind = kind
        self.expected = expected
        self.actual = actual
        self.offset = offset
        super().__init__(
            f"{kind.capitalize()} checksum mismatch in the frame at byte {offset}: "
            f"the frame carries 0x{expected:08x}, its bytes give 0x{actual:08x}"
        )

    def __reduce__(self) -> Tuple[Any, Tuple[str, int, int, int]]:  # multiprocessing, logging handlers
        return (type(self), (self.kind, self.expected, self.actual, self.offset))


class FrameError(EventStreamError):
    """The frame's framing is wrong: truncated, trailing bytes, lengths that disagree, too large."""


class HeaderError(EventStreamError):
    """A header cannot be decoded or encoded: bad type byte, bad UTF-8, bad name, too long."""


class SignatureError(EventStreamError):
    """A SigV4 signature does not verify: a presigned URL or a signed event-stream envelope.

    The message says which check failed (signature, scope, expiry, clock skew, chain order).
    """


# --------------------------------------------------------------------------- arguments

_SHOWN_BITS = 128  # larger integers are described by size: str() of a huge int can fail


def _shown(value: int) -> str:
    if int.bit_length(value) > _SHOWN_BITS:
        return f"a {int.bit_length(value)}-bit integer"
    return int.__repr__(value)


def _not_bytes_like(what: str, obj: Any) -> TypeError:
    if issubclass(type(obj), str):
        return TypeError(f"{what} must be a bytes-like object, not str (encode it first)")
    return TypeError(f"{what} must be a bytes-like object, not {type(obj).__name__}")


def _not_contiguous(what: str) -> TypeError:
    return TypeError(f"{what} must be a C-contiguous bytes-like object")


def _unusable_buffer(what: str, exc: BaseException) -> ValueError:
    return ValueError(f"{what}: {exc}")  # a released memoryview, say


def _not_int(what: str, value: Any) -> TypeError:
    return TypeError(f"{what} must be an int, not {type(value).__name__}")


def _out_of_bounds(what: str, value: int, low: int, high: int) -> ValueError:
    return ValueError(f"{what} must be in {low}..{high}, got {_shown(value)}")


def _not_initialised(what: str) -> ValueError:
    """What every method of an object whose ``__init__`` never ran raises."""
    return ValueError(f"this {what} was never initialised: create it by calling {what}(...)")


def _reentered(what: str) -> RuntimeError:
    """A Decoder used from two places at once."""
    return RuntimeError(
        f"Decoder.{what}() while another call on the same decoder runs: one decoder serves one stream at a time"
    )


def _not_picklable() -> TypeError:
    return TypeError("a Decoder is tied to one live stream and cannot be pickled or copied")


# --------------------------------------------------------------------------- encoding


def _name_not_str(name: Any) -> HeaderError:
    return HeaderError(f"header name {name!r} must be str, not {type(name).__name__}")


def _name_not_encodable(name: Any, reason: str) -> HeaderError:
    return HeaderError(f"header name {name!r} is not encodable as UTF-8 ({reason})")


def _name_length(name: Any, n: int) -> HeaderError:
    return HeaderError(f"header name {name!r} is {n} bytes; it must be 1..255")


def _value_not_encodable(name: Any, reason: str) -> HeaderError:
    return HeaderError(f"header {name!r}: value is not encodable as UTF-8 ({reason})")


def _value_too_long(name: Any, n: int) -> HeaderError:
    return HeaderError(f"header {name!r}: value is {n} bytes, over the limit of {MAX_HEADER_VALUE}")


def _value_unusable(name: Any, exc: BaseException) -> HeaderError:
    """A value whose own conversion failed (a datetime's tzinfo, a released view)."""
    return HeaderError(f"header {name!r}: {exc}")


def _cannot_encode(name: Any, value: Any) -> HeaderError:
    return HeaderError(f"header {name!r}: a value of type {type(value).__name__} cannot be encoded")


def _bad_uuid(name: Any, value: Any, raw: Any = None, failure: Any = None) -> HeaderError:
    what = type(value).__name__
    if failure is not None:
        return HeaderError(f"header {name!r}: {what}.bytes failed ({type(failure).__name__})")
    if type(raw) is not bytes:
        return HeaderError(f"header {name!r}: {what}.bytes is a {type(raw).__name__}, not bytes")
    return HeaderError(f"header {name!r}: {what}.bytes is {len(raw)} bytes, not 16")


def _out_of_range(name: Any, value: int) -> HeaderError:
    """A fixed-width value outside its wire type's range."""
    return HeaderError(
        f"header {name!r}: {type(value).__name__}({_shown(value)}) is out of range for its wire type"
    )


def _too_big(name: Any, value: int) -> HeaderError:
    """A plain int that fits in neither 32 nor 64 bits."""
    return HeaderError(f"header {name!r}: integer {_shown(value)} does not fit in 64 bits")


def _duplicate_name(name: Any) -> HeaderError:
    """Two headers whose names encode to the same bytes."""
    return HeaderError(f"header {name!r}: duplicate header name")


def _block_too_long(name: Any) -> HeaderError:
    return HeaderError(f"header block is over the limit of {MAX_HEADERS} bytes at header {name!r}")


def _frame_too_long(total: int) -> FrameError:
    return FrameError(f"frame would be {total} bytes, over the limit of {MAX_FRAME}")


# --------------------------------------------------------------------------- decoding


def _truncated_prelude(n: int) -> FrameError:
    return FrameError(f"truncated frame: {n} bytes, the prelude alone is 12")


def _truncated(n: int, total: int) -> FrameError:
    return FrameError(f"truncated frame: {n} bytes of the {total} its prelude announces")


def _trailing(n: int, total: int) -> FrameError:
    return FrameError(f"trailing bytes: {n - total} after the {total}-byte frame")


def _stream_cut(offset: int, have: int, need: int) -> FrameError:
    """The stream ended inside a frame (``need`` 0: inside its prelude)."""
    want, what = (need, "frame") if need else (12, "prelude")
    return FrameError(f"stream ended inside the frame at byte {offset}: {have} of its {want} {what} bytes arrived")


def _under_minimum(offset: int, total: int) -> FrameError:
    return FrameError(f"frame at byte {offset}: total length {total} is under the minimum of 16")


def _over_limit(offset: int, total: int, limit: int) -> FrameError:
    return FrameError(f"frame at byte {offset}: total length {total} is over the limit of {limit}")


def _headers_do_not_fit(offset: int, hlen: int, total: int) -> FrameError:
    return FrameError(f"frame at byte {offset}: headers length {hlen} does not fit in total length {total}")


def _headers_over_limit(offset: int, hlen: int, limit: int) -> HeaderError:
    return HeaderError(f"frame at byte {offset}: headers length {hlen} is over the limit of {limit}")


def _payload_over_limit(offset: int, plen: int, limit: int) -> FrameError:
    return FrameError(f"frame at byte {offset}: payload length {plen} is over the limit of {limit}")


def _bad_header(at: int, problem: str, name: Any = None) -> HeaderError:
    """A header at stream offset ``at`` that does not parse; ``name`` once it is known."""
    where = f"header at byte {at}" if name is None else f"header {name!r} at byte {at}"
    return HeaderError(f"{where}: {problem}")


def _empty_name(at: int) -> HeaderError:
    return _bad_header(at, "name is empty")


def _name_past_block(at: int) -> HeaderError:
    return _bad_header(at, "name and type run past the header block")


def _length_past_block(at: int, name: Any) -> HeaderError:
    return _bad_header(at, "value length runs past the header block", name)


def _value_past_block(at: int, name: Any) -> HeaderError:
    return _bad_header(at, "value runs past the header block", name)


def _duplicate_at(at: int, name: Any) -> HeaderError:
    return _bad_header(at, "duplicate header name", name)


def _name_not_utf8(at: int, reason: str) -> HeaderError:
    return _bad_header(at, f"name is not valid UTF-8 ({reason})")


def _string_not_utf8(at: int, name: Any, reason: str) -> HeaderError:
    return _bad_header(at, f"string value is not valid UTF-8 ({reason})", name)


def _value_over_limit(at: int, name: Any, n: int, limit: int) -> HeaderError:
    return _bad_header(at, f"value is {n} bytes, over the limit of {limit}", name)


def _unknown_type(at: int, name: Any, tbyte: int) -> HeaderError:
    return _bad_header(at, f"unknown value type {tbyte}", name)
