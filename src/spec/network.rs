//! Networks (SPEC section 7): layers chained stream to stream, from a
//! network file. Each layer is a streaming engine of section 6 (`conv`,
//! `pa_conv`, `dense` as a `conv` whose kernel covers the map) or a stage
//! of section 7 (`maxpool`); the network ends in one beat per frame, the
//! last layer's sums or their `argmax`.
//!
//! A layer's fields are the engine's settings under their flag names (`k`,
//! `dilations`, `cout`, `pe`, `simd`, `output`, `thresholds`, `lambda`,
//! `seed`, `weights_file`, `model`, ...), validated by the same code as the
//! flags; what the chain fixes (`height`, `width`, `cin`, the pixel format)
//! comes from the layer before and may be given only if it agrees. Every
//! error is one line naming the file, the layer and the field.

use crate::spec::conv_layer::{self, ConvLayer};
use crate::spec::engine::{EngineKind, EngineParams, MAX_KERNEL, Output};
use crate::spec::flags::{DesignArgs, DesignRequest};
use crate::spec::layer::shown;
use crate::spec::stage::{ArgmaxParams, PoolParams};
use serde_json::{Map, Value};
use std::path::Path;

/// The most layers a network may have, and the largest pool window.
pub const MAX_LAYERS: usize = 64;
pub const MAX_POOL: usize = 8;
/// The most bits of an input value.
pub const MAX_INPUT_BITS: u32 = 16;

/// What one pixel of a map between layers holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pixels {
    /// `channels` unsigned values of `bits` bits; one bit is a binary map (1 = +1).
    Levels { channels: usize, bits: u32 },
    /// Fusion bits: lane i's binary map of `channels` at bits `i*channels ..`.
    Lanes { lanes: usize, channels: usize },
    /// Exact sums, `bits` each, channel o at `[o*bits +: bits]`.
    Sums { channels: usize, bits: u32, signed: bool },
}

impl Pixels {
    pub fn bits(&self) -> usize {
        match *self {
            Pixels::Levels { channels, bits } => channels * bits as usize,
            Pixels::Lanes { lanes, channels } => lanes * channels,
            Pixels::Sums { channels, bits, .. } => channels * bits as usize,
        }
    }

    /// As a person reads it in an error.
    pub fn describe(&self) -> String {
        match *self {
            Pixels::Levels { channels, bits: 1 } => format!("a binary map of {channels} channels"),
            Pixels::Levels { channels, bits } => format!("{channels} channels of unsigned {bits}-bit values"),
            Pixels::Lanes { lanes, channels } => format!("fusion bits of {lanes} lanes x {channels} channels"),
            Pixels::Sums { channels, bits, .. } => format!("{channels} exact sums of {bits} bits"),
        }
    }
}

/// A map between layers: its size and its pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MapShape {
    pub height: usize,
    pub width: usize,
    pub pixels: Pixels,
}

/// The layer kinds of a network file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayerKind {
    Conv,
    PaConv,
    Dense,
    Maxpool,
}

impl LayerKind {
    pub const ALL: [LayerKind; 4] = [LayerKind::Conv, LayerKind::PaConv, LayerKind::Dense, LayerKind::Maxpool];

    pub fn name(self) -> &'static str {
        match self {
            LayerKind::Conv => "conv",
            LayerKind::PaConv => "pa_conv",
            LayerKind::Dense => "dense",
            LayerKind::Maxpool => "maxpool",
        }
    }
}

/// What computes a layer.
#[derive(Clone, Debug, PartialEq)]
pub enum Stage {
    /// A streaming engine and its tree pipelining (boxed: an engine's
    /// parameters hold its weights).
    Engine {
        params: Box<EngineParams>,
        pipeline: u32,
    },
    Pool(PoolParams),
}

#[derive(Clone, Debug, PartialEq)]
pub struct NetworkLayer {
    pub kind: LayerKind,
    pub stage: Stage,
    /// The map it reads and the map it gives.
    pub input: MapShape,
    pub output: MapShape,
    /// The layer in real numbers it was decomposed from, if it came from
    /// a layer file (`"model"`): the float network is computed from it.
    pub model: Option<Box<ConvLayer>>,
}

