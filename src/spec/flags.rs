//! The textual form of a design: the flags of `gen` (and of every command
//! that takes a design), as a user types them, in `hdl/configs.txt` and in
//! the sweeps. They parse into a typed [`Request`]; every error is one line
//! that names the offending value and what is valid.

use crate::spec::engine::{EngineKind, Padding, WeightForm};
use crate::spec::engine_request::{EngineRequest, OutputMode};
use crate::spec::params::{Block, DesignParams, MAX_PIPELINE, PopcountStyle};
use crate::spec::request::{Request, WeightsMode, in_range};
use clap::{Args, Parser};
use std::path::PathBuf;

#[derive(Args, Clone, Debug, Default, PartialEq)]
pub struct DesignArgs {
    /// A network file (JSON, SPEC 7): every layer chained stream to stream in one top; see the README.
    #[arg(long, value_name = "FILE")]
    pub network: Option<PathBuf>,
    /// Block: popcount, xnor_pe, and_pe, groupnet, pa_quantizer, pa, binary, fixedpoint, mac, or a streaming
    /// engine: conv, pa_conv [default: groupnet].
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
    /// bases and fixed-point scales: one dot product (a unit), or a whole
    /// conv layer (an engine, scheme groupnet_conv or pa_conv); see the README for the format.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Name of the top module [default: derived from the parameters].
    #[arg(long)]
    pub top: Option<String>,
    /// Engines: input map height, 1..=4096 [default: 8].
    #[arg(long, allow_negative_numbers = true)]
    pub height: Option<i64>,
    /// Engines: input map width, 1..=4096 [default: 8].
    #[arg(long, allow_negative_numbers = true)]
    pub width: Option<i64>,
    /// Engines: output channels, 1..=4096 [default: 16].
    #[arg(long, allow_negative_numbers = true)]
    pub cout: Option<i64>,
    /// Engines: stride, 1..=4 [default: 1].
    #[arg(long, allow_negative_numbers = true)]
    pub stride: Option<i64>,
    /// Engines: padding, same or valid [default: same].
    #[arg(long)]
    pub padding: Option<String>,
    /// Engines: dilations, one per lane for conv (BPAC), one for pa_conv, comma-separated, 1..=64 [default: 1].
    #[arg(long, allow_hyphen_values = true)]
    pub dilations: Option<String>,
    /// Engines: output channels computed in parallel; divides --cout [default: 1].
    #[arg(long, allow_negative_numbers = true)]
    pub pe: Option<i64>,
    /// Engines: window elements per lane per cycle; divides --cin, or a multiple of it dividing k*k*cin
    /// [default: cin].
    #[arg(long, allow_negative_numbers = true)]
    pub simd: Option<i64>,
    /// Engines: output stage, sum, threshold or fusion (conv) [default: sum].
    #[arg(long)]
    pub output: Option<String>,
    /// Engines: ascending integer thresholds, comma-separated, for every channel [default: the median of the sums
    /// over random inputs].
    #[arg(long, allow_hyphen_values = true)]
    pub thresholds: Option<String>,
    /// Engines: the fusion gate's K*K weights F (reals, row i for output lane i) [default: C = 1/2,
    /// F[i][j] = C [i = j] + (1 - C) lambda_j].
    #[arg(long, allow_hyphen_values = true)]
    pub fusion: Option<String>,
    /// Engines: pa_conv activations are unsigned B-bit values.
    #[arg(long)]
    pub act_unsigned: bool,
    /// Engines: with --output threshold, this many thresholds per channel at the quantiles of its sums
    /// over random inputs, so that its levels 0..=N are about equally likely, 1..=255 [default: 1, the median].
    #[arg(long, allow_negative_numbers = true)]
    pub levels: Option<i64>,
    /// Engines: pa_conv weight bases in the ROM as planes (a bit per base) or piece_index (ceil(log2(M+1)) bits a
    /// weight; the bases must be disjoint) [default: auto, piece_index where the bases are disjoint and it is
    /// narrower; in a network packed for a board, only where its block RAM runs short].
    #[arg(long)]
    pub weight_form: Option<String>,
}

