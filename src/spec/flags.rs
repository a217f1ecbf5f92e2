//! Command-line flags of `gen` (and of every command that takes a design)
//! and their validation into [`DesignParams`]. Every error is one line that
//! names the offending value and the valid range.

use crate::spec::params::*;
use crate::util::bits::{BitVec, SplitMix64};
use crate::util::fixed;
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Clone, Debug, Default)]
pub struct DesignArgs {
    /// Block: popcount, xnor_pe, and_pe, groupnet, pa_quantizer, pa, binary, fixedpoint, mac [default: groupnet].
    #[arg(long, value_name = "BLOCK")]
    pub block: Option<String>,
    /// Group-Net lanes (bases), 1..=64 [default: 5].
    #[arg(long, allow_negative_numbers = true)]
    pub k: Option<i64>,
    /// Dot-product length n, 1..=65536 [default: 2304 = 256 * 3 * 3].
    #[arg(long, allow_negative_numbers = true)]
    pub len: Option<i64>,
    /// Input channels; len = cin * kernel * kernel [default: 256].
    #[arg(long, allow_negative_numbers = true)]
    pub cin: Option<i64>,
    /// Kernel side; len = cin * kernel * kernel [default: 3].
    #[arg(long, allow_negative_numbers = true)]
    pub kernel: Option<i64>,
    /// Lane scales, comma-separated reals, one per lane [default: (K-i)/K].
    #[arg(long, allow_hyphen_values = true)]
    pub lambda: Option<String>,
    /// Fractional bits of the fixed-point scales, 0..=31 [default: 8].
    #[arg(long, allow_negative_numbers = true)]
    pub frac_bits: Option<i64>,
    /// Total signed width of a fixed-point scale, 2..=32 [default: 16].
    #[arg(long, allow_negative_numbers = true)]
    pub coef_bits: Option<i64>,
    /// All lanes read one input `a` (layer-wise decomposition).
    #[arg(long)]
    pub shared_input: bool,
    /// Weights as input ports or constants: port or const [default: port].
    #[arg(long)]
    pub weights: Option<String>,
    /// Constant weights from a JSON file: {"weights": ["0x...", ...]}, one per lane.
    #[arg(long)]
    pub weights_file: Option<PathBuf>,
    /// Seed of the random constant weights [default: 1].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Tree levels between pipeline registers, 0..=64; 0 = only input and output registers.
    #[arg(long, allow_negative_numbers = true)]
    pub pipeline: Option<i64>,
    /// Popcount structure: compressor (full adders at the leaves, then adders with an input bit as carry-in),
    /// carry (carry-in adders throughout) or tree (3-input leaves, then a balanced adder tree)
    /// [default: compressor with weight ports, carry with constant weights].
    #[arg(long)]
    pub popcount: Option<String>,
    /// PA-Net weight bases M, 1..=16 [default: 4].
    #[arg(long, allow_negative_numbers = true)]
    pub m: Option<i64>,
    /// PA-Net activation bases N, 1..=16 [default: 5].
    #[arg(long, allow_negative_numbers = true)]
    pub n: Option<i64>,
    /// PA-Net activation width B in bits (signed), 1..=32 [default: 8].
    #[arg(long, allow_negative_numbers = true)]
    pub act_bits: Option<i64>,
    /// PA-Net activation endpoints v_1 < ... < v_N, comma-separated B-bit integers [default: evenly spread].
    #[arg(long, allow_hyphen_values = true)]
    pub endpoints: Option<String>,
    /// PA-Net phi_ij, M*N comma-separated reals, row i (weight base) after row i [default: alpha_i * beta_j].
    #[arg(long, allow_hyphen_values = true)]
    pub phi: Option<String>,
    /// Baselines: bits per element, K for fixedpoint (1..=8) [default: 2], B for mac (1..=16) [default: 8].
    #[arg(long, allow_negative_numbers = true)]
    pub bits: Option<i64>,
    /// A layer described with real numbers (JSON), decomposed into binary
    /// bases and fixed-point scales; see the README for the format.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Name of the top module [default: derived from the parameters].
    #[arg(long)]
    pub top: Option<String>,
}

fn in_range(flag: &str, value: i64, lo: i64, hi: i64, what: &str) -> Result<i64, String> {
    if value < lo || value > hi {
        Err(format!("{flag} {value} is out of range: {what} must be {lo}..={hi}"))
    } else {
        Ok(value)
    }
}

impl DesignArgs {
    /// `--pipeline`, checked.
    fn pipeline_levels(&self) -> Result<u32, String> {
        let p = self.pipeline.unwrap_or(0);
        Ok(in_range("--pipeline", p, 0, MAX_PIPELINE as i64, "the levels per pipeline stage")? as u32)
    }

