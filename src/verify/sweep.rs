//! The configuration sweeps behind `make sim` and `make sim-full`, and a
//! runner that verifies them two at a time with progress and a summary.

use crate::generator::render::{Rendering, render_design};
use crate::generator::tree::popcount_levels;
use crate::spec::flags::parse_flags;
use crate::spec::params::PopcountStyle;
use crate::util::parallel::map_indices;
use crate::verify::engine::verify_engine;
use crate::verify::testbench::{Checks, Effort, verify};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

pub const LENS: [usize; 10] = [1, 2, 3, 7, 63, 64, 65, 127, 256, 2304];
pub const LANES: [usize; 5] = [1, 2, 3, 5, 8];

/// Logic levels of an XNOR-popcount PE of length n (popcount, then 2*pop - n).
fn xnor_pe_depth(n: usize, style: PopcountStyle) -> u32 {
    popcount_levels(n, style) + 1
}

/// The reference configurations of `hdl/configs.txt` (`<dir>: <flags>`).
pub fn reference_configs(root: &Path) -> Result<Vec<(String, String)>, String> {
    let path = root.join("hdl/configs.txt");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            l.split_once(':')
                .map(|(d, f)| (d.trim().to_string(), f.trim().to_string()))
                .ok_or_else(|| format!("{}: line {l:?} is not `<dir>: <flags>`", path.display()))
        })
        .collect()
}

/// The default sweep: the reference configurations, every length, lane
/// count, weight mode and input mode at least once, every pipeline depth
/// of two designs, and the scale corners.
pub fn quick(root: &Path) -> Result<Vec<String>, String> {
    let testbench = root.join("testbench");
    let mut v: Vec<String> = reference_configs(root)?.into_iter().map(|(_, flags)| flags).collect();
    for (i, &n) in LENS.iter().enumerate() {
        v.push(format!("--block popcount --len {n} --pipeline {}", i % 3));
        v.push(format!("--block xnor_pe --len {n} --pipeline {}", (i + 1) % 3));
        v.push(format!("--block xnor_pe --len {n} --weights const --seed {i} --pipeline {}", i % 2));
        v.push(format!("--block and_pe --len {n} --pipeline {}", i % 2));
        v.push(format!("--block and_pe --len {n} --weights const --seed {} --pipeline {}", i + 10, (i + 1) % 2));
    }
    // Group-Net: lanes x lengths x weight modes x input modes, spread out.
    let combos = [
        (1, 1, "port", false, 0),
        (1, 64, "const", false, 1),
        (2, 2, "const", true, 1),
        (2, 127, "port", true, 2),
        (3, 3, "port", false, 1),
        (3, 63, "const", true, 0),
        (5, 7, "const", false, 2),
        (5, 65, "port", true, 3),
        (5, 2304, "port", false, 4),
        (8, 256, "const", false, 1),
        (8, 2304, "port", true, 3),
        (8, 65, "port", false, 2),
        (2, 7, "port", true, 0),
    ];
    for (k, n, mode, shared, pipe) in combos {
        let shared = if shared { " --shared-input" } else { "" };
        let seed = if mode == "const" { format!(" --seed {}", k * 100 + n) } else { String::new() };
        v.push(format!("--k {k} --len {n} --weights {mode}{seed}{shared} --pipeline {pipe}"));
    }
    // Every pipeline depth from 0 to the whole depth, on two designs.
    for style in PopcountStyle::ALL {
        for p in 0..=xnor_pe_depth(64, style) {
            v.push(format!("--block xnor_pe --len 64 --pipeline {p} --popcount {}", style.name()));
        }
    }
    for p in 0..=9 {
        v.push(format!("--k 3 --len 7 --lambda 0.75,-1.5,0.3125 --pipeline {p}"));
    }
    // Scale corners: the largest and smallest lambdas of the format, zero,
    // all negative (the root is negated), the widest format.
    v.push("--k 2 --len 63 --lambda 127.99609375,-128 --pipeline 1".into());
    v.push("--k 3 --len 65 --lambda -128,0,-0.00390625 --weights const --seed 5 --pipeline 2".into());
    v.push("--k 2 --len 64 --lambda -1,-0.5 --pipeline 0".into());
    v.push("--k 2 --len 256 --coef-bits 32 --frac-bits 31 --lambda 0.9999999995343387,-1 --pipeline 2".into());
    v.push("--k 3 --len 7 --coef-bits 2 --frac-bits 0 --lambda 1,-2,0 --shared-input --pipeline 1".into());
    // Shared input with constant weights whose lanes cancel: the exact
    // output range is narrower than the sum of the lanes' ranges.
    let cancel = testbench.join("weights_cancel_k2_n16.json");
    v.push(format!("--k 2 --len 16 --shared-input --weights-file {} --lambda 1,1 --pipeline 1", cancel.display()));
    v.push(format!("--k 2 --len 16 --shared-input --weights-file {} --lambda 1,0.5 --pipeline 0", cancel.display()));
    v.extend(pa_quick());
    v.extend(baselines_quick());
    v.extend(engines_quick());
    // Layers decomposed from real numbers.
    for (layer, pipe) in [("layer_groupnet.json", 1), ("layer_pa.json", 2)] {
        v.push(format!("--model {} --pipeline {pipe}", testbench.join(layer).display()));
    }
    v.extend(networks(&testbench, "net_")?);
    Ok(v)
}

