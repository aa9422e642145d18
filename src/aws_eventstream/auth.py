"""AWS credentials and Signature Version 4 query presigning.

One implementation of SigV4 for the package: the presigned URLs here, and the
event-stream signing built on the same primitives.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import logging
import math
import numbers
import os
import re
from functools import lru_cache
from typing import Any, Callable, Dict, Iterable, Mapping, Optional, Sequence, Tuple, Union
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

from . import Encoder, Message, Timestamp, decode, encode
from .errors import SignatureError

__all__ = [
    "Credentials",
    "ResolvedCredentials",
    "resolve_credentials",
    "presign_url",
    "signing_key",
    "credential_scope",
    "canonical_query_string",
    "ALGORITHM",
    "EMPTY_SHA256",
    "STREAMING_PAYLOAD",
    "SignedRequest",
    "sign_request",
    "verify_presigned_url",
    "chunk_signature",
    "EventSigner",
    "EventVerifier",
]

logger = logging.getLogger(__name__)

ALGORITHM = "AWS4-HMAC-SHA256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_DEFAULT_REGION = "us-east-1"
_DEFAULT_PORTS = {"https": 443, "wss": 443, "http": 80, "ws": 80}
_REGION_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_SERVICE_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{0,62}$")


class Credentials:
    """An access key, its secret and an optional session token; immutable.

    ``repr`` and ``str`` show the access key id and whether a token is present, never
    the secret key or the token.
    """

    __slots__ = ("access_key", "secret_key", "session_token")

    access_key: str
    secret_key: str
    session_token: Optional[str]

    def __init__(self, access_key: str, secret_key: str, session_token: Optional[str] = None) -> None:
        for what, value in (("access_key", access_key), ("secret_key", secret_key)):
            if not isinstance(value, str):
                raise TypeError(f"{what} must be str, not {type(value).__name__}")
            if not value:
                raise ValueError(f"{what} is empty")
        if session_token is not None and not isinstance(session_token, str):
            raise TypeError(f"session_token must be str or None, not {type(session_token).__name__}")
        for what, text in (("access_key", access_key), ("secret_key", secret_key),
                           ("session_token", session_token)):
            if text:
                _check_text(what, text)
        object.__setattr__(self, "access_key", access_key)
        object.__setattr__(self, "secret_key", secret_key)
        object.__setattr__(self, "session_token", session_token or None)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Credentials are immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("Credentials are immutable")

    def __repr__(self) -> str:
        token = "present" if self.session_token else "absent"
        return f"Credentials(access_key={self.access_key!r}, secret_key=<hidden>, session_token=<{token}>)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Credentials):
            return NotImplemented
        return (self.access_key, self.secret_key, self.session_token) == (
            other.access_key, other.secret_key, other.session_token)

    def __hash__(self) -> int:
        return hash((self.access_key, self.secret_key, self.session_token))

    def __reduce__(self):
        return (Credentials, (self.access_key, self.secret_key, self.session_token))


def _check_text(where: str, value: str) -> None:
    """Refuse a credential that cannot be what AWS issued, saying where it came from.

    The message names the parameter or variable and what is wrong, never a character or
    a position: Python's own encoding errors quote both, and here they belong to a secret.
    """
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # bytes the locale could not decode, kept as surrogates
        raise ValueError(f"{where} is not valid UTF-8 text") from None
    if not value.isprintable():
        raise ValueError(f"{where} contains a control or other non-printable character "
                         "(a stray newline or tab?)")


class ResolvedCredentials:
    """What :func:`resolve_credentials` found: the credentials (or None), the region, and where."""

    __slots__ = ("credentials", "region", "source")

    credentials: Optional[Credentials]
    region: str
    source: str

    def __init__(self, credentials: Optional[Credentials], region: str, source: str) -> None:
        object.__setattr__(self, "credentials", credentials)
        object.__setattr__(self, "region", region)
        object.__setattr__(self, "source", source)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("ResolvedCredentials are immutable")

    def __repr__(self) -> str:
        return f"ResolvedCredentials({self.credentials!r}, region={self.region!r}, source={self.source!r})"


def _from_botocore() -> Tuple[Optional[str], Optional[str], Optional[str], str]:
    """Credentials from botocore's default chain (profiles, SSO, container and instance roles)."""
    try:
        import botocore.session
    except ImportError:
        logger.debug("botocore is not installed: the default credential chain is skipped")
        return None, None, None, "none"
    from botocore.exceptions import BotoCoreError

    try:
        found = botocore.session.Session().get_credentials()
        if found is None:
            return None, None, None, "none"
        frozen = found.get_frozen_credentials()
    except BotoCoreError as exc:  # an unknown AWS_PROFILE, a config file that does not parse, ...
        raise ValueError(f"botocore could not load credentials: {exc}") from None
    source = f"botocore:{found.method}"
    for what, text in (("access key", frozen.access_key), ("secret key", frozen.secret_key),
                       ("session token", frozen.token)):
        if text:
            _check_text(f"the {what} from {source}", text)
    return frozen.access_key, frozen.secret_key, frozen.token, source


