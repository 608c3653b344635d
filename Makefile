# Sillage — the two commands of the README: `make run` and `make test` (and `make bench`).
#
#   make run    virtualenv + dependencies, translations, migrations, demo data, serve on 127.0.0.1:5000
#   make test   the whole suite on SQLite (browser tests included when /usr/bin/chromium exists) and,
#               if SILLAGE_TEST_DATABASE_URL is set, at the same time the suite again on PostgreSQL
#               (browser tests excluded: they exercise pages, not the database engine)
#   make bench  10,000 synthetic accounts, then throughput and latency of the main routes
#
# PYTEST_ARGS and BENCH_ARGS pass extra arguments (e.g. `make test PYTEST_ARGS="-x -k demo"`).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export SILLAGE_INSTANCE_PATH ?= $(CURDIR)/instance
# Playwright drives Debian's chromium; it must never download a browser of its own.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

.PHONY: system-libs install translations migrate demo run test test-postgres bench clean ob2validator node oidc-provider

# 1EdTech's OB 2.0 validator (PyPI `openbadges`) pins libraries from 2017-2020: it lives in a virtualenv of
# its own, from the exact set in tests/ob2validator-requirements.txt (tests/ob2validator.py drives it).
OB2V_VENV  := .venv-ob2validator
OB2V_STAMP := $(OB2V_VENV)/.installed-stamp

# Reinstalled only when the dependency declarations change.
$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	@# The build backend's warnings go to a log, shown only if the installation fails.
	@$(BIN)/pip install --disable-pip-version-check --upgrade pip > $(VENV)/pip.log 2>&1 \
		|| { cat $(VENV)/pip.log; exit 1; }
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev,postgres,s3,redis]' > $(VENV)/pip.log 2>&1 \
		|| { cat $(VENV)/pip.log; exit 1; }
	touch $(STAMP)

install: system-libs $(STAMP) translations

# WeasyPrint (CV PDFs) needs Pango and HarfBuzz from Debian. Installed when missing and run as root;
# otherwise said, and the application answers "PDF unavailable" on its PDF buttons instead of failing.
PDF_LIBS := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0
# Fonts for the scripts DejaVu lacks, so that a CV in Chinese, Japanese, Korean, Hindi, Thai… (and its
# emoji) prints real glyphs rather than empty boxes; the CV designs name them in their font fallback.
PDF_FONTS := fonts-noto-cjk fonts-noto-core fonts-noto-color-emoji
system-libs:
	@if ! ldconfig -p 2>/dev/null | grep -q 'libpangoft2-1.0.so.0'; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get install -y -q --no-install-recommends $(PDF_LIBS) </dev/null \
				|| { apt-get update -q && apt-get install -y -q --no-install-recommends $(PDF_LIBS) </dev/null; }; \
		else echo "note: install $(PDF_LIBS) (Debian) for CV PDFs"; fi; \
	fi
	@missing=$$(for p in $(PDF_FONTS); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null \
		| grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ] && command -v dpkg-query >/dev/null; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get install -y -q --no-install-recommends $$missing </dev/null \
				|| { apt-get update -q && apt-get install -y -q --no-install-recommends $$missing </dev/null; }; \
		else echo "note: install $$missing (Debian) for non-Latin scripts in CV PDFs"; fi; \
	fi

