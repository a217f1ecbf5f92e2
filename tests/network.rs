//! Networks (SPEC 7): the network file's errors, one line each naming the
//! layer and the field; and the golden network model against a slow
//! reference built layer by layer from SPEC 6 and 7 element by element.

use mbnn::model::network::{layer_maps, network_frame};
use mbnn::spec::network::{NetOutput, NetworkParams, Pixels, Stage, load_network, parse_network};
use mbnn::util::bits::{BitVec, SplitMix64};
use std::path::{Path, PathBuf};

mod support;
use support::reference::reference_pixel;

fn testbench(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testbench").join(name)
}

/// Every network file under `testbench/`.
fn network_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(testbench(""))
        .expect("testbench/ exists")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("net_") && n.ends_with(".json"))
        })
        .collect();
    files.sort();
    files
}

/// k x k max over each window, channel by channel, reading levels as numbers.
fn reference_pool(size: usize, (h, w): (usize, usize), channels: usize, bits: usize, map: &[BitVec]) -> Vec<BitVec> {
    let level = |q: usize, c: usize| -> u64 { (0..bits).map(|b| u64::from(map[q].get(c * bits + b)) << b).sum() };
    let mut out = vec![];
    for oy in 0..h / size {
        for ox in 0..w / size {
            let mut best = vec![0u64; channels];
            for dy in 0..size {
                for dx in 0..size {
                    let q = (oy * size + dy) * w + ox * size + dx;
                    for (c, b) in best.iter_mut().enumerate() {
                        *b = (*b).max(level(q, c));
                    }
                }
            }
            out.push(BitVec::from_fn(channels * bits, |bit| (best[bit / bits] >> (bit % bits)) & 1 == 1));
        }
    }
    out
}

/// The network's output by the slow references, layer after layer.
fn reference_network(p: &NetworkParams, image: &[BitVec]) -> Vec<BitVec> {
    let mut map = image.to_vec();
    for layer in &p.layers {
        map = match &layer.stage {
            Stage::Engine { params, .. } => {
                let (oh, ow) = (params.geometry.out_height(), params.geometry.out_width());
                (0..oh * ow).map(|i| reference_pixel(params, &map, (i / ow, i % ow))).collect()
            }
            Stage::Pool(pool) => {
                let shape = (pool.height, pool.width);
                reference_pool(pool.size, shape, pool.channels, pool.element_bits as usize, &map)
            }
        };
    }
    let NetOutput::Argmax(a) = &p.output else { return map };
    let Pixels::Sums { channels, bits, signed } = p.layers.last().unwrap().output.pixels else { panic!("sums") };
    let w = bits as usize;
    let sums: Vec<i64> = (0..channels).map(|o| BitVec::from_fn(w, |b| map[0].get(o * w + b)).to_i64(signed)).collect();
    // The first index of the largest, by a plain scan.
    let mut best = 0;
    for (o, &s) in sums.iter().enumerate() {
        if s > sums[best] {
            best = o;
        }
    }
    vec![BitVec::from_fn(a.index_bits() as usize, |b| (best >> b) & 1 == 1)]
}

#[test]
fn the_golden_network_equals_the_layer_by_layer_reference() {
    let files = network_files();
    assert!(files.len() >= 3, "testbench/ has the example networks: {files:?}");
    for path in files {
        let p = load_network(&path).unwrap_or_else(|e| panic!("{e}"));
        let mut rng = SplitMix64::new(7);
        let pixels = p.input.height * p.input.width;
        let mut images: Vec<Vec<BitVec>> =
            (0..6).map(|_| (0..pixels).map(|_| BitVec::random(p.in_pixel_bits(), &mut rng)).collect()).collect();
        images.push(vec![BitVec::ones(p.in_pixel_bits()); pixels]);
        let mut seen = std::collections::BTreeSet::new();
        for (i, image) in images.iter().enumerate() {
            let got = network_frame(&p, image);
            seen.insert(got[0].to_hex());
            assert_eq!(got.len(), 1, "{}: one beat per image", path.display());
            assert_eq!(got, reference_network(&p, image), "{} image {i}", path.display());
            // Every layer's map has the size and pixel width the chain says.
            for (layer, map) in p.layers.iter().zip(layer_maps(&p, image)) {
                assert_eq!(map.len(), layer.output.height * layer.output.width);
                assert!(map.iter().all(|q| q.len() == layer.output.pixels.bits()));
            }
        }
        // Random images give different answers: nothing is stuck.
        assert!(seen.len() >= 2, "{}: every image gives {seen:?}", path.display());
    }
}

