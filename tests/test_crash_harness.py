"""A short run of the crash-injection harness (`make crash` runs it long)."""
from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "crash"))

import harness  # noqa: E402


@pytest.mark.msync
def test_short_crash_run_loses_nothing_and_leaks_nothing(tmp_path):
    stats = harness.run(cycles=6, seed=12345, directory=str(tmp_path), quiet=True)
    assert stats["cycles"] == 6
    # each cycle's child committed at least one step (the harness fails the
    # run otherwise), and the pool kept every step whose commit returned
    assert stats["steps"] >= 3 and stats["parkit_steps"] >= 3
    assert stats["lost"] == 0
    assert stats["inconsistent"] == 0
    assert stats["refcount_mismatches"] == 0
    assert stats["leaks"] == 0
