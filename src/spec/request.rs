//! A design as a person asks for it: every setting typed and optional,
//! validated into [`DesignParams`] with the defaults filled in. The command
//! line's flags (`spec::flags`) parse into a request; studies and tests
//! build requests from the named presets below.
//!
//! Errors name the setting as its command-line flag (`--k 0 is out of
//! range: ...`), the one name a user knows it by.

use crate::spec::layer::{self, Decomposition, Layer};
use crate::spec::params::*;
use crate::util::bits::{BitVec, SplitMix64};
use crate::util::fixed;
use std::path::{Path, PathBuf};

/// Weights as ports or constants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WeightsMode {
    Port,
    Const,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Request {
    /// [default: groupnet]
    pub block: Option<Block>,
    pub k: Option<i64>,
    pub len: Option<i64>,
    pub cin: Option<i64>,
    pub kernel: Option<i64>,
    pub lambda: Option<Vec<f64>>,
    pub frac_bits: Option<i64>,
    pub coef_bits: Option<i64>,
    pub shared_input: bool,
    pub weights: Option<WeightsMode>,
    pub weights_file: Option<PathBuf>,
    pub seed: Option<u64>,
    pub pipeline: Option<i64>,
    pub popcount: Option<PopcountStyle>,
    pub m: Option<i64>,
    pub n: Option<i64>,
    pub act_bits: Option<i64>,
    pub endpoints: Option<Vec<i64>>,
    pub phi: Option<Vec<f64>>,
    pub bits: Option<i64>,
    /// A layer file with real numbers, decomposed (`spec::layer`).
    pub model: Option<PathBuf>,
    pub top: Option<String>,
}

/// Named presets: the designs studies and tests are made of.
impl Request {
    pub fn of(block: Block, len: usize) -> Request {
        Request { block: Some(block), len: Some(len as i64), ..Request::default() }
    }

    pub fn popcount(len: usize) -> Request {
        Request::of(Block::Popcount, len)
    }

    pub fn xnor_pe(len: usize) -> Request {
        Request::of(Block::XnorPe, len)
    }

    pub fn and_pe(len: usize) -> Request {
        Request::of(Block::AndPe, len)
    }

    /// Group-Net with `k` lanes (`gen --k K --len N`).
    pub fn groupnet(k: usize, len: usize) -> Request {
        Request { k: Some(k as i64), ..Request::of(Block::GroupNet, len) }
    }

    /// PA-Net with `m` weight and `n` activation bases.
    pub fn pa(m: usize, n: usize, len: usize) -> Request {
        Request { m: Some(m as i64), n: Some(n as i64), ..Request::of(Block::Pa, len) }
    }

    pub fn pa_quantizer(n: usize, len: usize) -> Request {
        Request { n: Some(n as i64), ..Request::of(Block::PaQuantizer, len) }
    }

    /// A baseline of `bits` bits per element: fixed point or multiply-accumulate.
    pub fn multibit(block: Block, bits: u32, len: usize) -> Request {
        Request { bits: Some(i64::from(bits)), ..Request::of(block, len) }
    }

    /// A layer file, decomposed.
    pub fn layer_file(path: &Path) -> Request {
        Request { model: Some(path.to_path_buf()), ..Request::default() }
    }

    pub fn pipeline(self, levels: u32) -> Request {
        Request { pipeline: Some(i64::from(levels)), ..self }
    }

    pub fn popcount_style(self, style: PopcountStyle) -> Request {
        Request { popcount: Some(style), ..self }
    }

    /// Constant weights, random from `seed`.
    pub fn const_weights(self, seed: u64) -> Request {
        Request { weights: Some(WeightsMode::Const), seed: Some(seed), ..self }
    }

    /// Constant weights from a file (`{"weights": ["0x...", ...]}`).
    pub fn weights_file(self, path: &Path) -> Request {
        Request { weights: Some(WeightsMode::Const), weights_file: Some(path.to_path_buf()), ..self }
    }

    pub fn shared_input(self) -> Request {
        Request { shared_input: true, ..self }
    }

    pub fn lambdas(self, lambdas: &[f64]) -> Request {
        Request { lambda: Some(lambdas.to_vec()), ..self }
    }

    /// `phi` row by row (weight base i, activation base j).
    pub fn phi(self, phi: &[f64]) -> Request {
        Request { phi: Some(phi.to_vec()), ..self }
    }

