"""Shared fixtures: pools on temp dirs, hypothesis profiles.

`make test` runs the suite with PMEM_IS_PMEM_FORCE=1 (fast, emulated pmem),
then the tests marked ``msync`` again without it, so the real flush path
stays covered.
"""
from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

if os.environ.get("PMEM_IS_PMEM_FORCE") != "1":
    # the msync run: say so explicitly, or importing parkit (at collection)
    # would put force mode in the environment of every child process
    os.environ["PMEM_IS_PMEM_FORCE"] = "0"
    os.environ.setdefault("PARKIT_DURABILITY", "msync")

import pmemobj  # noqa: E402

settings.register_profile(
    "default", max_examples=60, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.register_profile(
    "soak", max_examples=2000, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture
def pool_path(tmp_path):
    """Path of a pool file that does not exist yet."""
    return str(tmp_path / "test.pool")


@pytest.fixture
def pool(pool_path):
    """A fresh 8 MiB pool, closed after the test."""
    p = pmemobj.create(pool_path)
    yield p
    p.close()


@pytest.fixture
def storage(tmp_path):
    """A fresh parkit storage path for this thread, closed after the test."""
    import parkit
    path = str(tmp_path / "storage")
    parkit.set_storage_path(path)
    yield path
    parkit.close_all()


def pytest_sessionfinish(session, exitstatus):
    """Stop parkit workers that tests under this run's temp dir left behind."""
    import signal
    base = str(session.config._tmp_path_factory.getbasetemp()) \
        if hasattr(session.config, "_tmp_path_factory") else None
    if not base:
        return
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().split(b"\0")
        except OSError:
            continue
        if b"parkit.worker" in cmd and any(base.encode() in part for part in cmd):
            try:
                os.kill(int(pid), signal.SIGKILL)
            except OSError:
                pass


@pytest.fixture(autouse=True)
def no_pin_left():
    """Every reference the C core pinned for a reader was unpinned (a pin
    left behind would keep its object from ever being freed)."""
    from pmemobj._binding import lib
    yield
    assert lib.pmo_pin_depth() == 0