impl NetworkLayer {
    /// Steady-state cycles per frame with no stalls.
    pub fn cycles_per_frame(&self) -> usize {
        match &self.stage {
            Stage::Engine { params, .. } => params.cycles_per_frame(),
            Stage::Pool(p) => p.cycles_per_frame(),
        }
    }

    pub fn top(&self) -> &str {
        match &self.stage {
            Stage::Engine { params, .. } => &params.top,
            Stage::Pool(p) => &p.top,
        }
    }
}

/// The network's output beat, one per frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetOutput {
    /// The last layer's exact sums.
    Sum,
    /// The index of the largest sum (the lowest index on ties).
    Argmax(ArgmaxParams),
}

#[derive(Clone, Debug, PartialEq)]
pub struct NetworkParams {
    pub top: String,
    /// The image: `channels` unsigned `bits`-bit values a pixel.
    pub input: MapShape,
    /// Chained directly, stream to stream: every stage's `s_axis_tready`
    /// and `m_axis_*` are registers, so no path crosses more than one
    /// stage boundary, and each stage buffers what it may run ahead (an
    /// engine's line buffer and output FIFO, a pool's queue): a FIFO
    /// between two layers would only add a pixel's width of flip-flops.
    pub layers: Vec<NetworkLayer>,
    pub output: NetOutput,
}

impl NetworkParams {
    /// Steady-state cycles per frame: the slowest layer's.
    pub fn cycles_per_frame(&self) -> usize {
        let argmax = match &self.output {
            NetOutput::Argmax(a) => a.cycles_per_frame(),
            NetOutput::Sum => 1,
        };
        self.layers.iter().map(NetworkLayer::cycles_per_frame).max().unwrap_or(1).max(argmax)
    }

    pub fn in_pixel_bits(&self) -> usize {
        self.input.pixels.bits()
    }

    pub fn out_pixel_bits(&self) -> usize {
        match &self.output {
            NetOutput::Sum => self.layers.last().expect("a network has layers").output.pixels.bits(),
            NetOutput::Argmax(a) => a.index_bits() as usize,
        }
    }

    /// The engines, in order.
    pub fn engines(&self) -> impl Iterator<Item = &EngineParams> {
        self.layers.iter().filter_map(|l| match &l.stage {
            Stage::Engine { params, .. } => Some(params.as_ref()),
            Stage::Pool(_) => None,
        })
    }
}

// ---------------------------------------------------------------------------
// The network file

const TOP_FIELDS: [&str; 5] = ["top", "comment", "input", "layers", "output"];
const INPUT_FIELDS: [&str; 4] = ["height", "width", "channels", "bits"];
/// The fields every engine layer may have, beside its kind's own.
const ENGINE_FIELDS: [&str; 17] = [
    "kind",
    "comment",
    "height",
    "width",
    "cin",
    "cout",
    "pe",
    "simd",
    "output",
    "thresholds",
    "frac_bits",
    "coef_bits",
    "seed",
    "weights_file",
    "model",
    "pipeline",
    "weights_in",
];
const CONV_FIELDS: [&str; 8] = ["k", "kernel", "stride", "padding", "dilations", "lambda", "fusion", "shared_input"];
const DENSE_FIELDS: [&str; 3] = ["k", "lambda", "shared_input"];
const PA_FIELDS: [&str; 10] =
    ["m", "n", "kernel", "stride", "padding", "dilations", "phi", "endpoints", "act_bits", "weight_form"];
const POOL_FIELDS: [&str; 3] = ["kind", "comment", "size"];

/// Reads and checks a network file; every error starts with its path.
pub fn load_network(path: &Path) -> Result<NetworkParams, String> {
    let shown_path = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| format!("{shown_path}: cannot read it: {e}"))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("network");
    parse_network(&text, base, stem).map_err(|e| format!("{shown_path}: {e}"))
}

