"""AWS credentials and Signature Version 4: presigned URLs, signed requests, their checks.

One implementation of SigV4 for the package. :class:`Credentials` and their resolution
are defined in ``_credentials``; the event-stream chunk signing built on this module lives
in :mod:`aws_eventstream.signing` (it needs the codec, this module does not). Both are
re-exported here.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import math
import numbers
import re
from functools import lru_cache
from typing import (TYPE_CHECKING, Any, Callable, Dict, Iterable, List, Literal, Mapping, Optional, Sequence, Tuple,
                    Union, overload)
from urllib.parse import SplitResult, parse_qsl, quote, urlsplit, urlunsplit

from ._credentials import Credentials, ResolvedCredentials, resolve_credential_parts, resolve_credentials
from .errors import SignatureError

if TYPE_CHECKING:
    from .signing import PAYLOAD_ALGORITHM as PAYLOAD_ALGORITHM
    from .signing import EventSigner, EventVerifier, chunk_signature

__all__ = [
    "Credentials",
    "ResolvedCredentials",
    "resolve_credentials",
    "resolve_credential_parts",
    "presign_url",
    "signing_key",
    "credential_scope",
    "canonical_query_string",
    "verify_signed_request",
    "check_region",
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

ALGORITHM = "AWS4-HMAC-SHA256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_DEFAULT_PORTS = {"https": 443, "wss": 443, "http": 80, "ws": 80}
# A region names a host (transcribestreaming.<region>.amazonaws.com) and a credential
# scope; every partition's regions have this shape: us-west-2, us-gov-west-1, cn-north-1,
# us-isob-east-1, eu-isoe-west-1, eusc-de-east-1.
_REGION_RE = re.compile(r"^(?=.{1,63}$)[a-z0-9]+(?:-[a-z0-9]+)+$")
_SERVICE_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{0,62}$")


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
    """HMAC-SHA256 of ``message`` (a str is UTF-8 encoded) under ``key``."""
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


@overload
def _max_skew(value: object, *, optional: Literal[False]) -> float: ...
@overload
def _max_skew(value: object, *, optional: bool) -> Optional[float]: ...
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


def check_region(region: object) -> str:
    """Return ``region`` if it has the shape of an AWS region name.

    The package's one region check: signing here and in :mod:`aws_eventstream.signing`,
    and the endpoints of :mod:`aws_eventstream.transcribe`, accept the same names.

    Raises:
        ValueError: ``region`` is not lowercase letters and digits in two or more parts
            joined by single hyphens, at most 63 characters (``us-west-2``).
    """
    if not isinstance(region, str) or not _REGION_RE.match(region):
        raise ValueError(f"region {region!r} is not an AWS region name (e.g. us-west-2)")
    return region


def _check_scope(credentials: object, region: object, service: object) -> None:
    """Refuse what cannot sign: credentials of another type, a bad region or service name."""
    if not isinstance(credentials, Credentials):
        raise TypeError(f"credentials must be Credentials, not {type(credentials).__name__}")
    check_region(region)
    if not isinstance(service, str) or not _SERVICE_RE.match(service):
        raise ValueError(f"service {service!r} is not a valid AWS service")


def _host(parts: SplitResult) -> str:
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
    _check_scope(credentials, region, service)
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
    _check_scope(credentials, region, service)
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


CredentialsLookup = Union[Credentials, Callable[[str], Optional[Credentials]]]


def _check_lookup(credentials: object) -> None:
    if not (isinstance(credentials, Credentials) or callable(credentials)):
        raise TypeError("credentials must be Credentials or a function from access key id to Credentials, "
                        f"not {type(credentials).__name__}")


def _scope(credential: str, service: str, region: Optional[str]) -> Tuple[str, str, str]:
    """(access key, date, region) of a ``<key>/<date>/<region>/<service>/aws4_request`` scope."""
    scope_parts = credential.split("/")
    if len(scope_parts) != 5 or scope_parts[4] != "aws4_request":
        raise SignatureError("the credential is not <key>/<date>/<region>/<service>/aws4_request")
    access_key, datestamp, scope_region, scope_service, _ = scope_parts
    if scope_service != service:
        raise SignatureError(f"signed for service {scope_service!r}, not {service!r}")
    if region is not None and scope_region != region:
        raise SignatureError(f"signed for region {scope_region!r}, not {region!r}")
    return access_key, datestamp, scope_region


def _lookup(credentials: CredentialsLookup, access_key: str) -> Credentials:
    creds = credentials if isinstance(credentials, Credentials) else credentials(access_key)
    if creds is not None and not isinstance(creds, Credentials):
        raise TypeError(f"the credentials lookup returned {type(creds).__name__}, not Credentials or None")
    if creds is None or not hmac.compare_digest(creds.access_key.encode(), access_key.encode()):
        raise SignatureError(f"unknown access key {access_key!r}")
    return creds


def verify_presigned_url(
    url: str,
    *,
    credentials: CredentialsLookup,
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
    _check_lookup(credentials)
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
    access_key, datestamp, scope_region = _scope(params["X-Amz-Credential"], service, region)
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
    creds = _lookup(credentials, access_key)
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


_AUTHORIZATION = re.compile(r"^AWS4-HMAC-SHA256 Credential=([^,\s]+), ?SignedHeaders=([a-z0-9;._-]+), ?"
                            r"Signature=([0-9a-f]{64})\Z")


def verify_signed_request(
    method: str,
    url: str,
    headers: Mapping[str, str],
    *,
    credentials: CredentialsLookup,
    service: str,
    region: Optional[str] = None,
    now: Optional[_dt.datetime] = None,
    max_skew: float = 300.0,
    payload_hash: Optional[str] = None,
    must_sign: Sequence[str] = (),
) -> str:
    """Check a request signed in its headers (``Authorization``), as :func:`sign_request` signs.

    ``headers`` are the request's, one value each (names in any case); ``host`` must be
    among them (HTTP/2's ``:authority``). ``X-Amz-Date`` may be ``max_skew`` seconds off
    the clock either way. The payload hash is ``X-Amz-Content-SHA256`` when sent, else
    ``payload_hash`` (``STREAMING_PAYLOAD`` for an HTTP/2 event stream; it must be given).
    A server that acts on headers lists them in ``must_sign``, as lowercase names or name
    prefixes ending in ``-``: any such header the request carries unsigned is refused,
    since a signature says nothing of a header it does not cover.

    Returns:
        The hex signature: the seed of the request's signed event chain.

    Raises:
        SignatureError: what failed, in words (a wrong session token and a wrong signature
            give the same message).
        TypeError, ValueError: a wrong argument.
    """
    if not isinstance(url, str) or not isinstance(method, str):
        raise TypeError("method and url must be str")
    if not isinstance(headers, Mapping):
        raise TypeError(f"headers must be a mapping of names to values, not {type(headers).__name__}")
    if payload_hash is not None and not isinstance(payload_hash, str):
        raise TypeError(f"payload_hash must be str or None, not {type(payload_hash).__name__}")
    if isinstance(must_sign, str):
        raise TypeError("must_sign must be a sequence of header names and prefixes (str), not one str")
    must_sign = tuple(must_sign)  # read once: an iterator would be used up by the checks
    if not all(isinstance(m, str) for m in must_sign):
        raise TypeError("must_sign must be a sequence of header names and prefixes (str)")
    if not all(m and m == m.lower() and m == m.strip() for m in must_sign):
        raise ValueError(f"must_sign entries must be lowercase header names or prefixes, got {must_sign!r}")
    _check_lookup(credentials)
    skew = _max_skew(max_skew, optional=False)
    current = _utc_now(now)
    lower = {str(k).lower(): str(v) for k, v in headers.items()}
    try:
        for text in (url, *lower, *lower.values()):
            text.encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes from the wire, kept as surrogates
        raise SignatureError("the request's URL or headers are not valid UTF-8 text") from None
    match = _AUTHORIZATION.match(lower.get("authorization", ""))
    if match is None:
        raise SignatureError("the Authorization header is missing or not AWS4-HMAC-SHA256 "
                             "Credential=..., SignedHeaders=..., Signature=...")
    credential, signed_names, signature = match.groups()
    access_key, datestamp, scope_region = _scope(credential, service, region)
    names = signed_names.split(";")
    if names != sorted(set(names)) or "host" not in names or "x-amz-date" not in names:
        raise SignatureError("SignedHeaders must be sorted, distinct, and include host and x-amz-date")
    missing = [n for n in names if n not in lower]
    if missing:
        raise SignatureError(f"signed header {missing[0]!r} is not in the request")
    unsigned = [n for n in sorted(lower) if n not in names and any(
        n.startswith(m) if m.endswith("-") else n == m for m in must_sign)]
    if unsigned:
        raise SignatureError(f"header {unsigned[0]!r} is not signed: a request must sign every header it is "
                             "acted on by")
    stamp = lower["x-amz-date"]
    try:
        signed_at = _dt.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=_dt.timezone.utc)
    except ValueError:
        raise SignatureError("X-Amz-Date is malformed") from None
    if stamp[:8] != datestamp:
        raise SignatureError("the credential scope date is not the X-Amz-Date date")
    if abs((signed_at - current).total_seconds()) > skew:
        raise SignatureError(f"X-Amz-Date {stamp} is more than {skew:g} s off the clock")
    body_hash = lower.get("x-amz-content-sha256", payload_hash)
    if body_hash is None:
        raise SignatureError("the request has no X-Amz-Content-SHA256 and no payload hash was given")
    creds = _lookup(credentials, access_key)
    token_matches = hmac.compare_digest((creds.session_token or "").encode(),
                                        lower.get("x-amz-security-token", "").encode())
    parts = urlsplit(url)
    canonical_query = canonical_query_string(parse_qsl(parts.query, keep_blank_values=True))
    expected = _signature(creds.secret_key, stamp, scope_region, service, _canonical_request(
        method, parts.path or "/", canonical_query, {n: lower[n] for n in names}, body_hash))
    if not (token_matches and hmac.compare_digest(expected.encode(), signature.encode())):
        raise SignatureError("signature mismatch: the request was altered or signed with other credentials")
    return signature


# --------------------------------------------------------------------------- event-stream signing

_SIGNING_NAMES = ("PAYLOAD_ALGORITHM", "chunk_signature", "EventSigner", "EventVerifier")


def __getattr__(name: str) -> Any:
    # Imported on first use: aws_eventstream.signing imports the codec and this module,
    # so importing it from here at load time would be circular, and would tie the
    # SigV4 layer to the codec.
    if name in _SIGNING_NAMES:
        from . import signing

        return getattr(signing, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> List[str]:
    return sorted([*globals(), *_SIGNING_NAMES])
