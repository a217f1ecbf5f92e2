//! The cycle-accurate test bench: stimulus with directed corners, random
//! vectors, bubbles and a reset mid-stream, checked against the golden
//! model on every cycle.

use crate::eda;
use crate::eda::verilator::{ModelOptions, Trace};
use crate::generator::render::Rendered;
use crate::model::golden::Golden;
use crate::sim::{Model, port_widths};
use crate::spec::params::{Block, DesignParams};
use crate::spec::signature::{Role, Signature};
use crate::util::bits::{BitVec, SplitMix64};
use crate::util::cputime;
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// One cycle of stimulus of a fixed-latency design.
#[derive(Clone, Debug)]
pub struct Cycle {
    pub rst: bool,
    pub in_valid: bool,
    pub inputs: Vec<BitVec>,
}

/// How much stimulus to apply.
#[derive(Clone, Copy, Debug)]
pub struct Effort {
    /// Units: random cycles after the directed corners.
    pub random_cycles: usize,
    /// Streaming engines and networks: random frames in each stalled run
    /// (see `frame_scenarios`).
    pub frames: usize,
    pub seed: u64,
    /// Streaming engines and networks: runs simulated at once, each on a
    /// model of its own (1: one after another).
    pub jobs: usize,
}

/// Frames in each stalled run unless asked for more.
pub const DEFAULT_FRAMES: usize = 3;

impl Default for Effort {
    fn default() -> Effort {
        Effort { random_cycles: 1500, frames: DEFAULT_FRAMES, seed: 0x5eed, jobs: 1 }
    }
}

/// Corner patterns: a function of (input index, vector length) per pattern.
type Pattern = fn(usize, usize, &mut SplitMix64) -> BitVec;

const CORNERS: &[(&str, Pattern)] = &[
    ("all zeros", |_, n, _| BitVec::zeros(n)),
    ("all ones", |_, n, _| BitVec::ones(n)),
    ("first ones, rest zeros", |i, n, _| if i == 0 { BitVec::ones(n) } else { BitVec::zeros(n) }),
    ("first zeros, rest ones", |i, n, _| if i == 0 { BitVec::zeros(n) } else { BitVec::ones(n) }),
    ("alternating 0101", |_, n, _| BitVec::from_fn(n, |b| b % 2 == 0)),
    ("alternating, opposite phases", |i, n, _| BitVec::from_fn(n, |b| (b + i) % 2 == 0)),
    ("single 1 at bit 0", |_, n, _| BitVec::from_fn(n, |b| b == 0)),
    ("single 1 at the top bit", |_, n, _| BitVec::from_fn(n, |b| b == n - 1)),
    ("single 0 at bit 0", |_, n, _| BitVec::from_fn(n, |b| b != 0)),
    ("one shared random vector", |_, n, r| {
        let mut own = SplitMix64::new(r.next_u64() & 0xffff_0000);
        BitVec::random(n, &mut own)
    }),
    ("random, complemented per input", |i, n, r| {
        let mut own = SplitMix64::new(r.next_u64() & 0xffff_0000);
        let v = BitVec::random(n, &mut own);
        if i % 2 == 0 { v } else { v.not() }
    }),
];

/// Directed inputs that depend on the block: for PA-Net, every activation
/// exactly on, just below and just above every endpoint, and the most
/// negative and most positive activation, each value at every element,
/// with the weight bases random and then all ones.
pub fn block_corners(p: &DesignParams, seed: u64) -> Vec<Vec<BitVec>> {
    if !matches!(p.block, Block::Pa | Block::PaQuantizer) {
        return vec![];
    }
    let bits = p.act_bits;
    let (min, max) = (-(1i64 << (bits - 1)), (1i64 << (bits - 1)) - 1);
    let mut values: Vec<i64> = vec![min, max];
    for &v in &p.endpoints {
        values.extend([v - 1, v, v + 1]);
    }
    values.retain(|v| (min..=max).contains(v));
    values.sort();
    values.dedup();
    let mut rng = SplitMix64::new(seed);
    let ports = p.input_ports();
    let mut out = vec![];
    for all_ones in [false, true] {
        for r in 0..values.len() {
            let act = BitVec::from_fn(p.len * bits as usize, |b| {
                let k = b / bits as usize;
                let v = values[(k + r) % values.len()];
                (v >> (b % bits as usize)) & 1 == 1
            });
            let mut inputs = vec![act];
            inputs.extend(
                ports[1..]
                    .iter()
                    .map(|q| if all_ones { BitVec::ones(q.width) } else { BitVec::random(q.width, &mut rng) }),
            );
            out.push(inputs);
        }
    }
    out
}