/// A legal module name from a file name: `net-1.json` gives `net_1`.
fn top_from_stem(stem: &str) -> String {
    let mut name: String = stem.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        name.insert_str(0, "net_");
    }
    name
}

/// Parses a network file's text; `base` is where its relative paths start.
pub fn parse_network(text: &str, base: &Path, stem: &str) -> Result<NetworkParams, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
    let fields = value
        .as_object()
        .ok_or_else(|| format!("must hold a JSON object {{\"input\": ..., \"layers\": ...}}, got {}", shown(&value)))?;
    if let Some(key) = fields.keys().find(|k| !TOP_FIELDS.contains(&k.as_str())) {
        return Err(format!("{key:?} is not a field of a network: the fields are {}", TOP_FIELDS.join(", ")));
    }
    let top = match fields.get("top") {
        None => top_from_stem(stem),
        Some(v) => {
            let t = v.as_str().ok_or_else(|| format!("\"top\" must be a module name, got {}", shown(v)))?;
            crate::spec::request::checked_top(t).map_err(|e| e.replace("--top", "\"top\""))?
        }
    };
    let input = parse_input(fields.get("input").ok_or("\"input\" is missing: it is a required field")?)?;
    let list = fields.get("layers").ok_or("\"layers\" is missing: it is a required field")?;
    let items = list.as_array().ok_or_else(|| format!("\"layers\" must be a list of layers, got {}", shown(list)))?;
    if items.is_empty() || items.len() > MAX_LAYERS {
        return Err(format!("\"layers\" has {} layers: a network has 1..={MAX_LAYERS}", items.len()));
    }
    let argmax = match fields.get("output").map(|v| (v.as_str(), v)) {
        None | Some((Some("argmax"), _)) => true,
        Some((Some("sum"), _)) => false,
        Some((_, v)) => return Err(format!("\"output\" must be \"sum\" or \"argmax\", got {}", shown(v))),
    };
    let mut layers: Vec<NetworkLayer> = vec![];
    let mut map = input;
    for (i, item) in items.iter().enumerate() {
        let last = i + 1 == items.len();
        let layer = parse_layer(item, i, map, &format!("{top}_l{i}"), base, last)
            .map_err(|e| format!("layers[{i}]{}: {e}", kind_hint(item)))?;
        map = layer.output;
        layers.push(layer);
    }
    finish(top, input, layers, argmax)
}

/// ` (conv)` after a layer's index in errors, when it names a kind.
fn kind_hint(item: &Value) -> String {
    item.get("kind").and_then(Value::as_str).map(|k| format!(" ({k})")).unwrap_or_default()
}

fn parse_input(value: &Value) -> Result<MapShape, String> {
    let fields = value.as_object().ok_or_else(|| {
        format!("\"input\" must be an object {{\"height\", \"width\", \"channels\", \"bits\"}}, got {}", shown(value))
    })?;
    if let Some(key) = fields.keys().find(|k| !INPUT_FIELDS.contains(&k.as_str())) {
        return Err(format!("\"input\": {key:?} is not a field: the fields are {}", INPUT_FIELDS.join(", ")));
    }
    let int = |name: &str, hi: u64| -> Result<usize, String> {
        let v = fields.get(name).ok_or_else(|| format!("\"input\": \"{name}\" is missing: it is a required field"))?;
        match v.as_u64() {
            Some(x) if (1..=hi).contains(&x) => Ok(x as usize),
            _ => Err(format!("\"input\": \"{name}\" must be an integer in 1..={hi}, got {}", shown(v))),
        }
    };
    use crate::spec::engine::{MAX_CHANNELS, MAX_SIDE};
    Ok(MapShape {
        height: int("height", MAX_SIDE as u64)?,
        width: int("width", MAX_SIDE as u64)?,
        pixels: Pixels::Levels {
            channels: int("channels", MAX_CHANNELS as u64)?,
            bits: int("bits", MAX_INPUT_BITS.into())? as u32,
        },
    })
}

