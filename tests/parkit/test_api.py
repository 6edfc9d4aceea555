"""parkit's public API at its edges: contexts and resizing, keyword names,
nested contexts, name checks, full namespaces, queue corner cases, and the
names test_objects.py does not reach."""
from __future__ import annotations

import datetime
import os
import pathlib
import queue
import subprocess
import sys
import threading
import time

import pytest

import parkit
import pmemobj
from parkit.namespace import handle_for
from tests.helpers import ROOT

MIB = 1 << 20


def run_code(code: str, storage: str) -> subprocess.CompletedProcess:
    """Run *code* in a fresh Python process using parkit on *storage*."""
    prelude = f"import parkit\nparkit.set_storage_path({storage!r})\n"
    return subprocess.run([sys.executable, "-c", prelude + code], cwd=ROOT, check=False,
                          capture_output=True, text=True, timeout=60)


def opener(kind):
    return parkit.transaction if kind == "transaction" else parkit.snapshot


# -- 1. resizing a namespace from inside a context on it --------------------------

@pytest.mark.parametrize("kind", ["transaction", "snapshot"])
def test_resizing_inside_a_context_is_refused_and_leaves_the_namespace_usable(storage, kind):
    d = parkit.Dict("rs/d")
    d["k"] = 1
    size = parkit.get_namespace_size("rs")
    with opener(kind)(d):
        with pytest.raises(parkit.ContextError, match="resize"):
            parkit.set_namespace_size("rs", 64 * MIB)
        assert d["k"] == 1                     # the context goes on
        if kind == "transaction":
            d["in_tx"] = 2
        else:
            with pytest.raises(parkit.ContextError):
                d["in_tx"] = 2                 # still a read-only snapshot
    expected = {"k": 1, "in_tx": 2} if kind == "transaction" else {"k": 1}
    assert d.to_dict() == expected             # committed normally
    assert parkit.get_namespace_size("rs") == size   # nothing was resized
    other = parkit.Log("rs/other")             # this process can still use it
    other.append("x")
    assert other.to_list() == ["x"] and d["k"] == 1
    # another process can take the namespace over (it was not left locked)
    out = run_code("d = parkit.Dict('rs/d', create=False)\n"
                   "print(sorted(d.to_dict().items()), parkit.Log('rs/other').to_list())\n"
                   "d['child'] = 3\n", storage)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"{sorted(expected.items())} ['x']"
    assert d["child"] == 3
    parkit.set_namespace_size("rs", 64 * MIB)  # outside the context: allowed
    assert parkit.get_namespace_size("rs") == 64 * MIB
    assert d["child"] == 3


# -- 2. the keyword name of the context's object -----------------------------------

def test_transaction_and_snapshot_take_obj_by_keyword(storage):
    d = parkit.Dict("kw/d")
    with parkit.transaction(obj=d):
        d["a"] = 1
    with pytest.raises(RuntimeError):
        with parkit.transaction(obj=d, zero_copy=False):
            d["a"] = 2
            raise RuntimeError
    with parkit.snapshot(obj=d):
        assert d["a"] == 1
        with pytest.raises(parkit.ContextError):
            d["a"] = 3
    assert d.to_dict() == {"a": 1}


# -- 3. nested contexts --------------------------------------------------------------

def test_snapshot_inside_a_transaction_joins_it(storage):
    d = parkit.Dict("nest/d")
    d["n"] = 0
    h = handle_for("nest")
    with parkit.transaction(d):
        pool, generation = h.pool, h.generation
        d["n"] = 1
        with parkit.snapshot(d):
            assert d["n"] == 1                 # sees the transaction's writes
            d["n"] = 2                         # writes are allowed
            d["from_snapshot"] = True
        assert h.pool is pool and h.generation == generation  # nothing reopened
        assert d["n"] == 2
        d["after"] = 3
    assert d.to_dict() == {"n": 2, "from_snapshot": True, "after": 3}


