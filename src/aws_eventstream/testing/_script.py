"""What a fake stream "hears": timed words with their speaker, channel, language and PII."""

from __future__ import annotations

import math
import numbers
import re
from dataclasses import dataclass, replace
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple, Union

_PUNCTUATION = ".,?!;:"
_SPEAKER = re.compile(r"^[0-9A-Za-z_-]{1,32}\Z")
_LANGUAGE = re.compile(r"^[a-z]{2,3}-[A-Z]{2}\Z")
_ENTITY = re.compile(r"^[A-Z_]{2,40}\Z")


def seconds(name: str, value: object, *, positive: bool = False) -> float:
    """A finite number of seconds (>= 0, or > 0), as a float; ValueError naming ``name`` if not."""
    try:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        number = math.nan
    if not math.isfinite(number) or number < 0 or (positive and number == 0):
        raise ValueError(f"{name} must be a finite number of seconds {'> 0' if positive else '>= 0'}, "
                         f"got {value!r}")
    return number
_SENTENCE_END = ".?!"


@dataclass(frozen=True)
class Word:
    """One spoken word, from ``start`` to ``end`` seconds of audio.

    ``text`` may end with punctuation (``"Hello,"``): the results then carry a
    pronunciation item and a punctuation item, as the service's do.

    Args:
        speaker: the speaker label (``"0"``, ``"1"``...), shown with ``show-speaker-label``.
        channel: the audio channel it is heard on (0 or 1); with
            ``enable-channel-identification`` each channel has its own results.
        language: the language it is spoken in, for language identification
            (``identify-language`` reports the first word's, ``identify-multiple-languages``
            each segment's); None means the session's preferred or first option.
        pii: a PII entity type (``"NAME"``, ``"PHONE"``, ``"ADDRESS"``...): reported in
            ``Entities`` with content identification, replaced by ``[NAME]`` with redaction.
        confidence: the confidence the results give it (0 to 1).
    """

    start: float
    end: float
    text: str
    speaker: Optional[str] = None
    channel: int = 0
    language: Optional[str] = None
    pii: Optional[str] = None
    confidence: float = 0.98

    def __post_init__(self) -> None:
        if not isinstance(self.text, str) or len(self.text.split()) != 1 or not self.text.strip(_PUNCTUATION):
            raise ValueError(f"a word is one non-empty token without spaces, got {self.text!r}")
        object.__setattr__(self, "text", str(self.text))
        for name in ("start", "end", "confidence"):
            object.__setattr__(self, name, seconds(name, getattr(self, name)))
        if not 0 <= self.start <= self.end:
            raise ValueError(f"a word needs 0 <= start <= end, got {self.start!r} to {self.end!r} for {self.text!r}")
        if type(self.channel) is not int or self.channel not in (0, 1):
            raise ValueError(f"channel must be 0 or 1, got {self.channel!r}")
        if not 0 <= self.confidence <= 1:
            raise ValueError(f"confidence must be from 0 to 1, got {self.confidence!r}")
        for name, pattern, like in (("speaker", _SPEAKER, "a label like '0' or '1'"),
                                    ("language", _LANGUAGE, "a language code like en-US"),
                                    ("pii", _ENTITY, "an entity type like NAME or ADDRESS")):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, str) and pattern.match(value)):
                raise ValueError(f"{name} must be {like}, got {value!r}")

    @property
    def spoken(self) -> str:
        """The word without its trailing punctuation."""
        return self.text.rstrip(_PUNCTUATION) or self.text

    @property
    def punctuation(self) -> str:
        """The trailing punctuation ("" if none)."""
        return self.text[len(self.spoken):]


WordLike = Union[Word, Tuple[Any, ...]]


