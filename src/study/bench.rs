//! `mbnn bench`: the performance figures of issue #5, each measured beside
//! a baseline in the same run, as one table (and JSON). The baseline
//! hardware is `benches/baseline/xnor_popcount_loop.v`, a plain `for` loop
//! left to the tools; the golden model and generator figures come from the
//! criterion benchmarks (`cargo bench --bench speed`).

use crate::eda::verilator::ModelOptions;
use crate::eda::{self, fpga};
use crate::generator::render::{self, Rendered};
use crate::measure::asic;
use crate::measure::pnr::{self, FpgaReport, PnrDesign};
use crate::rtl::{Dir, Module};
use crate::sim::{Model, port_widths};
use crate::spec::board::Board;
use crate::spec::params::PopcountStyle;
use crate::spec::request::Request;
use crate::spec::signature::{Interface, Role, Signature};
use crate::verify::testbench::{FixedLatencyPorts, model_rate, random_pool};
use std::path::{Path, PathBuf};
use std::time::Instant;

pub use super::bench_table::{Row, render};
use super::bench_table::{Target, progress};

/// One part of the full set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Part {
    /// iCE40 LUT4s per bit of the three popcount structures, and the
    /// criterion figures (the quick subset).
    Quick,
    /// The other iCE40 area figures and ECP5.
    Area,
    /// nextpnr Fmax and placed logic cells.
    Clock,
    /// ASAP7 area and clock.
    Asic,
    /// Verilator speed and build time.
    Sim,
    /// The streaming layer engines: throughput, area against the PE, the
    /// share outside the dot products, memory packing, both boards' Fmax,
    /// BPAC against plain branches, PA-Net against Group-Net.
    Engines,
    /// Whole networks: CNV's image interval against FINN's formula, the
    /// fill against the timing model, images/s checked under Verilator,
    /// memory packing against the ECP5-85F, a folding for a target rate
    /// simulated.
    Networks,
}

/// What to measure.
#[derive(Clone, Debug)]
pub struct Options {
    /// Everything (nextpnr, ASAP7, simulation); else the quick subset.
    pub full: bool,
    /// Only this part; overrides `full`.
    pub only: Option<Part>,
    pub work: PathBuf,
    pub liberty: PathBuf,
    /// criterion's output directory (`target/criterion`), if the criterion
    /// benchmarks ran.
    pub criterion: Option<PathBuf>,
}

const BASELINE_TOP: &str = "xnor_popcount_loop";
const BASELINE_N: usize = 256;
const BASELINE_SRC: &str = include_str!("../../benches/baseline/xnor_popcount_loop.v");

/// The baseline's data inputs, each `N` bits wide.
const BASELINE_DATA_INPUTS: [&str; 2] = ["a", "w"];

/// The width of the baseline's count `y`: `$clog2(N + 1)`.
fn baseline_y_width(n: usize) -> u32 {
    (n + 1).next_power_of_two().ilog2()
}

/// The baseline's files, and its signature at `n` inputs: what the board
/// wrapper and the simulation bridge need to drive it.
fn baseline(n: usize) -> (Vec<(String, String)>, Signature) {
    let mut m = Module::new(BASELINE_TOP);
    m.clock_input();
    m.reset_input();
    m.input("in_valid", 1);
    for name in BASELINE_DATA_INPUTS {
        m.input(name, n as u32);
    }
    m.port("out_valid", Dir::Out, 1, false);
    m.port("y", Dir::Out, baseline_y_width(n), false);
    let roles = [Role::Clock, Role::Reset, Role::InValid, Role::Data, Role::Data, Role::OutValid, Role::Result];
    // It registers its inputs and its count.
    let signature = Signature::of_module(&m, &roles, Interface::FixedLatency { latency: 2 });
    (vec![(format!("{BASELINE_TOP}.v"), BASELINE_SRC.to_string())], signature)
}

fn design(request: &Request) -> Rendered {
    render::render(request.params())
}