def test_snapshot_inside_a_transaction_rolls_back_with_it(storage):
    d = parkit.Dict("nest/r")
    d["n"] = 0
    with pytest.raises(RuntimeError):
        with parkit.transaction(d):
            with parkit.snapshot(d):
                d["n"] = 1
                d["x"] = 1
            raise RuntimeError("abort")
    assert d.to_dict() == {"n": 0}
    with pytest.raises(RuntimeError):          # raised inside the snapshot itself
        with parkit.transaction(d):
            d["y"] = 1
            with parkit.snapshot(d):
                d["n"] = 5
                raise RuntimeError("abort")
    assert d.to_dict() == {"n": 0}


def test_forbidden_nestings_raise_context_error(storage):
    d = parkit.Dict("nest/f")
    other = parkit.Dict("nest2/o")
    d["k"] = 1
    other["k"] = 1
    with parkit.snapshot(d):
        with pytest.raises(parkit.ContextError):
            with parkit.transaction(d):
                pass
        assert d["k"] == 1                     # the snapshot goes on
        with pytest.raises(parkit.ContextError):
            d["k"] = 2
    with parkit.transaction(d):
        with pytest.raises(parkit.ContextError):
            with parkit.snapshot(other):
                pass
        d["k"] = 3                             # the transaction goes on
    assert d["k"] == 3 and other["k"] == 1
    with parkit.transaction(other):            # and the other namespace is free
        other["k"] = 2
    assert other["k"] == 2


# -- 4 and 5. objects() arguments and reserved namespace names ---------------------

def test_objects_checks_its_argument_at_the_call(storage):
    with pytest.raises(TypeError):
        parkit.objects(5)                      # not iterated
    with pytest.raises(ValueError):
        parkit.objects("../x")
    with pytest.raises(ValueError):
        parkit.objects("x.pool.parts/y")
    assert list(parkit.objects("fine")) == []


@pytest.mark.parametrize("call", [
    lambda: parkit.Dict("x.pool.parts/y/z"),
    lambda: parkit.Dict("a.pool/b"),
    lambda: parkit.Dict("ns/a.pool/b"),
    lambda: parkit.Dict("ns/x.pool.seq/b"),
    lambda: parkit.Log("ns/x.pool.lock/b"),
    lambda: parkit.Namespace("q/x.pool.lock"),
    lambda: parkit.Namespace("x.pool"),
    lambda: parkit.get_namespace_size("a.pool"),
    lambda: parkit.set_namespace_size("a.pool.size", 16 * MIB),
    lambda: parkit.objects("x.pool.parts/y"),
    lambda: parkit.transaction("b/c.pool"),      # at the call, not at the with
], ids=["dict-parts", "dict-pool", "dict-inner-pool", "dict-seq", "log-lock",
        "namespace-lock", "namespace-pool", "get-size", "set-size", "objects",
        "transaction"])
def test_names_of_namespace_files_are_rejected(storage, call):
    with pytest.raises(ValueError, match="pool"):
        call()
    assert os.listdir(storage) == []           # nothing was created


def test_names_merely_like_pool_files_are_accepted(storage):
    for ns in ("my.poolside", "data.pools", "pool", "a/pool.x"):
        d = parkit.Dict(f"{ns}/x")
        d["k"] = ns
        assert parkit.Dict(f"{ns}/x")["k"] == ns
        assert parkit.Namespace(ns).names() == ["x"]
        assert dict(parkit.objects(ns)).keys() == {f"{ns}/x"}
    assert set(parkit.namespaces()) == {"my.poolside", "data.pools", "pool", "a/pool.x"}


# -- 6. full namespaces ---------------------------------------------------------------

def test_min_namespace_size(storage):
    assert pmemobj.MIN_POOL_SIZE == 8 * MIB
    with pytest.raises(ValueError):
        parkit.set_namespace_size("tiny", 2 * pmemobj.MIN_POOL_SIZE - 1)
    parkit.set_namespace_size("tiny", 2 * pmemobj.MIN_POOL_SIZE)
    assert parkit.get_namespace_size("tiny") == 16 * MIB


def big(i: int) -> bytes:
    return bytes([i % 256]) * MIB


