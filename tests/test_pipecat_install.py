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
    from pipecat.services.aws import utils
    return utils


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


def test_install_puts_our_utils_in_pipecats_and_uninstall_puts_pipecats_back():
    utils = _tested_pipecat()
    before = {name: getattr(utils, name) for name in ours._UTILS_NAMES}
    ours.install()
    try:
        ours.install()  # again: one installation
        assert ours.is_installed()
        for name in ours._UTILS_NAMES:
            assert getattr(utils, name) is getattr(our_utils, name), name
        assert len({(id(ns), name) for ns, name, _, _ in ours._patched}) == len(ours._patched)
    finally:
        ours.uninstall()
    assert {name: getattr(utils, name) for name in ours._UTILS_NAMES} == before
    assert not ours.is_installed()
    ours.uninstall()  # a no-op


def test_a_patch_laid_over_ours_stays_and_installed_undoes_on_error():
    utils = _tested_pipecat()
    original = utils.decode_event

    def theirs(message):
        return original(message)
    with pytest.raises(KeyError):
        with ours.installed():
            utils.decode_event = theirs  # someone else's patch, after ours
            raise KeyError("boom")
    assert not ours.is_installed()
    assert utils.decode_event is theirs  # not ours to take back
    utils.decode_event = original
