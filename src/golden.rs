//! Bit-exact golden models of every block, on packed 64-bit words, and the
//! exact output range each block can produce (which fixes its port width).

use crate::bits::{BitVec, SplitMix64};
use crate::params::{Block, DesignParams, Weights, width_for};

/// The dot product of two +1/-1 vectors: `2*popcount(xnor(a, w)) - n`,
/// computed as `n - 2*popcount(a ^ w)` on the words in place, so that it
/// allocates nothing (the bits above `n` are zero in both, so they never
/// differ).
pub fn xnor_dot(a: &BitVec, w: &BitVec) -> i64 {
    assert_eq!(a.len(), w.len());
    a.len() as i64 - 2 * i64::from(xor_count_ones(a.words(), w.words()))
}

/// The dot product of two {0,1} vectors: `popcount(a & w)`.
pub fn and_dot(a: &BitVec, w: &BitVec) -> i64 {
    assert_eq!(a.len(), w.len());
    a.words().iter().zip(w.words()).map(|(x, y)| i64::from((x & y).count_ones())).sum()
}

/// Number of bit positions where `a` and `b` differ.
#[inline(always)]
fn xor_count_ones(a: &[u64], b: &[u64]) -> u32 {
    a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum()
}

/// Element `k` of a packed vector of `bits`-bit signed integers.
pub fn signed_element(v: &BitVec, k: usize, bits: u32) -> i64 {
    let mut x: i64 = 0;
    for b in 0..bits as usize {
        if v.get(k * bits as usize + b) {
            x |= 1 << b;
        }
    }
    if bits < 64 && x & (1 << (bits - 1)) != 0 { x - (1 << bits) } else { x }
}

/// Bit plane `i` of a vector of `bits`-bit elements: bit k is element k's bit i.
pub fn plane(v: &BitVec, n: usize, bits: u32, i: u32) -> BitVec {
    BitVec::from_fn(n, |k| v.get(k * bits as usize + i as usize))
}

/// The K-bit fixed-point dot product of SPEC section 1 from K^2 binary
/// popcounts: element value sum_i 2^i b_i with b_i = +1/-1 (bit 1 = +1).
pub fn fixedpoint_dot(a: &BitVec, w: &BitVec, n: usize, bits: u32) -> i64 {
    let ap: Vec<BitVec> = (0..bits).map(|i| plane(a, n, bits, i)).collect();
    let wp: Vec<BitVec> = (0..bits).map(|j| plane(w, n, bits, j)).collect();
    let mut y = 0;
    for (i, a) in ap.iter().enumerate() {
        for (j, w) in wp.iter().enumerate() {
            y += xnor_dot(a, w) << (i + j);
        }
    }
    y
}

/// The plain multiply-accumulate of `bits`-bit two's-complement elements.
pub fn mac_dot(a: &BitVec, w: &BitVec, n: usize, bits: u32) -> i64 {
    (0..n).map(|k| signed_element(a, k, bits) * signed_element(w, k, bits)).sum()
}

/// PA-Net activation bases: V_j has a 1 where v_j <= a < v_{j+1} (the last
/// base is open above); an activation below v_1 is in no base.
pub fn pa_bases(act: &BitVec, n: usize, bits: u32, endpoints: &[i64]) -> Vec<BitVec> {
    let mut v = vec![BitVec::zeros(n); endpoints.len()];
    for k in 0..n {
        let a = signed_element(act, k, bits);
        let piece = endpoints.iter().take_while(|&&e| e <= a).count();
        if piece > 0 {
            v[piece - 1].set(k, true);
        }
    }
    v
}

/// A golden model bound to one design: resolves constant weights once, then
/// evaluates inputs given in the order of [`DesignParams::input_ports`].
pub struct Golden<'p> {
    params: &'p DesignParams,
    lane_inputs: Vec<usize>,
    lane_weights: Vec<LaneWeight<'p>>,
}

enum LaneWeight<'p> {
    Port(usize),
    Const(&'p BitVec),
}