def test_namespace_full_error_on_single_writes(storage):
    parkit.set_namespace_size("small", 16 * MIB)
    d = parkit.Dict("small/d")
    d["keep"] = "me"
    written = []
    with pytest.raises(parkit.NamespaceFullError) as e:
        for i in range(64):
            d[f"k{i}"] = big(i)
            written.append(i)
    err = e.value
    for cls in (parkit.NamespaceFullError, pmemobj.PoolFullError, MemoryError,
                parkit.ParkitError):
        assert isinstance(err, cls)
    assert "small" in str(err) and "set_namespace_size" in str(err)
    assert 4 <= len(written) < 16
    failed = f"k{len(written)}"
    assert failed not in d
    assert len(d) == len(written) + 1 and d["keep"] == "me"
    assert all(d[f"k{i}"] == big(i) for i in written)
    parkit.set_namespace_size("small", 64 * MIB)
    assert parkit.get_namespace_size("small") == 64 * MIB
    for i in range(len(written), len(written) + 8):   # well past the old limit
        d[f"k{i}"] = big(i)
    assert d[failed] == big(len(written)) and len(d) == len(written) + 9


def test_namespace_full_error_in_a_transaction_rolls_back_the_block(storage):
    parkit.set_namespace_size("small2", 16 * MIB)
    d = parkit.Dict("small2/d")
    d["keep"] = 1
    v0 = d.version
    tried = []
    with pytest.raises(parkit.NamespaceFullError) as e:
        with parkit.transaction(d):
            d["keep"] = 2
            for i in range(64):
                tried.append(i)
                d[f"t{i}"] = big(i)
    assert isinstance(e.value, pmemobj.PoolFullError) and isinstance(e.value, MemoryError)
    assert isinstance(e.value, parkit.ParkitError)
    assert len(tried) > 4
    assert d.to_dict() == {"keep": 1} and d.version == v0   # the whole block
    d["small"] = "fits"          # the rolled-back space was freed
    assert d["small"] == "fits"
    parkit.set_namespace_size("small2", 64 * MIB)
    with parkit.transaction(d):
        for i in range(len(tried) + 2):
            d[f"t{i}"] = big(i)
    assert len(d) == len(tried) + 4 and d[f"t{len(tried) - 1}"] == big(len(tried) - 1)


# -- 7. queue corner cases, as queue.Queue ------------------------------------------------

@pytest.mark.parametrize("cls", [parkit.Queue, parkit.LifoQueue])
def test_queue_timeouts_like_queue_queue(storage, cls):
    q = cls("qe/q", maxsize=1)
    with pytest.raises(queue.Empty):
        q.get(block=False, timeout=-1)         # non-blocking: timeout ignored
    with pytest.raises(ValueError):
        q.get(timeout=-1)
    with pytest.raises(ValueError):
        q.put(1, timeout=-1)
    assert q.qsize() == 0                      # the refused put put nothing
    q.put(1)
    with pytest.raises(queue.Full):
        q.put(2, block=False, timeout=-1)
    with pytest.raises(ValueError):
        q.put(2, timeout=-1)
    assert q.get() == 1 and q.empty()
    # the built-in queue agrees on each of these
    ref = queue.Queue(maxsize=1)
    with pytest.raises(queue.Empty):
        ref.get(block=False, timeout=-1)
    with pytest.raises(ValueError):
        ref.get(timeout=-1)


@pytest.mark.parametrize("cls", [parkit.Queue, parkit.LifoQueue])
def test_queue_maxsize(storage, cls):
    unbounded = cls("qm/neg", maxsize=-1)
    assert unbounded.maxsize == -1
    for i in range(50):
        unbounded.put_nowait(i)
    assert unbounded.qsize() == 50 and not unbounded.full()
    with pytest.raises(TypeError):
        cls("qm/str", maxsize="3")
    assert "str" not in parkit.Namespace("qm")   # nothing was created
    b = cls("qm/b", maxsize=2)
    again = cls("qm/b", maxsize=5)            # binding: the stored maxsize stays
    assert again.maxsize == 2 and b.maxsize == 2
    again.put(1)
    again.put(2)
    assert again.full()
    with pytest.raises(queue.Full):
        again.put_nowait(3)
    assert cls("qm/b").maxsize == 2


