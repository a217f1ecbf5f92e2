//! The engine's output stage (SPEC 6.5): per fold, the `pe` channels'
//! exact sums, threshold levels or fusion bits; a whole pixel assembled
//! from its folds into the output FIFO, whose registered head drives the
//! `m_axis_*` ports.

use super::Ports;
use super::datapath::Folded;
use super::plan::Plan;
use crate::generator::build::{constant, counter, delay, delay_flag, feedback_reg, resize, select_const};
use crate::generator::tree::{self, Schedule, Term, fit_result};
use crate::rtl::{BinOp, Comparison, Const, Expr, MemoryInit, Module};
use crate::spec::engine::{EngineKind, EngineParams, Output};
use crate::util::fixed::width_for;

/// The FIFO's loop back to the schedule: a pixel left through `m_axis`.
pub struct Fifo {
    pub popped: Expr,
}

/// Places the output FIFO needs so that the schedule never waits for it
/// while the sink keeps up: every pixel alive from its first step to its
/// beat out (a fold's steps, the pipeline, the FIFO's two registers).
pub fn fifo_depth(plan: &Plan, latency: u32) -> usize {
    let ii = plan.ii();
    let alive = (ii + latency as usize + 4).div_ceil(ii) + 1;
    alive.next_power_of_two().max(2)
}

/// Per PE, the fold's output elements (sum or level, `ew` bits; fusion:
/// one bit per lane), registered, with the control delayed alongside.
struct Elements {
    values: Vec<Vec<Expr>>,
    valid: Expr,
    nf: Expr,
    last_group: Expr,
    last_pixel: Expr,
}

/// `sum_i c_i (2 agree_i - inside_i)` of PE `pe` as scale-tree terms, or
/// (without a fold) the same terms' shape, which fixes the tree's depth.
fn conv_terms(lanes: usize, f: Option<(&Folded, usize)>, coefficient: impl Fn(usize) -> i64) -> Vec<Term> {
    let mut terms = vec![];
    for lane in 0..lanes {
        let c = coefficient(lane) as i128;
        let (agree, inside) = match f {
            Some((f, pe)) => (
                (f.agree[pe][lane].expr.clone(), f.agree[pe][lane].max),
                (f.inside[lane].expr.clone(), f.inside[lane].max),
            ),
            None => ((Expr::zeros(1), 1), (Expr::zeros(1), 1)),
        };
        let (a, n) = (2 * lane, 2 * lane + 1);
        terms.extend(tree::csd(2 * c).into_iter().map(|(s, neg)| Term::signal(agree.0.clone(), a, agree.1, s, neg)));
        terms.extend(tree::csd(-c).into_iter().map(|(s, neg)| Term::signal(inside.0.clone(), n, inside.1, s, neg)));
    }
    terms
}

/// A scale tree's root at `width` bits (two's complement), pipelined by
/// `sched`; a tree shallower than the schedule's depth is delayed to it, so
/// that every output tree takes the same cycles.
fn sum_of(m: &mut Module, name: &str, terms: Vec<Term>, sched: &Schedule, width: u32) -> Expr {
    let inner = |levels: u32| (1..levels).filter(|&l| sched.register_after(l)).count() as u32;
    let short = inner(sched.depth) - inner(tree::scale_tree_levels(&terms));
    let value = match tree::scale_tree(m, terms, sched, 1) {
        None => Expr::zeros(width),
        // The sum is taken modulo 2^width: its exact range fits.
        Some(t) => {
            let fitted = fit_result(m, &t, width);
            m.wire(name, fitted)
        }
    };
    delay(m, &format!("{name}_aligned"), value, short)
}

/// Levels of the output trees, the deepest over lanes.
fn output_levels(p: &EngineParams) -> u32 {
    let lanes = p.lanes();
    match (&p.output, p.kind) {
        (_, EngineKind::PaConv) => 0,
        (Output::Fusion { fusion, .. }, _) => {
            (0..lanes).map(|i| tree::scale_tree_levels(&conv_terms(lanes, None, |j| fusion[i][j]))).max().unwrap_or(0)
        }
        _ => tree::scale_tree_levels(&conv_terms(lanes, None, |j| p.lambdas[j])),
    }
}

/// A per-channel constant of PE `pe` for the fold `nf`: channel nf*pe + pe.
fn channel_table(plan: &Plan, nf: &Expr, pe: usize, width: u32, value: impl Fn(usize) -> i64) -> Expr {
    let values: Vec<i128> = (0..plan.nf).map(|fold| value(fold * plan.pe + pe) as i128).collect();
    if values.len() == 1 { constant(width, values[0]) } else { select_const(nf, &values, width) }
}

