//! Network cost model: memory and operation count of ResNet-18/34/50 on
//! ImageNet (224x224 input), per layer and in total, for full precision,
//! single binary (Bi-Real / XNOR-Net, K = 1), Group-Net with K bases and
//! PA-Net with M x N bases (SPEC section 1).
//!
//! Conventions (those of the XNOR-Net, Bi-Real, Group-Net and PA-Net papers):
//!
//! - Memory: 32 bits per real-valued parameter, 1 bit per binary one;
//!   1 Mbit = 10^6 bits (so full-precision ResNet-18 is 11,689,512 x 32 =
//!   374.1 Mbit, the papers' figure).
//! - Parameters of a layer: its weights (binary in a binary layer), its
//!   "extra" real parameters, always 32-bit (BatchNorm gamma and beta after
//!   a convolution, 2 per output channel; the bias of the fc layer), and its
//!   scaling factors, always 32-bit, kept as a separate tiny term:
//!   single binary: one alpha per output channel (XNOR-Net, Bi-Real);
//!   Group-Net: K lambdas; PA-Net: M alphas, N betas and the N activation
//!   endpoints v_j the comparators need (phi_ij = alpha_i * beta_j can be
//!   merged offline, which would store M*N values instead of M + N).
//!   BatchNorm running statistics are not parameters (as in torchvision's
//!   counts: 11.69M / 21.80M / 25.56M).
//! - Operations: a MAC is counted once, not as 2 FLOPs. FLOPs = real-valued
//!   MACs, BOPs = binary MACs (XNOR- or AND-popcount), and
//!   OPs = FLOPs + BOPs / 64 (64-bit CPU), the XNOR-Net / Bi-Real convention.
//!   Pooling, residual additions, BatchNorm, the scaling multiplications and
//!   the final sums of the bases are not counted (as in the papers).
//! - Comparators (turning a real activation into binary bases) are a
//!   separate column, counted once per comparison, not divided by 64 (each
//!   compares a real value with a real threshold) and not in OPs (the papers
//!   count only binary and real MACs): single binary 1 (sign) per input
//!   activation of a binary layer, Group-Net K (group-wise decomposition:
//!   every base has its own input; a layer-wise decomposition sharing
//!   sign(x) would need 1), PA-Net N.
//! - The first convolution (7x7, 64, stride 2) and the fc layer stay real in
//!   every scheme. The 1x1 projection shortcuts ("downsample") are binarised
//!   by PA-Net only; single binary and Group-Net keep them real (Bi-Real).
//! - Group-Net: K binary convolutions per binary layer (K x the BOPs, K bits
//!   per weight). PA-Net: M*N AND-popcount convolutions per binary layer
//!   (M*N x the BOPs), M weight bases stored (M bits per weight).
//! - ResNet-50 is torchvision's v1.5 (the stride of a bottleneck is on its
//!   3x3 convolution): 4.09e9 MACs; v1 (stride on the first 1x1) has 3.86e9.

use crate::spec::params::{MAX_BASES, MAX_LANES};
use serde::Serialize;

/// ImageNet input side.
pub const INPUT_SIDE: u32 = 224;
/// ImageNet classes (the fc layer's outputs).
pub const CLASSES: u32 = 1000;
/// Bits per real-valued parameter.
pub const REAL_BITS: u64 = 32;
/// Width of a bitwise operation on the CPU of the papers.
pub const WORD_BITS: u64 = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Net {
    ResNet18,
    ResNet34,
    ResNet50,
}

impl Net {
    pub const ALL: [Net; 3] = [Net::ResNet18, Net::ResNet34, Net::ResNet50];

    pub fn name(self) -> &'static str {
        match self {
            Net::ResNet18 => "resnet18",
            Net::ResNet34 => "resnet34",
            Net::ResNet50 => "resnet50",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Net::ResNet18 => "ResNet-18",
            Net::ResNet34 => "ResNet-34",
            Net::ResNet50 => "ResNet-50",
        }
    }

    /// `resnet18`, `ResNet-18`, `resnet_18` (any case) and so on.
    pub fn parse(s: &str) -> Result<Net, String> {
        let key: String = s.chars().filter(|c| *c != '-' && *c != '_').collect::<String>().to_ascii_lowercase();
        Net::ALL
            .into_iter()
            .find(|n| n.name() == key)
            .ok_or_else(|| format!("--net {s:?} is unknown: valid networks are resnet18, resnet34, resnet50"))
    }

    /// Blocks per stage.
    fn stages(self) -> [u32; 4] {
        match self {
            Net::ResNet18 => [2, 2, 2, 2],
            Net::ResNet34 | Net::ResNet50 => [3, 4, 6, 3],
        }
    }

    fn bottleneck(self) -> bool {
        self == Net::ResNet50
    }
}

/// How the binary layers are computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Scheme {
    /// Every layer real-valued.
    Full,
    /// Single binary (Bi-Real / XNOR-Net, K = 1).
    Binary,
    /// Group-Net with K bases, 1..=64.
    #[serde(rename = "groupnet")]
    GroupNet { k: u32 },
    /// PA-Net with M weight and N activation bases, each 1..=16.
    Pa { m: u32, n: u32 },
}

