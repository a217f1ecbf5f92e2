//! Plain building blocks with no knowledge of hardware: bit vectors and a
//! seeded random source, fixed-point arithmetic, CPU time, files written
//! all or nothing, and independent jobs on a few threads.

pub mod bits;
pub mod cputime;
pub mod files;
pub mod fixed;
pub mod parallel;
pub mod stats;
