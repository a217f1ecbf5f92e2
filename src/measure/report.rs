//! Reports: gate counts from the generator's own representation beside
//! Yosys's generic mapping, logic depth and latency, 7 nm analytic area,
//! delay and power estimates, and standard-cell mappings timed by OpenSTA
//! with power from simulated toggles. Every figure names where it came
//! from and under which settings.

use crate::eda;
use crate::generator::render::Rendered;
use crate::measure::activity::{self, GateLevel, Stimulus};
use crate::measure::analytic::{self, AnalyticPower, AnalyticTiming};
use crate::measure::asic::{self, AsicReport};
use crate::measure::netlist;
use crate::measure::power::{self, PowerReport};
use crate::rtl::Design;
use crate::rtl::count::{count_instances, generator_counts};
use crate::spec::params::Block;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

pub use crate::measure::analytic::{AnalyticArea, GateFigure, PAPER_AND2, PAPER_XNOR2};

/// One standard-cell library's view of the design.
#[derive(Clone, Debug, Serialize)]
pub struct CellReport {
    pub source: String,
    #[serde(flatten)]
    pub mapped: AsicReport,
    /// Area (um^2) by part: bitwise layers, popcount trees, and the top
    /// (input and pipeline registers, comparators, scale tree, output).
    pub area_split_um2: BTreeMap<String, f64>,
    /// From the mapped netlist's simulated toggles, when asked for.
    pub power: Option<PowerReport>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub top: String,
    pub block: String,
    pub weights_mode: String,
    pub pipeline: u32,
    pub latency_cycles: u32,
    pub depth_generator_levels: u32,
    pub depth_gate_levels: u64,
    pub depth_source: String,
    pub generator_counts: BTreeMap<String, u64>,
    pub yosys_generic_counts: BTreeMap<String, u64>,
    pub yosys_generic_source: String,
    pub analytic_7nm: Option<AnalyticArea>,
    pub analytic_7nm_timing: Option<AnalyticTiming>,
    pub analytic_7nm_power: Option<AnalyticPower>,
    pub cell_libraries: Vec<CellReport>,
}

pub(crate) fn progress(step: &str, t0: Instant) {
    eprintln!("[{:>6.1}s] {step}", t0.elapsed().as_secs_f64());
}

/// Builds the report of a rendered design in `work`, mapping onto each
/// Liberty file given (no simulated power: see [`report_with_power`]).
pub fn report(rendered: &Rendered, work: &Path, liberties: &[PathBuf]) -> Result<Report, String> {
    build(rendered, work, liberties, None)
}

/// The report with, for every library, the power of the mapped netlist
/// from toggles simulated under `stimulus`.
pub fn report_with_power(
    rendered: &Rendered,
    work: &Path,
    liberties: &[PathBuf],
    stimulus: &Stimulus,
) -> Result<Report, String> {
    build(rendered, work, liberties, Some(stimulus))
}

/// Cycles and seed of the report's power simulation.
pub const POWER_STIMULUS: Stimulus = Stimulus { cycles: 2000, seed: 1, inputs: activity::Inputs::Random };

/// Internal energies are read at this input slew (as the claims' gate probe).
const POWER_SLEW_S: f64 = 10e-12;

/// What every report starts with: the design's files in `work`, the
/// generator's own gate counts, and Yosys's generic mapping with its
/// longest path in gate levels.
pub(crate) struct Gates {
    pub counts: BTreeMap<String, u64>,
    pub generic: BTreeMap<String, u64>,
    pub levels: u64,
}

pub(crate) const DEPTH_SOURCE: &str =
    "yosys ltp -noff on the generic netlist (flip-flops cut): gates on the longest path";

pub(crate) fn generic_source() -> String {
    format!("yosys synth -flatten; abc -fast -g {}", eda::yosys::GENERIC_GATES)
}

pub(crate) fn gates(
    design: &Design,
    files: &[(String, String)],
    verilog: &[String],
    work: &Path,
    t0: Instant,
) -> Result<Gates, String> {
    std::fs::create_dir_all(work).map_err(|e| format!("cannot create {}: {e}", work.display()))?;
    crate::util::files::write_files(work, files)?;
    let counts = generator_counts(design);
    progress("yosys: generic gates (abc -g) and longest path", t0);
    let (generic, levels) = eda::yosys::generic(work, verilog, &design.top)?;
    Ok(Gates { counts, generic: generic.cells.into_iter().collect(), levels })
}

/// The `i`-th Liberty file, loaded into its own directory of `work`: that
/// directory, the library, and the Verilog files as seen from there.
pub(crate) fn library(
    work: &Path,
    i: usize,
    path: &Path,
    verilog: &[String],
) -> Result<(PathBuf, asic::Library, Vec<String>), String> {
    let lib_dir = work.join(format!("lib{i}"));
    let lib = asic::load(path, &lib_dir)?;
    let files = verilog.iter().map(|f| format!("../{f}")).collect();
    Ok((lib_dir, lib, files))
}