impl<'p> Golden<'p> {
    pub fn new(params: &'p DesignParams) -> Golden<'p> {
        let ports = params.input_ports();
        let index = |name: &str| ports.iter().position(|p| p.name == name).expect("port exists");
        let lanes = match params.block {
            Block::Popcount | Block::PaQuantizer => 0,
            _ => params.lanes,
        };
        let lane_input = |i: usize| match params.block {
            Block::Pa => "act".to_string(),
            Block::FixedPoint | Block::Mac => "a".to_string(),
            _ => params.lane_input(i),
        };
        let lane_inputs = (0..lanes).map(|i| index(&lane_input(i))).collect();
        let lane_weights = (0..lanes)
            .map(|i| match &params.weights {
                Weights::Port => LaneWeight::Port(index(&params.lane_weight(i))),
                Weights::Const(w) => LaneWeight::Const(&w[i]),
            })
            .collect();
        Golden { params, lane_inputs, lane_weights }
    }

    fn weight<'a>(&'a self, lane: usize, inputs: &'a [BitVec]) -> &'a BitVec {
        match &self.lane_weights[lane] {
            LaneWeight::Port(i) => &inputs[*i],
            LaneWeight::Const(w) => w,
        }
    }

    /// The integer result of an arithmetic block.
    pub fn eval(&self, inputs: &[BitVec]) -> i64 {
        let p = self.params;
        match p.block {
            Block::Popcount => inputs[0].count_ones() as i64,
            Block::AndPe => and_dot(&inputs[0], self.weight(0, inputs)),
            Block::XnorPe | Block::Binary => xnor_dot(&inputs[0], self.weight(0, inputs)),
            Block::FixedPoint => fixedpoint_dot(&inputs[0], self.weight(0, inputs), p.len, p.bits),
            Block::Mac => mac_dot(&inputs[0], self.weight(0, inputs), p.len, p.bits),
            Block::GroupNet => (0..p.lanes)
                .map(|i| p.lambdas[i] * xnor_dot(&inputs[self.lane_inputs[i]], self.weight(i, inputs)))
                .sum(),
            Block::Pa => {
                let v = pa_bases(&inputs[0], p.len, p.act_bits, &p.endpoints);
                let mut y = 0;
                for i in 0..p.lanes {
                    let t = self.weight(i, inputs);
                    for (j, vj) in v.iter().enumerate() {
                        y += p.phi[i][j] * and_dot(t, vj);
                    }
                }
                y
            }
            Block::PaQuantizer => panic!("pa_quantizer has a vector result: use eval_bits"),
        }
    }

    /// The result port `y` as bits, for every block.
    pub fn eval_bits(&self, inputs: &[BitVec]) -> BitVec {
        let p = self.params;
        let width = output_width(p) as usize;
        if p.block == Block::PaQuantizer {
            let v = pa_bases(&inputs[0], p.len, p.act_bits, &p.endpoints);
            return BitVec::from_fn(width, |b| v[b / p.len].get(b % p.len));
        }
        BitVec::from_i64(width, self.eval(inputs))
    }
}

/// Which activation pieces some B-bit activation can fall in: "none" (below
/// v_1) and each base j; every base is reachable at a = v_j.
fn pa_below_first_reachable(p: &DesignParams) -> bool {
    p.endpoints[0] > -(1i64 << (p.act_bits - 1))
}

/// Every result the block can produce lies in `lo..=hi`, and both ends are
/// reached by some input: the range is exact, not an interval-arithmetic
/// bound. All blocks sum independent per-element contributions, so the
/// range is the sum over elements of each element's own extremes.
pub fn output_range(p: &DesignParams) -> (i64, i64) {
    let n = p.len as i64;
    match (p.block, &p.weights) {
        (Block::Popcount, _) | (Block::AndPe, Weights::Port) => (0, n),
        (Block::AndPe, Weights::Const(w)) => (0, w[0].count_ones() as i64),
        (Block::XnorPe | Block::Binary, _) => (-n, n),
        (Block::FixedPoint, weights) => {
            // Elements are odd integers in [-(2^K - 1), 2^K - 1].
            let top = (1i64 << p.bits) - 1;
            match weights {
                Weights::Port => (-top * top * n, top * top * n),
                Weights::Const(w) => {
                    let s: i64 =
                        (0..p.len)
                            .map(|k| {
                                (0..p.bits)
                                    .map(|j| {
                                        if w[0].get(k * p.bits as usize + j as usize) {
                                            1i64 << j
                                        } else {
                                            -(1i64 << j)
                                        }
                                    })
                                    .sum::<i64>()
                                    .abs()
                            })
                            .sum();
                    (-s * top, s * top)
                }
            }
        }
        (Block::Mac, weights) => {
            let (amin, amax) = (-(1i64 << (p.bits - 1)), (1i64 << (p.bits - 1)) - 1);
            let element = |w: i64| (amin * w).min(amax * w)..=(amin * w).max(amax * w);
            match weights {
                Weights::Port => (amin * amax * n, amin * amin * n),
                Weights::Const(w) => (0..p.len)
                    .map(|k| element(signed_element(&w[0], k, p.bits)))
                    .fold((0, 0), |acc, r| (acc.0 + r.start(), acc.1 + r.end())),
            }
        }
        (Block::GroupNet, Weights::Const(w)) if p.shared_input => {
            // One shared a-bit per element: its two choices give +c and -c,
            // with c the lanes' signed scales summed.
            let spread: i64 = (0..p.len)
                .map(|k| {
                    let c: i64 = (0..p.lanes).map(|i| if w[i].get(k) { p.lambdas[i] } else { -p.lambdas[i] }).sum();
                    c.abs()
                })
                .sum();
            (-spread, spread)
        }
        (Block::GroupNet, _) => {
            // Each lane's sign per element is free (own input or own weight).
            let spread: i64 = p.lambdas.iter().map(|l| l.abs()).sum::<i64>() * n;
            (-spread, spread)
        }
        (Block::Pa, weights) => {
            // Per element: the activation picks one piece (or none), the
            // weight bits pick which phi of that piece's column are summed.
            let none = pa_below_first_reachable(p);
            let element = |set: &dyn Fn(usize) -> bool| -> (i64, i64) {
                let sums =
                    (0..p.act_bases()).map(|j| (0..p.lanes).filter(|&i| set(i)).map(|i| p.phi[i][j]).sum::<i64>());
                let mut lo = if none { 0 } else { i64::MAX };
                let mut hi = if none { 0 } else { i64::MIN };
                for s in sums {
                    lo = lo.min(s);
                    hi = hi.max(s);
                }
                (lo, hi)
            };
            match weights {
                Weights::Port => {
                    // Free weight bits: each column's positive (negative) phi
                    // alone give its largest (smallest) sum; all zero gives 0.
                    let cols = |f: fn(i64) -> i64| {
                        (0..p.act_bases()).map(move |j| (0..p.lanes).map(|i| f(p.phi[i][j])).sum::<i64>())
                    };
                    let hi = cols(|x| x.max(0)).max().unwrap_or(0).max(0);
                    let lo = cols(|x| x.min(0)).min().unwrap_or(0).min(0);
                    (lo * n, hi * n)
                }
                Weights::Const(t) => {
                    (0..p.len).map(|k| element(&|i| t[i].get(k))).fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
                }
            }
        }
        (Block::PaQuantizer, _) => panic!("pa_quantizer has a vector result"),
    }
}

/// Width of the result port `y`: the smallest that holds the exact range;
/// for the quantizer, the N bases side by side.
pub fn output_width(p: &DesignParams) -> u32 {
    if p.block == Block::PaQuantizer {
        return (p.act_bases() * p.len) as u32;
    }
    let (lo, hi) = output_range(p);
    width_for(lo as i128, hi as i128)
}

pub fn output_signed(p: &DesignParams) -> bool {
    p.block != Block::PaQuantizer && output_range(p).0 < 0
}

/// A map of +1/-1 activations (bit 1 = +1), `channels` x `height` x `width`.
/// Stored pixel after pixel, row by row, each pixel's channels packed LSB
/// first into whole 64-bit words whose bits above `channels` are zero: a row
/// of kernel pixels is then one run of words, and a layer's dot products
/// read the map in place instead of copying a patch for each.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BinaryMap {
    channels: usize,
    height: usize,
    width: usize,
    words: Vec<u64>,
}

