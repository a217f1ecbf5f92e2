//! The golden models against a slow reference that follows the definitions
//! element by element (+1/-1 arithmetic, real-valued scales), and the exact
//! output ranges against exhaustive enumeration.

use mbnn::generator::manifest::{manifest, params_from_manifest};
use mbnn::model::conv::{BinaryMap, GroupNetConv, groupnet_layer};
use mbnn::model::golden::Golden;
use mbnn::spec::params::{Block, DesignParams};
use mbnn::spec::range::{output_range, output_width};
use mbnn::spec::request::{Request, WeightsMode};
use mbnn::util::bits::{BitVec, SplitMix64};
use proptest::prelude::*;

/// Element by element: +1/-1 products summed, times the real lambda rounded
/// to the fixed-point grid, times 2^F. Independent of the packed golden.
fn reference(p: &DesignParams, inputs: &[BitVec]) -> i128 {
    let ports = p.input_ports();
    let port =
        |name: &str| &inputs[ports.iter().position(|q| q.name == name).unwrap_or_else(|| panic!("no port {name}"))];
    let weight = |lane: usize| -> BitVec {
        match p.const_weights(lane) {
            Some(w) => w.clone(),
            None => port(&p.lane_weight(lane)).clone(),
        }
    };
    let n = p.len;
    match p.block {
        Block::Popcount => (0..n).filter(|&k| port("a").get(k)).count() as i128,
        Block::AndPe => {
            let (a, w) = (port("a"), weight(0));
            (0..n).map(|k| i128::from(a.get(k) && w.get(k))).sum()
        }
        Block::XnorPe => {
            let (a, w) = (port("a"), weight(0));
            (0..n).map(|k| if a.get(k) == w.get(k) { 1 } else { -1 }).sum()
        }
        Block::Pa => {
            // The paper's piecewise definition, element by element, in floating point.
            let scale = (p.frac_bits as f64).exp2();
            let act = port("act");
            let b = p.act_bits as usize;
            let mut total = 0.0f64;
            for k in 0..n {
                let raw: i64 = (0..b).map(|i| i64::from(act.get(k * b + i)) << i).sum();
                let a = if raw >= 1 << (b - 1) { raw - (1 << b) } else { raw } as f64;
                let nb = p.endpoints.len();
                let piece =
                    (0..nb).find(|&j| p.endpoints[j] as f64 <= a && (j + 1 == nb || a < p.endpoints[j + 1] as f64));
                let Some(j) = piece else { continue };
                for i in 0..p.lanes {
                    if weight(i).get(k) {
                        let x = p.phi_reals[i][j] * scale;
                        total += x.signum() * (x.abs() + 0.5).floor() / scale;
                    }
                }
            }
            let y = total * scale;
            assert_eq!(y.fract(), 0.0, "the scaled sum is an integer");
            y as i128
        }
        Block::PaQuantizer => unreachable!("vector result"),
        Block::Binary => {
            let (a, w) = (port("a"), weight(0));
            (0..n).map(|k| if a.get(k) == w.get(k) { 1 } else { -1 }).sum()
        }
        Block::FixedPoint | Block::Mac => {
            // Element values as integers, multiplied and summed.
            let b = p.bits as usize;
            let (a, w) = (port("a"), weight(0));
            let value = |v: &BitVec, k: usize| -> i128 {
                let bits: Vec<bool> = (0..b).map(|i| v.get(k * b + i)).collect();
                if p.block == Block::Mac {
                    let raw: i128 = bits.iter().enumerate().map(|(i, &x)| i128::from(x) << i).sum();
                    if bits[b - 1] { raw - (1 << b) } else { raw }
                } else {
                    bits.iter().enumerate().map(|(i, &x)| if x { 1i128 << i } else { -(1i128 << i) }).sum()
                }
            };
            (0..n).map(|k| value(a, k) * value(&w, k)).sum()
        }
        Block::GroupNet => {
            let scale = (p.frac_bits as f64).exp2();
            let mut total = 0.0f64;
            for lane in 0..p.lanes {
                let a = if p.shared_input { port("a") } else { port(&format!("a{lane}")) };
                let w = weight(lane);
                let dot: i64 = (0..n).map(|k| if a.get(k) == w.get(k) { 1 } else { -1 }).sum();
                // Round half away from zero, written out: the grid point nearest lambda.
                let x = p.lambda_reals[lane] * scale;
                let lambda_on_grid = x.signum() * (x.abs() + 0.5).floor() / scale;
                total += lambda_on_grid * dot as f64;
            }
            let y = total * scale;
            assert_eq!(y.fract(), 0.0, "the scaled sum is an integer");
            y as i128
        }
    }
}

