//! The small stream stages a network (SPEC 7) puts between its layers, as
//! typed immutable parameters (validated where a network is read): a max
//! pool and the per-pixel argmax of a classifier's output.

use crate::util::fixed::width_for;

/// k x k max-pool, stride k (SPEC 7), on a stream of H x W pixels of
/// `channels` elements of `element_bits` bits, channel c at
/// `[c*element_bits +: element_bits]`. `element_bits == 1`: binary maps
/// (1 = +1), the max is a logical OR; more: unsigned levels, the max.
/// Rows and columns beyond floor(H/k)*k are dropped (PyTorch's default).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolParams {
    pub top: String,
    pub height: usize,
    pub width: usize,
    pub channels: usize,
    pub element_bits: u32,
    /// k: the window's side and the stride.
    pub size: usize,
}

impl PoolParams {
    pub fn out_height(&self) -> usize {
        self.height / self.size
    }

    pub fn out_width(&self) -> usize {
        self.width / self.size
    }

    pub fn in_pixel_bits(&self) -> usize {
        self.channels * self.element_bits as usize
    }

    /// The same as the input's: a pool keeps every channel's format.
    pub fn out_pixel_bits(&self) -> usize {
        self.in_pixel_bits()
    }

    /// One input pixel a cycle: a frame takes H*W cycles in steady state.
    pub fn cycles_per_frame(&self) -> usize {
        self.height * self.width
    }
}

/// Per pixel: the index of the largest of `channels` elements (the lowest
/// index on ties), elements two's complement if `signed`, else unsigned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArgmaxParams {
    pub top: String,
    /// Pixels per frame: `m_axis_tlast` marks every `pixels`-th beat.
    pub pixels: usize,
    pub channels: usize,
    pub element_bits: u32,
    pub signed: bool,
}

impl ArgmaxParams {
    pub fn in_pixel_bits(&self) -> usize {
        self.channels * self.element_bits as usize
    }

    /// Bits of an index: ceil(log2(channels)), at least 1.
    pub fn index_bits(&self) -> u32 {
        width_for(0, self.channels as i128 - 1)
    }

    /// Cycles a pixel takes: the argmax takes two cycles a channel (it
    /// registers the channel, then registers the comparison) and one more
    /// to keep the last.
    pub fn cycles_per_pixel(&self) -> usize {
        2 * self.channels + 1
    }

    /// Cycles a pixel waits at the input beyond the one it arrives in.
    pub fn latency(&self) -> usize {
        2 * self.channels
    }

    pub fn cycles_per_frame(&self) -> usize {
        self.pixels * self.cycles_per_pixel()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_the_definitions() {
        let p = PoolParams { top: "p".into(), height: 7, width: 5, channels: 3, element_bits: 2, size: 2 };
        assert_eq!((p.out_height(), p.out_width(), p.in_pixel_bits(), p.cycles_per_frame()), (3, 2, 6, 35));
        let a = |channels| ArgmaxParams { top: "a".into(), pixels: 1, channels, element_bits: 4, signed: true };
        assert_eq!([1, 2, 3, 4, 5, 10, 16, 17].map(|c| a(c).index_bits()), [1, 1, 2, 2, 3, 4, 4, 5]);
    }
}
