"""parkit with real processes: no lost updates, no starvation, killed owners
never block the others, blocked readers wake on writes elsewhere."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import parkit
from tests.helpers import ROOT


def spawn(code: str, storage: str, *args: str) -> subprocess.Popen:
    prelude = ("import sys, time, parkit\n"
               f"parkit.set_storage_path({storage!r})\n")
    return subprocess.Popen([sys.executable, "-c", prelude + code, *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=ROOT)




INCREMENT = """
d = parkit.Dict("mp/counter")
start = time.monotonic()
for _ in range(int(sys.argv[1])):
    with parkit.transaction(d):
        d["n"] = d["n"] + 1
print(time.monotonic() - start)
"""


def test_four_processes_lose_no_increment(storage):
    d = parkit.Dict("mp/counter")
    d["n"] = 0
    parkit.close_all()
    procs = [spawn(INCREMENT, storage, "5000") for _ in range(4)]
    times = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        times.append(float(out))
    assert d["n"] == 20000
    # nobody starved: each finished, and none took all the time alone
    assert max(times) < 120


COMPETITOR = """
import os, json
go = sys.argv[1]
d = parkit.Dict("mp/fair")
while not os.path.exists(go):
    time.sleep(0.001)
count, longest = 0, 0.0
last = start = time.monotonic()
while time.monotonic() - start < 1.5:
    with parkit.transaction(d):
        d["n"] = d["n"] + 1
    now = time.monotonic()
    longest, last, count = max(longest, now - last), now, count + 1
print(json.dumps({"count": count, "longest_wait": longest}))
"""


def test_no_process_starves_while_all_compete(storage):
    # four processes increment for the same 1.5 s: each gets a fair share
    # of the namespace and never waits long for its turn
    import json
    d = parkit.Dict("mp/fair")
    d["n"] = 0
    parkit.close_all()
    go = os.path.join(storage, "go")
    procs = [spawn(COMPETITOR, storage, go) for _ in range(4)]
    time.sleep(1.0)                            # all started (imports done)
    open(go, "w").close()
    reports = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        reports.append(json.loads(out))
    counts = [r["count"] for r in reports]
    assert d["n"] == sum(counts)
    assert min(counts) >= sum(counts) * 0.05, counts
    assert max(r["longest_wait"] for r in reports) < 1.0, reports


HOLDER = """
d = parkit.Dict("mp/held")
with parkit.transaction(d):
    d["owner"] = "holder"
    print("holding", flush=True)
    time.sleep(60)
"""


def test_killed_owner_never_blocks_the_others(storage):
    parkit.Dict("mp/held")["owner"] = None
    parkit.close_all()
    holder = spawn(HOLDER, storage)
    assert holder.stdout.readline().strip() == "holding"
    start = time.monotonic()
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    d = parkit.Dict("mp/held")
    assert d["owner"] is None   # the dead owner's transaction rolled back
    d["owner"] = "me"           # and nothing blocks a new writer
    assert d["owner"] == "me"
    assert time.monotonic() - start < 30


CONSUMER = """
q = parkit.Queue("mp/q")
print("ready", flush=True)
item = q.get(timeout=30)
print(item, time.time(), flush=True)
"""


def test_blocked_get_wakes_when_another_process_puts(storage):
    q = parkit.Queue("mp/q")
    parkit.close_all()
    consumer = spawn(CONSUMER, storage)
    assert consumer.stdout.readline().strip() == "ready"
    time.sleep(0.2)
    sent = time.time()
    q.put("ping")
    out, err = consumer.communicate(timeout=60)
    assert consumer.returncode == 0, err
    item, when = out.split()
    assert item == "ping"
    assert float(when) - sent < 1.0


def test_an_idle_owner_hands_the_namespace_over(storage):
    d = parkit.Dict("mp/idle")
    d["x"] = 1                       # this process now owns the namespace
    reader = spawn('print(parkit.Dict("mp/idle")["x"])', storage)
    out, err = reader.communicate(timeout=60)
    assert reader.returncode == 0, err
    assert out.strip() == "1"
    d["x"] = 2                       # and gets it back
    assert d["x"] == 2


def test_reopen_after_crash_recovers_without_loss(storage):
    code = """
log = parkit.Log("mp/log")
i = len(log)
while True:
    with parkit.transaction(log):
        log.append(i)
        parkit.Dict("mp/meta")["last"] = i
    print(i, flush=True)          # item i has committed
    i += 1
"""
    committed = 0
    for _ in range(3):
        p = spawn(code, storage)
        first = p.stdout.readline()      # it resumed and committed an item
        time.sleep(0.05)
        p.send_signal(signal.SIGKILL)
        p.wait()
        assert p.returncode == -signal.SIGKILL, p.stderr.read()
        assert first == f"{committed}\n", (first, p.stderr.read())
        # every item the child saw committed survived the kill (the last
        # line may have been cut short by it)
        printed = [int(s) for s in (first + p.stdout.read()).split("\n")[:-1]]
        assert printed == list(range(committed, committed + len(printed)))
        committed = len(parkit.Log("mp/log"))
        assert printed[-1] < committed <= printed[-1] + 2, (printed[-1], committed)
        parkit.close_all()
    log = parkit.Log("mp/log")
    items = list(log)
    assert items == list(range(len(items)))
    assert len(items) >= 20, len(items)      # thousands, or ~80 with msync
    assert parkit.Dict("mp/meta")["last"] == len(items) - 1


def _increment_in_forked_child(path: str, times: int) -> None:
    d = parkit.Dict(path)
    for _ in range(times):
        with parkit.transaction(d):
            d["n"] = d["n"] + 1


def test_multiprocessing_fork_children_share_the_parents_namespace(storage):
    """Workers forked by multiprocessing (Linux's default start method) from
    a process that has the namespace open use it with the parent: no update
    lost, and each child closes the pool cleanly when it leaves (no garbage
    collection for the next opener)."""
    import multiprocessing
    from parkit.namespace import handle_for
    d = parkit.Dict("mpfork/counter")
    d["n"] = 0
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_increment_in_forked_child, args=("mpfork/counter", 200))
             for _ in range(3)]
    for p in procs:
        p.start()
    _increment_in_forked_child("mpfork/counter", 200)
    parkit.close_all()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert d["n"] == 800
    assert handle_for("mpfork").pool.recovered is None   # the last closer closed cleanly
