//! Yosys: generic synthesis, the generic gate mapping of the reports, and
//! its cell statistics.

use super::{run, text};
use std::fs;
use std::path::Path;
use std::process::Command;

/// Cells after Yosys `synth`, by type.
#[derive(Clone, Debug, Default)]
pub struct SynthStats {
    pub cells: Vec<(String, u64)>,
}

impl SynthStats {
    pub fn total(&self) -> u64 {
        self.cells.iter().map(|(_, n)| n).sum()
    }
}

/// Yosys generic `synth` of the design; fails on any error. The hierarchy
/// is kept, so a lane module shared by K lanes is synthesised once; `stat
/// -top` counts every instance.
pub fn synth(dir: &Path, files: &[String], top: &str) -> Result<SynthStats, String> {
    let script =
        format!("read_verilog {}; synth -top {top}; tee -q -o yosys_stat.txt stat -top {top}", files.join(" "));
    let out = run("yosys", Command::new("yosys").current_dir(dir).args(["-q", "-p", &script]))?;
    if !out.status.success() {
        return Err(format!("yosys synth of {top} failed:\n{}", text(&out)));
    }
    let stat = fs::read_to_string(dir.join("yosys_stat.txt")).map_err(|e| format!("yosys wrote no statistics: {e}"))?;
    Ok(parse_stat(&stat))
}

/// The generic gate set of the reports: two-input gates and a 2:1 mux.
pub const GENERIC_GATES: &str = "AND,NAND,OR,NOR,XOR,XNOR,MUX";

/// Yosys `synth -flatten` then `abc -g` onto the generic gates: the cells
/// by type and the longest path in gate levels (`ltp -noff`, flip-flops cut).
pub fn generic(dir: &Path, files: &[String], top: &str) -> Result<(SynthStats, u64), String> {
    let script = format!(
        "read_verilog {}; synth -flatten -top {top}; abc -fast -g {GENERIC_GATES}; opt_clean; \
         tee -q -o generic_stat.txt stat; tee -q -o generic_ltp.txt ltp -noff",
        files.join(" ")
    );
    let out = run("yosys", Command::new("yosys").current_dir(dir).args(["-q", "-p", &script]))?;
    if !out.status.success() {
        return Err(format!("yosys generic mapping of {top} failed:\n{}", text(&out)));
    }
    let read = |f: &str| fs::read_to_string(dir.join(f)).map_err(|e| format!("yosys wrote no {f}: {e}"));
    let stats = parse_stat(&read("generic_stat.txt")?);
    let ltp = read("generic_ltp.txt")?;
    let levels = ltp
        .split("length=")
        .nth(1)
        .and_then(|r| r.split(')').next())
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| format!("yosys ltp gave no path length for {top}"))?;
    Ok((stats, levels))
}

/// Reads the `Number of cells` table of Yosys `stat`.
pub fn parse_stat(stat: &str) -> SynthStats {
    let mut cells = vec![];
    let mut in_cells = false;
    for line in stat.lines() {
        let t = line.trim();
        if t.starts_with("Number of cells:") {
            // With a hierarchy, the last table is the whole design's.
            cells.clear();
            in_cells = true;
            continue;
        }
        if in_cells {
            let mut parts = t.split_whitespace();
            match (parts.next(), parts.next().and_then(|n| n.parse::<u64>().ok())) {
                (Some(name), Some(n)) => cells.push((name.to_string(), n)),
                _ => in_cells = false,
            }
        }
    }
    SynthStats { cells }
}