def _from_environment(variable: str) -> Optional[str]:
    value = os.environ.get(variable) or None
    if value is not None:
        _check_text(variable, value)
    return value


def _resolve_parts(
    access_key: Optional[str], secret_key: Optional[str], session_token: Optional[str],
    region: Optional[str], default_chain: bool,
) -> Tuple[Optional[str], Optional[str], Optional[str], str, str]:
    """The resolution order shared with ``aws_eventstream.utils``.

    Each of key, secret and token: the explicit value, else its environment variable.
    Region: explicit, ``AWS_REGION``, ``AWS_DEFAULT_REGION``, then ``us-east-1``. Only when
    both key and secret are still missing is botocore's default chain asked.

    Raises:
        ValueError: a value read from the environment or botocore is not usable text, or
            botocore's chain failed (e.g. an unknown profile).
    """
    env = os.environ
    key = access_key or _from_environment("AWS_ACCESS_KEY_ID")
    secret = secret_key or _from_environment("AWS_SECRET_ACCESS_KEY")
    token = session_token or _from_environment("AWS_SESSION_TOKEN")
    where = region or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or _DEFAULT_REGION
    if key is None and secret is None:
        if not default_chain:
            return None, None, None, where, "none"
        key, secret, token, source = _from_botocore()
        return key, secret, token, where, source
    if access_key and secret_key:
        return key, secret, token, where, "explicit"
    if not (access_key or secret_key):
        return key, secret, token, where, "environment"
    return key, secret, token, where, "explicit+environment"


def resolve_credentials(
    *,
    access_key: Optional[str] = None,
    secret_key: Optional[str] = None,
    session_token: Optional[str] = None,
    region: Optional[str] = None,
    default_chain: bool = True,
) -> ResolvedCredentials:
    """Find credentials and a region: explicit values, then the environment, then botocore.

    botocore is optional; without it the default chain is skipped (logged at debug level).

    Returns:
        ResolvedCredentials whose ``credentials`` is None when nothing was found.

    Raises:
        ValueError: only one of the access key and the secret key was found; a value is
            not usable text (the message names its variable, never its content); or
            botocore's chain failed (an unknown profile, a config file that does not parse).
    """
    key, secret, token, where, source = _resolve_parts(
        access_key, secret_key, session_token, region, default_chain)
    if key is None and secret is None:
        return ResolvedCredentials(None, where, "none")
    if key is None or secret is None:
        missing = "AWS_ACCESS_KEY_ID" if key is None else "AWS_SECRET_ACCESS_KEY"
        raise ValueError(f"incomplete credentials: {missing} (or its parameter) is missing")
    return ResolvedCredentials(Credentials(key, secret, token), where, source)


# --------------------------------------------------------------------------- SigV4


def _utc_now(now: Optional[_dt.datetime]) -> _dt.datetime:
    if now is None:
        return _dt.datetime.now(_dt.timezone.utc)
    if not isinstance(now, _dt.datetime):
        raise TypeError(f"now must be a datetime, not {type(now).__name__}")
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    return now.astimezone(_dt.timezone.utc)


