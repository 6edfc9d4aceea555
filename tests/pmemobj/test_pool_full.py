"""A full pool during any growing operation of any container raises
PoolFullError (a MemoryError), leaves the container exactly as it was
before that operation, and the pool stays usable."""
from __future__ import annotations

import types

import pytest

import pmemobj
from pmemobj import (PersistentDict, PersistentFrozenSet, PersistentList, PersistentObject,
                     PersistentSet, PersistentTuple, PoolFullError)

SMALL = 8 << 20


def plain(v):
    """*v* with every persistent container replaced by its built-in twin."""
    if isinstance(v, PersistentDict):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, (PersistentList, list)):
        return [plain(x) for x in v]
    if isinstance(v, PersistentTuple):
        return tuple(plain(x) for x in v)
    if isinstance(v, PersistentSet):
        return set(v)
    if isinstance(v, PersistentFrozenSet):
        return frozenset(v)
    return v


def contents(c):
    """A built-in, ordered copy of the contents of a persistent container or
    of its model."""
    if isinstance(c, (PersistentObject, types.SimpleNamespace)):
        attrs = c._p_attributes() if isinstance(c, PersistentObject) else vars(c)
        return [(k, plain(v)) for k, v in attrs.items()]
    if isinstance(c, (PersistentDict, dict)):
        return [(k, plain(v)) for k, v in c.items()]
    if isinstance(c, (PersistentSet, set)):
        return {plain(v) for v in c}  # a set's order is its own business
    return [plain(v) for v in c]


def shrink_to_one(c):
    """Remove all but the first item, attribute, key or member, newest
    first and one per transaction."""
    if isinstance(c, (PersistentObject, types.SimpleNamespace)):
        attrs = c._p_attributes() if isinstance(c, PersistentObject) else vars(c)
        for name in list(attrs)[:0:-1]:
            delattr(c, name)
    elif isinstance(c, (PersistentList, list)):
        while len(c) > 1:
            c.pop()
    elif isinstance(c, (PersistentDict, dict)):
        while len(c) > 1:
            c.popitem()
    else:
        for x in sorted(c, key=repr)[1:]:
            c.remove(x)


def in_pool(pool):
    """The ``new`` of the cases' operations for persistent containers."""
    return pool.new


def built_in(cls, items):
    """The ``new`` of the cases' operations for the built-in model."""
    return tuple(items) if cls is PersistentTuple else frozenset(items)


