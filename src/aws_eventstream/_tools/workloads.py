"""Realistic frames shared by the benchmark suites (``benches/`` and ``aws-eventstream bench``)."""

from __future__ import annotations

import json
from typing import Callable, Dict, List

from .. import Headers

TRANSCRIPT_HEADERS: Dict[str, str] = {
    ":event-type": "TranscriptEvent",
    ":content-type": "application/json",
    ":message-type": "event",
}


def audio_chunk(size: int = 3200) -> bytes:
    """``size`` bytes of 16-bit PCM-like audio (3200 B is 100 ms at 16 kHz mono)."""
    return bytes((i * 7919 + (i >> 8)) & 0xFF for i in range(size))


def transcript_payload() -> bytes:
    """A partial-result TranscriptEvent body as Amazon Transcribe sends it."""
    words = ["hello", "there", "how", "are"]
    items = [{"Content": words[0], "EndTime": 0.31, "StartTime": 0.0, "Type": "pronunciation"}]
    body = {"Transcript": {"Results": [{
        "Alternatives": [{"Items": items, "Transcript": " ".join(words)}],
        "ChannelId": "ch_0", "EndTime": 1.24, "IsPartial": True,
        "ResultId": "0b0c3c2e-2f5e-4d7a-9a55-2a4b5f2c1d3e", "StartTime": 0.0,
    }]}}
    return json.dumps(body, separators=(",", ":")).encode()


def transcript_frame(encode: Callable[[Headers, bytes], bytes]) -> bytes:
    """The ~400-byte TranscriptEvent frame, built with the given ``encode``."""
    return encode(TRANSCRIPT_HEADERS, transcript_payload())


def chunked(stream: bytes, size: int = 1024) -> List[bytes]:
    """``stream`` cut into ``size``-byte chunks, as a socket might deliver it."""
    return [stream[i:i + size] for i in range(0, len(stream), size)]
