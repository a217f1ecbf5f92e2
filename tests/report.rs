//! Reports against independent tools: the generator's bitwise gate counts
//! against Yosys's generic mapping, and the netlists Yosys maps onto ASAP7
//! cells simulated against the golden model.

use mbnn::eda;
use mbnn::generator::render::{Rendered, render};
use mbnn::measure::asic;
use mbnn::rtl::count::generator_counts;
use mbnn::spec::request::Request;
use mbnn::verify::testbench::{Checks, Effort, verify};
use std::path::{Path, PathBuf};

fn rendered(request: &Request) -> Rendered {
    render(request.params())
}

fn asap7() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/pdk/asap7/asap7sc7p5t_RVT_TT_merged.lib.gz")
}

/// The bitwise layer is one XNOR2 or AND2 per input bit with weight ports:
/// Yosys's generic mapping of the bitwise modules alone must give exactly
/// those gates. With constant weights there is no bitwise layer at all.
#[test]
fn bitwise_gate_counts_match_yosys_exactly() {
    let work = tempfile::tempdir().unwrap();
    for (request, kind) in
        [(Request::xnor_pe(256), "xnor2"), (Request::and_pe(100), "and2"), (Request::pa(2, 3, 40), "and2")]
    {
        let r = rendered(&request);
        let flags = request.flags();
        let dir = work.path().join(&r.params.top);
        mbnn::util::files::write_files(&dir, &r.files).unwrap();
        let counts = generator_counts(&r.generated.design);
        let mut instances = Default::default();
        mbnn::rtl::count::count_instances(&r.generated.design, &r.params.top, 1, &mut instances);
        let mut yosys_gates = 0;
        for (module, times) in instances.iter().filter(|(m, _)| m.starts_with("xnor_n") || m.starts_with("and_n")) {
            let (stats, _) = eda::yosys::generic(&dir, &[format!("{module}.v")], module).unwrap();
            yosys_gates += stats.total() * times;
        }
        let bitwise = counts.get(kind).copied().unwrap_or(0);
        // PA-Net's one-hot bases add AND2s outside the bitwise modules.
        let expect = if request.m.is_some() { (2 * 3) * 40 } else { bitwise };
        assert!(bitwise > 0, "{flags}: no {kind} counted");
        assert_eq!(yosys_gates, expect, "{flags}: yosys generic gates of the bitwise layer");
    }
}

/// Constant XNOR weights select input bits into two popcounts (weight 1 and
/// weight 0, subtracted) instead of inverting them: no gate in front of the
/// popcounts, and the selections cover every input bit once per lane.
#[test]
fn constant_weights_leave_no_bitwise_gates() {
    let r = rendered(&Request::groupnet(3, 70).const_weights(4));
    let counts = generator_counts(&r.generated.design);
    for kind in ["inv", "xnor2", "and2"] {
        assert_eq!(counts.get(kind).copied().unwrap_or(0), 0, "{kind}: {counts:?}");
    }
    let mut instances = Default::default();
    mbnn::rtl::count::count_instances(&r.generated.design, &r.params.top, 1, &mut instances);
    assert!(!instances.keys().any(|m| m.starts_with("xnor_n")), "{instances:?}");
    assert_eq!(r.generated.popcount_inputs, 3 * 70);
}

/// The ASAP7 netlist (cells modelled by Yosys from the Liberty functions)
/// behaves exactly like the RTL: simulated under Verilator against the
/// golden model, with the same corners, bubbles and resets.
#[test]
fn asap7_netlists_match_the_golden_model() {
    let work = tempfile::tempdir().unwrap();
    for request in [
        Request::xnor_pe(64).pipeline(2),
        Request::groupnet(2, 20).lambdas(&[0.75, -1.25]).pipeline(1),
        Request::pa(2, 3, 9).act_bits(4).pipeline(1),
    ] {
        let r = rendered(&request);
        let flags = &request.flags();
        let top = r.params.top.clone();
        let dir = work.path().join(&top);
        mbnn::util::files::write_files(&dir, &r.files).unwrap();
        let lib = asic::load(&asap7(), &dir.join("lib")).unwrap();
        let files: Vec<String> = r.verilog_files().iter().map(|f| format!("../{f}")).collect();
        let mapped = asic::map_and_time(&dir.join("lib"), &files, &top, &lib).unwrap();
        assert!(mapped.area_um2 > 0.0 && mapped.critical_path_ps > 0.0, "{flags}: {mapped:?}");
        assert!(mapped.cells.keys().any(|c| c.contains("ASAP7")), "{flags}: not mapped onto ASAP7 cells");
        let models = eda::asic::cell_models(&dir.join("lib"), &lib.flow).unwrap();
        let netlist = std::fs::read_to_string(&mapped.netlist).unwrap();
        let gate_level = Rendered {
            files: vec![
                (format!("{top}.v"), netlist),
                ("cell_models.v".to_string(), std::fs::read_to_string(models).unwrap()),
            ],
            ..r
        };
        let checks = Checks { lint: false, iverilog: false, yosys: false, netlist: true, progress: false };
        let v = verify(
            &gate_level,
            &dir.join("gates"),
            checks,
            Effort { random_cycles: 300, frames: 3, seed: 3, jobs: 1 },
            flags,
        );
        assert!(v.passed, "{flags}: {}\n{}", v.summary, v.report);
    }
}

