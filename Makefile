# mbnn: set-up, tests, simulation sweeps and the reference HDL.
# `make setup` then `make test` is all a fresh Debian 12 machine needs.

SHELL := /bin/bash
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
MBNN := target/release/mbnn
# Compiled Verilator models are cached here, keyed by everything that goes into them.
export MBNN_CACHE_DIR ?= $(CURDIR)/target/mbnn-cache

.PHONY: setup build test check sim sim-full icarus hdl clean

setup:
	$(SUDO) apt-get update -q
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		verilator yosys iverilog g++ make python3
	cargo build --release --locked

build:
	cargo build --release --locked

# Style, unit and property tests, then every simulation.
test: check sim icarus

check: build
	cargo fmt --check
	cargo clippy --release --locked --all-targets -- -D warnings
	cargo test --release --locked

# The default sweep: lint, Icarus, Yosys and a Verilator run against the
# golden model for every configuration; ends with `N passed, M failed`.
sim: build
	$(MBNN) sweep --set quick

# Every lane count x length x weight mode x input mode (hours, not minutes).
sim-full: build
	$(MBNN) sweep --set full

# An outside test bench: Icarus Verilog driven from the manifests alone,
# expected values computed in Python, not by this project's code.
icarus: build
	@rm -rf target/icarus && mkdir -p target/icarus
	@grep -v '^#' hdl/configs.txt | grep -v 'n2304' | while IFS=: read -r dir flags; do \
		cp -r hdl/$$dir target/icarus/$$dir; done
	$(MBNN) gen --block xnor_pe --len 7 --weights const --seed 3 --pipeline 1 --out target/icarus/xnor7 >/dev/null
	$(MBNN) gen --block popcount --len 63 --pipeline 2 --out target/icarus/pop63 >/dev/null
	$(MBNN) gen --k 3 --len 7 --lambda 0.75,-1.5,0.3125 --shared-input --weights const --pipeline 1 --out target/icarus/gn3 >/dev/null
	$(MBNN) gen --k 5 --len 2304 --pipeline 3 --out target/icarus/gn5 >/dev/null
	python3 testbench/icarus_check.py target/icarus/*

# Regenerates the reference configurations listed in hdl/configs.txt.
hdl: build
	@grep -v '^#' hdl/configs.txt | while IFS=: read -r dir flags; do \
		rm -rf hdl/$$dir && $(MBNN) gen $$flags --out hdl/$$dir >/dev/null && echo "hdl/$$dir"; done

clean:
	cargo clean
	rm -rf out
