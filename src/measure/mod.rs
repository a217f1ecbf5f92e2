//! Measurements of generated designs: Liberty data, the kinds of standard
//! cells, mappings onto them priced in area, mapped netlists, switching
//! activity and power, the analytic 7 nm model, design reports, and designs
//! placed and routed on FPGA boards.

pub mod activity;
pub mod analytic;
pub mod asic;
pub mod cells;
pub mod engine_report;
pub mod liberty;
pub mod netlist;
pub mod power;
pub mod report;
pub mod pnr;