/// The claims pipeline end to end on tiny designs: every claim gets a
/// measurement and a verdict, the counting claim is exact, and the series
/// are measured and plotted.
#[test]
fn claims_are_measured_with_verdicts() {
    let work = tempfile::tempdir().unwrap();
    let c = mbnn::study::claims::claims(&asap7(), 4, work.path(), 2, &[(1, 1), (2, 3)]).unwrap();
    assert_eq!(c.claims.len(), 9);
    for cl in &c.claims {
        assert!(["holds", "holds partly", "does not hold"].contains(&cl.verdict.as_str()), "{cl:?}");
        assert!(!cl.measured.is_empty() && !cl.reason.is_empty() && !cl.source.is_empty());
    }
    let counting = c.claims.iter().find(|cl| cl.claim.starts_with("M = N = 3")).unwrap();
    assert_eq!(counting.verdict.as_str(), "holds", "{counting:?}");
    assert!(counting.measured.starts_with("9 AND-popcount lanes, 12 comparators"), "{}", counting.measured);
    assert_eq!(c.group_net_vs_fixed_point.len(), 2);
    for (name, ps, _) in &c.constants_ps {
        assert!(*ps >= 0.0, "{name}: {ps}");
    }
    let t_xnor = c.constants_ps.iter().find(|k| k.0 == "T_XNOR").unwrap().1;
    let t_and = c.constants_ps.iter().find(|k| k.0 == "T_AND").unwrap().1;
    assert!(t_xnor > 1.0 && t_xnor < 200.0, "an ASAP7 XNOR2 at fan-out 4 takes tens of ps, got {t_xnor}");
    assert!(t_and > 1.0 && t_and < 200.0, "an ASAP7 AND2 at fan-out 4 takes tens of ps, got {t_and}");
    // T_add is a delay: mapped delay-first, and area-first beside it.
    let t_add = c.constants_ps.iter().find(|k| k.0 == "T_add (16-bit)").unwrap();
    let t_add_area = c.constants_ps.iter().find(|k| k.0 == "T_add (16-bit), area-first").unwrap();
    assert!(t_add.2.contains("delay-first") && t_add_area.2.contains("area-first"), "{t_add:?} {t_add_area:?}");
    assert!(t_add.1 > 0.0 && t_add.1 < t_add_area.1, "delay-first {} ps, area-first {} ps", t_add.1, t_add_area.1);
    // BPAC at K = 2: dilations 2, 3 need a deeper line buffer than 1, 1.
    let bpac = c.claims.iter().find(|cl| cl.claim.starts_with("BPAC")).unwrap();
    assert_eq!(c.bpac.len(), 1);
    let p = &c.bpac[0];
    assert_eq!(p.k, 2);
    assert!(p.bpac.line_buffer_rows > p.plain.line_buffer_rows, "{p:?}");
    assert!(p.plain.logic_um2 > 0.0 && p.plain.generic_cells > 0, "{p:?}");
    assert!(bpac.measured.contains("K = 2: logic") && bpac.source.contains("--dilations 2..K+1"), "{bpac:?}");
    let md = mbnn::study::claims::markdown(&c);
    assert!(md.contains("| claim | paper | measured | verdict | reason |"));
    assert!(md.contains("delay-first ABC script `") && md.contains("area-first ABC script `"), "scripts spelled");
    assert!(md.contains("Note on T_mul and T_add"), "the caveat is stated");

    assert_eq!(c.series_len, 4);
    assert_eq!(c.pa_net.iter().map(|p| (p.m, p.n)).collect::<Vec<_>>(), [(1, 1), (2, 3)]);
    for p in &c.pa_net {
        assert!(p.area_um2 > 0.0 && p.path_ps > 0.0, "{p:?}");
    }
    assert!(md.contains("| 2x3 |"), "the PA-Net table lists 2x3");
    let out = work.path().join("out");
    let written = mbnn::study::claims::write(&c, &out).unwrap();
    let plots = ["area_path_vs_k.svg", "area_path_vs_k.png", "area_path_vs_mn.svg", "area_path_vs_mn.png"];
    for name in ["claims.md", "claims.json"].into_iter().chain(plots) {
        let path = out.join(name);
        assert!(written.contains(&path), "{name} is not among {written:?}");
        let len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        assert!(len > 0, "{name} is missing or empty");
    }
    let svg = std::fs::read_to_string(out.join("area_path_vs_mn.svg")).unwrap();
    assert!(svg.contains("2×3") && svg.contains("1×1"), "the M x N ticks name the shapes");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("claims.json")).unwrap()).unwrap();
    assert_eq!(json["pa_net"].as_array().map(Vec::len), Some(2));
}

