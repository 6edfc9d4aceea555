"""PersistentDict behaves like dict: Python's key equality, insertion order,
every method, operator and view, the same exception types; keys hash the
same in every process; each mutation is one step a transaction abort rolls
back completely."""
from __future__ import annotations

import functools
import operator
import os
import subprocess
import sys

import pytest

import pmemobj
from pmemobj import PersistentDict
from tests.helpers import assert_same, child_env, reopen


ENTRIES = [("a", 1), (2, "two"), (None, "none"), (b"a", "bytes"), ((1, "t"), [1, 2]),
           (frozenset({1, 2}), {"n": 1}), (2**70, "big"), (2.5, None), (True, "true")]


#: fn does the same to a PersistentDict as to a dict (contents in order).
same = functools.partial(assert_same, contents=lambda d: list(d.items()))


@pytest.fixture
def pd(pool):
    """A PersistentDict reachable from the root, holding ENTRIES."""
    pool.root = {"d": dict(ENTRIES)}
    return pool.root["d"]


# -- keys follow Python's equality -------------------------------------------------------

def test_one_one_point_zero_and_true_are_one_key(pool):
    pool.root = {}
    d, model = pool.root, {}
    for k, v in [(1, "int"), (1.0, "float"), (True, "bool"), (0, "zero"), (0.0, "fzero"),
                 (False, "false"), (-0.0, "negzero")]:
        d[k] = v
        model[k] = v
    assert list(d.items()) == list(model.items()) == [(1, "bool"), (0, "negzero")]
    # the first key object stays, as in dict
    assert [type(k) for k in d] == [int, int]
    for k in (1, 1.0, True, 0, -0.0, False):
        assert d[k] == model[k] and k in d
    del d[1.0]
    assert list(d) == [0]


def test_big_ints_and_equal_floats_are_one_key(pool):
    pool.root = {}
    d, model = pool.root, {}
    for k, v in [(2**70, "big"), (float(2**70), "float"), (2**63, "b63"), (float(2**63), "f63"),
                 (-(2**63), "min"), (float(-(2**63)), "fmin"), (2**63 - 1, "max"),
                 (10**30, "huge"), (-(10**30), "neg")]:
        d[k] = v
        model[k] = v
    assert list(d.items()) == list(model.items())
    assert [type(k) for k in d] == [type(k) for k in model]
    assert d[float(2**70)] == "float" and d[2**70] == "float"
    assert 2**70 + 1 not in d
    assert d.get(float(10**30)) == model.get(float(10**30))
    pool.root = None
    pool.root = {}
    d = pool.root
    d[float(2**70)] = "f"
    d[2**70] = "b"
    assert list(d.items()) == [(float(2**70), "b")]
    assert type(next(iter(d))) is float


def test_tuples_frozensets_and_complex_keys_use_value_equality(pool):
    pool.root = {}
    d, model = pool.root, {}
    for k, v in [((1, "a"), 1), ((1.0, "a"), 2), ((True, "a"), 3), (frozenset({1, "x"}), 4),
                 (frozenset({1.0, "x"}), 5), (1 + 0j, 6), (1, 7), (2j, 8), ((), 9),
                 (((),), 10), ((1, (2, (3,))), 11), ((1, (2.0, (3,))), 12),
                 (frozenset(), 13), ((2**70, "z"), 14), ((float(2**70), "z"), 15)]:
        d[k] = v
        model[k] = v
    assert list(d.items()) == list(model.items())
    for k in model:
        assert d[k] == model[k]
    assert (1, "b") not in d and frozenset({1}) not in d


def test_bytes_and_str_are_different_keys(pool):
    pool.root = {"a": "str", b"a": "bytes", "": "empty str", b"": "empty bytes"}
    d = pool.root
    assert len(d) == 4
    assert d["a"] == "str" and d[b"a"] == "bytes"
    assert d[""] == "empty str" and d[b""] == "empty bytes"
    del d["a"]
    assert list(d) == [b"a", "", b""]


def test_none_and_unusual_strings_are_keys(pool):
    keys = [None, "", "\x00", "a\x00b", "\udc80", "\U0010ffff", "é", "x" * 10000, b"\x00" * 3]
    pool.root = {k: i for i, k in enumerate(keys)}
    pool = reopen(pool)
    d = pool.root
    assert list(d) == keys
    for i, k in enumerate(keys):
        assert d[k] == i
    pool.close()


