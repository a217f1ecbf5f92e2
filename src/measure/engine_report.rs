//! Reports of streaming layer engines (SPEC section 6): the units' gate
//! counts and standard-cell mapping, with the memories (line buffer, weight
//! ROMs, output FIFO) mapped by Yosys's `memory_map`, the logic outside
//! them measured apart, and the stream's throughput at the timed clock.

use crate::eda::asic::{Memories, Script};
use crate::generator::render::RenderedEngine;
use crate::measure::asic::{self, AsicReport};
use crate::measure::report::{DEPTH_SOURCE, gates, generic_source, instance_areas, library, progress};
use crate::rtl::count::{MemoryShape, count_instances, memories};
use crate::spec::signature::{Interface, frames_per_second};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The stream's timing in cycles, from the engine's signature and manifest.
#[derive(Clone, Debug, Serialize)]
pub struct Throughput {
    /// Cycles per output pixel.
    pub ii: u64,
    /// Cycles per frame in steady state: max(H*W, Ho*Wo*ii).
    pub cycles_per_frame: u64,
    /// Cycles a run of frames may take beyond frames x cycles_per_frame.
    pub fill_cycles: u64,
    pub out_pixels_per_frame: u64,
    pub source: String,
}

/// One mapping of the whole engine, flattened, memories by `memory_map`,
/// timed by OpenSTA.
#[derive(Clone, Debug, Serialize)]
pub struct TimedNetlist {
    #[serde(flatten)]
    pub mapped: AsicReport,
    /// At this netlist's maximum clock, no stalls.
    pub frames_per_second: f64,
}

