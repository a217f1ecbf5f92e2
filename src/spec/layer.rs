//! Float-to-binary decompositions of one real-valued dot product (one output
//! of a conv layer) into the multi-base form the hardware computes (SPEC
//! sections 1 and 2), read from a layer file, and the error they make on
//! random inputs.
//!
//! - Group-Net: each of the K real weight lists becomes its sign bits (1 for
//!   w >= 0, i.e. +1); each lambda becomes a fixed-point integer.
//! - PA-Net: the n real weights are cut into M pieces by endpoints that are
//!   fixed multiples of their population standard deviation (see
//!   [`weight_endpoint_multiples`]); piece i gives the {0,1} base T_i and the
//!   scale alpha_i, the mean of its weights. The activation endpoints become
//!   integers of the B-bit activation format, rounded up (SPEC section 2:
//!   `a >= v` then holds for exactly the fixed-point activations `a` that
//!   reach the real endpoint), and phi_ij = alpha_i * beta_j becomes a
//!   fixed-point integer.
//!
//! Scales round to nearest, ties away from zero; endpoints round up; every
//! error is one line that names the field and the rule it breaks.

use crate::spec::pa::{act_piece, weight_endpoint_multiples, weight_piece};
use crate::util::bits::{BitVec, SplitMix64};
use crate::util::fixed;
use serde::Serialize;
use serde_json::{Map, Value};
use std::ops::RangeInclusive;
use std::path::Path;

// The generator's own limits (they mirror those in `params`).
const LEN_RANGE: RangeInclusive<u64> = 1..=65536;
const LANES_RANGE: RangeInclusive<u64> = 1..=64;
pub(crate) const BASES_RANGE: RangeInclusive<u64> = 1..=16;
pub(crate) const FRAC_BITS_RANGE: RangeInclusive<u64> = 0..=31;
pub(crate) const COEF_BITS_RANGE: RangeInclusive<u64> = 2..=32;
const ACT_BITS_RANGE: RangeInclusive<u64> = 2..=32;

pub const DEFAULT_FRAC_BITS: u32 = 8;
pub const DEFAULT_COEF_BITS: u32 = 16;
/// The paper's only fully specified weight endpoints are those for M = 8.
pub const DEFAULT_M: usize = 8;
pub const DEFAULT_ACT_BITS: u32 = 8;
pub const DEFAULT_ACT_FRAC_BITS: u32 = 4;

/// One Group-Net dot product with real numbers.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupNetLayer {
    /// K lists of n real weights, one per lane (branch).
    pub weights: Vec<Vec<f64>>,
    /// K real lane scales.
    pub lambdas: Vec<f64>,
    pub frac_bits: u32,
    pub coef_bits: u32,
}

/// One PA-Net dot product with real numbers.
#[derive(Clone, Debug, PartialEq)]
pub struct PaLayer {
    /// The n real weights.
    pub weights: Vec<f64>,
    /// Weight bases M.
    pub m: usize,
    /// Activation endpoints v_1 < ... < v_N, real.
    pub act_endpoints: Vec<f64>,
    /// Activation scales beta_1..beta_N, real.
    pub betas: Vec<f64>,
    /// Width B of a signed activation.
    pub act_bits: u32,
    /// Fractional bits of an activation: activation = integer * 2^-act_frac_bits.
    pub act_frac_bits: u32,
    pub frac_bits: u32,
    pub coef_bits: u32,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Layer {
    GroupNet(GroupNetLayer),
    Pa(PaLayer),
}

#[derive(Clone, Debug, PartialEq)]
pub struct GroupNetDecomposition {
    pub lambda_reals: Vec<f64>,
    /// Lambdas in fixed point: value = L * 2^-frac_bits.
    pub lambdas: Vec<i64>,
    /// Lane i's sign bits: bit k is 1 (+1) where weights[i][k] >= 0.
    pub weights: Vec<BitVec>,
    pub frac_bits: u32,
    pub coef_bits: u32,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PaDecomposition {
    /// Population standard deviation of the weights.
    pub std: f64,
    /// u_1 < ... < u_M: [`weight_endpoint_multiples`] times `std`.
    pub weight_endpoints: Vec<f64>,
    /// alpha_i: the mean of the weights in piece i; 0 for an empty piece.
    pub alphas: Vec<f64>,
    /// T_i: bit k is 1 where weight k is in piece i.
    pub bases: Vec<BitVec>,
    /// Weights in the zero piece, which are in no base.
    pub zero_piece_count: usize,
    /// v_1 < ... < v_N as integers of the activation format.
    pub act_endpoints: Vec<i64>,
    pub act_bits: u32,
    pub act_frac_bits: u32,
    /// phi_ij = alpha_i * beta_j before rounding.
    pub phi_reals: Vec<Vec<f64>>,
    /// phi_ij in fixed point: value = P * 2^-frac_bits.
    pub phi: Vec<Vec<i64>>,
    pub frac_bits: u32,
    pub coef_bits: u32,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Decomposition {
    GroupNet(GroupNetDecomposition),
    Pa(PaDecomposition),
}

/// Reads, checks and decomposes a layer file; every error starts with the path.
pub fn load_layer(path: &Path) -> Result<(Layer, Decomposition), String> {
    let shown = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| format!("{shown}: cannot read it: {e}"))?;
    let layer = Layer::parse(&text).map_err(|e| format!("{shown}: {e}"))?;
    let decomposition = layer.decompose().map_err(|e| format!("{shown}: {e}"))?;
    Ok((layer, decomposition))
}

// ---------------------------------------------------------------------------
// Layer files

const COMMON_FIELDS: [&str; 4] = ["frac_bits", "coef_bits", "scheme", "comment"];
const GROUPNET_FIELDS: [&str; 2] = ["weights", "lambdas"];
const PA_FIELDS: [&str; 6] = ["weights", "m", "act_endpoints", "betas", "act_bits", "act_frac_bits"];

impl Layer {
    /// Parses and checks the JSON text of a layer file.
    pub fn parse(text: &str) -> Result<Layer, String> {
        let value: Value = serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
        let fields = value
            .as_object()
            .ok_or_else(|| format!("must hold a JSON object {{\"scheme\": ...}}, got {}", shown(&value)))?;
        let layer = match required(fields, "scheme")?.as_str() {
            Some("groupnet") => Layer::GroupNet(parse_groupnet(fields)?),
            Some("pa") => Layer::Pa(parse_pa(fields)?),
            _ => return Err(format!("\"scheme\" must be \"groupnet\" or \"pa\", got {}", shown(&fields["scheme"]))),
        };
        layer.check()?;
        Ok(layer)
    }

    /// The structural rules of the format, for layers made in code too.
    pub fn check(&self) -> Result<(), String> {
        match self {
            Layer::GroupNet(layer) => layer.check(),
            Layer::Pa(layer) => layer.check(),
        }
    }

    pub fn decompose(&self) -> Result<Decomposition, String> {
        Ok(match self {
            Layer::GroupNet(layer) => Decomposition::GroupNet(layer.decompose()?),
            Layer::Pa(layer) => Decomposition::Pa(layer.decompose()?),
        })
    }

