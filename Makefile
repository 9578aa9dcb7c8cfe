# Digibench: the front door. `make demo` and `make test` work on a fresh Debian 12 machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
FIXTURES := tests/fixtures

.PHONY: netboot-dnsmasq help setup setup-images venv demo demo-inspect test webui-check lint typecheck pytest schema bench clean i18n bench-wipe bench-startup bench-laptop bench-flash bench-webui os-image live-image test-images test-images-desktop stick e2e

help:
	@echo "make demo       the station on loop devices with a local server (root)"
	@echo "make demo-inspect  inspect this machine, judge the recorded SMART/battery data"
	@echo "make test       ruff, mypy and pytest"
	@echo "make setup      install the Debian packages (as root)"
	@echo "make schema     regenerate agent/report/report-v1.schema.json"
	@echo "make bench      run the benchmarks in bench/"

setup:
	@bash scripts/setup-debian.sh

# What the image builds and the QEMU boot proofs need on top (QEMU, OVMF, SeaBIOS, debootstrap...).
setup-images:
	@bash scripts/setup-debian.sh images

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[server,dev]'
	@touch $@

venv: $(BIN)/.installed

# The station on two loop-device "disks" with donor data, a small OS image and a local
# server on SQLite: the TUI on a terminal, headless otherwise. Root; cleans up after itself.
demo: setup venv
	$(BIN)/digibench demo

