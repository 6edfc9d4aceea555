"""Every immutable type round-trips through close and reopen, equal and of
the same type."""
from __future__ import annotations

import math

import pytest
from hypothesis import given, strategies as st

import pmemobj
from tests.helpers import reopen

scalars = st.one_of(
    st.none(), st.booleans(),
    st.integers(), st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.integers(min_value=2**63 - 2, max_value=2**63 + 2),
    st.integers(min_value=-(2**63) - 2, max_value=-(2**63) + 2),
    st.floats(allow_nan=True, allow_infinity=True),
    st.complex_numbers(allow_nan=True, allow_infinity=True),
    st.text(), st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF)),
    st.binary(),
)
hashables = st.recursive(
    scalars,
    lambda inner: st.one_of(st.tuples(inner, inner), st.lists(inner, max_size=4).map(tuple),
                            st.frozensets(st.one_of(st.integers(), st.text()), max_size=4)),
    max_leaves=12)


def same(a, b):
    """Equality that also pins types, NaNs and signed zeros."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    if isinstance(a, complex):
        return same(a.real, b.real) and same(a.imag, b.imag)
    if isinstance(a, tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


@given(value=hashables)
def test_value_round_trips_through_reopen(pool_path, value):
    with pmemobj.create(pool_path) as pool:
        pool.root = value
        assert same(pool.root, value)
    with pmemobj.open(pool_path) as pool:
        assert same(pool.root, value)
    import os
    os.unlink(pool_path)


@pytest.mark.msync
def test_specific_edge_values_round_trip(pool):
    values = [
        None, True, False, 0, -1, 2**63 - 1, -(2**63), 2**63, -(2**63) - 1,
        10**5000, -(10**5000), 1.5, float("inf"), float("-inf"), -0.0, float("nan"),
        1 + 2j, complex(float("nan"), -0.0), "", "a\x00b", "\udc80 lone surrogate",
        "\U0010ffff", b"", b"\x00\xff" * 1000, "x" * 100000, (), (1, (2, (3, ()))),
        frozenset(), frozenset({1, "a", (2, 3)}),
    ]
    pool.root = values
    pool = reopen(pool)
    got = list(pool.root)
    assert len(got) == len(values)
    for a, b in zip(values, got):
        assert same(a, b), (a, b)
    pool.close()


def test_unsupported_type_is_a_type_error_naming_it(pool):
    class Thing:
        pass
    with pytest.raises(TypeError, match="Thing"):
        pool.root = Thing()
    with pytest.raises(TypeError, match="bytearray"):
        pool.root = bytearray(b"x")
    assert pool.root is None


def test_plain_containers_are_stored_as_persistent_ones(pool):
    pool.root = {"l": [1, [2]], "s": {3}, "d": {"x": {}}}
    root = pool.root
    assert isinstance(root, pmemobj.PersistentDict)
    assert isinstance(root["l"], pmemobj.PersistentList)
    assert isinstance(root["l"][1], pmemobj.PersistentList)
    assert isinstance(root["s"], pmemobj.PersistentSet)
    assert root == {"l": [1, [2]], "s": {3}, "d": {"x": {}}}
