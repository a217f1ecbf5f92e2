//! Generators: build the typed RTL of a design from its parameters, and
//! render it (Verilog files and manifest) in memory.

pub mod build;
pub mod manifest;
pub mod render;
pub mod tree;
pub mod unit;
pub mod wrapper;
pub mod engine;
pub mod network;
pub mod folding;
pub mod uart_top;
