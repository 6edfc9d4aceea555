"""Transactions: commit, abort, nesting, misuse, threads, pool full."""
from __future__ import annotations

import threading

import pytest

import pmemobj
from pmemobj import PoolFullError, TransactionError
from pmemobj._binding import lib
from tests.helpers import reopen


def test_commit_and_abort(pool):
    pool.root = {"n": 0, "items": []}
    root = pool.root
    with pool.transaction():
        root["n"] = 1
        root["items"].append("a")
    assert root == {"n": 1, "items": ["a"]}
    with pytest.raises(ZeroDivisionError):
        with pool.transaction():
            root["n"] = 2
            root["items"].append("b")
            root["new"] = {"x": 1}
            1 / 0
    assert root == {"n": 1, "items": ["a"]}
    pool = reopen(pool)
    assert pool.root == {"n": 1, "items": ["a"]}
    pool.close()


def test_abort_rolls_back_root_and_frees_new_objects(pool):
    base = pool.stats()["objects"]
    with pytest.raises(KeyError):
        with pool.transaction():
            pool.root = {"big": ["x" * 100] * 50}
            raise KeyError("stop")
    assert pool.root is None
    assert pool.stats()["objects"] == base


def test_nested_transactions_commit_with_the_outermost(pool):
    pool.root = []
    lst = pool.root
    with pool.transaction():
        lst.append(1)
        with pool.transaction():
            lst.append(2)
            with pool.transaction():
                lst.append(3)
        lst.append(4)
    assert lst == [1, 2, 3, 4]


def test_inner_failure_aborts_the_whole_transaction(pool):
    pool.root = []
    lst = pool.root
    with pytest.raises(ValueError):
        with pool.transaction():
            lst.append(1)
            with pool.transaction():
                lst.append(2)
                raise ValueError
    assert lst == []


def test_swallowed_inner_failure_cannot_commit(pool):
    pool.root = []
    lst = pool.root
    with pytest.raises(TransactionError, match="aborted"):
        with pool.transaction():
            lst.append(1)
            try:
                with pool.transaction():
                    lst.append(2)
                    raise ValueError
            except ValueError:
                pass
            # the transaction is dead: writing now is refused too
            with pytest.raises(TransactionError):
                lst.append(3)
    assert lst == []
    lst.append(5)
    assert lst == [5]


def test_benign_errors_keep_the_transaction_alive(pool):
    pool.root = {"a": 1, "l": [], "e": {}}
    d = pool.root
    lst, empty = d["l"], d["e"]
    assert isinstance(lst, pmemobj.PersistentList)
    with pool.transaction():
        with pytest.raises(KeyError):
            del d["missing"]
        with pytest.raises(IndexError):
            lst.pop()                   # from an empty persistent list
        with pytest.raises(KeyError):
            empty.popitem()             # from an empty persistent dict
        del d["a"]
        lst.append(3)
        d["b"] = 2
    assert d == {"l": [3], "e": {}, "b": 2}


def test_misuse_is_an_exception_not_a_crash(pool):
    with pytest.raises(TransactionError):
        pool.mm.alloc(10)  # outside a transaction
    with pytest.raises(TransactionError):
        pool.mm.free(pmemobj.OID_NULL)
    with pool.transaction():
        with pytest.raises(TransactionError):
            pool.close()
    t = pool.transaction()
    with pytest.raises(TransactionError):
        t.__exit__(None, None, None)  # never entered


def test_transactions_of_two_pools_do_not_mix(tmp_path):
    a = pmemobj.create(str(tmp_path / "a.pool"))
    b = pmemobj.create(str(tmp_path / "b.pool"))
    try:
        with a.transaction():
            with pytest.raises(TransactionError, match="another pool"):
                b.root = 1
            a.root = 2
        assert a.root == 2 and b.root is None
    finally:
        a.close()
        b.close()


def test_threads_serialise_on_transactions(pool):
    pool.root = {"n": 0}
    d = pool.root

    def work():
        for _ in range(200):
            with pool.transaction():
                d["n"] = d["n"] + 1

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert d["n"] == 800


def test_pool_full_rolls_back_and_pool_stays_usable(pool):
    pool.root = {"keep": "me"}
    lst = pool.mm.new(pmemobj.PersistentList)
    pool.root["list"] = lst
    with pytest.raises(PoolFullError) as e:
        with pool.transaction():
            for _ in range(10000):
                lst.append("x" * 10000)
    assert isinstance(e.value, MemoryError)
    assert (e.value.status, e.value.reason) == (lib.PMO_ENOMEM, "ENOMEM")
    assert len(lst) == 0
    with pytest.raises(MemoryError):
        lst.append(b"y" * (16 << 20))
    assert len(lst) == 0
    for i in range(100):
        lst.append(i)
    assert list(lst) == list(range(100))
    assert pool.root["keep"] == "me"
    pool = reopen(pool)
    assert list(pool.root["list"]) == list(range(100))
    pool.close()


def test_unstorable_nested_value_leaves_the_transaction_usable(pool):
    pool.root = {"l": [1], "d": {}, "s": set()}
    root = pool.root
    with pool.transaction():
        with pytest.raises(TypeError):
            root["l"].append([1, object()])
        with pytest.raises(TypeError):
            root["l"].extend([2, (3, object())])
        with pytest.raises(TypeError):
            root["d"][(1, 2)] = {"k": object()}
        with pytest.raises(TypeError):
            root["s"].add((1, object()))
        with pytest.raises(TypeError):
            root["l"][0] = [object()]
        root["l"].append(2)
    assert root == {"l": [1, 2], "d": {}, "s": set()}


def test_new_passes_any_keyword_to_the_constructor(pool):
    d = pool.new(pmemobj.PersistentDict, self=1, typ=2)
    assert d == {"self": 1, "typ": 2}


def test_transaction_errors_keep_their_cause(tmp_path):
    # four causes, one class: the C status stays on the exception
    a = pmemobj.create(str(tmp_path / "a.pool"))
    b = pmemobj.create(str(tmp_path / "b.pool"))
    try:
        a.root = []
        errors = {}
        with pytest.raises(TransactionError) as e:
            a.mm.alloc(10)                          # outside any transaction
        errors["ENOTX"] = e.value
        with pytest.raises(TransactionError) as e:
            with a.transaction():
                try:
                    with a.transaction():
                        raise ValueError
                except ValueError:
                    pass
                a.root.append(1)                    # the transaction is dead
        errors["EABORTED"] = e.value
        with a.transaction():
            with pytest.raises(TransactionError) as e:
                b.root = 1                          # another pool's
        errors["EOTHERTX"] = e.value
        with pytest.raises(TransactionError) as e:
            with a.transaction():
                # libpmemobj refuses to snapshot memory outside its heap
                a.mm.snapshot_range(a.mm.direct((a.mm.uuid, 4096)), 8)
        errors["ETXFAIL"] = e.value
        for reason, err in errors.items():
            assert err.reason == reason
            assert err.status == getattr(lib, "PMO_" + reason)
        assert len({str(err) for err in errors.values()}) == 4
        assert a.root == [] and a.check()["dangling"] == 0
    finally:
        a.close()
        b.close()


def test_errors_of_python_checks_have_no_status(pool):
    with pytest.raises(TransactionError) as e:
        with pool.transaction():
            pool.close()
    assert e.value.status is None and e.value.reason is None
