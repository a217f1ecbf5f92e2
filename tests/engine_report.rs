//! `mbnn report` on a streaming engine: its memories become flip-flops
//! (RAMs) or logic (ROMs) on ASAP7, its clock is timed, and its throughput
//! is SPEC 6.6's formula.

use mbnn::generator::render::{Rendering, render_design};
use mbnn::measure::engine_report::report;
use mbnn::spec::flags::parse_flags;
use std::path::{Path, PathBuf};

fn asap7() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/pdk/asap7/asap7sc7p5t_RVT_TT_merged.lib.gz")
}

#[test]
fn an_engine_report_maps_the_memories_times_the_clock_and_counts_cycles() {
    let (h, w, cin, cout, k, pe, simd) = (6, 6, 8, 8, 3, 2, 8);
    let line = format!(
        "--block conv --k 2 --dilations 1,2 --height {h} --width {w} --cin {cin} --cout {cout} --kernel {k} \
         --pe {pe} --simd {simd}"
    );
    let design = parse_flags(&line).unwrap().to_design().unwrap();
    let Rendering::Engine(rendered) = render_design(&design).unwrap() else { panic!("{line}: not an engine") };
    let work = tempfile::tempdir().unwrap();
    let r = report(&rendered, work.path(), &[asap7()]).unwrap();

    // SPEC 6.6, "same" padding, stride 1: Ho = H, Wo = W.
    let ii = (cout / pe) * (k * k * cin / simd);
    assert_eq!(r.throughput.ii, ii as u64);
    assert_eq!(r.throughput.cycles_per_frame, (h * w * ii).max(h * w) as u64);
    assert_eq!(r.throughput.out_pixels_per_frame, (h * w) as u64);
    let manifest = rendered.files.iter().find(|(n, _)| n.ends_with(".json")).unwrap();
    let manifest: serde_json::Value = serde_json::from_str(&manifest.1).unwrap();
    assert_eq!(manifest["params"]["fill_cycles"].as_u64(), Some(r.throughput.fill_cycles));

    // Line buffer, output FIFO (RAMs) and one weight ROM per lane.
    let bits = |rom: bool| r.memories.iter().filter(|m| m.rom == rom).map(|m| m.bits()).sum::<u64>();
    let (ram_bits, rom_bits) = (bits(false), bits(true));
    assert_eq!(r.memories.iter().filter(|m| m.rom).count(), 2, "{:?}", r.memories);
    assert_eq!(rom_bits, (2 * k * k * cin * cout) as u64, "every weight once");
    assert_eq!(r.generator_counts["memory_bit"], ram_bits + rom_bits);
    let read_registers: u64 = r.memories.iter().map(|m| u64::from(m.width) * m.read_ports as u64).sum();

    let lib = &r.cell_libraries[0];
    let a = &lib.area_first.mapped;
    assert!(a.cells.keys().all(|c| c.contains("ASAP7")), "{:?}", a.cells.keys());
    // Every RAM bit is a flip-flop; the ROMs' words are constants and add
    // none: beyond the RAM bits, only registers and read data registers.
    assert!(a.flip_flops >= ram_bits, "{} flip-flops for {ram_bits} RAM bits", a.flip_flops);
    let most = ram_bits + r.generator_counts["flip_flop"] + read_registers;
    assert!(a.flip_flops <= most, "{} flip-flops, at most {most} without the {rom_bits} ROM bits", a.flip_flops);
    assert!(lib.logic_um2 > 0.0 && lib.memories_um2 > 0.0, "{} {}", lib.logic_um2, lib.memories_um2);
    assert!((lib.logic_um2 + lib.memories_um2 - a.area_um2).abs() < 1e-6);

    for n in [&lib.area_first, &lib.delay_first] {
        let m = &n.mapped;
        assert!(m.critical_path_ps > 0.0 && m.critical_logic_ps > 0.0, "{}: {}", m.script, m.critical_path_ps);
        let fps = m.fmax_mhz * 1e6 / r.throughput.cycles_per_frame as f64;
        assert!((n.frames_per_second - fps).abs() < 1e-6 * fps, "{}: {}", m.script, n.frames_per_second);
    }
    assert!(lib.area_first.mapped.script.starts_with("area-first"));
    assert!(lib.delay_first.mapped.script.starts_with("delay-first"));
    assert!(lib.source.contains("memory_map"), "{}", lib.source);
    assert!(r.power.starts_with("not simulated"), "{}", r.power);
    let text = mbnn::measure::engine_report::render(&r);
    assert!(text.contains("cycles per frame") && text.contains("frames/s"), "{text}");
}