def test_unhashable_keys_raise_type_error_everywhere(pd):
    model = dict(ENTRIES)
    for bad in ([1], {"a": 1}, {1}, (1, [2]), bytearray(b"x")):
        for fn in (lambda t: t[bad], lambda t: t.__setitem__(bad, 1), lambda t: t.__delitem__(bad),
                   lambda t: bad in t, lambda t: t.get(bad), lambda t: t.pop(bad),
                   lambda t: t.pop(bad, None), lambda t: t.setdefault(bad, 1),
                   lambda t: t.update([(bad, 1)])):
            assert same(fn, pd, model) == ("raise", TypeError)
    # an update is one step: nothing of it is applied (dict applies the pairs before the bad one)
    with pytest.raises(TypeError):
        pd.update([("ok", 1), ([1], 2)])
    assert "ok" not in pd and list(pd.items()) == list(model.items())


def test_deleting_the_only_reference_to_a_container_value_succeeds(pool):
    pool.root = {"l": [1], "d": {"x": [2]}, "s": {3}, "o": pool.new(pmemobj.PersistentObject),
                 "t": pool.new(pmemobj.PersistentTuple, [[4]]), 5: [5], None: {6}, b"b": {}}
    d = pool.root
    base = pool.stats()["pobjects"]
    for k in ["l", "d", "s", "o", "t", 5, None, b"b"]:
        del d[k]
        assert k not in d
    assert len(d) == 0
    assert pool.stats()["pobjects"] < base


def test_missing_key_raises_key_error_carrying_the_key(pd):
    for k in ("missing", ("t",), 3, 2**80, frozenset({9})):
        with pytest.raises(KeyError) as e:
            pd[k]
        assert e.value.args == (k,)
        with pytest.raises(KeyError) as e:
            del pd[k]
        assert e.value.args == (k,)
        with pytest.raises(KeyError) as e:
            pd.pop(k)
        assert e.value.args == (k,)


# -- order ----------------------------------------------------------------------------------

def test_insertion_order_is_kept_through_updates_deletes_and_resizes(pool):
    pool.root = {}
    d, model = pool.root, {}
    for i in range(500):
        k = (i * 7919) % 1000
        d[k] = i
        model[k] = i
        if i % 3 == 0:
            victim = next(iter(model))
            del d[victim]
            del model[victim]
        if i % 5 == 0:
            d[k] = "updated"      # updating keeps the position
            model[k] = "updated"
    assert list(d.items()) == list(model.items())
    pool = reopen(pool)
    assert list(pool.root.items()) == list(model.items())
    pool.close()


def test_deleted_then_reinserted_key_moves_to_the_end(pd):
    model = dict(ENTRIES)
    same(lambda t: t.__delitem__("a"), pd, model)
    same(lambda t: t.__setitem__("a", "again"), pd, model)
    assert list(pd)[-1] == "a"


# -- methods ----------------------------------------------------------------------------------

def test_get_matches_dict(pd):
    model = dict(ENTRIES)
    for k in ["a", 2, 2.0, None, b"a", (1, "t"), (1.0, "t"), 2**70, 1, "missing", 99]:
        same(lambda t: t.get(k), pd, model)
        same(lambda t: t.get(k, "default"), pd, model)


def test_setdefault_matches_dict(pd):
    model = dict(ENTRIES)
    for k, v in [("a", "no"), ("new", "yes"), ("none", None), (3.0, 3), (3, "no")]:
        same(lambda t: t.setdefault(k, v), pd, model)
    same(lambda t: t.setdefault("only_key"), pd, model)
    assert pd["only_key"] is None


def test_setdefault_returns_the_stored_persistent_container(pool):
    pool.root = {}
    got = pool.root.setdefault("l", [])
    got.append(1)
    assert pool.root["l"] == [1]


def test_pop_matches_dict(pd):
    model = dict(ENTRIES)
    for k in ["a", "a", 2.0, (1.0, "t"), "missing"]:
        same(lambda t: t.pop(k), pd, model)
    for k in ["missing", None, None]:
        same(lambda t: t.pop(k, "dflt"), pd, model)
    same(lambda t: t.pop(b"a", None), pd, model)