/// Reset, the directed corners back to back, a random stream with bubbles
/// and a reset pulse in its middle, then a drain with no input.
pub fn stimulus(widths: &[usize], latency: u32, effort: Effort, directed: Vec<Vec<BitVec>>) -> Vec<Cycle> {
    let mut rng = SplitMix64::new(effort.seed);
    let random_inputs = |rng: &mut SplitMix64| widths.iter().map(|&w| BitVec::random(w, rng)).collect::<Vec<_>>();
    let mut steps = vec![];
    // Reset while garbage is offered as valid: none of it may come out.
    for _ in 0..2 {
        steps.push(Cycle { rst: true, in_valid: true, inputs: random_inputs(&mut rng) });
    }
    for (_, pattern) in CORNERS {
        // Both the pattern and its "random" members repeat identically
        // across inputs when a pattern says so: reseed per corner.
        let seed = rng.next_u64();
        let inputs = widths
            .iter()
            .enumerate()
            .map(|(i, &w)| {
                let mut r = SplitMix64::new(seed);
                pattern(i, w, &mut r)
            })
            .collect();
        steps.push(Cycle { rst: false, in_valid: true, inputs });
    }
    steps.extend(directed.into_iter().map(|inputs| Cycle { rst: false, in_valid: true, inputs }));
    let reset_at = effort.random_cycles / 2;
    for c in 0..effort.random_cycles {
        let rst = c >= reset_at && c < reset_at + 1 + (latency as usize % 3);
        let in_valid = rng.chance(3, 4);
        steps.push(Cycle { rst, in_valid, inputs: random_inputs(&mut rng) });
    }
    for _ in 0..latency + 2 {
        steps.push(Cycle { rst: false, in_valid: false, inputs: random_inputs(&mut rng) });
    }
    steps
}

/// The first disagreement between the design and the golden model.
#[derive(Clone, Debug)]
pub struct Mismatch {
    pub cycle: usize,
    /// Index of the step whose inputs produced the expected value, if any.
    pub source: Option<usize>,
    pub expected: Option<BitVec>,
    pub got_valid: bool,
    pub got: BitVec,
}

/// Checked cycles and the first mismatch.
pub struct RunResult {
    pub cycles: usize,
    pub checked_outputs: usize,
    pub mismatch: Option<Mismatch>,
}

/// Where a fixed-latency design's ports are among the model's inputs and
/// outputs (SPEC section 4), read from its signature.
#[derive(Clone, Debug)]
pub struct FixedLatencyPorts {
    rst: usize,
    in_valid: usize,
    /// The data inputs, in the order of [`DesignParams::input_ports`].
    data: Vec<usize>,
    out_valid: usize,
    y: usize,
    pub latency: u32,
}

impl FixedLatencyPorts {
    pub fn of(signature: &Signature) -> Result<FixedLatencyPorts, String> {
        let missing = |what: &str| format!("{} is not a fixed-latency design: it has no {what}", signature.top);
        let input = |role: Role| signature.input_index(role).ok_or_else(|| missing(&format!("{role:?} input")));
        let output = |role: Role| signature.output_index(role).ok_or_else(|| missing(&format!("{role:?} output")));
        let data = signature.driven_inputs().enumerate().filter(|(_, p)| p.role == Role::Data).map(|(i, _)| i);
        Ok(FixedLatencyPorts {
            rst: input(Role::Reset)?,
            in_valid: input(Role::InValid)?,
            data: data.collect(),
            out_valid: output(Role::OutValid)?,
            y: output(Role::Result)?,
            latency: signature.latency().ok_or_else(|| missing("fixed latency"))?,
        })
    }

    /// Applies one cycle's inputs and clocks it; returns `out_valid` after the edge.
    pub fn cycle(&self, model: &mut Model, step: &Cycle) -> bool {
        for (&i, v) in self.data.iter().zip(&step.inputs) {
            model.set(i, v);
        }
        model.set_bit(self.rst, step.rst);
        model.set_bit(self.in_valid, step.in_valid);
        model.cycle();
        model.output_bit(self.out_valid)
    }

    /// The result port after the last edge.
    pub fn y(&self, model: &mut Model) -> BitVec {
        model.output(self.y)
    }