    /// The error report of [`GroupNetLayer::error_report`] or
    /// [`PaLayer::error_report`]. Panics if `decomposition` is of the other scheme.
    pub fn error_report(&self, decomposition: &Decomposition, samples: usize, seed: u64) -> ErrorReport {
        match (self, decomposition) {
            (Layer::GroupNet(layer), Decomposition::GroupNet(d)) => layer.error_report(d, samples, seed),
            (Layer::Pa(layer), Decomposition::Pa(d)) => layer.error_report(d, samples, seed),
            _ => panic!("the layer and its decomposition are of different schemes"),
        }
    }
}

fn parse_groupnet(fields: &Map<String, Value>) -> Result<GroupNetLayer, String> {
    reject_unknown(fields, "groupnet", &GROUPNET_FIELDS)?;
    let weights = required(fields, "weights")?;
    let lists = weights
        .as_array()
        .ok_or_else(|| format!("\"weights\" must be a list of K lists of reals, got {}", shown(weights)))?;
    Ok(GroupNetLayer {
        weights: lists
            .iter()
            .enumerate()
            .map(|(i, list)| reals(list, &format!("\"weights\"[{i}]")))
            .collect::<Result<_, _>>()?,
        lambdas: reals(required(fields, "lambdas")?, "\"lambdas\"")?,
        frac_bits: int_field(fields, "frac_bits", DEFAULT_FRAC_BITS.into(), FRAC_BITS_RANGE)? as u32,
        coef_bits: int_field(fields, "coef_bits", DEFAULT_COEF_BITS.into(), COEF_BITS_RANGE)? as u32,
    })
}

fn parse_pa(fields: &Map<String, Value>) -> Result<PaLayer, String> {
    reject_unknown(fields, "pa", &PA_FIELDS)?;
    Ok(PaLayer {
        weights: reals(required(fields, "weights")?, "\"weights\"")?,
        m: int_field(fields, "m", DEFAULT_M as u64, BASES_RANGE)? as usize,
        act_endpoints: reals(required(fields, "act_endpoints")?, "\"act_endpoints\"")?,
        betas: reals(required(fields, "betas")?, "\"betas\"")?,
        act_bits: int_field(fields, "act_bits", DEFAULT_ACT_BITS.into(), ACT_BITS_RANGE)? as u32,
        act_frac_bits: int_field(fields, "act_frac_bits", DEFAULT_ACT_FRAC_BITS.into(), FRAC_BITS_RANGE)? as u32,
        frac_bits: int_field(fields, "frac_bits", DEFAULT_FRAC_BITS.into(), FRAC_BITS_RANGE)? as u32,
        coef_bits: int_field(fields, "coef_bits", DEFAULT_COEF_BITS.into(), COEF_BITS_RANGE)? as u32,
    })
}

pub(crate) fn reject_unknown(fields: &Map<String, Value>, scheme: &str, own: &[&str]) -> Result<(), String> {
    let known = [own, &COMMON_FIELDS].concat();
    match fields.keys().find(|key| !known.contains(&key.as_str())) {
        Some(key) => Err(format!("{key:?} is not a field of a {scheme} layer: the fields are {}", known.join(", "))),
        None => Ok(()),
    }
}

pub(crate) fn required<'a>(fields: &'a Map<String, Value>, name: &str) -> Result<&'a Value, String> {
    fields.get(name).ok_or_else(|| format!("\"{name}\" is missing: it is a required field"))
}

/// An optional integer field: `default` when absent.
pub(crate) fn int_field(
    fields: &Map<String, Value>,
    name: &str,
    default: u64,
    range: RangeInclusive<u64>,
) -> Result<u64, String> {
    let Some(value) = fields.get(name) else { return Ok(default) };
    match value.as_u64() {
        Some(x) if range.contains(&x) => Ok(x),
        _ => Err(out_of_range(&format!("\"{name}\""), "an integer", &range, &shown(value))),
    }
}

pub(crate) fn reals(value: &Value, path: &str) -> Result<Vec<f64>, String> {
    let items = value.as_array().ok_or_else(|| format!("{path} must be a list of reals, got {}", shown(value)))?;
    items
        .iter()
        .enumerate()
        .map(|(k, item)| item.as_f64().ok_or_else(|| format!("{path}[{k}] must be a real number, got {}", shown(item))))
        .collect()
}

/// A JSON value as it appears in a message, shortened to keep the message one short line.
pub(crate) fn shown(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 40 { format!("{}...", text.chars().take(32).collect::<String>()) } else { text }
}

pub(crate) fn out_of_range(what: &str, kind: &str, range: &RangeInclusive<u64>, got: &str) -> String {
    format!("{what} must be {kind} in {}..={}, got {got}", range.start(), range.end())
}

pub(crate) fn check_int(name: &str, value: u64, range: RangeInclusive<u64>) -> Result<(), String> {
    if range.contains(&value) {
        Ok(())
    } else {
        Err(out_of_range(&format!("\"{name}\""), "an integer", &range, &value.to_string()))
    }
}

pub(crate) fn check_count(what: &str, count: usize, range: RangeInclusive<u64>, unit: &str) -> Result<(), String> {
    if range.contains(&(count as u64)) {
        Ok(())
    } else {
        Err(format!("{what} must hold {}..={} {unit}, got {count}", range.start(), range.end()))
    }
}

pub(crate) fn check_finite(path: &str, values: &[f64]) -> Result<(), String> {
    match values.iter().position(|v| !v.is_finite()) {
        Some(k) => Err(format!("{path}[{k}] must be a finite real, got {}", values[k])),
        None => Ok(()),
    }
}

pub(crate) fn check_one_per(what: &str, count: usize, per: &str, wanted: usize) -> Result<(), String> {
    if count == wanted { Ok(()) } else { Err(format!("{what} must hold one real per {per} ({wanted}), got {count}")) }
}

impl GroupNetLayer {
    pub fn check(&self) -> Result<(), String> {
        check_count("\"weights\"", self.weights.len(), LANES_RANGE, "lists")?;
        let len = self.weights[0].len();
        for (i, list) in self.weights.iter().enumerate() {
            let path = format!("\"weights\"[{i}]");
            check_count(&path, list.len(), LEN_RANGE, "reals")?;
            if list.len() != len {
                return Err(format!(
                    "\"weights\" lists must all have the same length, got {} reals in {path} and {len} in \"weights\"[0]",
                    list.len()
                ));
            }
            check_finite(&path, list)?;
        }
        check_one_per("\"lambdas\"", self.lambdas.len(), "weight list", self.weights.len())?;
        check_finite("\"lambdas\"", &self.lambdas)?;
        check_int("frac_bits", self.frac_bits.into(), FRAC_BITS_RANGE)?;
        check_int("coef_bits", self.coef_bits.into(), COEF_BITS_RANGE)
    }
}

impl PaLayer {
    pub fn check(&self) -> Result<(), String> {
        check_count("\"weights\"", self.weights.len(), LEN_RANGE, "reals")?;
        check_finite("\"weights\"", &self.weights)?;
        check_int("m", self.m as u64, BASES_RANGE)?;
        check_count("\"act_endpoints\"", self.act_endpoints.len(), BASES_RANGE, "reals")?;
        check_finite("\"act_endpoints\"", &self.act_endpoints)?;
        if let Some(pair) = self.act_endpoints.windows(2).find(|pair| pair[1] <= pair[0]) {
            return Err(format!("\"act_endpoints\" must be strictly increasing, got {} after {}", pair[1], pair[0]));
        }
        check_one_per("\"betas\"", self.betas.len(), "activation endpoint", self.act_endpoints.len())?;
        check_finite("\"betas\"", &self.betas)?;
        check_int("act_bits", self.act_bits.into(), ACT_BITS_RANGE)?;
        check_int("act_frac_bits", self.act_frac_bits.into(), FRAC_BITS_RANGE)?;
        check_int("frac_bits", self.frac_bits.into(), FRAC_BITS_RANGE)?;
        check_int("coef_bits", self.coef_bits.into(), COEF_BITS_RANGE)
    }
}

