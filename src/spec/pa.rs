//! PA-Net's pieces (SPEC section 1): which weight piece a real weight is
//! in, and which activation piece a fixed-point activation is in. The one
//! place that knows them: the decomposition, the golden models and the
//! generators all ask here.

/// The weight endpoints u_1 < ... < u_M in units of std(W).
///
/// The first `M/2` (integer division) are negative and the other `M - M/2`
/// positive, so the zero piece is (u_{M/2}, u_{M/2+1}) and an odd M has one
/// more piece above zero than below (M = 1: the zero piece is (-inf, u_1)).
/// A side with `c` endpoints uses the uniform grid of step `s = 2/c` below
/// 2 std, `s, 2s, ..., (c-1)s`, plus `s/2` nearest zero, which keeps the zero
/// piece `s` wide rather than `2s`. All lie in (-2, 2); M = 8 gives exactly
/// the paper's -1.5, -1, -0.5, -0.25, 0.25, 0.5, 1, 1.5.
pub fn weight_endpoint_multiples(m: usize) -> Vec<f64> {
    let below = m / 2;
    let mut multiples: Vec<f64> = side_multiples(below).iter().rev().map(|x| -x).collect();
    multiples.extend(side_multiples(m - below));
    multiples
}

/// `count` positive endpoints, ascending (see [`weight_endpoint_multiples`]).
fn side_multiples(count: usize) -> Vec<f64> {
    if count == 0 {
        return vec![];
    }
    let step = 2.0 / count as f64;
    std::iter::once(step / 2.0).chain((1..count).map(|k| k as f64 * step)).collect()
}

/// The base a weight belongs to, `None` for the zero piece.
///
/// An endpoint belongs to the piece on its side away from zero, as the
/// SPEC's outer pieces (-inf, u_1] and [u_M, +inf) already say: the negative
/// pieces are (u_{i-1}, u_i], the zero piece is the open (u_{M/2}, u_{M/2+1}),
/// the positive pieces are [u_i, u_{i+1}). So w and -w land in mirrored
/// pieces. A weight of exactly 0 is always in the zero piece, which only
/// decides anything when std(W) = 0 makes every endpoint 0.
pub fn weight_piece(w: f64, endpoints: &[f64]) -> Option<usize> {
    let below = endpoints.len() / 2;
    let (negative, positive) = endpoints.split_at(below);
    if w == 0.0 {
        return None;
    }
    if let Some(i) = negative.iter().position(|&u| w <= u) {
        return Some(i);
    }
    positive.iter().rposition(|&u| w >= u).map(|i| below + i)
}

/// The activation piece of a B-bit activation `a`: j where v_j <= a < v_{j+1}
/// (the last piece open above), `None` below v_1.
pub fn act_piece(a: i64, endpoints: &[i64]) -> Option<usize> {
    endpoints.iter().take_while(|&&v| v <= a).count().checked_sub(1)
}
