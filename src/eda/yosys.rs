//! Yosys: generic synthesis, the generic gate mapping of the reports, and
//! its cell statistics.

use super::{run, text};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Command;

/// Cells by type, as Yosys `stat -json` counts them.
#[derive(Clone, Debug, Default)]
pub struct CellStats {
    /// The whole design: every instance of a submodule counted, the
    /// submodule instances themselves not.
    pub cells: BTreeMap<String, u64>,
    /// Per module (name without Yosys's `\`): its own cells, one per
    /// submodule instance among them.
    pub modules: BTreeMap<String, BTreeMap<String, u64>>,
}

impl CellStats {
    pub fn total(&self) -> u64 {
        self.cells.values().sum()
    }
}

/// Yosys generic `synth` of the design; fails on any error. The hierarchy
/// is kept, so a lane module shared by K lanes is synthesised once; `stat
/// -top` counts every instance.
pub fn synth(dir: &Path, files: &[String], top: &str) -> Result<CellStats, String> {
    let script =
        format!("read_verilog {}; synth -top {top}; tee -q -o synth_stat.json stat -top {top} -json", files.join(" "));
    let out = run("yosys", Command::new("yosys").current_dir(dir).args(["-q", "-p", &script]))?;
    if !out.status.success() {
        return Err(format!("yosys synth of {top} failed:\n{}", text(&out)));
    }
    read_stat(dir, "synth_stat.json")
}

/// The statistics Yosys wrote to `dir/name` with `stat -json`.
pub fn read_stat(dir: &Path, name: &str) -> Result<CellStats, String> {
    let path = dir.join(name);
    let text = fs::read_to_string(&path).map_err(|e| format!("yosys wrote no statistics {}: {e}", path.display()))?;
    parse_stat(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// The generic gate set of the reports: two-input gates and a 2:1 mux.
pub const GENERIC_GATES: &str = "AND,NAND,OR,NOR,XOR,XNOR,MUX";

/// Yosys `synth -flatten` then `abc -g` onto the generic gates: the cells
/// by type and the longest path in gate levels (`ltp -noff`, flip-flops cut).
pub fn generic(dir: &Path, files: &[String], top: &str) -> Result<(CellStats, u64), String> {
    let script = format!(
        "read_verilog {}; synth -flatten -top {top}; abc -fast -g {GENERIC_GATES}; opt_clean; \
         tee -q -o generic_stat.json stat -json; tee -q -o generic_ltp.txt ltp -noff",
        files.join(" ")
    );
    let out = run("yosys", Command::new("yosys").current_dir(dir).args(["-q", "-p", &script]))?;
    if !out.status.success() {
        return Err(format!("yosys generic mapping of {top} failed:\n{}", text(&out)));
    }
    let stats = read_stat(dir, "generic_stat.json")?;
    let ltp = fs::read_to_string(dir.join("generic_ltp.txt")).map_err(|e| format!("yosys wrote no ltp report: {e}"))?;
    let levels = ltp
        .split("length=")
        .nth(1)
        .and_then(|r| r.split(')').next())
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| format!("yosys ltp gave no path length for {top}"))?;
    Ok((stats, levels))
}

/// What synthesis makes of the design's memories (line buffers, weight
/// ROMs, FIFOs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Memories {
    /// Yosys `memory_map` (part of `synth`): a RAM becomes a flip-flop per
    /// bit with its address decoder and read multiplexers; a ROM, whose
    /// words are constants, becomes logic with no flip-flops.
    FlipFlops,
    /// Left as Yosys `$mem_v2` cells, which have no area in the library:
    /// what is mapped is the logic outside the memories.
    Kept,
}

/// The Yosys commands of a generic `synth` (with `-flatten` or not) that
/// treat the memories as asked: `synth` itself, or `synth` up to its
/// `fine` step and then that step's commands without `memory_map`.
pub(crate) fn synth_commands(top: &str, flatten: bool, memories: Memories) -> String {
    let flatten = if flatten { " -flatten" } else { "" };
    match memories {
        Memories::FlipFlops => format!("synth{flatten} -top {top}"),
        Memories::Kept => format!(
            "synth{flatten} -top {top} -run begin:fine; opt -fast -full; opt -full; techmap; opt -fast; abc -fast; \
             opt -fast"
        ),
    }
}

/// Yosys's generic mapping as [`generic`], the memories left as `$mem_v2`
/// cells: the gates of the logic outside the memories, and the memories
/// (`$mem_v2`) counted as cells.
pub fn generic_logic(dir: &Path, files: &[String], top: &str) -> Result<CellStats, String> {
    let script = format!(
        "read_verilog {}; {}; abc -fast -g {GENERIC_GATES}; opt_clean; tee -q -o generic_logic_stat.json stat -json",
        files.join(" "),
        synth_commands(top, true, Memories::Kept)
    );
    let out = run("yosys", Command::new("yosys").current_dir(dir).args(["-q", "-p", &script]))?;
    if !out.status.success() {
        return Err(format!("yosys generic mapping of {top} without its memories failed:\n{}", text(&out)));
    }
    read_stat(dir, "generic_logic_stat.json")
}