// ---------------------------------------------------------------------------
// Fixed point

/// A real scale (`what` names it in errors) as a `coef_bits`-bit signed
/// fixed-point integer with `frac_bits` fractional bits.
pub(crate) fn fixed_coefficient(what: &str, value: f64, frac_bits: u32, coef_bits: u32) -> Result<i64, String> {
    let format = format!("\"coef_bits\" {coef_bits} and \"frac_bits\" {frac_bits}");
    fixed::coefficient(&format!("{what} = {value}"), value, frac_bits, coef_bits, &format)
}

// ---------------------------------------------------------------------------
// Group-Net

impl GroupNetLayer {
    pub fn decompose(&self) -> Result<GroupNetDecomposition, String> {
        self.check()?;
        let lambdas = self
            .lambdas
            .iter()
            .enumerate()
            .map(|(i, &l)| fixed_coefficient(&format!("\"lambdas\"[{i}]"), l, self.frac_bits, self.coef_bits))
            .collect::<Result<_, _>>()?;
        Ok(GroupNetDecomposition {
            lambda_reals: self.lambdas.clone(),
            lambdas,
            weights: self.weights.iter().map(|w| sign_bits(w)).collect(),
            frac_bits: self.frac_bits,
            coef_bits: self.coef_bits,
        })
    }
}

/// sign(w) as bits: 1 (+1) for w >= 0, 0 (-1) otherwise (SPEC section 2).
pub(crate) fn sign_bits(weights: &[f64]) -> BitVec {
    BitVec::from_fn(weights.len(), |k| weights[k] >= 0.0)
}

// ---------------------------------------------------------------------------
// PA-Net

/// Population standard deviation (divides by n, not n - 1): the weights are
/// the whole population being cut, not a sample of one.
pub fn population_std(values: &[f64]) -> f64 {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt()
}

/// PA-Net's weight pieces (SPEC section 1) of a population of real weights.
#[derive(Clone, Debug, PartialEq)]
pub struct WeightPieces {
    /// Population standard deviation of the weights.
    pub std: f64,
    /// u_1 < ... < u_M: [`weight_endpoint_multiples`] times `std`.
    pub endpoints: Vec<f64>,
    /// Each weight's piece, `None` for the zero piece.
    pub pieces: Vec<Option<usize>>,
    /// alpha_i: the mean of the weights in piece i; 0 for an empty piece.
    pub alphas: Vec<f64>,
}

/// Cuts `weights` (finite) into `m` pieces by endpoints at fixed multiples
/// of their standard deviation; each piece's scale is its mean.
pub fn cut_weights(weights: &[f64], m: usize) -> Result<WeightPieces, String> {
    let std = population_std(weights);
    if !std.is_finite() {
        return Err("\"weights\" are too large: their standard deviation overflows".into());
    }
    let endpoints: Vec<f64> = weight_endpoint_multiples(m).iter().map(|k| k * std).collect();
    let pieces: Vec<Option<usize>> = weights.iter().map(|&w| weight_piece(w, &endpoints)).collect();
    let alphas = (0..m)
        .map(|i| {
            let members: Vec<f64> =
                weights.iter().zip(&pieces).filter(|(_, p)| **p == Some(i)).map(|(w, _)| *w).collect();
            if members.is_empty() { 0.0 } else { members.iter().sum::<f64>() / members.len() as f64 }
        })
        .collect();
    Ok(WeightPieces { std, endpoints, pieces, alphas })
}

impl PaLayer {
    pub fn decompose(&self) -> Result<PaDecomposition, String> {
        self.check()?;
        let act_endpoints = act_endpoints_fixed(&self.act_endpoints, &self.act_format())?;
        let cut = cut_weights(&self.weights, self.m)?;
        let n = self.weights.len();
        let bases: Vec<BitVec> = (0..self.m).map(|i| BitVec::from_fn(n, |k| cut.pieces[k] == Some(i))).collect();
        let phi_reals = phi_of(&cut.alphas, &self.betas);
        let phi = phi_fixed(&phi_reals, self.frac_bits, self.coef_bits)?;
        Ok(PaDecomposition {
            std: cut.std,
            weight_endpoints: cut.endpoints,
            alphas: cut.alphas,
            bases,
            zero_piece_count: cut.pieces.iter().filter(|p| p.is_none()).count(),
            act_endpoints,
            act_bits: self.act_bits,
            act_frac_bits: self.act_frac_bits,
            phi_reals,
            phi,
            frac_bits: self.frac_bits,
            coef_bits: self.coef_bits,
        })
    }
}

/// phi_ij = alpha_i * beta_j, real.
pub fn phi_of(alphas: &[f64], betas: &[f64]) -> Vec<Vec<f64>> {
    alphas.iter().map(|a| betas.iter().map(|b| a * b).collect()).collect()
}

/// phi in fixed point; an error names the entry that does not fit.
pub fn phi_fixed(phi_reals: &[Vec<f64>], frac_bits: u32, coef_bits: u32) -> Result<Vec<Vec<i64>>, String> {
    let fixed = |i: usize, j: usize, p: f64| {
        fixed_coefficient(&format!("phi[{i}][{j}] = alpha_{i} * beta_{j}"), p, frac_bits, coef_bits)
    };
    phi_reals
        .iter()
        .enumerate()
        .map(|(i, row)| row.iter().enumerate().map(|(j, &p)| fixed(i, j, p)).collect())
        .collect()
}

/// A B-bit activation, two's complement or unsigned, that stands for the
/// real `integer * 2^-frac_bits`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ActFormat {
    pub bits: u32,
    pub frac_bits: u32,
    pub signed: bool,
}

impl ActFormat {
    /// The integers of the format.
    pub fn range(&self) -> (i64, i64) {
        if self.signed { fixed::signed_range(self.bits).into_inner() } else { (0, (1 << self.bits) - 1) }
    }
}

impl PaLayer {
    fn act_format(&self) -> ActFormat {
        ActFormat { bits: self.act_bits, frac_bits: self.act_frac_bits, signed: true }
    }
}

/// v_j (the field `"act_endpoints"`) as integers of the activation format,
/// rounded up (SPEC section 2): a fixed-point activation reaches
/// `ceil(v * 2^frac_bits)` exactly when its real value reaches `v`. They
/// must fit the format and stay strictly increasing once rounded.
pub fn act_endpoints_fixed(endpoints: &[f64], format: &ActFormat) -> Result<Vec<i64>, String> {
    let (lo, hi) = format.range();
    let scale = f64::from(format.frac_bits).exp2();
    let mut fixed: Vec<i64> = Vec::with_capacity(endpoints.len());
    for (j, &v) in endpoints.iter().enumerate() {
        let rounded = fixed::to_fixed_ceil(v, format.frac_bits);
        if !(lo as f64..=hi as f64).contains(&rounded) {
            let kind = if format.signed { "" } else { " (unsigned)" };
            return Err(format!(
                "\"act_endpoints\"[{j}] = {v} does not fit the activation format: with \"act_bits\" {}{kind} and \"act_frac_bits\" {} it must round up to an integer in {lo}..={hi} (a real in ({}, {}]), got {rounded}",
                format.bits,
                format.frac_bits,
                (lo - 1) as f64 / scale,
                hi as f64 / scale
            ));
        }
        let rounded = rounded as i64;
        if fixed.last() == Some(&rounded) {
            return Err(format!(
                "\"act_endpoints\" must stay strictly increasing after rounding up to \"act_frac_bits\" {}, got {} and {v} both rounding to {rounded}",
                format.frac_bits,
                endpoints[j - 1]
            ));
        }
        fixed.push(rounded);
    }
    Ok(fixed)
}