fn in_range(flag: &str, value: i64, hi: usize, what: &str) -> Result<u32, String> {
    if value < 1 || value > hi as i64 {
        Err(format!("{flag} {value} is out of range: {what} must be 1..={hi}"))
    } else {
        Ok(value as u32)
    }
}

impl Scheme {
    pub fn group_net(k: i64) -> Result<Scheme, String> {
        Ok(Scheme::GroupNet { k: in_range("--k", k, MAX_LANES, "Group-Net bases K")? })
    }

    pub fn pa(m: i64, n: i64) -> Result<Scheme, String> {
        let m = in_range("--m", m, MAX_BASES, "PA-Net weight bases M")?;
        let n = in_range("--n", n, MAX_BASES, "PA-Net activation bases N")?;
        Ok(Scheme::Pa { m, n })
    }

    /// A scheme from its name (`full`, `binary`, `groupnet`, `pa`) and the
    /// flags that apply to it [defaults: K = 5, M = 4, N = 5].
    pub fn parse(name: &str, k: Option<i64>, m: Option<i64>, n: Option<i64>) -> Result<Scheme, String> {
        let scheme = match name.to_ascii_lowercase().as_str() {
            "full" => Scheme::Full,
            "binary" => Scheme::Binary,
            "groupnet" | "group-net" => Scheme::group_net(k.unwrap_or(5))?,
            "pa" | "pa-net" | "panet" => Scheme::pa(m.unwrap_or(4), n.unwrap_or(5))?,
            _ => return Err(format!("--scheme {name:?} is unknown: valid schemes are full, binary, groupnet, pa")),
        };
        for (given, flag, owner) in
            [(k.is_some(), "--k", "groupnet"), (m.is_some(), "--m", "pa"), (n.is_some(), "--n", "pa")]
        {
            if given && scheme.name() != owner {
                return Err(format!("{flag} applies to --scheme {owner} only, not {}", scheme.name()));
            }
        }
        Ok(scheme)
    }

    /// The same checks as the constructors, for a scheme built directly.
    pub fn validate(self) -> Result<Scheme, String> {
        match self {
            Scheme::Full | Scheme::Binary => Ok(self),
            Scheme::GroupNet { k } => Scheme::group_net(k as i64),
            Scheme::Pa { m, n } => Scheme::pa(m as i64, n as i64),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Scheme::Full => "full",
            Scheme::Binary => "binary",
            Scheme::GroupNet { .. } => "groupnet",
            Scheme::Pa { .. } => "pa",
        }
    }

    pub fn title(self) -> String {
        match self {
            Scheme::Full => "full precision".into(),
            Scheme::Binary => "single binary (Bi-Real / XNOR-Net, K = 1)".into(),
            Scheme::GroupNet { k } => format!("Group-Net, K = {k}"),
            Scheme::Pa { m, n } => format!("PA-Net, M = {m}, N = {n}"),
        }
    }

    /// Binary convolutions per binary layer.
    fn binary_convs(self) -> u64 {
        match self {
            Scheme::Full => 0,
            Scheme::Binary => 1,
            Scheme::GroupNet { k } => k as u64,
            Scheme::Pa { m, n } => m as u64 * n as u64,
        }
    }

    /// Bits stored per weight of a binary layer.
    fn bits_per_weight(self) -> u64 {
        match self {
            Scheme::Full => REAL_BITS,
            Scheme::Binary => 1,
            Scheme::GroupNet { k } => k as u64,
            Scheme::Pa { m, .. } => m as u64,
        }
    }

    /// Comparators per input activation of a binary layer.
    fn comparators(self) -> u64 {
        match self {
            Scheme::Full => 0,
            Scheme::Binary => 1,
            Scheme::GroupNet { k } => k as u64,
            Scheme::Pa { n, .. } => n as u64,
        }
    }

    /// Real scaling factors of a binary layer with `c_out` output channels.
    fn scales(self, c_out: u32) -> u64 {
        match self {
            Scheme::Full => 0,
            Scheme::Binary => c_out as u64,
            Scheme::GroupNet { k } => k as u64,
            Scheme::Pa { m, n } => m as u64 + 2 * n as u64,
        }
    }

    fn binarises(self, kind: LayerKind) -> bool {
        match (self, kind) {
            (Scheme::Full, _) | (_, LayerKind::Stem | LayerKind::Fc) => false,
            (_, LayerKind::Conv) => true,
            (Scheme::Pa { .. }, LayerKind::Downsample) => true,
            (_, LayerKind::Downsample) => false,
        }
    }
}

/// A convolution (or, with 1x1 everything, a fully connected layer).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ConvShape {
    pub c_in: u32,
    pub c_out: u32,
    pub kh: u32,
    pub kw: u32,
    pub stride: u32,
    pub h_in: u32,
    pub w_in: u32,
    pub h_out: u32,
    pub w_out: u32,
}

impl ConvShape {
    /// A square `k` x `k` convolution with padding k/2 on a square input.
    pub fn square(c_in: u32, c_out: u32, k: u32, stride: u32, side_in: u32) -> ConvShape {
        let side_out = (side_in + 2 * (k / 2) - k) / stride + 1;
        ConvShape { c_in, c_out, kh: k, kw: k, stride, h_in: side_in, w_in: side_in, h_out: side_out, w_out: side_out }
    }

