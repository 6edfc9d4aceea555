"""PersistentSet and PersistentFrozenSet behave like set and frozenset: the
whole API, operators in both directions, the same exception types, Python's
equality for members; each mutation is one step an abort rolls back."""
from __future__ import annotations

import functools
import operator

import pytest

from pmemobj import PersistentFrozenSet, PersistentSet
from tests.helpers import assert_same, reopen

MEMBERS = [1, "a", b"a", None, (1, "t"), frozenset({2, 3}), 2**70, 2.5, ("x", ("y",))]
OTHERS = [set(), {1, "a"}, {1.0, "zz"}, {2**70, 99, None}, set(MEMBERS), set(MEMBERS) | {"q"},
          {"only"}, frozenset({"a", (1.0, "t")})]




def _same_set_type(got, want, model):
    """A set returned (other than the model itself) is of the built-in type
    the model returns."""
    if got[0] == "ok" and want[1] is not model and isinstance(want[1], (set, frozenset)):
        assert type(got[1]) is type(want[1]), (type(got[1]), type(want[1]))


#: fn does the same to a PersistentSet as to a set.
same = functools.partial(assert_same, contents=set, also=_same_set_type)


@pytest.fixture
def ps(pool):
    pool.root = {"s": set(MEMBERS)}
    return pool.root["s"]


@pytest.fixture
def pfs(pool):
    pool.root = {"fs": pool.new(PersistentFrozenSet, MEMBERS)}
    return pool.root["fs"]


# -- members -----------------------------------------------------------------------------------

def test_equal_members_are_one_member(pool):
    members = [1, 1.0, True, 0, False, -0.0, 2**70, float(2**70), (1, "a"), (1.0, "a"),
               frozenset({1}), frozenset({True}), 1 + 0j, "1", b"1"]
    pool.root = set()
    s = pool.root
    for m in members:
        s.add(m)
    model = set(members)
    assert s == model and len(s) == len(model)
    assert sorted(map(repr, s)) == sorted(map(repr, model))


def test_membership_matches_set(ps):
    model = set(MEMBERS)
    for x in MEMBERS + [1.0, True, (1.0, "t"), frozenset({3.0, 2}), float(2**70), "b", 2,
                        ("x", ("y", "z")), 0]:
        assert (x in ps) == (x in model), x
        assert (x not in ps) == (x not in model)


def test_a_set_is_looked_up_as_the_frozenset_of_its_items(ps):
    model = set(MEMBERS)
    for fn in (lambda t: {2, 3} in t, lambda t: {9} in t, lambda t: t.discard({2, 3}),
               lambda t: t.remove({3, 2}), lambda t: t.remove({9})):
        same(fn, ps, model)


def test_unhashable_members_raise_type_error(ps):
    model = set(MEMBERS)
    for bad in ([1], {"a": 1}, (1, [2]), bytearray(b"x")):
        for fn in (lambda t: bad in t, lambda t: t.add(bad), lambda t: t.discard(bad),
                   lambda t: t.remove(bad), lambda t: t.update([bad])):
            assert same(fn, ps, model) == ("raise", TypeError)
    with pytest.raises(TypeError):
        ps.update(["ok", [1]])
    assert "ok" not in ps  # one step: nothing of the update is applied


# -- set mutations --------------------------------------------------------------------------------

def test_add_discard_remove_match_set(ps):
    model = set(MEMBERS)
    for x in ["new", 1.0, (1, "t"), "new", 2**71]:
        same(lambda t: t.add(x), ps, model)
    for x in ["new", "new", 1, "absent"]:
        same(lambda t: t.discard(x), ps, model)
    for x in ["a", "a", 2**70, (1.0, "t")]:
        same(lambda t: t.remove(x), ps, model)
    with pytest.raises(KeyError) as e:
        ps.remove("absent")
    assert e.value.args == ("absent",)


def test_pop_removes_members_until_key_error(ps):
    model = set(MEMBERS)
    popped = []
    while ps:
        popped.append(ps.pop())
    assert set(popped) == model and len(popped) == len(model)
    with pytest.raises(KeyError):
        ps.pop()
    with pytest.raises(KeyError):
        set().pop()


def test_clear_and_copy(ps):
    cp = ps.copy()
    assert type(cp) is set and cp == set(MEMBERS)
    ps.clear()
    assert len(ps) == 0 and ps == set() and cp == set(MEMBERS)
    ps.clear()
    ps.add(1)
    assert ps == {1}


