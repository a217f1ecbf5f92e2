//! The board wrapper and the FPGA flows: `board_top` lints clean with the
//! design, drives it in simulation exactly as its software model says, and
//! real bitstreams come out of the open tools. iCE40 runs by default; the
//! ECP5 and Gowin flows take minutes and run with `--ignored`.

use mbnn::generator::render::render_engine;
use mbnn::generator::render::{Rendered, render};
use mbnn::generator::wrapper::{MISR_BITS, WRAPPER_TOP, Wrapper};
use mbnn::measure::pnr::{FpgaReport, REPORT_FILE, pnr};
use mbnn::model::wrapper::{expected_signatures, expected_stream_signatures};
use mbnn::spec::board::Board;
use mbnn::spec::engine::EngineKind;
use mbnn::spec::engine_request::EngineRequest;
use mbnn::spec::params::Block;
use mbnn::spec::request::Request;
use std::path::Path;
use std::process::Command;

fn rendered(request: &Request) -> Rendered {
    render(request.params())
}

/// Writes the design and its wrapper; returns the Verilog files in read order.
fn write_wrapped(r: &Rendered, wrapper: &Wrapper, dir: &Path) -> Vec<String> {
    std::fs::create_dir_all(dir).unwrap();
    let files = wrapper.files(&r.generated.signature, &r.verilog()).unwrap();
    for (name, text) in &files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    files.into_iter().map(|(name, _)| name).filter(|name| name.ends_with(".v")).collect()
}

fn designs() -> [Request; 5] {
    [
        Request::xnor_pe(64),
        Request::groupnet(2, 32),
        Request::groupnet(3, 7).shared_input().const_weights(1).pipeline(1),
        Request::pa(2, 3, 5),
        Request::multibit(Block::Mac, 4, 3),
    ]
}

#[test]
fn the_wrapper_lints_clean_with_every_kind_of_design_on_every_board() {
    let work = tempfile::tempdir().unwrap();
    for request in designs() {
        let flags = request.flags();
        for board in Board::ALL {
            let r = rendered(&request);
            let dir = work.path().join(format!("{}_{board}", r.params.top));
            let files = write_wrapped(&r, &Wrapper::new(board), &dir);
            mbnn::eda::verilator::lint(&dir, &files, WRAPPER_TOP).unwrap_or_else(|e| panic!("{flags} on {board}: {e}"));
            mbnn::eda::iverilog::check(&dir, &files, WRAPPER_TOP).unwrap_or_else(|e| panic!("{flags}: {e}"));
        }
    }
}

#[test]
fn a_design_too_wide_for_the_stimulus_is_refused_in_one_line() {
    let r = rendered(&Request::groupnet(64, 65536));
    let e = Wrapper::new(Board::Ulx3s).files(&r.generated.signature, &r.verilog()).unwrap_err();
    assert!(e.contains("data input bits") && !e.contains('\n'), "{e}");
}

/// Runs board_top on a clock; the board's flip-flops start at zero, so the
/// power-on shift register does too. Prints, after every rising edge, the design's
/// out_valid, the signature and the LEDs.
const TESTBENCH: &str = "`ifndef RESULT_VALID
`define RESULT_VALID top.dut_out_valid
`endif
`timescale 1ns/1ps
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
            #1 $display(\"%b %h %b\", `RESULT_VALID, top.signature, led);
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

