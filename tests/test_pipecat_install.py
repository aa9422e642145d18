"""aws_eventstream.pipecat.install(): what it patches, what it puts back, what it refuses.

The pipelines that prove the services on our code are in test_fake_clients.py
(Transcribe STT) and test_pipecat_nova_sonic.py (Nova Sonic); these run wherever
pipecat-ai is installed, and the refusals everywhere.
"""

from __future__ import annotations

import importlib.util

import pytest

from aws_eventstream import pipecat as ours
from aws_eventstream import utils as our_utils

HAVE_PIPECAT = importlib.util.find_spec("pipecat") is not None


def _tested_pipecat():
    if not HAVE_PIPECAT:
        pytest.skip("pipecat-ai is not installed")
    found = ours._pipecat_version()
    if tuple(int(x) for x in found.split(".")[:2]) not in ours.TESTED:
        pytest.skip(f"install() refuses pipecat-ai {found} (test_install_refuses_... checks that)")
    from pipecat.services.aws import stt
    return stt


@pytest.mark.parametrize("found", ["1.15.0", "1.13.2", "0.0.99", "2.0", "nonsense", ""])
def test_install_refuses_a_pipecat_it_was_not_tested_with(monkeypatch, found):
    monkeypatch.setattr(ours, "_pipecat_version", lambda: found)
    with pytest.raises(ours.PipecatVersionError) as info:
        ours.install()
    assert "tested with pipecat-ai 1.14.*" in str(info.value) and f"pipecat-ai {found} is installed" in str(info.value)
    assert not ours.is_installed() and ours._patched == []


def test_install_needs_pipecat(monkeypatch):
    def missing():
        raise ours.PackageNotFoundError("pipecat-ai")
    monkeypatch.setattr(ours, "version", lambda name: missing())
    with pytest.raises(ImportError, match=r"needs pipecat-ai \(pip install pipecat-ai\)"):
        ours.install()
    assert not ours.is_installed()


def test_a_bad_endpoint_is_refused_before_anything_is_patched(monkeypatch):
    monkeypatch.setattr(ours, "_pipecat_version", lambda: "1.14.0")
    with pytest.raises(ValueError, match="endpoint_url"):
        ours.install(endpoint_url="ftp://example.com/path")
    assert not ours.is_installed()


def test_install_puts_our_utils_in_pipecats_stt_and_uninstall_puts_pipecats_back():
    stt = _tested_pipecat()
    from pipecat.services.aws import utils
    before = {name: getattr(stt, name) for name in ours._STT_NAMES}
    credentials = stt.resolve_credentials, utils.resolve_credentials
    ours.install()
    try:
        ours.install()  # again: one installation
        assert ours.is_installed()
        for name in ours._STT_NAMES:
            assert getattr(stt, name) is getattr(our_utils, name), name
        # pipecat's credentials (renewable through botocore's session) stay pipecat's
        assert (stt.resolve_credentials, utils.resolve_credentials) == credentials
        assert {name for _, name, _, _ in ours._patched} >= set(ours._STT_NAMES)
        assert len({(id(ns), name) for ns, name, _, _ in ours._patched}) == len(ours._patched)
    finally:
        ours.uninstall()
    assert {name: getattr(stt, name) for name in ours._STT_NAMES} == before
    assert not ours.is_installed()
    ours.uninstall()  # a no-op


def test_installed_blocks_nest_and_restore_what_was_before():
    stt = _tested_pipecat()
    with ours.installed(endpoint_url="https://outer.example:443"):
        with ours.installed(endpoint_url="https://inner.example:443"):
            assert ours._options["endpoint_url"] == "https://inner.example:443"
        assert ours.is_installed() and ours._options["endpoint_url"] == "https://outer.example:443"
        assert stt.decode_event is our_utils.decode_event
    assert not ours.is_installed() and stt.decode_event is not our_utils.decode_event


def test_a_patch_laid_over_ours_stays_and_installed_undoes_on_error():
    stt = _tested_pipecat()
    original = stt.decode_event

    def theirs(message):
        return original(message)
    with pytest.raises(KeyError):
        with ours.installed():
            stt.decode_event = theirs  # someone else's patch, after ours
            raise KeyError("boom")
    assert not ours.is_installed()
    assert stt.decode_event is theirs  # not ours to take back
    stt.decode_event = original
