"""Command-line tools for a parkit storage path.

    python -m parkit [--storage PATH] ls [NAMESPACE]      namespaces, or objects of one
    python -m parkit [--storage PATH] info                storage, namespaces, worker pool
    python -m parkit [--storage PATH] processes [--status S]   process records

The storage path defaults to ``$PARKIT_STORAGE_PATH``.  Exit status: 0 on
success, 2 on errors (reported as one line on stderr).  Reading never
starts worker processes.
"""
from __future__ import annotations

import argparse
import datetime
import os
from typing import Any, List, Optional, Sequence

from pmemobj.cli import human_size, run, table

PROG = "parkit"


class CliError(Exception):
    """A problem reported as one line on stderr, exit status 2."""


def local_time(value: Any) -> str:
    """A timestamp (epoch seconds or ISO string) as local time, or ``-``."""
    if value is None or value == "":
        return "-"
    if isinstance(value, str):
        when = datetime.datetime.fromisoformat(value)
    else:
        when = datetime.datetime.fromtimestamp(float(value), datetime.timezone.utc)
    return when.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def short_type(name: str) -> str:
    """``parkit.dict:Dict`` -> ``Dict``; other classes keep their module."""
    module, _, qualname = name.partition(":")
    return qualname if module.startswith("parkit.") and qualname else name


def disk_usage(pool_file: str) -> int:
    """Bytes of disk taken by a namespace: its poolset file, part files,
    lock and change-counter files."""
    import pmemobj
    files = [pool_file, pool_file + ".lock", pool_file + ".seq"]
    parts = pmemobj.parts_dir(pool_file)
    if os.path.isdir(parts):
        files += [e.path for e in os.scandir(parts) if e.is_file()]
    total = 0
    for f in files:
        try:
            total += os.stat(f).st_blocks * 512
        except OSError:
            pass
    return total


def use_storage(path: Optional[str]) -> str:
    """Select the storage path (--storage, else the environment); it must
    exist already: reading one never creates it."""
    import parkit
    path = path or os.environ.get("PARKIT_STORAGE_PATH")
    if not path:
        raise CliError("no storage path: use --storage PATH or set PARKIT_STORAGE_PATH")
    if not os.path.isdir(path):
        raise CliError(f"{path}: storage path does not exist or is not a directory")
    parkit.set_storage_path(path)
    return parkit.get_storage_path()


# -- commands ---------------------------------------------------------------------------

def cmd_ls(args: argparse.Namespace) -> int:
    """List the namespaces, or the objects of one namespace."""
    import parkit
    storage = use_storage(args.storage)
    if args.namespace is None:
        rows: List[Sequence[Any]] = [("namespace", "objects")]
        rows += [(ns, len(parkit.Namespace(ns))) for ns in parkit.namespaces()]
        if len(rows) == 1:
            print(f"no namespaces in {storage}")
        else:
            print(table(rows, right=(1,)))
        return 0
    ns = parkit.Namespace(args.namespace)
    if not ns.exists:
        raise CliError(f"{storage}: no namespace {args.namespace!r}")
    rows = [("name", "type", "version", "created")]
    rows += [(d["name"], short_type(d["type"]), d["version"], local_time(d["created"]))
             for _, d in sorted(ns.objects())]
    print(table(rows, right=(2,)))
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    """Print the storage path, its namespaces and the worker pool."""
    import parkit
    from parkit.records import SYSTEM_NS
    from parkit.workerpool import workers
    from pmemobj.pool import durability
    storage = use_storage(args.storage)
    system = parkit.Namespace(SYSTEM_NS)
    if system.exists and "pool" in system:  # reading the registry never starts workers
        size: Any = parkit.get_pool_size()
        live = workers()
    else:  # no pool yet: do not create its registry
        size, live = f"not set (default {os.cpu_count() or 1})", []
    pids = f" ({', '.join(map(str, live))})" if live else ""
    print(table([("storage path", storage),
                 ("durability", durability()),
                 ("pool size", size),
                 ("live workers", f"{len(live)}{pids}")]))
    rows: List[Sequence[Any]] = [("namespace", "max size", "disk usage")]
    for name in parkit.namespaces():
        rows.append((name, human_size(parkit.get_namespace_size(name)),
                     human_size(disk_usage(parkit.storage.namespace_file(name)))))
    print()
    print(table(rows, right=(1, 2)) if len(rows) > 1 else "no namespaces")
    return 0


def cmd_processes(args: argparse.Namespace) -> int:
    """List process records, optionally of some statuses only."""
    import parkit
    use_storage(args.storage)
    rows: List[Sequence[Any]] = []
    for p in parkit.processes(args.status):
        rec = dict(p)
        rows.append((rec.get("created") or 0, p.name[len("process."):], rec.get("task", "-"),
                     rec.get("status", "-"), rec.get("pid") or "-",
                     local_time(rec.get("created")), local_time(rec.get("started")),
                     local_time(rec.get("finished"))))
    if not rows:
        print("no processes")
        return 0
    rows.sort(key=lambda r: r[0])
    print(table([("process", "task", "status", "pid", "created", "started", "finished")]
                + [r[1:] for r in rows], right=(3,)))
    return 0


# -- entry point ------------------------------------------------------------------------

def parser() -> argparse.ArgumentParser:
    """The argument parser of the ``parkit`` command."""
    from parkit.records import ProcessStatus
    storage = argparse.ArgumentParser(add_help=False)
    storage.add_argument("--storage", metavar="PATH", default=argparse.SUPPRESS,
                         help="storage path (default: $PARKIT_STORAGE_PATH)")
    p = argparse.ArgumentParser(prog=PROG, parents=[storage],
                                description="Inspect a parkit storage path.",
                                epilog="exit status: 0 ok, 2 error")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    s = sub.add_parser("ls", parents=[storage], help="namespaces, or the objects of one")
    s.add_argument("namespace", nargs="?")
    s.set_defaults(run=cmd_ls)
    s = sub.add_parser("info", parents=[storage], help="storage, namespaces, worker pool")
    s.set_defaults(run=cmd_info)
    s = sub.add_parser("processes", parents=[storage], help="process records")
    s.add_argument("--status", action="append", choices=[s.value for s in ProcessStatus],
                   help="only processes with this status (repeatable)")
    s.set_defaults(run=cmd_processes)
    return p


def _message(e: BaseException) -> str:
    if isinstance(e, OSError) and e.strerror:
        message = f"{e.filename}: {e.strerror}" if e.filename else e.strerror
    else:
        message = str(e) or type(e).__name__
    if not isinstance(e, (CliError, OSError, ValueError)) and \
            type(e).__module__.split(".")[0] not in ("parkit", "pmemobj"):
        message += f" ({type(e).__name__})"
    return message


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the ``parkit`` command; returns the exit status."""
    args = parser().parse_args(argv)
    args.storage = getattr(args, "storage", None)
    return run(PROG, lambda: int(args.run(args)), _message)
