"""botocore's SigV4 query signer as the independent oracle for our presigned URLs."""

from __future__ import annotations

import datetime as dt
from unittest import mock
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials


def query(url: str) -> dict:
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


def botocore_signature(url: str, *, access_key: str, secret_key: str, token=None,
                       region: str, service: str) -> str:
    """Re-sign ``url`` (minus its X-Amz-* parameters) with botocore at its own X-Amz-Date."""
    params = query(url)
    when = dt.datetime.strptime(params["X-Amz-Date"], "%Y%m%dT%H%M%SZ")
    parts = urlsplit(url)
    request = AWSRequest(
        method="GET", url=urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")),
        params={k: v for k, v in params.items() if not k.startswith("X-Amz-")},
    )
    signer = SigV4QueryAuth(BotoCredentials(access_key, secret_key, token), service, region,
                            expires=int(params["X-Amz-Expires"]))
    with mock.patch("botocore.auth.get_current_datetime", return_value=when):
        signer.add_auth(request)
    return query(request.url)["X-Amz-Signature"]


def assert_signed_like_botocore(url: str, credentials, region: str, service: str = "transcribe") -> None:
    ours = query(url)["X-Amz-Signature"]
    theirs = botocore_signature(url, access_key=credentials.access_key, secret_key=credentials.secret_key,
                                token=credentials.session_token, region=region, service=service)
    assert ours == theirs, url
