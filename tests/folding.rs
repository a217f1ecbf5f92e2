//! Folding chosen for a target (`generator::folding`, `--target-fps`,
//! `mbnn dse`).

use mbnn::generator::folding::{self, Target};
use mbnn::spec::board::Family;
use mbnn::spec::board::{BlockRam, block_ram};
use mbnn::spec::engine::{EngineParams, Folding, WeightStorage};
use mbnn::spec::network::{NetworkParams, Stage, load_network, parse_network};
use std::path::Path;
use std::process::Command;

fn ice40() -> BlockRam {
    block_ram(Family::Ice40)
}

/// A 4x4 binary map of 8 channels, a 3x3 conv (K = 1) to 8 channels and a
/// dense layer to 4 sums.
fn small() -> NetworkParams {
    let text = r#"{"input": {"height": 4, "width": 4, "channels": 8, "bits": 1},
        "layers": [{"kind": "conv", "k": 1, "cout": 8, "kernel": 3, "seed": 1},
                   {"kind": "dense", "k": 1, "cout": 4, "seed": 2}], "output": "sum"}"#;
    parse_network(text, Path::new("."), "small").unwrap()
}

fn foldings(net: &NetworkParams) -> Vec<Option<(usize, usize)>> {
    let one = |s: &Stage| match s {
        Stage::Engine { params, .. } => Some((params.folding.pe, params.folding.simd)),
        Stage::Pool(_) => None,
    };
    net.layers.iter().map(|l| one(&l.stage)).collect()
}

fn engine(net: &NetworkParams, i: usize) -> &EngineParams {
    match &net.layers[i].stage {
        Stage::Engine { params, .. } => params,
        Stage::Pool(_) => panic!("layer {i} is a pool"),
    }
}

#[test]
fn legal_foldings_follow_spec_6_6() {
    let net = small();
    let g = &engine(&net, 0).geometry;
    let simds: Vec<usize> = folding::legal_foldings(g).iter().filter(|f| f.pe == 1).map(|f| f.simd).collect();
    // simd divides cin 8, or is a multiple of 8 that divides 72.
    assert_eq!(simds, [1, 2, 4, 8, 24, 72]);
    let pes: Vec<usize> = folding::legal_foldings(g).iter().filter(|f| f.simd == 1).map(|f| f.pe).collect();
    assert_eq!(pes, [1, 2, 4, 8]);
}

/// By hand, for 64 cycles a frame: the conv has 16 output pixels, so ii <=
/// 4, (8/pe) * (72/simd) <= 4, pe * simd >= 144: (2, 72) = 144 lane bits
/// is the least ((8, 24) = 192 also meets it). The dense layer has one
/// output pixel: (4/pe) * (128/simd) <= 64, pe * simd >= 8; (1, 8), (2, 4)
/// and (4, 2) cost the same (K = 1: no scale tree, sums out), fewest PEs wins.
#[test]
fn chooser_meets_the_budget_with_the_cheapest_folding() {
    let net = small();
    let chosen = folding::choose_folding(&net, 64, ice40()).unwrap();
    assert_eq!(foldings(&chosen), [Some((2, 72)), Some((1, 8))]);
    assert!(chosen.layers.iter().all(|l| l.cycles_per_frame() <= 64));
    assert_eq!(chosen.cycles_per_frame(), 64);
    // The cheaper of two legal foldings that both meet it.
    let at = |f: Folding| folding::engine_luts(&EngineParams { folding: f, ..engine(&net, 0).clone() });
    assert!(at(Folding { pe: 2, simd: 72 }) < at(Folding { pe: 8, simd: 24 }));
    // Only the folding changes: names and weights stay.
    for i in 0..2 {
        let (a, b) = (engine(&net, i), engine(&chosen, i));
        assert_eq!(EngineParams { folding: a.folding, ..b.clone() }, *a);
    }
    // A looser budget folds more; the loosest folds everything.
    assert_eq!(foldings(&folding::choose_folding(&net, 16 * 72, ice40()).unwrap()), [Some((1, 8)), Some((1, 1))]);
    assert_eq!(foldings(&folding::choose_folding(&net, 1 << 20, ice40()).unwrap()), [Some((1, 1)), Some((1, 1))]);
}

