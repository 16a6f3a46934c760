# One entry point for people and CI: `make demo` runs the main job, `make test` the test suite.
# `make install` creates/updates .venv at the repository root; it is idempotent and quick when nothing changed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.spikernn-installed

.PHONY: install demo test bench clean

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# torch first, pinned: the CPU build already on disk (an unpinned torch pulls a multi-GB CUDA build)
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev]'
	# lava-nc's metadata says Python <3.11; its dependencies are pinned in pyproject.toml
	$(BIN)/pip install -q --no-deps --ignore-requires-python lava-nc==0.10.0
	touch $(STAMP)

demo: install
	$(BIN)/spikernn demo

test: install
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) build *.egg-info
