//! `mbnn bench --only networks`: the whole-network figures of issue #12,
//! each beside a baseline from the same run where one exists.
//!
//! - BNN-PYNQ's CNV with FINN's folding: the image interval measured under
//!   Verilator against FINN's cycle formula, the fill against the timing
//!   model's prediction, the checked simulation speed in images per second,
//!   and the time the timing model takes;
//! - memory: every memory's bits against the block RAM bits it takes on
//!   ECP5, per layer and in total, for the binary CNV and the Group-Net
//!   K = 2 CNV with every ROM in block RAM and packed for the 85F, against
//!   its capacity; K = 3 by capacity alone;
//! - the PA-Net M = 4, N = 5 CNV (halved channels): its weights stored as
//!   3-bit piece indices against M = 4 bit-planes, in bits and DP16KD, and
//!   its images simulated under Verilator;
//! - a folding chosen for a target rate, simulated.

use super::bench_table::{Row, Target, progress};
use crate::generator::folding;
use crate::generator::network::timing;
use crate::generator::render::{RenderedNetwork, render_network};
use crate::rtl::{Memory, MemoryStyle};
use crate::spec::board::{BlockRam, Board, Family, block_ram};
use crate::spec::engine::WeightForm;
use crate::spec::network::{NetworkParams, Stage, load_network};
use crate::spec::signature::frames_per_second;
use crate::verify::network::{network_rate, network_rate_on};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Block RAMs of the ECP5-85F (DP16KD, 18 Kbit each with parity).
const ECP5_85F_RAMS: u64 = 208;
const DP16KD_BITS: u64 = 18432;

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/networks").join(name)
}

fn render(name: &str) -> Result<RenderedNetwork, String> {
    Ok(render_network(load_network(&example(name))?))
}

pub fn network_rows(rows: &mut Vec<Row>, t0: Instant) -> Result<(), String> {
    let cnv = render("cnv_binary.json")?;
    cnv_rate_rows(rows, &cnv, t0)?;
    memory_rows(rows, &cnv, "CNV")?;
    // The Group-Net's weights packed for the 85F, as `pnr --board ulx3s` packs them.
    let gn = load_network(&example("cnv_groupnet_k2.json"))?;
    let all_in_block_ram = render_network(folding::pack_weights(&gn, block_ram(Family::Ecp5), u64::MAX));
    memory_rows(rows, &all_in_block_ram, "Group-Net K=2 CNV, every ROM in block RAM")?;
    let gn = render_network(folding::pack_weights(&gn, block_ram(Family::Ecp5), ECP5_85F_RAMS));
    memory_rows(rows, &gn, "Group-Net K=2 CNV, packed for the 85F")?;
    k3_capacity_row(rows, &gn.params);
    pa_cnv_rows(rows, t0)?;
    target_fps_row(rows, t0)
}

/// The network with every `pa_conv` storing its weights in `form`.
fn with_weight_form(net: &NetworkParams, form: WeightForm) -> NetworkParams {
    let mut out = net.clone();
    for layer in &mut out.layers {
        if let Stage::Engine { params, .. } = &mut layer.stage {
            params.weight_form = form;
        }
    }
    out
}

