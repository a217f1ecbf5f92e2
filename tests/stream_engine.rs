//! Streaming engines simulated under Verilator frame by frame against the
//! golden model, with stalls, resets and the throughput of SPEC 6.6.

use mbnn::generator::render::render_engine;
use mbnn::spec::engine::{EngineKind, Padding};
use mbnn::spec::engine_request::{EngineRequest, OutputMode};
use mbnn::util::bits::SplitMix64;
use mbnn::verify::engine::verify_engine;
use mbnn::verify::testbench::{Checks, Effort};

fn check(r: &EngineRequest, pipeline: u32) {
    let p = r.to_params().unwrap_or_else(|e| panic!("{r:?}: {e}"));
    let rendered = render_engine(p.clone(), pipeline);
    let work = tempfile::tempdir().unwrap();
    let checks = Checks { lint: true, iverilog: true, yosys: false, netlist: false, progress: false };
    let v = verify_engine(
        &rendered,
        &work.path().join(&p.top),
        checks,
        Effort { random_cycles: 0, frames: 3, seed: 3, jobs: 2 },
        &p.top,
    );
    println!("{}", v.summary);
    assert!(v.passed, "{}\n{}", v.summary, v.report);
}

#[test]
fn a_small_conv_engine_streams_frames() {
    let mut r = EngineRequest::new(EngineKind::Conv);
    (r.height, r.width, r.cin, r.cout, r.k) = (Some(5), Some(4), Some(4), Some(2), Some(1));
    check(&r, 2);
}