    pub fn fc(inputs: u32, outputs: u32) -> ConvShape {
        ConvShape::square(inputs, outputs, 1, 1, 1)
    }

    pub fn weights(&self) -> u64 {
        self.c_out as u64 * self.c_in as u64 * self.kh as u64 * self.kw as u64
    }

    pub fn macs(&self) -> u64 {
        self.weights() * self.h_out as u64 * self.w_out as u64
    }

    pub fn input_activations(&self) -> u64 {
        self.c_in as u64 * self.h_in as u64 * self.w_in as u64
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LayerKind {
    /// The first convolution, 7x7, 64, stride 2: real in every scheme.
    Stem,
    /// A convolution inside a residual block.
    Conv,
    /// A 1x1 projection shortcut.
    Downsample,
    /// The last, fully connected layer: real in every scheme.
    Fc,
}

/// One layer of a network as built, before a scheme is applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layer {
    pub name: String,
    pub kind: LayerKind,
    pub shape: ConvShape,
}

impl Layer {
    /// Real parameters kept in every scheme: BatchNorm gamma and beta after
    /// a convolution, the bias of the fc layer.
    pub fn extra_params(&self) -> u64 {
        match self.kind {
            LayerKind::Fc => self.shape.c_out as u64,
            _ => 2 * self.shape.c_out as u64,
        }
    }
}

/// The layers of a network, in order, with torchvision's names.
pub fn layers(net: Net) -> Vec<Layer> {
    let mut out = Vec::new();
    let mut push = |name: String, kind, shape| out.push(Layer { name, kind, shape });
    let stem = ConvShape::square(3, 64, 7, 2, INPUT_SIDE);
    push("conv1".into(), LayerKind::Stem, stem);
    // 3x3 max pool, stride 2, padding 1.
    let mut side = (stem.h_out + 2 - 3) / 2 + 1;
    let mut c_in = 64;
    let expansion = if net.bottleneck() { 4 } else { 1 };
    for (s, &blocks) in net.stages().iter().enumerate() {
        let width = 64 << s;
        let c_out = width * expansion;
        for b in 0..blocks {
            let stride = if s > 0 && b == 0 { 2 } else { 1 };
            let prefix = format!("layer{}.{b}", s + 1);
            let convs: Vec<(u32, u32, u32, u32)> = if net.bottleneck() {
                vec![(c_in, width, 1, 1), (width, width, 3, stride), (width, c_out, 1, 1)]
            } else {
                vec![(c_in, width, 3, stride), (width, c_out, 3, 1)]
            };
            let mut h = side;
            for (i, (ci, co, k, st)) in convs.into_iter().enumerate() {
                let shape = ConvShape::square(ci, co, k, st, h);
                h = shape.h_out;
                push(format!("{prefix}.conv{}", i + 1), LayerKind::Conv, shape);
            }
            if stride != 1 || c_in != c_out {
                push(
                    format!("{prefix}.downsample.0"),
                    LayerKind::Downsample,
                    ConvShape::square(c_in, c_out, 1, stride, side),
                );
            }
            side = h;
            c_in = c_out;
        }
    }
    // Global average pool, then the classifier.
    push("fc".into(), LayerKind::Fc, ConvShape::fc(c_in, CLASSES));
    out
}

/// The cost of one layer under one scheme.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LayerCost {
    pub name: String,
    pub kind: LayerKind,
    pub shape: ConvShape,
    /// Binarised in this scheme (else real-valued, 32-bit).
    pub binary: bool,
    /// Number of weights (c_out * c_in * kh * kw).
    pub weights: u64,
    /// Real BatchNorm / bias parameters (32-bit in every scheme).
    pub extra_params: u64,
    /// Real scaling factors (lambdas, alphas, betas, endpoints), 32-bit.
    pub scales: u64,
    pub weight_bits: u64,
    pub extra_bits: u64,
    pub scale_bits: u64,
    /// weight_bits + extra_bits + scale_bits.
    pub memory_bits: u64,
    /// Real-valued MACs (FLOPs, one per MAC).
    pub real_macs: u64,
    /// Binary MACs over all the bases' convolutions (BOPs).
    pub binary_ops: u64,
    /// real_macs + binary_ops / 64.
    pub ops: f64,
    /// Comparisons of real activations with thresholds; not in `ops`.
    pub comparator_ops: u64,
}

/// Sums over all layers, and the ratios to full precision.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Totals {
    /// weights + extra_params + scales.
    pub params: u64,
    pub weights: u64,
    pub extra_params: u64,
    pub scales: u64,
    pub weight_bits: u64,
    pub extra_bits: u64,
    pub scale_bits: u64,
    pub memory_bits: u64,
    /// memory_bits / 10^6.
    pub memory_mbit: f64,
    pub real_macs: u64,
    pub binary_ops: u64,
    /// real_macs + binary_ops / 64.
    pub ops: f64,
    pub comparator_ops: u64,
    /// Full-precision memory / this memory.
    pub memory_saving: f64,
    /// Full-precision OPs / these OPs.
    pub speedup: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NetCost {
    pub net: Net,
    pub scheme: Scheme,
    pub input: u32,
    pub layers: Vec<LayerCost>,
    pub totals: Totals,
}

