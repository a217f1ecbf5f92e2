//! Figures derived from the `speed` benchmarks (`cargo bench --bench speed`,
//! `benches/speed.rs`), read back from criterion's results, so that a table
//! of the project's performance can be printed without re-running them.
//!
//! The benchmarks and what they run (the shapes are the constants below,
//! which the benchmark program uses too):
//!
//! | criterion id | one iteration |
//! |---|---|
//! | `generator/gen_k5` | `gen --k 5` (Group-Net, n = 2304) from parameters to rendered files in memory |
//! | `generator/write_k5` | writing those rendered files into a directory |
//! | `golden/popcnt_peak_u64` | `PEAK_WORDS` words: `(a ^ b).count_ones()` summed, in L1 cache |
//! | `golden/groupnet_layer_k5` | `golden::groupnet_layer` on the paper's layer with `BINARY_C_OUT` output channels |
//! | `golden/groupnet_eval_k5` | `Golden::eval`, one output pixel at a time, `EVAL_C_OUT` output channels |
//! | `golden/float_conv_layer` | the same layer as an f32 convolution, `FLOAT_C_OUT` output channels |
//!
//! The paper's layer (Group-Net's Eq. 4 example): c_in = 256, 3x3 kernel,
//! 28x28 output (a 30x30 padded input), K = 5 bases sharing one input.
//!
//! Conventions:
//! - A binary MAC is one element of one base's XNOR-popcount dot product, so
//!   an output pixel of an output channel is K * 2304 binary MACs, and one
//!   popcount of a 64-bit XOR'ed word is 64 binary MACs (the 64 of Eq. 4).
//!   The popcount peak is `64 * PEAK_WORDS` MACs per iteration of its loop.
//! - A float MAC is one multiply-add; an output pixel is 2304 of them.
//! - The measured speed-up is the f32 layer's time over the K = 5 binary
//!   layer's time, both per output channel: the quantity Eq. 4 predicts
//!   (`cost::eq4_speedup`, 12.45 for this layer).
//! - Times are criterion's median per iteration (`median.point_estimate` in
//!   `<criterion_dir>/<group>/<id>/new/estimates.json`, in ns) of the
//!   benchmark thread's CPU time (see `benches/speed.rs`); the median is
//!   robust to the odd disturbed sample on a shared machine.

use crate::study::cost::{ConvShape, eq4_speedup};
use std::path::{Path, PathBuf};

/// Input channels of the paper's layer.
pub const LAYER_C_IN: usize = 256;
/// Kernel side of the paper's layer.
pub const LAYER_KERNEL: usize = 3;
/// Output side of the paper's layer (its input is padded to side + 2).
pub const LAYER_SIDE: usize = 28;
/// Group-Net bases K of the paper's layer.
pub const LAYER_BASES: usize = 5;
/// Output channels per iteration of each layer benchmark, chosen to keep one
/// iteration at 10 to 30 ms on a 2-core x86-64 machine: the packed binary
/// layer runs the paper's whole layer (256 output channels).
pub const BINARY_C_OUT: usize = 256;
pub const EVAL_C_OUT: usize = 128;
pub const FLOAT_C_OUT: usize = 128;
/// Words per iteration of the popcount peak loop (two 8 KiB arrays: L1-resident).
pub const PEAK_WORDS: usize = 1024;
/// The generator's time target from parameters to rendered files.
pub const GEN_TARGET_MS: f64 = 100.0;

/// Length of one dot product of the layer: c_in * kernel * kernel = 2304.
pub const LAYER_DOT_LEN: usize = LAYER_C_IN * LAYER_KERNEL * LAYER_KERNEL;

/// Criterion's (group, id) of each benchmark.
pub const GEN_K5: (&str, &str) = ("generator", "gen_k5");
pub const WRITE_K5: (&str, &str) = ("generator", "write_k5");
pub const POPCNT_PEAK: (&str, &str) = ("golden", "popcnt_peak_u64");
pub const GROUPNET_LAYER: (&str, &str) = ("golden", "groupnet_layer_k5");
pub const GROUPNET_EVAL: (&str, &str) = ("golden", "groupnet_eval_k5");
pub const FLOAT_CONV: (&str, &str) = ("golden", "float_conv_layer");

/// One derived figure, ready for a table row.
#[derive(Clone, Debug, PartialEq)]
pub struct Figure {
    /// What was measured, in words.
    pub name: String,
    pub value: f64,
    /// Unit of `value`: `GMAC/s`, `%`, `x` or `ms`.
    pub unit: String,
    /// What the figure is compared with, in the same unit (Eq. 4's speed-up).
    pub baseline: Option<f64>,
    /// The requirement, in words (`< 100 ms`), if there is one.
    pub target: Option<String>,
    /// Whether `value` meets `target`; `None` when there is no target.
    pub met: Option<bool>,
    /// The criterion estimates file(s) the figure comes from.
    pub source: String,
}

