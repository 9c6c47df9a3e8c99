# The two commands of the README: `make figures` and `make test`. Both create .venv and
# install the pinned requirements when missing (a stamp file reinstalls when they change).
PROFILE ?= default
NB ?=
TEST_WORKERS ?= 2
# pytest-xdist: files stay whole on a worker, in the order conftest.py gives (longest first)
XDIST = -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export MPLBACKEND := Agg

.PHONY: setup figures test lint unit site bench clean

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

## Re-execute every notebook (or NB="01_gradient_gap ...") and regenerate every figure.
figures: $(STAMP)
	$(PY) scripts/run_notebooks.py --profile $(PROFILE) $(NB)

## Unit tests, the site in headless Chromium, the perturbation runs (sampled notebooks on other
## CPU vector paths and seeds), then nbval re-executes the committed notebooks and compares their
## checked outputs. Figures and caches of these runs go to a temporary folder (conftest.py).
## pytest-xdist runs TEST_WORKERS files at a time (a file, e.g. a notebook, stays on one worker;
## each perturbation run is a unit of its own: conftest.py).
test: $(STAMP) lint
	$(PY) -m pytest tests notebooks --nbval-lax --nbval-sanitize-with tests/nbval_sanitize.cfg -p no:cacheprovider \
	  $(XDIST)

## The book (Sphinx + MyST-NB + sphinx-book-theme) into build/site, offline, from the committed
## notebooks (no re-execution); incremental (build/.doctrees). Open build/site/index.html.
site: $(STAMP)
	$(PY) book/build.py

## Hygiene (.pre-commit-config.yaml): ruff, notebook template, jupytext pairs.
lint: $(STAMP)
	PATH="$(abspath $(VENV))/bin:$$PATH" $(VENV)/bin/pre-commit run --all-files --show-diff-on-failure

## The fast inner loop (under a minute): library tests without the `slow` ones (kernels, the
## browser, other processes, the perturbation runs, training runs over about a second).
unit: $(STAMP)
	$(PY) -m pytest tests -m "not slow" -p no:cacheprovider $(XDIST)

## Throughput of the engines, speedup over a per-run loop; appended to benchmarks/history.tsv.
bench: $(STAMP)
	$(PY) scripts/bench.py

clean:
	rm -rf build .pytest_cache