/// Sums to threshold levels: how many of the channel's thresholds
/// `sign * y` reaches (a thermometer code, counted).
fn threshold_level(
    m: &mut Module,
    plan: &Plan,
    name: &str,
    (y, y_signed): (Expr, bool),
    nf: &Expr,
    pe: usize,
    (thresholds, signs): (&[Vec<i64>], &[i64]),
) -> Expr {
    let t_width =
        thresholds.iter().flatten().map(|&t| width_for(t.min(0) as i128, t.max(0) as i128)).max().unwrap_or(1);
    let width = (y.width() + 1).max(t_width);
    // The sum is two's complement only where it can be negative.
    let y = m.wire(&format!("{name}_y"), resize(y, width, y_signed));
    let negated = Expr::bin(BinOp::Sub, Expr::zeros(width), y.clone());
    let sign = channel_table(plan, nf, pe, 1, |o| i64::from(signs[o] < 0));
    let signed_y = m.wire(&format!("{name}_signed_y"), Expr::mux(sign, negated, y));
    let bits: Vec<Expr> = (0..thresholds[0].len())
        .rev()
        .map(|k| {
            let t = channel_table(plan, nf, pe, width, |o| thresholds[o][k]);
            Expr::compare_signed(Comparison::Ge, signed_y.clone(), t)
        })
        .collect();
    let reached = m.wire(&format!("{name}_reached"), Expr::concat(bits));
    let sched = Schedule { pipeline: 0, depth: 1 };
    tree::popcount(m, &reached, &sched, 1, crate::spec::params::PopcountStyle::Tree, &format!("{name}_level_")).expr
}

/// The fold's elements of every PE, from the accumulators.
fn elements(m: &mut Module, p: &EngineParams, plan: &Plan, f: &Folded, pipeline: u32) -> Elements {
    let levels = output_levels(p);
    let sched = Schedule { pipeline, depth: levels.max(1) };
    let inner = (1..levels).filter(|&l| sched.register_after(l)).count() as u32;
    let lanes = p.lanes();
    let nf_tree = delay(m, "nf_out", f.nf.clone(), inner);
    let ew = p.out_element_bits() as u32;
    let (lo, hi) = p.sum_range();
    let sum_width = width_for(lo as i128, hi as i128);
    let values = (0..plan.pe)
        .map(|pe| {
            let value: Vec<Expr> = match (&p.output, p.kind) {
                (Output::Fusion { fusion, thresholds }, _) => (0..fusion.len())
                    .map(|i| {
                        let terms = conv_terms(lanes, Some((f, pe)), |j| fusion[i][j]);
                        let width = fusion_width(&terms);
                        let s = sum_of(m, &format!("fusion_pe{pe}_l{i}"), terms, &sched, width);
                        let u = channel_table(plan, &nf_tree, pe, width, |o| thresholds[i][o]);
                        Expr::compare_signed(Comparison::Ge, s, u)
                    })
                    .collect(),
                (output, kind) => {
                    let y = if kind == EngineKind::Conv {
                        sum_of(
                            m,
                            &format!("y_pe{pe}"),
                            conv_terms(lanes, Some((f, pe)), |j| p.lambdas[j]),
                            &sched,
                            sum_width,
                        )
                    } else {
                        f.sums[pe].clone()
                    };
                    match output {
                        Output::Threshold { thresholds, signs } => {
                            vec![resize(
                                threshold_level(
                                    m,
                                    plan,
                                    &format!("t_pe{pe}"),
                                    (y, p.sum_signed()),
                                    &nf_tree,
                                    pe,
                                    (thresholds, signs),
                                ),
                                ew,
                                false,
                            )]
                        }
                        _ => vec![y],
                    }
                }
            };
            value.into_iter().enumerate().map(|(i, v)| m.reg(&format!("out_pe{pe}_{i}"), v, None)).collect()
        })
        .collect();
    Elements {
        values,
        valid: delay_flag(m, "out_valid_fold", f.done.clone(), inner + 1),
        // Only folds before the last are held, by their index.
        nf: if plan.nf > 1 { delay(m, "out_nf", nf_tree, 1) } else { Expr::zeros(1) },
        last_group: delay(m, "out_last_group", f.last_group.clone(), inner + 1),
        last_pixel: delay(m, "out_last_pixel", f.last_pixel.clone(), inner + 1),
    }
}

