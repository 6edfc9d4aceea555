"""cffi builder for pmemobj's C core (out-of-line, API mode).

The C core's interface lives in csrc/pmo.h; cffi parses that same file
(with the preprocessor lines dropped), so the declarations are written once.
libpmemobj's flags come from pkg-config.

Only PyInit__pmo is exported: everything else is compiled with hidden
visibility (cffi's module calls the pmo_ functions inside the same object).
The extension carries a hash of the sources it was built from
(pmo_source_hash), which pmemobj checks at import in a source tree.
"""
import glob
import importlib.util
import os
import shlex
import subprocess
import sys

from cffi import FFI

HERE = os.path.dirname(os.path.abspath(__file__))
CSRC = os.path.join(HERE, "csrc")


def _pkg_config(*args: str) -> list:
    try:
        out = subprocess.run(
            ["pkg-config", *args, "libpmemobj"],
            check=True, capture_output=True, text=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        sys.exit(
            "build.py: libpmemobj was not found by pkg-config.\n"
            "Install it first, e.g. on Debian/Ubuntu:\n"
            "    sudo apt-get install libpmemobj-dev pkg-config\n"
            "(`make demo` does this for you)."
        )
    return shlex.split(out)


def _cdef() -> str:
    with open(os.path.join(CSRC, "pmo.h")) as f:
        return "".join(line for line in f if not line.lstrip().startswith("#"))


def _sources() -> list:
    # relative paths keep the build reproducible and the wheel clean
    return sorted(os.path.relpath(p, HERE) for p in glob.glob(os.path.join(CSRC, "*.c")))


def _source_hash() -> str:
    # loaded by path: importing the package would import the extension
    spec = importlib.util.spec_from_file_location(
        "_pmo_sourcehash", os.path.join(HERE, "pmemobj", "_sourcehash.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.source_hash(HERE)


ffibuilder = FFI()
ffibuilder.cdef(_cdef())
_flags = _pkg_config("--cflags") + _pkg_config("--libs")
ffibuilder.set_source(
    "pmemobj._pmo",
    '#include "pmo.h"\n\n'
    'const char *pmo_source_hash(void) { return "%s"; }\n' % _source_hash(),
    sources=_sources(),
    include_dirs=[os.path.relpath(CSRC, HERE)],
    extra_compile_args=["-std=gnu11", "-O2", "-Wall", "-Wno-unused-function",
                        "-fvisibility=hidden"]
    + [f for f in _flags if not f.startswith("-l")],
    extra_link_args=[f for f in _flags if f.startswith("-l")] + ["-lpthread", "-lm"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
