"""AWS credentials and Signature Version 4 query presigning.

One implementation of SigV4 for the package: the presigned URLs here, and the
event-stream signing built on the same primitives.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import logging
import os
import re
from functools import lru_cache
from typing import Iterable, Mapping, Optional, Sequence, Tuple, Union
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

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


class ResolvedCredentials:
    """What :func:`resolve_credentials` found: the credentials (or None), the region, and where."""

    __slots__ = ("credentials", "region", "source")

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
    found = botocore.session.Session().get_credentials()
    if found is None:
        return None, None, None, "none"
    frozen = found.get_frozen_credentials()
    return frozen.access_key, frozen.secret_key, frozen.token, f"botocore:{found.method}"


def _resolve_parts(
    access_key: Optional[str], secret_key: Optional[str], session_token: Optional[str],
    region: Optional[str], default_chain: bool,
) -> Tuple[Optional[str], Optional[str], Optional[str], str, str]:
    """The resolution order shared with ``aws_eventstream.utils``.

    Each of key, secret and token: the explicit value, else its environment variable.
    Region: explicit, ``AWS_REGION``, ``AWS_DEFAULT_REGION``, then ``us-east-1``. Only when
    both key and secret are still missing is botocore's default chain asked.
    """
    env = os.environ
    key = access_key or env.get("AWS_ACCESS_KEY_ID") or None
    secret = secret_key or env.get("AWS_SECRET_ACCESS_KEY") or None
    token = session_token or env.get("AWS_SESSION_TOKEN") or None
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
        ValueError: only one of the access key and the secret key was found.
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
    canonical_request = "\n".join((
        method.upper(), quote(path, safe="/~"), canonical_query,
        f"host:{_host(parts)}\n", "host", EMPTY_SHA256,
    ))
    string_to_sign = "\n".join((
        ALGORITHM, stamp, scope, hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()))
    key = signing_key(credentials.secret_key, datestamp, region, service)
    signature = hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    return urlunsplit((parts.scheme, parts.netloc, path, f"{canonical_query}&X-Amz-Signature={signature}", ""))
