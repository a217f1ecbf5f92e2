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

mod support;
use support::reference::{reference_pixel, reference_tap};

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

// ---------------------------------------------------------------------------
// Layer files (`--model`): a whole conv layer in real numbers

mod layer_files {
    use mbnn::generator::render::render_engine;
    use mbnn::model::engine::EngineGolden;
    use mbnn::model::layer::{decode_pixel, random_frame, render_conv_layer, report_frames};
    use mbnn::spec::conv_layer::ConvLayer;
    use mbnn::spec::engine::{EngineKind, EngineParams, Output};
    use mbnn::spec::engine_request::EngineRequest;
    use mbnn::util::bits::SplitMix64;
    use std::path::{Path, PathBuf};

    fn testbench(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("testbench").join(name)
    }

    fn request(kind: EngineKind, path: &Path) -> EngineRequest {
        EngineRequest { model: Some(path.to_path_buf()), ..EngineRequest::new(kind) }
    }

    /// The example files, and variants that reach the other folding cases:
    /// a zero gamma, the next layer's endpoints on a Group-Net layer, a
    /// valid padding with stride 2, unshared lanes.
    fn layer_files(dir: &Path) -> Vec<(EngineKind, PathBuf)> {
        let gn = testbench("layer_conv_groupnet.json");
        let pa = testbench("layer_conv_pa.json");
        let mut v = serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(&gn).unwrap()).unwrap();
        v["batch_norm"]["gamma"][2] = 0.0.into();
        v["next_endpoints"] = serde_json::json!([-0.4, 0.0, 0.35]);
        v["shared_input"] = false.into();
        let gn2 = dir.join("groupnet_levels.json");
        std::fs::write(&gn2, v.to_string()).unwrap();
        let mut v = serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(&pa).unwrap()).unwrap();
        v["batch_norm"]["gamma"][0] = 0.0.into();
        (v["padding"], v["stride"]) = ("valid".into(), 2.into());
        v.as_object_mut().unwrap().remove("next_endpoints");
        let pa2 = dir.join("pa_sign.json");
        std::fs::write(&pa2, v.to_string()).unwrap();
        vec![(EngineKind::Conv, gn), (EngineKind::PaConv, pa), (EngineKind::Conv, gn2), (EngineKind::PaConv, pa2)]
    }

    /// Over random frames, the engine's threshold levels against the float
    /// layer's batch norm and quantiser applied in f64 to the engine's own
    /// sum: equal wherever z is not within f64 rounding of an endpoint.
    /// Returns the outputs compared and those skipped as too close.
    fn levels_agree_with_the_float_layer(layer: &ConvLayer, p: &EngineParams, frames: usize) -> (usize, usize) {
        let Output::Threshold { .. } = &p.output else { panic!("{}: not a threshold output", p.top) };
        let sums = EngineParams { output: Output::Sum, ..p.clone() };
        let (golden, golden_sums) = (EngineGolden::new(p), EngineGolden::new(&sums));
        let endpoints = layer.output_endpoints().unwrap();
        let unit = f64::from(p.frac_bits).exp2().recip();
        let mut rng = SplitMix64::new(3);
        let (mut compared, mut skipped) = (0, 0);
        for _ in 0..frames {
            let frame = random_frame(layer, p, &mut rng);
            let levels = golden.frame(&frame.pixels);
            let ys = golden_sums.frame(&frame.pixels);
            for (pixel, y_pixel) in levels.iter().zip(&ys) {
                for (o, (&level, &y)) in decode_pixel(p, pixel).iter().zip(&decode_pixel(&sums, y_pixel)).enumerate() {
                    let y_real = y as f64 * unit;
                    let z = layer.batch_norm.as_ref().map_or(y_real, |bn| bn.apply(o, y_real));
                    if endpoints.iter().any(|v| (z - v).abs() < 1e-9 * (1.0 + v.abs())) {
                        skipped += 1;
                        continue;
                    }
                    let float_level = endpoints.iter().filter(|&&v| z >= v).count() as i64;
                    assert_eq!(level, float_level, "{}: channel {o}, y = {y}, z = {z}", p.top);
                    compared += 1;
                }
            }
        }
        (compared, skipped)
    }

    #[test]
    fn layer_files_decompose_render_and_fold_exactly() {
        let dir = tempfile::tempdir().unwrap();
        for (kind, path) in layer_files(dir.path()) {
            let (p, layer, d) = request(kind, &path).layer_params(&path).unwrap();
            assert_eq!(p, d.params, "the default folding is the decomposition's");
            let rendered = render_engine(p.clone(), 2);
            let names: Vec<&str> = rendered.files.iter().map(|(n, _)| n.as_str()).collect();
            assert!(names.contains(&format!("{}.v", p.top).as_str()), "{names:?}");
            let manifest: serde_json::Value =
                serde_json::from_str(&rendered.files.iter().find(|(n, _)| n.ends_with(".json")).unwrap().1).unwrap();
            assert_eq!(manifest["params"]["output"], "threshold");
            let (compared, skipped) = levels_agree_with_the_float_layer(&layer, &p, report_frames(&p));
            assert!(compared > 500 && skipped * 100 <= compared, "{}: {compared} compared, {skipped} skipped", p.top);
        }
    }

    #[test]
    fn folding_and_name_come_from_the_flags() {
        let path = testbench("layer_conv_pa.json");
        let r = EngineRequest { pe: Some(2), simd: Some(9), ..request(EngineKind::PaConv, &path) };
        let p = r.to_params().unwrap();
        assert_eq!((p.folding.pe, p.folding.simd, p.ii()), (2, 9, 6));
        assert_eq!(p.top, "pa_conv_m4_n4_6x6x3_c4_k3_pe2_simd9_threshold_model");
        let named = EngineRequest { top: Some("layer1".into()), ..r.clone() };
        assert_eq!(named.to_params().unwrap().top, "layer1");
        let clash = EngineRequest { cout: Some(8), ..r };
        let e = clash.to_params().unwrap_err();
        assert!(e.starts_with("--cin/--cout cannot be combined with --model: the layer file"), "{e}");
        let wrong = request(EngineKind::Conv, &path).to_params().unwrap_err();
        assert!(wrong.ends_with("\"scheme\" must be \"groupnet_conv\" for --block conv, got \"pa_conv\""), "{wrong}");
    }

    #[test]
    fn the_manifest_reports_what_the_rounding_costs() {
        let dir = tempfile::tempdir().unwrap();
        for (kind, path) in layer_files(dir.path()) {
            let rendered = render_conv_layer(&request(kind, &path), 2).unwrap();
            let text = &rendered.files.iter().find(|(n, _)| n.ends_with(".json")).unwrap().1;
            let manifest: serde_json::Value = serde_json::from_str(text).unwrap();
            let d = &manifest["decomposition"];
            assert_eq!(d["layer_file"], path.display().to_string());
            assert_eq!(d["error"]["levels"]["differ_vs_own_sum"], 0, "{}", d["error"]);
            let g = &rendered.params.geometry;
            let per_frame = (g.out_height() * g.out_width() * g.cout) as u64;
            assert_eq!(d["error"]["outputs"].as_u64().unwrap(), d["error"]["frames"].as_u64().unwrap() * per_frame);
            let real = d["error"]["sums_vs_real_coefficients"]["relative_rms"].as_f64().unwrap();
            assert!(real < 0.01, "{}: fixed point alone costs {real}", path.display());
            let summary = rendered.decomposition_summary.unwrap();
            assert!(summary.contains("output levels differ from the float layer's"), "{summary}");
            assert_eq!(summary.lines().count(), 4, "{summary}");
        }
    }

    #[test]
    fn fusion_thetas_give_fusion_bits_that_agree_with_the_float_gate() {
        let dir = tempfile::tempdir().unwrap();
        let mut v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(testbench("layer_conv_groupnet.json")).unwrap()).unwrap();
        v.as_object_mut().unwrap().remove("batch_norm");
        v["fusion_thetas"] = serde_json::json!([0.5, -1.0]);
        let path = dir.path().join("fusion.json");
        std::fs::write(&path, v.to_string()).unwrap();
        let rendered = render_conv_layer(&request(EngineKind::Conv, &path), 1).unwrap();
        assert_eq!(rendered.params.output.name(), "fusion");
        let manifest: serde_json::Value =
            serde_json::from_str(&rendered.files.iter().find(|(n, _)| n.ends_with(".json")).unwrap().1).unwrap();
        let error = &manifest["decomposition"]["error"];
        assert_eq!(error["levels"]["differ_vs_own_sum"], 0, "{error}");
        assert!(error["levels"]["differ_vs_real_coefficients"].as_f64().unwrap() < 0.01, "{error}");
        assert_eq!(manifest["decomposition"]["details"]["fusion_reals"].as_array().unwrap().len(), 2);
    }
}
