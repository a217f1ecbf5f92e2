//! A design on an FPGA board: inside `board_top` (the wrapper that feeds
//! it pseudo-random inputs and shows a signature of its results on the
//! LEDs), through the board's flow, with a report of the resources used
//! and the Fmax reached.

use crate::eda::fpga::{self, FlowOutcome};
use crate::generator::render::Rendered;
use crate::generator::uart_top::{UART_TOP, UartTop};
use crate::generator::wrapper::{WRAPPER_TOP, Wrapper};
use crate::spec::board::Board;
use crate::spec::signature::{Interface, Signature, frames_per_second};
use crate::util::files::write_files;
use serde::Serialize;
use std::fs;
use std::path::Path;
use std::time::Instant;

/// What a flow used and reached.
#[derive(Clone, Debug, Serialize)]
pub struct FpgaReport {
    pub board: Board,
    pub device: &'static str,
    /// The design's top module, inside `board_top`.
    pub design: String,
    /// Data input bits of the design, each fed by one stimulus LUT of the
    /// wrapper (the rest of it is about 60 to 75 LUTs and 130 FFs).
    pub stimulus_bits: usize,
    /// The tools' figures, wrapper included.
    #[serde(flatten)]
    pub outcome: FlowOutcome,
    /// `logic_cells` as a percentage of the device.
    pub utilisation_percent: f64,
    /// The board's clock, which nextpnr was asked to meet.
    pub target_mhz: f64,
    pub timing_met: bool,
    /// A stream design's (an engine's or a network's) rate at Fmax.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream: Option<StreamRate>,
    pub seconds: f64,
}

/// A stream design's steady-state cycles per frame (its signature's) and
/// the frames per second they give at the Fmax reached.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct StreamRate {
    pub cycles_per_frame: u64,
    pub frames_per_second: f64,
}

impl StreamRate {
    fn at(interface: Interface, fmax_mhz: f64) -> Option<StreamRate> {
        match interface {
            Interface::Stream { cycles_per_frame, .. } => {
                Some(StreamRate { cycles_per_frame, frames_per_second: frames_per_second(fmax_mhz, cycles_per_frame) })
            }
            Interface::FixedLatency { .. } => None,
        }
    }
}

/// The report's file name inside the working directory.
pub const REPORT_FILE: &str = "fpga_report.json";

/// A design to place and route: its signature and its Verilog files.
pub struct PnrDesign<'a> {
    pub signature: &'a Signature,
    /// (name, content), in read order.
    pub verilog: Vec<(String, String)>,
}

/// Writes the design, `board_top` and the board's constraints into `work`,
/// builds the bitstream there, and returns the report (also written to
/// `work/fpga_report.json`). Progress goes to stderr.
pub fn pnr(rendered: &Rendered, board: Board, work: &Path) -> Result<FpgaReport, String> {
    pnr_design(&PnrDesign { signature: &rendered.generated.signature, verilog: rendered.verilog() }, board, work)
}

/// [`pnr`] for any design with a signature, such as the hand-written
/// baseline of `mbnn bench`.
pub fn pnr_design(design: &PnrDesign, board: Board, work: &Path) -> Result<FpgaReport, String> {
    let files = Wrapper::new(board).files(design.signature, &design.verilog)?;
    build(design, board, work, (&files, WRAPPER_TOP))
}

/// [`pnr`] for a network behind the UART top ([`UartTop`]) in place of
/// `board_top`.
pub fn pnr_uart(design: &PnrDesign, uart: UartTop, work: &Path) -> Result<FpgaReport, String> {
    let files = uart.files(design.signature, &design.verilog)?;
    build(design, uart.board, work, (&files, UART_TOP))
}

/// Writes `files` (the design's, its top `top` and the constraints) and builds.
fn build(
    design: &PnrDesign,
    board: Board,
    work: &Path,
    (files, top): (&[(String, String)], &str),
) -> Result<FpgaReport, String> {
    let start = Instant::now();
    // A report left by an earlier run must not outlive a failed one.
    match fs::remove_file(work.join(REPORT_FILE)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(format!("cannot remove the old {REPORT_FILE} in {}: {e}", work.display()));
        }
        _ => {}
    }
    write_files(work, files)?;
    // Data files ($readmemh) sit beside the Verilog; Yosys reads only the Verilog.
    let mut verilog: Vec<String> =
        design.verilog.iter().map(|(name, _)| name.clone()).filter(|n| n.ends_with(".v")).collect();
    verilog.push(format!("{top}.v"));
    let outcome = fpga::build_bitstream(board, work, &verilog, top)?;
    let info = board.info();
    let logic = outcome.logic_cells;
    let report = FpgaReport {
        board,
        device: info.device,
        design: design.signature.top.clone(),
        stimulus_bits: design.signature.data_inputs().map(|p| p.width as usize).sum(),
        utilisation_percent: 100.0 * logic.used as f64 / logic.available.max(1) as f64,
        target_mhz: info.clock_mhz,
        timing_met: outcome.fmax_mhz >= info.clock_mhz,
        // Behind the UART top, the baud rate bounds the frames, not the clock.
        stream: StreamRate::at(design.signature.interface, outcome.fmax_mhz).filter(|_| top == WRAPPER_TOP),
        outcome,
        seconds: start.elapsed().as_secs_f64(),
    };
    let mut json = serde_json::to_string_pretty(&report).expect("the report serialises");
    json.push('\n');
    fs::write(work.join(REPORT_FILE), json).map_err(|e| format!("cannot write {REPORT_FILE}: {e}"))?;
    // Progress only: `mbnn pnr` prints the summary as its result, and the
    // studies put the figures in their tables.
    eprintln!("pnr {board}: {} placed and routed in {:.0} s", report.design, report.seconds);
    Ok(report)
}

impl FpgaReport {
    /// One line: the numbers that matter.
    pub fn summary(&self) -> String {
        let o = &self.outcome;
        let rate = self.stream.map_or(String::new(), |r| {
            format!(", {} cycles per frame: {:.0} frames/s at Fmax", r.cycles_per_frame, r.frames_per_second)
        });
        format!(
            "{} on {}: {} LUTs, {} FFs, {} carry, {} BRAM, {}/{} logic cells ({:.1}%), Fmax {:.2} MHz ({} at {} MHz){}, {:.0} s, {}",
            self.design,
            self.board,
            o.luts,
            o.flip_flops,
            o.carry_cells,
            o.block_ram,
            o.logic_cells.used,
            o.logic_cells.available,
            self.utilisation_percent,
            o.fmax_mhz,
            if self.timing_met { "meets" } else { "FAILS" },
            self.target_mhz,
            rate,
            self.seconds,
            o.bitstream.display()
        )
    }
}