/// LUTs per input bit (per XNOR/AND of the bitwise layers) on iCE40,
/// synthesised alone by `synth_ice40`.
fn luts_per_bit(request: &Request, bits: usize, board: Board, work: &Path) -> Result<(f64, fpga::SynthCells), String> {
    let r = design(request);
    let cells = fpga::synth_cells(&r.verilog(), &r.params.top, board, &work.join(&r.params.top))?;
    Ok((cells.luts as f64 / bits as f64, cells))
}

/// Runs the benchmarks; progress goes to stderr.
pub fn bench(opts: &Options) -> Result<Vec<Row>, String> {
    let t0 = Instant::now();
    let mut rows = vec![];
    let (base_files, base_signature) = baseline(BASELINE_N);
    let parts = match (opts.only, opts.full) {
        (Some(part), _) => vec![part],
        (None, true) => {
            vec![Part::Quick, Part::Area, Part::Clock, Part::Asic, Part::Sim, Part::Engines, Part::Networks]
        }
        (None, false) => vec![Part::Quick],
    };
    // Both area parts compare with it; synthesised once, when first needed.
    let mut base_ice = None;
    for part in parts {
        match part {
            Part::Quick => {
                let base_ice = baseline_ice40(&mut base_ice, &base_files, &opts.work, t0)?;
                quick_rows(&mut rows, opts, base_ice, t0)?
            }
            Part::Area => {
                let base_ice = baseline_ice40(&mut base_ice, &base_files, &opts.work, t0)?;
                full_area(&mut rows, opts, (&base_files, base_ice), t0)?
            }
            Part::Clock => fpga_clock(&mut rows, opts, (&base_files, &base_signature), t0)?,
            Part::Asic => asic_rows(&mut rows, opts, &base_files, t0)?,
            Part::Sim => sim_rows(&mut rows, opts, t0)?,
            Part::Engines => crate::study::engine_bench::engine_rows(&mut rows, &opts.work, t0)?,
            Part::Networks => crate::study::network_bench::network_rows(&mut rows, t0)?,
        }
    }
    progress("done", t0);
    Ok(rows)
}

/// The baseline synthesised alone for iCE40, kept in `done` after the
/// first call.
fn baseline_ice40<'a>(
    done: &'a mut Option<fpga::SynthCells>,
    base_files: &[(String, String)],
    work: &Path,
    t0: Instant,
) -> Result<&'a fpga::SynthCells, String> {
    if done.is_none() {
        progress("iCE40 synthesis of the baseline (yosys synth_ice40)", t0);
        *done = Some(fpga::synth_cells(base_files, BASELINE_TOP, Board::IceBreaker, &work.join("baseline_ice40"))?);
    }
    Ok(done.as_ref().expect("filled above"))
}

/// iCE40 area of the three popcount structures, and the criterion figures.
fn quick_rows(rows: &mut Vec<Row>, opts: &Options, base_ice: &fpga::SynthCells, t0: Instant) -> Result<(), String> {
    let work = &opts.work;
    let n = BASELINE_N;

    // iCE40 area: LUT4 per input bit, design alone.
    progress("iCE40 synthesis of the XNOR PE, three popcount structures (yosys synth_ice40)", t0);
    let ice = Board::IceBreaker;
    let base_lpb = base_ice.luts as f64 / n as f64;
    let src = |c: &fpga::SynthCells, what: &str| {
        format!(
            "{what}: yosys `{}` alone; {} SB_LUT4, {} SB_CARRY, {} FFs (baseline {} SB_LUT4, {} SB_CARRY, {} FFs)",
            c.command, c.luts, c.carry_cells, c.flip_flops, base_ice.luts, base_ice.carry_cells, base_ice.flip_flops
        )
    };
    let structures = [
        (
            PopcountStyle::Compressor,
            "iCE40 LUT4 per input bit, XNOR PE n=256, weight ports",
            Target::AtMostAndBaseline(2.2),
        ),
        (PopcountStyle::Carry, "  same, --popcount carry", Target::None),
        (PopcountStyle::Tree, "  same, --popcount tree", Target::None),
    ];
    for (style, figure, target) in structures {
        let pe = Request::xnor_pe(n).popcount_style(style);
        let (lpb, cells) = luts_per_bit(&pe, n, ice, work)?;
        rows.push(Row::new(
            figure,
            "LUT4/bit",
            Some(base_lpb),
            lpb,
            target,
            src(&cells, &format!("gen {}", pe.flags())),
        ));
    }
    match &opts.criterion {
        Some(dir) => rows.extend(crate::study::benchfig::all_figures(dir)?.into_iter().map(Row::from_figure)),
        None => {
            eprintln!("bench: no criterion results: run `cargo bench --bench speed` for the generator and golden model")
        }
    }
    Ok(())
}

