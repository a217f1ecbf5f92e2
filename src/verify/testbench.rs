//! The cycle-accurate test bench: stimulus with directed corners, random
//! vectors, bubbles and a reset mid-stream, checked against the golden
//! model on every cycle.

use crate::eda;
use crate::generator::render::Rendered;
use crate::model::golden::Golden;
use crate::sim::Dut;
use crate::spec::params::{Block, DesignParams};
use crate::util::bits::{BitVec, SplitMix64};
use crate::util::cputime;
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// One cycle of stimulus.
#[derive(Clone, Debug)]
pub struct Step {
    pub rst: bool,
    pub in_valid: bool,
    pub inputs: Vec<BitVec>,
}

/// How much stimulus to apply.
#[derive(Clone, Copy, Debug)]
pub struct Effort {
    pub random_cycles: usize,
    pub seed: u64,
}

impl Default for Effort {
    fn default() -> Effort {
        Effort { random_cycles: 1500, seed: 0x5eed }
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
pub fn stimulus(widths: &[usize], latency: u32, effort: Effort, directed: Vec<Vec<BitVec>>) -> Vec<Step> {
    let mut rng = SplitMix64::new(effort.seed);
    let random_inputs = |rng: &mut SplitMix64| widths.iter().map(|&w| BitVec::random(w, rng)).collect::<Vec<_>>();
    let mut steps = vec![];
    // Reset while garbage is offered as valid: none of it may come out.
    for _ in 0..2 {
        steps.push(Step { rst: true, in_valid: true, inputs: random_inputs(&mut rng) });
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
        steps.push(Step { rst: false, in_valid: true, inputs });
    }
    steps.extend(directed.into_iter().map(|inputs| Step { rst: false, in_valid: true, inputs }));
    let reset_at = effort.random_cycles / 2;
    for c in 0..effort.random_cycles {
        let rst = c >= reset_at && c < reset_at + 1 + (latency as usize % 3);
        let in_valid = rng.chance(3, 4);
        steps.push(Step { rst, in_valid, inputs: random_inputs(&mut rng) });
    }
    for _ in 0..latency + 2 {
        steps.push(Step { rst: false, in_valid: false, inputs: random_inputs(&mut rng) });
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

/// Drives `steps` through the model and compares every cycle's `out_valid`
/// and every valid `y` with the golden model delayed by the latency.
pub fn run(dut: &mut Dut, golden: &Golden, steps: &[Step], latency: u32) -> RunResult {
    // What each register stage holds: the step index and its result.
    let mut stages: Vec<Option<(usize, BitVec)>> = vec![None; latency as usize];
    let mut checked = 0;
    for (cycle, step) in steps.iter().enumerate() {
        for (i, v) in step.inputs.iter().enumerate() {
            dut.set_input(i, v);
        }
        let got_valid = dut.cycle(step.rst, step.in_valid);
        if step.rst {
            stages.iter_mut().for_each(|s| *s = None);
        } else {
            stages.rotate_right(1);
            stages[0] = step.in_valid.then(|| (cycle, golden.eval_bits(&step.inputs)));
        }
        let expected = &stages[latency as usize - 1];
        let ok = match expected {
            None => !got_valid,
            Some((_, want)) => got_valid && dut.y_is(want),
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
                    got: dut.y(),
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

/// The data inputs a simulation model drives, in port order: names and widths.
pub fn model_inputs(p: &DesignParams) -> (Vec<String>, Vec<usize>) {
    p.input_ports().into_iter().map(|port| (port.name, port.width)).unzip()
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
}

/// Outcome of verifying one design.
pub struct Verdict {
    pub passed: bool,
    pub summary: String,
    pub report: String,
}

/// Writes the design under `work`, lints it, synthesises it, simulates it
/// against the golden model; on a mismatch reruns with a VCD trace.
pub fn verify(rendered: &Rendered, work: &Path, checks: Checks, effort: Effort, label: &str) -> Verdict {
    let t0 = Instant::now();
    let p = &rendered.params;
    let g = &rendered.generated;
    let top = &p.top;
    let mut notes = vec![];
    let fail = |what: String| Verdict {
        passed: false,
        summary: format!("{label}: {}", what.lines().next().unwrap_or("")),
        report: what,
    };
    if let Err(e) = std::fs::create_dir_all(work)
        .map_err(|e| e.to_string())
        .and_then(|_| crate::util::files::write_files(work, &rendered.files).map(|_| ()))
    {
        return fail(format!("cannot write the design: {e}"));
    }
    let verilog = rendered.verilog_files();
    if checks.lint {
        if let Err(e) = eda::verilator::lint(work, &verilog, top) {
            return fail(e);
        }
        notes.push("lint clean".to_string());
    }
    if checks.iverilog {
        if let Err(e) = eda::iverilog::check(work, &verilog, top) {
            return fail(e);
        }
        notes.push("iverilog ok".to_string());
    }
    if checks.yosys {
        match eda::yosys::synth(work, &verilog, top) {
            Ok(stats) => notes.push(format!("yosys {} cells", stats.total())),
            Err(e) => return fail(e),
        }
    }
    let (names, widths) = model_inputs(p);
    let files = rendered.verilog();
    let outputs = ["y".to_string()];
    let model = match eda::verilator::build_model(&files, &verilog, top, (&names, &outputs), false, checks.netlist) {
        Ok(m) => m,
        Err(e) => return fail(e),
    };
    let golden = Golden::new(p);
    let steps = stimulus(&widths, g.latency, effort, block_corners(p, effort.seed));
    let load = |lib: &Path, trace: Option<&Path>| Dut::load(lib, widths.clone(), g.y_width as usize, trace);
    let mut dut = match load(&model.path, None) {
        Ok(d) => d,
        Err(e) => return fail(e),
    };
    let result = run(&mut dut, &golden, &steps, g.latency);
    drop(dut);
    let secs = t0.elapsed().as_secs_f64();
    match result.mismatch {
        None => Verdict {
            passed: true,
            summary: format!(
                "{label}: latency {}, {} cycles, {} outputs checked, {}; {secs:.1}s",
                g.latency,
                result.cycles,
                result.checked_outputs,
                notes.join(", ")
            ),
            report: String::new(),
        },
        Some(m) => {
            let vcd: PathBuf = work.join(format!("{top}.vcd"));
            let traced = eda::verilator::build_model(&files, &verilog, top, (&names, &outputs), true, checks.netlist)
                .and_then(|lib| load(&lib.path, Some(&vcd)))
                .map(|mut d| run(&mut d, &golden, &steps[..=m.cycle], g.latency));
            let mut r = String::new();
            let _ = writeln!(r, "MISMATCH in {label} ({top}, latency {}) at cycle {}:", g.latency, m.cycle);
            match m.source {
                Some(src) => {
                    let _ = writeln!(r, "  inputs applied at cycle {src}:");
                    for (name, v) in names.iter().zip(&steps[src].inputs) {
                        let _ = writeln!(r, "    {name} = {}", v.to_hex());
                    }
                }
                None => {
                    let _ = writeln!(r, "  no input was due at this cycle");
                }
            }
            let scalar = p.block != Block::PaQuantizer;
            let want = m.expected.map_or("out_valid = 0".to_string(), |e| {
                format!("out_valid = 1, y = {}", show(&e, g.y_signed, scalar))
            });
            let got = if m.got_valid {
                format!("out_valid = 1, y = {}", show(&m.got, g.y_signed, scalar))
            } else {
                "out_valid = 0".to_string()
            };
            let _ = writeln!(r, "  expected {want}\n  actual   {got}");
            match traced {
                Ok(_) => {
                    let _ = writeln!(r, "  trace: {}", vcd.display());
                }
                Err(e) => {
                    let _ = writeln!(r, "  (no trace: {e})");
                }
            }
            Verdict { passed: false, summary: format!("{label}: mismatch at cycle {}", m.cycle), report: r }
        }
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
pub fn random_pool(widths: &[usize], latency: u32, count: usize, seed: u64) -> Vec<Step> {
    let mut rng = SplitMix64::new(seed);
    let mut pool: Vec<Step> = (0..count)
        .map(|_| Step {
            rst: false,
            in_valid: true,
            inputs: widths.iter().map(|&w| BitVec::random(w, &mut rng)).collect(),
        })
        .collect();
    pool.insert(0, Step { rst: true, in_valid: false, inputs: pool[0].inputs.clone() });
    for _ in 0..latency + 1 {
        pool.push(Step { rst: false, in_valid: false, inputs: pool[1].inputs.clone() });
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
pub fn model_rate(dut: &mut Dut, pool: &[Step], min_cpu: Duration) -> Result<(usize, f64), String> {
    let mut sink = 0u64;
    let rate = cpu_rate(min_cpu, pool.len(), || {
        for step in pool {
            for (i, v) in step.inputs.iter().enumerate() {
                dut.set_input(i, v);
            }
            sink = sink.wrapping_add(u64::from(dut.cycle(step.rst, step.in_valid)));
            sink = sink.wrapping_add(dut.y_words()[0]);
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
    let g = &rendered.generated;
    let (names, widths) = model_inputs(p);
    let model = eda::verilator::build_model(
        &rendered.verilog(),
        &rendered.verilog_files(),
        &p.top,
        (&names, &["y".to_string()]),
        false,
        false,
    )?;
    let mut dut = Dut::load(&model.path, widths.clone(), g.y_width as usize, None)?;
    let golden = Golden::new(p);
    // Small enough that the inputs stay in the caches, as a test bench's
    // generated stimulus would.
    let pool = random_pool(&widths, g.latency, 256, 0xbe7c);
    let (cycles, checked) =
        cpu_rate(min_cpu, pool.len(), || match run(&mut dut, &golden, &pool, g.latency).mismatch {
            Some(m) => Err(format!("{}: mismatch at cycle {} of the throughput run (see `mbnn sim`)", p.top, m.cycle)),
            None => Ok(()),
        })?;
    let (_, model_only) = model_rate(&mut dut, &pool, min_cpu)?;
    Ok(Throughput { cycles, checked, model_only })
}
