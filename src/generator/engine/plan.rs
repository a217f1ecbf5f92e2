//! The numbers an engine is built from, derived once from its parameters:
//! folding, the line buffer's shape, the read ports, and where each step's
//! window elements come from.

use crate::spec::board::{Family, block_ram};
use crate::spec::engine::{EngineKind, EngineParams, Geometry, WeightStorage};
use crate::util::fixed::width_for;

/// Lanes that read the window at one dilation: one read of the line
/// buffer per tap serves them all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DilationGroup {
    pub dilation: usize,
    /// `conv`: the lanes (branches) of this dilation; `pa_conv`: `[0]`.
    pub lanes: Vec<usize>,
}

/// Everything the generator derives before it builds anything.
#[derive(Clone, Debug)]
pub struct Plan {
    pub kind: EngineKind,
    pub geometry: Geometry,
    pub height: usize,
    pub width: usize,
    pub cin: usize,
    pub cout: usize,
    pub kernel: usize,
    pub stride: usize,
    pub out_height: usize,
    pub out_width: usize,
    pub pe: usize,
    pub simd: usize,
    /// Neuron folds cout/pe and synapse folds k*k*cin/simd; ii = nf * sf.
    pub nf: usize,
    pub sf: usize,
    /// Whole taps per step (simd > cin), else 1.
    pub taps_per_step: usize,
    /// Parts of one tap's channels (simd <= cin), else 1.
    pub chunks_per_tap: usize,
    pub groups: Vec<DilationGroup>,
    /// Window lanes: `conv`'s K branches, or `pa_conv`'s one window.
    pub window_lanes: usize,
    /// Where each window lane's channels start in a pixel, in elements.
    pub lane_base: Vec<usize>,
    pub pixel_bits: usize,
    /// Bits one window element takes in a pixel: 1, or `pa_conv`'s B.
    pub element_bits: usize,
    /// Line buffer: 2^row_bits rows of 2^col_bits pixels.
    pub row_bits: u32,
    pub col_bits: u32,
    /// Tap offsets over every dilation: the window's top and bottom rows
    /// relative to the output pixel's anchor row `oy * stride`.
    pub off_min: isize,
    pub off_max: isize,
    /// Width of the global row counters (wrapping; differences stay small).
    pub row_counter_bits: u32,
    /// Registers after each memory's own read register (the fastest
    /// pipelining takes one: ECP5's block RAM has 5.6 to 5.8 ns from clock
    /// to output, and Yosys cannot use its output register, so the read
    /// takes a cycle of its own; a second register, tried, gained nothing).
    pub read_pipeline: u32,
    /// Whether a step's choice among a tap's chunks takes two cycles, with
    /// a register halfway down its mux tree (see [`Plan::wide_chunk_choice`]).
    pub chunk_register: bool,
    /// Words a bank of the weight ROMs holds, when they are banked (see
    /// [`Plan::weight_bank_depth`]); read through one register more.
    pub weight_banks: Option<usize>,
}

/// Rows the line buffer must hold so that the input never waits on a
/// window still being read: while the schedule reads the last window of
/// one anchor row (or frame), the input must be able to write every row
/// the next anchor's window needs, and go on into the row after. Windows
/// are clipped to their frame; the largest such span over consecutive
/// anchors, in global rows, is the buffer's height.
fn buffer_rows(g: &Geometry, (off_min, off_max): (isize, isize), out_height: usize) -> usize {
    let h = g.height as isize;
    let anchor = |oy: usize| (oy * g.stride) as isize;
    let top = |oy: usize| anchor(oy) + off_min.max(-anchor(oy));
    let bottom = |oy: usize| anchor(oy) + off_max.min(h - 1 - anchor(oy));
    let mut rows = 0;
    for oy in 0..out_height {
        // The next anchor: on the same row, the next row, or the next frame's first.
        let next_bottom = if oy + 1 < out_height { bottom(oy + 1) } else { h + bottom(0) };
        rows = rows.max(bottom(oy) + 2 - top(oy)).max(next_bottom + 2 - top(oy));
    }
    rows as usize
}

/// Bits of a counter over `0..n` (at least 1).
pub fn bits_for(n: usize) -> u32 {
    width_for(0, n.saturating_sub(1) as i128)
}

impl Plan {
    pub fn new(p: &EngineParams) -> Plan {
        let g = &p.geometry;
        let n = g.window_len();
        let (pe, simd) = (p.folding.pe, p.folding.simd);
        let mut groups: Vec<DilationGroup> = vec![];
        for (lane, &d) in g.dilations.iter().enumerate() {
            match groups.iter_mut().find(|grp| grp.dilation == d) {
                Some(grp) => grp.lanes.push(lane),
                None => groups.push(DilationGroup { dilation: d, lanes: vec![lane] }),
            }
        }
        let offsets: Vec<isize> =
            g.dilations.iter().flat_map(|&d| [g.tap_offset(0, d), g.tap_offset(g.kernel - 1, d)]).collect();
        let (off_min, off_max) = (*offsets.iter().min().unwrap(), *offsets.iter().max().unwrap());
        let (out_height, out_width) = (g.out_height(), g.out_width());
        let rows = buffer_rows(g, (off_min, off_max), out_height);
        let row_bits = bits_for(rows.next_power_of_two()).max(1);
        Plan {
            kind: p.kind,
            geometry: g.clone(),
            height: g.height,
            width: g.width,
            cin: g.cin,
            cout: g.cout,
            kernel: g.kernel,
            stride: g.stride,
            out_height,
            out_width,
            pe,
            simd,
            nf: g.cout / pe,
            sf: n / simd,
            taps_per_step: if simd > g.cin { simd / g.cin } else { 1 },
            chunks_per_tap: if simd <= g.cin { g.cin / simd } else { 1 },
            window_lanes: if p.kind == EngineKind::Conv { p.lanes() } else { 1 },
            lane_base: match p.kind {
                EngineKind::Conv if !p.shared_input => (0..p.lanes()).map(|lane| lane * g.cin).collect(),
                EngineKind::Conv => vec![0; p.lanes()],
                EngineKind::PaConv => vec![0],
            },
            groups,
            pixel_bits: p.in_pixel_bits(),
            element_bits: if p.kind == EngineKind::Conv { 1 } else { p.act_bits as usize },
            row_bits,
            col_bits: bits_for(g.width),
            off_min,
            off_max,
            // Differences between rows in flight stay below the buffer
            // rows plus a frame; two more bits keep them unambiguous.
            row_counter_bits: width_for(0, (1i128 << row_bits) + 2 * g.height as i128) + 2,
            read_pipeline: 0,
            chunk_register: false,
            weight_banks: None,
        }
    }

