//! Golden models of the stream stages between a network's layers (SPEC 7),
//! element by element: the max pool and the per-pixel argmax. A FIFO's
//! golden model is the identity.

use crate::spec::stage::{ArgmaxParams, PoolParams};
use crate::util::bits::BitVec;

/// Element `c` of a pixel of `bits`-bit elements, unsigned.
fn element(pixel: &BitVec, c: usize, bits: u32) -> u64 {
    let bits = bits as usize;
    (0..bits).filter(|&b| pixel.get(c * bits + b)).map(|b| 1u64 << b).sum()
}

/// A pixel from its elements, element `c` at `[c*bits +: bits]`.
fn pixel_of(elements: &[u64], bits: u32) -> BitVec {
    let bits = bits as usize;
    BitVec::from_fn(elements.len() * bits, |i| (elements[i / bits] >> (i % bits)) & 1 == 1)
}

/// One frame through the max pool: H*W pixels in raster order to Ho*Wo.
/// Per output pixel and channel, the largest element of its k x k window
/// (with one-bit elements, their OR); rows and columns past Ho*k and
/// Wo*k are read by no window.
pub fn maxpool_frame(p: &PoolParams, pixels: &[BitVec]) -> Vec<BitVec> {
    assert_eq!(pixels.len(), p.height * p.width, "a frame is H*W pixels");
    let k = p.size;
    let mut out = Vec::with_capacity(p.out_height() * p.out_width());
    for oy in 0..p.out_height() {
        for ox in 0..p.out_width() {
            let maxima: Vec<u64> = (0..p.channels)
                .map(|c| {
                    let window = (0..k * k).map(|t| &pixels[(oy * k + t / k) * p.width + ox * k + t % k]);
                    window.map(|px| element(px, c, p.element_bits)).max().expect("k >= 1")
                })
                .collect();
            out.push(pixel_of(&maxima, p.element_bits));
        }
    }
    out
}

/// The index of the largest value, the lowest on ties: the argmax stage's
/// rule, for its integers and for the float network's sums alike.
pub fn argmax<T: PartialOrd>(values: &[T]) -> usize {
    let mut best = 0;
    for (i, v) in values.iter().enumerate() {
        if *v > values[best] {
            best = i;
        }
    }
    best
}

/// One frame through the argmax: per pixel, the index of its largest
/// element (two's complement if `signed`), the lowest index on ties, in
/// `index_bits` bits.
pub fn argmax_frame(p: &ArgmaxParams, pixels: &[BitVec]) -> Vec<BitVec> {
    assert_eq!(pixels.len(), p.pixels, "a frame is `pixels` pixels");
    let value = |px: &BitVec, c: usize| -> i64 {
        if p.signed { px.signed_element(c, p.element_bits) } else { element(px, c, p.element_bits) as i64 }
    };
    pixels
        .iter()
        .map(|px| {
            let values: Vec<i64> = (0..p.channels).map(|c| value(px, c)).collect();
            BitVec::from_i64(p.index_bits() as usize, argmax(&values) as i64)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn px(bits: usize, value: i64) -> BitVec {
        BitVec::from_i64(bits, value)
    }

    fn pool(height: usize, width: usize, channels: usize, element_bits: u32, size: usize) -> PoolParams {
        PoolParams { top: "pool".into(), height, width, channels, element_bits, size }
    }

    #[test]
    fn a_binary_pool_ors_each_window_and_drops_the_leftover_row_and_column() {
        // 3 x 5, two channels (bit 0, bit 1), k = 2: one row of two windows;
        // row 2 and column 4 (all ones) are read by no window.
        let frame: Vec<BitVec> = [0b00, 0b01, 0b00, 0b00, 0b11, 0b00, 0b00, 0b10, 0b00, 0b11, 3, 3, 3, 3, 3]
            .iter()
            .map(|&v| px(2, v))
            .collect();
        assert_eq!(maxpool_frame(&pool(3, 5, 2, 1, 2), &frame), vec![px(2, 0b01), px(2, 0b10)]);
    }

    #[test]
    fn a_level_pool_takes_each_channels_maximum() {
        // 2 x 2, channels (ch0, ch1) of 2 bits: (1,0) (2,1) / (0,3) (1,2) -> (2,3).
        let frame: Vec<BitVec> = [1, 2 | 1 << 2, 3 << 2, 1 | 2 << 2].iter().map(|&v| px(4, v)).collect();
        assert_eq!(maxpool_frame(&pool(2, 2, 2, 2, 2), &frame), vec![px(4, 2 | 3 << 2)]);
        // 4 x 4, k = 3: the window is rows and columns 0..3; the 3s outside it are dropped.
        let frame: Vec<BitVec> = [0, 1, 2, 3, 1, 0, 0, 3, 2, 1, 1, 3, 3, 3, 3, 3].iter().map(|&v| px(2, v)).collect();
        assert_eq!(maxpool_frame(&pool(4, 4, 1, 2, 3), &frame), vec![px(2, 2)]);
    }

    #[test]
    fn argmax_picks_the_lowest_index_of_the_largest_element() {
        let argmax = |channels, element_bits, signed| ArgmaxParams {
            top: "argmax".into(),
            pixels: 3,
            channels,
            element_bits,
            signed,
        };
        // Four 3-bit elements: [7, 3, 3, 4] unsigned, [-1, 3, 3, -4] signed;
        // [4, 5, 4, 5] unsigned, [-4, -3, -4, -3] signed; all equal.
        let frame = [px(12, 7 | 3 << 3 | 3 << 6 | 4 << 9), px(12, 4 | 5 << 3 | 4 << 6 | 5 << 9), px(12, 0o5555)];
        assert_eq!(argmax_frame(&argmax(4, 3, true), &frame), vec![px(2, 1), px(2, 1), px(2, 0)]);
        assert_eq!(argmax_frame(&argmax(4, 3, false), &frame), vec![px(2, 0), px(2, 1), px(2, 0)]);
        // Three 2-bit elements: [2, 3, 1] unsigned, [-2, -1, 1] signed.
        let frame = [px(6, 2 | 3 << 2 | 1 << 4), px(6, 0), px(6, 1 << 4)];
        assert_eq!(argmax_frame(&argmax(3, 2, true), &frame), vec![px(2, 2), px(2, 0), px(2, 2)]);
        assert_eq!(argmax_frame(&argmax(3, 2, false), &frame), vec![px(2, 1), px(2, 0), px(2, 2)]);
    }
}
