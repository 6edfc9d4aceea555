"""Crash injection: kill -9 a child doing random mixed operations at a random
moment, reopen the pool, and verify it.

    python tests/crash/harness.py [--cycles 200] [--seed S] [--dir DIR]

Each cycle starts a child that resumes the operation stream where the pool
says it stopped and runs until it is killed.  Most steps run in one
transaction with the step counter; every fourth runs on its own (the
container operation is atomic, the counter follows separately), so the
pool must equal the model after the last counted step, or after the one in
flight.  The child records in a memory-mapped counter file each step whose
commit has returned, so the pool must hold at least that many steps (and
at most one more); a child that dies on its own, or commits nothing, fails
the run.  Then, before anything is collected: reference counts must equal
the references found, and every object must be reachable from the root or
waiting in the zero-count table (no leak).  The same runs for parkit
objects (Dict, Log, Queue) shared through a storage path.

Prints cycles, steps committed, lost steps, inconsistencies and leaks; exits
non-zero on any problem.
"""
from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path[:0] = [HERE, ROOT]

import pmemobj  # noqa: E402
from ops import model, plain, step  # noqa: E402

CHILD = r"""
import mmap, os, sys
sys.path[:0] = [{here!r}, {root!r}]
import pmemobj
from ops import apply, step
from crash_types import Record
seed, path, counter = int(sys.argv[1]), sys.argv[2], sys.argv[3]
done = mmap.mmap(os.open(counter, os.O_RDWR), 8)   # steps whose commit returned
pool = pmemobj.open(path)
root = pool.root
c = {{"list": root["list"], "dict": root["dict"], "set": root["set"]}}
obj = root["obj"]
i = root["step"]
print("go", flush=True)
while True:
    op = step(seed, i)
    if i % 4 == 3:
        apply(op, c, obj)          # atomic on its own
        root["step"] = i + 1       # a crash may fall in between
    else:
        with pool.transaction():
            apply(op, c, obj)
            root["step"] = i + 1
    done[0:8] = (i + 1).to_bytes(8, "little")   # step i has committed
    i += 1
"""

PARKIT_CHILD = r"""
import mmap, os, sys
sys.path[:0] = [{root!r}]
import parkit
parkit.set_storage_path(sys.argv[1])
done = mmap.mmap(os.open(sys.argv[2], os.O_RDWR), 8)   # steps whose commit returned
d, log, q = parkit.Dict("crash/d"), parkit.Log("crash/log"), parkit.Queue("crash/q")
meta = parkit.Dict("crash/meta")
# single versioned writes, each its own transaction (their version counts
# are flushed, not logged): v counts its sets in "n", vl its appends
v, vl = parkit.Dict("crash/v"), parkit.Log("crash/vl")
i = meta["step"]
print("go", flush=True)
while True:
    with parkit.transaction(d):
        d[f"k{{i % 17}}"] = i
        log.append(i)
        if i % 3 == 2:
            q.get_nowait()
        else:
            q.put(i)
        meta["step"] = i + 1
    done[0:8] = (i + 1).to_bytes(8, "little")   # step i has committed
    v["n"] = v["n"] + 1
    vl.append(i)
    i += 1
"""


def parkit_model(n: int) -> Dict[str, Any]:
    d, log, q = {}, [], []
    for i in range(n):
        d[f"k{i % 17}"] = i
        log.append(i)
        if i % 3 == 2:
            q.pop(0)
        else:
            q.append(i)
    return {"d": d, "log": log, "q": q}