@pytest.mark.parametrize("method", ["update", "intersection_update", "difference_update",
                                    "symmetric_difference_update"])
def test_update_methods_match_set(ps, method):
    model = set(MEMBERS)
    for other in OTHERS + [["a", "list"], ("a", 1.0), iter(["it"]), "abc", range(3)]:
        other_m = list(other) if not isinstance(other, (set, frozenset, str, range)) else other
        same(lambda t: getattr(t, method)(other_m), ps, model)
    if method != "symmetric_difference_update":
        same(lambda t: getattr(t, method)({"a"}, ["b", 1], (None,)), ps, model)
        same(lambda t: getattr(t, method)(), ps, model)
    assert same(lambda t: getattr(t, method)(5), ps, model) == ("raise", TypeError)


@pytest.mark.parametrize("op", [operator.ior, operator.iand, operator.isub, operator.ixor])
def test_in_place_operators_match_set_and_keep_the_object(pool, op):
    pool.root = {"s": set(MEMBERS)}
    s = pool.root["s"]
    model = set(MEMBERS)
    for other in OTHERS:
        ref = s
        s = op(s, other)
        model = op(model, other)
        assert s is ref and s == model
    other_p = pool.new(PersistentSet, ["a", "zz"])
    s = op(s, other_p)
    model = op(model, {"a", "zz"})
    assert s == model and pool.root["s"] is s
    for bad in (["a"], "a", 1):
        with pytest.raises(TypeError):
            op(s, bad)
        with pytest.raises(TypeError):
            op(set(model), bad)


# -- operators and read-only methods (set and frozenset) ----------------------------------------------

BINOPS = [operator.or_, operator.and_, operator.sub, operator.xor]
CMPS = [operator.eq, operator.ne, operator.lt, operator.le, operator.gt, operator.ge]


@pytest.mark.parametrize("kind", ["set", "frozenset"])
def test_binary_operators_match_the_builtin_in_both_directions(pool, kind):
    builtin = set if kind == "set" else frozenset
    cls = PersistentSet if kind == "set" else PersistentFrozenSet
    p = pool.new(cls, MEMBERS)
    pool.root = p
    model = builtin(MEMBERS)
    for other in OTHERS + [frozenset(x) for x in OTHERS]:
        for op in BINOPS:
            got, want = op(p, other), op(model, other)
            assert got == want and type(got) is type(want), (op, other)
            got, want = op(other, p), op(other, model)
            assert got == want and type(got) is type(want), (op, other)
        for op in CMPS:
            assert op(p, other) == op(model, other), (op, other)
            assert op(other, p) == op(other, model), (op, other)
    for op in BINOPS:
        for bad in (["a"], ("a",), "a", 1, {"a": 1}):
            with pytest.raises(TypeError):
                op(p, bad)
            with pytest.raises(TypeError):
                op(bad, p)
    for op in CMPS[2:]:
        with pytest.raises(TypeError):
            op(p, ["a"])
    assert (p == ["a"]) is False and p != list(MEMBERS)


def test_operators_between_persistent_sets(pool):
    a = pool.new(PersistentSet, [1, 2, 3])
    b = pool.new(PersistentFrozenSet, [2, 3, 4])
    c = pool.new(PersistentSet, [3])
    pool.root = [a, b, c]
    assert a | b == {1, 2, 3, 4} and type(a | b) is set and type(b | a) is frozenset
    assert a & b == {2, 3} and a - b == {1} and b - a == {4} and a ^ b == {1, 4}
    assert c < a and c <= b and a > c and not (a < b) and a != b
    assert a == pool.new(PersistentFrozenSet, [3, 2, 1]) == {1, 2, 3}


@pytest.mark.parametrize("kind", ["set", "frozenset"])
def test_named_methods_match_the_builtin(pool, kind):
    builtin = set if kind == "set" else frozenset
    cls = PersistentSet if kind == "set" else PersistentFrozenSet
    p = pool.new(cls, MEMBERS)
    pool.root = p
    model = builtin(MEMBERS)
    others = OTHERS + [["a", 1.0], ("zz",), "abc", range(3), iter(["it"])]
    for other in others:
        o = list(other) if hasattr(other, "__next__") else other
        for m in ("union", "intersection", "difference", "symmetric_difference",
                  "issubset", "issuperset", "isdisjoint"):
            got, want = getattr(p, m)(o), getattr(model, m)(o)
            assert got == want and type(got) is type(want), (m, other)
    for m in ("union", "intersection", "difference"):
        got, want = getattr(p, m)(), getattr(model, m)()
        assert got == want and type(got) is type(want)
        got, want = getattr(p, m)({"a"}, ["b", 1]), getattr(model, m)({"a"}, ["b", 1])
        assert got == want and type(got) is type(want)
    for m in ("union", "intersection", "difference", "symmetric_difference", "issubset",
              "issuperset", "isdisjoint"):
        with pytest.raises(TypeError):
            getattr(p, m)(5)
        with pytest.raises(TypeError):
            getattr(model, m)(5)
    assert p.issubset(p) and p.issuperset(p) and not p.isdisjoint(p)


