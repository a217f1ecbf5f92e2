//! Layer files for the streaming engines (SPEC section 6): a whole conv
//! layer in real numbers, decomposed into the engine's binary weights and
//! fixed-point constants as [`crate::spec::layer`] decomposes one dot
//! product, with batch norm and the next layer's quantiser folded into
//! integer thresholds (SPEC 6.5).
//!
//! - `groupnet_conv` (the `conv` engine): K branches of real weights, each
//!   binarised by sign, and their real lambdas; optional fusion thetas
//!   (Group-Net's soft gate, C_i = sigmoid(theta_i)).
//! - `pa_conv`: real weights cut into M pieces by endpoints at multiples of
//!   std(W), W being **the whole layer's weights** (every output channel):
//!   the engine multiplies by one M x N matrix phi_ij = alpha_i * beta_j
//!   (SPEC 6.4), so alpha_i, the mean of piece i, must be one number for
//!   every channel; it is also PA-Net's own definition (std of the layer's
//!   weight tensor). Per-channel cuts would need a phi per channel.
//!
//! Folding (SPEC section 2 and 6.5): the engine's y is the real sum times
//! 2^frac_bits. Batch norm `z = gamma (y_real - mean) / sqrt(var + eps) +
//! beta` and the next layer's quantiser (the level is #{j: z >= v_j};
//! sign: one endpoint at 0) become, per channel, thresholds t and a sign s
//! with #{t: s*y >= t} = #{j: z >= v_j} for every integer y, rounded up so
//! that every comparison stays exact:
//!
//! - gamma > 0: z >= v iff y >= 2^F (mean + (v - beta) sqrt(var + eps) /
//!   gamma) =: r, i.e. y >= ceil(r); s = +1.
//! - gamma < 0: the inequality flips, y <= r, i.e. -y >= ceil(-r); s = -1.
//!   r falls as v rises, so -r, and the thresholds, rise.
//! - gamma = 0: z = beta whatever y is; the level L = #{j: beta >= v_j} is
//!   a constant, given by L thresholds at the lowest sum (always reached)
//!   and the rest one above the highest (never reached).
//!
//! Thresholds beyond the sums' exact range are clamped to one past it,
//! which changes no level and keeps the comparators narrow.

use crate::spec::engine::{
    EngineKind, EngineParams, Folding, Geometry, MAX_CHANNELS, MAX_DILATION, MAX_ENGINE_LANES, MAX_KERNEL, MAX_SIDE,
    MAX_STRIDE, MAX_THRESHOLDS, Output, Padding, WeightForm, WeightStorage,
};
use crate::spec::layer::{
    self, ActFormat, BASES_RANGE, COEF_BITS_RANGE, DEFAULT_ACT_FRAC_BITS, DEFAULT_COEF_BITS, DEFAULT_FRAC_BITS,
    DEFAULT_M, FRAC_BITS_RANGE, check_count, check_finite, check_int, check_one_per, int_field, reals, reject_unknown,
    required, shown,
};
use crate::util::bits::BitVec;
use serde_json::{Map, Value};
use std::ops::RangeInclusive;
use std::path::Path;

/// PyTorch's default.
pub const DEFAULT_EPS: f64 = 1e-5;
/// An engine's activations are 1..=16 bits (as `--act-bits`).
const ENGINE_ACT_BITS: RangeInclusive<u64> = 1..=16;
pub const DEFAULT_ENGINE_ACT_BITS: u32 = 8;

/// Batch norm per output channel, at inference.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchNorm {
    pub gamma: Vec<f64>,
    pub beta: Vec<f64>,
    pub mean: Vec<f64>,
    pub var: Vec<f64>,
    pub eps: f64,
}

impl BatchNorm {
    /// `gamma (y - mean) / sqrt(var + eps) + beta` of channel `o`.
    pub fn apply(&self, o: usize, y: f64) -> f64 {
        self.gamma[o] * (y - self.mean[o]) / (self.var[o] + self.eps).sqrt() + self.beta[o]
    }
}

/// What each scheme's engine is made of, in real numbers.
#[derive(Clone, Debug, PartialEq)]
pub enum ConvScheme {
    GroupNet {
        /// K lanes of cout lists of k*k*cin reals, element `(ky*k + kx)*cin + c`.
        weights: Vec<Vec<Vec<f64>>>,
        lambdas: Vec<f64>,
        /// Every lane reads the same binary input (layer-wise decomposition).
        shared_input: bool,
        /// The fusion gate's thetas, one per lane: the output is then `fusion`.
        fusion_thetas: Option<Vec<f64>>,
        /// A network's first layer (SPEC 7): the input is the image's
        /// unsigned pixels of this many bits, not +1/-1 bits; the engine is
        /// then a `pa_conv` on their bit-planes ([`EngineParams::on_pixels`]).
        input_bits: Option<u32>,
    },
    Pa {
        /// cout lists of k*k*cin reals.
        weights: Vec<Vec<f64>>,
        m: usize,
        act_endpoints: Vec<f64>,
        betas: Vec<f64>,
        act: ActFormat,
    },
}

/// A conv layer in real numbers.
#[derive(Clone, Debug, PartialEq)]
pub struct ConvLayer {
    pub geometry: Geometry,
    pub scheme: ConvScheme,
    pub batch_norm: Option<BatchNorm>,
    /// The next layer's activation endpoints, in the units of z.
    pub next_endpoints: Option<Vec<f64>>,
    pub frac_bits: u32,
    pub coef_bits: u32,
}

/// One channel's folded thresholds.
#[derive(Clone, Debug, PartialEq)]
pub struct FoldedChannel {
    /// +1, or -1 for a negative gamma: the thresholds compare -y.
    pub sign: i64,
    /// Ascending integers: the level is #{t: sign * y >= t}.
    pub thresholds: Vec<i64>,
    /// Before rounding up, in units of y's integer (`sign` applied); `None`
    /// for a constant channel.
    pub reals: Option<Vec<f64>>,
    /// gamma = 0: the level every y gives.
    pub constant_level: Option<usize>,
}

/// PA-Net's cut of the whole layer's weights.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerPieces {
    pub std: f64,
    pub weight_endpoints: Vec<f64>,
    pub alphas: Vec<f64>,
    pub zero_piece_weights: usize,
}

/// A decomposed conv layer: the engine and what was chosen on the way.
#[derive(Clone, Debug, PartialEq)]
pub struct ConvDecomposition {
    /// Every constant of the engine; folding one channel and one tap's
    /// channels per cycle (`pe` 1, `simd` cin), named by [`model_top`].
    pub params: EngineParams,
    /// `pa_conv` only.
    pub pieces: Option<LayerPieces>,
    /// Fusion output: F[i][j] = C_i [i = j] + (1 - C_i) lambda_j, real.
    pub fusion_reals: Option<Vec<Vec<f64>>>,
    /// Threshold output: per channel.
    pub folded: Option<Vec<FoldedChannel>>,
}

impl ConvLayer {
    pub fn kind(&self) -> EngineKind {
        match self.scheme {
            ConvScheme::GroupNet { .. } => EngineKind::Conv,
            ConvScheme::Pa { .. } => EngineKind::PaConv,
        }
    }

