"""Command-line tools for pmemobj pools.

    python -m pmemobj info  POOL [--json]       sizes, objects by type, state
    python -m pmemobj ls    POOL [--depth N]    the object tree from the root
    python -m pmemobj check POOL [--repair]     verify reference counts
    python -m pmemobj gc    POOL                free unreachable objects

Exit status: 0 on success, 1 when ``check`` finds problems, 2 when the pool
cannot be used (missing, foreign, truncated, in use, ...).  Opening a pool
that was not closed cleanly collects its garbage first (with a warning).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import Any, Dict, FrozenSet, Iterator, List, Optional, TextIO, Tuple

from .errors import CorruptPoolError, PmemError
from .hashtable import KEYS
from .pool import PersistentObjectPool, probe

PROG = "pmemobj"
#: Pools with more allocations than this get a progress display on a TTY.
LARGE_POOL = 100_000
#: Strings, bytes and keys longer than this are cut with an ellipsis.
MAX_TEXT = 40


class CliError(Exception):
    """A problem reported as one line on stderr, exit status 2."""


# -- formatting ---------------------------------------------------------------------

def human_size(n: int) -> str:
    """*n* bytes as a short human-readable size: ``8.0 MiB``."""
    size, unit = float(n), "B"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            break
        size /= 1024
    return f"{n} B" if unit == "B" else f"{size:.1f} {unit}"


def table(rows: Sequence[Sequence[Any]], right: Sequence[int] = ()) -> str:
    """Rows as aligned columns; column indexes in *right* align right."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(cells[0]))] if cells else []
    lines = []
    for r in cells:
        parts = [c.rjust(w) if i in right else c.ljust(w)
                 for i, (c, w) in enumerate(zip(r, widths))]
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)


def type_name(value: Any) -> str:
    """A value's class name, qualified by its module outside pmemobj."""
    t = type(value)
    if t.__module__ in ("builtins",) or t.__module__.startswith("pmemobj."):
        return t.__name__
    return f"{t.__module__}.{t.__qualname__}"


def abbreviate(value: Any, limit: int = MAX_TEXT) -> str:
    """repr of a scalar, cut with an ellipsis (and the full length) when
    longer than *limit* characters."""
    text = repr(value)
    if len(text) <= limit:
        return text
    if isinstance(value, (str, bytes)):
        size = f"{len(value):,} {'chars' if isinstance(value, str) else 'bytes'}"
    else:
        size = f"{len(text):,} digits" if isinstance(value, int) else f"{len(text):,} chars"
    return f"{text[:limit]}… ({size})"


# -- the object tree ------------------------------------------------------------------

_SCALARS = (str, bytes, int, float, complex, type(None))


def children(value: Any) -> Optional[Tuple[str, int, Iterator[Tuple[Optional[str], Any]]]]:
    """(what, length, iterator of (label, value)) of a container, or None
    for a scalar (set members have no label).  A value that cannot be loaded (its class is not
    importable, say) comes as the exception raised."""
    from .object import PersistentObject
    if isinstance(value, _SCALARS):
        return None
    if isinstance(value, PersistentObject):
        names = list(value._p_entries(KEYS))
        return "attribute", len(names), ((f".{n}", _load(getattr, value, n)) for n in names)
    if isinstance(value, Mapping):
        return "item", len(value), ((abbreviate(k), _load(value.__getitem__, k))
                                    for k in value.keys())
    if isinstance(value, Sequence):
        return "item", len(value), ((f"[{i}]", _load(value.__getitem__, i))
                                    for i in range(len(value)))
    if isinstance(value, AbstractSet):
        return "item", len(value), ((None, v) for v in value)
    return None


def _load(get: Any, *args: Any) -> Any:
    try:
        return get(*args)
    except Exception as e:  # an unimportable class, a corrupt object
        return e


def tree(value: Any, depth: int, max_items: int, label: Optional[str] = "root",
         level: int = 0, path: FrozenSet[Any] = frozenset()) -> Iterator[str]:
    """Lines describing *value* and, down to *depth* levels, its contents,
    at most *max_items* entries per container."""
    lead = "  " * level + ("- " if label is None else f"{label}: ")
    if isinstance(value, Exception):
        yield f"{lead}<cannot load: {type(value).__name__}: {value}>"
        return
    kids = children(value)
    if kids is None:
        yield f"{lead}{abbreviate(value)}"
        return
    what, length, items = kids
    head = f"{lead}{type_name(value)} ({length} {what}{'' if length == 1 else 's'})"
    oid = getattr(value, "_p_oid", None)
    if oid is not None and oid in path:
        yield head + " <cycle>"
        return
    yield head
    if level >= depth:
        return
    inner = path | {oid} if oid is not None else path
    for n, (key, child) in enumerate(items):
        if n == max_items:
            yield f"{'  ' * (level + 1)}… {length - max_items} more"
            break
        yield from tree(child, depth, max_items, key, level + 1, inner)