def amz_date(now: Optional[_dt.datetime] = None) -> Tuple[str, str]:
    """(``X-Amz-Date`` timestamp, date stamp) for an aware datetime (default: now)."""
    utc = _utc_now(now)
    return utc.strftime("%Y%m%dT%H%M%SZ"), utc.strftime("%Y%m%d")


@lru_cache(maxsize=64)
def signing_key(secret_key: str, datestamp: str, region: str, service: str) -> bytes:
    """The SigV4 signing key for one day, region and service (cached)."""
    key = hmac.new(b"AWS4" + secret_key.encode("utf-8"), datestamp.encode("ascii"), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    return key


def credential_scope(datestamp: str, region: str, service: str) -> str:
    """``<date>/<region>/<service>/aws4_request``."""
    return f"{datestamp}/{region}/{service}/aws4_request"


def hmac_sha256(key: bytes, message: Union[str, bytes]) -> bytes:
    if isinstance(message, str):
        message = message.encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).digest()


def _uri_encode(value: str) -> str:
    """RFC 3986 percent-encoding: everything but unreserved characters."""
    return quote(value, safe="-_.~")


def canonical_query_string(params: Iterable[Tuple[str, str]]) -> str:
    """Every key and value RFC 3986 encoded, sorted by key then value, joined with ``&``."""
    encoded = sorted((_uri_encode(k), _uri_encode(v)) for k, v in params)
    return "&".join(f"{k}={v}" for k, v in encoded)


def _canonical_request(method: str, path: str, canonical_query: str, headers: Mapping[str, str],
                       payload_hash: str) -> Tuple[str, str]:
    """(canonical request, signed header names) for SigV4; header names must be lowercase."""
    names = sorted(headers)
    canonical_headers = "".join(f"{k}:{' '.join(str(headers[k]).split())}\n" for k in names)
    signed = ";".join(names)
    request = "\n".join((method.upper(), quote(path, safe="/~"), canonical_query, canonical_headers,
                         signed, payload_hash))
    return request, signed


