//! ASIC flows: Yosys mapping onto Liberty standard cells, OpenSTA timing,
//! and Yosys-written simulation models of the cells.

pub use super::yosys::Memories;
use super::yosys::{self, CellStats, synth_commands};
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

/// ABC's script for mapping onto Liberty cells. Every figure names the
/// script it was mapped with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Script {
    /// One `dc2` rewrite, then the `&nf` mapper: the smallest area. Against
    /// `abc -fast` (`strash; dretime; map`) it maps the n = 256 XNOR PE 12%
    /// smaller and the baseline 10% smaller, in about the same time.
    /// Structural choices (`&dch -f` before `&nf`) gave about the same area
    /// on the PE but ran for more than 2.5 minutes on a 4 x 5 PA-Net of
    /// n = 576, which this script maps in 27 s; Yosys's default script
    /// (`ifraig; scorr; dc2; dretime; &dch -f; &nf`) ran for more than 15
    /// minutes on a 4 x 5 PA-Net of n = 64. It costs delay: `dc2` rebuilds
    /// carry logic for area, and the standalone 16-bit adder's logic takes
    /// 478 ps where `abc -fast` gives 336 ps.
    Area,
    /// For the figures that are delays: ABC's structural choices (`dch`),
    /// its delay-oriented standard-cell mapper (`map`), then buffering and
    /// gate sizing on the Liberty's timing with a target no path meets
    /// (`upsize -D 1`, `dnsize -D 1`: 1 ps), so every step goes for the
    /// shortest path it finds. Against the area-first script on ASAP7
    /// (logic on the critical path, OpenSTA): the 16-bit adder 221 against
    /// 478 ps, the 8x8 multiplier 527 against 651, popcount n = 64 487
    /// against 518, binary n = 64 513 against 549, PA-Net 4 x 5 n = 64 1506
    /// against 1666 and n = 576 1815 against 1956 (24% longer to map),
    /// MAC n = 64 1169 against 1240, for 11 to 23% more area. Tried and not
    /// taken: `if -g` (depth-oriented balancing) before `map` gave the
    /// adder 192 ps but PA-Net n = 64 1769 ps, longer than area-first. A
    /// delay target alone does not do it: `&nf -D` already maps for its
    /// best delay, and Yosys's `abc -D` script (`&dch -f; &nf -D; buffer;
    /// upsize -D; dnsize -D`) kept the adder at 478 ps, as `dc2` does.
    Delay,
}

/// The delay target of [`Script::Delay`] in ps.
pub const DELAY_TARGET_PS: u32 = 1;

impl Script {
    /// The script as ABC reads it, one command a line.
    pub fn abc(self) -> String {
        match self {
            Script::Area => "strash\ndc2\n&get -n\n&nf\n&put\n".to_string(),
            Script::Delay => {
                let d = DELAY_TARGET_PS;
                format!("strash\ndch\nmap\nbuffer\nupsize -D {d}\ndnsize -D {d}\n")
            }
        }
    }

    /// A short name: `area-first` or `delay-first`.
    pub fn name(self) -> &'static str {
        match self {
            Script::Area => "area-first",
            Script::Delay => "delay-first",
        }
    }

    /// The name with the script on one line, as the figures cite it.
    pub fn describe(self) -> String {
        format!("{} ABC script `{}`", self.name(), self.abc().trim_end().replace('\n', "; "))
    }

    /// What the files of this script's mapping are told apart by.
    fn suffix(self) -> &'static str {
        match self {
            Script::Area => "",
            Script::Delay => "_delay",
        }
    }

    /// Writes the script into `work`; returns its file name there.
    fn write(self, work: &Path) -> Result<String, String> {
        let name = format!("map{}.abc", self.suffix());
        fs::write(work.join(&name), self.abc()).map_err(|e| format!("cannot write {name}: {e}"))?;
        Ok(name)
    }
}

/// How a timed mapping was made, for the figures' sources.
fn settings(script: Script) -> String {
    format!(
        "yosys synth -flatten, memories by memory_map (RAMs as flip-flops, ROMs as constant logic); dfflegalize to \
         plain DFF (sync reset as logic); dfflibmap; abc -liberty with the {}; OpenSTA report_checks, ideal clock, \
         0 input/output delay",
        script.describe()
    )
}

