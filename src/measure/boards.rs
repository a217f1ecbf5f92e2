//! The boards the FPGA flows target, and `board_top`, the wrapper that puts
//! a generated design on one.
//!
//! A design has far more data inputs than a board has pins, so the wrapper
//! makes them on chip. A 64-bit maximal-length LFSR is expanded to every
//! data input bit by XORing rotated copies of itself: each input bit is the
//! XOR of its own set of two to four LFSR bits, so it costs one LUT in front
//! of the design's input register, and no two input bits are equal or
//! complementary, so synthesis cannot merge or drop any of them. `in_valid`
//! is held high, a power-on shift register makes the reset, and every valid `y` is
//! folded into a 32-bit MISR whose top bits, sampled a few times a second,
//! drive the LEDs. Everything runs on the board's clock.
//!
//! The software model ([`lfsr_step`], [`stimulus_masks`], [`misr_step`],
//! [`expected_signatures`]) is the same machine, so a simulation of the
//! wrapper can be checked bit for bit.

use crate::generator::render::Rendered;
use crate::model::golden::Golden;
use crate::rtl::{BinOp, Const, Dir, Expr, Module, SigKind};
use crate::spec::params::DesignParams;
use crate::util::bits::BitVec;
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

/// The top module the flows synthesise.
pub const WRAPPER_TOP: &str = "board_top";

/// Width of the stimulus LFSR and the rotations that expand it.
const LFSR_BITS: u32 = 64;
/// Taps of x^64 + x^63 + x^61 + x^60 + 1, maximal length (Xilinx XAPP 052).
const LFSR_TAPS: [u32; 4] = [63, 62, 60, 59];
/// Any state but zero (the XOR LFSR's lock-up state).
pub const LFSR_SEED: u64 = 0x9e37_79b9_7f4a_7c15;
pub const MISR_BITS: u32 = 32;
/// Galois taps of x^32 + x^22 + x^2 + x + 1 for a right-shifting register.
const MISR_POLY: u32 = 0x8020_0003;
/// The reset lasts POR_CYCLES cycles after configuration.
const POR_CYCLES: u32 = 15;

/// Distinct input bits the expansion can make: XORs of 2, 3 or 4 of 64 bits.
const MAX_STIMULUS_BITS: usize = 2016 + 41664 + 635376;

/// A group of stimulus bits: bit p is the XOR of LFSR bits (p + d) mod 64
/// over the offsets d, for p below `width`.
struct Group {
    offsets: Vec<u32>,
    width: u32,
}

/// Which offset sets feed the first `width` input bits. Sets are taken in
/// order of size and then lexicographically, each only in its smallest
/// rotation and only for as many bits as it has distinct rotations, so every
/// input bit is a different XOR of LFSR bits.
fn stimulus_groups(width: usize) -> Result<Vec<Group>, String> {
    if width > MAX_STIMULUS_BITS {
        return Err(format!(
            "the design has {width} data input bits; board_top can drive at most {MAX_STIMULUS_BITS}, \
             far more than fits on any of the boards"
        ));
    }
    let mut groups = vec![];
    let mut remaining = width;
    let mut take = |offsets: &[u32]| {
        let mask = offsets.iter().fold(0u64, |m, &d| m | 1 << d);
        let period = (1..=LFSR_BITS).find(|&r| mask.rotate_left(r) == mask).unwrap();
        let is_smallest = (0..LFSR_BITS).all(|r| mask.rotate_left(r) >= mask);
        if is_smallest && remaining > 0 {
            let w = (period as usize).min(remaining);
            remaining -= w;
            groups.push(Group { offsets: offsets.to_vec(), width: w as u32 });
        }
        remaining > 0
    };
    'sizes: for size in 2..=4 {
        let mut offsets = vec![0];
        if !for_each_subset(&mut offsets, 1, size, &mut take) {
            break 'sizes;
        }
    }
    Ok(groups)
}

/// Calls `f` on every extension of `offsets` to `size` elements drawn
/// increasingly from `from..64`; stops (returns false) when `f` does.
fn for_each_subset(offsets: &mut Vec<u32>, from: u32, size: usize, f: &mut impl FnMut(&[u32]) -> bool) -> bool {
    if offsets.len() == size {
        return f(offsets);
    }
    for d in from..LFSR_BITS {
        offsets.push(d);
        let more = for_each_subset(offsets, d + 1, size, f);
        offsets.pop();
        if !more {
            return false;
        }
    }
    true
}

