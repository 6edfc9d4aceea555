"""PersistentList behaves like list: every method and operator, the same
results and the same exception types, and each mutation is one step that a
transaction abort rolls back completely."""
from __future__ import annotations

import functools
import itertools

import pytest
from hypothesis import given, settings, strategies as st

import pmemobj
from pmemobj import PersistentList
from tests.helpers import assert_same, reopen

ITEMS = [0, "one", 2.5, None, b"four", (5, "five"), True, 2**70, -7]

#: fn does the same to a PersistentList as to a list.
same = functools.partial(assert_same, contents=list)


@pytest.fixture
def pl(pool):
    """A PersistentList reachable from the root, holding ITEMS."""
    pool.root = {"l": list(ITEMS)}
    return pool.root["l"]


# -- reading ---------------------------------------------------------------------------

def test_indexing_with_negative_and_out_of_range_indexes_matches_list(pl):
    model = list(ITEMS)
    n = len(model)
    for i in range(-n - 3, n + 3):
        same(lambda t: t[i], pl, model)
    assert pl[-1] == -7 and pl[-n] == 0
    with pytest.raises(IndexError):
        pl[n]
    with pytest.raises(IndexError):
        pl[-n - 1]


@pytest.mark.parametrize("bad", ["1", 1.0, None, (1,)])
def test_non_integer_index_is_a_type_error(pl, bad):
    model = list(ITEMS)
    assert same(lambda t: t[bad], pl, model) == ("raise", TypeError)
    assert same(lambda t: t.__setitem__(bad, 0), pl, model) == ("raise", TypeError)
    assert same(lambda t: t.__delitem__(bad), pl, model) == ("raise", TypeError)


def test_indexes_beyond_64_bits_raise_like_list(pl):
    model = list(ITEMS)
    for huge in (2**63, 2**64, -(2**63) - 1, 10**30):
        assert same(lambda t: t[huge], pl, model) == ("raise", IndexError)
        assert same(lambda t: t.__setitem__(huge, 0), pl, model) == ("raise", IndexError)
        assert same(lambda t: t.__delitem__(huge), pl, model) == ("raise", IndexError)
        assert same(lambda t: t.insert(huge, 0), pl, model) == ("raise", OverflowError)
        assert same(lambda t: t.pop(huge), pl, model) == ("raise", OverflowError)
        same(lambda t: t[huge:-huge:-1], pl, model)
        same(lambda t: t.index(0, -huge, huge), pl, model)


def test_objects_with_index_method_work_as_indexes(pl):
    class Two:
        def __index__(self):
            return 2
    assert pl[Two()] == ITEMS[2]
    pl[Two()] = "x"
    assert pl[2] == "x"
    del pl[Two()]
    assert list(pl) == ITEMS[:2] + ITEMS[3:]


BOUNDS = [None, 0, 1, 3, -1, -4, 8, 20, -20]
STEPS = [None, 1, 2, 3, -1, -2, -3]
SLICES = [slice(a, b, c) for a, b, c in itertools.product(BOUNDS, BOUNDS, STEPS)]


def test_every_slice_reads_like_list(pl):
    model = list(ITEMS)
    for s in SLICES:
        got = pl[s]
        assert got == model[s], s
        assert type(got) is list


def test_zero_step_slices_raise_value_error(pl):
    model = list(ITEMS)
    for fn in (lambda t: t[::0], lambda t: t.__setitem__(slice(None, None, 0), []),
               lambda t: t.__delitem__(slice(1, 5, 0))):
        assert same(fn, pl, model) == ("raise", ValueError)


def test_iteration_reversed_len_bool_and_repr_match_list(pool):
    pool.root = {"l": list(ITEMS), "e": []}
    pl, empty = pool.root["l"], pool.root["e"]
    assert list(iter(pl)) == ITEMS
    assert list(reversed(pl)) == list(reversed(ITEMS))
    assert len(pl) == len(ITEMS) and len(empty) == 0
    assert bool(pl) is True and bool(empty) is False
    assert repr(pl) == repr(ITEMS)
    assert repr(empty) == "[]" and str(pl) == str(ITEMS)


def test_repr_of_a_list_containing_itself_does_not_recurse(pool):
    pool.root = [1]
    lst = pool.root
    lst.append(lst)
    assert repr(lst) == "[1, [...]]"
    assert lst[1] is lst