#[test]
fn impossible_targets_and_budgets_fail_with_one_line() {
    let net = small();
    let e = folding::choose_folding(&net, 15, ice40()).unwrap_err();
    assert!(e.contains("layers[0] (conv) cannot meet 15 cycles per frame") && e.contains("16 cycles"), "{e}");
    let target = |fps: f64, luts: Option<u64>| Target { fps, clock_mhz: 1.0, luts, brams: Some(30), ram: ice40() };
    let e = folding::fold_for_target(&net, &target(1e6 / 15.0, None)).unwrap_err();
    assert!(e.contains("layers[0] (conv)") && !e.contains('\n'), "{e}");
    let e = folding::fold_for_target(&net, &target(1e6 / 64.0, Some(100))).unwrap_err();
    assert!(e.contains("over the 100 LUT4 and 30 4-kbit EBR available") && !e.contains('\n'), "{e}");
    let f = folding::fold_for_target(&net, &target(1e6 / 64.0, Some(5280))).unwrap();
    assert_eq!(f.budget, 64);
    assert!(f.total.luts > 0 && f.total.luts <= 5280 && f.total.brams <= 30, "{:?}", f.total);
    assert!(folding::budget_cycles(1.0, 0.0).is_err() && folding::budget_cycles(-1.0, 5.0).is_err());
}

#[test]
fn net_tiny_folds_for_a_rate_on_each_board() {
    let net = load_network(Path::new("testbench/net_tiny.json")).unwrap();
    for budget in [64, 100, 1000, 2600, 5000, 40_000] {
        let chosen = folding::choose_folding(&net, budget, ice40()).unwrap();
        assert!(chosen.layers.iter().all(|l| l.cycles_per_frame() <= budget), "{budget}");
        assert_eq!(chosen.layers.len(), net.layers.len());
    }
    // 20 000 frames/s at the iCEBreaker's 52 MHz: 2600 cycles.
    let target = Target { fps: 20_000.0, clock_mhz: 52.0, luts: Some(5280), brams: Some(30), ram: ice40() };
    let f = folding::fold_for_target(&net, &target).unwrap();
    assert_eq!(f.budget, 2600);
    assert_eq!(foldings(&f.params), [Some((1, 3)), Some((2, 8)), None, Some((1, 1))]);
    assert_eq!(f.params.cycles_per_frame(), 2304);
    assert!(folding::choose_folding(&net, 63, ice40()).unwrap_err().contains("layers[0] (pa_conv)"));
}

#[test]
fn block_ram_takes_the_fewest_blocks_of_one_shape() {
    assert_eq!(ice40().blocks(32, 288), 4); // 2 wide x 2 deep of 256 x 16
    assert_eq!(ice40().blocks(1, 2048), 1);
    assert_eq!(ice40().blocks(8, 16), 0); // 128 bits stay in logic
    assert_eq!(block_ram(Family::Ecp5).blocks(64, 128), 2);
    // Of equal counts, the widest shape: CNV's deep dense ROM of 32,768 x
    // 8 bits is 16 DP16KD of 2,048 x 9 (16 of 16,384 x 1 would do too).
    let ecp5 = block_ram(Family::Ecp5);
    assert_eq!((ecp5.shape(8, 32768), ecp5.blocks(8, 32768)), ((9, 2048), 16));
    assert_eq!((ecp5.shape(1, 20000), ecp5.blocks(1, 20000)), ((1, 16384), 2));
    assert_eq!((ecp5.shape(1024, 36), ecp5.blocks(1024, 36)), ((36, 512), 29));
}

fn mbnn(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_mbnn")).args(args).output().expect("runs")
}

