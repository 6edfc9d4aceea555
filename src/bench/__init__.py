"""Helpers of the benchmark driver ``src/bench.py``.

common      timing (best-of-N), memory readings, number formatting
stores      one adapter per system (pmemobj, parkit and peers), same operations
suite       the operation list, the scaling run, the open-time run, profiling
contention  parkit with many processes sharing one counter
report      tables, targets and the chart

Nothing here imports pmemobj or parkit at module level: libpmem reads
PMEM_IS_PMEM_FORCE once, when it is loaded, so they are only imported in
worker subprocesses started with the environment of the mode they measure.
"""