impl BinaryMap {
    /// Activation `f(c, y, x)` at channel `c` of pixel (y, x).
    pub fn from_fn(channels: usize, height: usize, width: usize, f: impl Fn(usize, usize, usize) -> bool) -> BinaryMap {
        let mut words = Vec::with_capacity(height * width * channels.div_ceil(64));
        for y in 0..height {
            for x in 0..width {
                words.extend_from_slice(BitVec::from_fn(channels, |c| f(c, y, x)).words());
            }
        }
        BinaryMap { channels, height, width, words }
    }

    pub fn random(channels: usize, height: usize, width: usize, rng: &mut SplitMix64) -> BinaryMap {
        let mut words = Vec::with_capacity(height * width * channels.div_ceil(64));
        for _ in 0..height * width {
            words.extend_from_slice(BitVec::random(channels, rng).words());
        }
        BinaryMap { channels, height, width, words }
    }

    pub fn channels(&self) -> usize {
        self.channels
    }

    pub fn height(&self) -> usize {
        self.height
    }

    pub fn width(&self) -> usize {
        self.width
    }

    fn words_per_pixel(&self) -> usize {
        self.channels.div_ceil(64)
    }

    pub fn get(&self, c: usize, y: usize, x: usize) -> bool {
        assert!(c < self.channels && y < self.height && x < self.width);
        let word = (y * self.width + x) * self.words_per_pixel() + c / 64;
        (self.words[word] >> (c % 64)) & 1 == 1
    }

