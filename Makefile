# Everything a fresh machine needs, behind two commands:
#   make serve   set up, build the site and serve it on http://127.0.0.1:8000
#   make test    set up and run every test (what CI runs, through .ci/run)
# Set-up happens once (and again when pyproject.toml or the lock change).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
LOCK   := requirements/lock.txt
DEVICE ?= auto
ADDR   ?= 127.0.0.1:8000
# Where pip finds the CPU build of PyTorch. Empty here: this machine's pip already takes a local CPU
# wheel. The publishing workflow sets it to PyTorch's CPU wheel index (plain PyPI would bring CUDA).
TORCH_INDEX ?=

# mkdocs prints a notice about MkDocs 2 / Zensical on every run; it is not a warning about this site.
export NO_MKDOCS_2_WARNING := 1

SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: setup system-packages serve test test-fast portability figures site lock clean bench-hessian bench-peers

setup: $(STAMP)

# The lock pins every package with its hashes (pip-tools, see `lock` below); pip installs exactly
# that set, PyTorch included: its hash is that of the local CPU wheel, so no CUDA package is fetched.
# Where TORCH_INDEX is set, PyTorch comes first from that index at the locked version (a package that
# is already installed is not checked against a hash). The lock was resolved for Python 3.11.
$(STAMP): pyproject.toml $(LOCK)
	@$(PYTHON) -c 'import sys; sys.exit(None if sys.version_info[:2] == (3, 11) else \
	  f"the lock in $(LOCK) is for Python 3.11; this is {sys.version.split()[0]}: make PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(if $(TORCH_INDEX),$(BIN)/python -m pip install --quiet "$$(grep -o '^torch==[^ ]*' $(LOCK))" \
	  --index-url $(TORCH_INDEX))
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
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

# The package, its doctests and the book's code blocks: no example runs, no site build, no browser.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not (examples or site or browser or labs)"

# Every test that checks an outcome (package, doc blocks, examples, labs run afresh) under PyTorch's
# default, AVX2 and this CPU's own kernels, on 1 and 2 threads (about 10 min on 2 cores).
portability: $(STAMP)
	$(BIN)/python tests/portability.py

figures: $(STAMP)
	$(BIN)/python examples/make_figures.py --device $(DEVICE)

# PyHessian is only for this comparison, never a dependency: pure Python, installed into .bench/.
bench-hessian: $(STAMP)
	$(BIN)/python -m pip install --quiet --no-deps --target .bench/pyhessian pyhessian==0.1
	$(BIN)/python benchmarks/hessian_eigenvalues.py --pyhessian .bench/pyhessian --device $(DEVICE)

# curvlinops, hessian-eigenthings and PyHessian are only for this comparison, never dependencies:
# exact versions, without their dependencies (torch, numpy and scipy are ours), into .bench/.
PEERS = curvlinops-for-pytorch==3.0.1 hessian-eigenthings==1.0.0a5 backpack-for-pytorch==1.7.1 \
	einops==0.8.2 einconv==0.1.0 linear_operator==0.6.1 opt-einsum==3.4.0
bench-peers: $(STAMP)
	$(BIN)/python -m pip install --quiet --no-deps --target .bench/peers $(PEERS)
	$(BIN)/python -m pip install --quiet --no-deps --target .bench/pyhessian pyhessian==0.1
	$(BIN)/python benchmarks/hessian_peers.py --peers .bench/peers --pyhessian .bench/pyhessian --device $(DEVICE)

site: $(STAMP)
	$(BIN)/mkdocs build --strict

# Re-resolve pyproject.toml's ranges and requirements/lock.in into $(LOCK): exact versions with
# hashes. pip-tools resolves with pip itself, so pip's configuration here (the local CPU wheel of
# PyTorch) is what the lock sees; uv would resolve torch against PyPI's CUDA build. Versions already
# in the lock stay unless a range excludes them; `make lock UPGRADE=1` takes the newest allowed.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet pip-tools==7.6.2
	.lock-venv/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	  --no-emit-index-url --no-emit-find-links $(if $(UPGRADE),--upgrade) \
	  --extra docs --extra test --output-file $(LOCK) pyproject.toml requirements/lock.in
	rm -rf .lock-venv

clean:
	rm -rf site $(VENV) test-artifacts
