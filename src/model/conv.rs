//! A whole Group-Net convolution layer on packed words: the fast software
//! reference the CPU speed-up figures measure.

use super::golden::xor_count_ones;
use crate::util::bits::{BitVec, SplitMix64};

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
