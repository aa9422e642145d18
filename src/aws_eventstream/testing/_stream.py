"""One fake transcription stream, sans I/O: its settings, the audio it hears, the results it sends.

Both transports (the WebSocket API and HTTP/2 ``StartStreamTranscription``) hand the
query parameters or request headers and each AudioEvent's payload to :class:`Stream`
and send what it returns; a :class:`Refusal` is what the service would answer with an
exception frame.
"""

from __future__ import annotations

import json
import random
import re
import uuid
from dataclasses import dataclass, replace
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .. import encode
from ._audio import AudioClock
from ._facts import EXCEPTIONS, LANGUAGES, MAX_STREAM_SECONDS, MEDICAL_LANGUAGES, PII_LANGUAGES, SPECIALTIES, TYPES
from ._script import Script, Word

_STABILITY_LAG = {"high": 1, "medium": 2, "low": 3}  # newest words still unstable in a partial
_MEDIA_ENCODINGS = ("pcm", "ogg-opus", "flac")
_DIGITS = re.compile(r"^[0-9]{1,9}\Z")
_ECHO_SEGMENT_WORDS = 10  # undocumented: heard text without pauses is cut into segments this long


class Refusal(Exception):
    """What the service answers with an exception frame: ``exception_type``, ``message``."""

    def __init__(self, exception_type: str, message: str) -> None:
        super().__init__(f"{exception_type}: {message}")
        self.exception_type = exception_type
        self.message = message


def exception_frame(exception_type: str, message: str) -> bytes:
    """An ``exception`` frame carrying ``{"Message": message}`` as the service sends it (compact JSON)."""
    return encode({":exception-type": exception_type, ":content-type": "application/json",
                   ":message-type": "exception"}, json.dumps({"Message": message}, separators=(",", ":")).encode())


def transcript_frame(results: Sequence[Dict[str, Any]]) -> bytes:
    """A TranscriptEvent frame holding ``results`` (an empty list is an empty Results event)."""
    body = {"Transcript": {"Results": list(results)}}
    return encode({":event-type": "TranscriptEvent", ":content-type": "application/json",
                   ":message-type": "event"}, json.dumps(body, separators=(",", ":")).encode())


def transcript_event(words: Sequence[str], *, result_id: str, start: float, end: float, partial: bool,
                     channel_id: str = "ch_0", language_code: Optional[str] = None) -> bytes:
    """A TranscriptEvent frame with one result: ``words`` spread evenly from ``start`` to ``end``."""
    step = (end - start) / max(len(words), 1)
    items: List[Dict[str, Any]] = []
    for i, word in enumerate(words):
        item = _item(word, start + i * step, start + (i + 1) * step, "pronunciation", medical=False)
        if not partial:
            item["Confidence"] = 1.0
        items.append(item)
    result: Dict[str, Any] = {"Alternatives": [{"Items": items, "Transcript": " ".join(words)}],
                              "ChannelId": channel_id, "EndTime": _t(end), "IsPartial": partial,
                              "ResultId": result_id, "StartTime": _t(start)}
    if language_code:
        result["LanguageCode"] = language_code
    return transcript_frame([result])


def _invalid(value: str, member: str, constraint: str) -> Refusal:
    """The service's request validation message (the Smithy/Coral validation format)."""
    return Refusal("BadRequestException",
                   f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: "
                   f"Member must {constraint}")


def _enum(params: Dict[str, str], name: str, member: str, allowed: Sequence[str]) -> Optional[str]:
    value = params.get(name)
    if value is not None and value not in allowed:
        raise _invalid(value, member, f"satisfy enum value set: [{', '.join(allowed)}]")
    return value


def _flag(params: Dict[str, str], name: str) -> bool:
    value = params.get(name, "false").lower()
    if value not in ("true", "false"):
        raise Refusal("BadRequestException", f"{name} must be true or false, got {params[name]!r}")
    return value == "true"