def test_popitem_is_lifo_and_raises_key_error_when_empty(pd):
    model = dict(ENTRIES)
    while model:
        assert same(lambda t: t.popitem(), pd, model)[0] == "ok"
    assert same(lambda t: t.popitem(), pd, model) == ("raise", KeyError)
    pd["x"] = 1
    pd["y"] = 2
    del pd["y"]
    assert pd.popitem() == ("x", 1)


def test_update_from_mapping_pairs_and_keywords_matches_dict(pd):
    model = dict(ENTRIES)
    for args, kw in [(lambda: ({"a": "A", "new": 1},), {}), (lambda: ([("b", 2), ("a", "AA")],), {}),
                     (lambda: (), {"kw": 1, "a": "kwA"}), (lambda: (zip("xy", "XY"),), {"z": 1}),
                     (lambda: ({},), {}), (lambda: (), {}), (lambda: ([],), {"self": 1, "other": 2}),
                     (lambda: ({"m": 1}.items(),), {}),
                     (lambda: ((("p", 1), ["q", 2]),), {})]:
        assert same(lambda t: t.update(*args(), **kw), pd, model)[0] == "ok"


def test_update_from_an_object_with_keys(pd):
    class KeysOnly:
        def keys(self):
            return ["k1", "k2"]

        def __getitem__(self, k):
            return k.upper()
    model = dict(ENTRIES)
    same(lambda t: t.update(KeysOnly()), pd, model)
    assert pd["k2"] == "K2"


def test_update_from_another_persistent_dict_and_itself(pool):
    pool.root = {"a": {"x": 1}, "b": {"y": 2, "x": 3}}
    a, b = pool.root["a"], pool.root["b"]
    a.update(b)
    assert list(a.items()) == [("x", 3), ("y", 2)]
    a.update(a)
    assert list(a.items()) == [("x", 3), ("y", 2)]


def test_update_with_bad_input_raises_like_dict_and_changes_nothing(pd):
    model = dict(ENTRIES)
    for bad, exc in [([1], TypeError), (["abc"], ValueError), ([("a", 1), ("b",)], ValueError),
                     (5, TypeError), ([("ok", 1), (1, 2, 3)], ValueError)]:
        with pytest.raises(exc):
            pd.update(bad)
        with pytest.raises(exc):
            {}.update(bad)
        assert list(pd.items()) == list(model.items())  # one step: nothing applied
    with pytest.raises(TypeError):
        pd.update({}, {})


def test_clear_and_copy(pd):
    cp = pd.copy()
    assert type(cp) is dict and list(cp.items()) == list(dict(ENTRIES).items())
    pd.clear()
    assert len(pd) == 0 and list(pd) == [] and cp == dict(ENTRIES)
    pd.clear()
    pd["after"] = 1
    assert dict(pd.items()) == {"after": 1}


def test_fromkeys_builds_a_plain_dict_like_dict_fromkeys(pd):
    assert PersistentDict.fromkeys("abc") == dict.fromkeys("abc")
    assert pd.fromkeys([1, 1.0, 2], 0) == {1: 0, 2: 0}


def test_or_and_ior_match_dict(pool):
    pool.root = {"d": {"a": 1, "b": 2}, "e": {"b": 3, "c": 4}}
    d, e = pool.root["d"], pool.root["e"]
    md, me = {"a": 1, "b": 2}, {"b": 3, "c": 4}
    for got, want in [(d | e, md | me), (d | me, md | me), (md | e, md | me), (e | d, me | md)]:
        assert type(got) is dict and list(got.items()) == list(want.items())
    with pytest.raises(TypeError):
        d | [("x", 1)]
    with pytest.raises(TypeError):
        [("x", 1)] | d
    ref = d
    d |= e
    d |= [("z", 0)]
    md |= me
    md |= [("z", 0)]
    assert d is ref and list(d.items()) == list(md.items())
    with pytest.raises(TypeError):
        d |= 5


