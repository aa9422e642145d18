"""Presigned ``wss://`` URLs that open an Amazon Transcribe (Medical) streaming session.

Every query parameter the WebSocket API takes, validated: a value Transcribe would refuse
is a ValueError here that names the parameter, not an HTTP 400 at the handshake.
"""

from __future__ import annotations

import datetime as _dt
import re
import uuid
from typing import Dict, List, Optional, Sequence, Union
from urllib.parse import urlsplit

from ..auth import Credentials, check_region, presign_url

SERVICE = "transcribe"
STREAM_PATH = "/stream-transcription-websocket"
MEDICAL_STREAM_PATH = "/medical-stream-transcription-websocket"
MAX_EXPIRES = 300  # Transcribe refuses presigned URLs valid for longer

MEDIA_ENCODINGS = ("pcm", "ogg-opus", "flac")
STABILITY = ("low", "medium", "high")
FILTER_METHODS = ("remove", "mask", "tag")
MEDICAL_SPECIALTIES = ("PRIMARYCARE", "CARDIOLOGY", "NEUROLOGY", "ONCOLOGY", "RADIOLOGY", "UROLOGY")
MEDICAL_TYPES = ("CONVERSATION", "DICTATION")

_LANGUAGE_RE = re.compile(r"^[a-z]{2,3}-[A-Z]{2}$")
_NAME_RE = re.compile(r"^[0-9a-zA-Z._-]{1,200}$")


def endpoint_for(region: str, *, medical: bool = False, fips: bool = False) -> str:
    """The streaming WebSocket endpoint of a region (China regions use amazonaws.com.cn)."""
    check_region(region)
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    host = f"transcribestreaming{'-fips' if fips else ''}.{region}.{suffix}"
    return f"wss://{host}:8443{MEDICAL_STREAM_PATH if medical else STREAM_PATH}"


def _language(what: str, value: str) -> str:
    if not isinstance(value, str) or not _LANGUAGE_RE.match(value):
        raise ValueError(f"{what} {value!r} is not a language code like en-US")
    return value


def _names(what: str, value: Union[str, Sequence[str]]) -> str:
    items = value.split(",") if isinstance(value, str) else list(value)
    if not items:
        raise ValueError(f"{what} is empty")
    for item in items:
        if not isinstance(item, str) or not _NAME_RE.match(item):
            raise ValueError(f"{what}: {item!r} is not a valid resource name")
    return ",".join(items)