    /// The first words of the result port after the last edge.
    pub fn y_words<'m>(&self, model: &'m mut Model) -> &'m [u64] {
        model.output_words(self.y)
    }
}

/// Drives `steps` through the model and compares every cycle's `out_valid`
/// and every valid `y` with the golden model delayed by the latency.
pub fn run(model: &mut Model, ports: &FixedLatencyPorts, golden: &Golden, steps: &[Cycle]) -> RunResult {
    let latency = ports.latency as usize;
    // What each register stage holds: the step index and its result.
    let mut stages: Vec<Option<(usize, BitVec)>> = vec![None; latency];
    let mut checked = 0;
    for (cycle, step) in steps.iter().enumerate() {
        let got_valid = ports.cycle(model, step);
        if step.rst {
            stages.iter_mut().for_each(|s| *s = None);
        } else {
            stages.rotate_right(1);
            stages[0] = step.in_valid.then(|| (cycle, golden.eval_bits(&step.inputs)));
        }
        let expected = &stages[latency - 1];
        let ok = match expected {
            None => !got_valid,
            Some((_, want)) => got_valid && model.output_is(ports.y, want),
        };
        if !ok {
            return RunResult {
                cycles: cycle + 1,
                checked_outputs: checked,
                mismatch: Some(Mismatch {
                    cycle,
                    source: expected.as_ref().map(|e| e.0),
                    expected: expected.as_ref().map(|e| e.1.clone()),
                    got_valid,
                    got: ports.y(model),
                }),
            };
        }
        checked += usize::from(expected.is_some());
    }
    RunResult { cycles: steps.len(), checked_outputs: checked, mismatch: None }
}

/// A result as a user reads it: a signed or unsigned integer when it is
/// one, else hex.
fn show(v: &BitVec, signed: bool, scalar: bool) -> String {
    if scalar && v.len() <= 64 { v.to_i64(signed).to_string() } else { v.to_hex() }
}

/// What to check besides simulation.
#[derive(Clone, Copy, Debug)]
pub struct Checks {
    pub lint: bool,
    pub iverilog: bool,
    pub yosys: bool,
    /// The Verilog is a synthesised gate netlist: Verilator's warnings about
    /// it (bit-level loops it cannot order statically) are not fatal.
    pub netlist: bool,
    /// Say each step on stderr as it starts (one design verified alone;
    /// a sweep prints a line per design instead).
    pub progress: bool,
}

impl Checks {
    /// `[  12.3s] <label>: <step>` on stderr, when `progress` asks for it.
    pub fn say(&self, label: &str, step: &str, t0: Instant) {
        if self.progress {
            eprintln!("[{:>7.1}s] {label}: {step}", t0.elapsed().as_secs_f64());
        }
    }
}

/// Outcome of verifying one design.
pub struct Verdict {
    pub passed: bool,
    pub summary: String,
    pub report: String,
}

/// Writes a design's files under `work`, then [`static_checks`] them.
pub fn write_and_check(
    work: &Path,
    files: &[(String, String)],
    verilog: &[String],
    top: &str,
    checks: Checks,
) -> Result<Vec<String>, String> {
    std::fs::create_dir_all(work)
        .map_err(|e| e.to_string())
        .and_then(|_| crate::util::files::write_files(work, files))
        .map_err(|e| format!("cannot write the design: {e}"))?;
    static_checks(work, verilog, top, checks)
}

/// Lint, Icarus and Yosys, as `checks` asks; returns what passed.
pub(crate) fn static_checks(work: &Path, verilog: &[String], top: &str, checks: Checks) -> Result<Vec<String>, String> {
    let mut notes = vec![];
    let t0 = Instant::now();
    if checks.lint {
        checks.say(top, "verilator --lint-only -Wall", t0);
        eda::verilator::lint(work, verilog, top)?;
        notes.push("lint clean".to_string());
    }
    if checks.iverilog {
        checks.say(top, "iverilog", t0);
        eda::iverilog::check(work, verilog, top)?;
        notes.push("iverilog ok".to_string());
    }
    if checks.yosys {
        checks.say(top, "yosys synth", t0);
        let stats = eda::yosys::synth(work, verilog, top)?;
        notes.push(format!("yosys {} cells", stats.total()));
    }
    Ok(notes)
}

