//! ASIC flows: Yosys mapping onto Liberty standard cells, OpenSTA timing,
//! and Yosys-written simulation models of the cells.

use super::yosys::{self, CellStats};
use super::{run, text};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What the ASIC flow needs to know of a standard-cell library; whatever
/// interprets the library's cells reads it above this stage.
#[derive(Clone, Debug)]
pub struct CellLibrary {
    /// A plain-text Liberty file (Yosys 0.23 and OpenSTA do not read gzip),
    /// absolute, because the tools run in other directories.
    pub path: PathBuf,
    /// Library time unit in picoseconds (1 for ASAP7, 1000 for sky130).
    pub time_unit_ps: f64,
    /// Where constant bits come from; without both, they stay constants.
    pub ties: Option<Ties>,
}

/// The tie cells of a library, each as `(cell, output pin)`.
#[derive(Clone, Debug)]
pub struct Ties {
    pub high: (String, String),
    pub low: (String, String),
}

/// What the mapping flow gives: cell counts, the netlist it wrote and
/// OpenSTA's longest path.
#[derive(Clone, Debug)]
pub struct Mapped {
    pub cells: BTreeMap<String, u64>,
    /// Longest register-to-register (or port) path including clock-to-Q
    /// and setup, in ps.
    pub critical_path_ps: f64,
    /// The logic alone on that path: arrival minus the launching
    /// flip-flop's clock-to-Q, in ps.
    pub critical_logic_ps: f64,
    /// The structural Verilog netlist (what OpenSTA and simulation read).
    pub netlist: PathBuf,
    /// The same netlist read back by Yosys and written as JSON, so that its
    /// net names are the Verilog's.
    pub netlist_json: PathBuf,
    pub settings: String,
}

const MAP_SCRIPT_NOTE: &str = "yosys synth -flatten; dfflegalize to plain DFF (sync reset as logic); dfflibmap; abc -liberty with `strash; dc2; &get -n; &nf; &put`; OpenSTA report_checks, ideal clock, 0 input/output delay";

/// ABC's script for mapping onto Liberty cells: one `dc2` rewrite, then the
/// `&nf` mapper. Against `abc -fast` (`strash; dretime; map`) it maps the
/// n = 256 XNOR PE 12% smaller and the baseline 10% smaller, in about the
/// same time. Structural choices (`&dch -f` before `&nf`) gave about the
/// same area on the PE but ran for more than 2.5 minutes on a 4 x 5 PA-Net
/// of n = 576, which this script maps in 27 s; Yosys's default script
/// (`ifraig; scorr; dc2; dretime; &dch -f; &nf`) ran for more than 15
/// minutes on a 4 x 5 PA-Net of n = 64.
const ABC_LIBERTY_SCRIPT: &str = "strash\ndc2\n&get -n\n&nf\n&put\n";

/// Writes [`ABC_LIBERTY_SCRIPT`] into `work`; returns its file name there.
fn abc_script(work: &Path) -> Result<&'static str, String> {
    let name = "map.abc";
    fs::write(work.join(name), ABC_LIBERTY_SCRIPT).map_err(|e| format!("cannot write {name}: {e}"))?;
    Ok(name)
}

/// Maps `verilog` (top `top`) onto the cells of `lib` with Yosys and ABC,
/// then times the netlist with OpenSTA.
pub fn map_and_time(work: &Path, verilog: &[String], top: &str, lib: &CellLibrary) -> Result<Mapped, String> {
    let libp = lib.path.display().to_string();
    let netlist = format!("{top}_mapped.v");
    let netlist_json = format!("{top}_mapped.json");
    let stat = "asic_stat.json";
    let ties = match &lib.ties {
        Some(Ties { high, low }) => {
            format!("hilomap -singleton -hicell {} {} -locell {} {}; opt_clean; ", high.0, high.1, low.0, low.1)
        }
        None => String::new(),
    };
    // Yosys renames its internal nets when it writes Verilog: reading the
    // Verilog back gives a JSON netlist with the names simulation traces.
    let script = format!(
        "read_verilog {files}; synth -flatten -top {top}; dfflegalize -cell $_DFF_P_ 01; \
         dfflibmap -liberty {libp}; abc -script {abc} -liberty {libp}; opt_clean; {ties}\
         tee -q -o {stat} stat -json; write_verilog -noattr -noexpr {netlist}; \
         design -reset; read_verilog {netlist}; write_json {netlist_json}",
        files = verilog.join(" "),
        abc = abc_script(work)?,
    );
    let out = run("yosys", Command::new("yosys").current_dir(work).args(["-q", "-p", &script]))?;
    if !out.status.success() {
        return Err(format!("yosys mapping of {top} onto {} failed:\n{}", lib.path.display(), text(&out)));
    }
    let cells = yosys::read_stat(work, stat)?.cells;
    let (critical_path_ps, critical_logic_ps) = sta_critical_path(work, Path::new(&netlist), top, lib)?;
    Ok(Mapped {
        cells,
        critical_path_ps,
        critical_logic_ps,
        netlist: work.join(netlist),
        netlist_json: work.join(netlist_json),
        settings: MAP_SCRIPT_NOTE.to_string(),
    })
}

