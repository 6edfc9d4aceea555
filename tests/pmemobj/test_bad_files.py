"""Damaged pools give clear exceptions, never a crash: truncation at many
offsets, bit flips in the headers and inside our own objects."""
from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys

import pytest
from hypothesis import given, settings, strategies as st

import pmemobj

READER = r"""
import sys, pmemobj
try:
    with pmemobj.open(sys.argv[1]) as pool:
        root = pool.root
        repr(root)
        pool.check()
        pool.gc()
        root["new"] = [1, "two", (3,)]
        for key in list(root.keys()):
            try:
                del root[key]
            except KeyError:
                pass
    print("ok")
except pmemobj.PmemError as e:
    print("error", type(e).__name__)
except (ValueError, TypeError, KeyError, UnicodeDecodeError, OverflowError) as e:
    print("error", type(e).__name__)
"""


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """A pool holding every layout, and the byte ranges of its objects."""
    path = str(tmp_path_factory.mktemp("bad") / "sample.pool")
    with pmemobj.create(path) as pool:
        pool.root = {"list": [1, "x" * 100, [2, 3]], "dict": {"k": (1, "zzzzzzzzzz")},
                     "set": {1, 2, "abcdefghijkl"}, "big": 2**100, "blob": b"b" * 300}
        root = pool.root
        ranges = []
        for obj in [root, root["list"], root["list"][2], root["dict"], root["set"]]:
            ranges.append((obj._p_off, 16 + 40))
            for oid in obj._p_substructures():
                ranges.append((oid[1], 64))
    return path, ranges


def outcome(path):
    r = subprocess.run([sys.executable, "-c", READER, path], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, f"reader died (status {r.returncode}): {r.stderr[-500:]}"
    return r.stdout.split()[0]


@settings(max_examples=25)
@given(data=st.data())
def test_bit_flips_in_our_objects_are_reported_not_crashed(sample, tmp_path, data):
    path, ranges = sample
    start, length = data.draw(st.sampled_from(ranges))
    offset = start + data.draw(st.integers(0, length - 1))
    bit = data.draw(st.integers(0, 7))
    copy = str(tmp_path / "flipped.pool")
    shutil.copy(path, copy)
    with open(copy, "r+b") as f:
        f.seek(offset)
        byte = f.read(1)[0]
        f.seek(offset)
        f.write(bytes([byte ^ (1 << bit)]))
    assert outcome(copy) in ("ok", "error")


@pytest.mark.parametrize("offset", list(range(0, 4096, 509)) + list(range(4096, 8192, 997)))
def test_bit_flips_in_pool_headers_are_refused_or_harmless(sample, tmp_path, offset):
    path, _ = sample
    copy = str(tmp_path / "hdr.pool")
    shutil.copy(path, copy)
    with open(copy, "r+b") as f:
        f.seek(offset)
        byte = f.read(1)[0]
        f.seek(offset)
        f.write(bytes([byte ^ 0x10]))
    assert outcome(copy) in ("ok", "error")


def test_truncation_at_many_offsets(sample, tmp_path):
    path, _ = sample
    size = os.path.getsize(path)
    rng = random.Random(7)
    for cut in [0, 1, 7, 8, 4095, 4096, 8191, 65536] + [rng.randrange(size) for _ in range(8)]:
        copy = str(tmp_path / "cut.pool")
        shutil.copy(path, copy)
        os.truncate(copy, cut)
        with pytest.raises(pmemobj.ForeignFileError):
            pmemobj.open(copy)


def test_garbage_extension_of_a_pool_is_harmless(sample, tmp_path):
    path, _ = sample
    copy = str(tmp_path / "long.pool")
    shutil.copy(path, copy)
    with open(copy, "ab") as f:
        f.write(os.urandom(1 << 20))
    assert outcome(copy) == "ok"
