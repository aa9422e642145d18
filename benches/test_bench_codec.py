"""Codec benchmarks: both twins and the peers, grouped so one run compares them.

Run with ``pytest benches/`` (pytest-benchmark); ``--benchmark-save`` keeps a run to compare.
"""

from __future__ import annotations

import pytest

from aws_eventstream import _codec_py
from aws_eventstream._workloads import AUDIO_HEADERS, audio_chunk, chunked, transcript_frame

AUDIO = audio_chunk(3200)
FRAME = transcript_frame(_codec_py.encode)
STREAM_CHUNKS = chunked(FRAME * 1000, 1024)


@pytest.mark.benchmark(group="encode audio 3200 B")
def test_encode_audio(benchmark, codec):
    enc = codec.Encoder(AUDIO_HEADERS)
    assert benchmark(enc.encode, AUDIO) == _codec_py.encode(AUDIO_HEADERS, AUDIO)


@pytest.mark.benchmark(group="encode audio 3200 B")
def test_encode_audio_pipecat(benchmark, pipecat_utils):
    assert benchmark(pipecat_utils.build_event_message, AUDIO) == _codec_py.encode(AUDIO_HEADERS, AUDIO)


@pytest.mark.benchmark(group="decode TranscriptEvent")
def test_decode(benchmark, codec):
    assert benchmark(codec.decode, FRAME).headers[":event-type"] == "TranscriptEvent"


@pytest.mark.benchmark(group="decode TranscriptEvent")
def test_decode_botocore(benchmark, botocore_eventstream):
    def run():
        buf = botocore_eventstream.EventStreamBuffer()
        buf.add_data(FRAME)
        return next(buf)

    assert benchmark(run).headers[":event-type"] == "TranscriptEvent"


@pytest.mark.benchmark(group="decode TranscriptEvent")
def test_decode_pipecat(benchmark, pipecat_utils):
    headers, _ = benchmark(pipecat_utils.decode_event, FRAME)
    assert headers[":event-type"] == "TranscriptEvent"


@pytest.mark.benchmark(group="Decoder 1000 frames in 1 KiB chunks")
def test_stream(benchmark, codec):
    def run():
        dec = codec.Decoder()
        n = 0
        for chunk in STREAM_CHUNKS:
            n += len(dec.feed(chunk))
        dec.close()
        return n

    assert benchmark(run) == 1000


@pytest.mark.benchmark(group="Decoder 1000 frames in 1 KiB chunks")
def test_stream_botocore(benchmark, botocore_eventstream):
    def run():
        buf = botocore_eventstream.EventStreamBuffer()
        n = 0
        for chunk in STREAM_CHUNKS:
            buf.add_data(chunk)
            for _ in buf:
                n += 1
        return n

    assert benchmark(run) == 1000