/// The cells of every module (its own, not its submodules') from a mapping
/// that keeps the hierarchy: how the area splits between the bitwise
/// layers, the popcount trees and the top (scale tree, registers).
pub fn module_cells(work: &Path, verilog: &[String], top: &str, lib: &CellLibrary) -> Result<CellStats, String> {
    let libp = lib.path.display().to_string();
    let stat = "asic_hier_stat.json";
    let script = format!(
        "read_verilog {files}; synth -top {top}; dfflegalize -cell $_DFF_P_ 01; dfflibmap -liberty {libp}; \
         abc -script {abc} -liberty {libp}; opt_clean; tee -q -o {stat} stat -json",
        files = verilog.join(" "),
        abc = abc_script(work)?,
    );
    let out = run("yosys", Command::new("yosys").current_dir(work).args(["-q", "-p", &script]))?;
    if !out.status.success() {
        return Err(format!("yosys hierarchical mapping of {top} failed:\n{}", text(&out)));
    }
    yosys::read_stat(work, stat)
}

/// The longest path's arrival plus setup, and its logic alone (arrival
/// minus the launching flip-flop's clock-to-Q), from OpenSTA with a relaxed clock.
fn sta_critical_path(work: &Path, netlist: &Path, top: &str, lib: &CellLibrary) -> Result<(f64, f64), String> {
    // A period far above any path, in library units, so slack = period - path.
    // 100 ns: longer than any path here, short enough for OpenSTA's float precision.
    let period = 1.0e5 / lib.time_unit_ps;
    let tcl = format!(
        "read_liberty {lib}\nread_verilog {net}\nlink_design {top}\n\
         create_clock -name clk -period {period} [get_ports clk]\n\
         set_input_delay 0 -clock clk [delete_from_list [all_inputs] [get_ports clk]]\n\
         set_output_delay 0 -clock clk [all_outputs]\n\
         report_checks -path_delay max -digits 4\nexit\n",
        lib = lib.path.display(),
        net = netlist.display(),
    );
    let script = work.join("sta.tcl");
    fs::write(&script, tcl).map_err(|e| format!("cannot write {}: {e}", script.display()))?;
    let out = run("sta", Command::new("sta").current_dir(work).args(["-no_splash", "-exit", "sta.tcl"]))?;
    let t = text(&out);
    let slack = t
        .lines()
        .find(|l| l.contains("slack (MET)") || l.contains("slack (VIOLATED)"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|v| v.parse::<f64>().ok())
        .ok_or_else(|| format!("OpenSTA reported no path for {top}:\n{t}"))?;
    let arrival = t
        .lines()
        .find(|l| l.contains("data arrival time"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|v| v.parse::<f64>().ok())
        .ok_or_else(|| format!("OpenSTA reported no arrival time for {top}:\n{t}"))?;
    // The launch: the first path line through a flip-flop output (Q or QN).
    let launch = t
        .lines()
        .find(|l| l.contains("/Q ") || l.contains("/QN "))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0);
    Ok(((period - slack) * lib.time_unit_ps, (arrival - launch) * lib.time_unit_ps))
}

/// Delay of one cell from input `from` to output `to`, driven by the same
/// cell's kind of input transition and loaded by four copies of `load`
/// (input pin `load_pin`): the gate's fan-out-of-4 delay, worst edge.
pub fn gate_delay_ps(
    work: &Path,
    lib: &CellLibrary,
    cell: &str,
    pins: (&str, &str, &str),
    load: (&str, &str),
) -> Result<f64, String> {
    let (from, other, to) = pins;
    let (load_cell, load_pin) = load;
    let mut v = String::from("module gate_probe (input a, input b, output y);\n    wire out;\n");
    v.push_str(&format!("    {cell} dut (.{from}(a), .{other}(b), .{to}(out));\n"));
    for i in 0..4 {
        v.push_str(&format!("    {load_cell} load{i} (.{load_pin}(out));\n"));
    }
    v.push_str("    assign y = out;\nendmodule\n");
    let net = work.join("gate_probe.v");
    fs::write(&net, v).map_err(|e| format!("cannot write {}: {e}", net.display()))?;
    let tcl = format!(
        "read_liberty {lib}\nread_verilog gate_probe.v\nlink_design gate_probe\n\
         set_input_transition {slew} [all_inputs]\n\
         report_checks -unconstrained -from [get_ports a] -to [get_ports y] -path_delay max -digits 4\nexit\n",
        lib = lib.path.display(),
        slew = 10.0 / lib.time_unit_ps,
    );
    fs::write(work.join("gate_probe.tcl"), tcl).map_err(|e| format!("cannot write the probe script: {e}"))?;
    let out = run("sta", Command::new("sta").current_dir(work).args(["-no_splash", "-exit", "gate_probe.tcl"]))?;
    let t = text(&out);
    t.lines()
        .find(|l| l.contains("data arrival time"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|v| v.parse::<f64>().ok())
        .map(|a| a * lib.time_unit_ps)
        .ok_or_else(|| format!("OpenSTA could not time {cell}:\n{t}"))
}

/// Verilog models of every cell, written by Yosys from the Liberty
/// functions, for simulating a mapped netlist.
pub fn cell_models(work: &Path, lib: &CellLibrary) -> Result<PathBuf, String> {
    let models = work.join("cell_models.v");
    let models = std::path::absolute(&models).map_err(|e| format!("cannot resolve {}: {e}", models.display()))?;
    let script =
        format!("read_liberty -ignore_miss_func {}; write_verilog -noattr {}", lib.path.display(), models.display());
    let out = run("yosys", Command::new("yosys").current_dir(work).args(["-q", "-p", &script]))?;
    if !out.status.success() {
        return Err(format!("yosys could not model the cells of {}:\n{}", lib.path.display(), text(&out)));
    }
    Ok(models)
}
