"""What is measured: the operation list, the scaling run, the breakdown of
one pmemobj operation, and an optional cProfile of it.

Everything here runs inside a worker process (see ``src/bench.py``)."""
from __future__ import annotations

import gc
import random
import sys
from typing import Any, Callable, Dict, List, Optional

from bench.common import best_of, chunks, fmt_rate, median, memory, timed
from bench.stores import ATTRS, Store

#: (operation, container family, modes, the C-harness figure it compares to)
#: tx/op = one transaction per operation (pmemobj: implicit; reads: none),
#: batch = BATCH operations per transaction, scan = one pass in one txn.
OPS = [
    ("dict.set", "dict", ("tx/op", "batch"), "alloc_tx_per_s"),
    ("dict.update", "dict", ("tx/op", "batch"), "update_tx_per_s"),
    ("dict.get", "dict", ("tx/op", "batch"), "read_per_s"),
    ("dict.delete", "dict", ("tx/op", "batch"), "alloc_tx_per_s"),
    ("list.append", "list", ("tx/op", "batch"), "update_tx_per_s"),
    ("list.index", "list", ("tx/op", "batch"), "read_per_s"),
    ("list.iterate", "list", ("scan",), "read_per_s"),
    ("obj.setattr", "obj", ("tx/op", "batch"), "update_tx_per_s"),
    ("obj.getattr", "obj", ("tx/op", "batch"), "read_per_s"),
]

OP_DOC = {
    "dict.set": "d[f'k{i}'] = i into an empty mapping (insert)",
    "dict.update": "d[k] = new int for existing keys",
    "dict.get": "d[k] for existing keys, random order",
    "dict.delete": "del d[k], random order, until empty",
    "list.append": "lst.append(i)",
    "list.index": "lst[i], random order",
    "list.iterate": "for v in lst (per item)",
    "obj.setattr": "setattr(obj, 'a0'..'a7', i)",
    "obj.getattr": "getattr(obj, 'a0'..'a7')",
}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _in_batches(ctx: Callable[[str], Any], family: str,
                fn: Callable[[Any], None], parts: List[Any]) -> None:
    for part in parts:
        with ctx(family):
            fn(part)


def run_ops(store: Store, spec: str, n: int, repeat: int, batch: int) -> List[Dict[str, Any]]:
    """Every operation of OPS that *store* runs (``store.ops``; None: all)
    in every mode, *n* operations each, best of *repeat* (reads: of
    repeat + 2)."""
    rnd = random.Random(1234)
    keys = [f"k{i}" for i in range(n)]
    values = list(range(n))
    items = list(zip(keys, values))
    updates = [[(k, v + r) for k, v in items] for r in (1, 2)]
    rkeys = keys[:]
    rnd.shuffle(rkeys)
    idxs = list(range(n))
    rnd.shuffle(idxs)
    names = [ATTRS[i % len(ATTRS)] for i in range(n)]
    attr_items = list(zip(names, values))
    read_repeat = repeat + 2
    out: List[Dict[str, Any]] = []
    wanted = [op for op, _, _, _ in OPS if store.ops is None or op in store.ops]
    families = {family for op, family, _, _ in OPS if op in wanted}

    def record(op: str, mode: str, res: Dict[str, Any]) -> None:
        res.update(spec=spec, system=store.system, config=store.config, op=op, mode=mode)
        out.append(res)
        log(f"  {spec:24s} {op:13s} {mode:6s} {fmt_rate(res['ops_per_s']):>8s}/s")

    def both(op: str, family: str, each: Callable, plain: Callable, datasets: List[Any],
             setup: Optional[Callable] = None, reads: bool = False) -> None:
        """Time *op* with one transaction per operation (*each*), then with
        *batch* operations per transaction (*plain* inside store.txn).  With
        several datasets the repeats take them in turn, so that an update
        always writes a value different from the stored one."""
        if op not in wanted:
            return
        rep = read_repeat if reads else repeat
        ctx = store.rtxn if reads else store.txn
        parts = [chunks(ds, batch) for ds in datasets]
        turn = [0]

        def advance() -> None:
            turn[0] = (turn[0] + 1) % len(datasets)
            if setup is not None:
                setup()

        record(op, "tx/op", best_of(lambda: each(datasets[turn[0]]), n, rep, advance))
        record(op, "batch", best_of(lambda: _in_batches(ctx, family, plain, parts[turn[0]]),
                                    n, rep, advance))

    if "dict" in families:
        both("dict.set", "dict", store.dict_set_each, store.dict_set, [items],
             store.dict_reset)
        both("dict.update", "dict", store.dict_set_each, store.dict_set, updates)
        both("dict.get", "dict", store.dict_get_each, store.dict_get, [rkeys], reads=True)

        def refill() -> None:
            store.dict_reset()
            store.dict_fill(items, batch)
        both("dict.delete", "dict", store.dict_del_each, store.dict_del, [rkeys], refill)
        store.dict_reset()

    if "list" in families:
        both("list.append", "list", store.list_append_each, store.list_append, [values],
             store.list_reset)
        both("list.index", "list", store.list_index_each, store.list_index, [idxs],
             reads=True)
        if "list.iterate" in wanted:
            record("list.iterate", "scan", best_of(store.list_iterate, n, read_repeat))
        store.list_reset()

    if "obj" in families:
        store.obj_reset()
        updates = [[(a, v + r) for a, v in attr_items] for r in (1, 2)]
        both("obj.setattr", "obj", store.obj_set_each, store.obj_set, updates)
        both("obj.getattr", "obj", store.obj_get_each, store.obj_get, [names], reads=True)
    return out


