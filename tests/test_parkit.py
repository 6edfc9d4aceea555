"""parkit in one process: storage paths, objects, transactions, sizes."""
from __future__ import annotations

import os
import queue
import threading

import pytest

import parkit
import pmemobj




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


@pytest.mark.parametrize("setting, expected", [("", "1"), ("msync", "0")])
def test_durability_switch(setting, expected):
    import subprocess
    import sys
    env = {k: v for k, v in os.environ.items() if k != "PMEM_IS_PMEM_FORCE"}
    env["PARKIT_DURABILITY"] = setting
    out = subprocess.run([sys.executable, "-c", "import os, parkit; "
                          "print(os.environ['PMEM_IS_PMEM_FORCE'])"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == expected, out.stderr