    pub fn endpoints(self, endpoints: &[i64]) -> Request {
        Request { endpoints: Some(endpoints.to_vec()), ..self }
    }

    pub fn act_bits(self, bits: u32) -> Request {
        Request { act_bits: Some(i64::from(bits)), ..self }
    }

    /// The fixed-point format of the scales: `coef_bits` signed bits of
    /// which `frac_bits` are fractional.
    pub fn scale_format(self, coef_bits: u32, frac_bits: u32) -> Request {
        Request { coef_bits: Some(i64::from(coef_bits)), frac_bits: Some(i64::from(frac_bits)), ..self }
    }

    pub fn top(self, name: &str) -> Request {
        Request { top: Some(name.to_string()), ..self }
    }

    /// The parameters of a request known to be valid (a preset): a bad one
    /// is a bug in the caller, reported with the reason.
    pub fn params(&self) -> DesignParams {
        self.to_params().unwrap_or_else(|e| panic!("invalid design request {self:?}: {e}"))
    }
}

pub(crate) fn in_range(flag: &str, value: i64, lo: i64, hi: i64, what: &str) -> Result<i64, String> {
    if value < lo || value > hi {
        Err(format!("{flag} {value} is out of range: {what} must be {lo}..={hi}"))
    } else {
        Ok(value)
    }
}

/// The settings every block has: scale format and pipelining.
struct Common {
    frac_bits: u32,
    coef_bits: u32,
    pipeline: u32,
}

impl Request {
    /// Validates the request into parameters, every default filled in.
    pub fn to_params(&self) -> Result<DesignParams, String> {
        let mut p = match &self.model {
            Some(path) => self.layer_params(path)?.0,
            None => self.block_params()?,
        };
        p.popcount = self.popcount.unwrap_or(PopcountStyle::default_for(matches!(p.weights, Weights::Const(_))));
        Ok(p)
    }

    fn pipeline_levels(&self) -> Result<u32, String> {
        let p = self.pipeline.unwrap_or(0);
        Ok(in_range("--pipeline", p, 0, MAX_PIPELINE as i64, "the levels per pipeline stage")? as u32)
    }

    fn common(&self) -> Result<Common, String> {
        let coef_bits =
            in_range("--coef-bits", self.coef_bits.unwrap_or(16), 2, MAX_COEF_BITS as i64, "the scale width in bits")?;
        let frac_bits =
            in_range("--frac-bits", self.frac_bits.unwrap_or(8), 0, MAX_FRAC_BITS as i64, "the fractional bits")?;
        Ok(Common { frac_bits: frac_bits as u32, coef_bits: coef_bits as u32, pipeline: self.pipeline_levels()? })
    }

    /// A design from a layer file, with the layer and its decomposition:
    /// only the pipelining and the name come from the request.
    pub fn layer_params(&self, path: &Path) -> Result<(DesignParams, Layer, Decomposition), String> {
        let given = [
            (self.block.is_some(), "--block"),
            (self.k.is_some(), "--k"),
            (self.len.is_some() || self.cin.is_some() || self.kernel.is_some(), "--len/--cin/--kernel"),
            (self.lambda.is_some(), "--lambda"),
            (self.frac_bits.is_some() || self.coef_bits.is_some(), "--frac-bits/--coef-bits"),
            (self.shared_input, "--shared-input"),
            (self.weights.is_some() || self.weights_file.is_some() || self.seed.is_some(), "--weights"),
            (self.m.is_some() || self.n.is_some(), "--m/--n"),
            (self.act_bits.is_some() || self.endpoints.is_some() || self.phi.is_some(), "--act-bits/--endpoints/--phi"),
            (self.bits.is_some(), "--bits"),
        ];
        if let Some((_, flag)) = given.iter().find(|(g, _)| *g) {
            return Err(format!("{flag} cannot be combined with --model: the layer file {} gives it", path.display()));
        }
        let pipeline = self.pipeline_levels()?;
        let (layer, decomposition) = layer::load_layer(path)?;
        let mut p = decomposed_params(&decomposition, pipeline);
        p.pipeline = pipeline;
        if let Some(t) = &self.top {
            p.top = checked_top(t)?;
        }
        Ok((p, layer, decomposition))
    }