# -- progress ---------------------------------------------------------------------------

class Progress:
    """Phase lines on stderr for long runs: always with ``forced``, else on a
    TTY once the pool turns out to hold more than LARGE_POOL allocations."""

    def __init__(self, forced: bool, stream: TextIO = sys.stderr):
        self.stream = stream
        self.forced = forced
        self.tty = stream.isatty()
        self.on = forced
        self.start = time.monotonic()

    def _say(self, text: str) -> None:
        if self.on:
            print(f"{PROG}: [{time.monotonic() - self.start:6.2f}s] {text}",
                  file=self.stream, flush=True)

    def opening(self, path: str) -> None:
        """Report the start of the open (forced mode only: size unknown)."""
        self._say(f"opening {path}")

    def opened(self, pool: PersistentObjectPool) -> int:
        """Decide whether to show progress; returns the allocation count."""
        total = int(pool.stats()["objects"])
        self.on = self.forced or (self.tty and total > LARGE_POOL)
        self._say(f"opened: {total:,} objects")
        return total

    def phase(self, text: str) -> None:
        """Report the start of a phase."""
        self._say(text)


# -- commands ---------------------------------------------------------------------------

@contextlib.contextmanager
def open_pool(path: str, progress: Optional[Progress] = None) -> Iterator[PersistentObjectPool]:
    """Open an existing pool for a command and close it afterwards."""
    if progress:
        progress.opening(path)
    crash = probe(path)  # so that a damaged heap is a message, not a segfault
    if crash:
        raise CorruptPoolError(crash)
    pool = PersistentObjectPool(path, "w")
    try:
        yield pool
    finally:
        pool.close()


def cmd_info(args: argparse.Namespace) -> int:
    """Print the pool's sizes, objects by type and state."""
    with open_pool(args.pool) as pool:
        info = pool.info()
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    yes_no = {True: "yes", False: "no"}
    clean = "yes" if info["clean_shutdown"] else "no (garbage was collected on open)"
    print(table([
        ("pool", info["path"]),
        ("layout", f"{info['layout']} (version {info['layout_version']})"),
        ("size", f"{human_size(info['pool_size'])} ({info['pool_size']} bytes)"),
        ("used", f"{human_size(info['used'])} ({info['used']} bytes)"),
        ("free", f"{human_size(info['free_estimate'])} (estimate)"),
        ("allocations", f"{info['allocations']:,}"),
        ("objects", f"{info['objects']:,}"),
        ("growable", yes_no[info["growable"]]),
        ("clean shutdown", clean),
        ("durability", info["durability"]),
    ]))
    by_type = sorted(info["objects_by_type"].items(), key=lambda kv: (-kv[1]["count"], kv[0]))
    if by_type:
        print()
        print(table([("type", "count", "bytes")]
                    + [(name, f"{t['count']:,}", f"{t['bytes']:,}") for name, t in by_type],
                    right=(1, 2)))
    return 0


def cmd_ls(args: argparse.Namespace) -> int:
    """Print the object tree from the root."""
    if args.depth < 0 or args.max_items < 1:
        raise CliError("--depth must be >= 0 and --max-items >= 1")
    with open_pool(args.pool) as pool:
        root = _load(lambda: pool.root)
        for line in tree(root, args.depth, args.max_items):
            print(line)
        del root
    return 0


_FINDINGS = (("unreachable", "unreachable objects"),
             ("refcount_mismatches", "reference count mismatches"),
             ("dangling", "dangling references"))


def _check(pool: PersistentObjectPool, progress: Progress, total: int) -> int:
    """Run pool.check(), print the findings; returns the number of problems."""
    progress.phase(f"marking/checking {total:,} objects")
    try:
        found = pool.check()
    except CorruptPoolError as e:
        print(f"corrupt: {e}")
        return 1
    rows: List[Tuple[str, str]] = [("objects", f"{found['objects']:,}")]
    rows += [(label, f"{found[key]:,}") for key, label in _FINDINGS]
    print(table(rows, right=(1,)))
    return sum(found[key] for key, _ in _FINDINGS)


