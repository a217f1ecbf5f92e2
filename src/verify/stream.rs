//! The stream test bench (SPEC 6.1): whole frames pushed through a design
//! with ready/valid streams, with random stalls on both sides (or none), a
//! reset in the middle of a frame, and every output beat and `tlast`
//! checked against the golden model. It also checks the AXI4-Stream rules
//! the design must keep as a source: `m_axis_tvalid` and `tdata` hold
//! until their beat moves, and `m_axis_tvalid` never depends on
//! `m_axis_tready` in the same cycle.

use crate::sim::Model;
use crate::spec::signature::{Role, Signature};
use crate::util::bits::{BitVec, SplitMix64};
use std::collections::VecDeque;

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
    out_last: usize,
}

impl StreamPorts {
    pub fn of(signature: &Signature) -> Result<StreamPorts, String> {
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
            out_last: output(Role::OutStreamLast)?,
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

/// Runs `run` through `model`; `golden` maps an input frame to its output
/// frame, `frame_cycles` bounds how long a frame may take.
pub fn run_stream(
    model: &mut Model,
    ports: StreamPorts,
    golden: &dyn Fn(&[BitVec]) -> Vec<BitVec>,
    run: &StreamRun,
    frame_cycles: usize,
) -> Result<StreamOutcome, StreamFailure> {
    let mut rng = SplitMix64::new(run.seed);
    let mut expected: VecDeque<Expected> = VecDeque::new();
    let mut source = Source { frame: 0, pixel: 0, offering: false };
    let mut outcome = StreamOutcome::default();
    let mut held: Option<(BitVec, bool)> = None;
    let mut idle = 0;
    reset(model, ports);
    let mut reset_done = run.reset.is_none();
    for cycle in 0.. {
        let sending = source.frame < run.frames.len();
        if !sending && expected.is_empty() {
            outcome.cycles = cycle;
            return Ok(outcome);
        }
        if idle > patience(frame_cycles) {
            let what = format!("deadlock: no beat in or out for {idle} cycles");
            return Err(StreamFailure {
                cycle,
                at: expected.front().map(|e| (e.frame, e.pixel)),
                what,
                expected: None,
                actual: None,
            });
        }
        // A mid-frame reset, once, when the source has sent its pixels.
        if !reset_done && run.reset == Some((source.frame, source.pixel)) && source.pixel > 0 {
            reset(model, ports);
            reset_done = true;
            expected.clear();
            held = None;
            source = Source { frame: source.frame + 1, pixel: 0, offering: false };
            continue;
        }
        if sending && !source.offering {
            source.offering = !rng.chance(run.stalls.input, 256);
        }
        let ready = !rng.chance(run.stalls.output, 256);
        if sending {
            model.set(ports.in_data, &run.frames[source.frame][source.pixel]);
        }
        model.set_bit(ports.in_valid, sending && source.offering);
        let beat = sample_outputs(model, ports, ready, run.check_ready_independence).map_err(|what| StreamFailure {
            cycle,
            at: None,
            what,
            expected: None,
            actual: None,
        })?;
        if let Some((data, last)) = &held
            && (!beat.valid || beat.data != *data || beat.last != *last)
        {
            let what = "m_axis_tvalid or tdata changed before the beat moved".to_string();
            return Err(StreamFailure { cycle, at: None, what, expected: Some(data.clone()), actual: Some(beat.data) });
        }
        let in_fire = sending && source.offering && beat.in_ready;
        let out_fire = beat.valid && ready;
        if out_fire {
            check_beat(&mut expected, &beat, cycle)?;
            outcome.beats_out += 1;
            outcome.last_out = cycle;
        }
        held = (beat.valid && !ready).then(|| (beat.data.clone(), beat.last));
        model.rise();
        if in_fire {
            if source.pixel == 0 {
                queue_frame(&mut expected, golden(&run.frames[source.frame]), source.frame);
            }
            if outcome.beats_in == 0 {
                outcome.first_in = cycle;
            }
            outcome.beats_in += 1;
            source.offering = false;
            source.pixel += 1;
            if source.pixel == run.frames[source.frame].len() {
                source = Source { frame: source.frame + 1, pixel: 0, offering: false };
            }
        }
        idle = if in_fire || out_fire { 0 } else { idle + 1 };
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
    last: bool,
}

/// Settles with `m_axis_tready` as the sink drives it; with `check`, also
/// with the opposite value first, and the outputs must not differ.
fn sample_outputs(model: &mut Model, ports: StreamPorts, ready: bool, check: bool) -> Result<Beat, String> {
    let read = |model: &mut Model| Beat {
        in_ready: model.output_bit(ports.in_ready),
        valid: model.output_bit(ports.out_valid),
        data: model.output(ports.out_data),
        last: model.output_bit(ports.out_last),
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
    if beat.last != want.last {
        let what = format!(
            "m_axis_tlast is {} on {} pixel of the frame",
            u8::from(beat.last),
            if want.last { "the last" } else { "a" }
        );
        return Err(StreamFailure { cycle, at, what, expected: None, actual: None });
    }
    Ok(())
}
