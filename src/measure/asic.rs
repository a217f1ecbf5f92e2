//! Standard-cell figures: a Liberty library read once, both for the cell
//! data the estimates need and for the plain facts the ASIC flow in
//! `eda::asic` runs with, and that flow's mappings priced with it.

use crate::eda::asic::{self, CellLibrary, Memories, Script, Ties};
use crate::measure::cells::CellKind;
use crate::measure::liberty::{self, Direction};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

/// A Liberty library: its parsed cells, and what the tools are given.
#[derive(Clone, Debug)]
pub struct Library {
    pub parsed: liberty::Library,
    pub flow: CellLibrary,
}

impl Library {
    /// The area of a cell (0 for a cell the library does not have, as Yosys
    /// counts it).
    pub fn area(&self, cell: &str) -> f64 {
        self.parsed.cells.get(cell).map_or(0.0, |c| c.area)
    }

    /// Is this an ASAP7 library (whose cell names say so)?
    pub fn is_asap7(&self) -> bool {
        self.parsed.cells.keys().any(|c| c.contains("ASAP7"))
    }
}

/// Reads the Liberty file `path` (plain or gzipped), and writes the plain
/// copy the tools read into `work`.
pub fn load(path: &Path, work: &Path) -> Result<Library, String> {
    let shown = path.display();
    let raw = fs::read(path).map_err(|e| format!("--liberty {shown}: cannot read it: {e}"))?;
    let text = if path.extension().is_some_and(|x| x == "gz") {
        let mut s = String::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_string(&mut s)
            .map_err(|e| format!("--liberty {shown}: not a readable gzip file: {e}"))?;
        s
    } else {
        String::from_utf8(raw).map_err(|_| format!("--liberty {shown} is not a text Liberty file"))?
    };
    let parsed = liberty::parse(&text)
        .and_then(|g| liberty::library(&g))
        .map_err(|e| format!("--liberty {shown} is not a Liberty file that can be used: {e}"))?;
    fs::create_dir_all(work).map_err(|e| format!("cannot create {}: {e}", work.display()))?;
    let plain = work.join("cells.lib");
    fs::write(&plain, &text).map_err(|e| format!("cannot write {}: {e}", plain.display()))?;
    let plain = plain.canonicalize().map_err(|e| format!("cannot resolve {}: {e}", plain.display()))?;
    let ties = match (tie(&parsed, CellKind::TieHigh, "1"), tie(&parsed, CellKind::TieLow, "0")) {
        (Some(high), Some(low)) => Some(Ties { high, low }),
        _ => None,
    };
    let flow = CellLibrary { path: plain, time_unit_ps: picoseconds(parsed.time_unit), ties };
    Ok(Library { parsed, flow })
}

/// A time unit in ps: whole picoseconds exactly (1ns is 1000, not the
/// 1000.0000000000001 that 1e-9 s x 1e12 gives).
fn picoseconds(seconds: f64) -> f64 {
    let ps = seconds * 1e12;
    if (ps - ps.round()).abs() < 1e-9 * ps { ps.round() } else { ps }
}

/// The tie cell of `kind` and its output pin whose function is `value`.
fn tie(lib: &liberty::Library, kind: CellKind, value: &str) -> Option<(String, String)> {
    let cell = kind.find(lib.cells.keys())?;
    let pin = lib.cells[cell]
        .pins
        .iter()
        .find(|(_, p)| p.direction == Direction::Output && p.function.as_deref() == Some(value))?;
    Some((cell.clone(), pin.0.clone()))
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
    pub netlist: PathBuf,
    pub netlist_json: PathBuf,
    /// The ABC script, named and spelled out (see [`Script`]).
    pub script: String,
    pub settings: String,
}

/// Maps `verilog` (top `top`) onto the cells of `lib` with the area-first
/// script and times it: the cells with their areas, the flip-flops and the
/// clock.
pub fn map_and_time(work: &Path, verilog: &[String], top: &str, lib: &Library) -> Result<AsicReport, String> {
    let mut mapped = map_and_time_with(work, verilog, top, lib, &[Script::Area])?;
    Ok(mapped.remove(0))
}

/// [`map_and_time`] once per ABC script, from one synthesis:
/// [`Script::Delay`] for figures that are delays.
pub fn map_and_time_with(
    work: &Path,
    verilog: &[String],
    top: &str,
    lib: &Library,
    scripts: &[Script],
) -> Result<Vec<AsicReport>, String> {
    let mapped = asic::map_and_time(work, verilog, top, &lib.flow, scripts)?;
    Ok(mapped.into_iter().zip(scripts).map(|(m, &script)| priced(m, script, lib)).collect())
}