// ---------------------------------------------------------------------------
// Error report

/// How far the hardware's exact result, read as a real, is from a reference
/// over random inputs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ErrorStats {
    pub mean_abs: f64,
    pub max_abs: f64,
    /// Root mean square of the error.
    pub rms: f64,
    /// Root mean square of the reference itself.
    pub reference_rms: f64,
    /// `rms / reference_rms`; `None` (null) when the reference is always 0.
    pub relative_rms: Option<f64>,
}

impl ErrorStats {
    /// One indented line of a summary: `label` is the reference.
    pub fn line(label: &str, s: &ErrorStats) -> String {
        let relative = match s.relative_rms {
            Some(r) => format!("{}% of the reference's RMS", significant(100.0 * r)),
            None => "the reference is always 0".into(),
        };
        format!(
            "  {label:<21}: mean |error| {}, max {}, RMS {relative}",
            significant(s.mean_abs),
            significant(s.max_abs)
        )
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ErrorReport {
    pub scheme: &'static str,
    pub len: usize,
    pub samples: usize,
    pub seed: u64,
    /// Against the same bases with the real coefficients: the cost of fixed point alone.
    pub vs_real_coefficients: ErrorStats,
    /// Against the full-precision dot product: the cost of the whole decomposition.
    pub vs_full_precision: ErrorStats,
}

impl ErrorReport {
    /// Three lines for people.
    pub fn summary(&self) -> String {
        let line = ErrorStats::line;
        format!(
            "{} layer, n = {}, {} random inputs (seed {}), hardware result against\n{}\n{}",
            self.scheme,
            self.len,
            self.samples,
            self.seed,
            line("the real coefficients", &self.vs_real_coefficients),
            line("full precision", &self.vs_full_precision)
        )
    }
}

/// Four significant digits, without exponents for everyday magnitudes.
pub(crate) fn significant(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return x.to_string();
    }
    let magnitude = x.abs().log10().floor();
    if (-4.0..6.0).contains(&magnitude) {
        format!("{:.*}", (3.0 - magnitude).max(0.0) as usize, x)
    } else {
        format!("{x:.3e}")
    }
}

/// Sums up errors one value at a time.
#[derive(Default)]
pub struct ErrorAccumulator {
    count: usize,
    sum_abs: f64,
    max_abs: f64,
    sum_squared: f64,
    reference_sum_squared: f64,
}

impl ErrorAccumulator {
    pub fn add(&mut self, value: f64, reference: f64) {
        let error = (value - reference).abs();
        self.count += 1;
        self.sum_abs += error;
        self.max_abs = self.max_abs.max(error);
        self.sum_squared += error * error;
        self.reference_sum_squared += reference * reference;
    }

