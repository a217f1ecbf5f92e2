//! Verifies a network (SPEC 7): lint, Icarus and Yosys on the whole top,
//! then whole images under Verilator against the golden network model,
//! every output beat checked, with random stalls on both sides at several
//! rates and none, and a reset in the middle of an image; with no stalls,
//! images leave exactly the slowest layer's cycles per frame apart.

use super::stream::{StreamFailure, StreamOutcome, StreamPorts, StreamRun, frame_scenarios, run_stream, verify_runs};
use super::testbench::{Checks, Effort, Verdict, load_model, write_and_check};
use crate::generator::render::RenderedNetwork;
use crate::model::network::network_frame;
use crate::spec::network::{NetworkParams, Pixels};
use crate::util::bits::BitVec;
use std::path::Path;
use std::time::Instant;

/// Directed images: every value 0 and every value at its maximum.
pub fn directed_images(p: &NetworkParams) -> Vec<Vec<BitVec>> {
    let pixels = p.input.height * p.input.width;
    let bits = p.in_pixel_bits();
    vec![vec![BitVec::zeros(bits); pixels], vec![BitVec::ones(bits); pixels]]
}

/// The network's output beat as a person reads it: the class, or the sums.
pub fn describe_output(p: &NetworkParams, beat: &BitVec) -> String {
    let last = &p.layers.last().expect("a network has layers").output.pixels;
    match (&p.output, last) {
        (crate::spec::network::NetOutput::Sum, Pixels::Sums { channels, bits, signed }) => {
            let w = *bits as usize;
            let values: Vec<String> = (0..*channels)
                .map(|o| BitVec::from_fn(w, |b| beat.get(o * w + b)).to_i64(*signed).to_string())
                .collect();
            format!("sums [{}]", values.join(", "))
        }
        _ => format!("class {}", beat.to_i64(false)),
    }
}

/// Streams one run through the network's Verilator model.
fn run(
    rendered: &RenderedNetwork,
    ports: StreamPorts,
    run: &StreamRun,
    trace: Option<&Path>,
) -> Result<Result<StreamOutcome, StreamFailure>, String> {
    let p = &rendered.params;
    let mut model = load_model(&rendered.design_files(), &rendered.generated.signature, false, trace)?;
    let patience = p.cycles_per_frame() + rendered.generated.fill_cycles as usize;
    Ok(run_stream(&mut model, ports, &|image| network_frame(p, image), run, patience))
}

fn failure_report(
    rendered: &RenderedNetwork,
    ports: StreamPorts,
    name: &str,
    r: &StreamRun,
    f: &StreamFailure,
    work: &Path,
) -> String {
    let p = &rendered.params;
    let mut lines = vec![format!("MISMATCH in {} ({name}) at cycle {}: {}", p.top, f.cycle, f.what)];
    if let Some((frame, _)) = f.at {
        lines.push(format!("  image {frame}"));
    }
    if let (Some(want), Some(got)) = (&f.expected, &f.actual) {
        lines.push(format!("  expected {}, actual {}", describe_output(p, want), describe_output(p, got)));
    }
    let vcd = work.join(format!("{}.vcd", p.top));
    lines.push(match run(rendered, ports, r, Some(&vcd)) {
        Ok(_) => format!("  trace: {}", vcd.display()),
        Err(e) => format!("  (no trace: {e})"),
    });
    lines.join("\n")
}

/// Writes the network under `work`, lints and synthesises it, and streams
/// every scenario through it; a mismatch reruns that scenario with a trace.
pub fn verify_network(rendered: &RenderedNetwork, work: &Path, checks: Checks, effort: Effort, label: &str) -> Verdict {
    let t0 = Instant::now();
    let fail = |what: String| Verdict {
        passed: false,
        summary: format!("{label}: {}", what.lines().next().unwrap_or("")),
        report: what,
    };
    let p = &rendered.params;
    let mut notes = match write_and_check(work, &rendered.files, &rendered.verilog_files(), &p.top, checks) {
        Ok(notes) => notes,
        Err(e) => return fail(e),
    };
    let ports = match StreamPorts::of(&rendered.generated.signature) {
        Ok(ports) => ports,
        Err(e) => return fail(e),
    };
    let all = frame_scenarios(
        p.input.height,
        p.input.width,
        p.in_pixel_bits(),
        directed_images(p),
        effort.frames,
        effort.seed,
    );
    let beats = match verify_runs(
        &all,
        ((p.cycles_per_frame(), rendered.generated.fill_cycles), effort.jobs),
        (checks, label, t0),
        &|| load_model(&rendered.design_files(), &rendered.generated.signature, false, None).map(drop),
        &|scenario| run(rendered, ports, scenario, None),
        &|name, scenario, f| failure_report(rendered, ports, name, scenario, f, work),
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
        summary: format!("{label}: {beats} images checked, {}; {secs:.1}s", notes.join(", ")),
        report: String::new(),
    }
}

/// Streams `frames` random images (at least two) through the network with
/// no stalls, every output beat checked against the golden network model;
/// the image interval and fill as measured, and the simulation's speed.
pub fn network_rate(rendered: &RenderedNetwork, frames: usize, seed: u64) -> Result<super::engine::StreamRate, String> {
    let p = &rendered.params;
    let ports = StreamPorts::of(&rendered.generated.signature)?;
    let mut rng = crate::util::bits::SplitMix64::new(seed);
    let pixels = p.input.height * p.input.width;
    let images = super::stream::random_frames_of(pixels, p.in_pixel_bits(), frames.max(2), &mut rng);
    let mut model = load_model(&rendered.design_files(), &rendered.generated.signature, false, None)?;
    let patience = p.cycles_per_frame() + rendered.generated.fill_cycles as usize;
    super::engine::measure_rate(&mut model, ports, &|image| network_frame(p, image), images, (&p.top, patience))
}

