//! The papers' hardware claims (SPEC section 1) beside what this project
//! measures on its own generated hardware mapped onto a standard-cell
//! library, each with a verdict and the reason.

use crate::eda;
use crate::eda::asic::Script;
use crate::generator::render::{render, render_request};
use crate::measure::asic::{self, AsicReport};
use crate::measure::cells::CellKind;
use crate::measure::report::{PAPER_AND2, PAPER_XNOR2, Report, report};
use crate::spec::params::Block;
use crate::spec::request::Request;
use crate::study::bpac::{self, BpacPoint};
use crate::study::plot::{self, Figure, Panel, Series};
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
    /// Dot-product length of the two series below: `len`, at most 64.
    pub series_len: usize,
    /// Per K: Group-Net area (um^2) and critical path (ps), then fixed point's.
    pub group_net_vs_fixed_point: KSeries,
    /// PA-Net, weight bases as ports, in the order of the requested shapes.
    pub pa_net: Vec<PaPoint>,
    /// BPAC against plain branches, per K, on generated engines.
    pub bpac: Vec<BpacPoint>,
    /// The ABC scripts the figures name, spelled out.
    pub scripts: Vec<String>,
}

/// One PA-Net design of the M x N series.
#[derive(Clone, Debug, Serialize)]
pub struct PaPoint {
    pub m: u32,
    pub n: u32,
    pub area_um2: f64,
    pub path_ps: f64,
}

/// The PA-Net shapes measured by default: from one lane to the paper's 4 x 5.
pub const DEFAULT_PA_SHAPES: &str = "1x1,2x2,2x3,3x3,4x5";

/// Parses `MxN,MxN,...` (each 1..=16, no repeats) into (M, N) pairs.
pub fn parse_pa_shapes(text: &str) -> Result<Vec<(u32, u32)>, String> {
    let mut shapes = vec![];
    for item in text.split(',').map(str::trim) {
        let bad = || format!("--pa-shapes {item:?} is not MxN with M and N in 1..=16, e.g. 4x5");
        let (m, n) = item.split_once(['x', 'X']).ok_or_else(bad)?;
        let (m, n): (u32, u32) = (m.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
        if !(1..=16).contains(&m) || !(1..=16).contains(&n) {
            return Err(bad());
        }
        if shapes.contains(&(m, n)) {
            return Err(format!("--pa-shapes gives {m}x{n} twice"));
        }
        shapes.push((m, n));
    }
    Ok(shapes)
}

/// Measures one design on the library.
fn measure(request: &Request, work: &Path, lib: &Path) -> Result<Report, String> {
    let rendered = render_request(request)?;
    let dir = work.join(&rendered.params.top);
    report(&rendered, &dir, &[lib.to_path_buf()])
}

/// A standalone 16-bit signed adder (17-bit sum) as the generator builds
/// it: a 2-element multiply-accumulate of 16-bit inputs with both constant
/// weights 1.
fn adder16(work: &Path) -> Result<Request, String> {
    let weights = work.join("adder16_weights.json");
    std::fs::write(&weights, "{\"weights\": [\"0x00010001\"]}\n")
        .map_err(|e| format!("cannot write {}: {e}", weights.display()))?;
    Ok(Request::multibit(Block::Mac, 16, 2).weights_file(&weights))
}

fn area(r: &Report) -> f64 {
    r.cell_libraries[0].mapped.area_um2
}

fn path_ps(r: &Report) -> f64 {
    r.cell_libraries[0].mapped.critical_path_ps
}

fn split(r: &Report, part: &str) -> f64 {
    r.cell_libraries[0].area_split_um2.iter().filter(|(k, _)| k.starts_with(part)).map(|(_, v)| v).sum()
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

/// The library and the working directory every measurement uses.
struct Bench<'a> {
    lib: &'a Path,
    work: &'a Path,
    /// The library read once, for the mappings that need no full report.
    library: asic::Library,
}

impl Bench<'_> {
    /// The full report (area-first script): area, its split, the path.
    fn measure(&self, request: &Request) -> Result<Report, String> {
        measure(request, self.work, self.lib)
    }

    /// The design mapped once per script, from one synthesis, each netlist
    /// timed: for figures that are delays.
    fn timed(&self, request: &Request, scripts: &[Script]) -> Result<Vec<AsicReport>, String> {
        let rendered = render_request(request)?;
        let dir = self.work.join(&rendered.params.top).join("timed");
        crate::util::files::write_files(&dir, &rendered.files)?;
        asic::map_and_time_with(&dir, &rendered.verilog_files(), &rendered.params.top, &self.library, scripts)
    }

    /// The logic on the critical path of the delay-first netlist (ps).
    fn delay(&self, request: &Request) -> Result<f64, String> {
        Ok(self.timed(request, &[Script::Delay])?[0].critical_logic_ps)
    }

    /// Where a figure comes from: the designs, the tools and ABC script,
    /// the library.
    fn source(&self, designs: &str, script: Script) -> String {
        format!("{designs}; yosys/abc ({} script) onto {}, OpenSTA", script.name(), self.lib.display())
    }
}