@dataclass(frozen=True)
class Settings:
    """The stream's parameters, validated the way the service validates them."""

    medical: bool
    language_code: Optional[str]
    identify: str  # "", "single" or "multiple"
    language_options: Tuple[str, ...]
    preferred_language: Optional[str]
    media_encoding: str
    sample_rate: int
    channels: int
    channel_identification: bool
    speaker_label: bool
    stability: Optional[str]  # None: partial-results stabilization is off
    pii_mode: Optional[str]  # None, "identify" or "redact"
    pii_types: Optional[Tuple[str, ...]]  # None: every type
    session_id: Optional[str]  # as given; the server makes one up when none is

    @classmethod
    def from_params(cls, params: Dict[str, str], *, medical: bool) -> "Settings":
        """Raises :class:`Refusal` (BadRequestException) for what the service refuses."""
        encoding = params.get("media-encoding")
        if encoding is None:
            raise Refusal("BadRequestException", "media-encoding is required")
        _enum(params, "media-encoding", "mediaEncoding", _MEDIA_ENCODINGS)
        rate = params.get("sample-rate", "")
        if not _DIGITS.match(rate):
            raise Refusal("BadRequestException", f"sample-rate must be a whole number of hertz, got {rate!r}")
        if not 8000 <= int(rate) <= 48000:
            raise _invalid(rate, "mediaSampleRateHertz",
                           f"have value {'greater than or equal to 8000' if int(rate) < 8000 else 'less than or equal to 48000'}")
        channels = params.get("number-of-channels", "1")
        if channels not in ("1", "2"):
            raise _invalid(channels, "numberOfChannels", "have value between 1 and 2")
        channel_id = _flag(params, "enable-channel-identification")
        if channel_id and channels != "2":
            raise Refusal("BadRequestException",
                          "enable-channel-identification needs number-of-channels=2 (and two-channel audio)")
        identify = ""
        options: Tuple[str, ...] = ()
        language = None
        if medical:
            language = _enum(params, "language-code", "languageCode", MEDICAL_LANGUAGES)
            if language is None:
                raise Refusal("BadRequestException", "language-code is required")
            _enum(params, "specialty", "specialty", SPECIALTIES)
            _enum(params, "type", "type", TYPES)
            for name in ("specialty", "type"):
                if name not in params:
                    raise Refusal("BadRequestException", f"{name} is required")
        else:
            language = _enum(params, "language-code", "languageCode", LANGUAGES)
            single, multiple = _flag(params, "identify-language"), _flag(params, "identify-multiple-languages")
            if (language is not None) + single + multiple != 1:
                raise Refusal("BadRequestException", "Exactly one of language-code, identify-language or "
                                                     "identify-multiple-languages must be given.")
            if single or multiple:
                identify = "single" if single else "multiple"
                options = tuple(o for o in params.get("language-options", "").split(",") if o)
                for option in options:
                    if option not in LANGUAGES:
                        raise _invalid(option, "languageOptions",
                                       f"satisfy enum value set: [{', '.join(LANGUAGES)}]")
                if len(options) < 2 or len(set(options)) != len(options):
                    raise Refusal("BadRequestException",
                                  "language-options must list at least two different language codes")
        preferred = params.get("preferred-language")
        if preferred is not None and preferred not in options:
            raise Refusal("BadRequestException", "preferred-language must be one of the language-options")
        stabilize = _flag(params, "enable-partial-results-stabilization")
        stability = _enum(params, "partial-results-stability", "partialResultsStability", tuple(_STABILITY_LAG))
        if stability is not None and not stabilize:
            raise Refusal("BadRequestException",
                          "partial-results-stability needs enable-partial-results-stabilization=true")
        identification = params.get("content-identification-type")
        redaction = params.get("content-redaction-type")
        if identification is not None and redaction is not None:
            raise Refusal("BadRequestException",
                          "content-identification-type and content-redaction-type cannot both be set")
        _enum(params, "content-identification-type", "contentIdentificationType", ("PHI",) if medical else ("PII",))
        _enum(params, "content-redaction-type", "contentRedactionType", ("PII",))
        if (identification or redaction) and not medical and (identify or language not in PII_LANGUAGES):
            raise Refusal("BadRequestException", "PII identification and redaction need a language-code of "
                                                 f"{', '.join(PII_LANGUAGES)} (not language identification)")
        types = params.get("pii-entity-types")
        if types is not None and not (identification or redaction):
            raise Refusal("BadRequestException",
                          "pii-entity-types needs content-identification-type or content-redaction-type")
        session_id = params.get("session-id")
        if session_id is not None:
            try:
                session_id = str(uuid.UUID(session_id))
            except ValueError:
                raise _invalid(session_id, "sessionId",
                               "satisfy regular expression pattern: "
                               "[a-fA-F0-9]{8}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{12}") from None
        return cls(
            medical=medical, language_code=language, identify=identify, language_options=options,
            preferred_language=preferred, media_encoding=encoding, sample_rate=int(rate), channels=int(channels),
            channel_identification=channel_id, speaker_label=_flag(params, "show-speaker-label"),
            stability=(stability or "high") if stabilize else None,
            pii_mode="redact" if redaction else ("identify" if identification else None),
            pii_types=None if types in (None, "ALL") else tuple(types.split(",")),
            session_id=session_id,
        )


