//! `board_top`, the wrapper that puts a generated design on a board.
//!
//! A design has far more data inputs than a board has pins, so the wrapper
//! makes them on chip. A 64-bit maximal-length LFSR is expanded to every
//! data input bit by XORing rotated copies of itself: each input bit is the
//! XOR of its own set of two to four LFSR bits, so it costs one LUT in front
//! of the design's input register, and no two input bits are equal or
//! complementary, so synthesis cannot merge or drop any of them. A
//! fixed-latency design gets a new input every cycle (`in_valid` held
//! high); a stream design gets LFSR pixels with stalls on both sides. A
//! power-on shift register makes the reset, and every result (`y`, or each
//! output beat with its `tlast`) is folded into a 32-bit MISR whose top
//! bits, sampled a few times a second, drive the LEDs. Everything runs on
//! the board's clock.
//!
//! The software model ([`lfsr_step`], [`stimulus_masks`], [`misr_step`],
//! and `model::wrapper::expected_signatures`) is the same machine, so a
//! simulation of the wrapper can be checked bit for bit.

use super::build::feedback_reg;
use crate::rtl::{BinOp, Const, Dir, Expr, Module};
use crate::spec::board::Board;
use crate::spec::signature::{Interface, Role, STREAM_ROLES, Signature};
use crate::util::bits::BitVec;

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

    /// The design's Verilog files (in read order), then `board_top.v` and
    /// the board's constraint file.
    pub fn files(&self, design: &Signature, verilog: &[(String, String)]) -> Result<Vec<(String, String)>, String> {
        let top = self.module(design)?;
        let mut files = verilog.to_vec();
        files.push((format!("{WRAPPER_TOP}.v"), crate::backend::verilog::emit_module(&top)));
        let info = self.board.info();
        files.push((info.constraint_file.to_string(), info.constraints.to_string()));
        Ok(files)
    }

    /// `board_top` around the design with this signature.
    pub fn module(&self, design: &Signature) -> Result<Module, String> {
        let info = self.board.info();
        if !(1..=32).contains(&self.led_hold_log2) {
            return Err(format!("led_hold_log2 {} is out of range 1..=32", self.led_hold_log2));
        }
        let mut m = Module::new(WRAPPER_TOP);
        let clk = m.clock_input();
        let led = m.port("led", Dir::Out, info.leds, false);
        let rst = power_on_reset(&mut m);
        let (out_valid, y) = match design.interface {
            Interface::FixedLatency { .. } => fixed_latency_source(&mut m, design, (clk, rst))?,
            Interface::Stream { .. } => stream_source(&mut m, design, (clk, rst))?,
        };
        let signature = misr(&mut m, &out_valid, &y);
        let shown = led_sample(&mut m, &signature, info.leds, self.led_hold_log2);
        m.drive(&led, if info.leds_active_low { Expr::invert(shown) } else { shown });
        Ok(m)
    }
}

/// A fixed-latency design fed a new LFSR stimulus every cycle, `in_valid`
/// high: its `out_valid` and `y`.
fn fixed_latency_source(m: &mut Module, design: &Signature, (clk, rst): (Expr, Expr)) -> Result<(Expr, Expr), String> {
    let data_width = design.data_inputs().map(|p| p.width as usize).sum();
    let seed = Const::from_u128(LFSR_BITS, LFSR_SEED.into());
    let lfsr = feedback_reg(m, "lfsr", LFSR_BITS, Some(seed), |_, s| lfsr_next(s));
    let stim = stimulus_wire(m, &lfsr, data_width)?;
    instantiate(m, design, (clk, rst), stim)
}

/// Width of the pacing LFSR that stalls the stream on both sides.
const PACE_BITS: u32 = 16;
/// Taps of x^16 + x^15 + x^13 + x^4 + 1, maximal length (Xilinx XAPP 052).
const PACE_TAPS: [u32; 4] = [15, 14, 12, 3];
const PACE_SEED: u16 = 0xace1;

