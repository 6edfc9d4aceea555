"""A child process mutating one container (growing, inserting in the middle,
deleting, resizing) is killed with SIGKILL at a random moment.  Reopened,
the container must equal the built-in model after a whole number of steps:
with each step in an explicit transaction, exactly the number the child
recorded in the same transaction; with no explicit transaction, each single
operation is all or nothing by itself."""
from __future__ import annotations

import copy
import os
import random
import signal
import subprocess
import sys
import time
import types

import pytest

import pmemobj
from tests.helpers import child_env


#: One step of each kind, run by the child on persistent containers and by
#: the parent on built-in ones; step i draws from random.Random(i) only, so
#: the parent can replay any prefix.
STEPS = r"""
import random


def key(j):
    return j if j % 3 == 0 else f"k{j}" if j % 3 == 1 else ("t", j, str(j))


def step_list(c, i, rng, make):
    n = len(c)
    r = rng.random()
    if n > 2500:
        del c[rng.randrange(100):1800]
    elif n < 50 or r < 0.40:
        c.insert(rng.randint(0, n), ("v", i))          # middle inserts, through regrowths
    elif r < 0.50:
        c.append("x" * (i % 40))
    elif r < 0.65:
        del c[rng.randrange(n)]
    elif r < 0.75:
        a = rng.randrange(n)
        del c[a:a + rng.randint(1, 6)]
    elif r < 0.85:
        c[rng.randrange(n)] = [i, {"n": i}]           # a nested container replaces an item
    elif r < 0.95:
        a = rng.randrange(n)
        c[a:a + 2] = [i, str(i), (i,)]
    else:
        c.pop(rng.randrange(n))


def step_dict(c, i, rng, make):
    r = rng.random()
    if r < 0.60:
        c[key(i)] = [i] if i % 7 == 0 else str(i) if i % 2 else i   # new keys: resizes
    elif r < 0.80:
        c.pop(key(rng.randrange(i + 1)), None)
    elif r < 0.90:
        c[key(rng.randrange(i + 1))] = ("upd", i)
    elif r < 0.95 and c:
        c.popitem()
    elif r < 0.99:
        c.update({key(i + 10**6 + j): j for j in range(rng.randint(1, 20))})
    elif len(c) > 1000:
        c.clear()


def step_set(c, i, rng, make):
    r = rng.random()
    if r < 0.60:
        c.add(key(i))
    elif r < 0.85:
        c.discard(key(rng.randrange(i + 1)))
    elif r < 0.95:
        c.update(key(i * 10**3 + j) for j in range(rng.randint(1, 30)))
    elif r < 0.99:
        c.difference_update([key(rng.randrange(i + 1)) for _ in range(10)])
    elif len(c) > 1000:
        c.clear()


def step_object(c, i, rng, make):
    r = rng.random()
    name = f"a{rng.randrange(i + 1)}"
    if r < 0.60:
        setattr(c, f"a{i}", [i] if i % 5 == 0 else i)   # new attributes: table resizes
    elif r < 0.85:
        if hasattr(c, name):
            delattr(c, name)
    else:
        setattr(c, name, ("upd", i))


def step_immutable(c, i, rng, make):
    # a new tuple and frozenset replace the old ones, which must be freed
    t = tuple(c["t"])[-rng.randint(0, 60):] + (i, str(i))
    c["t"] = make[0](t)
    members = set(c["fs"])
    members.discard(rng.randrange(i + 1))
    members.add(i)
    c["fs"] = make[1](sorted(members)[-100:])


STEP = {"list": step_list, "dict": step_dict, "set": step_set, "object": step_object,
        "immutable": step_immutable}
"""

CHILD = STEPS + r"""
import sys
import pmemobj

kind, path = sys.argv[1], sys.argv[2]
pool = pmemobj.open(path)
root = pool.root
make = (lambda x: pool.new(pmemobj.PersistentTuple, x),
        lambda x: pool.new(pmemobj.PersistentFrozenSet, x))
step = STEP[kind]
i = root["n"]
while True:
    with pool.transaction():
        step(root["c"], i, random.Random(i), make)
        root["n"] = i + 1          # the step number commits with the step
    if i % 50 == 0:
        sys.stdout.write(f"{i}\n")
        sys.stdout.flush()
    i += 1
"""

