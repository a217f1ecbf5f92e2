//! Bit-exact golden models of every block, on packed 64-bit words, and the
//! exact output range each block can produce (which fixes its port width).

use crate::bits::BitVec;
use crate::params::{Block, DesignParams, Weights, width_for};

/// The dot product of two +1/-1 vectors: `2*popcount(xnor(a, w)) - n`.
pub fn xnor_dot(a: &BitVec, w: &BitVec) -> i64 {
    2 * a.xnor(w).count_ones() as i64 - a.len() as i64
}

/// The dot product of two {0,1} vectors: `popcount(a & w)`.
pub fn and_dot(a: &BitVec, w: &BitVec) -> i64 {
    a.and(w).count_ones() as i64
}

/// A golden model bound to one design: resolves constant weights once, then
/// evaluates inputs given in the order of [`DesignParams::input_ports`].
pub struct Golden<'p> {
    params: &'p DesignParams,
    lane_inputs: Vec<usize>,
    lane_weights: Vec<LaneWeight<'p>>,
}

enum LaneWeight<'p> {
    Port(usize),
    Const(&'p BitVec),
}

impl<'p> Golden<'p> {
    pub fn new(params: &'p DesignParams) -> Golden<'p> {
        let ports = params.input_ports();
        let index = |name: &str| ports.iter().position(|p| p.name == name).expect("port exists");
        let lanes = if params.block == Block::Popcount { 0 } else { params.lanes };
        let lane_inputs = (0..lanes).map(|i| index(&params.lane_input(i))).collect();
        let lane_weights = (0..lanes)
            .map(|i| match &params.weights {
                Weights::Port => LaneWeight::Port(index(&params.lane_weight(i))),
                Weights::Const(w) => LaneWeight::Const(&w[i]),
            })
            .collect();
        Golden { params, lane_inputs, lane_weights }
    }

    fn weight<'a>(&'a self, lane: usize, inputs: &'a [BitVec]) -> &'a BitVec {
        match &self.lane_weights[lane] {
            LaneWeight::Port(i) => &inputs[*i],
            LaneWeight::Const(w) => w,
        }
    }

    pub fn eval(&self, inputs: &[BitVec]) -> i64 {
        let p = self.params;
        match p.block {
            Block::Popcount => inputs[0].count_ones() as i64,
            Block::AndPe => and_dot(&inputs[0], self.weight(0, inputs)),
            Block::XnorPe => xnor_dot(&inputs[0], self.weight(0, inputs)),
            Block::GroupNet => (0..p.lanes)
                .map(|i| p.lambdas[i] * xnor_dot(&inputs[self.lane_inputs[i]], self.weight(i, inputs)))
                .sum(),
        }
    }
}

/// Every result the block can produce lies in `lo..=hi`, and both ends are
/// reached by some input: the range is exact, not an interval-arithmetic
/// bound. All blocks sum independent per-element contributions, so the
/// range is the sum over elements of each element's own extremes.
pub fn output_range(p: &DesignParams) -> (i64, i64) {
    let n = p.len as i64;
    match (p.block, &p.weights) {
        (Block::Popcount, _) | (Block::AndPe, Weights::Port) => (0, n),
        (Block::AndPe, Weights::Const(w)) => (0, w[0].count_ones() as i64),
        (Block::XnorPe, _) => (-n, n),
        (Block::GroupNet, Weights::Const(w)) if p.shared_input => {
            // One shared a-bit per element: its two choices give +c and -c,
            // with c the lanes' signed scales summed.
            let spread: i64 = (0..p.len)
                .map(|k| {
                    let c: i64 = (0..p.lanes).map(|i| if w[i].get(k) { p.lambdas[i] } else { -p.lambdas[i] }).sum();
                    c.abs()
                })
                .sum();
            (-spread, spread)
        }
        (Block::GroupNet, _) => {
            // Each lane's sign per element is free (own input or own weight).
            let spread: i64 = p.lambdas.iter().map(|l| l.abs()).sum::<i64>() * n;
            (-spread, spread)
        }
    }
}

/// Width of the result port `y`: the smallest that holds the exact range.
pub fn output_width(p: &DesignParams) -> u32 {
    let (lo, hi) = output_range(p);
    width_for(lo as i128, hi as i128)
}

pub fn output_signed(p: &DesignParams) -> bool {
    output_range(p).0 < 0
}
