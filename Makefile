# tracenic: top-level entry points.  `make run` and `make test` install what
# they need (Debian packages, QEMU source, guest kernel) by themselves.
SHELL := /bin/bash
TOP := $(CURDIR)
BUILD := $(TOP)/build
PYTHON := /usr/bin/python3

.PHONY: all deps qemu qtest dmacheck images test run clean

all: qemu dmacheck images

deps:
	@sh ci/install-deps.sh

qemu: deps
	@qemu-device/build-qemu.sh

qtest: qemu
	@qemu-device/run-qtests.sh

dmacheck: deps
	@$(MAKE) --no-print-directory -C harness/dmacheck

images: deps
	@images/build.sh

clean:
	rm -rf $(BUILD)