    /// Each setting that only some blocks have, given to another block, is
    /// an error naming both.
    fn check_applicable(&self, block: Block) -> Result<(), String> {
        let is_groupnet = block == Block::GroupNet;
        let is_pa = matches!(block, Block::Pa | Block::PaQuantizer);
        let checks = [
            (self.k.is_some(), "--k", is_groupnet, "groupnet"),
            (self.lambda.is_some(), "--lambda", is_groupnet, "groupnet"),
            (self.shared_input, "--shared-input", is_groupnet, "groupnet"),
            (self.m.is_some(), "--m", block == Block::Pa, "pa"),
            (self.phi.is_some(), "--phi", block == Block::Pa, "pa"),
            (self.n.is_some(), "--n", is_pa, "pa or pa_quantizer"),
            (self.act_bits.is_some(), "--act-bits", is_pa, "pa or pa_quantizer"),
            (self.endpoints.is_some(), "--endpoints", is_pa, "pa or pa_quantizer"),
            (self.bits.is_some(), "--bits", block.multibit(), "fixedpoint or mac"),
        ];
        match checks.iter().find(|(given, _, allowed, _)| *given && !*allowed) {
            Some((_, flag, _, owner)) => Err(format!("{flag} applies to --block {owner} only, not {}", block.name())),
            None => Ok(()),
        }
    }

