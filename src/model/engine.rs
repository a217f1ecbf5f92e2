//! The golden model of a streaming layer engine (SPEC 6.4 and 6.5): whole
//! frames of input pixels to whole frames of output pixels, bit-exact, on
//! packed words (a window is gathered once per lane and pixel, and every
//! output channel is an XNOR or AND and a popcount over it).

use crate::spec::engine::{EngineKind, EngineParams, Output};
use crate::spec::pa::act_piece;
use crate::util::bits::BitVec;

/// The golden model bound to one engine.
pub struct EngineGolden<'p> {
    p: &'p EngineParams,
}

/// One lane's window at one output pixel: its elements (outside taps 0)
/// and which of them are inside the map.
struct Window {
    bits: BitVec,
    inside: BitVec,
}

impl<'p> EngineGolden<'p> {
    pub fn new(p: &'p EngineParams) -> EngineGolden<'p> {
        EngineGolden { p }
    }

    /// The output frame of one input frame: `H*W` pixels of
    /// `in_pixel_bits` in raster order, to `Ho*Wo` pixels of `out_pixel_bits`.
    pub fn frame(&self, pixels: &[BitVec]) -> Vec<BitVec> {
        let g = &self.p.geometry;
        assert_eq!(pixels.len(), g.height * g.width, "a frame is H*W pixels");
        let mut out = Vec::with_capacity(g.out_height() * g.out_width());
        for oy in 0..g.out_height() {
            for ox in 0..g.out_width() {
                out.push(self.pixel(pixels, (oy, ox)));
            }
        }
        out
    }

    /// One output pixel.
    pub fn pixel(&self, pixels: &[BitVec], at: (usize, usize)) -> BitVec {
        match self.p.kind {
            EngineKind::Conv => {
                let dots = self.dots(pixels, at);
                self.conv_output(&dots)
            }
            EngineKind::PaConv => {
                let sums = self.pa_sums(pixels, at);
                self.pack_sums(&sums)
            }
        }
    }

    /// Lane `lane`'s window of `conv` at output pixel `at`: bits of its own
    /// input map, at its own dilation.
    fn conv_window(&self, pixels: &[BitVec], at: (usize, usize), lane: usize) -> Window {
        let g = &self.p.geometry;
        let k = g.kernel;
        let base = if self.p.shared_input { 0 } else { lane * g.cin };
        let mut w = Window { bits: BitVec::zeros(g.window_len()), inside: BitVec::zeros(g.window_len()) };
        for t in 0..k * k {
            if let Some((row, col)) = g.tap(at, (t / k, t % k), g.dilations[lane]) {
                let pixel = &pixels[row * g.width + col];
                for c in 0..g.cin {
                    w.bits.set(t * g.cin + c, pixel.get(base + c));
                    w.inside.set(t * g.cin + c, true);
                }
            }
        }
        w
    }

    /// `dot_i(o)` of every lane and channel at `at`: +1/-1 products summed
    /// over the inside taps only.
    pub fn dots(&self, pixels: &[BitVec], at: (usize, usize)) -> Vec<Vec<i64>> {
        (0..self.p.lanes())
            .map(|lane| {
                let w = self.conv_window(pixels, at, lane);
                let inside = w.inside.count_ones() as i64;
                self.p.weights[lane]
                    .iter()
                    .map(|weights| 2 * w.bits.count_agree_within(weights, &w.inside) as i64 - inside)
                    .collect()
            })
            .collect()
    }

    /// `y(o) = sum_j P_ij * #{inside e: T_i(o)[e] and V_j[e]}` of `pa_conv`.
    pub fn pa_sums(&self, pixels: &[BitVec], at: (usize, usize)) -> Vec<i64> {
        self.pa_counts(pixels, at)
            .iter()
            .map(|counts| {
                let mut y = 0;
                for (i, row) in counts.iter().enumerate() {
                    for (j, &count) in row.iter().enumerate() {
                        y += self.p.phi[i][j] * count;
                    }
                }
                y
            })
            .collect()
    }

    /// `#{inside e: T_i(o)[e] and V_j[e]}` of `pa_conv`, indexed [o][i][j]:
    /// what phi multiplies.
    pub fn pa_counts(&self, pixels: &[BitVec], at: (usize, usize)) -> Vec<Vec<Vec<i64>>> {
        let p = self.p;
        let g = &p.geometry;
        let k = g.kernel;
        let b = p.act_bits as usize;
        let mut bases = vec![BitVec::zeros(g.window_len()); p.act_bases()];
        for t in 0..k * k {
            let Some((row, col)) = g.tap(at, (t / k, t % k), g.dilations[0]) else { continue };
            let pixel = &pixels[row * g.width + col];
            for c in 0..g.cin {
                let raw = BitVec::from_fn(b, |i| pixel.get(c * b + i));
                if p.bitplanes {
                    for (j, base) in bases.iter_mut().enumerate() {
                        base.set(t * g.cin + c, raw.get(j));
                    }
                    continue;
                }
                let a = raw.to_i64(p.act_signed);
                if let Some(j) = act_piece(a, &p.endpoints) {
                    bases[j].set(t * g.cin + c, true);
                }
            }
        }
        (0..g.cout)
            .map(|o| {
                p.weights.iter().map(|planes| bases.iter().map(|v| planes[o].count_and(v) as i64).collect()).collect()
            })
            .collect()
    }

    /// y(o) of `conv`: the lanes' dots scaled by lambda and summed.
    fn conv_sums(&self, dots: &[Vec<i64>]) -> Vec<i64> {
        (0..self.p.geometry.cout).map(|o| (0..dots.len()).map(|i| self.p.lambdas[i] * dots[i][o]).sum()).collect()
    }

    fn conv_output(&self, dots: &[Vec<i64>]) -> BitVec {
        match &self.p.output {
            Output::Fusion { fusion, thresholds } => {
                let cout = self.p.geometry.cout;
                let lanes = dots.len();
                BitVec::from_fn(lanes * cout, |bit| {
                    let (i, o) = (bit / cout, bit % cout);
                    let s: i64 = (0..lanes).map(|j| fusion[i][j] * dots[j][o]).sum();
                    s >= thresholds[i][o]
                })
            }
            _ => self.pack_sums(&self.conv_sums(dots)),
        }
    }

    /// The sums as the output stage gives them: exact, or as threshold levels.
    fn pack_sums(&self, sums: &[i64]) -> BitVec {
        let width = self.p.out_element_bits();
        let values: Vec<i64> = match &self.p.output {
            Output::Sum => sums.to_vec(),
            Output::Threshold { thresholds, signs } => sums
                .iter()
                .enumerate()
                .map(|(o, &y)| thresholds[o].iter().filter(|&&t| signs[o] * y >= t).count() as i64)
                .collect(),
            Output::Fusion { .. } => unreachable!("fusion outputs bits per lane"),
        };
        let mut out = BitVec::zeros(width * values.len());
        for (o, &v) in values.iter().enumerate() {
            for bit in 0..width {
                out.set(o * width + bit, (v >> bit) & 1 == 1);
            }
        }
        out
    }
}