class Stream:
    """The results one stream sends as its audio arrives.

    :meth:`audio` takes each AudioEvent payload and returns the TranscriptEvent bodies
    (lists of results) it makes due; :meth:`end` returns the last ones. ``rng`` draws
    the ResultIds (seed it for the same ids every run).
    """

    def __init__(self, settings: Settings, script: Script, *, rng: random.Random,
                 silence_events: Optional[float] = 1.0, max_chunk: Optional[float] = None) -> None:
        self.settings = settings
        self.clock = AudioClock(settings.media_encoding, settings.sample_rate, settings.channels)
        self._rng = rng
        self._silence_events = silence_events
        self._max_chunk = max_chunk
        self._since_event = 0.0
        self._pause = script.segment_pause
        channels = (0, 1) if settings.channel_identification else (0,)
        segments = script.segments()
        # Without channel identification, everything is heard as one channel.
        if settings.channel_identification:
            self._segments: Dict[int, List[Tuple[Word, ...]]] = {c: list(segments.get(c, ())) for c in channels}
        else:
            merged = Script(tuple(replace(w, channel=0) for w in script.words), script.segment_pause).segments()
            self._segments = {0: list(merged.get(0, ()))}
        self._shown = {c: 0 for c in channels}
        self._ids = {c: self._new_id() for c in channels}
        self._language = self._session_language(script)

    @property
    def seconds(self) -> float:
        """The audio heard so far, in seconds."""
        return self.clock.seconds

    def _new_id(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def _session_language(self, script: Script) -> Optional[str]:
        s = self.settings
        if not s.identify:
            return None
        spoken = next((w.language for w in script.words if w.language in s.language_options), None)
        return spoken or s.preferred_language or s.language_options[0]

    # -- the audio

    def audio(self, payload: bytes, *, heard: Optional[str] = None) -> List[List[Dict[str, Any]]]:
        """Feed one AudioEvent payload; ``heard`` is text spoken in this chunk, beyond the script."""
        begin = self.clock.seconds
        added = self.clock.chunk_seconds(payload)
        if self._max_chunk is not None and added > self._max_chunk + 1e-9:
            # The limit is documented (AudioEvent.AudioChunk); the exception type and text are not.
            raise Refusal("BadRequestException",
                          f"An audio chunk carried {added * 1000:.0f} ms of audio; the maximum is "
                          f"{self._max_chunk * 1000:.0f} ms.")
        if self.clock.seconds > MAX_STREAM_SECONDS:
            raise Refusal("LimitExceededException", EXCEPTIONS["LimitExceededException"])
        if heard is not None:
            self._hear(heard, begin, self.clock.seconds)
        events = self._due(self.clock.seconds, ending=False)
        self._since_event += added
        if events:
            self._since_event = 0.0
        elif self._silence_events is not None and self._since_event >= self._silence_events and self._silent():
            self._since_event = 0.0
            events = [[]]
        return events

    def _hear(self, text: str, begin: float, end: float) -> None:
        tokens = text.split()
        step = (end - begin) / max(len(tokens), 1)
        words = tuple(Word(begin + i * step, begin + (i + 1) * step, token) for i, token in enumerate(tokens))
        segments = self._segments[0]
        if words and segments and segments[-1][-1].end + self._pause > begin \
                and len(segments[-1]) < _ECHO_SEGMENT_WORDS:
            segments[-1] = segments[-1] + words
        elif words:
            segments.append(words)

    def end(self) -> List[List[Dict[str, Any]]]:
        return self._due(self.clock.seconds, ending=True)

    def _silent(self) -> bool:
        return all(self._shown[c] == 0 for c in self._segments)

    def _due(self, now: float, *, ending: bool) -> List[List[Dict[str, Any]]]:
        results: List[Tuple[int, Dict[str, Any]]] = []
        for channel, segments in self._segments.items():
            while segments:
                segment = segments[0]
                heard = [w for w in segment if w.end <= now + 1e-9]
                # A segment is final once a pause follows it, or the next one has begun.
                done = ending or now + 1e-9 >= segment[-1].end + self._pause or (
                    len(segments) > 1 and segments[1][0].end <= now + 1e-9)
                if len(heard) == len(segment) and done:
                    results.append((channel, self._result(channel, segment, partial=False)))
                    segments.pop(0)
                    self._shown[channel] = 0
                    self._ids[channel] = self._new_id()
                    continue
                if ending:
                    if heard:
                        results.append((channel, self._result(channel, heard, partial=False)))
                    segments.clear()
                    break
                if len(heard) > self._shown[channel]:
                    results.append((channel, self._result(channel, heard, partial=True)))
                    self._shown[channel] = len(heard)
                break
        # Results due at the same moment share an event, one result per channel in each.
        events: List[List[Dict[str, Any]]] = []
        for channel, result in results:
            if not events or any(r.get("ChannelId") == result.get("ChannelId") for r in events[-1]) \
                    or not self.settings.channel_identification:
                events.append([])
            events[-1].append(result)
        return events

    # -- the results

    def _result(self, channel: int, words: Sequence[Word], *, partial: bool) -> Dict[str, Any]:
        s = self.settings
        redact = s.pii_mode == "redact"
        items: List[Dict[str, Any]] = []
        entities: List[Dict[str, Any]] = []
        lag = _STABILITY_LAG[s.stability] if s.stability else 0
        for i, word in enumerate(words):
            pii = word.pii if word.pii and (s.pii_types is None or word.pii in s.pii_types) else None
            content = f"[{pii}]" if pii and redact and not partial else word.spoken
            item = _item(content, word.start, word.end, "pronunciation", medical=s.medical)
            if not partial:
                item["Confidence"] = word.confidence
            if s.speaker_label and not partial:  # "only for entirely transcribed segments"
                item["Speaker"] = word.speaker if word.speaker is not None else "0"
            if s.stability and not s.medical:
                item["Stable"] = not partial or i < len(words) - lag
            items.append(item)
            if pii and s.pii_mode and not partial:
                entity: Dict[str, Any] = {"Category": "PHI" if s.medical else "PII", "Confidence": word.confidence,
                                          "Content": content, "EndTime": _t(word.end), "StartTime": _t(word.start)}
                if not s.medical:  # a MedicalEntity has no Type
                    entity["Type"] = pii
                entities.append(entity)
            if word.punctuation:
                mark = _item(word.punctuation, word.end, word.end, "punctuation", medical=s.medical)
                if not partial:
                    mark["Confidence"] = 0.0
                if "Speaker" in item:
                    mark["Speaker"] = item["Speaker"]
                if s.stability and not s.medical:
                    mark["Stable"] = item["Stable"]
                items.append(mark)
        alternative: Dict[str, Any] = {"Items": items, "Transcript": _transcript(items)}
        if s.pii_mode and not partial:
            alternative["Entities"] = entities
        # ChannelId on every result, ch_0 without channel identification (undocumented: as
        # the service's results show it).
        result: Dict[str, Any] = {"Alternatives": [alternative], "ChannelId": f"ch_{channel}"}
        result.update({"EndTime": _t(words[-1].end), "IsPartial": partial, "ResultId": self._ids[channel],
                       "StartTime": _t(words[0].start)})
        if s.identify:
            language = self._language
            if s.identify == "multiple":
                language = next((w.language for w in words if w.language in s.language_options), language)
            result["LanguageCode"] = language
            result["LanguageIdentification"] = [
                {"LanguageCode": option, "Score": 0.95 if option == language else round(0.05 / len(s.language_options), 4)}
                for option in sorted(s.language_options, key=lambda o: o != language)]
        return result


def _item(content: str, start: float, end: float, kind: str, *, medical: bool) -> Dict[str, Any]:
    """An Item (a MedicalItem has no VocabularyFilterMatch)."""
    item: Dict[str, Any] = {"Content": content, "EndTime": _t(end), "StartTime": _t(start), "Type": kind}
    if not medical:
        item["VocabularyFilterMatch"] = False
    return item


def _t(seconds: float) -> float:
    return round(seconds, 3)


def _transcript(items: Sequence[Dict[str, Any]]) -> str:
    text = ""
    for item in items:
        if item["Type"] == "punctuation":
            text += item["Content"]
        else:
            text += (" " if text else "") + item["Content"]
    return text
