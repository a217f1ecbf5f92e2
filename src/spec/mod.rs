//! What a design is, as typed immutable values: the parameters of every
//! block and their limits, the exact range of every result, layer files and
//! their decomposition, and the textual (flag) form of a design.

pub mod flags;
pub mod layer;
pub mod params;
pub mod range;
pub mod signature;
pub mod board;
pub mod request;
pub mod pa;
pub mod engine;
pub mod engine_request;
pub mod conv_layer;
pub mod stage;
pub mod network;
pub mod images;
