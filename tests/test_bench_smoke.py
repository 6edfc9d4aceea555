"""The benchmark driver still runs: ``src/bench.py --smoke`` in a subprocess,
with pmemobj, parkit (one process, and two processes sharing a counter) and
whichever peers are installed.

Peers that are not installed are skipped by the driver, so this passes in
``make test`` (no bench extras) as well as after ``make bench``.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "src", "bench.py")


def test_bench_smoke(tmp_path):
    out = tmp_path / "out"
    work = tmp_path / "work"
    work.mkdir()
    proc = subprocess.run(
        [sys.executable, BENCH, "--smoke", "--out", str(out), "--dir", str(work)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    data = json.loads((out / "results.json").read_text())
    assert data["meta"]["profile"] == "smoke"
    assert data["errors"] == []
    pm = {(r["spec"], r["op"], r["mode"]): r["ops_per_s"]
          for r in data["ops"] if r["system"] == "pmemobj"}
    for spec in ("pmemobj-force", "pmemobj-msync"):
        for op, mode in (("dict.set", "tx/op"), ("dict.set", "batch"), ("dict.get", "tx/op"),
                         ("dict.delete", "tx/op"), ("list.append", "tx/op"),
                         ("list.index", "tx/op"), ("list.iterate", "scan"),
                         ("obj.setattr", "tx/op"), ("obj.getattr", "batch")):
            assert pm[(spec, op, mode)] > 0, (spec, op, mode)
    # each pmemobj worker really ran in its durability mode
    assert {r["config"] for r in data["ops"] if r["spec"] == "pmemobj-force"} == {"force"}
    assert {r["config"] for r in data["ops"] if r["spec"] == "pmemobj-msync"} == {"msync"}

    # parkit's Dict, Log and Object, in their own worker per mode, versioned
    # and (the writes) unversioned
    pk = {(r["spec"], r["op"], r["mode"]): r for r in data["ops"] if r["system"] == "parkit"}
    for mode in ("force", "msync"):
        for op in ("dict.set", "dict.update", "dict.get", "dict.delete", "list.append",
                   "list.index", "obj.setattr", "obj.getattr"):
            for how in ("tx/op", "batch"):
                assert pk[(f"parkit-{mode}", op, how)]["ops_per_s"] > 0, (mode, op, how)
                assert pk[(f"parkit-{mode}", op, how)]["config"] == mode
        assert pk[(f"parkit-{mode}", "list.iterate", "scan")]["ops_per_s"] > 0
        for op in ("dict.set", "list.append", "obj.setattr"):
            unversioned = pk[(f"parkit-{mode}-unversioned", op, "tx/op")]
            assert unversioned["ops_per_s"] > 0
            assert unversioned["config"] == f"{mode},versioned=False"
        assert (f"parkit-{mode}-unversioned", "dict.get", "tx/op") not in pk
    assert any(t["target"].startswith("parkit force: one process alone")
               for t in data["targets"])
    assert "PARKIT -- one process alone" in proc.stdout

    # many processes: every increment counted exactly once
    [row] = data["contention"]
    assert row["procs"] == 2 and row["final"] == row["expected"] == 2 * 50
    assert row["total_per_s"] > 0 and "error" not in row
    assert "PARKIT, MANY PROCESSES" in proc.stdout

    rows = data["scaling"]["pmemobj-force"]
    assert rows and rows[0]["entries"] == 1000 and rows[0]["get_per_s"] > 0
    assert rows[0]["open_ms"] > 0
    assert any(t["target"].startswith("force: PersistentDict set") for t in data["targets"])
    assert "TARGETS" in proc.stdout
