# The two commands of a fresh machine: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml requirements.lock | cksum | cut -d' ' -f1)
NODE_STAMP := node_modules/.installed-$(shell cat package.json package-lock.json | cksum | cut -d' ' -f1)

.PHONY: run test lint install install-node chromium clean-venv lock

# Python packages exactly as requirements.lock pins them (versions and hashes), then the project itself.
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

# Node packages: chart.js for the renderer, and for the shell's tests playwright-core and electron's package
# without its binary, which `npm install` with scripts on fetches on a Mac: see README).
$(NODE_STAMP): package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	rm -f node_modules/.installed-*
	touch $(NODE_STAMP)

install: $(STAMP)

install-node: $(NODE_STAMP)

# Debian's Chromium (and an emoji font, for the screenshots) for the browser tests; where they cannot be
# installed the browser tests skip and say why.
BROWSER_PACKAGES := chromium fonts-noto-color-emoji
chromium:
	@if ! test -x /usr/bin/chromium || ! test -e /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing $(BROWSER_PACKAGES) for the browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	      $(BROWSER_PACKAGES) >/dev/null; \
	  else \
	    echo "note: /usr/bin/chromium is missing and apt-get cannot run as root here: browser tests will be skipped"; \
	  fi; \
	fi

# npm packages too: the renderer's charts (chart.js) are served from node_modules by the backend.
run: $(STAMP) $(NODE_STAMP)
	$(BIN)/chatstats up --demo-if-missing

# Style and types: ruff (lint and import order) and mypy (configured in pyproject.toml); `make test` runs it first.
lint: $(STAMP)
	$(BIN)/ruff check app tests bench
	$(BIN)/mypy

test: $(STAMP) $(NODE_STAMP) chromium lint
	$(BIN)/python -m pytest -q
	npm test

# Refresh requirements.lock to the newest releases pyproject.toml allows (see README, "Dependencies").
lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml --extra dev --universal --generate-hashes --python-version 3.11 \
	  --upgrade --quiet -o requirements.lock

clean-venv:
	rm -rf $(VENV)
