"""The HTTP/2 API (``StartStreamTranscription``) of the fake server, over the ``h2`` library.

The request is ``POST /stream-transcription`` (``/medical-stream-transcription``), signed
with SigV4 in its headers over the payload hash ``STREAMING-AWS4-HMAC-SHA256-EVENTS``; its
parameters are ``x-amzn-transcribe-*`` headers (the model's httpHeader bindings); the body
is a chain of signed envelopes (``:date``, ``:chunk-signature``) around AudioEvent frames,
seeded by the request's signature. A request the service refuses gets an HTTP error with
``x-amzn-errortype`` and a JSON ``{"Message": ...}`` body, as restJson1 operations answer;
an accepted one gets ``200`` with the parameters echoed, ``x-amzn-request-id`` and
``x-amzn-transcribe-session-id``, then the result stream.
"""

from __future__ import annotations

import json
import ssl
from typing import TYPE_CHECKING, Dict, Optional, Tuple

from ..auth import EMPTY_SHA256, STREAMING_PAYLOAD, verify_signed_request
from ..errors import EventStreamError
from ._connection import SessionRecord, auth_refusal
from ._h2server import H2Link, H2Server, H2Stream, h2
from ._stream import Refusal, Settings

if TYPE_CHECKING:
    from ._server import FakeTranscribeServer

_PATHS = {"/stream-transcription": False, "/medical-stream-transcription": True}
_PREFIX = "x-amzn-transcribe-"
# The headers the server acts on: a request carrying one of them unsigned is refused (403
# InvalidSignatureException; the service's text for it is undocumented), so that a header
# nobody signed (a session-id that would end another client's stream) is never trusted.
_MUST_SIGN = (_PREFIX, "x-amz-content-sha256", "x-amz-security-token")
_STATUS = {"BadRequestException": 400, "LimitExceededException": 429, "InternalFailureException": 500,
           "ConflictException": 409, "ServiceUnavailableException": 503, "UnrecognizedClientException": 403,
           "AccessDeniedException": 403, "InvalidSignatureException": 403}
_DENIED = ("User: {principal} is not authorized to perform: transcribe:StartStreamTranscription "
           "because no identity-based policy allows the transcribe:StartStreamTranscription action")


class HTTP2FrontEnd(H2Server):
    """Serves ``StartStreamTranscription`` over HTTP/2: TLS with ALPN ``h2``, or prior knowledge."""

    def __init__(self, core: "FakeTranscribeServer", ssl_context: Optional[ssl.SSLContext]) -> None:
        super().__init__(ssl_context)
        self.core = core

    def new_record(self, path: str) -> SessionRecord:
        record = SessionRecord(path=path, transport="http2")
        self.core.sessions.append(record)
        return record

    def fail(self, link: H2Link, stream: H2Stream, exc: BaseException) -> None:
        self._error(link, stream.stream_id, stream.record, "InternalFailureException",
                    f"The fake server failed: {exc!r}")

    async def handle(self, link: H2Link, stream: H2Stream, headers: Optional[Dict[str, str]]) -> None:
        core = self.core
        stream_id, record = stream.stream_id, stream.record
        if headers is None:
            self._error(link, stream_id, record, "BadRequestException", "A request header is not valid UTF-8.")
            return
        path = record.path
        medical = _PATHS.get(path.split("?", 1)[0])
        if headers.get(":method") != "POST" or medical is None:
            record.error, record.reason = "404", f"no such operation: {headers.get(':method')} {path}"
            stream.closing = True
            try:
                link.respond(stream_id, 404, [("content-type", "text/plain")], f"{record.reason}\n".encode())
            except h2.exceptions.H2Error:
                link.reset_stream(stream_id)
            return
        record.params = {k[len(_PREFIX):].replace("_", "-"): v for k, v in headers.items() if k.startswith(_PREFIX)}
        refusal, seed = self._verify(headers)
        if refusal is not None:
            self._error(link, stream_id, record, *refusal)
            return
        try:
            Settings.from_params(record.params, medical=medical)
        except Refusal as exc:
            self._error(link, stream_id, record, exc.exception_type, exc.message)
            return
        core.new_ids(record)
        echoed = [(k, v) for k, v in headers.items() if k.startswith(_PREFIX) and k != f"{_PREFIX}session-id"]
        link.respond(stream_id, 200, [("content-type", "application/vnd.amazon.eventstream"),
                                      ("x-amzn-request-id", str(record.request_id)),
                                      (f"{_PREFIX}session-id", str(record.session_id)), *echoed], None)
        await core.serve(stream, record, medical=medical, seed_signature=seed, signed=True)

    def _verify(self, headers: Dict[str, str]) -> Tuple[Optional[Tuple[str, str]], Optional[str]]:
        core = self.core
        authority = core.authority(headers.get(":authority") or headers.get("host"))
        if authority is None:
            return ("BadRequestException", "The :authority header does not name this server."), None
        signed = {k: v for k, v in headers.items() if not k.startswith(":")}
        signed["host"] = authority
        scheme = "https" if self.ssl_context else "http"
        url = f"{scheme}://{authority}{headers[':path']}"
        # The payload hash of an event stream is STREAMING-AWS4-HMAC-SHA256-EVENTS; the
        # amazon-transcribe SDK signs over the empty body's hash instead, and the service
        # takes both (an X-Amz-Content-SHA256 header, when sent, decides).
        failure: Optional[EventStreamError] = None
        for payload_hash in (STREAMING_PAYLOAD, EMPTY_SHA256):
            try:
                seed = verify_signed_request("POST", url, signed, credentials=core.credentials, service="transcribe",
                                             region=core.region, max_skew=core.max_skew, payload_hash=payload_hash,
                                             must_sign=_MUST_SIGN)
                break
            except EventStreamError as exc:
                failure = failure or exc
        else:
            assert failure is not None
            kind, message = auth_refusal(failure)
            # Over HTTP/2 a signature that does not verify is an HTTP 403 InvalidSignatureException.
            return ("InvalidSignatureException" if kind == "BadRequestException" else kind, message), None
        return core.check_access(core.credentials.access_key, _DENIED), seed

    def _error(self, link: H2Link, stream_id: int, record: SessionRecord, kind: str, message: str) -> None:
        record.error, record.reason = kind, message
        link.streams[stream_id].closing = True
        body = json.dumps({"Message": message}, separators=(",", ":")).encode()
        try:
            link.respond(stream_id, _STATUS.get(kind, 400), [("content-type", "application/json"),
                                                             ("x-amzn-errortype", kind)], body)
        except h2.exceptions.H2Error:  # the stream is gone, or its window is shut: drop it
            link.reset_stream(stream_id)


