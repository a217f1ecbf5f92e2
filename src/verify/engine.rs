//! Verifies a streaming engine: lint, Icarus and Yosys, then every stream
//! scenario under Verilator against the golden model, and the throughput
//! of SPEC 6.6 measured with no stalls: back-to-back frames exactly
//! `cycles_per_frame` apart, the whole run within the stated fill.

use super::stream::{StreamFailure, StreamOutcome, StreamPorts, StreamRun, run_stream, scenarios, verify_runs};
use super::testbench::{Checks, Effort, Verdict, load_model, write_and_check};
use crate::generator::render::RenderedEngine;
use crate::model::engine::EngineGolden;
use crate::sim::Model;
use crate::spec::engine::{EngineParams, Output};
use crate::util::bits::BitVec;
use std::fmt::Write;
use std::path::Path;
use std::time::Instant;

/// The simulation half of [`verify_engine`].
struct EngineBench<'r> {
    rendered: &'r RenderedEngine,
    ports: StreamPorts,
    netlist: bool,
}

impl EngineBench<'_> {
    fn load(&self, trace: Option<&Path>) -> Result<Model, String> {
        load_model(&self.rendered.design_files(), &self.rendered.generated.signature, self.netlist, trace)
    }

    fn run(&self, run: &StreamRun, trace: Option<&Path>) -> Result<Result<StreamOutcome, StreamFailure>, String> {
        let p = &self.rendered.params;
        let golden = EngineGolden::new(p);
        let mut model = self.load(trace)?;
        Ok(run_stream(&mut model, self.ports, &|f| golden.frame(f), run, p.cycles_per_frame()))
    }
}

/// A value of one output channel, as a person reads it.
fn channels(p: &EngineParams, word: &BitVec) -> Vec<String> {
    let cout = p.geometry.cout;
    match &p.output {
        Output::Fusion { .. } => (0..cout)
            .map(|o| (0..p.lanes()).map(|i| if word.get(i * cout + o) { '1' } else { '0' }).collect())
            .collect(),
        _ => {
            let w = p.out_element_bits();
            let signed = p.output == Output::Sum && p.sum_signed();
            (0..cout).map(|o| BitVec::from_fn(w, |b| word.get(o * w + b)).to_i64(signed).to_string()).collect()
        }
    }
}

/// What went wrong, for a person: the frame, pixel and channels, the
/// expected and actual values, and a VCD trace of the run.
fn failure_report(b: &EngineBench, name: &str, run: &StreamRun, f: &StreamFailure, work: &Path) -> String {
    let p = &b.rendered.params;
    let mut r = String::new();
    let _ = writeln!(r, "MISMATCH in {} ({name}) at cycle {}: {}", p.top, f.cycle, f.what);
    if let Some((frame, pixel)) = f.at {
        let ow = p.geometry.out_width();
        let _ = writeln!(r, "  frame {frame}, output pixel {pixel} (row {}, column {})", pixel / ow, pixel % ow);
    }
    if let (Some(want), Some(got)) = (&f.expected, &f.actual) {
        let (want, got) = (channels(p, want), channels(p, got));
        for (o, (w, g)) in want.iter().zip(&got).enumerate().filter(|(_, (w, g))| w != g) {
            let _ = writeln!(r, "  channel {o}: expected {w}, actual {g}");
        }
    }
    let vcd = work.join(format!("{}.vcd", p.top));
    let _ = match b.run(run, Some(&vcd)) {
        Ok(_) => writeln!(r, "  trace: {}", vcd.display()),
        Err(e) => writeln!(r, "  (no trace: {e})"),
    };
    r
}

