# klaviyo-codegen: every target sets up what it needs (venv + pinned packages) on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
OUT    := generated/klaviyo-client
PKG    := $(OUT)/src/klaviyo_client

# Python keeps compiled modules (__pycache__, git-ignored) even where the environment asks it
# not to: without them every pytest process compiles and assertion-rewrites each test module
# again (about 7 s of CPU per worker), and every interpreter a test starts compiles what it
# imports. The generator's own import check always runs with -B and writes none.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: all setup generate fetch test test-fast check lint typecheck pyright drift bench clean

all: generate

$(STAMP): requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

setup: $(STAMP)

## generate: the client package from the default specs (specs/sources.yaml) into generated/
##   NO_LEGACY=1: without klaviyo_client.legacy (no legacy spec needed; generated/ then differs
##   from the committed tree, so `make drift` reports it)
generate: $(STAMP)
	$(BIN)/klaviyo-codegen generate --out $(OUT)$(if $(NO_LEGACY), --no-legacy)

## fetch: download the specs listed in specs/sources.yaml that are not found into ./.spec-cache
fetch: $(STAMP)
	$(BIN)/klaviyo-codegen fetch

## test: the whole test suite (what CI runs) in pytest-xdist workers, one more than cores: many
##   tests wait on real rate-limit windows, deadlines, servers and child processes, not on a
##   core (--dist loadgroup: tests that share a costly module or session fixture run in one worker)
WORKERS := $(shell echo $$(( $$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1) + 1 )))
PYTEST := $(BIN)/python -m pytest -q -n $(WORKERS) --dist loadgroup
test: $(STAMP)
	$(PYTEST)

## test-fast: the inner loop: every test not marked slow (not the end-to-end tier tests/e2e, no
##   mutation cases), with the same workers; `make test` before you push
test-fast: $(STAMP)
	$(PYTEST) -m "not slow"

## check: lint + types (generator and generated package: mypy, pyright) + drift of generated/
check: lint typecheck pyright drift

lint: $(STAMP)
	$(BIN)/ruff check generator templates/overlays tests bench
	$(BIN)/ruff format --check generator templates/overlays tests bench
	cd $(OUT) && ../../$(BIN)/ruff check . && ../../$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy --strict generator
	cd $(OUT) && ../../$(BIN)/mypy --strict src/klaviyo_client

## pyright: pyright (strict: the generated pyproject's [tool.pyright]) on the generated package
pyright: $(STAMP)
	cd $(OUT) && ../../$(BIN)/pyright --pythonpath ../../$(BIN)/python

drift: $(STAMP)
	$(BIN)/klaviyo-codegen check --out $(OUT)

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