# name: (initial contents; the growing operation on container c, step i,
# and new(cls, items) making a persistent tuple or frozenset)
CASES = {
    "list_append_int": (list, lambda c, i, new: c.append(i)),
    "list_append_str": (list, lambda c, i, new: c.append(f"{i:06d}" * 40)),
    "list_append_container": (list, lambda c, i, new: c.append([i, {"k": (i,)}])),
    "list_extend": (list, lambda c, i, new: c.extend(range(i, i + 37))),
    "list_extend_str": (list, lambda c, i, new: c.extend([str(i) * 30] * 20)),
    "list_iadd": (list, lambda c, i, new: c.__iadd__([i] * 25)),
    "list_imul": (lambda: [1, "two", (3,)], lambda c, i, new: c.__imul__(2)),
    "list_insert_middle": (lambda: [0, 1], lambda c, i, new: c.insert(len(c) // 2, i)),
    "list_insert_str_front": (list, lambda c, i, new: c.insert(0, str(i) * 50)),
    "list_slice_assign": (lambda: [0, 1, 2],
                          lambda c, i, new: c.__setitem__(slice(1, 2), [i] * 30)),
    "list_extended_slice_assign": (lambda: list(range(64)), lambda c, i, new: c.__setitem__(
        slice(None, None, 4), ["x" * (256 * i)] * len(c[::4]))),
    "dict_set_resize": (dict, lambda c, i, new: c.__setitem__(i, i)),
    "dict_set_str": (dict, lambda c, i, new: c.__setitem__(f"key{i}", "v" * 200)),
    "dict_set_slow_key": (dict, lambda c, i, new: c.__setitem__(("t", i, 2**70), i)),
    "dict_update": (dict, lambda c, i, new: c.update({(i, j): j for j in range(20)})),
    "dict_update_kw": (dict, lambda c, i, new: c.update(**{f"a{i}_{j}": j for j in range(10)})),
    "dict_ior": (dict, lambda c, i, new: c.__ior__({f"i{i}_{j}": [j] for j in range(5)})),
    "dict_setdefault": (dict, lambda c, i, new: c.setdefault(i, [i] * 10)),
    "set_add": (set, lambda c, i, new: c.add(i)),
    "set_add_str": (set, lambda c, i, new: c.add(f"member{i}" * 10)),
    "set_add_slow_member": (set, lambda c, i, new: c.add((i, frozenset({i, "x"})))),
    "set_update": (set, lambda c, i, new: c.update(range(i * 50, i * 50 + 50))),
    "set_ior": (set, lambda c, i, new: c.__ior__({f"s{i}_{j}" for j in range(30)})),
    "set_symmetric_difference_update": (set, lambda c, i, new: c.symmetric_difference_update(
        range(i * 40, i * 40 + 40))),
    "object_setattr": (PersistentObject, lambda c, i, new: setattr(c, f"a{i}", i)),
    "object_setattr_containers": (PersistentObject,
                                  lambda c, i, new: setattr(c, f"a{i}", [str(i)] * 20)),
    "new_tuples_in_a_list": (list, lambda c, i, new: c.append(
        new(PersistentTuple, [str(i) * 100] * 30))),
    "new_frozensets_in_a_set": (set, lambda c, i, new: c.add(
        new(PersistentFrozenSet, [f"{i}-{j}" * 10 for j in range(30)]))),
}

STUCK = pytest.mark.xfail(strict=True, raises=PoolFullError, reason=(
    "in a full pool, freeing a dropped container that holds many objects needs "
    "libpmemobj log space, which it cannot extend: the objects wait in the zero-count "
    "table (nothing is lost, and close/gc retry) but the room is not available again "
    "until then"))
STUCK_CASES = {"new_frozensets_in_a_set", "object_setattr_containers"}


def fill(pool, name):
    """Run the case's operation until the pool is full, mirroring each
    successful step on a built-in model; the failing call must leave the
    container equal to the model."""
    initial, op = CASES[name]
    if initial is PersistentObject:
        pool.root = {"n": 0, "c": pool.new(PersistentObject)}
        model = types.SimpleNamespace()
    else:
        pool.root = {"n": 0, "c": initial()}
        model = initial()
    c = pool.root["c"]
    new = in_pool(pool)
    for i in range(200000):
        try:
            op(c, i, new)
        except PoolFullError as e:
            assert isinstance(e, MemoryError)
            assert "full" in str(e)
            assert contents(c) == contents(model)  # exactly as before the failing call
            return c, model
        op(model, i, built_in)
    pytest.fail("the pool never filled up")


@pytest.mark.parametrize("name", [pytest.param(n, marks=STUCK) if n in STUCK_CASES else n
                                  for n in sorted(CASES)])
def test_pool_full_raises_and_leaves_the_container_unchanged(tmp_path, name):
    path = str(tmp_path / "small.pool")
    pool = pmemobj.create(path, pool_size=SMALL)
    try:
        c, model = fill(pool, name)
        # the pool is usable: shrink the container, then grow it again
        shrink_to_one(c)
        shrink_to_one(model)
        assert contents(c) == contents(model)
        _, op = CASES[name]
        for i in range(3):
            op(c, i, in_pool(pool))
            op(model, i, built_in)
        assert contents(c) == contents(model)
        pool.root["n"] = 1
    finally:
        pool.close()
    with pmemobj.open(path) as pool:
        assert contents(pool.root["c"]) == contents(model)
        assert pool.root["n"] == 1
        check = pool.check()
        assert check["refcount_mismatches"] == 0 and check["dangling"] == 0
        assert check["unreachable"] == 0


@pytest.mark.parametrize("name", sorted(STUCK_CASES))
def test_garbage_stuck_in_a_full_pool_is_freed_at_close_and_reopen(tmp_path, name):
    # the stuck garbage waits for the collection at close; that sweep once
    # ran as one transaction, failed for lack of log room, and left the pool
    # unopenable (each open retried it)
    path = str(tmp_path / "small.pool")
    pool = pmemobj.create(path, pool_size=SMALL)
    c, model = fill(pool, name)
    shrink_to_one(c)
    shrink_to_one(model)
    del c
    pool.close()
    _, op = CASES[name]
    for attempt in range(2):
        with pmemobj.open(path) as pool:
            c = pool.root["c"]
            assert contents(c) == contents(model)
            op(c, attempt, in_pool(pool))         # room again
            op(model, attempt, built_in)
            assert contents(c) == contents(model)
            check = pool.check()
            assert check["unreachable"] == 0 and check["refcount_mismatches"] == 0
            assert check["dangling"] == 0


def test_pool_full_inside_a_transaction_rolls_back_all_of_it(tmp_path):
    path = str(tmp_path / "small.pool")
    with pmemobj.create(path, pool_size=SMALL) as pool:
        pool.root = {"l": [1, 2, 3], "d": {"k": "v"}, "n": 0}
        root = pool.root
        objects = pool.stats()["objects"]
        with pytest.raises(PoolFullError):
            with pool.transaction():
                root["n"] = 1
                root["d"]["new"] = [1, 2]
                del root["l"][0]
                for i in range(10**6):
                    root["l"].append(f"{i}" * 100)
        assert root["l"] == [1, 2, 3] and root["d"] == {"k": "v"} and root["n"] == 0
        assert pool.stats()["objects"] == objects
        with pool.transaction():
            root["n"] = 2
            root["l"].append(4)
        assert root["l"] == [1, 2, 3, 4]
    with pmemobj.open(path) as pool:
        assert pool.root == {"l": [1, 2, 3, 4], "d": {"k": "v"}, "n": 2}


def test_one_value_larger_than_the_pool_is_pool_full(pool):
    pool.root = {"l": [1], "d": {}, "s": set(), "o": pool.new(PersistentObject)}
    huge = b"x" * (16 << 20)
    root = pool.root
    for fn in (lambda: root["l"].append(huge), lambda: root["l"].insert(0, huge),
               lambda: root["l"].__setitem__(0, huge), lambda: root["d"].__setitem__("k", huge),
               lambda: root["d"].__setitem__(huge, 1), lambda: root["s"].add(huge),
               lambda: setattr(root["o"], "big", huge), lambda: pool.new(PersistentTuple, [huge]),
               lambda: pool.new(PersistentList, [huge]), lambda: pool.new(PersistentSet, [huge]),
               lambda: pool.new(PersistentDict, k=huge)):
        with pytest.raises(MemoryError):
            fn()
    assert root["l"] == [1] and root["d"] == {} and root["s"] == set()
    assert root["o"]._p_attributes() == {}


@pytest.mark.xfail(strict=True, raises=PoolFullError, reason="capacity of small pools: libpmemobj keeps a run of "
                   "chunks per allocation size class in use, and an 8 MiB pool has about 15 "
                   "chunks; growing arrays take whole chunks from 64 KiB up and lists shrink, "
                   "so one list holds 32k items or one dict 21k entries, but a 10k-item list "
                   "next to a growing dict still runs out")
def test_default_size_pool_holds_ten_thousand_small_items(pool):
    pool.root = {"l": [], "d": {}}
    for i in range(10000):
        pool.root["l"].append(i)
    for i in range(10000):
        pool.root["d"][i] = i
    assert len(pool.root["l"]) == len(pool.root["d"]) == 10000


@pytest.mark.xfail(strict=True, raises=PoolFullError, reason="clearing frees every item in one transaction: in a "
                   "full pool libpmemobj cannot extend its log for that many frees, so clear() "
                   "raises PoolFullError and changes nothing (pop() one by one works)")
def test_clearing_a_list_in_a_full_pool_frees_it(tmp_path):
    path = str(tmp_path / "small.pool")
    with pmemobj.create(path, pool_size=SMALL) as pool:
        pool.root = {"c": []}
        c = pool.root["c"]
        with pytest.raises(PoolFullError):
            for i in range(10**6):
                c.extend([str(j) * 30 for j in range(20)])
        c.clear()
        assert len(c) == 0