def test_equality_matches_dict(pool):
    pool.root = {"a": {"x": [1], "y": 2}, "b": {"y": 2, "x": [1]}, "c": {"x": [1]}}
    a, b, c = pool.root["a"], pool.root["b"], pool.root["c"]
    assert a == b and a == {"y": 2, "x": [1]} and {"y": 2, "x": [1]} == a
    assert a != c and not (a == c) and a != {"x": [1], "y": 3}
    assert a == a and (a == [("x", 1)]) is False and (a == 1) is False
    for op in (operator.lt, operator.le, operator.gt, operator.ge):
        with pytest.raises(TypeError):
            op(a, b)
        with pytest.raises(TypeError):
            op(a, {"x": [1]})
    with pytest.raises(TypeError):
        hash(a)


def test_repr_matches_dict(pd):
    assert repr(pd) == repr(dict(ENTRIES))
    assert str(pd) == str(dict(ENTRIES))


def test_repr_of_a_dict_containing_itself_does_not_recurse(pool):
    pool.root = {}
    pool.root["me"] = pool.root
    assert repr(pool.root) == "{'me': {...}}"
    assert pool.root["me"] is pool.root


def test_len_bool_iteration_and_reversed_match_dict(pool):
    pool.root = {"d": dict(ENTRIES), "e": {}}
    d, e = pool.root["d"], pool.root["e"]
    model = dict(ENTRIES)
    assert len(d) == len(model) and bool(d) and not e and len(e) == 0
    assert list(d) == list(model) and list(iter(d)) == list(model)
    assert list(reversed(d)) == list(reversed(model))
    assert sorted(e) == [] and list(reversed(e)) == []


# -- views ----------------------------------------------------------------------------------------

def test_views_list_and_reverse_like_dict_views(pd):
    model = dict(ENTRIES)
    assert list(pd.keys()) == list(model.keys())
    assert list(pd.values()) == list(model.values())
    assert list(pd.items()) == list(model.items())
    assert list(reversed(pd.keys())) == list(reversed(model.keys()))
    assert list(reversed(pd.values())) == list(reversed(model.values()))
    assert list(reversed(pd.items())) == list(reversed(model.items()))
    assert len(pd.keys()) == len(pd.values()) == len(pd.items()) == len(model)
    assert repr(pd.keys()) == repr(model.keys())
    assert repr(pd.values()) == repr(model.values())
    assert repr(pd.items()) == repr(model.items())


def test_views_are_live(pd):
    keys, values, items = pd.keys(), pd.values(), pd.items()
    pd["late"] = "L"
    assert "late" in keys and "L" in values and ("late", "L") in items
    del pd["a"]
    assert "a" not in keys and ("a", 1) not in items


def test_keys_view_supports_set_operations_like_dict_keys(pd):
    model = dict(ENTRIES)
    other = {"a", 2.0, "zz", (1, "t"), 1}
    for op in ("__and__", "__or__", "__sub__", "__xor__", "__le__", "__lt__", "__ge__",
               "__gt__", "__eq__", "__ne__"):
        got = getattr(pd.keys(), op)(other)
        want = getattr(model.keys(), op)(other)
        assert got == want, op
    assert pd.keys() & ["a", "zz"] == {"a"}
    assert other - pd.keys() == other - model.keys()
    assert other | pd.keys() == other | model.keys()
    assert pd.keys().isdisjoint({"q"}) and not pd.keys().isdisjoint({"a"})
    assert pd.keys() == model.keys()


def test_items_view_supports_membership_and_set_operations(pool):
    entries = [(k, v) for k, v in ENTRIES if not isinstance(v, (list, dict))]
    pool.root = dict(entries)
    d, model = pool.root, dict(entries)
    assert ("a", 1) in d.items() and ("a", 2) not in d.items()
    assert (1.0, "true") in d.items() and (2**70, "big") in d.items()
    probe = {("a", 1), ("x", 0), (2.0, "two")}
    for op in ("__and__", "__or__", "__sub__", "__xor__", "__le__", "__ge__", "__eq__"):
        assert getattr(d.items(), op)(probe) == getattr(model.items(), op)(probe), op
    assert probe - d.items() == probe - model.items()
    assert d.items().isdisjoint({("a", 2)})


def test_values_view_membership(pd):
    assert 1 in pd.values() and [1, 2] in pd.values() and "missing" not in pd.values()


# -- iteration while changing ------------------------------------------------------------------