/// One library's view of an engine.
#[derive(Clone, Debug, Serialize)]
pub struct EngineCells {
    pub source: String,
    /// The area figures: ABC's area-first script, as the units' reports.
    pub area_first: TimedNetlist,
    /// The clock: ABC's delay-first script (buffering and gate sizing).
    pub delay_first: TimedNetlist,
    /// The logic outside the memories (area-first script): a mapping that
    /// keeps the hierarchy and leaves the memories as cells without area.
    pub logic_um2: f64,
    /// The area-first engine's area less that logic: the memories'
    /// flip-flops, decoders and read multiplexers, and the ROMs' constant
    /// logic.
    pub memories_um2: f64,
    /// The logic outside the memories by module, times its copies.
    pub logic_split_um2: BTreeMap<String, f64>,
    pub logic_source: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct EngineReport {
    pub top: String,
    pub block: String,
    pub throughput: Throughput,
    pub memories: Vec<MemoryShape>,
    /// What synthesis makes of the memories, for every figure below.
    pub memories_mapped_as: String,
    pub depth_gate_levels: u64,
    pub depth_source: String,
    pub generator_counts: BTreeMap<String, u64>,
    pub yosys_generic_counts: BTreeMap<String, u64>,
    pub yosys_generic_source: String,
    pub cell_libraries: Vec<EngineCells>,
    /// What the timed netlists leave out.
    pub timing_note: String,
    /// Why there is no simulated power.
    pub power: String,
}

pub const MEMORIES_MAPPED_AS: &str = "Yosys memory_map (in synth) before mapping: each RAM (line buffer, output \
FIFO) becomes a flip-flop per bit with its address decoder and read multiplexers; each ROM (weights), whose words \
are constants, becomes logic with no flip-flops; no memory macros";

const TIMING_NOTE: &str = "neither netlist buffers a flip-flop's output (Yosys maps the flip-flops apart from \
ABC), so a flip-flop with a large fan-out, such as a memory's read address that selects among its words, begins \
the path with a long clock-to-Q; the area-first netlist buffers no net at all. Ideal clock, no wires";

const NO_POWER: &str = "not simulated: the report's power stimulus drives the fixed-latency ports of the units \
(in_valid and random data every cycle); an engine is a ready/valid stream whose activity depends on the frames and \
stalls fed to it";

fn throughput(rendered: &RenderedEngine) -> Result<Throughput, String> {
    let Interface::Stream { ii, cycles_per_frame } = rendered.generated.signature.interface else {
        return Err(format!("{} has no stream interface", rendered.params.top));
    };
    let geo = &rendered.params.geometry;
    Ok(Throughput {
        ii,
        cycles_per_frame,
        fill_cycles: rendered.generated.fill_cycles,
        out_pixels_per_frame: (geo.out_height() * geo.out_width()) as u64,
        source: "the engine's signature (stream interface) and manifest (fill_cycles): SPEC 6.6".into(),
    })
}

/// Builds the report of an engine in `work`, mapping onto each Liberty file.
pub fn report(rendered: &RenderedEngine, work: &Path, liberties: &[PathBuf]) -> Result<EngineReport, String> {
    let t0 = Instant::now();
    let top = &rendered.params.top;
    let design = &rendered.generated.design;
    let verilog = rendered.verilog_files();
    let throughput = throughput(rendered)?;
    let gates = gates(design, &rendered.files, &verilog, work, t0)?;
    let mut libraries = vec![];
    for (i, path) in liberties.iter().enumerate() {
        let (lib_dir, lib, files) = library(work, i, path, &verilog)?;
        progress(&format!("yosys + abc: mapping onto {}, memories as flip-flops", path.display()), t0);
        let scripts = [Script::Area, Script::Delay];
        let mut mapped = asic::map_and_time_with(&lib_dir, &files, top, &lib, &scripts)?.into_iter().map(|mapped| {
            let frames_per_second = frames_per_second(mapped.fmax_mhz, throughput.cycles_per_frame);
            TimedNetlist { mapped, frames_per_second }
        });
        let (area_first, delay_first) = (mapped.next().expect("area-first"), mapped.next().expect("delay-first"));
        progress("yosys: the logic outside the memories, per module", t0);
        let (logic_split_um2, logic_um2) = logic_areas(design, &lib_dir, &files, &lib)?;
        libraries.push(EngineCells {
            source: format!("{} mapped by yosys/abc, timed by OpenSTA; {MEMORIES_MAPPED_AS}", path.display()),
            memories_um2: area_first.mapped.area_um2 - logic_um2,
            area_first,
            delay_first,
            logic_um2,
            logic_split_um2,
            logic_source: "yosys synth with the hierarchy kept and every memory left a $mem_v2 cell (synth up to \
                           its fine step, then that step without memory_map), area-first script"
                .into(),
        });
    }
    progress("done", t0);
    Ok(EngineReport {
        top: top.clone(),
        block: rendered.params.kind.name().to_string(),
        throughput,
        memories: memories(design),
        memories_mapped_as: MEMORIES_MAPPED_AS.into(),
        depth_gate_levels: gates.levels,
        depth_source: DEPTH_SOURCE.into(),
        generator_counts: gates.counts,
        yosys_generic_counts: gates.generic,
        yosys_generic_source: generic_source(),
        cell_libraries: libraries,
        timing_note: TIMING_NOTE.into(),
        power: NO_POWER.into(),
    })
}

/// The area of the logic outside the memories, by module times its copies
/// (the top named `top: ...`), and in total.
pub fn logic_areas(
    design: &crate::rtl::Design,
    lib_dir: &Path,
    files: &[String],
    lib: &asic::Library,
) -> Result<(BTreeMap<String, f64>, f64), String> {
    let (areas, _) = asic::module_areas_with(lib_dir, files, &design.top, lib, Memories::Kept)?;
    let mut instances = BTreeMap::new();
    count_instances(design, &design.top, 1, &mut instances);
    let mut split = BTreeMap::new();
    for (module, area) in instance_areas(&areas, &instances) {
        let part = if *module == design.top {
            "top: window, schedule, output stage".to_string()
        } else {
            format!("{module} x {}", instances[module])
        };
        split.insert(part, area);
    }
    let total = split.values().sum();
    Ok((split, total))
}

/// The report for people.
pub fn render(r: &EngineReport) -> String {
    let mut o = String::new();
    let t = &r.throughput;
    let _ = writeln!(o, "{} ({} engine)", r.top, r.block);
    let _ = writeln!(
        o,
        "{} cycles per output pixel (ii), {} output pixels: {} cycles per frame, fill up to {} cycles ({})",
        t.ii, t.out_pixels_per_frame, t.cycles_per_frame, t.fill_cycles, t.source
    );
    let _ = writeln!(o, "{} gate levels on the longest path ({})", r.depth_gate_levels, r.depth_source);
    let _ = writeln!(o, "\nmemories:");
    for m in &r.memories {
        let _ = writeln!(
            o,
            "  {:<24} {:>5} x {:<4} {} {} read port(s), {} bits{}",
            m.name,
            m.words,
            m.width,
            if m.rom { "ROM," } else { "RAM," },
            m.read_ports,
            m.bits(),
            if m.instances > 1 { format!(" ({} copies of {})", m.instances, m.module) } else { String::new() }
        );
    }
    crate::measure::report::render_counts(
        &mut o,
        &r.generator_counts,
        &r.yosys_generic_source,
        &r.yosys_generic_counts,
    );
    for c in &r.cell_libraries {
        let _ = writeln!(o, "\n{}", c.source);
        for n in [&c.area_first, &c.delay_first] {
            let m = &n.mapped;
            let _ = writeln!(o, "  {}:", m.script);
            let _ = writeln!(
                o,
                "    area {:.3} um^2, {} flip-flops, critical path {:.1} ps (logic {:.1} ps, the rest the launching \
                 clock-to-Q and setup), max clock {:.0} MHz: {:.0} frames/s",
                m.area_um2, m.flip_flops, m.critical_path_ps, m.critical_logic_ps, m.fmax_mhz, n.frames_per_second
            );
        }
        let _ = writeln!(o, "  {:<48} {:>10.3} um^2", "memories (area less the logic outside them)", c.memories_um2);
        let _ = writeln!(o, "  {:<48} {:>10.3} um^2 ({})", "logic outside the memories", c.logic_um2, c.logic_source);
        for (part, a) in &c.logic_split_um2 {
            let _ = writeln!(o, "    {part:<46} {a:>10.3} um^2");
        }
    }
    let _ = writeln!(o, "\ntiming: {}", r.timing_note);
    let _ = writeln!(o, "power: {}", r.power);
    o
}