@pytest.mark.parametrize("kind", ["set", "frozenset"])
def test_len_iteration_repr_and_copy_match_the_builtin(pool, kind):
    builtin = set if kind == "set" else frozenset
    cls = PersistentSet if kind == "set" else PersistentFrozenSet
    p, e = pool.new(cls, ["only"]), pool.new(cls)
    pool.root = [p, e]
    assert len(p) == 1 and len(e) == 0 and bool(p) and not e
    assert repr(p) == repr(builtin(["only"])) and repr(e) == repr(builtin())
    assert list(p) == ["only"] and list(e) == []
    assert type(p.copy()) is builtin and p.copy() == builtin(["only"])
    big = pool.new(cls, MEMBERS)
    assert sorted(map(repr, big)) == sorted(map(repr, MEMBERS))


def test_repr_lists_the_members_like_set(pool):
    pool.root = {("t", 1), "s"}
    assert repr(pool.root) in ("{('t', 1), 's'}", "{'s', ('t', 1)}")


# -- frozenset specifics -------------------------------------------------------------------------------

def test_persistent_frozenset_hashes_and_equals_like_frozenset(pfs):
    model = frozenset(MEMBERS)
    assert hash(pfs) == hash(model)
    assert pfs == model and model == pfs
    assert {pfs: 1}[model] == 1 and {model: 1}[pfs] == 1
    assert pfs in {model} and model in {pfs}


def test_persistent_frozenset_works_as_a_persistent_dict_key_and_set_member(pool):
    fs = pool.new(PersistentFrozenSet, ["k", 1])
    pool.root = {"d": {fs: "v"}, "s": {fs}, "fs": fs}
    pool = reopen(pool)
    root = pool.root
    assert root["d"][frozenset({1, "k"})] == "v"
    assert root["d"][root["fs"]] == "v"
    assert frozenset({"k", 1.0}) in root["s"]
    pool.close()


def test_persistent_frozenset_is_immutable(pfs):
    for name in ("add", "discard", "remove", "pop", "clear", "update"):
        assert not hasattr(pfs, name)
    with pytest.raises(TypeError):
        pfs.__init__(["again"])
    assert "again" not in pfs and pfs == frozenset(MEMBERS)


def test_in_place_operator_on_persistent_frozenset_rebinds_like_frozenset(pool):
    pool.root = {"fs": pool.new(PersistentFrozenSet, [1])}
    fs = pool.root["fs"]
    model = frozenset([1])
    fs |= {2}
    model |= {2}
    assert fs == model and type(fs) is frozenset
    assert pool.root["fs"] == {1}


def test_plain_frozenset_is_stored_natively_and_comes_back_a_frozenset(pool):
    pool.root = {"fs": frozenset({1, "a", (2, 3)})}
    pool = reopen(pool)
    fs = pool.root["fs"]
    assert type(fs) is frozenset and fs == {1, "a", (2, 3)}
    pool.close()


# -- iteration, persistence, atomicity ------------------------------------------------------------------

@pytest.mark.parametrize("change", [lambda s: s.add("new"), lambda s: s.discard(1),
                                    lambda s: s.pop(), lambda s: s.update(range(50)),
                                    lambda s: s.clear()])
def test_changing_size_during_iteration_raises_runtime_error(ps, change):
    it = iter(ps)
    next(it)
    change(ps)
    with pytest.raises(RuntimeError, match="changed size during iteration"):
        next(it)
    model = set(MEMBERS)
    mit = iter(model)
    next(mit)
    change(model)
    with pytest.raises(RuntimeError):
        next(mit)


def test_members_and_growth_survive_reopen(pool):
    pool.root = {"s": set()}
    s, model = pool.root["s"], set()
    for i in range(800):
        m = (i, str(i)) if i % 3 == 0 else i if i % 3 == 1 else f"m{i}"
        s.add(m)
        model.add(m)
        if i % 4 == 0:
            s.discard(i - 3)
            model.discard(i - 3)
    pool = reopen(pool)
    assert pool.root["s"] == model
    assert isinstance(pool.root["s"], PersistentSet)
    pool.close()


