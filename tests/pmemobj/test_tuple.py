"""PersistentTuple behaves like tuple (indexing, slicing, index, count,
operators, hashing, immutability); plain tuples are stored natively and
come back as tuples."""
from __future__ import annotations

import itertools
import operator

import pytest

import pmemobj
from pmemobj import PersistentTuple
from tests.helpers import outcome, reopen

ITEMS = (0, "one", 2.5, None, b"four", (5, "five"), True, 2**70, -7, "one")




@pytest.fixture
def pt(pool):
    pool.root = {"t": pool.new(PersistentTuple, ITEMS)}
    return pool.root["t"]


def test_indexing_matches_tuple(pt):
    n = len(ITEMS)
    for i in range(-n - 3, n + 3):
        assert outcome(lambda t: t[i], pt) == outcome(lambda t: t[i], ITEMS)
    for bad in ("1", 1.0, None):
        assert outcome(lambda t: t[bad], pt) == ("raise", TypeError)
        assert outcome(lambda t: t[bad], ITEMS) == ("raise", TypeError)
    for huge in (2**63, -(2**64), 10**30):
        assert outcome(lambda t: t[huge], pt) == outcome(lambda t: t[huge], ITEMS) == \
            ("raise", IndexError)


def test_every_slice_matches_tuple_and_is_a_plain_tuple(pt):
    bounds = [None, 0, 2, -1, -4, 20, -20]
    for a, b, c in itertools.product(bounds, bounds, [None, 1, 2, -1, -3]):
        got = pt[a:b:c]
        assert type(got) is tuple and got == ITEMS[a:b:c], (a, b, c)
    with pytest.raises(ValueError):
        pt[::0]


def test_index_count_and_contains_match_tuple(pt):
    for x in [0, 0.0, False, "one", (5, "five"), 2**70, float(2**70), "missing", 1, True]:
        assert (x in pt) == (x in ITEMS)
        assert pt.count(x) == ITEMS.count(x)
        assert outcome(lambda t: t.index(x), pt) == outcome(lambda t: t.index(x), ITEMS)
    for args in [("one", 2), ("one", -1), ("one", 2, 5), (0, -100, 100), ("one", 10**30)]:
        assert outcome(lambda t: t.index(*args), pt) == outcome(lambda t: t.index(*args), ITEMS)


def test_len_bool_iteration_reversed_and_repr_match_tuple(pool):
    t, e, one = (pool.new(PersistentTuple, ITEMS), pool.new(PersistentTuple),
                 pool.new(PersistentTuple, ["x"]))
    pool.root = [t, e, one]
    assert len(t) == len(ITEMS) and len(e) == 0 and bool(t) and not e
    assert list(t) == list(ITEMS) and list(reversed(t)) == list(reversed(ITEMS))
    assert repr(t) == repr(ITEMS) and repr(e) == "()" and repr(one) == "('x',)"


def test_comparisons_match_tuple(pool):
    a, b, c = (pool.new(PersistentTuple, x) for x in [(1, 2, 3), (1, 2, 4), (1, 2)])
    pool.root = [a, b, c]
    plain = {id(a): (1, 2, 3), id(b): (1, 2, 4), id(c): (1, 2)}
    ops = [operator.eq, operator.ne, operator.lt, operator.le, operator.gt, operator.ge]
    for op in ops:
        for x, y in itertools.product([a, b, c], repeat=2):
            assert op(x, y) == op(plain[id(x)], plain[id(y)])
            assert op(x, plain[id(y)]) == op(plain[id(x)], plain[id(y)])
            assert op(plain[id(x)], y) == op(plain[id(x)], plain[id(y)])
    assert (a == [1, 2, 3]) is False and a != [1, 2, 3]
    for op in ops[2:]:
        with pytest.raises(TypeError):
            op(a, [1, 2, 3])


def test_add_and_multiply_return_plain_tuples(pool):
    a = pool.new(PersistentTuple, [1, "x"])
    pool.root = a
    for got, want in [(a + (2,), (1, "x", 2)), ((0,) + a, (0, 1, "x")), (a + a, (1, "x") * 2),
                      (a * 2, (1, "x", 1, "x")), (3 * a, (1, "x") * 3), (a * 0, ()), (a * -1, ())]:
        assert type(got) is tuple and got == want
    for bad in (lambda: a + [2], lambda: [2] + a, lambda: a * "2", lambda: a * 1.5):
        with pytest.raises(TypeError):
            bad()
    ref = a
    a += (3,)
    assert type(a) is tuple and a == (1, "x", 3) and pool.root is not a and ref == (1, "x")


