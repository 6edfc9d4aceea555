"""Stateful property tests: random sequences of operations on a persistent
container and on its built-in model give the same results; a transaction
that raises leaves the container as the model; closing and reopening the
pool changes nothing."""
from __future__ import annotations

import os
import shutil
import tempfile

from hypothesis import settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import pmemobj
from tests.helpers import outcome
from pmemobj import PersistentObject


class Abort(Exception):
    """Raised to abort a transaction on purpose."""


class Bag(PersistentObject):
    """A user class whose attributes the object machine changes."""


scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3), st.integers(),
    st.floats(allow_nan=False), st.text(max_size=4), st.binary(max_size=4))
hashables = st.recursive(
    scalars, lambda inner: st.tuples(inner, inner) | st.frozensets(inner, max_size=3),
    max_leaves=4)
values = st.recursive(
    scalars, lambda inner: st.tuples(inner, inner) | st.lists(inner, max_size=3),
    max_leaves=5)
small_values = st.one_of(st.integers(-3, 3), st.sampled_from(["a", "b", 1.0, True, None]))
indexes = st.integers(-8, 8)
slice_bounds = st.one_of(st.none(), st.integers(-8, 8))
names = st.from_regex(r"[a-z][a-z0-9_]{0,5}", fullmatch=True)




# Each operation is (label, function of the container); the same function
# runs on the persistent container and on the built-in model.

def _setitem(k, v):
    def op(t):
        t[k] = v
    return op


def _delitem(k):
    def op(t):
        del t[k]
    return op


def _iop(fn, other):
    def op(t):
        r = fn(t, other)
        assert r is t
    return op


list_ops = st.one_of(
    st.builds(lambda v: ("append", lambda t: t.append(v)), values),
    st.builds(lambda vs: ("extend", lambda t: t.extend(vs)), st.lists(values, max_size=4)),
    st.builds(lambda i, v: ("insert", lambda t: t.insert(i, v)), indexes, values),
    st.builds(lambda i, v: ("setitem", _setitem(i, v)), indexes, values),
    st.builds(lambda i: ("delitem", _delitem(i)), indexes),
    st.builds(lambda a, b, c, vs: ("setslice", _setitem(slice(a, b, c), vs)),
              slice_bounds, slice_bounds, st.sampled_from([None, 1, 2, -1, -2]),
              st.lists(small_values, max_size=4)),
    st.builds(lambda a, b, c: ("delslice", _delitem(slice(a, b, c))),
              slice_bounds, slice_bounds, st.sampled_from([None, 1, 3, -1])),
    st.builds(lambda i: ("pop", lambda t: t.pop(i)), indexes),
    st.just(("pop_last", lambda t: t.pop())),
    st.builds(lambda v: ("remove", lambda t: t.remove(v)), small_values),
    st.builds(lambda v: ("index", lambda t: t.index(v)), small_values),
    st.builds(lambda v: ("count", lambda t: t.count(v)), small_values),
    st.just(("reverse", lambda t: t.reverse())),
    st.builds(lambda r: ("sort", lambda t: t.sort(key=repr, reverse=r)), st.booleans()),
    st.just(("clear", lambda t: t.clear())),
    st.builds(lambda vs: ("iadd", _iop(lambda a, b: a.__iadd__(b), vs)),
              st.lists(small_values, max_size=3)),
    st.builds(lambda n: ("imul", _iop(lambda a, b: a.__imul__(b), n)), st.integers(-1, 2)),
    st.builds(lambda v: ("contains", lambda t: v in t), small_values),
)

