//! Studies built on the measurements: the papers' claims (BPAC's among
//! them on generated engines), the performance
//! benchmarks, the network cost model, the charts and the Pareto charts of a
//! design-space exploration.

pub mod bench;
pub mod bench_table;
pub mod benchfig;
pub mod bpac;
pub mod claims;
pub mod cost;
pub mod digits;
pub mod dse;
pub mod engine_bench;
pub mod network_bench;
pub mod pareto;
pub mod plot;
pub mod classify;
