# Two entry points for newcomers: `make demo` and `make test`. Both build .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test bench clean system-deps

# The kernel backend's tools, installed from Debian's packages when running as root and something is missing.
KERNEL_TOOLS := ip nft conntrack ping bridge
KERNEL_PACKAGES := iproute2 nftables conntrack iputils-ping
# Java for PySpark (`vpclab flows --engine spark` and its tests; `make demo` needs none): Debian's default JDK
# (17 on bookworm, what PySpark 4 requires).
JDK_PACKAGE := default-jdk-headless
# The HTML report tests open the reports in Debian's Chromium (driven by Playwright, no browser download); the pcap
# tests read the captures back with tshark (a second, independent reader).
REPORT_PACKAGES := chromium tshark

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

demo: $(BIN)/.installed
	$(BIN)/vpclab demo

system-deps:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  for tool in $(KERNEL_TOOLS); do command -v $$tool >/dev/null || missing=1; done; \
	  if [ -n "$$missing" ]; then \
	    echo "installing $(KERNEL_PACKAGES)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(KERNEL_PACKAGES) >/dev/null; \
	  fi; \
	  if ! command -v chromium >/dev/null || ! command -v tshark >/dev/null; then \
	    echo "installing $(REPORT_PACKAGES) (the HTML report and pcap tests)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(REPORT_PACKAGES) >/dev/null; \
	  fi; \
	  if ! command -v java >/dev/null; then \
	    echo "installing $(JDK_PACKAGE) (the Spark flow-log tests)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(JDK_PACKAGE) >/dev/null; \
	  fi; \
	fi

test: $(BIN)/.installed system-deps
	$(BIN)/python -m pytest -q

bench: $(BIN)/.installed
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache .hypothesis