/// Criterion's estimates of one benchmark, per iteration, in ns.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimates {
    pub mean_ns: f64,
    pub median_ns: f64,
}

/// Where criterion keeps the latest estimates of `(group, id)`.
pub fn estimates_path(criterion_dir: &Path, (group, id): (&str, &str)) -> PathBuf {
    criterion_dir.join(group).join(id).join("new").join("estimates.json")
}

/// Reads `mean.point_estimate` and `median.point_estimate` of one benchmark.
pub fn read_estimates(criterion_dir: &Path, bench: (&str, &str)) -> Result<Estimates, String> {
    let path = estimates_path(criterion_dir, bench);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("{}: cannot read ({e}); run `cargo bench --bench speed` to produce it", path.display()))?;
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: not criterion's estimates JSON: {e}", path.display()))?;
    let point = |key: &str| {
        json[key]["point_estimate"]
            .as_f64()
            .filter(|ns| ns.is_finite() && *ns > 0.0)
            .ok_or_else(|| format!("{}: no positive {key}.point_estimate", path.display()))
    };
    Ok(Estimates { mean_ns: point("mean")?, median_ns: point("median")? })
}

/// The median time of one benchmark, in seconds, and its file for `source`.
fn seconds(criterion_dir: &Path, bench: (&str, &str)) -> Result<(f64, String), String> {
    let e = read_estimates(criterion_dir, bench)?;
    Ok((e.median_ns * 1e-9, estimates_path(criterion_dir, bench).display().to_string()))
}

fn figure(name: &str, value: f64, unit: &str, source: String) -> Figure {
    Figure { name: name.into(), value, unit: unit.into(), baseline: None, target: None, met: None, source }
}

/// Output pixels of the layer per output channel.
const LAYER_PIXELS: f64 = (LAYER_SIDE * LAYER_SIDE) as f64;

/// The golden model's figures: binary GMAC/s of the packed layer and of the
/// per-pixel `Golden::eval`, the popcount peak, the layer's share of that
/// peak, f32 GMAC/s, and the measured float/binary speed-up beside Eq. 4.
pub fn golden_figures(criterion_dir: &Path) -> Result<Vec<Figure>, String> {
    let binary_macs_per_channel = LAYER_PIXELS * (LAYER_BASES * LAYER_DOT_LEN) as f64;
    let float_macs_per_channel = LAYER_PIXELS * LAYER_DOT_LEN as f64;
    let (peak_s, peak_src) = seconds(criterion_dir, POPCNT_PEAK)?;
    let (layer_s, layer_src) = seconds(criterion_dir, GROUPNET_LAYER)?;
    let (eval_s, eval_src) = seconds(criterion_dir, GROUPNET_EVAL)?;
    let (float_s, float_src) = seconds(criterion_dir, FLOAT_CONV)?;
    let peak = 64.0 * PEAK_WORDS as f64 / peak_s;
    let layer = BINARY_C_OUT as f64 * binary_macs_per_channel / layer_s;
    let eval = EVAL_C_OUT as f64 * binary_macs_per_channel / eval_s;
    let float = FLOAT_C_OUT as f64 * float_macs_per_channel / float_s;
    let speedup = (float_s / FLOAT_C_OUT as f64) / (layer_s / BINARY_C_OUT as f64);
    let shape = ConvShape::square(LAYER_C_IN as u32, LAYER_C_IN as u32, LAYER_KERNEL as u32, 1, LAYER_SIDE as u32);
    let eq4 = eq4_speedup(&shape, LAYER_BASES as u32)?;
    Ok(vec![
        figure(
            "golden Group-Net layer (groupnet_layer, K = 5), binary MACs per second",
            layer / 1e9,
            "GMAC/s",
            layer_src.clone(),
        ),
        figure(
            "popcount peak, one core (64 MACs per popcnt of an XOR'ed word)",
            peak / 1e9,
            "GMAC/s",
            peak_src.clone(),
        ),
        figure(
            "golden Group-Net layer, share of the popcount peak",
            100.0 * layer / peak,
            "%",
            format!("{layer_src} / {peak_src}"),
        ),
        figure("golden per-pixel model (Golden::eval, K = 5), binary MACs per second", eval / 1e9, "GMAC/s", eval_src),
        figure("f32 convolution of the same layer, MACs per second", float / 1e9, "GMAC/s", float_src.clone()),
        Figure {
            baseline: Some(eq4),
            ..figure(
                "speed-up of the K = 5 binary layer over f32 (Eq. 4 predicts the baseline)",
                speedup,
                "x",
                format!("{float_src} / {layer_src}"),
            )
        },
    ])
}

