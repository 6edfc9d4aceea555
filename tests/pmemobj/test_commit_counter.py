"""PersistentObjectPool.count_commits: a shared counter bumped once per
committed transaction that changed something, for watchers in other
processes."""
from __future__ import annotations

import gc
import mmap
import struct
import subprocess
import sys
import threading
import time
import weakref

import pytest

import pmemobj
from tests.helpers import reopen

_U64 = struct.Struct("=Q")   # native endianness, as the pool writes it


def count(buf) -> int:
    return _U64.unpack_from(buf, 0)[0]


@pytest.fixture
def counted(pool):
    """(pool, buffer): a pool counting its commits into a fresh bytearray."""
    buf = bytearray(8)
    pool.count_commits(buf)
    return pool, buf


class Unstorable:
    pass


def test_each_write_outside_a_transaction_counts_once(counted):
    """Every write made without an explicit transaction is its own commit
    and adds exactly 1."""
    pool, buf = counted
    assert count(buf) == 0
    pool.root = {}
    assert count(buf) == 1
    pool.root["k"] = 1
    assert count(buf) == 2
    d = pool.root
    d["k"] = 2
    d["l"] = [1, 2]
    del d["k"]
    d["l"].append(3)
    assert count(buf) == 6
    assert d == {"l": [1, 2, 3]}


def test_reads_count_nothing(counted):
    """Reading the root, a dict, a list, stats and a check changes no count."""
    pool, buf = counted
    pool.root = {"k": 1, "l": [1, 2], "s": {3}}
    before = count(buf)
    d = pool.root
    assert d["k"] == 1 and len(d) == 3 and "l" in d and d.get("nope") is None
    assert sorted(d) == ["k", "l", "s"] and list(d["l"]) == [1, 2] and 3 in d["s"]
    assert dict(d.items())["k"] == 1
    pool.stats()
    pool.info()
    assert pool.check()["unreachable"] == 0
    assert count(buf) == before


def test_a_transaction_counts_once_when_its_block_ends(counted):
    """Several writes in one explicit transaction (and in a nested one) add
    1 in all, and only once the outermost block commits."""
    pool, buf = counted
    pool.root = {}
    d = pool.root
    before = count(buf)
    with pool.transaction():
        d["a"] = 1
        d["b"] = 2
        with pool.transaction():
            d["c"] = [1]
            d["c"].append(2)
        assert count(buf) == before      # the inner block commits nothing yet
        d["d"] = 4
        assert count(buf) == before
    assert count(buf) == before + 1
    assert d == {"a": 1, "b": 2, "c": [1, 2], "d": 4}


def test_read_only_and_empty_transactions_count_nothing(counted):
    """A committed transaction that changed nothing is not counted."""
    pool, buf = counted
    pool.root = {"k": 1}
    d = pool.root
    before = count(buf)
    with pool.transaction():
        assert d["k"] == 1 and len(d) == 1
    with pool.transaction():
        pass
    assert count(buf) == before


def test_an_aborted_transaction_counts_nothing(counted):
    """A block left by an exception rolls back and adds nothing."""
    pool, buf = counted
    pool.root = {"k": 1}
    d = pool.root
    before = count(buf)
    with pytest.raises(RuntimeError):
        with pool.transaction():
            d["k"] = 2
            d["new"] = [1, 2]
            raise RuntimeError("abort")
    assert count(buf) == before
    assert d == {"k": 1}


@pytest.mark.parametrize("op, exc", [
    (lambda d: d.__delitem__("missing"), KeyError),
    (lambda d: d.pop("missing"), KeyError),
    (lambda d: d.increment("missing"), KeyError),
    (lambda d: d.increment("l"), TypeError),
    (lambda d: d.__setitem__("u", Unstorable()), TypeError),
    (lambda d: d.__setitem__(["unhashable"], 1), TypeError),
    (lambda d: d["l"].remove(99), ValueError),
    (lambda d: d["e"].pop(), IndexError),
], ids=["del-missing", "pop-missing", "increment-missing", "increment-list",
        "unstorable-value", "unhashable-key", "list-remove-missing", "pop-empty-list"])
def test_a_failed_write_counts_nothing(counted, op, exc):
    """A write that raises before changing anything commits nothing: the
    count and the data stay as they were."""
    pool, buf = counted
    pool.root = {"k": 1, "l": [1], "e": []}
    d = pool.root
    before = count(buf)
    with pytest.raises(exc):
        op(d)
    assert count(buf) == before
    assert d == {"k": 1, "l": [1], "e": []}


def test_an_unstorable_value_inside_a_transaction_counts_nothing(counted):
    """The TypeError of an unstorable value comes before anything is
    written: a transaction that only caught it commits no change."""
    pool, buf = counted
    pool.root = {"k": 1}
    d = pool.root
    before = count(buf)
    with pool.transaction():
        with pytest.raises(TypeError):
            d["u"] = Unstorable()
    assert count(buf) == before
    assert d == {"k": 1}