@pytest.mark.parametrize("change", [
    lambda d: d.__setitem__("new", 1),
    lambda d: d.__delitem__("a"),
    lambda d: d.pop(2),
    lambda d: d.popitem(),
    lambda d: d.update({"x": 1, "y": 2}),
    lambda d: d.clear(),
    lambda d: d.setdefault("sd", 1),
])
@pytest.mark.parametrize("view", ["keys", "values", "items"])
def test_changing_size_during_iteration_raises_runtime_error(pool, change, view):
    pool.root = {"d": dict(ENTRIES), "m": 0}
    d = pool.root["d"]
    it = iter(getattr(d, view)())
    next(it)
    change(d)
    with pytest.raises(RuntimeError, match="changed size during iteration"):
        next(it)
    model = dict(ENTRIES)
    mit = iter(getattr(model, view)())
    next(mit)
    change(model)
    with pytest.raises(RuntimeError):
        next(mit)


def test_growing_during_a_for_loop_raises_runtime_error(pool):
    pool.root = {i: i for i in range(20)}
    d = pool.root
    with pytest.raises(RuntimeError):
        for k in d:
            d[k + 100] = 0   # enough to resize the table
    assert len(d) == 21      # the first change happened, as with dict


def test_changing_values_during_iteration_is_allowed(pd):
    model = dict(ENTRIES)
    for k in pd:
        pd[k] = "v"
    for k in model:
        model[k] = "v"
    assert list(pd.items()) == list(model.items())


# -- persistence, growth, nesting -----------------------------------------------------------------

def test_values_of_every_kind_survive_reopen(pool):
    values = {"none": None, "t": True, "i": -5, "big": 2**100, "f": -0.0, "c": 1 - 1j,
              "s": "s\x00", "b": b"\xff", "tup": (1, (2, "x")), "fs": frozenset({3}),
              "l": [1, [2]], "d": {"k": {"kk": 1}}, "set": {1, 2}}
    pool.root = dict(values)
    pool = reopen(pool)
    d = pool.root
    assert isinstance(d, PersistentDict) and d == values
    for k in ("none", "t", "i", "big", "f", "c", "s", "b", "tup", "fs"):
        assert type(d[k]) is type(values[k])
    assert isinstance(d["l"][1], pmemobj.PersistentList)
    assert isinstance(d["d"]["k"], PersistentDict)
    assert isinstance(d["set"], pmemobj.PersistentSet)
    pool.close()


def test_growth_through_many_resizes_and_shrinking_keeps_everything(pool_path):
    with pmemobj.create(pool_path, pool_size=32 << 20) as pool:
        pool.root = {}
        d, model = pool.root, {}
        for i in range(5000):
            key = (i, str(i)) if i % 4 == 0 else i if i % 4 == 1 else f"k{i}"
            d[key] = i
            model[key] = i
        assert list(d.items()) == list(model.items())
        for key in list(model)[::2]:
            del d[key]
            del model[key]
        for i in range(1000):
            d[-i] = i
            model[-i] = i
        assert list(d.items()) == list(model.items())
    with pmemobj.open(pool_path) as pool:
        assert list(pool.root.items()) == list(model.items())
        check = pool.check()
        assert check["refcount_mismatches"] == 0 and check["unreachable"] == 0


def test_persistent_dict_made_with_new_takes_dict_arguments(pool):
    assert pool.new(PersistentDict) == {}
    assert pool.new(PersistentDict, {"a": 1}, b=2) == {"a": 1, "b": 2}
    assert pool.new(PersistentDict, [("a", 1), ("a", 2)]) == {"a": 2}
    with pytest.raises(TypeError):
        pool.new(PersistentDict, {}, {})
    with pytest.raises(TypeError):
        PersistentDict(a=1)  # outside a pool


def test_unpersistable_key_or_value_is_a_type_error_and_changes_nothing(pd):
    model = dict(ENTRIES)
    with pytest.raises(TypeError):
        pd["k"] = object()
    with pytest.raises(TypeError):
        pd[object()] = 1
    assert list(pd.items()) == list(model.items())


# -- atomicity ---------------------------------------------------------------------------------