/// The width a fusion gate's sum needs, from its terms' bound.
fn fusion_width(terms: &[Term]) -> u32 {
    let (mut lo, mut hi) = (0i128, 0i128);
    for t in terms {
        let (a, b) = t.range();
        let sign = if t.neg { -1 } else { 1 };
        let (a, b) = ((a << t.shift) * sign, (b << t.shift) * sign);
        lo += a.min(b);
        hi += a.max(b);
    }
    width_for(lo, hi)
}

/// The pixel's word from its folds: folds before the last held in
/// registers, the last one as it comes; channel o's element at its place.
fn pixel_word(m: &mut Module, p: &EngineParams, plan: &Plan, e: &Elements) -> Expr {
    let held: Vec<Vec<Vec<Expr>>> = (0..plan.nf - 1)
        .map(|fold| {
            let here = Expr::bin(
                BinOp::And,
                e.valid.clone(),
                Expr::compare(Comparison::Eq, e.nf.clone(), constant(e.nf.width(), fold as i128)),
            );
            let here = m.wire(&format!("hold_fold{fold}"), here);
            e.values
                .iter()
                .enumerate()
                .map(|(pe, v)| {
                    v.iter()
                        .enumerate()
                        .map(|(i, x)| m.reg_en(&format!("held_f{fold}_pe{pe}_{i}"), x.clone(), here.clone(), None))
                        .collect()
                })
                .collect()
        })
        .collect();
    let element = |o: usize| -> &Vec<Expr> {
        let (fold, pe) = (o / plan.pe, o % plan.pe);
        if fold + 1 == plan.nf { &e.values[pe] } else { &held[fold][pe] }
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

/// The FIFO: pixels written when their last fold is done; its head read
/// into the register that drives `m_axis_tdata` and `m_axis_tlast`, and
/// `m_axis_tvalid` a register too, so that neither depends on
/// `m_axis_tready`. A word is read a cycle after it is written: a read
/// never meets the write of its own address.
fn fifo(m: &mut Module, word: Expr, (push, last): (Expr, Expr), depth: usize, io: &Ports) -> Fifo {
    let width = word.width() + 1;
    let mem = m.memory("out_fifo", width, depth as u32, MemoryInit::None);
    let ab = m.mem(mem).address_width();
    let wptr = counter(m, "fifo_wptr", depth, push.clone()).value;
    m.write_port(mem, resize(wptr, ab, false), Expr::concat(vec![last, word]), push.clone());
    let advance = m.instance_wire("fifo_advance", 1);
    let fetch = m.instance_wire("fifo_fetch", 1);
    let cw = width_for(0, depth as i128);
    let count = feedback_reg(m, "fifo_count", cw, Some(Const::zeros(cw)), |_, q| {
        let plus = Expr::bin(BinOp::Add, q.clone(), resize(push.clone(), cw, false));
        Expr::bin(BinOp::Sub, plus, resize(fetch.clone(), cw, false))
    });
    let stored = m.wire("fifo_stored", Expr::compare(Comparison::Ne, count, Expr::zeros(cw)));
    m.drive(&fetch, Expr::bin(BinOp::And, advance.clone(), stored.clone()));
    let rptr = counter(m, "fifo_rptr", depth, fetch).value;
    let head = m.read_port(mem, resize(rptr, ab, false), advance.clone());
    let head_valid = m.reg_en("head_valid", stored, advance.clone(), Some(Const::zeros(1)));
    m.drive(&advance, Expr::bin(BinOp::Or, Expr::invert(head_valid.clone()), io.out_ready.clone()));
    m.drive(&io.out_valid, head_valid.clone());
    m.drive(&io.out_data, head.slice(0, width - 1));
    m.drive(&io.out_last, head.bit(width - 1));
    let popped = m.wire("pixel_popped_now", Expr::bin(BinOp::And, head_valid, io.out_ready.clone()));
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
    io: &Ports,
) -> Fifo {
    let e = elements(m, p, plan, f, pipeline);
    let word = pixel_word(m, p, plan, &e);
    let push = m.wire("fifo_push", Expr::bin(BinOp::And, e.valid.clone(), e.last_group.clone()));
    fifo(m, word, (push, e.last_pixel.clone()), depth, io)
}

/// Cycles the output stage adds after the accumulators: the output trees'
/// inner registers and the element register.
pub fn latency_of(p: &EngineParams, pipeline: u32) -> u32 {
    let levels = output_levels(p);
    let sched = Schedule { pipeline, depth: levels.max(1) };
    (1..levels).filter(|&l| sched.register_after(l)).count() as u32 + 1
}
