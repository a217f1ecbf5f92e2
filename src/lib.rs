//! mbnn: generates, verifies and measures hardware for multi-base binary
//! neural networks (Group-Net and PA-Net).

pub mod activity;
pub mod analytic;
pub mod bench;
pub mod benchfig;
pub mod bits;
pub mod blocks;
pub mod boards;
pub mod claims;
pub mod cli;
pub mod cost;
pub mod cputime;
pub mod decompose;
pub mod golden;
pub mod liberty;
pub mod manifest;
pub mod netlist;
pub mod output;
pub mod params;
pub mod plot;
pub mod power;
pub mod report;
pub mod rtl;
pub mod sim;
pub mod sweep;
pub mod tools;
pub mod verify;
pub mod verilog;
