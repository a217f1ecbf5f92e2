//! The streaming engines' golden model against a slow reference written
//! straight from SPEC 6.3 to 6.5, element by element (+1/-1 products with
//! the scales as reals, PA-Net's pieces by comparing each activation with
//! each endpoint), on random geometries with borders, dilations larger
//! than the map, stride 2 with odd sizes, and every output stage.

use mbnn::model::engine::EngineGolden;
use mbnn::model::golden::xnor_dot;
use mbnn::spec::engine::{EngineKind, EngineParams, Output, Padding};
use mbnn::spec::engine_request::{EngineRequest, OutputMode};
use mbnn::util::bits::{BitVec, SplitMix64};
use proptest::prelude::*;

/// The input pixel of tap (ky, kx) at output pixel (oy, ox), by SPEC 6.3's formulas.
fn reference_tap(p: &EngineParams, (oy, ox): (usize, usize), (ky, kx): (usize, usize), d: usize) -> Option<usize> {
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
fn reference_conv(p: &EngineParams, pixels: &[BitVec], at: (usize, usize)) -> (Vec<Vec<i64>>, Vec<f64>) {
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
fn reference_pa(p: &EngineParams, pixels: &[BitVec], at: (usize, usize)) -> Vec<f64> {
    let g = &p.geometry;
    let b = p.act_bits as usize;
    let scale = f64::from(p.frac_bits).exp2();
    let mut y = vec![0.0; g.cout];
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

/// The output pixel as the reference computes it.
fn reference_pixel(p: &EngineParams, pixels: &[BitVec], at: (usize, usize)) -> BitVec {
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

fn random_frame(p: &EngineParams, rng: &mut SplitMix64) -> Vec<BitVec> {
    (0..p.geometry.height * p.geometry.width).map(|_| BitVec::random(p.in_pixel_bits(), rng)).collect()
}

fn golden_equals_reference(p: &EngineParams, seed: u64) -> Result<(), TestCaseError> {
    let mut rng = SplitMix64::new(seed);
    let frame = random_frame(p, &mut rng);
    let got = EngineGolden::new(p).frame(&frame);
    let g = &p.geometry;
    prop_assert_eq!(got.len(), g.out_height() * g.out_width());
    for (i, pixel) in got.iter().enumerate() {
        let at = (i / g.out_width(), i % g.out_width());
        prop_assert_eq!(pixel, &reference_pixel(p, &frame, at), "{} at {:?}", p.top, at);
    }
    // Every sum lies in the exact range the port width is made for.
    if p.output == Output::Sum {
        let (lo, hi) = p.sum_range();
        let width = p.out_element_bits();
        for pixel in &got {
            for o in 0..g.cout {
                let y = BitVec::from_fn(width, |b| pixel.get(o * width + b)).to_i64(p.sum_signed());
                prop_assert!((lo..=hi).contains(&y), "{y} outside {lo}..={hi}");
            }
        }
    }
    Ok(())
}

fn output_of(choice: u8, kind: EngineKind) -> OutputMode {
    match (choice % 3, kind) {
        (0, _) => OutputMode::Sum,
        (1, _) | (2, EngineKind::PaConv) => OutputMode::Threshold,
        _ => OutputMode::Fusion,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(120))]

    #[test]
    fn conv_golden_equals_the_element_by_element_reference(
        (h, w) in (1i64..9, 1i64..9),
        (cin, cout) in (1i64..5, 1i64..4),
        kernel in prop::sample::select(vec![1i64, 3, 5]),
        stride in 1i64..3,
        dilations in prop::collection::vec(1i64..7, 1..4),
        shared in any::<bool>(),
        output in any::<u8>(),
        levels in 1usize..4,
        seed in any::<u64>(),
    ) {
        let mut r = EngineRequest::new(EngineKind::Conv);
        (r.height, r.width, r.cin, r.cout, r.kernel, r.stride) = (Some(h), Some(w), Some(cin), Some(cout), Some(kernel), Some(stride));
        r.k = Some(dilations.len() as i64);
        r.dilations = Some(dilations);
        r.shared_input = shared;
        r.lambda = Some((0..r.k.unwrap()).map(|i| [0.75, -1.25, 0.5][i as usize % 3]).collect());
        r.output = Some(output_of(output, EngineKind::Conv));
        if r.output == Some(OutputMode::Threshold) {
            r.thresholds = Some((0..levels as i64).map(|t| t * 37 - 40).collect());
        }
        r.seed = Some(seed);
        let p = r.to_params().unwrap();
        golden_equals_reference(&p, seed ^ 0x77)?;
    }

    #[test]
    fn pa_golden_equals_the_piecewise_reference(
        (h, w) in (1i64..9, 1i64..9),
        (cin, cout) in (1i64..4, 1i64..4),
        kernel in prop::sample::select(vec![1i64, 3]),
        stride in 1i64..3,
        dilation in 1i64..5,
        (m, n) in (1i64..5, 1i64..6),
        act_bits in 3i64..7,
        unsigned in any::<bool>(),
        valid in any::<bool>(),
        threshold in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let mut r = EngineRequest::new(EngineKind::PaConv);
        (r.height, r.width, r.cin, r.cout, r.kernel, r.stride) = (Some(h), Some(w), Some(cin), Some(cout), Some(kernel), Some(stride));
        r.dilations = Some(vec![dilation]);
        (r.m, r.n, r.act_bits, r.act_unsigned) = (Some(m), Some(n), Some(act_bits), unsigned);
        let span = (kernel - 1) * dilation + 1;
        if valid && span <= h && span <= w {
            r.padding = Some(Padding::Valid);
        }
        r.output = Some(if threshold { OutputMode::Threshold } else { OutputMode::Sum });
        r.seed = Some(seed);
        let p = r.to_params().unwrap();
        golden_equals_reference(&p, seed ^ 0x99)?;
    }
}

/// K = 1 (Bi-Real) at a pixel whose taps are all inside: the engine's dot
/// is the XNOR PE's over the same window vector.
#[test]
fn one_lane_equals_the_xnor_pe_inside_the_map() {
    let mut r = EngineRequest::new(EngineKind::Conv);
    (r.height, r.width, r.cin, r.cout, r.k) = (Some(7), Some(6), Some(5), Some(3), Some(1));
    r.dilations = Some(vec![2]);
    let p = r.to_params().unwrap();
    let frame = random_frame(&p, &mut SplitMix64::new(3));
    let at = (3, 3);
    let g = &p.geometry;
    let window = BitVec::from_fn(g.window_len(), |e| {
        let (t, c) = (e / g.cin, e % g.cin);
        let q = reference_tap(&p, at, (t / g.kernel, t % g.kernel), 2).expect("an interior pixel");
        frame[q].get(c)
    });
    let dots = EngineGolden::new(&p).dots(&frame, at);
    for (o, (dot, weights)) in dots[0].iter().zip(&p.weights[0]).enumerate() {
        assert_eq!(*dot, xnor_dot(&window, weights), "channel {o}");
    }
}

/// Default thresholds sit at the median: over random frames each output
/// level comes out about equally often.
#[test]
fn default_thresholds_split_random_outputs_evenly() {
    for kind in [EngineKind::Conv, EngineKind::PaConv] {
        let mut r = EngineRequest::new(kind);
        (r.height, r.width, r.cin, r.cout) = (Some(6), Some(6), Some(16), Some(8));
        r.output = Some(OutputMode::Threshold);
        let p = r.to_params().unwrap();
        let golden = EngineGolden::new(&p);
        let mut rng = SplitMix64::new(11);
        let (mut ones, mut total) = (0, 0);
        for _ in 0..20 {
            for pixel in golden.frame(&random_frame(&p, &mut rng)) {
                ones += pixel.count_ones();
                total += pixel.len();
            }
        }
        let share = ones as f64 / total as f64;
        assert!((0.35..0.65).contains(&share), "{}: level 1 in {:.0}% of outputs", kind.name(), 100.0 * share);
    }
}

#[test]
fn bad_requests_are_refused_with_the_value_and_the_range() {
    let base = || {
        let mut r = EngineRequest::new(EngineKind::Conv);
        (r.cin, r.cout) = (Some(8), Some(8));
        r
    };
    let cases: Vec<(EngineRequest, &[&str])> = vec![
        (EngineRequest { pe: Some(3), ..base() }, &["--pe 3", "--cout 8"]),
        (EngineRequest { simd: Some(3), ..base() }, &["--simd 3", "--cin 8"]),
        (EngineRequest { simd: Some(16), ..base() }, &["--simd 16", "72 elements"]),
        (EngineRequest { height: Some(0), ..base() }, &["--height 0", "1..=4096"]),
        (EngineRequest { kernel: Some(4), ..base() }, &["--kernel 4", "odd"]),
        (EngineRequest { k: Some(2), dilations: Some(vec![1, 2, 3]), ..base() }, &["3 values", "--k 2"]),
        (EngineRequest { dilations: Some(vec![1, 2]), padding: Some(Padding::Valid), ..base() }, &["same"]),
        (EngineRequest { m: Some(2), ..base() }, &["--m", "pa_conv"]),
        (
            EngineRequest { thresholds: Some(vec![3, 1]), output: Some(OutputMode::Threshold), ..base() },
            &["out of order"],
        ),
    ];
    for (r, needles) in cases {
        let e = r.to_params().unwrap_err();
        assert!(!e.contains('\n'), "{e}");
        for n in needles {
            assert!(e.contains(n), "{e:?} lacks {n:?}");
        }
    }
}
