"""parkit in one process: storage paths, objects, transactions, sizes."""
from __future__ import annotations

import contextlib
import os
import queue
import subprocess
import sys
import threading
import time

import pytest

import parkit
import pmemobj
from parkit.lock import NamespaceLock
from parkit.namespace import close_all, handle_for
from tests.helpers import ROOT





def test_storage_path_is_per_thread_and_validated(tmp_path, storage, monkeypatch):
    assert parkit.get_storage_path() == os.path.abspath(storage)
    seen = {}

    def other():
        monkeypatch.delenv("PARKIT_STORAGE_PATH", raising=False)
        try:
            parkit.get_storage_path()
        except parkit.StoragePathError as e:
            seen["error"] = e
    t = threading.Thread(target=other)
    t.start()
    t.join()
    assert isinstance(seen["error"], parkit.StoragePathError)
    with pytest.raises(parkit.StoragePathError):
        parkit.set_storage_path(42)
    with pytest.raises(parkit.StoragePathError):
        parkit.set_storage_path("")
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(parkit.StoragePathError):
        parkit.set_storage_path(str(afile))
    assert parkit.get_storage_path() == os.path.abspath(storage)


def test_storage_path_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("PARKIT_STORAGE_PATH", str(tmp_path / "env"))
    result = {}

    def other():
        result["path"] = parkit.get_storage_path()
    t = threading.Thread(target=other)
    t.start()
    t.join()
    assert result["path"] == str(tmp_path / "env")


@pytest.mark.parametrize("bad", ["", "/abs", "a//b", "a/../b", "..", ".", "a/.", "a/.hidden",
                                 "a b", "ns/-x", "x.pool/y"])
def test_bad_paths_are_rejected(storage, bad):
    with pytest.raises(ValueError):
        parkit.Dict(bad)


@pytest.mark.parametrize("bad", [None, 3, b"ns/x", ["ns", "x"]])
def test_non_str_paths_are_rejected(storage, bad):
    with pytest.raises(TypeError):
        parkit.Dict(bad)


def test_paths_never_escape_the_storage_path(storage, tmp_path):
    parkit.Dict("a/b/c")["k"] = 1
    for dirpath, _, files in os.walk(str(tmp_path)):
        for f in files:
            assert os.path.abspath(os.path.join(dirpath, f)).startswith(os.path.abspath(storage))


def test_object_path_namespace_and_name(storage):
    d = parkit.Dict("ns/sub/things")
    assert (d.path, d.namespace, d.name) == ("ns/sub/things", "ns/sub", "things")
    assert parkit.Dict("solo").namespace == "default"
    assert list(parkit.namespaces()) == ["default", "ns/sub"]


def test_dict_is_a_mutable_mapping(storage):
    d = parkit.Dict("ns/d")
    d["a"] = 1
    d.update({"b": [1, 2]}, c={"x": 1})
    assert d["b"] == [1, 2] and type(d["b"]) is list  # a copy, not a live object
    assert d.to_dict() == {"a": 1, "b": [1, 2], "c": {"x": 1}}
    assert len(d) == 3 and "a" in d and "z" not in d
    assert sorted(d) == ["a", "b", "c"]
    assert d.get("z", 5) == 5 and d.setdefault("z", 6) == 6 and d["z"] == 6
    assert d.pop("z") == 6 and d.pop("z", None) is None
    with pytest.raises(KeyError):
        d["missing"]
    with pytest.raises(KeyError):
        del d["missing"]
    assert d.popitem() == ("c", {"x": 1})
    assert d == {"a": 1, "b": [1, 2]}
    d.clear()
    assert len(d) == 0


def test_create_and_bind(storage):
    d = parkit.Dict("ns/x")
    d["k"] = "v"
    assert parkit.Dict("ns/x")["k"] == "v"
    with pytest.raises(parkit.ObjectExistsError):
        parkit.Dict("ns/x", bind=False)
    with pytest.raises(parkit.ObjectNotFoundError):
        parkit.Dict("ns/y", create=False)
    with pytest.raises(TypeError, match="Dict"):
        parkit.Queue("ns/x")


