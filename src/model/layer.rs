//! A conv layer file (`spec::conv_layer`) against the engine made from it,
//! over seeded random frames: the engine's exact output from the golden
//! model, the same decomposition with the real scales, and the float layer
//! (the real weights and inputs through SPEC 6.3's taps, batch norm and the
//! next quantiser in f64). What the rounding costs, for the manifest and
//! for people.
//!
//! It lives here, not beside the layer files in `spec`, because the
//! hardware's result is the golden model's, a stage above `spec` and
//! `generator`; for the same reason the engine is rendered with its report
//! here ([`render_conv_layer`]).

use crate::generator::render::{RenderedEngine, render_engine_with};
use crate::model::engine::EngineGolden;
use crate::spec::conv_layer::{ConvDecomposition, ConvLayer, ConvScheme};
use crate::spec::engine::{EngineKind, EngineParams, Output};
use crate::spec::engine_request::EngineRequest;
use crate::spec::layer::{ErrorAccumulator, ErrorStats, significant};
use crate::util::bits::{BitVec, SplitMix64};
use serde::Serialize;

/// The report's seed, and the output pixels it wants at least (in whole
/// frames, at most [`MAX_FRAMES`]).
pub const REPORT_SEED: u64 = 1;
const REPORT_PIXELS: usize = 1000;
const MAX_FRAMES: usize = 100;

/// One random input frame: the pixels as the engine reads them, and each
/// pixel's input elements as reals (lane i's channel c at `i*cin + c`
/// without a shared input; +1/-1 for `conv`, the activation's value for
/// `pa_conv`).
pub struct Frame {
    pub pixels: Vec<BitVec>,
    pub reals: Vec<Vec<f64>>,
}

/// A frame of uniformly random inputs: random bits for `conv`, activations
/// uniform over the B-bit range for `pa_conv`.
pub fn random_frame(layer: &ConvLayer, p: &EngineParams, rng: &mut SplitMix64) -> Frame {
    let g = &p.geometry;
    let count = g.height * g.width;
    match &layer.scheme {
        ConvScheme::GroupNet { .. } => {
            let pixels: Vec<BitVec> = (0..count).map(|_| BitVec::random(p.in_pixel_bits(), rng)).collect();
            let reals = pixels.iter().map(|px| (0..px.len()).map(|b| if px.get(b) { 1.0 } else { -1.0 }).collect());
            Frame { reals: reals.collect(), pixels }
        }
        ConvScheme::Pa { act, .. } => {
            let (lo, hi) = act.range();
            let unit = f64::from(act.frac_bits).exp2().recip();
            let b = act.bits as usize;
            let mut frame = Frame { pixels: vec![], reals: vec![] };
            for _ in 0..count {
                let acts: Vec<i64> = (0..g.cin).map(|_| lo + rng.below((hi - lo + 1) as u64) as i64).collect();
                frame.pixels.push(BitVec::from_fn(g.cin * b, |bit| (acts[bit / b] >> (bit % b)) & 1 == 1));
                frame.reals.push(acts.iter().map(|&a| a as f64 * unit).collect());
            }
            frame
        }
    }
}

/// The real weights per lane (one lane for `pa_conv`): [lane][o][e].
fn real_weights(layer: &ConvLayer) -> Vec<&Vec<Vec<f64>>> {
    match &layer.scheme {
        ConvScheme::GroupNet { weights, .. } => weights.iter().collect(),
        ConvScheme::Pa { weights, .. } => vec![weights],
    }
}

/// The float layer's per-lane dot products at output pixel `at`:
/// `sum over inside taps and channels of W[lane][o][e] * x[e]`, [lane][o].
pub fn real_dots(layer: &ConvLayer, p: &EngineParams, frame: &Frame, at: (usize, usize)) -> Vec<Vec<f64>> {
    let g = &p.geometry;
    let k = g.kernel;
    real_weights(layer)
        .iter()
        .enumerate()
        .map(|(lane, weights)| {
            let base = if p.kind == EngineKind::Conv && !p.shared_input { lane * g.cin } else { 0 };
            let mut dots = vec![0.0; g.cout];
            for t in 0..k * k {
                let Some((row, col)) = g.tap(at, (t / k, t % k), g.dilations[lane]) else { continue };
                let x = &frame.reals[row * g.width + col][base..base + g.cin];
                for (o, dot) in dots.iter_mut().enumerate() {
                    *dot += weights[o][t * g.cin..(t + 1) * g.cin].iter().zip(x).map(|(w, x)| w * x).sum::<f64>();
                }
            }
            dots
        })
        .collect()
}