/// The delays and areas the latency formulas need, measured on the library.
struct Constants {
    xnor_cell: String,
    and_cell: String,
    xnor_area: f64,
    and_area: f64,
    t_xnor: f64,
    t_and: f64,
    t_pop: f64,
    t_mul: f64,
    t_add: f64,
    t_com: f64,
    /// As reported: name, ps, how it was measured.
    listed: Vec<(String, f64, String)>,
}

fn constants(b: &Bench, len: usize) -> Result<Constants, String> {
    // Single gates: fan-out-of-4 delay of the library's XNOR2 and AND2.
    let gates = b.work.join("gates");
    let library = asic::load(b.lib, &gates)?;
    let inv = CellKind::Inverter.cell_in(&library.parsed)?;
    let xnor_cell = CellKind::Xnor2.cell_in(&library.parsed)?.to_string();
    let and_cell = CellKind::And2.cell_in(&library.parsed)?.to_string();
    let gate = |c: &str| eda::asic::gate_delay_ps(&gates, &library.flow, c, ("A", "B", "Y"), (inv, "A"));
    let (t_xnor, t_and) = (gate(&xnor_cell)?, gate(&and_cell)?);
    let (xnor_area, and_area) = (library.area(&xnor_cell), library.area(&and_cell));
    // The other constants: the logic on each design's critical path,
    // mapped for delay; the adder also area-first, to show what that costs.
    let popcount = Request::popcount(len);
    let t_pop = b.delay(&popcount)?;
    let t_mul = b.delay(&Request::multibit(Block::Mac, 8, 1))?;
    let adder = b.timed(&adder16(b.work)?, &[Script::Area, Script::Delay])?;
    let (t_add_area, t_add) = (adder[0].critical_logic_ps, adder[1].critical_logic_ps);
    let comparator = Request::pa_quantizer(1, 1);
    let t_com = b.delay(&comparator)?;
    let on_path = format!("logic on the critical path, {} script", Script::Delay.name());
    let alone = "measured alone, see the note on T_mul and T_add";
    let adder_flags = "gen --block mac --bits 16 --len 2 with constant weights 1, 1, a standalone 16-bit signed adder";
    let listed = vec![
        ("T_XNOR".to_string(), t_xnor, format!("{xnor_cell}, fan-out of 4 {inv}, OpenSTA (one cell, no mapping)")),
        ("T_AND".to_string(), t_and, format!("{and_cell}, fan-out of 4 {inv}, OpenSTA (one cell, no mapping)")),
        (format!("T_pop (n = {len})"), t_pop, format!("gen {}: {on_path}", popcount.flags())),
        (
            "T_mul (8-bit)".to_string(),
            t_mul,
            format!("gen --block mac --bits 8 --len 1, a standalone 8x8 signed multiplier: {on_path}; {alone}"),
        ),
        ("T_add (16-bit)".to_string(), t_add, format!("{adder_flags}: {on_path}; {alone}")),
        (
            "T_add (16-bit), area-first".to_string(),
            t_add_area,
            format!(
                "the same adder mapped with the {} script, for comparison (not in the formulas): logic on the \
                 critical path",
                Script::Area.name()
            ),
        ),
        ("T_com (8-bit)".to_string(), t_com, format!("gen {}: {on_path}", comparator.flags())),
    ];
    Ok(Constants { xnor_cell, and_cell, xnor_area, and_area, t_xnor, t_and, t_pop, t_mul, t_add, t_com, listed })
}