def test_contains_index_and_count_match_list(pl):
    model = list(ITEMS) + ["one", 0]
    pl.extend(["one", 0])
    for x in [0, 0.0, False, "one", (5, "five"), 2**70, float(2**70), "missing", 1]:
        assert (x in pl) == (x in model)
        assert pl.count(x) == model.count(x)
        same(lambda t: t.index(x), pl, model)
    for args in [(0, 1), (0, 2), ("one", 2), ("one", -3), ("one", 2, 5), (0, -2, -1),
                 (0, -100, 100), ("one", 10**30), ("one", 3, -10**30)]:
        same(lambda t: t.index(*args), pl, model)
    assert same(lambda t: t.index("nope"), pl, model) == ("raise", ValueError)


def test_comparisons_match_list(pool):
    pool.root = {"a": [1, 2, 3], "b": [1, 2, 4], "c": [1, 2]}
    a, b, c = pool.root["a"], pool.root["b"], pool.root["c"]
    pa, pb, pc = [1, 2, 3], [1, 2, 4], [1, 2]
    ops = [lambda x, y: x == y, lambda x, y: x != y, lambda x, y: x < y,
           lambda x, y: x <= y, lambda x, y: x > y, lambda x, y: x >= y]
    for op in ops:
        for (x, px), (y, py) in itertools.product([(a, pa), (b, pb), (c, pc)], repeat=2):
            assert op(x, y) == op(px, py)     # persistent vs persistent
            assert op(x, py) == op(px, py)    # persistent vs list
            assert op(px, y) == op(px, py)    # list vs persistent
    assert a == a and not (a != a)
    assert (a == (1, 2, 3)) is False and a != (1, 2, 3)
    assert (a == "abc") is False
    for op in ops[2:]:
        with pytest.raises(TypeError):
            op(a, (1, 2, 3))
        with pytest.raises(TypeError):
            op(a, 5)


def test_nested_lists_compare_with_plain_nested_lists(pool):
    pool.root = [[1, [2, 3]], [4]]
    assert pool.root == [[1, [2, 3]], [4]]
    assert pool.root < [[1, [2, 4]]]
    assert pool.root[0][1] == [2, 3]


def test_list_is_unhashable_like_list(pl):
    with pytest.raises(TypeError):
        hash(pl)
    with pytest.raises(TypeError):
        {pl}


# -- writing --------------------------------------------------------------------------------

def test_append_extend_and_insert_match_list(pl):
    model = list(ITEMS)
    same(lambda t: t.append("a"), pl, model)
    same(lambda t: t.append(("t", 1)), pl, model)
    same(lambda t: t.extend(["x", "y"]), pl, model)
    same(lambda t: t.extend(i * i for i in range(5)), pl, model)
    same(lambda t: t.extend(()), pl, model)
    same(lambda t: t.extend("str"), pl, model)
    same(lambda t: t.extend({"k": 1}), pl, model)
    for i in [0, 3, -1, -2, -100, 100, len(model), -len(model)]:
        same(lambda t: t.insert(i, ("ins", i)), pl, model)
    assert same(lambda t: t.extend(5), pl, model) == ("raise", TypeError)
    assert same(lambda t: t.insert("0", 1), pl, model) == ("raise", TypeError)


def test_extend_with_itself_doubles_the_list(pl):
    pl.extend(pl)
    assert list(pl) == ITEMS + ITEMS
    pl += pl
    assert list(pl) == ITEMS * 4


def test_item_assignment_matches_list(pl):
    model = list(ITEMS)
    n = len(model)
    for i in range(-n - 2, n + 2):
        same(lambda t: t.__setitem__(i, ("set", i)), pl, model)
    pl[0] = pl[0]  # storing an item over itself keeps it
    assert list(pl) == model


def test_item_deletion_matches_list(pl):
    model = list(ITEMS)
    for i in [0, -1, 3, 100, -100, -3, len(model) - 3]:
        same(lambda t: t.__delitem__(i), pl, model)


def reset(pl, items):
    pl.clear()
    pl.extend(items)