/// The PA-Net M = 4, N = 5 CNV: the golden model equals the layer-by-layer
/// reference on random images, and its quantile thresholds make real
/// multi-level activations: every pa_conv before the last gives at least
/// five of its six levels 0..=5 on one image. Random weights leave class 0
/// ahead on most images (its sum's mean is the highest), not all.
#[test]
fn the_pa_net_cnv_agrees_with_the_reference_and_uses_its_levels() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let p = load_network(&root.join("examples/networks/cnv_pa_m4n5.json")).unwrap();
    let mut rng = SplitMix64::new(11);
    let pixels = p.input.height * p.input.width;
    let mut answers = std::collections::BTreeSet::new();
    for i in 0..4 {
        let image: Vec<BitVec> = (0..pixels).map(|_| BitVec::random(p.in_pixel_bits(), &mut rng)).collect();
        let got = network_frame(&p, &image);
        assert_eq!(got, reference_network(&p, &image), "image {i}");
        answers.insert(got[0].to_hex());
        for (l, (layer, map)) in p.layers.iter().zip(layer_maps(&p, &image)).enumerate() {
            let Pixels::Levels { channels, bits } = layer.output.pixels else { continue };
            let bits = bits as usize;
            let mut levels = std::collections::BTreeSet::new();
            for q in &map {
                for c in 0..channels {
                    levels.insert((0..bits).map(|b| u64::from(q.get(c * bits + b)) << b).sum::<u64>());
                }
            }
            assert!(levels.len() >= 5 && levels.iter().all(|&v| v <= 5), "layer {l}: levels {levels:?}");
        }
    }
    assert!(answers.len() >= 2, "every image gives {answers:?}");
}

/// The tiny network with one field of one layer replaced.
fn tiny_with(layer: usize, field: &str, value: serde_json::Value) -> String {
    let text = std::fs::read_to_string(testbench("net_tiny.json")).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["layers"][layer][field] = value;
    v.to_string()
}

fn error_of(text: &str) -> String {
    match parse_network(text, &testbench(""), "net") {
        Ok(_) => panic!("accepted: {text}"),
        Err(e) => e,
    }
}

#[test]
fn a_layer_file_may_place_its_weights() {
    use mbnn::spec::engine::WeightStorage;
    for (value, want) in [("logic", WeightStorage::Logic), ("block_ram", WeightStorage::BlockRam)] {
        let net = parse_network(&tiny_with(1, "weights_in", value.into()), &testbench(""), "net").unwrap();
        let Stage::Engine { params, .. } = &net.layers[1].stage else { panic!("layer 1 is an engine") };
        assert_eq!(params.weights_in, want);
    }
    let net = parse_network(&tiny_with(1, "seed", 2.into()), &testbench(""), "net").unwrap();
    let Stage::Engine { params, .. } = &net.layers[1].stage else { panic!("layer 1 is an engine") };
    assert_eq!(params.weights_in, WeightStorage::Auto);
}