/// Writes the design under `work`, lints it, synthesises it, simulates it
/// against the golden model; on a mismatch reruns with a VCD trace.
pub fn verify(rendered: &Rendered, work: &Path, checks: Checks, effort: Effort, label: &str) -> Verdict {
    let t0 = Instant::now();
    let fail = |what: String| Verdict {
        passed: false,
        summary: format!("{label}: {}", what.lines().next().unwrap_or("")),
        report: what,
    };
    let notes = match write_and_check(work, &rendered.files, &rendered.verilog_files(), &rendered.params.top, checks) {
        Ok(notes) => notes,
        Err(e) => return fail(e),
    };
    let bench = FixedLatencyBench::new(rendered, checks.netlist, effort);
    match bench.and_then(|b| b.run().map(|r| (b, r))) {
        Err(e) => fail(e),
        Ok((b, result)) => match result.mismatch {
            None => Verdict {
                passed: true,
                summary: format!(
                    "{label}: latency {}, {} cycles, {} outputs checked, {}; {:.1}s",
                    b.ports.latency,
                    result.cycles,
                    result.checked_outputs,
                    notes.join(", "),
                    t0.elapsed().as_secs_f64()
                ),
                report: String::new(),
            },
            Some(m) => Verdict {
                passed: false,
                summary: format!("{label}: mismatch at cycle {}", m.cycle),
                report: b.mismatch_report(&m, work, label),
            },
        },
    }
}

/// Builds (or finds) the Verilator model of `files` and loads it, tracing
/// into `trace`.
pub fn load_model(
    files: &[(String, String)],
    signature: &Signature,
    netlist: bool,
    trace: Option<&Path>,
) -> Result<Model, String> {
    let options = ModelOptions {
        trace: if trace.is_some() { Trace::All } else { Trace::Off },
        netlist,
        ..ModelOptions::default()
    };
    let lib = eda::verilator::build_model(files, signature, &options)?;
    Model::load(&lib.path, port_widths(signature), trace)
}

/// The simulation half of [`verify`] for a fixed-latency design.
struct FixedLatencyBench<'r> {
    rendered: &'r Rendered,
    ports: FixedLatencyPorts,
    golden: Golden<'r>,
    steps: Vec<Cycle>,
    netlist: bool,
}