MUTATIONS = {
    "set_new": lambda d: d.__setitem__("new", "v"),
    "set_new_slow_key": lambda d: d.__setitem__(("t", 2**80), [1]),
    "set_existing": lambda d: d.__setitem__("a", {"nested": [1]}),
    "resize": lambda d: [d.__setitem__(i, str(i)) for i in range(100, 200)],
    "delete": lambda d: d.__delitem__("a"),
    "delete_slow_key": lambda d: d.__delitem__((1, "t")),
    "pop": lambda d: d.pop(2**70),
    "popitem": lambda d: d.popitem(),
    "setdefault": lambda d: d.setdefault("sd", [1]),
    "update": lambda d: d.update({"u": 1, "a": 0}, kw=[2]),
    "ior": lambda d: d.__ior__({"i": 1}),
    "clear": lambda d: d.clear(),
}


def test_aborted_transaction_rolls_back_every_mutation(pool):
    pool.root = {"d": dict(ENTRIES)}
    d = pool.root["d"]
    before = list(ENTRIES)
    objects = pool.stats()["objects"]
    for name, mutate in MUTATIONS.items():
        with pytest.raises(RuntimeError, match="abort"):
            with pool.transaction():
                mutate(d)
                d["extra"] = "x"
                raise RuntimeError("abort")
        assert list(d.items()) == before, name
        assert pool.stats()["objects"] == objects, name
    pool = reopen(pool)
    assert list(pool.root["d"].items()) == before
    pool.close()


def test_each_mutation_matches_dict_and_persists(pool):
    pool.root = {}
    models = {}
    for name, mutate in MUTATIONS.items():
        pool.root[name] = dict(ENTRIES)
        models[name] = dict(ENTRIES)
        same(mutate, pool.root[name], models[name])
    pool = reopen(pool)
    for name, model in models.items():
        assert list(pool.root[name].items()) == list(model.items()), name
    check = pool.check()
    assert check["refcount_mismatches"] == 0 and check["dangling"] == 0
    assert check["unreachable"] == 0
    pool.close()


@pytest.mark.parametrize("failing, exc", [
    (lambda d: d["missing"], KeyError),
    (lambda d: d[("missing",)], KeyError),
    (lambda d: d.__delitem__("missing"), KeyError),
    (lambda d: d.pop("missing"), KeyError),
    (lambda d: d.pop(("missing", 2**80)), KeyError),
    (lambda d: d.__setitem__([1], 1), TypeError),
    (lambda d: d.setdefault([1], 1), TypeError),
    (lambda d: d.pop([1]), TypeError),
    (lambda d: d.update([(1, 2, 3)]), ValueError),
    (lambda d: d.update([([1], 2)]), TypeError),
    (lambda d: d.__setitem__("k", object()), TypeError),
])
def test_benign_errors_leave_an_enclosing_transaction_usable(pool, failing, exc):
    pool.root = {"d": dict(ENTRIES)}
    d = pool.root["d"]
    with pool.transaction():
        d["before"] = 1
        with pytest.raises(exc):
            failing(d)
        d["after"] = 2
    assert list(d.items()) == ENTRIES[:-1] + [(True, "true"), ("before", 1), ("after", 2)]


def test_popitem_of_empty_dict_leaves_an_enclosing_transaction_usable(pool):
    pool.root = {"e": {}, "n": 0}
    with pool.transaction():
        with pytest.raises(KeyError):
            pool.root["e"].popitem()
        pool.root["n"] = 1
    assert pool.root["n"] == 1


@pytest.mark.xfail(strict=True, reason="NaN keys: stored floats lose their identity, and the "
                   "C core compares floats with ==, so a NaN key is never found again "
                   "(dict finds it by identity)")
def test_nan_key_is_found_by_identity_like_dict(pool):
    nan = float("nan")
    pool.root = {}
    d = pool.root
    d[nan] = 1
    d[nan] = 2
    assert len(d) == 1 and d[nan] == 2
    assert dict(d) == {nan: 2}


# -- hash stability across processes ------------------------------------------------------------

WRITER = r"""
import sys, pmemobj
with pmemobj.create(sys.argv[1]) as pool:
    pool.root = {
        "d": {"str": 1, b"bytes": 2, ("tup", b"b", 3): 3, frozenset({"x", "y", 4}): 4,
              ("nested", ("deeper", frozenset({"z"}))): 5, "\u00e9\U0001f600": 6,
              2**70: 7, None: 8, 1.5: 9, "": 10},
        "s": {"a", "b", ("c", "d"), frozenset({"e"}), b"f"},
        "fs": frozenset({"p", "q"}),
        "big": {f"key{i}": i for i in range(300)},
        "obj": pool.new(pmemobj.PersistentObject),
    }
    pool.root["obj"].attribute = "found"
print(hash("str"))
"""