def test_a_failed_delete_inside_a_transaction_counts_nothing(counted):
    """A transaction whose only write attempt failed with KeyError changed
    nothing, so its commit is not counted."""
    pool, buf = counted
    pool.root = {"k": 1}
    d = pool.root
    before = count(buf)
    with pool.transaction():
        with pytest.raises(KeyError):
            del d["missing"]
    assert d == {"k": 1}
    assert count(buf) == before


def test_counting_adds_to_the_value_found_and_uses_only_8_bytes(pool):
    """The pool adds to whatever the first 8 bytes hold (native endian) and
    leaves the rest of a larger buffer alone."""
    buf = bytearray(b"\xaa" * 24)
    _U64.pack_into(buf, 0, 41)
    pool.count_commits(buf)
    pool.root = "x"
    assert int.from_bytes(buf[:8], sys.byteorder) == 42
    assert buf[8:] == b"\xaa" * 16


def test_short_buffer_is_refused_and_the_old_counter_stays(counted):
    """A buffer of fewer than 8 bytes raises ValueError; the counter set
    before keeps counting."""
    pool, buf = counted
    for short in (bytearray(0), bytearray(7)):
        with pytest.raises(ValueError):
            pool.count_commits(short)
    pool.root = 1
    assert count(buf) == 1


def test_read_only_and_non_buffers_are_refused(counted):
    """Read-only buffers raise BufferError, a str TypeError; nothing is
    written to them and the counter set before keeps counting."""
    pool, buf = counted
    ro = b"\0" * 8
    with pytest.raises(BufferError):
        pool.count_commits(ro)
    with pytest.raises(BufferError):
        pool.count_commits(memoryview(bytearray(8)).toreadonly())
    with pytest.raises(TypeError):
        pool.count_commits("12345678")
    pool.root = 1
    assert ro == b"\0" * 8 and count(buf) == 1


def test_a_second_call_replaces_the_counter(counted):
    """count_commits again moves counting to the new buffer; the old one
    stops."""
    pool, first = counted
    pool.root = 1
    second = bytearray(8)
    pool.count_commits(second)
    pool.root = 2
    pool.root = 3
    assert count(first) == 1 and count(second) == 2


def test_the_pool_keeps_its_counter_alive(pool):
    """The caller may drop its reference: the pool holds the buffer, which
    keeps counting (and cannot be closed under the pool)."""
    m = mmap.mmap(-1, 8)
    ref = weakref.ref(m)
    pool.count_commits(m)
    with pytest.raises(BufferError):
        m.close()
    del m
    gc.collect()
    assert ref() is not None
    pool.root = [1]
    pool.root.append(2)
    assert count(ref()) == 2


def test_commits_from_several_threads_are_all_counted(counted):
    """Concurrent writers lose no increment of the counter."""
    pool, buf = counted
    pool.root = {}
    d = pool.root
    before = count(buf)
    per_thread = 200

    def writer(n):
        for i in range(per_thread):
            d[f"{n}-{i}"] = i
    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(d) == 4 * per_thread
    assert count(buf) == before + 4 * per_thread


def test_a_reopened_pool_counts_only_when_asked(counted):
    """Counting belongs to the pool object: after a reopen nothing is
    counted until count_commits is called again."""
    pool, buf = counted
    pool.root = 1
    pool = reopen(pool)
    try:
        pool.root = 2
        assert count(buf) == 1
        pool.count_commits(buf)
        pool.root = 3
        assert count(buf) == 2
    finally:
        pool.close()


def test_count_commits_on_a_closed_pool_raises(pool):
    """A closed pool refuses a counter."""
    pool.close()
    with pytest.raises(pmemobj.PoolClosedError):
        pool.count_commits(bytearray(8))


WATCHER = """
import mmap, struct, sys, time
with open(sys.argv[1], "r+b") as f:
    m = mmap.mmap(f.fileno(), 8)
seen = struct.unpack_from("=Q", m, 0)[0]
print("ready", seen, flush=True)
deadline = time.monotonic() + 10
while struct.unpack_from("=Q", m, 0)[0] == seen and time.monotonic() < deadline:
    time.sleep(0.001)
time.sleep(0.05)  # a second, wrong bump would show up here
print(struct.unpack_from("=Q", m, 0)[0], flush=True)
"""


def test_another_process_sees_the_count_in_a_shared_file(pool, tmp_path):
    """With an mmap of a file as counter, a process that only maps the file
    (it never opens the pool) sees a committed transaction as one bump."""
    path = tmp_path / "counter"
    path.write_bytes(_U64.pack(7))
    with open(path, "r+b") as f:
        m = mmap.mmap(f.fileno(), 8)
    pool.count_commits(m)
    pool.root = {}
    watcher = subprocess.Popen([sys.executable, "-c", WATCHER, str(path)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert watcher.stdout.readline().split() == ["ready", "8"]
        time.sleep(0.05)
        d = pool.root
        with pool.transaction():
            d["a"] = 1
            d["b"] = 2
        out, err = watcher.communicate(timeout=30)
    finally:
        if watcher.poll() is None:
            watcher.kill()
            watcher.wait()
    assert watcher.returncode == 0, err
    assert out.strip() == "9"
    assert count(path.read_bytes()) == 9
