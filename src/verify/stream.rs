//! The stream test bench (SPEC 6.1): whole frames pushed through a design
//! with ready/valid streams, with random stalls on both sides (or none), a
//! reset in the middle of a frame, and every output beat and `tlast`
//! checked against the golden model. It also checks the AXI4-Stream rules
//! the design must keep as a source: `m_axis_tvalid` and `tdata` hold
//! until their beat moves, and `m_axis_tvalid` never depends on
//! `m_axis_tready` in the same cycle.

use crate::sim::Model;
use crate::spec::engine::{EngineKind, EngineParams};
use crate::spec::signature::{Role, Signature};
use crate::util::bits::{BitVec, SplitMix64};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};

/// Where a stream design's ports are among the model's inputs and outputs.
#[derive(Clone, Copy, Debug)]
pub struct StreamPorts {
    rst: usize,
    in_valid: usize,
    in_data: usize,
    out_ready: usize,
    in_ready: usize,
    out_valid: usize,
    out_data: usize,
    /// None for a design with no `tlast` (a FIFO): its beats are checked, their `tlast` is not.
    out_last: Option<usize>,
}

impl StreamPorts {
    /// The ports of a stream design with `m_axis_tlast`.
    pub fn of(signature: &Signature) -> Result<StreamPorts, String> {
        let ports = StreamPorts::without_last(signature)?;
        let last = signature.output_index(Role::OutStreamLast);
        let missing = || format!("{} is not a stream design: it has no OutStreamLast port", signature.top);
        Ok(StreamPorts { out_last: Some(last.ok_or_else(missing)?), ..ports })
    }

    /// The ports of a stream design that may have no `m_axis_tlast` (a
    /// FIFO, which passes frames through uncounted); `tlast` is checked
    /// when it has one.
    pub fn without_last(signature: &Signature) -> Result<StreamPorts, String> {
        let missing = |role: Role| format!("{} is not a stream design: it has no {role:?} port", signature.top);
        let input = |role: Role| signature.input_index(role).ok_or_else(|| missing(role));
        let output = |role: Role| signature.output_index(role).ok_or_else(|| missing(role));
        Ok(StreamPorts {
            rst: input(Role::Reset)?,
            in_valid: input(Role::InStreamValid)?,
            in_data: input(Role::InStreamData)?,
            out_ready: input(Role::OutStreamReady)?,
            in_ready: output(Role::InStreamReady)?,
            out_valid: output(Role::OutStreamValid)?,
            out_data: output(Role::OutStreamData)?,
            out_last: signature.output_index(Role::OutStreamLast),
        })
    }
}

/// How often each side holds back: the source leaves `tvalid` low, the
/// sink `tready` low, each with this probability per cycle (num / 256).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stalls {
    pub input: u64,
    pub output: u64,
}

impl Stalls {
    pub const NONE: Stalls = Stalls { input: 0, output: 0 };
}

/// One run: the frames sent, the stalls, and optionally a reset after
/// `pixels` beats of frame `frame` have been accepted (that frame and every
/// result not yet out are dropped; the source goes on with the next frame).
#[derive(Clone, Debug)]
pub struct StreamRun {
    pub frames: Vec<Vec<BitVec>>,
    pub stalls: Stalls,
    pub reset: Option<(usize, usize)>,
    pub seed: u64,
    /// Check that `m_axis_tvalid` and `tdata` do not change with
    /// `m_axis_tready` in the same cycle (costs two more evaluations a cycle).
    pub check_ready_independence: bool,
    /// Keep every output beat in [`StreamOutcome::outputs`].
    pub record_outputs: bool,
}

/// What a run did, when every beat matched.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StreamOutcome {
    pub cycles: usize,
    pub beats_in: usize,
    pub beats_out: usize,
    /// The cycle of the first accepted input beat and of the last output beat.
    pub first_in: usize,
    pub last_out: usize,
    /// The cycles of the output beats with `tlast`, one per frame.
    pub frame_ends: Vec<usize>,
    /// Every output beat's data, in order, when the run records them.
    pub outputs: Vec<BitVec>,
}

/// The first thing that went wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamFailure {
    pub cycle: usize,
    /// Frame and pixel of the expected beat, if one was due.
    pub at: Option<(usize, usize)>,
    pub what: String,
    pub expected: Option<BitVec>,
    pub actual: Option<BitVec>,
}

/// An output beat the golden model says will come.
struct Expected {
    frame: usize,
    pixel: usize,
    data: BitVec,
    last: bool,
}

