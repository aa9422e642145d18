"""Fixtures for the pytest-benchmark suites: both twins, and the peers that are installed."""

from __future__ import annotations

import pytest

from aws_eventstream import _codec_py

try:
    from aws_eventstream import _codec_c
except ImportError:
    _codec_c = None


@pytest.fixture(params=["c", "py"], scope="session")
def codec(request):
    """The codec twin under measurement (ids ``c`` and ``py``, as in the tests)."""
    if request.param == "py":
        return _codec_py
    if _codec_c is None:
        pytest.skip("the Cython extension is not built")
    return _codec_c


@pytest.fixture(scope="session")
def pipecat_utils():
    """pipecat-ai's event-stream helpers, when pipecat-ai is installed."""
    return pytest.importorskip("pipecat.services.aws.utils", reason="pipecat-ai is not installed")


@pytest.fixture(scope="session")
def botocore_eventstream():
    return pytest.importorskip("botocore.eventstream", reason="botocore is not installed")
