//! `mbnn bench --only engines`: the streaming layer engines' figures of
//! issue #11, each beside a baseline from the same run where one exists.
//!
//! - throughput: the frame interval measured under Verilator with no
//!   stalls, against the manifest's `cycles_per_frame`;
//! - area: iCE40 LUT4 per lane bit against the XNOR PE (and the Group-Net
//!   unit) of the same length, and the share of LUTs outside the dot
//!   products with the hierarchy kept;
//! - memory packing, per memory, on iCE40 and ECP5;
//! - both boards' reference engines placed in the board wrapper;
//! - BPAC against plain branches, PA-Net against Group-Net.

use super::bench_table::{Row, Target, progress};
use crate::eda::fpga::{self, SynthCells};
use crate::generator::render::{self, Rendered, RenderedEngine};
use crate::measure::pnr::{self, FpgaReport, PnrDesign};
use crate::rtl::MemoryStyle;
use crate::spec::board::Board;
use crate::spec::board::block_ram;
use crate::spec::engine_request::{EngineRequest, OutputMode};
use crate::spec::flags::DEFAULT_ENGINE_PIPELINE;
use crate::spec::request::Request;
use crate::verify::engine::stream_rate;
use std::path::Path;
use std::time::Instant;

/// The iCEBreaker's reference: BPAC with K=2 (dilations 2 and 3) on a
/// 16 x 16 x 32 map, folded so that its weights fit the UP5K's 30 block RAMs.
fn icebreaker_reference() -> EngineRequest {
    EngineRequest::conv(&[2, 3], (16, 16, 32, 32), (4, 32)).with_output(OutputMode::Threshold)
}

/// The ULX3S's reference: the Group-Net layer (K=5, dilations 2..6,
/// 28 x 28 x 64, pe 8, simd 32, thresholds).
fn ulx3s_reference() -> EngineRequest {
    EngineRequest::conv(&[2, 3, 4, 5, 6], (28, 28, 64, 64), (8, 32)).with_output(OutputMode::Threshold)
}

/// The area reference: pe * simd = 256 (the bound for the share
/// outside the dot products), K=2, on the iCEBreaker's map.
fn area_reference() -> EngineRequest {
    EngineRequest::conv(&[2, 3], (16, 16, 32, 32), (8, 32)).with_output(OutputMode::Threshold)
}

/// ECP5 takes a register after every tree level and a second one after
/// every memory read (the block RAM's output register); iCE40 the default.
const ECP5_PIPELINE: u32 = 1;

fn render(r: &EngineRequest) -> Result<RenderedEngine, String> {
    Ok(render::render_engine(r.to_params()?, DEFAULT_ENGINE_PIPELINE))
}

fn render_for(r: &EngineRequest, board: Board) -> Result<RenderedEngine, String> {
    Ok(render::render_engine(r.to_params()?, pipeline_for(board)))
}

fn pipeline_for(board: Board) -> u32 {
    if board == Board::Ulx3s { ECP5_PIPELINE } else { DEFAULT_ENGINE_PIPELINE }
}

/// `mbnn gen` flags that make the engine again.
fn flags(r: &EngineRequest) -> String {
    flags_for(r, Board::IceBreaker)
}

fn flags_for(r: &EngineRequest, board: Board) -> String {
    format!("{} --pipeline {}", r.flags(), pipeline_for(board))
}

/// Lane bits of an engine: pe * simd per lane (`conv`: K lanes; `pa_conv`:
/// M x N AND-popcounts).
fn lane_bits(e: &RenderedEngine) -> usize {
    let p = &e.params;
    let lanes = match p.kind {
        crate::spec::engine::EngineKind::Conv => p.lanes(),
        crate::spec::engine::EngineKind::PaConv => p.lanes() * p.act_bases(),
    };
    p.folding.pe * p.folding.simd * lanes
}

fn synth(e: &RenderedEngine, board: Board, work: &Path, keep_hierarchy: bool) -> Result<SynthCells, String> {
    let dir = work.join(format!("{}_{board}{}", e.params.top, if keep_hierarchy { "_hier" } else { "" }));
    fpga::synth_cells_with(&e.design_files(), &e.params.top, board, &dir, keep_hierarchy)
}

