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

# The whole suite on SQLite and, at the same time (two cores; the runs share nothing: SQLite
# files and PostgreSQL schemas of their own, unique NATS subjects, free ports), every test that
# touches a register (tests/integration, tests/e2e; tests/unit never opens one) on PostgreSQL
# when PERMIS_TEST_DATABASE_URL is set. The PostgreSQL half runs as two processes: the kill -9
# test (about 150 s, mostly waiting on restarts and commits) beside the rest. Any run failing
# fails the target.
CRASH := tests/integration/test_crash.py
test: lint
	@if [ -n "$$PERMIS_TEST_DATABASE_URL" ]; then \
		log=$$(mktemp); crashlog=$$(mktemp); \
		echo "== the whole suite on SQLite; the register tests on PostgreSQL beside it"; \
		PERMIS_TEST_BACKEND=postgresql $(BIN)/pytest -q --durations=10 tests/integration tests/e2e \
			--ignore=$(CRASH) > $$log 2>&1 & pg=$$!; \
		PERMIS_TEST_BACKEND=postgresql $(BIN)/pytest -q --durations=3 $(CRASH) \
			> $$crashlog 2>&1 & crash=$$!; \
		PERMIS_TEST_BACKEND=sqlite $(BIN)/pytest -q --durations=10; sqlite=$$?; \
		wait $$pg; postgresql=$$?; wait $$crash; crashed=$$?; \
		echo "== the register tests on PostgreSQL"; cat $$log $$crashlog; rm -f $$log $$crashlog; \
		echo "== SQLite exit $$sqlite, PostgreSQL exit $$postgresql and $$crashed"; \
		[ $$sqlite -eq 0 ] && [ $$postgresql -eq 0 ] && [ $$crashed -eq 0 ]; \
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