    /// The file's `"scheme"`.
    pub fn scheme_name(&self) -> &'static str {
        scheme_name(self.kind())
    }

    /// The endpoints the output is quantised by: the next layer's, or one
    /// at 0 (its sign) with batch norm alone; `None` without either (the
    /// sums, or the fusion bits).
    pub fn output_endpoints(&self) -> Option<Vec<f64>> {
        match (&self.next_endpoints, &self.batch_norm) {
            (Some(v), _) => Some(v.clone()),
            (None, Some(_)) => Some(vec![0.0]),
            (None, None) => None,
        }
    }

    /// The float layer's output level of channel `o` for the real sum `y`:
    /// #{j: z >= v_j}, z the batch norm of `y` (or `y` itself).
    pub fn real_level(&self, o: usize, y: f64) -> usize {
        let z = self.batch_norm.as_ref().map_or(y, |bn| bn.apply(o, y));
        self.output_endpoints().unwrap_or_default().iter().filter(|&&v| z >= v).count()
    }
}

fn scheme_name(kind: EngineKind) -> &'static str {
    match kind {
        EngineKind::Conv => "groupnet_conv",
        EngineKind::PaConv => "pa_conv",
    }
}

/// The engine a layer file's `"scheme"` asks for, if it is an engine's
/// (`None` for anything else, a unit's layer file or an unreadable one).
pub fn engine_kind_of(path: &Path) -> Option<EngineKind> {
    let text = std::fs::read_to_string(path).ok()?;
    engine_kind_of_value(&serde_json::from_str(&text).ok()?)
}

/// The engine a layer's `"scheme"` names, if it is an engine's.
pub fn engine_kind_of_value(value: &Value) -> Option<EngineKind> {
    let scheme = value.get("scheme")?.as_str()?;
    [EngineKind::Conv, EngineKind::PaConv].into_iter().find(|&k| scheme == scheme_name(k))
}

/// Reads, checks and decomposes the layer file of engine `kind`; every
/// error starts with the path.
pub fn load_conv_layer(path: &Path, kind: EngineKind) -> Result<(ConvLayer, ConvDecomposition), String> {
    let shown = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| format!("{shown}: cannot read it: {e}"))?;
    let layer = ConvLayer::parse(&text, kind).map_err(|e| format!("{shown}: {e}"))?;
    let decomposition = layer.decompose().map_err(|e| format!("{shown}: {e}"))?;
    Ok((layer, decomposition))
}

/// The name of an engine made from a layer file.
pub fn model_top(p: &EngineParams) -> String {
    format!("{}_model", p.default_top())
}

// ---------------------------------------------------------------------------
// Layer files

const GEOMETRY_FIELDS: [&str; 8] = ["height", "width", "cin", "cout", "kernel", "stride", "padding", "dilations"];
const OUTPUT_FIELDS: [&str; 2] = ["batch_norm", "next_endpoints"];
const GROUPNET_FIELDS: [&str; 5] = ["weights", "lambdas", "shared_input", "fusion_thetas", "input_bits"];
/// Pixels of a first layer are 1..=16 bits, as a network's input.
pub const INPUT_BITS_RANGE: RangeInclusive<u64> = 1..=16;
const PA_FIELDS: [&str; 7] = ["weights", "m", "act_endpoints", "betas", "act_bits", "act_frac_bits", "act_signed"];
const BATCH_NORM_FIELDS: [&str; 5] = ["gamma", "beta", "mean", "var", "eps"];

impl ConvLayer {
    /// Parses and checks the JSON text of the layer file of engine `kind`.
    pub fn parse(text: &str, kind: EngineKind) -> Result<ConvLayer, String> {
        let value: Value = serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
        ConvLayer::from_value(&value, kind)
    }

    /// Parses and checks a layer file's JSON value (also a network's inline
    /// `"model"`).
    pub fn from_value(value: &Value, kind: EngineKind) -> Result<ConvLayer, String> {
        let fields = value
            .as_object()
            .ok_or_else(|| format!("must hold a JSON object {{\"scheme\": ...}}, got {}", shown(value)))?;
        let scheme = required(fields, "scheme")?;
        if scheme.as_str() != Some(scheme_name(kind)) {
            let wanted = scheme_name(kind);
            return Err(format!("\"scheme\" must be \"{wanted}\" for --block {}, got {}", kind.name(), shown(scheme)));
        }
        let own: &[&str] = if kind == EngineKind::Conv { &GROUPNET_FIELDS } else { &PA_FIELDS };
        reject_unknown(fields, scheme_name(kind), &[&GEOMETRY_FIELDS[..], &OUTPUT_FIELDS, own].concat())?;
        let scheme = match kind {
            EngineKind::Conv => parse_groupnet(fields)?,
            EngineKind::PaConv => parse_pa(fields)?,
        };
        let lanes = match &scheme {
            ConvScheme::GroupNet { weights, .. } => weights.len(),
            ConvScheme::Pa { .. } => 1,
        };
        let layer = ConvLayer {
            geometry: parse_geometry(fields, lanes)?,
            scheme,
            batch_norm: fields.get("batch_norm").map(parse_batch_norm).transpose()?,
            next_endpoints: fields.get("next_endpoints").map(|v| reals(v, "\"next_endpoints\"")).transpose()?,
            frac_bits: int_field(fields, "frac_bits", DEFAULT_FRAC_BITS.into(), FRAC_BITS_RANGE)? as u32,
            coef_bits: int_field(fields, "coef_bits", DEFAULT_COEF_BITS.into(), COEF_BITS_RANGE)? as u32,
        };
        layer.check()?;
        Ok(layer)
    }
}

fn required_int(fields: &Map<String, Value>, name: &str, range: RangeInclusive<u64>) -> Result<usize, String> {
    required(fields, name)?;
    Ok(int_field(fields, name, 0, range)? as usize)
}

fn bool_field(fields: &Map<String, Value>, name: &str, default: bool) -> Result<bool, String> {
    match fields.get(name) {
        None => Ok(default),
        Some(v) => v.as_bool().ok_or_else(|| format!("\"{name}\" must be true or false, got {}", shown(v))),
    }
}

/// `lanes` dilations default to 1 each; their count is checked with the layer.
fn parse_geometry(fields: &Map<String, Value>, lanes: usize) -> Result<Geometry, String> {
    let padding = match fields.get("padding") {
        None => Padding::Same,
        Some(v) => match v.as_str() {
            Some("same") => Padding::Same,
            Some("valid") => Padding::Valid,
            _ => return Err(format!("\"padding\" must be \"same\" or \"valid\", got {}", shown(v))),
        },
    };
    let dilations = match fields.get("dilations") {
        None => vec![1; lanes],
        Some(v) => {
            let items =
                v.as_array().ok_or_else(|| format!("\"dilations\" must be a list of integers, got {}", shown(v)))?;
            let range = 1..=MAX_DILATION as u64;
            let one = |(d, item): (usize, &Value)| match item.as_u64() {
                Some(x) if range.contains(&x) => Ok(x as usize),
                _ => Err(layer::out_of_range(&format!("\"dilations\"[{d}]"), "an integer", &range, &shown(item))),
            };
            items.iter().enumerate().map(one).collect::<Result<_, _>>()?
        }
    };
    Ok(Geometry {
        height: required_int(fields, "height", 1..=MAX_SIDE as u64)?,
        width: required_int(fields, "width", 1..=MAX_SIDE as u64)?,
        cin: required_int(fields, "cin", 1..=MAX_CHANNELS as u64)?,
        cout: required_int(fields, "cout", 1..=MAX_CHANNELS as u64)?,
        kernel: required_int(fields, "kernel", 1..=MAX_KERNEL as u64)?,
        stride: int_field(fields, "stride", 1, 1..=MAX_STRIDE as u64)? as usize,
        padding,
        dilations,
    })
}

