//! A streaming engine as a person asks for it: every setting typed and
//! optional, validated into [`EngineParams`] with the defaults filled in.
//! Errors name the setting as its command-line flag and the valid range.

use crate::spec::conv_layer::{self, ConvDecomposition, ConvLayer};
use crate::spec::engine::{EngineKind, EngineParams, Folding, Geometry, Output, Padding, WeightForm, WeightStorage};
use crate::spec::params::{MAX_BASES, MAX_COEF_BITS, MAX_FRAC_BITS};
use crate::spec::request::{checked_top, default_phi, finite, in_range, pa_endpoints, random_pieces};
use crate::util::bits::{BitVec, SplitMix64};
use crate::util::fixed;
use std::path::{Path, PathBuf};

/// The output stage asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputMode {
    Sum,
    Threshold,
    Fusion,
}

impl OutputMode {
    pub fn parse(text: &str) -> Option<OutputMode> {
        match text {
            "sum" => Some(OutputMode::Sum),
            "threshold" => Some(OutputMode::Threshold),
            "fusion" => Some(OutputMode::Fusion),
            _ => None,
        }
    }
}

/// The most of each setting (kept beside the engine, where layer files read them too).
pub use crate::spec::engine::{
    MAX_CHANNELS, MAX_DILATION, MAX_ENGINE_LANES, MAX_KERNEL, MAX_SIDE, MAX_STRIDE, MAX_THRESHOLDS,
};

#[derive(Clone, Debug, PartialEq)]
pub struct EngineRequest {
    pub kind: EngineKind,
    pub k: Option<i64>,
    pub m: Option<i64>,
    pub n: Option<i64>,
    pub act_bits: Option<i64>,
    pub act_unsigned: bool,
    pub height: Option<i64>,
    pub width: Option<i64>,
    pub cin: Option<i64>,
    pub cout: Option<i64>,
    pub kernel: Option<i64>,
    pub stride: Option<i64>,
    pub padding: Option<Padding>,
    pub dilations: Option<Vec<i64>>,
    pub pe: Option<i64>,
    pub simd: Option<i64>,
    pub output: Option<OutputMode>,
    /// Threshold levels, the same for every channel.
    pub thresholds: Option<Vec<i64>>,
    /// Or this many thresholds per channel, at its sums' quantiles.
    pub levels: Option<i64>,
    /// `pa_conv`: the ROM's form of the weight bases.
    pub weight_form: Option<WeightForm>,
    /// The fusion gate's K x K weights F, row by row, as reals.
    pub fusion: Option<Vec<f64>>,
    pub lambda: Option<Vec<f64>>,
    pub phi: Option<Vec<f64>>,
    pub endpoints: Option<Vec<i64>>,
    pub frac_bits: Option<i64>,
    pub coef_bits: Option<i64>,
    pub shared_input: bool,
    pub seed: Option<u64>,
    pub weights_file: Option<PathBuf>,
    /// A layer file in real numbers (`spec::conv_layer`): it gives
    /// everything but the folding, the pipelining and the name.
    pub model: Option<PathBuf>,
    pub top: Option<String>,
}

impl EngineRequest {
    /// Every setting at its default.
    pub fn new(kind: EngineKind) -> EngineRequest {
        EngineRequest {
            kind,
            k: None,
            m: None,
            n: None,
            act_bits: None,
            act_unsigned: false,
            height: None,
            width: None,
            cin: None,
            cout: None,
            kernel: None,
            stride: None,
            padding: None,
            dilations: None,
            pe: None,
            simd: None,
            output: None,
            thresholds: None,
            levels: None,
            weight_form: None,
            fusion: None,
            lambda: None,
            phi: None,
            endpoints: None,
            frac_bits: None,
            coef_bits: None,
            shared_input: false,
            seed: None,
            weights_file: None,
            model: None,
            top: None,
        }
    }
}

impl OutputMode {
    pub fn name(self) -> &'static str {
        match self {
            OutputMode::Sum => "sum",
            OutputMode::Threshold => "threshold",
            OutputMode::Fusion => "fusion",
        }
    }
}

