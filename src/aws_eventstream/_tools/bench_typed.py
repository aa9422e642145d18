"""The bench's typed-event cases: what a user reads from a frame, against the dicts peers give.

Each of our rows runs one of the two JSON paths (``_shapes``): msgspec straight into the
classes (the ``fast`` extra), or the standard library's json and the codec's ``build``,
switched on each call, so that both are timed in the same rounds as the peers.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Callable, List

from .. import _codec_py, _shapes
from .bench import Case, Impl, Skip, _check, _need

TRANSCRIPT_HEADERS = {":event-type": "TranscriptEvent", ":content-type": "application/json", ":message-type": "event"}


def transcript_payload() -> bytes:
    """A partial TranscriptEvent with three words, as Amazon Transcribe sends it."""
    words = ["hello", "there", "friend"]
    items = [{"Content": w, "EndTime": round(0.3 * (i + 1), 2), "StartTime": round(0.3 * i, 2),
              "Type": "pronunciation", "VocabularyFilterMatch": False, "Confidence": 0.9, "Stable": i < 2}
             for i, w in enumerate(words)]
    return json.dumps({"Transcript": {"Results": [{
        "Alternatives": [{"Items": items, "Transcript": " ".join(words)}], "ChannelId": "ch_0", "EndTime": 0.9,
        "IsPartial": True, "ResultId": "0b0c3c2e-2f5e-4d7a-9a55-2a4b5f2c1d3e", "StartTime": 0.0}]}},
        separators=(",", ":")).encode()


def audio_output_event() -> dict:  # type: ignore[type-arg]
    """Nova Sonic's audioOutput event with 40 ms of 24 kHz 16-bit audio."""
    pcm = bytes((i * 31 + (i >> 7)) & 0xFF for i in range(int(24000 * 2 * 0.04)))
    return {"event": {"audioOutput": {"sessionId": "5e5f3c1a-9d8e-4b1f-a7c2-0c6d4e2b9f10", "promptName": "p",
                                      "completionId": "c8a1e0d2-4f6b-4c3d-9e7a-1b2c3d4e5f60",
                                      "contentId": "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",
                                      "content": base64.b64encode(pcm).decode("ascii")}}}


def _path(fast: bool) -> Callable[[bool], None]:
    """The setting a row runs under (bench.Impl.around): msgspec first (``fast``), or json and build only."""
    default = _shapes._fast

    def around(on: bool) -> None:
        if on and fast and _shapes._msgspec is None:
            raise Skip('msgspec is not installed (pip install "aws-eventstream[fast]")')
        _shapes._fast = fast if on else default
    return around


_PATHS = ((True, "msgspec (the fast extra)"), (False, "standard library"))


def _transcript_impls(frame: bytes) -> List[Impl]:
    from .. import decode, transcribe, utils

    payload = _codec_py.decode(frame).payload
    body = json.loads(payload)

    def typed(fast: bool) -> Callable[[], Callable[[], Any]]:
        def make() -> Callable[[], Any]:
            def run() -> Any:
                return transcribe.parse_message(decode(frame))
            _check(run().raw, body, "typed TranscriptEvent")
            return run
        return make

    def dicts(fast: bool) -> Callable[[], Callable[[], Any]]:
        def make() -> Callable[[], Any]:
            def run() -> Any:
                return utils.decode_event(frame)
            _check(run()[1], body, "utils.decode_event")
            return run
        return make

    def pipecat() -> Callable[[], Any]:
        fn = _need("pipecat.services.aws.utils", "pipecat-ai").decode_event
        _check(fn(frame)[1], body, "pipecat-ai")
        return lambda: fn(frame)

    def loads(name: str) -> Callable[[], Callable[[], Any]]:
        def make() -> Callable[[], Any]:
            fn: Callable[[bytes], Any] = json.loads
            if name == "orjson":
                fn = _need("orjson", "orjson").loads
            elif name == "msgspec":
                fn = _need("msgspec", "msgspec").json.decode
            _check(fn(payload), body, name)
            return lambda: fn(payload)
        return make

    impls = [Impl("pipecat-ai decode_event (dicts)", pipecat)]
    for fast, label in _PATHS:
        impls.append(Impl(f"aws-eventstream typed TranscriptEvent, {label}", typed(fast), ours=True,
                          around=_path(fast)))
    for fast, label in _PATHS:
        impls.append(Impl(f"aws-eventstream utils.decode_event (dicts), {label}", dicts(fast), ours=True,
                          around=_path(fast)))
    impls += [Impl("json.loads of the payload alone", loads("json"), partial=True),
              Impl("orjson.loads of the payload alone", loads("orjson"), partial=True),
              Impl("msgspec.json.decode of the payload alone (dicts)", loads("msgspec"), partial=True)]
    return impls


def _audio_impls(frame: bytes, pcm: bytes, event_json: bytes) -> List[Impl]:
    from .. import bedrock, decode

    def dict_path() -> Callable[[], Any]:
        def run() -> bytes:  # what a user of the dicts writes: the chunk's JSON and base64, the event's too
            outer = json.loads(decode(frame).payload)
            event = json.loads(base64.b64decode(outer["bytes"]))
            return base64.b64decode(event["event"]["audioOutput"]["content"])
        _check(run(), pcm, "the dict path")
        return run

    def event_alone() -> Callable[[], Any]:
        def run() -> bytes:
            return base64.b64decode(json.loads(event_json)["event"]["audioOutput"]["content"])
        _check(run(), pcm, "json.loads + b64decode")
        return run

    def typed(fast: bool) -> Callable[[], Callable[[], Any]]:
        def make() -> Callable[[], Any]:
            stream = bedrock.ChunkStream(typed=True)

            def run() -> Any:
                event: Any = stream.feed(frame)[0]
                return event.audio
            _check(run(), pcm, "typed AudioOutput")
            return run
        return make

    impls = [Impl("json + base64 from the frame (the dicts' way)", dict_path),
             Impl("json.loads + b64decode of the model's event alone", event_alone, partial=True)]
    for fast, label in _PATHS:
        impls.append(Impl(f"aws-eventstream typed AudioOutput, {label}", typed(fast), ours=True,
                          around=_path(fast)))
    return impls


def build_cases() -> List[Case]:
    from ..bedrock import chunk_frame

    frame = _codec_py.encode(TRANSCRIPT_HEADERS, transcript_payload())
    event = audio_output_event()
    audio_frame = chunk_frame(event)
    pcm = base64.b64decode(event["event"]["audioOutput"]["content"])
    return [
        Case("typed", f"typed TranscriptEvent (3 words) from a frame ({len(frame)} B)", len(frame),
             _transcript_impls(frame)),
        Case("typed", f"Nova Sonic audioOutput (40 ms of 24 kHz) from a frame to its audio ({len(audio_frame)} B)",
             len(audio_frame), _audio_impls(audio_frame, pcm, json.dumps(event).encode())),
    ]