    /// Whether the choice of a step's chunk among a tap's is too deep for
    /// one cycle beside registered reads: more than 5 levels of 2:1 muxes
    /// (32 chunks). CNV's last dense layer chooses 1 of 512 input channels
    /// (simd 1), which was the whole network's critical path at 9.6 ns on
    /// ECP5; split, each half is 5 levels or fewer up to 1,024 chunks.
    pub fn wide_chunk_choice(&self) -> bool {
        self.taps_per_step == 1 && self.chunks_per_tap > 32
    }

    /// Whether the choice among banked weight ROMs' banks is too deep for
    /// one cycle: more than 8 banks (3 levels of 2:1 muxes), whose words
    /// come from blocks spread over the chip. CNV's layer 7 (FINN's
    /// folding) chooses among 36, and that was the whole network's
    /// critical path at 10.1 ns on ECP5 (98.8 MHz). Such a choice takes
    /// two cycles, with a register halfway down its mux tree.
    pub fn wide_bank_choice(&self) -> bool {
        self.weight_banks.is_some_and(|depth| self.ii().div_ceil(depth) > 8)
    }

    /// Registers a memory read passes: the RAM's, and the ones after it.
    pub fn read_registers(&self) -> u32 {
        1 + self.read_pipeline
    }

    /// Words a bank of the weight ROMs holds, if they are in block RAM
    /// and deeper than one 18-kbit block (ECP5's DP16KD, Gowin's BSRAM) at
    /// their width. A deep ROM read whole ends in a choice among its
    /// blocks behind their 5.6 ns from clock to output: on CNV's dense
    /// layer of 32,768 x 8 bits, 16 blocks, 14.1 ns, the whole network's
    /// critical path at 70.9 MHz. Banked, each block's word is registered
    /// beside it before the choice.
    pub fn weight_bank_depth(&self, p: &EngineParams) -> Option<usize> {
        if p.weights_in == WeightStorage::Logic {
            return None;
        }
        let width = (self.pe * self.simd) as u64 * u64::from(p.weight_roms().1);
        let (_, depth) = block_ram(Family::Ecp5).shape(width, self.ii() as u64);
        (self.ii() as u64 > depth).then_some(depth as usize)
    }

    pub fn ii(&self) -> usize {
        self.nf * self.sf
    }

    /// Rows the line buffer holds.
    pub fn rows(&self) -> usize {
        1 << self.row_bits
    }

    /// How far (in rows) the input may be ahead of the top row still
    /// being read: the rows the buffer holds beyond it.
    pub fn input_lead(&self) -> isize {
        self.rows() as isize - 1
    }

    /// The pixel bits the lanes of group `g` read: with a separate input
    /// map per lane, only the group's own lanes' channels. As (lo, width)
    /// runs, lowest first.
    pub fn read_bits(&self, g: usize) -> Vec<(usize, usize)> {
        let eb = self.element_bits;
        let mut read = vec![false; self.pixel_bits];
        for &lane in &self.groups[g].lanes {
            let base = self.lane_base[lane] * eb;
            read[base..base + self.cin * eb].iter_mut().for_each(|r| *r = true);
        }
        let mut runs: Vec<(usize, usize)> = vec![];
        for (bit, _) in read.iter().enumerate().filter(|(_, r)| **r) {
            match runs.last_mut() {
                Some((lo, width)) if *lo + *width == bit => *width += 1,
                _ => runs.push((bit, 1)),
            }
        }
        runs
    }

    /// The group whose dilation lane `lane` has.
    pub fn group_of(&self, lane: usize) -> usize {
        self.groups.iter().position(|g| g.lanes.contains(&lane)).expect("every lane is in a group")
    }

    /// Window element bits per lane per step.
    pub fn step_bits(&self) -> usize {
        self.simd * self.element_bits
    }

    /// For step `sf` and port `j`: the tap (ky, kx) it reads and, for
    /// simd <= cin, which part of the tap's channels.
    pub fn step_tap(&self, sf: usize, j: usize) -> (usize, usize, usize) {
        let (tap, chunk) = if self.taps_per_step > 1 {
            (sf * self.taps_per_step + j, 0)
        } else {
            (sf / self.chunks_per_tap, sf % self.chunks_per_tap)
        };
        (tap / self.kernel, tap % self.kernel, chunk)
    }
}
