"""Functions run as parkit tasks by the tests (workers import this module)."""
import os
import time

import parkit


def add(a, b):
    return a + b


def fail(message):
    raise ValueError(message)


def my_name():
    return parkit.self().name


def sleep_then_pid(seconds):
    time.sleep(seconds)
    return os.getpid()


def nice_after_low():
    parkit.set_process_priority(parkit.ProcessPriority.Low)
    return os.getpriority(os.PRIO_PROCESS, 0)


def record(path, value):
    parkit.Log(path).append(value)


def unstorable():
    return object()
