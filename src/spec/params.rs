//! Generator parameters: plain immutable values, validated once when they
//! are made (see `cli`), read by the generators, the golden models, the
//! manifest and the test benches alike.

use crate::util::bits::BitVec;

pub const MAX_LANES: usize = 64;
pub const MAX_LEN: usize = 65536;
pub const MAX_PIPELINE: u32 = 64;
pub const MAX_COEF_BITS: u32 = 32;
pub const MAX_FRAC_BITS: u32 = 31;
pub const MAX_BASES: usize = 16;
pub const MAX_ACT_BITS: u32 = 32;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Block {
    Popcount,
    XnorPe,
    AndPe,
    GroupNet,
    PaQuantizer,
    Pa,
    /// Baseline: a single binary dot product (Bi-Real, K = 1).
    Binary,
    /// Baseline: a K-bit by K-bit dot product from K^2 binary popcounts.
    FixedPoint,
    /// Baseline: a B-bit multiply-accumulate dot product.
    Mac,
}

impl Block {
    pub fn name(self) -> &'static str {
        match self {
            Block::Popcount => "popcount",
            Block::XnorPe => "xnor_pe",
            Block::AndPe => "and_pe",
            Block::GroupNet => "groupnet",
            Block::PaQuantizer => "pa_quantizer",
            Block::Pa => "pa",
            Block::Binary => "binary",
            Block::FixedPoint => "fixedpoint",
            Block::Mac => "mac",
        }
    }

    pub const ALL: [Block; 9] = [
        Block::Popcount,
        Block::XnorPe,
        Block::AndPe,
        Block::GroupNet,
        Block::PaQuantizer,
        Block::Pa,
        Block::Binary,
        Block::FixedPoint,
        Block::Mac,
    ];

    /// Blocks whose elements are `bits`-bit integers packed in `a` and `w`.
    pub fn multibit(self) -> bool {
        matches!(self, Block::FixedPoint | Block::Mac)
    }

    pub fn parse(s: &str) -> Option<Block> {
        Block::ALL.into_iter().find(|b| b.name() == s)
    }
}

/// Weights as input ports (a programmable engine) or constants baked into
/// the logic (one vector per lane).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Weights {
    Port,
    Const(Vec<BitVec>),
}

impl Weights {
    pub fn mode(&self) -> &'static str {
        match self {
            Weights::Port => "port",
            Weights::Const(_) => "const",
        }
    }
}

/// Everything a design's result and structure depend on.
#[derive(Clone, Debug, PartialEq)]
pub struct DesignParams {
    pub block: Block,
    pub top: String,
    /// Dot-product length n.
    pub len: usize,
    /// Weight vectors: Group-Net lanes K, PA-Net weight bases M; 1 for the
    /// single blocks.
    pub lanes: usize,
    /// All lanes read one `a` (layer-wise decomposition).
    pub shared_input: bool,
    pub weights: Weights,
    /// Lane scales as fixed-point integers (value = L * 2^-frac_bits).
    pub lambdas: Vec<i64>,
    /// The real scales the user asked for, before rounding.
    pub lambda_reals: Vec<f64>,
    pub frac_bits: u32,
    /// Total signed width of a fixed-point coefficient.
    pub coef_bits: u32,
    /// Tree levels between pipeline registers; 0 = input and output registers only.
    pub pipeline: u32,
    /// PA-Net: width B of each signed activation.
    pub act_bits: u32,
    /// PA-Net: activation endpoints v_1 < ... < v_N, B-bit integers.
    pub endpoints: Vec<i64>,
    /// PA-Net: phi[i][j] for weight base i and activation base j, fixed point.
    pub phi: Vec<Vec<i64>>,
    /// PA-Net: the real phi the user asked for, before rounding.
    pub phi_reals: Vec<Vec<f64>>,
    /// Baselines: bits per element (K for fixedpoint, B for mac).
    pub bits: u32,
    /// How the popcount trees are built from adders.
    pub popcount: PopcountStyle,
}

/// A data input port of a top module: name and width.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortSpec {
    pub name: String,
    pub width: usize,
}

