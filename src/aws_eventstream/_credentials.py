"""AWS credentials: the immutable :class:`Credentials` and where they are found.

Re-exported by :mod:`aws_eventstream.auth`, the public home of these names.
"""

from __future__ import annotations

import logging
import os
from typing import Optional, Tuple, Type

__all__ = ["Credentials", "ResolvedCredentials", "resolve_credentials", "resolve_credential_parts"]

# Named after the public module, where users configure the package's logging.
logger = logging.getLogger("aws_eventstream.auth")

_DEFAULT_REGION = "us-east-1"


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

    def __reduce__(self) -> Tuple[Type[Credentials], Tuple[str, str, Optional[str]]]:
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


def resolve_credential_parts(
    access_key: Optional[str], secret_key: Optional[str], session_token: Optional[str],
    region: Optional[str], default_chain: bool,
) -> Tuple[Optional[str], Optional[str], Optional[str], str, str]:
    """What :func:`resolve_credentials` finds, part by part, with nothing required.

    Each of key, secret and token: the explicit value, else its environment variable.
    Region: explicit, ``AWS_REGION``, ``AWS_DEFAULT_REGION``, then ``us-east-1``. Only when
    both key and secret are still missing is botocore's default chain asked (if
    ``default_chain``). Unlike :func:`resolve_credentials` it returns a key without its
    secret as it found it; ``aws_eventstream.utils`` needs that for the seed's behaviour.

    Returns:
        ``(access_key, secret_key, session_token, region, source)``; the first three may
        be None, ``source`` is as in :class:`ResolvedCredentials`.

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
    key, secret, token, where, source = resolve_credential_parts(
        access_key, secret_key, session_token, region, default_chain)
    if key is None and secret is None:
        return ResolvedCredentials(None, where, "none")
    if key is None or secret is None:
        missing = "AWS_ACCESS_KEY_ID" if key is None else "AWS_SECRET_ACCESS_KEY"
        raise ValueError(f"incomplete credentials: {missing} (or its parameter) is missing")
    return ResolvedCredentials(Credentials(key, secret, token), where, source)