READER = r"""
import sys, pmemobj
with pmemobj.open(sys.argv[1]) as pool:
    r = pool.root
    d = r["d"]
    assert d["str"] == 1 and d[b"bytes"] == 2 and d[("tup", b"b", 3)] == 3, dict(d.items())
    assert d[frozenset({4, "y", "x"})] == 4
    assert d[("nested", ("deeper", frozenset({"z"})))] == 5
    assert d["\u00e9\U0001f600"] == 6 and d[2**70] == 7 and d[None] == 8 and d[1.5] == 9
    assert d[""] == 10
    s = r["s"]
    assert all(x in s for x in ["a", "b", ("c", "d"), frozenset({"e"}), b"f"])
    assert "str" not in s
    big = r["big"]
    assert all(big[f"key{i}"] == i for i in range(300))
    assert "key300" not in big
    del big["key7"]
    big["key7"] = "again"
    d["str"] = "overwritten"
    assert len(d) == 10
    assert r["obj"].attribute == "found" and r["obj"]._p_attributes() == {"attribute": "found"}
print(hash("str"))
"""


def test_str_and_bytes_keys_are_found_by_a_process_with_another_hash_seed(pool_path):
    def run(code, seed):
        env = child_env(dict(os.environ, PYTHONHASHSEED=str(seed)))
        out = subprocess.run([sys.executable, "-c", code, pool_path], env=env,
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        return out.stdout.strip()
    h1 = run(WRITER, 1)
    h2 = run(READER, 2)
    assert h1 != h2  # the processes really hashed str differently
    with pmemobj.open(pool_path) as pool:  # and this process (random seed) too
        d = pool.root["d"]
        assert d["str"] == "overwritten" and d[("tup", b"b", 3)] == 3
        assert list(pool.root["big"])[-1] == "key7"
        assert "b" in pool.root["s"] and "p" in pool.root["fs"]


def test_increment_is_an_atomic_counter(pool):
    pool.root = {"n": 5, "s": "x", 7: 1}
    d = pool.root
    assert d.increment("n") == 6 and d.increment("n", -10) == -4 and d["n"] == -4
    assert d.increment(7, 2) == 3
    with pytest.raises(KeyError):
        d.increment("missing")
    with pytest.raises(TypeError):
        d.increment("s")
    with pytest.raises(RuntimeError):
        with pool.transaction():
            d.increment("n")
            raise RuntimeError
    assert d["n"] == -4


def test_counting_writers_follow_their_counter_wherever_it_moves(pool):
    """The counting set, delete and append (parkit's versioned writes) add
    one per change to an int in another dict, found through a remembered
    entry: still right when that dict is rebuilt around it, or the counter
    is deleted and stored again; a missing counter undoes the write."""
    pool.root = {"meta": {"version": 0}, "d": {}, "l": []}
    meta, d, lst = pool.root["meta"], pool.root["d"], pool.root["l"]
    set_counted, delete_counted = d._p_counting(meta, "version")
    append_counted = lst._p_counting_append(meta, "version")
    changes = 0
    for i in range(300):
        set_counted(f"k{i}", i)
        append_counted(i)
        changes += 2
        meta[f"pad{i}"] = i              # grows the counter's table: rebuilds
        if i % 3 == 0:
            del meta[f"pad{i}"]          # holes: entries move at the next rebuild
        if i % 5 == 0:
            assert delete_counted(f"k{i}") is True
            assert delete_counted("absent") is False
            changes += 1
    assert meta["version"] == changes and len(lst) == 300
    del meta["version"]
    meta["version"] = 100                # stored again, in another entry
    set_counted("x", 1)
    assert meta["version"] == 101 and d["x"] == 1
    del meta["version"]
    with pytest.raises(KeyError):
        set_counted("y", 1)
    with pytest.raises(KeyError):
        append_counted(1)
    assert "y" not in d and len(lst) == 300