/// Writes the engine under `work`, lints and synthesises it, and streams
/// every scenario through it; a mismatch reruns that scenario with a trace.
pub fn verify_engine(rendered: &RenderedEngine, work: &Path, checks: Checks, effort: Effort, label: &str) -> Verdict {
    let t0 = Instant::now();
    let fail = |what: String| Verdict {
        passed: false,
        summary: format!("{label}: {}", what.lines().next().unwrap_or("")),
        report: what,
    };
    let verilog = rendered.verilog_files();
    let mut notes = match write_and_check(work, &rendered.files, &verilog, &rendered.params.top, checks) {
        Ok(notes) => notes,
        Err(e) => return fail(e),
    };
    let ports = match StreamPorts::of(&rendered.generated.signature) {
        Ok(ports) => ports,
        Err(e) => return fail(e),
    };
    let b = EngineBench { rendered, ports, netlist: checks.netlist };
    let all = scenarios(&rendered.params, effort.frames, effort.seed);
    let throughput = (rendered.params.cycles_per_frame(), rendered.generated.fill_cycles);
    let beats = match verify_runs(
        &all,
        (throughput, effort.jobs),
        (checks, label, t0),
        &|| b.load(None).map(drop),
        &|run| b.run(run, None),
        &|name, run, f| failure_report(&b, name, run, f, work),
    ) {
        Ok((beats, note)) => {
            notes.insert(0, note);
            beats
        }
        Err(f) => return Verdict { passed: false, summary: format!("{label}: {}", f.summary), report: f.report },
    };
    let secs = t0.elapsed().as_secs_f64();
    Verdict {
        passed: true,
        summary: format!("{label}: {beats} output beats checked, {}; {secs:.1}s", notes.join(", ")),
        report: String::new(),
    }
}

/// An engine streaming random frames with no stalls under Verilator, every
/// output beat checked against the golden model.
#[derive(Clone, Debug)]
pub struct StreamRate {
    pub frames: usize,
    pub cycles: usize,
    /// Cycles between the ends of consecutive frames (all equal, or the
    /// run fails).
    pub cycles_per_frame: usize,
    /// Cycles beyond frames x cycles_per_frame from the first input beat to
    /// the last output beat.
    pub fill: u64,
    /// Simulated cycles per CPU second of the simulating thread, checks included.
    pub checked_cycles_per_s: f64,
}

/// Streams `frames` random frames (at least two) through the engine with
/// no stalls and the golden model checking every beat; the frame interval
/// and fill as measured, and the simulation's speed.
pub fn stream_rate(rendered: &RenderedEngine, frames: usize, seed: u64) -> Result<StreamRate, String> {
    let ports = StreamPorts::of(&rendered.generated.signature)?;
    let b = EngineBench { rendered, ports, netlist: false };
    let p = &rendered.params;
    let mut rng = crate::util::bits::SplitMix64::new(seed);
    let frames = super::stream::random_frames(p, frames.max(2), &mut rng);
    // The model is built (or loaded from the cache) before the clock starts.
    let mut model = b.load(None)?;
    let golden = EngineGolden::new(p);
    measure_rate(&mut model, ports, &|f| golden.frame(f), frames, (&p.top, p.cycles_per_frame()))
}

/// Streams `frames` through a loaded model with no stalls, every beat
/// checked by `golden`; `(top, frame_cycles)` name the design and bound a frame.
pub(crate) fn measure_rate(
    model: &mut crate::sim::Model,
    ports: StreamPorts,
    golden: &dyn Fn(&[BitVec]) -> Vec<BitVec>,
    frames: Vec<Vec<BitVec>>,
    (top, frame_cycles): (&str, usize),
) -> Result<StreamRate, String> {
    let run = StreamRun {
        frames,
        stalls: super::stream::Stalls::NONE,
        reset: None,
        seed: 1,
        check_ready_independence: false,
        record_outputs: false,
    };
    let cpu = crate::util::cputime::thread();
    let outcome = run_stream(model, ports, golden, &run, frame_cycles)
        .map_err(|f| format!("{top}: cycle {}: {}", f.cycle, f.what))?;
    let seconds = (crate::util::cputime::thread() - cpu).as_secs_f64();
    let gaps: Vec<usize> = outcome.frame_ends.windows(2).map(|w| w[1] - w[0]).collect();
    let cycles_per_frame = gaps[0];
    if gaps.iter().any(|&g| g != cycles_per_frame) {
        return Err(format!("{top}: frames ended unevenly apart with no stalls: {gaps:?}"));
    }
    let taken = (outcome.last_out - outcome.first_in + 1) as u64;
    Ok(StreamRate {
        frames: outcome.frame_ends.len(),
        cycles: outcome.cycles,
        cycles_per_frame,
        fill: taken.saturating_sub((outcome.frame_ends.len() * cycles_per_frame) as u64),
        checked_cycles_per_s: outcome.cycles as f64 / seconds.max(1e-9),
    })
}
