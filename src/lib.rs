//! mbnn: generates, verifies and measures hardware for multi-base binary
//! neural networks (Group-Net and PA-Net).
//!
//! The stages, bottom to top; a stage imports only the stages above it in
//! this list (`util` is the bottom).

pub mod backend;
pub mod cli;
pub mod eda;
pub mod generator;
pub mod measure;
pub mod model;
pub mod rtl;
pub mod sim;
pub mod spec;
pub mod study;
pub mod util;
pub mod verify;