/// Yosys `stat -json` as far as it is read: cells by type, per module and
/// for the whole design.
#[derive(Deserialize)]
struct StatJson {
    modules: BTreeMap<String, ModuleStat>,
    design: Option<ModuleStat>,
}

#[derive(Deserialize)]
struct ModuleStat {
    num_cells_by_type: BTreeMap<String, u64>,
}

/// Yosys's record of the scopes that flattening removed (Yosys 0.38 on):
/// not hardware.
const SCOPE_INFO: &str = "$scopeinfo";

/// Reads Yosys `stat -json` as Debian's Yosys 0.23 and YoWASP's 0.70 write
/// it. 0.70 also lists the submodule instances in the whole design's
/// counts; they are left out, as 0.23 does.
pub fn parse_stat(json: &str) -> Result<CellStats, String> {
    // Yosys 0.23, on a hierarchy three levels deep, prints the submodule
    // counts of the text report (`   name   count`) into the JSON too: a
    // line of JSON begins with a quote or a bracket.
    let json: String = json
        .lines()
        .filter(|l| l.trim_start().starts_with(['"', '{', '}', '[', ']']) || l.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    let stat: StatJson = serde_json::from_str(&json).map_err(|e| format!("not Yosys `stat -json` output: {e}"))?;
    let modules: BTreeMap<String, BTreeMap<String, u64>> = stat
        .modules
        .into_iter()
        .map(|(name, m)| {
            let cells = m.num_cells_by_type.into_iter().filter(|(cell, _)| cell != SCOPE_INFO).collect();
            (name.strip_prefix('\\').unwrap_or(&name).to_string(), cells)
        })
        .collect();
    let design = stat.design.ok_or("Yosys `stat -json` gave no whole-design counts (no top module)")?;
    let cells = design
        .num_cells_by_type
        .into_iter()
        .filter(|(cell, _)| cell != SCOPE_INFO && !modules.contains_key(cell))
        .collect();
    Ok(CellStats { cells, modules })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Yosys 0.23 on three levels of hierarchy writes text lines into the JSON.
    #[test]
    fn text_lines_inside_the_json_are_skipped() {
        let json = "{\n \"modules\": {\n  \"\\\\leaf\": {\n   \"num_cells_by_type\": {\"$_AND_\": 2}\n  }\n },\n     leaf   3\n \"design\": {\n  \"num_cells_by_type\": {\"$_AND_\": 6}\n }\n}\n";
        assert!(serde_json::from_str::<serde_json::Value>(json).is_err(), "the fixture is what Yosys writes");
        let stats = parse_stat(json).unwrap();
        assert_eq!(stats.total(), 6);
    }

    /// Yosys 0.23 on a hierarchy: each module lists its submodule
    /// instances, the whole design does not.
    #[test]
    fn reads_yosys_0_23_statistics() {
        let stat = r#"{"creator": "Yosys 0.23", "modules": {
            "\\lane": {"num_cells": 2, "num_cells_by_type": {"XNOR2_X1": 2}},
            "\\top": {"num_cells": 3, "num_cells_by_type": {"DFF_X1": 1, "lane": 2}}},
            "design": {"num_cells": 5, "num_cells_by_type": {"DFF_X1": 1, "XNOR2_X1": 4}}}"#;
        let s = parse_stat(stat).unwrap();
        assert_eq!(s.cells, BTreeMap::from([("DFF_X1".into(), 1), ("XNOR2_X1".into(), 4)]));
        assert_eq!(s.total(), 5);
        assert_eq!(s.modules["top"]["lane"], 2);
        assert_eq!(s.modules["lane"]["XNOR2_X1"], 2);
    }

    /// YoWASP's Yosys 0.70 also counts submodule instances and `$scopeinfo`
    /// cells in the whole design: neither is a cell of the design.
    #[test]
    fn reads_yosys_0_70_statistics() {
        let stat = r#"{"creator": "Yosys 0.70", "modules": {
            "\\lane": {"num_cells": 1, "num_submodules": 0, "num_cells_by_type": {"LUT4": 1}},
            "\\top": {"num_cells": 4, "num_submodules": 2, "area": 1.5,
                        "num_cells_by_type": {"$scopeinfo": 1, "DFFR": 1, "lane": 2}}},
            "design": {"num_cells": 6, "num_cells_by_type": {"$scopeinfo": 1, "DFFR": 1, "LUT4": 2, "lane": 2}}}"#;
        let s = parse_stat(stat).unwrap();
        assert_eq!(s.cells, BTreeMap::from([("DFFR".into(), 1), ("LUT4".into(), 2)]));
        assert!(!s.modules["top"].contains_key(SCOPE_INFO));
        assert!(parse_stat("Number of cells: 3").unwrap_err().contains("not Yosys `stat -json` output"));
        assert!(parse_stat(r#"{"modules": {}}"#).unwrap_err().contains("no whole-design counts"));
    }
}