/// Presets for studies and tests: a layer of `(height, width, cin, cout)`
/// folded by `(pe, simd)`, everything else at its default.
impl EngineRequest {
    fn layer(kind: EngineKind, (h, w, cin, cout): (i64, i64, i64, i64), (pe, simd): (i64, i64)) -> EngineRequest {
        EngineRequest {
            height: Some(h),
            width: Some(w),
            cin: Some(cin),
            cout: Some(cout),
            pe: Some(pe),
            simd: Some(simd),
            seed: Some(1),
            ..EngineRequest::new(kind)
        }
    }

    /// Group-Net's `conv` with one lane per dilation.
    pub fn conv(dilations: &[i64], shape: (i64, i64, i64, i64), folding: (i64, i64)) -> EngineRequest {
        EngineRequest {
            k: Some(dilations.len() as i64),
            dilations: Some(dilations.to_vec()),
            ..EngineRequest::layer(EngineKind::Conv, shape, folding)
        }
    }

    /// PA-Net's `pa_conv` with M weight bases, N activation bases of `act_bits`.
    pub fn pa_conv(
        (m, n, act_bits): (i64, i64, i64),
        shape: (i64, i64, i64, i64),
        folding: (i64, i64),
    ) -> EngineRequest {
        EngineRequest {
            m: Some(m),
            n: Some(n),
            act_bits: Some(act_bits),
            ..EngineRequest::layer(EngineKind::PaConv, shape, folding)
        }
    }

    pub fn with_output(self, output: OutputMode) -> EngineRequest {
        EngineRequest { output: Some(output), ..self }
    }

    /// The command-line flags of the settings given (the rest at their
    /// defaults): `mbnn gen <flags>` makes the same engine.
    pub fn flags(&self) -> String {
        let list = |v: &[i64]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(",");
        let mut f = vec![format!("--block {}", self.kind.name())];
        let numbers = [
            ("k", self.k),
            ("m", self.m),
            ("n", self.n),
            ("act-bits", self.act_bits),
            ("height", self.height),
            ("width", self.width),
            ("cin", self.cin),
            ("cout", self.cout),
            ("kernel", self.kernel),
            ("stride", self.stride),
            ("pe", self.pe),
            ("simd", self.simd),
        ];
        f.extend(numbers.iter().filter_map(|(name, v)| v.map(|v| format!("--{name} {v}"))));
        if let Some(d) = &self.dilations {
            f.push(format!("--dilations {}", list(d)));
        }
        if let Some(p) = self.padding {
            f.push(format!("--padding {}", p.name()));
        }
        if let Some(o) = self.output {
            f.push(format!("--output {}", o.name()));
        }
        if let Some(levels) = self.levels {
            f.push(format!("--levels {levels}"));
        }
        if let Some(form) = self.weight_form {
            f.push(format!("--weight-form {}", form.name()));
        }
        if self.shared_input {
            f.push("--shared-input".into());
        }
        if let Some(seed) = self.seed {
            f.push(format!("--seed {seed}"));
        }
        f.join(" ")
    }
}

/// The geometry's defaults: an 8 x 8 map of 16 channels, a 3 x 3 kernel.
const DEFAULT_SIDE: i64 = 8;
const DEFAULT_CHANNELS: i64 = 16;

impl EngineRequest {
    /// Each setting that only the other engine has is an error naming both.
    fn check_applicable(&self) -> Result<(), String> {
        let conv = self.kind == EngineKind::Conv;
        let checks = [
            (self.k.is_some(), "--k", conv),
            (self.lambda.is_some(), "--lambda", conv),
            (self.shared_input, "--shared-input", conv),
            (self.fusion.is_some(), "--fusion", conv),
            (self.output == Some(OutputMode::Fusion), "--output fusion", conv),
            (self.m.is_some(), "--m", !conv),
            (self.n.is_some(), "--n", !conv),
            (self.act_bits.is_some(), "--act-bits", !conv),
            (self.act_unsigned, "--act-unsigned", !conv),
            (self.endpoints.is_some(), "--endpoints", !conv),
            (self.phi.is_some(), "--phi", !conv),
            (self.weight_form.is_some(), "--weight-form", !conv),
        ];
        match checks.iter().find(|(given, _, allowed)| *given && !*allowed) {
            Some((_, flag, _)) => {
                let owner = if conv { "pa_conv" } else { "conv" };
                Err(format!("{flag} applies to --block {owner} only, not {}", self.kind.name()))
            }
            None => Ok(()),
        }
    }