#[test]
fn gen_prints_the_folding_and_dse_writes_the_chart() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("gen");
    let o = mbnn(&[
        "gen",
        "--network",
        "testbench/net_tiny.json",
        "--target-fps",
        "20000",
        "--board",
        "icebreaker",
        "--out",
        out.to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{text}{}", String::from_utf8_lossy(&o.stderr));
    assert!(text.contains("folding for 2600 cycles per frame") && text.contains("pe   2 simd    8"), "{text}");
    let manifest = std::fs::read_to_string(out.join("net_tiny.json")).unwrap();
    assert!(manifest.contains("\"cycles_per_frame\": 2304"), "{manifest}");

    let o = mbnn(&["gen", "--network", "testbench/net_tiny.json", "--target-fps", "1e9", "--clock-mhz", "52"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("layers[0] (pa_conv) cannot meet 0 cycles"), "{err}");
    // The range it names: 52 MHz over the 8x8 input's 64 pixels a frame.
    assert!(err.contains("--target-fps 1000000000") && err.contains("0 < fps <= 812500"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    let o = mbnn(&["gen", "--network", "testbench/net_tiny.json", "--target-fps", "1000"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("needs --board or --clock-mhz"));

    let dse = dir.path().join("dse");
    let o = mbnn(&["dse", "--network", "testbench/net_tiny.json", "--board", "ulx3s", "--out", dse.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for name in ["dse.json", "dse.svg", "dse.png"] {
        assert!(dse.join(name).is_file(), "{name}");
    }
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(dse.join("dse.json")).unwrap()).unwrap();
    let points = json["points"].as_array().unwrap();
    assert!(points.len() >= 8, "{json}");
    assert!(points.iter().any(|p| p["label"] == "1x1 1x1 - 1x1"), "{json}");

    // As the issue writes it, with no board: frames/s at 100 MHz, said so.
    let alone = dir.path().join("dse_alone");
    let o = mbnn(&["dse", "--network", "testbench/net_tiny.json", "--out", alone.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(text.starts_with("dse: no --board or --clock-mhz: frames/s at 100 MHz"), "{text}");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(alone.join("dse.json")).unwrap()).unwrap();
    let fastest = json["points"].as_array().unwrap().iter().map(|p| p["y"].as_f64().unwrap()).fold(0.0, f64::max);
    // net_tiny's fastest folding takes its 8 x 8 input's 64 pixels a frame.
    assert!((fastest - 100e6 / 64.0).abs() < 1.0, "{json}");
}

/// Verilator: the chosen folding runs at its predicted cycles per frame
/// (the verifier checks frames exactly that far apart).
#[test]
fn sim_runs_the_chosen_folding() {
    let dir = tempfile::tempdir().unwrap();
    let o = mbnn(&[
        "sim",
        "--network",
        "testbench/net_tiny.json",
        "--target-fps",
        "20000",
        "--board",
        "icebreaker",
        "--no-yosys",
        "--cycles",
        "3000",
        "--work",
        dir.path().to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{text}{}", String::from_utf8_lossy(&o.stderr));
    assert!(text.contains("2304 cycles per frame") && text.contains("1 passed, 0 failed"), "{text}");
}

/// When the cheapest-LUT foldings take more block RAM than there is, the
/// chooser trades LUTs for block RAM: within the cap, still within the
/// budget, at least as many LUTs, and the fewest LUTs of every combination
/// of the layers' legal foldings that fit (checked by enumerating them).
#[test]
fn a_block_ram_cap_trades_luts_for_block_ram() {
    let net = load_network(&Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/digits/groupnet_k3.json")).unwrap();
    let budget = 4_333;
    let free = folding::choose_folding(&net, budget, ice40()).unwrap();
    let (_, free_total) = folding::network_resources(&free, ice40());
    // The smallest cap below the cheapest-LUT folding's block RAMs that any folding meets.
    let within = |cap| folding::choose_folding_within(&net, budget, ice40(), Some(cap)).unwrap();
    let cap = (0..free_total.brams).find(|&c| within(c).is_some()).expect("some folding takes fewer block RAMs");
    let capped = within(cap).unwrap();
    let (_, total) = folding::network_resources(&capped, ice40());
    assert!(total.brams <= cap, "{} block RAMs over the cap {cap}", total.brams);
    assert!(total.luts >= free_total.luts);
    assert!(capped.layers.iter().all(|l| l.cycles_per_frame() <= budget));
    // Every combination, by brute force.
    let engines: Vec<usize> =
        (0..net.layers.len()).filter(|&i| matches!(net.layers[i].stage, Stage::Engine { .. })).collect();
    let options: Vec<Vec<Folding>> = engines
        .iter()
        .map(|&i| {
            let p = engine(&net, i);
            folding::legal_foldings(&p.geometry)
                .into_iter()
                .filter(|f| {
                    let ii = (p.geometry.cout / f.pe) * (p.geometry.window_len() / f.simd);
                    (p.geometry.height * p.geometry.width).max(p.geometry.out_height() * p.geometry.out_width() * ii)
                        <= budget
                })
                .collect()
        })
        .collect();
    let mut best = u64::MAX;
    let mut pick = vec![0; engines.len()];
    loop {
        let mut trial = net.clone();
        for (k, &i) in engines.iter().enumerate() {
            if let Stage::Engine { params, .. } = &mut trial.layers[i].stage {
                params.folding = options[k][pick[k]];
            }
        }
        let (_, t) = folding::network_resources(&trial, ice40());
        if t.brams <= cap {
            best = best.min(t.luts);
        }
        let Some(k) = (0..engines.len()).find(|&k| pick[k] + 1 < options[k].len()) else { break };
        pick[k] += 1;
        pick[..k].iter_mut().for_each(|p| *p = 0);
    }
    assert_eq!(total.luts, best, "the chooser's LUTs against the best within {cap} block RAMs");
    assert_eq!(within(cap - 1), None);
    println!(
        "{} block RAMs and {} LUT4 by LUTs alone; {} and {} within {cap}",
        free_total.brams, free_total.luts, total.brams, total.luts
    );
}

fn weights_in(net: &NetworkParams) -> Vec<Option<WeightStorage>> {
    let one = |s: &Stage| match s {
        Stage::Engine { params, .. } => Some(params.weights_in),
        Stage::Pool(_) => None,
    };
    net.layers.iter().map(|l| one(&l.stage)).collect()
}

/// The engines whose weights are in logic.
fn in_logic(net: &NetworkParams) -> Vec<usize> {
    weights_in(net).iter().enumerate().filter(|(_, w)| **w == Some(WeightStorage::Logic)).map(|(i, _)| i).collect()
}

/// The Group-Net K = 2 CNV at FINN's folding, by hand: each engine's two
/// lanes (and in layer 0 a third bit-plane base of all ones, which needs
/// no ROM) read a ROM of pe*simd bits and ii words. At the best DP16KD
/// shape (36 wide up to 512 deep, else the deepest that holds it) they
/// take, per engine: layer 0 2 x 48x36 -> 4; 1: 2 x 1024x36 -> 58;
/// 3: 2 x 512x144 -> 30; 4: 2 x 512x288 -> 30; 6: 2 x 128x2304 -> 40;
/// 7: 2 x 32x18432 -> 72; 8: 2 x 4x32768 -> 16; 9: 2 x 8x32768 -> 32;
/// 10: 2 x 5x1024 -> 2. The line buffers in block RAM take 13 more
/// (layers 0, 1, 3, 4, 6: 1, 2, 2, 4, 4). In logic (a LUT4 per 16 words,
/// the depth rounded up to a power of two) the ROMs take LUT4 per DP16KD
/// freed: layer 0 96, 1 141, 10 320, 3 546, then 1,024 and more. Moving
/// the cheapest first, 0, 1, 10 and 3 bring the 297 DP16KD to 203; 10
/// fits back (205), 0 does not (209).
#[test]
fn packing_moves_the_cheapest_weight_roms_to_logic_until_the_block_ram_fits() {
    let ecp5 = block_ram(Family::Ecp5);
    let gn = load_network(Path::new("examples/networks/cnv_groupnet_k2.json")).unwrap();
    let all = folding::pack_weights(&gn, ecp5, u64::MAX);
    assert!(weights_in(&all).iter().flatten().all(|w| *w == WeightStorage::BlockRam));
    let weight_brams = 4 + 58 + 30 + 30 + 40 + 72 + 16 + 32 + 2;
    let (_, all_total) = folding::network_resources(&all, ecp5);
    assert_eq!(all_total.brams, weight_brams + 1 + 2 + 2 + 4 + 4, "{all_total:?}");

    let packed = folding::pack_weights(&gn, ecp5, 208);
    assert_eq!(in_logic(&packed), vec![0, 1, 3]);
    let (_, total) = folding::network_resources(&packed, ecp5);
    assert_eq!(total.brams, all_total.brams - 4 - 58 - 30);
    assert_eq!(total.brams, 205);
    assert_eq!(total.luts, all_total.luts + 2 * 48 * 4 + 2 * 1024 * 4 + 2 * 512 * 16);

    // Room for every ROM: nothing moves.
    assert!(in_logic(&folding::pack_weights(&gn, ecp5, all_total.brams)).is_empty());
    // A layer the file places stays where it is; others move instead.
    let mut pinned = gn.clone();
    if let Stage::Engine { params, .. } = &mut pinned.layers[1].stage {
        params.weights_in = WeightStorage::BlockRam;
    }
    let packed = folding::pack_weights(&pinned, ecp5, 208);
    assert!(!in_logic(&packed).contains(&1) && in_logic(&packed).len() > 2, "{:?}", in_logic(&packed));
    assert!(folding::network_resources(&packed, ecp5).1.brams <= 208);
}

#[test]
fn gen_with_a_board_packs_the_weights_and_says_where_they_went() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("gen");
    let net = "examples/networks/cnv_groupnet_k2.json";
    let o = mbnn(&["gen", "--network", net, "--board", "ulx3s", "--out", out.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{text}{}", String::from_utf8_lossy(&o.stderr));
    let logic_lines: Vec<&str> = text.lines().filter(|l| l.ends_with("weights in logic")).collect();
    assert_eq!(logic_lines.len(), 3, "{text}");
    for (line, layer) in logic_lines.iter().zip([0, 1, 3]) {
        assert!(line.starts_with(&format!("  layer {layer} conv")), "{text}");
    }
    let verilog = |layer: usize| std::fs::read_to_string(out.join(format!("cnv_groupnet_k2_l{layer}.v"))).unwrap();
    assert_eq!(verilog(1).matches("(* ram_style = \"logic\" *)").count(), 2);
    assert_eq!(verilog(4).matches("(* ram_style = \"block\" *)").count(), 2);
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("cnv_groupnet_k2.json")).unwrap()).unwrap();
    let layers = manifest["params"]["layers"].as_array().unwrap();
    assert_eq!(layers[1]["params"]["weights_in"], "logic");
    assert_eq!(layers[4]["params"]["weights_in"], "block_ram");
    // --board alone takes none of the target's other settings.
    let o = mbnn(&["gen", "--network", net, "--board", "ulx3s", "--clock-mhz", "50", "--out", out.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--clock-mhz go with --target-fps"));
}

/// The digits PA-Net took 9,946 logic cells placed (README), against the
/// UP5K's 5,280 LUT4: `gen` and `pnr` with the board refuse it up front,
/// in one line, and write nothing.
#[test]
fn a_network_folded_beyond_the_board_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let net = "examples/digits/panet_m4n5.json";
    for cmd in ["gen", "pnr"] {
        let dest = if cmd == "gen" { "--out" } else { "--work" };
        let o = mbnn(&[cmd, "--network", net, "--board", "icebreaker", dest, out.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success() && err.lines().count() == 1, "{cmd}: {err}");
        assert!(err.contains(net) && err.contains("over the 5280 LUT4") && err.contains("icebreaker"), "{err}");
        assert!(!out.exists(), "{cmd} wrote {}", out.display());
    }
}

/// The PA-Net M = 4, N = 5 CNV (halved channels) holds 387,424 weights:
/// 32x27 + 32x288 + 64x288 + 64x576 + 128x576 + 128x1152 + 256x128 +
/// 256x256 + 10x256. As piece indices they take 3 bits each in one ROM a
/// layer, 1,162,272 bits; as bit-planes 4 ROMs of one bit, 1,549,696; and
/// the estimate's block RAMs follow.
#[test]
fn the_pa_net_cnv_stores_3_bit_piece_indices_instead_of_4_planes() {
    use mbnn::spec::engine::WeightForm;
    let pa = load_network(Path::new("examples/networks/cnv_pa_m4n5.json")).unwrap();
    let ecp5 = block_ram(Family::Ecp5);
    let rom_bits = |net: &NetworkParams| -> u64 {
        net.engines()
            .map(|p| {
                let (count, bits) = p.weight_roms();
                (count * (p.folding.pe * p.folding.simd) * bits as usize * p.ii()) as u64
            })
            .sum()
    };
    assert!(pa.engines().all(|p| p.stores_piece_index() && p.weight_roms() == (1, 3)));
    assert_eq!(rom_bits(&pa), 3 * 387_424);
    let mut planes = pa.clone();
    for layer in &mut planes.layers {
        if let Stage::Engine { params, .. } = &mut layer.stage {
            params.weight_form = WeightForm::Planes;
        }
    }
    assert!(planes.engines().all(|p| p.weight_roms() == (4, 1)));
    assert_eq!(rom_bits(&planes), 4 * 387_424);
    let (index_total, planes_total) =
        (folding::network_resources(&pa, ecp5).1, folding::network_resources(&planes, ecp5).1);
    println!("DP16KD: piece indices {index_total:?}, bit-planes {planes_total:?}");
    assert!(index_total.brams < planes_total.brams, "{index_total:?} {planes_total:?}");
    assert!(index_total.brams <= 208, "fits the 85F: {index_total:?}");
}

/// Piece indices trade decode LUT4 for block RAM, so with a board the
/// PA-Net CNV keeps bit-planes while they fit (171 DP16KD of the 85F's
/// 208, line buffers included), switches some layers to indices for 150,
/// and all of them for 126, before any ROM moves to logic.
#[test]
fn packing_stores_piece_indices_only_where_the_block_ram_runs_short() {
    let pa = load_network(Path::new("examples/networks/cnv_pa_m4n5.json")).unwrap();
    let ecp5 = block_ram(Family::Ecp5);
    let indexed = |net: &NetworkParams| net.engines().filter(|p| p.stores_piece_index()).count();
    let roomy = folding::pack_weights(&pa, ecp5, 208);
    assert_eq!((indexed(&roomy), folding::network_resources(&roomy, ecp5).1.brams), (0, 171));
    let roomy_luts = folding::network_resources(&roomy, ecp5).1.luts;
    assert!(roomy_luts < folding::network_resources(&pa, ecp5).1.luts, "planes cost no decode");
    let tight = folding::pack_weights(&pa, ecp5, 150);
    let brams = folding::network_resources(&tight, ecp5).1.brams;
    assert!((1..9).contains(&indexed(&tight)) && brams <= 150, "{} indexed, {brams} DP16KD", indexed(&tight));
    assert!(in_logic(&tight).is_empty());
    let tightest = folding::pack_weights(&pa, ecp5, 126);
    assert_eq!((indexed(&tightest), folding::network_resources(&tightest, ecp5).1.brams), (9, 126));
    assert!(in_logic(&tightest).is_empty());
}