fn layer_cost(layer: &Layer, scheme: Scheme) -> LayerCost {
    let shape = layer.shape;
    let binary = scheme.binarises(layer.kind);
    let weights = shape.weights();
    let extra_params = layer.extra_params();
    let (scales, weight_bits, real_macs, binary_ops, comparator_ops) = if binary {
        (
            scheme.scales(shape.c_out),
            weights * scheme.bits_per_weight(),
            0,
            shape.macs() * scheme.binary_convs(),
            shape.input_activations() * scheme.comparators(),
        )
    } else {
        (0, weights * REAL_BITS, shape.macs(), 0, 0)
    };
    let (extra_bits, scale_bits) = (extra_params * REAL_BITS, scales * REAL_BITS);
    LayerCost {
        name: layer.name.clone(),
        kind: layer.kind,
        shape,
        binary,
        weights,
        extra_params,
        scales,
        weight_bits,
        extra_bits,
        scale_bits,
        memory_bits: weight_bits + extra_bits + scale_bits,
        real_macs,
        binary_ops,
        ops: ops(real_macs, binary_ops),
        comparator_ops,
    }
}

fn ops(real_macs: u64, binary_ops: u64) -> f64 {
    real_macs as f64 + binary_ops as f64 / WORD_BITS as f64
}

fn costs(net: Net, scheme: Scheme) -> Vec<LayerCost> {
    layers(net).iter().map(|l| layer_cost(l, scheme)).collect()
}

/// Memory and operations of `net` under `scheme`, per layer and in total.
/// Errors (one line) when a scheme built directly has K, M or N out of range.
pub fn cost(net: Net, scheme: Scheme) -> Result<NetCost, String> {
    let scheme = scheme.validate()?;
    let layers = costs(net, scheme);
    let full = costs(net, Scheme::Full);
    let sum = |ls: &[LayerCost], f: fn(&LayerCost) -> u64| ls.iter().map(f).sum::<u64>();
    let memory_bits = sum(&layers, |l| l.memory_bits);
    let (real_macs, binary_ops) = (sum(&layers, |l| l.real_macs), sum(&layers, |l| l.binary_ops));
    let total_ops = ops(real_macs, binary_ops);
    let full_ops = ops(sum(&full, |l| l.real_macs), 0);
    let (weights, extra_params, scales) =
        (sum(&layers, |l| l.weights), sum(&layers, |l| l.extra_params), sum(&layers, |l| l.scales));
    let totals = Totals {
        params: weights + extra_params + scales,
        weights,
        extra_params,
        scales,
        weight_bits: sum(&layers, |l| l.weight_bits),
        extra_bits: sum(&layers, |l| l.extra_bits),
        scale_bits: sum(&layers, |l| l.scale_bits),
        memory_bits,
        memory_mbit: memory_bits as f64 / 1e6,
        real_macs,
        binary_ops,
        ops: total_ops,
        comparator_ops: sum(&layers, |l| l.comparator_ops),
        memory_saving: sum(&full, |l| l.memory_bits) as f64 / memory_bits as f64,
        speedup: full_ops / total_ops,
    };
    Ok(NetCost { net, scheme, input: INPUT_SIDE, layers, totals })
}

/// Group-Net's Eq. 4: the CPU speed-up of one conv layer with K binary
/// bases over its full-precision version, with 64-wide bitwise operations:
/// sigma = (64/K) * (c_in*w*h*w_in*h_in) / (c_in*w*h*w_in*h_in + 64*w_out*h_out),
/// w, h the kernel size, w_in, h_in the input size (c_out cancels out).
pub fn eq4_speedup(shape: &ConvShape, k: u32) -> Result<f64, String> {
    let k = in_range("--k", k as i64, MAX_LANES, "Group-Net bases K")?;
    let binary = shape.c_in as f64 * shape.kw as f64 * shape.kh as f64 * shape.w_in as f64 * shape.h_in as f64;
    let other = WORD_BITS as f64 * shape.w_out as f64 * shape.h_out as f64;
    Ok(WORD_BITS as f64 / k as f64 * binary / (binary + other))
}

/// A plain-text table: one row per layer and the totals; memory in Mbit
/// (10^6 bits), operations in units of 10^8, as the papers give them.
pub fn render_table(cost: &NetCost) -> String {
    let mut s = format!("{}, {}, ImageNet {}x{}\n", cost.net.title(), cost.scheme.title(), cost.input, cost.input);
    let head = ["layer", "type", "c_in", "c_out", "k", "s", "in->out", "weights"].map(String::from);
    let units = ["mem Mbit", "FLOPs e8", "BOPs e8", "OPs e8", "cmp e8"];
    write_row(&mut s, &head, &units.map(String::from));
    for l in &cost.layers {
        let c = &l.shape;
        let head = [
            l.name.clone(),
            (if l.binary { "binary" } else { "real" }).into(),
            c.c_in.to_string(),
            c.c_out.to_string(),
            if l.kind == LayerKind::Fc { "fc".into() } else { format!("{}x{}", c.kh, c.kw) },
            c.stride.to_string(),
            format!("{}->{}", c.h_in, c.h_out),
            l.weights.to_string(),
        ];
        write_row(&mut s, &head, &numbers(l.memory_bits, l.real_macs, l.binary_ops, l.ops, l.comparator_ops));
    }
    let t = &cost.totals;
    let mut head: [String; 8] = Default::default();
    head[0] = "total".into();
    head[7] = t.weights.to_string();
    write_row(&mut s, &head, &numbers(t.memory_bits, t.real_macs, t.binary_ops, t.ops, t.comparator_ops));
    let mbit = |bits: u64| bits as f64 / 1e6;
    s += &format!(
        "memory: {:.2} Mbit = weights {:.2} + BN/bias {:.3} + scales {:.4}; {} parameters; {:.2}x smaller than full \
         precision\n",
        t.memory_mbit,
        mbit(t.weight_bits),
        mbit(t.extra_bits),
        mbit(t.scale_bits),
        t.params,
        t.memory_saving
    );
    s += &format!(
        "OPs: {:.4}e8 = FLOPs {:.4}e8 + BOPs {:.4}e8 / 64; {:.2}x fewer than full precision\n",
        t.ops / 1e8,
        t.real_macs as f64 / 1e8,
        t.binary_ops as f64 / 1e8,
        t.speedup
    );
    s += &format!(
        "comparators: {:.4}e8, not in OPs (one MAC = one FLOP; 64 BOPs = one 64-bit operation)\n",
        t.comparator_ops as f64 / 1e8
    );
    s
}

