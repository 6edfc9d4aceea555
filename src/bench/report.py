"""Turning results.json into tables, target verdicts and a chart."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from bench.common import fmt_rate, fmt_ratio, ratio
from bench.suite import OP_DOC, OPS

# (column label, spec) -- the first column is pmemobj in that mode
FORCE_COLUMNS = [("pmemobj", "pmemobj-force"), ("lmdb", "lmdb-nosync"),
                 ("sqlite", "sqlite-normal"), ("shelve", "shelve"),
                 ("diskcache", "diskcache"), ("ZODB*", "zodb")]
MSYNC_COLUMNS = [("pmemobj", "pmemobj-msync"), ("lmdb", "lmdb-sync"),
                 ("sqlite", "sqlite-full"), ("ZODB", "zodb")]

TABLES = [
    {"title": "FORCE MODE -- pmemobj with PMEM_IS_PMEM_FORCE=1 vs peers that do not "
              "fsync per commit\n  (lmdb sync=False, sqlite WAL synchronous=NORMAL, "
              "shelve, diskcache; *ZODB fsyncs every commit, shown for reference)",
     "mode": "force", "columns": FORCE_COLUMNS,
     "ratios": [("vs lmdb", "lmdb-nosync"), ("vs best", None)]},
    {"title": "MSYNC MODE -- pmemobj flushing with msync vs peers that fsync every commit\n"
              "  (lmdb sync=True, sqlite WAL synchronous=FULL, ZODB FileStorage)",
     "mode": "msync", "columns": MSYNC_COLUMNS,
     "ratios": [("vs lmdb", "lmdb-sync"), ("vs sqlite", "sqlite-full")]},
]

C_LABEL = {"alloc_tx_per_s": "alloc-tx", "update_tx_per_s": "update-tx", "read_per_s": "read"}
COLORS = {"pmemobj": "black", "lmdb": "tab:blue", "sqlite": "tab:orange",
          "shelve": "tab:green", "diskcache": "tab:red", "zodb": "tab:purple"}
FLOOR = {op: floor for op, _, _, floor in OPS}  # operation -> C-harness figure


class Results:
    """Lookups over a results.json dictionary."""

    def __init__(self, data: Dict[str, Any]):
        self.data = data
        self.rates: Dict[Tuple[str, str, str], float] = {}
        self.counts: Dict[str, int] = {}
        for r in data.get("ops", []):
            self.rates[(r["spec"], r["op"], r["mode"])] = r["ops_per_s"]
            self.counts[r["spec"]] = r["count"]

    def rate(self, spec: str, op: str, mode: str) -> Optional[float]:
        return self.rates.get((spec, op, mode))

    def c_floor(self, mode: str, key: str) -> Optional[float]:
        c = self.data.get("c_floor") or {}
        return (c.get(mode) or {}).get(key)

    def has(self, spec: str) -> bool:
        return spec in self.counts


def _row_keys() -> List[Tuple[str, str, str]]:
    return [(op, mode, floor) for op, _, modes, floor in OPS for mode in modes]


def ops_table(res: Results, table: Dict[str, Any]) -> List[str]:
    cols = [(label, spec) for label, spec in table["columns"]
            if res.has(spec) or spec.startswith("pmemobj")]
    pm_spec = cols[0][1]
    peers = [spec for _, spec in cols[1:]]
    head = f"{'operation':13s} {'mode':6s} " + " ".join(f"{label:>10s}" for label, _ in cols)
    head += " " + " ".join(f"{label:>9s}" for label, _ in table["ratios"]) + f" {'vs C':>17s}"
    lines = [table["title"], head, "-" * len(head)]
    for op, mode, floor in _row_keys():
        pm = res.rate(pm_spec, op, mode)
        vals = [fmt_rate(res.rate(spec, op, mode)) for _, spec in cols]
        line = f"{op:13s} {mode:6s} " + " ".join(f"{v:>10s}" for v in vals)
        for label, spec in table["ratios"]:
            if spec is None:  # best peer of the table
                rates = [res.rate(s, op, mode) for s in peers]
                rates = [r for r in rates if r is not None]
                ref = max(rates) if rates else None
            else:
                ref = res.rate(spec, op, mode)
            line += f" {fmt_ratio(ratio(pm, ref)):>9s}"
        c = res.c_floor(table["mode"], floor)
        line += f" {fmt_ratio(ratio(pm, c)):>7s} {C_LABEL[floor]:>9s}"
        lines.append(line)
    counts = ", ".join(f"{label.rstrip('*')} {res.counts[spec]:,}" for label, spec in cols
                       if spec in res.counts)
    meta = res.data.get("meta", {})
    rounds = (meta.get("settings") or {}).get("rounds", 1)
    lines.append(f"  ops per measurement: {counts}; batch = {meta.get('batch', '?')} ops per "
                 f"transaction; ratios are pmemobj / other; each figure is the best of "
                 f"{(meta.get('settings') or {}).get('repeat', '?')} repeats"
                 + (f" and, for pmemobj and lmdb, of {rounds} rounds run minutes apart"
                    if rounds > 1 else ""))
    return lines


def scaling_table(res: Results) -> List[str]:
    sc = res.data.get("scaling") or {}
    if not sc:
        return []
    head = (f"{'system':8s} {'entries':>9s} {'insert/s':>9s} {'get/s':>9s} {'update/s':>9s} "
            f"{'RSS MiB':>8s} {'anon':>6s} {'file':>6s} {'pool MiB':>8s} {'open ms':>8s} "
            f"{'close ms':>8s} {'C open':>7s} {'C close':>7s}")
    nan = float("nan")
    lines = ["SCALING -- one mapping grown to N entries, one insert per transaction; get and "
             "update of random existing keys\n  (pmemobj force mode, lmdb sync=False; RSS "
             "anon = Python heap, file = mapped pool/database pages;\n  open/close: medians, "
             "C open/close = raw pmemobj_open/close of the same file, timed alternately)",
             head, "-" * len(head)]
    for spec, rows in sc.items():
        for r in rows:
            pool = (r.get("pool") or {}).get("bytes_used")
            lines.append(
                f"{r['system']:8s} {r['entries']:>9,d} {fmt_rate(r['insert_per_s']):>9s} "
                f"{fmt_rate(r['get_per_s']):>9s} {fmt_rate(r['update_per_s']):>9s} "
                f"{r['rss_kb'] / 1024:>8.0f} {r['rss_anon_kb'] / 1024:>6.0f} "
                f"{r['rss_file_kb'] / 1024:>6.0f} "
                f"{(pool / 2**20 if pool else float('nan')):>8.1f} "
                f"{r.get('open_ms', nan):>8.2f} {r.get('close_ms', nan):>8.2f} "
                f"{r.get('c_open_ms', nan):>7.2f} {r.get('c_close_ms', nan):>7.2f}")
    return lines


def breakdown_lines(res: Results) -> List[str]:
    bd = res.data.get("breakdown")
    if not bd:
        return []
    if "skipped" in bd:
        return [f"BREAKDOWN skipped: {bd['skipped']}"]
    lines = [f"WHERE THE TIME GOES -- pmemobj force mode, {bd['count']:,} existing str keys, "
             f"int values (ns per operation; each part timed in its own loop)"]
    cu = res.c_floor("force", "update_tx_per_s")
    for op in ("set", "get"):
        r = bd[op]
        parts = [("loop", "loop"), ("encode", "encode"), ("C call", "c_call"),
                 ("decode", "decode"), ("glue", "glue")]
        text = " + ".join(f"{label} {r[k + '_ns']:.0f} ({r[k + '_share']:.0%})"
                          for label, k in parts if k + "_ns" in r)
        lines.append(f"  dict {op}: {r['total_ns']:.0f} ns = {text}")
    lines.append(f"  a minimal cffi call (pmo_tx_active) costs {bd['minimal_cffi_call_ns']:.0f} ns"
                 + (f"; the C harness's update-tx takes {1e9 / cu:.0f} ns" if cu else ""))
    lines.append("  encode = MemoryManager.encode_key/encode (type dispatch, str.encode, "
                 "arg tuples); "
                 "C call = the cffi call to pmo_dict_set/get (tx, hash, probe, snapshot); "
                 "glue = __setitem__/__getitem__ dispatch, attribute loads, status checks")
    return lines


def profile_lines(res: Results) -> List[str]:
    lines: List[str] = []
    for spec, pr in (res.data.get("profile") or {}).items():
        lines.append(f"CPROFILE -- {spec} dict loops (update of existing keys), "
                     f"{pr['count']:,} ops (cProfile inflates Python-call costs: read the "
                     f"shape, not the totals)")
        for op in ("set", "get"):
            lines.append(f"  dict {op}: total {pr[op]['total_s'] * 1e3:.0f} ms")
            for r in pr[op]["top"][:8]:
                lines.append(f"    {r['share']:6.1%} {r['tottime_s'] * 1e3:8.1f} ms "
                             f"{r['calls']:>9,d}  {r['function']}")
    return lines


# -- parkit ---------------------------------------------------------------------

#: (operation, mode) rows of the parkit table: every operation of the suite
PARKIT_ROWS = [(op, mode) for op, _, modes, _ in OPS for mode in modes]


def paired_pmemobj(res: Results, spec: str, op: str, mode: str) -> Optional[float]:
    """pmemobj's rate measured in the same worker as parkit *spec* (see
    src/bench.py), else in its own worker."""
    return res.rate(f"{spec}:pmemobj", op, mode) or \
        res.rate("pmemobj-" + spec.split("-")[1], op, mode)


def parkit_table(res: Results) -> List[str]:
    """parkit's Dict, Log and Object against pmemobj's PersistentDict,
    PersistentList and PersistentObject, operation by operation, in each
    mode: the rates and their ratios."""
    modes = [m for m in ("force", "msync") if res.has(f"parkit-{m}")]
    if not modes:
        return []
    group = f"{'pmemobj':>9s} {'parkit':>9s} {'ratio':>7s} {'unversioned':>11s} {'ratio':>7s}"
    head = f"{'operation':13s} {'mode':6s} " + "   ".join(group for _ in modes)
    over = " " * 21 + "   ".join(f"{' ' + m + ' ':-^{len(group)}s}" for m in modes)
    batch = (res.data.get("meta") or {}).get("batch", "?")
    lines = ["PARKIT -- one process alone: parkit's Dict, Log and Object (declaring a0..a7) "
             "vs pmemobj's\n  PersistentDict, PersistentList and PersistentObject, same "
             "operations, same counts\n  (str keys, int values; tx/op = every call its own "
             f"transaction; batch = {batch} calls in one\n  `with parkit.transaction(ns)`, "
             "reads in `parkit.snapshot(ns)`; ratio = parkit / pmemobj measured in the same\n  "
             "process just before, the requirement is 1.00x; unversioned = versioned=False:\n  "
             "writes without the version count)",
             over, head, "-" * len(head)]
    for op, mode in PARKIT_ROWS:
        groups = []
        for m in modes:
            pm = paired_pmemobj(res, f"parkit-{m}", op, mode)
            pk = res.rate(f"parkit-{m}", op, mode)
            nv = res.rate(f"parkit-{m}-unversioned", op, mode)
            pm_nv = paired_pmemobj(res, f"parkit-{m}-unversioned", op, mode)
            groups.append(f"{fmt_rate(pm):>9s} {fmt_rate(pk):>9s} "
                          f"{fmt_ratio(ratio(pk, pm)):>7s} {fmt_rate(nv):>11s} "
                          f"{(fmt_ratio(ratio(nv, pm_nv)) if nv else '-'):>7s}")
        lines.append(f"{op:13s} {mode:6s} " + "   ".join(groups))
    # what parkit adds to each call, in force mode, where it is not hidden by msync
    added = []
    for op, mode in PARKIT_ROWS:
        if mode != "tx/op":
            continue
        pm = paired_pmemobj(res, "parkit-force", op, "tx/op")
        pk = res.rate("parkit-force", op, "tx/op")
        if pm and pk:
            added.append(f"{op} {1e9 / pk - 1e9 / pm:+.0f} ns")
    if added:
        lines.append("  force, tx/op: parkit adds per call " + ", ".join(added))
    counts = ", ".join(f"{m} {res.counts[f'parkit-{m}']:,}" for m in modes)
    lines.append(f"  ops per measurement: {counts} (as pmemobj in that mode)")
    return lines


def contention_table(res: Results) -> List[str]:
    rows = res.data.get("contention") or []
    if not rows:
        return []
    head = (f"{'procs':>5s} {'each':>7s} {'final':>8s} {'':4s} {'total/s':>8s} "
            f"{'per proc/s':>10s} {'vs 1':>6s} {'hand-offs':>9s} {'per proc':>8s} "
            f"{'open ms':>8s} {'close ms':>8s} {'handing':>7s} {'waiting':>7s}")
    lines = ["PARKIT, MANY PROCESSES -- N fresh interpreters each add 1 to one parkit.Dict "
             "value K times,\n  one parkit.transaction per increment, force mode (best run "
             "by total rate; hand-offs = opens\n  of the namespace while running, open/close "
             "ms = mean per hand-off, handing = share of each\n  process's time spent closing "
             "and opening, waiting = share blocked on the namespace lock)",
             head, "-" * len(head)]
    one = next((r["total_per_s"] for r in rows if r["procs"] == 1), None)

    def num(x: Optional[float], spec: str, width: int) -> str:
        return format("-" if x is None else format(x, spec), f">{width}s")

    for r in rows:
        ok = "ok" if "error" not in r else "LOST" if r["final"] < r["expected"] else "BAD"
        lines.append(
            f"{r['procs']:>5d} {r['increments_each']:>7,d} {r['final']:>8,d} {ok:4s} "
            f"{fmt_rate(r['total_per_s']):>8s} {fmt_rate(r['per_proc_per_s']):>10s} "
            f"{fmt_ratio(ratio(r['total_per_s'], one)):>6s} "
            + " ".join([num(r.get("handoffs"), "d", 9), num(r.get("handoffs_per_proc"), ".1f", 8),
                        num(r.get("open_ms"), ".2f", 8), num(r.get("close_ms"), ".2f", 8),
                        num(r.get("handoff_share"), ".1%", 7),
                        num(r.get("wait_share"), ".1%", 7)]))
        if "error" in r:
            lines.append(f"  ERROR {r['error']}")
    costs = [r["open_ms"] + r["close_ms"] for r in rows
             if r.get("open_ms") is not None and r.get("close_ms") is not None]
    if costs:
        slice_s = rows[-1].get("slice_s")
        lines.append(f"  a hand-off (close + open) costs {min(costs):.1f}-{max(costs):.1f} ms"
                     + (f", against a time slice of {slice_s * 1e3:.0f} ms" if slice_s else "")
                     + (f"; one increment alone takes {1e6 / one:.1f} us" if one else ""))
    return lines


# -- targets ------------------------------------------------------------------


def _target(name: str, value: Optional[float], ref: Optional[float], need: float,
            why_na: str = "") -> Dict[str, Any]:
    r = ratio(value, ref)
    t: Dict[str, Any] = {"target": name, "value": value, "reference": ref,
                         "ratio": r, "need": need, "met": None if r is None else r >= need}
    if r is None:
        t["detail"] = f"n/a ({why_na or 'no measurement'})"
    else:
        t["detail"] = (f"{fmt_rate(value)}/s vs {fmt_rate(ref)}/s = {fmt_ratio(r)} "
                       f"(needs >= {need:.2f}x): ")
        if r >= need:
            t["detail"] += f"met, {r / need - 1:.0%} margin"
        else:
            t["detail"] += f"missed by {1 - r / need:.0%} (needs {fmt_ratio(need / r)} faster)"
    return t


def targets(res: Results) -> List[Dict[str, Any]]:
    pf = lambda op, mode="tx/op": res.rate("pmemobj-force", op, mode)  # noqa: E731
    pm = lambda op, mode="tx/op": res.rate("pmemobj-msync", op, mode)  # noqa: E731
    no_lmdb = "lmdb not installed" if not res.has("lmdb-nosync") else ""
    no_c = "" if res.data.get("c_floor") else "C harness not run (make bench-c)"
    out = [
        _target("force: PersistentDict set (one tx per op) >= lmdb sync=False put (one txn "
                "per op)", pf("dict.set"), res.rate("lmdb-nosync", "dict.set", "tx/op"), 1.0,
                no_lmdb),
        _target("force: PersistentDict get >= lmdb get (lmdb at its fastest: 1000 gets per "
                "read txn)", pf("dict.get"), res.rate("lmdb-nosync", "dict.get", "batch"), 1.0,
                no_lmdb),
        _target("force: dict set (insert, tx/op) >= 50% of C alloc-tx",
                pf("dict.set"), res.c_floor("force", "alloc_tx_per_s"), 0.5, no_c),
        _target("force: dict set (insert, tx/op) >= 50% of C update-tx",
                pf("dict.set"), res.c_floor("force", "update_tx_per_s"), 0.5, no_c),
        _target("force: dict update (tx/op) >= 50% of C update-tx",
                pf("dict.update"), res.c_floor("force", "update_tx_per_s"), 0.5, no_c),
        _target("force: dict get >= 50% of C read",
                pf("dict.get"), res.c_floor("force", "read_per_s"), 0.5, no_c),
        _target("msync: PersistentDict set (tx/op) >= lmdb sync=True put (txn per op)",
                pm("dict.set"), res.rate("lmdb-sync", "dict.set", "tx/op"), 1.0,
                "lmdb not installed" if not res.has("lmdb-sync") else ""),
    ]
    # parkit: "one process alone runs as fast as plain pmemobj"
    checks = [("force", op, how, "") for op, how in PARKIT_ROWS if how != "batch"]
    checks += [("force", "dict.set", "tx/op", "-unversioned"),
               ("force", "dict.set", "batch", ""), ("msync", "dict.set", "tx/op", "")]
    for mode, op, how, variant in checks:
        what = {"tx/op": "one tx per op", "batch": "in parkit.transaction batches",
                "scan": "one pass"}[how]
        spec = f"parkit-{mode}{variant}"
        kind = "unversioned " if variant else ""
        out.append(_target(
            f"parkit {mode}: one process alone, {kind}{op} ({what}) as fast as pmemobj",
            res.rate(spec, op, how), paired_pmemobj(res, spec, op, how), 1.0,
            "" if res.has(spec) else f"{spec} not run"))
    return out


def info_checks(res: Results) -> List[str]:
    lines = []
    pm, sq = res.rate("pmemobj-msync", "dict.set", "tx/op"), res.rate("sqlite-full", "dict.set",
                                                                       "tx/op")
    if pm and sq:
        lines.append(f"  [info] msync: dict set vs sqlite synchronous=FULL (commit per op): "
                     f"{fmt_ratio(ratio(pm, sq))}")
    for op in ("dict.update", "list.append", "obj.setattr", "dict.delete"):
        py = res.rate("pmemobj-force", op, "tx/op")
        lm = res.rate("lmdb-nosync", op, "tx/op")
        c = res.c_floor("force", FLOOR[op])
        lines.append(f"  [info] force: {op} tx/op is {fmt_ratio(ratio(py, lm))} lmdb "
                     f"sync=False and {fmt_ratio(ratio(py, c))} of C {C_LABEL[FLOOR[op]]}")
    rows = (res.data.get("scaling") or {}).get("pmemobj-force") or []
    if rows and "open_ms" in rows[-1]:
        small, big = rows[0], rows[-1]
        c_small, c_big = small.get("c_open_ms"), big.get("c_open_ms")
        text = (f"pool with {big['entries']:,} entries opens in {big['open_ms']:.2f} ms "
                f"(median of {len(big['open_samples_ms'])})")
        if c_small is not None and c_big is not None:
            # what pmemobj adds to pmemobj_open must not grow with the object count
            added_small, added_big = small["open_ms"] - c_small, big["open_ms"] - c_big
            flat = added_big <= added_small + 2.0
            text += (f", raw pmemobj_open of the same file {c_big:.2f} ms: pmemobj adds "
                     f"{added_big:+.2f} ms (with {small['entries']:,} entries: "
                     f"{added_small:+.2f} ms)")
        else:
            flat = big["open_ms"] <= 3 * small["open_ms"] + 2.0
            text += f" vs {small['open_ms']:.2f} ms with {small['entries']:,}"
        lines.append(f"  [{'ok' if flat else 'SCAN?'}] clean open does not scan: {text}")
    return lines


def render(data: Dict[str, Any]) -> List[str]:
    res = Results(data)
    out: List[str] = []
    for table in TABLES:
        if res.has(table["columns"][0][1]):
            out += ops_table(res, table) + [""]
    out += ["operations: " + "; ".join(f"{op} = {doc}" for op, doc in OP_DOC.items()), ""]
    for lines in (parkit_table(res), contention_table(res), scaling_table(res),
                  breakdown_lines(res), profile_lines(res)):
        if lines:
            out += lines + [""]
    c = data.get("c_floor")
    if c:
        out.append("C FLOOR (src/bench_c/pmembench): " + "; ".join(
            f"{m}: alloc-tx {fmt_rate(c[m]['alloc_tx_per_s'])}/s, update-tx "
            f"{fmt_rate(c[m]['update_tx_per_s'])}/s, read {fmt_rate(c[m]['read_per_s'])}/s, "
            f"open {c[m]['open_ms']:.2f} ms" for m in ("force", "msync") if m in c))
        out.append("")
    out.append("TARGETS")
    for t in data.get("targets", []):
        mark = {True: "MET ", False: "MISS", None: "n/a "}[t["met"]]
        out.append(f"  [{mark}] {t['target']}: {t['detail']}")
    out += info_checks(res)
    skipped = data.get("skipped") or []
    if skipped:
        out.append("")
        out += [f"  skipped: {s}" for s in skipped]
    return out


def chart(data: Dict[str, Any], path: str) -> Optional[str]:
    """Ops/s per operation, pmemobj vs peers, log scale; None if matplotlib
    is missing (the reason is returned instead)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:
        return f"no chart: {e}"
    res = Results(data)
    rows = _row_keys()
    tables = [t for t in TABLES if res.has(t["columns"][0][1])]
    fig, axes = plt.subplots(1, len(tables), figsize=(8 * len(tables), 11), squeeze=False)
    for ax, table in zip(axes[0], tables):
        cols = [(label, spec) for label, spec in table["columns"] if res.has(spec)]
        height = 0.8 / max(len(cols), 1)
        for j, (label, spec) in enumerate(cols):
            ys = [i + j * height for i in range(len(rows))]
            xs = [res.rate(spec, op, mode) or 0 for op, mode, _ in rows]
            ax.barh(ys, xs, height=height, label=f"{label.rstrip('*')} ({spec})",
                    color=COLORS.get(spec.split("-")[0]))
        ax.set_yticks([i + 0.4 - height / 2 for i in range(len(rows))])
        ax.set_yticklabels([f"{op} {mode}" for op, mode, _ in rows])
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.set_xlabel("operations per second (log scale)")
        ax.set_title(table["title"].split(" -- ")[0] + ": pmemobj vs peers")
        ax.grid(axis="x", which="both", alpha=0.3)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.05), ncol=3, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None
