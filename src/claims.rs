//! The papers' hardware claims (SPEC section 1) beside what this project
//! measures on its own generated hardware mapped onto a standard-cell
//! library, each with a verdict and the reason.

use crate::cli::DesignArgs;
use crate::output::render_args;
use crate::report::{PAPER_AND2, PAPER_XNOR2, Report, report};
use crate::sweep::parse_flags;
use crate::tools::asic;
use serde::Serialize;
use std::fmt::Write;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, Serialize)]
pub struct Claim {
    pub claim: String,
    pub paper: String,
    pub measured: String,
    pub verdict: Verdict,
    pub reason: String,
    /// The designs (gen flags) and tools behind the measurement.
    pub source: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Claims {
    pub liberty: String,
    pub len: usize,
    /// Constants the latency formulas need, measured on the library (ps).
    pub constants_ps: Vec<(String, f64, String)>,
    pub claims: Vec<Claim>,
    pub group_net_vs_fixed_point: Vec<(u32, f64, f64, f64, f64)>,
}

/// Measures one design (gen flags) on the library.
fn measure(flags: &str, work: &Path, lib: &Path) -> Result<Report, String> {
    measure_args(&parse_flags(flags)?, work, lib)
}

fn measure_args(args: &DesignArgs, work: &Path, lib: &Path) -> Result<Report, String> {
    let rendered = render_args(args)?;
    let dir = work.join(&rendered.params.top);
    report(&rendered, &dir, &[lib.to_path_buf()])
}

/// A standalone 16-bit signed adder (17-bit sum) as the generator builds
/// it: a 2-element multiply-accumulate of 16-bit inputs with both constant
/// weights 1.
fn measure_adder16(work: &Path, lib: &Path) -> Result<Report, String> {
    let weights = work.join("adder16_weights.json");
    std::fs::write(&weights, "{\"weights\": [\"0x00010001\"]}\n")
        .map_err(|e| format!("cannot write {}: {e}", weights.display()))?;
    let args = DesignArgs {
        block: Some("mac".into()),
        bits: Some(16),
        len: Some(2),
        weights_file: Some(weights),
        ..Default::default()
    };
    measure_args(&args, work, lib)
}

fn area(r: &Report) -> f64 {
    r.cell_libraries[0].mapped.area_um2
}

fn path_ps(r: &Report) -> f64 {
    r.cell_libraries[0].mapped.critical_path_ps
}

/// The logic on the critical path, without the launching clock-to-Q and setup.
fn logic_ps(r: &Report) -> f64 {
    r.cell_libraries[0].mapped.critical_logic_ps
}

fn split(r: &Report, part: &str) -> f64 {
    r.cell_libraries[0].area_split_um2.iter().filter(|(k, _)| k.starts_with(part)).map(|(_, v)| v).sum()
}

/// The first cell of the library whose name starts with one of `prefixes`.
fn cell<'a>(lib: &'a asic::Liberty, prefixes: &[&str]) -> Result<&'a str, String> {
    lib.areas
        .keys()
        .find(|c| prefixes.iter().any(|p| c.starts_with(p)))
        .map(String::as_str)
        .ok_or_else(|| format!("{} has no cell named {}", lib.path.display(), prefixes.join(" or ")))
}

/// How far a measured ratio is from the paper's, as a verdict; the worse
/// of two verdicts is their maximum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Verdict {
    #[serde(rename = "holds")]
    Holds,
    #[serde(rename = "holds partly")]
    HoldsPartly,
    #[serde(rename = "does not hold")]
    DoesNotHold,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Holds => "holds",
            Verdict::HoldsPartly => "holds partly",
            Verdict::DoesNotHold => "does not hold",
        }
    }
}

fn verdict_within(ratio: f64, target: f64, tolerance: f64) -> Verdict {
    let off = (ratio / target - 1.0).abs();
    if off <= tolerance {
        Verdict::Holds
    } else if off <= 3.0 * tolerance {
        Verdict::HoldsPartly
    } else {
        Verdict::DoesNotHold
    }
}

