//! The engine's datapath: each step's window elements per lane (a padded
//! tap masked out), the weights of `pe` output channels from ROM, XNOR or
//! AND and popcount, accumulated over a fold's steps.

use super::plan::Plan;
use super::schedule::Window;
use crate::generator::build::{constant, delay, delay_flag, resize};
use crate::generator::tree::{self, Count, Schedule, Term, fit_result};
use crate::rtl::{BinOp, Comparison, Const, Expr, MemoryInit, Module};
use crate::spec::engine::{EngineKind, EngineParams};
use crate::spec::params::PopcountStyle;
use crate::util::fixed::width_for;

/// A fold's results at the stage its accumulators hold them.
pub struct Folded {
    /// `conv`: per PE, per lane, agreements among the inside elements.
    pub agree: Vec<Vec<Count>>,
    /// `conv`: per lane, the inside elements.
    pub inside: Vec<Count>,
    /// `pa_conv`: per PE, y(o) at its exact width.
    pub sums: Vec<Expr>,
    /// The fold is complete this cycle; its fold index; it ends a pixel; and a frame.
    pub done: Expr,
    pub nf: Expr,
    pub last_group: Expr,
    pub last_pixel: Expr,
}

/// Step control flowing down the pipeline beside the data.
#[derive(Clone)]
struct Control {
    valid: Expr,
    fold_start: Expr,
    last_step: Expr,
    last_group: Expr,
    last_pixel: Expr,
    nf: Expr,
}

impl Control {
    fn of(w: &Window) -> Control {
        Control {
            valid: w.valid.clone(),
            fold_start: w.fold_start.clone(),
            last_step: w.last_step.clone(),
            last_group: w.last_group.clone(),
            last_pixel: w.last_pixel.clone(),
            nf: w.nf.clone(),
        }
    }

    fn delayed(&self, m: &mut Module, stage: &str, cycles: u32) -> Control {
        let d = |m: &mut Module, name: &str, e: &Expr| delay(m, &format!("{name}_{stage}"), e.clone(), cycles);
        Control {
            valid: delay_flag(m, &format!("valid_{stage}"), self.valid.clone(), cycles),
            fold_start: d(m, "fold_start", &self.fold_start),
            last_step: d(m, "last_step", &self.last_step),
            last_group: d(m, "last_group", &self.last_group),
            last_pixel: d(m, "last_pixel", &self.last_pixel),
            nf: d(m, "nf", &self.nf),
        }
    }
}

/// How the trees are built: popcount structure and register spacing.
const POPCOUNT: PopcountStyle = PopcountStyle::Compressor;

/// Levels of the per-step trees (the popcount, and for PA-Net the
/// per-step scale tree after it).
fn step_levels(p: &EngineParams, plan: &Plan) -> u32 {
    let pop = tree::popcount_levels(plan.simd, POPCOUNT);
    match p.kind {
        EngineKind::Conv => pop,
        EngineKind::PaConv => pop + tree::scale_tree_levels(&pa_shape(p, plan)),
    }
}

/// The per-step scale tree's operands of PA-Net, without signals: its shape.
fn pa_shape(p: &EngineParams, plan: &Plan) -> Vec<Term> {
    let mut terms = vec![];
    for (i, row) in p.phi.iter().enumerate() {
        for (j, &phi) in row.iter().enumerate() {
            let source = i * row.len() + j;
            terms.extend(
                tree::csd(phi as i128)
                    .into_iter()
                    .map(|(s, n)| Term::signal(Expr::zeros(1), source, plan.simd as u64, s, n)),
            );
        }
    }
    terms
}

/// Registers inside a tree of `levels` levels with a register every `pipeline`.
fn inner_registers(levels: u32, pipeline: u32) -> u32 {
    let sched = Schedule { pipeline, depth: levels };
    (1..levels).filter(|&l| sched.register_after(l)).count() as u32
}

/// Cycles from issue to the accumulators' outputs: two to read the
/// window, one to gather it, (PA-Net) one to compare, the trees' inner
/// registers, the accumulator.
pub fn latency(p: &EngineParams, plan: &Plan, pipeline: u32) -> u32 {
    let compare = u32::from(p.kind == EngineKind::PaConv);
    2 + 1 + compare + inner_registers(step_levels(p, plan), pipeline) + 1
}