fn place(e: &RenderedEngine, board: Board, work: &Path) -> Result<FpgaReport, String> {
    let design = PnrDesign { signature: &e.generated.signature, verilog: e.design_files() };
    pnr::pnr_design(&design, board, &work.join(format!("pnr_{board}_{}", e.params.top)))
}

/// Runs every engine figure; progress goes to stderr.
pub fn engine_rows(rows: &mut Vec<Row>, work: &Path, t0: Instant) -> Result<(), String> {
    let work = &work.join("engines");
    throughput_rows(rows, t0)?;
    area_rows(rows, work, t0)?;
    board_rows(rows, work, t0)?;
    bpac_rows(rows, work, t0)?;
    pa_rows(rows, work, t0)
}

/// Cycles per frame with no stalls, and the reference layer's simulation speed.
fn throughput_rows(rows: &mut Vec<Row>, t0: Instant) -> Result<(), String> {
    for (board, request, frames) in
        [(Board::IceBreaker, icebreaker_reference(), 4), (Board::Ulx3s, ulx3s_reference(), 3)]
    {
        let name = board.to_string();
        let e = render_for(&request, board)?;
        progress(&format!("engines: Verilator, {frames} frames of the {name} reference, no stalls"), t0);
        let rate = stream_rate(&e, frames, 1)?;
        let cpf = e.params.cycles_per_frame() as f64;
        rows.push(Row::new(
            &format!("engine cycles/frame, no stalls, {name} reference"),
            "cycles",
            Some(cpf),
            rate.cycles_per_frame as f64,
            Target::EqualsBaseline,
            format!(
                "gen {}: {} frames back to back under Verilator, every beat checked; baseline = the manifest's \
                 cycles_per_frame (SPEC 6.6); fill {} cycles measured, {} stated",
                flags_for(&request, board),
                rate.frames,
                rate.fill,
                e.generated.fill_cycles
            ),
        ));
        rows.push(Row::new(
            &format!("Verilator checked cycles/s, {name} reference"),
            "cycles/s",
            None,
            rate.checked_cycles_per_s,
            if board == Board::Ulx3s { Target::AtLeast(1e6) } else { Target::None },
            format!(
                "{} cycles, every output beat compared with the golden model, per CPU second of the simulating \
                 thread (the model built beforehand)",
                rate.cycles
            ),
        ));
    }
    Ok(())
}

/// iCE40 area of the area reference: LUTs per lane bit against the PEs,
/// and the share outside the dot products.
fn area_rows(rows: &mut Vec<Row>, work: &Path, t0: Instant) -> Result<(), String> {
    let request = area_reference();
    let e = render(&request)?;
    let simd = e.params.folding.simd;
    progress("engines: iCE40 synthesis of the area reference, flat and with its hierarchy, and the PEs", t0);
    let flat = synth(&e, Board::IceBreaker, work, false)?;
    let kept = synth(&e, Board::IceBreaker, work, true)?;
    let bits = lane_bits(&e) as f64;
    let per_bit = |r: &Request| -> Result<(f64, SynthCells), String> {
        let u: Rendered = render::render(r.params());
        let c = fpga::synth_cells(&u.verilog(), &u.params.top, Board::IceBreaker, &work.join(&u.params.top))?;
        Ok((c.luts as f64 / simd as f64 / u.params.lanes.max(1) as f64, c))
    };
    let (pe_bit, pe) = per_bit(&Request::xnor_pe(simd))?;
    let (gn_bit, gn) = per_bit(&Request::groupnet(e.params.lanes(), simd))?;
    let source = |what: &str, c: &SynthCells| {
        format!(
            "gen {}: yosys `{}` alone, {} SB_LUT4 over {bits} lane bits (pe x simd x K); baseline = {what} ({} \
             SB_LUT4)",
            flags(&request),
            flat.command,
            flat.luts,
            c.luts
        )
    };
    rows.push(Row::new(
        "engine iCE40 LUT4 per lane bit, K=2 pe 8 simd 32",
        "LUT4/bit",
        Some(pe_bit),
        flat.luts as f64 / bits,
        Target::AtMostTimesBaseline(1.25),
        source(&format!("the XNOR PE of {simd} inputs per bit (gen --block xnor_pe --len {simd})"), &pe),
    ));
    rows.push(Row::new(
        "  same, against the Group-Net unit",
        "LUT4/bit",
        Some(gn_bit),
        flat.luts as f64 / bits,
        Target::None,
        source(&format!("gen --k {} --len {simd}, per lane bit", e.params.lanes()), &gn),
    ));
    let dot = crate::generator::engine::dot_module_name(&e.params);
    let dot_luts = kept.module_luts.get(&dot).copied().unwrap_or(0) * e.params.folding.pe as u64;
    let top_luts = kept.module_luts.get(&e.params.top).copied().unwrap_or(0);
    rows.push(Row::new(
        "engine share of LUTs outside the dot products, pe*simd=256",
        "%",
        None,
        100.0 * top_luts as f64 / (top_luts + dot_luts).max(1) as f64,
        Target::AtMost(20.0),
        format!(
            "yosys `{}`: the top (window, control, thresholds, FIFO) {top_luts} SB_LUT4, the dot products ({} \
             instances of {dot}: popcounts, accumulators, scale trees) {dot_luts}; flattened, {} in all",
            kept.command, e.params.folding.pe, flat.luts
        ),
    ));
    packing_rows(rows, &e, (Board::IceBreaker, &flat))
}

