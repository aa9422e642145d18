"""What the fake server knows of the real service, each fact with its source.

Sources: the Smithy model of ``transcribe-streaming`` (2017-10-26; botocore ships it as
``botocore/data/transcribe-streaming/2017-10-26/service-2.json``) and the Amazon
Transcribe Developer Guide, sections "Transcribing streaming audio", "Setting up a
WebSocket stream", "Streaming and partial results", "Redacting or identifying PII in
a real-time stream", "Identifying the language of streaming media", "Channel
identification" and "Partitioning speakers (diarization)". Anything the fake does that
these do not say is marked *undocumented* where it is defined, and can be changed.
"""

from __future__ import annotations

from typing import Dict

# The LanguageCode enum of StartStreamTranscription (and of LanguageOptions), 99 codes.
# The guide's supported-languages table says which of them take streaming audio today.
LANGUAGES = (
    "en-US", "en-GB", "es-US", "fr-CA", "fr-FR", "en-AU", "it-IT", "de-DE", "pt-BR", "ja-JP",
    "ko-KR", "zh-CN", "th-TH", "es-ES", "ar-SA", "pt-PT", "ca-ES", "ar-AE", "hi-IN", "zh-HK",
    "nl-NL", "no-NO", "sv-SE", "pl-PL", "fi-FI", "zh-TW", "en-IN", "en-IE", "en-NZ", "en-AB",
    "en-ZA", "en-WL", "de-CH", "af-ZA", "eu-ES", "hr-HR", "cs-CZ", "da-DK", "fa-IR", "gl-ES",
    "el-GR", "he-IL", "id-ID", "lv-LV", "ms-MY", "ro-RO", "ru-RU", "sr-RS", "sk-SK", "so-SO",
    "tl-PH", "uk-UA", "vi-VN", "zu-ZA", "am-ET", "be-BY", "bg-BG", "bn-IN", "bs-BA", "ckb-IQ",
    "ckb-IR", "cy-WL", "es-MX", "et-ET", "fa-AF", "gu-IN", "ht-HT", "hu-HU", "hy-AM", "is-IS",
    "jv-ID", "ka-GE", "kab-DZ", "kk-KZ", "km-KH", "kn-IN", "lg-IN", "lt-LT", "mk-MK", "ml-IN",
    "mr-IN", "my-MM", "ne-NP", "or-IN", "pa-IN", "ps-AF", "si-LK", "sl-SI", "sq-AL", "su-ID",
    "sw-BI", "sw-KE", "sw-RW", "sw-TZ", "sw-UG", "ta-IN", "te-IN", "tr-TR", "uz-UZ",
)
# StartMedicalStreamTranscription: LanguageCode, Specialty, Type.
MEDICAL_LANGUAGES = ("en-US",)
SPECIALTIES = ("PRIMARYCARE", "CARDIOLOGY", "NEUROLOGY", "ONCOLOGY", "RADIOLOGY", "UROLOGY")
TYPES = ("CONVERSATION", "DICTATION")

# The exception shapes of the event stream (TranscriptResultStream) and the model's
# documentation of each, used as the default message of an injected fault.
EXCEPTIONS: Dict[str, str] = {
    "BadRequestException": "One or more arguments to the StartStreamTranscription, StartMedicalStreamTranscription, "
                           "or StartCallAnalyticsStreamTranscription operation was not valid. For example, "
                           "MediaEncoding or LanguageCode used unsupported values. Check the specified "
                           "parameters and try your request again.",
    "LimitExceededException": "Your client has exceeded one of the Amazon Transcribe limits, typically the "
                              "concurrent stream service quota. This error can also occur if a stream exceeds "
                              "the maximum session duration. In rare cases, this error can also occur if you "
                              "increase your number of concurrent streams too quickly. Reduce your number of "
                              "concurrent streams and try your request again using an exponential backoff strategy.",
    "InternalFailureException": "A problem occurred while processing the audio. Amazon Transcribe terminated "
                                "processing.",
    "ConflictException": "A new stream started with the same session ID. The current stream has been terminated.",
    "ServiceUnavailableException": "The service is currently unavailable. Try your request later.",
}
# Authentication and authorization failures arrive as exception frames after the upgrade
# (Developer Guide, "Setting up a WebSocket stream", errors: UnrecognizedClientException for
# a wrong access key or secret). The message texts are the service's as users have reported
# them; the guide does not print them.
UNRECOGNIZED_CLIENT = ("UnrecognizedClientException", "The security token included in the request is invalid.")
SIGNATURE_MISMATCH = ("BadRequestException",
                      "The request signature we calculated does not match the signature you provided. Check your "
                      "AWS Secret Access Key and signing method. Consult the service documentation for details.")
EXPIRED = ("BadRequestException", "Signature expired: the presigned URL is no longer valid.")  # undocumented text
ACCESS_DENIED = ("AccessDeniedException",
                 "User: {principal} is not authorized to perform: transcribe:StartStreamTranscriptionWebSocket "
                 "because no identity-based policy allows the transcribe:StartStreamTranscriptionWebSocket action")

# AudioEvent.AudioChunk (API reference): at most 1 second of audio per chunk.
MAX_CHUNK_SECONDS = 1.0
# PII identification and redaction: these languages only, never with language identification.
PII_LANGUAGES = ("en-US", "en-GB", "en-AU", "es-US")
MAX_STREAM_SECONDS = 4 * 3600.0  # the session duration quota; LimitExceededException beyond it

TEXT_FRAME_MESSAGE = "Unexpected WebSocket frame received."
SILENCE_MESSAGE = "Your request timed out because no new audio was received for {seconds:g} seconds."
SILENCE_TIMEOUT = 15.0  # reported by users (BadRequestException); not in the guide