/// A design request: a unit of SPEC section 3, or a streaming engine of
/// section 6 with its tree pipelining.
#[derive(Clone, Debug, PartialEq)]
pub enum DesignRequest {
    Unit(Request),
    Engine(EngineRequest, u32),
    /// A network file, read where it is rendered (`spec::network` reads
    /// its layers with this module's flags).
    Network(PathBuf),
}

/// Tree levels between registers in an engine unless asked otherwise:
/// the popcounts and scale trees run at the board clocks of the bench.
pub const DEFAULT_ENGINE_PIPELINE: u32 = 2;

impl DesignArgs {
    /// The design these flags spell: a unit or an engine.
    pub fn to_design(&self) -> Result<DesignRequest, String> {
        if let Some(path) = &self.network {
            if *self != (DesignArgs { network: Some(path.clone()), ..DesignArgs::default() }) {
                return Err(format!(
                    "--network {} takes no other design flag: the network file gives every layer's settings",
                    path.display()
                ));
            }
            return Ok(DesignRequest::Network(path.clone()));
        }
        // A layer file of an engine's scheme asks for that engine by itself.
        let from_model = || match &self.block {
            None => self.model.as_deref().and_then(crate::spec::conv_layer::engine_kind_of),
            Some(_) => None,
        };
        match self.block.as_deref().and_then(EngineKind::parse).or_else(from_model) {
            Some(kind) => self.to_engine(kind),
            None => {
                let engine_only = [
                    (self.height.is_some(), "--height"),
                    (self.width.is_some(), "--width"),
                    (self.cout.is_some(), "--cout"),
                    (self.stride.is_some(), "--stride"),
                    (self.padding.is_some(), "--padding"),
                    (self.dilations.is_some(), "--dilations"),
                    (self.pe.is_some(), "--pe"),
                    (self.simd.is_some(), "--simd"),
                    (self.output.is_some(), "--output"),
                    (self.thresholds.is_some(), "--thresholds"),
                    (self.fusion.is_some(), "--fusion"),
                    (self.act_unsigned, "--act-unsigned"),
                    (self.levels.is_some(), "--levels"),
                    (self.weight_form.is_some(), "--weight-form"),
                ];
                if let Some((_, flag)) = engine_only.iter().find(|(given, _)| *given) {
                    return Err(format!("{flag} applies to the engines --block conv and pa_conv only"));
                }
                Ok(DesignRequest::Unit(self.to_request()?))
            }
        }
    }

