# The two commands: `make demo` and `make test`. Everything else is a step they share.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck check env lock bench clean vscode vscode-test web web-api web-test

env: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.lock
	$(BIN)/python -m pip install -q --no-deps -e .
	# An editable install compiles nothing; without .pyc files every command recompiles ~90 modules.
	$(BIN)/python -m compileall -q src > /dev/null
	touch $(STAMP)

demo: $(STAMP) web
	@cd examples/iris && PATH="$(CURDIR)/$(BIN):$$PATH" reefline run
	@echo
	@echo "Outputs:  examples/iris/out/ (report.md has the winner)"
	@echo "Runs:     cd examples/iris && ../../$(BIN)/reefline runs"
	@echo "Jobs:     cd examples/iris && ../../$(BIN)/reefline show last"
	@echo "Logs:     cd examples/iris && ../../$(BIN)/reefline logs last"
	@echo "Run 'make demo' again: every job is cached."
	@echo "For a team: '.venv/bin/reefline server' (README, section 'The server')."

test: $(STAMP) lint typecheck vscode-test web-test
	$(BIN)/pytest -q -n 2 -p no:cacheprovider

# The VS Code extension (vscode/): Node packages from its lock file, unit tests (node --test, some
# against this venv's reefline), and the .vsix (vscode/reefline.vsix). Needs Node 20 and npm.
NPM_STAMP := vscode/node_modules/.installed

$(NPM_STAMP): vscode/package.json vscode/package-lock.json
	cd vscode && npm ci --no-audit --no-fund --loglevel=error
	touch $(NPM_STAMP)

vscode-test: $(STAMP) $(NPM_STAMP)
	$(BIN)/reefline schema -o vscode/schema/reefline.schema.json
	cd vscode && npx tsc -p . && npx vsce package --skip-license --allow-missing-repository -o reefline.vsix
	cd vscode && REEFLINE_BIN=$(CURDIR)/$(BIN)/reefline node --test --test-reporter=spec out/test/

vscode: vscode-test

# The web UI (web/): Node packages from its lock file, built into the Python package
# (src/reefline/server/webui/) so that `reefline server` serves it at / and a wheel carries it.
WEB_STAMP := web/node_modules/.installed
WEB_BUILD := src/reefline/server/webui/index.html
WEB_SOURCES := $(shell find web/src web/public -type f 2>/dev/null) web/index.html web/vite.config.ts web/tsconfig.json

$(WEB_STAMP): web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	touch $(WEB_STAMP)

$(WEB_BUILD): $(WEB_STAMP) $(WEB_SOURCES)
	cd web && npm run --silent build

web: $(WEB_BUILD)

# Regenerate the typed API client after changing the server's routes or models (commit both files).
web-api: $(STAMP) $(WEB_STAMP)
	$(BIN)/python web/scripts/dump_openapi.py > web/src/api/openapi.json.tmp && mv web/src/api/openapi.json.tmp web/src/api/openapi.json
	cd web && npx openapi-typescript src/api/openapi.json -o src/api/schema.d.ts

# Component tests (vitest), then the browser flow against a real server (playwright-core, Chromium).
web-test: $(STAMP) web
	cd web && npx vitest run
	cd web && REEFLINE_BIN=$(CURDIR)/$(BIN)/reefline node --test --test-reporter=spec --test-concurrency=1 e2e/

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

# Re-resolve the lock file after editing dependencies in pyproject.toml (needs uv on PATH).
lock:
	uv pip compile pyproject.toml --extra dev --extra examples -o requirements.lock --python-version 3.11

bench: $(STAMP)
	$(BIN)/python bench/engine_overhead.py --reps 5

clean:
	rm -rf $(VENV) web/node_modules web/test-results src/reefline/server/webui .reefline examples/iris/.reefline examples/iris/out vscode/node_modules vscode/out vscode/reefline.vsix