#[test]
fn random_engines_stream_frames() {
    let mut rng = SplitMix64::new(std::env::var("SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(7));
    let count: usize = std::env::var("COUNT").ok().and_then(|s| s.parse().ok()).unwrap_or(6);
    for _ in 0..count {
        let pa = rng.chance(1, 3);
        let mut r = EngineRequest::new(if pa { EngineKind::PaConv } else { EngineKind::Conv });
        let pick = |rng: &mut SplitMix64, v: &[i64]| v[rng.below(v.len() as u64) as usize];
        let kernel = pick(&mut rng, &[1, 3, 3, 5]);
        (r.height, r.width) = (Some(pick(&mut rng, &[3, 4, 5, 7])), Some(pick(&mut rng, &[2, 4, 5, 6])));
        let cin = pick(&mut rng, &[1, 2, 4, 6]);
        let cout = pick(&mut rng, &[1, 2, 4]);
        (r.cin, r.cout, r.kernel, r.stride) = (Some(cin), Some(cout), Some(kernel), Some(pick(&mut rng, &[1, 1, 2])));
        let n = kernel * kernel * cin;
        let simds: Vec<i64> =
            (1..=n).filter(|&s| if s <= cin { cin % s == 0 } else { s % cin == 0 && n % s == 0 }).collect();
        r.simd = Some(pick(&mut rng, &simds));
        let pes: Vec<i64> = (1..=cout).filter(|&p| cout % p == 0).collect();
        r.pe = Some(pick(&mut rng, &pes));
        if pa {
            (r.m, r.n, r.act_bits) =
                (Some(pick(&mut rng, &[1, 2, 3, 4])), Some(pick(&mut rng, &[1, 2, 3])), Some(pick(&mut rng, &[3, 4])));
            r.dilations = Some(vec![pick(&mut rng, &[1, 2])]);
            r.output = Some(if rng.chance(1, 2) { OutputMode::Sum } else { OutputMode::Threshold });
        } else {
            let k = pick(&mut rng, &[1, 2, 3]);
            r.k = Some(k);
            r.dilations = Some((0..k).map(|_| pick(&mut rng, &[1, 2, 3])).collect());
            r.shared_input = rng.chance(1, 2);
            r.output = Some([OutputMode::Sum, OutputMode::Threshold, OutputMode::Fusion][rng.below(3) as usize]);
        }
        if rng.chance(1, 4) && r.to_params().is_ok() {
            let valid = EngineRequest {
                padding: Some(Padding::Valid),
                dilations: r.dilations.clone().map(|d| vec![d[0]; d.len()]),
                ..r.clone()
            };
            if valid.to_params().is_ok() {
                r = valid;
            }
        }
        r.seed = Some(rng.next_u64());
        if r.to_params().is_err() {
            continue;
        }
        check(&r, pick(&mut rng, &[1, 2, 3]) as u32);
    }
}

/// Dilation 3 on a 4 x 4 map: every window needs the whole frame, so a
/// frame's compute waits for all of it, and the next frame streams in
/// while the last window of this one is still read. The line buffer holds
/// both without a stall (this cost a cycle a frame when it held fewer).
#[test]
fn windows_that_span_the_whole_map_keep_frames_back_to_back() {
    let mut r = EngineRequest::new(EngineKind::Conv);
    (r.height, r.width, r.cin, r.cout, r.kernel, r.k) = (Some(4), Some(4), Some(4), Some(1), Some(3), Some(3));
    (r.pe, r.simd, r.dilations, r.output) = (Some(1), Some(36), Some(vec![3, 3, 2]), Some(OutputMode::Sum));
    check(&r, 2);
}

/// Fusion gates of different depths (K = 2 lanes with different F rows)
/// line up: a shallower tree is delayed to the deepest.
#[test]
fn fusion_trees_of_different_depths_line_up() {
    let mut r = EngineRequest::new(EngineKind::Conv);
    (r.height, r.width, r.cin, r.cout, r.kernel, r.k) = (Some(4), Some(5), Some(1), Some(2), Some(1), Some(2));
    (r.pe, r.simd, r.dilations, r.output) = (Some(2), Some(1), Some(vec![2, 3]), Some(OutputMode::Fusion));
    check(&r, 2);
}

/// The output FIFO's depth is the bound `fifo_depth` computes from the
/// schedule (a pixel holds a place from its last fold's first step to its
/// beat out). Simulated with no stalls: at the bound, frames are exactly
/// `cycles_per_frame` apart; a place fewer, or one place, and they are
/// further apart, every beat still right: a FIFO too small costs
/// throughput, never a deadlock (the run fails on a deadlock or a wrong
/// beat).
#[test]
fn a_fifo_below_its_bound_loses_throughput_and_never_deadlocks() {
    use mbnn::generator::engine::{generate_engine, generate_engine_with_fifo};
    use mbnn::generator::render::render_generated_engine;
    use mbnn::verify::engine::stream_rate;
    let mut r = EngineRequest::new(EngineKind::Conv);
    (r.height, r.width, r.cin, r.cout, r.k, r.pe, r.simd) =
        (Some(6), Some(6), Some(4), Some(4), Some(1), Some(2), Some(36));
    let p = r.to_params().unwrap();
    let bound = generate_engine(&p, 2).fifo_depth;
    assert!(bound >= 3, "the bound is {bound}: too shallow to test below it");
    let mut intervals = vec![];
    for places in [bound, bound - 1, 1] {
        let generated = generate_engine_with_fifo(&p, 2, Some(places));
        let rendered = render_generated_engine(p.clone(), generated, None);
        let rate = stream_rate(&rendered, 4, 5).unwrap_or_else(|e| panic!("{places} places: {e}"));
        assert_eq!(rate.frames, 4);
        intervals.push(rate.cycles_per_frame);
    }
    println!("cycles per frame with {bound}, {} and 1 places: {intervals:?}", bound - 1);
    assert_eq!(intervals[0], p.cycles_per_frame());
    assert!(intervals[1] > intervals[0] && intervals[2] > intervals[1], "{intervals:?}");
}

/// PA-Net's weight bases stored as piece indices (3 bits a weight for
/// M = 4: 0 for the zero piece, i + 1 for base i) and as bit-planes give
/// the same frames, checked against the golden model with stalls and
/// resets; the ROMs are one of 2 x 12 x 3 = 72 bits a word against four of 24.
#[test]
fn piece_indices_and_bit_planes_stream_the_same_frames() {
    use mbnn::spec::engine::WeightForm;
    let mut r = EngineRequest::new(EngineKind::PaConv);
    (r.height, r.width, r.cin, r.cout, r.kernel) = (Some(5), Some(6), Some(4), Some(4), Some(3));
    (r.m, r.n, r.act_bits, r.pe, r.simd) = (Some(4), Some(5), Some(4), Some(2), Some(12));
    r.output = Some(OutputMode::Threshold);
    r.levels = Some(3);
    let planes: Vec<String> = (0..4).map(|i| format!("reg  [23:0] weights{i} [0:5];")).collect();
    for (form, roms) in
        [(WeightForm::PieceIndex, vec!["reg  [71:0] weights_index [0:5];".to_string()]), (WeightForm::Planes, planes)]
    {
        let request = EngineRequest { weight_form: Some(form), ..r.clone() };
        let p = request.to_params().unwrap();
        assert_eq!(p.stores_piece_index(), form == WeightForm::PieceIndex);
        let rendered = render_engine(p.clone(), 2);
        let verilog = &rendered.files.iter().find(|(n, _)| *n == format!("{}.v", p.top)).unwrap().1;
        for rom in &roms {
            assert!(verilog.contains(rom.as_str()), "{form:?}: no {rom}");
        }
        assert_eq!(verilog.matches("$readmemh").count(), roms.len(), "{form:?}");
        check(&request, 2);
    }
}

/// A weight ROM deeper than one 18-kbit block (3,072 words of 8 bits:
/// two DP16KD of 2,048 x 9) is banked when every read is pipelined
/// (`pipeline` 1): one ROM a block, its word registered beside it, then
/// the bank chosen; the last bank is the 1,024 words left. Without
/// pipelining it stays one ROM. Both stream the same frames.
#[test]
fn deep_weight_roms_are_banked_a_block_each() {
    let mut r = EngineRequest::new(EngineKind::Conv);
    (r.height, r.width, r.kernel, r.cin, r.cout, r.k) = (Some(2), Some(1), Some(1), Some(512), Some(48), Some(1));
    (r.pe, r.simd, r.output) = (Some(1), Some(8), Some(OutputMode::Threshold));
    let p = r.to_params().unwrap();
    for (pipeline, roms) in [
        (1, vec!["reg  [7:0] weights0_bank0 [0:2047];", "reg  [7:0] weights0_bank1 [0:1023];"]),
        (2, vec!["reg  [7:0] weights0 [0:3071];"]),
    ] {
        let rendered = render_engine(p.clone(), pipeline);
        let verilog = &rendered.files.iter().find(|(n, _)| *n == format!("{}.v", p.top)).unwrap().1;
        for rom in &roms {
            assert!(verilog.contains(rom), "pipeline {pipeline}: no {rom}");
        }
        assert_eq!(verilog.matches("$readmemh").count(), roms.len(), "pipeline {pipeline}");
        check(&r, pipeline);
    }
}

/// With the runs two at a time, a mismatch is still reported for the first
/// run by index, with the frame, the channels and a trace: every run of an
/// engine whose golden model is off by one lambda fails, and the report
/// names the first (the directed frames without stalls).
#[test]
fn a_mismatch_in_runs_at_once_is_reported_for_the_first_run() {
    let mut r = EngineRequest::new(EngineKind::Conv);
    (r.height, r.width, r.cin, r.cout, r.k) = (Some(4), Some(4), Some(4), Some(2), Some(2));
    r.output = Some(OutputMode::Sum);
    let p = r.to_params().unwrap();
    let mut rendered = render_engine(p.clone(), 1);
    rendered.params.lambdas[0] += 1;
    let work = tempfile::tempdir().unwrap();
    let checks = Checks { lint: false, iverilog: false, yosys: false, netlist: false, progress: false };
    let effort = Effort { random_cycles: 0, frames: 2, seed: 3, jobs: 2 };
    let dir = work.path().join(&p.top);
    let v = verify_engine(&rendered, &dir, checks, effort, &p.top);
    assert!(!v.passed, "{}", v.summary);
    let first = &mbnn::verify::stream::scenarios(&rendered.params, effort.frames, effort.seed)[0].0;
    assert!(v.summary.contains(first.as_str()), "{first:?} not in {}", v.summary);
    for needle in ["MISMATCH", "frame 0, output pixel 0", "channel 0: expected", "trace: "] {
        assert!(v.report.contains(needle), "report lacks {needle:?}:\n{}", v.report);
    }
    assert!(dir.join(format!("{}.vcd", p.top)).exists(), "no trace:\n{}", v.report);
}