    /// An engine's request and its tree pipelining.
    fn to_engine(&self, kind: EngineKind) -> Result<DesignRequest, String> {
        let unit_only = [
            (self.len.is_some(), "--len"),
            (self.weights.is_some(), "--weights"),
            (self.bits.is_some(), "--bits"),
            (self.popcount.is_some(), "--popcount"),
        ];
        if let Some((_, flag)) = unit_only.iter().find(|(given, _)| *given) {
            return Err(format!("{flag} does not apply to the engine --block {}", kind.name()));
        }
        let padding = match self.padding.as_deref() {
            None => None,
            Some("same") => Some(Padding::Same),
            Some("valid") => Some(Padding::Valid),
            Some(other) => return Err(format!("--padding {other:?} is unknown: valid paddings are same, valid")),
        };
        let output = match self.output.as_deref() {
            None => None,
            Some(text) => Some(
                OutputMode::parse(text)
                    .ok_or_else(|| format!("--output {text:?} is unknown: valid outputs are sum, threshold, fusion"))?,
            ),
        };
        let integers = |flag: &str, text: &Option<String>| -> Result<Option<Vec<i64>>, String> {
            text.as_deref().map(|t| parse_integers(flag, t)).transpose()
        };
        let pipeline = match self.pipeline {
            None => DEFAULT_ENGINE_PIPELINE,
            Some(p) => in_range("--pipeline", p, 0, MAX_PIPELINE as i64, "the levels per pipeline stage")? as u32,
        };
        let weight_form = match self.weight_form.as_deref() {
            None => None,
            Some(text) => Some(text.parse::<WeightForm>().map_err(|e| format!("--weight-form {e}"))?),
        };
        let request = EngineRequest {
            levels: self.levels,
            weight_form,
            k: self.k,
            m: self.m,
            n: self.n,
            act_bits: self.act_bits,
            act_unsigned: self.act_unsigned,
            height: self.height,
            width: self.width,
            cin: self.cin,
            cout: self.cout,
            kernel: self.kernel,
            stride: self.stride,
            padding,
            dilations: integers("--dilations", &self.dilations)?,
            pe: self.pe,
            simd: self.simd,
            output,
            thresholds: integers("--thresholds", &self.thresholds)?,
            fusion: self.fusion.as_deref().map(|t| parse_reals("--fusion", t)).transpose()?,
            lambda: self.lambda.as_deref().map(|t| parse_reals("--lambda", t)).transpose()?,
            phi: self.phi.as_deref().map(|t| parse_reals("--phi", t)).transpose()?,
            endpoints: integers("--endpoints", &self.endpoints)?,
            frac_bits: self.frac_bits,
            coef_bits: self.coef_bits,
            shared_input: self.shared_input,
            seed: self.seed,
            weights_file: self.weights_file.clone(),
            model: self.model.clone(),
            top: self.top.clone(),
            ..EngineRequest::new(kind)
        };
        Ok(DesignRequest::Engine(request, pipeline))
    }

    /// The typed request these flags spell.
    pub fn to_request(&self) -> Result<Request, String> {
        let block = match &self.block {
            None => None,
            Some(b) => Some(Block::parse(b).ok_or_else(|| {
                let names: Vec<&str> = Block::ALL.iter().map(|b| b.name()).collect();
                format!("--block {b:?} is unknown: valid blocks are {}, conv, pa_conv", names.join(", "))
            })?),
        };
        let weights = match self.weights.as_deref() {
            None => None,
            Some("port") => Some(WeightsMode::Port),
            Some("const") => Some(WeightsMode::Const),
            Some(other) => return Err(format!("--weights {other:?} is unknown: valid modes are port, const")),
        };
        let popcount = match &self.popcount {
            None => None,
            Some(text) => Some(PopcountStyle::parse(text).ok_or_else(|| {
                let names: Vec<&str> = PopcountStyle::ALL.iter().map(|s| s.name()).collect();
                format!("--popcount {text}: expected one of {}", names.join(", "))
            })?),
        };
        Ok(Request {
            block,
            k: self.k,
            len: self.len,
            cin: self.cin,
            kernel: self.kernel,
            lambda: self.lambda.as_deref().map(|t| parse_reals("--lambda", t)).transpose()?,
            frac_bits: self.frac_bits,
            coef_bits: self.coef_bits,
            shared_input: self.shared_input,
            weights,
            weights_file: self.weights_file.clone(),
            seed: self.seed,
            pipeline: self.pipeline,
            popcount,
            m: self.m,
            n: self.n,
            act_bits: self.act_bits,
            endpoints: self.endpoints.as_deref().map(|t| parse_integers("--endpoints", t)).transpose()?,
            phi: self.phi.as_deref().map(|t| parse_reals("--phi", t)).transpose()?,
            bits: self.bits,
            model: self.model.clone(),
            top: self.top.clone(),
        })
    }

    /// The parameters these flags give, validated.
    pub fn to_params(&self) -> Result<DesignParams, String> {
        self.to_request()?.to_params()
    }
}