    /// The input vector of one dot product of a `kernel` x `kernel`
    /// convolution, the window whose top left pixel is (y, x): element
    /// `(ky * kernel + kx) * channels + c` is channel c of pixel (y + ky, x + kx).
    pub fn patch(&self, y: usize, x: usize, kernel: usize) -> BitVec {
        let per_pixel = kernel * self.channels;
        BitVec::from_fn(kernel * per_pixel, |e| {
            let (ky, kx, c) = (e / per_pixel, e % per_pixel / self.channels, e % self.channels);
            self.get(c, y + ky, x + kx)
        })
    }
}

/// The weights of a Group-Net convolution layer in layer-wise decomposition
/// (every base reads the one input map): for output channel o and base i a
/// `kernel` x `kernel` x `channels_in` +1/-1 vector, and one fixed-point
/// scale per base, shared by all output channels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupNetConv {
    channels_in: usize,
    kernel: usize,
    lambdas: Vec<i64>,
    c_out: usize,
    /// Per output channel, per base, per kernel pixel: the words of that
    /// pixel's channels, laid out as a [`BinaryMap`] pixel is.
    words: Vec<u64>,
}

impl GroupNetConv {
    /// `weights[o][i]` is base i of output channel o, in the element order
    /// of [`BinaryMap::patch`] (so it is the `w_i` of a Group-Net design of
    /// length `kernel * kernel * channels_in` computing that channel).
    pub fn new(
        channels_in: usize,
        kernel: usize,
        lambdas: Vec<i64>,
        weights: &[Vec<BitVec>],
    ) -> Result<GroupNetConv, String> {
        let len = kernel * kernel * channels_in;
        if len == 0 || lambdas.is_empty() {
            return Err("a Group-Net layer needs channels, a kernel and at least one base".into());
        }
        let mut words = vec![];
        for (o, bases) in weights.iter().enumerate() {
            if bases.len() != lambdas.len() {
                return Err(format!(
                    "output channel {o} has {} weight vectors, one per base needs {}",
                    bases.len(),
                    lambdas.len()
                ));
            }
            for (i, w) in bases.iter().enumerate() {
                if w.len() != len {
                    return Err(format!(
                        "weights of output channel {o}, base {i} have {} bits, a {kernel}x{kernel}x{channels_in} kernel needs {len}",
                        w.len()
                    ));
                }
                for pixel in 0..kernel * kernel {
                    let channels = BitVec::from_fn(channels_in, |c| w.get(pixel * channels_in + c));
                    words.extend_from_slice(channels.words());
                }
            }
        }
        Ok(GroupNetConv { channels_in, kernel, lambdas, c_out: weights.len(), words })
    }