def _signature(secret_key: str, stamp: str, region: str, service: str,
               canonical: Tuple[str, str]) -> str:
    """The hex SigV4 signature of a canonical request made at ``stamp`` (``X-Amz-Date``)."""
    datestamp = stamp[:8]
    string_to_sign = "\n".join((ALGORITHM, stamp, credential_scope(datestamp, region, service),
                                hashlib.sha256(canonical[0].encode("utf-8")).hexdigest()))
    return hmac.new(signing_key(secret_key, datestamp, region, service),
                    string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def _max_skew(value: object, *, optional: bool) -> Optional[float]:
    """``max_skew`` as seconds; None only where the check may be turned off (``optional``)."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        allowed = "a number of seconds or None" if optional else "a number of seconds"
        raise TypeError(f"max_skew must be {allowed}, not {type(value).__name__}")
    try:
        seconds = float(value)
    except OverflowError:
        seconds = math.inf
    # NaN compares false with everything: it would turn the future-date check off unnoticed.
    if not 0 <= seconds < math.inf:
        hint = "; None turns the check off" if optional else ""
        raise ValueError(f"max_skew must be a finite number of seconds, 0 or more; got {value!r}{hint}")
    return seconds


def _check_name(what: str, value: str, pattern: "re.Pattern[str]") -> None:
    if not isinstance(value, str) or not pattern.match(value):
        raise ValueError(f"{what} {value!r} is not a valid AWS {what}")


def _host(parts) -> str:
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    port = parts.port
    if port is not None and port != _DEFAULT_PORTS.get(parts.scheme.lower()):
        host = f"{host}:{port}"
    return host


def _param_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def presign_url(
    url: str,
    *,
    service: str,
    region: str,
    credentials: Credentials,
    expires: int = 300,
    now: Optional[_dt.datetime] = None,
    params: Union[Mapping[str, object], Sequence[Tuple[str, object]], None] = None,
    method: str = "GET",
) -> str:
    """Presign ``url`` with SigV4 in its query string (``X-Amz-*`` parameters).

    Args:
        url: the endpoint, with or without a query of its own (kept and signed).
        service, region: the signing scope (e.g. ``"transcribe"``, ``"us-west-2"``).
        credentials: the :class:`Credentials` to sign with; a session token is added
            as ``X-Amz-Security-Token``.
        expires: seconds the URL stays valid, 1 to 604800.
        now: the signing time, an aware datetime (default: the current UTC time).
        params: more query parameters; booleans become ``true``/``false``.
        method: the HTTP method the URL will be used with.

    Returns:
        The URL with its canonical (sorted, RFC 3986 encoded) query and ``X-Amz-Signature``.
    """
    if not isinstance(credentials, Credentials):
        raise TypeError(f"credentials must be Credentials, not {type(credentials).__name__}")
    _check_name("region", region, _REGION_RE)
    _check_name("service", service, _SERVICE_RE)
    if isinstance(expires, bool) or not isinstance(expires, int) or not 1 <= expires <= 604800:
        raise ValueError(f"expires must be an int from 1 to 604800 seconds, got {expires!r}")
    parts = urlsplit(url)
    if not parts.scheme or not parts.hostname:
        raise ValueError(f"url {url!r} needs a scheme and a host")
    stamp, datestamp = amz_date(now)
    scope = credential_scope(datestamp, region, service)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if params:
        items = params.items() if isinstance(params, Mapping) else params
        query += [(k, _param_value(v)) for k, v in items]
    for key, _ in query:
        if key.lower().startswith("x-amz-"):
            raise ValueError(f"query parameter {key!r} is reserved for the signature")
    query += [
        ("X-Amz-Algorithm", ALGORITHM),
        ("X-Amz-Credential", f"{credentials.access_key}/{scope}"),
        ("X-Amz-Date", stamp),
        ("X-Amz-Expires", str(expires)),
        ("X-Amz-SignedHeaders", "host"),
    ]
    if credentials.session_token:
        query.append(("X-Amz-Security-Token", credentials.session_token))
    canonical_query = canonical_query_string(query)
    path = parts.path or "/"
    signature = _signature(credentials.secret_key, stamp, region, service, _canonical_request(
        method, path, canonical_query, {"host": _host(parts)}, EMPTY_SHA256))
    return urlunsplit((parts.scheme, parts.netloc, path, f"{canonical_query}&X-Amz-Signature={signature}", ""))


# --------------------------------------------------------------------------- signed requests

# Headers that proxies may rewrite; botocore leaves the same ones unsigned.
_UNSIGNED_HEADERS = frozenset((
    "authorization", "connection", "expect", "keep-alive", "proxy-authenticate", "proxy-authorization",
    "te", "trailer", "transfer-encoding", "upgrade", "user-agent", "x-amzn-trace-id",
))
STREAMING_PAYLOAD = "STREAMING-AWS4-HMAC-SHA256-EVENTS"


class SignedRequest:
    """Headers to send (with ``Authorization``) and the hex signature that seeds an event chain."""

    __slots__ = ("headers", "signature")

    def __init__(self, headers: Dict[str, str], signature: str) -> None:
        self.headers = headers
        self.signature = signature

    def __repr__(self) -> str:
        return f"<SignedRequest signature={self.signature[:12]}... headers={sorted(self.headers)}>"


def sign_request(
    method: str,
    url: str,
    *,
    service: str,
    region: str,
    credentials: Credentials,
    headers: Optional[Mapping[str, str]] = None,
    body: bytes = b"",
    payload_hash: Optional[str] = None,
    now: Optional[_dt.datetime] = None,
) -> SignedRequest:
    """Sign a request with SigV4 in its headers (``Authorization``, ``X-Amz-Date``, token).

    For a request that opens an HTTP/2 event stream pass
    ``payload_hash=STREAMING_PAYLOAD``; its signature then seeds :class:`EventSigner`.
    An ``X-Amz-Content-SHA256`` header, if given, is used as the payload hash.
    """
    if not isinstance(credentials, Credentials):
        raise TypeError(f"credentials must be Credentials, not {type(credentials).__name__}")
    _check_name("region", region, _REGION_RE)
    _check_name("service", service, _SERVICE_RE)
    parts = urlsplit(url)
    if not parts.scheme or not parts.hostname:
        raise ValueError(f"url {url!r} needs a scheme and a host")
    stamp, _ = amz_date(now)
    out = {k: v for k, v in (headers or {}).items() if k.lower() not in ("authorization", "x-amz-date",
                                                                            "x-amz-security-token")}
    out["X-Amz-Date"] = stamp
    if credentials.session_token:
        out["X-Amz-Security-Token"] = credentials.session_token
    signed = {k.lower(): v for k, v in out.items() if k.lower() not in _UNSIGNED_HEADERS}
    signed.setdefault("host", _host(parts))
    if payload_hash is None:
        payload_hash = signed.get("x-amz-content-sha256") or hashlib.sha256(body).hexdigest()
    canonical = _canonical_request(method, parts.path or "/",
                                   canonical_query_string(parse_qsl(parts.query, keep_blank_values=True)),
                                   signed, payload_hash)
    signature = _signature(credentials.secret_key, stamp, region, service, canonical)
    scope = credential_scope(stamp[:8], region, service)
    out["Authorization"] = (f"{ALGORITHM} Credential={credentials.access_key}/{scope}, "
                            f"SignedHeaders={canonical[1]}, Signature={signature}")
    return SignedRequest(out, signature)


def verify_presigned_url(
    url: str,
    *,
    credentials: Union[Credentials, Callable[[str], Optional[Credentials]]],
    service: str,
    region: Optional[str] = None,
    now: Optional[_dt.datetime] = None,
    max_skew: float = 300.0,
    method: str = "GET",
) -> Dict[str, str]:
    """Check a presigned URL: algorithm, scope, expiry, clock skew and signature.

    Args:
        credentials: the credentials the URL must be signed with, or a function from
            access key id to credentials (None for an unknown key).
        region: the region the scope must name (any, if None).
        max_skew: how far in the future ``X-Amz-Date`` may be, in seconds (finite, >= 0).

    Returns:
        The URL's query parameters other than the ``X-Amz-*`` ones.

    Raises:
        SignatureError: what failed, in words. A wrong session token and a wrong
            signature give the same message, so that a refusal confirms no guess.
        TypeError, ValueError: a wrong argument (``url`` not a str, a bad ``max_skew``).
    """
    if not isinstance(url, str):
        raise TypeError(f"url must be str, not {type(url).__name__}")
    if not (isinstance(credentials, Credentials) or callable(credentials)):
        raise TypeError("credentials must be Credentials or a function from access key id to Credentials, "
                        f"not {type(credentials).__name__}")
    skew = _max_skew(max_skew, optional=False)
    current = _utc_now(now)
    try:
        url.encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes from the wire, kept as surrogates
        raise SignatureError("the URL is not valid UTF-8 text") from None
    parts = urlsplit(url)
    items = parse_qsl(parts.query, keep_blank_values=True)
    params: Dict[str, str] = {}
    for key, value in items:
        if key in params:
            raise SignatureError(f"query parameter {key!r} appears twice")
        params[key] = value
    for key in ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
                "X-Amz-SignedHeaders", "X-Amz-Signature"):
        if key not in params:
            raise SignatureError(f"the URL is not presigned: {key} is missing")
    if params["X-Amz-Algorithm"] != ALGORITHM:
        raise SignatureError(f"unsupported algorithm {params['X-Amz-Algorithm']!r}")
    scope_parts = params["X-Amz-Credential"].split("/")
    if len(scope_parts) != 5 or scope_parts[4] != "aws4_request":
        raise SignatureError("X-Amz-Credential is not <key>/<date>/<region>/<service>/aws4_request")
    access_key, datestamp, scope_region, scope_service, _ = scope_parts
    if scope_service != service:
        raise SignatureError(f"signed for service {scope_service!r}, not {service!r}")
    if region is not None and scope_region != region:
        raise SignatureError(f"signed for region {scope_region!r}, not {region!r}")
    stamp = params["X-Amz-Date"]
    try:
        signed_at = _dt.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=_dt.timezone.utc)
        expires = int(params["X-Amz-Expires"])
    except ValueError:
        raise SignatureError("X-Amz-Date or X-Amz-Expires is malformed") from None
    if stamp[:8] != datestamp:
        raise SignatureError("the credential scope date is not the X-Amz-Date date")
    if not 1 <= expires <= 604800:
        raise SignatureError(f"X-Amz-Expires {expires} is out of range")
    if (signed_at - current).total_seconds() > skew:
        raise SignatureError(f"X-Amz-Date {stamp} is in the future (clock skew over {skew:g} s)")
    if (current - signed_at).total_seconds() > expires:
        raise SignatureError(f"the URL expired: signed at {stamp}, valid for {expires} s")
    if params["X-Amz-SignedHeaders"] != "host":
        raise SignatureError("only presigned URLs that sign the host header alone are accepted")
    creds = credentials if isinstance(credentials, Credentials) else credentials(access_key)
    if creds is not None and not isinstance(creds, Credentials):
        raise TypeError(f"the credentials lookup returned {type(creds).__name__}, not Credentials or None")
    if creds is None or not hmac.compare_digest(creds.access_key.encode(), access_key.encode()):
        raise SignatureError(f"unknown access key {access_key!r}")
    token_matches = hmac.compare_digest((creds.session_token or "").encode(),
                                        params.get("X-Amz-Security-Token", "").encode())
    canonical_query = canonical_query_string((k, v) for k, v in items if k != "X-Amz-Signature")
    expected = _signature(creds.secret_key, stamp, scope_region, service, _canonical_request(
        method, parts.path or "/", canonical_query, {"host": _host(parts)}, EMPTY_SHA256))
    signature_matches = hmac.compare_digest(expected.encode(), params["X-Amz-Signature"].encode())
    # One answer for both: a separate one for the token would confirm a guessed token.
    if not (token_matches and signature_matches):
        raise SignatureError("signature mismatch: the URL was altered or signed with other credentials")
    return {k: v for k, v in params.items() if not k.startswith("X-Amz-")}


# --------------------------------------------------------------------------- signed event streams

PAYLOAD_ALGORITHM = "AWS4-HMAC-SHA256-PAYLOAD"


def chunk_signature(prior: bytes, headers: bytes, payload: bytes, *, credentials: Credentials,
                    region: str, service: str, when: _dt.datetime) -> bytes:
    """The signature of one event-stream chunk, chained to ``prior`` (raw bytes).

    String to sign: ``AWS4-HMAC-SHA256-PAYLOAD``, the timestamp, the scope, the hex prior
    signature, and the hex SHA-256 of ``headers`` (the encoded ``:date`` header) and of
    ``payload`` (the inner frame).
    """
    stamp, datestamp = amz_date(when)
    string_to_sign = "\n".join((
        PAYLOAD_ALGORITHM, stamp, credential_scope(datestamp, region, service), bytes(prior).hex(),
        hashlib.sha256(headers).hexdigest(), hashlib.sha256(payload).hexdigest(),
    ))
    return hmac.new(signing_key(credentials.secret_key, datestamp, region, service),
                    string_to_sign.encode("utf-8"), hashlib.sha256).digest()


def _seed(seed_signature: Union[str, bytes]) -> bytes:
    if isinstance(seed_signature, str):
        try:
            return bytes.fromhex(seed_signature)
        except ValueError:
            raise ValueError("seed_signature must be hex (the opening request's signature)") from None
    return bytes(seed_signature)


def _date_header(ms: int) -> bytes:
    return Encoder({":date": Timestamp(ms)}).header_block


def _ms(when: _dt.datetime) -> int:
    return int(Timestamp.from_datetime(when))


class EventSigner:
    """Signs each frame of an HTTP/2 event stream into a ``:date`` / ``:chunk-signature`` envelope.

    Seeded with the signature of the request that opened the stream; each signature chains
    to the one before it. The credentials are fixed for the whole stream: rotating them
    mid-stream would break the chain.
    """

    def __init__(self, *, credentials: Credentials, region: str, service: str,
                 seed_signature: Union[str, bytes]) -> None:
        if not isinstance(credentials, Credentials):
            raise TypeError(f"credentials must be Credentials, not {type(credentials).__name__}")
        _check_name("region", region, _REGION_RE)
        _check_name("service", service, _SERVICE_RE)
        self._credentials = credentials
        self._region = region
        self._service = service
        self._prior = _seed(seed_signature)
        self._ended = False

    @property
    def prior_signature(self) -> bytes:
        """The last signature in the chain (the seed before the first frame)."""
        return self._prior

    @property
    def ended(self) -> bool:
        return self._ended

    def sign(self, frame: Any, now: Optional[_dt.datetime] = None) -> bytes:
        """The envelope frame around ``frame`` (an encoded event-stream frame).

        Raises:
            ValueError: the stream was already ended with :meth:`end`.
        """
        if self._ended:
            raise ValueError("the event stream has ended; nothing can be signed after its end")
        when = _utc_now(now)
        ms = _ms(when)
        payload = bytes(frame)
        sig = chunk_signature(self._prior, _date_header(ms), payload, credentials=self._credentials,
                              region=self._region, service=self._service,
                              when=_dt.datetime.fromtimestamp(ms // 1000, _dt.timezone.utc))
        self._prior = sig
        if not payload:
            self._ended = True
        return encode({":date": Timestamp(ms), ":chunk-signature": sig}, payload)

    def end(self, now: Optional[_dt.datetime] = None) -> bytes:
        """The signed empty envelope that ends the stream."""
        return self.sign(b"", now)

    def __repr__(self) -> str:
        return f"<EventSigner {self._service}/{self._region} {self._credentials!r} ended={self._ended}>"


class EventVerifier:
    """Checks a chain of signed envelopes as a service would; returns the inner frames.

    ``max_skew`` is how far (seconds, finite and >= 0) each ``:date`` may be from the
    clock; None turns that check off.
    """

    def __init__(self, *, credentials: Credentials, region: str, service: str,
                 seed_signature: Union[str, bytes], max_skew: Optional[float] = 300.0) -> None:
        if not isinstance(credentials, Credentials):
            raise TypeError(f"credentials must be Credentials, not {type(credentials).__name__}")
        _check_name("region", region, _REGION_RE)
        _check_name("service", service, _SERVICE_RE)
        self._credentials = credentials
        self._region = region
        self._service = service
        self._prior = _seed(seed_signature)
        self._max_skew = _max_skew(max_skew, optional=True)
        self._count = 0
        self._ended = False

    @property
    def ended(self) -> bool:
        """True once the empty end-of-stream envelope has verified."""
        return self._ended

    def verify(self, envelope: Any, now: Optional[_dt.datetime] = None) -> bytes:
        """Check one envelope (a :class:`Message` or its frame bytes); return its inner frame.

        Raises:
            SignatureError: a missing or malformed signature header, a signature that does
                not continue the chain, a frame after the end, or a ``:date`` too far off.
        """
        msg = envelope if isinstance(envelope, Message) else decode(envelope)
        n = self._count
        if self._ended:
            raise SignatureError(f"envelope {n}: the stream already ended")
        date = msg.headers.get(":date")
        sig = msg.headers.get(":chunk-signature")
        if type(date) is not Timestamp or not isinstance(sig, bytes) or len(sig) != 32 \
                or set(msg.headers) != {":date", ":chunk-signature"}:
            raise SignatureError(f"envelope {n}: needs exactly a :date timestamp and a 32-byte :chunk-signature")
        try:
            when = date.to_datetime()
        except (OverflowError, ValueError):  # a wire timestamp may lie far outside the years 1 to 9999
            raise SignatureError(f"envelope {n}: :date {int(date)} ms is outside the calendar's range") from None
        if self._max_skew is not None:
            skew = abs((when - _utc_now(now)).total_seconds())
            if skew > self._max_skew:
                raise SignatureError(f"envelope {n}: :date is {skew:.0f} s off the clock")
        expected = chunk_signature(self._prior, _date_header(int(date)), msg.payload,
                                   credentials=self._credentials, region=self._region, service=self._service,
                                   when=when.replace(microsecond=0))
        if not hmac.compare_digest(expected, sig):
            raise SignatureError(f"envelope {n}: the signature does not continue the chain "
                                 "(altered, reordered, dropped or signed with other credentials)")
        self._prior = sig
        self._count += 1
        if not msg.payload:
            self._ended = True
        return msg.payload
