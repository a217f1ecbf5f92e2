//! Block generators: build the typed RTL of a design from its parameters.
//!
//! Every top module has the interface of SPEC section 4: input registers,
//! a levelled datapath with registers every `pipeline` levels, an output
//! register, and a reset-cleared valid chain beside the data.

pub mod tree;

use crate::bits::BitVec;
use crate::golden;
use crate::params::{Block, DesignParams};
use crate::rtl::{BinOp, Const, Design, Dir, Expr, Module};
use tree::{Count, Schedule, Term};

/// A generated design and the facts the manifest reports about it.
#[derive(Debug)]
pub struct Generated {
    pub design: Design,
    /// Levels of logic between the input and the output registers.
    pub depth: u32,
    pub latency: u32,
    pub y_width: u32,
    pub y_signed: bool,
    /// Popcount inputs that remain after constant weights are folded.
    pub popcount_inputs: usize,
}

/// The bitwise operation in front of a lane's popcount.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LaneOp {
    /// Popcount of the input itself.
    Pass,
    Xnor,
    And,
}

/// One lane: which input bits it reads and how, and its popcount's depth.
struct LaneSpec<'a> {
    op: LaneOp,
    n: usize,
    weights: Option<&'a BitVec>,
}

impl LaneSpec<'_> {
    /// Input bits that reach the popcount (an AND with a constant 0 drops one).
    fn kept_bits(&self) -> Vec<usize> {
        match (self.op, self.weights) {
            (LaneOp::And, Some(w)) => (0..self.n).filter(|&i| w.get(i)).collect(),
            _ => (0..self.n).collect(),
        }
    }

    fn levels(&self) -> u32 {
        let kept = self.kept_bits().len();
        if kept == 0 { 0 } else { tree::popcount_levels(kept) }
    }

    fn module_name(&self, pipeline: u32) -> String {
        let op = match self.op {
            LaneOp::Pass => "popcnt",
            LaneOp::Xnor => "xnor_popcnt",
            LaneOp::And => "and_popcnt",
        };
        match self.weights {
            None => format!("{op}_n{}_p{pipeline}", self.n),
            Some(w) => format!("{op}_n{}_p{pipeline}_c{:08x}", self.n, fnv1a32(&w.to_hex())),
        }
    }
}

/// FNV-1a, folded to 32 bits: a stable short name for a constant vector.
fn fnv1a32(text: &str) -> u32 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (h ^ (h >> 32)) as u32
}

/// The lane module: bitwise layer and popcount tree, with the registers of
/// every stage boundary strictly inside it. Ports: `clk` (if it has
/// registers), `a` (the kept bits), `w` (weights as ports), `pop`.
fn lane_module(spec: &LaneSpec, sched: &Schedule) -> (Module, Count) {
    let kept = spec.kept_bits().len();
    let mut m = Module::new(&spec.module_name(sched.pipeline));
    let levels = spec.levels();
    if (1..levels).any(|l| sched.register_after(l)) {
        m.clock_input();
    }
    let a = m.input("a", kept as u32);
    let x = match (spec.op, spec.weights) {
        (LaneOp::Pass, _) | (LaneOp::And, Some(_)) => a,
        (LaneOp::Xnor, Some(w)) => {
            // XNOR with a constant: a wire where w = 1, an inverter where w = 0.
            let inv = w.not();
            if inv.count_ones() == 0 {
                a
            } else {
                let mask = Const::from_words(spec.n as u32, inv.words().to_vec());
                m.wire("x", Expr::bin(BinOp::Xor, a, Expr::constant(mask)))
            }
        }
        (op, None) => {
            let w = m.input("w", spec.n as u32);
            let e = match op {
                LaneOp::Xnor => Expr::invert(Expr::bin(BinOp::Xor, a, w)),
                _ => Expr::bin(BinOp::And, a, w),
            };
            m.wire("x", e)
        }
    };
    let count = tree::popcount(&mut m, &x, sched, 1, "pc_");
    let pop = m.port("pop", Dir::Out, count.expr.width(), false);
    m.drive(&pop, count.expr.clone());
    let out = Count { expr: pop, max: count.max };
    (m, out)
}