/// `values[index]` among expressions of equal width.
fn select(m: &mut Module, name: &str, index: &Expr, values: Vec<Expr>) -> Expr {
    if values.len() == 1 {
        return values.into_iter().next().unwrap();
    }
    let index = m.wire(&format!("{name}_index"), index.clone());
    let mut level: Vec<Expr> = values;
    let mut bit = 0;
    while level.len() > 1 {
        let sel = index.bit(bit);
        level = level
            .chunks(2)
            .map(|pair| match pair {
                [low, high] => Expr::mux(sel.clone(), high.clone(), low.clone()),
                [only] => only.clone(),
                _ => unreachable!(),
            })
            .collect();
        bit += 1;
    }
    m.wire(name, level.pop().unwrap())
}

fn replicate(bit: &Expr, count: usize) -> Expr {
    if count == 1 { bit.clone() } else { Expr::Repeat { count: count as u32, expr: Box::new(bit.clone()) } }
}

/// One window lane's elements of this step, and which are inside the map.
struct LaneStep {
    bits: Expr,
    inside: Expr,
}

/// Gathers lane `lane`'s elements from the group's pixels: a part of one
/// tap's channels, or several whole taps side by side.
fn gather(m: &mut Module, plan: &Plan, w: &Window, lane: usize, base: usize) -> LaneStep {
    let g = plan.group_of(lane);
    let eb = plan.element_bits;
    let channels = plan.cin * eb;
    if plan.taps_per_step == 1 {
        let part = plan.simd * eb;
        let parts = (0..plan.chunks_per_tap)
            .map(|c| w.pixels[g][0].slice((base * eb + c * part) as u32, part as u32))
            .collect();
        let bits = select(m, &format!("lane{lane}_part"), &w.chunk, parts);
        return LaneStep { bits, inside: replicate(&w.inside[g][0], plan.simd) };
    }
    let taps = (0..plan.taps_per_step).rev();
    let bits = Expr::concat(taps.clone().map(|j| w.pixels[g][j].slice((base * eb) as u32, channels as u32)).collect());
    let inside = Expr::concat(taps.map(|j| replicate(&w.inside[g][j], plan.cin)).collect());
    LaneStep { bits, inside }
}

/// The ROM of one lane's (or weight base's) weights: word `nf * sf + s`
/// holds, for each of the `pe` channels of fold nf, its step s elements.
fn weight_rom(m: &mut Module, p: &EngineParams, plan: &Plan, lane: usize, address: &Expr) -> Expr {
    let width = (plan.pe * plan.simd) as u32;
    let words: Vec<Const> = (0..plan.ii())
        .map(|step| {
            let (nf, sf) = (step / plan.sf, step % plan.sf);
            let mut words = vec![0u64; (width as usize).div_ceil(64)];
            for pe in 0..plan.pe {
                let weights = &p.weights[lane][nf * plan.pe + pe];
                for e in 0..plan.simd {
                    if weights.get(sf * plan.simd + e) {
                        let bit = pe * plan.simd + e;
                        words[bit / 64] |= 1 << (bit % 64);
                    }
                }
            }
            Const::from_words(width, words)
        })
        .collect();
    let name = format!("{}_weights{lane}", p.top);
    let rom = m.memory(&format!("weights{lane}"), width, plan.ii() as u32, MemoryInit::File { name, words });
    m.read_port(rom, resize(address.clone(), m.mem(rom).address_width(), false), constant(1, 1))
}

/// Gathers every lane's step and the weights into stage 3 registers.
fn stage3(m: &mut Module, p: &EngineParams, plan: &Plan, w: &Window) -> (Vec<LaneStep>, Vec<Expr>, Control) {
    let lanes: Vec<LaneStep> = (0..plan.window_lanes)
        .map(|lane| {
            let step = gather(m, plan, w, lane, plan.lane_base[lane]);
            LaneStep {
                bits: m.reg(&format!("lane{lane}_bits_s3"), step.bits, None),
                inside: m.reg(&format!("lane{lane}_inside_s3"), step.inside, None),
            }
        })
        .collect();
    let weights = (0..p.lanes()).map(|lane| {
        let word = weight_rom(m, p, plan, lane, &w.step_ahead);
        m.reg(&format!("weights{lane}_s3"), word, None)
    });
    let weights = weights.collect();
    (lanes, weights, Control::of(w).delayed(m, "s3", 1))
}