    /// The dot-product length: `--len`, or `--cin` times `--kernel` squared.
    fn length(&self) -> Result<usize, String> {
        let len = match (self.len, self.cin, self.kernel) {
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
                return Err("--len and --cin/--kernel both give the length: use one or the other".into());
            }
            (Some(len), None, None) => in_range("--len", len, 1, MAX_LEN as i64, "the dot-product length")?,
            (None, cin, kernel) => {
                let cin = in_range("--cin", cin.unwrap_or(256), 1, MAX_LEN as i64, "the input channels")?;
                let kernel = in_range("--kernel", kernel.unwrap_or(3), 1, 256, "the kernel side")?;
                let len = cin * kernel * kernel;
                if len > MAX_LEN as i64 {
                    return Err(format!(
                        "--cin {cin} --kernel {kernel} gives length {len}: the dot-product length must be 1..={MAX_LEN}"
                    ));
                }
                len
            }
        };
        Ok(len as usize)
    }

    /// Lanes: Group-Net's K, PA-Net's M, else 1.
    fn lanes(&self, block: Block) -> Result<usize, String> {
        Ok(match block {
            Block::GroupNet => in_range("--k", self.k.unwrap_or(5), 1, MAX_LANES as i64, "the number of lanes")?,
            Block::Pa => in_range("--m", self.m.unwrap_or(4), 1, MAX_BASES as i64, "the weight bases")?,
            _ => 1,
        } as usize)
    }

    /// Bits per element of the multi-bit baselines.
    fn element_bits(&self, block: Block) -> Result<u32, String> {
        Ok(match block {
            Block::FixedPoint => in_range("--bits", self.bits.unwrap_or(2), 1, 8, "the fixed-point bits K")?,
            Block::Mac => in_range("--bits", self.bits.unwrap_or(8), 1, 16, "the multiply-accumulate bits B")?,
            _ => 0,
        } as u32)
    }

    /// Group-Net's lane scales, real and fixed point [default: (K-i)/K].
    fn lambdas_fixed(&self, lanes: usize, c: &Common) -> Result<(Vec<f64>, Vec<i64>), String> {
        let reals: Vec<f64> = match &self.lambda {
            None => (0..lanes).map(|i| (lanes - i) as f64 / lanes as f64).collect(),
            Some(values) => finite("--lambda", values)?,
        };
        if reals.len() != lanes {
            return Err(format!("--lambda gives {} values, --k {lanes} needs exactly {lanes}", reals.len()));
        }
        let ints = reals.iter().map(|&r| to_coef("--lambda", r, c)).collect::<Result<_, _>>()?;
        Ok((reals, ints))
    }

    fn weights(&self, block: Block, lanes: usize, weight_len: usize) -> Result<Weights, String> {
        let any_weights = self.weights.is_some() || self.weights_file.is_some() || self.seed.is_some();
        let mode = match self.weights {
            None if self.weights_file.is_some() || self.seed.is_some() => WeightsMode::Const,
            None => WeightsMode::Port,
            Some(m) => m,
        };
        if block == Block::Popcount && any_weights {
            return Err("--block popcount has no weights: drop --weights, --weights-file and --seed".into());
        }
        if mode == WeightsMode::Port && (self.weights_file.is_some() || self.seed.is_some()) {
            return Err("--weights-file and --seed give constant weights: they need --weights const".into());
        }
        if self.weights_file.is_some() && self.seed.is_some() {
            return Err("--weights-file and --seed both give the weights: use one or the other".into());
        }
        if block == Block::PaQuantizer && any_weights {
            return Err("--block pa_quantizer has no weights: drop --weights, --weights-file and --seed".into());
        }
        Ok(match (mode, &self.weights_file) {
            (WeightsMode::Port, _) => Weights::Port,
            (WeightsMode::Const, Some(path)) => Weights::Const(read_weights_file(path, lanes, weight_len)?),
            (WeightsMode::Const, None) => {
                let mut rng = SplitMix64::new(self.seed.unwrap_or(1));
                if block == Block::Pa {
                    Weights::Const(random_pieces(lanes, weight_len, &mut rng))
                } else {
                    Weights::Const((0..lanes).map(|_| BitVec::random(weight_len, &mut rng)).collect())
                }
            }
        })
    }

    /// PA-Net's activation format, endpoints and (for `pa`) phi.
    fn pa_settings(&self, block: Block, lanes: usize, c: &Common) -> Result<PaSettings, String> {
        let act_bits =
            in_range("--act-bits", self.act_bits.unwrap_or(8), 1, MAX_ACT_BITS as i64, "the activation width")? as u32;
        let nb = in_range("--n", self.n.unwrap_or(5), 1, MAX_BASES as i64, "the activation bases")? as usize;
        let endpoints =
            pa_endpoints(self.endpoints.as_deref(), nb, act_bits, fixed::signed_range(act_bits).into_inner())?;
        if block != Block::Pa {
            return Ok(PaSettings { act_bits, endpoints, phi_reals: vec![], phi: vec![] });
        }
        let reals: Vec<f64> = match &self.phi {
            Some(values) => finite("--phi", values)?,
            None => default_phi(lanes, nb),
        };
        if reals.len() != lanes * nb {
            return Err(format!(
                "--phi gives {} values, --m {lanes} --n {nb} needs exactly {}",
                reals.len(),
                lanes * nb
            ));
        }
        let ints: Vec<i64> = reals.iter().map(|&r| to_coef("--phi", r, c)).collect::<Result<_, _>>()?;
        Ok(PaSettings {
            act_bits,
            endpoints,
            phi_reals: reals.chunks(nb).map(<[f64]>::to_vec).collect(),
            phi: ints.chunks(nb).map(<[i64]>::to_vec).collect(),
        })
    }

    fn block_params(&self) -> Result<DesignParams, String> {
        let block = self.block.unwrap_or(Block::GroupNet);
        self.check_applicable(block)?;
        let bits = self.element_bits(block)?;
        let len = self.length()?;
        let lanes = self.lanes(block)?;
        let c = self.common()?;
        let mut p = DesignParams::base(block, "", len);
        p.lanes = lanes;
        p.bits = bits;
        p.frac_bits = c.frac_bits;
        p.coef_bits = c.coef_bits;
        p.pipeline = c.pipeline;
        p.shared_input = self.shared_input;
        if block == Block::GroupNet {
            (p.lambda_reals, p.lambdas) = self.lambdas_fixed(lanes, &c)?;
        }
        // Multi-bit blocks pack all elements of the weights into one vector.
        let weight_len = if block.multibit() { len * bits as usize } else { len };
        p.weights = self.weights(block, lanes, weight_len)?;
        if matches!(block, Block::Pa | Block::PaQuantizer) {
            let pa = self.pa_settings(block, lanes, &c)?;
            (p.act_bits, p.endpoints, p.phi_reals, p.phi) = (pa.act_bits, pa.endpoints, pa.phi_reals, pa.phi);
        }
        p.top = match &self.top {
            Some(t) => checked_top(t)?,
            None => default_top(&p),
        };
        Ok(p)
    }
}

