//! Streaming layer engines (SPEC section 6): a convolution layer over
//! feature maps streamed a pixel at a time, folded FINN-style. Its
//! geometry, folding, weights and output stage as typed values, with the
//! quantities derived from them (output size, cycles, exact widths).

use crate::util::bits::BitVec;
use crate::util::fixed::{self, width_for};

/// Which engine: Group-Net's K binary lanes (each with its own dilation,
/// BPAC) or PA-Net's comparators and M x N AND-popcounts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EngineKind {
    Conv,
    PaConv,
}

impl EngineKind {
    pub fn name(self) -> &'static str {
        match self {
            EngineKind::Conv => "conv",
            EngineKind::PaConv => "pa_conv",
        }
    }

    pub fn parse(text: &str) -> Option<EngineKind> {
        [EngineKind::Conv, EngineKind::PaConv].into_iter().find(|k| k.name() == text)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Padding {
    /// Ho = ceil(H/s); taps outside the map count as zero.
    Same,
    /// Every tap inside the map.
    Valid,
}

impl Padding {
    pub fn name(self) -> &'static str {
        match self {
            Padding::Same => "same",
            Padding::Valid => "valid",
        }
    }
}

/// The most of each engine setting: enough for the reference networks,
/// small enough that a mistyped value is caught rather than generated.
pub const MAX_SIDE: usize = 4096;
pub const MAX_CHANNELS: usize = 4096;
pub const MAX_KERNEL: usize = 15;
pub const MAX_STRIDE: usize = 4;
pub const MAX_DILATION: usize = 64;
pub const MAX_ENGINE_LANES: usize = 16;
pub const MAX_THRESHOLDS: usize = 255;

/// SPEC 6.3: the maps, the kernel and where each tap reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Geometry {
    pub height: usize,
    pub width: usize,
    pub cin: usize,
    pub cout: usize,
    /// The kernel side k.
    pub kernel: usize,
    pub stride: usize,
    pub padding: Padding,
    /// One per lane (`conv`), or one (`pa_conv`).
    pub dilations: Vec<usize>,
}

impl Geometry {
    /// The rules between settings that are each in range: an odd kernel
    /// for `same` padding; for `valid`, one dilation and a window that fits
    /// the map. `name` spells a setting in the error: a flag or a file field.
    pub fn check(&self, name: impl Fn(&str) -> String) -> Result<(), String> {
        let (kernel, padding, dilations) = (name("kernel"), name("padding"), name("dilations"));
        if self.padding == Padding::Same && self.kernel.is_multiple_of(2) {
            return Err(format!("{kernel} {} with {padding} same must be odd: the window is centred", self.kernel));
        }
        if self.padding == Padding::Valid {
            if self.dilations.iter().any(|&d| d != self.dilations[0]) {
                return Err(format!(
                    "{dilations} {:?} differ: lanes with different dilations need {padding} same (their outputs must have one size)",
                    self.dilations
                ));
            }
            let span = (self.kernel - 1) * self.dilations[0] + 1;
            if span > self.height || span > self.width {
                return Err(format!(
                    "{kernel} {} at dilation {} spans {span} pixels, more than the {}x{} map: {padding} valid leaves no output",
                    self.kernel, self.dilations[0], self.height, self.width
                ));
            }
        }
        Ok(())
    }

    fn out_size(&self, size: usize, d: usize) -> usize {
        match self.padding {
            Padding::Same => size.div_ceil(self.stride),
            Padding::Valid => (size - (self.kernel - 1) * d - 1) / self.stride + 1,
        }
    }

    /// Ho. Lanes with different dilations have `same` padding, so every
    /// lane gives the same size.
    pub fn out_height(&self) -> usize {
        self.out_size(self.height, self.dilations[0])
    }

    pub fn out_width(&self) -> usize {
        self.out_size(self.width, self.dilations[0])
    }

    /// Elements of a lane's window vector: k*k*cin (SPEC 6.4).
    pub fn window_len(&self) -> usize {
        self.kernel * self.kernel * self.cin
    }

