//! A slow reference of the streaming engines, written straight from SPEC
//! 6.3 to 6.5, element by element: +1/-1 products with the scales as
//! reals, PA-Net's pieces by comparing each activation with each endpoint.
//! Shared by the engine and network tests.

use mbnn::spec::engine::{EngineKind, EngineParams, Output, Padding};
use mbnn::util::bits::BitVec;

/// The input pixel of tap (ky, kx) at output pixel (oy, ox), by SPEC 6.3's formulas.
pub fn reference_tap(p: &EngineParams, (oy, ox): (usize, usize), (ky, kx): (usize, usize), d: usize) -> Option<usize> {
    let g = &p.geometry;
    let (k, s, d) = (g.kernel as i64, g.stride as i64, d as i64);
    let (row, col) = match g.padding {
        Padding::Same => (oy as i64 * s + (ky as i64 - (k - 1) / 2) * d, ox as i64 * s + (kx as i64 - (k - 1) / 2) * d),
        Padding::Valid => (oy as i64 * s + ky as i64 * d, ox as i64 * s + kx as i64 * d),
    };
    let inside = row >= 0 && row < g.height as i64 && col >= 0 && col < g.width as i64;
    inside.then(|| row as usize * g.width + col as usize)
}

/// dot_i(o) of `conv` and y(o) as a real: lambdas as reals.
pub fn reference_conv(p: &EngineParams, pixels: &[BitVec], at: (usize, usize)) -> (Vec<Vec<i64>>, Vec<f64>) {
    let g = &p.geometry;
    let mut dots = vec![vec![0i64; g.cout]; p.lanes()];
    for (i, lane_dots) in dots.iter_mut().enumerate() {
        let base = if p.shared_input { 0 } else { i * g.cin };
        for (o, dot) in lane_dots.iter_mut().enumerate() {
            for ky in 0..g.kernel {
                for kx in 0..g.kernel {
                    let Some(q) = reference_tap(p, at, (ky, kx), g.dilations[i]) else { continue };
                    for c in 0..g.cin {
                        let a = pixels[q].get(base + c);
                        let w = p.weights[i][o].get((ky * g.kernel + kx) * g.cin + c);
                        *dot += if a == w { 1 } else { -1 };
                    }
                }
            }
        }
    }
    let scale = f64::from(p.frac_bits).exp2();
    let y =
        (0..g.cout).map(|o| (0..p.lanes()).map(|i| p.lambdas[i] as f64 / scale * dots[i][o] as f64).sum()).collect();
    (dots, y)
}

/// y(o) of `pa_conv` as a real: activation pieces by comparing with every
/// endpoint, phi as reals.
pub fn reference_pa(p: &EngineParams, pixels: &[BitVec], at: (usize, usize)) -> Vec<f64> {
    let g = &p.geometry;
    let b = p.act_bits as usize;
    let scale = f64::from(p.frac_bits).exp2();
    let mut y = vec![0.0; g.cout];
    if p.bitplanes {
        return reference_pixel_conv(p, pixels, at);
    }
    for ky in 0..g.kernel {
        for kx in 0..g.kernel {
            let Some(q) = reference_tap(p, at, (ky, kx), g.dilations[0]) else { continue };
            for c in 0..g.cin {
                let mut a: i64 = (0..b).map(|bit| i64::from(pixels[q].get(c * b + bit)) << bit).sum();
                if p.act_signed && a >= 1 << (b - 1) {
                    a -= 1 << b;
                }
                // The last endpoint at or below a.
                let mut piece = None;
                for (j, &v) in p.endpoints.iter().enumerate() {
                    if a >= v {
                        piece = Some(j);
                    }
                }
                let Some(j) = piece else { continue };
                for (o, y) in y.iter_mut().enumerate() {
                    for i in 0..p.lanes() {
                        if p.weights[i][o].get((ky * g.kernel + kx) * g.cin + c) {
                            *y += p.phi[i][j] as f64 / scale;
                        }
                    }
                }
            }
        }
    }
    y
}

/// A conv on unsigned pixels (a `pa_conv` on bit-planes, SPEC 7's first
/// layer) as its float formula: y(o) = sum_i L_i sum_e w_ie x_e with w_ie =
/// +1/-1 and x_e the pixel values. The lanes' L_i are phi_i0 / 2; the last
/// weight base must be all ones with phi_Mj = -2^j sum_i L_i.
fn reference_pixel_conv(p: &EngineParams, pixels: &[BitVec], at: (usize, usize)) -> Vec<f64> {
    let g = &p.geometry;
    let (b, lanes) = (p.act_bits as usize, p.lanes() - 1);
    let scale = f64::from(p.frac_bits).exp2();
    let lambdas: Vec<f64> = (0..lanes).map(|i| p.phi[i][0] as f64 / 2.0 / scale).collect();
    let lambda_sum: i64 = (0..lanes).map(|i| p.phi[i][0] / 2).sum();
    for j in 0..b {
        assert_eq!(p.phi[lanes][j], -(lambda_sum << j), "the all-ones base's phi");
        for (i, lambda) in lambdas.iter().enumerate() {
            assert_eq!(p.phi[i][j] as f64, lambda * scale * (2 << j) as f64, "phi of lane {i}");
        }
    }
    assert!(p.weights[lanes].iter().all(|w| w.count_ones() as usize == w.len()), "the last base is all ones");
    let mut y = vec![0.0; g.cout];
    for ky in 0..g.kernel {
        for kx in 0..g.kernel {
            let Some(q) = reference_tap(p, at, (ky, kx), g.dilations[0]) else { continue };
            for c in 0..g.cin {
                let x: i64 = (0..b).map(|bit| i64::from(pixels[q].get(c * b + bit)) << bit).sum();
                for (o, y) in y.iter_mut().enumerate() {
                    for (i, lambda) in lambdas.iter().enumerate() {
                        let w = if p.weights[i][o].get((ky * g.kernel + kx) * g.cin + c) { 1.0 } else { -1.0 };
                        *y += lambda * w * x as f64;
                    }
                }
            }
        }
    }
    y
}

/// The output pixel as the reference computes it.
pub fn reference_pixel(p: &EngineParams, pixels: &[BitVec], at: (usize, usize)) -> BitVec {
    let scale = f64::from(p.frac_bits).exp2();
    let (dots, y) = match p.kind {
        EngineKind::Conv => reference_conv(p, pixels, at),
        EngineKind::PaConv => (vec![], reference_pa(p, pixels, at)),
    };
    let cout = p.geometry.cout;
    let values: Vec<i64> = match &p.output {
        Output::Fusion { fusion, thresholds } => {
            let lanes = p.lanes();
            return BitVec::from_fn(lanes * cout, |bit| {
                let (i, o) = (bit / cout, bit % cout);
                (0..lanes).map(|j| fusion[i][j] * dots[j][o]).sum::<i64>() >= thresholds[i][o]
            });
        }
        // Exact in f64: every value is an integer below 2^53 once scaled.
        Output::Sum => y.iter().map(|v| (v * scale).round() as i64).collect(),
        Output::Threshold { thresholds, signs } => (0..cout)
            .map(|o| thresholds[o].iter().filter(|&&t| (signs[o] as f64) * y[o] * scale >= t as f64).count() as i64)
            .collect(),
    };
    let width = p.out_element_bits();
    BitVec::from_fn(width * cout, |bit| (values[bit / width] >> (bit % width)) & 1 == 1)
}