/// Every network file in `dir` whose name starts with `prefix`, in name
/// order: `testbench/net_*.json` have between them every layer kind and
/// every chaining of SPEC 7.
fn networks(dir: &Path, prefix: &str) -> Result<Vec<String>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    let mut files: Vec<String> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(prefix) && n.ends_with(".json"))
        })
        .map(|p| format!("--network {}", p.display()))
        .collect();
    files.sort();
    Ok(files)
}

/// Streaming engines (SPEC 6), each through every stream scenario: K in
/// {1, 2, 3, 5}; dilations equal and different; kernels 1, 3 and 5;
/// stride 1 and 2, `same` and `valid`; `pe` and `simd` from 1 to full
/// (simd = k*k*cin, one output pixel a cycle); every output stage of both
/// engines; odd map sizes; shared and separate inputs; signed and unsigned
/// activations; PA-Net weights as bit-planes and as piece indices (M = 3,
/// 4 and 8: 2, 3 and 4 bits a weight); with a register every tree level,
/// a choice among more than 32 chunks a tap, and among more than 8 banks
/// of weight ROM, over two cycles.
fn engines_quick() -> Vec<String> {
    let conv = [
        "--k 1 --height 5 --width 7 --cin 4 --cout 4 --kernel 3 --pe 1 --simd 1",
        "--k 2 --dilations 1,2 --height 7 --width 5 --cin 4 --cout 2 --kernel 3 --pe 2 --simd 4 --output threshold",
        "--k 3 --dilations 2,2,2 --height 6 --width 6 --cin 2 --cout 4 --kernel 3 --stride 2 --pe 4 --simd 18 --output fusion",
        "--k 5 --dilations 2,3,4,5,6 --height 9 --width 8 --cin 4 --cout 4 --kernel 3 --pe 2 --simd 2 --output threshold",
        "--k 2 --kernel 5 --height 7 --width 9 --cin 2 --cout 2 --pe 1 --simd 10 --padding valid",
        "--k 1 --kernel 1 --height 3 --width 3 --cin 8 --cout 8 --pe 8 --simd 8",
        "--k 3 --kernel 3 --height 5 --width 5 --cin 3 --cout 3 --pe 3 --simd 27 --shared-input --output threshold --thresholds -40,0,40",
        "--k 2 --kernel 3 --stride 2 --padding valid --height 9 --width 7 --cin 4 --cout 4 --pe 2 --simd 12 --shared-input",
        "--k 2 --dilations 1,3 --kernel 3 --height 1 --width 9 --cin 2 --cout 2 --pe 1 --simd 2 --output fusion",
        "--k 3 --dilations 1,2,3 --kernel 5 --stride 2 --height 11 --width 6 --cin 1 --cout 2 --pe 1 --simd 5 --shared-input",
        "--k 2 --kernel 1 --height 1 --width 1 --cin 64 --cout 4 --pe 2 --simd 1 --padding valid --pipeline 1",
        "--k 1 --kernel 1 --height 1 --width 2 --cin 2592 --cout 64 --pe 1 --simd 36 --padding valid --pipeline 1 --output threshold",
    ];
    let pa = [
        "--m 4 --n 5 --act-bits 8 --height 7 --width 6 --cin 4 --cout 4 --kernel 3 --pe 2 --simd 2",
        "--m 2 --n 3 --act-bits 4 --height 5 --width 5 --cin 2 --cout 2 --kernel 3 --pe 1 --simd 18 --output threshold",
        "--m 3 --n 2 --act-bits 3 --act-unsigned --height 4 --width 7 --cin 3 --cout 3 --kernel 1 --pe 3 --simd 3",
        "--m 1 --n 1 --act-bits 5 --height 9 --width 5 --cin 2 --cout 2 --kernel 5 --stride 2 --pe 2 --simd 1 --output threshold",
        "--m 2 --n 2 --act-bits 4 --dilations 2 --padding valid --height 8 --width 7 --cin 2 --cout 4 --kernel 3 --pe 1 --simd 6",
        "--m 4 --n 5 --act-bits 8 --height 7 --width 6 --cin 4 --cout 4 --kernel 3 --pe 2 --simd 2 --weight-form planes",
        "--m 8 --n 3 --act-bits 4 --act-unsigned --height 5 --width 6 --cin 2 --cout 4 --kernel 3 --pe 4 --simd 6 --output threshold --levels 4",
        "--m 3 --n 2 --act-bits 4 --height 4 --width 4 --cin 40 --cout 2 --kernel 3 --pe 1 --simd 1 --pipeline 1 --weight-form piece_index --output threshold",
    ];
    let seeded = |block: &str, i: usize, flags: &str| format!("--block {block} {flags} --seed {}", 100 + i);
    let mut v: Vec<String> = conv.iter().enumerate().map(|(i, f)| seeded("conv", i, f)).collect();
    v.extend(pa.iter().enumerate().map(|(i, f)| seeded("pa_conv", i, f)));
    v
}