/// A list of lists of reals at `path`; `shape` describes it in the error.
fn real_lists(value: &Value, path: &str, shape: &str) -> Result<Vec<Vec<f64>>, String> {
    let lists = value.as_array().ok_or_else(|| format!("{path} must be a list of {shape}, got {}", shown(value)))?;
    lists.iter().enumerate().map(|(i, list)| reals(list, &format!("{path}[{i}]"))).collect()
}

fn parse_groupnet(fields: &Map<String, Value>) -> Result<ConvScheme, String> {
    let weights = required(fields, "weights")?;
    let shape = "cout lists of kernel*kernel*cin reals";
    let lanes = weights
        .as_array()
        .ok_or_else(|| format!("\"weights\" must be a list of K lists (lanes) of {shape}, got {}", shown(weights)))?;
    Ok(ConvScheme::GroupNet {
        weights: lanes
            .iter()
            .enumerate()
            .map(|(i, lane)| real_lists(lane, &format!("\"weights\"[{i}]"), shape))
            .collect::<Result<_, _>>()?,
        lambdas: reals(required(fields, "lambdas")?, "\"lambdas\"")?,
        shared_input: bool_field(fields, "shared_input", true)?,
        fusion_thetas: fields.get("fusion_thetas").map(|v| reals(v, "\"fusion_thetas\"")).transpose()?,
        input_bits: match fields.get("input_bits") {
            None => None,
            Some(_) => Some(int_field(fields, "input_bits", 1, INPUT_BITS_RANGE)? as u32),
        },
    })
}

fn parse_pa(fields: &Map<String, Value>) -> Result<ConvScheme, String> {
    Ok(ConvScheme::Pa {
        weights: real_lists(required(fields, "weights")?, "\"weights\"", "cout lists of kernel*kernel*cin reals")?,
        m: int_field(fields, "m", DEFAULT_M as u64, BASES_RANGE)? as usize,
        act_endpoints: reals(required(fields, "act_endpoints")?, "\"act_endpoints\"")?,
        betas: reals(required(fields, "betas")?, "\"betas\"")?,
        act: ActFormat {
            bits: int_field(fields, "act_bits", DEFAULT_ENGINE_ACT_BITS.into(), ENGINE_ACT_BITS)? as u32,
            frac_bits: int_field(fields, "act_frac_bits", DEFAULT_ACT_FRAC_BITS.into(), FRAC_BITS_RANGE)? as u32,
            signed: bool_field(fields, "act_signed", true)?,
        },
    })
}

fn parse_batch_norm(value: &Value) -> Result<BatchNorm, String> {
    let fields = value.as_object().ok_or_else(|| {
        format!(
            "\"batch_norm\" must be an object {{\"gamma\", \"beta\", \"mean\", \"var\", \"eps\"}}, got {}",
            shown(value)
        )
    })?;
    if let Some(key) = fields.keys().find(|k| !BATCH_NORM_FIELDS.contains(&k.as_str())) {
        return Err(format!(
            "\"batch_norm.{key}\" is not a field of batch_norm: the fields are {}",
            BATCH_NORM_FIELDS.join(", ")
        ));
    }
    let list = |name: &str| -> Result<Vec<f64>, String> {
        let path = format!("\"batch_norm.{name}\"");
        reals(fields.get(name).ok_or_else(|| format!("{path} is missing: it is a required field"))?, &path)
    };
    let eps = match fields.get("eps") {
        None => DEFAULT_EPS,
        Some(v) => v.as_f64().ok_or_else(|| format!("\"batch_norm.eps\" must be a real number, got {}", shown(v)))?,
    };
    Ok(BatchNorm { gamma: list("gamma")?, beta: list("beta")?, mean: list("mean")?, var: list("var")?, eps })
}

// ---------------------------------------------------------------------------
// Checks

fn strictly_increasing(path: &str, values: &[f64]) -> Result<(), String> {
    match values.windows(2).find(|pair| pair[1] <= pair[0]) {
        Some(pair) => Err(format!("{path} must be strictly increasing, got {} after {}", pair[1], pair[0])),
        None => Ok(()),
    }
}

impl ConvLayer {
    /// The rules of the format, for layers made in code too.
    pub fn check(&self) -> Result<(), String> {
        let lanes = match &self.scheme {
            ConvScheme::GroupNet { weights, .. } => {
                check_count("\"weights\"", weights.len(), 1..=MAX_ENGINE_LANES as u64, "lists (lanes)")?;
                weights.len()
            }
            ConvScheme::Pa { .. } => 1,
        };
        self.check_geometry(lanes)?;
        match &self.scheme {
            ConvScheme::GroupNet { weights, lambdas, fusion_thetas, input_bits, shared_input } => {
                if let Some(bits) = input_bits {
                    check_int("input_bits", (*bits).into(), INPUT_BITS_RANGE)?;
                    if !shared_input || fusion_thetas.is_some() {
                        return Err("\"input_bits\" (a first layer on pixels) reads one input and gives sums or levels: it takes neither \"shared_input\": false nor \"fusion_thetas\"".into());
                    }
                    if let Some(d) = self.geometry.dilations.iter().find(|&&d| d != self.geometry.dilations[0]) {
                        return Err(format!(
                            "\"dilations\" {:?}: a first layer on pixels (\"input_bits\") has one dilation for all lanes, got {d} beside {}",
                            self.geometry.dilations, self.geometry.dilations[0]
                        ));
                    }
                }
                for (i, lane) in weights.iter().enumerate() {
                    self.check_weights(&format!("\"weights\"[{i}]"), lane)?;
                }
                check_one_per("\"lambdas\"", lambdas.len(), "lane", lanes)?;
                check_finite("\"lambdas\"", lambdas)?;
                if let Some(thetas) = fusion_thetas {
                    check_one_per("\"fusion_thetas\"", thetas.len(), "lane", lanes)?;
                    check_finite("\"fusion_thetas\"", thetas)?;
                    if let Some(other) = OUTPUT_FIELDS.iter().find(|f| self.output_field_given(f)) {
                        return Err(format!(
                            "\"fusion_thetas\" and \"{other}\" cannot both be given: the fusion output compares each lane's fused sum with 0"
                        ));
                    }
                }
            }
            ConvScheme::Pa { weights, m, act_endpoints, betas, act } => {
                self.check_weights("\"weights\"", weights)?;
                check_int("m", *m as u64, BASES_RANGE)?;
                check_count("\"act_endpoints\"", act_endpoints.len(), BASES_RANGE, "reals")?;
                check_finite("\"act_endpoints\"", act_endpoints)?;
                strictly_increasing("\"act_endpoints\"", act_endpoints)?;
                check_one_per("\"betas\"", betas.len(), "activation endpoint", act_endpoints.len())?;
                check_finite("\"betas\"", betas)?;
                check_int("act_bits", act.bits.into(), ENGINE_ACT_BITS)?;
                check_int("act_frac_bits", act.frac_bits.into(), FRAC_BITS_RANGE)?;
            }
        }
        self.check_output()?;
        check_int("frac_bits", self.frac_bits.into(), FRAC_BITS_RANGE)?;
        check_int("coef_bits", self.coef_bits.into(), COEF_BITS_RANGE)
    }

    fn output_field_given(&self, field: &str) -> bool {
        match field {
            "batch_norm" => self.batch_norm.is_some(),
            _ => self.next_endpoints.is_some(),
        }
    }

