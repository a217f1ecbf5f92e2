//! One output channel's dot products: the module `<top>_dot`, instanced
//! once per PE. Per step it takes the window lanes' elements, their masks
//! and the PE's weights; it counts, accumulates over the fold's steps, and
//! scales the accumulated counts into the channel's exact sum (or, with a
//! fusion gate, each gate's sum). Everything else of the engine (window,
//! control, thresholds, FIFO) is in the top, so that synthesis with the
//! hierarchy kept tells the dot products' cost from the rest.

use super::plan::Plan;
use crate::generator::build::{delay, feedback_reg_en, resize};
use crate::generator::tree::{self, Count, Schedule, Term, fit_result};
use crate::rtl::{BinOp, Dir, Expr, Module};
use crate::spec::engine::{EngineKind, EngineParams, Output};
use crate::spec::params::PopcountStyle;
use crate::util::fixed::width_for;

/// How the popcounts are built.
pub const POPCOUNT: PopcountStyle = PopcountStyle::Compressor;

/// The module's name.
pub fn name(p: &EngineParams) -> String {
    format!("{}_dot", p.top)
}

/// Levels of the per-step trees (the popcount, and for PA-Net the
/// per-step scale tree after it).
pub fn step_levels(p: &EngineParams, plan: &Plan) -> u32 {
    let pop = tree::popcount_levels(plan.simd, POPCOUNT);
    match p.kind {
        EngineKind::Conv => pop,
        EngineKind::PaConv => pop + tree::scale_tree_levels(&pa_terms(p, plan, None)),
    }
}

/// Registers inside a tree of `levels` levels with a register every `pipeline`.
pub fn inner_registers(levels: u32, pipeline: u32) -> u32 {
    let sched = Schedule { pipeline, depth: levels };
    (1..levels).filter(|&l| sched.register_after(l)).count() as u32
}

/// Levels of the trees after the accumulators (`conv`: the lambdas', or
/// the deepest fusion gate's; `pa_conv` scales each step, before them).
pub fn output_levels(p: &EngineParams) -> u32 {
    match p.kind {
        EngineKind::PaConv => 0,
        EngineKind::Conv => {
            coefficients(p).iter().map(|row| tree::scale_tree_levels(&conv_terms(p, row, None))).max().unwrap_or(0)
        }
    }
}

/// The most a `conv` accumulator counts: k*k*cin elements a fold.
fn max_count(p: &EngineParams) -> u64 {
    (p.geometry.kernel * p.geometry.kernel * p.geometry.cin) as u64
}

/// Bits of a `conv` accumulator.
pub fn count_width(p: &EngineParams) -> u32 {
    width_for(0, max_count(p) as i128)
}

/// `conv`'s results as coefficients c over the lanes, one row per result
/// (the lambdas: the channel's sum; or each fusion gate's row of F), each
/// row divided by the largest power of two that divides all of it: the
/// module computes every result shifted right by [`result_shifts`], and
/// its low bits, always zero, are never built.
pub fn coefficients(p: &EngineParams) -> Vec<Vec<i64>> {
    full_coefficients(p).into_iter().map(|row| row.iter().map(|c| c >> common_shift(&row)).collect()).collect()
}

fn full_coefficients(p: &EngineParams) -> Vec<Vec<i64>> {
    match &p.output {
        Output::Fusion { fusion, .. } => fusion.clone(),
        _ => vec![p.lambdas.clone()],
    }
}

/// The power of two every coefficient of `row` has in common (0 for all zero).
fn common_shift(row: &[i64]) -> u32 {
    row.iter().filter(|&&c| c != 0).map(|c| c.trailing_zeros()).min().unwrap_or(0)
}

/// Per result, the zero low bits the module leaves out (`pa_conv`: none).
pub fn result_shifts(p: &EngineParams) -> Vec<u32> {
    match p.kind {
        EngineKind::Conv => full_coefficients(p).iter().map(|row| common_shift(row)).collect(),
        EngineKind::PaConv => vec![0],
    }
}

/// The range of a result's offset `sum_i c_i inside_i` (its inside
/// elements weighed by its coefficients), each inside count in 0..=max.
pub fn offset_range(p: &EngineParams, row: &[i64]) -> (i128, i128) {
    let max = max_count(p) as i128;
    let lo = row.iter().map(|&c| (c as i128).min(0) * max).sum();
    let hi = row.iter().map(|&c| (c as i128).max(0) * max).sum();
    (lo, hi)
}

/// The offset's width; none when every coefficient is zero.
pub fn offset_width(p: &EngineParams, row: &[i64]) -> Option<u32> {
    let (lo, hi) = offset_range(p, row);
    (lo, hi).ne(&(0, 0)).then(|| width_for(lo, hi))
}