/// The baselines: single binary, K-bit fixed point from K^2 popcounts, and
/// the plain B-bit multiply-accumulate, both weight modes.
fn baselines_quick() -> Vec<String> {
    let mut v = vec![];
    for (n, pipe) in [(1, 0), (256, 2), (2304, 0)] {
        v.push(format!("--block binary --len {n} --pipeline {pipe}"));
    }
    for (bits, n, mode, pipe) in
        [(1, 7, "port", 0), (2, 64, "const", 1), (3, 65, "port", 2), (4, 2, "const", 0), (2, 576, "port", 3)]
    {
        let seed = if mode == "const" { format!(" --seed {}", bits * 10 + n) } else { String::new() };
        v.push(format!("--block fixedpoint --bits {bits} --len {n} --weights {mode}{seed} --pipeline {pipe}"));
    }
    for (bits, n, mode, pipe) in
        [(1, 3, "port", 1), (4, 63, "const", 0), (8, 64, "port", 2), (8, 65, "const", 3), (16, 7, "port", 0)]
    {
        let seed = if mode == "const" { format!(" --seed {}", bits * 10 + n) } else { String::new() };
        v.push(format!("--block mac --bits {bits} --len {n} --weights {mode}{seed} --pipeline {pipe}"));
    }
    v
}

/// PA-Net: M in {1, 2, 4, 8}, N in {1, 3, 5, 7}, lengths including 1 and
/// non-multiples of 64, both weight modes, negative and positive phi,
/// endpoints at the edges of the activation range, every pipeline depth.
fn pa_quick() -> Vec<String> {
    let mut v = vec![];
    for (nb, len, bits, pipe) in [(1, 1, 8, 0), (3, 7, 4, 1), (5, 65, 8, 0), (7, 130, 6, 2)] {
        v.push(format!("--block pa_quantizer --n {nb} --len {len} --act-bits {bits} --pipeline {pipe}"));
    }
    let combos = [
        (1, 1, 1, "port", 0),
        (2, 3, 7, "const", 1),
        (4, 5, 576, "port", 0),
        (4, 5, 576, "const", 2),
        (8, 7, 63, "const", 3),
        (8, 3, 100, "port", 1),
        (1, 7, 130, "const", 0),
        (2, 5, 2, "port", 4),
        (4, 1, 64, "const", 1),
        (2, 7, 65, "port", 2),
    ];
    for (m, nb, len, mode, pipe) in combos {
        let seed = if mode == "const" { format!(" --seed {}", m * 100 + len) } else { String::new() };
        v.push(format!("--block pa --m {m} --n {nb} --len {len} --weights {mode}{seed} --pipeline {pipe}"));
    }
    for p in 0..=8 {
        v.push(format!("--block pa --m 2 --n 3 --len 7 --act-bits 4 --pipeline {p}"));
    }
    // Endpoints at the very bottom and top of the range; all-negative phi;
    // a zero row; 1-bit and 2-bit activations.
    v.push("--block pa --m 2 --n 3 --len 9 --act-bits 4 --endpoints -8,0,7 --phi -1,-0.5,-2,-0.25,-3,-1.5".into());
    v.push("--block pa --m 3 --n 2 --len 20 --act-bits 3 --endpoints -4,3 --phi 0,0,1,-1,0.5,2 --weights const".into());
    v.push("--block pa --m 1 --n 1 --len 5 --act-bits 1 --endpoints 0 --phi -0.75".into());
    v.push("--block pa --m 2 --n 3 --len 6 --act-bits 2 --endpoints -2,-1,1 --phi 1,2,3,-1,-2,-3 --pipeline 1".into());
    v.push("--block pa --m 2 --n 2 --len 33 --coef-bits 32 --frac-bits 20 --phi 2047.99,-2048,0.000001,-1".into());
    v
}