def test_lifo_queue_bounds_and_timeouts(storage):
    q = parkit.LifoQueue("lq/q", maxsize=2)
    assert q.maxsize == 2 and q.empty()
    q.put_nowait("a")
    q.put_nowait("b")
    assert q.full() and q.qsize() == 2
    with pytest.raises(queue.Full):
        q.put_nowait("c")
    with pytest.raises(queue.Full):
        q.put("c", timeout=0.02)
    assert q.get_nowait() == "b" and q.get_nowait() == "a"
    with pytest.raises(queue.Empty):
        q.get_nowait()
    start = time.monotonic()
    with pytest.raises(queue.Empty):
        q.get(timeout=0.05)
    assert time.monotonic() - start >= 0.05
    threading.Timer(0.02, lambda: q.put("late")).start()
    assert q.get(timeout=5) == "late"


# -- 8. the rest of the API -------------------------------------------------------------

@pytest.mark.parametrize("raised, expected", [
    (pmemobj.CorruptPoolError("x"), parkit.TransactionError),
    (pmemobj.TransactionError("x"), parkit.TransactionError),
    (pmemobj.PoolFullError("x"), parkit.NamespaceFullError),
    (RuntimeError("x"), RuntimeError),
    (parkit.ObjectNotFoundError("x"), parkit.ObjectNotFoundError),
    (parkit.ContextError("x"), parkit.ContextError),
], ids=["corrupt", "pmem-transaction", "pool-full", "runtime", "not-found", "context"])
def test_errors_leaving_a_transaction(storage, raised, expected):
    d = parkit.Dict("te/d")
    d["n"] = 1
    with pytest.raises(BaseException) as e:
        with parkit.transaction(d):
            d["n"] = 2
            d["m"] = 3
            raise raised
    assert type(e.value) is expected
    if expected is type(raised):
        assert e.value is raised               # passed through untouched
    else:
        assert e.value.__cause__ is raised     # wrapped
        assert isinstance(e.value, parkit.ParkitError)
        assert isinstance(e.value, pmemobj.PmemError)
    if expected is parkit.TransactionError:
        assert isinstance(e.value, pmemobj.TransactionError)
        assert not isinstance(e.value, parkit.ContextError)
    assert d.to_dict() == {"n": 1}             # rolled back
    d["n"] = 4                                 # and the namespace works on
    assert d["n"] == 4


def test_descriptor(storage):
    before = datetime.datetime.now(datetime.timezone.utc)
    d = parkit.Dict("desc/d")
    after = datetime.datetime.now(datetime.timezone.utc)
    desc = d.descriptor
    assert set(desc) == set(parkit.Descriptor.__annotations__) == {
        "type", "path", "namespace", "name", "uuid", "created", "version"}
    assert desc["type"] == "parkit.dict:Dict"
    assert (desc["path"], desc["namespace"], desc["name"]) == ("desc/d", "desc", "d")
    assert desc["uuid"] == d.uuid and len(d.uuid) == 32
    created = datetime.datetime.fromisoformat(desc["created"])
    assert created.tzinfo is not None
    assert before - datetime.timedelta(seconds=1) <= created <= after + datetime.timedelta(seconds=1)
    assert desc["version"] == 0
    d["a"] = 1
    d["a"] = 2
    del d["a"]
    assert d.descriptor["version"] == 3 == d.version
    assert dict(parkit.objects("desc"))["desc/d"] == d.descriptor
    assert parkit.Log("desc/l").descriptor["type"] == "parkit.log:Log"
    assert parkit.Array("desc/a").descriptor["type"] == "parkit.log:Array"
    assert parkit.Queue("desc/q").descriptor["type"] == "parkit.queue:Queue"
    assert parkit.LifoQueue("desc/lq").descriptor["type"] == "parkit.queue:LifoQueue"
    o = parkit.Object("desc/o")
    assert o.descriptor["type"] == "parkit.objects:Object"
    assert parkit.Dict("solo").descriptor["namespace"] == "default"
    assert parkit.Dict("solo").descriptor["path"] == "default/solo"