/// The widths of the module's results: `conv` with a fusion gate, one sum
/// per gate; otherwise the channel's sum.
pub fn result_widths(p: &EngineParams) -> Vec<u32> {
    match (&p.output, p.kind) {
        (Output::Fusion { .. }, EngineKind::Conv) => {
            coefficients(p).iter().map(|row| fusion_width(&conv_terms(p, row, None))).collect()
        }
        _ => {
            let (lo, hi) = p.sum_range();
            let shift = result_shifts(p)[0];
            vec![width_for((lo >> shift) as i128, (hi >> shift) as i128)]
        }
    }
}

/// `sum_i c_i (2 agree_i - inside_i)` as scale-tree terms: twice each
/// lane's accumulated agreements (at most `max`), less the offset `sum_i
/// c_i inside_i`, which is the same for every PE and comes from the top;
/// without signals, the same terms' shape, which fixes the tree's depth
/// and the sum's width.
fn conv_terms(p: &EngineParams, row: &[i64], counts: Option<(&[Expr], Option<&Expr>)>) -> Vec<Term> {
    let max = max_count(p);
    let mut terms = vec![];
    for (lane, &c) in row.iter().enumerate() {
        let agree = counts.map_or(Expr::zeros(1), |(agree, _)| agree[lane].clone());
        terms.extend(
            tree::csd(2 * c as i128).into_iter().map(|(s, neg)| Term::signal(agree.clone(), lane, max, s, neg)),
        );
    }
    if offset_width(p, row).is_some() {
        let offset = counts.and_then(|(_, offset)| offset.cloned()).unwrap_or(Expr::zeros(1));
        terms.push(Term::ranged(offset, row.len(), offset_range(p, row), 0, true));
    }
    terms
}

/// PA-Net's per-step terms `P_ij popcount(T_i & V_j)`, or their shape.
fn pa_terms(p: &EngineParams, plan: &Plan, counts: Option<&[Vec<Expr>]>) -> Vec<Term> {
    let mut terms = vec![];
    for (i, row) in p.phi.iter().enumerate() {
        for (j, &phi) in row.iter().enumerate() {
            let count = counts.map_or(Expr::zeros(1), |c| c[i][j].clone());
            terms.extend(
                tree::csd(phi as i128)
                    .into_iter()
                    .map(|(s, neg)| Term::signal(count.clone(), i * row.len() + j, plan.simd as u64, s, neg)),
            );
        }
    }
    terms
}

/// The width a sum of `terms` needs, from their bounds.
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

/// A scale tree's root at `width` bits (two's complement, modulo 2^width,
/// where the exact sum fits), pipelined by `sched` from `first_level`; a
/// tree shallower than the schedule's depth is delayed to it, so that
/// every tree of the engine takes the same cycles.
fn sum_of(m: &mut Module, name: &str, terms: Vec<Term>, (sched, first_level): (&Schedule, u32), width: u32) -> Expr {
    let short = inner_registers(sched.depth, sched.pipeline)
        - inner_registers(first_level - 1 + tree::scale_tree_levels(&terms), sched.pipeline);
    let value = match tree::scale_tree(m, terms, sched, first_level) {
        None => Expr::zeros(width),
        Some(t) => {
            let fitted = fit_result(m, &t, width);
            m.wire(name, fitted)
        }
    };
    delay(m, &format!("{name}_aligned"), value, short)
}

/// `acc <= first ? value : acc + value` on valid steps, at `width` bits.
fn accumulate(m: &mut Module, name: &str, value: Expr, width: u32, (valid, first): (&Expr, &Expr)) -> Expr {
    let value = m.wire(&format!("{name}_step"), resize(value, width, false));
    let first = first.clone();
    feedback_reg_en(m, name, width, valid.clone(), None, move |_, acc| {
        Expr::mux(first, value.clone(), Expr::bin(BinOp::Add, acc.clone(), value))
    })
}

/// The step's count of `x`'s ones, pipelined by `sched` from level 1.
fn count(m: &mut Module, name: &str, x: Expr, sched: &Schedule) -> Count {
    let x = m.wire(&format!("{name}_x"), x);
    tree::popcount(m, &x, sched, 1, POPCOUNT, &format!("{name}_"))
}

fn replicate(bit: Expr, count: usize) -> Expr {
    if count == 1 { bit } else { Expr::Repeat { count: count as u32, expr: Box::new(bit) } }
}

/// The mask of a lane's step elements from its taps' inside bits: one
/// tap's `simd` channels, or `taps` whole taps of `cin` channels each.
pub fn element_mask(plan: &Plan, taps: &Expr) -> Expr {
    if plan.taps_per_step == 1 {
        return replicate(taps.clone(), plan.simd);
    }
    Expr::concat((0..plan.taps_per_step).rev().map(|j| replicate(taps.bit(j as u32), plan.cin)).collect())
}