/// [`network_rate`] on `jobs` threads at once, each streaming `frames`
/// images of its own through a model of its own: the checked cycles per
/// wall second of all of them together (model loads included), and each
/// thread's rate.
pub fn network_rate_on(
    rendered: &RenderedNetwork,
    frames: usize,
    seed: u64,
    jobs: usize,
) -> Result<(f64, Vec<super::engine::StreamRate>), String> {
    // Built once here, so that the threads only load it.
    load_model(&rendered.design_files(), &rendered.generated.signature, false, None)?;
    let wall = Instant::now();
    let rates =
        crate::util::parallel::map_indices(jobs.max(1), jobs, |j| network_rate(rendered, frames, seed + j as u64));
    let seconds = wall.elapsed().as_secs_f64();
    let rates = rates.into_iter().collect::<Result<Vec<_>, String>>()?;
    let cycles: usize = rates.iter().map(|r| r.cycles).sum();
    Ok((cycles as f64 / seconds.max(1e-9), rates))
}

/// A test set through the network's RTL.
#[derive(Clone, Debug)]
pub struct ImagesRun {
    /// The RTL's output beat of each image, in order (each equal to the
    /// golden model's: the run fails on the first that is not).
    pub outputs: Vec<BitVec>,
    /// Cycles between images with no stalls, and the fill.
    pub cycles_per_frame: usize,
    pub fill: u64,
    /// Checked images per CPU second of a simulating thread; per wall
    /// second with every share at once (the model's build excluded); the
    /// shares; and the whole run's wall time (checks, model build and all).
    pub images_per_s: f64,
    pub images_per_wall_s: f64,
    pub shares: usize,
    pub seconds: f64,
    /// What lint, Icarus and Yosys said.
    pub notes: Vec<String>,
}

/// One share of a test set streamed through its own model: the outcome
/// and the simulating thread's CPU seconds, or the failure with its run.
type Share = Result<(StreamOutcome, f64), (StreamRun, StreamFailure)>;

/// Writes the network under `work`, lints and synthesises it, then streams
/// `images` back to back through it with no stalls, every output beat
/// checked against the golden model and kept. The test set is cut into up
/// to `jobs` contiguous shares of at least two images, each streamed at
/// once on a model of its own (each pays the fill). The stall and reset
/// scenarios are [`verify_network`]'s.
pub fn run_images(
    rendered: &RenderedNetwork,
    images: Vec<Vec<BitVec>>,
    work: &Path,
    checks: Checks,
    (label, jobs): (&str, usize),
) -> Result<ImagesRun, String> {
    let t0 = Instant::now();
    let p = &rendered.params;
    let notes = write_and_check(work, &rendered.files, &rendered.verilog_files(), &p.top, checks)?;
    let ports = StreamPorts::of(&rendered.generated.signature)?;
    let count = images.len();
    let shares = jobs.clamp(1, (count / 2).max(1));
    let starts: Vec<usize> = (0..=shares).map(|j| j * count / shares).collect();
    checks.say(label, &format!("Verilator model build, then {count} images back to back, {shares} shares at once"), t0);
    let load = || load_model(&rendered.design_files(), &rendered.generated.signature, false, None);
    // Built once here, so that the shares' threads only load it.
    load()?;
    let patience = p.cycles_per_frame() + rendered.generated.fill_cycles as usize;
    let wall = Instant::now();
    let results = crate::util::parallel::map_indices(shares, shares, |j| -> Result<Share, String> {
        let scenario = StreamRun {
            frames: images[starts[j]..starts[j + 1]].to_vec(),
            stalls: super::stream::Stalls::NONE,
            reset: None,
            seed: 1,
            check_ready_independence: false,
            record_outputs: true,
        };
        let mut model = load()?;
        let cpu = crate::util::cputime::thread();
        let outcome = run_stream(&mut model, ports, &|image| network_frame(p, image), &scenario, patience);
        let cpu_seconds = (crate::util::cputime::thread() - cpu).as_secs_f64();
        Ok(outcome.map(|o| (o, cpu_seconds)).map_err(|f| (scenario, f)))
    });
    let wall_seconds = wall.elapsed().as_secs_f64();
    let (mut outputs, mut cpu_seconds, mut first) = (vec![], 0.0, None);
    for (j, result) in results.into_iter().enumerate() {
        let (outcome, cpu) = match result? {
            Ok(done) => done,
            Err((scenario, mut f)) => {
                // The image's index in the whole test set, not in its share.
                f.at = f.at.map(|(frame, pixel)| (frame + starts[j], pixel));
                return Err(failure_report(rendered, ports, "images", &scenario, &f, work));
            }
        };
        cpu_seconds += cpu;
        outputs.extend(outcome.outputs.iter().cloned());
        first.get_or_insert(outcome);
    }
    // The first share's interval and fill: every share has the same.
    let first = first.expect("a test set has a share");
    let ends = &first.frame_ends;
    let cycles_per_frame = if ends.len() > 1 { (ends[ends.len() - 1] - ends[0]) / (ends.len() - 1) } else { 0 };
    let taken = (first.last_out - first.first_in + 1) as u64;
    Ok(ImagesRun {
        cycles_per_frame,
        fill: taken.saturating_sub((ends.len() * cycles_per_frame) as u64),
        images_per_s: count as f64 / cpu_seconds.max(1e-9),
        images_per_wall_s: count as f64 / wall_seconds.max(1e-9),
        shares,
        seconds: t0.elapsed().as_secs_f64(),
        outputs,
        notes,
    })
}