/// Which LFSR bits make each of the first `width` stimulus bits (bit i of
/// a mask is LFSR bit i).
pub fn stimulus_masks(width: usize) -> Result<Vec<u64>, String> {
    let mut masks = Vec::with_capacity(width);
    for g in stimulus_groups(width)? {
        let mask = g.offsets.iter().fold(0u64, |m, &d| m | 1 << d);
        masks.extend((0..g.width).map(|p| mask.rotate_left(p)));
    }
    Ok(masks)
}

/// The stimulus bits for one LFSR state.
pub fn stimulus(state: u64, masks: &[u64]) -> BitVec {
    BitVec::from_fn(masks.len(), |i| (state & masks[i]).count_ones() % 2 == 1)
}

/// The LFSR's next state: shifts left, the taps' XOR enters at bit 0.
pub fn lfsr_step(state: u64) -> u64 {
    let feedback = LFSR_TAPS.iter().fold(0, |acc, &t| acc ^ (state >> t)) & 1;
    (state << 1) | feedback
}

/// The MISR's next state after folding in `data`.
pub fn misr_step(signature: u32, data: u32) -> u32 {
    let feedback = if signature & 1 == 1 { MISR_POLY } else { 0 };
    (signature >> 1) ^ feedback ^ data
}

/// An output folded to the MISR's width: the XOR of its 32-bit chunks.
pub fn fold_output(y: &BitVec) -> u32 {
    (0..y.len()).filter(|&i| y.get(i)).fold(0, |acc, i| acc ^ (1 << (i % MISR_BITS as usize)))
}

/// The signature after each of the first `count` valid results of the
/// design in `board_top`: result k is computed from the stimulus of the
/// k-th LFSR state after the seed.
pub fn expected_signatures(params: &DesignParams, count: usize) -> Result<Vec<u32>, String> {
    let ports = params.input_ports();
    let masks = stimulus_masks(ports.iter().map(|p| p.width).sum())?;
    let golden = Golden::new(params);
    let (mut state, mut signature) = (LFSR_SEED, 0u32);
    let mut signatures = Vec::with_capacity(count);
    for _ in 0..count {
        let stim = stimulus(state, &masks);
        let mut lo = 0;
        let inputs: Vec<BitVec> = ports
            .iter()
            .map(|p| {
                lo += p.width;
                BitVec::from_fn(p.width, |i| stim.get(lo - p.width + i))
            })
            .collect();
        signature = misr_step(signature, fold_output(&golden.eval_bits(&inputs)));
        signatures.push(signature);
        state = lfsr_step(state);
    }
    Ok(signatures)
}

/// The wrapper for one board.
#[derive(Clone, Copy, Debug)]
pub struct Wrapper {
    pub board: Board,
    /// The LEDs show a new sample of the signature every 2^led_hold_log2 cycles.
    pub led_hold_log2: u32,
}

impl Wrapper {
    /// The wrapper the flows build: the LEDs change about three times a second.
    pub fn new(board: Board) -> Wrapper {
        let cycles_per_sample = board.info().clock_mhz * 1e6 / 4.0;
        Wrapper { board, led_hold_log2: cycles_per_sample.log2().ceil() as u32 }
    }

    /// The design's Verilog, `board_top.v` and the board's constraint file.
    pub fn files(&self, rendered: &Rendered) -> Result<Vec<(String, String)>, String> {
        self.files_around(rendered.generated.design.top_module(), rendered.verilog())
    }

    /// [`Wrapper::files`] for any design with a generated top's ports:
    /// `interface` gives its name and ports, `verilog` its files.
    pub fn files_around(
        &self,
        interface: &Module,
        mut verilog: Vec<(String, String)>,
    ) -> Result<Vec<(String, String)>, String> {
        let top = self.module(interface)?;
        let mut files = std::mem::take(&mut verilog);
        files.push((format!("{WRAPPER_TOP}.v"), crate::backend::verilog::emit_module(&top)));
        let info = self.board.info();
        files.push((info.constraint_file.to_string(), info.constraints.to_string()));
        Ok(files)
    }