/// The fewest RAMs of `board` a memory of `depth` x `width` fits, and the
/// share of their bits it fills.
pub fn packing(board: Board, depth: u64, width: u64) -> (u64, f64) {
    let ram = block_ram(board.info().family);
    let rams = ram.blocks(width, depth).max(1);
    (rams, (depth * width) as f64 / (rams * ram.bits()) as f64)
}

/// Per memory in block RAM: its bits against those of the RAMs it takes.
fn packing_rows(rows: &mut Vec<Row>, e: &RenderedEngine, (board, cells): (Board, &SynthCells)) -> Result<(), String> {
    let block = block_ram(board.info().family);
    let (native, ram) = (block.shapes[0].1, block.name);
    let mut counted = 0;
    let memories: Vec<_> = e.generated.design.modules.values().flat_map(|m| m.memories.iter()).collect();
    for mem in memories.iter().filter(|m| m.style == MemoryStyle::Block || m.depth as u64 >= native / 2) {
        let (rams, share) = packing(board, mem.depth as u64, mem.width as u64);
        counted += rams;
        let deep = mem.depth as u64 >= native;
        rows.push(Row::new(
            &format!("  {board} packing, {} {}x{}", mem.name, mem.depth, mem.width),
            "%",
            None,
            100.0 * share,
            if deep { Target::AtLeast(80.0) } else { Target::None },
            format!(
                "{rams} {ram} at best for {} bits; {}",
                mem.depth * mem.width,
                if deep {
                    "as deep as the RAM's native shape"
                } else {
                    "shallower than the RAM: its width fixes the RAMs"
                }
            ),
        ));
    }
    rows.push(Row::new(
        &format!("  {board} block RAMs of {}", e.params.top),
        ram,
        Some(counted as f64),
        cells.block_ram as f64,
        Target::None,
        "baseline = the sum over the memories above at their best shapes; project = what Yosys placed (the \
         output FIFO and shallow memories stay in logic)"
            .into(),
    ));
    Ok(())
}

/// Both boards' reference engines in the board wrapper.
fn board_rows(rows: &mut Vec<Row>, work: &Path, t0: Instant) -> Result<(), String> {
    let boards = [
        (Board::IceBreaker, icebreaker_reference(), 48.0, "Lattice's own binarized CNN IP: 31.6-41.8 MHz"),
        (Board::Ulx3s, ulx3s_reference(), 150.0, "the issue's reference layer"),
    ];
    for (board, request, target, note) in boards {
        let e = render_for(&request, board)?;
        progress(&format!("engines: {board} reference placed in the board wrapper (nextpnr)"), t0);
        let r = place(&e, board, work)?.outcome;
        if board == Board::Ulx3s {
            let cells = synth(&e, board, work, false)?;
            packing_rows(rows, &e, (board, &cells))?;
        }
        let fps = r.fmax_mhz * 1e6 / e.params.cycles_per_frame() as f64;
        rows.push(Row::new(
            &format!("engine Fmax, {board} reference, in the wrapper"),
            "MHz",
            None,
            r.fmax_mhz,
            Target::AtLeast(target),
            format!(
                "gen {}; LFSR pixels with stalls on both sides, output signature on the LEDs; nextpnr after \
                 routing; {} LUT4, {} FFs, {} block RAMs, {} of {} logic cells; {fps:.0} frames/s at Fmax \
                 ({} cycles a frame); {note}",
                flags_for(&request, board),
                r.luts,
                r.flip_flops,
                r.block_ram,
                r.logic_cells.used,
                r.logic_cells.available,
                e.params.cycles_per_frame()
            ),
        ));
        rows.push(Row::new(
            &format!("  {board} reference frames/s at Fmax"),
            "frames/s",
            None,
            fps,
            Target::None,
            format!("Fmax / {} cycles per frame", e.params.cycles_per_frame()),
        ));
    }
    Ok(())
}

