# One entry point for people and CI: `make demo` runs the main job, `make test` the test suite.
# `make install` creates/updates .venv at the repository root with everything (Lava included); it is
# idempotent and quick when nothing changed. `make core-test` builds .venv-core: the core install
# (`pip install -e .`, no extras: numpy 2, no Lava) plus the test tools, and runs the suite there.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.spikernn-installed
CORE   := .venv-core
CBIN   := $(CORE)/bin
CSTAMP := $(CORE)/.spikernn-installed
TORCH  := torch==2.13.0
LAVA   := lava-nc==0.10.0
# norse (NIR tests against Norse) without its torchvision requirement, which it needs only for its vision
# data sets: PyPI's torchvision 0.28 for torch 2.13 does not import beside the CPU build ("operator
# torchvision::nms does not exist"), and an unpinned one replaces torch. pip check then knows this one gap.
NORSE  := norse==1.1.0
PIPCHECK = pip check | grep -v -e '^norse [0-9.]* requires torchvision' -e '^No broken requirements found'; test $$? -eq 1

.PHONY: install demo test core-install core-test clean

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# torch first, pinned: the CPU build already on disk (an unpinned torch pulls a multi-GB CUDA build)
	$(BIN)/pip install -q $(TORCH)
	# the lava extra pins Lava's dependencies (numpy<2, scipy<1.16, ...); lava-nc itself comes next
	$(BIN)/pip install -q -e '.[lava,dev]'
	$(BIN)/pip install -q --no-deps $(NORSE)
	# lava-nc's metadata says Python <3.11 (spikernn makes it import on 3.11: hardware/lava_compat.py)
	$(BIN)/pip install -q --no-deps --ignore-requires-python $(LAVA)
	$(BIN)/$(PIPCHECK)
	touch $(STAMP)

demo: install
	$(BIN)/spikernn demo

# SPIKERNN_TEST_ENV=full: every test must run here; a skipped test fails (tests/conftest.py)
test: install
	SPIKERNN_TEST_ENV=full $(BIN)/python -m pytest -q

core-install: $(CSTAMP)

$(CSTAMP): pyproject.toml Makefile
	test -x $(CBIN)/python || $(PYTHON) -m venv $(CORE)
	$(CBIN)/pip install -q $(TORCH)
	$(CBIN)/pip install -q -e .
	$(CBIN)/python -c "import numpy, sys; print('core environment: numpy', numpy.__version__); sys.exit(int(numpy.__version__.split('.')[0]) < 2)"
	$(CBIN)/pip install -q -e '.[dev]'   # adds only the test tools
	$(CBIN)/pip install -q --no-deps $(NORSE)
	$(CBIN)/$(PIPCHECK)
	touch $(CSTAMP)

# SPIKERNN_TEST_ENV=core: only the Lava tests may skip (with the reason); any other skip fails
core-test: core-install
	SPIKERNN_TEST_ENV=core $(CBIN)/python -m pytest -q

clean:
	rm -rf $(VENV) $(CORE) build *.egg-info