    /// K lanes of `conv` or M weight bases of `pa_conv`.
    fn lanes(&self) -> Result<usize, String> {
        Ok(match self.kind {
            EngineKind::Conv => {
                let default = self.dilations.as_ref().map_or(2, |d| d.len() as i64);
                in_range("--k", self.k.unwrap_or(default), 1, MAX_ENGINE_LANES as i64, "the number of lanes")?
            }
            EngineKind::PaConv => in_range("--m", self.m.unwrap_or(4), 1, MAX_BASES as i64, "the weight bases")?,
        } as usize)
    }

    fn dilations(&self, lanes: usize) -> Result<Vec<usize>, String> {
        let wanted = if self.kind == EngineKind::Conv { lanes } else { 1 };
        let given = self.dilations.clone().unwrap_or_else(|| vec![1; wanted]);
        if given.len() != wanted {
            let owner =
                if self.kind == EngineKind::Conv { format!("--k {lanes} needs") } else { "pa_conv takes".into() };
            return Err(format!("--dilations gives {} values, {owner} exactly {wanted}", given.len()));
        }
        given
            .iter()
            .map(|&d| in_range("--dilations", d, 1, MAX_DILATION as i64, "a dilation").map(|d| d as usize))
            .collect()
    }

    fn geometry(&self, lanes: usize) -> Result<Geometry, String> {
        let side =
            |flag: &str, v: Option<i64>| in_range(flag, v.unwrap_or(DEFAULT_SIDE), 1, MAX_SIDE as i64, "a map side");
        let channels = |flag: &str, v: Option<i64>| {
            in_range(flag, v.unwrap_or(DEFAULT_CHANNELS), 1, MAX_CHANNELS as i64, "channels")
        };
        let g = Geometry {
            height: side("--height", self.height)? as usize,
            width: side("--width", self.width)? as usize,
            cin: channels("--cin", self.cin)? as usize,
            cout: channels("--cout", self.cout)? as usize,
            kernel: in_range("--kernel", self.kernel.unwrap_or(3), 1, MAX_KERNEL as i64, "the kernel side")? as usize,
            stride: in_range("--stride", self.stride.unwrap_or(1), 1, MAX_STRIDE as i64, "the stride")? as usize,
            padding: self.padding.unwrap_or(Padding::Same),
            dilations: self.dilations(lanes)?,
        };
        g.check(|setting| format!("--{setting}"))?;
        Ok(g)
    }

    /// `pe` divides cout; `simd` divides cin or is a multiple of cin that
    /// divides k*k*cin (SPEC 6.6).
    fn folding(&self, g: &Geometry) -> Result<Folding, String> {
        let pe =
            in_range("--pe", self.pe.unwrap_or(1), 1, g.cout as i64, "the parallel output channels (at most cout)")?
                as usize;
        if !g.cout.is_multiple_of(pe) {
            return Err(format!(
                "--pe {pe} does not divide --cout {}: pe output channels are computed together",
                g.cout
            ));
        }
        let n = g.window_len();
        let simd = in_range("--simd", self.simd.unwrap_or(g.cin as i64), 1, n as i64, "the window elements per cycle")?
            as usize;
        let fits = if simd <= g.cin {
            g.cin.is_multiple_of(simd)
        } else {
            simd.is_multiple_of(g.cin) && n.is_multiple_of(simd)
        };
        if !fits {
            return Err(format!(
                "--simd {simd} must divide --cin {} or be a multiple of it that divides the window's {n} elements",
                g.cin
            ));
        }
        Ok(Folding { pe, simd })
    }
}

/// What a weights file may give besides the weights (SPEC 6.4, 6.5).
#[derive(Default)]
struct FileConstants {
    weights: Vec<Vec<BitVec>>,
    thresholds: Option<Vec<Vec<i64>>>,
    threshold_signs: Option<Vec<i64>>,
    fusion_thresholds: Option<Vec<Vec<i64>>>,
}