def test_isolated_transaction(storage):
    d = parkit.Dict("iso/d")
    with parkit.transaction(d, isolated=True):
        d["a"] = 1
        d["b"] = 2
    assert d.to_dict() == {"a": 1, "b": 2}
    with pytest.raises(RuntimeError):
        with parkit.transaction(d, isolated=True):
            d["a"] = 5
            raise RuntimeError
    assert d.to_dict() == {"a": 1, "b": 2}


def test_snapshot_zero_copy_returns_live_containers(storage):
    d = parkit.Dict("zc/d")
    d["l"] = [1, 2]
    d["m"] = {"a": [1]}
    with parkit.snapshot(d, zero_copy=True):
        live_l, live_m = d["l"], d["m"]
        assert isinstance(live_l, pmemobj.PersistentList)
        assert isinstance(live_m, pmemobj.PersistentDict)
        assert list(live_l) == [1, 2] and isinstance(live_m["a"], pmemobj.PersistentList)
        with pytest.raises(pmemobj.ConfinementError):
            live_l.append(3)                   # still read-only
    with pytest.raises(parkit.ContextError):   # and so it leaves the block
        with parkit.snapshot(d, zero_copy=True):
            d["l"].append(3)
    with parkit.snapshot(d):
        copy_l, copy_m = d["l"], d["m"]
        assert type(copy_l) is list and type(copy_m) is dict and type(copy_m["a"]) is list
        copy_l.append(3)
    assert d["l"] == [1, 2] and d["m"] == {"a": [1]}


def test_contexts_on_a_namespace_instance(storage):
    d = parkit.Dict("nsi/d")
    ns = parkit.Namespace("nsi")
    with parkit.transaction(ns):
        d["a"] = 1
        d["b"] = 2
    with pytest.raises(RuntimeError):
        with parkit.transaction(ns):
            d["a"] = 9
            raise RuntimeError
    with parkit.snapshot(ns):
        assert d.to_dict() == {"a": 1, "b": 2}
        with pytest.raises(parkit.ContextError):
            d["c"] = 3
    other = parkit.Dict("elsewhere/d")
    with parkit.transaction(ns):
        with pytest.raises(parkit.ContextError):
            other["x"] = 1
    assert d.to_dict() == {"a": 1, "b": 2} and "x" not in other


def test_namespace_names_size_exists(storage):
    ns = parkit.Namespace("nsp")
    assert not ns.exists and ns.names() == [] and ns.size == 1 << 30
    parkit.Dict("nsp/b")
    assert ns.exists
    parkit.Log("nsp/a")
    parkit.Dict("nsp/inner/c")
    assert sorted(ns.names()) == ["a", "b"]
    parkit.set_namespace_size("nsp", 32 * MIB)
    assert ns.size == 32 * MIB == parkit.get_namespace_size("nsp")
    parkit.set_namespace_size("pending", 24 * MIB)   # a namespace not created yet
    assert parkit.Namespace("pending").size == 24 * MIB
    assert not parkit.Namespace("pending").exists


def first_write(obj):
    if isinstance(obj, parkit.Queue):
        obj.put("x")
    else:
        obj.append("x")


@pytest.mark.parametrize("cls", [parkit.Log, parkit.Array, parkit.Queue, parkit.LifoQueue])
def test_create_bind_and_versioned_flags(storage, cls):
    with pytest.raises(parkit.ObjectNotFoundError):
        cls("flags/x", create=False)
    assert "x" not in parkit.Namespace("flags")
    made = cls("flags/x", bind=False)
    first_write(made)
    with pytest.raises(parkit.ObjectExistsError):
        cls("flags/x", bind=False)
    bound = cls("flags/x", create=False)
    assert bound.uuid == made.uuid and bound.version == 1
    u = cls("flags/u", versioned=False)
    first_write(u)
    first_write(u)
    assert u.version == 0
    v = cls("flags/v")
    first_write(v)
    first_write(v)
    assert v.version == 2


