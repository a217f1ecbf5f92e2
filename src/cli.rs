//! Command-line flags of `gen` (and of every command that takes a design)
//! and their validation into [`DesignParams`]. Every error is one line that
//! names the offending value and the valid range.

use crate::bits::{BitVec, SplitMix64};
use crate::params::*;
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Clone, Debug, Default)]
pub struct DesignArgs {
    /// Block to generate: popcount, xnor_pe, and_pe or groupnet.
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
    pub fn to_params(&self) -> Result<DesignParams, String> {
        let block = match &self.block {
            None => Block::GroupNet,
            Some(b) => Block::parse(b).ok_or_else(|| {
                format!("--block {b:?} is unknown: valid blocks are popcount, xnor_pe, and_pe, groupnet")
            })?,
        };
        let is_groupnet = block == Block::GroupNet;
        if !is_groupnet {
            for (given, flag) in
                [(self.k.is_some(), "--k"), (self.lambda.is_some(), "--lambda"), (self.shared_input, "--shared-input")]
            {
                if given {
                    return Err(format!("{flag} applies to --block groupnet only, not {}", block.name()));
                }
            }
        }

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

        let lanes = if is_groupnet {
            in_range("--k", self.k.unwrap_or(5), 1, MAX_LANES as i64, "the number of lanes")? as usize
        } else {
            1
        };
        let coef_bits =
            in_range("--coef-bits", self.coef_bits.unwrap_or(16), 2, MAX_COEF_BITS as i64, "the scale width in bits")?
                as u32;
        let frac_bits =
            in_range("--frac-bits", self.frac_bits.unwrap_or(8), 0, MAX_FRAC_BITS as i64, "the fractional bits")?
                as u32;
        let pipeline = in_range(
            "--pipeline",
            self.pipeline.unwrap_or(0),
            0,
            MAX_PIPELINE as i64,
            "the levels per pipeline stage",
        )? as u32;

        let (lambda_reals, lambdas) = if is_groupnet {
            let reals: Vec<f64> = match &self.lambda {
                None => (0..lanes).map(|i| (lanes - i) as f64 / lanes as f64).collect(),
                Some(text) => parse_reals("--lambda", text)?,
            };
            if reals.len() != lanes {
                return Err(format!("--lambda gives {} values, --k {lanes} needs exactly {lanes}", reals.len()));
            }
            let max = ((1i64 << (coef_bits - 1)) - 1) as f64;
            let min = -(1i64 << (coef_bits - 1)) as f64;
            let scale = (frac_bits as f64).exp2();
            let mut ints = vec![];
            for &r in &reals {
                let fixed = to_fixed(r, frac_bits);
                if !(min..=max).contains(&fixed) {
                    return Err(format!(
                        "--lambda {r} does not fit the fixed-point format: with --coef-bits {coef_bits} and --frac-bits {frac_bits} a lambda must lie in [{}, {}]",
                        min / scale,
                        max / scale
                    ));
                }
                ints.push(fixed as i64);
            }
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
        let weights = if mode == "port" {
            Weights::Port
        } else if let Some(path) = &self.weights_file {
            Weights::Const(read_weights_file(path, lanes, len)?)
        } else {
            let mut rng = SplitMix64::new(self.seed.unwrap_or(1));
            Weights::Const((0..lanes).map(|_| BitVec::random(len, &mut rng)).collect())
        };

        let top = match &self.top {
            Some(t) if crate::rtl::is_legal_identifier(t) => t.clone(),
            Some(t) => {
                return Err(format!(
                    "--top {t:?} is not a legal Verilog module name: a letter or _ first, then letters, digits, _, and no reserved word"
                ));
            }
            None => {
                let base = match block {
                    Block::GroupNet => format!("groupnet_k{lanes}_n{len}"),
                    b => format!("{}_n{len}", b.name()),
                };
                let mode_tag = if let Weights::Const(_) = weights { "_const" } else { "" };
                format!("{base}{mode_tag}_p{pipeline}")
            }
        };

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
        })
    }
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