/// The integers of `value` at `key`, as lists of `inner` integers, `outer` of them.
fn int_lists(
    value: &serde_json::Value,
    key: &str,
    outer: usize,
    inner: Option<usize>,
) -> Result<Vec<Vec<i64>>, String> {
    let lists = value.as_array().ok_or_else(|| format!("\"{key}\" must be a list of {outer} lists of integers"))?;
    if lists.len() != outer {
        return Err(format!("\"{key}\" has {} lists, the engine needs exactly {outer}", lists.len()));
    }
    lists
        .iter()
        .enumerate()
        .map(|(i, list)| {
            let items = list.as_array().ok_or_else(|| format!("\"{key}\"[{i}] is not a list"))?;
            if let Some(n) = inner.filter(|&n| n != items.len()) {
                return Err(format!("\"{key}\"[{i}] has {} integers, the engine needs exactly {n}", items.len()));
            }
            items
                .iter()
                .map(|x| x.as_i64().ok_or_else(|| format!("\"{key}\"[{i}] holds {x}, not an integer")))
                .collect()
        })
        .collect()
}

/// Reads an engine's weights file: `{"weights": [[hex x cout] x lanes], ...}`
/// with the optional `thresholds`, `threshold_signs` and `fusion_thresholds`.
fn read_engine_file(path: &std::path::Path, lanes: usize, g: &Geometry) -> Result<FileConstants, String> {
    let shown = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| format!("--weights-file {shown}: cannot read it: {e}"))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("--weights-file {shown} is not valid JSON: {e}"))?;
    let err = |e: String| format!("--weights-file {shown}: {e}");
    let lists = v
        .get("weights")
        .and_then(|w| w.as_array())
        .ok_or_else(|| err(format!("must hold {{\"weights\": [[\"0x...\" x {}] x {lanes}]}}", g.cout)))?;
    if lists.len() != lanes {
        return Err(err(format!("\"weights\" has {} lists, the engine needs exactly {lanes}", lists.len())));
    }
    let mut out = FileConstants::default();
    for (i, list) in lists.iter().enumerate() {
        let items = list.as_array().filter(|a| a.len() == g.cout).ok_or_else(|| {
            err(format!("\"weights\"[{i}] must be a list of exactly {} hex vectors (one per output channel)", g.cout))
        })?;
        let vectors = items.iter().enumerate().map(|(o, item)| {
            let s = item.as_str().ok_or_else(|| err(format!("\"weights\"[{i}][{o}] is not a hex string")))?;
            BitVec::from_hex(s, g.window_len()).map_err(|e| err(format!("\"weights\"[{i}][{o}]: {e}")))
        });
        out.weights.push(vectors.collect::<Result<_, _>>()?);
    }
    if let Some(t) = v.get("thresholds") {
        out.thresholds = Some(int_lists(t, "thresholds", g.cout, None).map_err(err)?);
    }
    if let Some(s) = v.get("threshold_signs") {
        out.threshold_signs =
            Some(int_lists(&serde_json::json!([s]), "threshold_signs", 1, Some(g.cout)).map_err(err)?.remove(0));
    }
    if let Some(u) = v.get("fusion_thresholds") {
        out.fusion_thresholds = Some(int_lists(u, "fusion_thresholds", lanes, Some(g.cout)).map_err(err)?);
    }
    Ok(out)
}

impl EngineRequest {
    /// The weights: from the file, or random from the seed (PA-Net's as a
    /// decomposition makes them, each element in at most one base).
    fn constants(&self, lanes: usize, g: &Geometry) -> Result<FileConstants, String> {
        if self.weights_file.is_some() && self.seed.is_some() {
            return Err("--weights-file and --seed both give the weights: use one or the other".into());
        }
        if let Some(path) = &self.weights_file {
            return read_engine_file(path, lanes, g);
        }
        let mut rng = SplitMix64::new(self.seed.unwrap_or(1));
        let n = g.window_len();
        let weights = match self.kind {
            EngineKind::Conv => {
                (0..lanes).map(|_| (0..g.cout).map(|_| BitVec::random(n, &mut rng)).collect()).collect()
            }
            EngineKind::PaConv => {
                // Per output channel, one piece per element; transposed to bases.
                let per_channel: Vec<Vec<BitVec>> = (0..g.cout).map(|_| random_pieces(lanes, n, &mut rng)).collect();
                (0..lanes).map(|i| per_channel.iter().map(|bases| bases[i].clone()).collect()).collect()
            }
        };
        Ok(FileConstants { weights, ..FileConstants::default() })
    }
}