/// The accumulator stage's control inputs.
fn control_ports(m: &mut Module) -> (Expr, Expr) {
    (m.input("valid", 1), m.input("first", 1))
}

/// `<top>_dot` of `conv`. Ports: per lane `bits`, `taps` (inside bits of
/// the step's taps) and `weights` at the step's first stage; `valid` and
/// `first` at the accumulators; per result its `offset` (see
/// [`conv_terms`], at the accumulators); then the results.
pub fn conv_module(p: &EngineParams, plan: &Plan, pipeline: u32) -> Module {
    let mut m = Module::new(&name(p));
    m.clock_input();
    let simd = plan.simd as u32;
    let mut inputs = vec![];
    for lane in 0..plan.window_lanes {
        let bits = m.input(&format!("bits{lane}"), simd);
        let taps = m.input(&format!("taps{lane}"), plan.taps_per_step as u32);
        let weights = m.input(&format!("weights{lane}"), simd);
        inputs.push((bits, taps, weights));
    }
    let control = control_ports(&mut m);
    let rows = coefficients(p);
    let offsets: Vec<Option<Expr>> = rows
        .iter()
        .enumerate()
        .map(|(r, row)| offset_width(p, row).map(|w| m.input(&format!("offset{r}"), w)))
        .collect();
    let results: Vec<Expr> =
        result_widths(p).iter().enumerate().map(|(i, &w)| m.port(&format!("result{i}"), Dir::Out, w, false)).collect();
    let sched = Schedule { pipeline, depth: step_levels(p, plan) };
    let cw = count_width(p);
    let agree: Vec<Expr> = inputs
        .iter()
        .enumerate()
        .map(|(lane, (bits, taps, weights))| {
            let xnor = Expr::invert(Expr::bin(BinOp::Xor, bits.clone(), weights.clone()));
            let x = Expr::bin(BinOp::And, xnor, element_mask(plan, taps));
            let n = count(&mut m, &format!("agree{lane}"), x, &sched);
            accumulate(&mut m, &format!("agree{lane}"), n.expr, cw, (&control.0, &control.1))
        })
        .collect();
    let out_sched = Schedule { pipeline, depth: output_levels(p).max(1) };
    for (r, row) in rows.iter().enumerate() {
        let terms = conv_terms(p, row, Some((&agree, offsets[r].as_ref())));
        let name = if rows.len() == 1 { "y".to_string() } else { format!("gate{r}") };
        let sum = sum_of(&mut m, &name, terms, (&out_sched, 1), results[r].width());
        m.drive(&results[r], sum);
    }
    m
}

/// `<top>_dot` of `pa_conv`. Ports: the step's activation bases `base*`
/// (one-hot per element, compared once at the window) and the PE's
/// weight bases `weights*` at the step's first stage; `valid` and `first`
/// at the accumulator; the channel's sum `result0`.
pub fn pa_module(p: &EngineParams, plan: &Plan, pipeline: u32) -> Module {
    let mut m = Module::new(&name(p));
    m.clock_input();
    let simd = plan.simd as u32;
    let bases: Vec<Expr> = (0..p.act_bases()).map(|j| m.input(&format!("base{j}"), simd)).collect();
    let weights: Vec<Expr> = (0..p.lanes()).map(|i| m.input(&format!("weights{i}"), simd)).collect();
    let control = control_ports(&mut m);
    let width = result_widths(p)[0];
    let result = m.port("result0", Dir::Out, width, false);
    let levels = step_levels(p, plan);
    let sched = Schedule { pipeline, depth: levels };
    let pop_levels = tree::popcount_levels(plan.simd, POPCOUNT);
    let counts: Vec<Vec<Expr>> = weights
        .iter()
        .enumerate()
        .map(|(i, w)| {
            (0..bases.len())
                .map(|j| {
                    let x = Expr::bin(BinOp::And, w.clone(), bases[j].clone());
                    let n = count(&mut m, &format!("t{i}_v{j}"), x, &sched);
                    // The popcount leaves its last level unregistered; the scale tree starts after it.
                    if sched.register_after(pop_levels) { m.reg(&format!("t{i}_v{j}_r"), n.expr, None) } else { n.expr }
                })
                .collect()
        })
        .collect();
    let terms = pa_terms(p, plan, Some(&counts));
    let step = sum_of(&mut m, "step_value", terms, (&sched, pop_levels + 1), width);
    let sum = accumulate(&mut m, "sum", step, width, (&control.0, &control.1));
    m.drive(&result, sum);
    m
}
