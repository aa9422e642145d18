"""Fixtures and hooks: every behaviour test runs against both codec twins.

Helpers the tests import live in ``helpers.py``; this file only holds what pytest calls.
"""

from __future__ import annotations

import pytest

import tally
from helpers import DATA, signing_chains, twin, vector_names


@pytest.fixture(params=["c", "py"], scope="session")
def codec(request):
    """The codec module under test: the Cython twin (``c``) or the pure twin (``py``)."""
    return twin(request.param)


def pytest_report_header(config):
    # The vectors are parametrized from the files found: say how many, so that a
    # suite that found none cannot pass unnoticed.
    try:
        positive, negative = len(vector_names("positive")), len(vector_names("negative"))
        chains = signing_chains()
    except (OSError, ValueError, KeyError) as exc:
        return f"test data ({DATA}): not readable: {exc}"
    chunks = sum(len(c["chunks"]) for c in chains)
    return (f"test data ({DATA}): event-stream vectors {positive} positive, {negative} negative; "
            f"signing {len(chains)} chains, {chunks} chunks")


def pytest_terminal_summary(terminalreporter):
    for what, n in sorted(tally.COUNTS.items()):
        terminalreporter.write_line(f"{what}: {n}")
