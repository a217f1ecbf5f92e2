//! The Verilator test bench itself: it passes a correct design and catches
//! a wrong result, a wrong latency and a reset that is not honoured.

use mbnn::generator::render::{Rendered, render};
use mbnn::spec::params::{Block, PopcountStyle};
use mbnn::spec::request::Request;
use mbnn::spec::signature::Interface;
use mbnn::verify::testbench::{Checks, Effort, verify};

fn rendered(request: Request) -> Rendered {
    render(request.params())
}

const CHECKS: Checks = Checks { lint: true, iverilog: true, yosys: true, netlist: false, progress: false };
const EFFORT: Effort = Effort { random_cycles: 400, frames: 3, seed: 42, jobs: 1 };

#[test]
fn a_correct_design_passes_every_check() {
    let work = tempfile::tempdir().unwrap();
    for request in [
        Request::groupnet(3, 33).const_weights(4).pipeline(2),
        Request::groupnet(2, 9).shared_input().lambdas(&[-0.5, 1.25]).pipeline(1),
        Request::and_pe(70).const_weights(1).pipeline(3),
    ] {
        let r = rendered(request.clone());
        let v = verify(&r, &work.path().join(&r.params.top), CHECKS, EFFORT, "ok");
        assert!(v.passed, "{}: {}\n{}", request.flags(), v.summary, v.report);
        assert!(v.summary.contains("lint clean") && v.summary.contains("yosys"), "{}", v.summary);
    }
}

#[test]
fn a_wrong_result_is_reported_with_inputs_and_a_trace() {
    let work = tempfile::tempdir().unwrap();
    let mut r = rendered(Request::groupnet(2, 20).pipeline(1));
    // The golden model now disagrees with the hardware by one LSB of lambda.
    r.params.lambdas[1] += 1;
    let dir = work.path().join("wrong");
    let v = verify(&r, &dir, CHECKS, EFFORT, "wrong");
    assert!(!v.passed);
    for needle in [
        "MISMATCH",
        "a0 = 0x",
        "w1 = 0x",
        "expected out_valid = 1, y = ",
        "actual   out_valid = 1, y = ",
        "\n  trace: ",
    ] {
        assert!(v.report.contains(needle), "report lacks {needle:?}:\n{}", v.report);
    }
    let vcd = dir.join(format!("{}.vcd", r.params.top));
    let text =
        std::fs::read_to_string(&vcd).unwrap_or_else(|e| panic!("no trace {}: {e}\n{}", vcd.display(), v.report));
    assert!(text.contains("$enddefinitions") && text.contains("valid1"), "trace looks empty");
}

#[test]
fn a_reset_that_does_not_clear_the_valid_chain_is_caught() {
    let work = tempfile::tempdir().unwrap();
    let mut r = rendered(Request::xnor_pe(16).pipeline(2));
    let top = format!("{}.v", r.params.top);
    let file = r.files.iter_mut().find(|(n, _)| *n == top).unwrap();
    assert!(file.1.contains("if (rst) begin"));
    file.1 = file.1.replace("if (rst) begin", "if (1'b0 && rst) begin");
    let v = verify(&r, &work.path().join("noreset"), Checks { lint: false, ..CHECKS }, EFFORT, "noreset");
    assert!(!v.passed, "{}", v.summary);
    assert!(v.report.contains("expected out_valid = 0"), "{}", v.report);
}

#[test]
fn a_wrong_latency_is_caught() {
    let work = tempfile::tempdir().unwrap();
    let mut r = rendered(Request::popcount(12).pipeline(1));
    let latency = r.generated.latency();
    r.generated.signature.interface = Interface::FixedLatency { latency: latency - 1 };
    let v = verify(&r, &work.path().join("latency"), CHECKS, EFFORT, "latency");
    assert!(!v.passed, "{}", v.summary);
}

/// Both popcount structures, fully pipelined, at the lengths where their
/// shapes change (odd and even counts, powers of two and one either side):
/// the levels the scheduler plans must be the levels the tree has, or the
/// latency is off and the run fails.
#[test]
fn every_popcount_structure_matches_at_its_shape_changes() {
    let work = tempfile::tempdir().unwrap();
    let effort = Effort { random_cycles: 60, frames: 3, seed: 7, jobs: 1 };
    let checks = Checks { lint: true, iverilog: false, yosys: false, netlist: false, progress: false };
    let shapes: [(PopcountStyle, &[usize]); 3] = [
        (PopcountStyle::Compressor, &[1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 63, 64, 256]),
        (PopcountStyle::Carry, &[1, 2, 3, 4, 5, 8, 9, 33, 64]),
        (PopcountStyle::Tree, &[1, 2, 3, 4, 7, 64, 65]),
    ];
    for (style, lens) in shapes {
        for &len in lens {
            let r = rendered(Request::of(Block::Popcount, len).pipeline(1).popcount_style(style));
            let v = verify(&r, &work.path().join(format!("{}{len}", style.name())), checks, effort, "shape");
            assert!(v.passed, "--popcount {} --len {len}: {}\n{}", style.name(), v.summary, v.report);
        }
    }
}
