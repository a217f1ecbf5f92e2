//! Back ends that print the RTL representation: Verilog-2001.

pub mod verilog;