$(OB2V_STAMP): tests/ob2validator-requirements.txt
	rm -rf $(OB2V_VENV)
	$(PYTHON) -m venv $(OB2V_VENV)
	@$(OB2V_VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps \
		-r tests/ob2validator-requirements.txt > $(OB2V_VENV)/pip.log 2>&1 \
		|| { cat $(OB2V_VENV)/pip.log; exit 1; }
	$(OB2V_VENV)/bin/python -c 'import openbadges.verifier'
	touch $(OB2V_STAMP)

ob2validator: $(OB2V_STAMP)

# Node.js for the JavaScript test witnesses (tests/oidc: oidc-provider 9; tests/interop: jose 6). They need
# Node >= 20.18 (URL.parse, a global WebCrypto); Debian 12's nodejs is 18.20, on which both fail (checked:
# "URL.parse is not a function", "crypto is not defined"). So the tests run on one pinned Node 22 LTS, the
# official build that the npm registry ships as the package node-linux-<arch> (npm checks its integrity),
# unpacked into .node/ and put first on PATH for every recipe. Only `npm pack` is needed to fetch it: any
# npm does, Debian's included.
NODE_VERSION := 22.23.5
NODE_HOME    := .node
NODE_ARCH    := $(patsubst x86_64,x64,$(patsubst aarch64,arm64,$(shell uname -m)))
NODE_STAMP   := $(NODE_HOME)/.installed-$(NODE_VERSION)
export PATH  := $(CURDIR)/$(NODE_HOME)/bin:$(PATH)

$(NODE_STAMP):
	@command -v npm >/dev/null || { echo "npm is needed to fetch Node.js (Debian: apt-get install npm)" >&2; exit 1; }
	rm -rf $(NODE_HOME) && mkdir -p $(NODE_HOME)/bin
	cd $(NODE_HOME) && npm pack --silent --pack-destination . node-linux-$(NODE_ARCH)@$(NODE_VERSION) >/dev/null
	tar -xzf $(NODE_HOME)/node-linux-$(NODE_ARCH)-$(NODE_VERSION).tgz -C $(NODE_HOME)/bin --strip-components=2 \
		package/bin/node
	rm $(NODE_HOME)/node-linux-$(NODE_ARCH)-$(NODE_VERSION).tgz
	test "$$($(NODE_HOME)/bin/node --version)" = v$(NODE_VERSION)
	touch $(NODE_STAMP)

node: $(NODE_STAMP)

# The real OpenID provider of the single sign-on tests (npm oidc-provider, exact versions from the lockfile).
OIDC_STAMP := tests/oidc/node_modules/.installed-stamp
$(OIDC_STAMP): tests/oidc/package.json tests/oidc/package-lock.json $(NODE_STAMP)
	npm ci --prefix tests/oidc --no-audit --no-fund
	touch $(OIDC_STAMP)

oidc-provider: $(OIDC_STAMP)

translations: $(STAMP)
	@if ls app/translations/*/LC_MESSAGES/*.po >/dev/null 2>&1; then \
		$(BIN)/pybabel -q compile -d app/translations; fi

migrate: install
	$(BIN)/sillage db upgrade

demo: migrate
	$(BIN)/sillage demo

run: demo
	$(BIN)/sillage serve --host 127.0.0.1 --port 5000

# Both passes run even if one fails (one CI run reports everything); either failing fails `make test`.
# They run side by side, one per core: each test already isolates what the two could share (a queue name
# in Redis and a key prefix in S3 per test, ephemeral ports for the OpenID provider and the validator's
# server), the PostgreSQL pass has its database to itself and its own temporary root; its output is
# kept in a file and printed after the SQLite pass's. Serial, the two took 77 of CI's 90 minutes.
test: install ob2validator
	@status=0; pg_pid=; pg_log=$$(mktemp); pg_tmp=$$(mktemp -d); \
	if [ -n "$$SILLAGE_TEST_DATABASE_URL" ]; then \
		echo "== the suite on PostgreSQL starts beside the SQLite pass (its output comes after)"; \
		PYTEST_DEBUG_TEMPROOT=$$pg_tmp $(MAKE) --no-print-directory test-postgres >$$pg_log 2>&1 & pg_pid=$$!; \
	fi; \
	echo "== the suite on SQLite"; \
	env -u SILLAGE_TEST_DATABASE_URL $(BIN)/python -m pytest -q $(PYTEST_ARGS) || status=1; \
	if [ -n "$$pg_pid" ]; then wait $$pg_pid || status=1; cat $$pg_log; fi; \
	rm -rf $$pg_log $$pg_tmp; \
	exit $$status

# The PostgreSQL pass alone (no-op without SILLAGE_TEST_DATABASE_URL).
test-postgres: install ob2validator
	@if [ -n "$$SILLAGE_TEST_DATABASE_URL" ]; then \
		echo "== the suite again on PostgreSQL ($${SILLAGE_TEST_DATABASE_URL#*@})"; \
		$(BIN)/python -m pytest -q -m "not e2e" $(PYTEST_ARGS); \
	else \
		echo "== SILLAGE_TEST_DATABASE_URL is not set: PostgreSQL pass skipped"; \
	fi

bench: install
	$(BIN)/python tests/benchmarks/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(OB2V_VENV) $(NODE_HOME) build *.egg-info .pytest_cache