    /// The offset of tap `t` (0..k) from the window's anchor, in pixels of
    /// dilation `d`: centred for `same`, from the top left for `valid`.
    pub fn tap_offset(&self, t: usize, d: usize) -> isize {
        match self.padding {
            Padding::Same => (t as isize - (self.kernel as isize - 1) / 2) * d as isize,
            Padding::Valid => (t * d) as isize,
        }
    }

    /// The input pixel (row, column) tap (ky, kx) of output pixel (oy, ox)
    /// reads with dilation `d`, or `None` outside the map.
    pub fn tap(&self, (oy, ox): (usize, usize), (ky, kx): (usize, usize), d: usize) -> Option<(usize, usize)> {
        let row = (oy * self.stride) as isize + self.tap_offset(ky, d);
        let col = (ox * self.stride) as isize + self.tap_offset(kx, d);
        let inside = (0..self.height as isize).contains(&row) && (0..self.width as isize).contains(&col);
        inside.then_some((row as usize, col as usize))
    }

    /// Each distinct pattern of inside taps, as a per-dilation list of
    /// `k*k` flags (tap `ky*k + kx`): every output pixel has one of them.
    /// Rows and columns are independent, so the patterns are the products
    /// of the distinct row and column patterns.
    pub fn inside_patterns(&self) -> Vec<Vec<Vec<bool>>> {
        let k = self.kernel;
        let axis = |size: usize, out: usize| -> Vec<Vec<Vec<bool>>> {
            let mut seen: Vec<Vec<Vec<bool>>> = vec![];
            for o in 0..out {
                let pattern: Vec<Vec<bool>> = self
                    .dilations
                    .iter()
                    .map(|&d| {
                        (0..k)
                            .map(|t| {
                                let at = (o * self.stride) as isize + self.tap_offset(t, d);
                                (0..size as isize).contains(&at)
                            })
                            .collect()
                    })
                    .collect();
                if !seen.contains(&pattern) {
                    seen.push(pattern);
                }
            }
            seen
        };
        let rows = axis(self.height, self.out_height());
        let cols = axis(self.width, self.out_width());
        let mut out = vec![];
        for r in &rows {
            for c in &cols {
                let lanes = (0..self.dilations.len())
                    .map(|l| (0..k * k).map(|t| r[l][t / k] && c[l][t % k]).collect())
                    .collect();
                out.push(lanes);
            }
        }
        out
    }
}

/// SPEC 6.6: `pe` output channels in parallel, `simd` window elements per
/// lane per cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Folding {
    pub pe: usize,
    pub simd: usize,
}

/// Where an engine's weight ROMs go in synthesis. One ROM word is read
/// every step, so its width (pe * simd bits) fixes the block RAMs it takes
/// whatever its depth: a wide, shallow ROM fills a small share of them
/// ([`crate::generator::packing`] decides for a board).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WeightStorage {
    /// Not chosen: block RAM.
    #[default]
    Auto,
    BlockRam,
    /// LUTs (a ROM of d words costs about d/16 LUT4 a bit) and its output register.
    Logic,
}

impl WeightStorage {
    pub fn name(self) -> &'static str {
        match self {
            WeightStorage::Auto => "auto",
            WeightStorage::BlockRam => "block_ram",
            WeightStorage::Logic => "logic",
        }
    }
}

impl std::str::FromStr for WeightStorage {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        [WeightStorage::Auto, WeightStorage::BlockRam, WeightStorage::Logic]
            .into_iter()
            .find(|w| w.name() == s)
            .ok_or_else(|| format!("{s:?} is not a weight storage: auto, block_ram or logic"))
    }
}

/// How a `pa_conv`'s weight bases sit in its ROM. A decomposition puts
/// every weight in one piece (SPEC 1): at most one of the M bases T_i has
/// it, so the piece's index (0 for the zero piece, i + 1 for T_i) in
/// ceil(log2(M + 1)) bits holds what M bit-planes do: 3 bits for M = 4
/// (a quarter less), 4 for M = 8 (half), decoded in front of the AND
/// arrays.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WeightForm {
    /// The piece index where the bases are disjoint and it takes fewer bits
    /// (a network packed for a board: only where its block RAM runs short).
    #[default]
    Auto,
    /// One ROM per base, a bit per weight.
    Planes,
    /// One ROM of piece indices.
    PieceIndex,
}