def test_drop(storage):
    d = parkit.Dict("ns/x")
    other = parkit.Dict("ns/x")
    d["k"] = 1
    assert d.exists
    d.drop()
    assert not d.exists and not other.exists
    with pytest.raises(parkit.ObjectNotFoundError):
        d["k"]
    with pytest.raises(parkit.ObjectNotFoundError):
        other["k"] = 2
    again = parkit.Dict("ns/x")
    assert len(again) == 0 and again.uuid != d.uuid
    with pytest.raises(parkit.ObjectNotFoundError):
        d["k"]


def test_version_counts_changes_unless_unversioned(storage):
    d = parkit.Dict("ns/v")
    v0 = d.version
    d["a"] = 1
    d["a"] = 2
    assert d.version == v0 + 2
    u = parkit.Dict("ns/u", versioned=False)
    u["a"] = 1
    assert u.version == 0


def test_version_of_each_write_kind_and_of_aborted_transactions(storage):
    """Single writes count their version in their own transaction (flushed,
    not logged); inside a transaction the count rolls back with the rest."""
    d, log = parkit.Dict("ns/vd"), parkit.Log("ns/vl")
    d["a"] = 1          # insert
    d["a"] = 2          # update
    del d["a"]          # delete
    log.append(1)
    assert d.version == 3 and log.version == 1
    with pytest.raises(KeyError):
        del d["a"]      # changed nothing: not counted
    assert d.version == 3
    with pytest.raises(RuntimeError):
        with parkit.transaction(d):
            d["b"] = 1
            d["b"] = 2
            assert d.version == 5
            raise RuntimeError("abort")
    assert d.version == 3 and "b" not in d
    with parkit.transaction(d):
        d["c"] = 1
        del d["c"]
    assert d.version == 5


def test_descriptors_and_objects(storage):
    parkit.Dict("ns/a")
    parkit.Log("ns/b")
    parkit.Queue("other/q")
    found = dict(parkit.objects())
    assert set(found) == {"ns/a", "ns/b", "other/q"}
    desc = found["ns/a"]
    assert desc["type"] == "parkit.dict:Dict" and desc["namespace"] == "ns"
    assert desc["name"] == "a" and isinstance(desc["version"], int) and desc["created"]
    assert dict(parkit.objects("ns")).keys() == {"ns/a", "ns/b"}
    assert list(parkit.objects("nothing-here")) == []


def test_namespace_is_directory_like(storage):
    parkit.Dict("ns/a")["k"] = 1
    parkit.Log("ns/b").append(1)
    parkit.Dict("ns/inner/c")
    ns = parkit.Namespace("ns")
    assert sorted(ns) == ["a", "b"] and len(ns) == 2 and "a" in ns
    assert isinstance(ns["a"], parkit.Dict) and ns["a"]["k"] == 1
    assert isinstance(ns["b"], parkit.Log)
    assert list(ns.namespaces()) == ["ns/inner"]
    assert dict(ns.objects()).keys() == {"ns/a", "ns/b"}
    with pytest.raises(parkit.ObjectNotFoundError):
        ns["zzz"]
    assert not parkit.Namespace("empty").exists


class Account(parkit.Object):
    balance = 0

    def on_create(self):
        self.history = []

    def deposit(self, amount):
        with parkit.transaction(self):
            self.balance += amount
            self.history = self.history + [amount]


def test_object_subclass_attributes_persist(storage):
    a = Account("bank/ada")
    assert a.balance == 0 and a.history == []
    a.deposit(5)
    a.deposit(7)
    b = Account("bank/ada")
    assert b.balance == 12 and b.history == [5, 7]
    b.note = "vip"
    assert a.note == "vip"
    del a.note
    with pytest.raises(AttributeError):
        b.note
    a._local = 1  # underscore attributes stay in this process
    assert not hasattr(b, "_local")


class Tagged(parkit.Dict):
    owner = "nobody"


def test_plain_object_and_container_attributes(storage):
    """Object itself takes run-time attributes; containers only those their
    class declares (their hot calls stay free of a __getattr__)."""
    o = parkit.Object("attrs/plain")
    o.colour = "red"
    assert parkit.Object("attrs/plain").colour == "red"
    assert isinstance(o, parkit.Object)
    assert dict(parkit.objects("attrs"))["attrs/plain"]["type"] == "parkit.objects:Object"
    d = parkit.Dict("attrs/d")
    with pytest.raises(AttributeError, match="declare"):
        d.colour = "red"
    with pytest.raises(AttributeError):
        d.colour
    with pytest.raises(AttributeError, match="declare"):
        del d.colour
    t = Tagged("attrs/t")
    assert t.owner == "nobody"
    t.owner = "ada"
    t["k"] = 1
    assert Tagged("attrs/t").owner == "ada" and Tagged("attrs/t")["k"] == 1
    for cls in (parkit.Log, parkit.Array, parkit.Queue, parkit.LifoQueue):
        with pytest.raises(AttributeError):
            cls(f"attrs/{cls.__name__}").colour = 1