/// Claim 1: the 7 nm gate figures, as ratios.
fn gate_claim(b: &Bench, c: &Constants) -> Claim {
    let delay_ratio = c.t_xnor / c.t_and.max(1e-9);
    let area_ratio = c.xnor_area / c.and_area.max(1e-9);
    let paper_delay_ratio = PAPER_XNOR2.delay_ps / PAPER_AND2.delay_ps;
    let paper_area_ratio = PAPER_XNOR2.area_nm2 / PAPER_AND2.area_nm2;
    let worst =
        verdict_within(delay_ratio, paper_delay_ratio, 0.15).max(verdict_within(area_ratio, paper_area_ratio, 0.15));
    Claim {
        claim: "2-input gates in 7 nm: XNOR 10.87 ps, 2.90e3 nm^2; AND 9.62 ps, 1.45e3 nm^2".into(),
        paper: format!("XNOR/AND delay {paper_delay_ratio:.2}, area {paper_area_ratio:.2}"),
        measured: format!(
            "{} {:.1} ps, {:.0} nm^2; {} {:.1} ps, {:.0} nm^2: delay ratio {delay_ratio:.2}, area ratio {area_ratio:.2}",
            c.xnor_cell,
            c.t_xnor,
            c.xnor_area * 1e6,
            c.and_cell,
            c.t_and,
            c.and_area * 1e6
        ),
        verdict: worst,
        reason: "the ratios are compared: the paper's absolute figures (a commercial 7 nm process, gates alone) are not comparable with ASAP7 cells, which are tens of times larger in area and slower with a fan-out-of-4 load".into(),
        source: format!("{}: cell areas, OpenSTA fan-out-of-4 delay with 10 ps input slew", b.lib.display()),
    }
}

/// Claim 2: half the area "except for the bitcount".
fn bitwise_claim(b: &Bench, len: usize) -> Result<Claim, String> {
    let xpe = b.measure(&Request::xnor_pe(len))?;
    let ape = b.measure(&Request::and_pe(len))?;
    let (xb, ab) = (split(&xpe, "bitwise"), split(&ape, "bitwise"));
    let bit_ratio = ab / xb.max(1e-9);
    let total_ratio = area(&ape) / area(&xpe).max(1e-9);
    Ok(Claim {
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
        source: b.source(&format!("xnor_pe/and_pe --len {len}, hierarchical mapping for the split"), Script::Area),
    })
}