/// `sum_j c[i][j] * dots[j][o]` per output element (i, o): the lanes mixed
/// by the rows of `c` (one row of lambdas for the sum, F for fusion).
fn mix(c: &[Vec<f64>], dots: &[Vec<f64>]) -> Vec<f64> {
    let cout = dots[0].len();
    c.iter().flat_map(|row| (0..cout).map(move |o| row.iter().zip(dots).map(|(c, d)| c * d[o]).sum())).collect()
}

/// One output pixel's elements (cout, or K*cout for fusion) three ways.
struct PixelValues {
    /// The engine's exact sums (fused sums for fusion), times 2^-frac_bits.
    hardware: Vec<f64>,
    real_coefficients: Vec<f64>,
    full_precision: Vec<f64>,
}

fn pixel_values(
    layer: &ConvLayer,
    d: &ConvDecomposition,
    p: &EngineParams,
    frame: &Frame,
    at: (usize, usize),
) -> PixelValues {
    let golden = EngineGolden::new(p);
    let unit = f64::from(p.frac_bits).exp2().recip();
    let full = real_dots(layer, p, frame, at);
    match p.kind {
        EngineKind::Conv => {
            // Exact: every dot is an integer far below 2^53.
            let dots: Vec<Vec<f64>> =
                golden.dots(&frame.pixels, at).iter().map(|lane| lane.iter().map(|&d| d as f64).collect()).collect();
            let (ints, reals): (Vec<Vec<f64>>, Vec<Vec<f64>>) = match (&p.output, &d.fusion_reals) {
                (Output::Fusion { fusion, .. }, Some(reals)) => {
                    (fusion.iter().map(|r| r.iter().map(|&f| f as f64 * unit).collect()).collect(), reals.clone())
                }
                _ => (vec![p.lambdas.iter().map(|&l| l as f64 * unit).collect()], vec![p.lambda_reals.clone()]),
            };
            PixelValues {
                hardware: mix(&ints, &dots),
                real_coefficients: mix(&reals, &dots),
                full_precision: mix(&reals, &full),
            }
        }
        EngineKind::PaConv => {
            let counts = golden.pa_counts(&frame.pixels, at);
            let real = |o: usize| -> f64 {
                let c = &counts[o];
                (0..c.len())
                    .flat_map(|i| (0..c[i].len()).map(move |j| (i, j)))
                    .map(|(i, j)| p.phi_reals[i][j] * c[i][j] as f64)
                    .sum()
            };
            PixelValues {
                hardware: golden.pa_sums(&frame.pixels, at).iter().map(|&y| y as f64 * unit).collect(),
                real_coefficients: (0..p.geometry.cout).map(real).collect(),
                full_precision: full[0].clone(),
            }
        }
    }
}

/// The output elements of one pixel of the golden model's frame: sums
/// (two's complement where they can be negative), levels or fusion bits.
pub fn decode_pixel(p: &EngineParams, pixel: &BitVec) -> Vec<i64> {
    let w = p.out_element_bits();
    let signed = matches!(p.output, Output::Sum) && p.sum_signed();
    (0..pixel.len() / w).map(|e| BitVec::from_fn(w, |b| pixel.get(e * w + b)).to_i64(signed)).collect()
}

/// How often output levels differ.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LevelAgreement {
    /// The share of outputs whose level (fusion: bit) differs from the
    /// float output stage applied to the same bases with the real scales.
    pub differ_vs_real_coefficients: f64,
    /// The same against the float layer: the whole decomposition's cost.
    pub differ_vs_full_precision: f64,
    /// Outputs whose level differs from the float output stage applied to
    /// the hardware's own sum: 0 when the folding is exact (but for a sum
    /// within f64 rounding of a threshold).
    pub differ_vs_own_sum: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ConvLayerReport {
    pub scheme: &'static str,
    pub output: &'static str,
    pub frames: usize,
    pub seed: u64,
    /// Output elements compared: frames x Ho x Wo x cout (x K for fusion).
    pub outputs: usize,
    /// The sums before the output stage (fusion: each lane's fused sum),
    /// the hardware's times 2^-frac_bits, against the same bases with the
    /// real scales (the cost of fixed point alone)...
    pub sums_vs_real_coefficients: ErrorStats,
    /// ... and against the float layer (the cost of the whole decomposition).
    pub sums_vs_full_precision: ErrorStats,
    /// Threshold and fusion outputs: the levels themselves.
    pub levels: Option<LevelAgreement>,
}

/// The float output stage of element `e` (channel `e % cout`, or lane and
/// channel for fusion) for the real value `v`; `None` for sum outputs.
fn float_level(layer: &ConvLayer, p: &EngineParams, e: usize, v: f64) -> Option<i64> {
    match &p.output {
        Output::Sum => None,
        Output::Threshold { .. } => Some(layer.real_level(e % p.geometry.cout, v) as i64),
        Output::Fusion { .. } => Some(i64::from(v >= 0.0)),
    }
}