def test_transaction_rolls_back_on_error(storage):
    d = parkit.Dict("ns/t")
    d["n"] = 1
    with pytest.raises(RuntimeError):
        with parkit.transaction(d):
            d["n"] = 2
            d["m"] = 3
            raise RuntimeError
    assert d.to_dict() == {"n": 1}
    with parkit.transaction("ns"):
        d["n"] = 5
    assert d["n"] == 5


class Temperature(parkit.Object):
    celsius = 0.0

    @property
    def fahrenheit(self):
        return self.celsius * 9 / 5 + 32

    @fahrenheit.setter
    def fahrenheit(self, value):
        self.celsius = (value - 32) * 5 / 9


class Shelf(parkit.Dict):
    label = ""

    @property
    def loud(self):
        return self.label.upper()

    @loud.setter
    def loud(self, value):
        self.label = value.lower()


def test_attribute_kinds_each_go_their_way(storage):
    """Declared attributes persist, properties run their setters, private
    names stay local, run-time names persist on Objects only; values that
    are containers come back as copies, or live in a zero-copy context."""
    t = Temperature("attrs/t")
    t.fahrenheit = 212
    assert Temperature("attrs/t").celsius == 100 and t.fahrenheit == 212
    t.readings = [1, 2]                       # a run-time name, a container value
    copy = t.readings
    copy.append(3)
    assert t.readings == [1, 2] and type(copy) is list
    with parkit.transaction(t, zero_copy=True):
        live = t.readings
        live.append(3)
    assert Temperature("attrs/t").readings == [1, 2, 3]
    for i in range(5):                        # many run-time names
        setattr(t, f"r{i}", i)
    assert [getattr(Temperature("attrs/t"), f"r{i}") for i in range(5)] == list(range(5))
    s = Shelf("attrs/s")
    s.loud = "JAM"
    s._mine = 1
    assert Shelf("attrs/s").label == "jam" and s.loud == "JAM"
    assert not hasattr(Shelf("attrs/s"), "_mine")
    with pytest.raises(AttributeError, match="declare"):
        s.other = 1


def test_mixing_namespaces_raises_context_error(storage):
    a = parkit.Dict("one/a")
    b = parkit.Dict("two/b")
    with pytest.raises(parkit.ContextError):
        with parkit.transaction(a):
            a["x"] = 1
            b["y"] = 2
    assert "x" not in a and "y" not in b
    with pytest.raises(parkit.ContextError):
        with parkit.transaction(a):
            with parkit.transaction(b):
                pass
    with pytest.raises(TypeError):
        with parkit.transaction(42):
            pass


def test_snapshot_is_read_only_and_consistent(storage):
    d = parkit.Dict("ns/s")
    d.update(a=1, b=2)
    with parkit.snapshot(d):
        assert d["a"] + d["b"] == 3
        with pytest.raises(parkit.ContextError):
            d["a"] = 5
    assert d["a"] == 1


class Note(parkit.Object):
    text = ""


def test_every_quick_call_honours_the_context(storage):
    """The quick calls leave the context checks to the C core (the pool
    confines the thread): each still raises ContextError for an object of
    another namespace inside a transaction, and for a write inside a
    snapshot, and changes nothing."""
    d, log, q, note = (parkit.Dict("one/d"), parkit.Log("one/log"),
                       parkit.Queue("one/q"), Note("one/note"))
    d["k"] = 1
    log.append(1)
    q.put(1)
    note.text = "a"
    reads = [lambda: d["k"], lambda: d.get("k"), lambda: "k" in d, lambda: len(d),
             lambda: log[0], lambda: len(log), lambda: note.text, lambda: q.qsize()]
    writes = [lambda: d.__setitem__("k", 2), lambda: d.__delitem__("k"),
              lambda: log.append(2), lambda: q.put(2), lambda: q.get_nowait(),
              lambda: setattr(note, "text", "b")]
    other = parkit.Dict("two/o")
    with parkit.transaction(other):
        for call in reads + writes:
            with pytest.raises(parkit.ContextError) as e:
                call()
            assert e.value.__context__ is None   # no ConfinementError chained
        other["fine"] = 1
    with parkit.snapshot(d):
        assert [call() for call in reads] == [1, 1, True, 1, 1, 1, "a", 1]
        for call in writes:
            with pytest.raises(parkit.ContextError) as e:
                call()
            assert e.value.__context__ is None
    with parkit.transaction(d):
        assert d["k"] == 1
        d["k"] = 3
    assert (d.to_dict(), log.to_list(), q.qsize(), note.text, other["fine"]) == \
        ({"k": 3}, [1], 1, "a", 1)


