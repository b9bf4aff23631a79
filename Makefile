# Permis: `make demo` and `make test` set themselves up on a fresh machine (Python 3.11 + make).
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: venv demo test lint unit bench docs clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/permis demo

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

# The whole suite on SQLite, then every test that touches a register (tests/integration and
# tests/e2e; tests/unit never opens one) again on PostgreSQL when PERMIS_TEST_DATABASE_URL is set.
test: lint
	PERMIS_TEST_BACKEND=sqlite $(BIN)/pytest -q
	@if [ -n "$$PERMIS_TEST_DATABASE_URL" ]; then \
		echo "== every register test again on PostgreSQL"; \
		PERMIS_TEST_BACKEND=postgresql $(BIN)/pytest -q tests/integration tests/e2e; \
	else \
		echo "*** The PostgreSQL half did NOT run: set PERMIS_TEST_DATABASE_URL"; \
		echo "*** (e.g. postgresql://postgres@127.0.0.1:5432/test) to run it."; \
	fi

unit: $(STAMP)
	$(BIN)/pytest tests/unit

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

docs: $(STAMP)
	$(BIN)/typer permis.entrypoints.cli utils docs --name permis --title "permis command line" --output docs/cli.md
	$(BIN)/permis rules --markdown > docs/rules.md

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .hypothesis build *.egg-info src/*.egg-info