impl<'r> FixedLatencyBench<'r> {
    fn new(rendered: &'r Rendered, netlist: bool, effort: Effort) -> Result<FixedLatencyBench<'r>, String> {
        let p = &rendered.params;
        let signature = &rendered.generated.signature;
        let ports = FixedLatencyPorts::of(signature)?;
        let widths: Vec<usize> = signature.data_inputs().map(|d| d.width as usize).collect();
        let steps = stimulus(&widths, ports.latency, effort, block_corners(p, effort.seed));
        Ok(FixedLatencyBench { rendered, ports, golden: Golden::new(p), steps, netlist })
    }

    fn load(&self, trace: Option<&Path>) -> Result<Model, String> {
        load_model(&self.rendered.verilog(), &self.rendered.generated.signature, self.netlist, trace)
    }

    fn run(&self) -> Result<RunResult, String> {
        Ok(run(&mut self.load(None)?, &self.ports, &self.golden, &self.steps))
    }

    /// What went wrong, for a person: the inputs, the expected and the
    /// actual output, and a VCD trace of the run up to the mismatch.
    fn mismatch_report(&self, m: &Mismatch, work: &Path, label: &str) -> String {
        let top = &self.rendered.params.top;
        let g = &self.rendered.generated;
        let vcd: PathBuf = work.join(format!("{top}.vcd"));
        let traced = self.load(Some(&vcd)).map(|mut d| run(&mut d, &self.ports, &self.golden, &self.steps[..=m.cycle]));
        let mut r = String::new();
        let _ = writeln!(r, "MISMATCH in {label} ({top}, latency {}) at cycle {}:", self.ports.latency, m.cycle);
        match m.source {
            Some(src) => {
                let _ = writeln!(r, "  inputs applied at cycle {src}:");
                for (port, v) in g.signature.data_inputs().zip(&self.steps[src].inputs) {
                    let _ = writeln!(r, "    {} = {}", port.name, v.to_hex());
                }
            }
            None => {
                let _ = writeln!(r, "  no input was due at this cycle");
            }
        }
        let scalar = self.rendered.params.block != Block::PaQuantizer;
        let shown = |v: &BitVec| format!("out_valid = 1, y = {}", show(v, g.y_signed, scalar));
        let want = m.expected.as_ref().map_or("out_valid = 0".to_string(), shown);
        let got = if m.got_valid { shown(&m.got) } else { "out_valid = 0".to_string() };
        let _ = writeln!(r, "  expected {want}\n  actual   {got}");
        let _ = match traced {
            Ok(_) => writeln!(r, "  trace: {}", vcd.display()),
            Err(e) => writeln!(r, "  (no trace: {e})"),
        };
        r
    }
}

/// Simulation speed, in cycles per second of the simulating thread's CPU
/// time (so that a busy machine slows the figure less than wall time
/// would): with the golden model checking every output, and through the
/// model alone.
#[derive(Clone, Debug)]
pub struct Throughput {
    pub cycles: usize,
    pub checked: f64,
    pub model_only: f64,
}

/// `count` steps of random inputs, valid every cycle, after a reset and
/// followed by `latency + 1` idle cycles, so that a run ends drained and
/// the next starts clean.
pub fn random_pool(widths: &[usize], latency: u32, count: usize, seed: u64) -> Vec<Cycle> {
    let mut rng = SplitMix64::new(seed);
    let mut pool: Vec<Cycle> = (0..count)
        .map(|_| Cycle {
            rst: false,
            in_valid: true,
            inputs: widths.iter().map(|&w| BitVec::random(w, &mut rng)).collect(),
        })
        .collect();
    pool.insert(0, Cycle { rst: true, in_valid: false, inputs: pool[0].inputs.clone() });
    for _ in 0..latency + 1 {
        pool.push(Cycle { rst: false, in_valid: false, inputs: pool[1].inputs.clone() });
    }
    pool
}

/// Runs `pass` (`cycles_per_pass` cycles each) until at least `min_cpu`
/// of this thread's CPU time has gone; returns the cycles run and their
/// rate per CPU second.
fn cpu_rate(
    min_cpu: Duration,
    cycles_per_pass: usize,
    mut pass: impl FnMut() -> Result<(), String>,
) -> Result<(usize, f64), String> {
    let start = cputime::thread();
    let mut cycles = 0;
    while cycles == 0 || cputime::thread() - start < min_cpu {
        pass()?;
        cycles += cycles_per_pass;
    }
    Ok((cycles, cycles as f64 / (cputime::thread() - start).as_secs_f64()))
}

/// Cycles per CPU second of `pool`, repeated for at least `min_cpu`,
/// through the model alone: inputs set, one clock, `y` read.
pub fn model_rate(
    model: &mut Model,
    ports: &FixedLatencyPorts,
    pool: &[Cycle],
    min_cpu: Duration,
) -> Result<(usize, f64), String> {
    let mut sink = 0u64;
    let rate = cpu_rate(min_cpu, pool.len(), || {
        for step in pool {
            sink = sink.wrapping_add(u64::from(ports.cycle(model, step)));
            sink = sink.wrapping_add(ports.y_words(model)[0]);
        }
        Ok(())
    });
    std::hint::black_box(sink);
    rate
}

/// Runs random inputs, valid every cycle, through the design's Verilator
/// model for at least `min_cpu` of CPU time, first checked against the
/// golden model, then again through the model alone.
pub fn throughput(rendered: &Rendered, min_cpu: Duration) -> Result<Throughput, String> {
    let p = &rendered.params;
    let signature = &rendered.generated.signature;
    let ports = FixedLatencyPorts::of(signature)?;
    let lib = eda::verilator::build_model(&rendered.verilog(), signature, &ModelOptions::default())?;
    let mut model = Model::load(&lib.path, port_widths(signature), None)?;
    let golden = Golden::new(p);
    // Small enough that the inputs stay in the caches, as a test bench's
    // generated stimulus would.
    let widths: Vec<usize> = signature.data_inputs().map(|d| d.width as usize).collect();
    let pool = random_pool(&widths, ports.latency, 256, 0xbe7c);
    let (cycles, checked) = cpu_rate(min_cpu, pool.len(), || match run(&mut model, &ports, &golden, &pool).mismatch {
        Some(m) => Err(format!("{}: mismatch at cycle {} of the throughput run (see `mbnn sim`)", p.top, m.cycle)),
        None => Ok(()),
    })?;
    let (_, model_only) = model_rate(&mut model, &ports, &pool, min_cpu)?;
    Ok(Throughput { cycles, checked, model_only })
}