fn parse_layer(
    item: &Value,
    index: usize,
    input: MapShape,
    top: &str,
    base: &Path,
    last: bool,
) -> Result<NetworkLayer, String> {
    let fields = item.as_object().ok_or_else(|| format!("must be an object {{\"kind\": ...}}, got {}", shown(item)))?;
    let kind_value = fields.get("kind").ok_or("\"kind\" is missing: it is conv, pa_conv, dense or maxpool")?;
    let kind = LayerKind::ALL
        .into_iter()
        .find(|k| Some(k.name()) == kind_value.as_str())
        .ok_or_else(|| format!("\"kind\" must be conv, pa_conv, dense or maxpool, got {}", shown(kind_value)))?;
    if let Pixels::Sums { .. } = input.pixels {
        return Err(format!(
            "reads the exact sums of layers[{}]: only the last layer gives sums; give that layer \"output\": \"threshold\"",
            index - 1
        ));
    }
    match kind {
        LayerKind::Maxpool => parse_pool(fields, input, top),
        _ => parse_engine_layer(fields, kind, input, top, base, last),
    }
}

fn parse_pool(fields: &Map<String, Value>, input: MapShape, top: &str) -> Result<NetworkLayer, String> {
    if let Some(key) = fields.keys().find(|k| !POOL_FIELDS.contains(&k.as_str())) {
        return Err(format!("{key:?} is not a field of a maxpool layer: the fields are {}", POOL_FIELDS.join(", ")));
    }
    let size = match fields.get("size") {
        None => 2,
        Some(v) => match v.as_u64() {
            Some(x) if (2..=MAX_POOL as u64).contains(&x) => x as usize,
            _ => return Err(format!("\"size\" must be an integer in 2..={MAX_POOL}, got {}", shown(v))),
        },
    };
    // Fusion bits are K binary maps side by side: each bit pools on its own.
    let (channels, bits) = match input.pixels {
        Pixels::Levels { channels, bits } => (channels, bits),
        Pixels::Lanes { lanes, channels } => (lanes * channels, 1),
        other => return Err(format!("reads {}: maxpool takes binary maps, fusion bits or levels", other.describe())),
    };
    if input.height < size || input.width < size {
        return Err(format!("\"size\" {size} is larger than the {}x{} map it reads", input.height, input.width));
    }
    let p = PoolParams {
        top: top.to_string(),
        height: input.height,
        width: input.width,
        channels,
        element_bits: bits,
        size,
    };
    let output = MapShape { height: p.out_height(), width: p.out_width(), pixels: input.pixels };
    Ok(NetworkLayer { kind: LayerKind::Maxpool, stage: Stage::Pool(p), input, output, model: None })
}

/// The map an engine reads, by its parameters.
pub fn engine_input(p: &EngineParams) -> Pixels {
    let cin = p.geometry.cin;
    match p.kind {
        EngineKind::Conv if p.shared_input => Pixels::Levels { channels: cin, bits: 1 },
        EngineKind::Conv => Pixels::Lanes { lanes: p.lanes(), channels: cin },
        EngineKind::PaConv if p.act_signed => Pixels::Sums { channels: cin, bits: p.act_bits, signed: true },
        EngineKind::PaConv => Pixels::Levels { channels: cin, bits: p.act_bits },
    }
}

/// The map an engine gives, by its parameters.
pub fn engine_output(p: &EngineParams) -> MapShape {
    let g = &p.geometry;
    let pixels = match &p.output {
        Output::Sum => Pixels::Sums { channels: g.cout, bits: p.out_element_bits() as u32, signed: p.sum_signed() },
        Output::Threshold { .. } => Pixels::Levels { channels: g.cout, bits: p.out_element_bits() as u32 },
        Output::Fusion { .. } => Pixels::Lanes { lanes: p.lanes(), channels: g.cout },
    };
    MapShape { height: g.out_height(), width: g.out_width(), pixels }
}