/// The source's state: which frame and pixel it offers, if any.
struct Source {
    frame: usize,
    pixel: usize,
    offering: bool,
}

/// Cycles with no beat in or out after which the design is deadlocked.
fn patience(frame_cycles: usize) -> usize {
    4 * frame_cycles + 1000
}

/// A run in progress: the source, the sink and what is still expected.
struct Streaming<'a> {
    model: &'a mut Model,
    ports: StreamPorts,
    golden: &'a dyn Fn(&[BitVec]) -> Vec<BitVec>,
    run: &'a StreamRun,
    rng: SplitMix64,
    expected: VecDeque<Expected>,
    source: Source,
    outcome: StreamOutcome,
    /// An output beat offered and not taken: it must be offered again.
    held: Option<(BitVec, Option<bool>)>,
    reset_done: bool,
}

impl Streaming<'_> {
    fn failure(cycle: usize, what: String) -> StreamFailure {
        StreamFailure { cycle, at: None, what, expected: None, actual: None }
    }

    /// The mid-frame reset, once, when the source has sent its pixels: that
    /// frame and every result not yet out are dropped.
    fn maybe_reset(&mut self) -> bool {
        let due =
            !self.reset_done && self.run.reset == Some((self.source.frame, self.source.pixel)) && self.source.pixel > 0;
        if due {
            reset(self.model, self.ports);
            self.reset_done = true;
            self.expected.clear();
            self.held = None;
            self.source = Source { frame: self.source.frame + 1, pixel: 0, offering: false };
        }
        due
    }

    /// One clock cycle; returns whether a beat moved in or out.
    fn cycle(&mut self, cycle: usize) -> Result<bool, StreamFailure> {
        let sending = self.source.frame < self.run.frames.len();
        if sending && !self.source.offering {
            self.source.offering = !self.rng.chance(self.run.stalls.input, 256);
        }
        let ready = !self.rng.chance(self.run.stalls.output, 256);
        if sending {
            self.model.set(self.ports.in_data, &self.run.frames[self.source.frame][self.source.pixel]);
        }
        self.model.set_bit(self.ports.in_valid, sending && self.source.offering);
        let beat = sample_outputs(self.model, self.ports, ready, self.run.check_ready_independence)
            .map_err(|what| Streaming::failure(cycle, what))?;
        if let Some((data, last)) = &self.held
            && (!beat.valid || beat.data != *data || beat.last != *last)
        {
            let what = "m_axis_tvalid or tdata changed before the beat moved".to_string();
            return Err(StreamFailure { cycle, at: None, what, expected: Some(data.clone()), actual: Some(beat.data) });
        }
        let in_fire = sending && self.source.offering && beat.in_ready;
        let out_fire = beat.valid && ready;
        if out_fire {
            check_beat(&mut self.expected, &beat, cycle)?;
            self.outcome.beats_out += 1;
            self.outcome.last_out = cycle;
            if self.run.record_outputs {
                self.outcome.outputs.push(beat.data.clone());
            }
            if beat.last == Some(true) {
                self.outcome.frame_ends.push(cycle);
            }
        }
        self.held = (beat.valid && !ready).then(|| (beat.data.clone(), beat.last));
        self.model.rise();
        if in_fire {
            self.accepted(cycle);
        }
        Ok(in_fire || out_fire)
    }

    /// The source's pixel moved: on to the next (and the next frame).
    fn accepted(&mut self, cycle: usize) {
        let s = &mut self.source;
        if s.pixel == 0 {
            queue_frame(&mut self.expected, (self.golden)(&self.run.frames[s.frame]), s.frame);
        }
        if self.outcome.beats_in == 0 {
            self.outcome.first_in = cycle;
        }
        self.outcome.beats_in += 1;
        s.offering = false;
        s.pixel += 1;
        if s.pixel == self.run.frames[s.frame].len() {
            *s = Source { frame: s.frame + 1, pixel: 0, offering: false };
        }
    }
}