def test_slice_assignment_matches_list_for_every_slice(pl):
    for s in SLICES:
        n = len(ITEMS[s])
        for values in ([], ["a"], ["a", "b", "c"], list(range(n)), ["z"] * (n + 2)):
            reset(pl, ITEMS)
            same(lambda t: t.__setitem__(s, list(values)), pl, list(ITEMS))
        reset(pl, ITEMS)
        same(lambda t: t.__setitem__(s, (x for x in "gen")), pl, list(ITEMS))


def test_slice_deletion_matches_list_for_every_slice(pl):
    for s in SLICES:
        reset(pl, ITEMS)
        model = list(ITEMS)
        same(lambda t: t.__delitem__(s), pl, model)
        same(lambda t: t.__delitem__(s), pl, model)


def test_slice_assignment_of_non_iterable_is_a_type_error(pl):
    model = list(ITEMS)
    assert same(lambda t: t.__setitem__(slice(1, 2), 5), pl, model) == ("raise", TypeError)
    assert same(lambda t: t.__setitem__(slice(None, None, 2), 5), pl, model) == \
        ("raise", TypeError)


def test_slice_assignment_from_itself(pl):
    model = list(ITEMS)
    pl[2:4] = pl
    model[2:4] = model
    assert list(pl) == model
    pl[::-1] = pl
    model[::-1] = model
    assert list(pl) == model


