//! Generators of whole networks (SPEC 7) and of the stream stages between their layers.

pub mod stage;