def test_other_namespaces_can_be_bound_and_listed_in_a_transaction(storage):
    """parkit's own reads of another namespace (binding an object, listing)
    still work inside a transaction; using its objects does not."""
    parkit.Dict("two/b")["k"] = 1
    parkit.close_all()
    a = parkit.Dict("one/a")
    with parkit.transaction(a):
        b = parkit.Dict("two/b")
        assert dict(parkit.objects("two")).keys() == {"two/b"}
        with pytest.raises(parkit.ContextError):
            b["k"]
        a["x"] = 1
    assert b["k"] == 1 and a["x"] == 1


def test_zero_copy_returns_live_objects_in_a_transaction(storage):
    d = parkit.Dict("ns/z")
    d["l"] = [1, 2]
    with parkit.transaction(d, zero_copy=True):
        live = d["l"]
        assert isinstance(live, pmemobj.PersistentList)
        live.append(3)
    assert d["l"] == [1, 2, 3]


def test_log_and_array(storage):
    log = parkit.Log("ns/log")
    log.append("a")
    log.extend(["b", "c"])
    assert list(log) == ["a", "b", "c"] and log[-1] == "c" and log[0:2] == ["a", "b"]
    assert len(log) == 3 and "b" in log and log.index("c") == 2
    assert log.wait(3, timeout=0) and not log.wait(4, timeout=0.01)
    assert not hasattr(log, "__setitem__")
    arr = parkit.Array("ns/arr")
    arr.extend([1, 2, 3])
    arr[0] = 10
    arr[1:3] = [20, 30]
    with pytest.raises(ValueError):
        arr[0:2] = [1]
    assert arr.pop() == 30 and list(arr) == [10, 20]
    assert arr.count(10) == 1 and arr.index(20) == 1
    arr.clear()
    assert len(arr) == 0


def test_queue_interface(storage):
    q = parkit.Queue("ns/q", maxsize=2)
    assert q.maxsize == 2 and q.empty() and not q.full()
    q.put(1)
    q.put_nowait({"two": 2})
    assert q.full() and q.qsize() == 2
    with pytest.raises(queue.Full):
        q.put(3, timeout=0.01)
    with pytest.raises(queue.Full):
        q.put_nowait(3)
    assert q.get() == 1 and q.get_nowait() == {"two": 2}
    with pytest.raises(queue.Empty):
        q.get(timeout=0.01)
    with pytest.raises(queue.Empty):
        q.get_nowait()
    assert not q.join(timeout=0.01)
    q.task_done()
    q.task_done()
    assert q.join(timeout=0.01)
    with pytest.raises(ValueError):
        q.task_done()
    lifo = parkit.LifoQueue("ns/lifo")
    for i in range(3):
        lifo.put(i)
    assert [lifo.get() for _ in range(3)] == [2, 1, 0]


def test_blocked_get_wakes_on_put_from_another_thread(storage):
    q = parkit.Queue("ns/wake")
    got = []
    t = threading.Thread(target=lambda: got.append(q.get(timeout=10)))
    t.start()
    q.put("hello")
    t.join(10)
    assert got == ["hello"]


def test_wait_until(storage):
    d = parkit.Dict("ns/w")
    assert parkit.wait_until(lambda: True)
    assert not parkit.wait_until(lambda: "x" in d, timeout=0.02)
    threading.Timer(0.02, lambda: d.__setitem__("x", 1)).start()
    assert parkit.wait_until(lambda: "x" in d, timeout=5)