@settings(max_examples=max(10, settings().max_examples // 3))
@given(ops=st.lists(st.tuples(
    st.sampled_from(["set", "del"]),
    st.one_of(st.none(), st.integers(-12, 12)), st.one_of(st.none(), st.integers(-12, 12)),
    st.one_of(st.none(), st.integers(-4, 4).filter(bool)),
    st.lists(st.integers(), max_size=6)), max_size=8))
def test_random_slice_operations_match_list(pool_path, ops):
    with pmemobj.PersistentObjectPool(pool_path, "c") as pool:
        pool.root = list(range(10))
        pl, model = pool.root, list(range(10))
        for kind, a, b, c, values in ops:
            s = slice(a, b, c)
            if kind == "set":
                same(lambda t: t.__setitem__(s, values), pl, model)
            else:
                same(lambda t: t.__delitem__(s), pl, model)
    with pmemobj.open(pool_path) as pool:
        assert pool.root == model


def test_pop_matches_list(pl):
    model = list(ITEMS)
    for i in [None, 0, -1, 2, -2, 100, -100]:
        args = () if i is None else (i,)
        same(lambda t: t.pop(*args), pl, model)
    assert same(lambda t: t.pop("0"), pl, model) == ("raise", TypeError)
    while model:
        same(lambda t: t.pop(), pl, model)
    assert same(lambda t: t.pop(), pl, model) == ("raise", IndexError)
    assert same(lambda t: t.pop(0), pl, model) == ("raise", IndexError)


def test_pop_returns_nested_containers_alive(pool):
    pool.root = [[1, 2], {"a": 1}]
    d = pool.root.pop()
    lst = pool.root.pop()
    assert d == {"a": 1} and lst == [1, 2]
    lst.append(3)
    assert lst == [1, 2, 3]


def test_remove_matches_list(pl):
    model = list(ITEMS) + [0]
    pl.append(0)
    for x in [0, 0, "one", (5, "five"), 2**70, "missing", True]:
        same(lambda t: t.remove(x), pl, model)
    assert same(lambda t: t.remove(0), pl, model) == ("raise", ValueError)


def test_remove_uses_equality_across_numeric_types(pool):
    pool.root = [1, 2.0, True]
    lst = pool.root
    lst.remove(2)
    lst.remove(1.0)           # removes the first equal item: 1
    assert lst == [True]


def test_reverse_matches_list(pl):
    model = list(ITEMS)
    same(lambda t: t.reverse(), pl, model)
    same(lambda t: t.reverse(), pl, model)


@pytest.mark.parametrize("kw", [{}, {"reverse": True}, {"key": abs}, {"key": abs, "reverse": True},
                                {"key": lambda v: v % 3}, {"key": None}])
def test_sort_matches_list_and_is_stable(pool, kw):
    data = [5, -3, 8, 0, 3, -8, 7, 2, 2, -5, 11, 3]
    pool.root = list(data)
    pl, model = pool.root, list(data)
    same(lambda t: t.sort(**kw), pl, model)


def test_sort_of_incomparable_items_raises_type_error_and_keeps_the_list(pool):
    pool.root = [3, "a", 1]
    with pytest.raises(TypeError):
        pool.root.sort()
    assert pool.root == [3, "a", 1]
    with pytest.raises(TypeError):
        pool.root.sort(1)  # key is keyword-only, as for list
    with pytest.raises(ZeroDivisionError):
        pool.root.sort(key=lambda v: 1 / 0)
    assert pool.root == [3, "a", 1]


def test_sort_keeps_item_identity(pool):
    pool.root = [[3], [1], [2]]
    a, b, c = pool.root
    pool.root.sort()
    assert pool.root[0] is b and pool.root[1] is c and pool.root[2] is a


def test_clear_and_copy_match_list(pl):
    cp = pl.copy()
    assert type(cp) is list and cp == ITEMS
    pl.clear()
    assert list(pl) == [] and cp == ITEMS
    pl.clear()
    assert len(pl) == 0


def test_add_and_multiply_return_plain_lists(pool):
    pool.root = {"a": [1, "x"], "b": [2]}
    a, b = pool.root["a"], pool.root["b"]
    for result, want in [(a + b, [1, "x", 2]), (a + [3], [1, "x", 3]), ([0] + a, [0, 1, "x"]),
                         (a * 2, [1, "x", 1, "x"]), (2 * a, [1, "x", 1, "x"]), (a * 0, []),
                         (a * -1, [])]:
        assert type(result) is list and result == want
    assert a == [1, "x"] and b == [2]
    for bad in [lambda: a + (1,), lambda: a + "s", lambda: (1,) + a, lambda: a * "2",
                lambda: a * 2.0]:
        with pytest.raises(TypeError):
            bad()


def test_in_place_add_and_multiply_keep_the_persistent_list(pool):
    pool.root = {"a": [1, 2]}
    a = pool.root["a"]
    ref = a
    a += [3]
    a += (4,)
    a += "xy"
    assert a is ref and a == [1, 2, 3, 4, "x", "y"]
    a *= 2
    assert a is ref and a == [1, 2, 3, 4, "x", "y"] * 2
    a *= 1
    assert len(a) == 12
    a *= 0
    assert a is ref and a == []
    a.extend([1])
    a *= -3
    assert a == []
    with pytest.raises(TypeError):
        a += 5
    with pytest.raises(TypeError):
        a *= "2"
    assert pool.root["a"] is ref


# -- persistence, nesting, sharing -------------------------------------------------------------

def test_contents_survive_reopen_with_their_types(pool):
    values = [None, True, False, 0, -1, 2**63, -(2**100), 1.5, -0.0, 1 + 2j, "", "s\x00t",
              b"\x00b", (), (1, ("x",)), frozenset({1, "a"}), [1, [2]], {"k": [1]}, {3}]
    pool.root = list(values)
    pool = reopen(pool)
    got = pool.root
    assert isinstance(got, PersistentList)
    assert got == values
    assert [type(v) for v in got[:16]] == [type(v) for v in values[:16]]
    assert isinstance(got[16], PersistentList) and isinstance(got[17], pmemobj.PersistentDict)
    assert isinstance(got[18], pmemobj.PersistentSet)
    pool.close()


def test_mutations_survive_reopen(pool):
    pool.root = []
    lst, model = pool.root, []
    for i in range(300):
        lst.append(i)
        model.append(i)
    lst.insert(150, "mid")
    model.insert(150, "mid")
    del lst[10:200:3]
    del model[10:200:3]
    lst[::5] = ["f"] * len(lst[::5])
    model[::5] = ["f"] * len(model[::5])
    pool = reopen(pool)
    assert pool.root == model
    pool.close()


def test_a_list_stored_in_two_places_is_one_object(pool):
    shared = pool.new(PersistentList, [1])
    pool.root = [shared, {"x": shared}]
    pool = reopen(pool)
    a, d = pool.root
    assert a is d["x"]
    a.append(2)
    assert d["x"] == [1, 2]
    pool.close()


def test_persistent_list_made_with_new_takes_an_iterable(pool):
    lst = pool.new(PersistentList, (i * 2 for i in range(4)))
    assert lst == [0, 2, 4, 6]
    assert pool.new(PersistentList) == []
    with pytest.raises(TypeError):
        PersistentList([1])  # outside a pool


def test_unpersistable_item_is_a_type_error_and_changes_nothing(pl):
    with pytest.raises(TypeError):
        pl.append(object())
    with pytest.raises(TypeError):
        pl[0] = object()
    with pytest.raises(TypeError):
        pl.extend([1, object()])
    assert list(pl) == ITEMS


# -- atomicity ------------------------------------------------------------------------------

MUTATIONS = {
    "append": lambda t: t.append("new"),
    "append_container": lambda t: t.append([1, {"a": (2,)}]),
    "extend_grow": lambda t: t.extend(range(100)),
    "insert_middle": lambda t: t.insert(3, "mid"),
    "setitem": lambda t: t.__setitem__(2, ["replaced"]),
    "delitem": lambda t: t.__delitem__(4),
    "set_slice_grow": lambda t: t.__setitem__(slice(1, 3), list(range(50))),
    "set_slice_shrink": lambda t: t.__setitem__(slice(1, 7), ["s"]),
    "set_extended_slice": lambda t: t.__setitem__(slice(None, None, 2), list("abcde")),
    "del_slice": lambda t: t.__delitem__(slice(2, 6)),
    "del_extended_slice": lambda t: t.__delitem__(slice(None, None, -2)),
    "pop": lambda t: t.pop(1),
    "remove": lambda t: t.remove("one"),
    "reverse": lambda t: t.reverse(),
    "sort": lambda t: t.sort(key=repr),
    "clear": lambda t: t.clear(),
    "iadd": lambda t: t.__iadd__(["x"] * 20),
    "imul": lambda t: t.__imul__(3),
    "imul_zero": lambda t: t.__imul__(0),
}


def test_aborted_transaction_rolls_back_every_mutation(pool):
    pool.root = {"l": list(ITEMS)}
    pl = pool.root["l"]
    before_objects = pool.stats()["objects"]
    for name, mutate in MUTATIONS.items():
        with pytest.raises(RuntimeError, match="abort"):
            with pool.transaction():
                mutate(pl)
                pl.append("more")
                raise RuntimeError("abort")
        assert list(pl) == ITEMS, name
        assert pool.stats()["objects"] == before_objects, name
    pool = reopen(pool)
    assert pool.root["l"] == ITEMS
    assert pool.check()["refcount_mismatches"] == 0
    pool.close()


def test_each_mutation_matches_list_and_persists(pool):
    pool.root = {}
    models = {}
    for name, mutate in MUTATIONS.items():
        pool.root[name] = list(ITEMS)
        models[name] = list(ITEMS)
        same(mutate, pool.root[name], models[name])
    pool = reopen(pool)
    for name, model in models.items():
        assert pool.root[name] == model, name
    check = pool.check()
    assert check["refcount_mismatches"] == 0 and check["dangling"] == 0
    assert check["unreachable"] == 0
    pool.close()


@pytest.mark.parametrize("failing, exc", [
    (lambda t: t.pop(100), IndexError),
    (lambda t: t.remove("missing"), ValueError),
    (lambda t: t.index("missing"), ValueError),
    (lambda t: t.__setitem__(100, 1), IndexError),
    (lambda t: t.__delitem__(100), IndexError),
    (lambda t: t.__setitem__(slice(None, None, 2), [1]), ValueError),
    (lambda t: t.sort(key=lambda v: (v, 1) if isinstance(v, str) else v), TypeError),
    (lambda t: t[::0], ValueError),
])
def test_benign_errors_leave_an_enclosing_transaction_usable(pool, failing, exc):
    pool.root = {"l": list(ITEMS)}
    pl = pool.root["l"]
    with pool.transaction():
        pl.append("before")
        with pytest.raises(exc):
            failing(pl)
        pl.append("after")
    assert list(pl) == ITEMS + ["before", "after"]


def test_pop_from_empty_list_leaves_an_enclosing_transaction_usable(pool):
    pool.root = {"e": [], "n": 0}
    with pool.transaction():
        with pytest.raises(IndexError, match="empty"):
            pool.root["e"].pop()
        pool.root["n"] = 1
    assert pool.root["n"] == 1