#[derive(Default)]
struct Tally {
    real: ErrorAccumulator,
    full: ErrorAccumulator,
    outputs: usize,
    differ: [usize; 3],
}

impl Tally {
    fn add(&mut self, layer: &ConvLayer, p: &EngineParams, values: &PixelValues, levels: &[i64]) {
        for (e, &hw) in values.hardware.iter().enumerate() {
            let (real, full) = (values.real_coefficients[e], values.full_precision[e]);
            self.real.add(hw, real);
            self.full.add(hw, full);
            self.outputs += 1;
            for (count, reference) in self.differ.iter_mut().zip([real, full, hw]) {
                if float_level(layer, p, e, reference).is_some_and(|l| l != levels[e]) {
                    *count += 1;
                }
            }
        }
    }
}

/// Frames for the report: at least [`REPORT_PIXELS`] output pixels.
pub fn report_frames(p: &EngineParams) -> usize {
    let pixels = p.geometry.out_height() * p.geometry.out_width();
    REPORT_PIXELS.div_ceil(pixels).clamp(1, MAX_FRAMES)
}

/// The report over `frames` random frames from `seed`, for the engine `p`
/// made from `layer` (any folding).
pub fn conv_layer_report(
    layer: &ConvLayer,
    d: &ConvDecomposition,
    p: &EngineParams,
    frames: usize,
    seed: u64,
) -> ConvLayerReport {
    let golden = EngineGolden::new(p);
    let mut rng = SplitMix64::new(seed);
    let mut tally = Tally::default();
    let g = &p.geometry;
    for _ in 0..frames {
        let frame = random_frame(layer, p, &mut rng);
        let out = golden.frame(&frame.pixels);
        for (index, pixel) in out.iter().enumerate() {
            let at = (index / g.out_width(), index % g.out_width());
            tally.add(layer, p, &pixel_values(layer, d, p, &frame, at), &decode_pixel(p, pixel));
        }
    }
    let share = |n: usize| n as f64 / tally.outputs.max(1) as f64;
    let levels = (!matches!(p.output, Output::Sum)).then(|| LevelAgreement {
        differ_vs_real_coefficients: share(tally.differ[0]),
        differ_vs_full_precision: share(tally.differ[1]),
        differ_vs_own_sum: tally.differ[2],
    });
    ConvLayerReport {
        scheme: layer.scheme_name(),
        output: p.output.name(),
        frames,
        seed,
        outputs: tally.outputs,
        sums_vs_real_coefficients: tally.real.stats(),
        sums_vs_full_precision: tally.full.stats(),
        levels,
    }
}

impl ConvLayerReport {
    /// A few lines for people, as a unit layer's.
    pub fn summary(&self) -> String {
        let mut text = format!(
            "{} layer ({} output), {} random frames (seed {}), {} outputs, hardware sums against\n{}\n{}",
            self.scheme,
            self.output,
            self.frames,
            self.seed,
            self.outputs,
            ErrorStats::line("the real coefficients", &self.sums_vs_real_coefficients),
            ErrorStats::line("full precision", &self.sums_vs_full_precision)
        );
        if let Some(l) = &self.levels {
            text.push_str(&format!(
                "\n  output levels differ from the float layer's in {}% of outputs ({}% with the real coefficients; {} from the hardware's own sums)",
                significant(100.0 * l.differ_vs_full_precision),
                significant(100.0 * l.differ_vs_real_coefficients),
                l.differ_vs_own_sum
            ));
        }
        text
    }
}

/// An engine from the layer file of `request.model`, rendered with the
/// decomposition and its error report in the manifest (`decomposition`).
pub fn render_conv_layer(request: &EngineRequest, pipeline: u32) -> Result<RenderedEngine, String> {
    let path = request.model.as_ref().ok_or("render_conv_layer needs a request with a layer file (--model)")?;
    let (params, layer, d) = request.layer_params(path)?;
    if let ConvScheme::GroupNet { input_bits: Some(_), .. } = layer.scheme {
        return Err(format!(
            "{}: \"input_bits\" makes a network's first layer on pixels: give it as a layer of a network file (--network)",
            path.display()
        ));
    }
    let report = conv_layer_report(&layer, &d, &params, report_frames(&params), REPORT_SEED);
    let value = serde_json::json!({
        "layer_file": path.display().to_string(),
        "details": d.details_json(&layer),
        "error": report,
    });
    let mut rendered = render_engine_with(params, pipeline, Some(("decomposition", value)));
    rendered.decomposition_summary = Some(report.summary());
    Ok(rendered)
}
