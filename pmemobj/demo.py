"""A short demo: create a pool, store data, close, reopen, print it."""
from __future__ import annotations

import os
import tempfile

import pmemobj


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "demo.pool")
        with pmemobj.create(path) as pool:
            pool.root = {"name": "demo", "scores": [3, 1, 2], "tags": {"pmem"}}
            with pool.transaction():
                pool.root["scores"].append(4)
                pool.root["scores"].sort()
                pool.root["pi"] = 3.14159
        print(f"created {path} and closed it")
        with pmemobj.open(path) as pool:
            root = pool.root
            print("reopened; root is", type(root).__name__)
            for key, value in root.items():
                print(f"  {key!r}: {value!r}")
            print("pool stats:", pool.stats())


if __name__ == "__main__":
    main()
