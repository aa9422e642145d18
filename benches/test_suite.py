"""The ``aws-eventstream bench`` suite as pytest-benchmark tests (``pytest benches/``).

One test per case and implementation, grouped by case so one run compares them; save
runs with ``--benchmark-save`` to compare commits. Peers that are not installed skip.
"""

from __future__ import annotations

import pytest

from aws_eventstream._tools import bench

CASES = bench.build_cases()
PARAMS = [pytest.param(case, impl, id=f"{case.name} | {impl.name}") for case in CASES for impl in case.impls]


@pytest.mark.parametrize("case, impl", PARAMS)
def test_suite(benchmark, case, impl):
    try:
        fn = impl.make()  # checks the implementation's answer before timing it
    except bench.Skip as why:
        pytest.skip(str(why))
    benchmark.group = case.name
    benchmark.extra_info["bytes"] = case.size
    benchmark(fn)
