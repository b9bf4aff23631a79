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

# The whole suite on SQLite and, at the same time (two cores; the halves share nothing: SQLite
# files and PostgreSQL schemas of their own, unique NATS subjects, free ports), every test that
# touches a register (tests/integration, tests/e2e; tests/unit never opens one) on PostgreSQL
# when PERMIS_TEST_DATABASE_URL is set. Either half failing fails the target.
test: lint
	@if [ -n "$$PERMIS_TEST_DATABASE_URL" ]; then \
		log=$$(mktemp); \
		echo "== the whole suite on SQLite; the register tests on PostgreSQL beside it"; \
		PERMIS_TEST_BACKEND=postgresql $(BIN)/pytest -q --durations=10 tests/integration tests/e2e \
			> $$log 2>&1 & pg=$$!; \
		PERMIS_TEST_BACKEND=sqlite $(BIN)/pytest -q --durations=10; sqlite=$$?; \
		wait $$pg; postgresql=$$?; \
		echo "== the register tests on PostgreSQL"; cat $$log; rm -f $$log; \
		echo "== SQLite exit $$sqlite, PostgreSQL exit $$postgresql"; \
		[ $$sqlite -eq 0 ] && [ $$postgresql -eq 0 ]; \
	else \
		PERMIS_TEST_BACKEND=sqlite $(BIN)/pytest -q; \
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
	PERMIS_WRITE_DOCS=1 $(BIN)/pytest -q tests/e2e tests/integration/test_report.py  # the screenshots

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .hypothesis build *.egg-info src/*.egg-info