/// Simulates board_top; `defines` name what the signature folds in
/// (`RESULT_VALID`) where it is not a fixed-latency design's `out_valid`.
fn simulate(dir: &Path, files: &[String], (leds, cycles): (u32, usize), defines: &[&str]) -> Trace {
    std::fs::write(dir.join("tb.v"), TESTBENCH).unwrap();
    let out = Command::new("iverilog")
        .current_dir(dir)
        .args(["-g2001", "-o", "tb.vvp", "-s", "tb"])
        .args(defines.iter().map(|d| format!("-D{d}")))
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
    let [pe, group_net, _, pa, _] = designs();
    for (request, board) in [(pe, Board::IceBreaker), (group_net, Board::Hx8k), (pa, Board::TangNano9k)] {
        let flags = request.flags();
        let r = rendered(&request);
        let wrapper = Wrapper { board, led_hold_log2: 3 };
        let dir = work.path().join(&r.params.top);
        let files = write_wrapped(&r, &wrapper, &dir);
        let leds = board.info().leds;
        let t = simulate(&dir, &files, (leds, cycles), &[]);
        let expected = expected_signatures(&r.params, cycles).unwrap();
        // The signature after an edge folds in every result valid before it.
        let mut results = 0;
        for i in 1..cycles {
            results += t.valid[i - 1] as usize;
            let want = if results == 0 { 0 } else { expected[results - 1] };
            assert_eq!(t.signature[i], want, "{flags}: cycle {i}, after {results} results");
        }
        let latency = r.generated.latency() as usize;
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

/// A small engine behind the stream wrapper, every stall of the pacing
/// LFSR included: the signature after each output beat is the one the
/// golden model's beats give, whatever the stalls.
#[test]
fn the_stream_wrapper_drives_an_engine_exactly_as_its_model_says() {
    let work = tempfile::tempdir().unwrap();
    let mut r = EngineRequest::new(EngineKind::Conv);
    (r.height, r.width, r.cin, r.cout, r.k, r.pe, r.simd) =
        (Some(4), Some(3), Some(2), Some(2), Some(2), Some(2), Some(6));
    r.dilations = Some(vec![1, 2]);
    let engine = render_engine(r.to_params().unwrap(), 1);
    let dir = work.path().join("engine");
    std::fs::create_dir_all(&dir).unwrap();
    let board = Board::IceBreaker;
    let wrapped =
        Wrapper { board, led_hold_log2: 3 }.files(&engine.generated.signature, &engine.design_files()).unwrap();
    for (name, text) in &wrapped {
        std::fs::write(dir.join(name), text).unwrap();
    }
    let verilog: Vec<String> = wrapped.iter().map(|(n, _)| n.clone()).filter(|n| n.ends_with(".v")).collect();
    mbnn::eda::verilator::lint(&dir, &verilog, WRAPPER_TOP).unwrap();
    let cycles = 400;
    let t = simulate(&dir, &verilog, (board.info().leds, cycles), &["RESULT_VALID=top.out_fire"]);
    let beats: usize = t.valid.iter().filter(|&&v| v).count();
    assert!(beats > 12 * 2, "only {beats} output beats in {cycles} cycles: not two frames");
    let expected = expected_stream_signatures(&engine.params, beats).unwrap();
    let mut seen = 0;
    for i in 1..cycles {
        seen += t.valid[i - 1] as usize;
        let want = if seen == 0 { 0 } else { expected[seen - 1] };
        assert_eq!(t.signature[i], want, "cycle {i}, after {seen} beats");
    }
}

fn assert_plausible(report: &FpgaReport, work: &Path) {
    let info = report.board.info();
    let o = &report.outcome;
    let bytes = std::fs::metadata(&o.bitstream).map(|m| m.len()).unwrap_or(0);
    assert!(bytes > 0 && bytes == o.bitstream_bytes, "bitstream {}", o.bitstream.display());
    assert!(o.luts > 0 && o.luts < info.luts, "{} LUTs", o.luts);
    assert!(o.flip_flops > 0 && o.logic_cells.used > 0, "{}", report.summary());
    assert!(o.logic_cells.available > 0 && report.utilisation_percent < 100.0, "{}", report.summary());
    assert!(o.fmax_mhz > 0.0 && o.fmax_mhz < 1000.0, "Fmax {}", o.fmax_mhz);
    assert_eq!(o.steps.len(), 3);
    assert!(o.steps.iter().all(|s| !s.args.is_empty()), "{:?}", o.steps);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(work.join(REPORT_FILE)).unwrap()).unwrap();
    assert_eq!(json["board"], info.name);
    assert_eq!(json["luts"], o.luts);
}

fn build(request: &Request, board: Board) -> FpgaReport {
    let work = tempfile::tempdir().unwrap();
    let report =
        pnr(&rendered(request), board, work.path()).unwrap_or_else(|e| panic!("{} on {board}: {e}", request.flags()));
    assert_plausible(&report, work.path());
    report
}

#[test]
fn icebreaker_bitstreams_of_a_pe_and_a_group_net() {
    let pe = build(&Request::xnor_pe(64), Board::IceBreaker);
    assert!(pe.timing_met && pe.outcome.carry_cells > 0, "{}", pe.summary());
    let synthesis = &pe.outcome.steps[0];
    assert!(synthesis.version.as_deref().is_some_and(|v| v.starts_with("Yosys")), "{synthesis:?}");
    let gn = build(&Request::groupnet(2, 32), Board::IceBreaker);
    assert!(gn.outcome.luts > pe.outcome.luts / 2, "{}", gn.summary());
}

#[test]
fn a_design_too_big_for_the_device_fails_with_the_reason() {
    let work = tempfile::tempdir().unwrap();
    let e = pnr(&rendered(&Request::groupnet(5, 256)), Board::IceBreaker, work.path()).unwrap_err();
    assert!(e.contains("place and route") && e.contains("ICESTORM_LC"), "{e}");
}

#[test]
fn hx8k_bitstream() {
    let r = build(&Request::xnor_pe(64), Board::Hx8k);
    assert!(r.timing_met, "{}", r.summary());
}

#[test]
#[ignore = "minutes: YoWASP tools; run by make test-full"]
fn ulx3s_bitstream() {
    let r = build(&Request::xnor_pe(64), Board::Ulx3s);
    assert!(r.timing_met, "{}", r.summary());
}

#[test]
#[ignore = "minutes: YoWASP tools and Apycula; run by make test-full"]
fn tangnano9k_bitstream() {
    let r = build(&Request::xnor_pe(64), Board::TangNano9k);
    assert!(r.timing_met, "{}", r.summary());
}