dict_keys = st.one_of(small_values, st.text(max_size=2), hashables)
dict_ops = st.one_of(
    st.builds(lambda k, v: ("setitem", _setitem(k, v)), dict_keys, values),
    st.builds(lambda k: ("delitem", _delitem(k)), dict_keys),
    st.builds(lambda k: ("getitem", lambda t: t[k]), dict_keys),
    st.builds(lambda k: ("get", lambda t: t.get(k, "dflt")), dict_keys),
    st.builds(lambda k: ("pop", lambda t: t.pop(k)), dict_keys),
    st.builds(lambda k: ("pop_default", lambda t: t.pop(k, "dflt")), dict_keys),
    st.just(("popitem", lambda t: t.popitem())),
    st.builds(lambda k, v: ("setdefault", lambda t: t.setdefault(k, v)), dict_keys, values),
    st.builds(lambda kvs: ("update", lambda t: t.update(kvs)),
              st.lists(st.tuples(dict_keys, values), max_size=4)),
    st.builds(lambda kw: ("update_kw", lambda t: t.update(**kw)),
              st.dictionaries(names, values, max_size=3)),
    st.builds(lambda d: ("ior", _iop(lambda a, b: a.__ior__(b), d)),
              st.dictionaries(dict_keys, values, max_size=3)),
    st.just(("clear", lambda t: t.clear())),
    st.builds(lambda k: ("contains", lambda t: k in t), dict_keys),
)

set_members = st.one_of(hashables, small_values)
member_sets = st.sets(set_members, max_size=4)
set_ops = st.one_of(
    st.builds(lambda x: ("add", lambda t: t.add(x)), set_members),
    st.builds(lambda x: ("discard", lambda t: t.discard(x)), set_members),
    st.builds(lambda x: ("remove", lambda t: t.remove(x)), set_members),
    st.just(("clear", lambda t: t.clear())),
    st.builds(lambda a, b: ("update", lambda t: t.update(a, b)), member_sets, member_sets),
    st.builds(lambda a: ("intersection_update", lambda t: t.intersection_update(a)),
              member_sets),
    st.builds(lambda a: ("difference_update", lambda t: t.difference_update(a)), member_sets),
    st.builds(lambda a: ("symmetric_difference_update",
                         lambda t: t.symmetric_difference_update(a)), member_sets),
    st.builds(lambda a: ("ior", _iop(lambda x, y: x.__ior__(y), a)), member_sets),
    st.builds(lambda a: ("iand", _iop(lambda x, y: x.__iand__(y), a)), member_sets),
    st.builds(lambda a: ("isub", _iop(lambda x, y: x.__isub__(y), a)), member_sets),
    st.builds(lambda a: ("ixor", _iop(lambda x, y: x.__ixor__(y), a)), member_sets),
    st.builds(lambda x: ("contains", lambda t: x in t), set_members),
    st.builds(lambda a: ("union", lambda t: t | a), member_sets),
    st.builds(lambda a: ("le", lambda t: t <= a), member_sets),
)

attr_names = st.one_of(st.sampled_from(["a", "b", "x", "name", "value"]), names)
object_ops = st.one_of(
    st.builds(lambda n, v: ("setattr", lambda t: setattr(t, n, v)), attr_names, values),
    st.builds(lambda n: ("delattr", lambda t: delattr(t, n)), attr_names),
    st.builds(lambda n: ("getattr", lambda t: getattr(t, n)), attr_names),
)


class ModelBag:
    """The built-in model of a Bag: a plain object."""


class ContainerMachine(RuleBasedStateMachine):
    """Shared rules; subclasses say what the container and its model are,
    which operations run, and how the two are compared."""

    ops = None

    def __init__(self):
        super().__init__()
        self.dir = tempfile.mkdtemp(prefix="pmo-stateful-")
        self.path = os.path.join(self.dir, "s.pool")
        self.pool = pmemobj.create(self.path, pool_size=32 << 20)
        self.pool.root = {"c": self.new_container()}
        self.model = self.new_model()

    def teardown(self):
        self.pool.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def target(self):
        return self.pool.root["c"]

    def run_both(self, op):
        label, fn = op
        got, want = outcome(fn, self.target), outcome(fn, self.model)
        self.compare_outcomes(label, got, want)

    def compare_outcomes(self, label, got, want):
        assert got == want, (label, got, want)

    @rule(data=st.data())
    def mutate(self, data):
        self.run_both(data.draw(self.ops))

    @rule(data=st.data())
    def committed_transaction(self, data):
        ops = data.draw(st.lists(self.ops, min_size=1, max_size=4))
        with self.pool.transaction():
            for op in ops:
                self.run_both(op)

    @rule(data=st.data())
    def aborted_transaction(self, data):
        ops = data.draw(st.lists(self.ops, min_size=1, max_size=4))
        try:
            with self.pool.transaction():
                for _, fn in ops:
                    outcome(fn, self.target)
                raise Abort
        except Abort:
            pass
        self.check_equal()

    @rule()
    def reopen(self):
        self.pool.close()
        self.pool = pmemobj.open(self.path)

    @invariant()
    def equals_model(self):
        self.check_equal()


