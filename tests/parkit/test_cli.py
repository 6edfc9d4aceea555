"""The parkit command-line tool run as a real subprocess: ``python -m
parkit`` ls, info, processes."""
from __future__ import annotations

import os
import subprocess

import pytest

import parkit
from tests.helpers import run_module
from tests.parkit import tasks_for_tests as tft


def pk(*args: str, **kw) -> subprocess.CompletedProcess:
    return run_module("parkit", *args, **kw)


@pytest.fixture
def storage(tmp_path):
    path = str(tmp_path / "storage")
    parkit.set_storage_path(path)
    counts = parkit.Dict("app/counts")
    counts["a"] = 1
    counts["b"] = 2
    parkit.Queue("app/jobs").put("job")
    parkit.Log("logs/events").append("started")
    yield path
    parkit.close_all()


def test_parkit_ls(storage):
    r = pk("--storage", storage, "ls")  # the test process still owns the pools
    assert r.returncode == 0 and r.stderr == ""
    rows = [line.split() for line in r.stdout.splitlines()]
    assert rows == [["namespace", "objects"], ["app", "2"], ["logs", "1"]]
    r = pk("ls", "app", "--storage", storage)
    rows = [line.split() for line in r.stdout.splitlines()]
    assert rows[0] == ["name", "type", "version", "created"]
    assert [row[:3] for row in rows[1:]] == [["counts", "Dict", "2"], ["jobs", "Queue", "1"]]
    env = dict(os.environ, PARKIT_STORAGE_PATH=storage)
    assert pk("ls", "logs", env=env).stdout.split()[4:7] == ["events", "Log", "1"]


def test_parkit_errors(storage, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PARKIT_STORAGE_PATH"}
    for args, words in ((["ls"], "no storage path"),
                        (["--storage", str(tmp_path / "nope"), "ls"], "does not exist"),
                        (["--storage", storage, "ls", "nope"], "no namespace 'nope'"),
                        (["--storage", storage, "ls", "../up"], "invalid namespace")):
        r = pk(*args, env=env)
        assert r.returncode == 2 and r.stderr.count("\n") == 1 and words in r.stderr, r.stderr
        assert r.stderr.startswith("parkit: ")
    assert not os.path.exists(tmp_path / "nope")


def test_parkit_info_does_not_start_workers(storage):
    r = pk("--storage", storage, "info")
    assert r.returncode == 0 and r.stderr == ""
    assert f"storage path  {storage}" in r.stdout
    assert "live workers  0" in r.stdout and "pool size     not set" in r.stdout
    rows = [line.split() for line in r.stdout.split("\n\n")[1].splitlines()]
    assert rows[0] == ["namespace", "max", "size", "disk", "usage"]
    assert [row[0] for row in rows[1:]] == ["app", "logs"]
    assert rows[1][1:3] == ["1.0", "GiB"]
    assert not os.path.exists(os.path.join(storage, "__parkit__.pool"))  # nothing created
    parkit.set_pool_size(0)
    r = pk("--storage", storage, "info")
    assert "pool size     0" in r.stdout and "live workers  0" in r.stdout
    assert parkit.workerpool.workers() == []


def test_parkit_processes(storage):
    task = parkit.create_task(tft.add)
    created = parkit.Process.create(task, (1, 2))
    r = pk("--storage", storage, "processes")
    rows = [line.split() for line in r.stdout.splitlines()]
    assert r.returncode == 0 and rows[0] == ["process", "task", "status", "pid", "created",
                                             "started", "finished"]
    assert rows[1][:4] == [created.name[len("process."):], "add", "created", "-"]
    assert pk("--storage", storage, "processes", "--status", "finished").stdout == \
        "no processes\n"
    assert pk("--storage", storage, "processes", "--status", "bogus").returncode == 2
    parkit.set_pool_size(1)
    try:
        done = task(2, 3)
        assert done.wait(60) and done.result == 5
        r = pk("--storage", storage, "processes", "--status", "finished")
        rows = [line.split() for line in r.stdout.splitlines()]
        assert len(rows) == 2 and rows[1][:4] == [done.name[len("process."):], "add",
                                                  "finished", str(done.pid)]
        assert "-" not in rows[1][4:]  # created, started and finished times
        info = pk("--storage", storage, "info").stdout
        assert f"live workers  1 ({done.pid})" in info and "pool size     1" in info
    finally:
        parkit.killall()
