//! Studies built on the measurements: the papers' claims, the performance
//! benchmarks, the network cost model and the charts.

pub mod bench;
pub mod benchfig;
pub mod claims;
pub mod cost;
pub mod plot;