/// The scales' fixed-point format.
struct Format {
    frac_bits: u32,
    coef_bits: u32,
}

impl Format {
    fn coefficient(&self, flag: &str, real: f64) -> Result<i64, String> {
        let settings = format!("--coef-bits {} and --frac-bits {}", self.coef_bits, self.frac_bits);
        fixed::coefficient(&format!("{flag} {real}"), real, self.frac_bits, self.coef_bits, &settings)
    }
}

impl EngineRequest {
    fn format(&self) -> Result<Format, String> {
        let coef_bits =
            in_range("--coef-bits", self.coef_bits.unwrap_or(16), 2, MAX_COEF_BITS as i64, "the scale width in bits")?;
        let frac_bits =
            in_range("--frac-bits", self.frac_bits.unwrap_or(8), 0, MAX_FRAC_BITS as i64, "the fractional bits")?;
        Ok(Format { frac_bits: frac_bits as u32, coef_bits: coef_bits as u32 })
    }

    /// `conv`'s lambdas [default: (K-i)/K], real and fixed point.
    fn lambdas(&self, lanes: usize, f: &Format) -> Result<(Vec<f64>, Vec<i64>), String> {
        let reals = match &self.lambda {
            None => (0..lanes).map(|i| (lanes - i) as f64 / lanes as f64).collect(),
            Some(values) => finite("--lambda", values)?,
        };
        if reals.len() != lanes {
            return Err(format!("--lambda gives {} values, --k {lanes} needs exactly {lanes}", reals.len()));
        }
        let ints = reals.iter().map(|&r| f.coefficient("--lambda", r)).collect::<Result<_, _>>()?;
        Ok((reals, ints))
    }

    /// `pa_conv`'s activation format and pieces into `p`.
    fn pa_settings(&self, p: &mut EngineParams, f: &Format) -> Result<(), String> {
        let bits = in_range("--act-bits", self.act_bits.unwrap_or(8), 1, 16, "the activation width")? as u32;
        let nb = in_range("--n", self.n.unwrap_or(5), 1, MAX_BASES as i64, "the activation bases")? as usize;
        p.act_bits = bits;
        p.act_signed = !self.act_unsigned;
        p.endpoints = pa_endpoints(self.endpoints.as_deref(), nb, bits, p.act_range())?;
        let m = p.lanes();
        let reals = match &self.phi {
            Some(values) => finite("--phi", values)?,
            None => default_phi(m, nb),
        };
        if reals.len() != m * nb {
            return Err(format!("--phi gives {} values, --m {m} --n {nb} needs exactly {}", reals.len(), m * nb));
        }
        let ints: Vec<i64> = reals.iter().map(|&r| f.coefficient("--phi", r)).collect::<Result<_, _>>()?;
        p.phi_reals = reals.chunks(nb).map(<[f64]>::to_vec).collect();
        p.phi = ints.chunks(nb).map(<[i64]>::to_vec).collect();
        Ok(())
    }

