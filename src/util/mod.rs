//! Plain building blocks with no knowledge of hardware: bit vectors and a
//! seeded random source, fixed-point arithmetic, CPU time, and files
//! written all or nothing.

pub mod bits;
pub mod cputime;
pub mod files;
pub mod fixed;
pub mod stats;
