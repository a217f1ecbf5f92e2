//! Bit-exact golden models of every block, on packed 64-bit words, and the
//! exact output range each block can produce (which fixes its port width).

use crate::spec::pa::act_piece;
use crate::spec::params::{Block, DesignParams, Weights};
use crate::spec::range::output_width;
use crate::util::bits::BitVec;

/// The dot product of two +1/-1 vectors: `2*popcount(xnor(a, w)) - n`,
/// computed as `n - 2*popcount(a ^ w)` on the words in place, so that it
/// allocates nothing (the bits above `n` are zero in both, so they never
/// differ).
pub fn xnor_dot(a: &BitVec, w: &BitVec) -> i64 {
    assert_eq!(a.len(), w.len());
    a.len() as i64 - 2 * i64::from(xor_count_ones(a.words(), w.words()))
}

/// The dot product of two {0,1} vectors: `popcount(a & w)`.
pub fn and_dot(a: &BitVec, w: &BitVec) -> i64 {
    assert_eq!(a.len(), w.len());
    a.words().iter().zip(w.words()).map(|(x, y)| i64::from((x & y).count_ones())).sum()
}

/// Number of bit positions where `a` and `b` differ.
#[inline(always)]
pub(crate) fn xor_count_ones(a: &[u64], b: &[u64]) -> u32 {
    a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum()
}

/// The K-bit fixed-point dot product of SPEC section 1 from K^2 binary
/// popcounts: element value sum_i 2^i b_i with b_i = +1/-1 (bit 1 = +1).
pub fn fixedpoint_dot(a: &BitVec, w: &BitVec, n: usize, bits: u32) -> i64 {
    let ap: Vec<BitVec> = (0..bits).map(|i| a.plane(n, bits, i)).collect();
    let wp: Vec<BitVec> = (0..bits).map(|j| w.plane(n, bits, j)).collect();
    let mut y = 0;
    for (i, a) in ap.iter().enumerate() {
        for (j, w) in wp.iter().enumerate() {
            y += xnor_dot(a, w) << (i + j);
        }
    }
    y
}

/// The plain multiply-accumulate of `bits`-bit two's-complement elements.
pub fn mac_dot(a: &BitVec, w: &BitVec, n: usize, bits: u32) -> i64 {
    (0..n).map(|k| a.signed_element(k, bits) * w.signed_element(k, bits)).sum()
}

/// PA-Net activation bases: V_j has a 1 where v_j <= a < v_{j+1} (the last
/// base is open above); an activation below v_1 is in no base.
pub fn pa_bases(act: &BitVec, n: usize, bits: u32, endpoints: &[i64]) -> Vec<BitVec> {
    let mut v = vec![BitVec::zeros(n); endpoints.len()];
    for k in 0..n {
        let a = act.signed_element(k, bits);
        if let Some(j) = act_piece(a, endpoints) {
            v[j].set(k, true);
        }
    }
    v
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
        let lanes = match params.block {
            Block::Popcount | Block::PaQuantizer => 0,
            _ => params.lanes,
        };
        let lane_input = |i: usize| match params.block {
            Block::Pa => "act".to_string(),
            Block::FixedPoint | Block::Mac => "a".to_string(),
            _ => params.lane_input(i),
        };
        let lane_inputs = (0..lanes).map(|i| index(&lane_input(i))).collect();
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

    /// The integer result of an arithmetic block.
    pub fn eval(&self, inputs: &[BitVec]) -> i64 {
        let p = self.params;
        match p.block {
            Block::Popcount => inputs[0].count_ones() as i64,
            Block::AndPe => and_dot(&inputs[0], self.weight(0, inputs)),
            Block::XnorPe | Block::Binary => xnor_dot(&inputs[0], self.weight(0, inputs)),
            Block::FixedPoint => fixedpoint_dot(&inputs[0], self.weight(0, inputs), p.len, p.bits),
            Block::Mac => mac_dot(&inputs[0], self.weight(0, inputs), p.len, p.bits),
            Block::GroupNet => (0..p.lanes)
                .map(|i| p.lambdas[i] * xnor_dot(&inputs[self.lane_inputs[i]], self.weight(i, inputs)))
                .sum(),
            Block::Pa => {
                let v = pa_bases(&inputs[0], p.len, p.act_bits, &p.endpoints);
                let mut y = 0;
                for i in 0..p.lanes {
                    let t = self.weight(i, inputs);
                    for (j, vj) in v.iter().enumerate() {
                        y += p.phi[i][j] * and_dot(t, vj);
                    }
                }
                y
            }
            Block::PaQuantizer => panic!("pa_quantizer has a vector result: use eval_bits"),
        }
    }

    /// The result port `y` as bits, for every block.
    pub fn eval_bits(&self, inputs: &[BitVec]) -> BitVec {
        let p = self.params;
        let width = output_width(p) as usize;
        if p.block == Block::PaQuantizer {
            let v = pa_bases(&inputs[0], p.len, p.act_bits, &p.endpoints);
            return BitVec::from_fn(width, |b| v[b / p.len].get(b % p.len));
        }
        BitVec::from_i64(width, self.eval(inputs))
    }
}