    /// The Verilog files of [`Wrapper::files`] in read order, `board_top.v` last.
    pub fn verilog_files(rendered: &Rendered) -> Vec<String> {
        let mut files = rendered.verilog_files();
        files.push(format!("{WRAPPER_TOP}.v"));
        files
    }

    /// `board_top` around `design` (the design's top module).
    pub fn module(&self, design: &Module) -> Result<Module, String> {
        let info = self.board.info();
        if !(1..=32).contains(&self.led_hold_log2) {
            return Err(format!("led_hold_log2 {} is out of range 1..=32", self.led_hold_log2));
        }
        let interface = Interface::of(design)?;
        let mut m = Module::new(WRAPPER_TOP);
        let clk = m.clock_input();
        let led = m.port("led", Dir::Out, info.leds, false);
        let rst = power_on_reset(&mut m);
        let seed = Const::from_u128(LFSR_BITS, LFSR_SEED.into());
        let lfsr = feedback_reg(&mut m, "lfsr", LFSR_BITS, Some(seed), |_, s| lfsr_next(s));
        let stim = stimulus_wire(&mut m, &lfsr, interface.data_width)?;
        let (out_valid, y) = instantiate(&mut m, design, &interface, (clk, rst), stim);
        let signature = misr(&mut m, &out_valid, &y);
        let shown = led_sample(&mut m, &signature, info.leds, self.led_hold_log2);
        m.drive(&led, if info.leds_active_low { Expr::invert(shown) } else { shown });
        Ok(m)
    }
}

/// The design's interface as the wrapper needs it (SPEC section 4).
struct Interface {
    /// All data inputs together.
    data_width: usize,
    y_width: u32,
}

impl Interface {
    fn of(design: &Module) -> Result<Interface, String> {
        let (mut controls, mut data_width, mut y_width) = (0, 0, 0);
        for s in design.port_signals() {
            let SigKind::Port(dir) = s.kind else { unreachable!("port_signals yields ports") };
            match (s.name.as_str(), dir) {
                ("clk" | "rst" | "in_valid", Dir::In) | ("out_valid", Dir::Out) if s.width == 1 => controls += 1,
                ("y", Dir::Out) => y_width = s.width,
                (_, Dir::In) => data_width += s.width as usize,
                (name, Dir::Out) => {
                    return Err(format!("{}: board_top does not know what to do with output {name}", design.name));
                }
            }
        }
        if controls != 4 || y_width == 0 {
            return Err(format!("{}: not a generated top module (clk, rst, in_valid, out_valid, y)", design.name));
        }
        Ok(Interface { data_width, y_width })
    }
}

/// The design's instance: clock and reset, `in_valid` high, data inputs
/// from consecutive stimulus bits in port order. Returns `out_valid` and `y`.
fn instantiate(
    m: &mut Module,
    design: &Module,
    interface: &Interface,
    (clk, rst): (Expr, Expr),
    stim: Option<Expr>,
) -> (Expr, Expr) {
    let out_valid = m.instance_wire("dut_out_valid", 1);
    let y = m.instance_wire("dut_y", interface.y_width);
    let mut data_lo = 0;
    let connections = design
        .port_signals()
        .map(|s| {
            let expr = match s.name.as_str() {
                "clk" => clk.clone(),
                "rst" => rst.clone(),
                "in_valid" => one(),
                "out_valid" => out_valid.clone(),
                "y" => y.clone(),
                _ => {
                    data_lo += s.width;
                    stim.as_ref().expect("data inputs have stimulus").slice(data_lo - s.width, s.width)
                }
            };
            (s.name.as_str(), expr)
        })
        .collect();
    m.instance(design, "dut", connections);
    (out_valid, y)
}

fn one() -> Expr {
    Expr::constant(Const::from_u128(1, 1))
}

fn replicate(bit: Expr, width: u32) -> Expr {
    if width == 1 { bit } else { Expr::Repeat { count: width, expr: Box::new(bit) } }
}

/// `sel ? when_true : when_false`, from gates (the RTL has no multiplexer).
fn mux(sel: &Expr, when_true: Expr, when_false: Expr) -> Expr {
    let all = replicate(sel.clone(), when_true.width());
    Expr::bin(
        BinOp::Or,
        Expr::bin(BinOp::And, all.clone(), when_true),
        Expr::bin(BinOp::And, Expr::invert(all), when_false),
    )
}