/// Runs `run` through `model`; `golden` maps an input frame to its output
/// frame, `frame_cycles` bounds how long a frame may take.
pub fn run_stream(
    model: &mut Model,
    ports: StreamPorts,
    golden: &dyn Fn(&[BitVec]) -> Vec<BitVec>,
    run: &StreamRun,
    frame_cycles: usize,
) -> Result<StreamOutcome, StreamFailure> {
    reset(model, ports);
    let mut s = Streaming {
        model,
        ports,
        golden,
        run,
        rng: SplitMix64::new(run.seed),
        expected: VecDeque::new(),
        source: Source { frame: 0, pixel: 0, offering: false },
        outcome: StreamOutcome::default(),
        held: None,
        reset_done: run.reset.is_none(),
    };
    let mut idle = 0;
    for cycle in 0.. {
        if s.source.frame >= run.frames.len() && s.expected.is_empty() {
            s.outcome.cycles = cycle;
            return Ok(s.outcome);
        }
        if idle > patience(frame_cycles) {
            let at = s.expected.front().map(|e| (e.frame, e.pixel));
            let what = format!("deadlock: no beat in or out for {idle} cycles");
            return Err(StreamFailure { at, ..Streaming::failure(cycle, what) });
        }
        if s.maybe_reset() {
            continue;
        }
        idle = if s.cycle(cycle)? { 0 } else { idle + 1 };
    }
    unreachable!("the loop returns")
}

fn reset(model: &mut Model, ports: StreamPorts) {
    model.set_bit(ports.rst, true);
    model.set_bit(ports.in_valid, false);
    model.set_bit(ports.out_ready, false);
    model.cycle();
    model.set_bit(ports.rst, false);
}

/// The design's outputs before the edge.
struct Beat {
    in_ready: bool,
    valid: bool,
    data: BitVec,
    /// None without a `tlast` port.
    last: Option<bool>,
}

/// Settles with `m_axis_tready` as the sink drives it; with `check`, also
/// with the opposite value first, and the outputs must not differ.
fn sample_outputs(model: &mut Model, ports: StreamPorts, ready: bool, check: bool) -> Result<Beat, String> {
    let read = |model: &mut Model| Beat {
        in_ready: model.output_bit(ports.in_ready),
        valid: model.output_bit(ports.out_valid),
        data: model.output(ports.out_data),
        last: ports.out_last.map(|i| model.output_bit(i)),
    };
    if check {
        model.set_bit(ports.out_ready, !ready);
        model.settle();
        let other = read(model);
        model.set_bit(ports.out_ready, ready);
        model.settle();
        let beat = read(model);
        if other.valid != beat.valid || (beat.valid && (other.data != beat.data || other.last != beat.last)) {
            return Err("m_axis_tvalid or tdata depends on m_axis_tready in the same cycle".into());
        }
        return Ok(beat);
    }
    model.set_bit(ports.out_ready, ready);
    model.settle();
    Ok(read(model))
}

fn queue_frame(expected: &mut VecDeque<Expected>, outputs: Vec<BitVec>, frame: usize) {
    let n = outputs.len();
    for (pixel, data) in outputs.into_iter().enumerate() {
        expected.push_back(Expected { frame, pixel, data, last: pixel + 1 == n });
    }
}

fn check_beat(expected: &mut VecDeque<Expected>, beat: &Beat, cycle: usize) -> Result<(), StreamFailure> {
    let Some(want) = expected.pop_front() else {
        let what = "an output beat that no input frame explains".to_string();
        return Err(StreamFailure { cycle, at: None, what, expected: None, actual: Some(beat.data.clone()) });
    };
    let at = Some((want.frame, want.pixel));
    if beat.data != want.data {
        return Err(StreamFailure {
            cycle,
            at,
            what: "m_axis_tdata differs".into(),
            expected: Some(want.data),
            actual: Some(beat.data.clone()),
        });
    }
    if let Some(last) = beat.last
        && last != want.last
    {
        let what = format!(
            "m_axis_tlast is {} on {} pixel of the frame",
            u8::from(last),
            if want.last { "the last" } else { "a" }
        );
        return Err(StreamFailure { cycle, at, what, expected: None, actual: None });
    }
    Ok(())
}

/// Directed frames (SPEC 6, issue 11): every input bit 1 and every bit 0
/// (all +1, all -1), a single +1 pixel at each corner, and for PA-Net
/// SPEC 6.6 with no stalls: back-to-back frames end exactly `cpf` cycles
/// apart, and the run takes at most frames x cpf plus the stated fill.
pub fn check_throughput(cpf: usize, fill: u64, out: &StreamOutcome) -> Result<String, String> {
    let gaps: Vec<usize> = out.frame_ends.windows(2).map(|w| w[1] - w[0]).collect();
    if let Some(bad) = gaps.iter().find(|&&g| g != cpf) {
        return Err(format!("frames ended {bad} cycles apart with no stalls; cycles_per_frame is {cpf}: {gaps:?}"));
    }
    let frames = out.frame_ends.len();
    let taken = (out.last_out - out.first_in + 1) as u64;
    let allowed = (frames * cpf) as u64 + fill;
    if taken > allowed {
        return Err(format!(
            "{frames} frames took {taken} cycles, more than {frames} x {cpf} + the stated fill {fill}"
        ));
    }
    // A network whose last layer ignores the input's last rows (a pool
    // dropping them) ends before frames x cpf: its fill is negative.
    let measured = taken as i64 - (frames * cpf) as i64;
    Ok(format!("{cpf} cycles per frame as stated, fill {measured} of at most {fill}"))
}