/// Weight and input options of a test design.
#[derive(Clone, Copy)]
struct Opts {
    frac: u32,
    shared: bool,
    konst: bool,
    seed: u64,
}

fn design(block: Block, len: usize, k: usize, lambdas: &[f64], o: Opts) -> DesignParams {
    let Opts { frac, shared, konst, seed } = o;
    let mut r = Request::of(block, len);
    r.frac_bits = Some(i64::from(frac));
    if block == Block::GroupNet {
        r = Request { k: Some(k as i64), lambda: Some(lambdas.to_vec()), shared_input: shared, ..r };
    }
    if block != Block::Popcount {
        r = if konst { r.const_weights(seed) } else { Request { weights: Some(WeightsMode::Port), ..r } };
    }
    r.params()
}

fn random_inputs(p: &DesignParams, rng: &mut SplitMix64) -> Vec<BitVec> {
    p.input_ports().iter().map(|q| BitVec::random(q.width, rng)).collect()
}

/// On random inputs, the golden model equals the slow reference and stays
/// inside the exact output range (and equals the golden model built from
/// the manifest, if one is given).
fn agrees_with_reference(
    p: &DesignParams,
    from_manifest: Option<&DesignParams>,
    seed: u64,
) -> Result<(), TestCaseError> {
    let golden = Golden::new(p);
    let other = from_manifest.map(Golden::new);
    let (lo, hi) = output_range(p);
    let mut rng = SplitMix64::new(seed);
    for _ in 0..8 {
        let inputs = random_inputs(p, &mut rng);
        let y = golden.eval(&inputs);
        if let Some(g) = &other {
            prop_assert_eq!(y, g.eval(&inputs));
        }
        prop_assert_eq!(y as i128, reference(p, &inputs));
        prop_assert!(lo <= y && y <= hi, "{} outside {}..={}", y, lo, hi);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn golden_equals_the_elementwise_reference(
        block in prop::sample::select(vec![Block::Popcount, Block::XnorPe, Block::AndPe, Block::GroupNet]),
        len in 1usize..300,
        k in 1usize..9,
        lambdas in prop::collection::vec(-8.0f64..8.0, 8),
        frac in 0u32..12,
        shared in any::<bool>(),
        konst in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let p = design(block, len, k, &lambdas[..k], Opts { frac, shared, konst, seed });
        agrees_with_reference(&p, None, seed ^ 0xabc)?;
    }

    #[test]
    fn manifest_alone_gives_the_same_results(
        block in prop::sample::select(vec![Block::Popcount, Block::XnorPe, Block::AndPe, Block::GroupNet]),
        len in 1usize..100,
        k in 1usize..6,
        lambdas in prop::collection::vec(-2.0f64..2.0, 6),
        shared in any::<bool>(),
        konst in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let p = design(block, len, k, &lambdas[..k], Opts { frac: 8, shared, konst, seed });
        let rendered = mbnn::generator::render::render(p.clone());
        let text = &rendered.files.iter().find(|(n, _)| n.ends_with(".json")).unwrap().1;
        let back = params_from_manifest(&serde_json::from_str(text).unwrap()).unwrap();
        prop_assert_eq!(back.input_ports(), p.input_ports());
        let (g1, g2) = (Golden::new(&p), Golden::new(&back));
        let mut rng = SplitMix64::new(seed);
        for _ in 0..4 {
            let inputs = random_inputs(&p, &mut rng);
            prop_assert_eq!(g1.eval(&inputs), g2.eval(&inputs));
        }
        let m = manifest(&p, &rendered.generated, &[]);
        let y = m["ports"].as_array().unwrap().iter().find(|q| q["name"] == "y").unwrap().clone();
        prop_assert_eq!(y["width"].as_u64().unwrap(), u64::from(output_width(&p)));
    }
}

/// Every input of a small design, enumerated: the range is reached at both
/// ends and never left, so the port width is the smallest possible.
fn exhaustive_range(p: &DesignParams) -> (i64, i64) {
    let widths: Vec<usize> = p.input_ports().iter().map(|q| q.width).collect();
    let total: usize = widths.iter().sum();
    assert!(total <= 16);
    let golden = Golden::new(p);
    let mut lo = i64::MAX;
    let mut hi = i64::MIN;
    for code in 0u64..(1 << total) {
        let mut shift = 0;
        let inputs: Vec<BitVec> = widths
            .iter()
            .map(|&w| {
                let v = BitVec::from_words(w, vec![code >> shift]);
                shift += w;
                v
            })
            .collect();
        let y = golden.eval(&inputs);
        lo = lo.min(y);
        hi = hi.max(y);
    }
    (lo, hi)
}

#[test]
fn output_ranges_are_exact() {
    let mut cases = vec![];
    for len in 1..=4 {
        for konst in [false, true] {
            for seed in 0..3 {
                let o = Opts { frac: 4, shared: false, konst, seed };
                let shared = Opts { shared: true, ..o };
                cases.push(design(Block::Popcount, len, 1, &[], Opts { konst: false, ..o }));
                cases.push(design(Block::XnorPe, len, 1, &[], o));
                cases.push(design(Block::AndPe, len, 1, &[], o));
                cases.push(design(Block::GroupNet, len, 2, &[0.5, -1.25], o));
                cases.push(design(Block::GroupNet, len, 2, &[0.5, 0.5], shared));
                cases.push(design(Block::GroupNet, len, 3, &[1.0, -0.75, 0.25], Opts { frac: 3, ..shared }));
            }
        }
    }
    for p in &cases {
        assert_eq!(exhaustive_range(p), output_range(p), "{p:?}");
    }
}

/// A PA-Net design: (M, N, len, B), phi row-major, endpoints or the defaults.
fn pa_design(
    (m, nb, len, act_bits): (usize, usize, usize, u32),
    phi: &[f64],
    endpoints: Option<&[i64]>,
    konst: bool,
    seed: u64,
) -> DesignParams {
    let mut r = Request::pa(m, nb, len).act_bits(act_bits).phi(&phi[..m * nb]);
    r.frac_bits = Some(6);
    if let Some(e) = endpoints {
        r = r.endpoints(e);
    }
    if konst { r.const_weights(seed) } else { Request { weights: Some(WeightsMode::Port), ..r } }.params()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn pa_golden_equals_the_piecewise_float_reference(
        m in 1usize..9,
        nb in 1usize..8,
        len in 1usize..150,
        act_bits in 3u32..10,
        phi in prop::collection::vec(-3.0f64..3.0, 64),
        konst in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let p = pa_design((m, nb, len, act_bits), &phi, None, konst, seed);
        let rendered = mbnn::generator::render::render(p.clone());
        let text = &rendered.files.iter().find(|(n, _)| n.ends_with(".json")).unwrap().1;
        let from_manifest = params_from_manifest(&serde_json::from_str(text).unwrap()).unwrap();
        agrees_with_reference(&p, Some(&from_manifest), seed ^ 0x9a)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn baselines_equal_the_integer_reference(
        block in prop::sample::select(vec![Block::Binary, Block::FixedPoint, Block::Mac]),
        len in 1usize..200,
        bits in 1u32..9,
        konst in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let p = baseline(block, len, bits, konst.then_some(seed));
        agrees_with_reference(&p, None, seed ^ 0x51)?;
    }
}

/// A baseline: binary, or fixed point or multiply-accumulate of `bits`
/// bits, with weight ports or constant weights from a seed.
fn baseline(block: Block, len: usize, bits: u32, seed: Option<u64>) -> DesignParams {
    let r = if block == Block::Binary { Request::of(block, len) } else { Request::multibit(block, bits, len) };
    match seed {
        Some(seed) => r.const_weights(seed),
        None => Request { weights: Some(WeightsMode::Port), ..r },
    }
    .params()
}

#[test]
fn baseline_output_ranges_are_exact() {
    for block in [Block::Binary, Block::FixedPoint, Block::Mac] {
        for (len, bits) in [(1, 1), (2, 2), (1, 3), (2, 3)] {
            for konst in [false, true] {
                for seed in 0..3 {
                    let p = baseline(block, len, bits, konst.then_some(seed));
                    assert_eq!(exhaustive_range(&p), output_range(&p), "{p:?}");
                }
            }
        }
    }
}

#[test]
fn hand_computed_baselines() {
    let v = |s: &str, n: usize| BitVec::from_hex(s, n).unwrap();
    let p = Request::multibit(Block::FixedPoint, 2, 2).params();
    // a = (3, -1): bits 11, 10 -> 0b1011; w = (-3, 1): bits 00, 01 -> 0b0100. 3*-3 + -1*1 = -10.
    assert_eq!(Golden::new(&p).eval(&[v("0xb", 4), v("0x4", 4)]), -10);
    let p = Request::multibit(Block::Mac, 4, 2).params();
    // a = (7, -8) -> 0x87; w = (-1, -8) -> 0x8f. -7 + 64 = 57.
    assert_eq!(Golden::new(&p).eval(&[v("0x87", 8), v("0x8f", 8)]), 57);
}

#[test]
fn pa_output_ranges_are_exact() {
    let phis: [&[f64]; 3] = [&[0.5, -1.0, 0.25, 1.5, -0.75, 2.0], &[-1.0, -0.5, -0.25, -2.0, -1.5, -0.125], &[1.0; 6]];
    for phi in phis {
        for (nb, endpoints) in [(1, &[-1][..]), (2, &[-2, 1]), (3, &[-1, 0, 1]), (3, &[-2, -1, 0])] {
            for konst in [false, true] {
                for seed in 0..3 {
                    let p = pa_design((2, nb, 2, 2), phi, Some(endpoints), konst, seed);
                    assert_eq!(exhaustive_range(&p), output_range(&p), "{p:?}");
                }
            }
        }
    }
}

#[test]
fn hand_computed_pa() {
    // M = 1, N = 2, endpoints -1 and 1, 3-bit activations, phi = (1.0, -0.5), F = 6.
    let p = pa_design((1, 2, 4, 3), &[1.0, -0.5], Some(&[-1, 1]), false, 0);
    assert_eq!(p.phi, vec![vec![64, -32]]);
    // Elements: -4 (no base), -1 (base 0), 0 (base 0), 3 (base 1); all weights 1.
    let act = BitVec::from_fn(12, |b| {
        let v: [i64; 4] = [-4, -1, 0, 3];
        (v[b / 3] >> (b % 3)) & 1 == 1
    });
    let inputs = [act, BitVec::ones(4)];
    assert_eq!(Golden::new(&p).eval(&inputs), 64 + 64 - 32);
}

#[test]
fn hand_computed_group_net() {
    // Two lanes of 4 elements, lambdas 0.5 and -0.25 (F = 2: 2 and -1).
    let p = design(Block::GroupNet, 4, 2, &[0.5, -0.25], Opts { frac: 2, shared: false, konst: false, seed: 0 });
    assert_eq!(p.lambdas, vec![2, -1]);
    let v = |s: &str| BitVec::from_hex(s, 4).unwrap();
    // lane 0: a=1010 w=1010 -> all agree -> +4; lane 1: a=1111 w=0000 -> -4.
    let inputs = [v("0xa"), v("0xf"), v("0xa"), v("0x0")];
    assert_eq!(Golden::new(&p).eval(&inputs), 2 * 4 + 4);
}

/// A Group-Net layer element by element from the definition: +1/-1 products
/// over the window, times each base's scale. Independent of the packing.
fn layer_reference(input: &BinaryMap, kernel: usize, lambdas: &[i64], weights: &[Vec<BitVec>]) -> Vec<i64> {
    let (h_out, w_out) = (input.height() - kernel + 1, input.width() - kernel + 1);
    let c_in = input.channels();
    let mut out = vec![];
    for bases in weights {
        for y in 0..h_out {
            for x in 0..w_out {
                let mut sum = 0;
                for (lambda, w) in lambdas.iter().zip(bases) {
                    let mut dot = 0;
                    for ky in 0..kernel {
                        for kx in 0..kernel {
                            for c in 0..c_in {
                                let agree = input.get(c, y + ky, x + kx) == w.get((ky * kernel + kx) * c_in + c);
                                dot += if agree { 1 } else { -1 };
                            }
                        }
                    }
                    sum += lambda * dot;
                }
                out.push(sum);
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100))]

    /// The packed layer equals the element-by-element reference and, pixel
    /// by pixel, the golden model of the Group-Net design of each output
    /// channel (shared input, its constant weights).
    #[test]
    fn groupnet_layer_equals_the_reference_and_the_per_pixel_golden(
        c_in in 1usize..140,
        kernel in 1usize..4,
        extra in (0usize..4, 0usize..4),
        k in 1usize..6,
        c_out in 1usize..4,
        lambdas in prop::collection::vec(-4.0f64..4.0, 6),
        seed in any::<u64>(),
    ) {
        let o = Opts { frac: 6, shared: true, konst: true, seed };
        let designs: Vec<DesignParams> = (0..c_out)
            .map(|ch| design(Block::GroupNet, c_in * kernel * kernel, k, &lambdas[..k], Opts { seed: seed ^ ch as u64, ..o }))
            .collect();
        let weights: Vec<Vec<BitVec>> =
            designs.iter().map(|p| (0..k).map(|i| p.const_weights(i).unwrap().clone()).collect()).collect();
        let fixed = designs[0].lambdas.clone();
        let input = BinaryMap::random(c_in, kernel + extra.0, kernel + extra.1, &mut SplitMix64::new(seed));
        let conv = GroupNetConv::new(c_in, kernel, fixed.clone(), &weights).unwrap();
        let out = groupnet_layer(&input, &conv).unwrap();
        prop_assert_eq!(&out, &layer_reference(&input, kernel, &fixed, &weights));
        let (h_out, w_out) = (extra.0 + 1, extra.1 + 1);
        for (ch, p) in designs.iter().enumerate() {
            let golden = Golden::new(p);
            for y in 0..h_out {
                for x in 0..w_out {
                    prop_assert_eq!(out[(ch * h_out + y) * w_out + x], golden.eval(&[input.patch(y, x, kernel)]));
                }
            }
        }
    }
}

#[test]
fn binary_map_packs_each_pixel_into_whole_words() {
    // 70 channels: two words per pixel, bit c of the pixel's first word is channel c.
    let map = BinaryMap::from_fn(70, 2, 3, |c, y, x| c == 69 || (c == y + x));
    assert!(map.get(69, 1, 2) && map.get(3, 1, 2) && !map.get(2, 1, 2));
    let patch = map.patch(0, 1, 2);
    assert_eq!(patch.len(), 4 * 70);
    // Window pixels (0,1) (0,2) (1,1) (1,2): channel y + x and channel 69 set in each.
    let set: Vec<usize> = (0..patch.len()).filter(|&e| patch.get(e)).collect();
    assert_eq!(set, vec![1, 69, 70 + 2, 70 + 69, 140 + 2, 140 + 69, 210 + 3, 210 + 69]);
}

#[test]
fn groupnet_layer_rejects_mismatched_shapes() {
    let w = vec![vec![BitVec::zeros(9 * 4)]];
    assert!(GroupNetConv::new(4, 3, vec![1, 2], &w).unwrap_err().contains("one per base needs 2"));
    assert!(GroupNetConv::new(5, 3, vec![1], &w).unwrap_err().contains("needs 45"));
    let conv = GroupNetConv::new(4, 3, vec![1], &w).unwrap();
    let mut rng = SplitMix64::new(3);
    assert!(groupnet_layer(&BinaryMap::random(5, 3, 3, &mut rng), &conv).unwrap_err().contains("5 channels"));
    assert!(groupnet_layer(&BinaryMap::random(4, 2, 3, &mut rng), &conv).unwrap_err().contains("smaller than"));
    // All weights -1 and all inputs +1: every product is -1.
    let ones = BinaryMap::from_fn(4, 3, 4, |_, _, _| true);
    assert_eq!(groupnet_layer(&ones, &conv).unwrap(), vec![-36, -36]);
}

/// SPEC section 2 rounds activation endpoints up: an activation between the
/// old (nearest) and the new (upward) rounding of an endpoint is below it,
/// in the hardware as in the reals. v = 0.28 with 4 fractional bits is 4.48:
/// to nearest 4, up 5; the activation 4 (0.25) is below 0.28.
#[test]
fn a_layer_files_endpoint_rounds_up_so_the_hardware_compares_as_the_reals() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("layer.json");
    let layer = r#"{"scheme": "pa", "weights": [1.0], "m": 1, "act_endpoints": [0.28], "betas": [1.0],
                    "act_bits": 8, "act_frac_bits": 4, "frac_bits": 8}"#;
    std::fs::write(&path, layer).unwrap();
    let p = Request::layer_file(&path).params();
    assert_eq!(p.endpoints, [5]);
    let golden = Golden::new(&p);
    for a in -128i64..=127 {
        let reaches = a as f64 / 16.0 >= 0.28;
        let y = golden.eval(&[BitVec::from_i64(8, a)]);
        // The one weight is in the one base, alpha = beta = 1: phi = 256.
        assert_eq!(y, if reaches { 256 } else { 0 }, "activation {a} ({})", a as f64 / 16.0);
    }
}
