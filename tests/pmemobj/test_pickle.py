"""Pickle is opt-in per type, and loading is restricted to nominated types:
an untrusted pool runs no code when opened or read."""
from __future__ import annotations

import decimal
import fractions
import os
import pickle

import pytest

from pmemobj import _binding as b
from pmemobj._binding import lib
from tests.helpers import reopen
from tests.pmemobj.pickled_types import Boom, Point


def test_unnominated_types_are_refused_with_their_name(pool):
    with pytest.raises(TypeError, match="Decimal"):
        pool.root = decimal.Decimal("1.5")
    with pytest.raises(TypeError, match="Point"):
        pool.root = [Point(1, 2)]
    assert pool.root is None


def test_nominated_types_round_trip(pool):
    pool.persist_via_pickle(decimal.Decimal, fractions.Fraction, Point)
    values = [decimal.Decimal("1.25"), fractions.Fraction(1, 3), Point(3, 4)]
    pool.root = {"values": values, Point(0, 0): "origin"}
    pool = reopen(pool)
    pool.persist_via_pickle(decimal.Decimal, fractions.Fraction, Point)
    assert list(pool.root["values"]) == values
    assert pool.root[Point(0, 0)] == "origin"
    pool.close()


def test_pickled_data_is_not_loaded_unless_its_type_is_nominated(pool):
    pool.persist_via_pickle(Point)
    pool.root = Point(1, 2)
    pool = reopen(pool)
    with pytest.raises(pickle.UnpicklingError, match="persist_via_pickle"):
        pool.root
    pool.close()


def test_a_malicious_pickle_runs_no_code(pool, tmp_path):
    marker = str(tmp_path / "pwned")
    payload = pickle.dumps(Boom(marker))
    assert lib.pmo_root_set(pool._h, b.K_NEW_PICKLE, 0, 0.0, payload, len(payload)) == 0
    pool = reopen(pool)
    pool.persist_via_pickle(Point)  # nominating other types does not open the door
    with pytest.raises(pickle.UnpicklingError):
        pool.root
    assert not os.path.exists(marker)
    assert pool.check()["dangling"] == 0
    pool.close()


def test_persist_via_pickle_takes_types(pool):
    with pytest.raises(TypeError):
        pool.persist_via_pickle("decimal.Decimal")