# Inspect this machine and judge the bundled real SMART and battery outputs (no root needed).
demo-inspect: venv
	$(BIN)/digibench inspect
	$(BIN)/digibench disk-health $(FIXTURES)/smart/*.json $(FIXTURES)/smart/*.txt
	$(BIN)/digibench battery-health $(FIXTURES)/battery/*.txt

lint: venv
	$(BIN)/ruff check agent server tests bench scripts
	$(BIN)/ruff format --check agent server tests bench scripts

typecheck: venv
	$(BIN)/mypy

# Results per suite (JUnit XML) for scripts/test_summary.py; .ci/run prints one line each.
RESULTS := build/test-results
# The suite runs as on a machine booted seconds ago (tests/clock/sitecustomize.py), in the
# time zone furthest from UTC (+14 h): no test may depend on uptime, the date or the zone.
FRESH_BOOT := PYTHONPATH=$(abspath tests/clock) DIGIBENCH_TEST_CLOCK=fresh-boot TZ=Pacific/Kiritimati

# The fast suite, then the server, uplink and web UI suites again on PostgreSQL (this machine's
# cluster, started by scripts/test-postgres.sh as root, or DIGIBENCH_TEST_POSTGRES_URL).
# A hung test prints every thread's stack after HUNG_S (the pilot tests' own deadline then
# fails them). The PostgreSQL rerun runs even when the fast suite failed: both verdicts count.
HUNG_S := 420
pytest: venv
	@mkdir -p $(RESULTS)
	@status=0; \
	$(FRESH_BOOT) $(BIN)/pytest -o faulthandler_timeout=$(HUNG_S) \
		--junitxml=$(RESULTS)/fast.xml || status=1; \
	url="$${DIGIBENCH_TEST_POSTGRES_URL:-}"; \
	if [ -z "$$url" ]; then url="$$(bash scripts/test-postgres.sh)" || url=""; fi; \
	if [ -n "$$url" ]; then \
		echo "== server, uplink and web UI tests again, on PostgreSQL =="; \
		DATABASE_URL="$$url" $(FRESH_BOOT) $(BIN)/pytest -q -o faulthandler_timeout=$(HUNG_S) \
			--junitxml=$(RESULTS)/postgresql.xml tests/server tests/uplink tests/web || status=1; \
	elif [ -n "$${DIGIBENCH_STRICT:-}" ]; then \
		echo "the PostgreSQL rerun could not run (see above)"; status=1; \
	else \
		echo "== PostgreSQL rerun skipped: no database (see above) =="; \
	fi; \
	exit $$status

test: setup lint typecheck pytest webui-check

# Every web page at 2,000 laptops on SQLite, then on PostgreSQL when there is one: fails if a
# page answers with an error or its query count grows with the laptops (timings are printed,
# never judged; `make bench-webui` measures at 100,000).
webui-check: venv
	$(BIN)/python bench/webui.py --devices 2000 --requests 2 --check
	@url="$${DIGIBENCH_TEST_POSTGRES_URL:-}"; \
	if [ -z "$$url" ]; then url="$$(bash scripts/test-postgres.sh)" || url=""; fi; \
	if [ -n "$$url" ]; then \
		$(BIN)/python bench/webui.py --devices 2000 --requests 2 --check --postgres "$$url"; \
	elif [ -n "$${DIGIBENCH_STRICT:-}" ]; then \
		echo "the PostgreSQL web UI check could not run (see above)"; exit 1; \
	fi

i18n: venv
	$(BIN)/pybabel compile -d agent/tui/locale -D digibench
	$(BIN)/pybabel compile -d server/web/locale -D django
	$(BIN)/pybabel compile -d server/lending/locale -D django
	$(BIN)/pybabel compile -d server/helpdesk/locale -D django

schema: venv
	$(BIN)/digibench schema > agent/report/report-v1.schema.json

bench: venv
	@ls bench/*.py >/dev/null 2>&1 && for b in bench/*.py; do $(BIN)/python $$b; done || echo "no benchmarks yet"

# Wipe speed on a 2 GiB loop device: dd vs nwipe vs ours (root; apt-get install nwipe to compare).
bench-wipe: venv
	$(BIN)/python bench/wipe.py

bench-startup: venv
	$(BIN)/python bench/startup.py

# One whole headless laptop run against the disks' physical limit (root; build the
# minimal OS image first with `make os-image` to bench the real image).
bench-laptop: venv
	$(BIN)/python bench/laptop.py

# Web UI speed with 100,000 laptops: every page, p50/p95 and query counts, on SQLite
# (BENCH_POSTGRES=URL: on PostgreSQL).
bench-webui: venv
	$(BIN)/python bench/webui.py $(if $(BENCH_POSTGRES),--postgres $(BENCH_POSTGRES) --keep-postgres)

# Flash speed of a 2 GiB .zst image with bmap on a loop device: zstd|dd vs bmaptool vs ours (root).
bench-flash: venv
	$(BIN)/python bench/flash.py

# Images (root; they install their own build dependencies; outputs under build/).
VARIANT ?= minimal
os-image: setup-images venv
	VARIANT=$(VARIANT) PYTHON=$(abspath $(BIN))/python bash images/os/build.sh

live-image: setup-images venv
	PYTHON=$(abspath $(BIN))/python bash images/live/build.sh

# The built images, remade only when a file they are made from changed (the boot tests and
# the e2e proof reuse what is up to date; `make os-image` / `make live-image` always build).
IMAGE_BUILD := $(or $(DIGIBENCH_BUILD),build)
MINIMAL_BUILT := $(IMAGE_BUILD)/os/digibench-debian-minimal.img.manifest.json
LIVE_BUILT := $(IMAGE_BUILD)/live/digibench-live.img
$(MINIMAL_BUILT): $(wildcard $(shell git ls-files images/lib.sh images/os images/write_manifest.py provisioning agent/flash 2>/dev/null))
	$(MAKE) os-image VARIANT=minimal
$(LIVE_BUILT): pyproject.toml $(wildcard $(shell git ls-files images/lib.sh images/live provisioning agent 2>/dev/null))
	$(MAKE) live-image

# Write the stick image to TARGET (a USB stick or an image file) with the station config
# CONFIG and optionally an OS image (its manifest, OS_IMAGE); asks unless YES=1.
stick: venv
	PYTHON=$(abspath $(BIN))/python YES=$(YES) bash images/live/stick.sh "$(TARGET)" "$(CONFIG)" $(OS_IMAGE)

# The end-to-end proof in virtual machines: the stick wipes, flashes, grades and reports a
# virtual laptop to a real server, the flashed disk boots; a worn disk and a server that is
# down are handled; four laptops with no stick boot from a bench server by iPXE, three flash
# from one read of the image while the Werkbank follows. Builds both images first (cached).
# Root; prints each phase's duration;
# serial consoles and station logs stay in build/e2e/ when it fails.
e2e: setup-images venv $(MINIMAL_BUILT) $(LIVE_BUILT)
	@mkdir -p $(RESULTS)
	DIGIBENCH_STRICT=1 $(BIN)/pytest -m e2e -s -p no:cacheprovider --junitxml=$(RESULTS)/e2e.xml tests/e2e

# Build both images (cached rootfs makes reruns fast) and boot them under QEMU. The desktop
# image has its own target (`.ci/run` runs it after the end-to-end proof): its build takes
# 8-30 min cold, its boot test about 10 min.
test-images: setup-images venv $(MINIMAL_BUILT) $(LIVE_BUILT)
	@mkdir -p $(RESULTS)
	DIGIBENCH_STRICT=1 $(BIN)/pytest -m images --junitxml=$(RESULTS)/images.xml tests/images \
		--ignore=tests/images/test_desktop_image.py

test-images-desktop: setup-images venv
	$(MAKE) os-image VARIANT=desktop
	@mkdir -p $(RESULTS)
	DIGIBENCH_STRICT=1 $(BIN)/pytest -m images --junitxml=$(RESULTS)/desktop.xml \
		tests/images/test_desktop_image.py

# A bench server's dnsmasq proxy-DHCP config (docs/netboot.md): make netboot-dnsmasq
# SERVER_IP=192.168.1.5 [PORT=8067] [INTERFACE=eno1]; written to build/netboot/.
netboot-dnsmasq: venv
	@test -n "$(SERVER_IP)" || { echo "give SERVER_IP=the bench server's address"; exit 2; }
	@mkdir -p build/netboot
	$(BIN)/digibench netboot dnsmasq "$(SERVER_IP)" --port "$(or $(PORT),8067)" \
		$(if $(INTERFACE),--interface "$(INTERFACE)") --output build/netboot/digibench-dnsmasq.conf \
		--chain build/netboot/digibench.ipxe

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
