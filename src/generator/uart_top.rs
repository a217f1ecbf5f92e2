//! `uart_top`: a classifier on a board, served over its UART (issue 13).
//!
//! The host sends an image as the byte [`FRAME_MARKER`] then one byte a
//! pixel, in the network's raster order (a pixel's channels packed as
//! SPEC 7 packs them, 7 bits at most); a pixel byte above the input's
//! largest value is clipped to it. The network classifies the image and
//! the transmitter sends the class back as one byte; the class LEDs hold
//! it. The marker also resets the network, so that a host that lost bytes
//! starts the next image clean (SPEC 6.1: a frame partly received when
//! reset comes is dropped). 8 data bits, no parity, one stop bit, least
//! significant bit first.
//!
//! - Receiver: a two-flop synchroniser; a start bit is a low level while
//!   idle, the data bits are sampled 1.5, 2.5, ... bit times after its
//!   falling edge (mid-bit), the stop bit must be high.
//! - One pixel register between the receiver and the network: a byte takes
//!   ten bit times, the network takes a pixel in a few cycles.
//! - Transmitter: loads a 10-bit frame (start, the class, stop) when the
//!   network's class beat moves, which it allows only while idle.
//! - The red LED (active low) lights for good on a stop bit that is low, a
//!   pixel that arrived before the one before it was taken, or an output
//!   beat without `tlast` (every image gives one beat); the green LED
//!   toggles on every answer.
//!
//! iCEBreaker only: its FTDI UART (pins 6 and 9), its two LEDs and the
//! five LEDs of its PMOD break-off board.

use super::build::{and, feedback_reg, or};
use super::wrapper::{port_stub, power_on_reset, stream_connections};
use crate::rtl::{BinOp, Comparison, Const, Dir, Expr, Module};
use crate::spec::board::Board;
use crate::spec::signature::{Role, Signature};

pub const UART_TOP: &str = "uart_top";
/// Starts an image; a pixel is never this byte (pixels have at most 7 bits).
pub const FRAME_MARKER: u8 = 0xff;
/// The class LEDs (LED1..LED5 of the PMOD break-off board): the class's low bits.
pub const CLASS_LEDS: u32 = 5;
/// A UART tolerates a few percent of mismatch between the two ends' baud rates.
const MAX_BAUD_ERROR: f64 = 0.02;
/// Fewer clocks a bit leave the mid-bit sample too little room.
const MIN_CLOCKS_PER_BIT: u32 = 4;

/// The iCEBreaker's pins for this top; no inline comments (icetime -p).
const ICEBREAKER_PCF: &str = "\
# iCEBreaker (iCE40 UP5K, sg48) for uart_top: 12 MHz clock, the FTDI UART,
# red and green LEDs (active low), LED1..LED5 of the PMOD break-off board.
set_io clk 35
set_io rx 6
set_io tx 9
set_io led_n[0] 11
set_io led_n[1] 37
set_io led_class[0] 26
set_io led_class[1] 27
set_io led_class[2] 25
set_io led_class[3] 23
set_io led_class[4] 21
";

/// A network behind a UART on a board, at a baud rate.
#[derive(Clone, Copy, Debug)]
pub struct UartTop {
    pub board: Board,
    pub baud: u32,
}

impl UartTop {
    /// Checks that the board has this top and that its clock makes the baud rate.
    pub fn new(board: Board, baud: u32) -> Result<UartTop, String> {
        if board != Board::IceBreaker {
            return Err(format!("--uart: the UART top has pins for icebreaker only, not {board}"));
        }
        let clock = board.info().clock_mhz * 1e6;
        let top = UartTop { board, baud };
        let highest = (clock / f64::from(MIN_CLOCKS_PER_BIT)) as u32;
        if !(300..=highest).contains(&baud) {
            return Err(format!(
                "--uart {baud} is out of range: the baud rate must be 300..={highest} on {board} ({} MHz, at least {MIN_CLOCKS_PER_BIT} clocks a bit)",
                board.info().clock_mhz
            ));
        }
        let actual = clock / f64::from(top.clocks_per_bit());
        if (actual - f64::from(baud)).abs() > MAX_BAUD_ERROR * f64::from(baud) {
            return Err(format!(
                "--uart {baud}: the {} MHz clock gives {actual:.0} baud, more than {}% off; choose a rate nearer a divisor of the clock (115200, 1000000, 3000000)",
                board.info().clock_mhz,
                MAX_BAUD_ERROR * 100.0
            ));
        }
        Ok(top)
    }

