//! The FPGA boards the flows target (SPEC section 5): device, tool flags,
//! clock, LEDs and pin constraints; and each family's block RAM shapes.

use serde::Serialize;
use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(into = "&'static str")]
pub enum Board {
    IceBreaker,
    Hx8k,
    Ulx3s,
    TangNano9k,
}

/// The FPGA family, which picks the synthesis script, placer and packer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Ice40,
    Ecp5,
    Gowin,
}

/// What the flows need to know about a board (SPEC section 5).
#[derive(Debug)]
pub struct BoardInfo {
    /// Name on the command line and in file names.
    pub name: &'static str,
    pub title: &'static str,
    pub family: Family,
    pub device: &'static str,
    /// nextpnr's device flags.
    pub pnr_args: &'static [&'static str],
    /// The bitstream packer's device flags.
    pub pack_args: &'static [&'static str],
    pub clock_mhz: f64,
    pub leds: u32,
    pub leds_active_low: bool,
    /// The constraint file's name (under `constraints/`) and text.
    pub constraint_file: &'static str,
    pub constraints: &'static str,
    /// LUT4s in the device.
    pub luts: u64,
    /// Block RAMs in the device: iCE40 4-kbit EBRs, ECP5 18-kbit DP16KDs,
    /// Gowin 18-kbit BSRAMs (the data sheets' counts).
    pub brams: u64,
    /// The clock a folded network is planned at (`--target-fps`), rounded
    /// down from what was measured in the board wrapper. iCEBreaker: the
    /// streaming engines' 52.2 MHz, which small networks come near (net_tiny
    /// 50.5, small_icebreaker 48.7). ULX3S: 90 MHz, the slowest whole
    /// network placed there since the two-cycle choices of chunk and bank:
    /// CNV at FINN's folding reached 105.9, the
    /// PA-Net CNV 111.2, but the chooser's folding of CNV for 3,000
    /// frames/s at 100 MHz only 90.2, its block RAM reads placed far from
    /// their registers (folded at 90 it reached 93.2 and met its 3,000);
    /// the single engines reach 132.4, at which the chooser's CNV, before
    /// those choices, placed at 87.9 MHz. HX8K and Tang Nano 9K are not
    /// measured, their figures are estimates from the units' Fmax on the
    /// same families.
    pub planning_mhz: f64,
}

const ICEBREAKER: BoardInfo = BoardInfo {
    name: "icebreaker",
    title: "iCEBreaker",
    family: Family::Ice40,
    device: "iCE40 UP5K sg48",
    pnr_args: &["--up5k", "--package", "sg48"],
    pack_args: &[],
    clock_mhz: 12.0,
    leds: 2,
    leds_active_low: true,
    constraint_file: "icebreaker.pcf",
    constraints: include_str!("../../constraints/icebreaker.pcf"),
    luts: 5280,
    brams: 30,
    planning_mhz: 52.0,
};

const HX8K: BoardInfo = BoardInfo {
    name: "hx8k",
    title: "iCE40-HX8K breakout",
    family: Family::Ice40,
    device: "iCE40 HX8K ct256",
    pnr_args: &["--hx8k", "--package", "ct256"],
    pack_args: &[],
    clock_mhz: 12.0,
    leds: 8,
    leds_active_low: false,
    constraint_file: "hx8k.pcf",
    constraints: include_str!("../../constraints/hx8k.pcf"),
    luts: 7680,
    brams: 32,
    planning_mhz: 60.0,
};

const ULX3S: BoardInfo = BoardInfo {
    name: "ulx3s",
    title: "ULX3S",
    family: Family::Ecp5,
    device: "ECP5 LFE5U-85F CABGA381 speed 6",
    pnr_args: &["--85k", "--package", "CABGA381", "--speed", "6"],
    pack_args: &[],
    clock_mhz: 25.0,
    leds: 8,
    leds_active_low: false,
    constraint_file: "ulx3s.lpf",
    constraints: include_str!("../../constraints/ulx3s.lpf"),
    luts: 83640,
    brams: 208,
    planning_mhz: 90.0,
};

const TANGNANO9K: BoardInfo = BoardInfo {
    name: "tangnano9k",
    title: "Tang Nano 9K",
    family: Family::Gowin,
    device: "GW1NR-LV9QN88PC6/I5",
    pnr_args: &["--device", "GW1NR-LV9QN88PC6/I5", "--vopt", "family=GW1N-9C"],
    pack_args: &["-d", "GW1N-9C"],
    clock_mhz: 27.0,
    leds: 6,
    leds_active_low: true,
    constraint_file: "tangnano9k.cst",
    constraints: include_str!("../../constraints/tangnano9k.cst"),
    luts: 8640,
    brams: 26,
    planning_mhz: 50.0,
};

impl Board {
    pub const ALL: [Board; 4] = [Board::IceBreaker, Board::Hx8k, Board::Ulx3s, Board::TangNano9k];

    pub fn info(self) -> &'static BoardInfo {
        match self {
            Board::IceBreaker => &ICEBREAKER,
            Board::Hx8k => &HX8K,
            Board::Ulx3s => &ULX3S,
            Board::TangNano9k => &TANGNANO9K,
        }
    }

    pub fn name(self) -> &'static str {
        self.info().name
    }
}

impl FromStr for Board {
    type Err = String;

