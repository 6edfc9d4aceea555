"""A wheel builds from the checkout and works when installed elsewhere."""
from __future__ import annotations

import glob
import os
import subprocess
import sys
import zipfile

import parkit
import pmemobj

from tests.helpers import ROOT


def test_wheel_builds_installs_and_runs(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels),
                    ROOT], check=True, capture_output=True, timeout=600)
    (wheel,) = glob.glob(str(wheels / f"pmemobj-{pmemobj.__version__}-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for expected in ("pmemobj/py.typed", "parkit/py.typed", "pmemobj/cli.py", "parkit/cli.py"):
        assert expected in names
    assert any(n.startswith("pmemobj/_pmo") and n.endswith(".so") for n in names)
    entry_points = zipfile.ZipFile(wheel).read(
        next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "pmemobj = pmemobj.cli:main" in entry_points and "parkit = parkit.cli:main" in entry_points

    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target",
                    str(target), wheel], check=True, capture_output=True, timeout=600)
    code = ("import os, sys, tempfile, pmemobj, parkit\n"
            "assert pmemobj.__file__.startswith(sys.argv[1]), pmemobj.__file__\n"
            "p = os.path.join(tempfile.mkdtemp(), 'w.pool')\n"
            "with pmemobj.create(p) as pool: pool.root = [1, 'two']\n"
            "with pmemobj.open(p) as pool: print(pool.root)\n")
    env = dict(os.environ, PYTHONPATH=str(target))
    out = subprocess.run([sys.executable, "-c", code, str(target)], cwd=str(tmp_path),
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "[1, 'two']", out.stderr


def test_one_version_for_the_project():
    """The version is written once (pmemobj/_version.py): the installed
    metadata and both packages say the same."""
    import importlib.metadata
    assert importlib.metadata.version("pmemobj") == pmemobj.__version__ == parkit.__version__
    assert "version =" not in open(os.path.join(ROOT, "pyproject.toml")).read().split(
        "[tool.setuptools.dynamic]")[0]