/// One run's result: it ran (matching or not), or it could not start.
pub type RunResult = Result<Result<StreamOutcome, StreamFailure>, String>;

/// A failed set of runs as a person reads it: one line (without the
/// design's label) and the whole report.
pub struct RunsFailed {
    pub summary: String,
    pub report: String,
}

/// What [`verify_runs`] reports with: the checks (their progress switch),
/// the design's label, and when its verification started.
pub type Progress<'a> = (super::testbench::Checks, &'a str, std::time::Instant);

/// An engine's or a network's runs under Verilator: `build` makes the
/// model once, then [`run_scenarios`] runs `all` `jobs` at a time, saying
/// as each ends. The output beats checked and the first run's throughput
/// note; or the first failure, a mismatch with `report`'s account of it
/// (which reruns it with a trace).
pub fn verify_runs(
    all: &[(String, StreamRun)],
    (throughput, jobs): ((usize, u64), usize),
    (checks, label, t0): Progress,
    build: &dyn Fn() -> Result<(), String>,
    run: &(dyn Fn(&StreamRun) -> RunResult + Sync),
    report: &dyn Fn(&str, &StreamRun, &StreamFailure) -> String,
) -> Result<(usize, String), RunsFailed> {
    let failed = |what: String| RunsFailed { summary: what.lines().next().unwrap_or("").to_string(), report: what };
    let count = all.len();
    let jobs = jobs.clamp(1, count.max(1));
    checks.say(label, &format!("Verilator model build, then {count} runs, {jobs} at a time"), t0);
    // Built once here, so that the runs' threads only load it.
    build().map_err(failed)?;
    let one = |i: usize| {
        let outcome = run(&all[i].1);
        checks.say(label, &format!("run {}/{count} done: {}", i + 1, all[i].0), t0);
        outcome
    };
    run_scenarios(count, throughput, jobs, &one).map_err(|e| match e {
        ScenarioError::Setup(e) => failed(e),
        ScenarioError::Throughput(i, e) => failed(format!("{}: {e}", all[i].0)),
        ScenarioError::Mismatch(i, f) => {
            let (name, run) = &all[i];
            RunsFailed { summary: format!("{name}: {}", f.what), report: report(name, run, &f) }
        }
    })
}

/// Why a set of runs failed: a run could not start; run `i` did not
/// match the golden model; or the first run, without stalls, missed the
/// stated throughput.
#[derive(Debug)]
enum ScenarioError {
    Setup(String),
    Mismatch(usize, Box<StreamFailure>),
    Throughput(usize, String),
}

/// Runs `run(i)` for every run of `0..count`, `jobs` at a time, each on a
/// model of its own (no run starts after one has failed), and judges the outcomes in order: the first failure
/// by index, or the output beats checked and the first run's throughput
/// against `(cycles_per_frame, stated fill)` (see [`check_throughput`]).
fn run_scenarios(
    count: usize,
    (cpf, fill): (usize, u64),
    jobs: usize,
    run: &(dyn Fn(usize) -> RunResult + Sync),
) -> Result<(usize, String), ScenarioError> {
    // After a failure no new run starts. Runs start in index order, so a
    // run left out always follows the failure that left it out.
    let failed = AtomicBool::new(false);
    let outcomes = crate::util::parallel::map_indices(count, jobs, |i| {
        if failed.load(Ordering::SeqCst) {
            return None;
        }
        let outcome = run(i);
        if !matches!(outcome, Ok(Ok(_))) {
            failed.store(true, Ordering::SeqCst);
        }
        Some(outcome)
    });
    let (mut beats, mut note) = (0, String::new());
    for (i, outcome) in outcomes.into_iter().enumerate() {
        let Some(outcome) = outcome else { continue };
        let outcome = outcome.map_err(ScenarioError::Setup)?.map_err(|f| ScenarioError::Mismatch(i, Box::new(f)))?;
        beats += outcome.beats_out;
        if i == 0 {
            note = check_throughput(cpf, fill, &outcome).map_err(|e| ScenarioError::Throughput(i, e))?;
        }
    }
    Ok((beats, note))
}