/// BPAC (dilations 2..K+1) against plain branches (all 1), same K and layer.
fn bpac_rows(rows: &mut Vec<Row>, work: &Path, t0: Instant) -> Result<(), String> {
    progress("engines: BPAC against plain branches (iCE40 synthesis)", t0);
    let bpac = icebreaker_reference();
    let plain = EngineRequest { dilations: Some(vec![1, 1]), ..bpac.clone() };
    let (b, p) = (render(&bpac)?, render(&plain)?);
    let (bc, pc) = (synth(&b, Board::IceBreaker, work, false)?, synth(&p, Board::IceBreaker, work, false)?);
    rows.push(Row::new(
        "engine BPAC (dilations 2,3) LUT4 against plain (1,1)",
        "LUT4",
        Some(pc.luts as f64),
        bc.luts as f64,
        Target::AtMostTimesBaseline(1.05),
        format!("gen {} against --dilations 1,1; yosys `{}`", flags(&bpac), bc.command),
    ));
    let rows_of = |e: &RenderedEngine| e.generated.line_buffer.0;
    rows.push(Row::new(
        "  same, block RAMs",
        "SB_RAM40_4K",
        Some(pc.block_ram as f64),
        bc.block_ram as f64,
        Target::None,
        format!(
            "the line buffer holds {} rows with BPAC, {} plain; each lane keeps its own channels either way",
            rows_of(&b),
            rows_of(&p)
        ),
    ));
    Ok(())
}

/// PA-Net M=4 N=5 against Group-Net K=5 on the same layer and folding.
fn pa_rows(rows: &mut Vec<Row>, work: &Path, t0: Instant) -> Result<(), String> {
    let shape = (14, 14, 32, 32);
    let gn = EngineRequest::conv(&[1, 1, 1, 1, 1], shape, (4, 16)).with_output(OutputMode::Sum);
    let pa = EngineRequest::pa_conv((4, 5, 8), shape, (4, 16)).with_output(OutputMode::Sum);
    let (g, p) = (render_for(&gn, Board::Ulx3s)?, render_for(&pa, Board::Ulx3s)?);
    progress("engines: PA-Net M=4 N=5 against Group-Net K=5 (iCE40 synthesis, ULX3S placement)", t0);
    let (gc, pc) = (synth(&g, Board::IceBreaker, work, false)?, synth(&p, Board::IceBreaker, work, false)?);
    rows.push(Row::new(
        "engine PA-Net M4 N5 iCE40 LUT4 against Group-Net K5",
        "LUT4",
        Some(gc.luts as f64),
        pc.luts as f64,
        Target::None,
        format!(
            "gen {} against gen {}: {} against {} AND/XNOR-popcount lanes of simd bits per PE; FFs {} against \
             {}, block RAMs {} against {}",
            flags_for(&pa, Board::Ulx3s),
            flags_for(&gn, Board::Ulx3s),
            20,
            5,
            pc.flip_flops,
            gc.flip_flops,
            pc.block_ram,
            gc.block_ram
        ),
    ));
    let (gr, pr) = (place(&g, Board::Ulx3s, work)?.outcome, place(&p, Board::Ulx3s, work)?.outcome);
    rows.push(Row::new(
        "  same, ULX3S Fmax in the wrapper",
        "MHz",
        Some(gr.fmax_mhz),
        pr.fmax_mhz,
        Target::None,
        format!(
            "both {} cycles per frame (the same folding): the paper's \"latency as small as binary\" holds in \
             cycles; {} against {} LUT4 placed",
            p.params.cycles_per_frame(),
            pr.luts,
            gr.luts
        ),
    ));
    Ok(())
}