    /// `--popcount`, checked; without it, the default for the weights.
    fn popcount_style(&self, weights: &Weights) -> Result<PopcountStyle, String> {
        match &self.popcount {
            None => Ok(PopcountStyle::default_for(matches!(weights, Weights::Const(_)))),
            Some(text) => PopcountStyle::parse(text).ok_or_else(|| {
                let names: Vec<&str> = PopcountStyle::ALL.iter().map(|s| s.name()).collect();
                format!("--popcount {text}: expected one of {}", names.join(", "))
            }),
        }
    }

    pub fn to_params(&self) -> Result<DesignParams, String> {
        let mut p = match &self.model {
            Some(path) => self.model_params(path)?.0,
            None => self.flag_params()?,
        };
        p.popcount = self.popcount_style(&p.weights)?;
        Ok(p)
    }

    /// A design from a layer file, with the layer and its decomposition:
    /// only the pipelining and the name come from flags.
    pub fn model_params(
        &self,
        path: &std::path::Path,
    ) -> Result<(DesignParams, crate::spec::layer::Layer, crate::spec::layer::Decomposition), String> {
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
        let (layer, decomposition) = crate::spec::layer::load_layer(path)?;
        let stem = |s: &str| format!("{s}_p{pipeline}");
        let mut p = match decomposition.clone() {
            crate::spec::layer::Decomposition::GroupNet(d) => {
                let len = d.weights[0].len();
                let mut p = DesignParams::base(
                    Block::GroupNet,
                    &stem(&format!("groupnet_k{}_n{len}_model", d.weights.len())),
                    len,
                );
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
            crate::spec::layer::Decomposition::Pa(d) => {
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
        };
        p.pipeline = pipeline;
        if let Some(t) = &self.top {
            p.top = checked_top(t)?;
        }
        Ok((p, layer, decomposition))
    }

    fn flag_params(&self) -> Result<DesignParams, String> {
        let block = match &self.block {
            None => Block::GroupNet,
            Some(b) => Block::parse(b).ok_or_else(|| {
                let names: Vec<&str> = Block::ALL.iter().map(|b| b.name()).collect();
                format!("--block {b:?} is unknown: valid blocks are {}", names.join(", "))
            })?,
        };
        let is_groupnet = block == Block::GroupNet;
        let is_pa = matches!(block, Block::Pa | Block::PaQuantizer);
        let only = |given: bool, flag: &str, allowed: bool, owner: &str| {
            if given && !allowed {
                Err(format!("{flag} applies to --block {owner} only, not {}", block.name()))
            } else {
                Ok(())
            }
        };
        only(self.k.is_some(), "--k", is_groupnet, "groupnet")?;
        only(self.lambda.is_some(), "--lambda", is_groupnet, "groupnet")?;
        only(self.shared_input, "--shared-input", is_groupnet, "groupnet")?;
        only(self.m.is_some(), "--m", block == Block::Pa, "pa")?;
        only(self.phi.is_some(), "--phi", block == Block::Pa, "pa")?;
        only(self.n.is_some(), "--n", is_pa, "pa or pa_quantizer")?;
        only(self.act_bits.is_some(), "--act-bits", is_pa, "pa or pa_quantizer")?;
        only(self.endpoints.is_some(), "--endpoints", is_pa, "pa or pa_quantizer")?;
        only(self.bits.is_some(), "--bits", block.multibit(), "fixedpoint or mac")?;
        let bits = match block {
            Block::FixedPoint => in_range("--bits", self.bits.unwrap_or(2), 1, 8, "the fixed-point bits K")? as u32,
            Block::Mac => in_range("--bits", self.bits.unwrap_or(8), 1, 16, "the multiply-accumulate bits B")? as u32,
            _ => 0,
        };

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
        } as usize;

        let lanes = match block {
            Block::GroupNet => {
                in_range("--k", self.k.unwrap_or(5), 1, MAX_LANES as i64, "the number of lanes")? as usize
            }
            Block::Pa => in_range("--m", self.m.unwrap_or(4), 1, MAX_BASES as i64, "the weight bases")? as usize,
            _ => 1,
        };
        let coef_bits =
            in_range("--coef-bits", self.coef_bits.unwrap_or(16), 2, MAX_COEF_BITS as i64, "the scale width in bits")?
                as u32;
        let frac_bits =
            in_range("--frac-bits", self.frac_bits.unwrap_or(8), 0, MAX_FRAC_BITS as i64, "the fractional bits")?
                as u32;
        let pipeline = self.pipeline_levels()?;

        let (lambda_reals, lambdas) = if is_groupnet {
            let reals: Vec<f64> = match &self.lambda {
                None => (0..lanes).map(|i| (lanes - i) as f64 / lanes as f64).collect(),
                Some(text) => parse_reals("--lambda", text)?,
            };
            if reals.len() != lanes {
                return Err(format!("--lambda gives {} values, --k {lanes} needs exactly {lanes}", reals.len()));
            }
            let ints = reals.iter().map(|&r| to_coef("--lambda", r, frac_bits, coef_bits)).collect::<Result<_, _>>()?;
            (reals, ints)
        } else {
            (vec![], vec![])
        };

        let mode = match self.weights.as_deref() {
            None if self.weights_file.is_some() || self.seed.is_some() => "const",
            None => "port",
            Some(m @ ("port" | "const")) => m,
            Some(other) => return Err(format!("--weights {other:?} is unknown: valid modes are port, const")),
        };
        if block == Block::Popcount && (self.weights.is_some() || self.weights_file.is_some() || self.seed.is_some()) {
            return Err("--block popcount has no weights: drop --weights, --weights-file and --seed".into());
        }
        if mode == "port" && (self.weights_file.is_some() || self.seed.is_some()) {
            return Err("--weights-file and --seed give constant weights: they need --weights const".into());
        }
        if self.weights_file.is_some() && self.seed.is_some() {
            return Err("--weights-file and --seed both give the weights: use one or the other".into());
        }
        if block == Block::PaQuantizer && (self.weights.is_some() || self.weights_file.is_some() || self.seed.is_some())
        {
            return Err("--block pa_quantizer has no weights: drop --weights, --weights-file and --seed".into());
        }
        // Multi-bit blocks pack all elements of the weights into one vector.
        let weight_len = if block.multibit() { len * bits as usize } else { len };
        let weights = if mode == "port" {
            Weights::Port
        } else if let Some(path) = &self.weights_file {
            Weights::Const(read_weights_file(path, lanes, weight_len)?)
        } else {
            let mut rng = SplitMix64::new(self.seed.unwrap_or(1));
            if block == Block::Pa {
                Weights::Const(random_pieces(lanes, len, &mut rng))
            } else {
                Weights::Const((0..lanes).map(|_| BitVec::random(weight_len, &mut rng)).collect())
            }
        };

        let (act_bits, endpoints, phi_reals, phi) = if is_pa {
            let act_bits =
                in_range("--act-bits", self.act_bits.unwrap_or(8), 1, MAX_ACT_BITS as i64, "the activation width")?
                    as u32;
            let nb = in_range("--n", self.n.unwrap_or(5), 1, MAX_BASES as i64, "the activation bases")? as usize;
            let endpoints = pa_endpoints(self.endpoints.as_deref(), nb, act_bits)?;
            let (phi_reals, phi) = if block == Block::Pa {
                let reals: Vec<f64> = match &self.phi {
                    Some(text) => parse_reals("--phi", text)?,
                    None => default_phi(lanes, nb),
                };
                if reals.len() != lanes * nb {
                    return Err(format!(
                        "--phi gives {} values, --m {lanes} --n {nb} needs exactly {}",
                        reals.len(),
                        lanes * nb
                    ));
                }
                let ints: Vec<i64> =
                    reals.iter().map(|&r| to_coef("--phi", r, frac_bits, coef_bits)).collect::<Result<_, _>>()?;
                (reals.chunks(nb).map(<[f64]>::to_vec).collect(), ints.chunks(nb).map(<[i64]>::to_vec).collect())
            } else {
                (vec![], vec![])
            };
            (act_bits, endpoints, phi_reals, phi)
        } else {
            (0, vec![], vec![], vec![])
        };

        let top = match &self.top {
            Some(t) => checked_top(t)?,
            None => {
                let base = match block {
                    Block::GroupNet => format!("groupnet_k{lanes}_n{len}"),
                    Block::Pa => format!("pa_m{lanes}_n{}_len{len}", endpoints.len()),
                    Block::PaQuantizer => format!("pa_quantizer_n{}_len{len}", endpoints.len()),
                    Block::FixedPoint | Block::Mac => format!("{}_b{bits}_n{len}", block.name()),
                    b => format!("{}_n{len}", b.name()),
                };
                let mode_tag = if let Weights::Const(_) = weights { "_const" } else { "" };
                format!("{base}{mode_tag}_p{pipeline}")
            }
        };

        let popcount = self.popcount_style(&weights)?;
        Ok(DesignParams {
            block,
            top,
            len,
            lanes,
            shared_input: self.shared_input,
            weights,
            lambdas,
            lambda_reals,
            frac_bits,
            coef_bits,
            pipeline,
            popcount,
            act_bits,
            endpoints,
            phi,
            phi_reals,
            bits,
        })
    }
}

fn checked_top(t: &str) -> Result<String, String> {
    if crate::rtl::names::is_legal_identifier(t) {
        Ok(t.to_string())
    } else {
        Err(format!(
            "--top {t:?} is not a legal Verilog module name: a letter or _ first, then letters, digits, _, and no reserved word"
        ))
    }
}

/// A real coefficient in the fixed-point format, or an error naming the
/// representable range.
fn to_coef(flag: &str, real: f64, frac_bits: u32, coef_bits: u32) -> Result<i64, String> {
    let format = format!("--coef-bits {coef_bits} and --frac-bits {frac_bits}");
    fixed::coefficient(&format!("{flag} {real}"), real, frac_bits, coef_bits, &format)
}

/// Activation endpoints: given, or N evenly spread over the B-bit range.
fn pa_endpoints(text: Option<&str>, nb: usize, act_bits: u32) -> Result<Vec<i64>, String> {
    let (min, max) = fixed::signed_range(act_bits).into_inner();
    let values: Vec<i64> = match text {
        Some(t) => t
            .split(',')
            .map(|s| s.trim().parse::<i64>().map_err(|_| format!("--endpoints value {:?} is not an integer", s.trim())))
            .collect::<Result<_, _>>()?,
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
            return Err(format!(
                "--endpoints must be strictly increasing: {v} follows {}{}",
                values[j - 1],
                if text.is_none() {
                    format!(" (--n {nb} endpoints do not fit --act-bits {act_bits})")
                } else {
                    String::new()
                }
            ));
        }
    }
    Ok(values)
}