/// `--simd 5 must divide --cin 64` as a network file spells it: `"simd" 5 must divide "cin" 64`.
fn as_fields(message: &str) -> String {
    let mut out = String::new();
    let mut rest = message;
    while let Some(at) = rest.find("--") {
        out.push_str(&rest[..at]);
        let name: String =
            rest[at + 2..].chars().take_while(|c| c.is_ascii_lowercase() || *c == '-' || c.is_ascii_digit()).collect();
        if name.is_empty() {
            out.push_str("--");
        } else {
            // A count of thresholds is `"thresholds"` in a network file.
            match name.as_str() {
                "levels" => out.push_str("\"thresholds\" count"),
                _ => out.push_str(&format!("\"{}\"", name.replace('-', "_"))),
            }
        }
        rest = &rest[at + 2 + name.len()..];
    }
    out.push_str(rest);
    out.replace("\"block\" ", "kind ").replace("\"model\"", "\"model\" (a layer file)")
}

/// A JSON value as the text of its flag: lists comma-separated.
fn flag_text(name: &str, value: &Value) -> Result<String, String> {
    let scalar = |v: &Value| match v {
        Value::Number(n) => Ok(n.to_string()),
        Value::String(s) => Ok(s.clone()),
        _ => Err(format!("\"{name}\" holds {}: a number or a string", shown(v))),
    };
    match value {
        Value::Array(items) => Ok(items.iter().map(scalar).collect::<Result<Vec<_>, _>>()?.join(",")),
        v => scalar(v),
    }
}

fn int_value(name: &str, value: &Value) -> Result<i64, String> {
    value.as_i64().ok_or_else(|| format!("\"{name}\" must be an integer, got {}", shown(value)))
}

/// Sets the flag a layer field spells.
fn set_field(args: &mut DesignArgs, name: &str, value: &Value, base: &Path) -> Result<(), String> {
    let int = || int_value(name, value).map(Some);
    let text = || flag_text(name, value).map(Some);
    let path = || {
        let p = value.as_str().ok_or_else(|| format!("\"{name}\" must be a path, got {}", shown(value)))?;
        Ok::<_, String>(Some(base.join(p)))
    };
    match name {
        "k" => args.k = int()?,
        "m" => args.m = int()?,
        "n" => args.n = int()?,
        "cout" => args.cout = int()?,
        "kernel" => args.kernel = int()?,
        "stride" => args.stride = int()?,
        "pe" => args.pe = int()?,
        "simd" => args.simd = int()?,
        "frac_bits" => args.frac_bits = int()?,
        "coef_bits" => args.coef_bits = int()?,
        "act_bits" => args.act_bits = int()?,
        "pipeline" => args.pipeline = int()?,
        "seed" => {
            let s = value.as_u64().ok_or_else(|| format!("\"seed\" must be an integer >= 0, got {}", shown(value)))?;
            args.seed = Some(s);
        }
        "padding" => args.padding = text()?,
        "output" => args.output = text()?,
        "dilations" => args.dilations = text()?,
        // A count places that many thresholds at the sums' quantiles.
        "thresholds" if value.is_number() => args.levels = int()?,
        "thresholds" => args.thresholds = text()?,
        "weight_form" => args.weight_form = text()?,
        "endpoints" => args.endpoints = text()?,
        "lambda" => args.lambda = text()?,
        "fusion" => args.fusion = text()?,
        "phi" => args.phi = text()?,
        "shared_input" => {
            args.shared_input = value
                .as_bool()
                .ok_or_else(|| format!("\"shared_input\" must be true or false, got {}", shown(value)))?
        }
        "weights_file" => args.weights_file = path()?,
        "model" => args.model = path()?,
        _ => {}
    }
    Ok(())
}

/// Checks that the chained fields a layer gives agree with the layer before.
fn check_chained(fields: &Map<String, Value>, input: MapShape) -> Result<(), String> {
    let channels = match input.pixels {
        Pixels::Levels { channels, .. } | Pixels::Lanes { channels, .. } | Pixels::Sums { channels, .. } => channels,
    };
    for (name, value) in [("height", input.height), ("width", input.width), ("cin", channels)] {
        if let Some(v) = fields.get(name)
            && v.as_u64() != Some(value as u64)
        {
            return Err(format!("\"{name}\" {} does not chain: the layer before gives {value}", shown(v)));
        }
    }
    Ok(())
}