    fn from_str(name: &str) -> Result<Board, String> {
        Board::ALL.into_iter().find(|b| b.name() == name).ok_or_else(|| {
            let names: Vec<&str> = Board::ALL.iter().map(|b| b.name()).collect();
            format!("unknown board {name:?}: the boards are {}", names.join(", "))
        })
    }
}

impl fmt::Display for Board {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl From<Board> for &'static str {
    fn from(board: Board) -> &'static str {
        board.name()
    }
}

/// Memories smaller than this stay in logic.
pub const MIN_BRAM_BITS: u64 = 256;

/// One block RAM of a family: its bits and its (width, depth) shapes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockRam {
    pub name: &'static str,
    pub shapes: &'static [(u64, u64)],
    /// Whether the family has LUT RAM (16 x 4 bits a unit) for Yosys to
    /// put RAMs in: ECP5 and Gowin do, iCE40 does not.
    pub lut_ram: bool,
}

/// Yosys's prices of a 16 x 4 LUT RAM and of an 18-kbit block
/// (`lutrams.txt` and `brams.txt` of ECP5 and Gowin, `cost 4` and
/// `cost 128`, the same in 0.23 and YoWASP's 0.70).
const LUT_RAM_UNIT_COST: u64 = 4;
const BLOCK_COST: u64 = 128;

const EIGHTEEN_KBIT: &[(u64, u64)] = &[(36, 512), (18, 1024), (9, 2048), (4, 4096), (2, 8192), (1, 16384)];

/// iCE40's SB_RAM40_4K; ECP5's DP16KD and Gowin's BSRAM (18 kbit, one
/// read and one write port: 36 bits wide at most).
pub fn block_ram(family: Family) -> BlockRam {
    match family {
        Family::Ice40 => {
            BlockRam { name: "4-kbit EBR", shapes: &[(16, 256), (8, 512), (4, 1024), (2, 2048)], lut_ram: false }
        }
        Family::Ecp5 => BlockRam { name: "DP16KD", shapes: EIGHTEEN_KBIT, lut_ram: true },
        Family::Gowin => BlockRam { name: "BSRAM", shapes: EIGHTEEN_KBIT, lut_ram: true },
    }
}

impl BlockRam {
    /// Bits of one block (its parity bits counted).
    pub fn bits(&self) -> u64 {
        self.shapes[0].0 * self.shapes[0].1
    }

    /// Blocks a memory of `width` x `depth` takes (0 if it stays in logic).
    pub fn blocks(&self, width: u64, depth: u64) -> u64 {
        if width * depth < MIN_BRAM_BITS {
            return 0;
        }
        let (w, d) = self.shape(width, depth);
        width.div_ceil(w) * depth.div_ceil(d)
    }

    /// Whether Yosys puts a RAM of `width` x `depth` that the generator
    /// leaves to it (a line buffer, a FIFO) in LUT RAM: when its 16 x 4
    /// units cost less than its blocks at Yosys's prices, a tie going to
    /// block RAM. On CNV's line buffers (YoWASP Yosys, ECP5) that is
    /// exactly its choice: 256 x 32 and 512 x 8 in LUT RAM; 128 x 64 (a
    /// tie), 64 x 128, 128 x 128, 24 x 256 and 64 x 256 in DP16KD.
    pub fn in_lut_ram(&self, width: u64, depth: u64) -> bool {
        let units = width.div_ceil(4) * depth.div_ceil(16);
        self.lut_ram && LUT_RAM_UNIT_COST * units < BLOCK_COST * self.blocks(width, depth)
    }

    /// The block shape (width, depth) a memory of `width` x `depth` takes
    /// the fewest blocks in; of equals, the widest (a ROM of 32,768 x 8 on
    /// ECP5: 16 DP16KD of 2,048 x 9, one above the other). Deep weight ROMs
    /// are banked at its depth. YoWASP's Yosys sometimes packs a deep ROM
    /// whole into fewer blocks, with muxes behind them: 15 DP16KD for
    /// 32,768 x 8, 32 for 18,432 x 32.
    pub fn shape(&self, width: u64, depth: u64) -> (u64, u64) {
        *self.shapes.iter().min_by_key(|&&(w, d)| width.div_ceil(w) * depth.div_ceil(d)).expect("a block has a shape")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boards_parse_by_name() {
        for b in Board::ALL {
            assert_eq!(b.name().parse::<Board>(), Ok(b));
        }
        let e = "nexys".parse::<Board>().unwrap_err();
        assert!(e.contains("icebreaker, hx8k, ulx3s, tangnano9k"), "{e}");
    }

    #[test]
    fn line_buffers_go_where_yosys_put_cnvs() {
        let ecp5 = block_ram(Family::Ecp5);
        // (width, depth) of CNV's line buffers and where YoWASP Yosys 0.70
        // `synth_ecp5` put them in its Group-Net K = 2 netlist.
        for (width, depth, blocks) in
            [(256, 32, 0), (512, 8, 0), (256, 8, 0), (128, 64, 4), (64, 128, 2), (128, 128, 4)]
        {
            assert_eq!(ecp5.in_lut_ram(width, depth), blocks == 0, "{width} x {depth}");
            if blocks > 0 {
                assert_eq!(ecp5.blocks(width, depth), blocks, "{width} x {depth}");
            }
        }
        assert!(!ecp5.in_lut_ram(24, 256) && !ecp5.in_lut_ram(64, 256));
        assert!((1..=4096).all(|d| !block_ram(Family::Ice40).in_lut_ram(8, d)), "iCE40 has no LUT RAM");
    }
}