/// Claim 3, latency: single binary, PA-Net 4x5, full precision, and
/// PA-Net's latency against the single binary one.
fn latency_claims(b: &Bench, c: &Constants, len: usize) -> Result<Vec<Claim>, String> {
    let designs = [
        (
            "single binary (Bi-Real): c_in*h*w*(T_XNOR + T_pop) + T_mul",
            Request::of(Block::Binary, len),
            len as f64 * (c.t_xnor + c.t_pop) + c.t_mul,
        ),
        (
            "PA-Net M = 4, N = 5: c_in*h*w*(T_AND + T_pop) + 5*T_mul + 4*T_add + T_com",
            Request::pa(4, 5, len),
            len as f64 * (c.t_and + c.t_pop) + 5.0 * c.t_mul + 4.0 * c.t_add + c.t_com,
        ),
        (
            "full precision: c_in*h*w*T_mul + (c_in*h*w - 1)*T_add",
            Request::multibit(Block::Mac, 8, len),
            len as f64 * c.t_mul + (len as f64 - 1.0) * c.t_add,
        ),
    ];
    let mut out = vec![];
    let mut measured = vec![];
    for (name, request, formula) in designs {
        let logic = b.delay(&request)?;
        measured.push(logic);
        out.push(Claim {
            claim: format!("latency of one fully parallel output, {name}"),
            paper: format!("{formula:.0} ps with the measured constants"),
            measured: format!("{logic:.0} ps of logic on the critical path ({} script)", Script::Delay.name()),
            verdict: Verdict::DoesNotHold,
            reason: "the formulas add c_in*h*w gate delays in series; a fully parallel tree needs only log2(c_in*h*w) adder levels, so the measured path is orders of magnitude shorter; the formulas hold as upper bounds".into(),
            source: b.source(&format!("gen {}", request.flags()), Script::Delay),
        });
    }
    let (lb, lp) = (measured[0], measured[1]);
    let pa_over_binary = lp / lb.max(1e-9);
    out.push(Claim {
        claim: "PA-Net latency is as small as that of single binary CNNs".into(),
        paper: "PA / binary = 1".into(),
        measured: format!("{lp:.0} ps / {lb:.0} ps = {pa_over_binary:.2}"),
        verdict: verdict_within(pa_over_binary, 1.0, 0.25),
        reason: format!(
            "the comparators ({:.0} ps) and the deeper scale tree of 20 constant products sit in series with the popcount: PA-Net is {:.0}% slower, not equal",
            c.t_com,
            100.0 * (pa_over_binary - 1.0)
        ),
        source: b.source(&format!("pa --m 4 --n 5 and binary --len {len}"), Script::Delay),
    });
    Ok(out)
}

/// Claim 4, M = N = 3: 9 bitwise convolutions and 3 comparators, counted
/// in the generated hardware.
fn pa_3x3_claim(len: usize) -> Claim {
    let request = Request::pa(3, 3, len);
    let r33 = render(request.params());
    let design = &r33.generated.design;
    let mut instances = Default::default();
    crate::rtl::count::count_instances(design, &r33.params.top, 1, &mut instances);
    let popcounts: u64 = instances.iter().filter(|(m, _)| m.contains("popcnt")).map(|(_, n)| n).sum();
    let comparators = crate::rtl::count::generator_counts(design).get("comparator").copied().unwrap_or(0);
    let per_activation = comparators as f64 / len as f64;
    let holds = popcounts == 9 && per_activation == 3.0;
    Claim {
        claim: "M = N = 3: 9 parallel bitwise convolutions and 3 comparators".into(),
        paper: "9 AND-popcounts, 3 comparators per activation".into(),
        measured: format!(
            "{popcounts} AND-popcount lanes, {comparators} comparators = {per_activation} per activation"
        ),
        verdict: if holds { Verdict::Holds } else { Verdict::DoesNotHold },
        reason: "counted in the generated hardware (weights as ports, every phi non-zero)".into(),
        source: format!("gen {}, generator representation", request.flags()),
    }
}

/// Per K: Group-Net area (um^2) and critical path (ps), then fixed point's.
type KSeries = Vec<(u32, f64, f64, f64, f64)>;

/// Claim 5, Group-Net O(K) against K-bit fixed point O(K^2): the series and its claim.
fn k_series(b: &Bench, n_small: usize, max_k: u32) -> Result<(KSeries, Claim), String> {
    let mut series = vec![];
    for k in 1..=max_k {
        let g = b.measure(&Request::groupnet(k as usize, n_small).lambdas(&vec![1.0; k as usize]))?;
        let f = b.measure(&Request::multibit(Block::FixedPoint, k, n_small))?;
        series.push((k, area(&g), path_ps(&g), area(&f), path_ps(&f)));
    }
    let (k_last, ga, _, fa, _) = *series.last().unwrap();
    let (_, g1, _, f1, _) = series[0];
    let growth_g = ga / g1;
    let growth_f = fa / f1;
    let claim = Claim {
        claim: "Group-Net needs K binary convolutions where a K-bit fixed-point scheme needs K^2: O(K) against O(K^2)"
            .into(),
        paper: format!("area grows x{k_last} against x{}", k_last * k_last),
        measured: format!(
            "from K = 1 to {k_last} (n = {n_small}): Group-Net area x{growth_g:.2}, fixed point x{growth_f:.2}"
        ),
        verdict: if growth_f > growth_g * 1.5 { Verdict::Holds } else { Verdict::HoldsPartly },
        reason: "the K^2 popcounts dominate the fixed-point area; both carry the same input registers, which grow as K"
            .into(),
        source: b.source(&format!("groupnet --k K and fixedpoint --bits K, --len {n_small}"), Script::Area),
    };
    Ok((series, claim))
}