    pub fn clocks_per_bit(&self) -> u32 {
        (self.board.info().clock_mhz * 1e6 / f64::from(self.baud)).round() as u32
    }

    /// The network's Verilog files (in read order), then `uart_top.v` and
    /// the board's constraint file for it (under the board's usual name).
    pub fn files(&self, network: &Signature, verilog: &[(String, String)]) -> Result<Vec<(String, String)>, String> {
        let top = self.module(network)?;
        let mut files = verilog.to_vec();
        files.push((format!("{UART_TOP}.v"), crate::backend::verilog::emit_module(&top)));
        files.push((self.board.info().constraint_file.to_string(), ICEBREAKER_PCF.to_string()));
        Ok(files)
    }

    /// `uart_top` around the network with this signature.
    pub fn module(&self, network: &Signature) -> Result<Module, String> {
        let pixel_bits = input_pixel_bits(network)?;
        let class_bits = network.port(Role::OutStreamData).map_or(0, |p| p.width);
        if class_bits == 0 || class_bits > 8 {
            return Err(format!(
                "{}: the UART top sends the class as one byte, the network's output beat is {class_bits} bits: give it \"output\": \"argmax\" with at most 256 classes",
                network.top
            ));
        }
        let mut m = Module::new(UART_TOP);
        let clk = m.clock_input();
        let rx = m.input("rx", 1);
        let tx = m.port("tx", Dir::Out, 1, false);
        let led_n = m.port("led_n", Dir::Out, 2, false);
        let led_class = m.port("led_class", Dir::Out, CLASS_LEDS, false);
        let rst = power_on_reset(&mut m);
        let cpb = self.clocks_per_bit();
        let received = receiver(&mut m, rx, cpb);

        // The marker: restart the network; a pixel byte: into the pixel register.
        let marker_byte = Expr::compare(Comparison::Eq, received.byte.clone(), byte(FRAME_MARKER.into()));
        let marker = m.wire("marker", and(received.valid.clone(), marker_byte.clone()));
        let pixel_byte = m.wire("pixel_byte", and(received.valid.clone(), Expr::invert(marker_byte)));
        let marker_q = m.reg("marker_q", marker.clone(), Some(Const::zeros(1)));
        let net_rst = m.wire("net_rst", or(rst, marker_q));
        let largest = (1u64 << pixel_bits) - 1;
        let clipped = Expr::mux(
            Expr::compare(Comparison::Gt, received.byte.clone(), byte(largest)),
            Expr::constant(Const::from_u128(pixel_bits, largest.into())),
            received.byte.slice(0, pixel_bits),
        );
        let pixel = m.reg_en("pixel", clipped, pixel_byte.clone(), None);
        let in_ready = m.instance_wire("net_in_ready", 1);
        let pixel_valid = feedback_reg(&mut m, "pixel_valid", 1, Some(Const::zeros(1)), |_, v| {
            let waiting = and(v.clone(), Expr::invert(in_ready.clone()));
            Expr::mux(marker.clone(), Expr::zeros(1), or(pixel_byte.clone(), waiting))
        });
        let overrun =
            m.wire("overrun", and(and(pixel_byte.clone(), pixel_valid.clone()), Expr::invert(in_ready.clone())));

        // The network; its class beat moves while the transmitter is idle.
        let out_valid = m.instance_wire("net_out_valid", 1);
        let class = m.instance_wire("net_class", class_bits);
        let out_last = m.instance_wire("net_out_last", 1);
        let tx_idle = m.instance_wire("tx_idle", 1);
        let wires = [
            clk,
            net_rst,
            pixel,
            pixel_valid.clone(),
            in_ready.clone(),
            class.clone(),
            out_valid.clone(),
            tx_idle.clone(),
            out_last.clone(),
        ];
        m.instance(&port_stub(network), "network", stream_connections(network, wires, UART_TOP)?);
        let answer = m.wire("answer", and(out_valid, tx_idle.clone()));
        let idle = transmitter(&mut m, &tx, answer.clone(), class.clone().extend(8, false), cpb);
        m.drive(&tx_idle, idle);

        // The LEDs.
        let no_last = and(answer.clone(), Expr::invert(out_last));
        let fault = or(or(received.bad_stop, overrun), no_last);
        let error = feedback_reg(&mut m, "error", 1, Some(Const::zeros(1)), |_, e| or(e.clone(), fault));
        let toggle = feedback_reg(&mut m, "answered", 1, Some(Const::zeros(1)), |_, t| {
            Expr::bin(BinOp::Xor, t.clone(), answer.clone())
        });
        let shown = if class_bits >= CLASS_LEDS { class.slice(0, CLASS_LEDS) } else { class.extend(CLASS_LEDS, false) };
        let held = m.reg_en("class_shown", shown, answer, Some(Const::zeros(CLASS_LEDS)));
        m.drive(&led_class, held);
        m.drive(&led_n, Expr::invert(Expr::concat(vec![toggle, error])));
        Ok(m)
    }
}