/// Measures every claim for dot products of length `len` (c_in*h*w).
pub fn claims(lib: &Path, len: usize, work: &Path, max_k: u32) -> Result<Claims, String> {
    let m = |flags: &str| measure(flags, work, lib);
    // Single gates: fan-out-of-4 delay of the library's XNOR2 and AND2.
    std::fs::create_dir_all(work).map_err(|e| format!("cannot create {}: {e}", work.display()))?;
    let cells = asic::load_liberty(lib, &work.join("gates"))?;
    let inv = cell(&cells, &["INVx1_", "sky130_fd_sc_hd__inv_1"])?;
    let xnor_cell = cell(&cells, &["XNOR2xp5_", "sky130_fd_sc_hd__xnor2_1"])?.to_string();
    let and_cell = cell(&cells, &["AND2x2_", "sky130_fd_sc_hd__and2_1"])?.to_string();
    let gate = |c: &str| asic::gate_delay_ps(&work.join("gates"), &cells, c, ("A", "B", "Y"), (inv, "A"));
    let (t_xnor, t_and) = (gate(&xnor_cell)?, gate(&and_cell)?);
    let (xnor_area, and_area) = (cells.areas[&xnor_cell], cells.areas[&and_cell]);
    // The other constants: the logic on each design's critical path.
    let t_pop = logic_ps(&m(&format!("--block popcount --len {len}"))?);
    let t_mul = logic_ps(&m("--block mac --bits 8 --len 1")?);
    let t_add = logic_ps(&measure_adder16(work, lib)?);
    let t_com = logic_ps(&m("--block pa_quantizer --n 1 --len 1")?);
    let constants = vec![
        ("T_XNOR".to_string(), t_xnor, format!("{xnor_cell}, fan-out of 4 {inv}, OpenSTA")),
        ("T_AND".to_string(), t_and, format!("{and_cell}, fan-out of 4 {inv}, OpenSTA")),
        (format!("T_pop (n = {len})"), t_pop, format!("popcount --len {len}: logic on the critical path")),
        (
            "T_mul (8-bit)".to_string(),
            t_mul,
            "mac --bits 8 --len 1, a standalone 8x8 signed multiplier: logic on the critical path; measured alone, see the note on T_mul and T_add".to_string(),
        ),
        (
            "T_add (16-bit)".to_string(),
            t_add,
            "mac --bits 16 --len 2 with constant weights 1, 1, a standalone 16-bit signed adder: logic on the critical path; measured alone, see the note on T_mul and T_add".to_string(),
        ),
        ("T_com (8-bit)".to_string(), t_com, "pa_quantizer --n 1 --len 1: logic on the critical path".to_string()),
    ];
    let mut out = vec![];
    let lib_name = lib.display().to_string();
    let src = |designs: &str| format!("{designs}; yosys/abc onto {lib_name}, OpenSTA");

    // 1. The 7 nm gate figures.
    let delay_ratio = t_xnor / t_and.max(1e-9);
    let area_ratio = xnor_area / and_area.max(1e-9);
    let paper_delay_ratio = PAPER_XNOR2.delay_ps / PAPER_AND2.delay_ps;
    let paper_area_ratio = PAPER_XNOR2.area_nm2 / PAPER_AND2.area_nm2;
    let worst =
        verdict_within(delay_ratio, paper_delay_ratio, 0.15).max(verdict_within(area_ratio, paper_area_ratio, 0.15));
    out.push(Claim {
        claim: "2-input gates in 7 nm: XNOR 10.87 ps, 2.90e3 nm^2; AND 9.62 ps, 1.45e3 nm^2".into(),
        paper: format!("XNOR/AND delay {paper_delay_ratio:.2}, area {paper_area_ratio:.2}"),
        measured: format!(
            "{xnor_cell} {t_xnor:.1} ps, {:.0} nm^2; {and_cell} {t_and:.1} ps, {:.0} nm^2: delay ratio {delay_ratio:.2}, area ratio {area_ratio:.2}",
            xnor_area * 1e6,
            and_area * 1e6
        ),
        verdict: worst,
        reason: "the ratios are compared: the paper's absolute figures (a commercial 7 nm process, gates alone) are not comparable with ASAP7 cells, which are tens of times larger in area and slower with a fan-out-of-4 load".into(),
        source: format!("{lib_name}: cell areas, OpenSTA fan-out-of-4 delay with 10 ps input slew"),
    });

    // 2. Half the area "except for the bitcount".
    let xpe = m(&format!("--block xnor_pe --len {len}"))?;
    let ape = m(&format!("--block and_pe --len {len}"))?;
    let (xb, ab) = (split(&xpe, "bitwise"), split(&ape, "bitwise"));
    let bit_ratio = ab / xb.max(1e-9);
    let total_ratio = area(&ape) / area(&xpe).max(1e-9);
    out.push(Claim {
        claim: "a {0,1} (AND) binary convolution costs half the area and power of a +1/-1 (XNOR) one, except for the bitcount".into(),
        paper: "AND/XNOR bitwise layer = 0.50".into(),
        measured: format!(
            "bitwise layer {ab:.2} / {xb:.2} um^2 = {bit_ratio:.2}; whole PE {:.2} / {:.2} um^2 = {total_ratio:.2}",
            area(&ape),
            area(&xpe)
        ),
        verdict: verdict_within(bit_ratio, 0.5, 0.15),
        reason: format!(
            "the bitwise layers compare as the paper says only where the AND2 cell is about half an XNOR2; the popcount and registers, {:.0}% of the XNOR PE, are the same in both",
            100.0 * (1.0 - xb / area(&xpe).max(1e-9))
        ),
        source: src(&format!("xnor_pe/and_pe --len {len}, hierarchical mapping for the split")),
    });

    // 3. Latency: single binary, PA-Net 4x5, full precision.
    let binary = m(&format!("--block binary --len {len}"))?;
    let pa = m(&format!("--block pa --m 4 --n 5 --len {len}"))?;
    let full = m(&format!("--block mac --bits 8 --len {len}"))?;
    let n = len as f64;
    let formula_binary = n * (t_xnor + t_pop) + t_mul;
    let formula_pa = n * (t_and + t_pop) + 5.0 * t_mul + 4.0 * t_add + t_com;
    let formula_full = n * t_mul + (n - 1.0) * t_add;
    let (lb, lp, lf) = (logic_ps(&binary), logic_ps(&pa), logic_ps(&full));
    for (name, formula, measured, design) in [
        ("single binary (Bi-Real): c_in*h*w*(T_XNOR + T_pop) + T_mul", formula_binary, lb, "binary"),
        ("PA-Net M = 4, N = 5: c_in*h*w*(T_AND + T_pop) + 5*T_mul + 4*T_add + T_com", formula_pa, lp, "pa --m 4 --n 5"),
        ("full precision: c_in*h*w*T_mul + (c_in*h*w - 1)*T_add", formula_full, lf, "mac --bits 8"),
    ] {
        out.push(Claim {
            claim: format!("latency of one fully parallel output, {name}"),
            paper: format!("{formula:.0} ps with the measured constants"),
            measured: format!("{measured:.0} ps of logic on the critical path"),
            verdict: Verdict::DoesNotHold,
            reason: "the formulas add c_in*h*w gate delays in series; a fully parallel tree needs only log2(c_in*h*w) adder levels, so the measured path is orders of magnitude shorter; the formulas hold as upper bounds".into(),
            source: src(&format!("{design} --len {len}")),
        });
    }
    let pa_over_binary = lp / lb.max(1e-9);
    out.push(Claim {
        claim: "PA-Net latency is as small as that of single binary CNNs".into(),
        paper: "PA / binary = 1".into(),
        measured: format!("{lp:.0} ps / {lb:.0} ps = {pa_over_binary:.2}"),
        verdict: verdict_within(pa_over_binary, 1.0, 0.25),
        reason: format!(
            "the comparators ({t_com:.0} ps) and the deeper scale tree of 20 constant products sit in series with the popcount: PA-Net is {:.0}% slower, not equal",
            100.0 * (pa_over_binary - 1.0)
        ),
        source: src(&format!("pa --m 4 --n 5 and binary --len {len}")),
    });

    // 4. M = N = 3: 9 bitwise convolutions and 3 comparators.
    let r33 = render_args(&parse_flags(&format!("--block pa --m 3 --n 3 --len {len}"))?)?;
    let design = &r33.generated.design;
    let mut instances = Default::default();
    crate::report::count_instances(design, &r33.params.top, 1, &mut instances);
    let popcounts: u64 = instances.iter().filter(|(m, _)| m.contains("popcnt")).map(|(_, n)| n).sum();
    let comparators = crate::report::generator_counts(design).get("comparator").copied().unwrap_or(0);
    let per_activation = comparators as f64 / len as f64;
    let holds = popcounts == 9 && per_activation == 3.0;
    out.push(Claim {
        claim: "M = N = 3: 9 parallel bitwise convolutions and 3 comparators".into(),
        paper: "9 AND-popcounts, 3 comparators per activation".into(),
        measured: format!(
            "{popcounts} AND-popcount lanes, {comparators} comparators = {per_activation} per activation"
        ),
        verdict: if holds { Verdict::Holds } else { Verdict::DoesNotHold },
        reason: "counted in the generated hardware (weights as ports, every phi non-zero)".into(),
        source: format!("pa --m 3 --n 3 --len {len}, generator representation"),
    });

    // 5. Group-Net O(K) against K-bit fixed point O(K^2).
    let mut series = vec![];
    let n_small = len.min(64);
    for k in 1..=max_k {
        let g = m(&format!("--k {k} --len {n_small} --lambda {}", vec!["1"; k as usize].join(",")))?;
        let f = m(&format!("--block fixedpoint --bits {k} --len {n_small}"))?;
        series.push((k, area(&g), path_ps(&g), area(&f), path_ps(&f)));
    }
    let (k_last, ga, _, fa, _) = *series.last().unwrap();
    let (_, g1, _, f1, _) = series[0];
    let growth_g = ga / g1;
    let growth_f = fa / f1;
    out.push(Claim {
        claim: "Group-Net needs K binary convolutions where a K-bit fixed-point scheme needs K^2: O(K) against O(K^2)"
            .into(),
        paper: format!("area grows x{k_last} against x{}", k_last * k_last),
        measured: format!(
            "from K = 1 to {k_last} (n = {n_small}): Group-Net area x{growth_g:.2}, fixed point x{growth_f:.2}"
        ),
        verdict: if growth_f > growth_g * 1.5 { Verdict::Holds } else { Verdict::HoldsPartly },
        reason: "the K^2 popcounts dominate the fixed-point area; both carry the same input registers, which grow as K"
            .into(),
        source: src(&format!("groupnet --k K and fixedpoint --bits K, --len {n_small}")),
    });

    Ok(Claims { liberty: lib_name, len, constants_ps: constants, claims: out, group_net_vs_fixed_point: series })
}