def run_scaling(store: Store, spec: str, levels: List[int], sample: int,
                repeat: int, open_cycles: int) -> List[Dict[str, Any]]:
    """Grow one mapping through *levels* entries (inserts one per
    transaction); at each level time gets and updates of up to *sample*
    random existing keys, read memory, and time close/open cycles."""
    rnd = random.Random(99)
    rows: List[Dict[str, Any]] = []
    base = memory()
    store.dict_reset()
    have = 0
    for level in levels:
        new = [(f"k{i}", i) for i in range(have, level)]
        inserted = len(new)
        t_ins = timed(lambda: store.dict_set_each(new))
        del new
        have = level
        probe = [f"k{i}" for i in rnd.sample(range(level), min(sample, level))]
        upd = [[(k, -r) for k in probe] for r in (1, 2)]  # alternate: always a new value
        get = best_of(lambda: store.dict_get_each(probe), len(probe), repeat + 2)
        setr = best_of(lambda: store.dict_set_each(upd[0]), len(probe), repeat,
                       setup=upd.reverse)
        row: Dict[str, Any] = {
            "spec": spec, "system": store.system, "config": store.config,
            "entries": level,
            "insert_per_s": inserted / t_ins if t_ins > 0 else None,
            "inserted": inserted,
            "get_per_s": get["ops_per_s"], "update_per_s": setr["ops_per_s"],
            "sample": len(probe),
        }
        del probe, upd
        gc.collect()  # the benchmark's own key lists must not count as the store's
        row.update(memory())
        row["rss_growth_kb"] = row["rss_kb"] - base["rss_kb"]
        row["rss_anon_growth_kb"] = row["rss_anon_kb"] - base["rss_anon_kb"]
        row.update(store.extra_stats())
        for what, secs in store.reopen_times(open_cycles).items():
            row[f"{what}_ms"] = median(secs) * 1e3
            row[f"{what}_samples_ms"] = [x * 1e3 for x in secs]
        rows.append(row)
        log(f"  {spec:14s} {level:>9,d} entries: insert {fmt_rate(row['insert_per_s'])}/s "
            f"get {fmt_rate(row['get_per_s'])}/s update {fmt_rate(row['update_per_s'])}/s "
            f"rss {row['rss_kb'] / 1024:.0f} MiB (anon {row['rss_anon_kb'] / 1024:.0f}) "
            f"open {row.get('open_ms', float('nan')):.2f} ms "
            f"(raw C {row.get('c_open_ms', float('nan')):.2f})")
    return rows


# -- where the time of one pmemobj operation goes --------------------------