    /// The output stage, defaults placed by the sums' distribution over
    /// random inputs: thresholds at its quantiles (one level: the median),
    /// so that each level is about equally likely; the fusion gate with
    /// C = sigmoid(0) = 1/2 (`F[i][j] = C [i = j] + (1 - C) lambda_j`) and
    /// thresholds 0, where a symmetric sum splits evenly.
    fn output(&self, p: &EngineParams, file: &FileConstants, f: &Format) -> Result<Output, String> {
        let mode = self.output.unwrap_or(OutputMode::Sum);
        if self.levels.is_some() && (mode != OutputMode::Threshold || self.thresholds.is_some()) {
            return Err(
                "--levels places the thresholds of --output threshold: not with other outputs or --thresholds".into()
            );
        }
        match mode {
            OutputMode::Sum => Ok(Output::Sum),
            OutputMode::Threshold => {
                let thresholds = match (&file.thresholds, &self.thresholds) {
                    (Some(_), Some(_)) => {
                        return Err("--thresholds and the weights file's \"thresholds\" both give them: use one".into());
                    }
                    (Some(t), None) => t.clone(),
                    (None, Some(t)) => vec![t.clone(); p.geometry.cout],
                    (None, None) => {
                        let count = threshold_count(self.levels)?;
                        (0..p.geometry.cout).map(|o| quantile_thresholds(p, o, count)).collect()
                    }
                };
                check_thresholds(&thresholds)?;
                let signs = file.threshold_signs.clone().unwrap_or_else(|| vec![1; p.geometry.cout]);
                if let Some(bad) = signs.iter().find(|s| s.abs() != 1) {
                    return Err(format!("\"threshold_signs\" holds {bad}: every sign is +1 or -1"));
                }
                Ok(Output::Threshold { thresholds, signs })
            }
            OutputMode::Fusion => {
                let lanes = p.lanes();
                let reals = match &self.fusion {
                    Some(values) => finite("--fusion", values)?,
                    None => (0..lanes * lanes)
                        .map(|x| 0.5 * f64::from(x / lanes == x % lanes) + 0.5 * p.lambda_reals[x % lanes])
                        .collect(),
                };
                if reals.len() != lanes * lanes {
                    return Err(format!(
                        "--fusion gives {} values, --k {lanes} needs exactly {}",
                        reals.len(),
                        lanes * lanes
                    ));
                }
                let ints: Vec<i64> = reals.iter().map(|&r| f.coefficient("--fusion", r)).collect::<Result<_, _>>()?;
                let fusion = ints.chunks(lanes).map(<[i64]>::to_vec).collect();
                let thresholds =
                    file.fusion_thresholds.clone().unwrap_or_else(|| vec![vec![0; p.geometry.cout]; lanes]);
                Ok(Output::Fusion { fusion, thresholds })
            }
        }
    }
}

/// `--levels`, checked, or one threshold (the median).
pub(crate) fn threshold_count(levels: Option<i64>) -> Result<usize, String> {
    let count = levels.unwrap_or(1);
    Ok(in_range("--levels", count, 1, MAX_THRESHOLDS as i64, "the thresholds per channel")? as usize)
}

/// `count` thresholds for channel o at the quantiles i / (count + 1) of its
/// sum over random inputs (a normal of the sum's mean and variance),
/// rounded up, the direction SPEC section 2 rounds thresholds; one is the
/// median.
pub(crate) fn quantile_thresholds(p: &EngineParams, o: usize, count: usize) -> Vec<i64> {
    let (mean, var) = p.sum_moments(o);
    (1..=count)
        .map(|i| {
            let z = crate::util::stats::normal_quantile(i as f64 / (count + 1) as f64);
            (mean + var.sqrt() * z).ceil() as i64
        })
        .collect()
}

pub(crate) fn check_thresholds(thresholds: &[Vec<i64>]) -> Result<(), String> {
    let levels = thresholds[0].len();
    if !(1..=MAX_THRESHOLDS).contains(&levels) {
        return Err(format!("--thresholds gives {levels} levels: an output has 1..={MAX_THRESHOLDS}"));
    }
    for (o, list) in thresholds.iter().enumerate() {
        if list.len() != levels {
            return Err(format!(
                "\"thresholds\"[{o}] has {} levels, channel 0 has {levels}: every channel has the same",
                list.len()
            ));
        }
        if let Some(pair) = list.windows(2).find(|w| w[1] < w[0]) {
            return Err(format!("thresholds of channel {o} are out of order: {} follows {}", pair[1], pair[0]));
        }
    }
    Ok(())
}

