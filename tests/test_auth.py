"""Credentials, their resolution, and SigV4 query presigning (botocore as the oracle)."""

from __future__ import annotations

import ast
import datetime as dt
import json
import os
import pickle
import subprocess
import sys
import textwrap

import pytest

from aws_eventstream import auth
from aws_eventstream.auth import Credentials, presign_url, resolve_credentials, signing_key
from sigv4_oracle import assert_signed_like_botocore, query

SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = "FQoGZXIvYXdzEXAMPLE//token+with/odd=chars"
CREDS = Credentials("AKIDEXAMPLE", SECRET, TOKEN)
NOW = dt.datetime(2026, 11, 23, 22, 15, 7, tzinfo=dt.timezone.utc)


# --------------------------------------------------------------------------- Credentials


def test_credentials_never_show_secrets():
    for text in (repr(CREDS), str(CREDS), f"{CREDS}", repr([CREDS])):
        assert SECRET not in text and TOKEN not in text
        assert "AKIDEXAMPLE" in text and "present" in text
    assert "absent" in repr(Credentials("AKID", "s"))


def test_credentials_are_immutable_and_compare_by_value():
    with pytest.raises(AttributeError):
        CREDS.secret_key = "x"
    with pytest.raises(AttributeError):
        del CREDS.access_key
    assert CREDS == Credentials("AKIDEXAMPLE", SECRET, TOKEN)
    assert CREDS != Credentials("AKIDEXAMPLE", SECRET)
    assert hash(CREDS) == hash(Credentials("AKIDEXAMPLE", SECRET, TOKEN))
    assert pickle.loads(pickle.dumps(CREDS)) == CREDS
    assert Credentials("a", "b", "").session_token is None


@pytest.mark.parametrize("args, exc", [(("", "s"), ValueError), (("a", ""), ValueError),
                                       ((None, "s"), TypeError), (("a", b"s"), TypeError),
                                       (("a", "s", 5), TypeError)])
def test_credentials_argument_checks(args, exc):
    with pytest.raises(exc):
        Credentials(*args)


# --------------------------------------------------------------------------- resolution

RESOLVE = textwrap.dedent("""
    import json, logging, sys
    logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
    if "--no-botocore" in sys.argv:
        sys.modules["botocore"] = None  # as if it were not installed
    from aws_eventstream.auth import resolve_credentials
    from aws_eventstream.utils import resolve_credentials as seed_resolve
    kwargs = json.loads(sys.argv[1])
    r = resolve_credentials(**kwargs)
    c = r.credentials
    seed_names = {"access_key": "aws_access_key_id", "secret_key": "aws_secret_access_key",
                  "session_token": "aws_session_token", "region": "region"}
    s = seed_resolve(**{seed_names[k]: v for k, v in kwargs.items()})
    print(json.dumps({
        "key": c and c.access_key, "secret": c and c.secret_key, "token": c and c.session_token,
        "region": r.region, "source": r.source,
        "seed": [s.access_key, s.secret_key, s.session_token, s.region],
    }))
""")