/// A pa_conv's weights as piece indices: `auto` stores them where the
/// index is narrower than the M planes (M = 4: 3 bits, M = 2: 2 bits, no
/// saving), a file may ask for either form, and bases that share a weight
/// cannot be indices.
#[test]
fn a_pa_conv_layer_stores_piece_indices_where_they_are_narrower() {
    use mbnn::spec::engine::WeightForm;
    let layer0 = |text: &str| -> mbnn::spec::engine::EngineParams {
        let net = parse_network(text, &testbench(""), "net").unwrap();
        let Stage::Engine { params, .. } = &net.layers[0].stage else { panic!("layer 0 is an engine") };
        (**params).clone()
    };
    let m2 = layer0(&tiny_with(0, "seed", 1.into()));
    assert_eq!((m2.lanes(), m2.piece_index_bits(), m2.stores_piece_index()), (2, 2, false));
    assert!(layer0(&tiny_with(0, "weight_form", "piece_index".into())).stores_piece_index());
    let m4 = layer0(&tiny_with(0, "m", 4.into()));
    assert_eq!((m4.piece_index_bits(), m4.stores_piece_index(), m4.weight_roms()), (3, true, (1, 3)));
    let mut planes: serde_json::Value = serde_json::from_str(&tiny_with(0, "m", 4.into())).unwrap();
    planes["layers"][0]["weight_form"] = "planes".into();
    let p = layer0(&planes.to_string());
    assert_eq!((p.stores_piece_index(), p.weight_roms()), (false, (4, 1)));
    // Bits for M = 1..=8 bases and the zero piece.
    let bits: Vec<u32> = (1..=8)
        .map(|m| mbnn::spec::engine::EngineParams { weights: vec![vec![]; m], ..p.clone() }.piece_index_bits())
        .collect();
    assert_eq!(bits, [1, 2, 2, 3, 3, 3, 3, 4]);
    // Element 5 of output 0 in bases 1 and 3.
    let mut shared = p.clone();
    shared.weights[1][0].set(5, true);
    shared.weights[3][0].set(5, true);
    assert!(!shared.stores_piece_index(), "auto keeps overlapping bases as planes");
    shared.weight_form = WeightForm::PieceIndex;
    assert_eq!(
        shared.check_weight_form().unwrap_err(),
        "\"weight_form\" piece_index needs every weight in at most one base: output 0's element 5 is in bases 1 and 3"
    );
}

/// `"thresholds": N` places N thresholds per channel at the quantiles of
/// its sums: levels 0..=N, each channel's list ascending.
#[test]
fn a_threshold_count_gives_that_many_levels() {
    let text = r#"{"input": {"height": 6, "width": 6, "channels": 1, "bits": 4}, "layers": [
        {"kind": "pa_conv", "m": 4, "n": 2, "cout": 4, "kernel": 3, "padding": "valid", "thresholds": 5, "seed": 1},
        {"kind": "pa_conv", "m": 4, "n": 5, "endpoints": [1, 2, 3, 4, 5], "cout": 2, "kernel": 4, "padding": "valid"}]}"#;
    let net = parse_network(text, &testbench(""), "net").unwrap();
    let Stage::Engine { params, .. } = &net.layers[0].stage else { panic!("layer 0 is an engine") };
    let mbnn::spec::engine::Output::Threshold { thresholds, .. } = &params.output else { panic!("threshold output") };
    assert_eq!(thresholds.len(), 4);
    for list in thresholds {
        assert_eq!(list.len(), 5);
        assert!(list.windows(2).all(|w| w[0] < w[1]), "{list:?}");
    }
    assert!(matches!(net.layers[1].input.pixels, Pixels::Levels { bits: 3, .. }), "{:?}", net.layers[1].input);
    // A conv on the pixels (built on their bit-planes) takes a count too.
    let text = text.replace(r#""kind": "pa_conv", "m": 4, "n": 2,"#, r#""kind": "conv", "k": 2,"#);
    let net = parse_network(&text, &testbench(""), "net").unwrap();
    let Stage::Engine { params, .. } = &net.layers[0].stage else { panic!("layer 0 is an engine") };
    assert!(params.bitplanes);
    let mbnn::spec::engine::Output::Threshold { thresholds, .. } = &params.output else { panic!("threshold output") };
    assert!(thresholds.iter().all(|list| list.len() == 5 && list.windows(2).all(|w| w[0] < w[1])), "{thresholds:?}");
}