impl EngineRequest {
    /// Validates the request into an engine, every default filled in.
    pub fn to_params(&self) -> Result<EngineParams, String> {
        if let Some(path) = &self.model {
            return Ok(self.layer_params(path)?.0);
        }
        self.check_applicable()?;
        let lanes = self.lanes()?;
        let geometry = self.geometry(lanes)?;
        let folding = self.folding(&geometry)?;
        let f = self.format()?;
        let file = self.constants(lanes, &geometry)?;
        let mut p = EngineParams {
            kind: self.kind,
            top: String::new(),
            geometry,
            folding,
            weights_in: WeightStorage::Auto,
            weight_form: WeightForm::Auto,
            weights: file.weights.clone(),
            shared_input: self.shared_input,
            lambdas: vec![],
            lambda_reals: vec![],
            act_bits: 0,
            act_signed: true,
            endpoints: vec![],
            bitplanes: false,
            phi: vec![],
            phi_reals: vec![],
            frac_bits: f.frac_bits,
            coef_bits: f.coef_bits,
            output: Output::Sum,
            sums: (0, 0),
        };
        match self.kind {
            EngineKind::Conv => (p.lambda_reals, p.lambdas) = self.lambdas(lanes, &f)?,
            EngineKind::PaConv => self.pa_settings(&mut p, &f)?,
        }
        p.sums = p.compute_sum_range();
        p.output = self.output(&p, &file, &f)?;
        p.weight_form = self.weight_form.unwrap_or_default();
        p.check_weight_form()?;
        p.top = match &self.top {
            Some(t) => checked_top(t)?,
            None => p.default_top(),
        };
        Ok(p)
    }
}

impl EngineRequest {
    /// An engine from a layer file, with the layer and its decomposition:
    /// only the folding (`--pe`, `--simd`) and the name come from the request.
    pub fn layer_params(&self, path: &Path) -> Result<(EngineParams, ConvLayer, ConvDecomposition), String> {
        self.check_no_layer_flags(&path.display().to_string())?;
        let (layer, decomposition) = conv_layer::load_conv_layer(path, self.kind)?;
        self.from_layer(layer, decomposition)
    }

    /// An engine from a layer already read (a network's inline `"model"`),
    /// folded and named by the request.
    pub fn from_layer(
        &self,
        layer: ConvLayer,
        decomposition: ConvDecomposition,
    ) -> Result<(EngineParams, ConvLayer, ConvDecomposition), String> {
        let mut p = decomposition.params.clone();
        p.folding = self.folding(&p.geometry)?;
        if let Some(form) = self.weight_form {
            p.weight_form = form;
            p.check_weight_form()?;
        }
        p.top = match &self.top {
            Some(t) => checked_top(t)?,
            None => conv_layer::model_top(&p),
        };
        Ok((p, layer, decomposition))
    }

    /// A layer file gives everything but the folding and the name: no
    /// other setting may be asked for beside it (`source` names it).
    pub fn check_no_layer_flags(&self, source: &str) -> Result<(), String> {
        let given = [
            (self.k.is_some() || self.m.is_some() || self.n.is_some(), "--k/--m/--n"),
            (self.height.is_some() || self.width.is_some(), "--height/--width"),
            (self.cin.is_some() || self.cout.is_some(), "--cin/--cout"),
            (self.kernel.is_some() || self.stride.is_some(), "--kernel/--stride"),
            (self.padding.is_some() || self.dilations.is_some(), "--padding/--dilations"),
            (
                self.output.is_some() || self.thresholds.is_some() || self.levels.is_some(),
                "--output/--thresholds/--levels",
            ),
            (self.fusion.is_some() || self.lambda.is_some() || self.phi.is_some(), "--fusion/--lambda/--phi"),
            (
                self.act_bits.is_some() || self.act_unsigned || self.endpoints.is_some(),
                "--act-bits/--act-unsigned/--endpoints",
            ),
            (self.frac_bits.is_some() || self.coef_bits.is_some(), "--frac-bits/--coef-bits"),
            (self.shared_input, "--shared-input"),
            (self.seed.is_some() || self.weights_file.is_some(), "--seed/--weights-file"),
        ];
        match given.iter().find(|(g, _)| *g) {
            Some((_, flag)) => Err(format!("{flag} cannot be combined with --model: the layer file {source} gives it")),
            None => Ok(()),
        }
    }
}