/// Power from simulated toggles of the ASAP7 netlist: positive, leakage a
/// small part of it, and driven by the simulation: with every data input
/// held at 0 only the clock toggles, so the energy beyond the clock's
/// nearly vanishes. The analytic model lands near OpenSTA's path.
#[test]
fn asap7_power_comes_from_simulated_activity() {
    use mbnn::measure::activity::{Inputs, Stimulus};
    let work = tempfile::tempdir().unwrap();
    let r = rendered(&Request::xnor_pe(64));
    let run = |inputs| {
        let stimulus = Stimulus { cycles: 1000, seed: 7, inputs };
        mbnn::measure::report::report_with_power(&r, work.path(), &[asap7()], &stimulus).unwrap()
    };
    let random = run(Inputs::Random);
    let lib = &random.cell_libraries[0];
    let p = lib.power.as_ref().expect("power was asked for");
    assert!(p.source.contains("1000 cycles") && p.source.contains("seed 7"), "{}", p.source);
    assert_eq!(p.untraced_nets, 0, "every net of the netlist is in the trace");
    assert_eq!(p.at_mhz, lib.mapped.fmax_mhz);
    assert!(p.internal_mw > 0.0 && p.switching_mw > 0.0 && p.leakage_mw > 0.0, "{p:?}");
    assert!(p.leakage_mw < p.total_mw / 100.0, "leakage is a small part of the total: {p:?}");
    assert!((p.total_mw - (p.internal_mw + p.switching_mw + p.leakage_mw)).abs() < 1e-12);
    // 128 random input bits alone toggle 64 times a cycle.
    assert!(p.toggles_per_cycle > 64.0, "{p:?}");
    assert!((p.dynamic_pj_per_cycle * p.at_mhz * 1e-3 - (p.internal_mw + p.switching_mw)).abs() < 1e-9);

    let zeros = run(Inputs::Zeros);
    let z = zeros.cell_libraries[0].power.as_ref().unwrap();
    assert_eq!(z.toggles_per_cycle, 2.0, "only the clock net toggles: {z:?}");
    assert!(z.internal_mw < p.internal_mw, "{z:?}");
    let data = |q: &mbnn::measure::power::PowerReport| q.dynamic_pj_per_cycle - q.clock_pj_per_cycle;
    assert!(data(z) * 5.0 < data(p), "zeros {} pJ vs random {} pJ beyond the clock", data(z), data(p));
    assert!((z.clock_pj_per_cycle - p.clock_pj_per_cycle).abs() < 0.5 * p.clock_pj_per_cycle);

    let t = random.analytic_7nm_timing.as_ref().unwrap();
    assert!(t.path.contains(&("xnor2".to_string(), 1)), "{:?}", t.path);
    let ratio = t.critical_path_ps / lib.mapped.critical_path_ps;
    assert!(
        (0.5..2.0).contains(&ratio),
        "analytic {} ps vs OpenSTA {} ps",
        t.critical_path_ps,
        lib.mapped.critical_path_ps
    );
    let a = random.analytic_7nm_power.as_ref().unwrap();
    assert!(a.total_mw > 0.0 && a.at_mhz == t.fmax_mhz && a.unpriced.is_empty(), "{a:?}");
}