/// PA-Net M = 4, N = 5 CNV with halved channels: its weights as piece
/// indices (3 bits a weight, the default) against bit-planes (4), per
/// layer and in total; then images through it under Verilator.
fn pa_cnv_rows(rows: &mut Vec<Row>, t0: Instant) -> Result<(), String> {
    let pa = load_network(&example("cnv_pa_m4n5.json"))?;
    let index = render_network(with_weight_form(&pa, WeightForm::PieceIndex));
    let planes = render_network(with_weight_form(&pa, WeightForm::Planes));
    let (index_bits, index_rams) = memory_rows(rows, &index, "PA-Net M=4 N=5 CNV, weights as piece indices")?;
    let (plane_bits, plane_rams) = memory_rows(rows, &planes, "PA-Net M=4 N=5 CNV, weights as bit-planes")?;
    rows.push(Row::new(
        "PA-Net M=4 N=5 CNV weight ROM bits, piece indices vs bit-planes",
        "Mbit",
        Some(plane_bits as f64 / 1e6),
        index_bits as f64 / 1e6,
        Target::AtMostBaseline,
        format!(
            "3 bits a weight (0 = zero piece, i + 1 = base i) against 4; DP16KD for the ROMs at their best shapes: \
             {index_rams} against {plane_rams}; baseline = the bit-planes"
        ),
    ));
    let frames = 2;
    progress(&format!("networks: Verilator model of the PA-Net CNV, then {frames} images, no stalls"), t0);
    let rate = network_rate(&index, frames, 1)?;
    rows.push(Row::new(
        "PA-Net M=4 N=5 CNV cycles/frame, no stalls",
        "cycles",
        Some(finn_cycles(&index.params) as f64),
        rate.cycles_per_frame as f64,
        Target::EqualsBaseline,
        format!(
            "examples/networks/cnv_pa_m4n5.json: {} images back to back under Verilator, every output checked \
             against the golden network model, {:.2} checked images/s; baseline = FINN's formula for the folding",
            rate.frames,
            rate.checked_cycles_per_s / rate.cycles_per_frame as f64
        ),
    ));
    Ok(())
}

/// `--target-fps 20000 --board icebreaker` on net_tiny: the folding chosen,
/// then simulated: its images/s at the board's planning clock against the
/// target, and the estimate within the board.
fn target_fps_row(rows: &mut Vec<Row>, t0: Instant) -> Result<(), String> {
    let (fps, info) = (20_000.0, Board::IceBreaker.info());
    let net = load_network(&Path::new(env!("CARGO_MANIFEST_DIR")).join("testbench/net_tiny.json"))?;
    let ram = block_ram(info.family);
    let target =
        folding::Target { fps, clock_mhz: info.planning_mhz, luts: Some(info.luts), brams: Some(info.brams), ram };
    let folded = folding::fold_for_target(&net, &target)?;
    progress("networks: net_tiny folded for 20,000 images/s on the iCEBreaker, 3 images under Verilator", t0);
    let rendered = render_network(folded.params);
    let rate = network_rate(&rendered, 3, 1)?;
    rows.push(Row::new(
        "--target-fps 20000 --board icebreaker, net_tiny: simulated images/s",
        "images/s",
        Some(fps),
        frames_per_second(info.planning_mhz, rate.cycles_per_frame as u64),
        Target::AtLeastBaseline,
        format!(
            "{} cycles a frame simulated at the board's planning clock {} MHz; estimate {} of {} LUT4, {} of {} {}",
            rate.cycles_per_frame,
            info.planning_mhz,
            folded.total.luts,
            info.luts,
            folded.total.brams,
            info.brams,
            ram.name
        ),
    ));
    Ok(())
}

/// FINN's cycles per frame for the folding: the slowest layer's
/// (MH/PE)*(MW/SIMD)*OFM_H*OFM_W, an input-bound layer its H*W.
fn finn_cycles(p: &NetworkParams) -> usize {
    p.engines()
        .map(|e| {
            let g = &e.geometry;
            (g.cout / e.folding.pe) * (g.window_len() / e.folding.simd) * g.out_height() * g.out_width()
        })
        .max()
        .unwrap_or(0)
}

