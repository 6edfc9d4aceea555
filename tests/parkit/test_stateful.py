"""parkit objects against built-in models, with aborted transactions and
namespaces closed and reopened between steps."""
from __future__ import annotations

import collections
import tempfile

from hypothesis import settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import parkit

keys = st.one_of(st.text(max_size=12), st.integers(-5, 5), st.tuples(st.integers(0, 3), st.text(max_size=3)))
values = st.recursive(st.one_of(st.none(), st.integers(), st.text(max_size=20), st.binary(max_size=20)),
                      lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
                      max_leaves=6)


class Abort(Exception):
    pass


class ParkitMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.tmp = tempfile.TemporaryDirectory()
        parkit.set_storage_path(self.tmp.name)
        self.d = parkit.Dict("m/d")
        self.q = parkit.Queue("m/q")
        self.log = parkit.Log("m/log")
        self.model_d = {}
        self.model_q = collections.deque()
        self.model_log = []

    def teardown(self):
        parkit.close_all()
        self.tmp.cleanup()

    @rule(k=keys, v=values)
    def set_item(self, k, v):
        self.d[k] = v
        self.model_d[k] = v

    @rule(k=keys)
    def delete_item(self, k):
        if k in self.model_d:
            del self.d[k]
            del self.model_d[k]
        else:
            assert k not in self.d

    @rule(k=keys, v=values)
    def setdefault(self, k, v):
        assert self.d.setdefault(k, v) == self.model_d.setdefault(k, v)

    @precondition(lambda self: self.model_d)
    @rule()
    def popitem(self):
        assert self.d.popitem() == self.model_d.popitem()

    @rule(v=values)
    def put(self, v):
        self.q.put(v)
        self.model_q.append(v)

    @precondition(lambda self: self.model_q)
    @rule()
    def get(self):
        assert self.q.get_nowait() == self.model_q.popleft()

    @rule(v=values)
    def append(self, v):
        self.log.append(v)
        self.model_log.append(v)

    @rule(k=keys, v=values)
    def aborted_transaction(self, k, v):
        try:
            with parkit.transaction(self.d):
                self.d[k] = v
                self.q.put(v)
                self.log.append(v)
                raise Abort
        except Abort:
            pass

    @rule(k=keys, v=values)
    def committed_transaction(self, k, v):
        with parkit.transaction("m"):
            self.d[k] = v
            self.log.append(v)
        self.model_d[k] = v
        self.model_log.append(v)

    @rule()
    def reopen(self):
        parkit.close_all()

    @invariant()
    def matches_the_model(self):
        assert self.d.to_dict() == self.model_d
        assert list(self.d) == list(self.model_d)
        assert self.q.qsize() == len(self.model_q)
        assert self.log.to_list() == self.model_log


ParkitMachine.TestCase.settings = settings(stateful_step_count=25,
                                           deadline=None)
TestParkitMachine = ParkitMachine.TestCase