/// Default PA-Net scales: alpha_i spread symmetrically around zero (never
/// zero), beta_j = (j+1)/N, phi = alpha * beta.
fn default_phi(m: usize, nb: usize) -> Vec<f64> {
    let alpha = |i: usize| {
        let a = (2 * i + 1) as f64 / m as f64 - 1.0;
        if a == 0.0 { 0.5 / m as f64 } else { a }
    };
    (0..m).flat_map(|i| (0..nb).map(move |j| alpha(i) * (j + 1) as f64 / nb as f64)).collect()
}

/// Random PA-Net weight bases as a decomposition makes them: every weight
/// in at most one piece (one of the M bases, or the zero piece).
fn random_pieces(m: usize, len: usize, rng: &mut SplitMix64) -> Vec<BitVec> {
    let mut bases = vec![BitVec::zeros(len); m];
    for k in 0..len {
        let piece = rng.below(m as u64 + 1) as usize;
        if piece < m {
            bases[piece].set(k, true);
        }
    }
    bases
}

fn parse_reals(flag: &str, text: &str) -> Result<Vec<f64>, String> {
    text.split(',')
        .map(|s| {
            let s = s.trim();
            match s.parse::<f64>() {
                Ok(v) if v.is_finite() => Ok(v),
                _ => Err(format!("{flag} value {s:?} is not a finite real number")),
            }
        })
        .collect()
}