#: The same steps with no explicit transaction: each step is one operation,
#: and the child records in a memory-mapped file how many have returned.
CHILD_NO_TX = STEPS + r"""
import mmap, os, sys
import pmemobj

kind, path, counter_path, start = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
pool = pmemobj.open(path)
c = pool.root["c"]
step = STEP[kind]
fd = os.open(counter_path, os.O_RDWR)
done = mmap.mmap(fd, 8)
i = start
while True:
    step(c, i, random.Random(i), None)
    done[0:8] = (i + 1).to_bytes(8, "little")
    if i == start:
        sys.stdout.write("started\n")
        sys.stdout.flush()
    i += 1
"""

_steps = {}
exec(STEPS, _steps)


def new_model(kind):
    if kind == "list":
        return []
    if kind in ("dict",):
        return {}
    if kind == "set":
        return set()
    if kind == "object":
        return types.SimpleNamespace()
    return {"t": (), "fs": frozenset()}


def initial_container(pool, kind):
    if kind == "object":
        return pool.new(pmemobj.PersistentObject)
    if kind == "immutable":
        return {"t": pool.new(pmemobj.PersistentTuple), "fs": pool.new(pmemobj.PersistentFrozenSet)}
    return new_model(kind)


def assert_equal(kind, container, model):
    if kind == "list":
        assert len(container) == len(model)
        assert container == model
    elif kind == "dict":
        assert list(container.items()) == list(model.items())
    elif kind == "set":
        assert container == model and len(container) == len(model)
    elif kind == "object":
        assert container._p_attributes() == vars(model)
        assert list(container._p_attributes()) == list(vars(model))
    else:
        assert tuple(container["t"]) == model["t"]
        assert isinstance(container["t"], pmemobj.PersistentTuple)
        assert container["fs"] == model["fs"]


def run_until_killed(rng, code, *args):
    child = subprocess.Popen([sys.executable, "-c", code, *args], env=child_env(),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = child.stdout.readline()          # it is running and committing
        assert line, child.stderr.read()
        time.sleep(rng.uniform(0.0, 0.25))
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL, child.stderr.read()


KINDS = [pytest.param("list", marks=pytest.mark.msync), pytest.param("dict", marks=pytest.mark.msync),
         "set", "object", "immutable"]


@pytest.mark.parametrize("kind", KINDS)
def test_killed_child_leaves_the_container_at_a_step_boundary(pool_path, kind):
    rng = random.Random()
    with pmemobj.create(pool_path, pool_size=64 << 20) as pool:
        pool.root = {"n": 0, "c": initial_container(pool, kind)}
    model, done = new_model(kind), 0
    make = (tuple, frozenset)
    for cycle in range(3):
        run_until_killed(rng, CHILD, kind, pool_path)
        with pmemobj.open(pool_path) as pool:       # unclean: collects garbage first
            n = pool.root["n"]
            assert n >= done
            for i in range(done, n):
                _steps["STEP"][kind](model, i, random.Random(i), make)
            done = n
            assert_equal(kind, pool.root["c"], model)
            check = pool.check()
            assert check["refcount_mismatches"] == 0 and check["dangling"] == 0, check
            assert check["unreachable"] == 0, check
    assert done > 0


SINGLE_OP_KINDS = [pytest.param("dict", marks=pytest.mark.msync), "list", "set", "object"]


@pytest.mark.parametrize("kind", SINGLE_OP_KINDS)
def test_killed_child_leaves_each_single_operation_all_or_nothing(tmp_path, kind):
    rng = random.Random()
    path, counter = str(tmp_path / "c.pool"), str(tmp_path / "counter")
    with pmemobj.create(path, pool_size=64 << 20) as pool:
        pool.root = {"c": initial_container(pool, kind)}
    model, done = new_model(kind), 0
    for cycle in range(3):
        with open(counter, "wb") as f:
            f.write(done.to_bytes(8, "little"))
        run_until_killed(rng, CHILD_NO_TX, kind, path, counter, str(done))
        with open(counter, "rb") as f:
            returned = int.from_bytes(f.read(8), "little")  # steps that returned
        assert returned >= done
        for i in range(done, returned):
            _steps["STEP"][kind](model, i, random.Random(i), None)
        with pmemobj.open(path) as pool:
            c = pool.root["c"]
            try:
                assert_equal(kind, c, model)
                done = returned
            except AssertionError:
                # killed after the next operation committed, before it was counted
                model = copy.deepcopy(model)
                _steps["STEP"][kind](model, returned, random.Random(returned), None)
                assert_equal(kind, c, model)
                done = returned + 1
            check = pool.check()
            assert check["refcount_mismatches"] == 0 and check["dangling"] == 0, check
            assert check["unreachable"] == 0, check
    assert done > 0
