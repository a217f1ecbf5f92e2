//! The board wrapper and the FPGA flows: `board_top` lints clean with the
//! design, drives it in simulation exactly as its software model says, and
//! real bitstreams come out of the open tools. iCE40 runs by default; the
//! ECP5 and Gowin flows take minutes and run with `--ignored`.

use mbnn::eda::fpga::{FpgaReport, REPORT_FILE, pnr};
use mbnn::generator::render::{Rendered, render};
use mbnn::measure::boards::{Board, MISR_BITS, WRAPPER_TOP, Wrapper, expected_signatures};
use std::path::Path;
use std::process::Command;

fn rendered(flags: &str) -> Rendered {
    render(mbnn::verify::sweep::parse_flags(flags).and_then(|a| a.to_params()).expect("valid flags"))
}

/// Writes the design and its wrapper; returns the Verilog files in read order.
fn write_wrapped(r: &Rendered, wrapper: &Wrapper, dir: &Path) -> Vec<String> {
    std::fs::create_dir_all(dir).unwrap();
    for (name, text) in wrapper.files(r).unwrap() {
        std::fs::write(dir.join(name), text).unwrap();
    }
    Wrapper::verilog_files(r)
}

const DESIGNS: [&str; 5] = [
    "--block xnor_pe --len 64",
    "--k 2 --len 32",
    "--k 3 --len 7 --shared-input --weights const --pipeline 1",
    "--block pa --m 2 --n 3 --len 5",
    "--block mac --bits 4 --len 3",
];

#[test]
fn the_wrapper_lints_clean_with_every_kind_of_design_on_every_board() {
    let work = tempfile::tempdir().unwrap();
    for flags in DESIGNS {
        for board in Board::ALL {
            let r = rendered(flags);
            let dir = work.path().join(format!("{}_{board}", r.params.top));
            let files = write_wrapped(&r, &Wrapper::new(board), &dir);
            mbnn::eda::verilator::lint(&dir, &files, WRAPPER_TOP).unwrap_or_else(|e| panic!("{flags} on {board}: {e}"));
            mbnn::eda::iverilog::check(&dir, &files, WRAPPER_TOP).unwrap_or_else(|e| panic!("{flags}: {e}"));
        }
    }
}

#[test]
fn a_design_too_wide_for_the_stimulus_is_refused_in_one_line() {
    let r = rendered("--k 64 --len 65536");
    let e = Wrapper::new(Board::Ulx3s).files(&r).unwrap_err();
    assert!(e.contains("data input bits") && !e.contains('\n'), "{e}");
}

/// Runs board_top on a clock; the board's flip-flops start at zero, so the
/// power-on shift register does too. Prints, after every rising edge, the design's
/// out_valid, the signature and the LEDs.
const TESTBENCH: &str = "`timescale 1ns/1ps
module tb;
    parameter LEDS = 2;
    parameter CYCLES = 100;
    reg clk = 1'b0;
    wire [LEDS-1:0] led;
    integer cycle;
    board_top top (.clk(clk), .led(led));
    initial begin
        top.por_shift = 0;
        for (cycle = 0; cycle < CYCLES; cycle = cycle + 1) begin
            #5 clk = 1'b1;
            #1 $display(\"%b %h %b\", top.dut_out_valid, top.signature, led);
            #4 clk = 1'b0;
        end
        $finish;
    end
endmodule
";

struct Trace {
    valid: Vec<bool>,
    signature: Vec<u32>,
    led: Vec<u32>,
}