@pytest.fixture
def aws_home(tmp_path):
    """An environment with no AWS settings but a private home and credentials files."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({
        "HOME": str(tmp_path),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
        "AWS_CONFIG_FILE": str(tmp_path / "config"),
        "AWS_EC2_METADATA_DISABLED": "true",  # never reach for an instance metadata service
    })
    return tmp_path, env


def _resolve(env, extra_env=None, *, no_botocore=False, **kwargs):
    full = dict(env)
    full.update(extra_env or {})
    argv = [sys.executable, "-c", RESOLVE, json.dumps(kwargs)] + (["--no-botocore"] if no_botocore else [])
    out = subprocess.run(argv, env=full, capture_output=True, text=True, check=True)
    return json.loads(out.stdout), out.stderr


def test_explicit_parameters_win(aws_home):
    _, env = aws_home
    got, _ = _resolve(env, {"AWS_ACCESS_KEY_ID": "ENVKEY", "AWS_SECRET_ACCESS_KEY": "envsecret",
                            "AWS_REGION": "eu-west-1"},
                      access_key="K", secret_key="S", session_token="T", region="ap-south-1")
    assert (got["key"], got["secret"], got["token"], got["region"], got["source"]) == (
        "K", "S", "T", "ap-south-1", "explicit")
    assert got["seed"] == ["K", "S", "T", "ap-south-1"]


def test_environment_and_region_order(aws_home):
    _, env = aws_home
    base = {"AWS_ACCESS_KEY_ID": "ENVKEY", "AWS_SECRET_ACCESS_KEY": "envsecret", "AWS_SESSION_TOKEN": "envtok"}
    got, _ = _resolve(env, {**base, "AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-north-1"})
    assert (got["key"], got["secret"], got["token"], got["region"], got["source"]) == (
        "ENVKEY", "envsecret", "envtok", "eu-west-1", "environment")
    got, _ = _resolve(env, {**base, "AWS_DEFAULT_REGION": "eu-north-1"})
    assert got["region"] == "eu-north-1"
    got, _ = _resolve(env, base)
    assert got["region"] == "us-east-1"
    assert got["seed"] == ["ENVKEY", "envsecret", "envtok", "us-east-1"]


def test_default_chain_reads_the_shared_credentials_file(aws_home):
    home, env = aws_home
    (home / "credentials").write_text(
        "[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = filesecret\n"
        "[other]\naws_access_key_id = OTHERKEY\naws_secret_access_key = othersecret\n"
        "aws_session_token = othertoken\n")
    got, _ = _resolve(env)
    assert (got["key"], got["secret"], got["source"]) == ("FILEKEY", "filesecret", "botocore:shared-credentials-file")
    assert got["seed"][:2] == ["FILEKEY", "filesecret"]
    got, _ = _resolve(env, {"AWS_PROFILE": "other"})
    assert (got["key"], got["token"]) == ("OTHERKEY", "othertoken")


def test_default_chain_only_when_key_and_secret_are_both_missing(aws_home):
    home, env = aws_home
    (home / "credentials").write_text("[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = filesecret\n")
    got, _ = _resolve(env, {"AWS_ACCESS_KEY_ID": "ENVKEY", "AWS_SECRET_ACCESS_KEY": "envsecret"})
    assert got["key"] == "ENVKEY"
    # only a key: the seed facade returns the half it found, the strict API refuses
    full = dict(env, AWS_ACCESS_KEY_ID="ENVKEY")
    out = subprocess.run([sys.executable, "-c",
                          "from aws_eventstream.utils import resolve_credentials as r; c = r();"
                          "print(c.access_key, c.secret_key)"], env=full, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["ENVKEY", "None"]
    out = subprocess.run([sys.executable, "-c", "from aws_eventstream.auth import resolve_credentials as r; r()"],
                         env=full, capture_output=True, text=True)
    assert out.returncode != 0 and "AWS_SECRET_ACCESS_KEY" in out.stderr and "ValueError" in out.stderr


def test_nothing_found(aws_home):
    _, env = aws_home
    got, _ = _resolve(env)
    assert got["key"] is None and got["source"] == "none" and got["seed"] == [None, None, None, "us-east-1"]


def test_without_botocore_the_chain_is_skipped_with_a_debug_line(aws_home):
    home, env = aws_home
    (home / "credentials").write_text("[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = filesecret\n")
    got, err = _resolve(env, no_botocore=True)
    assert got["key"] is None and got["seed"][0] is None
    assert "botocore is not installed" in err and "DEBUG" in err
    got, _ = _resolve(env, {"AWS_ACCESS_KEY_ID": "K", "AWS_SECRET_ACCESS_KEY": "S"}, no_botocore=True)
    assert got["key"] == "K"


def test_resolved_repr_hides_secrets():
    r = resolve_credentials(access_key="AKID", secret_key="topsecret", session_token="tok", default_chain=False)
    assert "topsecret" not in repr(r) and "tok'" not in repr(r) and r.source == "explicit"


# --------------------------------------------------------------------------- presigning


@pytest.mark.parametrize("url, host", [
    ("wss://transcribestreaming.us-west-2.amazonaws.com:8443/stream-transcription-websocket", ":8443"),
    ("https://example.amazonaws.com/some/path", ""),
    ("https://example.amazonaws.com:443/", ""),
    ("http://127.0.0.1:8765/x", ":8765"),
])
@pytest.mark.parametrize("creds", [CREDS, Credentials("AKID", "secret")])
def test_presigned_urls_match_botocore(url, host, creds):
    signed = presign_url(url, service="transcribe", region="us-west-2", credentials=creds, now=NOW,
                         params={"language-code": "en-US", "sample-rate": 16000, "flag": True,
                                 "odd value": "a b/c+d=e&f~g", "empty": ""})
    assert_signed_like_botocore(signed, creds, "us-west-2")
    q = query(signed)
    assert q["X-Amz-Date"] == "20261123T221507Z" and q["X-Amz-Expires"] == "300"
    assert q["X-Amz-Credential"] == f"{creds.access_key}/20261123/us-west-2/transcribe/aws4_request"
    assert q["flag"] == "true" and q["odd value"] == "a b/c+d=e&f~g"
    assert ("X-Amz-Security-Token" in q) == bool(creds.session_token)
    assert SECRET not in signed


def test_canonical_query_is_sorted_and_rfc3986_encoded():
    signed = presign_url("https://h.example/", service="s3", region="us-east-1", credentials=CREDS, now=NOW,
                         params=[("b", "2"), ("a", "x y"), ("A", "~*'")])
    query_string = signed.split("?", 1)[1].rsplit("&X-Amz-Signature=", 1)[0]
    keys = [kv.split("=")[0] for kv in query_string.split("&")]
    assert keys == sorted(keys)
    assert "a=x%20y" in query_string and "A=~%2A%27" in query_string
    assert "X-Amz-Security-Token=FQoGZXIvYXdzEXAMPLE%2F%2Ftoken%2Bwith%2Fodd%3Dchars" in query_string


def test_existing_query_is_kept_and_signed():
    signed = presign_url("https://h.example/p?z=1&a=2", service="s3", region="us-east-1",
                         credentials=CREDS, now=NOW)
    assert query(signed)["z"] == "1"
    assert_signed_like_botocore(signed, CREDS, "us-east-1", "s3")


def test_clock_is_injectable_and_must_be_aware():
    later = NOW + dt.timedelta(seconds=1)
    a = presign_url("https://h.example/", service="s", region="us-east-1", credentials=CREDS, now=NOW)
    b = presign_url("https://h.example/", service="s", region="us-east-1", credentials=CREDS, now=later)
    assert a != b
    tz = dt.timezone(dt.timedelta(hours=-8))
    c = presign_url("https://h.example/", service="s", region="us-east-1", credentials=CREDS,
                    now=NOW.astimezone(tz))
    assert a == c
    with pytest.raises(ValueError, match="aware"):
        presign_url("https://h.example/", service="s", region="us-east-1", credentials=CREDS,
                    now=NOW.replace(tzinfo=None))
    current = presign_url("https://h.example/", service="s", region="us-east-1", credentials=CREDS)
    stamp = dt.datetime.strptime(query(current)["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.timezone.utc)
    assert abs((stamp - dt.datetime.now(dt.timezone.utc)).total_seconds()) < 60


@pytest.mark.parametrize("kwargs, match", [
    ({"expires": 0}, "expires"), ({"expires": 604801}, "expires"), ({"expires": True}, "expires"),
    ({"region": "us-east-1/../x"}, "region"), ({"service": "a b"}, "service"),
    ({"url": "no-scheme"}, "scheme"), ({"params": {"X-Amz-Date": "x"}}, "reserved"),
])
def test_presign_argument_checks(kwargs, match):
    args = dict(url="https://h.example/", service="s", region="us-east-1", credentials=CREDS, now=NOW)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        presign_url(args.pop("url"), **args)
    with pytest.raises(TypeError):
        presign_url("https://h.example/", service="s", region="us-east-1",
                    credentials={"access_key": "a", "secret_key": "b"})


def test_signing_keys_are_cached():
    signing_key.cache_clear()
    for _ in range(3):
        presign_url("https://h.example/", service="s", region="us-east-1", credentials=CREDS, now=NOW)
    info = signing_key.cache_info()
    assert info.misses == 1 and info.hits == 2


# --------------------------------------------------------------------------- unusable values name only their source

# Bytes that are not UTF-8 reach Python as lone surrogates (\udcff); Python's own message
# would quote that character and its position in the secret.
SECRET_PARTS = ("FIRSTHALFOFSECRET", "SECONDHALFOFSECRET")


def _assert_says_nothing_of_the_secret(message, path=None):
    # A temporary directory's name may hold any digits; only the rest of the message counts.
    if path is not None:
        message = message.replace(str(path), "<path>")
    for leak in (*SECRET_PARTS, "\\udcff", "\udcff", "0xff", "\\xff", "position", "17"):
        assert leak not in message


@pytest.mark.parametrize("variable", ["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ACCESS_KEY_ID"])
@pytest.mark.parametrize("bad", ["\udcff", "\n", "\x1b"])
def test_an_unusable_environment_value_names_its_variable_only(monkeypatch, variable, bad):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "AKIDPLAIN" if name == "AWS_ACCESS_KEY_ID" else "plain")
    monkeypatch.setenv(variable, SECRET_PARTS[0] + bad + SECRET_PARTS[1])
    with pytest.raises(ValueError, match=variable) as info:
        resolve_credentials(default_chain=False)
    _assert_says_nothing_of_the_secret(str(info.value))


@pytest.mark.parametrize("what", ["access_key", "secret_key", "session_token"])
def test_an_unusable_explicit_value_names_its_parameter_only(what):
    args = {"access_key": "AKID", "secret_key": "s", "session_token": None}
    args[what] = SECRET_PARTS[0] + "\udcff" + SECRET_PARTS[1]
    with pytest.raises(ValueError, match=f"{what} is not valid UTF-8") as info:
        Credentials(**args)
    _assert_says_nothing_of_the_secret(str(info.value))


@pytest.mark.parametrize("setup, match", [
    (lambda home: {"AWS_PROFILE": "nope"}, "nope"),
    (lambda home: (home / "config").write_text("[default\nregion = x\n") and {}, "parse config file"),
    (lambda home: (home / "credentials").write_bytes(
        b"[default]\naws_access_key_id = AKID\naws_secret_access_key = " + SECRET_PARTS[0].encode()
        + b"\xff" + SECRET_PARTS[1].encode() + b"\n") and {}, "parse config file"),
], ids=["unknown profile", "malformed config", "undecodable credentials file"])
def test_botocore_failures_are_value_errors(aws_home, monkeypatch, setup, match):
    home, env = aws_home
    for name in [n for n in os.environ if n.startswith("AWS_")]:
        monkeypatch.delenv(name)
    for name, value in {**env, **setup(home)}.items():
        if name.startswith("AWS_") or name == "HOME":
            monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=match) as info:
        resolve_credentials()
    assert info.value.__cause__ is None and "botocore" in str(info.value)
    _assert_says_nothing_of_the_secret(str(info.value), path=home)


_CODEC = {"_codec_c", "_codec_py", "encode", "decode", "Encoder", "Decoder"}


def test_auth_does_not_import_the_codec():
    """SigV4 and credentials stand below the codec: auth.py imports none of it, anywhere.

    Checked in the source, because importing the package imports the codec anyway.
    """
    tree = ast.parse(open(auth.__file__, encoding="utf-8").read())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if set(a.name.split(".")) & _CODEC]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if set(module.split(".")) & _CODEC:
                found.append(module)
            elif (node.level == 1 and not module) or module == "aws_eventstream":  # the package root
                found += [a.name for a in node.names if a.name in _CODEC]
    assert found == []
