//! Verification: the cycle-accurate test bench that checks a simulated
//! design against its golden model, and the sweeps of configurations.

pub mod engine;
pub mod stream;
pub mod sweep;
pub mod testbench;
pub mod network;
