"""Counts a test run reports at its end (cases tried, failures injected), so a suite that
silently did less than it claims shows it. ``conftest.pytest_terminal_summary`` prints them."""

from __future__ import annotations

from collections import Counter

COUNTS: Counter = Counter()


def count(what: str, n: int = 1) -> None:
    COUNTS[what] += n