/// The BPAC claim's tolerance: BPAC's logic outside the memories within 5%
/// of the plain branches' (issue #11 asks LUTs within 5%).
const BPAC_TOLERANCE: f64 = 0.05;

/// Claim 6, BPAC: per-branch dilations cost no more than plain branches,
/// checked on generated engines for K in [`bpac::ks`].
fn bpac_claim(b: &Bench, max_k: u32) -> Result<(Vec<BpacPoint>, Claim), String> {
    let mut points = vec![];
    for k in bpac::ks(max_k) {
        points.push(bpac::measure(k, &b.library, &b.work.join("bpac"))?);
    }
    let pct = |r: f64| format!("{:+.1}%", 100.0 * (r - 1.0));
    let mut measured = vec![];
    let mut verdict = Verdict::Holds;
    let mut worst: f64 = 0.0;
    for p in &points {
        let (ra, rc) = (p.area_ratio(), p.cell_ratio());
        verdict = verdict.max(verdict_within(ra, 1.0, BPAC_TOLERANCE)).max(verdict_within(rc, 1.0, BPAC_TOLERANCE));
        worst = worst.max((ra - 1.0).abs()).max((rc - 1.0).abs());
        measured.push(format!(
            "K = {}: logic {:.1} against {:.1} um^2 ({}), generic cells {} against {} ({}); line buffer {} against {} \
             rows ({} against {} bits, {} read ports against {})",
            p.k,
            p.bpac.logic_um2,
            p.plain.logic_um2,
            pct(ra),
            p.bpac.generic_cells,
            p.plain.generic_cells,
            pct(rc),
            p.bpac.line_buffer_rows,
            p.plain.line_buffer_rows,
            p.bpac.line_buffer_bits,
            p.plain.line_buffer_bits,
            p.bpac.line_buffer_read_ports,
            p.plain.line_buffer_read_ports
        ));
    }
    let claim = Claim {
        claim: "BPAC (each branch its own dilation, rates 2..K+1) adds no complexity over plain branches".into(),
        paper: "no additional complexity; here: the logic outside the memories within 5%, the line buffer as deep as \
                the largest dilation needs"
            .into(),
        measured: measured.join("; "),
        verdict,
        reason: bpac_reason(&points, worst),
        source: format!(
            "gen {} (K = 2 shown), --dilations 2..K+1 against 1,..,1; Yosys abc -g and the {} script onto {}, every memory \
             left a $mem_v2 cell (the logic outside the memories); line buffers from the generator",
            bpac::layer(&[2, 3]).flags(),
            Script::Area.name(),
            b.lib.display()
        ),
    };
    Ok((points, claim))
}

/// What the BPAC measurement shows, in words.
fn bpac_reason(points: &[BpacPoint], worst: f64) -> String {
    let last = points.last().expect("at least one K");
    let bits = last.bpac.line_buffer_bits as f64 / last.plain.line_buffer_bits.max(1) as f64;
    format!(
        "outside the memories, the dilations change the window's read addresses and padding masks (a set per \
         distinct dilation) and the schedule's wait for the window: measured, at most {:.1}% apart. BPAC's cost is the line buffer: it holds the rows of \
         the widest window ({} against {}), and the generator gives each distinct dilation a read port, that is a \
         copy of the buffer of its own (block RAM reads one address a cycle), so at K = {} it holds {bits:.1} times \
         the bits",
        100.0 * worst,
        last.bpac.line_buffer_rows,
        last.plain.line_buffer_rows,
        last.k
    )
}