/// The step's count of `x`'s ones, pipelined by `sched` from level 1.
fn count(m: &mut Module, name: &str, x: Expr, sched: &Schedule) -> Count {
    let x = m.wire(&format!("{name}_x"), x);
    tree::popcount(m, &x, sched, 1, POPCOUNT, &format!("{name}_"))
}

/// `acc <= first ? value : acc + value` on valid steps, at `width` bits.
fn accumulate(m: &mut Module, name: &str, value: Expr, width: u32, c: &Control) -> Expr {
    let value = m.wire(&format!("{name}_step"), resize(value, width, false));
    let first = c.fold_start.clone();
    crate::generator::build::feedback_reg_en(m, name, width, c.valid.clone(), None, move |_, acc| {
        Expr::mux(first, value.clone(), Expr::bin(BinOp::Add, acc.clone(), value))
    })
}

pub fn build(m: &mut Module, p: &EngineParams, plan: &Plan, w: &Window, pipeline: u32) -> Folded {
    let (lanes, weights, c3) = stage3(m, p, plan, w);
    match p.kind {
        EngineKind::Conv => conv(m, p, plan, (&lanes, &weights, &c3), pipeline),
        EngineKind::PaConv => pa(m, p, plan, (&lanes, &weights, &c3), pipeline),
    }
}

/// What the output stage needs to know of a fold, at the accumulators'
/// outputs: it is done (one cycle after its last step reached them), its
/// index, and whether it ends a pixel and a frame.
struct FoldControl {
    done: Expr,
    nf: Expr,
    last_group: Expr,
    last_pixel: Expr,
}

fn finish(m: &mut Module, c: &Control) -> FoldControl {
    let done = m.wire("fold_step_done", Expr::bin(BinOp::And, c.valid.clone(), c.last_step.clone()));
    FoldControl {
        done: delay_flag(m, "fold_done_acc", done, 1),
        nf: delay(m, "nf_acc", c.nf.clone(), 1),
        last_group: delay(m, "last_group_acc", c.last_group.clone(), 1),
        last_pixel: delay(m, "last_pixel_acc", c.last_pixel.clone(), 1),
    }
}

/// `conv`: per PE and lane, agreements of the inside elements; per lane,
/// the inside elements (shared by the PEs).
fn conv(
    m: &mut Module,
    p: &EngineParams,
    plan: &Plan,
    (lanes, weights, c3): (&[LaneStep], &[Expr], &Control),
    pipeline: u32,
) -> Folded {
    let levels = step_levels(p, plan);
    let sched = Schedule { pipeline, depth: levels };
    let inner = inner_registers(levels, pipeline);
    let c = c3.delayed(m, "pop", inner);
    let most = (plan.kernel * plan.kernel * plan.cin) as u64;
    let acc_width = width_for(0, most as i128);
    let simd = plan.simd as u32;
    let agree = (0..plan.pe)
        .map(|pe| {
            (0..plan.window_lanes)
                .map(|lane| {
                    let wbits = weights[lane].slice(pe as u32 * simd, simd);
                    let xnor = Expr::invert(Expr::bin(BinOp::Xor, lanes[lane].bits.clone(), wbits));
                    let x = Expr::bin(BinOp::And, xnor, lanes[lane].inside.clone());
                    let n = count(m, &format!("agree_pe{pe}_l{lane}"), x, &sched);
                    Count { expr: accumulate(m, &format!("agree_pe{pe}_l{lane}"), n.expr, acc_width, &c), max: most }
                })
                .collect()
        })
        .collect();
    let inside = (0..plan.window_lanes)
        .map(|lane| {
            let n = count(m, &format!("inside_l{lane}"), lanes[lane].inside.clone(), &sched);
            Count { expr: accumulate(m, &format!("inside_l{lane}"), n.expr, acc_width, &c), max: most }
        })
        .collect();
    let f = finish(m, &c);
    Folded { agree, inside, sums: vec![], done: f.done, nf: f.nf, last_group: f.last_group, last_pixel: f.last_pixel }
}

