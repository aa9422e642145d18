"""pytest-benchmark configuration for ``pytest benches/``."""


def pytest_configure(config):
    # the suite compares implementations within a case: keep a case's rows together, fastest first
    if not config.getoption("benchmark_sort", None) or config.getoption("benchmark_sort") == "min":
        config.option.benchmark_sort = "mean"