impl WeightForm {
    pub fn name(self) -> &'static str {
        match self {
            WeightForm::Auto => "auto",
            WeightForm::Planes => "planes",
            WeightForm::PieceIndex => "piece_index",
        }
    }
}

impl std::str::FromStr for WeightForm {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        [WeightForm::Auto, WeightForm::Planes, WeightForm::PieceIndex]
            .into_iter()
            .find(|w| w.name() == s)
            .ok_or_else(|| format!("{s:?} is not a weight form: auto, planes or piece_index"))
    }
}

/// SPEC 6.5.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// The exact sums y(0..cout).
    Sum,
    /// Per channel o: how many of its ascending thresholds `sign(o) * y(o)` reaches.
    Threshold { thresholds: Vec<Vec<i64>>, signs: Vec<i64> },
    /// Group-Net's fusion gate: bit `i*cout + o` is `sum_j F[i][j] * dot_j(o) >= U[i][o]`.
    Fusion { fusion: Vec<Vec<i64>>, thresholds: Vec<Vec<i64>> },
}

impl Output {
    pub fn name(&self) -> &'static str {
        match self {
            Output::Sum => "sum",
            Output::Threshold { .. } => "threshold",
            Output::Fusion { .. } => "fusion",
        }
    }
}

/// Everything an engine's results and structure depend on.
#[derive(Clone, Debug, PartialEq)]
pub struct EngineParams {
    pub kind: EngineKind,
    pub top: String,
    pub geometry: Geometry,
    pub folding: Folding,
    pub weights_in: WeightStorage,
    /// `pa_conv`: bit-planes or piece indices in the ROM.
    pub weight_form: WeightForm,
    /// `conv`: K lanes; `pa_conv`: M weight bases. Each holds `cout`
    /// vectors of `window_len` bits, element `(ky*k + kx)*cin + c`.
    pub weights: Vec<Vec<BitVec>>,
    /// `conv`: every lane reads one input map (else K*cin-bit pixels).
    pub shared_input: bool,
    /// `conv`: lane scales, fixed point.
    pub lambdas: Vec<i64>,
    pub lambda_reals: Vec<f64>,
    /// `pa_conv`: activation width B, signedness, endpoints v_1 < ... < v_N.
    pub act_bits: u32,
    pub act_signed: bool,
    pub endpoints: Vec<i64>,
    /// `pa_conv`: the activation bases are the bits of the unsigned
    /// activation (V_j = bit j, N = `act_bits`, `endpoints` empty) instead
    /// of the pieces between endpoints: a network's first layer, binary
    /// weights times pixel values (SPEC 7), as AND-popcounts of bit-planes.
    pub bitplanes: bool,
    /// `pa_conv`: phi[i][j], fixed point, and as asked for.
    pub phi: Vec<Vec<i64>>,
    pub phi_reals: Vec<Vec<f64>>,
    pub frac_bits: u32,
    pub coef_bits: u32,
    pub output: Output,
    /// The exact range of every y(o): see [`EngineParams::sum_range`].
    pub sums: (i64, i64),
}

/// A linear form in independent inputs `x` in `lo..=hi` each: its range is
/// the sum of each term's extremes.
fn add_range(acc: (i64, i64), term: (i64, i64)) -> (i64, i64) {
    (acc.0 + term.0, acc.1 + term.1)
}