/// Why T_mul and T_add are only estimates of what the latency formulas mean.
pub const MUL_ADD_NOTE: &str = "Note on T_mul and T_add: each is measured on a circuit of its own between registers. \
The formulas add them in series, but synthesis merges a multiplier's final carry-propagate adder with the addition \
that follows it, so their sums overstate a multiply-accumulate built as one circuit. The papers do not give the \
adder's width: 16 bits is the product of two 8-bit operands; an accumulator of c_in*h*w products is wider by \
log2(c_in*h*w) bits.";

/// The claims as a Markdown table.
pub fn markdown(c: &Claims) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# The papers' claims against measurement\n");
    let _ = writeln!(o, "Library: `{}`; dot-product length {} (c_in*h*w).\n", c.liberty, c.len);
    let _ = writeln!(o, "| constant | ps | how |\n|---|---|---|");
    for (name, v, how) in &c.constants_ps {
        let _ = writeln!(o, "| {name} | {v:.1} | {how} |");
    }
    let _ = writeln!(o, "\n{MUL_ADD_NOTE}");
    let _ = writeln!(o, "\n| claim | paper | measured | verdict | reason |\n|---|---|---|---|---|");
    for cl in &c.claims {
        let _ = writeln!(
            o,
            "| {} | {} | {} | **{}** | {} |",
            cl.claim,
            cl.paper,
            cl.measured,
            cl.verdict.as_str(),
            cl.reason
        );
    }
    let _ =
        writeln!(o, "\n| K | Group-Net area um^2 | path ps | fixed point area um^2 | path ps |\n|---|---|---|---|---|");
    for (k, ga, gp, fa, fp) in &c.group_net_vs_fixed_point {
        let _ = writeln!(o, "| {k} | {ga:.2} | {gp:.0} | {fa:.2} | {fp:.0} |");
    }
    let _ = writeln!(o, "\nSources per claim are in the JSON file beside this one.");
    o
}

/// Writes `claims.md` and `claims.json` into `dir`.
pub fn write(c: &Claims, dir: &Path) -> Result<Vec<PathBuf>, String> {
    let json = serde_json::to_string_pretty(c).map_err(|e| e.to_string())? + "\n";
    let files = vec![("claims.md".to_string(), markdown(c)), ("claims.json".to_string(), json)];
    crate::output::write_files(dir, &files)
}
