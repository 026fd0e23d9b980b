# Every target sets itself up: a fresh clone needs only Python 3.10+ and the package registries.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install demo demo-png test lint format bench clean docs system-deps

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[cpu,widget,docs,dev]"
	touch $(STAMP)

install: $(STAMP)

# The quickstart notebook in JupyterLab on 127.0.0.1 (a fresh copy in build/demo, so the one in
# notebooks/ stays clean), on a free port, with a token; the URL to open is printed first.
demo: $(STAMP)
	@mkdir -p build/demo && cp notebooks/quickstart.ipynb build/demo/quickstart.ipynb
	@port=$$($(PY) -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'); \
	token=$$($(PY) -c 'import secrets; print(secrets.token_hex(16))'); \
	echo ""; \
	echo "  SaliencyWidget quickstart in JupyterLab (Ctrl-C to stop):"; \
	echo "  http://127.0.0.1:$$port/lab/tree/quickstart.ipynb?token=$$token"; \
	echo ""; \
	exec $(VENV)/bin/jupyter lab --no-browser --ip=127.0.0.1 --port=$$port --port-retries=0 \
		--IdentityProvider.token=$$token --ServerApp.root_dir=build/demo \
		$$([ "$$(id -u)" = 0 ] && echo --allow-root)

# The command-line demo: maps of the bundled model on a dozen images, as one PNG grid.
demo-png: $(STAMP)
	$(PY) -m saliency_widgets.cli demo

test: $(STAMP) system-deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# System programs the tests need: chromium (pages are opened in a real browser), only when it is
# missing: see .ci/system_deps.py, which `--dry-run` prints instead.
system-deps:
	@$(PYTHON) .ci/system_deps.py

# The documentation site, offline and warning-free (tests/docs builds it too, into a temp dir).
docs: $(STAMP) system-deps
	$(PY) docs/_ext/docs_assets.py
	$(PY) -m sphinx -W --keep-going -j auto -b html -d build/docs/doctrees docs build/docs/html
	@echo "open build/docs/html/index.html"

bench: $(STAMP)
	$(PY) benchmarks/engine_vs_forward.py

clean:
	rm -rf $(VENV) build .pytest_cache .ruff_cache