    pub fn stats(&self) -> ErrorStats {
        let count = self.count.max(1) as f64;
        let rms = (self.sum_squared / count).sqrt();
        let reference_rms = (self.reference_sum_squared / count).sqrt();
        ErrorStats {
            mean_abs: self.sum_abs / count,
            max_abs: self.max_abs,
            rms,
            reference_rms,
            relative_rms: (reference_rms > 0.0).then(|| rms / reference_rms),
        }
    }
}

impl GroupNetLayer {
    /// On `samples` random +1/-1 inputs x shared by every lane (seeded):
    /// the hardware's `sum_i L_i * (2*popcount(xnor(x, w_i)) - n)` times
    /// 2^-frac_bits, against the same sum with the real lambdas and against
    /// `sum_i lambda_i * sum_k W_i[k] * x_k` with the real weights.
    pub fn error_report(&self, d: &GroupNetDecomposition, samples: usize, seed: u64) -> ErrorReport {
        let len = d.weights[0].len();
        let unit = f64::from(d.frac_bits).exp2().recip();
        let mut rng = SplitMix64::new(seed);
        let (mut vs_real, mut vs_full) = (ErrorAccumulator::default(), ErrorAccumulator::default());
        for _ in 0..samples {
            let x = BitVec::random(len, &mut rng);
            let dots: Vec<i64> = d.weights.iter().map(|w| 2 * x.xnor(w).count_ones() as i64 - len as i64).collect();
            let hardware = dots.iter().zip(&d.lambdas).map(|(dot, l)| dot * l).sum::<i64>() as f64 * unit;
            let real_coefficients: f64 = dots.iter().zip(&d.lambda_reals).map(|(&dot, l)| dot as f64 * l).sum();
            let full_precision: f64 = self.weights.iter().zip(&self.lambdas).map(|(w, l)| l * signed_sum(w, &x)).sum();
            vs_real.add(hardware, real_coefficients);
            vs_full.add(hardware, full_precision);
        }
        ErrorReport {
            scheme: "groupnet",
            len,
            samples,
            seed,
            vs_real_coefficients: vs_real.stats(),
            vs_full_precision: vs_full.stats(),
        }
    }
}

/// `sum_k w_k * x_k` with x_k = +1 where bit k of `x` is 1, else -1.
fn signed_sum(weights: &[f64], x: &BitVec) -> f64 {
    weights.iter().enumerate().map(|(k, &w)| if x.get(k) { w } else { -w }).sum()
}

impl PaLayer {
    /// On `samples` random activation vectors (seeded), each element uniform
    /// over the B-bit signed integers: the hardware's
    /// `sum_ij P_ij * popcount(T_i & V_j)` times 2^-frac_bits, against the
    /// same sum with the real phi and against `sum_k w_k * a_k` with the real
    /// weights and a_k = activation * 2^-act_frac_bits.
    pub fn error_report(&self, d: &PaDecomposition, samples: usize, seed: u64) -> ErrorReport {
        let len = self.weights.len();
        let unit = f64::from(d.frac_bits).exp2().recip();
        let act_unit = f64::from(d.act_frac_bits).exp2().recip();
        let act_lowest = *fixed::signed_range(d.act_bits).start();
        let mut rng = SplitMix64::new(seed);
        let (mut vs_real, mut vs_full) = (ErrorAccumulator::default(), ErrorAccumulator::default());
        for _ in 0..samples {
            let acts: Vec<i64> = (0..len).map(|_| act_lowest + rng.below(1 << d.act_bits) as i64).collect();
            let act_bases = activation_bases(&acts, &d.act_endpoints);
            let (mut hardware, mut real_coefficients) = (0i64, 0.0);
            for (i, t) in d.bases.iter().enumerate() {
                for (j, v) in act_bases.iter().enumerate() {
                    let count = t.and(v).count_ones() as i64;
                    hardware += d.phi[i][j] * count;
                    real_coefficients += d.phi_reals[i][j] * count as f64;
                }
            }
            let full_precision: f64 = self.weights.iter().zip(&acts).map(|(w, &a)| w * a as f64 * act_unit).sum();
            vs_real.add(hardware as f64 * unit, real_coefficients);
            vs_full.add(hardware as f64 * unit, full_precision);
        }
        ErrorReport {
            scheme: "pa",
            len,
            samples,
            seed,
            vs_real_coefficients: vs_real.stats(),
            vs_full_precision: vs_full.stats(),
        }
    }
}

/// V_1..V_N: bit k of V_j is 1 where activation k is in piece j.
fn activation_bases(acts: &[i64], endpoints: &[i64]) -> Vec<BitVec> {
    let mut bases = vec![BitVec::zeros(acts.len()); endpoints.len()];
    for (k, &a) in acts.iter().enumerate() {
        if let Some(j) = act_piece(a, endpoints) {
            bases[j].set(k, true);
        }
    }
    bases
}

/// What a decomposition chose, beyond what the manifest's params hold.
pub fn details_json(d: &Decomposition) -> Value {
    match d {
        Decomposition::GroupNet(g) => serde_json::json!({
            "scheme": "groupnet",
            "lambda_reals": g.lambda_reals,
            "sign_rule": "weight >= 0 is +1 (bit 1)",
        }),
        Decomposition::Pa(p) => serde_json::json!({
            "scheme": "pa",
            "weight_std": p.std,
            "weight_endpoints": p.weight_endpoints,
            "alphas": p.alphas,
            "zero_piece_weights": p.zero_piece_count,
            "act_frac_bits": p.act_frac_bits,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pa_layer(weights: &[f64], m: usize) -> PaLayer {
        PaLayer {
            weights: weights.to_vec(),
            m,
            act_endpoints: vec![0.0, 1.0],
            betas: vec![0.5, 1.5],
            act_bits: 8,
            act_frac_bits: 4,
            frac_bits: 8,
            coef_bits: 16,
        }
    }

    fn bits(len: usize, ones: &[usize]) -> BitVec {
        BitVec::from_fn(len, |k| ones.contains(&k))
    }

    /// Mean 0, population std exactly 4: M = 4 puts its endpoints on -4, -2, 2, 4
    /// and M = 8 on -6, -4, -2, -1, 1, 2, 4, 6, and these weights sit on them.
    const ON_ENDPOINTS: [f64; 12] = [6.0, -2.0, 0.0, 4.0, -6.0, 2.0, -4.0, 0.0, -6.0, 2.0, 6.0, -2.0];

    #[test]
    fn weights_on_endpoints_go_to_the_outer_piece() {
        let d = pa_layer(&ON_ENDPOINTS, 4).decompose().unwrap();
        assert_eq!(d.std, 4.0);
        assert_eq!(d.weight_endpoints, [-4.0, -2.0, 2.0, 4.0]);
        assert_eq!(d.bases, [bits(12, &[4, 6, 8]), bits(12, &[1, 11]), bits(12, &[5, 9]), bits(12, &[0, 3, 10])]);
        assert_eq!(d.zero_piece_count, 2);
        assert_eq!(d.alphas, [-16.0 / 3.0, -2.0, 2.0, 16.0 / 3.0]);
    }

    #[test]
    fn a_lone_endpoint_of_m_2_splits_mirrored_weights() {
        let d = pa_layer(&[-1.0, 1.0, -1.0, 1.0], 2).decompose().unwrap();
        assert_eq!(d.weight_endpoints, [-1.0, 1.0]);
        assert_eq!(d.bases, [bits(4, &[0, 2]), bits(4, &[1, 3])]);
        assert_eq!((d.alphas.as_slice(), d.zero_piece_count), ([-1.0, 1.0].as_slice(), 0));
    }

    #[test]
    fn empty_pieces_have_alpha_0_and_an_all_zero_base() {
        let d = pa_layer(&ON_ENDPOINTS, 8).decompose().unwrap();
        assert_eq!(d.weight_endpoints, [-6.0, -4.0, -2.0, -1.0, 1.0, 2.0, 4.0, 6.0]);
        assert_eq!(d.alphas, [-6.0, -4.0, -2.0, 0.0, 0.0, 2.0, 4.0, 6.0]);
        assert_eq!(d.bases[3], BitVec::zeros(12));
        assert_eq!(d.bases[4], BitVec::zeros(12));
        assert_eq!(d.bases[0], bits(12, &[4, 8]));
        assert_eq!(d.bases[7], bits(12, &[0, 10]));
        assert!(d.phi[3].iter().chain(&d.phi[4]).all(|&p| p == 0));
    }

    #[test]
    fn all_weights_can_fall_in_the_zero_piece() {
        // M = 1 keeps only [u_1, +inf): negative weights are all zeroed.
        let d = pa_layer(&[-1.0, -2.0, -3.0], 1).decompose().unwrap();
        assert_eq!(d.weight_endpoints, [d.std]);
        assert_eq!((d.zero_piece_count, d.alphas.as_slice()), (3, [0.0].as_slice()));
        assert_eq!(d.bases, [BitVec::zeros(3)]);
        assert_eq!(d.phi, [[0, 0]]);
        // All-zero weights: std 0 puts every endpoint on 0, and 0 stays in the zero piece.
        for m in 1..=16 {
            let d = pa_layer(&[0.0; 5], m).decompose().unwrap();
            assert_eq!(d.zero_piece_count, 5, "m = {m}");
            assert!(d.bases.iter().all(|t| t.count_ones() == 0), "m = {m}");
        }
    }

    #[test]
    fn equal_weights_land_in_one_outer_piece_exactly() {
        let d = pa_layer(&[0.75; 4], 4).decompose().unwrap();
        assert_eq!(d.std, 0.0);
        assert_eq!(d.bases[3], BitVec::ones(4));
        assert_eq!(d.alphas, [0.0, 0.0, 0.0, 0.75]);
    }

    #[test]
    fn m_8_endpoints_are_the_papers_multiples() {
        assert_eq!(weight_endpoint_multiples(8), [-1.5, -1.0, -0.5, -0.25, 0.25, 0.5, 1.0, 1.5]);
        let d = pa_layer(&[0.3, -1.7, 2.9, 0.01, -0.4, 1.1, -2.2], 8).decompose().unwrap();
        let expected: Vec<f64> = [-1.5, -1.0, -0.5, -0.25, 0.25, 0.5, 1.0, 1.5].iter().map(|k| k * d.std).collect();
        assert_eq!(d.weight_endpoints, expected);
    }

    #[test]
    fn endpoint_multiples_for_every_m() {
        assert_eq!(weight_endpoint_multiples(1), [1.0]);
        assert_eq!(weight_endpoint_multiples(2), [-1.0, 1.0]);
        assert_eq!(weight_endpoint_multiples(3), [-1.0, 0.5, 1.0]);
        assert_eq!(weight_endpoint_multiples(4), [-1.0, -0.5, 0.5, 1.0]);
        assert_eq!(weight_endpoint_multiples(16)[8..], [0.125, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75]);
        for m in 1..=16 {
            let u = weight_endpoint_multiples(m);
            assert_eq!(u.len(), m);
            assert!(u.windows(2).all(|p| p[0] < p[1]), "m = {m}: {u:?}");
            assert!(u.iter().all(|x| x.abs() < 2.0 && *x != 0.0), "m = {m}: {u:?}");
            assert_eq!(u.iter().filter(|x| **x < 0.0).count(), m / 2, "m = {m}");
        }
    }

    /// The piece intervals as documented, written out one by one: base p < M/2 is
    /// (u_{p-1}, u_p], base p >= M/2 is [u_p, u_{p+1}), the zero piece (u_{M/2-1}, u_{M/2}),
    /// with u_{-1} = -inf and u_M = +inf (0-based).
    fn pieces_containing(w: f64, u: &[f64]) -> Vec<Option<usize>> {
        let m = u.len();
        let at = |i: isize| if i < 0 { f64::NEG_INFINITY } else { u.get(i as usize).copied().unwrap_or(f64::INFINITY) };
        let half = (m / 2) as isize;
        if w == 0.0 {
            return vec![None]; // the rule for std(W) = 0, when every interval is empty or ends at 0
        }
        let mut found = vec![];
        if at(half - 1) < w && w < at(half) {
            found.push(None);
        }
        for p in 0..m as isize {
            let inside = if p < half { at(p - 1) < w && w <= at(p) } else { at(p) <= w && w < at(p + 1) };
            if inside {
                found.push(Some(p as usize));
            }
        }
        found
    }

    #[test]
    fn every_weight_is_in_exactly_one_piece() {
        let mut rng = SplitMix64::new(99);
        for trial in 0..40 {
            // Coarse integers give many ties among weights; an offset mean moves the pieces.
            let len = 1 + rng.below(300) as usize;
            let offset = rng.below(5) as f64 - 2.0;
            let weights: Vec<f64> = (0..len)
                .map(|_| {
                    let x = rng.below(1 << 20) as f64 / (1 << 18) as f64 - 2.0;
                    if trial % 2 == 0 { x.round() + offset } else { x * x * x + offset }
                })
                .collect();
            for m in 1..=16 {
                let d = pa_layer(&weights, m).decompose().unwrap();
                let mut covered = d.zero_piece_count;
                for (k, &w) in weights.iter().enumerate() {
                    let pieces = pieces_containing(w, &d.weight_endpoints);
                    assert_eq!(pieces.len(), 1, "m = {m}, w = {w} is in {pieces:?}");
                    let in_bases: Vec<usize> = (0..m).filter(|&i| d.bases[i].get(k)).collect();
                    assert_eq!(in_bases, pieces[0].into_iter().collect::<Vec<_>>(), "m = {m}, w = {w}");
                }
                covered += d.bases.iter().map(|t| t.count_ones() as usize).sum::<usize>();
                assert_eq!(covered, len, "m = {m}");
            }
        }
    }

    #[test]
    fn alphas_are_the_means_of_their_pieces() {
        let weights = [0.9, -0.35, 0.05, 1.75, -2.5, 0.6, -0.8, 0.61, -0.02, 3.3, -1.2, 0.4];
        let d = pa_layer(&weights, 4).decompose().unwrap();
        for (i, t) in d.bases.iter().enumerate() {
            let members: Vec<f64> = (0..weights.len()).filter(|&k| t.get(k)).map(|k| weights[k]).collect();
            let mean = if members.is_empty() { 0.0 } else { members.iter().sum::<f64>() / members.len() as f64 };
            assert!((d.alphas[i] - mean).abs() < 1e-12, "alpha_{i} = {} but the piece mean is {mean}", d.alphas[i]);
            for (j, beta) in [0.5, 1.5].iter().enumerate() {
                assert_eq!(d.phi_reals[i][j], d.alphas[i] * beta);
                assert_eq!(d.phi[i][j], (d.alphas[i] * beta * 256.0).round() as i64);
            }
        }
    }

    #[test]
    fn population_std_divides_by_n() {
        assert_eq!(population_std(&[1.0, 3.0]), 1.0);
        assert_eq!(population_std(&[5.0]), 0.0);
    }

    #[test]
    fn activation_endpoints_round_up_to_the_activation_format() {
        let mut layer = pa_layer(&[1.0, -1.0], 2);
        layer.act_endpoints = vec![-8.0, -0.03125, 0.09375, 0.3, 7.9375];
        layer.betas = vec![0.0; 5];
        // Up (SPEC section 2): -0.5 -> 0, 1.5 -> 2, 4.8 -> 5; exact values stay.
        assert_eq!(layer.decompose().unwrap().act_endpoints, [-128, 0, 2, 5, 127]);
    }

    #[test]
    fn an_activation_between_the_nearest_and_the_upward_rounding_stays_below_the_endpoint() {
        // v = 0.28 with 4 fractional bits is 4.48: to nearest 4 (the old
        // rounding), up 5. The activation 4 (0.25) lies between the two
        // roundings: 0.25 < 0.28, so it is below the endpoint, which only the
        // upward rounding says (4 >= 4 put it in piece 0).
        let mut layer = pa_layer(&[1.0, -1.0], 2);
        layer.act_endpoints = vec![0.28, 1.0];
        let d = layer.decompose().unwrap();
        let (a, v) = (4, 0.28);
        assert_eq!(fixed::to_fixed(v, 4), 4.0, "the old rounding put the endpoint on the activation");
        assert_eq!(d.act_endpoints, [5, 16]);
        let real = a as f64 / 16.0;
        assert!(real < v);
        assert_eq!(act_piece(a, &d.act_endpoints), None, "the hardware's piece: below v_1, as the reals say");
        // Every activation of the format lands where the real comparison says.
        for a in -128..=127 {
            let real = a as f64 / 16.0;
            let expected = layer.act_endpoints.iter().filter(|&&v| real >= v).count().checked_sub(1);
            assert_eq!(act_piece(a, &d.act_endpoints), expected, "activation {a} ({real})");
        }
    }

    #[test]
    fn activation_pieces_are_closed_below() {
        let v = [-3, 0, 5];
        let pieces: Vec<_> = [-4, -3, -1, 0, 4, 5, 100].iter().map(|&a| act_piece(a, &v)).collect();
        assert_eq!(pieces, [None, Some(0), Some(0), Some(1), Some(1), Some(2), Some(2)]);
    }

    #[test]
    fn groupnet_signs_and_lambdas_round_ties_away_from_zero() {
        let layer = GroupNetLayer {
            weights: vec![vec![0.5, -0.25, 0.0, -0.0], vec![-1.0, 2.0, -3.0, 1e-9]],
            lambdas: vec![0.5 / 256.0, -0.5 / 256.0],
            frac_bits: 8,
            coef_bits: 16,
        };
        let d = layer.decompose().unwrap();
        assert_eq!(d.weights, [bits(4, &[0, 2, 3]), bits(4, &[1, 3])]);
        assert_eq!(d.lambdas, [1, -1]);
        let ties = GroupNetLayer { lambdas: vec![1.5 / 256.0, -2.5 / 256.0], ..layer.clone() };
        assert_eq!(ties.decompose().unwrap().lambdas, [2, -3]);
        let widest = GroupNetLayer { lambdas: vec![-128.0, 127.99609375], ..layer };
        assert_eq!(widest.decompose().unwrap().lambdas, [-32768, 32767]);
    }

    fn parse_error(json: &str) -> String {
        match Layer::parse(json).and_then(|layer| layer.decompose()) {
            Ok(_) => panic!("{json} was accepted"),
            Err(e) => {
                assert!(!e.contains('\n'), "not one line: {e}");
                e
            }
        }
    }

    const GROUPNET_OK: &str = r#""scheme": "groupnet", "weights": [[1, -2], [0.5, 3]], "lambdas": [0.5, 0.25]"#;
    const PA_OK: &str =
        r#""scheme": "pa", "weights": [1, -2, 0.5], "m": 2, "act_endpoints": [0, 1], "betas": [0.5, 1.5]"#;

    fn with(base: &str, replace: &str, by: &str) -> String {
        assert!(base.contains(replace), "{replace} not in {base}");
        format!("{{{}}}", base.replacen(replace, by, 1))
    }

    #[test]
    fn the_examples_parse_with_defaults() {
        let Layer::GroupNet(g) = Layer::parse(&format!("{{{GROUPNET_OK}}}")).unwrap() else { panic!() };
        assert_eq!((g.frac_bits, g.coef_bits, g.lambdas.as_slice()), (8, 16, [0.5, 0.25].as_slice()));
        let Layer::Pa(p) = Layer::parse(&format!("{{{}}}", PA_OK.replace(r#""m": 2, "#, ""))).unwrap() else {
            panic!()
        };
        assert_eq!((p.m, p.act_bits, p.act_frac_bits, p.frac_bits, p.coef_bits), (8, 8, 4, 8, 16));
        let file = format!(r#"{{"comment": "two lanes", {GROUPNET_OK}, "frac_bits": 4, "coef_bits": 8}}"#);
        assert!(Layer::parse(&file).is_ok());
    }

    #[test]
    fn malformed_files_name_the_field_and_the_rule() {
        let cases = [
            ("[1, 2]".to_string(), "must hold a JSON object {\"scheme\": ...}, got [1,2]"),
            ("{\"weights\": [1]".into(), "not valid JSON: EOF while parsing an object at line 1 column 15"),
            ("{\"weights\": [1]}".into(), "\"scheme\" is missing: it is a required field"),
            (with(PA_OK, "\"pa\"", "\"xnor\""), "\"scheme\" must be \"groupnet\" or \"pa\", got \"xnor\""),
            (
                with(GROUPNET_OK, "\"lambdas\"", "\"lambda\""),
                "\"lambda\" is not a field of a groupnet layer: the fields are weights, lambdas, frac_bits, coef_bits, scheme, comment",
            ),
            (with(PA_OK, "\"betas\": [0.5, 1.5]", "\"comment\": \"\""), "\"betas\" is missing: it is a required field"),
            (with(PA_OK, "[1, -2, 0.5]", "[1, \"2\", 0.5]"), "\"weights\"[1] must be a real number, got \"2\""),
            (with(PA_OK, "[1, -2, 0.5]", "1"), "\"weights\" must be a list of reals, got 1"),
            (with(GROUPNET_OK, "[[1, -2], [0.5, 3]]", "[1, 2]"), "\"weights\"[0] must be a list of reals, got 1"),
            (with(GROUPNET_OK, "[[1, -2], [0.5, 3]]", "{}"), "\"weights\" must be a list of K lists of reals, got {}"),
            (with(PA_OK, "\"m\": 2", "\"m\": 2.5"), "\"m\" must be an integer in 1..=16, got 2.5"),
            (with(PA_OK, "\"m\": 2", "\"m\": -1"), "\"m\" must be an integer in 1..=16, got -1"),
            (with(PA_OK, "\"m\": 2", "\"m\": 0"), "\"m\" must be an integer in 1..=16, got 0"),
            (with(PA_OK, "\"m\": 2", "\"m\": 17"), "\"m\" must be an integer in 1..=16, got 17"),
            (
                with(GROUPNET_OK, "\"lambdas\"", "\"frac_bits\": 32, \"lambdas\""),
                "\"frac_bits\" must be an integer in 0..=31, got 32",
            ),
            (
                with(GROUPNET_OK, "\"lambdas\"", "\"coef_bits\": 1, \"lambdas\""),
                "\"coef_bits\" must be an integer in 2..=32, got 1",
            ),
            (with(PA_OK, "\"m\": 2", "\"act_bits\": \"8\""), "\"act_bits\" must be an integer in 2..=32, got \"8\""),
            (with(PA_OK, "[1, -2, 0.5]", "[]"), "\"weights\" must hold 1..=65536 reals, got 0"),
            (with(GROUPNET_OK, "[[1, -2], [0.5, 3]]", "[]"), "\"weights\" must hold 1..=64 lists, got 0"),
            (with(GROUPNET_OK, "[[1, -2], [0.5, 3]]", "[[], []]"), "\"weights\"[0] must hold 1..=65536 reals, got 0"),
            (
                with(GROUPNET_OK, "[0.5, 3]", "[0.5, 3, 4]"),
                "\"weights\" lists must all have the same length, got 3 reals in \"weights\"[1] and 2 in \"weights\"[0]",
            ),
            (with(GROUPNET_OK, "[0.5, 0.25]", "[0.5]"), "\"lambdas\" must hold one real per weight list (2), got 1"),
            (with(PA_OK, "[0.5, 1.5]", "[0.5]"), "\"betas\" must hold one real per activation endpoint (2), got 1"),
            (
                with(PA_OK, "\"act_endpoints\": [0, 1], \"betas\": [0.5, 1.5]", "\"act_endpoints\": [], \"betas\": []"),
                "\"act_endpoints\" must hold 1..=16 reals, got 0",
            ),
            (
                with(PA_OK, "[0, 1]", &format!("{:?}", (0..17).collect::<Vec<_>>())),
                "\"act_endpoints\" must hold 1..=16 reals, got 17",
            ),
            (with(PA_OK, "[0, 1]", "[0.75, 0.5]"), "\"act_endpoints\" must be strictly increasing, got 0.5 after 0.75"),
            (with(PA_OK, "[0, 1]", "[0.5, 0.5]"), "\"act_endpoints\" must be strictly increasing, got 0.5 after 0.5"),
            (
                with(PA_OK, "[0, 1]", "[0.45, 0.5]"),
                "\"act_endpoints\" must stay strictly increasing after rounding up to \"act_frac_bits\" 4, got 0.45 and 0.5 both rounding to 8",
            ),
            (
                with(PA_OK, "[0, 1]", "[0, 7.97]"),
                "\"act_endpoints\"[1] = 7.97 does not fit the activation format: with \"act_bits\" 8 and \"act_frac_bits\" 4 it must round up to an integer in -128..=127 (a real in (-8.0625, 7.9375]), got 128",
            ),
            (
                with(PA_OK, "[0, 1]", "[-8.07, 0]"),
                "\"act_endpoints\"[0] = -8.07 does not fit the activation format: with \"act_bits\" 8 and \"act_frac_bits\" 4 it must round up to an integer in -128..=127 (a real in (-8.0625, 7.9375]), got -129",
            ),
            (
                with(GROUPNET_OK, "[0.5, 0.25]", "[0.5, 127.998046875]"),
                "\"lambdas\"[1] = 127.998046875 does not fit the fixed-point format: with \"coef_bits\" 16 and \"frac_bits\" 8 it must round into [-128, 127.99609375]",
            ),
            (
                // std 1.31, so M = 2 cuts at +-1.31: alpha_0 = -2, and phi[0][1] = -2 * 100 = -200.
                with(PA_OK, "[0.5, 1.5]", "[0.5, 100]"),
                "phi[0][1] = alpha_0 * beta_1 = -200 does not fit the fixed-point format: with \"coef_bits\" 16 and \"frac_bits\" 8 it must round into [-128, 127.99609375]",
            ),
            (with(PA_OK, "[1, -2, 0.5]", "[1, -2, 1e999]"), "not valid JSON: number out of range at line 1 column 41"),
        ];
        for (json, expected) in cases {
            assert_eq!(parse_error(&json), expected, "for {json}");
        }
    }

    #[test]
    fn lengths_above_65536_are_refused() {
        let zeros = vec!["0"; 65537].join(",");
        let json = with(PA_OK, "[1, -2, 0.5]", &format!("[{zeros}]"));
        assert_eq!(parse_error(&json), "\"weights\" must hold 1..=65536 reals, got 65537");
        let ok = with(PA_OK, "[1, -2, 0.5]", &format!("[{}]", vec!["0"; 65536].join(",")));
        assert!(Layer::parse(&ok).is_ok());
    }

    #[test]
    fn non_finite_numbers_are_refused() {
        // JSON cannot spell them, but layers made in code can.
        let mut pa = pa_layer(&[1.0, f64::NAN], 2);
        assert_eq!(pa.decompose().unwrap_err(), "\"weights\"[1] must be a finite real, got NaN");
        pa.weights = vec![1.0, 2.0];
        pa.betas = vec![0.5, f64::INFINITY];
        assert_eq!(pa.decompose().unwrap_err(), "\"betas\"[1] must be a finite real, got inf");
        let g =
            GroupNetLayer { weights: vec![vec![1.0]], lambdas: vec![f64::NEG_INFINITY], frac_bits: 8, coef_bits: 16 };
        assert_eq!(g.decompose().unwrap_err(), "\"lambdas\"[0] must be a finite real, got -inf");
        let huge = pa_layer(&[1e300, -1e300, 1e300], 2);
        assert_eq!(huge.decompose().unwrap_err(), "\"weights\" are too large: their standard deviation overflows");
    }

    #[test]
    fn the_testbench_layer_files_decompose() {
        for text in [include_str!("../../testbench/layer_groupnet.json"), include_str!("../../testbench/layer_pa.json")]
        {
            let layer = Layer::parse(text).unwrap();
            let d = layer.decompose().unwrap();
            let report = layer.error_report(&d, 200, 1);
            assert_eq!(report.len, 18);
            assert!(report.vs_real_coefficients.max_abs < 0.05, "{}", report.summary());
        }
    }

    #[test]
    fn load_layer_prefixes_errors_with_the_path() {
        let e = load_layer(Path::new("no/such/layer.json")).unwrap_err();
        assert!(e.starts_with("no/such/layer.json: cannot read it: "), "{e}");
    }

    #[test]
    fn groupnet_rounding_error_is_exactly_the_lambda_rounding() {
        // n = 1, weight +1: the lane's dot is +-1, so every error is |77/256 - 0.3|.
        let layer = GroupNetLayer { weights: vec![vec![1.0]], lambdas: vec![0.3], frac_bits: 8, coef_bits: 16 };
        let report = layer.error_report(&layer.decompose().unwrap(), 50, 3);
        let error = 77.0 / 256.0 - 0.3;
        for stats in [&report.vs_real_coefficients, &report.vs_full_precision] {
            assert!((stats.mean_abs - error).abs() < 1e-15 && (stats.max_abs - error).abs() < 1e-15, "{stats:?}");
            assert!((stats.relative_rms.unwrap() - error / 0.3).abs() < 1e-12);
        }
    }

    #[test]
    fn exact_decompositions_report_zero_error() {
        let groupnet = GroupNetLayer {
            weights: vec![vec![1.0, -1.0, -1.0, 1.0, 1.0], vec![-1.0, -1.0, 1.0, 1.0, -1.0]],
            lambdas: vec![0.75, -0.125],
            frac_bits: 3,
            coef_bits: 8,
        };
        // Two-valued weights on the M = 2 endpoints and 2-bit activations that
        // each have their own piece with beta equal to the activation.
        let pa = PaLayer {
            weights: vec![-0.5, 0.5, 0.5, -0.5, 0.5, -0.5],
            m: 2,
            act_endpoints: vec![-1.0, -0.5, 0.0, 0.5],
            betas: vec![-1.0, -0.5, 0.0, 0.5],
            act_bits: 2,
            act_frac_bits: 1,
            frac_bits: 2,
            coef_bits: 4,
        };
        let reports = [
            groupnet.error_report(&groupnet.decompose().unwrap(), 100, 5),
            pa.error_report(&pa.decompose().unwrap(), 100, 5),
        ];
        for report in reports {
            for stats in [&report.vs_real_coefficients, &report.vs_full_precision] {
                assert_eq!((stats.mean_abs, stats.max_abs, stats.rms, stats.relative_rms), (0.0, 0.0, 0.0, Some(0.0)));
                assert!(stats.reference_rms > 0.0);
            }
        }
    }

    #[test]
    fn pa_hardware_result_is_the_sum_of_phi_times_popcounts() {
        // One activation per piece, hand-computed: weights [-2, 2] with M = 2
        // (std 2, cuts at +-2) are alone in bases 0 and 1; activations 5 and -3
        // with endpoints [-4, 0] are in pieces 1 and 0. The hardware sums
        // phi[0][1] + phi[1][0] = -2 * 0.25 + 2 * -1 = -2.5.
        let layer = PaLayer {
            weights: vec![-2.0, 2.0],
            m: 2,
            act_endpoints: vec![-4.0, 0.0],
            betas: vec![-1.0, 0.25],
            act_bits: 4,
            act_frac_bits: 0,
            frac_bits: 2,
            coef_bits: 8,
        };
        let d = layer.decompose().unwrap();
        assert_eq!(d.phi, [[8, -2], [-8, 2]]);
        let v = activation_bases(&[5, -3], &d.act_endpoints);
        assert_eq!(v, [bits(2, &[1]), bits(2, &[0])]);
        let hardware: i64 = (0..2)
            .flat_map(|i| (0..2).map(move |j| (i, j)))
            .map(|(i, j)| d.phi[i][j] * d.bases[i].and(&v[j]).count_ones() as i64)
            .sum();
        assert_eq!(hardware as f64 / 4.0, -2.5);
    }

    #[test]
    fn the_report_serialises_and_summarises() {
        let layer = Layer::parse(include_str!("../../testbench/layer_pa.json")).unwrap();
        let report = layer.error_report(&layer.decompose().unwrap(), 10, 7);
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["scheme"], "pa");
        assert_eq!(json["samples"], 10);
        assert!(json["vs_full_precision"]["relative_rms"].is_number());
        let summary = report.summary();
        assert_eq!(summary.lines().count(), 3, "{summary}");
        assert!(summary.starts_with("pa layer, n = 18, 10 random inputs (seed 7)"), "{summary}");
    }

    #[test]
    fn significant_digits() {
        assert_eq!(significant(0.00097656), "0.0009766");
        assert_eq!(significant(12.345678), "12.35");
        assert_eq!(significant(123456.0), "123456");
        assert_eq!(significant(1.5e-7), "1.500e-7");
        assert_eq!(significant(0.0), "0");
    }
}