/// The other iCE40 area figures and ECP5.
fn full_area(
    rows: &mut Vec<Row>,
    opts: &Options,
    base: (&[(String, String)], &fpga::SynthCells),
    t0: Instant,
) -> Result<(), String> {
    let (base_files, base_ice) = base;
    let work = &opts.work;
    let ice = Board::IceBreaker;
    progress("iCE40 synthesis: constant weights, AND PE, Group-Net K=5", t0);
    let base_lpb = base_ice.luts as f64 / BASELINE_N as f64;
    let cases = [
        ("  XNOR PE n=256, constant weights", Request::xnor_pe(256).const_weights(1), 256, Target::AtMost(1.2)),
        ("  AND PE n=256, weight ports", Request::and_pe(256), 256, Target::AtMost(2.2)),
        (
            "  Group-Net K=5, n=2304 (gen --k 5), weight ports",
            Request::groupnet(5, 2304),
            5 * 2304,
            Target::AtMost(2.2),
        ),
        ("  same, n=256 (scale tree over fewer bits)", Request::groupnet(5, 256), 5 * 256, Target::None),
    ];
    for (figure, request, bits, target) in cases {
        let (lpb, cells) = luts_per_bit(&request, bits, ice, work)?;
        let flags = request.flags();
        let source = format!(
            "gen {flags}: yosys `{}` alone; {} SB_LUT4, {} SB_CARRY over {bits} input bits",
            cells.command, cells.luts, cells.carry_cells
        );
        rows.push(Row::new(figure, "LUT4/bit", Some(base_lpb), lpb, target, source));
    }
    progress("ECP5 synthesis (YoWASP synth_ecp5 -nowidelut)", t0);
    let ecp5 = Board::Ulx3s;
    let base = fpga::synth_cells(base_files, BASELINE_TOP, ecp5, &work.join("baseline_ecp5"))?;
    let (lpb, cells) = luts_per_bit(&Request::xnor_pe(256), 256, ecp5, &work.join("ecp5"))?;
    rows.push(Row::new(
        "ECP5 LUT4 per input bit, XNOR PE n=256, weight ports",
        "LUT4/bit",
        Some(base.luts as f64 / 256.0),
        lpb,
        Target::AtMostBaseline,
        format!(
            "yosys `{}` alone; {} LUT4 + {} CCU2C (baseline {} LUT4 + {} CCU2C)",
            cells.command, cells.luts, cells.carry_cells, base.luts, base.carry_cells
        ),
    ));
    Ok(())
}

/// Pipelining chosen for speed on each target.
const FAST_PIPELINE_ICE40: u32 = 2;
const FAST_PIPELINE_ECP5: u32 = 1;
const FAST_PIPELINE_ASAP7: u32 = 1;

