//! ASIC flows: Yosys mapping onto Liberty standard cells, OpenSTA timing,
//! and Yosys-written simulation models of the cells.

use super::{run, text};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What a Liberty file says about its cells and units.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Liberty {
    pub path: PathBuf,
    /// Library time unit in picoseconds (1 for ASAP7, 1000 for sky130).
    pub time_unit_ps: f64,
    /// Cell name -> area in the library's unit (um^2 for both PDKs here).
    pub areas: BTreeMap<String, f64>,
}

/// A plain-text copy of the Liberty file in `work` (Yosys 0.23 and OpenSTA
/// do not read gzip), with its units and cell areas.
pub fn load_liberty(path: &Path, work: &Path) -> Result<Liberty, String> {
    let shown = path.display();
    let raw = fs::read(path).map_err(|e| format!("--liberty {shown}: cannot read it: {e}"))?;
    let content = if path.extension().is_some_and(|x| x == "gz") {
        let mut s = String::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_string(&mut s)
            .map_err(|e| format!("--liberty {shown}: not a readable gzip file: {e}"))?;
        s
    } else {
        String::from_utf8(raw).map_err(|_| format!("--liberty {shown} is not a text Liberty file"))?
    };
    if !content.trim_start().starts_with("library") && !content.contains("\nlibrary") {
        return Err(format!("--liberty {shown} is not a Liberty file (no `library` group)"));
    }
    let time_unit_ps = match attribute(&content, "time_unit").as_deref() {
        Some("1ps") => 1.0,
        Some("1ns") => 1000.0,
        Some("10ps") => 10.0,
        Some("100ps") => 100.0,
        other => return Err(format!("--liberty {shown}: unsupported time_unit {other:?} (1ps, 10ps, 100ps or 1ns)")),
    };
    fs::create_dir_all(work).map_err(|e| format!("cannot create {}: {e}", work.display()))?;
    let plain = work.join("cells.lib");
    fs::write(&plain, &content).map_err(|e| format!("cannot write {}: {e}", plain.display()))?;
    // Absolute, because the tools run in other directories.
    let plain = plain.canonicalize().map_err(|e| format!("cannot resolve {}: {e}", plain.display()))?;
    Ok(Liberty { path: plain, time_unit_ps, areas: cell_areas(&content) })
}

/// The value of the first `name : "value";` attribute.
fn attribute(lib: &str, name: &str) -> Option<String> {
    lib.lines().find_map(|l| {
        let (key, value) = l.trim().split_once(':')?;
        (key.trim() == name).then(|| value.trim().trim_end_matches(';').trim().trim_matches('"').to_string())
    })
}

/// `cell (NAME) { ... area : X; ...}`: the first area after each cell header.
fn cell_areas(lib: &str) -> BTreeMap<String, f64> {
    let mut areas = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in lib.lines() {
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("cell") {
            let name = rest.trim_start().strip_prefix('(').and_then(|r| r.split(')').next());
            if let Some(name) = name {
                current = Some(name.trim().trim_matches('"').to_string());
            }
        } else if let (Some(cell), Some(v)) = (&current, t.strip_prefix("area"))
            && let Some(x) =
                v.trim_start().strip_prefix(':').and_then(|x| x.trim().trim_end_matches(';').trim().parse().ok())
        {
            areas.insert(cell.clone(), x);
            current = None;
        }
    }
    areas
}

