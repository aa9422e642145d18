"""The command line and what only it uses: the benchmark suite, the load bench, workloads.

Tooling, not runtime: nothing in the package's runtime layers imports from here.
"""
