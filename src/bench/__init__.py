"""Helpers of the benchmark driver ``src/bench.py``.

common   timing (best-of-N), memory readings, number formatting
stores   one adapter per system (pmemobj and its peers), same operations
suite    the operation list, the scaling run, the open-time run, profiling
report   tables, targets and the chart

Nothing here imports pmemobj at module level: libpmem reads
PMEM_IS_PMEM_FORCE once, when it is loaded, so pmemobj is only imported in
worker subprocesses started with the environment of the mode they measure.
"""
