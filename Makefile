# The README's commands. `make install` is quick when pyproject.toml has not changed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TORCH_PIN := torch==2.13.0
DEEPSPEED_PIN := deepspeed==0.19.8
export HF_HUB_OFFLINE := 1
export RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER := 0

.PHONY: install install-browser demo test test-slow lint format bench clean

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip setuptools wheel
	# torch first and pinned: unpinned, pip resolves to a multi-GB CUDA build on CPU machines
	$(BIN)/pip install --quiet $(TORCH_PIN)
	$(BIN)/pip install --quiet -e '.[all,dev]'
	# deepspeed compiles its ops on first use; building none here keeps the install short
	DS_BUILD_OPS=0 $(BIN)/pip install --quiet --no-build-isolation $(DEEPSPEED_PIN)
	touch $(STAMP)

# Debian's Chromium for the chat page's browser test (Playwright drives this binary; nothing is downloaded)
install-browser:
	command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; }

demo: install
	$(BIN)/cephalo demo

lint: install
	$(BIN)/ruff format --check cephalo_ray tests bench
	$(BIN)/ruff check cephalo_ray tests bench
	$(BIN)/mypy

format: install
	$(BIN)/ruff format cephalo_ray tests bench
	$(BIN)/ruff check --fix cephalo_ray tests bench

test: lint
	$(BIN)/pytest -q

test-slow: install
	# exit code 5 means no slow test was collected, which is not a failure
	$(BIN)/pytest -q -m slow || [ $$? -eq 5 ]

bench: install
	$(BIN)/python -m bench.extract_throughput

clean:
	rm -rf $(VENV) demo_out .pytest_cache