@dataclass(frozen=True)
class Script:
    """The words a fake Transcribe stream hears, in audio time.

    Results are cut from it as the audio arrives: a word shows in a partial result once
    the stream has carried audio up to its end, and a segment (words up to a pause of
    ``segment_pause`` seconds or more, on one channel) is sent as a final result once the
    pause has been heard, or when the audio ends. Build one with :meth:`from_text` and
    :meth:`then`, or from ``(start_s, end_s, word)`` tuples (a fourth item may be a dict
    of :class:`Word` annotations)::

        Script.from_text("Hi, I'm Jane.", speaker="0", pii={"Jane": "NAME"}).then("Hello Jane!", speaker="1")
        Script.of([(0.2, 0.5, "hello"), (0.6, 0.9, "world", {"speaker": "1"})])
    """

    words: Tuple[Word, ...] = ()
    segment_pause: float = 0.5

    def __post_init__(self) -> None:
        words = tuple(self.words)
        for word in words:
            if not isinstance(word, Word):
                raise ValueError(f"Script(words) takes Word objects (Script.of takes tuples), got {word!r}")
        object.__setattr__(self, "words", tuple(sorted(words, key=lambda w: (w.start, w.end))))
        object.__setattr__(self, "segment_pause", seconds("segment_pause", self.segment_pause, positive=True))

    @property
    def end(self) -> float:
        """Where the last word ends (0 for an empty script)."""
        return max((w.end for w in self.words), default=0.0)

    @classmethod
    def of(cls, value: Union["Script", str, Iterable[WordLike]]) -> "Script":
        """A script from a script, a text (see :meth:`from_text`) or timed words."""
        if isinstance(value, Script):
            return value
        if isinstance(value, str):
            return cls.from_text(value)
        words = []
        for item in value:
            if isinstance(item, Word):
                words.append(item)
                continue
            if not isinstance(item, tuple) or len(item) not in (3, 4):
                raise ValueError(f"a timed word is (start_s, end_s, word) or (start_s, end_s, word, {{...}}), got {item!r}")
            extra: Mapping[str, Any] = item[3] if len(item) == 4 else {}
            words.append(Word(item[0], item[1], item[2], **dict(extra)))
        return cls(tuple(words))

    @classmethod
    def from_text(cls, text: str, *, start: float = 0.3, word_seconds: float = 0.3, gap_seconds: float = 0.05,
                  sentence_pause: float = 0.8, speaker: Optional[str] = None, channel: int = 0,
                  language: Optional[str] = None, pii: Optional[Mapping[str, str]] = None,
                  confidence: float = 0.98) -> "Script":
        """Words spoken one after another from ``start``: each lasts ``word_seconds``, with
        ``gap_seconds`` between words and ``sentence_pause`` after a ``.``, ``?`` or ``!``
        (so each sentence is its own segment). ``pii`` maps words (without punctuation) to
        their entity type; the other annotations apply to every word."""
        words = []
        at = start
        for token in text.split():
            word = Word(at, at + word_seconds, token, speaker=speaker, channel=channel, language=language,
                        pii=(pii or {}).get(token.rstrip(_PUNCTUATION)), confidence=confidence)
            words.append(word)
            at = word.end + (sentence_pause if token[-1] in _SENTENCE_END else gap_seconds)
        return cls(tuple(words))

    def then(self, more: Union["Script", str, Iterable[WordLike]], *, pause: float = 0.8, **annotations: Any) -> "Script":
        """This script followed, ``pause`` seconds after its last word, by ``more``
        (a text takes ``annotations`` as :meth:`from_text` does; timed words are shifted)."""
        start = self.end + pause if self.words else 0.3
        if isinstance(more, str):
            tail = Script.from_text(more, start=start, **annotations)
        else:
            if annotations:
                raise TypeError("annotations go with a text; timed words carry their own")
            tail = Script.of(more)
            first = min((w.start for w in tail.words), default=0.0)
            tail = Script(tuple(replace(w, start=w.start - first + start, end=w.end - first + start)
                                for w in tail.words))
        return Script(self.words + tail.words, self.segment_pause)

    def segments(self) -> Dict[int, Tuple[Tuple[Word, ...], ...]]:
        """Per channel, the words cut where a pause reaches ``segment_pause`` or the language changes."""
        out: Dict[int, List[List[Word]]] = {}
        for channel in (0, 1):
            segs: List[List[Word]] = []
            last: Optional[Word] = None
            for word in (w for w in self.words if w.channel == channel):
                if last is None or word.start - last.end >= self.segment_pause or word.language != last.language:
                    segs.append([])
                segs[-1].append(word)
                last = word
            if segs:
                out[channel] = segs
        return {c: tuple(tuple(s) for s in segs) for c, segs in out.items()}


DEFAULT_TEXT = "Hello from the fake Transcribe server."
