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

/// Element `k` of a packed vector of `bits`-bit signed integers.
pub fn signed_element(v: &BitVec, k: usize, bits: u32) -> i64 {
    let mut x: i64 = 0;
    for b in 0..bits as usize {
        if v.get(k * bits as usize + b) {
            x |= 1 << b;
        }
    }
    if bits < 64 && x & (1 << (bits - 1)) != 0 { x - (1 << bits) } else { x }
}

/// Bit plane `i` of a vector of `bits`-bit elements: bit k is element k's bit i.
pub fn plane(v: &BitVec, n: usize, bits: u32, i: u32) -> BitVec {
    BitVec::from_fn(n, |k| v.get(k * bits as usize + i as usize))
}

/// The K-bit fixed-point dot product of SPEC section 1 from K^2 binary
/// popcounts: element value sum_i 2^i b_i with b_i = +1/-1 (bit 1 = +1).
pub fn fixedpoint_dot(a: &BitVec, w: &BitVec, n: usize, bits: u32) -> i64 {
    let ap: Vec<BitVec> = (0..bits).map(|i| plane(a, n, bits, i)).collect();
    let wp: Vec<BitVec> = (0..bits).map(|j| plane(w, n, bits, j)).collect();
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
    (0..n).map(|k| signed_element(a, k, bits) * signed_element(w, k, bits)).sum()
}

/// PA-Net activation bases: V_j has a 1 where v_j <= a < v_{j+1} (the last
/// base is open above); an activation below v_1 is in no base.
pub fn pa_bases(act: &BitVec, n: usize, bits: u32, endpoints: &[i64]) -> Vec<BitVec> {
    let mut v = vec![BitVec::zeros(n); endpoints.len()];
    for k in 0..n {
        let a = signed_element(act, k, bits);
        let piece = endpoints.iter().take_while(|&&e| e <= a).count();
        if piece > 0 {
            v[piece - 1].set(k, true);
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

/// Which activation pieces some B-bit activation can fall in: "none" (below
/// v_1) and each base j; every base is reachable at a = v_j.
fn pa_below_first_reachable(p: &DesignParams) -> bool {
    p.endpoints[0] > -(1i64 << (p.act_bits - 1))
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
        (Block::XnorPe | Block::Binary, _) => (-n, n),
        (Block::FixedPoint, weights) => {
            // Elements are odd integers in [-(2^K - 1), 2^K - 1].
            let top = (1i64 << p.bits) - 1;
            match weights {
                Weights::Port => (-top * top * n, top * top * n),
                Weights::Const(w) => {
                    let s: i64 =
                        (0..p.len)
                            .map(|k| {
                                (0..p.bits)
                                    .map(|j| {
                                        if w[0].get(k * p.bits as usize + j as usize) {
                                            1i64 << j
                                        } else {
                                            -(1i64 << j)
                                        }
                                    })
                                    .sum::<i64>()
                                    .abs()
                            })
                            .sum();
                    (-s * top, s * top)
                }
            }
        }
        (Block::Mac, weights) => {
            let (amin, amax) = (-(1i64 << (p.bits - 1)), (1i64 << (p.bits - 1)) - 1);
            let element = |w: i64| (amin * w).min(amax * w)..=(amin * w).max(amax * w);
            match weights {
                Weights::Port => (amin * amax * n, amin * amin * n),
                Weights::Const(w) => (0..p.len)
                    .map(|k| element(signed_element(&w[0], k, p.bits)))
                    .fold((0, 0), |acc, r| (acc.0 + r.start(), acc.1 + r.end())),
            }
        }
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
        (Block::Pa, weights) => {
            // Per element: the activation picks one piece (or none), the
            // weight bits pick which phi of that piece's column are summed.
            let none = pa_below_first_reachable(p);
            let element = |set: &dyn Fn(usize) -> bool| -> (i64, i64) {
                let sums =
                    (0..p.act_bases()).map(|j| (0..p.lanes).filter(|&i| set(i)).map(|i| p.phi[i][j]).sum::<i64>());
                let mut lo = if none { 0 } else { i64::MAX };
                let mut hi = if none { 0 } else { i64::MIN };
                for s in sums {
                    lo = lo.min(s);
                    hi = hi.max(s);
                }
                (lo, hi)
            };
            match weights {
                Weights::Port => {
                    // Free weight bits: each column's positive (negative) phi
                    // alone give its largest (smallest) sum; all zero gives 0.
                    let cols = |f: fn(i64) -> i64| {
                        (0..p.act_bases()).map(move |j| (0..p.lanes).map(|i| f(p.phi[i][j])).sum::<i64>())
                    };
                    let hi = cols(|x| x.max(0)).max().unwrap_or(0).max(0);
                    let lo = cols(|x| x.min(0)).min().unwrap_or(0).min(0);
                    (lo * n, hi * n)
                }
                Weights::Const(t) => {
                    (0..p.len).map(|k| element(&|i| t[i].get(k))).fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
                }
            }
        }
        (Block::PaQuantizer, _) => panic!("pa_quantizer has a vector result"),
    }
}

/// Width of the result port `y`: the smallest that holds the exact range;
/// for the quantizer, the N bases side by side.
pub fn output_width(p: &DesignParams) -> u32 {
    if p.block == Block::PaQuantizer {
        return (p.act_bases() * p.len) as u32;
    }
    let (lo, hi) = output_range(p);
    width_for(lo as i128, hi as i128)
}

pub fn output_signed(p: &DesignParams) -> bool {
    p.block != Block::PaQuantizer && output_range(p).0 < 0
}