/// Measures every claim for dot products of length `len` (c_in*h*w), and
/// the series of Group-Net and fixed point for K = 1..=max_k and of PA-Net
/// for the (M, N) shapes.
pub fn claims(lib: &Path, len: usize, work: &Path, max_k: u32, pa_shapes: &[(u32, u32)]) -> Result<Claims, String> {
    std::fs::create_dir_all(work).map_err(|e| format!("cannot create {}: {e}", work.display()))?;
    let library = asic::load(lib, &work.join("lib"))?;
    let b = Bench { lib, work, library };
    let c = constants(&b, len)?;
    let mut out = vec![gate_claim(&b, &c), bitwise_claim(&b, len)?];
    out.extend(latency_claims(&b, &c, len)?);
    out.push(pa_3x3_claim(len));
    let n_small = len.min(64);
    let (series, k_claim) = k_series(&b, n_small, max_k)?;
    out.push(k_claim);
    let (bpac, bpac_claim) = bpac_claim(&b, max_k)?;
    out.push(bpac_claim);
    // PA-Net against M x N, measured like the series above.
    let mut pa_net = vec![];
    for &(pm, pn) in pa_shapes {
        let request = Request::pa(pm as usize, pn as usize, n_small).endpoints(&series_endpoints(pn));
        let r = b.measure(&request)?;
        pa_net.push(PaPoint { m: pm, n: pn, area_um2: area(&r), path_ps: path_ps(&r) });
    }
    Ok(Claims {
        liberty: lib.display().to_string(),
        len,
        constants_ps: c.listed,
        claims: out,
        series_len: n_small,
        group_net_vs_fixed_point: series,
        pa_net,
        bpac,
        scripts: [Script::Area, Script::Delay].map(Script::describe).to_vec(),
    })
}

/// How the PA-Net series chooses its activation endpoints, and why.
const PA_SERIES_NOTE: &str = "PA-Net series: default phi (alpha_i * beta_j); endpoints v_j = (-128 + \
floor(256 j / (N + 1))) | 1, the default even spread over 8-bit activations made odd, so that every comparator \
reads all 8 bits. The even spread alone puts every endpoint on a multiple of 64 when N + 1 is a power of two \
(1x1, 2x3, 3x3), and synthesis then reduces the comparators to tests of the top bits and removes the other \
activation register bits, which makes those shapes look cheaper than their lanes are.";

/// The activation endpoints of the PA-Net series: see [`PA_SERIES_NOTE`].
fn series_endpoints(n: u32) -> Vec<i64> {
    let n = i64::from(n);
    (1..=n).map(|j| (-128 + 256 * j / (n + 1)) | 1).collect()
}

/// One measured design of a series: x, cell area (um^2), critical path (ps).
type Measured = (f64, f64, f64);

/// An area panel and a critical-path panel of the same named series.
fn area_and_path(x_label: &str, x_ticks: Vec<(f64, String)>, series: &[(&str, Vec<Measured>)]) -> Vec<Panel> {
    let pick = |value: fn(&Measured) -> (f64, f64)| -> Vec<Series> {
        series.iter().map(|(name, pts)| Series::line(name, pts.iter().map(value).collect())).collect()
    };
    vec![
        Panel {
            title: "Area".into(),
            x_label: x_label.into(),
            y_label: "cell area (µm²)".into(),
            x_ticks: x_ticks.clone(),
            log_y: false,
            series: pick(|&(x, area, _)| (x, area)),
        },
        Panel {
            title: "Critical path".into(),
            x_label: x_label.into(),
            y_label: "register to register (ps)".into(),
            x_ticks,
            log_y: false,
            series: pick(|&(x, _, path)| (x, path)),
        },
    ]
}