impl EngineParams {
    /// This `conv` (sum output) on unsigned `bits`-bit pixels (SPEC 7's
    /// first layer): y(o) = sum_i L_i sum_e w_ie x_e with w = +1/-1, as a
    /// `pa_conv` on the pixels' bit-planes V_j. With w = 2T - 1 and
    /// x = sum_j 2^j V_j, y = sum_j 2^j (sum_i 2 L_i #{T_i & V_j} -
    /// (sum_i L_i) #{V_j}): the K weight bases and an all-ones base,
    /// phi_ij = 2^(j+1) L_i and phi_Kj = -2^j sum_i L_i, all exact
    /// integers. The real phi follow from the real lambdas the same way.
    pub fn on_pixels(&self, bits: u32) -> Result<EngineParams, String> {
        let g = &self.geometry;
        if g.dilations.iter().any(|&d| d != g.dilations[0]) {
            return Err(format!(
                "\"dilations\" {:?}: a conv on multi-bit pixels has one dilation for all lanes",
                g.dilations
            ));
        }
        if !self.shared_input {
            return Err("a conv on multi-bit pixels reads one input: every lane reads the image".into());
        }
        let planes = |lambdas: &[i64]| -> Vec<Vec<i64>> {
            let sum: i64 = lambdas.iter().sum();
            let mut phi: Vec<Vec<i64>> = lambdas.iter().map(|&l| (0..bits).map(|j| l << (j + 1)).collect()).collect();
            phi.push((0..bits).map(|j| -(sum << j)).collect());
            phi
        };
        let phi = planes(&self.lambdas);
        let real_sum: f64 = self.lambda_reals.iter().sum();
        let mut phi_reals: Vec<Vec<f64>> =
            self.lambda_reals.iter().map(|&l| (0..bits).map(|j| l * f64::from(2 << j)).collect()).collect();
        phi_reals.push((0..bits).map(|j| -real_sum * f64::from(1 << j)).collect());
        let coef_bits = phi.iter().flatten().map(|&v| width_for(v.into(), v.into())).max().unwrap_or(2);
        let mut weights = self.weights.clone();
        weights.push(vec![BitVec::ones(g.window_len()); g.cout]);
        let mut p = EngineParams {
            kind: EngineKind::PaConv,
            geometry: Geometry { dilations: vec![g.dilations[0]], ..g.clone() },
            weights,
            shared_input: false,
            lambdas: vec![],
            lambda_reals: vec![],
            act_bits: bits,
            act_signed: false,
            endpoints: vec![],
            bitplanes: true,
            phi_reals,
            phi,
            coef_bits: coef_bits.max(self.coef_bits),
            output: Output::Sum,
            ..self.clone()
        };
        p.sums = p.compute_sum_range();
        Ok(p)
    }

    /// K (lanes) for `conv`, M (weight bases) for `pa_conv`.
    pub fn lanes(&self) -> usize {
        self.weights.len()
    }

    /// The first element in two of the weight bases, as (output channel,
    /// element, first base, second base); `None` when they are disjoint.
    pub fn overlapping_bases(&self) -> Option<(usize, usize, usize, usize)> {
        for o in 0..self.geometry.cout {
            for a in 0..self.lanes() {
                for b in a + 1..self.lanes() {
                    let both = self.weights[a][o].and(&self.weights[b][o]);
                    if both.count_ones() > 0 {
                        let e = (0..both.len()).find(|&e| both.get(e)).expect("a set bit");
                        return Some((o, e, a, b));
                    }
                }
            }
        }
        None
    }

    /// Bits of a piece index: ceil(log2(M + 1)).
    pub fn piece_index_bits(&self) -> u32 {
        (self.lanes() + 1).next_power_of_two().trailing_zeros()
    }

    /// Whether the ROM holds piece indices rather than bit-planes: asked
    /// for, or (`auto`) a `pa_conv` whose bases are disjoint and whose
    /// index is narrower than its M planes.
    pub fn stores_piece_index(&self) -> bool {
        match self.weight_form {
            WeightForm::Planes => false,
            // A `conv`'s lanes are not pieces (`check_weight_form` says so).
            WeightForm::PieceIndex => self.kind == EngineKind::PaConv,
            WeightForm::Auto => {
                self.kind == EngineKind::PaConv
                    && (self.piece_index_bits() as usize) < self.lanes()
                    && self.overlapping_bases().is_none()
            }
        }
    }

    /// The weight ROMs' count and bits per weight: a ROM of one bit for
    /// each lane whose weights are not all the same (`constant_lane`), or
    /// one of piece indices.
    pub fn weight_roms(&self) -> (usize, u32) {
        if self.stores_piece_index() {
            (1, self.piece_index_bits())
        } else {
            ((0..self.lanes()).filter(|&lane| self.constant_lane(lane).is_none()).count(), 1)
        }
    }

