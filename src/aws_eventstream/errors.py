"""Errors raised by the event-stream codec.

Every error about bad input is an :class:`EventStreamError`, which is a
:class:`ValueError`, so callers that already catch ``ValueError`` keep working.
"""

from __future__ import annotations

__all__ = ["EventStreamError", "ChecksumError", "FrameError", "HeaderError", "SignatureError"]


class EventStreamError(ValueError):
    """Base class: the bytes are not a valid event-stream frame (or cannot be made one).

    When :meth:`Decoder.feed` fails part-way through a chunk, ``messages`` holds the
    complete frames it decoded from that chunk before the bad one, so that no good
    frame is lost with the error.
    """

    messages: "list | tuple" = ()


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

    def __reduce__(self):  # keep pickling (multiprocessing, logging handlers) working
        return (type(self), (self.kind, self.expected, self.actual, self.offset))


class FrameError(EventStreamError):
    """The frame's framing is wrong: truncated, trailing bytes, lengths that disagree, too large."""


class HeaderError(EventStreamError):
    """A header cannot be decoded or encoded: bad type byte, bad UTF-8, bad name, too long."""


class SignatureError(EventStreamError):
    """A SigV4 signature does not verify: a presigned URL or a signed event-stream envelope.

    The message says which check failed (signature, scope, expiry, clock skew, chain order).
    """