/// The series as figures, by file stem: area and critical path against K
/// (Group-Net and fixed point), and against M x N (PA-Net).
pub fn figures(c: &Claims) -> Vec<(&'static str, Figure)> {
    let lib = Path::new(&c.liberty).file_name().map_or(c.liberty.clone(), |f| f.to_string_lossy().into_owned());
    let gn = &c.group_net_vs_fixed_point;
    let k_ticks = gn.iter().map(|&(k, ..)| (f64::from(k), k.to_string())).collect();
    let group_net = gn.iter().map(|&(k, ga, gp, _, _)| (f64::from(k), ga, gp)).collect();
    let fixed_point = gn.iter().map(|&(k, _, _, fa, fp)| (f64::from(k), fa, fp)).collect();
    let k_figure = Figure {
        title: "Group-Net (K bases) against K-bit fixed point (K² binary popcounts)".into(),
        subtitle: format!(
            "dot products of n = {}, weights as ports, Group-Net λ = 1; {lib}, Yosys + ABC (area-first), OpenSTA",
            c.series_len
        ),
        panels: area_and_path("K", k_ticks, &[("Group-Net", group_net), ("fixed point", fixed_point)]),
    };

    // PA-Net's x is M*N, the number of AND-popcount lanes; shapes with the
    // same product share a tick.
    let mut pa: Vec<&PaPoint> = c.pa_net.iter().collect();
    pa.sort_by_key(|p| p.m * p.n);
    let mut mn_ticks: Vec<(f64, String)> = vec![];
    for p in &pa {
        let (x, label) = (f64::from(p.m * p.n), format!("{}×{}", p.m, p.n));
        match mn_ticks.last_mut() {
            Some((at, text)) if *at == x => *text = format!("{text}, {label}"),
            _ => mn_ticks.push((x, label)),
        }
    }
    let pa_points = pa.iter().map(|p| (f64::from(p.m * p.n), p.area_um2, p.path_ps)).collect();
    let mn_figure = Figure {
        title: "PA-Net with M weight bases and N activation bases".into(),
        subtitle: format!(
            "dot products of n = {}, weight bases as ports, default φ, odd endpoints; {lib}, Yosys + ABC (area-first), \
             OpenSTA",
            c.series_len
        ),
        panels: area_and_path("M × N (AND-popcount lanes)", mn_ticks, &[("PA-Net", pa_points)]),
    };
    vec![("area_path_vs_k", k_figure), ("area_path_vs_mn", mn_figure)]
}

/// Why T_mul and T_add are only estimates of what the latency formulas mean.
const MUL_ADD_NOTE: &str = "Note on T_mul and T_add: each is measured on a circuit of its own between registers. \
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
    let _ = writeln!(
        o,
        "\nABC scripts (each figure names the one it used; delays are mapped delay-first, areas area-first): {}.",
        c.scripts.join("; ")
    );
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
    let _ = writeln!(o, "\n| M x N | PA-Net area um^2 | path ps |\n|---|---|---|");
    for p in &c.pa_net {
        let _ = writeln!(o, "| {}x{} | {:.2} | {:.0} |", p.m, p.n, p.area_um2, p.path_ps);
    }
    let _ = writeln!(
        o,
        "\n| K | plain logic um^2 | BPAC logic um^2 | plain generic cells | BPAC generic cells | line buffer rows, \
         plain / BPAC | read ports, plain / BPAC |\n|---|---|---|---|---|---|---|"
    );
    for p in &c.bpac {
        let _ = writeln!(
            o,
            "| {} | {:.2} | {:.2} | {} | {} | {} / {} | {} / {} |",
            p.k,
            p.plain.logic_um2,
            p.bpac.logic_um2,
            p.plain.generic_cells,
            p.bpac.generic_cells,
            p.plain.line_buffer_rows,
            p.bpac.line_buffer_rows,
            p.plain.line_buffer_read_ports,
            p.bpac.line_buffer_read_ports
        );
    }
    let _ = writeln!(
        o,
        "\nBPAC engines: `{}` (K = 2 shown), dilations 2..K+1 against all 1; logic outside the memories (every memory left a Yosys \
         $mem_v2 cell), area-first script.",
        bpac::layer(&[2, 3]).flags()
    );
    let _ = writeln!(
        o,
        "\nBoth series: n = {}, weights as ports, critical path register to register, area-first script. \
         {PA_SERIES_NOTE} Plotted in {}.",
        c.series_len,
        figures(c).iter().map(|(stem, _)| format!("`{stem}.svg` (`.png`)")).collect::<Vec<_>>().join(" and ")
    );
    let _ = writeln!(o, "\nSources per claim are in the JSON file beside this one.");
    o
}