/// A register whose next value depends on itself. `Module::reg` takes the
/// next value when the register is made, so it goes through a wire that is
/// declared first and driven once the register exists.
fn feedback_reg(
    m: &mut Module,
    name: &str,
    width: u32,
    reset: Option<Const>,
    next: impl FnOnce(&mut Module, &Expr) -> Expr,
) -> Expr {
    let next_wire = m.instance_wire(&format!("{name}_next"), width);
    let q = m.reg(name, next_wire.clone(), reset);
    let value = next(m, &q);
    m.drive(&next_wire, value);
    q
}

/// A shift register that starts at zero on configuration (FPGA flip-flops
/// do) and fills with ones; the reset is high until its last stage is one.
/// It becomes the module's reset, which every register with a reset value
/// uses. No logic between its flip-flops: a counter here was the critical
/// path of fast designs on ECP5.
fn power_on_reset(m: &mut Module) -> Expr {
    let shift = feedback_reg(m, "por_shift", POR_CYCLES, None, |_, s| {
        Expr::concat(vec![s.slice(0, POR_CYCLES - 1), Expr::constant(Const::from_u128(1, 1))])
    });
    let rst = m.wire("rst", Expr::invert(shift.bit(POR_CYCLES - 1)));
    let Expr::Ref { sig, .. } = rst else { unreachable!("a wire is a reference") };
    m.reset = Some(sig);
    rst
}

fn lfsr_next(state: &Expr) -> Expr {
    let feedback = LFSR_TAPS.iter().map(|&t| state.bit(t)).reduce(|a, b| Expr::bin(BinOp::Xor, a, b)).unwrap();
    Expr::concat(vec![state.slice(0, LFSR_BITS - 1), feedback])
}

/// Bits p < width of `lfsr` rotated by d: lfsr[(p + d) mod 64].
fn rotated(lfsr: &Expr, d: u32, width: u32) -> Expr {
    let low = LFSR_BITS - d;
    if width <= low { lfsr.slice(d, width) } else { Expr::concat(vec![lfsr.slice(0, width - low), lfsr.slice(d, low)]) }
}

/// Every data input bit, the first port's at bit 0 (`None` without data inputs).
fn stimulus_wire(m: &mut Module, lfsr: &Expr, width: usize) -> Result<Option<Expr>, String> {
    let groups = stimulus_groups(width)?;
    let parts: Vec<Expr> = groups
        .iter()
        .rev()
        .map(|g| {
            let copies = g.offsets.iter().map(|&d| rotated(lfsr, d, g.width));
            copies.reduce(|a, b| Expr::bin(BinOp::Xor, a, b)).unwrap()
        })
        .collect();
    Ok((!parts.is_empty()).then(|| m.wire("stim", Expr::concat(parts))))
}

/// The signature: on every valid cycle, one MISR step with `y` folded in.
fn misr(m: &mut Module, valid: &Expr, y: &Expr) -> Expr {
    let chunks = (0..y.width().div_ceil(MISR_BITS)).map(|c| {
        let lo = c * MISR_BITS;
        y.slice(lo, MISR_BITS.min(y.width() - lo)).extend(MISR_BITS, false)
    });
    let folded = chunks.reduce(|a, b| Expr::bin(BinOp::Xor, a, b)).unwrap();
    let folded = m.wire("y_folded", folded);
    feedback_reg(m, "signature", MISR_BITS, Some(Const::zeros(MISR_BITS)), |_, s| {
        let shifted = Expr::concat(vec![Expr::zeros(1), s.slice(1, MISR_BITS - 1)]);
        let feedback = Expr::bin(
            BinOp::And,
            replicate(s.bit(0), MISR_BITS),
            Expr::constant(Const::from_u128(MISR_BITS, MISR_POLY.into())),
        );
        let stepped = Expr::bin(BinOp::Xor, Expr::bin(BinOp::Xor, shifted, feedback), folded);
        mux(valid, stepped, s.clone())
    })
}