/// The generator's figures: `gen --k 5` rendered in memory (against its
/// 100 ms target) and the files written.
pub fn generator_figures(criterion_dir: &Path) -> Result<Vec<Figure>, String> {
    let (gen_s, gen_src) = seconds(criterion_dir, GEN_K5)?;
    let (write_s, write_src) = seconds(criterion_dir, WRITE_K5)?;
    let gen_ms = gen_s * 1e3;
    Ok(vec![
        Figure {
            target: Some(format!("< {GEN_TARGET_MS} ms")),
            met: Some(gen_ms < GEN_TARGET_MS),
            ..figure("gen --k 5: parameters to rendered files in memory", gen_ms, "ms", gen_src)
        },
        figure("gen --k 5: writing the rendered files", write_s * 1e3, "ms", write_src),
    ])
}

/// Every figure: the generator's, then the golden model's.
pub fn all_figures(criterion_dir: &Path) -> Result<Vec<Figure>, String> {
    let mut v = generator_figures(criterion_dir)?;
    v.extend(golden_figures(criterion_dir)?);
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes an estimates file with the given median (and twice it as mean).
    fn put(dir: &Path, bench: (&str, &str), median_ns: f64) {
        let path = estimates_path(dir, bench);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let point = |ns: f64| {
            serde_json::json!({"point_estimate": ns, "standard_error": 1.0,
            "confidence_interval": {"confidence_level": 0.95, "lower_bound": ns, "upper_bound": ns}})
        };
        let json = serde_json::json!({"mean": point(2.0 * median_ns), "median": point(median_ns),
            "median_abs_dev": point(1.0), "slope": null, "std_dev": point(1.0)});
        std::fs::write(path, json.to_string()).unwrap();
    }

    fn value(figures: &[Figure], starts: &str) -> f64 {
        figures.iter().find(|f| f.name.starts_with(starts)).unwrap_or_else(|| panic!("no figure {starts}")).value
    }

    #[test]
    fn figures_follow_from_the_medians() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        put(d, GEN_K5, 40e6);
        put(d, WRITE_K5, 2e6);
        // Peak: 1024 words in 512 ns is 2 words/ns = 128 GMAC/s.
        put(d, POPCNT_PEAK, 512.0);
        // Layer: 256 channels * 784 pixels * 5 * 2304 MACs = 2,312,110,080 MACs in 40 ms = 57.8 GMAC/s.
        put(d, GROUPNET_LAYER, 40e6);
        // Per-pixel model: 128 channels, 1,156,055,040 MACs in 200 ms = 5.78 GMAC/s.
        put(d, GROUPNET_EVAL, 200e6);
        // Float: 128 channels * 784 * 2304 = 231,211,008 MACs in 320 ms = 0.7225 GMAC/s.
        put(d, FLOAT_CONV, 320e6);
        let f = all_figures(d).unwrap();
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9 * b.abs().max(1.0);
        assert!(close(value(&f, "gen --k 5: parameters"), 40.0));
        assert!(close(value(&f, "gen --k 5: writing"), 2.0));
        assert!(close(value(&f, "popcount peak"), 128.0));
        assert!(close(value(&f, "golden Group-Net layer (groupnet_layer"), 57.802752));
        assert!(close(value(&f, "golden Group-Net layer, share"), 100.0 * 57.802752 / 128.0));
        assert!(close(value(&f, "golden per-pixel"), 5.7802752));
        assert!(close(value(&f, "f32 convolution"), 0.7225344));
        // Per output channel: float 2.5 ms, binary 0.15625 ms.
        let speedup = f.iter().find(|x| x.unit == "x").unwrap();
        assert!(close(speedup.value, 16.0));
        assert!((speedup.baseline.unwrap() - 12.45).abs() < 0.005);
        let generator = &f[0];
        assert_eq!((generator.target.as_deref(), generator.met), (Some("< 100 ms"), Some(true)));
        assert!(generator.source.ends_with("generator/gen_k5/new/estimates.json"));
        put(d, GEN_K5, 150e6);
        assert_eq!(generator_figures(d).unwrap()[0].met, Some(false));
    }

    #[test]
    fn missing_or_malformed_results_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let err = golden_figures(dir.path()).unwrap_err();
        assert!(err.contains("popcnt_peak_u64") && err.contains("cargo bench --bench speed"), "{err}");
        let path = estimates_path(dir.path(), GEN_K5);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, r#"{"mean": {"point_estimate": 5.0}}"#).unwrap();
        let err = read_estimates(dir.path(), GEN_K5).unwrap_err();
        assert!(err.contains("no positive median.point_estimate"), "{err}");
        std::fs::write(&path, "not json").unwrap();
        assert!(read_estimates(dir.path(), GEN_K5).unwrap_err().contains("not criterion's estimates JSON"));
    }
}