    /// The value of every weight of `lane` when they are all the same (the
    /// all-ones base of a first layer on pixels' bit-planes): such a lane
    /// needs no ROM, as Yosys would have found (CNV's first layer had a
    /// ROM of ones that synthesised to nothing, two DP16KD estimated).
    pub fn constant_lane(&self, lane: usize) -> Option<bool> {
        let value = self.weights[lane].first()?.get(0);
        let ones = if value { self.geometry.window_len() as u64 } else { 0 };
        self.weights[lane].iter().all(|w| w.count_ones() == ones).then_some(value)
    }

    /// Checks `weight_form` against the weights: piece indices need a
    /// `pa_conv` with disjoint bases.
    pub fn check_weight_form(&self) -> Result<(), String> {
        if self.weight_form != WeightForm::PieceIndex {
            return Ok(());
        }
        if self.kind != EngineKind::PaConv {
            return Err("\"weight_form\" piece_index is for pa_conv, whose weights are pieces".into());
        }
        match self.overlapping_bases() {
            None => Ok(()),
            Some((o, e, a, b)) => Err(format!(
                "\"weight_form\" piece_index needs every weight in at most one base: output {o}'s element {e} is in bases {a} and {b}"
            )),
        }
    }

    /// N, the activation bases of `pa_conv`.
    pub fn act_bases(&self) -> usize {
        if self.bitplanes { self.act_bits as usize } else { self.endpoints.len() }
    }

    /// Cycles per output pixel: (cout/pe) * (k*k*cin/simd).
    pub fn ii(&self) -> usize {
        (self.geometry.cout / self.folding.pe) * (self.geometry.window_len() / self.folding.simd)
    }

    /// Cycles per frame in steady state: max(H*W, Ho*Wo*ii).
    pub fn cycles_per_frame(&self) -> usize {
        let g = &self.geometry;
        (g.height * g.width).max(g.out_height() * g.out_width() * self.ii())
    }

    /// Bits of one input pixel (`s_axis_tdata`).
    pub fn in_pixel_bits(&self) -> usize {
        let g = &self.geometry;
        match self.kind {
            EngineKind::Conv if self.shared_input => g.cin,
            EngineKind::Conv => self.lanes() * g.cin,
            EngineKind::PaConv => g.cin * self.act_bits as usize,
        }
    }

    /// The range of one activation of `pa_conv`.
    pub fn act_range(&self) -> (i64, i64) {
        if self.act_signed { fixed::signed_range(self.act_bits).into_inner() } else { (0, (1 << self.act_bits) - 1) }
    }

    /// The exact range of lane `lane`'s dot (sum of +1/-1 products over
    /// the inside taps) of `conv` across every pixel: from minus to plus
    /// the most inside elements.
    pub fn dot_range(&self, lane: usize) -> (i64, i64) {
        let cin = self.geometry.cin as i64;
        let most = self.geometry.inside_patterns().iter().map(|p| p[lane].iter().filter(|&&v| v).count()).max();
        let n = most.unwrap_or(0) as i64 * cin;
        (-n, n)
    }

    /// The exact range of y(o) over every input and every pixel, and over
    /// every channel: the port width holds all of them (SPEC 6.5).
    pub fn sum_range(&self) -> (i64, i64) {
        self.sums
    }

    /// Computes [`EngineParams::sum_range`] (kept in `sums` once the
    /// parameters are made, since the golden model asks for it per pixel).
    pub fn compute_sum_range(&self) -> (i64, i64) {
        let patterns = self.geometry.inside_patterns();
        let pixels = self.pixel_offsets();
        let mut range = (0, 0);
        for o in 0..self.geometry.cout {
            for p in &patterns {
                let (lo, hi) = match self.kind {
                    EngineKind::Conv => {
                        let spread: i64 = self.conv_coefficients(&pixels, o, p).iter().map(|c| c.abs()).sum();
                        (-spread, spread)
                    }
                    EngineKind::PaConv => self.pa_range(o, &p[0]),
                };
                range = (range.0.min(lo), range.1.max(hi));
            }
        }
        range
    }

