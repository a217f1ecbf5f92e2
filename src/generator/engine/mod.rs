//! The streaming layer engine (SPEC section 6): pixels in through a
//! ready/valid stream, one convolution layer folded FINN-style, pixels out.
//!
//! - **Line buffer.** Every accepted pixel is written into memories of
//!   2^r rows by 2^c pixels (row = global row mod 2^r), as many rows as the
//!   largest dilation's window spans plus the rows the input may run ahead.
//!   A read port reads one pixel a cycle, so the window of each dilation
//!   (and each tap of a step, when a step takes several whole taps) has a
//!   read port, and a memory, of its own, which keeps only the channels its
//!   lanes read: lanes with their own input maps share no bits, and a
//!   shared input read at K dilations is kept K times.
//! - **Schedule.** Output pixels in raster order; per pixel, `cout/pe`
//!   neuron folds of `k*k*cin/simd` steps, one step a cycle. A pixel starts
//!   when every input pixel its window needs has arrived and the output
//!   FIFO has a place reserved for it; it then runs to the end without a
//!   stall, so the datapath is a plain pipeline with no enables.
//! - **Datapath.** Per step and lane: `simd` window elements (a padded tap
//!   masked out), the weights of `pe` channels from a ROM, XNOR (or AND
//!   with PA-Net's one-hot bases, compared once per element at the
//!   window) and popcount, accumulated over the steps.
//! - **Output.** Per fold, the exact sums, threshold levels or fusion bits
//!   of `pe` channels; a whole pixel goes into a FIFO whose output register
//!   drives `m_axis_*`.

pub mod manifest;
pub mod plan;

mod datapath;
mod dot;
mod output;
mod schedule;

pub use output::fifo_depth;

use crate::generator::build::{StreamIo, stream_ports};
use crate::rtl::{BinOp, Comparison, Const, Design, Expr, Module};
use crate::spec::engine::EngineParams;
use crate::spec::signature::{Interface, Signature};
use output::Fifo;
use plan::Plan;
use schedule::{Issue, LineBuffer, Window};

/// The name of the module that computes one PE's dot products.
pub fn dot_module_name(p: &EngineParams) -> String {
    dot::name(p)
}

/// A generated engine and the facts its manifest reports.
#[derive(Debug)]
pub struct GeneratedEngine {
    pub design: Design,
    pub signature: Signature,
    /// Cycles from issuing a step to its pixel entering the output FIFO.
    pub pipeline_latency: u32,
    /// Cycles a run of frames may take beyond frames x cycles_per_frame
    /// with no stalls: the first window's wait and the pipeline's fill.
    pub fill_cycles: u64,
    /// The line buffer: rows, pixels a row, and its memories (one per
    /// read port: name, bits a pixel).
    pub line_buffer: (usize, usize, Vec<(String, usize)>),
    /// Places of the output FIFO.
    pub fifo_depth: usize,
}

/// Generates the engine described by `p` (already validated); trees get a
/// register every `pipeline` levels.
pub fn generate_engine(p: &EngineParams, pipeline: u32) -> GeneratedEngine {
    generate_engine_with_fifo(p, pipeline, None)
}

/// As [`generate_engine`], with the output FIFO `places` deep instead of
/// [`fifo_depth`]'s bound: fewer places cost throughput (the schedule waits
/// for a free one before a pixel's last fold), never a deadlock, which is
/// how the bound is confirmed in simulation.
pub fn generate_engine_with_fifo(p: &EngineParams, pipeline: u32, places: Option<usize>) -> GeneratedEngine {
    // With a register every tree level, every memory read is registered
    // twice; three times with banked weight ROMs (the block's word, then
    // the bank's choice), four when the choice among banks is wide. A
    // wide choice of chunk takes a cycle more.
    let plan = Plan::new(p);
    let weight_banks = if pipeline == 1 { plan.weight_bank_depth(p) } else { None };
    let chunk_register = pipeline == 1 && plan.wide_chunk_choice();
    let plan = Plan { weight_banks, chunk_register, ..plan };
    let read_pipeline =
        if pipeline == 1 { 1 + u32::from(weight_banks.is_some()) + u32::from(plan.wide_bank_choice()) } else { 0 };
    let plan = Plan { read_pipeline, ..plan };
    let mut m = Module::new(&p.top);
    let (io, roles) = stream_ports(&mut m, plan.pixel_bits as u32, p.out_pixel_bits() as u32);
    let buffer = schedule::line_buffer(&mut m, &plan, &io);
    // The output trees' depth is known from the coefficients alone, so the
    // FIFO's depth can be fixed before any logic.
    let datapath_latency = datapath::latency(p, &plan, pipeline);
    let issue_wire_latency = datapath_latency + output::latency_of(p, pipeline);
    let fifo_depth = places.unwrap_or_else(|| output::fifo_depth(plan.sf, plan.ii(), issue_wire_latency));
    assert!(fifo_depth > 0, "{}: an output FIFO of no places", p.top);
    let issue = schedule::issue(&mut m, &plan, &buffer, fifo_depth);
    let window = schedule::read_window(&mut m, &plan, &buffer, &issue);
    let (folded, dot_module) = datapath::build(&mut m, p, &plan, &window, pipeline);
    let fifo = output::assemble(&mut m, p, &plan, &folded, fifo_depth, pipeline, &io);
    close_loops(&mut m, &plan, &io, (&buffer, &issue, &window), &fifo);
    let signature = Signature::of_module(
        &m,
        &roles,
        Interface::Stream { ii: plan.ii() as u64, cycles_per_frame: p.cycles_per_frame() as u64 },
    );
    let pipeline_latency = issue_wire_latency;
    let first_window = (plan.off_max.max(0) as usize).min(plan.height - 1) * plan.width
        + (plan.off_max.max(0) as usize).min(plan.width - 1)
        + 1;
    let mut design = Design { top: p.top.clone(), ..Design::default() };
    design.add(m);
    design.add(dot_module);
    GeneratedEngine {
        design,
        signature,
        pipeline_latency,
        // The first window's input, the window's readiness register, one
        // pixel's steps, the pipeline, and the FIFO (its head).
        fill_cycles: (first_window + 1 + plan.ii() + pipeline_latency as usize + 2) as u64,
        line_buffer: (plan.rows(), 1 << plan.col_bits, window.memories.clone()),
        fifo_depth,
    }
}

/// Drives the signals that close loops through later stages: the input's
/// ready (the buffer has room beyond every row still being read) and the
/// pixels leaving the FIFO (places freed).
fn close_loops(
    m: &mut Module,
    plan: &Plan,
    io: &StreamIo,
    (buffer, issue, window): (&LineBuffer, &Issue, &Window),
    fifo: &Fifo,
) {
    let wy = plan.row_counter_bits;
    // The input may write while its row is at most the limit: their
    // difference (wrapping; they stay close) is not negative. `tready` is
    // a register, loaded with the answer for the input's row of the next
    // cycle (this one's, or the next if this beat ends a row) against this
    // cycle's limit, which never goes back: at worst a cycle late.
    let d = m.wire("input_room", Expr::bin(BinOp::Sub, window.input_limit.clone(), buffer.y_in.clone()));
    let here = Expr::invert(d.bit(wy - 1));
    let next_row = Expr::bin(BinOp::And, here.clone(), Expr::compare(Comparison::Ne, d, Expr::zeros(wy)));
    let ready = m.reg("input_ready", Expr::mux(buffer.row_done.clone(), next_row, here), Some(Const::zeros(1)));
    m.drive(&io.in_ready, ready);
    m.drive(&issue.popped, fifo.popped.clone());
}