fn cnv_rate_rows(rows: &mut Vec<Row>, cnv: &RenderedNetwork, t0: Instant) -> Result<(), String> {
    let frames = 3;
    progress(&format!("networks: Verilator model of CNV, then {frames} images, no stalls"), t0);
    let rate = network_rate(cnv, frames, 1)?;
    let finn = finn_cycles(&cnv.params) as f64;
    let stated = cnv.generated.fill_cycles;
    rows.push(Row::new(
        "CNV cycles/frame, no stalls, FINN's folding",
        "cycles",
        Some(finn),
        rate.cycles_per_frame as f64,
        Target::EqualsBaseline,
        format!(
            "examples/networks/cnv_binary.json: {} images back to back under Verilator, every output checked \
             against the golden network model; baseline = FINN's formula for the same folding (slowest layer)",
            rate.frames
        ),
    ));
    rows.push(Row::new(
        "CNV fill beyond frames x cycles/frame, measured vs timing model",
        "cycles",
        Some(cnv.generated.predicted_fill as f64),
        rate.fill as f64,
        Target::AtMost(stated as f64),
        format!("baseline = the timing model's prediction; target = the manifest's stated fill {stated}"),
    ));
    rows.push(Row::new(
        "Verilator checked images/s, CNV",
        "images/s",
        None,
        rate.checked_cycles_per_s / rate.cycles_per_frame as f64,
        Target::AtLeast(20.0),
        format!(
            "{:.2} M cycles/s per CPU second, every output checked (the model built beforehand)",
            rate.checked_cycles_per_s / 1e6
        ),
    ));
    let jobs = crate::util::parallel::default_jobs();
    progress(&format!("networks: CNV again, {frames} images on each of {jobs} threads at once"), t0);
    let (wall_rate, _) = network_rate_on(cnv, frames, 2, jobs)?;
    let one = rate.checked_cycles_per_s / rate.cycles_per_frame as f64;
    rows.push(Row::new(
        "Verilator checked images/s, CNV, every core at once",
        "images/s",
        Some(one),
        wall_rate / rate.cycles_per_frame as f64,
        Target::AtLeast(20.0),
        format!(
            "{jobs} threads (the cores), each streaming {frames} images through a model of its own, every output \
             checked; per wall second, model loads included; baseline = one thread, above: a test set cut into \
             shares runs so (sim --images --jobs N)"
        ),
    ));
    let start = Instant::now();
    let predicted = timing::predict(&cnv.params, &cnv.generated.engines, 2).total;
    rows.push(Row::new(
        "timing model (fill, FIFO analysis) time, CNV",
        "s",
        None,
        start.elapsed().as_secs_f64(),
        Target::AtMost(10.0),
        format!(
            "2 images through every layer's schedule, {predicted} cycles predicted; FINN sizes FIFOs by RTL simulation"
        ),
    ));
    Ok(())
}

/// The memories of layer `i`: in its engine's modules (`<top>_l<i>`, `<top>_l<i>_dot`).
fn layer_memories(net: &RenderedNetwork, i: usize) -> Vec<&Memory> {
    let prefix = format!("{}_l{i}", net.params.top);
    net.generated
        .design
        .modules
        .values()
        .filter(|m| m.name == prefix || m.name.strip_prefix(&prefix).is_some_and(|rest| rest.starts_with("_dot")))
        .flat_map(|m| m.memories.iter())
        .collect()
}

/// Where a layer's memory bits went on ECP5, and the DP16KDs they take.
#[derive(Default)]
struct LayerRam {
    /// Weights and line buffers in block RAM: (bits, DP16KDs at their best shapes).
    weights: (u64, u64),
    buffers: (u64, u64),
    /// Weight ROMs the packing put in logic: (bits, estimated LUT4).
    logic: (u64, u64),
    /// Line buffers that Yosys puts in LUT RAM (`BlockRam::in_lut_ram`).
    lut_ram: u64,
}

/// A layer's memories as the ECP5 flow places them: weight ROMs where the
/// generator put them (block RAM or logic), a line buffer in LUT RAM when
/// Yosys would put it there (`BlockRam::in_lut_ram`), else in block RAM.
fn layer_ram(memories: &[&Memory], ram: BlockRam) -> LayerRam {
    let mut r = LayerRam::default();
    for m in memories.iter().filter(|m| !m.name.contains("fifo")) {
        let (width, depth) = (u64::from(m.width), u64::from(m.depth));
        let bits = width * depth;
        match m.style {
            MemoryStyle::Logic => r.logic = (r.logic.0 + bits, r.logic.1 + folding::rom_luts(width, depth)),
            MemoryStyle::Auto if ram.in_lut_ram(width, depth) => r.lut_ram += bits,
            _ => {
                let slot = if m.name.starts_with("weights") { &mut r.weights } else { &mut r.buffers };
                *slot = (slot.0 + bits, slot.1 + ram.blocks(width, depth).max(1));
            }
        }
    }
    r
}