/// The pixel width the UART top can feed: a pixel (its `s_axis_tdata`, all
/// channels packed as SPEC 7 packs them) of at most 7 bits in one byte.
fn input_pixel_bits(network: &Signature) -> Result<u32, String> {
    let width = network.port(Role::InStreamData).map_or(0, |p| p.width);
    if !(1..=7).contains(&width) {
        return Err(format!(
            "{}: the UART top sends a pixel a byte, 1..=7 bits with its channels (0xff marks an image), the network reads {width}-bit pixels",
            network.top
        ));
    }
    Ok(width)
}

fn byte(value: u64) -> Expr {
    Expr::constant(Const::from_u128(8, value.into()))
}

fn constant(width: u32, value: u32) -> Expr {
    Expr::constant(Const::from_u128(width, value.into()))
}

/// The bits of a counter that holds `0..=max`.
fn counter_bits(max: u32) -> u32 {
    (32 - max.leading_zeros()).max(1)
}

/// What the receiver gives: a byte for one cycle, and a stop bit that was low.
struct Received {
    valid: Expr,
    byte: Expr,
    bad_stop: Expr,
}

/// The receiver: `cpb` clocks a bit.
fn receiver(m: &mut Module, rx: Expr, cpb: u32) -> Received {
    let one = Some(Const::from_u128(1, 1));
    let meta = m.reg("rx_meta", rx, one.clone());
    let line = m.reg("rx_sync", meta, one);
    // The middle of data bit 0 is 1.5 bits after the start bit's edge,
    // which the synchroniser shows 2 cycles late.
    let first_sample = cpb + cpb / 2 - 3;
    let cw = counter_bits(first_sample);
    let busy = m.instance_wire("rx_busy_next", 1);
    let busy_q = m.reg("rx_busy", busy.clone(), Some(Const::zeros(1)));
    let count_next = m.instance_wire("rx_count_next", cw);
    let count = m.reg("rx_count", count_next.clone(), Some(Const::zeros(cw)));
    let index_next = m.instance_wire("rx_index_next", 4);
    let index = m.reg("rx_index", index_next.clone(), Some(Const::zeros(4)));
    let start = m.wire("rx_start", and(Expr::invert(busy_q.clone()), Expr::invert(line.clone())));
    let tick = m.wire("rx_tick", and(busy_q.clone(), Expr::compare(Comparison::Eq, count.clone(), constant(cw, 0))));
    let at_stop = m.wire("rx_at_stop", and(tick.clone(), Expr::compare(Comparison::Eq, index.clone(), constant(4, 8))));
    m.drive(&busy, Expr::mux(start.clone(), constant(1, 1), and(busy_q.clone(), Expr::invert(at_stop.clone()))));
    let counting = Expr::mux(busy_q, Expr::bin(BinOp::Sub, count.clone(), constant(cw, 1)), count);
    let reload = Expr::mux(tick.clone(), constant(cw, cpb - 1), counting);
    m.drive(&count_next, Expr::mux(start.clone(), constant(cw, first_sample), reload));
    let stepped = Expr::mux(tick.clone(), Expr::bin(BinOp::Add, index.clone(), constant(4, 1)), index.clone());
    m.drive(&index_next, Expr::mux(start, constant(4, 0), stepped));
    let data_bit = and(tick, Expr::compare(Comparison::Lt, index, constant(4, 8)));
    let shift = feedback_reg(m, "rx_shift", 8, None, |_, s| {
        Expr::mux(data_bit, Expr::concat(vec![line.clone(), s.slice(1, 7)]), s.clone())
    });
    let valid = m.reg("rx_valid", and(at_stop.clone(), line.clone()), Some(Const::zeros(1)));
    let bad_stop = m.wire("rx_bad_stop", and(at_stop, Expr::invert(line)));
    Received { valid, byte: shift, bad_stop }
}

