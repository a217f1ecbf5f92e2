//! The engine's output stage (SPEC 6.5): per fold, the `pe` channels'
//! exact sums, threshold levels or fusion bits; a whole pixel assembled
//! from its folds into the output FIFO, whose registered head drives the
//! `m_axis_*` ports.

use super::datapath::Folded;
use super::dot;
use super::plan::Plan;
use crate::generator::build::StreamIo;
use crate::generator::build::{constant, delay, delay_flag, mark_unused, queue, resize, select_const};
use crate::generator::tree::{self, Schedule};
use crate::rtl::{BinOp, Comparison, Expr, Module};
use crate::spec::engine::{EngineParams, Output};
use crate::util::fixed::width_for;
use std::cell::Cell;

/// The FIFO's loop back to the schedule: a pixel left through `m_axis`.
pub struct Fifo {
    pub popped: Expr,
}

/// Places the output FIFO needs so that the schedule never waits for it
/// while the sink keeps up: a pixel holds its place from its last fold's
/// first step (see `schedule::issue`) for `steps_per_fold + latency + 1`
/// cycles (the fold's steps, the pipeline to the FIFO's head, and the
/// pop: `reserved` counts the place free the cycle after its beat leaves),
/// and a pixel's last fold starts every `ii` cycles. No more: on iCE40
/// each place is a pixel's width of flip-flops, each a logic cell of its
/// own (a dense layer's 10 sums of 18 bits: 181 a place). Mostly one place
/// will do. Confirmed in Verilator on nine engines (K = 2 and PA-Net 2x3,
/// ii 1 to 18, latency 5 to 16): this is the fewest places that keep
/// frames `cycles_per_frame` apart; a place fewer loses throughput, never
/// deadlocks (`tests/stream_engine.rs` keeps one of them).
pub fn fifo_depth(steps_per_fold: usize, ii: usize, latency: u32) -> usize {
    (steps_per_fold + latency as usize + 1).div_ceil(ii)
}

/// Per PE, the fold's output elements (sum or level, `ew` bits; fusion:
/// one bit per lane), registered, with the control delayed alongside.
struct Elements {
    values: Vec<Vec<Expr>>,
    valid: Expr,
    last_group: Expr,
    last_pixel: Expr,
}

/// The fold index the channel tables look up, and whether one has read it
/// (when every fold has the same constants nothing does, and it is marked
/// unused). With `early`, the index is a cycle ahead of the sums at the
/// comparators and each table's value is registered, so that no cycle
/// holds both the table's mux and the comparator's carry chain: in the
/// PA-Net CNV (pipeline 1) a dense layer's table of 256 folds and its
/// comparators were the critical path, 14.4 ns on ECP5 (69.3 MHz).
struct FoldIndex {
    nf: Expr,
    early: bool,
    read: Cell<bool>,
}

/// A per-channel constant of PE `pe` for the fold at the comparators:
/// channel nf*pe + pe (a constant when every fold has the same).
fn channel_table(
    m: &mut Module,
    (plan, nf): (&Plan, &FoldIndex),
    (name, pe, width): (&str, usize, u32),
    value: impl Fn(usize) -> i128,
) -> Expr {
    let values: Vec<i128> = (0..plan.nf).map(|fold| value(fold * plan.pe + pe)).collect();
    if values.iter().all(|&v| v == values[0]) {
        return constant(width, values[0]);
    }
    nf.read.set(true);
    let table = select_const(&nf.nf, &values, width);
    if nf.early { m.reg(name, table, None) } else { table }
}

/// `ceil(t / 2^shift)`: `y >= t` is `y >> shift >= ceil(t / 2^shift)` for a
/// `y` whose low `shift` bits are zero, so those bits take no logic.
fn scaled_bound(t: i128, shift: u32) -> i128 {
    let unit = 1i128 << shift;
    t.div_euclid(unit) + i128::from(t.rem_euclid(unit) != 0)
}

/// `value >= bound`, both two's complement of the same width; against
/// zero, the sign bit (Yosys 0.23 builds a subtraction for it).
fn at_least(m: &mut Module, name: &str, value: &Expr, bound: Expr) -> Expr {
    if matches!(&bound, Expr::Const(c) if c.is_zero()) {
        let top = value.width() - 1;
        if top > 0 {
            mark_unused(m, &format!("{name}_magnitude"), vec![value.slice(0, top)]);
        }
        return Expr::invert(value.bit(top));
    }
    Expr::compare_signed(Comparison::Ge, value.clone(), bound)
}

