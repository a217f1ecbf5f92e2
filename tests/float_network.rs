//! The float network (`model::network::float_sums`: the layer files' real
//! numbers on the decomposed bases) against a slow reference that reads
//! the network file's JSON itself and follows SPEC 1, 6 and 7 element by
//! element in f64: signs of the real weights times +1/-1 inputs or pixel
//! values, real lambdas, the fusion gate from its thetas, PA-Net's pieces
//! cut at multiples of the layer's std, batch norm and the endpoints.
//! Also: the trained digits networks give, image for image, the classes
//! that `examples/digits/train.py` computed for them in numpy.

use mbnn::model::network::{argmax, float_sums, network_frame};
use mbnn::spec::images::load_images;
use mbnn::spec::network::load_network;
use mbnn::util::bits::{BitVec, SplitMix64};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A map: [y][x][c] values (levels, +1/-1 as 1/0 bits, or per-lane bits).
type Map = Vec<Vec<Vec<f64>>>;

fn reals(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

fn int(v: &Value, name: &str, default: usize) -> usize {
    v.get(name).and_then(Value::as_u64).map_or(default, |x| x as usize)
}

/// The input pixel a tap reads (SPEC 6.3), or None outside the map.
fn tap(
    l: &Value,
    (h, w): (usize, usize),
    (oy, ox): (usize, usize),
    (ky, kx): (usize, usize),
    d: usize,
) -> Option<(usize, usize)> {
    let k = int(l, "kernel", 3) as i64;
    let s = int(l, "stride", 1) as i64;
    let (row, col) = if l.get("padding").and_then(Value::as_str) == Some("valid") {
        (oy as i64 * s + ky as i64 * d as i64, ox as i64 * s + kx as i64 * d as i64)
    } else {
        let c = (k - 1) / 2;
        (oy as i64 * s + (ky as i64 - c) * d as i64, ox as i64 * s + (kx as i64 - c) * d as i64)
    };
    (row >= 0 && col >= 0 && (row as usize) < h && (col as usize) < w).then_some((row as usize, col as usize))
}

fn out_side(l: &Value, side: usize, d: usize) -> usize {
    let (k, s) = (int(l, "kernel", 3), int(l, "stride", 1));
    if l.get("padding").and_then(Value::as_str) == Some("valid") {
        (side - (k - 1) * d - 1) / s + 1
    } else {
        side.div_ceil(s)
    }
}

/// gamma (y - mean) / sqrt(var + eps) + beta, then #{v_j <= z}.
fn level(l: &Value, o: usize, y: f64) -> f64 {
    let z = match l.get("batch_norm") {
        Some(bn) => {
            let g = |n: &str| reals(&bn[n])[o];
            let eps = bn.get("eps").and_then(Value::as_f64).unwrap_or(1e-5);
            g("gamma") * (y - g("mean")) / (g("var") + eps).sqrt() + g("beta")
        }
        None => y,
    };
    let v = l.get("next_endpoints").map_or(vec![0.0], reals);
    v.iter().filter(|&&e| z >= e).count() as f64
}

/// Group-Net: lane i reads channel block i of the input map when its
/// input is not shared; x is +1/-1 for bits, the value for pixels.
fn groupnet(l: &Value, input: &Map, last: bool) -> (Map, Option<Vec<f64>>) {
    let (h, w) = (input.len(), input[0].len());
    let lanes = l["weights"].as_array().unwrap();
    let lambdas = reals(&l["lambdas"]);
    let dil = reals(&l["dilations"]);
    let cin = int(l, "cin", 0);
    let cout = int(l, "cout", 0);
    let k = int(l, "kernel", 3);
    let pixels = l.get("input_bits").is_some();
    let shared = l.get("shared_input").and_then(Value::as_bool).unwrap_or(true);
    let (oh, ow) = (out_side(l, h, dil[0] as usize), out_side(l, w, dil[0] as usize));
    let mut out = vec![vec![vec![]; ow]; oh];
    for (oy, row) in out.iter_mut().enumerate() {
        for (ox, px) in row.iter_mut().enumerate() {
            // dot[i][o]
            let mut dots = vec![vec![0.0; cout]; lanes.len()];
            for (i, lane) in lanes.iter().enumerate() {
                for (o, dot) in dots[i].iter_mut().enumerate() {
                    let wts = reals(&lane[o]);
                    for ky in 0..k {
                        for kx in 0..k {
                            let Some((r, c)) = tap(l, (h, w), (oy, ox), (ky, kx), dil[i] as usize) else { continue };
                            for ch in 0..cin {
                                let raw = input[r][c][if shared { ch } else { i * cin + ch }];
                                let x = if pixels {
                                    raw
                                } else if raw > 0.5 {
                                    1.0
                                } else {
                                    -1.0
                                };
                                let s = if wts[(ky * k + kx) * cin + ch] >= 0.0 { 1.0 } else { -1.0 };
                                *dot += s * x;
                            }
                        }
                    }
                }
            }
            let y: Vec<f64> = (0..cout).map(|o| (0..lanes.len()).map(|i| lambdas[i] * dots[i][o]).sum()).collect();
            if last {
                return (vec![], Some(y));
            }
            *px = match l.get("fusion_thetas") {
                Some(t) => {
                    let thetas = reals(t);
                    let mut bits = vec![];
                    for (i, theta) in thetas.iter().enumerate() {
                        let c = 1.0 / (1.0 + (-theta).exp());
                        // lane i's bit o: sum_j F[i][j] dot_j(o) >= 0, F[i][j] = C_i [i = j] + (1 - C_i) lambda_j
                        let f = |j: usize| if i == j { c } else { 0.0 } + (1.0 - c) * lambdas[j];
                        let fused = (0..cout).map(|o| dots.iter().enumerate().map(|(j, d)| f(j) * d[o]).sum::<f64>());
                        bits.extend(fused.map(|s| if s >= 0.0 { 1.0 } else { 0.0 }));
                    }
                    bits
                }
                None => (0..cout).map(|o| level(l, o, y[o])).collect(),
            };
        }
    }
    (out, None)
}

/// PA-Net: the whole layer's weights cut at multiples of their population
/// std (SPEC 1, [`mbnn::spec::pa`]'s grid), alpha the mean of each piece;
/// activations to beta_j by the endpoints.
fn pa(l: &Value, input: &Map, last: bool) -> (Map, Option<Vec<f64>>) {
    let (h, w) = (input.len(), input[0].len());
    let weights: Vec<Vec<f64>> = l["weights"].as_array().unwrap().iter().map(reals).collect();
    let all: Vec<f64> = weights.iter().flatten().copied().collect();
    let n = all.len() as f64;
    let mean = all.iter().sum::<f64>() / n;
    let std = (all.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
    let m = int(l, "m", 8);
    let side = |c: usize| -> Vec<f64> {
        let s = 2.0 / c as f64;
        (0..c).map(|i| if i == 0 { s / 2.0 } else { i as f64 * s }).collect()
    };
    let below = m / 2;
    let mut u: Vec<f64> = side(below).iter().rev().map(|x| -x * std).collect();
    u.extend(side(m - below).iter().map(|x| x * std));
    let piece = |x: f64| -> Option<usize> {
        if x == 0.0 {
            return None;
        }
        if let Some(i) = (0..below).find(|&i| x <= u[i]) {
            return Some(i);
        }
        (below..m).rev().find(|&i| x >= u[i])
    };
    let mut sums = vec![0.0; m];
    let mut counts = vec![0.0; m];
    for &x in &all {
        if let Some(i) = piece(x) {
            sums[i] += x;
            counts[i] += 1.0;
        }
    }
    let alpha: Vec<f64> = (0..m).map(|i| if counts[i] > 0.0 { sums[i] / counts[i] } else { 0.0 }).collect();
    let q = |x: f64| piece(x).map_or(0.0, |i| alpha[i]);
    let v = reals(&l["act_endpoints"]);
    let betas = reals(&l["betas"]);
    let unit = 0.5f64.powi(int(l, "act_frac_bits", 4) as i32);
    let act = |a: f64| -> f64 {
        let a = a * unit;
        match v.iter().filter(|&&e| a >= e).count() {
            0 => 0.0,
            j => betas[j - 1],
        }
    };
    let (cin, cout, k) = (int(l, "cin", 0), int(l, "cout", 0), int(l, "kernel", 3));
    let d = reals(&l["dilations"])[0] as usize;
    let (oh, ow) = (out_side(l, h, d), out_side(l, w, d));
    let mut out = vec![vec![vec![]; ow]; oh];
    for (oy, row) in out.iter_mut().enumerate() {
        for (ox, px) in row.iter_mut().enumerate() {
            let mut y = vec![0.0; cout];
            for (o, yo) in y.iter_mut().enumerate() {
                for ky in 0..k {
                    for kx in 0..k {
                        let Some((r, c)) = tap(l, (h, w), (oy, ox), (ky, kx), d) else { continue };
                        for ch in 0..cin {
                            *yo += q(weights[o][(ky * k + kx) * cin + ch]) * act(input[r][c][ch]);
                        }
                    }
                }
            }
            if last {
                return (vec![], Some(y));
            }
            *px = (0..cout).map(|o| level(l, o, y[o])).collect();
        }
    }
    (out, None)
}

fn pool(size: usize, input: &Map) -> Map {
    let (h, w) = (input.len() / size, input[0].len() / size);
    (0..h)
        .map(|oy| {
            (0..w)
                .map(|ox| {
                    (0..input[0][0].len())
                        .map(|c| {
                            let cells = (0..size * size).map(|t| input[oy * size + t / size][ox * size + t % size][c]);
                            cells.fold(f64::MIN, f64::max)
                        })
                        .collect()
                })
                .collect()
        })
        .collect()
}

/// The float network's last sums by the slow reference, from the file's JSON.
fn reference_sums(file: &Path, image: &[u64]) -> Vec<f64> {
    let net: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    let (h, w, c) =
        (int(&net["input"], "height", 0), int(&net["input"], "width", 0), int(&net["input"], "channels", 0));
    let mut map: Map = (0..h)
        .map(|y| (0..w).map(|x| (0..c).map(|ch| image[(y * w + x) * c + ch] as f64).collect()).collect())
        .collect();
    let layers = net["layers"].as_array().unwrap();
    for (i, layer) in layers.iter().enumerate() {
        let last = i + 1 == layers.len();
        if layer["kind"] == "maxpool" {
            map = pool(int(layer, "size", 2), &map);
            continue;
        }
        let l = &layer["model"];
        let (next, sums) = if l["scheme"] == "pa_conv" { pa(l, &map, last) } else { groupnet(l, &map, last) };
        if let Some(s) = sums {
            return s;
        }
        map = next;
    }
    panic!("the network ends in sums")
}

/// Networks whose engine layers are all inline layer files.
fn model_networks() -> Vec<PathBuf> {
    let mut v = vec![root().join("testbench/net_models.json")];
    for name in ["groupnet_k3.json", "binary.json", "panet_m4n5.json"] {
        v.push(root().join("examples/digits").join(name));
    }
    v
}

#[test]
fn the_float_network_equals_the_slow_reference_on_random_images() {
    for file in model_networks() {
        let p = load_network(&file).unwrap_or_else(|e| panic!("{e}"));
        let mbnn::spec::network::Pixels::Levels { channels, bits } = p.input.pixels else { panic!() };
        let mut rng = SplitMix64::new(11);
        let mut classes = std::collections::BTreeSet::new();
        for _ in 0..12 {
            let values: Vec<u64> =
                (0..p.input.height * p.input.width * channels).map(|_| rng.below(1 << bits)).collect();
            let b = bits as usize;
            let image: Vec<BitVec> = values
                .chunks(channels)
                .map(|px| BitVec::from_fn(channels * b, |bit| (px[bit / b] >> (bit % b)) & 1 == 1))
                .collect();
            let got = float_sums(&p, &image).expect("every layer has a layer file");
            let want = reference_sums(&file, &values);
            assert_eq!(got.len(), want.len());
            for (g, r) in got.iter().zip(&want) {
                assert!((g - r).abs() <= 1e-9 * (1.0 + r.abs()), "{}: {got:?} against {want:?}", file.display());
            }
            classes.insert(argmax(&got));
        }
        assert!(classes.len() > 1, "{}: random images all give class {classes:?}", file.display());
    }
}

#[test]
fn the_digits_networks_give_the_classes_train_py_computed() {
    let dir = root().join("examples/digits");
    let training: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("training.json")).unwrap()).unwrap();
    for (name, key) in
        [("groupnet_k3.json", "groupnet_k3"), ("binary.json", "binary"), ("panet_m4n5.json", "panet_m4n5")]
    {
        let p = load_network(&dir.join(name)).unwrap_or_else(|e| panic!("{e}"));
        let set = load_images(&dir.join("test_images.json"), p.input).unwrap();
        let want: Vec<usize> = training["networks"][key]["predictions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap() as usize)
            .collect();
        let got: Vec<usize> = set.images.iter().map(|im| argmax(&float_sums(&p, im).unwrap())).collect();
        let differ: Vec<usize> = (0..got.len()).filter(|&i| got[i] != want[i]).collect();
        assert!(differ.is_empty(), "{name}: the float network differs from train.py's on images {differ:?}");
        // And the golden model (rounded constants) stays close to it.
        let golden = set
            .images
            .iter()
            .filter(|im| network_frame(&p, im)[0].to_i64(false) as usize != argmax(&float_sums(&p, im).unwrap()))
            .count();
        assert!(golden * 50 <= set.images.len(), "{name}: rounding changed {golden} of {} answers", set.images.len());
    }
}