    /// For each lane and tap, which input pixel it reads relative to the
    /// anchor, as an index into the distinct (input map, row offset,
    /// column offset): lanes whose taps read the same pixel of a shared
    /// input share an index. With the number of distinct pixels.
    fn pixel_offsets(&self) -> (Vec<Vec<usize>>, usize) {
        let g = &self.geometry;
        let k = g.kernel;
        let mut seen: Vec<(usize, isize, isize)> = vec![];
        let ids = g
            .dilations
            .iter()
            .enumerate()
            .map(|(lane, &d)| {
                let map = if self.shared_input { 0 } else { lane };
                (0..k * k)
                    .map(|t| {
                        let key = (map, g.tap_offset(t / k, d), g.tap_offset(t % k, d));
                        seen.iter().position(|s| *s == key).unwrap_or_else(|| {
                            seen.push(key);
                            seen.len() - 1
                        })
                    })
                    .collect()
            })
            .collect();
        (ids, seen.len())
    }

    /// `conv` at one pattern of inside taps: y is a sum of independent
    /// +1/-1 input bits, each times a coefficient. With a shared input,
    /// lanes whose taps land on the same pixel share that input bit: their
    /// coefficients add. Indexed by (pixel, channel).
    fn conv_coefficients(&self, (ids, pixels): &(Vec<Vec<usize>>, usize), o: usize, inside: &[Vec<bool>]) -> Vec<i64> {
        let g = &self.geometry;
        let mut coefs = vec![0i64; pixels * g.cin];
        for lane in 0..self.lanes() {
            let weights = &self.weights[lane][o];
            for t in (0..g.kernel * g.kernel).filter(|&t| inside[lane][t]) {
                let base = ids[lane][t] * g.cin;
                for c in 0..g.cin {
                    let l = self.lambdas[lane];
                    coefs[base + c] += if weights.get(t * g.cin + c) { l } else { -l };
                }
            }
        }
        coefs
    }

    /// `pa_conv`: what each inside element can add to y(o): per activation
    /// piece j, `sum_i P_ij T_i(o)[e]`, and 0 for an activation below v_1,
    /// with how many activations fall in each (the last entry: below v_1).
    fn pa_element_values(&self, o: usize, e: usize) -> Vec<(i64, u64)> {
        let (amin, amax) = self.act_range();
        let population = |lo: i64, hi: i64| (hi - lo + 1).max(0) as u64;
        let n = self.act_bases();
        let mut values: Vec<(i64, u64)> = (0..n)
            .map(|j| {
                let value = (0..self.lanes()).filter(|&i| self.weights[i][o].get(e)).map(|i| self.phi[i][j]).sum();
                let top = if j + 1 < n { self.endpoints[j + 1] - 1 } else { amax };
                (value, population(self.endpoints[j], top))
            })
            .collect();
        values.push((0, population(amin, self.endpoints[0] - 1)));
        values
    }

    /// `pa_conv` with bit-planes: what bit j of element `e` adds to y(o),
    /// `sum_i P_ij T_i(o)[e]`, for each j.
    fn plane_values(&self, o: usize, e: usize) -> Vec<i64> {
        (0..self.act_bases())
            .map(|j| (0..self.lanes()).filter(|&i| self.weights[i][o].get(e)).map(|i| self.phi[i][j]).sum())
            .collect()
    }

    /// `pa_conv` at one pattern of inside taps: every inside element's
    /// activation picks one piece (or none) independently.
    fn pa_range(&self, o: usize, inside: &[bool]) -> (i64, i64) {
        let g = &self.geometry;
        let mut range = (0, 0);
        if self.bitplanes {
            // Every bit of every inside element is independent: each plane's
            // value is added or not.
            for t in (0..g.kernel * g.kernel).filter(|&t| inside[t]) {
                for c in 0..g.cin {
                    for v in self.plane_values(o, t * g.cin + c) {
                        range = add_range(range, (v.min(0), v.max(0)));
                    }
                }
            }
            return range;
        }
        for t in (0..g.kernel * g.kernel).filter(|&t| inside[t]) {
            for c in 0..g.cin {
                let reachable: Vec<i64> =
                    self.pa_element_values(o, t * g.cin + c).into_iter().filter(|v| v.1 > 0).map(|v| v.0).collect();
                let extremes = (*reachable.iter().min().unwrap(), *reachable.iter().max().unwrap());
                range = add_range(range, extremes);
            }
        }
        range
    }

