# One entry point for everything: `make demo` and `make test` set up a fresh
# Debian machine on their own (apt packages, virtualenv, C extension).

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
BUILT  := $(VENV)/.built
SOURCES := build.py setup.py pyproject.toml $(wildcard csrc/*.c csrc/*.h)
TMPDIR ?= /tmp
export TMPDIR

# Default test mode: memory treated as pmem (fast; survives process crashes).
FORCE := PMEM_IS_PMEM_FORCE=1
PYTEST := $(PY) -m pytest -q -p no:cacheprovider

.PHONY: all deps demo test test-fast test-msync bench bench-c crash soak clean

all: $(BUILT)

# System packages, installed only when missing.
deps:
	@missing=""; \
	command -v pkg-config >/dev/null 2>&1 || missing="$$missing pkg-config"; \
	pkg-config --exists libpmemobj 2>/dev/null || missing="$$missing libpmemobj-dev"; \
	command -v gcc >/dev/null 2>&1 || missing="$$missing gcc"; \
	$(PYTHON) -c "import sysconfig,os,sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()['include'],'Python.h')))" \
		|| missing="$$missing python3-dev"; \
	$(PYTHON) -c "import ensurepip, venv" 2>/dev/null || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
		echo "installing with apt:$$missing"; \
		SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q $$missing; \
	fi

$(PY): | deps
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# Editable install: builds the cffi extension into pmemobj/ and installs the
# test tools.  Rebuilt whenever the C core or the builder changes.
$(BUILT): $(PY) $(SOURCES)
	$(MAKE) --no-print-directory deps
	$(PY) -m pip install -q -e '.[test]'
	touch $@

demo: $(BUILT)
	$(FORCE) $(PY) -m pmemobj.demo

# The whole suite in force mode, then the msync-marked subset without it.
test: $(BUILT)
	$(FORCE) $(PYTEST) tests
	$(PYTEST) -m msync tests

test-fast: $(BUILT)
	$(FORCE) $(PYTEST) -x tests

bench-c: deps
	$(MAKE) --no-print-directory -C src/bench_c

bench: $(BUILT) bench-c
	$(PY) -m pip install -q -e '.[bench]' && $(PY) src/bench.py

crash: $(BUILT)
	$(FORCE) $(PY) tests/crash/harness.py --cycles $${CRASH_CYCLES:-200}

soak: $(BUILT)
	$(FORCE) HYPOTHESIS_PROFILE=soak $(PYTEST) tests

clean:
	rm -rf build dist *.egg-info .pytest_cache .hypothesis
	rm -f pmemobj/_pmo.c pmemobj/_pmo.o pmemobj/*.so csrc/*.o
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
	-$(MAKE) --no-print-directory -C src/bench_c clean
	rm -rf $(VENV)
