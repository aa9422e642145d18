"""Cross-check with an implementation we did not write: botocore's event-stream decoder."""

from __future__ import annotations

import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from botocore.eventstream import EventStreamBuffer  # noqa: E402

from helpers import vectors_dir
from test_properties import messages  # noqa: E402


def _botocore_view(value):
    """What botocore returns for a header value of ours."""
    if isinstance(value, uuid.UUID):
        return value.bytes
    if isinstance(value, (bool, bytes, str)):
        return value
    return int(value)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(msgs=st.lists(messages, min_size=1, max_size=5), chunk=st.integers(1, 500))
def test_botocore_decodes_our_frames(codec, msgs, chunk):
    stream = b"".join(codec.encode(m.headers, m.payload) for m in msgs)
    buf = EventStreamBuffer()
    got = []
    for i in range(0, len(stream), chunk):
        buf.add_data(stream[i:i + chunk])
        got += list(buf)
    assert len(got) == len(msgs)
    for theirs, ours in zip(got, msgs):
        assert theirs.payload == ours.payload
        assert list(theirs.headers) == list(ours.headers)
        assert theirs.headers == {k: _botocore_view(v) for k, v in ours.headers.items()}
        assert theirs.prelude.total_length == 16 + theirs.prelude.headers_length + len(ours.payload)


def test_botocore_and_we_agree_on_the_sdk_vectors(codec):
    for path in sorted((vectors_dir() / "encoded" / "positive").iterdir()):
        raw = path.read_bytes()
        buf = EventStreamBuffer()
        buf.add_data(raw)
        (theirs,) = list(buf)
        ours = codec.decode(raw)
        assert theirs.payload == ours.payload
        assert theirs.headers == {k: _botocore_view(v) for k, v in ours.headers.items()}