def _gc(pool: PersistentObjectPool, progress: Progress, total: int) -> Dict[str, int]:
    progress.phase(f"marking/sweeping {total:,} objects")
    stats = pool.gc()
    print(table([("objects scanned", f"{stats['objects']:,}"),
                 ("freed", f"{stats['freed']:,}"),
                 ("substructures freed", f"{stats['freed_substructures']:,}"),
                 ("refcounts fixed", f"{stats['refcounts_fixed']:,}")], right=(1,)))
    return stats


def cmd_check(args: argparse.Namespace) -> int:
    """Verify the pool; with --repair collect garbage and verify again."""
    progress = Progress(args.progress)
    with open_pool(args.pool, progress) as pool:
        total = progress.opened(pool)
        if not pool.info()["clean_shutdown"]:
            print(f"note: {args.pool} was not closed cleanly; garbage was collected on open")
        problems = _check(pool, progress, total)
        if problems and args.repair:
            print("\nrepairing (gc):")
            _gc(pool, progress, total)
            print("\nchecking again:")
            problems = _check(pool, progress, int(pool.stats()["objects"]))
        progress.phase("done")
    if problems:
        hint = "" if args.repair else f" (try: {PROG} check --repair)"
        print(f"{args.pool}: {problems:,} problem{'s' if problems != 1 else ''} found{hint}")
        return 1
    print(f"{args.pool}: clean")
    return 0


def cmd_gc(args: argparse.Namespace) -> int:
    """Collect the pool's garbage and print the counts."""
    progress = Progress(args.progress)
    with open_pool(args.pool, progress) as pool:
        total = progress.opened(pool)
        _gc(pool, progress, total)
        progress.phase("done")
    return 0


# -- entry point ------------------------------------------------------------------------

def parser() -> argparse.ArgumentParser:
    """The argument parser of the ``pmemobj`` command."""
    p = argparse.ArgumentParser(
        prog=PROG, description="Inspect and maintain pmemobj pools.",
        epilog="exit status: 0 ok, 1 check found problems, 2 the pool cannot be used")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("info", help="sizes, objects by type, state of a pool")
    s.add_argument("pool")
    s.add_argument("--json", action="store_true", help="print JSON")
    s.set_defaults(run=cmd_info)

    s = sub.add_parser("ls", help="the object tree from the root")
    s.add_argument("pool")
    s.add_argument("--depth", type=int, default=2, help="levels to expand (default 2)")
    s.add_argument("--max-items", type=int, default=50,
                   help="entries shown per container (default 50)")
    s.set_defaults(run=cmd_ls)

    s = sub.add_parser("check", help="verify reference counts and reachability")
    s.add_argument("pool")
    s.add_argument("--repair", action="store_true", help="run gc, then check again")
    s.add_argument("--progress", action="store_true", help="show progress on stderr")
    s.set_defaults(run=cmd_check)

    s = sub.add_parser("gc", help="free unreachable objects, fix reference counts")
    s.add_argument("pool")
    s.add_argument("--progress", action="store_true", help="show progress on stderr")
    s.set_defaults(run=cmd_gc)
    return p


def _message(path: str, e: BaseException) -> str:
    if isinstance(e, OSError) and e.strerror:
        message = f"{e.filename or path}: {e.strerror}"
    else:
        message = f"{path}: {e or type(e).__name__}"
    if not isinstance(e, (PmemError, OSError, CliError)):
        message += f" ({type(e).__name__})"
    return message


def run(prog: str, command: Callable[[], int],
        describe: Callable[[BaseException], str]) -> int:
    """Run a command-line command: its exit status, or 2 with one line on
    stderr (never a traceback) when it fails, 130 when interrupted."""
    try:
        return int(command())
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (| head): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as e:
        print(f"{prog}: {' '.join(describe(e).split())}", file=sys.stderr)
        return 2


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the ``pmemobj`` command; returns the exit status."""
    args = parser().parse_args(argv)
    logging.basicConfig(format="%(name)s: %(levelname)s: %(message)s", level=logging.WARNING)
    return run(PROG, lambda: int(args.run(args)), lambda e: _message(args.pool, e))