def test_namespace_sizes_grow_on_demand(storage):
    assert parkit.get_namespace_size("big") == 1 << 30
    parkit.Dict("big/d")["k"] = 1
    used = sum(os.path.getsize(os.path.join(dp, f))
               for dp, _, fs in os.walk(storage) for f in fs)
    assert used < 64 << 20  # a 1 GiB namespace does not take 1 GiB of disk
    parkit.set_namespace_size("small", 16 << 20)
    assert parkit.get_namespace_size("small") == 16 << 20
    d = parkit.Dict("small/d")
    d["keep"] = "me"
    with pytest.raises(MemoryError, match="set_namespace_size"):
        for i in range(10000):
            d[f"k{i}"] = "x" * 10000
    assert d["keep"] == "me"
    n = len(d)
    parkit.set_namespace_size("small", 64 << 20)
    assert parkit.get_namespace_size("small") == 64 << 20
    d["more"] = "x" * 10000
    assert len(d) == n + 1
    with pytest.raises(ValueError):
        parkit.set_namespace_size("small", 1)


def test_objects_pickle_by_path(storage):
    import pickle
    d = parkit.Dict("ns/p")
    d["k"] = 1
    e = pickle.loads(pickle.dumps(d))
    assert e == d and e["k"] == 1


@pytest.mark.parametrize("setting, force, expected", [
    ("", None, "1"), ("force", None, "1"), ("msync", None, "0"),
    ("MSYNC", "1", "0"),          # the explicit switch wins
    ("", "0", "0"), ("msnyc", None, "ValueError")])