def breakdown(store: Store, n: int, repeat: int) -> Dict[str, Any]:
    """Split a dict set (update of an existing key, int value) and a dict
    get into: the bare loop, the Python-side encoding, the one cffi call
    into the C core, and the rest (method dispatch and glue).  Uses private
    names of pmemobj, so it reports 'skipped' rather than failing when they
    change."""
    try:
        from pmemobj._binding import lib  # private: the C core
        d = store.d
        mm, h, off = d._p_mm, d._p_h, d._p_off
        key, enc_in, value = mm.encode_key, mm.encode, mm.value
    except Exception as e:  # pragma: no cover - depends on pmemobj internals
        return {"skipped": f"pmemobj internals changed: {e!r}"}

    keys = [f"k{i}" for i in range(n)]
    items = [(k, i) for i, k in enumerate(keys)]
    store.dict_reset()
    store.dict_fill(items)
    d = store.d
    upd = [(k, v + 1) for k, v in items]
    set_args = [(h, off) + key(k) + enc_in(v) for k, v in upd]
    get_args = [(h, off) + key(k) for k in keys]
    c_set, c_get, c_min = lib.pmo_dict_set, lib.pmo_dict_get, lib.pmo_tx_active

    def loop() -> None:
        for k, v in upd:
            pass

    def full_set() -> None:
        for k, v in upd:
            d[k] = v

    def encode_set() -> None:
        for k, v in upd:
            key(k)
            enc_in(v)

    def call_set() -> None:
        for a in set_args:
            c_set(*a)

    def full_get() -> None:
        for k in keys:
            d[k]

    def encode_get() -> None:
        for k in keys:
            key(k)

    outs: List[Any] = []

    def call_get() -> None:
        outs.clear()
        app = outs.append
        for a in get_args:
            app(c_get(*a))

    def decode_get() -> None:
        for o in outs:
            value(o)

    def minimal_call() -> None:
        for _ in keys:
            c_min(h)

    def ns(fn: Callable[[], None]) -> float:
        return 1e9 / best_of(fn, n, repeat + 2)["ops_per_s"]

    try:
        loop_ns = ns(loop)
        res: Dict[str, Any] = {"count": n, "loop_ns": loop_ns,
                               "minimal_cffi_call_ns": ns(minimal_call) - loop_ns}
        parts = {
            "set": {"total": full_set, "encode": encode_set, "c_call": call_set},
            "get": {"total": full_get, "encode": encode_get, "c_call": call_get,
                    "decode": decode_get},
        }
        for op, fns in parts.items():
            # every component runs in a loop of its own: take the loop out
            r = {f"{name}_ns": ns(fn) - loop_ns for name, fn in fns.items()}
            r["glue_ns"] = r["total_ns"] - sum(v for k, v in r.items() if k != "total_ns")
            r["loop_ns"] = loop_ns
            r["total_ns"] += loop_ns
            for k in [k for k in r if k != "total_ns"]:
                r[k.replace("_ns", "_share")] = r[k] / r["total_ns"]
            res[op] = r
    except Exception as e:  # pragma: no cover - depends on pmemobj internals
        return {"skipped": f"pmemobj internals changed: {e!r}"}
    return res


def profile(store: Store, n: int, top: int = 12) -> Dict[str, Any]:
    """cProfile of the dict set (update) and get loops: the functions with
    the most own time.  cProfile inflates Python-call costs; use it for the
    shape, the breakdown above for the numbers."""
    import cProfile
    import pstats

    keys = [f"k{i}" for i in range(n)]
    store.dict_reset()
    store.dict_fill([(k, i) for i, k in enumerate(keys)])
    d = store.d
    out: Dict[str, Any] = {"count": n}
    for name, code in (("set", "for k in keys: d[k] = 7"), ("get", "for k in keys: d[k]")):
        prof = cProfile.Profile()
        prof.runctx(code, {}, {"d": d, "keys": keys})
        st = pstats.Stats(prof)
        total = st.total_tt
        rows = []
        stats = st.stats  # type: ignore[attr-defined]
        for (fname, line, func), (_, nc, tt, ct, _) in stats.items():
            rows.append({"function": f"{func} ({fname.rsplit('/', 1)[-1]}:{line})",
                         "calls": nc, "tottime_s": tt, "cumtime_s": ct,
                         "share": tt / total if total else 0.0})
        rows.sort(key=lambda r: -r["tottime_s"])
        out[name] = {"total_s": total, "top": rows[:top]}
    return out