def test_hash_equals_the_hash_of_the_plain_tuple(pool):
    t = pool.new(PersistentTuple, [1, "a", (2.0, b"b"), None, frozenset({3})])
    pool.root = t
    plain = (1, "a", (2.0, b"b"), None, frozenset({3}))
    assert hash(t) == hash(plain)
    assert {t: "v"}[plain] == "v" and {plain: "v"}[t] == "v"


def test_tuple_holding_a_mutable_item_is_unhashable_like_tuple(pool):
    t = pool.new(PersistentTuple, [1, [2]])
    pool.root = t
    with pytest.raises(TypeError):
        hash(t)
    with pytest.raises(TypeError):
        hash((1, [2]))
    with pytest.raises(TypeError):
        pool.new(pmemobj.PersistentDict, {t: 1})
    t[1].append(3)           # the mutable item is still a live persistent list
    assert t == (1, [2, 3])


def test_persistent_tuple_is_a_dict_key_found_by_the_plain_tuple_and_back(pool):
    t = pool.new(PersistentTuple, ["k", 1])
    pool.root = {"d": {t: "by persistent"}, "e": {("k", 1): "by plain"}, "t": t}
    pool = reopen(pool)
    root = pool.root
    assert root["d"][("k", 1.0)] == "by persistent"
    assert root["e"][root["t"]] == "by plain"
    assert root["t"] in root["d"]
    pool.close()


def test_persistent_tuple_is_immutable(pt):
    with pytest.raises(TypeError):
        pt[0] = 1
    with pytest.raises(TypeError):
        del pt[0]
    with pytest.raises(TypeError):
        pt.__init__([1])
    for name in ("append", "extend", "insert", "pop", "remove", "sort", "reverse", "clear"):
        assert not hasattr(pt, name)
    assert tuple(pt) == ITEMS


def test_contents_and_identity_survive_reopen(pool):
    inner = pool.new(pmemobj.PersistentList, [1])
    t = pool.new(PersistentTuple, [inner, inner, "s", 2**100, {"d": 1}, (1, (2,))])
    pool.root = {"a": t, "b": t}
    pool = reopen(pool)
    a = pool.root["a"]
    assert isinstance(a, PersistentTuple) and a is pool.root["b"]
    assert a[0] is a[1]
    assert a == ([1], [1], "s", 2**100, {"d": 1}, (1, (2,)))
    a[0].append(2)
    assert a[1] == [1, 2]
    pool.close()


def test_plain_tuples_are_stored_natively_and_come_back_as_tuples(pool):
    values = ((), (1,), (1, ("nested", (None, b"x"))), tuple(range(100)), (2**70, -0.0, 1j))
    pool.root = list(values)
    pool = reopen(pool)
    for got, want in zip(pool.root, values):
        assert type(got) is tuple and got == want
    pool.close()


def test_plain_tuple_holding_a_list_keeps_a_live_persistent_list(pool):
    pool.root = {"t": (1, [2])}
    t = pool.root["t"]
    assert type(t) is tuple and isinstance(t[1], pmemobj.PersistentList)
    t[1].append(3)
    assert pool.root["t"] == (1, [2, 3])


def test_creating_a_tuple_in_an_aborted_transaction_leaves_nothing(pool):
    pool.root = {}
    objects = pool.stats()["objects"]
    with pytest.raises(RuntimeError):
        with pool.transaction():
            pool.root["t"] = pool.new(PersistentTuple, ["x" * 100, [1, 2], (3, "y")])
            raise RuntimeError
    assert "t" not in pool.root
    assert pool.stats()["objects"] == objects


def test_unpersistable_item_is_a_type_error_and_leaves_nothing(pool):
    objects = pool.stats()["objects"]
    with pytest.raises(TypeError):
        pool.new(PersistentTuple, [1, "x", object()])
    with pytest.raises(TypeError):
        PersistentTuple([1])  # outside a pool
    pool.gc()
    assert pool.stats()["objects"] == objects