/// The large sweep: every lane count x length x weight mode x input mode,
/// at pipeline 0, 1 and the full depth.
pub fn full(root: &Path) -> Result<Vec<String>, String> {
    let mut v = quick(root)?;
    // The reference networks (CNV and its variants, the iCEBreaker network).
    v.extend(networks(&root.join("examples/networks"), "")?);
    for &k in &LANES {
        for &n in &LENS {
            for mode in ["port", "const"] {
                for shared in [false, true] {
                    for pipe in [0, 1, 3] {
                        let shared = if shared { " --shared-input" } else { "" };
                        let seed = if mode == "const" { format!(" --seed {}", k * 1000 + n) } else { String::new() };
                        v.push(format!("--k {k} --len {n} --weights {mode}{seed}{shared} --pipeline {pipe}"));
                    }
                }
            }
        }
    }
    for m in [1, 2, 4, 8] {
        for nb in [1, 3, 5, 7] {
            for &n in &LENS[..9] {
                for mode in ["port", "const"] {
                    let seed =
                        if mode == "const" { format!(" --seed {}", m * 1000 + nb * 100 + n) } else { String::new() };
                    v.push(format!(
                        "--block pa --m {m} --n {nb} --len {n} --weights {mode}{seed} --pipeline {}",
                        n % 3
                    ));
                }
            }
        }
    }
    // The reference engines: minutes each (Yosys maps their line
    // buffers to flip-flops, and a frame is 113k and 28k cycles).
    v.push("--block conv --k 5 --dilations 2,3,4,5,6 --height 28 --width 28 --cin 64 --cout 64 --kernel 3 --pe 8 --simd 32 --output threshold --seed 1".into());
    v.push("--block pa_conv --m 4 --n 5 --act-bits 8 --height 14 --width 14 --cin 32 --cout 32 --kernel 3 --pe 4 --simd 16 --seed 1".into());
    v.push("--block xnor_pe --len 65536 --pipeline 4".into());
    v.push("--block and_pe --len 65536 --weights const --pipeline 0".into());
    Ok(v)
}

/// Verifies every line, `jobs` designs at a time (each design's runs one
/// after another), printing a line per design as it finishes; returns
/// (passed, failed).
pub fn run(lines: &[String], work: &Path, checks: Checks, effort: Effort, jobs: usize) -> (usize, usize) {
    let done = AtomicUsize::new(0);
    let total = lines.len();
    let t0 = Instant::now();
    let effort = Effort { jobs: 1, ..effort };
    let verdicts = map_indices(total, jobs, |i| {
        let line = &lines[i];
        let label = format!("[{line}]");
        let verdict = match parse_flags(line).and_then(|a| a.to_design()).and_then(|r| render_design(&r)) {
            Err(e) => crate::verify::testbench::Verdict {
                passed: false,
                summary: format!("{label}: bad configuration: {e}"),
                report: e,
            },
            Ok(rendering) => {
                let dir: PathBuf = work.join(format!("{i:03}_{}", rendering.top()));
                match &rendering {
                    Rendering::Unit(r) => verify(r, &dir, checks, effort, &label),
                    Rendering::Engine(r) => verify_engine(r, &dir, checks, effort, &label),
                    Rendering::Network(r) => crate::verify::network::verify_network(r, &dir, checks, effort, &label),
                }
            }
        };
        let n = done.fetch_add(1, Ordering::SeqCst) + 1;
        let status = if verdict.passed { "PASS" } else { "FAIL" };
        println!("[{n:>3}/{total}] {status} {} ({:.0}s elapsed)", verdict.summary, t0.elapsed().as_secs_f64());
        if !verdict.passed {
            eprintln!("{}", verdict.report);
        }
        verdict
    });
    let failed: Vec<&str> = verdicts.iter().filter(|v| !v.passed).map(|v| v.summary.as_str()).collect();
    for f in &failed {
        println!("FAILED {f}");
    }
    (total - failed.len(), failed.len())
}
