"""The pmemobj command-line tool run as a real subprocess: ``python -m
pmemobj`` info, ls, check, gc."""
from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys

import pytest

import pmemobj
from tests.helpers import run_module


def pm(*args: str, **kw) -> subprocess.CompletedProcess:
    return run_module("pmemobj", *args, **kw)


@pytest.fixture
def sample(pool_path):
    """A closed pool holding a small tree."""
    with pmemobj.create(pool_path) as pool:
        pool.root = {"name": "demo", "scores": [3, 1, 2], "long": "x" * 500,
                     "blob": b"\xff" * 300, "nested": {"t": (1, 2), "deeper": [[1]]},
                     "tags": {"a"}}
    return pool_path


def make_cycle(path: str) -> None:
    """Two lists referring to each other, then dropped from the root: an
    unreachable cycle only gc frees."""
    with pmemobj.open(path) as pool:
        a = pool.new(pmemobj.PersistentList)
        b = pool.new(pmemobj.PersistentList)
        a.append(b)
        b.append(a)
        pool.root["cycle"] = a
        del pool.root["cycle"]
        del a, b


# -- pmemobj info ------------------------------------------------------------------------

def test_info_table(sample):
    r = pm("info", sample)
    assert r.returncode == 0 and r.stderr == ""
    head = r.stdout.split("\n\n")[0]
    lines = dict(re.split(r"\s{2,}", line, maxsplit=1) for line in head.splitlines())
    assert lines["pool"] == sample
    assert lines["size"] == "8.0 MiB (8388608 bytes)"
    assert lines["growable"] == "no" and lines["clean shutdown"] == "yes"
    assert lines["layout"] == f"{pmemobj.LAYOUT} (version 1)"
    assert "PersistentDict" in r.stdout and "PersistentList" in r.stdout
    assert lines["durability"] == pmemobj.pool.durability()


def test_info_json_matches_the_library(sample):
    r = pm("info", sample, "--json")
    assert r.returncode == 0
    got = json.loads(r.stdout)
    with pmemobj.open(sample) as pool:
        want = pool.info()
    assert got == json.loads(json.dumps(want))
    assert got["objects_by_type"]["PersistentList"]["count"] == 3


