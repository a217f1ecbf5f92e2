//! Bit-exact golden models: what every generated design must compute.

pub mod conv;
pub mod golden;
pub mod wrapper;
pub mod engine;
pub mod layer;
pub mod stage;
pub mod network;