/// The signature's top `leds` bits, sampled every 2^hold_log2 cycles so
/// that a person can see them change.
fn led_sample(m: &mut Module, signature: &Expr, leds: u32, hold_log2: u32) -> Expr {
    let timer = feedback_reg(m, "led_timer", hold_log2, Some(Const::zeros(hold_log2)), |_, t| {
        Expr::bin(BinOp::Add, t.clone(), Expr::constant(Const::from_u128(hold_log2, 1)))
    });
    let tick = m.wire("led_tick", Expr::reduce_and(timer));
    let top_bits = signature.slice(MISR_BITS - leds, leds);
    feedback_reg(m, "led_state", leds, Some(Const::zeros(leds)), |_, s| mux(&tick, top_bits, s.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn stimulus_bits_are_distinct_xors_of_two_to_four_lfsr_bits() {
        for width in [0, 1, 63, 64, 65, 2016, 2017, 5000] {
            let masks = stimulus_masks(width).unwrap();
            assert_eq!(masks.len(), width);
            assert!(masks.iter().all(|m| (2..=4).contains(&m.count_ones())), "width {width}");
            assert_eq!(masks.iter().collect::<HashSet<_>>().len(), width, "width {width}: a repeated bit");
        }
        // The first 64 bits are the LFSR XOR itself rotated by one.
        assert_eq!(stimulus_masks(64).unwrap()[5], (1 << 5) | (1 << 6));
        assert!(stimulus_masks(MAX_STIMULUS_BITS + 1).is_err());
    }

    #[test]
    fn all_distinct_sets_of_two_to_four_bits_are_reachable() {
        let masks = stimulus_masks(MAX_STIMULUS_BITS).unwrap();
        assert_eq!(masks.iter().collect::<HashSet<_>>().len(), MAX_STIMULUS_BITS);
    }

    /// `a * b` in GF(2)[x] / (x^n + low), elements as bit masks.
    fn gf_mul(mut a: u64, b: u64, low: u64, n: u32) -> u64 {
        let mask = if n == 64 { u64::MAX } else { (1 << n) - 1 };
        let mut product = 0;
        for i in 0..n {
            if (b >> i) & 1 == 1 {
                product ^= a;
            }
            let overflow = (a >> (n - 1)) & 1 == 1;
            a = (a << 1) & mask;
            if overflow {
                a ^= low;
            }
        }
        product
    }

    fn gf_pow_x(mut e: u64, low: u64, n: u32) -> u64 {
        let (mut result, mut base) = (1, 2);
        while e > 0 {
            if e & 1 == 1 {
                result = gf_mul(result, base, low, n);
            }
            base = gf_mul(base, base, low, n);
            e >>= 1;
        }
        result
    }

    /// x has order 2^n - 1, given that number's prime factors.
    fn is_primitive(low: u64, n: u32, factors: &[u64]) -> bool {
        let order = if n == 64 { u64::MAX } else { (1 << n) - 1 };
        assert_eq!(factors.iter().product::<u64>(), order);
        gf_pow_x(order, low, n) == 1 && factors.iter().all(|q| gf_pow_x(order / q, low, n) != 1)
    }

    #[test]
    fn the_lfsr_and_the_misr_have_maximal_length() {
        // The LFSR's recurrence: the new bit is the XOR of the bits 63 - t
        // steps older, so its polynomial is x^64 + sum of x^(63 - t).
        let lfsr_low = LFSR_TAPS.iter().fold(0, |p, &t| p | 1 << (63 - t));
        assert!(is_primitive(lfsr_low, 64, &[3, 5, 17, 257, 641, 65537, 6700417]));
        // A right-shifting Galois mask has bit k for x^(k+1), and the 1.
        let misr_low = (((MISR_POLY & !(1 << 31)) << 1) | 1) as u64;
        assert!(is_primitive(misr_low, 32, &[3, 5, 17, 257, 65537]));
        assert!(!is_primitive(misr_low ^ 2, 32, &[3, 5, 17, 257, 65537]));
        assert_eq!(lfsr_step(1 << 59), 1 | 1 << 60);
        assert_eq!(misr_step(0, 5), 5);
        assert_eq!(misr_step(1, 0), MISR_POLY);
        assert_eq!(fold_output(&BitVec::from_words(40, vec![(1 << 33) | 2])), 0);
    }

    #[test]
    fn boards_parse_by_name() {
        for b in Board::ALL {
            assert_eq!(b.name().parse::<Board>(), Ok(b));
        }
        let e = "nexys".parse::<Board>().unwrap_err();
        assert!(e.contains("icebreaker, hx8k, ulx3s, tangnano9k"), "{e}");
        assert_eq!(Wrapper::new(Board::IceBreaker).led_hold_log2, 22);
    }
}
