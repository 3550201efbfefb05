# tracenic: top-level entry points.  `make run` and `make test` install what
# they need (Debian packages, QEMU source, guest kernel) by themselves.
SHELL := /bin/bash
PYTHON := /usr/bin/python3

.PHONY: all deps qemu qtest dmacheck dmacheck-test trafficgen images bench-image bench-tools \
	bench pytest test run sweep repro fuzz-device clean

all: qemu dmacheck trafficgen images

deps:
	@sh ci/install-deps.sh

qemu: deps
	@qemu-device/build-qemu.sh

qtest: qemu
	@qemu-device/run-qtests.sh

dmacheck: deps
	@$(MAKE) --no-print-directory -C harness/dmacheck

# test-device drives the real device over qtest, so it needs QEMU built.
dmacheck-test: dmacheck qemu
	@$(MAKE) --no-print-directory -C harness/dmacheck test fuzz test-device

trafficgen:
	@$(MAKE) --no-print-directory -C harness/trafficgen

images: deps
	@guest-driver/build.sh
	@images/build.sh

# make bench: BENCHMARKS.md (bench/bench.py; BENCH_ARGS for its options).
build/bench/tn-hostnet: bench/tn-hostnet.c bench/tn-frame.h include/tracenic/regs.h
	@mkdir -p build/bench
	gcc -O2 -Wall -Wextra -Werror -Iinclude -o $@ $<

bench-tools: deps build/bench/tn-hostnet

bench-image: images
	@images/build.sh --bench

bench: qemu images dmacheck trafficgen bench-tools bench-image
	@$(PYTHON) bench/bench.py $(BENCH_ARGS)

# pytest's exit status 5 (no tests collected) is a failure here.
pytest: qemu images dmacheck trafficgen bench-tools bench-image
	@$(PYTHON) -m pytest -q harness/tests; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: that is a failure"; exit 1; fi; \
	exit $$rc

test: qtest dmacheck-test pytest

# The nightly: the matrix, then a race sweep of SWEEP_MINUTES over the scenarios that ran
# clean (0: none), its findings in the same report.
SWEEP_MINUTES ?= 2
run: qemu images dmacheck trafficgen
	@$(PYTHON) harness/tracenic-cli run --sweep-minutes $(SWEEP_MINUTES) $(RUN_ARGS)

# A race sweep on its own (docs/sweep.md): SWEEP_MINUTES (default 2 above; give more),
# SWEEP_ARGS for the rest (--seed S, scenario names, --rerun FINDING).
sweep: qemu images dmacheck trafficgen
	@$(PYTHON) harness/tracenic-cli sweep --minutes $(SWEEP_MINUTES) $(SWEEP_ARGS)

# One scenario, stopped at its first violation with QMP and a gdbstub open; RECORD=1:
# recorded, then replayed to the instruction of that violation (docs/repro.md).
repro: qemu images dmacheck trafficgen
	@test -n "$(SCENARIO)" || { echo "make repro: name a scenario: make repro SCENARIO=bug-no-disable (see harness/tracenic-cli list)"; exit 2; }
	@$(PYTHON) harness/tracenic-cli repro $(SCENARIO) $(if $(filter 1,$(RECORD)),--record)

# Coverage-guided fuzzing of the tracenic NIC, the ledger device, QEMU's e1000e
# traced and a shared trace with QEMU's generic-fuzz (docs/fuzzing.md):
# FUZZ_SECONDS (default 600), output in build/fuzz.  Its own QEMU build
# (clang, libFuzzer, ASan, UBSan); not part of make test.
fuzz-device: deps
	@qemu-device/fuzz/fuzz-device.sh

clean:
	rm -rf build
