//! ASIC flows: Yosys mapping onto Liberty standard cells and OpenSTA timing.
