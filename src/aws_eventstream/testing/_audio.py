"""How much audio a stream has carried, from the bytes themselves.

PCM is counted exactly (16-bit little-endian samples, interleaved channels). Ogg Opus
is timed by the granule position of each complete Ogg page (48 kHz samples, less the
pre-skip of the ``OpusHead`` page). FLAC is timed by its frame headers: each header
that passes its CRC-8 says where its block starts and how long it is.
"""

from __future__ import annotations

from typing import Optional

_OGG_CAPTURE = b"OggS"
_OGG_HEADER = 27


class AudioClock:
    """Feed the audio chunks of one stream in order; ``seconds`` is the audio so far.

    It never goes back, and each chunk costs time in proportion to its own length: what
    is kept between chunks is at most one incomplete Ogg page (64 KiB) or FLAC header.
    """

    def __init__(self, media_encoding: str, sample_rate: int, channels: int = 1) -> None:
        if media_encoding not in ("pcm", "ogg-opus", "flac"):
            raise ValueError(f"media-encoding {media_encoding!r} is not pcm, ogg-opus or flac")
        self.media_encoding = media_encoding
        self.sample_rate = sample_rate
        self.channels = channels
        self.bytes = 0
        self._samples = 0  # PCM sample frames, or the end of the last FLAC block, or Opus granules
        self._buffer = bytearray()  # an Ogg page or FLAC header cut by a chunk boundary
        self._opus_skip = 0
        self._flac_stage = 0  # 0: before the "fLaC" marker, 1: metadata blocks, 2: frames
        self._flac_skip = 0  # metadata bytes still to skip
        self._flac_last_block = False
        self._flac_rate: Optional[int] = None
        self._flac_fixed_block = 0

    @property
    def seconds(self) -> float:
        if self.media_encoding == "ogg-opus":
            return max(self._samples - self._opus_skip, 0) / 48000.0
        rate = self._flac_rate or self.sample_rate
        return self._samples / rate

    def chunk_seconds(self, chunk: bytes) -> float:
        """Feed ``chunk``; returns how much audio it added."""
        before = self.seconds
        self.bytes += len(chunk)
        if self.media_encoding == "pcm":
            self._samples = self.bytes // (2 * self.channels)
        else:
            self._buffer += chunk
            if self.media_encoding == "ogg-opus":
                self._ogg()
            else:
                self._flac()
        return self.seconds - before

    # -- Ogg: a page is "OggS", version, flags, granule (8 LE), serial, sequence, CRC,
    # segment count, the lacing values, then the segments.

    def _ogg(self) -> None:
        data = self._buffer
        pos = 0
        while True:
            start = data.find(_OGG_CAPTURE, pos)
            if start < 0:
                del data[:max(pos, len(data) - 3)]  # keep what could begin a capture pattern
                return
            if len(data) - start < _OGG_HEADER or len(data) < start + _OGG_HEADER + data[start + 26]:
                del data[:start]
                return
            count = data[start + 26]
            body_at = start + _OGG_HEADER + count
            end = body_at + sum(data[start + _OGG_HEADER:body_at])
            if len(data) < end:
                del data[:start]
                return
            if self._samples == 0 and data[body_at:body_at + 8] == b"OpusHead" and end - body_at >= 12:
                self._opus_skip = int.from_bytes(data[body_at + 10:body_at + 12], "little")
            granule = int.from_bytes(data[start + 6:start + 14], "little", signed=True)
            if granule > self._samples:  # -1: no packet ends on this page
                self._samples = granule
            pos = end

    # -- FLAC: "fLaC", metadata blocks (STREAMINFO has the sample rate and block size),
    # then frames whose header starts with the sync code 0xFFF8 (fixed block size) or
    # 0xFFF9 (variable).

    def _flac(self) -> None:
        data = self._buffer
        if self._flac_stage == 0:
            if len(data) < 4:
                return
            if data[:4] == b"fLaC":
                del data[:4]
                self._flac_stage = 1
            else:  # frames without the stream header: timed with the URL's sample rate
                self._flac_stage = 2
        while self._flac_stage == 1:
            if self._flac_skip:
                skipped = min(self._flac_skip, len(data))
                del data[:skipped]
                self._flac_skip -= skipped
                if self._flac_skip:
                    return
                if self._flac_last_block:
                    self._flac_stage = 2
                continue
            if len(data) < 4 or (data[0] & 0x7F == 0 and len(data) < 4 + 18):
                return
            if data[0] & 0x7F == 0:  # STREAMINFO
                self._flac_fixed_block = int.from_bytes(data[4:6], "big")
                self._flac_rate = (int.from_bytes(data[14:17], "big") >> 4) or None
            self._flac_last_block = bool(data[0] & 0x80)
            self._flac_skip = 4 + int.from_bytes(data[1:4], "big")
        pos = 0
        while True:
            start = data.find(b"\xff", pos)
            if start < 0 or len(data) - start < 16:  # 16: the longest frame header
                del data[:start if start >= 0 else len(data)]
                return
            end = self._flac_frame_end(data, start)
            pos = start + 1
            if end is not None:
                self._samples = end

    def _flac_frame_end(self, data: bytearray, at: int) -> Optional[int]:
        """The sample number after the frame whose header is at ``at``, if one is there."""
        if data[at + 1] not in (0xF8, 0xF9):
            return None
        variable = data[at + 1] == 0xF9
        size_code, rate_code = data[at + 2] >> 4, data[at + 2] & 0x0F
        if size_code == 0 or rate_code == 0x0F or (data[at + 3] >> 1) & 7 in (3, 7) or data[at + 3] & 1:
            return None
        # the frame or sample number, UTF-8 style
        lead = data[at + 4]
        extra = 0
        while extra < 7 and lead & (0x80 >> extra):
            extra += 1
        if extra == 1 or extra > 7 - variable:
            return None
        number = lead & (0x7F >> extra) if extra else lead
        extra = extra - 1 if extra else 0
        pos = at + 5
        for _ in range(extra):
            if data[pos] & 0xC0 != 0x80:
                return None
            number = (number << 6) | (data[pos] & 0x3F)
            pos += 1
        if size_code == 1:
            block = 192
        elif size_code <= 5:
            block = 576 << (size_code - 2)
        elif size_code == 6:
            block = data[pos] + 1
            pos += 1
        elif size_code == 7:
            block = int.from_bytes(data[pos:pos + 2], "big") + 1
            pos += 2
        else:
            block = 256 << (size_code - 8)
        pos += {12: 1, 13: 2, 14: 2}.get(rate_code, 0)
        end = number + block if variable else number * (self._flac_fixed_block or block) + block
        if end <= self._samples or (self._samples and end - self._samples > 65536):
            return None  # no later than what was heard, or an implausible jump: not worth the CRC
        return end if _crc8(data[at:pos]) == data[pos] else None


def _crc8_table() -> bytes:
    table = bytearray(256)
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
        table[byte] = crc
    return bytes(table)


_CRC8 = _crc8_table()  # FLAC frame headers: polynomial x^8 + x^2 + x + 1, initial 0


def _crc8(data: bytearray) -> int:
    crc = 0
    for byte in data:
        crc = _CRC8[crc ^ byte]
    return crc
