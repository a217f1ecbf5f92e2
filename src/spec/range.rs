//! The exact range of every block's result, which fixes its port width.

use crate::spec::params::{Block, DesignParams, Weights};
use crate::util::fixed::{self, width_for};

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
        (Block::FixedPoint, weights) => fixedpoint_range(p, weights),
        (Block::Mac, weights) => mac_range(p, weights),
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
        (Block::Pa, weights) => pa_range(p, weights),
        (Block::PaQuantizer, _) => panic!("pa_quantizer has a vector result"),
    }
}

/// Fixed point: elements are odd integers in [-(2^K - 1), 2^K - 1].
fn fixedpoint_range(p: &DesignParams, weights: &Weights) -> (i64, i64) {
    let top = (1i64 << p.bits) - 1;
    let n = p.len as i64;
    match weights {
        Weights::Port => (-top * top * n, top * top * n),
        Weights::Const(w) => {
            // Each constant element's magnitude, sum_j (+/-) 2^j.
            let element = |k: usize| -> i64 {
                let bit = |j: u32| w[0].get(k * p.bits as usize + j as usize);
                (0..p.bits).map(|j| if bit(j) { 1i64 << j } else { -(1i64 << j) }).sum::<i64>().abs()
            };
            let s: i64 = (0..p.len).map(element).sum();
            (-s * top, s * top)
        }
    }
}

/// Multiply-accumulate of two's-complement elements.
fn mac_range(p: &DesignParams, weights: &Weights) -> (i64, i64) {
    let (amin, amax) = fixed::signed_range(p.bits).into_inner();
    let n = p.len as i64;
    let element = |w: i64| (amin * w).min(amax * w)..=(amin * w).max(amax * w);
    match weights {
        Weights::Port => (amin * amax * n, amin * amin * n),
        Weights::Const(w) => (0..p.len)
            .map(|k| element(w[0].signed_element(k, p.bits)))
            .fold((0, 0), |acc, r| (acc.0 + r.start(), acc.1 + r.end())),
    }
}

/// PA-Net: per element, the activation picks one piece (or none, when an
/// activation below v_1 exists), the weight bits pick which phi of that
/// piece's column are summed.
fn pa_range(p: &DesignParams, weights: &Weights) -> (i64, i64) {
    let n = p.len as i64;
    // Every base j is reachable at a = v_j; "none" only if v_1 is above the lowest activation.
    let none = p.endpoints[0] > *fixed::signed_range(p.act_bits).start();
    let element = |set: &dyn Fn(usize) -> bool| -> (i64, i64) {
        let sums = (0..p.act_bases()).map(|j| (0..p.lanes).filter(|&i| set(i)).map(|i| p.phi[i][j]).sum::<i64>());
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
            let cols =
                |f: fn(i64) -> i64| (0..p.act_bases()).map(move |j| (0..p.lanes).map(|i| f(p.phi[i][j])).sum::<i64>());
            let hi = cols(|x| x.max(0)).max().unwrap_or(0).max(0);
            let lo = cols(|x| x.min(0)).min().unwrap_or(0).min(0);
            (lo * n, hi * n)
        }
        Weights::Const(t) => (0..p.len).map(|k| element(&|i| t[i].get(k))).fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1)),
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