class ListMachine(ContainerMachine):
    ops = list_ops

    def new_container(self):
        return []

    def new_model(self):
        return []

    def check_equal(self):
        t = self.target
        assert len(t) == len(self.model)
        assert list(t) == self.model
        assert t == self.model

    @precondition(lambda self: len(self.model) > 40)
    @rule()
    def shrink(self):
        del self.target[20:]
        del self.model[20:]


class DictMachine(ContainerMachine):
    ops = dict_ops

    def new_container(self):
        return {}

    def new_model(self):
        return {}

    def check_equal(self):
        t = self.target
        assert len(t) == len(self.model)
        assert list(t.items()) == list(self.model.items())
        # the first key of equal keys stays, as in dict (1 vs 1.0 vs True)
        assert [type(k) for k in t] == [type(k) for k in self.model]
        for k, v in self.model.items():
            assert t[k] == v


    @precondition(lambda self: len(self.model) > 0)
    @rule(data=st.data())
    def use_existing_key(self, data):
        k = data.draw(st.sampled_from(list(self.model)))
        self.run_both(data.draw(st.sampled_from([
            ("delitem", _delitem(k)), ("pop", lambda t: t.pop(k)),
            ("getitem", lambda t: t[k]), ("setdefault", lambda t: t.setdefault(k, 0))])))
        self.run_both(("setitem", _setitem(k, data.draw(values))))


class SetMachine(ContainerMachine):
    ops = set_ops

    def new_container(self):
        return set()

    def new_model(self):
        return set()

    def compare_outcomes(self, label, got, want):
        if label == "union" and got[0] == "ok":
            assert type(got[1]) is set
        assert got == want, (label, got, want)

    @precondition(lambda self: len(self.model) > 0)
    @rule()
    def pop(self):
        x = self.target.pop()       # an arbitrary member: the model follows
        assert x in self.model
        self.model.remove(x)

    @precondition(lambda self: len(self.model) > 0)
    @rule(data=st.data())
    def remove_existing_member(self, data):
        x = data.draw(st.sampled_from(sorted(self.model, key=repr)))
        self.run_both(("remove", lambda t: t.remove(x)))

    def check_equal(self):
        t = self.target
        assert len(t) == len(self.model)
        assert t == self.model and set(t) == self.model
        for x in self.model:
            assert x in t


class ObjectMachine(ContainerMachine):
    ops = object_ops

    def new_container(self):
        return self.pool.new(Bag)

    def new_model(self):
        return ModelBag()

    @precondition(lambda self: len(vars(self.model)) > 0)
    @rule(data=st.data())
    def delete_existing_attribute(self, data):
        name = data.draw(st.sampled_from(list(vars(self.model))))
        self.run_both(("delattr", lambda t: delattr(t, name)))

    def check_equal(self):
        t = self.target
        assert type(t) is Bag
        attrs = vars(self.model)
        assert t._p_attributes() == attrs
        assert list(t._p_attributes()) == list(attrs)
        for name, v in attrs.items():
            assert getattr(t, name) == v


def _machine_settings():
    base = settings()
    return settings(max_examples=max(6, base.max_examples // 6), stateful_step_count=20,
                    deadline=None, suppress_health_check=list(base.suppress_health_check))


TestList = ListMachine.TestCase
TestDict = DictMachine.TestCase
TestSet = SetMachine.TestCase
TestObject = ObjectMachine.TestCase
for _case in (TestList, TestDict, TestSet, TestObject):
    _case.settings = _machine_settings()
del _case