/// Contiguous runs `(lo, len)` of the given sorted bit indices.
fn runs(bits: &[usize]) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = vec![];
    for &b in bits {
        match out.last_mut() {
            Some((lo, len)) if *lo + *len == b => *len += 1,
            _ => out.push((b, 1)),
        }
    }
    out
}

/// Gathers the listed bits of `e` into one vector, bit 0 first.
fn gather(e: &Expr, bits: &[usize]) -> Expr {
    let parts: Vec<Expr> = runs(bits).into_iter().rev().map(|(lo, len)| e.slice(lo as u32, len as u32)).collect();
    Expr::concat(parts)
}

/// Generates the design described by `p` (already validated).
pub fn generate(p: &DesignParams) -> Generated {
    let n = p.len;
    let lanes: Vec<LaneSpec> = match p.block {
        Block::Popcount => vec![LaneSpec { op: LaneOp::Pass, n, weights: None }],
        Block::AndPe => vec![LaneSpec { op: LaneOp::And, n, weights: p.const_weights(0) }],
        Block::XnorPe => vec![LaneSpec { op: LaneOp::Xnor, n, weights: p.const_weights(0) }],
        Block::GroupNet => {
            (0..p.lanes).map(|i| LaneSpec { op: LaneOp::Xnor, n, weights: p.const_weights(i) }).collect()
        }
    };
    // y = sum_i coef_i * pop_i + offset, all integers.
    let (coefs, offset): (Vec<i128>, i128) = match p.block {
        Block::Popcount | Block::AndPe => (vec![1], 0),
        Block::XnorPe => (vec![2], -(n as i128)),
        Block::GroupNet => (
            p.lambdas.iter().map(|&l| 2 * l as i128).collect(),
            -(n as i128) * p.lambdas.iter().map(|&l| l as i128).sum::<i128>(),
        ),
    };
    let active: Vec<bool> = lanes.iter().zip(&coefs).map(|(l, &c)| c != 0 && !l.kept_bits().is_empty()).collect();

    // The scale tree's shape depends only on the coefficients, so the depth
    // (and with it every register position) is known before any logic.
    let lane_levels = lanes.iter().zip(&active).filter(|(_, a)| **a).map(|(l, _)| l.levels()).max().unwrap_or(0);
    let leaf_terms = || {
        let mut t: Vec<Term> = vec![];
        for (i, &c) in coefs.iter().enumerate() {
            if active[i] {
                for (shift, neg) in tree::csd(c) {
                    t.push(Term::signal(Expr::zeros(1), i, 1, shift, neg));
                }
            }
        }
        t.extend(Term::constant(offset));
        t
    };
    let scale_levels = tree::scale_tree_levels(&leaf_terms());
    let depth = (lane_levels + scale_levels).max(1);
    let sched = Schedule { pipeline: p.pipeline, depth };

    let y_width = golden::output_width(p);
    let y_signed = golden::output_signed(p);
    let mut design = Design { top: p.top.clone(), ..Design::default() };
    let mut top = Module::new(&p.top);
    top.clock_input();
    top.reset_input();
    let in_valid = top.input("in_valid", 1);
    let ports: Vec<(String, Expr)> =
        p.input_ports().iter().map(|ps| (ps.name.clone(), top.input(&ps.name, ps.width as u32))).collect();
    let port = |name: &str| ports.iter().find(|(n, _)| n == name).map(|(_, e)| e.clone()).unwrap();
    let out_valid = top.port("out_valid", Dir::Out, 1, false);
    let y = top.port("y", Dir::Out, y_width, y_signed);

    // Input registers: only the bits some lane reads; the rest of each port
    // is gathered into one `unused_*` wire (Verilator's convention for
    // intentionally unread bits) so that lint stays clean without waivers.
    let mut used_bits: Vec<(String, Vec<bool>)> =
        ports.iter().map(|(name, e)| (name.clone(), vec![false; e.width() as usize])).collect();
    let mut mark = |name: &str, bits: &[usize]| {
        let entry = &mut used_bits.iter_mut().find(|(n, _)| n == name).unwrap().1;
        for &b in bits {
            entry[b] = true;
        }
    };
    let mut registered: Vec<(String, Vec<usize>, Expr)> = vec![];
    let mut input_reg = |top: &mut Module, name: &str, bits: Vec<usize>| -> Expr {
        if let Some((_, _, q)) = registered.iter().find(|(n, b, _)| n == name && *b == bits) {
            return q.clone();
        }
        let q = top.reg(&format!("{name}_q"), gather(&port(name), &bits), None);
        registered.push((name.to_string(), bits, q.clone()));
        q
    };

    let mut terms: Vec<Term> = vec![];
    let mut popcount_inputs = 0;
    for (i, lane) in lanes.iter().enumerate() {
        if !active[i] {
            continue;
        }
        let kept = lane.kept_bits();
        popcount_inputs += kept.len();
        let a_name = p.lane_input(i);
        mark(&a_name, &kept);
        let a_q = input_reg(&mut top, &a_name, kept.clone());
        let (module, count) = lane_module(lane, &sched);
        let mut conns: Vec<(&str, Expr)> = vec![];
        if module.clock.is_some() {
            conns.push(("clk", top.r(top.clock.unwrap())));
        }
        conns.push(("a", a_q));
        let w_name;
        if lane.op != LaneOp::Pass && lane.weights.is_none() {
            w_name = p.lane_weight(i);
            let all: Vec<usize> = (0..n).collect();
            mark(&w_name, &all);
            conns.push(("w", input_reg(&mut top, &w_name, all)));
        }
        let pop = top.instance_wire(&format!("pop{i}"), count.expr.width());
        conns.push(("pop", pop.clone()));
        top.instance(&module, &format!("lane{i}"), conns);
        design.add(module);

        // Delay a shallower lane's count to where the scale tree starts.
        let mut pop = Count { expr: pop, max: count.max };
        for level in lane.levels()..=lane_levels {
            if sched.register_after(level) {
                pop = Count { expr: top.reg(&format!("pop{i}_r{level}"), pop.expr, None), max: pop.max };
            }
        }
        for (shift, neg) in tree::csd(coefs[i]) {
            terms.push(Term::signal(pop.expr.clone(), i, pop.max, shift, neg));
        }
    }
    terms.extend(Term::constant(offset));

    let root = tree::scale_tree(&mut top, terms, &sched, lane_levels + 1);
    let result = match root {
        None => Expr::zeros(y_width),
        Some(t) => fit_result(&mut top, &t, y_width),
    };

    // Unread input bits, if any.
    let unused: Vec<Expr> = used_bits
        .iter()
        .flat_map(|(name, used)| {
            let idle: Vec<usize> = (0..used.len()).filter(|&b| !used[b]).collect();
            let e = port(name);
            runs(&idle).into_iter().map(move |(lo, len)| e.slice(lo as u32, len as u32)).collect::<Vec<_>>()
        })
        .collect();
    if !unused.is_empty() {
        let mut parts = vec![Expr::zeros(1)];
        parts.extend(unused);
        top.wire("unused_inputs", Expr::reduce_and(Expr::concat(parts)));
    }

    let y_q = top.reg("y_q", result, None);
    top.drive(&y, y_q);
    let mut valid = in_valid;
    for stage in 1..=sched.latency() {
        valid = top.reg(&format!("valid{stage}"), valid, Some(Const::zeros(1)));
    }
    top.drive(&out_valid, valid);
    design.add(top);

    Generated { design, depth, latency: sched.latency(), y_width, y_signed, popcount_inputs }
}

/// The root term as the exact-width result: shifted into place, extended or
/// cut to `width` bits. Cut bits are provably redundant (the exact range
/// fits `width`) and are gathered into an `unused_*` wire.
fn fit_result(m: &mut Module, t: &Term, width: u32) -> Expr {
    assert!(!t.neg);
    let Some(e) = &t.expr else {
        return Expr::constant(Const::from_u128(width, (t.form.constant as u128) << t.shift));
    };
    if t.shift >= width {
        m.wire("unused_result", Expr::reduce_and(Expr::concat(vec![Expr::zeros(1), e.clone()])));
        return Expr::zeros(width);
    }
    let keep = width - t.shift;
    if t.width <= keep {
        return e.clone().extend(keep, t.range().0 < 0).shl_append(t.shift);
    }
    let dropped = e.slice(keep, t.width - keep);
    m.wire("unused_result", Expr::reduce_and(Expr::concat(vec![Expr::zeros(1), dropped])));
    e.slice(0, keep).shl_append(t.shift)
}