/// Reads `{"weights": ["0x...", ...]}` with exactly `lanes` vectors of `len` bits.
pub fn read_weights_file(path: &std::path::Path, lanes: usize, len: usize) -> Result<Vec<BitVec>, String> {
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
    use crate::verify::sweep::parse_flags;

    fn style(flags: &str) -> PopcountStyle {
        parse_flags(flags).unwrap().to_params().unwrap().popcount
    }

    #[test]
    fn popcount_default_follows_the_weights_unless_given() {
        assert_eq!(style("--block xnor_pe --len 64"), PopcountStyle::Compressor);
        assert_eq!(style("--block and_pe --len 64"), PopcountStyle::Compressor);
        assert_eq!(style("--k 3 --len 64"), PopcountStyle::Compressor);
        assert_eq!(style("--block xnor_pe --len 64 --weights const"), PopcountStyle::Carry);
        assert_eq!(style("--k 3 --len 64 --weights const"), PopcountStyle::Carry);
        assert_eq!(style("--block xnor_pe --len 64 --weights const --popcount compressor"), PopcountStyle::Compressor);
        assert_eq!(style("--block xnor_pe --len 64 --popcount tree"), PopcountStyle::Tree);
        assert_eq!(style("--block pa --m 2 --n 2 --len 16"), PopcountStyle::Compressor);
    }
}
