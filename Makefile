# ptpipd — two commands matter: `make run` and `make test`.
PYTHON  ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
PREFIX  ?= /usr/local
DESTDIR ?=

# Debian packages the test suite drives (command -> package).
SYSTEM_TOOLS := gphoto2:gphoto2 tshark:tshark nc:netcat-openbsd socat:socat \
                systemd-analyze:systemd systemd-socket-activate:systemd node:nodejs

.PHONY: run test lint typecheck unit venv system-deps bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]' --config-settings editable_mode=compat
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
	$(BIN)/ruff check ptpipd ptpipctl tests bench
	$(BIN)/ruff format --check ptpipd ptpipctl

typecheck: $(STAMP)
	$(BIN)/mypy --strict ptpipd ptpipctl

unit: $(STAMP)
	$(BIN)/pytest -q

test: $(STAMP) system-deps lint typecheck unit

# The daemon on the built-in simulated camera, a first ptpipctl call, then Ctrl-C to stop (VENDOR=fuji too).
run: $(STAMP)
	BIN=$(BIN) ./scripts/run-simulated.sh

bench: $(STAMP)
	$(BIN)/python bench/download.py

clean:
	rm -rf $(VENV) build dist *.egg-info .mypy_cache .ruff_cache .pytest_cache .hypothesis