impl Request {
    /// The flags that spell this request: `mbnn gen <flags>` makes the same
    /// design. What reports print so that a person can reproduce a figure.
    pub fn flags(&self) -> String {
        let mut f: Vec<String> = vec![];
        let mut flag = |name: &str, value: Option<String>| {
            if let Some(v) = value {
                f.push(format!("--{name} {v}"));
            }
        };
        let list =
            |v: &Option<Vec<f64>>| v.as_ref().map(|v| v.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(","));
        flag("block", self.block.map(|b| b.name().to_string()));
        flag("k", self.k.map(|v| v.to_string()));
        flag("m", self.m.map(|v| v.to_string()));
        flag("n", self.n.map(|v| v.to_string()));
        flag("bits", self.bits.map(|v| v.to_string()));
        flag("len", self.len.map(|v| v.to_string()));
        flag("cin", self.cin.map(|v| v.to_string()));
        flag("kernel", self.kernel.map(|v| v.to_string()));
        flag("act-bits", self.act_bits.map(|v| v.to_string()));
        flag(
            "endpoints",
            self.endpoints.as_ref().map(|v| v.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(",")),
        );
        flag("lambda", list(&self.lambda));
        flag("phi", list(&self.phi));
        flag("coef-bits", self.coef_bits.map(|v| v.to_string()));
        flag("frac-bits", self.frac_bits.map(|v| v.to_string()));
        flag("weights", self.weights.map(|w| if w == WeightsMode::Port { "port" } else { "const" }.to_string()));
        flag("weights-file", self.weights_file.as_ref().map(|p| p.display().to_string()));
        flag("seed", self.seed.map(|v| v.to_string()));
        flag("popcount", self.popcount.map(|p| p.name().to_string()));
        flag("pipeline", self.pipeline.map(|v| v.to_string()));
        flag("model", self.model.as_ref().map(|p| p.display().to_string()));
        flag("top", self.top.clone());
        if self.shared_input {
            f.push("--shared-input".into());
        }
        f.join(" ")
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

pub(crate) fn parse_integers(flag: &str, text: &str) -> Result<Vec<i64>, String> {
    text.split(',')
        .map(|s| s.trim().parse::<i64>().map_err(|_| format!("{flag} value {:?} is not an integer", s.trim())))
        .collect()
}

#[derive(Parser)]
struct Flags {
    #[command(flatten)]
    design: DesignArgs,
}

/// Parses a line of `gen` flags exactly as the command line would.
pub fn parse_flags(line: &str) -> Result<DesignArgs, String> {
    let args = std::iter::once("gen").chain(line.split_whitespace());
    Flags::try_parse_from(args).map(|f| f.design).map_err(|e| e.to_string().lines().next().unwrap_or("").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_reads_back_from_its_flags() {
        let requests = [
            Request::groupnet(3, 7).lambdas(&[0.75, -1.5, 0.3125]).shared_input().const_weights(4).pipeline(2),
            Request::pa(2, 3, 9).act_bits(4).endpoints(&[-8, 0, 7]).phi(&[1.0, -0.5, 2.0, 0.25, 3.0, -1.0]),
            Request::multibit(Block::Mac, 16, 2).scale_format(32, 31).popcount_style(PopcountStyle::Carry).top("t"),
        ];
        for r in requests {
            assert_eq!(parse_flags(&r.flags()).unwrap().to_request().unwrap(), r, "{}", r.flags());
        }
    }

    #[test]
    fn flags_spell_the_same_request_as_the_presets() {
        let parsed = |line: &str| parse_flags(line).unwrap().to_request().unwrap();
        assert_eq!(parsed("--block xnor_pe --len 64 --pipeline 2"), Request::xnor_pe(64).pipeline(2));
        assert_eq!(
            parsed("--block groupnet --k 3 --len 7 --lambda 0.75,-1.5,0.3125 --shared-input --weights const --seed 4"),
            Request::groupnet(3, 7).lambdas(&[0.75, -1.5, 0.3125]).shared_input().const_weights(4)
        );
        assert_eq!(
            parsed("--block pa --m 2 --n 3 --len 9 --act-bits 4 --endpoints -8,0,7 --popcount tree"),
            Request::pa(2, 3, 9).act_bits(4).endpoints(&[-8, 0, 7]).popcount_style(PopcountStyle::Tree)
        );
    }
}