/// Maps `verilog` (top `top`) onto the cells of `lib` with Yosys and ABC
/// (memories as flip-flops), once per ABC script from one synthesis, then
/// times each netlist with OpenSTA.
pub fn map_and_time(
    work: &Path,
    verilog: &[String],
    top: &str,
    lib: &CellLibrary,
    scripts: &[Script],
) -> Result<Vec<Mapped>, String> {
    let libp = lib.path.display().to_string();
    let ties = match &lib.ties {
        Some(Ties { high, low }) => {
            format!("hilomap -singleton -hicell {} {} -locell {} {}; opt_clean; ", high.0, high.1, low.0, low.1)
        }
        None => String::new(),
    };
    let mut yosys_script = format!(
        "read_verilog {files}; {synth}; dfflegalize -cell $_DFF_P_ 01; dfflibmap -liberty {libp}; \
         design -save flip_flops_mapped; ",
        files = verilog.join(" "),
        synth = synth_commands(top, true, Memories::FlipFlops),
    );
    // Yosys renames its internal nets when it writes Verilog: reading the
    // Verilog back gives a JSON netlist with the names simulation traces.
    // OpenSTA reads no concatenation on the left of an assign.
    for &script in scripts {
        let x = script.suffix();
        yosys_script.push_str(&format!(
            "design -load flip_flops_mapped; abc -script {abc} -liberty {libp}; opt_clean; {ties}\
             tee -q -o asic_stat{x}.json stat -json; write_verilog -simple-lhs -noattr -noexpr {top}_mapped{x}.v; \
             design -reset; read_verilog {top}_mapped{x}.v; write_json {top}_mapped{x}.json; ",
            abc = script.write(work)?,
        ));
    }
    let out = run("yosys", Command::new("yosys").current_dir(work).args(["-q", "-p", &yosys_script]))?;
    if !out.status.success() {
        return Err(format!("yosys mapping of {top} onto {} failed:\n{}", lib.path.display(), text(&out)));
    }
    let mut mapped = vec![];
    for &script in scripts {
        let x = script.suffix();
        let netlist = format!("{top}_mapped{x}.v");
        let (critical_path_ps, critical_logic_ps) = sta_critical_path(work, Path::new(&netlist), top, lib)?;
        mapped.push(Mapped {
            cells: yosys::read_stat(work, &format!("asic_stat{x}.json"))?.cells,
            critical_path_ps,
            critical_logic_ps,
            netlist: work.join(&netlist),
            netlist_json: work.join(format!("{top}_mapped{x}.json")),
            settings: settings(script),
        });
    }
    Ok(mapped)
}

/// The cells of every module (its own, not its submodules') from a mapping
/// that keeps the hierarchy, with the area-first script: how the area
/// splits between modules (bitwise layers, popcount trees, the top), and,
/// with the memories kept, how much of it is logic outside the memories.
pub fn module_cells(
    work: &Path,
    verilog: &[String],
    top: &str,
    lib: &CellLibrary,
    memories: Memories,
) -> Result<CellStats, String> {
    let libp = lib.path.display().to_string();
    let stat = match memories {
        Memories::FlipFlops => "asic_hier_stat.json",
        Memories::Kept => "asic_logic_stat.json",
    };
    let script = format!(
        "read_verilog {files}; {synth}; dfflegalize -cell $_DFF_P_ 01; dfflibmap -liberty {libp}; \
         abc -script {abc} -liberty {libp}; opt_clean; tee -q -o {stat} stat -json",
        files = verilog.join(" "),
        synth = synth_commands(top, false, memories),
        abc = Script::Area.write(work)?,
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
    let name = format!("sta_{}.tcl", netlist.file_stem().and_then(|s| s.to_str()).unwrap_or("netlist"));
    let script = work.join(&name);
    fs::write(&script, tcl).map_err(|e| format!("cannot write {}: {e}", script.display()))?;
    let out = run("sta", Command::new("sta").current_dir(work).args(["-no_splash", "-exit", &name]))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_are_named_and_spelled_out_and_their_files_kept_apart() {
        assert_eq!(Script::Area.abc(), "strash\ndc2\n&get -n\n&nf\n&put\n");
        let delay = Script::Delay.describe();
        assert!(delay.starts_with("delay-first ABC script `strash; "), "{delay}");
        assert!(delay.contains(&format!("upsize -D {DELAY_TARGET_PS}")) && !delay.contains('\n'), "{delay}");
        let dir = tempfile::tempdir().unwrap();
        let names = [Script::Area.write(dir.path()).unwrap(), Script::Delay.write(dir.path()).unwrap()];
        assert_ne!(names[0], names[1]);
        assert_eq!(fs::read_to_string(dir.path().join(&names[1])).unwrap(), Script::Delay.abc());
    }

    #[test]
    fn memories_are_mapped_or_kept_by_the_synthesis_commands() {
        assert_eq!(synth_commands("t", true, Memories::FlipFlops), "synth -flatten -top t");
        let kept = synth_commands("t", false, Memories::Kept);
        assert!(kept.starts_with("synth -top t -run begin:fine;") && !kept.contains("memory_map"), "{kept}");
    }
}