/// Fmax from nextpnr, the design inside the board wrapper (LFSR inputs,
/// signature on LEDs), baseline and generated PE alike.
fn fpga_clock(
    rows: &mut Vec<Row>,
    opts: &Options,
    base: (&[(String, String)], &Signature),
    t0: Instant,
) -> Result<(), String> {
    let (base_files, base_signature) = base;
    let work = &opts.work;
    let boards = [
        (Board::IceBreaker, None),
        (Board::Hx8k, Some((FAST_PIPELINE_ICE40, 150.0))),
        (Board::Ulx3s, Some((FAST_PIPELINE_ECP5, 200.0))),
    ];
    for (board, fast) in boards {
        let what = if fast.is_some() { "baseline, PE, pipelined PE" } else { "baseline, PE" };
        progress(&format!("nextpnr on {board}: {what}"), t0);
        let baseline = PnrDesign { signature: base_signature, verilog: base_files.to_vec() };
        let b = pnr::pnr_design(&baseline, board, &work.join(format!("pnr_{board}_baseline")))?.outcome;
        let pe = |pipeline: u32| -> Result<(FpgaReport, Rendered), String> {
            let r = design(&Request::xnor_pe(256).pipeline(pipeline));
            let rep = pnr::pnr(&r, board, &work.join(format!("pnr_{board}_p{pipeline}")))?;
            Ok((rep, r))
        };
        let p0 = pe(0)?.0.outcome;
        let wrapped = "inside the board wrapper (LFSR inputs, MISR to LEDs), nextpnr Fmax after routing";
        rows.push(Row::new(
            &format!("{board} Fmax, XNOR PE n=256, no inner pipeline"),
            "MHz",
            Some(b.fmax_mhz),
            p0.fmax_mhz,
            Target::AtLeastBaseline,
            format!("{wrapped}; {} LUTs / baseline {} LUTs with the wrapper", p0.luts, b.luts),
        ));
        rows.push(Row::new(
            &format!("{board} placed logic cells, XNOR PE n=256, with the wrapper"),
            "cells",
            Some(b.logic_cells.used as f64),
            p0.logic_cells.used as f64,
            Target::AtMostBaseline,
            format!(
                "nextpnr's logic cells ({} of {}), the same wrapper around both: carry-chain starts and carry-outs \
                 take cells of their own that the LUT count does not show",
                p0.logic_cells.used, p0.logic_cells.available
            ),
        ));
        let Some((fast, target)) = fast else { continue };
        let (pf, rf) = pe(fast)?;
        let pf = pf.outcome;
        rows.push(Row::new(
            &format!("{board} Fmax, XNOR PE n=256, --pipeline {fast}"),
            "MHz",
            Some(b.fmax_mhz),
            pf.fmax_mhz,
            Target::AtLeast(target),
            format!(
                "{wrapped}; latency {} cycles (baseline 2), {} flip-flops ({} more than without inner pipeline)",
                rf.generated.latency(),
                pf.flip_flops,
                pf.flip_flops as i64 - p0.flip_flops as i64
            ),
        ));
    }
    Ok(())
}

/// ASAP7 area at equal pipelining, and the clock with pipelining.
fn asic_rows(rows: &mut Vec<Row>, opts: &Options, base_files: &[(String, String)], t0: Instant) -> Result<(), String> {
    progress("ASAP7: yosys/abc mapping and OpenSTA, baseline and PE", t0);
    let work = &opts.work;
    let map = |files: &[(String, String)], top: &str, dir: &str| -> Result<asic::AsicReport, String> {
        let dir = work.join(dir);
        let lib = asic::load(&opts.liberty, &dir)?;
        crate::util::files::write_files(&dir, files)?;
        let names: Vec<String> = files.iter().map(|(n, _)| n.clone()).collect();
        asic::map_and_time(&dir, &names, top, &lib)
    };
    let b = map(base_files, BASELINE_TOP, "asap7_baseline")?;
    let r0 = design(&Request::xnor_pe(256));
    let p0 = map(&r0.verilog(), &r0.params.top, "asap7_p0")?;
    let rf = design(&Request::xnor_pe(256).pipeline(FAST_PIPELINE_ASAP7));
    let pf = map(&rf.verilog(), &rf.params.top, "asap7_fast")?;
    let lib = opts.liberty.display();
    rows.push(Row::new(
        "ASAP7 area, XNOR PE n=256, no inner pipeline",
        "um^2",
        Some(b.area_um2),
        p0.area_um2,
        Target::AtMostBaseline,
        format!(
            "{lib}: {}; {} FFs (baseline {}); critical path {:.0} ps (baseline {:.0} ps)",
            b.settings, p0.flip_flops, b.flip_flops, p0.critical_path_ps, b.critical_path_ps
        ),
    ));
    rows.push(Row::new(
        &format!("ASAP7 clock, XNOR PE n=256, --pipeline {FAST_PIPELINE_ASAP7}"),
        "MHz",
        Some(b.fmax_mhz),
        pf.fmax_mhz,
        Target::AtLeast(2000.0),
        format!(
            "OpenSTA; latency {} cycles (baseline 2), {} FFs ({} more), area {:.1} um^2",
            rf.generated.latency(),
            pf.flip_flops,
            pf.flip_flops as i64 - p0.flip_flops as i64,
            pf.area_um2
        ),
    ));
    Ok(())
}

