//! mbnn: generates, verifies and measures hardware for multi-base binary
//! neural networks (Group-Net and PA-Net).
//!
//! The stages, bottom first: each imports only the stages declared before
//! it (`tests/layers.rs` checks this), so the list reads as the pipeline
//! parameters -> RTL -> Verilog -> tools -> simulation -> verification ->
//! measurement -> studies -> command line.

pub mod util;
pub mod rtl;
pub mod backend;
pub mod spec;
pub mod generator;
pub mod model;
pub mod eda;
pub mod sim;
pub mod verify;
pub mod measure;
pub mod study;
pub mod cli;