def kill_after(args: list, delay: float, counter: str, start: int) -> int:
    """Run a child from step *start* and SIGKILL it after *delay* s (or, if
    later, once it has committed a step); return how many steps it reported
    committed (the commit of each had returned in the child).  Raises
    RuntimeError if the child died on its own or never committed."""
    with open(counter, "wb") as f:
        f.write(start.to_bytes(8, "little"))

    def returned() -> int:
        with open(counter, "rb") as f:     # the child's mmap writes, via the page cache
            return int.from_bytes(f.read(8), "little")

    child = subprocess.Popen([sys.executable, "-c", *args], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        line = child.stdout.readline()
        if line.strip() == "go":
            time.sleep(delay)
            deadline = time.monotonic() + 60
            while returned() == start and child.poll() is None and time.monotonic() < deadline:
                time.sleep(0.001)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    if child.returncode != -signal.SIGKILL:
        raise RuntimeError(f"child exited with {child.returncode} before it was killed "
                           f"(after {returned() - start} steps):\n{child.stderr.read()[-3000:]}")
    if line.strip() != "go":
        raise RuntimeError(f"child failed to start: {child.stderr.read()[-3000:]}")
    n = returned()
    if n <= start:
        raise RuntimeError(f"child committed no step in 60 s: {child.stderr.read()[-3000:]}")
    return n


def check_committed(kind: str, n: int, returned: int, stats: Dict[str, int]) -> None:
    """The pool holds every step whose commit returned in the child, and at
    most the one in flight beyond it."""
    if n < returned:
        stats["lost"] += returned - n
        print(f"LOST {kind} steps: the child committed {returned}, the pool holds {n}",
              file=sys.stderr)
    elif n > returned + 1:
        stats["inconsistent"] += 1
        print(f"INCONSISTENT {kind}: the pool holds {n} steps, the child had committed "
              f"{returned} (at most one more can be in flight)", file=sys.stderr)


def inspect(path: str) -> Dict[str, int]:
    """Counts and leaks of a pool as the crash left it (before any gc)."""
    with pmemobj.PersistentObjectPool(path, "w", collect_unclean=False) as pool:
        found = pool.check()
    return found


def pmemobj_cycle(path: str, seed: int, rng: random.Random, stats: Dict[str, int]) -> None:
    code = CHILD.format(here=HERE, root=ROOT)
    returned = kill_after([code, str(seed), path, path + ".done"], rng.uniform(0.0, 0.15),
                          path + ".done", stats["last_step"])
    found = inspect(path)
    stats["refcount_mismatches"] += found["refcount_mismatches"] + found["dangling"]
    stats["leaks"] += found["unreachable"]
    with pmemobj.open(path) as pool:
        root = pool.root
        n = root["step"]
        state = (plain({"list": root["list"], "dict": root["dict"], "set": root["set"]}),
                 root["obj"]._p_attributes())
        if state == model(seed, n):
            pass
        elif n % 4 == 3 and state == model(seed, n + 1):
            root["step"] = n + 1       # the in-flight step landed whole
            n += 1
        else:
            stats["inconsistent"] += 1
            report("pmemobj", n, state, model(seed, n))
            for k in range(-3, 4):
                if state == model(seed, n + k):
                    print(f"  ... equals the model after step {n + k}; in flight: "
                          f"{[step(seed, j)[:2] for j in range(n - 1, n + 2)]}", file=sys.stderr)
        check_committed("pmemobj", n, returned, stats)
        stats["lost"] += max(0, stats["last_step"] - n)
        stats["last_step"] = n
        stats["steps"] = n


def parkit_cycle(storage: str, rng: random.Random, stats: Dict[str, int]) -> None:
    import parkit
    counter = storage + ".done"
    returned = kill_after([PARKIT_CHILD.format(root=ROOT), storage, counter],
                          rng.uniform(0.0, 0.15), counter, stats["parkit_last"])
    nsfile = parkit.storage.namespace_file("crash", storage)
    found = inspect(nsfile)
    stats["refcount_mismatches"] += found["refcount_mismatches"] + found["dangling"]
    stats["leaks"] += found["unreachable"]
    parkit.set_storage_path(storage)
    n = parkit.Dict("crash/meta")["step"]
    q = parkit.Queue("crash/q")
    state = {"d": parkit.Dict("crash/d").to_dict(), "log": parkit.Log("crash/log").to_list(),
             "q": q._read(lambda e, d: [d[k] for k in range(e["head"], e["tail"])])}
    if state != parkit_model(n):
        stats["inconsistent"] += 1
        report("parkit", n, state, parkit_model(n))
    check_versions(n, stats)
    check_committed("parkit", n, returned, stats)
    stats["lost"] += max(0, stats["parkit_last"] - n)
    stats["parkit_last"] = n
    stats["parkit_steps"] = n
    parkit.close_all()


def check_versions(n: int, stats: Dict[str, int]) -> None:
    """Versions count every committed change: exactly for writes in an
    explicit transaction (d is set once per step); for single writes, a
    crash may add one count for a write it rolled back, never miss one."""
    import parkit
    v, vl = parkit.Dict("crash/v"), parkit.Log("crash/vl")
    d_version = parkit.Dict("crash/d").version
    extra = (v.version - v["n"]) + (vl.version - len(vl))
    if d_version != n or not 0 <= extra - stats["version_extra"] <= 1:
        stats["inconsistent"] += 1
        report("parkit versions", n, (d_version, extra), (n, stats["version_extra"]))
    stats["version_extra"] = extra


def report(kind: str, n: int, got: Any, want: Any) -> None:
    print(f"INCONSISTENT {kind} state after step {n}:", file=sys.stderr)
    print(f"  pool : {got!r:.2000}", file=sys.stderr)
    print(f"  model: {want!r:.2000}", file=sys.stderr)


def setup(directory: str) -> tuple:
    path = os.path.join(directory, "crash.pool")
    with pmemobj.create(path, pool_size=128 << 20) as pool:
        from crash_types import Record
        pool.root = {"list": [], "dict": {}, "set": set(), "step": 0}
        pool.root["obj"] = pool.new(Record)
    storage = os.path.join(directory, "parkit")
    import parkit
    parkit.set_storage_path(storage)
    parkit.Dict("crash/d")
    parkit.Log("crash/log")
    parkit.Queue("crash/q")
    parkit.Dict("crash/meta")["step"] = 0
    parkit.Dict("crash/v")["n"] = 0
    parkit.Log("crash/vl")
    parkit.close_all()
    return path, storage


def run(cycles: int, seed: int, directory: str, quiet: bool = False) -> Dict[str, int]:
    rng = random.Random(seed)
    path, storage = setup(directory)
    stats = {"cycles": 0, "steps": 0, "parkit_steps": 0, "lost": 0, "inconsistent": 0,
             "refcount_mismatches": 0, "leaks": 0, "last_step": 0, "parkit_last": 0,
             "version_extra": 1}   # crash/v's version counts its setup write
    for c in range(cycles):
        if c % 2 == 0:
            pmemobj_cycle(path, seed, rng, stats)
        else:
            parkit_cycle(storage, rng, stats)
        stats["cycles"] += 1
        if not quiet and (c + 1) % 10 == 0:
            print(f"  {c + 1} cycles, {stats['steps']} + {stats['parkit_steps']} steps", flush=True)
    return stats


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cycles", type=int, default=int(os.environ.get("CRASH_CYCLES", 200)))
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--dir", default=None)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as d:
        print(f"crash harness: {args.cycles} cycles, seed {args.seed}, "
              f"PMEM_IS_PMEM_FORCE={os.environ.get('PMEM_IS_PMEM_FORCE', '')!r}")
        start = time.monotonic()
        stats = run(args.cycles, args.seed, d)
    print(f"cycles {stats['cycles']}  steps committed: pmemobj {stats['steps']}, "
          f"parkit {stats['parkit_steps']}  ({time.monotonic() - start:.0f} s)")
    print(f"lost steps {stats['lost']}  inconsistent states {stats['inconsistent']}  "
          f"refcount errors {stats['refcount_mismatches']}  leaks {stats['leaks']}")
    print(f"single writes a crash rolled back but counted in a version: "
          f"{stats['version_extra'] - 1}")
    bad = stats["lost"] + stats["inconsistent"] + stats["refcount_mismatches"] + stats["leaks"]
    print("OK" if bad == 0 else "FAILED")
    return 0 if bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