    fn check_geometry(&self, lanes: usize) -> Result<(), String> {
        let g = &self.geometry;
        check_int("height", g.height as u64, 1..=MAX_SIDE as u64)?;
        check_int("width", g.width as u64, 1..=MAX_SIDE as u64)?;
        check_int("cin", g.cin as u64, 1..=MAX_CHANNELS as u64)?;
        check_int("cout", g.cout as u64, 1..=MAX_CHANNELS as u64)?;
        check_int("kernel", g.kernel as u64, 1..=MAX_KERNEL as u64)?;
        check_int("stride", g.stride as u64, 1..=MAX_STRIDE as u64)?;
        if g.dilations.len() != lanes {
            let per = if self.kind() == EngineKind::Conv {
                format!("one integer per lane ({lanes})")
            } else {
                "one integer (pa_conv has one dilation)".into()
            };
            return Err(format!("\"dilations\" must hold {per}, got {}", g.dilations.len()));
        }
        let range = 1..=MAX_DILATION as u64;
        if let Some((d, x)) = g.dilations.iter().enumerate().find(|(_, x)| !range.contains(&(**x as u64))) {
            return Err(layer::out_of_range(&format!("\"dilations\"[{d}]"), "an integer", &range, &x.to_string()));
        }
        g.check(|field| format!("\"{field}\""))
    }

    /// cout lists of k*k*cin finite reals.
    fn check_weights(&self, path: &str, lists: &[Vec<f64>]) -> Result<(), String> {
        let g = &self.geometry;
        if lists.len() != g.cout {
            return Err(format!(
                "{path} must hold one list per output channel (cout = {}), got {}",
                g.cout,
                lists.len()
            ));
        }
        for (o, list) in lists.iter().enumerate() {
            let at = format!("{path}[{o}]");
            if list.len() != g.window_len() {
                return Err(format!(
                    "{at} must hold kernel*kernel*cin = {} reals (element (ky*kernel + kx)*cin + c), got {}",
                    g.window_len(),
                    list.len()
                ));
            }
            check_finite(&at, list)?;
        }
        Ok(())
    }

