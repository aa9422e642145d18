"""A fake Amazon Transcribe streaming service for tests, on loopback.

Point an unmodified client at it, changing only the address: our
:class:`~aws_eventstream.transcribe.TranscribeSession`, pipecat's
``AWSTranscribeSTTService`` (WebSocket API), or the ``amazon-transcribe`` SDK and other
HTTP/2 clients (``StartStreamTranscription``, with ``http2=True``). It behaves like the
service where a client can tell:

- **The handshake.** The presigned URL (or the HTTP/2 request's SigV4 ``Authorization``)
  is verified; a failure is an exception frame after the upgrade, as the guide documents:
  ``UnrecognizedClientException`` for an unknown access key, ``BadRequestException`` for a
  signature mismatch or an expired URL, ``AccessDeniedException`` naming
  ``transcribe:StartStreamTranscriptionWebSocket`` when ``authorize`` says no
  (``auth_failure="http"`` answers HTTP 403 instead). A ``Sec-WebSocket-Key`` sent twice is
  accepted, the first one answered. The 101 carries ``x-amzn-RequestId``,
  ``x-amzn-SessionId`` (the ``session-id`` given, or a new UUID), ``websocket-origin`` and
  ``websocket-location``.
- **What it refuses**, with ``BadRequestException`` frames (compact JSON, ``{"Message":...}``):
  parameters the model's validation refuses (a language code not in the model's enum, a
  sample rate outside 8-48 kHz...), a text WebSocket message ("Unexpected WebSocket frame
  received."), a corrupt or non-AudioEvent frame, an AudioEvent whose ``:content-type`` is
  not ``application/octet-stream``, a chunk of more than 1 s of audio, a bad signed envelope,
  and 15 s without audio ("Your request timed out because no new audio was received for
  15 seconds."). A second stream with a live stream's ``session-id`` ends the first with
  ``ConflictException``. Any exception can be injected at a chosen point (:class:`Fault`).
- **The results.** What it "hears" is a :class:`Script` of timed words (a text, or
  ``(start_s, end_s, word)`` tuples, with speaker, channel, language and PII
  annotations), cut as audio time advances. Audio time comes from the bytes: PCM by its
  sample rate and channels, Ogg Opus by granule positions, FLAC by frame headers. A word
  shows in a partial result once its end has been heard; a segment is final after a pause
  of ``segment_pause`` or when the audio ends. ResultIds are random UUIDs (``seed`` makes
  them repeat). ``Stable`` appears only with partial-results stabilization; final items
  carry ``Confidence``; punctuation is its own item; ``Speaker`` (on final results) with
  ``show-speaker-label``; ``Entities`` (final results) with PII identification, and
  ``[TYPE]`` in place of the words with redaction; ``LanguageCode`` and
  ``LanguageIdentification`` with language identification; results of both channels,
  ``ch_0`` and ``ch_1``, with channel identification. An event holds one result per
  channel, and silence brings empty ``Results`` events.
- **Pacing.** ``pacing="audio"`` (the default, deterministic) sends each result as soon as
  the audio that makes it due has arrived; ``pacing="realtime"`` sends it when real time,
  counted from the first audio, reaches its audio time plus ``latency``.

Sources of truth (each fact is listed with its source in :mod:`._facts`):

- the Smithy model of ``transcribe-streaming`` (2017-10-26): the LanguageCode enum (99
  codes), the parameters and their constraints, the exception shapes and their
  documentation, ``AudioEvent.AudioChunk`` (at most 1 s of audio), the Item, Result,
  Entity and LanguageWithScore shapes, the HTTP/2 operation's header bindings;
- the Amazon Transcribe Developer Guide: "Setting up a WebSocket stream" (the 101's
  headers, exception frames, ``UnrecognizedClientException``), "Setting up an HTTP/2
  stream" (the signed envelopes), "Partial-result stabilization", "Partitioning speakers
  (diarization)" (labels on finished segments only), "Redacting or identifying PII in a
  real-time stream" (final results only; en-US, en-GB, en-AU, es-US; not with language
  identification), "Identifying the dominant languages" and "Channel identification";
- the service's own answers as users report them, where the guide prints none: the
  texts of the authentication failures and of the 15-second silence timeout.

Undocumented behaviour is marked where it is defined and is an option here:
``auth_failure`` (frame or HTTP 403), ``silence_events`` (how often silence brings an
empty event), ``Script.segment_pause`` (the pause that ends a segment), ``latency``, the
exception type and text for an over-long chunk and an expired URL, and ``ChannelId`` on
every result.

Needs the ``websockets`` package (``pip install "aws-eventstream[websockets]"``), and
``h2`` for the HTTP/2 API::

    script = Script.from_text("Hi, I'm Jane.", pii={"Jane": "NAME"})
    async with FakeTranscribeServer(credentials=creds, transcript=script) as server:
        url = server.presigned_url(language_code="en-US", content_redaction_type="PII")
        async with transcribe.TranscribeSession(url) as session:
            ...
"""

from __future__ import annotations

from ._bedrock import BedrockFault, BedrockSessionRecord, FakeBedrockServer, NovaSonic
from ._connection import SessionRecord
from ._script import Script, Word
from ._server import FakeTranscribeServer, Fault
from ._stream import exception_frame, transcript_event, transcript_frame

__all__ = ["FakeTranscribeServer", "FakeBedrockServer", "BedrockSessionRecord", "BedrockFault", "NovaSonic",
           "SessionRecord", "Script", "Word", "Fault", "exception_frame",
           "transcript_event", "transcript_frame"]