    pub fn c_out(&self) -> usize {
        self.c_out
    }

    pub fn bases(&self) -> usize {
        self.lambdas.len()
    }
}

/// A Group-Net convolution layer on packed words, stride 1 and no padding
/// (pad the map first): output channel o at (y, x), stored at index
/// `(o * h_out + y) * w_out + x` with `h_out = height - kernel + 1` (likewise
/// w_out), is `sum_i lambdas[i] * xnor_dot(input.patch(y, x, kernel),
/// weights[o][i])`, exactly as [`Golden::eval`] of a shared-input Group-Net
/// design with those weights and lambdas. Uses the CPU's popcount
/// instruction where the CPU has one, found at run time, so that the build
/// stays runnable on every x86-64.
pub fn groupnet_layer(input: &BinaryMap, conv: &GroupNetConv) -> Result<Vec<i64>, String> {
    if input.channels != conv.channels_in {
        return Err(format!("the map has {} channels, the layer reads {}", input.channels, conv.channels_in));
    }
    if input.height < conv.kernel || input.width < conv.kernel {
        return Err(format!(
            "the {}x{} map is smaller than the {}x{} kernel",
            input.height, input.width, conv.kernel, conv.kernel
        ));
    }
    let outputs = (input.height - conv.kernel + 1) * (input.width - conv.kernel + 1);
    let mut out = vec![0; conv.c_out * outputs];
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("popcnt") {
        // SAFETY: the CPU has just been found to support popcnt.
        unsafe { groupnet_layer_popcnt(input, conv, &mut out) };
        return Ok(out);
    }
    groupnet_layer_into(input, conv, &mut out);
    Ok(out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "popcnt")]
fn groupnet_layer_popcnt(input: &BinaryMap, conv: &GroupNetConv, out: &mut [i64]) {
    groupnet_layer_into(input, conv, out)
}

/// The layer's loops, inlined into each caller so that they are compiled
/// with that caller's instruction set.
#[inline(always)]
fn groupnet_layer_into(input: &BinaryMap, conv: &GroupNetConv, out: &mut [i64]) {
    let row_words = conv.kernel * input.words_per_pixel();
    let base_words = conv.kernel * row_words;
    let len = (conv.kernel * conv.kernel * conv.channels_in) as i64;
    let (h_out, w_out) = (input.height - conv.kernel + 1, input.width - conv.kernel + 1);
    let channel_words = conv.bases() * base_words;
    for (out_o, w_o) in out.chunks_exact_mut(h_out * w_out).zip(conv.words.chunks_exact(channel_words)) {
        for y in 0..h_out {
            for x in 0..w_out {
                let mut sum = 0i64;
                for (lambda, w_i) in conv.lambdas.iter().zip(w_o.chunks_exact(base_words)) {
                    let mut differ = 0u32;
                    for (ky, w_row) in w_i.chunks_exact(row_words).enumerate() {
                        let start = ((y + ky) * input.width + x) * input.words_per_pixel();
                        differ += xor_count_ones(&input.words[start..start + row_words], w_row);
                    }
                    sum += lambda * (len - 2 * i64::from(differ));
                }
                out_o[y * w_out + x] = sum;
            }
        }
    }
}