def test_durability_switch(setting, force, expected):
    import subprocess
    import sys
    env = {k: v for k, v in os.environ.items() if k != "PMEM_IS_PMEM_FORCE"}
    env["PARKIT_DURABILITY"] = setting
    if force is not None:
        env["PMEM_IS_PMEM_FORCE"] = force
    out = subprocess.run([sys.executable, "-c", "import os\n"
                          "try:\n import parkit\nexcept ValueError: print('ValueError')\n"
                          "else: print(os.environ['PMEM_IS_PMEM_FORCE'])"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == expected, out.stderr


# -- fast paths: Dict get/set without taking the namespace -----------------------

def run_child(code: str, storage: str) -> subprocess.Popen:
    """A Python process running *code* with parkit on *storage*."""
    prelude = ("import sys, time, parkit\n"
               f"parkit.set_storage_path({storage!r})\n")
    return subprocess.Popen([sys.executable, "-c", prelude + code],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=ROOT)


def wait_child(pid: int, timeout: float = 10.0) -> int:
    """Exit code of forked child *pid*, polling (so that this process's
    background thread can hand namespaces over meanwhile); kills the child
    and fails after *timeout* seconds."""
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            pytest.fail(f"forked child still running after {timeout} s")
        time.sleep(0.005)


@pytest.mark.parametrize("dropper", ["first", "second"])
def test_drop_detaches_every_resolved_instance_of_the_path(storage, dropper):
    """Instances that already resolved the path (their fast paths hold the
    dropped data) all find out at once, whichever of them dropped it: gets,
    sets and the other reads raise ObjectNotFoundError, and they stay
    dropped when the path is re-created."""
    a = parkit.Dict("fast/x")
    b = parkit.Dict("fast/x")
    a["k"] = 1
    assert b["k"] == 1           # b resolved the entry too
    b["k"] = 2
    assert a["k"] == 2
    (a if dropper == "first" else b).drop()
    for obj in (a, b):
        assert not obj.exists
        for use in (lambda o: o["k"], lambda o: o.__setitem__("k", 1),
                    lambda o: o.get("k"), lambda o: "k" in o, len):
            with pytest.raises(parkit.ObjectNotFoundError):
                use(obj)
    c = parkit.Dict("fast/x")
    c["k"] = "new"
    assert c.uuid != b.uuid
    for obj in (a, b):
        with pytest.raises(parkit.ObjectNotFoundError):
            obj["k"]
        with pytest.raises(parkit.ObjectNotFoundError):
            obj["k"] = "old"
        assert not obj.exists
    assert c.to_dict() == {"k": "new"}


@pytest.mark.parametrize("versioned", [True, False])
def test_fast_paths_reopen_after_close_all(storage, versioned):
    """Closing every namespace under a resolved Dict sends get and set to
    the general path, which reopens: values are right and the version
    counts each set exactly once (and never when unversioned)."""
    d = parkit.Dict("fast/c", versioned=versioned)
    v0 = d.version
    d["k"] = 1
    close_all()
    assert handle_for("fast").pool is None
    assert d["k"] == 1
    close_all()
    d["k"] = 2
    d["j"] = [1, 2]
    close_all()
    assert d["k"] == 2 and d["j"] == [1, 2]
    close_all()
    d["k"] = 3
    assert d.to_dict() == {"k": 3, "j": [1, 2]}
    assert d.version == (v0 + 4 if versioned else 0)


@contextlib.contextmanager
def closing_all_in_another_thread(pause):
    """For the block, another thread calls close_all() every *pause* s;
    yields (errors it met, [closes done]) and makes sure it ended."""
    stop, errors, closes = threading.Event(), [], [0]

    def closer():
        try:
            while not stop.is_set():
                close_all()
                closes[0] += 1
                time.sleep(pause)
        except BaseException as e:  # noqa: BLE001
            errors.append(e)
    t = threading.Thread(target=closer)
    t.start()
    try:
        yield errors, closes
    finally:
        stop.set()
        t.join(10)
        assert not t.is_alive()


def test_fast_paths_survive_close_all_from_another_thread(storage):
    """One thread sets and reads back while another keeps closing every
    namespace: no call fails, each read sees the value just written, and
    the version counts every set once."""
    d = parkit.Dict("fast/t")
    d["k"] = -1
    v0 = d.version
    sets = 0
    mismatches = 0
    with closing_all_in_another_thread(0.002) as (errors, closes):
        end = time.monotonic() + 0.5
        while time.monotonic() < end:
            d["k"] = sets
            sets += 1
            if d["k"] != sets - 1:
                mismatches += 1
    assert errors == []
    assert mismatches == 0
    assert closes[0] > 10 and sets > 10
    assert d["k"] == sets - 1
    assert d.version == v0 + sets


def test_container_reads_survive_close_all_from_another_thread(storage):
    """Reading a list value while another thread keeps closing every
    namespace never fails and always returns the whole list."""
    d = parkit.Dict("fast/l")
    value = list(range(500))
    d["l"] = value
    reads = 0
    with closing_all_in_another_thread(0.001) as (errors, closes):
        end = time.monotonic() + 1.0
        while time.monotonic() < end:
            assert d["l"] == value
            reads += 1
    assert errors == []
    assert closes[0] >= 10 and reads >= 100, (closes, reads)


def test_container_reads_are_atomic_against_other_threads_transactions(storage):
    """Each Dict call is atomic: a read of a list that another thread
    rewrites inside transactions sees it wholly before or wholly after."""
    d = parkit.Dict("fast/torn")
    n = 100
    d["l"] = [0] * n
    stop = threading.Event()
    errors, rewrites, generations = [], [0], set()

    def rewriter():
        try:
            g = 0
            while not stop.is_set():
                g += 1
                with parkit.transaction(d, zero_copy=True):
                    live = d["l"]
                    for i in range(n):
                        live[i] = g
                rewrites[0] = g
        except BaseException as e:  # noqa: BLE001
            errors.append(e)
    t = threading.Thread(target=rewriter)
    t.start()
    try:
        end = time.monotonic() + 1.0
        while time.monotonic() < end:
            seen = d["l"]
            assert len(set(seen)) == 1, sorted(set(seen))
            generations.add(seen[0])
    finally:
        stop.set()
        t.join(10)
    assert not t.is_alive() and errors == []
    # the reads raced the rewrites: many were committed, and seen
    assert rewrites[0] >= 10 and len(generations) >= 5, (rewrites, len(generations))


def test_fork_inside_a_transaction_keeps_the_parents_ownership(storage):
    """Idle namespaces are closed before a fork; one held by a running
    transaction stays the parent's: the child's close_all neither closes
    the parent's pool nor releases its lock, and the parent's transaction
    commits without reopening."""
    d = parkit.Dict("fork/own")
    d["parent"] = "p"
    h = handle_for("fork")
    with parkit.transaction(d):
        pool, generation = h.pool, h.generation
        assert pool is not None
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                close_all()
                code = 0
            finally:
                os._exit(code)
        assert wait_child(pid) == 0
        probe = NamespaceLock(h.file + ".lock")   # another open file: a rival
        try:
            assert not probe.try_acquire()        # the parent still owns it
        finally:
            probe.close()
        d["after"] = 2
    assert h.pool is pool and not pool.closed and h.generation == generation
    assert d.to_dict() == {"parent": "p", "after": 2}


def test_idle_namespaces_are_closed_before_a_fork(storage):
    """A fork closes the parent's idle namespaces first, so the child can
    open them; the parent reopens on its next use."""
    d = parkit.Dict("fork/idle")
    d["k"] = 1
    h = handle_for("fork")
    assert h.pool is not None
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    assert wait_child(pid) == 0
    assert h.pool is None
    assert d["k"] == 1 and h.pool is not None


def test_forked_child_uses_an_inherited_dict(storage):
    """A child forked from the owner uses the Dict it inherited: the parent
    hands the namespace over while waiting, the child's write lands, and
    the parent then reads it next to its own data."""
    d = parkit.Dict("fork/d")
    d["parent"] = "p"
    d["list"] = [1, 2]
    assert handle_for("fork").pool is not None   # the parent owns it
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            d["child"] = 1
            code = 0 if d["child"] == 1 else 2
        except pmemobj.PoolInUseError:
            code = 3
        finally:
            os._exit(code)
    status = wait_child(pid)
    assert d["parent"] == "p" and d["list"] == [1, 2]
    assert status == 0, "3: the child's open raised PoolInUseError"
    assert d["child"] == 1
    assert d.to_dict() == {"parent": "p", "list": [1, 2], "child": 1}


WAKE_ON_CHANGE = """
from parkit.namespace import handle_for
h = handle_for("wake")
seen = h.changes()
print("ready", flush=True)
woke = h.wait_change(seen, time.monotonic() + 10)
print(woke, time.time(), flush=True)
print(parkit.Dict("wake/d")["flag"], flush=True)
"""


def test_blocked_reader_in_another_process_wakes_on_a_fast_path_write(storage):
    """A process blocked on the namespace's change counter (without owning
    the namespace) wakes promptly when the owner sets a key through the
    fast path, and then reads the new value."""
    d = parkit.Dict("wake/d")
    d["flag"] = 0                 # owned and resolved: the next set is fast
    h = handle_for("wake")
    child = run_child(WAKE_ON_CHANGE, storage)
    try:
        assert child.stdout.readline().strip() == "ready"
        time.sleep(0.1)
        generation = h.generation
        sent = time.time()
        d["flag"] = 1
        assert h.generation == generation and h.pool is not None  # no reopen
        out, err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 0, err
    woke, when, flag = out.split()
    assert woke == "True" and flag == "1"
    assert float(when) - sent < 1.0
    assert d["flag"] == 1


POLL_FLAG = """
d = parkit.Dict("wake/p")
print("ready", flush=True)
print(parkit.wait_until(lambda: d.get("flag") == 1, timeout=10), flush=True)
d["seen"] = True
"""


def test_polling_reader_in_another_process_sees_fast_path_writes(storage):
    """A process polling a Dict takes the namespace back and forth with the
    owner; the owner's fast-path sets fall back when its pool was handed
    over, and both sides see each other's writes."""
    d = parkit.Dict("wake/p")
    d["flag"] = 0
    child = run_child(POLL_FLAG, storage)
    try:
        assert child.stdout.readline().strip() == "ready"
        for i in range(20):                # the owner keeps writing meanwhile
            d[f"n{i}"] = i
        d["flag"] = 1
        out, err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 0, err
    assert out.split() == ["True"]
    assert d["seen"] is True and d["flag"] == 1
    assert [d[f"n{i}"] for i in range(20)] == list(range(20))


DROP_AND_RECREATE = """
old = parkit.Dict("gone/x")
old.drop()
parkit.Dict("gone/x")["k"] = "recreated"
"""


def test_drop_in_another_process_is_seen_by_a_resolved_instance(storage):
    """An instance resolved in this process learns of a drop (and
    re-creation) made by another process: its fast path falls back, and
    the new object at the path is not mistaken for the old one."""
    d = parkit.Dict("gone/x")
    d["k"] = "original"
    assert d["k"] == "original"
    child = run_child(DROP_AND_RECREATE, storage)
    _, err = child.communicate(timeout=30)
    assert child.returncode == 0, err
    with pytest.raises(parkit.ObjectNotFoundError):
        d["k"]
    with pytest.raises(parkit.ObjectNotFoundError):
        d["k"] = "lost"
    assert parkit.Dict("gone/x")["k"] == "recreated"