def test_info_reports_an_unclean_shutdown_as_found(sample):
    code = ("import os, pmemobj\n"
            f"p = pmemobj.open({sample!r}); p.root['x'] = 1; os._exit(0)")
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0
    r = pm("info", sample, "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["clean_shutdown"] is False
    assert "not closed cleanly" in r.stderr and "Traceback" not in r.stderr
    r = pm("info", sample)
    assert "clean shutdown  yes" in r.stdout


def test_info_of_a_growable_pool(tmp_path):
    path = str(tmp_path / "grow.pool")
    with pmemobj.PersistentObjectPool(path, "x", pool_size=64 << 20, growable=True) as pool:
        pool.root = [1]
    r = pm("info", path, "--json")
    info = json.loads(r.stdout)
    assert r.returncode == 0 and info["growable"] is True and info["pool_size"] > 0


# -- pmemobj ls ------------------------------------------------------------------------

def test_ls_tree(sample):
    r = pm("ls", sample)
    assert r.returncode == 0 and r.stderr == ""
    lines = r.stdout.splitlines()
    assert lines[0] == "root: PersistentDict (6 items)"
    assert "  'name': 'demo'" in lines
    assert "  'scores': PersistentList (3 items)" in lines
    assert "    [1]: 1" in lines
    long_line = next(line for line in lines if line.startswith("  'long'"))
    assert "…" in long_line and "(500 chars)" in long_line and len(long_line) < 80
    blob = next(line for line in lines if line.startswith("  'blob'"))
    assert "(300 bytes)" in blob and len(blob) < 80
    assert "    't': tuple (2 items)" in lines
    assert "    'deeper': PersistentList (1 item)" in lines
    assert not any(line.startswith("      ") for line in lines)  # depth 2
    assert "  'tags': PersistentSet (1 item)" in lines and "    - 'a'" in lines


def test_ls_depth_items_and_cycles(pool_path):
    with pmemobj.create(pool_path) as pool:
        pool.root = {"many": list(range(10)), "deep": [[[["bottom"]]]]}
        me = pool.new(pmemobj.PersistentList)
        me.append(me)
        pool.root["me"] = me
        del me
    assert pm("ls", pool_path, "--depth", "0").stdout == "root: PersistentDict (3 items)\n"
    out = pm("ls", pool_path, "--depth", "9", "--max-items", "4").stdout.splitlines()
    assert "    [3]: 3" in out and "    … 6 more" in out and "    [4]: 4" not in out
    assert "          [0]: 'bottom'" in out
    assert "    [0]: PersistentList (1 item) <cycle>" in out
    assert pm("ls", pool_path, "--depth", "-1").returncode == 2


def test_ls_of_an_empty_pool(pool_path):
    pmemobj.create(pool_path).close()
    r = pm("ls", pool_path)
    assert r.returncode == 0 and r.stdout == "root: None\n"


# -- pmemobj check and gc ------------------------------------------------------------------------

def findings(out: str) -> dict:
    """The counts check printed: {"unreachable objects": 4, ...}."""
    got = {}
    for line in out.splitlines():
        label, _, count = line.rpartition("  ")
        if label.strip() and count.replace(",", "").isdigit():
            got[label.strip()] = int(count.replace(",", ""))
    return got


def test_check_a_clean_pool(sample):
    r = pm("check", sample)
    assert r.returncode == 0 and r.stderr == ""
    f = findings(r.stdout)
    assert f["unreachable objects"] == f["reference count mismatches"] == \
        f["dangling references"] == 0 and f["objects"] > 0
    assert r.stdout.rstrip().endswith(f"{sample}: clean")


def test_check_finds_an_unreachable_cycle_and_repair_frees_it(sample):
    make_cycle(sample)
    r = pm("check", sample)
    assert r.returncode == 1
    assert findings(r.stdout)["unreachable objects"] == 4  # 2 lists + their arrays
    assert "problems found" in r.stdout and "--repair" in r.stdout
    r = pm("check", sample, "--repair")
    assert r.returncode == 0, r.stdout
    f = findings(r.stdout)  # the last check's counts, and gc's
    assert f["freed"] == 2 and f["unreachable objects"] == 0
    assert r.stdout.rstrip().endswith("clean")
    assert pm("check", sample).returncode == 0


def test_gc_prints_counts(sample):
    make_cycle(sample)
    r = pm("gc", sample)
    assert r.returncode == 0 and r.stderr == ""
    f = findings(r.stdout)
    assert f["freed"] == 2 and f["substructures freed"] == 2 and f["refcounts fixed"] == 0
    assert findings(pm("gc", sample).stdout)["freed"] == 0


def test_progress_only_when_asked_or_on_a_tty_for_big_pools(sample, tmp_path):
    r = pm("gc", sample)
    assert r.stderr == ""  # not a TTY, small pool
    r = pm("check", sample, "--progress")
    assert r.returncode == 0
    phases = [line.split("] ", 1)[1] for line in r.stderr.splitlines()]
    assert phases[0] == f"opening {sample}" and phases[-1] == "done"
    assert any(p.startswith("marking/checking") for p in phases)
    big = str(tmp_path / "big.pool")
    with pmemobj.create(big, pool_size=64 << 20) as pool:
        pool.root = [f"item number {i:012d}" for i in range(100_001)]
    for path, shown in ((sample, False), (big, True)):
        master, slave = pty.openpty()
        try:
            r = pm("gc", path, stderr=slave)
            os.close(slave)
            err = b""
            while True:
                try:
                    chunk = os.read(master, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                err += chunk
        finally:
            os.close(master)
        assert r.returncode == 0
        assert (b"marking/sweeping 100,00" in err and b"done" in err) == shown, err


# -- bad files ------------------------------------------------------------------------

def _bad_file(kind: str, tmp_path) -> str:
    path = str(tmp_path / f"{kind}.pool")
    if kind == "empty":
        open(path, "wb").close()
    elif kind == "random":
        with open(path, "wb") as f:
            f.write(os.urandom(64 << 10))
    elif kind == "truncated":
        pmemobj.create(path).close()
        os.truncate(path, 1 << 20)
    elif kind == "directory":
        os.mkdir(path)
    return path  # "missing": nothing there


@pytest.mark.parametrize("kind,words", [
    ("empty", "empty"), ("random", "not a pmemobj pool"), ("truncated", "truncated"),
    ("missing", "does not exist"), ("directory", "directory")])
def test_bad_files_give_one_line_and_status_2(kind, words, tmp_path):
    path = _bad_file(kind, tmp_path)
    for command in ("info", "ls", "check", "gc"):
        r = pm(command, path)
        assert r.returncode == 2, (command, r)
        assert r.stdout == "" and r.stderr.count("\n") == 1, r.stderr
        assert r.stderr.startswith(f"pmemobj: {path}: ") and words in r.stderr


def test_a_pool_in_use(sample):
    with pmemobj.open(sample):
        r = pm("check", sample)
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    assert sample in r.stderr and "in use" in r.stderr


def test_usage_errors():
    r = pm()
    assert r.returncode == 2 and "usage: pmemobj" in r.stderr
    assert pm("--help").stdout.startswith("usage: pmemobj")


def test_a_pool_whose_heap_metadata_crashes_libpmemobj_is_a_message(tmp_path):
    """Damage inside libpmemobj's own heap metadata can make pmemobj_open
    segfault; the tools open the pool in a child first."""
    import random
    path = str(tmp_path / "heap.pool")
    with pmemobj.create(path) as pool:
        pool.root = {"a": [1, 2, "x" * 100]}
    with open(path, "r+b") as f:       # scribble over the heap's zone metadata
        f.seek(8192)
        f.write(bytes(random.Random(1).randrange(256) for _ in range(400 * 1024)))
    out = subprocess.run([sys.executable, "-m", "pmemobj", "info", path],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2, (out.returncode, out.stderr)
    assert out.stderr.count("\n") == 1 and "heap.pool" in out.stderr