/// Sums to threshold levels: how many of the channel's thresholds
/// `sign * y` reaches (a thermometer code, counted). With a sign of -1,
/// `-y >= t` is `!(y >= 1 - t)`: a table of bounds and an inverter, no
/// negation of `y`.
fn threshold_level(
    m: &mut Module,
    plan: &Plan,
    name: &str,
    (y, y_signed, shift): (Expr, bool, u32),
    nf: &FoldIndex,
    pe: usize,
    (thresholds, signs): (&[Vec<i64>], &[i64]),
) -> Expr {
    let bound = |o: usize, k: usize| -> i128 {
        let t = thresholds[o][k] as i128;
        scaled_bound(if signs[o] < 0 { 1 - t } else { t }, shift)
    };
    let levels = thresholds[0].len();
    let b_width = (0..plan.cout)
        .flat_map(|o| (0..levels).map(move |k| (o, k)))
        .map(|(o, k)| width_for(bound(o, k).min(0), bound(o, k).max(0)))
        .max()
        .unwrap_or(1);
    // The comparison is signed; an unsigned sum gains a zero sign bit.
    let width = (y.width() + u32::from(!y_signed)).max(b_width);
    let y = m.wire(&format!("{name}_y"), resize(y, width, y_signed));
    let negative = channel_table(m, (plan, nf), (&format!("{name}_negative"), pe, 1), |o| i128::from(signs[o] < 0));
    let bits: Vec<Expr> = (0..levels)
        .rev()
        .map(|k| {
            let table = channel_table(m, (plan, nf), (&format!("{name}_bound{k}"), pe, width), |o| bound(o, k));
            let reached = at_least(m, &format!("{name}_{k}"), &y, table);
            Expr::bin(BinOp::Xor, reached, negative.clone())
        })
        .collect();
    let reached = m.wire(&format!("{name}_reached"), Expr::concat(bits));
    let sched = Schedule { pipeline: 0, depth: 1 };
    tree::popcount(m, &reached, &sched, 1, crate::spec::params::PopcountStyle::Tree, &format!("{name}_level_")).expr
}

/// Registers between the scale tree's sums and the threshold or gate
/// comparators: one, so that no cycle holds the tree's last adders and a
/// comparator's carry chain (on iCE40 that path set the digits Group-Net's
/// Fmax, 34 MHz). The register takes an adder's output, so it shares the
/// adder's logic cell. Sums leave as they are.
fn compare_registers(p: &EngineParams) -> u32 {
    u32::from(!matches!(p.output, Output::Sum))
}

/// The fold's elements of every PE, from the dot modules' results: the
/// sums as they are, threshold levels, or fusion gates' bits.
fn elements(m: &mut Module, p: &EngineParams, plan: &Plan, f: &Folded, pipeline: u32) -> Elements {
    let sum_delay = compare_registers(p);
    let inner = dot::inner_registers(dot::output_levels(p), pipeline) + sum_delay;
    // Tables a cycle early wherever the sums pass a register first.
    let early = pipeline == 1 && sum_delay > 0;
    let nf = delay(m, "nf_out", f.nf.clone(), inner - u32::from(early));
    let nf_tree = FoldIndex { nf, early, read: Cell::new(false) };
    let ew = p.out_element_bits() as u32;
    let shifts = dot::result_shifts(p);
    let values = (0..plan.pe)
        .map(|pe| {
            let sums: Vec<Expr> = f.sums[pe]
                .iter()
                .enumerate()
                .map(|(i, s)| delay(m, &format!("y_pe{pe}_{i}"), s.clone(), sum_delay))
                .collect();
            let value: Vec<Expr> = match &p.output {
                Output::Fusion { thresholds, .. } => sums
                    .iter()
                    .enumerate()
                    .map(|(i, s)| {
                        let bound = |o: usize| scaled_bound(thresholds[i][o] as i128, shifts[i]);
                        let width = (0..plan.cout)
                            .map(|o| width_for(bound(o).min(0), bound(o).max(0)))
                            .fold(s.width(), u32::max);
                        let name = format!("gate_pe{pe}_{i}_bound");
                        let table = channel_table(m, (plan, &nf_tree), (&name, pe, width), bound);
                        at_least(m, &format!("gate_pe{pe}_{i}"), &resize(s.clone(), width, true), table)
                    })
                    .collect(),
                Output::Threshold { thresholds, signs } => {
                    let y = (sums[0].clone(), p.sum_signed(), shifts[0]);
                    let level = threshold_level(m, plan, &format!("t_pe{pe}"), y, &nf_tree, pe, (thresholds, signs));
                    vec![resize(level, ew, false)]
                }
                Output::Sum => {
                    let y = sums[0].clone();
                    let full = if shifts[0] > 0 { Expr::concat(vec![y, Expr::zeros(shifts[0])]) } else { y };
                    vec![resize(full, ew, p.sum_signed())]
                }
            };
            value.into_iter().enumerate().map(|(i, v)| m.reg(&format!("out_pe{pe}_{i}"), v, None)).collect()
        })
        .collect();
    if !nf_tree.read.get() && !matches!(nf_tree.nf, Expr::Const(_)) {
        mark_unused(m, "fold_index", vec![nf_tree.nf]);
    }
    Elements {
        values,
        valid: delay_flag(m, "out_valid_fold", f.done.clone(), inner + 1),
        last_group: delay(m, "out_last_group", f.last_group.clone(), inner + 1),
        last_pixel: delay(m, "out_last_pixel", f.last_pixel.clone(), inner + 1),
    }
}