/// A stream design fed LFSR pixels in order, the source pausing and the
/// sink refusing on about one cycle in four each (from a free-running
/// pacing LFSR), as SPEC 6.1 allows: the source holds a pixel until it
/// moves, and the pixel LFSR steps only when one does. Returns the output
/// beat's `valid & ready` and its `{tlast, tdata}`: the signature folds in
/// every beat that moves, so it does not depend on the stalls.
fn stream_source(m: &mut Module, design: &Signature, (clk, rst): (Expr, Expr)) -> Result<(Expr, Expr), String> {
    let width = design.port(Role::InStreamData).map_or(0, |p| p.width as usize);
    let pace_seed = Const::from_u128(PACE_BITS, PACE_SEED.into());
    let pace = feedback_reg(m, "pace", PACE_BITS, Some(pace_seed), |_, s| {
        let feedback = PACE_TAPS.iter().map(|&t| s.bit(t)).reduce(|a, b| Expr::bin(BinOp::Xor, a, b)).unwrap();
        Expr::concat(vec![s.slice(0, PACE_BITS - 1), feedback])
    });
    let in_ready = m.instance_wire("dut_in_ready", 1);
    let offering = m.instance_wire("offering_next", 1);
    let valid = m.reg("offering", offering.clone(), Some(Const::zeros(1)));
    let in_fire = m.wire("in_fire", Expr::bin(BinOp::And, valid.clone(), in_ready.clone()));
    // Offer on three cycles in four; once offered, hold until taken.
    let wants = Expr::reduce_or(pace.slice(0, 2));
    let held = Expr::bin(BinOp::And, valid.clone(), Expr::invert(in_ready.clone()));
    m.drive(&offering, Expr::bin(BinOp::Or, held, wants));
    let seed = Const::from_u128(LFSR_BITS, LFSR_SEED.into());
    let lfsr = super::build::feedback_reg_en(m, "lfsr", LFSR_BITS, in_fire, Some(seed), |_, s| lfsr_next(s));
    let pixel = stimulus_wire(m, &lfsr, width)?.ok_or_else(|| format!("{}: no stream input", design.top))?;
    let ready = m.wire("sink_ready", Expr::reduce_or(pace.slice(2, 2)));
    let out_valid = m.instance_wire("dut_out_valid", 1);
    let out_width = design.port(Role::OutStreamData).map_or(1, |p| p.width);
    let out_data = m.instance_wire("dut_out_data", out_width);
    let out_last = m.instance_wire("dut_out_last", 1);
    let wires =
        [clk, rst, pixel, valid, in_ready, out_data.clone(), out_valid.clone(), ready.clone(), out_last.clone()];
    m.instance(&port_stub(design), "dut", stream_connections(design, wires, WRAPPER_TOP)?);
    let out_fire = m.wire("out_fire", Expr::bin(BinOp::And, out_valid, ready));
    let beat = m.wire("out_beat", Expr::concat(vec![out_last, out_data]));
    Ok((out_fire, beat))
}

/// A stream design's connections (SPEC 6.1), its ports' expressions in
/// [`STREAM_ROLES`] order: clock, reset, input data, valid and ready,
/// output data, valid, ready and last. `by` names the top for an error
/// about a port of any other role.
pub(crate) fn stream_connections<'d>(
    design: &'d Signature,
    wires: [Expr; 9],
    by: &str,
) -> Result<Vec<(&'d str, Expr)>, String> {
    design
        .ports
        .iter()
        .map(|p| match STREAM_ROLES.iter().position(|r| *r == p.role) {
            Some(i) => Ok((p.name.as_str(), wires[i].clone())),
            None => Err(format!("{}: {by} does not know what to do with {:?} port {}", design.top, p.role, p.name)),
        })
        .collect()
}

/// A module with the design's ports and no body: what an instance checks
/// its connections against.
pub(crate) fn port_stub(design: &Signature) -> Module {
    let mut m = Module::new(&design.top);
    for p in &design.ports {
        m.port(&p.name, p.dir, p.width, p.signed);
    }
    m
}

/// The design's instance: clock and reset, `in_valid` high, data inputs
/// from consecutive stimulus bits in port order. Returns `out_valid` and `y`.
fn instantiate(
    m: &mut Module,
    design: &Signature,
    (clk, rst): (Expr, Expr),
    stim: Option<Expr>,
) -> Result<(Expr, Expr), String> {
    let out_valid = m.instance_wire("dut_out_valid", 1);
    let y_width = design.result().map_or(0, |p| p.width);
    if y_width == 0 {
        return Err(format!("{}: board_top needs a result port", design.top));
    }
    let y = m.instance_wire("dut_y", y_width);
    let mut data_lo = 0;
    let mut connections = vec![];
    for p in &design.ports {
        let expr = match p.role {
            Role::Clock => clk.clone(),
            Role::Reset => rst.clone(),
            Role::InValid => one(),
            Role::OutValid => out_valid.clone(),
            Role::Result => y.clone(),
            Role::Data => {
                data_lo += p.width;
                stim.as_ref().expect("data inputs have stimulus").slice(data_lo - p.width, p.width)
            }
            other => {
                return Err(format!(
                    "{}: board_top does not know what to do with {other:?} port {}",
                    design.top, p.name
                ));
            }
        };
        connections.push((p.name.as_str(), expr));
    }
    m.instance(&port_stub(design), "dut", connections);
    Ok((out_valid, y))
}

fn one() -> Expr {
    Expr::constant(Const::from_u128(1, 1))
}

fn replicate(bit: Expr, width: u32) -> Expr {
    if width == 1 { bit } else { Expr::Repeat { count: width, expr: Box::new(bit) } }
}

/// A shift register that starts at zero on configuration (FPGA flip-flops
/// do) and fills with ones; the reset is high until its last stage is one.
/// It becomes the module's reset, which every register with a reset value
/// uses. No logic between its flip-flops: a counter here was the critical
/// path of fast designs on ECP5.
pub(crate) fn power_on_reset(m: &mut Module) -> Expr {
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
        Expr::mux(valid.clone(), stepped, s.clone())
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
    feedback_reg(m, "led_state", leds, Some(Const::zeros(leds)), |_, s| Expr::mux(tick, top_bits, s.clone()))
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
    fn leds_change_a_few_times_a_second() {
        assert_eq!(Wrapper::new(Board::IceBreaker).led_hold_log2, 22);
    }
}