/// Each module's own area times its copies in the design.
pub(crate) fn instance_areas<'a>(
    areas: &'a BTreeMap<String, f64>,
    instances: &'a BTreeMap<String, u64>,
) -> impl Iterator<Item = (&'a String, f64)> {
    areas.iter().map(|(module, area)| (module, area * *instances.get(module).unwrap_or(&0) as f64))
}

fn build(
    rendered: &Rendered,
    work: &Path,
    liberties: &[PathBuf],
    stimulus: Option<&Stimulus>,
) -> Result<Report, String> {
    let t0 = Instant::now();
    let p = &rendered.params;
    let g = &rendered.generated;
    let verilog = rendered.verilog_files();
    let gates = gates(&g.design, &rendered.files, &verilog, work, t0)?;
    let mut instances = BTreeMap::new();
    count_instances(&g.design, &p.top, 1, &mut instances);
    let mut libraries = vec![];
    let (mut analytic_7nm, mut analytic_7nm_timing, mut analytic_7nm_power) = (None, None, None);
    for (i, path) in liberties.iter().enumerate() {
        let (lib_dir, lib, files) = library(work, i, path, &verilog)?;
        let shown = path.display().to_string();
        let first_asap7 = analytic_7nm.is_none() && lib.is_asap7();
        progress(&format!("yosys + abc: mapping onto {shown}"), t0);
        let mapped = asic::map_and_time(&lib_dir, &files, &p.top, &lib)?;
        progress("yosys: per-module areas (hierarchy kept)", t0);
        let areas = asic::module_areas(&lib_dir, &files, &p.top, &lib)?;
        let mut split: BTreeMap<String, f64> = BTreeMap::new();
        for (module, area) in instance_areas(&areas, &instances) {
            let part = if module == &p.top {
                "top: registers, comparators, scale tree"
            } else if module.contains("popcnt") {
                "popcount trees"
            } else {
                "bitwise layers"
            };
            *split.entry(part.to_string()).or_default() += area;
        }
        if first_asap7 {
            analytic_7nm = Some(analytic::area(&gates.counts, &lib.parsed, &shown));
            let timing = analytic::timing(&g.design, &lib.parsed, &shown)?;
            analytic_7nm_power = Some(analytic::power(&gates.counts, &lib.parsed, timing.fmax_mhz, &shown)?);
            analytic_7nm_timing = Some(timing);
        }
        let power = match stimulus {
            Some(s) => Some(measured_power(rendered, &lib_dir, &lib, &mapped, s, t0)?),
            None => None,
        };
        libraries.push(CellReport {
            source: format!("{shown} mapped by yosys/abc, timed by OpenSTA"),
            mapped,
            area_split_um2: split,
            power,
        });
    }
    progress("done", t0);
    Ok(Report {
        top: p.top.clone(),
        block: p.block.name().to_string(),
        weights_mode: if matches!(p.block, Block::Popcount | Block::PaQuantizer) { "none" } else { p.weights.mode() }
            .to_string(),
        pipeline: p.pipeline,
        latency_cycles: g.latency(),
        depth_generator_levels: g.depth,
        depth_gate_levels: gates.levels,
        depth_source: DEPTH_SOURCE.into(),
        generator_counts: gates.counts,
        yosys_generic_counts: gates.generic,
        yosys_generic_source: generic_source(),
        analytic_7nm,
        analytic_7nm_timing,
        analytic_7nm_power,
        cell_libraries: libraries,
    })
}

/// Power of the mapped netlist: simulated with the Liberty cells modelled
/// by Yosys, toggles counted, energies from the Liberty, at OpenSTA's Fmax.
fn measured_power(
    rendered: &Rendered,
    lib_dir: &Path,
    lib: &asic::Library,
    mapped: &AsicReport,
    stimulus: &Stimulus,
    t0: Instant,
) -> Result<PowerReport, String> {
    let p = &rendered.params;
    let g = &rendered.generated;
    let read = |f: &Path| std::fs::read_to_string(f).map_err(|e| format!("cannot read {}: {e}", f.display()));
    let models = eda::asic::cell_models(lib_dir, &lib.flow)?;
    let gate_level = GateLevel {
        signature: &g.signature,
        // Read order: the cells, then the netlist that instantiates them.
        verilog: vec![("cell_models.v".to_string(), read(&models)?), (format!("{}.v", p.top), read(&mapped.netlist)?)],
    };
    progress(&format!("verilator: gate-level netlist, {} traced cycles", stimulus.cycles), t0);
    let toggles = activity::simulate(&gate_level, lib_dir, stimulus)?;
    let json = read(&mapped.netlist_json)?;
    let netlist = netlist::parse(&json, &p.top).map_err(|e| format!("{}: {e}", mapped.netlist_json.display()))?;
    let energy = power::per_cycle(&lib.parsed, &netlist, &toggles.by_bit, toggles.cycles, POWER_SLEW_S, "clk")?;
    let source = format!(
        "toggles of the mapped netlist ({}) simulated by Verilator with the cells modelled by Yosys from the \
         Liberty: {}; energies from the Liberty; at OpenSTA's maximum clock",
        mapped.netlist.display(),
        stimulus.describe()
    );
    let settings = format!(
        "internal: every pin transition costs the Liberty internal_power of that pin (rise/fall mean, summed over \
         power and ground pins, mean over `when` states, arcs weighted by their input's toggles) at 10 ps input \
         slew and the net's load, clamped to the table; switching: 1/2 C V^2 per net toggle, C = the input pins \
         the net drives (no wire load, outputs unloaded, input ports and the clock net included), V = nom_voltage; \
         leakage: cell_leakage_power or the state-independent leakage_power groups; zero-delay simulation, so \
         glitches are not counted; units: {}",
        lib.parsed.units
    );
    Ok(PowerReport::new(&energy, mapped.fmax_mhz, toggles.cycles, stimulus.seed, source, settings))
}

