"""AWS event-stream framing: encode and decode frames, fast.

The codec comes in two twins with the same names and behaviour: a Cython
extension (``_codec_c``) and a pure-Python module (``_codec_py``). The extension
is used when it is built; ``AWS_EVENTSTREAM_PURE_PYTHON=1`` forces the pure twin.
:data:`BACKEND` says which one is loaded.
"""

from __future__ import annotations

import os as _os
from typing import TYPE_CHECKING

from ._types import BytesLike, Headers, HeaderValue, Int8, Int16, Int32, Int64, Message, Timestamp
from .errors import ChecksumError, EventStreamError, FrameError, HeaderError, SignatureError

__version__ = "0.1.0"

_OFF = {"", "0", "false", "no", "off"}


def _pure_forced() -> bool:
    """True when the environment asks for the pure-Python twin."""
    return _os.environ.get("AWS_EVENTSTREAM_PURE_PYTHON", "").strip().lower() not in _OFF


# Type checkers see the pure twin: its annotations are the API's, and the extension's
# stub (_codec_c.pyi) is checked against the built module separately (mypy.stubtest).
if TYPE_CHECKING or _pure_forced():
    from . import _codec_py as _codec

    BACKEND = "python"
else:
    try:
        from . import _codec_c as _codec

        BACKEND = "cython"
    except ImportError:  # not built (no compiler at install time): same API, slower
        from . import _codec_py as _codec

        BACKEND = "python"

encode = _codec.encode
decode = _codec.decode
Encoder = _codec.Encoder
Decoder = _codec.Decoder
crc32 = _codec.crc32
crc_kernels = _codec.crc_kernels
CRC_KERNEL: str = _codec.CRC_KERNEL
MAX_FRAME: int = _codec.MAX_FRAME
MAX_HEADERS: int = _codec.MAX_HEADERS
MAX_HEADER_VALUE: int = _codec.MAX_HEADER_VALUE

from ._shapes import JSON_BACKEND  # noqa: E402 - typed events build with the twin loaded above

__all__ = [
    "BACKEND",
    "encode",
    "decode",
    "Encoder",
    "Decoder",
    "Message",
    "crc32",
    "crc_kernels",
    "CRC_KERNEL",
    "JSON_BACKEND",
    "Int8",
    "Int16",
    "Int32",
    "Int64",
    "Timestamp",
    "HeaderValue",
    "Headers",
    "BytesLike",
    "EventStreamError",
    "ChecksumError",
    "FrameError",
    "HeaderError",
    "SignatureError",
    "MAX_FRAME",
    "MAX_HEADERS",
    "MAX_HEADER_VALUE",
    "__version__",
]