/// Writes `claims.md`, `claims.json` and every figure as SVG and PNG into
/// `dir`; nothing is written if a figure cannot be drawn.
pub fn write(c: &Claims, dir: &Path) -> Result<Vec<PathBuf>, String> {
    let json = serde_json::to_string_pretty(c).map_err(|e| e.to_string())? + "\n";
    let mut files = vec![("claims.md".to_string(), markdown(c)), ("claims.json".to_string(), json)];
    let mut images = vec![];
    for (stem, figure) in figures(c) {
        let svg = plot::svg(&figure)?;
        images.push((format!("{stem}.png"), plot::png(&svg)?));
        files.push((format!("{stem}.svg"), svg));
    }
    let mut written = crate::util::files::write_files(dir, &files)?;
    for (name, bytes) in images {
        let path = dir.join(name);
        std::fs::write(&path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pa_shapes_parse_and_reject_with_one_line() {
        assert_eq!(parse_pa_shapes(DEFAULT_PA_SHAPES).unwrap(), [(1, 1), (2, 2), (2, 3), (3, 3), (4, 5)]);
        assert_eq!(parse_pa_shapes(" 16X1 ,1x16").unwrap(), [(16, 1), (1, 16)]);
        for bad in ["", "4", "0x2", "2x17", "axb", "2x2,2x2", "2x2,"] {
            let e = parse_pa_shapes(bad).unwrap_err();
            assert!(e.starts_with("--pa-shapes") && !e.contains('\n'), "{bad:?}: {e}");
        }
    }

    #[test]
    fn series_endpoints_are_odd_increasing_and_fit_8_bits() {
        assert_eq!(series_endpoints(1), [1]);
        assert_eq!(series_endpoints(3), [-63, 1, 65]);
        for n in 1..=16 {
            let v = series_endpoints(n);
            assert_eq!(v.len(), n as usize);
            assert!(v.iter().all(|x| x % 2 != 0 && (-128..=127).contains(x)), "{v:?}");
            assert!(v.windows(2).all(|w| w[0] < w[1]), "{v:?}");
        }
    }

    #[test]
    fn figures_plot_every_measured_point() {
        let c = Claims {
            liberty: "/pdk/lib.lib.gz".into(),
            len: 4,
            constants_ps: vec![],
            claims: vec![],
            series_len: 4,
            group_net_vs_fixed_point: vec![(1, 1.0, 10.0, 1.0, 10.0), (2, 2.0, 11.0, 4.0, 12.0)],
            pa_net: [(4, 5, 9.0), (1, 1, 1.0), (2, 3, 5.0), (3, 2, 6.0)]
                .map(|(m, n, a)| PaPoint { m, n, area_um2: a, path_ps: 100.0 * a })
                .to_vec(),
            bpac: vec![],
            scripts: vec![],
        };
        let figs = figures(&c);
        assert_eq!(figs.iter().map(|f| f.0).collect::<Vec<_>>(), ["area_path_vs_k", "area_path_vs_mn"]);
        let k = &figs[0].1;
        assert!(k.subtitle.contains("lib.lib.gz") && !k.subtitle.contains("/pdk"), "{}", k.subtitle);
        for panel in &k.panels {
            assert_eq!(panel.series.len(), 2);
            assert!(panel.series.iter().all(|s| s.points.len() == 2));
        }
        assert_eq!(k.panels[1].series[1].points, [(1.0, 10.0), (2.0, 12.0)]);
        let mn = &figs[1].1;
        // Sorted by M*N; 2x3 and 3x2 share one tick.
        assert_eq!(mn.panels[0].series[0].points, [(1.0, 1.0), (6.0, 5.0), (6.0, 6.0), (20.0, 9.0)]);
        let ticks: Vec<&str> = mn.panels[0].x_ticks.iter().map(|t| t.1.as_str()).collect();
        assert_eq!(ticks, ["1×1", "2×3, 3×2", "4×5"]);
        for (_, fig) in &figs {
            plot::svg(fig).unwrap();
        }
    }
}