#[test]
fn bad_network_files_get_one_line_naming_the_layer_and_the_field() {
    use serde_json::json;
    let cases: Vec<(String, &str)> = vec![
        ("{".into(), "not valid JSON"),
        ("[]".into(), "must hold a JSON object"),
        (r#"{"layers": []}"#.into(), "\"input\" is missing"),
        (tiny_with(1, "cin", json!(5)), "layers[1] (conv): \"cin\" 5 does not chain: the layer before gives 8"),
        (tiny_with(1, "simd", json!(3)), "layers[1] (conv): \"simd\" 3 must divide \"cin\" 8"),
        (tiny_with(1, "pe", json!(0)), "layers[1] (conv): \"pe\" 0"),
        (tiny_with(1, "thresholds", json!([5, -2])), "layers[1] (conv): thresholds of channel 0 are out of order"),
        (tiny_with(1, "output", json!("sum")), "layers[2] (maxpool): reads the exact sums of layers[1]"),
        (tiny_with(1, "colour", json!(1)), "layers[1] (conv): \"colour\" is not a field of a conv layer"),
        (
            tiny_with(1, "weights_in", json!("fast")),
            "layers[1] (conv): \"weights_in\": \"fast\" is not a weight storage: auto, block_ram or logic",
        ),
        (tiny_with(1, "weights_in", json!(1)), "layers[1] (conv): \"weights_in\" must be a string, got 1"),
        (
            tiny_with(0, "weight_form", json!("dense")),
            "layers[0] (pa_conv): \"weight_form\" \"dense\" is not a weight form: auto, planes or piece_index",
        ),
        (tiny_with(1, "weight_form", json!("planes")), "layers[1] (conv): \"weight_form\" is not a field of a conv layer"),
        (tiny_with(0, "thresholds", json!(0)), "layers[0] (pa_conv): \"thresholds\" count 0"),
        (tiny_with(0, "thresholds", json!(256)), "layers[0] (pa_conv): \"thresholds\" count 256"),
        (tiny_with(2, "size", json!(9)), "layers[2] (maxpool): \"size\" must be an integer in 2..=8, got 9"),
        (tiny_with(2, "kind", json!("avgpool")), "layers[2] (avgpool): \"kind\" must be conv, pa_conv, dense or maxpool"),
        (tiny_with(3, "output", json!("threshold")), "layers[3] (dense): the last layer gives a binary map"),
        (
            r#"{"input": {"height": 4, "width": 4, "channels": 1, "bits": 4}, "layers": [{"kind": "conv", "output": "fusion"}]}"#
                .into(),
            "layers[0] (conv): \"output\" fusion needs binary inputs",
        ),
        (
            r#"{"input": {"height": 4, "width": 4, "channels": 1, "bits": 4}, "layers": [{"kind": "conv", "dilations": [1, 2], "cout": 2}, {"kind": "dense"}]}"#
                .into(),
            "layers[0] (conv): \"dilations\" [1, 2]: a conv on multi-bit pixels has one dilation for all lanes",
        ),
        (
            r#"{"input": {"height": 4, "width": 3, "channels": 1, "bits": 1}, "layers": [{"kind": "dense", "cout": 2}]}"#
                .into(),
            "layers[0] (dense): dense reads a square map, the layer before gives 4x3",
        ),
        (tiny_with(0, "act_bits", json!(8)), "layers[0] (pa_conv): \"act_bits\" does not chain"),
        (tiny_with(3, "kind", json!("conv")), "the last layer gives a 4x4 map"),
        (tiny_with(1, "weights_file", json!("missing.json")), "layers[1] (conv):"),
    ];
    for (text, want) in cases {
        let e = error_of(&text);
        assert!(e.contains(want), "error {e:?} should contain {want:?}");
        assert!(!e.contains('\n'), "one line: {e:?}");
    }
    // Layers in real numbers (inline "model"): the layer file's own errors, and its chaining.
    let models = |edit: &dyn Fn(&mut serde_json::Value)| {
        let text = std::fs::read_to_string(testbench("net_models.json")).unwrap();
        let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
        edit(&mut v);
        error_of(&v.to_string())
    };
    let cases: Vec<(String, &str)> = vec![
        (
            models(&|v| v["layers"][0]["model"]["lambdas"] = json!([0.5])),
            "layers[0] (conv): \"model\": \"lambdas\" must hold one real per lane (2), got 1",
        ),
        (
            models(&|v| v["layers"][0]["model"]["input_bits"] = json!(0)),
            "layers[0] (conv): \"model\": \"input_bits\" must be an integer in 1..=16, got 0",
        ),
        (
            models(&|v| v["layers"][0]["model"]["dilations"] = json!([1, 2])),
            "a first layer on pixels (\"input_bits\") has one dilation for all lanes",
        ),
        (
            models(&|v| {
                v["layers"][0]["model"].as_object_mut().unwrap().remove("input_bits");
            }),
            "layers[0] (conv): reads a 6x6 map of a binary map of 1 channels, the layer before gives a 6x6 map of 1 channels of unsigned 3-bit values",
        ),
        (
            models(&|v| v["layers"][1]["model"]["cin"] = json!(5)),
            "layers[1] (conv): \"model\": \"weights\"[0][0] must hold kernel*kernel*cin = 45 reals",
        ),
        (
            models(&|v| v["layers"][1]["kind"] = json!("pa_conv")),
            "layers[1] (pa_conv): a pa_conv layer's \"model\" has \"scheme\" \"groupnet_conv\": give the layer \"kind\" conv",
        ),
        (
            models(&|v| v["layers"][1]["model"] = json!(3)),
            "\"model\" must be a layer file's path or a layer object, got 3",
        ),
        (models(&|v| v["layers"][1]["model"] = json!({"scheme": "xnor"})), "\"model\" is not a layer with \"scheme\""),
        (
            models(&|v| v["layers"][1]["k"] = json!(2)),
            "layers[1] (conv): \"k\"/\"m\"/\"n\" cannot be combined with \"model\"",
        ),
        (
            models(&|v| v["layers"][4]["model"]["padding"] = json!("same")),
            "layers[4] (dense): a dense layer's \"model\" has a 3x3 \"kernel\" giving a 3x3 map: dense covers the whole 3x3 map",
        ),
    ];
    for (e, want) in cases {
        assert!(e.contains(want), "error {e:?} should contain {want:?}");
        assert!(!e.contains('\n'), "one line: {e:?}");
    }
    let mut v: serde_json::Value = serde_json::from_str(&tiny_with(0, "seed", json!(1))).unwrap();
    v["input"]["height"] = json!(0);
    assert!(error_of(&v.to_string()).contains("\"input\": \"height\" must be an integer in 1..=4096, got 0"));
}

/// A first `conv` on pixels is a `pa_conv` on their bit-planes whose last
/// base is all ones: that lane is a constant, with no ROM, and only it.
#[test]
fn only_a_lane_of_equal_weights_goes_without_a_rom() {
    let net = load_network(Path::new("examples/networks/cnv_groupnet_k2.json")).unwrap();
    let Stage::Engine { params, .. } = &net.layers[0].stage else { panic!("layer 0 is an engine") };
    let constant: Vec<Option<bool>> = (0..params.lanes()).map(|lane| params.constant_lane(lane)).collect();
    assert_eq!(constant, [None, None, Some(true)]);
    assert_eq!(params.weight_roms(), (2, 1));
    let mut zeros = (**params).clone();
    zeros.weights[0].iter_mut().for_each(|w| *w = BitVec::zeros(w.len()));
    assert_eq!(zeros.constant_lane(0), Some(false));
    // One weight of the lane of ones differs: it needs its ROM again.
    let mut almost = (**params).clone();
    almost.weights[2][5].set(7, false);
    assert_eq!((almost.constant_lane(2), almost.weight_roms()), (None, (3, 1)));
    assert!(net.engines().skip(1).all(|p| p.weight_roms() == (2, 1)), "no other layer has a constant lane");
}

/// A network whose golden model is off (its last layer's lambdas negated,
/// so the argmax picks other classes) fails under Verilator with its runs
/// two at a time: one line naming the run, the image, both classes, and
/// a trace.
#[test]
fn a_network_that_differs_from_its_golden_model_is_reported() {
    use mbnn::verify::testbench::{Checks, Effort};
    let mut rendered = mbnn::generator::render::render_network(load_network(&testbench("net_tiny.json")).unwrap());
    let last = rendered.params.layers.last_mut().unwrap();
    let Stage::Engine { params, .. } = &mut last.stage else { panic!("net_tiny ends in a dense layer") };
    params.lambdas.iter_mut().for_each(|l| *l = -*l);
    let work = tempfile::tempdir().unwrap();
    let checks = Checks { lint: false, iverilog: false, yosys: false, netlist: false, progress: false };
    let effort = Effort { random_cycles: 0, frames: 2, seed: 5, jobs: 2 };
    let dir = work.path().join("wrong");
    let v = mbnn::verify::network::verify_network(&rendered, &dir, checks, effort, "wrong");
    assert!(!v.passed, "{}", v.summary);
    assert_eq!(v.summary.lines().count(), 1, "{}", v.summary);
    for needle in ["MISMATCH", "  image ", "expected class ", ", actual class ", "  trace: "] {
        assert!(v.report.contains(needle), "report lacks {needle:?}:\n{}", v.report);
    }
    assert!(dir.join("net_tiny.vcd").exists(), "no trace:\n{}", v.report);
}