/// every activation on each endpoint.
pub fn directed_frames(p: &EngineParams) -> Vec<Vec<BitVec>> {
    let g = &p.geometry;
    let (h, w, bits) = (g.height, g.width, p.in_pixel_bits());
    let frame = |f: &dyn Fn(usize, usize) -> BitVec| -> Vec<BitVec> { (0..h * w).map(|q| f(q / w, q % w)).collect() };
    let mut frames = vec![frame(&|_, _| BitVec::ones(bits)), frame(&|_, _| BitVec::zeros(bits))];
    for (cy, cx) in [(0, 0), (0, w - 1), (h - 1, 0), (h - 1, w - 1)] {
        frames.push(frame(&|y, x| if (y, x) == (cy, cx) { BitVec::ones(bits) } else { BitVec::zeros(bits) }));
    }
    if p.kind == EngineKind::PaConv {
        let b = p.act_bits as usize;
        for &v in &p.endpoints {
            let pixel = BitVec::from_fn(bits, |i| (v >> (i % b)) & 1 == 1);
            frames.push(frame(&|_, _| pixel.clone()));
        }
    }
    frames
}

pub fn random_frames(p: &EngineParams, count: usize, rng: &mut SplitMix64) -> Vec<Vec<BitVec>> {
    random_frames_of(p.geometry.height * p.geometry.width, p.in_pixel_bits(), count, rng)
}

/// `count` frames of `pixels` random pixels of `bits` bits.
pub fn random_frames_of(pixels: usize, bits: usize, count: usize, rng: &mut SplitMix64) -> Vec<Vec<BitVec>> {
    (0..count).map(|_| (0..pixels).map(|_| BitVec::random(bits, rng)).collect()).collect()
}

/// The runs every engine goes through (`frame_scenarios`).
pub fn scenarios(p: &EngineParams, frames: usize, seed: u64) -> Vec<(String, StreamRun)> {
    let g = &p.geometry;
    frame_scenarios(g.height, g.width, p.in_pixel_bits(), directed_frames(p), frames, seed)
}

/// The runs of any stream design taking frames of `height` x `width`
/// pixels of `pixel_bits` bits, `frames` (at least 1) random frames a run:
/// the `directed` frames and `frames - 1` random ones back to back with no
/// stalls (the first run, where the frame interval is measured), `frames`
/// with random stalls at several rates on each side and both, and
/// `frames + 1` with a reset in the middle of the second.
pub fn frame_scenarios(
    height: usize,
    width: usize,
    pixel_bits: usize,
    directed: Vec<Vec<BitVec>>,
    frames: usize,
    seed: u64,
) -> Vec<(String, StreamRun)> {
    assert!(frames >= 1, "frame_scenarios needs at least one frame a run");
    let mut rng = SplitMix64::new(seed);
    let pixels = height * width;
    let random = |count, rng: &mut SplitMix64| random_frames_of(pixels, pixel_bits, count, rng);
    let mut first = directed;
    first.extend(random(frames - 1, &mut rng));
    let run = |frames, stalls, reset, seed| StreamRun {
        frames,
        stalls,
        reset,
        seed,
        check_ready_independence: true,
        record_outputs: false,
    };
    let mut out = vec![("no stalls, directed and random frames".to_string(), run(first, Stalls::NONE, None, seed))];
    for (i, (input, output)) in [(64, 0), (0, 64), (128, 128), (230, 230)].into_iter().enumerate() {
        let name = format!("stalls: input {:.0}%, output {:.0}%", input as f64 / 2.56, output as f64 / 2.56);
        out.push((name, run(random(frames, &mut rng), Stalls { input, output }, None, seed + i as u64 + 1)));
    }
    let half = pixels.div_ceil(2);
    let reset = run(random(frames + 1, &mut rng), Stalls { input: 64, output: 64 }, Some((1, half)), seed + 9);
    out.push((format!("reset after {half} pixels of frame 1, stalls 25% both sides"), reset));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_run_takes_the_frames_asked_for() {
        let directed = vec![vec![BitVec::zeros(3); 4]; 2];
        for frames in [1, 3, 7] {
            let runs = frame_scenarios(2, 2, 3, directed.clone(), frames, 5);
            let counts: Vec<usize> = runs.iter().map(|(_, r)| r.frames.len()).collect();
            assert_eq!(counts, [2 + frames - 1, frames, frames, frames, frames, frames + 1], "frames {frames}");
            assert!(runs.iter().flat_map(|(_, r)| &r.frames).all(|f| f.len() == 4 && f[0].len() == 3));
            assert_eq!(runs[5].1.reset, Some((1, 2)), "the reset falls in the second frame, after half its pixels");
        }
    }
}