impl DesignParams {
    /// The data inputs of the top module, in port order (SPEC section 4).
    pub fn input_ports(&self) -> Vec<PortSpec> {
        let n = self.len;
        let port = |name: String| PortSpec { name, width: n };
        let weights_are_ports = self.weights == Weights::Port;
        match self.block {
            Block::Popcount => vec![port("a".into())],
            Block::FixedPoint | Block::Mac => {
                let w = n * self.bits as usize;
                let mut v = vec![PortSpec { name: "a".into(), width: w }];
                if weights_are_ports {
                    v.push(PortSpec { name: "w".into(), width: w });
                }
                v
            }
            Block::XnorPe | Block::AndPe | Block::Binary => {
                let mut v = vec![port("a".into())];
                if weights_are_ports {
                    v.push(port("w".into()));
                }
                v
            }
            Block::PaQuantizer => vec![PortSpec { name: "act".into(), width: n * self.act_bits as usize }],
            Block::Pa => {
                let mut v = vec![PortSpec { name: "act".into(), width: n * self.act_bits as usize }];
                if weights_are_ports {
                    v.extend((0..self.lanes).map(|i| port(format!("t{i}"))));
                }
                v
            }
            Block::GroupNet => {
                let mut v = vec![];
                if self.shared_input {
                    v.push(port("a".into()));
                } else {
                    v.extend((0..self.lanes).map(|i| port(format!("a{i}"))));
                }
                if weights_are_ports {
                    v.extend((0..self.lanes).map(|i| port(format!("w{i}"))));
                }
                v
            }
        }
    }

    /// Name of the activation port lane `i` reads.
    pub fn lane_input(&self, i: usize) -> String {
        match self.block {
            Block::GroupNet if !self.shared_input => format!("a{i}"),
            _ => "a".into(),
        }
    }

    /// Name of the weight port of lane `i` (when weights are ports).
    pub fn lane_weight(&self, i: usize) -> String {
        match self.block {
            Block::GroupNet => format!("w{i}"),
            Block::Pa => format!("t{i}"),
            _ => "w".into(),
        }
    }

    /// Activation bases N of a PA-Net block.
    pub fn act_bases(&self) -> usize {
        self.endpoints.len()
    }

    /// Parameters with every block-specific field empty, for the blocks to fill.
    pub fn base(block: Block, top: &str, len: usize) -> DesignParams {
        DesignParams {
            block,
            top: top.to_string(),
            len,
            lanes: 1,
            shared_input: false,
            weights: Weights::Port,
            lambdas: vec![],
            lambda_reals: vec![],
            frac_bits: 0,
            coef_bits: 0,
            pipeline: 0,
            act_bits: 0,
            endpoints: vec![],
            phi: vec![],
            phi_reals: vec![],
            bits: 0,
            popcount: PopcountStyle::default(),
        }
    }

    /// The constant weights of lane `i`, if weights are constants.
    pub fn const_weights(&self, i: usize) -> Option<&BitVec> {
        match &self.weights {
            Weights::Port => None,
            Weights::Const(v) => Some(&v[i]),
        }
    }
}

/// How a popcount tree is built from adders.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PopcountStyle {
    /// Two counts and one input bit per adder, the bit entering as the
    /// carry-in through an extra low bit (`{l, c} + {r, 1}`). Every adder
    /// ends up as its own carry chain (one logic cell per full adder on
    /// iCE40 and ECP5), because Yosys only merges adders whose results
    /// are used whole.
    Carry,
    /// Full adders in LUTs over 3 input bits at the leaves, then `Carry`'s
    /// carry-in adders: the leaves are where one-bit carry chains cost
    /// most (a chain's start and carry-out take logic cells of their own).
    /// The default for weight ports.
    #[default]
    Compressor,
    /// Full adders over 3 input bits, then a balanced tree of two-input
    /// adders. Yosys merges the whole tree into one multi-operand adder and
    /// rebuilds it as its own full-adder (Wallace) tree.
    Tree,
}

impl PopcountStyle {
    pub const ALL: [PopcountStyle; 3] = [PopcountStyle::Compressor, PopcountStyle::Carry, PopcountStyle::Tree];

    pub fn name(self) -> &'static str {
        match self {
            PopcountStyle::Carry => "carry",
            PopcountStyle::Compressor => "compressor",
            PopcountStyle::Tree => "tree",
        }
    }

    pub fn parse(text: &str) -> Option<PopcountStyle> {
        PopcountStyle::ALL.into_iter().find(|s| s.name() == text)
    }

    /// The structure a design gets unless one is asked for. With weight
    /// ports each bit already takes a LUT for its XNOR or AND, so the
    /// compressor's LUT leaves cost little and save the short chains'
    /// extra logic cells: fewest placed cells and highest Fmax. With
    /// constant weights the bits are plain inputs that can enter carry
    /// chains directly, and `Carry` needs about one LUT4 per bit where the
    /// compressor's leaves need 1.45 (iCE40, n = 256; `make bench`).
    pub fn default_for(constant_weights: bool) -> PopcountStyle {
        if constant_weights { PopcountStyle::Carry } else { PopcountStyle::Compressor }
    }
}
