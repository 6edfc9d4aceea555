"""A child process killed with SIGKILL in the middle of transactions leaves
the pool all-or-nothing and reopenable."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import pytest

import pmemobj

CHILD = r"""
import sys, pmemobj
pool = pmemobj.open(sys.argv[1])
root = pool.root
i = root["n"]
while True:
    with pool.transaction():
        # one step touches every kind of change; all of it or none survives
        root["log"].append(i)
        root["d"][str(i)] = ("v", i, "x" * (i % 50))
        if i % 3 == 0 and i >= 3:
            del root["d"][str(i - 3)]
        root["n"] = i + 1
    if i % 100 == 0:
        sys.stdout.write(f"{i}\n"); sys.stdout.flush()
    i += 1
"""


def check_consistent(root):
    n = root["n"]
    assert list(root["log"]) == list(range(n))
    expected = {str(i): ("v", i, "x" * (i % 50)) for i in range(n)}
    for i in range(n):
        if i % 3 == 0 and i + 3 < n:
            del expected[str(i)]
    assert dict(root["d"].items()) == expected
    return n


@pytest.mark.msync
@pytest.mark.parametrize("cycle", range(4))
def test_sigkill_inside_transactions(pool_path, cycle):
    with pmemobj.create(pool_path, pool_size=64 << 20) as pool:
        pool.root = {"n": 0, "log": [], "d": {}}
    last = 0
    for _ in range(3):
        child = subprocess.Popen([sys.executable, "-c", CHILD, pool_path],
                                 stdout=subprocess.PIPE, text=True)
        assert child.stdout.readline()  # it is running and committing
        time.sleep(random.uniform(0.0, 0.05))
        child.send_signal(signal.SIGKILL)
        child.wait()
        with pmemobj.open(pool_path) as pool:
            n = check_consistent(pool.root)
            assert n >= last
            last = n
            check = pool.check()
            assert check["refcount_mismatches"] == 0 and check["dangling"] == 0
            assert check["unreachable"] == 0
    assert last > 0   # steps were committed (and survived the kills)
    os.unlink(pool_path)


LITTER = r"""
import os, sys, pmemobj
pool = pmemobj.open(sys.argv[1])
held = [pool.new(pmemobj.PersistentList, [i, i + 1]) for i in range(3000)]
os._exit(0)   # unclean: what only this process held is garbage now
"""

COLLECTOR = r"""
import sys, pmemobj
print("opening", flush=True)
pmemobj.open(sys.argv[1])   # collects at open
"""


def _pobjects_left(path):
    """PObjects in the pool, looked at without collecting or closing it."""
    pool = pmemobj.PersistentObjectPool(path, "w", collect_unclean=False)
    try:
        return pool.stats()["pobjects"]
    finally:
        pool._abandon()   # a close would finish the collection


def test_sigkill_while_the_collector_sweeps(pool_path):
    # the sweep commits in steps (a full pool cannot log a big one): a kill
    # between steps must leave a pool the next open collects completely
    with pmemobj.create(pool_path, pool_size=64 << 20) as pool:
        pool.root = {"keep": [1, 2, 3], "n": 7}
    base = _pobjects_left(pool_path)
    half_swept = 0
    for attempt in range(40):
        if _pobjects_left(pool_path) == base:   # (again) something to sweep
            subprocess.run([sys.executable, "-c", LITTER, pool_path], check=True,
                           timeout=60)
        littered = _pobjects_left(pool_path)
        child = subprocess.Popen([sys.executable, "-c", COLLECTOR, pool_path],
                                 stdout=subprocess.PIPE, text=True)
        assert child.stdout.readline().strip() == "opening"
        time.sleep(0.001 * (attempt % 12))
        child.send_signal(signal.SIGKILL)
        child.wait()
        left = _pobjects_left(pool_path)
        half_swept += base < left < littered
        if half_swept:
            break
    assert half_swept, "no kill landed in the middle of a sweep"
    with pmemobj.open(pool_path) as pool:
        assert pool.root == {"keep": [1, 2, 3], "n": 7}
        check = pool.check()
        assert check["unreachable"] == 0 and check["refcount_mismatches"] == 0
        assert check["dangling"] == 0
        assert pool.stats()["pobjects"] == base