/// The transmitter: loads `data` when `load`, drives `tx` (a register,
/// high when idle); returns whether it is idle.
fn transmitter(m: &mut Module, tx: &Expr, load: Expr, data: Expr, cpb: u32) -> Expr {
    let cw = counter_bits(cpb - 1);
    let busy_next = m.instance_wire("tx_busy_next", 1);
    let busy = m.reg("tx_busy", busy_next.clone(), Some(Const::zeros(1)));
    let count_next = m.instance_wire("tx_count_next", cw);
    let count = m.reg("tx_count", count_next.clone(), Some(Const::zeros(cw)));
    let index_next = m.instance_wire("tx_index_next", 4);
    let index = m.reg("tx_index", index_next.clone(), Some(Const::zeros(4)));
    let shift_next = m.instance_wire("tx_shift_next", 10);
    let shift = m.reg("tx_shift", shift_next.clone(), Some(Const::from_u128(10, 0x3ff)));
    let tick = m.wire("tx_tick", and(busy.clone(), Expr::compare(Comparison::Eq, count.clone(), constant(cw, 0))));
    let done = and(tick.clone(), Expr::compare(Comparison::Eq, index.clone(), constant(4, 9)));
    m.drive(&busy_next, Expr::mux(load.clone(), constant(1, 1), and(busy.clone(), Expr::invert(done))));
    let counting = Expr::mux(busy.clone(), Expr::bin(BinOp::Sub, count.clone(), constant(cw, 1)), count);
    let reload = or(load.clone(), tick.clone());
    m.drive(&count_next, Expr::mux(reload, constant(cw, cpb - 1), counting));
    let stepped = Expr::mux(tick.clone(), Expr::bin(BinOp::Add, index.clone(), constant(4, 1)), index);
    m.drive(&index_next, Expr::mux(load.clone(), constant(4, 0), stepped));
    // Stop bit, data, start bit: bit 0 goes out first.
    let frame = Expr::concat(vec![constant(1, 1), data, constant(1, 0)]);
    let shifted = Expr::concat(vec![constant(1, 1), shift.slice(1, 9)]);
    m.drive(&shift_next, Expr::mux(load, frame, Expr::mux(tick, shifted, shift)));
    let line = Expr::mux(busy_next, shift_next.bit(0), constant(1, 1));
    let tx_q = m.reg("tx_line", line, Some(Const::from_u128(1, 1)));
    m.drive(tx, tx_q);
    Expr::invert(busy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_baud_rate_must_come_from_the_clock() {
        assert_eq!(UartTop::new(Board::IceBreaker, 115_200).unwrap().clocks_per_bit(), 104);
        assert_eq!(UartTop::new(Board::IceBreaker, 1_000_000).unwrap().clocks_per_bit(), 12);
        let e = UartTop::new(Board::IceBreaker, 2_500_000).unwrap_err();
        assert!(e.contains("gives 2400000 baud, more than 2% off"), "{e}");
        let e = UartTop::new(Board::IceBreaker, 4_000_000).unwrap_err();
        assert!(e.starts_with("--uart 4000000 is out of range: the baud rate must be 300..=3000000"), "{e}");
        assert!(UartTop::new(Board::Ulx3s, 115_200).unwrap_err().contains("icebreaker only"));
    }
}