/// Per layer and in total: weight and line-buffer bits against the ECP5
/// block RAM bits they take at their best shapes, and the weights in logic.
/// Returns the weight ROMs' bits and DP16KD in block RAM.
fn memory_rows(rows: &mut Vec<Row>, net: &RenderedNetwork, name: &str) -> Result<(u64, u64), String> {
    let ram = block_ram(Board::Ulx3s.info().family);
    let (mut bits, mut rams, mut logic) = (0u64, 0u64, (0u64, 0u64));
    let mut weights = (0u64, 0u64);
    for (i, layer) in net.params.layers.iter().enumerate() {
        if !matches!(layer.stage, Stage::Engine { .. }) {
            continue;
        }
        let r = layer_ram(&layer_memories(net, i), ram);
        let ((wb, wr), (bb, br)) = (r.weights, r.buffers);
        weights = (weights.0 + wb, weights.1 + wr);
        bits += wb + bb;
        rams += wr + br;
        logic = (logic.0 + r.logic.0, logic.1 + r.logic.1);
        let in_logic = if r.logic.0 > 0 {
            format!(", weights {} bits in logic (~{} LUT4)", r.logic.0, r.logic.1)
        } else {
            String::new()
        };
        rows.push(Row::new(
            &format!("  {name} layer {i} ({}) memory packing, ECP5", layer.kind.name()),
            "%",
            None,
            100.0 * (wb + bb) as f64 / ((wr + br) * DP16KD_BITS).max(1) as f64,
            Target::None,
            format!(
                "weights {wb} bits in {wr} DP16KD ({:.0} %), line buffers {bb} bits in {br} DP16KD ({:.0} %), \
                 {} bits of shallow line buffer in LUT RAM{in_logic}",
                100.0 * wb as f64 / (wr * DP16KD_BITS).max(1) as f64,
                100.0 * bb as f64 / (br * DP16KD_BITS).max(1) as f64,
                r.lut_ram
            ),
        ));
    }
    let in_logic = if logic.0 > 0 {
        format!("; {:.2} Mbit of weights in logic, ~{} LUT4", logic.0 as f64 / 1e6, logic.1)
    } else {
        String::new()
    };
    rows.push(Row::new(
        &format!("{name}: DP16KD at the memories' best shapes, ECP5-85F"),
        "DP16KD",
        Some(ECP5_85F_RAMS as f64),
        rams as f64,
        Target::AtMostBaseline,
        format!(
            "{:.2} Mbit of weights and buffers in {:.2} Mbit of block RAM ({:.0} %){in_logic}; baseline = the 85F's {ECP5_85F_RAMS}",
            bits as f64 / 1e6,
            (rams * DP16KD_BITS) as f64 / 1e6,
            100.0 * bits as f64 / (rams * DP16KD_BITS) as f64
        ),
    ));
    Ok(weights)
}

/// Group-Net K = 3 CNV by capacity alone: its weight bits against the 85F's RAM bits.
fn k3_capacity_row(rows: &mut Vec<Row>, k2: &NetworkParams) {
    let k2_bits: u64 = k2.engines().map(|e| (e.lanes() * e.geometry.cout * e.geometry.window_len()) as u64).sum();
    let k3_bits = k2_bits / 2 * 3;
    let capacity = ECP5_85F_RAMS * DP16KD_BITS;
    rows.push(Row::new(
        "Group-Net K=3 CNV weights vs ECP5-85F block RAM, by capacity",
        "Mbit",
        Some(capacity as f64 / 1e6),
        k3_bits as f64 / 1e6,
        Target::AtMostBaseline,
        format!(
            "K=2 holds {:.2} Mbit of weights; K=3 needs 3/2 of that before any line buffer: not generated, it cannot fit",
            k2_bits as f64 / 1e6
        ),
    ));
}
