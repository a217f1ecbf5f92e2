//! BPAC (Group-Net's binary parallel atrous convolution: each branch with
//! its own dilation) against plain branches, on generated engines: the same
//! layer, the same K, dilations 2..K+1 against all 1. What may differ is the
//! logic outside the memories (read addresses, padding masks, schedule) and
//! the line buffer, which holds the rows the largest dilation needs.

use crate::eda;
use crate::generator::render::render_engine;
use crate::measure::asic;
use crate::measure::engine_report::logic_areas;
use crate::spec::engine_request::EngineRequest;
use crate::spec::flags::DEFAULT_ENGINE_PIPELINE;
use serde::Serialize;
use std::path::Path;

/// The layer both engines compute, with one lane per dilation: small, so
/// that an engine maps in seconds; layer-wise decomposition (every branch
/// reads the same map).
pub fn layer(dilations: &[i64]) -> EngineRequest {
    EngineRequest { shared_input: true, kernel: Some(3), ..EngineRequest::conv(dilations, (8, 8, 16, 16), (4, 16)) }
}

/// One engine's cost apart from its memories, and its line buffer.
#[derive(Clone, Debug, Serialize)]
pub struct EngineCost {
    /// The `gen` flags of the engine.
    pub flags: String,
    /// Standard-cell area of the logic outside the memories (um^2).
    pub logic_um2: f64,
    /// Yosys generic gates (and flip-flops) outside the memories.
    pub generic_cells: u64,
    pub line_buffer_rows: usize,
    /// Over every read port's copy.
    pub line_buffer_bits: u64,
    /// One copy of the buffer each.
    pub line_buffer_read_ports: usize,
    /// Every memory's bits (line buffer, weight ROMs, output FIFO).
    pub memory_bits: u64,
}

/// Plain branches and BPAC at one K.
#[derive(Clone, Debug, Serialize)]
pub struct BpacPoint {
    pub k: u32,
    pub plain: EngineCost,
    pub bpac: EngineCost,
}

impl BpacPoint {
    /// BPAC's logic area over the plain branches'.
    pub fn area_ratio(&self) -> f64 {
        self.bpac.logic_um2 / self.plain.logic_um2.max(1e-9)
    }

    /// BPAC's generic cells over the plain branches'.
    pub fn cell_ratio(&self) -> f64 {
        self.bpac.generic_cells as f64 / self.plain.generic_cells.max(1) as f64
    }
}

/// The K values measured for a sweep up to `max_k`: 2..=max_k (BPAC needs
/// two branches), or 1 alone when max_k is 1.
pub fn ks(max_k: u32) -> Vec<u32> {
    (max_k.min(2)..=max_k).collect()
}

/// Measures the plain and the BPAC engine with K branches on `lib`.
pub fn measure(k: u32, lib: &asic::Library, work: &Path) -> Result<BpacPoint, String> {
    let plain = vec![1; k as usize];
    let bpac: Vec<i64> = (2..=k as i64 + 1).collect();
    Ok(BpacPoint { k, plain: engine_cost(&layer(&plain), lib, work)?, bpac: engine_cost(&layer(&bpac), lib, work)? })
}

fn engine_cost(request: &EngineRequest, lib: &asic::Library, work: &Path) -> Result<EngineCost, String> {
    let flags = request.flags();
    let rendered = render_engine(request.to_params()?, DEFAULT_ENGINE_PIPELINE);
    let design = &rendered.generated.design;
    let dir = work.join(&rendered.params.top);
    crate::util::files::write_files(&dir, &rendered.files)?;
    let verilog = rendered.verilog_files();
    let generic = eda::yosys::generic_logic(&dir, &verilog, &design.top)?;
    let generic_cells = generic.cells.iter().filter(|(c, _)| !c.starts_with("$mem")).map(|(_, n)| n).sum();
    let (_, logic_um2) = logic_areas(design, &dir, &verilog, lib)?;
    // One memory per read port, each with the channels its lanes read.
    let (rows, pixels, copies) = &rendered.generated.line_buffer;
    let memories = crate::rtl::count::memories(design);
    Ok(EngineCost {
        flags,
        logic_um2,
        generic_cells,
        line_buffer_rows: *rows,
        line_buffer_bits: copies.iter().map(|(_, bits)| (rows * pixels * bits) as u64).sum(),
        line_buffer_read_ports: copies.len(),
        memory_bits: memories.iter().map(|m| m.bits()).sum(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bpac_is_measured_from_two_branches_on() {
        assert_eq!(ks(1), [1]);
        assert_eq!(ks(2), [2]);
        assert_eq!(ks(5), [2, 3, 4, 5]);
    }
}