struct PaSettings {
    act_bits: u32,
    endpoints: Vec<i64>,
    phi_reals: Vec<Vec<f64>>,
    phi: Vec<Vec<i64>>,
}

/// The top module's name when none is given: the block and its size,
/// `_const` for constant weights, and the pipelining.
fn default_top(p: &DesignParams) -> String {
    let (lanes, len, bits) = (p.lanes, p.len, p.bits);
    let base = match p.block {
        Block::GroupNet => format!("groupnet_k{lanes}_n{len}"),
        Block::Pa => format!("pa_m{lanes}_n{}_len{len}", p.endpoints.len()),
        Block::PaQuantizer => format!("pa_quantizer_n{}_len{len}", p.endpoints.len()),
        Block::FixedPoint | Block::Mac => format!("{}_b{bits}_n{len}", p.block.name()),
        b => format!("{}_n{len}", b.name()),
    };
    let mode_tag = if let Weights::Const(_) = p.weights { "_const" } else { "" };
    format!("{base}{mode_tag}_p{}", p.pipeline)
}

/// The design of a decomposed layer: every constant from the decomposition.
fn decomposed_params(decomposition: &Decomposition, pipeline: u32) -> DesignParams {
    let stem = |s: &str| format!("{s}_p{pipeline}");
    match decomposition.clone() {
        Decomposition::GroupNet(d) => {
            let len = d.weights[0].len();
            let name = stem(&format!("groupnet_k{}_n{len}_model", d.weights.len()));
            let mut p = DesignParams::base(Block::GroupNet, &name, len);
            p.lanes = d.weights.len();
            // One dot product of a layer-wise decomposition: every branch reads sign(x).
            p.shared_input = true;
            p.weights = Weights::Const(d.weights);
            p.lambdas = d.lambdas;
            p.lambda_reals = d.lambda_reals;
            p.frac_bits = d.frac_bits;
            p.coef_bits = d.coef_bits;
            p
        }
        Decomposition::Pa(d) => {
            let len = d.bases[0].len();
            let name = stem(&format!("pa_m{}_n{}_len{len}_model", d.bases.len(), d.act_endpoints.len()));
            let mut p = DesignParams::base(Block::Pa, &name, len);
            p.lanes = d.bases.len();
            p.weights = Weights::Const(d.bases);
            p.act_bits = d.act_bits;
            p.endpoints = d.act_endpoints;
            p.phi = d.phi;
            p.phi_reals = d.phi_reals;
            p.frac_bits = d.frac_bits;
            p.coef_bits = d.coef_bits;
            p
        }
    }
}

pub(crate) fn checked_top(t: &str) -> Result<String, String> {
    if crate::rtl::names::is_legal_identifier(t) {
        Ok(t.to_string())
    } else {
        Err(format!(
            "--top {t:?} is not a legal Verilog module name: a letter or _ first, then letters, digits, _, and no reserved word"
        ))
    }
}

/// The values, if every one is finite.
pub(crate) fn finite(flag: &str, values: &[f64]) -> Result<Vec<f64>, String> {
    match values.iter().find(|v| !v.is_finite()) {
        Some(v) => Err(format!("{flag} value {v} is not a finite real number")),
        None => Ok(values.to_vec()),
    }
}

/// A real coefficient in the fixed-point format, or an error naming the
/// representable range.
fn to_coef(flag: &str, real: f64, c: &Common) -> Result<i64, String> {
    let format = format!("--coef-bits {} and --frac-bits {}", c.coef_bits, c.frac_bits);
    fixed::coefficient(&format!("{flag} {real}"), real, c.frac_bits, c.coef_bits, &format)
}

/// Activation endpoints: given, or N evenly spread over the B-bit range.
/// `(min, max)` is the activations' range: B-bit two's complement or unsigned.
pub(crate) fn pa_endpoints(
    given: Option<&[i64]>,
    nb: usize,
    act_bits: u32,
    (min, max): (i64, i64),
) -> Result<Vec<i64>, String> {
    let values: Vec<i64> = match given {
        Some(v) => v.to_vec(),
        None => {
            let span = (1u64 << act_bits) as f64 / (nb + 1) as f64;
            (1..=nb).map(|j| min + (j as f64 * span).floor() as i64).collect()
        }
    };
    if values.len() != nb {
        return Err(format!("--endpoints gives {} values, --n {nb} needs exactly {nb}", values.len()));
    }
    for (j, &v) in values.iter().enumerate() {
        if v < min || v > max {
            return Err(format!("--endpoints value {v} does not fit {act_bits} bits: it must be {min}..={max}"));
        }
        if j > 0 && v <= values[j - 1] {
            let why = if given.is_none() {
                format!(" (--n {nb} endpoints do not fit --act-bits {act_bits})")
            } else {
                String::new()
            };
            return Err(format!("--endpoints must be strictly increasing: {v} follows {}{why}", values[j - 1]));
        }
    }
    Ok(values)
}