    fn check_output(&self) -> Result<(), String> {
        let cout = self.geometry.cout;
        if let Some(bn) = &self.batch_norm {
            for (name, list) in [("gamma", &bn.gamma), ("beta", &bn.beta), ("mean", &bn.mean), ("var", &bn.var)] {
                let path = format!("\"batch_norm.{name}\"");
                check_one_per(&path, list.len(), "output channel", cout)?;
                check_finite(&path, list)?;
            }
            if !(bn.eps.is_finite() && bn.eps >= 0.0) {
                return Err(format!("\"batch_norm.eps\" must be a finite real >= 0, got {}", bn.eps));
            }
            if let Some(o) = (0..cout).find(|&o| bn.var[o] < 0.0) {
                return Err(format!("\"batch_norm.var\"[{o}] must be >= 0, got {}", bn.var[o]));
            }
            if let Some(o) = (0..cout).find(|&o| bn.var[o] + bn.eps <= 0.0) {
                return Err(format!(
                    "\"batch_norm.var\"[{o}] + \"batch_norm.eps\" must be > 0 (batch norm divides by its square root), got {} + {}",
                    bn.var[o], bn.eps
                ));
            }
        }
        if let Some(v) = &self.next_endpoints {
            check_count("\"next_endpoints\"", v.len(), 1..=MAX_THRESHOLDS as u64, "reals")?;
            check_finite("\"next_endpoints\"", v)?;
            strictly_increasing("\"next_endpoints\"", v)?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Folding batch norm and the next quantiser into thresholds

/// One channel's batch norm: z = gamma (y - mean) / std + beta, std =
/// sqrt(var + eps) > 0.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ChannelNorm {
    pub gamma: f64,
    pub beta: f64,
    pub mean: f64,
    pub std: f64,
}

impl ChannelNorm {
    /// No batch norm: z = y.
    pub const IDENTITY: ChannelNorm = ChannelNorm { gamma: 1.0, beta: 0.0, mean: 0.0, std: 1.0 };

    pub fn of(bn: &BatchNorm, o: usize) -> ChannelNorm {
        ChannelNorm { gamma: bn.gamma[o], beta: bn.beta[o], mean: bn.mean[o], std: (bn.var[o] + bn.eps).sqrt() }
    }
}

/// Folds a channel's batch norm and the ascending endpoints `v` into
/// thresholds on y, the real sum times 2^`frac_bits`, whose every value
/// lies in `range`: #{t: sign*y >= t} = #{j: z >= v_j} (see the module's
/// notes). Thresholds outside the values of `sign*y` are clamped to its
/// lowest (always reached) or one above its highest (never reached).
pub fn fold_channel(norm: ChannelNorm, v: &[f64], frac_bits: u32, (lo, hi): (i64, i64)) -> FoldedChannel {
    let scale = f64::from(frac_bits).exp2();
    if norm.gamma == 0.0 {
        let level = v.iter().filter(|&&v| norm.beta >= v).count();
        let thresholds = (0..v.len()).map(|j| if j < level { lo } else { hi + 1 }).collect();
        return FoldedChannel { sign: 1, thresholds, reals: None, constant_level: Some(level) };
    }
    let sign = if norm.gamma > 0.0 { 1 } else { -1 };
    // The values sign*y takes.
    let (low, high) = if sign > 0 { (lo, hi) } else { (-hi, -lo) };
    let reals: Vec<f64> =
        v.iter().map(|&v| sign as f64 * scale * (norm.mean + (v - norm.beta) * norm.std / norm.gamma)).collect();
    let thresholds = reals
        .iter()
        .map(|&r| {
            let up = r.ceil();
            if up <= low as f64 {
                low
            } else if up > high as f64 {
                high + 1
            } else {
                up as i64
            }
        })
        .collect();
    FoldedChannel { sign, thresholds, reals: Some(reals), constant_level: None }
}

// ---------------------------------------------------------------------------
// Decomposition

impl ConvLayer {
    pub fn decompose(&self) -> Result<ConvDecomposition, String> {
        self.check()?;
        let g = &self.geometry;
        let mut p = EngineParams {
            kind: self.kind(),
            top: String::new(),
            geometry: g.clone(),
            folding: Folding { pe: 1, simd: g.cin },
            weights_in: WeightStorage::Auto,
            weight_form: WeightForm::Auto,
            weights: vec![],
            shared_input: false,
            lambdas: vec![],
            lambda_reals: vec![],
            act_bits: 0,
            act_signed: true,
            endpoints: vec![],
            bitplanes: false,
            phi: vec![],
            phi_reals: vec![],
            frac_bits: self.frac_bits,
            coef_bits: self.coef_bits,
            output: Output::Sum,
            sums: (0, 0),
        };
        let mut d = ConvDecomposition { params: p.clone(), pieces: None, fusion_reals: None, folded: None };
        match &self.scheme {
            ConvScheme::GroupNet { weights, lambdas, shared_input, fusion_thetas, .. } => {
                p.weights = weights.iter().map(|lane| lane.iter().map(|w| layer::sign_bits(w)).collect()).collect();
                p.shared_input = *shared_input;
                p.lambda_reals = lambdas.clone();
                p.lambdas = lambdas
                    .iter()
                    .enumerate()
                    .map(|(i, &l)| self.coefficient(&format!("\"lambdas\"[{i}] = {l}"), l))
                    .collect::<Result<_, _>>()?;
                if let Some(thetas) = fusion_thetas {
                    let reals = fusion_reals(thetas, lambdas);
                    let fusion = self.fusion_fixed(&reals)?;
                    p.output = Output::Fusion { fusion, thresholds: vec![vec![0; g.cout]; weights.len()] };
                    d.fusion_reals = Some(reals);
                }
            }
            ConvScheme::Pa { weights, m, act_endpoints, betas, act } => {
                d.pieces = Some(self.pa_settings(&mut p, (weights, *m), (act_endpoints, betas), act)?);
            }
        }
        p.sums = p.compute_sum_range();
        if let ConvScheme::GroupNet { input_bits: Some(bits), .. } = &self.scheme {
            p = p.on_pixels(*bits)?;
        }
        if let Some(v) = self.output_endpoints() {
            let folded: Vec<FoldedChannel> = (0..g.cout)
                .map(|o| {
                    let norm = self.batch_norm.as_ref().map_or(ChannelNorm::IDENTITY, |bn| ChannelNorm::of(bn, o));
                    fold_channel(norm, &v, self.frac_bits, p.sums)
                })
                .collect();
            assert!(folded.iter().all(|f| f.thresholds.is_sorted()), "folded thresholds ascend");
            let thresholds = folded.iter().map(|f| f.thresholds.clone()).collect();
            p.output = Output::Threshold { thresholds, signs: folded.iter().map(|f| f.sign).collect() };
            d.folded = Some(folded);
        }
        p.top = model_top(&p);
        d.params = p;
        Ok(d)
    }

    fn coefficient(&self, what: &str, value: f64) -> Result<i64, String> {
        let format = format!("\"coef_bits\" {} and \"frac_bits\" {}", self.coef_bits, self.frac_bits);
        crate::util::fixed::coefficient(what, value, self.frac_bits, self.coef_bits, &format)
    }

    /// The fusion weights in fixed point; an error names the one that does not fit.
    fn fusion_fixed(&self, reals: &[Vec<f64>]) -> Result<Vec<Vec<i64>>, String> {
        let one = |i: usize, j: usize, f: f64| {
            let what = format!(
                "the fusion weight F[{i}][{j}] = C_{i} [{i} = {j}] + (1 - C_{i}) lambda_{j} = {f} (from \"fusion_thetas\" and \"lambdas\")"
            );
            self.coefficient(&what, f)
        };
        reals.iter().enumerate().map(|(i, row)| row.iter().enumerate().map(|(j, &f)| one(i, j, f)).collect()).collect()
    }

    /// `pa_conv`: the whole layer's weights cut into M pieces (one alpha
    /// per piece for every channel, as one phi needs), each channel's bases,
    /// the activation endpoints rounded up and phi.
    fn pa_settings(
        &self,
        p: &mut EngineParams,
        (weights, m): (&[Vec<f64>], usize),
        (act_endpoints, betas): (&[f64], &[f64]),
        act: &ActFormat,
    ) -> Result<LayerPieces, String> {
        p.endpoints = layer::act_endpoints_fixed(act_endpoints, act)?;
        p.act_bits = act.bits;
        p.act_signed = act.signed;
        let all: Vec<f64> = weights.iter().flatten().copied().collect();
        let cut = layer::cut_weights(&all, m)?;
        let n = self.geometry.window_len();
        p.weights = (0..m)
            .map(|i| (0..weights.len()).map(|o| BitVec::from_fn(n, |e| cut.pieces[o * n + e] == Some(i))).collect())
            .collect();
        p.phi_reals = layer::phi_of(&cut.alphas, betas);
        p.phi = layer::phi_fixed(&p.phi_reals, self.frac_bits, self.coef_bits)?;
        Ok(LayerPieces {
            std: cut.std,
            weight_endpoints: cut.endpoints,
            alphas: cut.alphas,
            zero_piece_weights: cut.pieces.iter().filter(|x| x.is_none()).count(),
        })
    }
}

/// Group-Net's fusion gate at inference: F[i][j] = C_i [i = j] + (1 - C_i)
/// lambda_j with C_i = sigmoid(theta_i), so that lane i's output is the
/// sign of `C_i dot_i + (1 - C_i) sum_j lambda_j dot_j`.
pub fn fusion_reals(thetas: &[f64], lambdas: &[f64]) -> Vec<Vec<f64>> {
    thetas
        .iter()
        .enumerate()
        .map(|(i, theta)| {
            let c = 1.0 / (1.0 + (-theta).exp());
            (0..lambdas.len()).map(|j| if i == j { c } else { 0.0 } + (1.0 - c) * lambdas[j]).collect()
        })
        .collect()
}

impl ConvDecomposition {
    /// What the decomposition chose, beyond what the manifest's params hold.
    pub fn details_json(&self, layer: &ConvLayer) -> Value {
        let mut details = serde_json::json!({ "scheme": layer.scheme_name() });
        match (&layer.scheme, &self.pieces) {
            (ConvScheme::Pa { act, act_endpoints, .. }, Some(pieces)) => {
                details["weight_std"] = pieces.std.into();
                details["weight_cut_over"] =
                    "the whole layer: one std and one alpha per piece for every channel".into();
                details["weight_endpoints"] = pieces.weight_endpoints.clone().into();
                details["alphas"] = pieces.alphas.clone().into();
                details["zero_piece_weights"] = pieces.zero_piece_weights.into();
                details["act_frac_bits"] = act.frac_bits.into();
                details["act_endpoint_reals"] = act_endpoints.clone().into();
            }
            _ => {
                details["lambda_reals"] = self.params.lambda_reals.clone().into();
                details["sign_rule"] = "weight >= 0 is +1 (bit 1)".into();
            }
        }
        if let Some(f) = &self.fusion_reals {
            details["fusion_reals"] = serde_json::json!(f);
        }
        if let Some(folded) = &self.folded {
            details["thresholds"] = serde_json::json!({
                "batch_norm": layer.batch_norm.is_some(),
                "endpoints": layer.output_endpoints(),
                "rounding": "up: y >= ceil(r), or -y >= ceil(-r) for a negative gamma",
                "reals": folded.iter().map(|f| f.reals.clone()).collect::<Vec<_>>(),
                "constant_channels": folded
                    .iter()
                    .enumerate()
                    .filter_map(|(o, f)| f.constant_level.map(|l| serde_json::json!({"channel": o, "level": l})))
                    .collect::<Vec<_>>(),
            });
        }
        details
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The level the thresholds give: #{t: sign*y >= t}.
    fn level(f: &FoldedChannel, y: i64) -> usize {
        f.thresholds.iter().filter(|&&t| f.sign * y >= t).count()
    }

    /// The level the reals give: #{j: z >= v_j}, z = batch norm of y * 2^-frac_bits.
    fn real_level(norm: ChannelNorm, v: &[f64], frac_bits: u32, y: i64) -> usize {
        let y = y as f64 / f64::from(frac_bits).exp2();
        let z = norm.gamma * (y - norm.mean) / norm.std + norm.beta;
        v.iter().filter(|&&v| z >= v).count()
    }

    #[test]
    fn a_positive_gamma_gives_y_at_least_the_rounded_up_threshold() {
        // z >= 0 iff 2 (y/4 - 3.1) / 2 + 1 >= 0 iff y/4 >= 2.1 iff y >= 8.4.
        let norm = ChannelNorm { gamma: 2.0, beta: 1.0, mean: 3.1, std: 2.0 };
        let f = fold_channel(norm, &[0.0], 2, (-100, 100));
        assert_eq!((f.sign, f.thresholds.as_slice(), f.constant_level), (1, [9].as_slice(), None));
        assert!((f.reals.as_ref().unwrap()[0] - 8.4).abs() < 1e-12);
        assert_eq!((level(&f, 8), level(&f, 9)), (0, 1));
        assert_eq!((real_level(norm, &[0.0], 2, 8), real_level(norm, &[0.0], 2, 9)), (0, 1));
    }

    #[test]
    fn a_negative_gamma_flips_the_comparison() {
        // z >= 0 iff -2 (y/4 - 3.1) / 2 + 1 >= 0 iff y <= 16.4 iff -y >= -16.
        let norm = ChannelNorm { gamma: -2.0, beta: 1.0, mean: 3.1, std: 2.0 };
        let f = fold_channel(norm, &[0.0], 2, (-100, 100));
        assert_eq!((f.sign, f.thresholds.as_slice()), (-1, [-16].as_slice()));
        assert_eq!((level(&f, 16), level(&f, 17)), (1, 0));
        assert_eq!((real_level(norm, &[0.0], 2, 16), real_level(norm, &[0.0], 2, 17)), (1, 0));
    }

    #[test]
    fn next_endpoints_give_ascending_thresholds_for_either_sign_of_gamma() {
        // Identity batch norm, 3 fractional bits: v * 8 = -4, 2, 8 exactly,
        // and an endpoint is reached on the dot (z >= v).
        let v = [-0.5, 0.25, 1.0];
        let up = fold_channel(ChannelNorm::IDENTITY, &v, 3, (-100, 100));
        assert_eq!((up.sign, up.thresholds.as_slice()), (1, [-4, 2, 8].as_slice()));
        assert_eq!([-5, -4, 1, 2, 7, 8].map(|y| level(&up, y)), [0, 1, 1, 2, 2, 3]);
        // gamma = -1: z = -y, so z >= v iff -y >= v * 8.
        let down = fold_channel(ChannelNorm { gamma: -1.0, ..ChannelNorm::IDENTITY }, &v, 3, (-100, 100));
        assert_eq!((down.sign, down.thresholds.as_slice()), (-1, [-4, 2, 8].as_slice()));
        assert_eq!([5, 4, -1, -2, -7, -8].map(|y| level(&down, y)), [0, 1, 1, 2, 2, 3]);
        // Not on the grid: v * 8 = -3.6, 2.4, 8.8 round up to -3, 3, 9.
        let off = fold_channel(ChannelNorm::IDENTITY, &[-0.45, 0.3, 1.1], 3, (-100, 100));
        assert_eq!(off.thresholds, [-3, 3, 9]);
    }

    #[test]
    fn a_zero_gamma_gives_a_constant_level() {
        // z = beta = 0.5 for every y: two of the three endpoints are reached.
        let norm = ChannelNorm { gamma: 0.0, beta: 0.5, mean: 3.0, std: 2.0 };
        let f = fold_channel(norm, &[-1.0, 0.0, 1.0], 8, (-37, 52));
        assert_eq!((f.sign, f.thresholds.as_slice(), f.constant_level), (1, [-37, -37, 53].as_slice(), Some(2)));
        assert!((-37..=52).all(|y| level(&f, y) == 2));
        // With the sign alone: beta < 0 gives level 0 throughout.
        let f = fold_channel(ChannelNorm { beta: -0.1, ..norm }, &[0.0], 8, (-37, 52));
        assert_eq!((f.thresholds.as_slice(), f.constant_level), ([53].as_slice(), Some(0)));
    }

    #[test]
    fn thresholds_beyond_the_sums_are_clamped_without_changing_a_level() {
        // A tiny gamma puts the thresholds far outside -10..=10.
        let norm = ChannelNorm { gamma: 1e-6, beta: 0.0, mean: 0.0, std: 1.0 };
        let f = fold_channel(norm, &[-1.0, 0.0, 1.0], 0, (-10, 10));
        assert_eq!(f.thresholds, [-10, 0, 11]);
        let f = fold_channel(ChannelNorm { gamma: -1e-300, ..norm }, &[-1.0, 1.0], 0, (-10, 10));
        assert_eq!((f.sign, f.thresholds.as_slice()), (-1, [-10, 11].as_slice()));
        assert!(
            (-10..=10)
                .all(|y| level(&f, y) == 1
                    && real_level(ChannelNorm { gamma: -1e-300, ..norm }, &[-1.0, 1.0], 0, y) == 1)
        );
    }

    #[test]
    fn folding_is_exact_on_every_sum_of_random_channels() {
        let mut rng = crate::util::bits::SplitMix64::new(5);
        let mut real = || (rng.below(20001) as f64 - 10000.0) / 1000.0;
        for case in 0..300 {
            let gamma = if case % 10 == 0 { 0.0 } else { real() };
            let norm = ChannelNorm { gamma, beta: real(), mean: real(), std: real().abs() + 0.01 };
            let mut v: Vec<f64> = (0..1 + case % 4).map(|_| real()).collect();
            v.sort_by(f64::total_cmp);
            v.dedup();
            let f = fold_channel(norm, &v, 4, (-300, 300));
            assert!(f.thresholds.is_sorted(), "{norm:?} {v:?}: {:?}", f.thresholds);
            for y in -300..=300 {
                assert_eq!(level(&f, y), real_level(norm, &v, 4, y), "{norm:?} {v:?} at y = {y}: {f:?}");
            }
        }
    }

    /// 3x3 maps of 2 channels, a 1x1 kernel, 2 output channels, 2 lanes.
    const GROUPNET_OK: &str = r#""scheme": "groupnet_conv", "height": 3, "width": 3, "cin": 2, "cout": 2, "kernel": 1, "weights": [[[1, -2], [0.5, 3]], [[-1, 1], [1, -0.25]]], "lambdas": [0.5, 0.25]"#;
    const PA_OK: &str = r#""scheme": "pa_conv", "height": 3, "width": 3, "cin": 2, "cout": 2, "kernel": 1, "weights": [[1, -2], [0.5, 3]], "m": 2, "act_endpoints": [0, 1], "betas": [0.5, 1.5]"#;

    fn with(base: &str, replace: &str, by: &str) -> String {
        assert!(base.contains(replace), "{replace} not in {base}");
        format!("{{{}}}", base.replacen(replace, by, 1))
    }

    /// The engine whose fields the file has.
    fn kind_of(json: &str) -> EngineKind {
        if json.contains("act_endpoints") { EngineKind::PaConv } else { EngineKind::Conv }
    }

    fn parse_error(json: &str) -> String {
        match ConvLayer::parse(json, kind_of(json)).and_then(|layer| layer.decompose()) {
            Ok(_) => panic!("{json} was accepted"),
            Err(e) => {
                assert!(!e.contains('\n'), "not one line: {e}");
                e
            }
        }
    }

    #[test]
    fn the_minimal_files_parse_with_defaults() {
        let g = ConvLayer::parse(&format!("{{{GROUPNET_OK}}}"), EngineKind::Conv).unwrap();
        assert_eq!(
            (g.geometry.stride, g.geometry.padding, g.geometry.dilations.as_slice()),
            (1, Padding::Same, [1, 1].as_slice())
        );
        assert_eq!((g.frac_bits, g.coef_bits, g.batch_norm.is_none(), g.next_endpoints.is_none()), (8, 16, true, true));
        let ConvScheme::GroupNet { shared_input, fusion_thetas, .. } = &g.scheme else { panic!() };
        assert!(*shared_input && fusion_thetas.is_none());
        let p = ConvLayer::parse(&format!("{{{}}}", PA_OK.replace(r#""m": 2, "#, "")), EngineKind::PaConv).unwrap();
        let ConvScheme::Pa { m, act, .. } = &p.scheme else { panic!() };
        assert_eq!((*m, act.bits, act.frac_bits, act.signed), (8, 8, 4, true));
        let d = g.decompose().unwrap();
        assert_eq!(d.params.output, Output::Sum);
        assert_eq!(d.params.top, "conv_k2_3x3x2_c2_k1_pe1_simd2_sum_model");
        let bn = r#""batch_norm": {"gamma": [1, -1], "beta": [0, 0], "mean": [0, 0], "var": [1, 1]}"#;
        let with_bn =
            ConvLayer::parse(&with(GROUPNET_OK, "\"lambdas\"", &format!("{bn}, \"lambdas\"")), EngineKind::Conv)
                .unwrap();
        assert_eq!(with_bn.batch_norm.as_ref().unwrap().eps, DEFAULT_EPS);
        assert_eq!(with_bn.output_endpoints(), Some(vec![0.0]));
    }

    #[test]
    fn malformed_files_name_the_field_and_the_range() {
        let bn = |gamma: &str, var: &str| {
            format!(r#""batch_norm": {{"gamma": {gamma}, "beta": [0, 0], "mean": [0, 0], "var": {var}}}, "lambdas""#)
        };
        let cases = [
            (
                with(GROUPNET_OK, "\"groupnet_conv\"", "\"pa_conv\""),
                "\"scheme\" must be \"groupnet_conv\" for --block conv, got \"pa_conv\"",
            ),
            (with(GROUPNET_OK, "\"height\": 3", "\"height\": 0"), "\"height\" must be an integer in 1..=4096, got 0"),
            (with(GROUPNET_OK, "\"height\": 3, ", ""), "\"height\" is missing: it is a required field"),
            (
                with(GROUPNET_OK, "\"kernel\": 1", "\"kernel\": 2"),
                "\"kernel\" 2 with \"padding\" same must be odd: the window is centred",
            ),
            (
                with(GROUPNET_OK, "\"kernel\": 1", "\"kernel\": 1, \"padding\": \"full\""),
                "\"padding\" must be \"same\" or \"valid\", got \"full\"",
            ),
            (
                with(GROUPNET_OK, "\"kernel\": 1", "\"kernel\": 1, \"dilations\": [1]"),
                "\"dilations\" must hold one integer per lane (2), got 1",
            ),
            (
                with(GROUPNET_OK, "\"kernel\": 1", "\"kernel\": 1, \"dilations\": [1, 65]"),
                "\"dilations\"[1] must be an integer in 1..=64, got 65",
            ),
            (
                with(GROUPNET_OK, "\"kernel\": 1", "\"kernel\": 1, \"strid\": 1"),
                "\"strid\" is not a field of a groupnet_conv layer: the fields are height, width, cin, cout, kernel, stride, padding, dilations, batch_norm, next_endpoints, weights, lambdas, shared_input, fusion_thetas, input_bits, frac_bits, coef_bits, scheme, comment",
            ),
            (
                with(GROUPNET_OK, "[[1, -2], [0.5, 3]], [[-1, 1], [1, -0.25]]", "[[1, -2], [0.5, 3]], [[-1, 1]]"),
                "\"weights\"[1] must hold one list per output channel (cout = 2), got 1",
            ),
            (
                with(GROUPNET_OK, "[-1, 1]", "[-1, 1, 2]"),
                "\"weights\"[1][0] must hold kernel*kernel*cin = 2 reals (element (ky*kernel + kx)*cin + c), got 3",
            ),
            (with(GROUPNET_OK, "[-1, 1]", "[-1, \"1\"]"), "\"weights\"[1][0][1] must be a real number, got \"1\""),
            (
                with(GROUPNET_OK, "[[1, -2], [0.5, 3]], [[-1, 1], [1, -0.25]]", ""),
                "\"weights\" must hold 1..=16 lists (lanes), got 0",
            ),
            (with(GROUPNET_OK, "[0.5, 0.25]", "[0.5]"), "\"lambdas\" must hold one real per lane (2), got 1"),
            (
                with(GROUPNET_OK, "[0.5, 0.25]", "[0.5, 200]"),
                "\"lambdas\"[1] = 200 does not fit the fixed-point format: with \"coef_bits\" 16 and \"frac_bits\" 8 it must round into [-128, 127.99609375]",
            ),
            (
                with(GROUPNET_OK, "\"lambdas\"", "\"shared_input\": 1, \"lambdas\""),
                "\"shared_input\" must be true or false, got 1",
            ),
            (
                with(GROUPNET_OK, "\"lambdas\"", &bn("[1, 1, 1]", "[1, 1]")),
                "\"batch_norm.gamma\" must hold one real per output channel (2), got 3",
            ),
            (with(GROUPNET_OK, "\"lambdas\"", &bn("[1, 1]", "[1, -1]")), "\"batch_norm.var\"[1] must be >= 0, got -1"),
            (
                with(
                    GROUPNET_OK,
                    "\"lambdas\"",
                    &bn("[1, 1]", "[1, 0]").replace("\"var\": [1, 0]", "\"var\": [1, 0], \"eps\": 0"),
                ),
                "\"batch_norm.var\"[1] + \"batch_norm.eps\" must be > 0 (batch norm divides by its square root), got 0 + 0",
            ),
            (
                with(
                    GROUPNET_OK,
                    "\"lambdas\"",
                    &bn("[1, 1]", "[1, 1]").replace("\"var\": [1, 1]", "\"var\": [1, 1], \"eps\": -1"),
                ),
                "\"batch_norm.eps\" must be a finite real >= 0, got -1",
            ),
            (
                with(GROUPNET_OK, "\"lambdas\"", &bn("[1, 1]", "[1, 1]").replace("\"gamma\"", "\"scale\"")),
                "\"batch_norm.scale\" is not a field of batch_norm: the fields are gamma, beta, mean, var, eps",
            ),
            (
                with(GROUPNET_OK, "\"lambdas\"", "\"batch_norm\": [1], \"lambdas\""),
                "\"batch_norm\" must be an object {\"gamma\", \"beta\", \"mean\", \"var\", \"eps\"}, got [1]",
            ),
            (
                with(GROUPNET_OK, "\"lambdas\"", "\"next_endpoints\": [0.5, 0.25], \"lambdas\""),
                "\"next_endpoints\" must be strictly increasing, got 0.25 after 0.5",
            ),
            (
                with(GROUPNET_OK, "\"lambdas\"", "\"next_endpoints\": [], \"lambdas\""),
                "\"next_endpoints\" must hold 1..=255 reals, got 0",
            ),
            (
                with(GROUPNET_OK, "\"lambdas\"", "\"fusion_thetas\": [0], \"lambdas\""),
                "\"fusion_thetas\" must hold one real per lane (2), got 1",
            ),
            (
                with(GROUPNET_OK, "\"lambdas\"", "\"fusion_thetas\": [0, 0], \"next_endpoints\": [0], \"lambdas\""),
                "\"fusion_thetas\" and \"next_endpoints\" cannot both be given: the fusion output compares each lane's fused sum with 0",
            ),
            (
                // 1 is beyond this format, and a gate that keeps its own lane (C_0 = 1) has F[0][0] = 1.
                with(
                    GROUPNET_OK,
                    "\"lambdas\"",
                    "\"coef_bits\": 8, \"frac_bits\": 7, \"fusion_thetas\": [100, 0], \"lambdas\"",
                ),
                "the fusion weight F[0][0] = C_0 [0 = 0] + (1 - C_0) lambda_0 = 1 (from \"fusion_thetas\" and \"lambdas\") does not fit the fixed-point format: with \"coef_bits\" 8 and \"frac_bits\" 7 it must round into [-1, 0.9921875]",
            ),
            (
                with(PA_OK, "[[1, -2], [0.5, 3]]", "[[1, -2]]"),
                "\"weights\" must hold one list per output channel (cout = 2), got 1",
            ),
            (
                with(PA_OK, "\"kernel\": 1", "\"kernel\": 1, \"dilations\": [1, 1]"),
                "\"dilations\" must hold one integer (pa_conv has one dilation), got 2",
            ),
            (with(PA_OK, "[0, 1]", "[1, 0]"), "\"act_endpoints\" must be strictly increasing, got 0 after 1"),
            (
                with(PA_OK, "\"m\": 2", "\"m\": 2, \"act_bits\": 17"),
                "\"act_bits\" must be an integer in 1..=16, got 17",
            ),
            (
                with(PA_OK, "\"m\": 2", "\"m\": 2, \"act_bits\": 4, \"act_frac_bits\": 2, \"act_signed\": false")
                    .replace("[0, 1]", "[-0.5, 1]"),
                "\"act_endpoints\"[0] = -0.5 does not fit the activation format: with \"act_bits\" 4 (unsigned) and \"act_frac_bits\" 2 it must round up to an integer in 0..=15 (a real in (-0.25, 3.75]), got -2",
            ),
            (
                with(PA_OK, "\"m\": 2", "\"m\": 2, \"fusion_thetas\": [0, 0]"),
                "\"fusion_thetas\" is not a field of a pa_conv layer: the fields are height, width, cin, cout, kernel, stride, padding, dilations, batch_norm, next_endpoints, weights, m, act_endpoints, betas, act_bits, act_frac_bits, act_signed, frac_bits, coef_bits, scheme, comment",
            ),
            (
                with(PA_OK, "\"height\": 3", "\"height\": 3, \"padding\": \"valid\", \"kernel\": 5")
                    .replace("\"kernel\": 1", "\"stride\": 1"),
                "\"kernel\" 5 at dilation 1 spans 5 pixels, more than the 3x3 map: \"padding\" valid leaves no output",
            ),
        ];
        for (json, expected) in cases {
            assert_eq!(parse_error(&json), expected, "for {json}");
        }
    }

    #[test]
    fn non_finite_numbers_in_layers_made_in_code_are_refused() {
        let mut layer = ConvLayer::parse(&format!("{{{PA_OK}}}"), EngineKind::PaConv).unwrap();
        layer.batch_norm = Some(BatchNorm {
            gamma: vec![1.0, f64::NAN],
            beta: vec![0.0; 2],
            mean: vec![0.0; 2],
            var: vec![1.0; 2],
            eps: 0.0,
        });
        assert_eq!(layer.decompose().unwrap_err(), "\"batch_norm.gamma\"[1] must be a finite real, got NaN");
        layer.batch_norm = None;
        if let ConvScheme::Pa { weights, .. } = &mut layer.scheme {
            weights[1][0] = f64::INFINITY;
        }
        assert_eq!(layer.decompose().unwrap_err(), "\"weights\"[1][0] must be a finite real, got inf");
    }

    #[test]
    fn pa_weights_are_cut_over_the_whole_layer_with_shared_alphas() {
        // Channel 0 holds small weights, channel 1 large ones: one std over
        // all four (population std of [1, -1, 3, -3] is sqrt(5)), so M = 2
        // cuts at +-2.236 and channel 0's weights fall in the zero piece.
        let layer =
            ConvLayer::parse(&with(PA_OK, "[[1, -2], [0.5, 3]]", "[[1, -1], [3, -3]]"), EngineKind::PaConv).unwrap();
        let d = layer.decompose().unwrap();
        let pieces = d.pieces.as_ref().unwrap();
        assert!((pieces.std - 5f64.sqrt()).abs() < 1e-12);
        assert_eq!((pieces.alphas.as_slice(), pieces.zero_piece_weights), ([-3.0, 3.0].as_slice(), 2));
        let bits = |ones: &[usize]| BitVec::from_fn(2, |e| ones.contains(&e));
        assert_eq!(d.params.weights, [vec![bits(&[]), bits(&[1])], vec![bits(&[]), bits(&[0])]]);
        assert_eq!(d.params.phi_reals, [[-1.5, -4.5], [1.5, 4.5]]);
        assert_eq!(d.params.phi, [[-384, -1152], [384, 1152]]);
        // Endpoints round up in the activation format (4 fractional bits).
        assert_eq!(d.params.endpoints, [0, 16]);
    }

    #[test]
    fn groupnet_lanes_are_signs_and_a_negative_gamma_sets_the_threshold_sign() {
        let bn = r#""batch_norm": {"gamma": [2, -2], "beta": [1, 1], "mean": [3.1, 3.1], "var": [4, 4], "eps": 0}, "frac_bits": 2, "lambdas""#;
        let layer = ConvLayer::parse(&with(GROUPNET_OK, "\"lambdas\"", bn), EngineKind::Conv).unwrap();
        let d = layer.decompose().unwrap();
        let bits = |ones: &[usize]| BitVec::from_fn(2, |e| ones.contains(&e));
        assert_eq!(d.params.weights, [vec![bits(&[0]), bits(&[0, 1])], vec![bits(&[1]), bits(&[0])]]);
        assert_eq!(d.params.lambdas, [2, 1]);
        // y = 2 dot_0 + dot_1 over one shared input: per input bit the lanes'
        // coefficients are (1, -1) for channel 0 and (3, 1) for channel 1, so
        // the sums reach +-4 at most, and 9 and -16 clamp to 5 and -4.
        assert_eq!(d.params.sums, (-4, 4));
        let Output::Threshold { thresholds, signs } = &d.params.output else { panic!() };
        assert_eq!((thresholds.as_slice(), signs.as_slice()), ([vec![5], vec![-4]].as_slice(), [1, -1].as_slice()));
        let folded = d.folded.as_ref().unwrap();
        assert_eq!(folded[1].reals.as_ref().unwrap().len(), 1);
        assert_eq!(d.details_json(&layer)["thresholds"]["endpoints"], serde_json::json!([0.0]));
    }

    #[test]
    fn fusion_thetas_give_the_fusion_output_with_thresholds_0() {
        let layer = ConvLayer::parse(
            &with(GROUPNET_OK, "\"lambdas\"", "\"fusion_thetas\": [0, 100], \"lambdas\""),
            EngineKind::Conv,
        )
        .unwrap();
        let d = layer.decompose().unwrap();
        // C_0 = 1/2: F[0] = [0.5 + 0.5 * 0.5, 0.5 * 0.25]; C_1 = sigmoid(100) = 1 to f64: F[1] = [0, 1].
        assert_eq!(d.fusion_reals.as_ref().unwrap()[0], [0.75, 0.125]);
        let Output::Fusion { fusion, thresholds } = &d.params.output else { panic!() };
        assert_eq!(fusion, &[vec![192, 32], vec![0, 256]]);
        assert_eq!(thresholds, &[vec![0, 0], vec![0, 0]]);
    }

    #[test]
    fn the_testbench_conv_layer_files_decompose() {
        for (text, kind) in [
            (include_str!("../../testbench/layer_conv_groupnet.json"), EngineKind::Conv),
            (include_str!("../../testbench/layer_conv_pa.json"), EngineKind::PaConv),
        ] {
            let layer = ConvLayer::parse(text, kind).unwrap();
            let d = layer.decompose().unwrap();
            assert_eq!((d.params.geometry.height, d.params.geometry.width), (6, 6));
            assert!(matches!(d.params.output, Output::Threshold { .. }));
            assert!(d.folded.unwrap().iter().any(|f| f.sign == -1), "each example has a negative gamma");
        }
    }
}