fn simulate(dir: &Path, files: &[String], leds: u32, cycles: usize) -> Trace {
    std::fs::write(dir.join("tb.v"), TESTBENCH).unwrap();
    let out = Command::new("iverilog")
        .current_dir(dir)
        .args(["-g2001", "-o", "tb.vvp", "-s", "tb"])
        .arg(format!("-Ptb.LEDS={leds}"))
        .arg(format!("-Ptb.CYCLES={cycles}"))
        .arg("tb.v")
        .args(files)
        .output()
        .expect("iverilog runs");
    assert!(out.status.success(), "iverilog: {}", String::from_utf8_lossy(&out.stderr));
    let out = Command::new("vvp").current_dir(dir).args(["-n", "tb.vvp"]).output().expect("vvp runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut trace = Trace { valid: vec![], signature: vec![], led: vec![] };
    for line in stdout.lines().filter(|l| !l.contains("$finish")) {
        let f: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(f.len(), 3, "unexpected line {line:?}");
        trace.valid.push(f[0] == "1");
        trace.signature.push(u32::from_str_radix(f[1], 16).unwrap_or_else(|_| panic!("undefined signature: {line}")));
        trace.led.push(u32::from_str_radix(f[2], 2).unwrap_or_else(|_| panic!("undefined LEDs: {line}")));
    }
    assert_eq!(trace.valid.len(), cycles, "{stdout}");
    trace
}

#[test]
fn the_wrapper_drives_the_design_exactly_as_its_model_says() {
    let work = tempfile::tempdir().unwrap();
    let cycles = 120;
    for (flags, board) in [(DESIGNS[0], Board::IceBreaker), (DESIGNS[1], Board::Hx8k), (DESIGNS[3], Board::TangNano9k)]
    {
        let r = rendered(flags);
        let wrapper = Wrapper { board, led_hold_log2: 3 };
        let dir = work.path().join(&r.params.top);
        let files = write_wrapped(&r, &wrapper, &dir);
        let leds = board.info().leds;
        let t = simulate(&dir, &files, leds, cycles);
        let expected = expected_signatures(&r.params, cycles).unwrap();
        // The signature after an edge folds in every result valid before it.
        let mut results = 0;
        for i in 1..cycles {
            results += t.valid[i - 1] as usize;
            let want = if results == 0 { 0 } else { expected[results - 1] };
            assert_eq!(t.signature[i], want, "{flags}: cycle {i}, after {results} results");
        }
        let latency = r.generated.latency as usize;
        assert!(results > cycles - 20 - latency, "{flags}: only {results} valid results in {cycles} cycles");
        // The LEDs show the signature's top bits, sampled every 8 cycles.
        let lit = |sig: u32| {
            let top = sig >> (MISR_BITS - leds);
            if board.info().leds_active_low { !top & ((1 << leds) - 1) } else { top }
        };
        let changes: Vec<usize> = (1..cycles).filter(|&i| t.led[i] != t.led[i - 1]).collect();
        assert!(changes.len() >= 3, "{flags}: the LEDs changed only {} times", changes.len());
        for i in changes {
            assert_eq!(t.led[i], lit(t.signature[i - 1]), "{flags}: LEDs at cycle {i}");
        }
    }
}

fn assert_plausible(report: &FpgaReport, work: &Path) {
    let info = report.board.info();
    let bytes = std::fs::metadata(&report.bitstream).map(|m| m.len()).unwrap_or(0);
    assert!(bytes > 0 && bytes == report.bitstream_bytes, "bitstream {}", report.bitstream.display());
    assert!(report.luts > 0 && report.luts < info.luts, "{} LUTs", report.luts);
    assert!(report.flip_flops > 0 && report.logic_cells.used > 0, "{}", report.summary());
    assert!(report.logic_cells.available > 0 && report.utilisation_percent < 100.0, "{}", report.summary());
    assert!(report.fmax_mhz > 0.0 && report.fmax_mhz < 1000.0, "Fmax {}", report.fmax_mhz);
    assert_eq!(report.steps.len(), 3);
    assert!(report.steps.iter().all(|s| !s.args.is_empty()), "{:?}", report.steps);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(work.join(REPORT_FILE)).unwrap()).unwrap();
    assert_eq!(json["board"], info.name);
    assert_eq!(json["luts"], report.luts);
}

fn build(flags: &str, board: Board) -> FpgaReport {
    let work = tempfile::tempdir().unwrap();
    let report = pnr(&rendered(flags), board, work.path()).unwrap_or_else(|e| panic!("{flags} on {board}: {e}"));
    assert_plausible(&report, work.path());
    report
}

#[test]
fn icebreaker_bitstreams_of_a_pe_and_a_group_net() {
    let pe = build("--block xnor_pe --len 64", Board::IceBreaker);
    assert!(pe.timing_met && pe.carry_cells > 0, "{}", pe.summary());
    assert!(pe.steps[0].version.as_deref().is_some_and(|v| v.starts_with("Yosys")), "{:?}", pe.steps[0]);
    let gn = build("--k 2 --len 32", Board::IceBreaker);
    assert!(gn.luts > pe.luts / 2, "{}", gn.summary());
}

#[test]
fn a_design_too_big_for_the_device_fails_with_the_reason() {
    let work = tempfile::tempdir().unwrap();
    let e = pnr(&rendered("--k 5 --len 256"), Board::IceBreaker, work.path()).unwrap_err();
    assert!(e.contains("place and route") && e.contains("ICESTORM_LC"), "{e}");
}

#[test]
fn hx8k_bitstream() {
    let r = build("--block xnor_pe --len 64", Board::Hx8k);
    assert!(r.timing_met, "{}", r.summary());
}

#[test]
#[ignore = "minutes: YoWASP tools; run by make test-full"]
fn ulx3s_bitstream() {
    let r = build("--block xnor_pe --len 64", Board::Ulx3s);
    assert!(r.timing_met, "{}", r.summary());
}

#[test]
#[ignore = "minutes: YoWASP tools and Apycula; run by make test-full"]
fn tangnano9k_bitstream() {
    let r = build("--block xnor_pe --len 64", Board::TangNano9k);
    assert!(r.timing_met, "{}", r.summary());
}
