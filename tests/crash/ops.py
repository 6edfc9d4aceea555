"""The harness's operations: a deterministic stream of random mixed steps
that apply equally to built-in containers (the model) and to persistent
ones, so the model after n steps can be rebuilt at any time."""
from __future__ import annotations

import random
from typing import Any, Dict, List, Tuple

KEYS = [f"k{i}" for i in range(12)] + [1, 2.5, (1, "t"), 2**70, None, b"b"]


def value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(9 if depth < 2 else 6)
    if kind == 0:
        return rng.randrange(-1000, 1000)
    if kind == 1:
        return rng.choice([2**64 + rng.randrange(100), -(2**80), 1.5, float("inf")])
    if kind == 2:
        return "s" * rng.randrange(0, 30)
    if kind == 3:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(0, 20)))
    if kind == 4:
        return None if rng.random() < 0.5 else rng.random() < 0.5
    if kind == 5:
        return (rng.randrange(10), "t" * rng.randrange(12))
    if kind == 6:
        return [value(rng, depth + 1) for _ in range(rng.randrange(4))]
    if kind == 7:
        return {rng.choice(KEYS[:12]): value(rng, depth + 1) for _ in range(rng.randrange(3))}
    return frozenset(rng.randrange(20) for _ in range(rng.randrange(4)))


def step(seed: int, i: int) -> Tuple[Any, ...]:
    """The i-th operation of run *seed*."""
    rng = random.Random(seed * 1_000_003 + i)
    target = rng.choice(["list", "list", "dict", "dict", "set", "obj"])
    if target == "list":
        op = rng.choice(["append", "append", "insert", "pop", "set", "delslice",
                         "extend", "sort", "reverse"])
        return (target, op, rng.randrange(-5, 40), value(rng), rng.randrange(0, 6),
                [rng.randrange(100) for _ in range(rng.randrange(1, 20))])
    if target == "dict":
        op = rng.choice(["set", "set", "set", "del", "update", "pop", "popitem", "grow"])
        return (target, op, rng.choice(KEYS), value(rng),
                {rng.choice(KEYS): value(rng) for _ in range(rng.randrange(1, 5))},
                rng.randrange(10**6))
    if target == "set":
        op = rng.choice(["add", "add", "discard", "update"])
        return (target, op, rng.choice(KEYS), [rng.choice(KEYS) for _ in range(3)])
    op = rng.choice(["set", "set", "del"])
    return (target, op, rng.choice(["a", "b", "c", "d"]), value(rng))


def canon(v: Any) -> str:
    """A sort key equal for equal values in every process (the repr of a
    frozenset depends on how it was built)."""
    if isinstance(v, frozenset):
        return "frozenset(" + ",".join(sorted(canon(x) for x in v)) + ")"
    if isinstance(v, tuple):
        return "(" + ",".join(canon(x) for x in v) + ")"
    if isinstance(v, list) or type(v).__name__ == "PersistentList":
        return "[" + ",".join(canon(x) for x in v) + "]"
    if isinstance(v, dict) or type(v).__name__ == "PersistentDict":
        return "{" + ",".join(canon(k) + ":" + canon(x) for k, x in v.items()) + "}"
    return repr(v)


def plain(v: Any) -> Any:
    """A persistent value as built-ins, for comparing with the model."""
    if isinstance(v, dict) or hasattr(v, "items"):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)) or type(v).__name__ in ("PersistentList", "PersistentTuple"):
        items = [plain(x) for x in v]
        return tuple(items) if isinstance(v, tuple) or type(v).__name__ == "PersistentTuple" else items
    if type(v).__name__ in ("PersistentSet",):
        return set(v)
    return v


def apply(op: Tuple[Any, ...], c: Dict[str, Any], attrs: Any) -> None:
    """Apply *op* to containers *c* (and attribute holder *attrs*), the
    same way for the model and for the pool."""
    target, name = op[0], op[1]
    if target == "list":
        lst: List[Any] = c["list"]
        idx, val, k, many = op[2], op[3], op[4], op[5]
        if name == "append":
            lst.append(val)
        elif name == "insert":
            lst.insert(idx, val)
        elif name == "pop" and lst:
            lst.pop(idx % len(lst))
        elif name == "set" and lst:
            lst[idx % len(lst)] = val
        elif name == "delslice":
            del lst[k:k + 3]
        elif name == "extend":
            lst.extend(many)
        elif name == "sort":
            lst.sort(key=canon)
        elif name == "reverse":
            lst.reverse()
    elif target == "dict":
        d = c["dict"]
        key, val, many, n = op[2], op[3], op[4], op[5]
        if name == "set":
            d[key] = val
        elif name == "del":
            d.pop(key, None)
        elif name == "update":
            d.update(many)
        elif name == "pop":
            d.pop(key, None)
        elif name == "popitem" and d:
            d.popitem()
        elif name == "grow":  # many keys at once: resizes
            d.update({f"g{n}-{j}": j for j in range(30)})
    elif target == "set":
        s = c["set"]
        if name == "add":
            s.add(op[2])
        elif name == "discard":
            s.discard(op[2])
        else:
            s.update(op[3])
    else:
        if name == "set":
            setattr(attrs, op[2], op[3])
        elif hasattr(attrs, op[2]):
            delattr(attrs, op[2])


class Attrs:
    """Model of a PersistentObject's attributes."""


def model(seed: int, n: int) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """Built-in containers after the first *n* steps."""
    c: Dict[str, Any] = {"list": [], "dict": {}, "set": set()}
    attrs = Attrs()
    for i in range(n):
        apply(step(seed, i), c, attrs)
    return plain(c), dict(vars(attrs))
