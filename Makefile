# ptpipd — two commands matter: `make run` and `make test`.
PYTHON  ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
RUN_STAMP := $(VENV)/.installed-run
PREFIX  ?= /usr/local
DESTDIR ?=

# Debian packages the test suite drives (command -> package).
SYSTEM_TOOLS := gphoto2:gphoto2 tshark:tshark nc:netcat-openbsd socat:socat \
                systemd-analyze:systemd systemd-socket-activate:systemd node:nodejs \
                curl:curl ffprobe:ffmpeg \
                chromium:chromium chromedriver:chromium-driver

.PHONY: run test lint typecheck unit venv system-deps bench fuzz clean

# `make venv`: everything (running, tests, linters). `make run` needs only $(RUN_STAMP): the package,
# editable, and its dependencies. pyproject.toml's package-dir makes the editable install a plain
# .pth with the checkout's root (ptpipd, ptpipctl and tests importable, console scripts installed).
venv: $(STAMP)

# Debian's python3 makes virtualenvs only with python3-venv (ensurepip): installed when running as root.
$(RUN_STAMP): pyproject.toml
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing Debian package python3-venv ($(PYTHON) -m venv needs it)"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv; \
	else \
	  echo "$(PYTHON) cannot create a virtualenv (no ensurepip): install python3-venv" \
	    "(sudo apt-get install python3-venv), or run make as root" >&2; \
	  exit 1; \
	fi
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(STAMP): $(RUN_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# Installs missing Debian packages when running as root; otherwise only says what is missing.
system-deps:
	@missing=""; for pair in $(SYSTEM_TOOLS); do \
	  cmd=$${pair%%:*}; pkg=$${pair#*:}; \
	  command -v $$cmd >/dev/null 2>&1 || missing="$$missing $$pkg"; \
	done; \
	nc -h 2>&1 | grep -q -- '-U' || missing="$$missing netcat-openbsd"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages:$$missing"; \
	    echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections; \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	  else \
	    echo "missing Debian packages (run as root to install):$$missing"; \
	  fi; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check ptpipd ptpipctl tests bench contrib docs scripts
	$(BIN)/ruff format --check ptpipd ptpipctl tests bench contrib docs scripts

typecheck: $(STAMP)
	$(BIN)/mypy --strict ptpipd ptpipctl

# Two workers, each taking whole files (module fixtures stay in one process): the tests mostly wait on
# daemons, simulators and tools over real sockets, so two run side by side in about half the time.
unit: $(STAMP)
	$(BIN)/pytest -q -n 2 --dist loadfile

test: $(STAMP) system-deps lint typecheck unit

# The daemon on the built-in simulated camera, a first ptpipctl call, then Ctrl-C to stop
# (VENDOR=fuji, RPC_TCP=HOST:PORT, LEGACY=HOST:PORT and HTTP=HOST:PORT change what it serves). Refuses when another
# process holds .run/ptpipd.sock or a port; see scripts/run-simulated.py.
run: $(RUN_STAMP)
	@BIN='$(BIN)' VENDOR='$(VENDOR)' RPC_TCP='$(RPC_TCP)' LEGACY='$(LEGACY)' HTTP='$(HTTP)' exec $(BIN)/python scripts/run-simulated.py

bench: $(STAMP)
	for b in download rpc cli liveview liveview_daemon canon ingest listing; do $(BIN)/python bench/$$b.py || exit 1; done

# Issue 14's reliability suite (fuzz, garbage input, camera kills, soak): figures and goals, several minutes;
# not part of `make test`. FUZZ_ARGS shortens it, e.g. FUZZ_ARGS='--soak-seconds 10 --cycles 3'.
FUZZ_ARGS ?=
fuzz: $(STAMP)
	$(BIN)/python bench/faults.py $(FUZZ_ARGS)

# ------------------------------------------------------------------------------------------- install
# `make install [PREFIX=/usr/local] [DESTDIR=] [INSTALL_PYTHON=python3] [PIPFLAGS=]`
# The package goes in with INSTALL_PYTHON's pip (no dependencies, nothing uninstalled, nothing outside
# DESTDIR); its scripts (ptpipd, ptpipctl, ptpipd-sim) get that interpreter in their #! line, so it must
# have the dependencies (pydantic, typer, aiohttp, Pillow, sdnotify) and see PREFIX's site-packages. Offline builds:
# PIPFLAGS='--no-build-isolation --no-index' (then setuptools>=68 and wheel must be installed).
# The units' /usr/bin/ptpipd and /usr/share/doc/ptpipd become $(BINDIR)/ptpipd and $(DOCDIR).
INSTALL_PYTHON ?= $(PYTHON)
PIPFLAGS       ?=
INSTALL        ?= install
BINDIR         ?= $(PREFIX)/bin
DOCDIR         ?= $(PREFIX)/share/doc/ptpipd
SYSCONFDIR     ?= /etc
UNITDIR        ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR    ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR    ?= $(PREFIX)/lib/tmpfiles.d
UNITS          := ptpipd.service ptpipd.socket ptpipd@.service ptpipd@.socket ptpipd-legacy.socket \
                  ptpipd-http.socket ptpipd-http@.socket
CONTRIB_SCRIPTS := timelapse.sh bracket.py focus_stack.py client.js legacy.sh

.PHONY: install install-python install-systemd install-config install-doc docs

install: install-python install-systemd install-config install-doc

# pip's own byte-compilation would write the staging path into the .pyc files (tracebacks would show
# DESTDIR); compileall -s/-p writes the installed path. direct_url.json would name this build directory.
install-python:
	PIP_ROOT_USER_ACTION=ignore $(INSTALL_PYTHON) -m pip install --no-deps --ignore-installed --no-compile \
	  --disable-pip-version-check --no-warn-script-location --prefix '$(PREFIX)' \
	  $(if $(DESTDIR),--root '$(DESTDIR)') $(PIPFLAGS) .
	@test -x '$(DESTDIR)$(BINDIR)/ptpipd' || { \
	  echo "make install: pip did not put ptpipd in $(DESTDIR)$(BINDIR); set BINDIR to its scripts directory" >&2; \
	  exit 1; }
	find '$(abspath $(DESTDIR)$(PREFIX))' -path '*-packages/ptpipd-*.dist-info/direct_url.json' -delete
	find '$(abspath $(DESTDIR)$(PREFIX))' -type d \( -name ptpipd -o -name ptpipctl \) -path '*-packages/*' \
	  -prune -exec $(INSTALL_PYTHON) -m compileall -f -q $(if $(DESTDIR),-s '$(abspath $(DESTDIR))' -p /) {} +
	@$(INSTALL_PYTHON) -c 'import pydantic, typer' 2>/dev/null || echo "make install: note:" \
	  "$(INSTALL_PYTHON) lacks pydantic or typer; ptpipd will not start until they are installed" >&2

install-systemd:
	$(INSTALL) -d '$(DESTDIR)$(UNITDIR)'
	for unit in $(UNITS); do \
	  sed -e 's|/usr/bin/ptpipd|$(BINDIR)/ptpipd|g' -e 's|/usr/share/doc/ptpipd|$(DOCDIR)|g' \
	    "systemd/$$unit" > '$(DESTDIR)$(UNITDIR)'/"$$unit.tmp" && \
	  chmod 644 '$(DESTDIR)$(UNITDIR)'/"$$unit.tmp" && \
	  mv '$(DESTDIR)$(UNITDIR)'/"$$unit.tmp" '$(DESTDIR)$(UNITDIR)'/"$$unit" || exit 1; \
	done
	$(INSTALL) -D -m 644 systemd/ptpipd.sysusers '$(DESTDIR)$(SYSUSERSDIR)/ptpipd.conf'
	$(INSTALL) -D -m 644 systemd/ptpipd.tmpfiles '$(DESTDIR)$(TMPFILESDIR)/ptpipd.conf'

# The examples are always refreshed; ptpipd.conf (the admin's file) is installed only when missing.
install-config:
	$(INSTALL) -d -m 755 '$(DESTDIR)$(SYSCONFDIR)/ptpipd'
	$(INSTALL) -m 644 contrib/generic.conf contrib/fuji.conf '$(DESTDIR)$(SYSCONFDIR)/ptpipd/'
	test -e '$(DESTDIR)$(SYSCONFDIR)/ptpipd/ptpipd.conf' || \
	  $(INSTALL) -m 644 contrib/ptpipd.conf '$(DESTDIR)$(SYSCONFDIR)/ptpipd/ptpipd.conf'

install-doc:
	$(INSTALL) -d '$(DESTDIR)$(DOCDIR)/examples'
	$(INSTALL) -m 644 README.md docs/api.md '$(DESTDIR)$(DOCDIR)/'
	$(INSTALL) -m 644 contrib/generic.conf contrib/fuji.conf contrib/ptpipd.conf '$(DESTDIR)$(DOCDIR)/examples/'
	$(INSTALL) -m 755 $(addprefix contrib/,$(CONTRIB_SCRIPTS)) '$(DESTDIR)$(DOCDIR)/examples/'

# docs/api.md from rpc.discover, with a real example of every method and error (in-process simulator).
docs: $(STAMP)
	$(BIN)/python docs/gen_api.py --output docs/api.md

clean:
	rm -rf $(VENV) build dist *.egg-info .mypy_cache .ruff_cache .pytest_cache .hypothesis
