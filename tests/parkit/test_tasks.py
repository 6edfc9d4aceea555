"""parkit tasks on a pool of real daemon worker processes."""
from __future__ import annotations

import datetime
import os
import signal
import subprocess
import sys
import time

import pytest

import parkit
from tests.parkit import tasks_for_tests as tft


@pytest.fixture
def storage(tmp_path):
    path = str(tmp_path / "storage")
    parkit.set_storage_path(path)
    parkit.set_pool_size(2)
    yield path
    parkit.killall()
    parkit.close_all()


def wait_workers(n, timeout=30):
    assert parkit.wait_until(lambda: len(parkit.workerpool.workers()) == n, timeout), \
        parkit.workerpool.workers()


def test_results_and_exceptions_come_back(storage):
    add = parkit.create_task(tft.add)
    p = add(2, 3)
    p.join(30)
    assert p.status is parkit.ProcessStatus.finished
    assert p.result == 5 and p.exitcode == 0 and p.pid in parkit.workerpool.workers()
    assert p["started"] >= p["submitted"] >= p["created"] and p["finished"] >= p["started"]
    f = parkit.create_task(tft.fail).submit("bad input")
    assert f.wait(30)
    assert f.status is parkit.ProcessStatus.failed and f.exitcode == 1
    assert f.error == "ValueError: bad input" and "tasks_for_tests.py" in f.traceback
    u = parkit.create_task(tft.unstorable)()
    assert u.wait(30) and u.status is parkit.ProcessStatus.failed and "storable" in u.error


def test_tasks_are_bound_by_name_in_other_processes(storage):
    parkit.create_task(tft.add, name="adder")
    code = ("import sys, parkit\n"
            f"parkit.set_storage_path({storage!r})\n"
            "p = parkit.bind_task('adder')(20, 22); p.join(30); print(p.result)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.stdout.strip() == "42", out.stderr
    with pytest.raises(parkit.ObjectNotFoundError):
        parkit.bind_task("nobody")
    t = parkit.bind_symbol("tests.parkit.tasks_for_tests", "add", name="bound")
    assert t(1, 1).wait(30) and parkit.bind_task("bound").qualname == "add"
    with pytest.raises(ValueError):
        parkit.create_task(lambda: 1)


def test_self_is_the_running_process(storage):
    p = parkit.create_task(tft.my_name)()
    p.join(30)
    assert p.result == p.name
    assert parkit.self() is None


def test_submitted_task_starts_quickly_on_an_idle_pool(storage):
    add = parkit.create_task(tft.add)
    add(0, 0).join(30)      # the pool is up
    time.sleep(0.5)         # and idle
    delays = []
    for i in range(5):
        p = add(i, i)
        p.join(30)
        delays.append(p["started"] - p["submitted"])
        time.sleep(0.1)
    assert sorted(delays)[2] < 0.05, delays  # the median start delay


def test_crashed_worker_is_detected_and_replaced(storage):
    p = parkit.create_task(tft.sleep_then_pid)(60)
    assert parkit.wait_until(lambda: p.status is parkit.ProcessStatus.running, 30)
    victim = p.pid
    os.kill(victim, signal.SIGKILL)
    assert p.wait(30)
    assert p.status is parkit.ProcessStatus.crashed and p.exitcode == -9
    wait_workers(2)
    assert victim not in parkit.workerpool.workers()
    q = parkit.create_task(tft.add)(1, 2)
    q.join(30)
    assert q.result == 3


def test_pool_resizes_live(storage):
    wait_workers(2)
    parkit.set_pool_size(4)
    assert parkit.get_pool_size() == 4
    wait_workers(4)
    parkit.set_pool_size(1)
    wait_workers(1)


def test_killall_leaves_no_stray_process(storage):
    wait_workers(2)
    pids = parkit.workerpool.workers()
    running = parkit.create_task(tft.sleep_then_pid)(60)
    assert parkit.wait_until(lambda: running.status is parkit.ProcessStatus.running, 30)
    parkit.killall()
    for pid in pids:
        assert parkit.workerpool.start_time(pid) is None
    assert parkit.workerpool.workers() == []
    assert running.status is parkit.ProcessStatus.crashed


def test_workers_outlive_the_interpreter_that_started_them(storage):
    parkit.killall()
    code = ("import parkit\n"
            f"parkit.set_storage_path({storage!r})\n"
            "parkit.set_pool_size(1)\n"
            "parkit.create_task(parkit.wait_until, name='noop')\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    wait_workers(1)


def test_processes_listing_and_clean(storage):
    add = parkit.create_task(tft.add)
    done = [add(i, 1) for i in range(3)]
    for p in done:
        p.join(30)
    fail = parkit.create_task(tft.fail)("x")
    fail.join(30)
    names = {p.name for p in parkit.processes("finished")}
    assert names == {p.name for p in done}
    assert [p.name for p in parkit.processes(["failed"])] == [fail.name]
    assert parkit.clean("failed") == 1
    assert parkit.clean() == 3
    assert list(parkit.processes()) == []


def test_process_priority_sets_the_nice_value(storage):
    child = subprocess.Popen(["sleep", "30"])
    try:
        parkit.set_process_priority(parkit.ProcessPriority.Low, pid=child.pid)
        assert os.getpriority(os.PRIO_PROCESS, child.pid) == 10
    finally:
        child.kill()
        child.wait()
    p = parkit.create_task(tft.nice_after_low)()
    p.join(30)
    assert p.result == 10
    with pytest.raises(KeyError):
        parkit.set_process_priority("Urgent")


def test_periodic_runs_the_right_number_of_times(storage):
    task = parkit.create_task(tft.record)
    start = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=0.3)
    task.schedule(parkit.Periodic(parkit.Frequency.Second, 0.3, start, max_times=3),
                  "sched/log", "tick")
    log = parkit.Log("sched/log")
    assert log.wait(3, timeout=30)
    time.sleep(1.5)
    assert list(log) == ["tick"] * 3


def test_scheduler_base_class_is_extensible(storage):
    class Never(parkit.Scheduler):
        def next_run(self, after, count):
            return None

        def state(self):
            return {}
    assert Never().first_run() is None
    with pytest.raises(NotImplementedError):
        parkit.Scheduler().next_run(0, 0)
    p = parkit.Periodic(parkit.Frequency.Minute, 2, max_times=2)
    assert p.interval == 120
    assert p.next_run(p.start.timestamp() + 1, 1) == p.start.timestamp() + 120
    assert p.next_run(0, 2) is None


def test_records_and_the_public_classes_bind_the_same_objects(tmp_path):
    """The worker pool and the scheduler use the record classes; the
    records are stored under the public classes' type names, so a record
    created either way binds as the other."""
    from parkit.records import PROCESS_TYPE, TASK_TYPE, ProcessRecord, TaskRecord
    parkit.set_storage_path(str(tmp_path / "storage"))
    try:
        assert TaskRecord._typename() == parkit.Task._typename() == TASK_TYPE
        assert ProcessRecord._typename() == parkit.Process._typename() == PROCESS_TYPE
        task = parkit.create_task(tft.add, name="same")
        record = TaskRecord(task.path, create=False)
        assert record.task_name == "same" and record.function() is tft.add
        run = ProcessRecord.create(record, (1, 2))
        public = parkit.Process(run.path, create=False)
        assert public.status is parkit.ProcessStatus.created and public.task == task
        assert parkit.Namespace("__parkit__")[run.name].__class__ is parkit.Process
    finally:
        parkit.close_all()