/// The pixel's word from its folds: the folds before the last in a shift
/// register that takes every fold's elements as they come, the last one
/// as it comes. Folds arrive in order, `nf` a pixel, so when a pixel's
/// last fold arrives the register holds exactly its folds 0 to nf - 2,
/// fold 0 lowest, whatever it held before (a reset needs no clearing). One
/// shift enable for all, and no decoder of the fold index: in Verilator a
/// dense layer's 511 held folds were 511 compares and 511 guarded copies
/// a cycle.
fn pixel_word(m: &mut Module, p: &EngineParams, plan: &Plan, e: &Elements) -> Expr {
    // A fold's elements side by side, PE 0's first (lowest).
    let fold_parts: Vec<&Expr> = e.values.iter().flatten().collect();
    let slot: u32 = fold_parts.iter().map(|x| x.width()).sum();
    let held = (plan.nf > 1).then(|| {
        let word = m.wire("fold_word", Expr::concat(fold_parts.iter().rev().map(|&x| x.clone()).collect()));
        let width = slot * (plan.nf as u32 - 1);
        crate::generator::build::feedback_reg_en(m, "held_folds", width, e.valid.clone(), None, |_, held| {
            if width == slot { word } else { Expr::concat(vec![word, held.slice(slot, width - slot)]) }
        })
    });
    // Fold `fold`'s (< nf - 1) elements of PE `pe` in the shift register.
    let held_element = |fold: usize, pe: usize| -> Vec<Expr> {
        let held = held.as_ref().expect("more than one fold");
        let mut at = slot * fold as u32 + e.values[..pe].iter().flatten().map(|x| x.width()).sum::<u32>();
        e.values[pe]
            .iter()
            .map(|x| {
                let bits = held.slice(at, x.width());
                at += x.width();
                bits
            })
            .collect()
    };
    let element = |o: usize| -> Vec<Expr> {
        let (fold, pe) = (o / plan.pe, o % plan.pe);
        if fold + 1 == plan.nf { e.values[pe].clone() } else { held_element(fold, pe) }
    };
    let cout = plan.cout;
    let parts: Vec<Expr> = match p.output {
        // Bit i*cout + o: lane i's gate of channel o.
        Output::Fusion { .. } => {
            (0..e.values[0].len() * cout).rev().map(|bit| element(bit % cout)[bit / cout].clone()).collect()
        }
        _ => (0..cout).rev().map(|o| element(o)[0].clone()).collect(),
    };
    m.wire("pixel_word", Expr::concat(parts))
}

/// The FIFO: a [`queue`] of `depth` places that takes a pixel when its
/// last fold is done; its head drives `m_axis_tdata`, `m_axis_tlast` and
/// `m_axis_tvalid`, all registers, so that none depends on
/// `m_axis_tready`. A pixel that finds the head free and no slot taken
/// goes straight to the head, on the port the next cycle. The
/// schedule starts a pixel only with a place reserved for it, so the
/// queue's ready is high whenever a pixel arrives.
fn fifo(m: &mut Module, word: Expr, (push, last): (Expr, Expr), depth: usize, io: &StreamIo) -> Fifo {
    let width = word.width() + 1;
    let q = queue(m, depth, Expr::concat(vec![last, word]), push, &io.out_ready);
    m.drive(&io.out_valid, q.valid.clone());
    m.drive(&io.out_data, q.data.slice(0, width - 1));
    m.drive(&io.out_last, q.data.bit(width - 1));
    let popped = m.wire("pixel_popped_now", Expr::bin(BinOp::And, q.valid, io.out_ready.clone()));
    Fifo { popped }
}

/// The output stage: elements per fold, whole pixels into the FIFO.
pub fn assemble(
    m: &mut Module,
    p: &EngineParams,
    plan: &Plan,
    f: &Folded,
    depth: usize,
    pipeline: u32,
    io: &StreamIo,
) -> Fifo {
    let e = elements(m, p, plan, f, pipeline);
    let word = pixel_word(m, p, plan, &e);
    let push = m.wire("fifo_push", Expr::bin(BinOp::And, e.valid.clone(), e.last_group.clone()));
    fifo(m, word, (push, e.last_pixel.clone()), depth, io)
}

/// Cycles the output stage adds after the accumulators: the output trees'
/// inner registers, the comparators' and the element register.
pub fn latency_of(p: &EngineParams, pipeline: u32) -> u32 {
    dot::inner_registers(dot::output_levels(p), pipeline) + compare_registers(p) + 1
}