/// PA-Net's activation bases of a step: each element compared once with
/// every endpoint (`a >= v_j`), one-hot per element, padded taps in none.
fn pa_bases(m: &mut Module, p: &EngineParams, plan: &Plan, lane: &LaneStep) -> Vec<Expr> {
    let b = p.act_bits;
    let ge: Vec<Vec<Expr>> = (0..plan.simd)
        .map(|e| {
            let a = lane.bits.slice(e as u32 * b, b);
            p.endpoints
                .iter()
                .map(|&v| {
                    let v = constant(b, v as i128);
                    if p.act_signed {
                        Expr::compare_signed(Comparison::Ge, a.clone(), v)
                    } else {
                        Expr::compare(Comparison::Ge, a.clone(), v)
                    }
                })
                .collect()
        })
        .collect();
    let n = p.act_bases();
    (0..n)
        .map(|j| {
            let bits: Vec<Expr> = (0..plan.simd)
                .rev()
                .map(|e| {
                    let inside = lane.inside.slice(e as u32, 1);
                    let above = if j + 1 < n { Expr::invert(ge[e][j + 1].clone()) } else { constant(1, 1) };
                    Expr::bin(BinOp::And, Expr::bin(BinOp::And, ge[e][j].clone(), above), inside)
                })
                .collect();
            let v = m.wire(&format!("base{j}"), Expr::concat(bits));
            m.reg(&format!("base{j}_s4"), v, None)
        })
        .collect()
}

/// `pa_conv`: per PE, `sum_ij P_ij popcount(T_i & V_j)` per step, accumulated.
fn pa(
    m: &mut Module,
    p: &EngineParams,
    plan: &Plan,
    (lanes, weights, c3): (&[LaneStep], &[Expr], &Control),
    pipeline: u32,
) -> Folded {
    let bases = pa_bases(m, p, plan, &lanes[0]);
    let weights: Vec<Expr> =
        weights.iter().enumerate().map(|(i, w)| m.reg(&format!("weights{i}_s4"), w.clone(), None)).collect();
    let c4 = c3.delayed(m, "s4", 1);
    let levels = step_levels(p, plan);
    let sched = Schedule { pipeline, depth: levels };
    let pop_levels = tree::popcount_levels(plan.simd, POPCOUNT);
    let c = c4.delayed(m, "pop", inner_registers(levels, pipeline));
    let (lo, hi) = p.sum_range();
    let width = width_for(lo as i128, hi as i128);
    let simd = plan.simd as u32;
    let sums = (0..plan.pe)
        .map(|pe| {
            let mut terms = vec![];
            for (i, row) in p.phi.iter().enumerate() {
                for (j, &phi) in row.iter().enumerate() {
                    let x = Expr::bin(BinOp::And, weights[i].slice(pe as u32 * simd, simd), bases[j].clone());
                    let mut n = count(m, &format!("pa_pe{pe}_t{i}_v{j}"), x, &sched);
                    // The popcount leaves its last level unregistered; the scale tree starts after it.
                    if sched.register_after(pop_levels) {
                        n.expr = m.reg(&format!("pa_pe{pe}_t{i}_v{j}_r"), n.expr, None);
                    }
                    let source = i * row.len() + j;
                    terms.extend(
                        tree::csd(phi as i128)
                            .into_iter()
                            .map(|(s, neg)| Term::signal(n.expr.clone(), source, n.max, s, neg)),
                    );
                }
            }
            let step = match tree::scale_tree(m, terms, &sched, pop_levels + 1) {
                None => Expr::zeros(width),
                // Accumulated modulo 2^width, where the whole sum fits.
                Some(t) => {
                    let fitted = fit_result(m, &t, width);
                    m.wire(&format!("pa_pe{pe}_step_value"), fitted)
                }
            };
            accumulate(m, &format!("sum_pe{pe}"), step, width, &c)
        })
        .collect();
    let f = finish(m, &c);
    Folded {
        agree: vec![],
        inside: vec![],
        sums,
        done: f.done,
        nf: f.nf,
        last_group: f.last_group,
        last_pixel: f.last_pixel,
    }
}