/// The gate counts of the generator's representation and of Yosys's
/// generic mapping, one kind a line.
pub(crate) fn render_counts(
    o: &mut String,
    generator: &BTreeMap<String, u64>,
    generic_source: &str,
    generic: &BTreeMap<String, u64>,
) {
    let _ = writeln!(o, "\ngate counts, generator representation:");
    for (k, n) in generator {
        let _ = writeln!(o, "  {k:<12} {n:>9}");
    }
    let _ = writeln!(o, "gate counts, {generic_source}:");
    for (k, n) in generic {
        let _ = writeln!(o, "  {k:<12} {n:>9}");
    }
}

/// The report for people.
pub fn render(r: &Report) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "{} ({}, weights {}, pipeline {})", r.top, r.block, r.weights_mode, r.pipeline);
    let _ = writeln!(
        o,
        "latency {} cycles; {} generator levels; {} gate levels ({})",
        r.latency_cycles, r.depth_generator_levels, r.depth_gate_levels, r.depth_source
    );
    render_counts(&mut o, &r.generator_counts, &r.yosys_generic_source, &r.yosys_generic_counts);
    if let Some(a) = &r.analytic_7nm {
        let _ = writeln!(o, "\n7 nm analytic area: {:.3} um^2 ({})", a.area_um2, a.source);
    }
    if let Some(t) = &r.analytic_7nm_timing {
        let path: Vec<String> = t.path.iter().map(|(k, n)| format!("{n} {k}")).collect();
        let _ = writeln!(
            o,
            "7 nm analytic critical path: {:.1} ps, max clock {:.0} MHz; path: {}",
            t.critical_path_ps,
            t.fmax_mhz,
            path.join(" + ")
        );
        let delays: Vec<String> = t.delays_ps.iter().map(|(k, d)| format!("{k} {d:.2}")).collect();
        let _ = writeln!(o, "  gate delays (ps): {}", delays.join(", "));
    }
    if let Some(pw) = &r.analytic_7nm_power {
        let _ = writeln!(
            o,
            "7 nm analytic power: {:.4} mW at {:.0} MHz (leakage {:.4} uW; Liberty-priced kinds {:.4} pJ/cycle{})",
            pw.total_mw,
            pw.at_mhz,
            pw.leakage_uw,
            pw.liberty_kinds_pj_per_cycle,
            if pw.unpriced.is_empty() { String::new() } else { format!("; not priced: {}", pw.unpriced.join(", ")) }
        );
    }
    for c in &r.cell_libraries {
        let m = &c.mapped;
        let _ = writeln!(o, "\n{}", c.source);
        let _ = writeln!(
            o,
            "  area {:.3} um^2, {} flip-flops, critical path {:.1} ps, max clock {:.0} MHz",
            m.area_um2, m.flip_flops, m.critical_path_ps, m.fmax_mhz
        );
        for (part, a) in &c.area_split_um2 {
            let _ = writeln!(o, "  {part:<40} {a:>10.3} um^2");
        }
        if let Some(pw) = &c.power {
            let _ = writeln!(
                o,
                "  power at {:.0} MHz: {:.4} mW = internal {:.4} + switching {:.4} mW + leakage {:.4} uW",
                pw.at_mhz,
                pw.total_mw,
                pw.internal_mw,
                pw.switching_mw,
                pw.leakage_mw * 1e3
            );
            let _ = writeln!(
                o,
                "  dynamic energy {:.4} pJ/cycle (uW/MHz), of which clock {:.4}; {:.1} net toggles/cycle over {} cycles",
                pw.dynamic_pj_per_cycle, pw.clock_pj_per_cycle, pw.toggles_per_cycle, pw.cycles
            );
        }
    }
    o
}