/// What the chain fixes in a layer given by its settings (not a layer file).
fn chain_settings(args: &mut DesignArgs, kind: LayerKind, input: MapShape, last: bool) -> Result<(), String> {
    if args.output.as_deref() == Some("fusion") && matches!(input.pixels, Pixels::Levels { bits: 2.., .. }) {
        return Err("\"output\" fusion needs binary inputs: a conv on multi-bit pixels gives sums or levels".into());
    }
    args.height = Some(input.height as i64);
    args.width = Some(input.width as i64);
    match (kind, input.pixels) {
        (LayerKind::PaConv, Pixels::Levels { channels, bits }) => {
            if args.act_bits.is_some_and(|b| b != i64::from(bits)) {
                return Err(format!("\"act_bits\" does not chain: the layer before gives {bits}-bit values"));
            }
            args.cin = Some(channels as i64);
            args.act_bits = Some(bits.into());
            args.act_unsigned = true;
        }
        (LayerKind::Conv | LayerKind::Dense, Pixels::Levels { channels, .. }) => {
            args.cin = Some(channels as i64);
            args.shared_input = true;
        }
        (LayerKind::Conv | LayerKind::Dense, Pixels::Lanes { lanes, channels }) => {
            args.cin = Some(channels as i64);
            if args.k.is_none() && args.dilations.is_none() {
                args.k = Some(lanes as i64);
            }
        }
        (_, other) => {
            return Err(format!(
                "a {} layer cannot read {}: conv and dense read binary maps or fusion bits, pa_conv reads levels",
                kind.name(),
                other.describe()
            ));
        }
    }
    if kind == LayerKind::Dense {
        if input.height != input.width {
            return Err(format!("dense reads a square map, the layer before gives {}x{}", input.height, input.width));
        }
        if input.height > MAX_KERNEL {
            return Err(format!(
                "dense over a {0}x{0} map needs a {0}x{0} window, the engines take at most {MAX_KERNEL}x{MAX_KERNEL}: pool first",
                input.height
            ));
        }
        args.kernel = Some(input.height as i64);
        args.padding = Some("valid".into());
    }
    if args.output.is_none() {
        args.output = Some(if last { "sum" } else { "threshold" }.into());
    }
    Ok(())
}

fn parse_engine_layer(
    fields: &Map<String, Value>,
    kind: LayerKind,
    input: MapShape,
    top: &str,
    base: &Path,
    last: bool,
) -> Result<NetworkLayer, String> {
    let own: &[&str] = match kind {
        LayerKind::Conv => &CONV_FIELDS,
        LayerKind::Dense => &DENSE_FIELDS,
        _ => &PA_FIELDS,
    };
    let known = [&ENGINE_FIELDS[..], own].concat();
    if let Some(key) = fields.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(format!("{key:?} is not a field of a {} layer: the fields are {}", kind.name(), known.join(", ")));
    }
    check_chained(fields, input)?;
    let model = fields.get("model");
    let inline = model.filter(|v| v.is_object());
    let engine = match model {
        Some(m) => model_engine(kind, m, base)?,
        None if kind == LayerKind::PaConv => EngineKind::PaConv,
        None => EngineKind::Conv,
    };
    let mut args = DesignArgs { block: Some(engine.name().into()), top: Some(top.into()), ..DesignArgs::default() };
    let skipped = ["height", "width", "cin", "weights_in"];
    for (name, value) in fields.iter().filter(|(n, _)| !skipped.contains(&n.as_str())) {
        if !(name == "model" && inline.is_some()) {
            set_field(&mut args, name, value, base)?;
        }
    }
    if model.is_none() {
        chain_settings(&mut args, kind, input, last)?;
    }
    let (mut params, pipeline, layer) = match input.pixels {
        _ if model.is_some() => {
            let (params, pipeline, layer) = model_params(&args, inline, engine)?;
            if kind == LayerKind::Dense {
                check_dense_model(&params.geometry, input)?;
            }
            (params, pipeline, Some(Box::new(layer)))
        }
        Pixels::Levels { bits, .. } if bits > 1 && engine == EngineKind::Conv => {
            let (params, pipeline) = pixel_conv_layer(&mut args, bits)?;
            (params, pipeline, None)
        }
        _ => {
            let (params, pipeline) = engine_params(&args)?;
            (params, pipeline, None)
        }
    };
    let (g, reads) = (&params.geometry, engine_input(&params));
    if (g.height, g.width, reads) != (input.height, input.width, input.pixels) {
        return Err(format!(
            "reads a {}x{} map of {}, the layer before gives a {}x{} map of {}",
            g.height,
            g.width,
            reads.describe(),
            input.height,
            input.width,
            input.pixels.describe()
        ));
    }
    if let Some(v) = fields.get("weights_in") {
        let name = v.as_str().ok_or_else(|| format!("\"weights_in\" must be a string, got {}", shown(v)))?;
        params.weights_in = name.parse().map_err(|e| format!("\"weights_in\": {e}"))?;
    }
    let output = engine_output(&params);
    if last && !matches!(output.pixels, Pixels::Sums { .. }) {
        return Err(format!(
            "the last layer gives {}: it must give sums (\"output\": \"sum\"), the network's output is them or their argmax",
            output.pixels.describe()
        ));
    }
    Ok(NetworkLayer { kind, stage: Stage::Engine { params: Box::new(params), pipeline }, input, output, model: layer })
}

