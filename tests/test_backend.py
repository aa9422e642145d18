"""Which twin loads, and how the environment variable picks it."""

import os
import subprocess
import sys

import pytest

import aws_eventstream
from helpers import PURE_FORCED as _PURE_FORCED


@pytest.mark.skipif(_PURE_FORCED, reason="AWS_EVENTSTREAM_PURE_PYTHON forces the pure twin here")
def test_extension_is_the_backend_normally_loaded():
    from aws_eventstream import _codec_c

    assert aws_eventstream.BACKEND == "cython"
    assert aws_eventstream.decode is _codec_c.decode
    assert aws_eventstream.Decoder is _codec_c.Decoder
    assert _codec_c.__file__.endswith((".so", ".pyd"))


def _backend_with(value):
    env = dict(os.environ)
    env.pop("AWS_EVENTSTREAM_PURE_PYTHON", None)
    if value is not None:
        env["AWS_EVENTSTREAM_PURE_PYTHON"] = value
    out = subprocess.run(
        [sys.executable, "-c", "import aws_eventstream as e; print(e.BACKEND, e.encode.__module__)"],
        env=env, capture_output=True, text=True, check=True,
    )
    return out.stdout.split()


@pytest.mark.parametrize("value", ["1", "true", "yes", "on", "TRUE"])
def test_env_var_forces_pure_twin(value):
    assert _backend_with(value) == ["python", "aws_eventstream._codec_py"]


@pytest.mark.skipif(_PURE_FORCED, reason="the extension may be absent when the pure twin is forced")
@pytest.mark.parametrize("value", [None, "", "0", " 0 ", "false", "no", "off"])
def test_env_var_off_values_keep_extension(value):
    assert _backend_with(value)[0] == "cython"


def test_public_api_names():
    for name in aws_eventstream.__all__:
        assert hasattr(aws_eventstream, name), name
    assert issubclass(aws_eventstream.EventStreamError, ValueError)
    for cls in (aws_eventstream.ChecksumError, aws_eventstream.FrameError, aws_eventstream.HeaderError):
        assert issubclass(cls, aws_eventstream.EventStreamError)


def test_twins_export_the_same_names(codec):
    from aws_eventstream import _codec_py

    assert sorted(codec.__all__) == sorted(_codec_py.__all__)
    for name in _codec_py.__all__:
        assert hasattr(codec, name), name
    assert codec.MAX_FRAME == 24 * 1024 * 1024
    assert codec.MAX_HEADERS == 128 * 1024
    assert codec.MAX_HEADER_VALUE == 32767


def _params(obj):
    import inspect

    return [(p.name, p.default) for p in inspect.signature(obj).parameters.values() if p.name != "self"]


@pytest.mark.parametrize("name", ["crc32", "encode", "decode"])
def test_twins_functions_show_the_same_signature(codec, name):
    from aws_eventstream import _codec_py

    assert _params(getattr(codec, name)) == _params(getattr(_codec_py, name))


@pytest.mark.parametrize("name", ["Encoder", "Decoder"])
def test_the_extension_classes_show_their_constructor_signature(name):
    """help() and inspect.signature() show the arguments, as the pure twin's __init__ takes them."""
    from aws_eventstream import _codec_py

    c = pytest.importorskip("aws_eventstream._codec_c", reason="the extension is not built")
    assert _params(getattr(c, name)) == _params(getattr(_codec_py, name).__init__)
    assert not getattr(c, name).__doc__.startswith(name + "(")  # the signature is not left in the text