/// A design mapped onto standard cells and timed.
#[derive(Clone, Debug, Serialize)]
pub struct AsicReport {
    pub liberty: String,
    /// Cell type -> (count, total area in um^2).
    pub cells: BTreeMap<String, (u64, f64)>,
    pub area_um2: f64,
    pub flip_flops: u64,
    /// Longest register-to-register (or port) path including clock-to-Q
    /// and setup, in ps: what limits the clock.
    pub critical_path_ps: f64,
    /// The logic alone on that path: arrival minus the launching flip-flop's
    /// clock-to-Q, in ps.
    pub critical_logic_ps: f64,
    pub fmax_mhz: f64,
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
pub fn map_and_time(work: &Path, verilog: &[String], top: &str, lib: &Liberty) -> Result<AsicReport, String> {
    let libp = lib.path.display().to_string();
    let netlist = PathBuf::from(format!("{top}_mapped.v"));
    let netlist_json = format!("{top}_mapped.json");
    let stat = "asic_stat.json";
    // Yosys renames its internal nets when it writes Verilog: reading the
    // Verilog back gives a JSON netlist with the names simulation traces.
    let script = format!(
        "read_verilog {files}; synth -flatten -top {top}; dfflegalize -cell $_DFF_P_ 01; \
         dfflibmap -liberty {libp}; abc -script {abc} -liberty {libp}; opt_clean; \
         hilomap -singleton -hicell {hi} -locell {lo}; opt_clean; \
         tee -q -o {stat} stat -json; write_verilog -noattr -noexpr {net}; \
         design -reset; read_verilog {net}; write_json {netlist_json}",
        files = verilog.join(" "),
        hi = tie_cell(lib, "TIEHI").unwrap_or_else(|| "TIEHI H".into()),
        lo = tie_cell(lib, "TIELO").unwrap_or_else(|| "TIELO L".into()),
        net = netlist.display(),
        abc = abc_script(work)?,
    );
    let out = run("yosys", Command::new("yosys").current_dir(work).args(["-q", "-p", &script]))?;
    if !out.status.success() {
        return Err(format!("yosys mapping of {top} onto {} failed:\n{}", lib.path.display(), text(&out)));
    }
    let counts = super::yosys::read_stat(work, stat)?;
    let mut cells = BTreeMap::new();
    let mut area = 0.0;
    let mut flip_flops = 0;
    for (name, n) in counts.cells {
        let a = lib.areas.get(&name).copied().unwrap_or(0.0) * n as f64;
        if name.starts_with("DFF") || name.starts_with("sky130_fd_sc_hd__df") {
            flip_flops += n;
        }
        area += a;
        cells.insert(name, (n, a));
    }
    let (critical_path_ps, critical_logic_ps) = sta_critical_path(work, &netlist, top, lib)?;
    let netlist = work.join(netlist);
    Ok(AsicReport {
        liberty: lib.path.display().to_string(),
        cells,
        area_um2: area,
        flip_flops,
        critical_path_ps,
        critical_logic_ps,
        fmax_mhz: if critical_path_ps > 0.0 { 1e6 / critical_path_ps } else { f64::INFINITY },
        netlist,
        netlist_json: work.join(netlist_json),
        settings: MAP_SCRIPT_NOTE.to_string(),
    })
}

/// Area per module (its own cells only, not its submodules'), from a
/// mapping that keeps the hierarchy: how the area splits between the
/// bitwise layers, the popcount trees and the top (scale tree, registers).
pub fn module_areas(
    work: &Path,
    verilog: &[String],
    top: &str,
    lib: &Liberty,
) -> Result<BTreeMap<String, f64>, String> {
    let libp = lib.path.display().to_string();
    let stat = PathBuf::from("asic_hier_stat.txt");
    let script = format!(
        "read_verilog {files}; synth -top {top}; dfflegalize -cell $_DFF_P_ 01; dfflibmap -liberty {libp}; \
         abc -script {abc} -liberty {libp}; opt_clean; tee -q -o {stat} stat -liberty {libp}",
        files = verilog.join(" "),
        stat = stat.display(),
        abc = abc_script(work)?,
    );
    let out = run("yosys", Command::new("yosys").current_dir(work).args(["-q", "-p", &script]))?;
    if !out.status.success() {
        return Err(format!("yosys hierarchical mapping of {top} failed:\n{}", text(&out)));
    }
    let text = fs::read_to_string(work.join(&stat)).map_err(|e| format!("yosys wrote no statistics: {e}"))?;
    let mut areas = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.trim().strip_prefix("Chip area for module '\\")
            && let Some((name, value)) = rest.split_once("':")
            && let Ok(v) = value.trim().parse::<f64>()
        {
            areas.insert(name.to_string(), v);
        }
    }
    Ok(areas)
}

/// `CELL PIN` of the first tie cell whose name starts with `prefix`.
fn tie_cell(lib: &Liberty, prefix: &str) -> Option<String> {
    let pin = if prefix == "TIEHI" { "H" } else { "L" };
    lib.areas.keys().find(|c| c.starts_with(prefix)).map(|c| format!("{c} {pin}")).or_else(|| {
        let sky = if prefix == "TIEHI" { "sky130_fd_sc_hd__conb_1 HI" } else { "sky130_fd_sc_hd__conb_1 LO" };
        lib.areas.contains_key("sky130_fd_sc_hd__conb_1").then(|| sky.to_string())
    })
}

/// The longest path's arrival plus setup, and its logic alone (arrival
/// minus the launching flip-flop's clock-to-Q), from OpenSTA with a relaxed clock.
fn sta_critical_path(work: &Path, netlist: &Path, top: &str, lib: &Liberty) -> Result<(f64, f64), String> {
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
    lib: &Liberty,
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
pub fn cell_models(work: &Path, lib: &Liberty) -> Result<PathBuf, String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cell_areas_and_attributes() {
        let lib = "library (x) {\n  time_unit : \"1ps\";\n  cell (AND2x2) {\n    area : 0.08748;\n    pin (A) { }\n  }\n  cell (\"INVx1\") {\n    area : 0.04374 ;\n  }\n}\n";
        assert_eq!(attribute(lib, "time_unit").as_deref(), Some("1ps"));
        let areas = cell_areas(lib);
        assert_eq!(areas["AND2x2"], 0.08748);
        assert_eq!(areas["INVx1"], 0.04374);
    }
}