def test_persistent_set_made_with_new_takes_an_iterable(pool):
    assert pool.new(PersistentSet, "abca") == {"a", "b", "c"}
    assert pool.new(PersistentSet) == set()
    assert pool.new(PersistentFrozenSet, iter([1, 1.0])) == {1}
    with pytest.raises(TypeError):
        pool.new(PersistentSet, [[1]])
    with pytest.raises(TypeError):
        PersistentSet([1])  # outside a pool


MUTATIONS = {
    "add": lambda s: s.add("new"),
    "add_slow_member": lambda s: s.add(("t", 2**80)),
    "add_many": lambda s: [s.add(i) for i in range(100, 200)],
    "discard": lambda s: s.discard("a"),
    "discard_slow_member": lambda s: s.discard((1, "t")),
    "remove": lambda s: s.remove(2**70),
    "pop": lambda s: s.pop(),
    "clear": lambda s: s.clear(),
    "update": lambda s: s.update(range(60), ["u"]),
    "intersection_update": lambda s: s.intersection_update({"a", 1}),
    "difference_update": lambda s: s.difference_update({"a", 1}, [None]),
    "symmetric_difference_update": lambda s: s.symmetric_difference_update({"a", "b"}),
    "ior": lambda s: s.__ior__({"x"}),
    "iand": lambda s: s.__iand__({"a"}),
    "isub": lambda s: s.__isub__({"a"}),
    "ixor": lambda s: s.__ixor__({"a", "y"}),
}


def test_aborted_transaction_rolls_back_every_mutation(pool):
    pool.root = {"s": set(MEMBERS)}
    s = pool.root["s"]
    objects = pool.stats()["objects"]
    for name, mutate in MUTATIONS.items():
        with pytest.raises(RuntimeError, match="abort"):
            with pool.transaction():
                mutate(s)
                s.add("extra")
                raise RuntimeError("abort")
        assert s == set(MEMBERS), name
        assert pool.stats()["objects"] == objects, name
    pool = reopen(pool)
    assert pool.root["s"] == set(MEMBERS)
    pool.close()


def test_each_mutation_matches_set_and_persists(pool):
    pool.root = {}
    models = {}
    for name, mutate in MUTATIONS.items():
        pool.root[name] = set(MEMBERS)
        models[name] = set(MEMBERS)
        if name == "pop":  # pop removes an arbitrary member: remove that one from the model
            popped = mutate(pool.root[name])
            assert popped in models[name]
            models[name].remove(popped)
            assert set(pool.root[name]) == models[name], popped
        else:
            same(mutate, pool.root[name], models[name])
    pool = reopen(pool)
    for name, model in models.items():
        assert pool.root[name] == model, name
        assert len(pool.root[name]) == len(model), name
    assert len(pool.root["pop"]) == len(MEMBERS) - 1
    check = pool.check()
    assert check["refcount_mismatches"] == 0 and check["unreachable"] == 0
    pool.close()


@pytest.mark.parametrize("failing, exc", [
    (lambda s: s.remove("missing"), KeyError),
    (lambda s: s.remove(("missing", 2**80)), KeyError),
    (lambda s: s.add([1]), TypeError),
    (lambda s: s.update([[1]]), TypeError),
    (lambda s: s.difference_update([[1]]), TypeError),
    (lambda s: operator.ior(s, ["a"]), TypeError),
])
def test_benign_errors_leave_an_enclosing_transaction_usable(pool, failing, exc):
    pool.root = {"s": set(MEMBERS)}
    s = pool.root["s"]
    with pool.transaction():
        s.add("before")
        with pytest.raises(exc):
            failing(s)
        s.add("after")
    assert s == set(MEMBERS) | {"before", "after"}


def test_pop_from_empty_set_leaves_an_enclosing_transaction_usable(pool):
    pool.root = {"e": set(), "n": 0}
    with pool.transaction():
        with pytest.raises(KeyError):
            pool.root["e"].pop()
        pool.root["n"] = 1
    assert pool.root["n"] == 1


def test_set_members_of_an_update_argument_are_unhashable_like_set(ps):
    model = set(MEMBERS)
    for method in ("update", "difference_update"):
        assert same(lambda t: getattr(t, method)([{2, 3}]), ps, model) == \
            ("raise", TypeError)