/// The engine of a layer given by a layer file (`args.model`) or inline
/// (`inline`, the layer object), folded by the layer's `pe` and `simd`.
fn model_params(
    args: &DesignArgs,
    inline: Option<&Value>,
    engine: EngineKind,
) -> Result<(EngineParams, u32, ConvLayer), String> {
    let (request, pipeline) = match args.to_design().map_err(|e| as_fields(&e))? {
        DesignRequest::Engine(request, pipeline) => (request, pipeline),
        _ => unreachable!("the block is an engine"),
    };
    let (params, layer, _) = match inline {
        Some(value) => {
            request.check_no_layer_flags("(\"model\")").map_err(|e| as_fields(&e))?;
            let layer = ConvLayer::from_value(value, engine).map_err(|e| format!("\"model\": {e}"))?;
            let d = layer.decompose().map_err(|e| format!("\"model\": {e}"))?;
            request.from_layer(layer, d).map_err(|e| as_fields(&e))?
        }
        None => request.layer_params(args.model.as_deref().expect("a model path")).map_err(|e| as_fields(&e))?,
    };
    Ok((params, pipeline, layer))
}

/// The engine a layer's `"model"` (a layer file's path, or the layer
/// itself) makes: its scheme's, which the layer's kind must allow.
fn model_engine(kind: LayerKind, model: &Value, base: &Path) -> Result<EngineKind, String> {
    let found = match model {
        Value::String(path) => conv_layer::engine_kind_of(&base.join(path)),
        Value::Object(_) => conv_layer::engine_kind_of_value(model),
        other => return Err(format!("\"model\" must be a layer file's path or a layer object, got {}", shown(other))),
    };
    let engine = found.ok_or_else(|| {
        let what = if model.is_string() { "names no readable layer file" } else { "is not a layer" };
        format!("\"model\" {what} with \"scheme\" \"groupnet_conv\" or \"pa_conv\"")
    })?;
    match (kind, engine) {
        (LayerKind::Conv, EngineKind::PaConv) | (LayerKind::PaConv, EngineKind::Conv) => Err(format!(
            "a {} layer's \"model\" has \"scheme\" \"{}\": give the layer \"kind\" {}",
            kind.name(),
            if engine == EngineKind::Conv { "groupnet_conv" } else { "pa_conv" },
            if engine == EngineKind::Conv { "conv" } else { "pa_conv" }
        )),
        _ => Ok(engine),
    }
}