/// Memory in Mbit and operations in units of 10^8, four decimals.
fn numbers(memory_bits: u64, real_macs: u64, binary_ops: u64, ops: f64, comparator_ops: u64) -> [String; 5] {
    let mbit = memory_bits as f64 / 1e6;
    [mbit, real_macs as f64 / 1e8, binary_ops as f64 / 1e8, ops / 1e8, comparator_ops as f64 / 1e8]
        .map(|x| format!("{x:.4}"))
}

fn write_row(s: &mut String, head: &[String; 8], numbers: &[String; 5]) {
    let [name, ty, ci, co, k, st, io, weights] = head;
    *s += &format!("{name:<22} {ty:<6} {ci:>5} {co:>5} {k:>5} {st:>3} {io:>8} {weights:>9}");
    for x in numbers {
        *s += &format!(" {x:>10}");
    }
    s.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find<'a>(c: &'a NetCost, name: &str) -> &'a LayerCost {
        c.layers.iter().find(|l| l.name == name).unwrap_or_else(|| panic!("no layer {name}"))
    }

    fn schemes() -> Vec<Scheme> {
        vec![
            Scheme::Full,
            Scheme::Binary,
            Scheme::GroupNet { k: 1 },
            Scheme::GroupNet { k: 5 },
            Scheme::Pa { m: 4, n: 5 },
            Scheme::Pa { m: 3, n: 3 },
        ]
    }

    #[test]
    fn resnet18_layer2_0_conv1_by_hand() {
        let full = cost(Net::ResNet18, Scheme::Full).unwrap();
        let l = find(&full, "layer2.0.conv1");
        let shape =
            ConvShape { c_in: 64, c_out: 128, kh: 3, kw: 3, stride: 2, h_in: 56, w_in: 56, h_out: 28, w_out: 28 };
        assert_eq!(l.shape, shape);
        assert_eq!(l.weights, 128 * 64 * 3 * 3);
        assert_eq!(l.real_macs, 128 * 64 * 3 * 3 * 28 * 28);
        assert_eq!(l.extra_params, 2 * 128);
        assert_eq!(l.memory_bits, 32 * (128 * 64 * 3 * 3 + 2 * 128));
        assert_eq!((l.binary_ops, l.comparator_ops, l.scales), (0, 0, 0));

        let bin = cost(Net::ResNet18, Scheme::Binary).unwrap();
        let l = find(&bin, "layer2.0.conv1");
        assert!(l.binary);
        assert_eq!(l.weight_bits, 128 * 64 * 3 * 3);
        assert_eq!(l.scales, 128);
        assert_eq!(l.memory_bits, 128 * 64 * 3 * 3 + 32 * (2 * 128 + 128));
        assert_eq!((l.real_macs, l.binary_ops), (0, 128 * 64 * 3 * 3 * 28 * 28));
        assert_eq!(l.comparator_ops, 64 * 56 * 56);
        assert_eq!(l.ops, (128 * 64 * 3 * 3 * 28 * 28) as f64 / 64.0);

        let g = cost(Net::ResNet18, Scheme::GroupNet { k: 5 }).unwrap();
        let l = find(&g, "layer2.0.conv1");
        assert_eq!(l.weight_bits, 5 * 128 * 64 * 3 * 3);
        assert_eq!(l.binary_ops, 5 * 128 * 64 * 3 * 3 * 28 * 28);
        assert_eq!(l.scales, 5);
        assert_eq!(l.comparator_ops, 5 * 64 * 56 * 56);

        let pa = cost(Net::ResNet18, Scheme::Pa { m: 4, n: 5 }).unwrap();
        let l = find(&pa, "layer2.0.conv1");
        assert_eq!(l.weight_bits, 4 * 128 * 64 * 3 * 3);
        assert_eq!(l.binary_ops, 4 * 5 * 128 * 64 * 3 * 3 * 28 * 28);
        assert_eq!(l.scales, 4 + 5 + 5);
        assert_eq!(l.scale_bits, 32 * (4 + 5 + 5));
        assert_eq!(l.comparator_ops, 5 * 64 * 56 * 56);
    }

    #[test]
    fn resnet34_layer3_0_downsample_by_hand() {
        let full = cost(Net::ResNet34, Scheme::Full).unwrap();
        let l = find(&full, "layer3.0.downsample.0");
        let shape =
            ConvShape { c_in: 128, c_out: 256, kh: 1, kw: 1, stride: 2, h_in: 28, w_in: 28, h_out: 14, w_out: 14 };
        assert_eq!(l.shape, shape);
        assert_eq!(l.weights, 256 * 128);
        assert_eq!(l.real_macs, 256 * 128 * 14 * 14);
        let l = find(&full, "layer3.5.conv2");
        assert_eq!(l.real_macs, 256 * 256 * 3 * 3 * 14 * 14);
    }

    #[test]
    fn resnet50_layer2_0_by_hand() {
        let full = cost(Net::ResNet50, Scheme::Full).unwrap();
        let c1 = find(&full, "layer2.0.conv1");
        let c2 = find(&full, "layer2.0.conv2");
        let c3 = find(&full, "layer2.0.conv3");
        let ds = find(&full, "layer2.0.downsample.0");
        // 256 -> 128, 1x1 at 56x56; the stride is on the 3x3 (v1.5).
        assert_eq!((c1.weights, c1.real_macs), (128 * 256, 128 * 256 * 56 * 56));
        assert_eq!((c2.weights, c2.real_macs), (128 * 128 * 3 * 3, 128 * 128 * 3 * 3 * 28 * 28));
        assert_eq!((c3.weights, c3.real_macs), (512 * 128, 512 * 128 * 28 * 28));
        assert_eq!((ds.weights, ds.real_macs), (512 * 256, 512 * 256 * 28 * 28));
        assert_eq!((c2.shape.stride, c2.shape.h_out), (2, 28));
        // layer1.0 has a projection too: 64 -> 256 at stride 1.
        let ds1 = find(&full, "layer1.0.downsample.0");
        assert_eq!((ds1.weights, ds1.real_macs), (256 * 64, 256 * 64 * 56 * 56));
        let fc = find(&full, "fc");
        assert_eq!((fc.weights, fc.extra_params, fc.real_macs), (2048 * 1000, 1000, 2048 * 1000));
    }

    #[test]
    fn layer_counts_and_shapes() {
        let count = |net, kind| layers(net).iter().filter(|l| l.kind == kind).count();
        assert_eq!(count(Net::ResNet18, LayerKind::Conv), 16);
        assert_eq!(count(Net::ResNet34, LayerKind::Conv), 32);
        assert_eq!(count(Net::ResNet50, LayerKind::Conv), 48);
        assert_eq!(count(Net::ResNet18, LayerKind::Downsample), 3);
        assert_eq!(count(Net::ResNet34, LayerKind::Downsample), 3);
        assert_eq!(count(Net::ResNet50, LayerKind::Downsample), 4);
        for net in Net::ALL {
            let ls = layers(net);
            assert_eq!(ls[0].shape, ConvShape::square(3, 64, 7, 2, 224));
            assert_eq!(ls[0].shape.h_out, 112);
            let last_conv = &ls[ls.len() - 2];
            assert_eq!(last_conv.shape.h_out, 7);
            assert_eq!(ls.last().unwrap().shape.c_in, last_conv.shape.c_out);
        }
    }

    /// torchvision's parameter counts (conv and fc weights, fc bias,
    /// BatchNorm gamma and beta), matched exactly.
    #[test]
    fn full_precision_params_match_torchvision_exactly() {
        for (net, params) in [(Net::ResNet18, 11_689_512), (Net::ResNet34, 21_797_672), (Net::ResNet50, 25_557_032)] {
            let c = cost(net, Scheme::Full).unwrap();
            assert_eq!(c.totals.params, params, "{}", net.title());
            assert_eq!(c.totals.memory_bits, 32 * params);
        }
    }

    /// MACs within 1% of torchvision's published GFLOPS (1.81, 3.66, 4.09;
    /// they are MACs) and of the papers' 1.8e9 / 3.6e9 / 3.8-4.1e9.
    #[test]
    fn full_precision_macs_match_the_known_figures() {
        for (net, macs) in [(Net::ResNet18, 1.81e9), (Net::ResNet34, 3.66e9), (Net::ResNet50, 4.09e9)] {
            let c = cost(net, Scheme::Full).unwrap();
            let got = c.totals.real_macs as f64;
            assert!((got / macs - 1.0).abs() < 0.01, "{}: {got:e} MACs, expected {macs:e} within 1%", net.title());
            assert_eq!(c.totals.ops, got);
            assert_eq!(c.totals.speedup, 1.0);
            assert_eq!(c.totals.memory_saving, 1.0);
        }
        // The exact sum for ResNet-18, layer by layer.
        let r18 = 64 * 3 * 49 * 112 * 112
            + 4 * 64 * 64 * 9 * 56 * 56
            + (128 * 64 * 9 + 3 * 128 * 128 * 9 + 128 * 64) * 28 * 28
            + (256 * 128 * 9 + 3 * 256 * 256 * 9 + 256 * 128) * 14 * 14
            + (512 * 256 * 9 + 3 * 512 * 512 * 9 + 512 * 256) * 7 * 7
            + 512 * 1000;
        assert_eq!(cost(Net::ResNet18, Scheme::Full).unwrap().totals.real_macs, r18);
    }

    /// Bi-Real Net's table (ResNet-18: 33.6 Mbit, 1.63e8 OPs; ResNet-34:
    /// 43.7 Mbit, 1.93e8 OPs) within 1% (we get 33.64 / 1.640e8 and
    /// 44.09 / 1.929e8), and its full precision 374.1 / 697.3 Mbit within 0.1%.
    #[test]
    fn single_binary_matches_bi_real_within_1_percent() {
        for (net, mbit, ops, full_mbit) in [(Net::ResNet18, 33.6, 1.63e8, 374.1), (Net::ResNet34, 43.7, 1.93e8, 697.3)]
        {
            let c = cost(net, Scheme::Binary).unwrap();
            let t = &c.totals;
            assert!((t.memory_mbit / mbit - 1.0).abs() < 0.01, "{}: {} Mbit", net.title(), t.memory_mbit);
            assert!((t.ops / ops - 1.0).abs() < 0.01, "{}: {:e} OPs", net.title(), t.ops);
            let f = cost(net, Scheme::Full).unwrap();
            assert!((f.totals.memory_mbit / full_mbit - 1.0).abs() < 1e-3, "{}", f.totals.memory_mbit);
        }
        // ResNet-18 to the papers' rounding: 33.6 Mbit.
        assert_eq!(format!("{:.1}", cost(Net::ResNet18, Scheme::Binary).unwrap().totals.memory_mbit), "33.6");
    }

    #[test]
    fn first_and_last_layers_stay_real_in_every_scheme() {
        for net in Net::ALL {
            let full = cost(net, Scheme::Full).unwrap();
            for scheme in schemes() {
                let c = cost(net, scheme).unwrap();
                for (l, f) in [(&c.layers[0], &full.layers[0]), (c.layers.last().unwrap(), full.layers.last().unwrap())]
                {
                    assert!(!l.binary, "{} {} {:?}", net.title(), l.name, scheme);
                    assert_eq!(l, f, "{} {} {:?}", net.title(), l.name, scheme);
                    assert_eq!(l.weight_bits, 32 * l.weights);
                    assert_eq!((l.binary_ops, l.comparator_ops, l.scales), (0, 0, 0));
                }
                assert_eq!(c.layers[0].name, "conv1");
                assert_eq!(c.layers.last().unwrap().name, "fc");
            }
        }
    }

    #[test]
    fn downsample_binarised_only_by_pa() {
        for net in Net::ALL {
            for scheme in schemes() {
                let c = cost(net, scheme).unwrap();
                let pa = matches!(scheme, Scheme::Pa { .. });
                for l in &c.layers {
                    match l.kind {
                        LayerKind::Downsample => assert_eq!(l.binary, pa, "{} {} {scheme:?}", net.title(), l.name),
                        LayerKind::Conv => assert_eq!(l.binary, scheme != Scheme::Full),
                        LayerKind::Stem | LayerKind::Fc => assert!(!l.binary),
                    }
                }
            }
        }
    }

    #[test]
    fn multi_base_scaling() {
        for net in Net::ALL {
            let b = cost(net, Scheme::Binary).unwrap().totals;
            let g = cost(net, Scheme::GroupNet { k: 5 }).unwrap().totals;
            let g1 = cost(net, Scheme::GroupNet { k: 1 }).unwrap().totals;
            let p = cost(net, Scheme::Pa { m: 4, n: 5 }).unwrap().totals;
            // Same binary layers: K times the BOPs and the binary weight bits.
            assert_eq!(g.binary_ops, 5 * b.binary_ops);
            assert_eq!(g1.binary_ops, b.binary_ops);
            assert_eq!(g.real_macs, b.real_macs);
            assert_eq!(g.weight_bits - g1.weight_bits, 4 * (g1.weight_bits - real_weight_bits(net)));
            // PA binarises the downsample convs too: fewer real MACs, M*N = 20 x BOPs.
            let ds: u64 = layers(net).iter().filter(|l| l.kind == LayerKind::Downsample).map(|l| l.shape.macs()).sum();
            assert_eq!(p.real_macs + ds, b.real_macs);
            assert_eq!(p.binary_ops, 20 * (b.binary_ops + ds));
            for t in [&b, &g, &p] {
                assert_eq!(t.memory_bits, t.weight_bits + t.extra_bits + t.scale_bits);
                assert_eq!(t.ops, t.real_macs as f64 + t.binary_ops as f64 / 64.0);
                assert!(t.speedup > 1.0 && t.memory_saving > 1.0);
            }
        }
    }

    /// Weight bits of the layers that stay real under Group-Net.
    fn real_weight_bits(net: Net) -> u64 {
        layers(net).iter().filter(|l| l.kind != LayerKind::Conv).map(|l| 32 * l.shape.weights()).sum()
    }

    #[test]
    fn eq4_gives_the_papers_12_45() {
        // c_in = 256, 3x3 kernel, 28x28 in and out, K = 5: 12.45 in the paper (to 0.005).
        let shape = ConvShape::square(256, 256, 3, 1, 28);
        let s = eq4_speedup(&shape, 5).unwrap();
        assert!((s - 12.45).abs() < 0.005, "{s}");
        let b = (256 * 3 * 3 * 28 * 28) as f64;
        assert!((s - 64.0 / 5.0 * b / (b + 64.0 * 28.0 * 28.0)).abs() < 1e-12);
        // K = 1 tends to 64 as the layer grows.
        assert!(eq4_speedup(&ConvShape::square(4096, 4096, 3, 1, 28), 1).unwrap() > 63.0);
        assert_eq!(eq4_speedup(&shape, 0).unwrap_err(), "--k 0 is out of range: Group-Net bases K must be 1..=64");
    }

    #[test]
    fn bad_parameters_are_one_line_errors() {
        let cases: Vec<(Result<Scheme, String>, &str)> = vec![
            (Scheme::group_net(0), "--k 0 is out of range: Group-Net bases K must be 1..=64"),
            (Scheme::group_net(65), "--k 65 is out of range: Group-Net bases K must be 1..=64"),
            (Scheme::group_net(-3), "--k -3 is out of range: Group-Net bases K must be 1..=64"),
            (Scheme::pa(0, 5), "--m 0 is out of range: PA-Net weight bases M must be 1..=16"),
            (Scheme::pa(4, 17), "--n 17 is out of range: PA-Net activation bases N must be 1..=16"),
            (Scheme::parse("pa", None, Some(17), None), "--m 17 is out of range: PA-Net weight bases M must be 1..=16"),
            (
                Scheme::parse("xnor", None, None, None),
                "--scheme \"xnor\" is unknown: valid schemes are full, binary, groupnet, pa",
            ),
            (Scheme::parse("pa", Some(5), None, None), "--k applies to --scheme groupnet only, not pa"),
            (Scheme::parse("binary", None, None, Some(2)), "--n applies to --scheme pa only, not binary"),
        ];
        for (got, want) in cases {
            let err = got.unwrap_err();
            assert_eq!(err, want);
            assert!(!err.contains('\n'));
        }
        assert_eq!(
            cost(Net::ResNet18, Scheme::GroupNet { k: 0 }).unwrap_err(),
            "--k 0 is out of range: Group-Net bases K must be 1..=64"
        );
        assert_eq!(
            cost(Net::ResNet50, Scheme::Pa { m: 4, n: 99 }).unwrap_err(),
            "--n 99 is out of range: PA-Net activation bases N must be 1..=16"
        );
        assert_eq!(
            Net::parse("resnet101").unwrap_err(),
            "--net \"resnet101\" is unknown: valid networks are resnet18, resnet34, resnet50"
        );
    }

    #[test]
    fn parsing() {
        assert_eq!(Net::parse("ResNet-18"), Ok(Net::ResNet18));
        assert_eq!(Net::parse("resnet_34"), Ok(Net::ResNet34));
        assert_eq!(Net::parse("resnet50"), Ok(Net::ResNet50));
        assert_eq!(Scheme::parse("full", None, None, None), Ok(Scheme::Full));
        assert_eq!(Scheme::parse("groupnet", None, None, None), Ok(Scheme::GroupNet { k: 5 }));
        assert_eq!(Scheme::parse("groupnet", Some(3), None, None), Ok(Scheme::GroupNet { k: 3 }));
        assert_eq!(Scheme::parse("pa", None, None, None), Ok(Scheme::Pa { m: 4, n: 5 }));
        assert_eq!(Scheme::parse("PA", None, Some(3), Some(3)), Ok(Scheme::Pa { m: 3, n: 3 }));
        assert_eq!(Scheme::parse("groupnet", Some(64), None, None), Ok(Scheme::GroupNet { k: 64 }));
        assert_eq!(Scheme::parse("pa", None, Some(16), Some(1)), Ok(Scheme::Pa { m: 16, n: 1 }));
    }

    #[test]
    fn json_and_table() {
        let c = cost(Net::ResNet18, Scheme::Pa { m: 4, n: 5 }).unwrap();
        let v: serde_json::Value = serde_json::to_value(&c).unwrap();
        assert_eq!(v["net"], "resnet18");
        assert_eq!(v["scheme"], serde_json::json!({"kind": "pa", "m": 4, "n": 5}));
        assert_eq!(v["layers"].as_array().unwrap().len(), c.layers.len());
        assert_eq!(v["layers"][0]["shape"]["c_out"], 64);
        assert_eq!(v["layers"][0]["kind"], "stem");
        assert_eq!(v["totals"]["memory_bits"], c.totals.memory_bits);
        let g = serde_json::to_value(Scheme::GroupNet { k: 5 }).unwrap();
        assert_eq!(g, serde_json::json!({"kind": "groupnet", "k": 5}));
        assert_eq!(serde_json::to_value(Scheme::Full).unwrap(), serde_json::json!({"kind": "full"}));

        let t = render_table(&c);
        assert!(t.starts_with("ResNet-18, PA-Net, M = 4, N = 5, ImageNet 224x224\n"));
        assert_eq!(t.lines().filter(|l| l.starts_with("layer") && l.contains('.')).count(), c.layers.len() - 2);
        assert!(t.contains("layer2.0.downsample.0  binary"));
        assert!(t.lines().any(|l| l.starts_with("total ")));
        assert!(t.contains("Mbit") && t.contains("e8"));
    }
}
