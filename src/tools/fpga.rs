//! FPGA flows: Yosys synthesis, nextpnr place and route, bitstream packing.