/// A mapping with its cells priced from the library.
fn priced(mapped: asic::Mapped, script: Script, lib: &Library) -> AsicReport {
    let mut cells = BTreeMap::new();
    let (mut area, mut flip_flops) = (0.0, 0);
    for (name, n) in mapped.cells {
        let a = lib.area(&name) * n as f64;
        if CellKind::of(&name) == Some(CellKind::FlipFlop) {
            flip_flops += n;
        }
        area += a;
        cells.insert(name, (n, a));
    }
    let path = mapped.critical_path_ps;
    AsicReport {
        liberty: lib.flow.path.display().to_string(),
        cells,
        area_um2: area,
        flip_flops,
        critical_path_ps: path,
        critical_logic_ps: mapped.critical_logic_ps,
        fmax_mhz: if path > 0.0 { 1e6 / path } else { f64::INFINITY },
        netlist: mapped.netlist,
        netlist_json: mapped.netlist_json,
        script: script.describe(),
        settings: mapped.settings,
    }
}

/// Area per module (its own cells only, not its submodules'), from a
/// mapping that keeps the hierarchy, memories as flip-flops.
pub fn module_areas(
    work: &Path,
    verilog: &[String],
    top: &str,
    lib: &Library,
) -> Result<BTreeMap<String, f64>, String> {
    Ok(module_areas_with(work, verilog, top, lib, Memories::FlipFlops)?.0)
}

/// Area per module as [`module_areas`], the memories treated as asked,
/// and the number of memories left as cells (none unless kept).
pub fn module_areas_with(
    work: &Path,
    verilog: &[String],
    top: &str,
    lib: &Library,
    memories: Memories,
) -> Result<(BTreeMap<String, f64>, u64), String> {
    let stats = asic::module_cells(work, verilog, top, &lib.flow, memories)?;
    let area = |cells: &BTreeMap<String, u64>| cells.iter().map(|(c, &n)| lib.area(c) * n as f64).sum();
    let kept = stats.cells.iter().filter(|(c, _)| c.starts_with("$mem")).map(|(_, n)| n).sum();
    Ok((stats.modules.iter().map(|(module, cells)| (module.clone(), area(cells))).collect(), kept))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// The test library with ASAP7-style tie cells added.
    fn with_ties() -> String {
        let ties = "  cell (TIEHIx1) { area : 0.04; pin (H) { direction : output; function : \"1\"; } }\n  \
                    cell (TIELOx1) { area : 0.04; pin (L) { direction : output; function : \"0\"; } }\n}\n";
        liberty::TINY.trim_end().strip_suffix('}').unwrap().to_string() + ties
    }

    #[test]
    fn loads_a_gzipped_library_with_its_facts_for_the_tools() {
        let dir = tempfile::tempdir().unwrap();
        let gz = dir.path().join("tiny.lib.gz");
        let mut enc = flate2::write::GzEncoder::new(fs::File::create(&gz).unwrap(), flate2::Compression::default());
        enc.write_all(with_ties().as_bytes()).unwrap();
        enc.finish().unwrap();
        let lib = load(&gz, &dir.path().join("work")).unwrap();
        assert_eq!(fs::read_to_string(&lib.flow.path).unwrap(), with_ties(), "the tools read a plain copy");
        assert!(lib.flow.path.is_absolute());
        assert_eq!(lib.flow.time_unit_ps, 1.0);
        let ties = lib.flow.ties.as_ref().unwrap();
        assert_eq!((ties.high.0.as_str(), ties.high.1.as_str()), ("TIEHIx1", "H"));
        assert_eq!((ties.low.0.as_str(), ties.low.1.as_str()), ("TIELOx1", "L"));
        assert_eq!((lib.area("INV"), lib.area("NAND9")), (0.04, 0.0));
        assert!(!lib.is_asap7());
    }

    #[test]
    fn a_library_without_ties_has_none_and_bad_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("tiny.lib");
        fs::write(&plain, liberty::TINY).unwrap();
        assert!(load(&plain, dir.path()).unwrap().flow.ties.is_none());
        fs::write(&plain, "cell (x) { }").unwrap();
        let err = load(&plain, dir.path()).unwrap_err();
        assert!(err.starts_with(&format!("--liberty {} is not a Liberty file", plain.display())), "{err}");
        assert!(load(&dir.path().join("none.lib"), dir.path()).unwrap_err().contains("cannot read it"));
        assert_eq!((picoseconds(1e-9), picoseconds(1e-12), picoseconds(0.5e-12)), (1000.0, 1.0, 0.5));
    }
}
