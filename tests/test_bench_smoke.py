"""The benchmark driver still runs: ``src/bench.py --smoke`` in a subprocess.

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

    rows = data["scaling"]["pmemobj-force"]
    assert rows and rows[0]["entries"] == 1000 and rows[0]["get_per_s"] > 0
    assert rows[0]["open_ms"] > 0
    assert any(t["target"].startswith("force: PersistentDict set") for t in data["targets"])
    assert "TARGETS" in proc.stdout