def test_dropped_objects_raise_not_found(storage):
    log, arr = parkit.Log("drop/log"), parkit.Array("drop/arr")
    q, o = parkit.Queue("drop/q"), parkit.Object("drop/o")
    log.append(1)
    arr.append(1)
    q.put(1)
    o.colour = "red"
    uses = {
        log: [lambda: log.append(2), lambda: log[0], lambda: len(log), log.to_list,
              lambda: log.extend([1])],
        arr: [lambda: arr.append(2), lambda: arr.__setitem__(0, 5), arr.pop, arr.clear,
              lambda: arr.index(1), lambda: arr[0]],
        q: [lambda: q.put(2), q.get_nowait, q.qsize, lambda: q.get(timeout=0.01)],
        o: [lambda: o.colour, lambda: setattr(o, "colour", "blue"),
            lambda: o.version],
    }
    for obj, calls in uses.items():
        obj.drop()
        assert not obj.exists
        for call in calls:
            with pytest.raises(parkit.ObjectNotFoundError):
                call()
    assert parkit.Namespace("drop").names() == []


def test_set_storage_path_takes_a_pathlib_path(storage, tmp_path):
    target = tmp_path / "via-pathlib"
    parkit.set_storage_path(target)
    assert parkit.get_storage_path() == str(target)
    parkit.Dict("pl/d")["k"] = 1
    assert (target / "pl.pool").exists()
    assert parkit.Dict("pl/d")["k"] == 1
    parkit.set_storage_path(pathlib.PurePosixPath(storage))
    assert parkit.get_storage_path() == storage
    assert list(parkit.namespaces()) == []


def test_invalid_storage_path_from_the_environment(storage, tmp_path, monkeypatch):
    afile = tmp_path / "afile"
    afile.write_text("x")
    monkeypatch.setenv("PARKIT_STORAGE_PATH", str(afile / "below"))
    seen = {}

    def other():
        for what, call in (("get", parkit.get_storage_path),
                           ("dict", lambda: parkit.Dict("env/d"))):
            try:
                call()
            except Exception as e:  # noqa: BLE001 -- the type is checked below
                seen[what] = e
    t = threading.Thread(target=other)
    t.start()
    t.join(10)
    for what in ("get", "dict"):
        assert isinstance(seen[what], parkit.StoragePathError), seen
        assert isinstance(seen[what], ValueError)
        assert str(afile) in str(seen[what])
    assert parkit.get_storage_path() == storage   # this thread's own path stays


def test_invalid_storage_path_in_a_fresh_process(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    env = dict(os.environ, PARKIT_STORAGE_PATH=str(afile / "below"))
    out = subprocess.run(
        [sys.executable, "-c", ("import parkit\n"
                                "try:\n parkit.Dict('env/d')\n"
                                "except parkit.StoragePathError: print('refused')")],
        cwd=ROOT, env=env, check=False, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "refused", out.stderr
    assert afile.read_text() == "x"


def test_reversed_log(storage):
    log = parkit.Log("rev/log")
    assert list(reversed(log)) == []
    log.extend(["a", [1, 2], {"k": 3}])
    assert list(reversed(log)) == [{"k": 3}, [1, 2], "a"]
    arr = parkit.Array("rev/arr")
    arr.extend(range(5))
    assert list(reversed(arr)) == [4, 3, 2, 1, 0]


def test_array_index_with_start_and_stop(storage):
    model = [1, 2, 1, 3, 1]
    arr = parkit.Array("idx/arr")
    arr.extend(model)
    for args in [(1,), (1, 1), (1, 3), (1, -2), (1, 1, 3), (1, -4, -1), (3, 0, 4),
                 (1, 3, 4), (3, 0, 3), (1, 10), (2, 2), (9,)]:
        try:
            expected = model.index(*args)
        except ValueError:
            with pytest.raises(ValueError):
                arr.index(*args)
        else:
            assert arr.index(*args) == expected, args
    assert arr.index(1, 3, 5) == 4 and arr.index(3, stop=4) == 3