    /// The pattern of inside taps with the most inside taps: an interior pixel's.
    fn fullest_pattern(&self) -> Vec<Vec<bool>> {
        let patterns = self.geometry.inside_patterns();
        let count = |p: &Vec<Vec<bool>>| p.iter().flatten().filter(|&&v| v).count();
        patterns.into_iter().max_by_key(count).expect("every map has a pixel")
    }

    /// Mean and variance of y(o) at an interior pixel over uniformly random
    /// inputs: +1/-1 bits for `conv`, activations over the whole B-bit range
    /// for `pa_conv`. What default thresholds are placed by.
    pub fn sum_moments(&self, o: usize) -> (f64, f64) {
        let inside = self.fullest_pattern();
        match self.kind {
            EngineKind::Conv => {
                let var =
                    self.conv_coefficients(&self.pixel_offsets(), o, &inside).iter().map(|&c| (c * c) as f64).sum();
                (0.0, var)
            }
            EngineKind::PaConv => {
                let g = &self.geometry;
                let (mut mean, mut var) = (0.0, 0.0);
                for t in (0..g.kernel * g.kernel).filter(|&t| inside[0][t]) {
                    for c in 0..g.cin {
                        let (m, v) = self.element_moments(o, t * g.cin + c);
                        mean += m;
                        var += v;
                    }
                }
                (mean, var)
            }
        }
    }

    /// Mean and variance of what one element of `pa_conv` adds to y(o):
    /// pieces weighted by how many activations fall in each, or
    /// independent bits each 1 half the time.
    fn element_moments(&self, o: usize, e: usize) -> (f64, f64) {
        if self.bitplanes {
            let values = self.plane_values(o, e);
            let mean = values.iter().map(|&v| v as f64 / 2.0).sum();
            let var = values.iter().map(|&v| (v * v) as f64 / 4.0).sum();
            return (mean, var);
        }
        let values = self.pa_element_values(o, e);
        let total: u64 = values.iter().map(|v| v.1).sum();
        let m: f64 = values.iter().map(|&(v, n)| v as f64 * n as f64).sum::<f64>() / total as f64;
        let sq: f64 = values.iter().map(|&(v, n)| (v * v) as f64 * n as f64).sum::<f64>() / total as f64;
        (m, sq - m * m)
    }

    /// Bits of one output element: the exact sum, a threshold level, or
    /// (fusion) one bit per lane.
    pub fn out_element_bits(&self) -> usize {
        match &self.output {
            Output::Sum => {
                let (lo, hi) = self.sum_range();
                width_for(lo as i128, hi as i128) as usize
            }
            Output::Threshold { thresholds, .. } => width_for(0, thresholds[0].len() as i128) as usize,
            Output::Fusion { .. } => 1,
        }
    }

    /// Bits of one output pixel (`m_axis_tdata`).
    pub fn out_pixel_bits(&self) -> usize {
        match &self.output {
            Output::Fusion { .. } => self.lanes() * self.geometry.cout,
            _ => self.out_element_bits() * self.geometry.cout,
        }
    }

    /// `conv_k2_8x8x16_c16_k3_pe1_simd16_sum`: the engine, its lanes, map,
    /// output channels, kernel, folding and output stage.
    pub fn default_top(&self) -> String {
        let g = &self.geometry;
        let lanes = match self.kind {
            EngineKind::Conv => format!("k{}", self.lanes()),
            EngineKind::PaConv => format!("m{}_n{}", self.lanes(), self.act_bases()),
        };
        let mut name =
            format!("{}_{lanes}_{}x{}x{}_c{}_k{}", self.kind.name(), g.height, g.width, g.cin, g.cout, g.kernel);
        if g.stride > 1 {
            name.push_str(&format!("_s{}", g.stride));
        }
        if g.padding == Padding::Valid {
            name.push_str("_valid");
        }
        if g.dilations.iter().any(|&d| d > 1) {
            let d: Vec<String> = g.dilations.iter().map(|d| d.to_string()).collect();
            name.push_str(&format!("_d{}", d.join("_")));
        }
        if self.bitplanes {
            name.push_str("_planes");
        }
        format!("{name}_pe{}_simd{}_{}", self.folding.pe, self.folding.simd, self.output.name())
    }

    /// Whether the sums are two's complement.
    pub fn sum_signed(&self) -> bool {
        self.sum_range().0 < 0
    }
}