/// Default PA-Net scales: alpha_i spread symmetrically around zero (never
/// zero), beta_j = (j+1)/N, phi = alpha * beta.
pub(crate) fn default_phi(m: usize, nb: usize) -> Vec<f64> {
    let alpha = |i: usize| {
        let a = (2 * i + 1) as f64 / m as f64 - 1.0;
        if a == 0.0 { 0.5 / m as f64 } else { a }
    };
    (0..m).flat_map(|i| (0..nb).map(move |j| alpha(i) * (j + 1) as f64 / nb as f64)).collect()
}

/// Random PA-Net weight bases as a decomposition makes them: every weight
/// in at most one piece (one of the M bases, or the zero piece).
pub(crate) fn random_pieces(m: usize, len: usize, rng: &mut SplitMix64) -> Vec<BitVec> {
    let mut bases = vec![BitVec::zeros(len); m];
    for k in 0..len {
        let piece = rng.below(m as u64 + 1) as usize;
        if piece < m {
            bases[piece].set(k, true);
        }
    }
    bases
}

/// Reads `{"weights": ["0x...", ...]}` with exactly `lanes` vectors of `len` bits.
pub fn read_weights_file(path: &Path, lanes: usize, len: usize) -> Result<Vec<BitVec>, String> {
    let shown = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| format!("--weights-file {shown}: cannot read it: {e}"))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("--weights-file {shown} is not valid JSON: {e}"))?;
    let list = v
        .get("weights")
        .and_then(|w| w.as_array())
        .ok_or_else(|| format!("--weights-file {shown} must hold {{\"weights\": [\"0x...\", ...]}}"))?;
    if list.len() != lanes {
        return Err(format!(
            "--weights-file {shown} has {} weight vectors, the design needs exactly {lanes}",
            list.len()
        ));
    }
    list.iter()
        .enumerate()
        .map(|(i, item)| {
            let s = item.as_str().ok_or_else(|| format!("--weights-file {shown}: weights[{i}] is not a hex string"))?;
            BitVec::from_hex(s, len).map_err(|e| format!("--weights-file {shown}: weights[{i}]: {e}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn popcount_default_follows_the_weights_unless_given() {
        let style = |r: Request| r.params().popcount;
        assert_eq!(style(Request::xnor_pe(64)), PopcountStyle::Compressor);
        assert_eq!(style(Request::and_pe(64)), PopcountStyle::Compressor);
        assert_eq!(style(Request::groupnet(3, 64)), PopcountStyle::Compressor);
        assert_eq!(style(Request::xnor_pe(64).const_weights(1)), PopcountStyle::Carry);
        assert_eq!(style(Request::groupnet(3, 64).const_weights(1)), PopcountStyle::Carry);
        let given = Request::xnor_pe(64).const_weights(1).popcount_style(PopcountStyle::Compressor);
        assert_eq!(style(given), PopcountStyle::Compressor);
        assert_eq!(style(Request::xnor_pe(64).popcount_style(PopcountStyle::Tree)), PopcountStyle::Tree);
        assert_eq!(style(Request::pa(2, 2, 16)), PopcountStyle::Compressor);
    }

    #[test]
    fn default_names_say_block_size_weights_and_pipelining() {
        assert_eq!(Request::groupnet(5, 2304).params().top, "groupnet_k5_n2304_p0");
        assert_eq!(Request::pa(4, 5, 37).const_weights(2).pipeline(1).params().top, "pa_m4_n5_len37_const_p1");
        assert_eq!(Request::multibit(Block::Mac, 4, 9).params().top, "mac_b4_n9_p0");
        assert_eq!(Request::xnor_pe(7).top("mine").params().top, "mine");
    }
}