/// A dense layer's model is a `valid` window over the whole map it reads.
fn check_dense_model(g: &crate::spec::engine::Geometry, input: MapShape) -> Result<(), String> {
    let whole = g.kernel == input.height && g.kernel == input.width && g.out_height() == 1 && g.out_width() == 1;
    if whole {
        Ok(())
    } else {
        Err(format!(
            "a dense layer's \"model\" has a {0}x{0} \"kernel\" giving a {1}x{2} map: dense covers the whole {3}x{4} map it reads (\"kernel\" {3}, \"padding\" \"valid\")",
            g.kernel,
            g.out_height(),
            g.out_width(),
            input.height,
            input.width
        ))
    }
}

/// The engine and its tree pipelining that a layer's settings spell.
fn engine_params(args: &DesignArgs) -> Result<(EngineParams, u32), String> {
    match args.to_design().map_err(|e| as_fields(&e))? {
        DesignRequest::Engine(request, pipeline) => Ok((request.to_params().map_err(|e| as_fields(&e))?, pipeline)),
        _ => unreachable!("the block is an engine"),
    }
}

/// A `conv` on unsigned `bits`-bit pixels (SPEC 7's first layer), built
/// by [`EngineParams::on_pixels`], with its output stage.
/// A `conv` on multi-bit values: its sums as a `pa_conv` on their bit-planes,
/// then the output the layer asks for.
fn pixel_conv_layer(args: &mut DesignArgs, bits: u32) -> Result<(EngineParams, u32), String> {
    let (mode, thresholds, levels) = (args.output.take(), args.thresholds.take(), args.levels.take());
    args.output = Some("sum".into());
    let (conv, pipeline) = engine_params(args)?;
    let given = match (thresholds, levels) {
        (Some(text), _) => Some(Thresholds::Listed(text)),
        (None, Some(count)) => Some(Thresholds::AtQuantiles(count)),
        (None, None) => None,
    };
    Ok((pixel_conv(&conv, bits, mode.as_deref() == Some("threshold"), given)?, pipeline))
}

/// A layer's `"thresholds"`: a list for every channel, or a count.
enum Thresholds {
    Listed(String),
    AtQuantiles(i64),
}

fn pixel_conv(
    conv: &EngineParams,
    bits: u32,
    threshold: bool,
    given: Option<Thresholds>,
) -> Result<EngineParams, String> {
    let g = &conv.geometry;
    let mut p = conv.on_pixels(bits)?;
    if threshold {
        let at_quantiles = |count: usize| -> Vec<Vec<i64>> {
            (0..g.cout).map(|o| crate::spec::engine_request::quantile_thresholds(&p, o, count)).collect()
        };
        let thresholds: Vec<Vec<i64>> = match given {
            Some(Thresholds::Listed(text)) => {
                let list = crate::spec::flags::parse_integers("--thresholds", &text).map_err(|e| as_fields(&e))?;
                vec![list; g.cout]
            }
            Some(Thresholds::AtQuantiles(count)) => {
                at_quantiles(crate::spec::engine_request::threshold_count(Some(count)).map_err(|e| as_fields(&e))?)
            }
            None => at_quantiles(1),
        };
        crate::spec::engine_request::check_thresholds(&thresholds)?;
        p.output = Output::Threshold { signs: vec![1; g.cout], thresholds };
    }
    Ok(p)
}

fn finish(top: String, input: MapShape, layers: Vec<NetworkLayer>, argmax: bool) -> Result<NetworkParams, String> {
    let last = layers.last().expect("a network has layers");
    if (last.output.height, last.output.width) != (1, 1) {
        return Err(format!(
            "the last layer gives a {}x{} map: a network gives one beat per frame, so it ends in a dense layer (or a 1x1 map)",
            last.output.height, last.output.width
        ));
    }
    let output = match (argmax, last.output.pixels) {
        (true, Pixels::Sums { channels, bits, signed }) => NetOutput::Argmax(ArgmaxParams {
            top: format!("{top}_argmax"),
            pixels: 1,
            channels,
            element_bits: bits,
            signed,
        }),
        _ => NetOutput::Sum,
    };
    Ok(NetworkParams { top, input, layers, output })
}
