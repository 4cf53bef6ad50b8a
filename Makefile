# Everything a fresh machine needs, behind two commands:
#   make serve   set up, build the site and serve it on http://127.0.0.1:8000
#   make test    set up and run every test (what CI runs, through .ci/run)
# Set-up happens once (and again when pyproject.toml or the constraints change).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
LOCK   := requirements/constraints.txt
DEVICE ?= auto
ADDR   ?= 127.0.0.1:8000
# Where pip finds the CPU build of PyTorch. Empty here: this machine's pip already takes a local CPU
# wheel. The publishing workflow sets it to PyTorch's CPU wheel index (plain PyPI would bring CUDA).
TORCH_INDEX ?=

# mkdocs prints a notice about MkDocs 2 / Zensical on every run; it is not a warning about this site.
export NO_MKDOCS_2_WARNING := 1

SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: setup system-packages serve test figures site lock clean bench-hessian

setup: $(STAMP)

# PyTorch is installed first and on its own, spelled exactly torch==2.13.0: on this kind of machine
# pip then takes the local CPU wheel instead of downloading several GB of CUDA packages.
$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet torch==2.13.0 $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(BIN)/python -m pip install --quiet -c $(LOCK) -e ".[docs,test]"
	touch $@

# Debian's Chromium and CJK fonts for the browser tests (Playwright's own browser download does not
# work here). Installed only when missing.
system-packages:
	@if ! command -v chromium >/dev/null || ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	fi

serve: $(STAMP)
	$(BIN)/mkdocs serve --strict --dev-addr $(ADDR)

test: $(STAMP) system-packages
	$(BIN)/ruff check .
	$(BIN)/python -m pytest --durations=15

figures: $(STAMP)
	$(BIN)/python examples/make_figures.py --device $(DEVICE)

# PyHessian is only for this comparison, never a dependency: pure Python, installed into .bench/.
bench-hessian: $(STAMP)
	$(BIN)/python -m pip install --quiet --no-deps --target .bench/pyhessian pyhessian==0.1
	$(BIN)/python benchmarks/hessian_eigenvalues.py --pyhessian .bench/pyhessian --device $(DEVICE)

site: $(STAMP)
	$(BIN)/mkdocs build --strict

lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet torch==2.13.0
	.lock-venv/bin/python -m pip install --quiet ".[docs,test]"
	{ head -n 2 $(LOCK); .lock-venv/bin/python -m pip freeze --exclude-editable \
	  | grep -vi '^mlnotes' | sed 's/^torch==\(.*\)+cpu$$/torch==\1/'; } > $(LOCK).new
	mv $(LOCK).new $(LOCK) && rm -rf .lock-venv

clean:
	rm -rf site $(VENV) test-artifacts