/// Checked cycles per second under Verilator, and the model's build time.
fn sim_rows(rows: &mut Vec<Row>, opts: &Options, t0: Instant) -> Result<(), String> {
    let min_cpu = std::time::Duration::from_secs(2);
    progress("simulation: the baseline's model, n=2304", t0);
    let baseline_rate = baseline_model_rate(SIM_N, min_cpu)?;
    let pe = Request::xnor_pe(SIM_N);
    progress(&format!("simulation: {}", pe.flags()), t0);
    let rate = crate::verify::testbench::throughput(&design(&pe), min_cpu)?;
    rows.push(Row::new(
        &format!("Verilator cycles/s checked, XNOR PE n={SIM_N}"),
        "cycles/s",
        Some(baseline_rate),
        rate.checked,
        Target::AtLeast(1e6),
        format!(
            "{} cycles of random inputs, valid every cycle, the golden model comparing every output; the model \
             alone: {:.3e}; per CPU second of the simulating thread; baseline = the `for` loop's model alone, \
             same harness",
            rate.cycles, rate.model_only
        ),
    ));
    let group_net = Request::groupnet(5, SIM_N);
    progress(&format!("simulation: {}", group_net.flags()), t0);
    let rate = crate::verify::testbench::throughput(&design(&group_net), min_cpu)?;
    rows.push(Row::new(
        &format!("Verilator cycles/s checked, Group-Net K=5 n={SIM_N}"),
        "cycles/s",
        Some(rate.model_only),
        rate.checked,
        Target::AtLeast(3e5),
        format!(
            "{} cycles, as above; baseline = the same cycles through the model alone (no golden model)",
            rate.cycles
        ),
    ));
    progress("Verilator build of gen --k 5 from nothing", t0);
    let r = design(&Request::groupnet(5, 2304));
    // Absolute: Verilator runs in the model's own directory.
    let models = std::env::current_dir()
        .map_err(|e| format!("no current directory: {e}"))?
        .join(&opts.work)
        .join("fresh-models");
    let _ = std::fs::remove_dir_all(&models);
    let (start, cpu_start) = (Instant::now(), crate::util::cputime::children());
    let options = ModelOptions { models: Some(models), ..ModelOptions::default() };
    eda::verilator::build_model(&r.verilog(), &r.generated.signature, &options)?;
    let cpu = (crate::util::cputime::children() - cpu_start).as_secs_f64();
    rows.push(Row::new(
        "Verilator build, gen --k 5 (n=2304)",
        "s",
        None,
        start.elapsed().as_secs_f64(),
        Target::AtMost(30.0),
        format!(
            "wall time of verilator --cc and the C++ compiles, no cached model (the Verilator runtime is built \
             once per machine); {cpu:.1} s of CPU in all"
        ),
    ));
    Ok(())
}

/// The input length of the simulation figures.
const SIM_N: usize = 2304;

/// Cycles per CPU second of the baseline's Verilator model at `n` inputs,
/// through the same harness as the generated designs, without a check.
fn baseline_model_rate(n: usize, min_cpu: std::time::Duration) -> Result<f64, String> {
    let (files, signature) = baseline(n);
    let n_param = i64::try_from(n).map_err(|_| format!("baseline size {n} too large"))?;
    let options = ModelOptions { parameters: vec![("N".into(), n_param)], ..ModelOptions::default() };
    let lib = eda::verilator::build_model(&files, &signature, &options)?;
    let mut model = Model::load(&lib.path, port_widths(&signature), None)?;
    let ports = FixedLatencyPorts::of(&signature)?;
    let pool = random_pool(&vec![n; BASELINE_DATA_INPUTS.len()], ports.latency, 256, 0xbe7c);
    Ok(model_rate(&mut model, &ports, &pool, min_cpu)?.1)
}