def _choice(what: str, value: str, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise ValueError(f"{what} must be one of {', '.join(allowed)}; got {value!r}")
    return value


def _flag(what: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{what} must be True or False, got {value!r}")
    return value


def _audio_params(params: Dict[str, object], media_encoding: str, sample_rate: int,
                  number_of_channels: int, enable_channel_identification: bool,
                  show_speaker_label: bool, session_id: Optional[str]) -> None:
    params["media-encoding"] = _choice("media-encoding", media_encoding, MEDIA_ENCODINGS)
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int) or not 8000 <= sample_rate <= 48000:
        raise ValueError(f"sample-rate must be an int from 8000 to 48000 Hz, got {sample_rate!r}")
    params["sample-rate"] = sample_rate
    if number_of_channels not in (1, 2) or isinstance(number_of_channels, bool):
        raise ValueError(f"number-of-channels must be 1 or 2, got {number_of_channels!r}")
    if _flag("enable-channel-identification", enable_channel_identification):
        if number_of_channels != 2:
            raise ValueError("enable-channel-identification needs number-of-channels=2")
        params["enable-channel-identification"] = True
    if number_of_channels == 2:
        params["number-of-channels"] = 2
    if _flag("show-speaker-label", show_speaker_label):
        params["show-speaker-label"] = True
    if session_id is not None:
        try:
            params["session-id"] = str(uuid.UUID(str(session_id)))
        except ValueError:
            raise ValueError(f"session-id must be a UUID, got {session_id!r}") from None


def _url(endpoint: Optional[str], region: str, *, medical: bool, fips: bool) -> str:
    """The endpoint to sign: the regional one, or an override (its path defaults to the API's)."""
    if endpoint is None:
        return endpoint_for(region, medical=medical, fips=fips)
    parts = urlsplit(endpoint)
    if parts.scheme not in ("wss", "ws", "https", "http") or not parts.hostname:
        raise ValueError(f"endpoint {endpoint!r} must be a ws(s):// or http(s):// URL with a host")
    if parts.query or parts.fragment:
        raise ValueError(f"endpoint {endpoint!r} must not carry a query or fragment")
    if parts.path in ("", "/"):
        return endpoint.rstrip("/") + (MEDICAL_STREAM_PATH if medical else STREAM_PATH)
    return endpoint


def _sign(url: str, region: str, credentials: Credentials, params: Dict[str, object],
          expires: int, now: Optional[_dt.datetime]) -> str:
    if isinstance(expires, bool) or not isinstance(expires, int) or not 1 <= expires <= MAX_EXPIRES:
        raise ValueError(f"expires must be an int from 1 to {MAX_EXPIRES} seconds, got {expires!r}")
    return presign_url(url, service=SERVICE, region=region, credentials=credentials,
                       expires=expires, now=now, params=params)


def stream_params(
    *,
    language_code: Optional[str] = None,
    identify_language: bool = False,
    identify_multiple_languages: bool = False,
    language_options: Optional[Sequence[str]] = None,
    preferred_language: Optional[str] = None,
    media_encoding: str = "pcm",
    sample_rate: int = 16000,
    number_of_channels: int = 1,
    enable_channel_identification: bool = False,
    show_speaker_label: bool = False,
    enable_partial_results_stabilization: bool = False,
    partial_results_stability: Optional[str] = None,
    vocabulary_name: Optional[str] = None,
    vocabulary_names: Optional[Sequence[str]] = None,
    vocabulary_filter_name: Optional[str] = None,
    vocabulary_filter_names: Optional[Sequence[str]] = None,
    vocabulary_filter_method: Optional[str] = None,
    language_model_name: Optional[str] = None,
    content_identification_type: Optional[str] = None,
    content_redaction_type: Optional[str] = None,
    pii_entity_types: Union[str, Sequence[str], None] = None,
    session_id: Optional[str] = None,
) -> Dict[str, object]:
    """The parameters of a StartStreamTranscription, by their wire names, validated.

    The WebSocket API takes them in the presigned URL's query (:func:`presigned_url`), the
    HTTP/2 API as ``x-amzn-transcribe-*`` headers. Exactly one of ``language_code``,
    ``identify_language`` and ``identify_multiple_languages`` is required; the last two
    need at least two ``language_options``.

    Raises:
        ValueError: a value or combination Transcribe would refuse; the message names
            the parameter.
    """
    params: Dict[str, object] = {}
    chosen = [n for n, on in (("language-code", language_code is not None),
                              ("identify-language", _flag("identify-language", identify_language)),
                              ("identify-multiple-languages",
                               _flag("identify-multiple-languages", identify_multiple_languages))) if on]
    if len(chosen) != 1:
        raise ValueError("give exactly one of language-code, identify-language and "
                         f"identify-multiple-languages (got {', '.join(chosen) or 'none'})")
    identifying = language_code is None
    if language_code is not None:
        params["language-code"] = _language("language-code", language_code)
    else:
        params[chosen[0]] = True
    options: List[str] = []
    if language_options is not None:
        if not identifying:
            raise ValueError("language-options goes with identify-language or identify-multiple-languages")
        options = [_language("language-options", o) for o in language_options]
        if len(options) < 2 or len(set(options)) != len(options):
            raise ValueError("language-options needs at least two different language codes")
        params["language-options"] = ",".join(options)
    elif identifying:
        raise ValueError(f"{chosen[0]} needs language-options (at least two language codes)")
    if preferred_language is not None:
        if preferred_language not in options:
            raise ValueError("preferred-language must be one of the language-options")
        params["preferred-language"] = preferred_language

    _audio_params(params, media_encoding, sample_rate, number_of_channels,
                  enable_channel_identification, show_speaker_label, session_id)

    if _flag("enable-partial-results-stabilization", enable_partial_results_stabilization):
        params["enable-partial-results-stabilization"] = True
    if partial_results_stability is not None:
        if not enable_partial_results_stabilization:
            raise ValueError("partial-results-stability needs enable-partial-results-stabilization")
        params["partial-results-stability"] = _choice("partial-results-stability",
                                                      partial_results_stability, STABILITY)

    for single, plural, value, values in (
        ("vocabulary-name", "vocabulary-names", vocabulary_name, vocabulary_names),
        ("vocabulary-filter-name", "vocabulary-filter-names", vocabulary_filter_name, vocabulary_filter_names),
    ):
        if value is not None and values is not None:
            raise ValueError(f"give {single} or {plural}, not both")
        if value is not None:
            params[single] = _names(single, value)
        if values is not None:
            if not identifying:
                raise ValueError(f"{plural} goes with language identification; use {single}")
            params[plural] = _names(plural, values)
    if vocabulary_filter_method is not None:
        if vocabulary_filter_name is None and vocabulary_filter_names is None:
            raise ValueError("vocabulary-filter-method needs vocabulary-filter-name(s)")
        params["vocabulary-filter-method"] = _choice("vocabulary-filter-method",
                                                     vocabulary_filter_method, FILTER_METHODS)
    if language_model_name is not None:
        if identifying:
            raise ValueError("language-model-name needs a fixed language-code")
        params["language-model-name"] = _names("language-model-name", language_model_name)

    if content_identification_type is not None and content_redaction_type is not None:
        raise ValueError("give content-identification-type or content-redaction-type, not both")
    for name, value in (("content-identification-type", content_identification_type),
                        ("content-redaction-type", content_redaction_type)):
        if value is not None:
            params[name] = _choice(name, value, ("PII",))
    if pii_entity_types is not None:
        if content_identification_type is None and content_redaction_type is None:
            raise ValueError("pii-entity-types needs content-identification-type or content-redaction-type")
        types = pii_entity_types.split(",") if isinstance(pii_entity_types, str) else list(pii_entity_types)
        for t in types:
            if not isinstance(t, str) or not re.match(r"^[A-Z_]{2,40}$", t):
                raise ValueError(f"pii-entity-types: {t!r} is not an entity type like NAME or ADDRESS")
        params["pii-entity-types"] = ",".join(types)

    return params


def presigned_url(
    *,
    region: str,
    credentials: Credentials,
    language_code: Optional[str] = None,
    identify_language: bool = False,
    identify_multiple_languages: bool = False,
    language_options: Optional[Sequence[str]] = None,
    preferred_language: Optional[str] = None,
    media_encoding: str = "pcm",
    sample_rate: int = 16000,
    number_of_channels: int = 1,
    enable_channel_identification: bool = False,
    show_speaker_label: bool = False,
    enable_partial_results_stabilization: bool = False,
    partial_results_stability: Optional[str] = None,
    vocabulary_name: Optional[str] = None,
    vocabulary_names: Optional[Sequence[str]] = None,
    vocabulary_filter_name: Optional[str] = None,
    vocabulary_filter_names: Optional[Sequence[str]] = None,
    vocabulary_filter_method: Optional[str] = None,
    language_model_name: Optional[str] = None,
    content_identification_type: Optional[str] = None,
    content_redaction_type: Optional[str] = None,
    pii_entity_types: Union[str, Sequence[str], None] = None,
    session_id: Optional[str] = None,
    expires: int = MAX_EXPIRES,
    endpoint: Optional[str] = None,
    fips: bool = False,
    now: Optional[_dt.datetime] = None,
) -> str:
    """A presigned ``wss://`` URL that opens an Amazon Transcribe streaming session.

    The parameters are :func:`stream_params`'. ``endpoint`` overrides the regional
    endpoint (another partition, a VPC endpoint, a local test server); ``fips`` picks the
    FIPS one.

    Raises:
        ValueError: a value or combination Transcribe would refuse; the message names
            the query parameter.
    """
    params = stream_params(language_code=language_code, identify_language=identify_language, identify_multiple_languages=identify_multiple_languages, language_options=language_options, preferred_language=preferred_language, media_encoding=media_encoding, sample_rate=sample_rate, number_of_channels=number_of_channels, enable_channel_identification=enable_channel_identification, show_speaker_label=show_speaker_label, enable_partial_results_stabilization=enable_partial_results_stabilization, partial_results_stability=partial_results_stability, vocabulary_name=vocabulary_name, vocabulary_names=vocabulary_names, vocabulary_filter_name=vocabulary_filter_name, vocabulary_filter_names=vocabulary_filter_names, vocabulary_filter_method=vocabulary_filter_method, language_model_name=language_model_name, content_identification_type=content_identification_type, content_redaction_type=content_redaction_type, pii_entity_types=pii_entity_types, session_id=session_id)
    return _sign(_url(endpoint, region, medical=False, fips=fips), region, credentials, params, expires, now)


def medical_presigned_url(
    *,
    region: str,
    credentials: Credentials,
    specialty: str,
    type: str,
    language_code: str = "en-US",
    media_encoding: str = "pcm",
    sample_rate: int = 16000,
    number_of_channels: int = 1,
    enable_channel_identification: bool = False,
    show_speaker_label: bool = False,
    vocabulary_name: Optional[str] = None,
    content_identification_type: Optional[str] = None,
    session_id: Optional[str] = None,
    expires: int = MAX_EXPIRES,
    endpoint: Optional[str] = None,
    fips: bool = False,
    now: Optional[_dt.datetime] = None,
) -> str:
    """A presigned URL for Amazon Transcribe Medical streaming (``specialty``, ``type``)."""
    params = medical_stream_params(specialty=specialty, type=type, language_code=language_code,
                                   media_encoding=media_encoding, sample_rate=sample_rate,
                                   number_of_channels=number_of_channels,
                                   enable_channel_identification=enable_channel_identification,
                                   show_speaker_label=show_speaker_label, vocabulary_name=vocabulary_name,
                                   content_identification_type=content_identification_type, session_id=session_id)
    return _sign(_url(endpoint, region, medical=True, fips=fips), region, credentials, params, expires, now)


def medical_stream_params(
    *,
    specialty: str,
    type: str,
    language_code: str = "en-US",
    media_encoding: str = "pcm",
    sample_rate: int = 16000,
    number_of_channels: int = 1,
    enable_channel_identification: bool = False,
    show_speaker_label: bool = False,
    vocabulary_name: Optional[str] = None,
    content_identification_type: Optional[str] = None,
    session_id: Optional[str] = None,
) -> Dict[str, object]:
    """The parameters of a StartMedicalStreamTranscription, by their wire names, validated."""
    if language_code != "en-US":
        raise ValueError(f"language-code must be en-US for Transcribe Medical, got {language_code!r}")
    params: Dict[str, object] = {
        "language-code": language_code,
        "specialty": _choice("specialty", specialty, MEDICAL_SPECIALTIES),
        "type": _choice("type", type, MEDICAL_TYPES),
    }
    _audio_params(params, media_encoding, sample_rate, number_of_channels,
                  enable_channel_identification, show_speaker_label, session_id)
    if vocabulary_name is not None:
        params["vocabulary-name"] = _names("vocabulary-name", vocabulary_name)
    if content_identification_type is not None:
        params["content-identification-type"] = _choice("content-identification-type",
                                                        content_identification_type, ("PHI",))
    return params
