//! Folding chosen for a target (SPEC 6.6, 7): the `pe` and `simd` of every
//! engine layer of a network so that frames go through at a target rate,
//! each layer as cheap as the rate allows, and an estimate of the LUTs and
//! block RAM the network then takes.
//!
//! The cycle budget is clock / frames per second. A layer meets it when its
//! `cycles_per_frame` = max(H*W, Ho*Wo*ii) is at most the budget; of the
//! legal foldings that do (SPEC 6.6: pe divides cout; simd divides cin, or
//! is a multiple of cin dividing k*k*cin), the chooser takes the one of
//! fewest estimated LUTs, then fewest block RAMs, then fewest PEs. Layers
//! are independent (each paced by its own line buffer), so this also minimises the
//! network's LUTs for the rate. When that takes more block RAM than the
//! board has, the layers trade LUTs for block RAM: of each layer's
//! LUT/block-RAM frontier, the combination of fewest LUTs that fits
//! ([`choose_folding_within`]). Pools take H*W cycles whatever the budget.
//!
//! The LUT model (LUT4, as Yosys's `synth_ice40` counts them), fitted on
//! ten engines of 8x8 to 16x16 maps, 8 to 32 channels, K = 1, 2, 5 and
//! PA-Net 2x3 and 4x5 (`conv` -13 % to +12 %, `pa_conv` -1 % to +14 %; a
//! fully parallel `pa_conv`, whose one-word weight ROMs become logic, +38 %):
//!
//! - [`LUT_PER_LANE_BIT`] per lane bit, `pe * simd * lanes` with lanes K
//!   (`conv`) or M*N (`pa_conv`): the XNOR or AND and the popcount;
//! - per PE, the scale tree: one adder of (accumulator + frac_bits) bits
//!   per extra set bit of a scale's magnitude and per term beyond the
//!   first, times [`SCALE_FACTOR`] (`pa_conv`: half of it, its M x N
//!   scales share partial products), and the thresholds' comparators;
//! - `pa_conv` on levels: simd * N comparators of B bits at the window;
//! - `pa_conv` storing piece indices: [`LUT_PER_LANE_BIT`] per decoded bit,
//!   `pe * simd * M` (Yosys 0.23 `synth_ecp5` on the 14x14x32, pe 4, simd
//!   16, M = 4, N = 5 engine: 4,983 LUT4 against 4,304 with planes, 679
//!   for 256 decoded bits; 14 DP16KD against 16);
//! - [`LUT_PER_ENGINE`] for the schedule, counters and the output FIFO;
//!   a pool a LUT per bit it holds, plus
//!   [`LUT_PER_STAGE`].
//!
//! Block RAM counts every memory of width w and depth d as the fewest
//! blocks of one of the family's shapes that hold it; a memory of fewer
//! than [`MIN_BRAM_BITS`](crate::spec::board::MIN_BRAM_BITS) bits, and an
//! output FIFO at most 8 deep, is left in logic; a line buffer or FIFO
//! that Yosys would put in LUT RAM ([`BlockRam::in_lut_ram`]) takes no
//! block; a lane of constant weights has no ROM. On the ten engines it
//! gives Yosys's count of iCE40 block RAMs exactly, but for the fully
//! parallel `pa_conv` (30 against 25); on CNV (ECP5) the 155 DP16KD
//! placed, and on the Group-Net K = 2 CNV packed for the 85F the 205
//! synthesised.

use crate::generator::engine::plan::Plan;
use crate::spec::board::BlockRam;
use crate::spec::engine::{EngineKind, EngineParams, Folding, Geometry, Output, WeightStorage};
use crate::spec::network::{NetworkLayer, NetworkParams, Stage};
use crate::spec::signature::frames_per_second;
use crate::util::fixed::width_for;
use serde::Serialize;

/// LUT4 per lane bit (XNOR/AND and popcount, with masking and accumulation).
pub const LUT_PER_LANE_BIT: f64 = 2.6;
/// LUT4 per adder bit of the scale trees.
pub const SCALE_FACTOR: f64 = 1.0;
/// LUT4 of an engine's schedule, counters, line buffer addressing and FIFO.
pub const LUT_PER_ENGINE: f64 = 250.0;
/// LUT4 of a pool's or FIFO's control.
pub const LUT_PER_STAGE: f64 = 20.0;
/// Estimated resources of a layer or a network.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Resources {
    pub luts: u64,
    /// Bits of the memories in block RAM, and the blocks they take.
    pub bram_bits: u64,
    pub brams: u64,
}

impl std::ops::Add for Resources {
    type Output = Resources;
    fn add(self, o: Resources) -> Resources {
        Resources { luts: self.luts + o.luts, bram_bits: self.bram_bits + o.bram_bits, brams: self.brams + o.brams }
    }
}

/// Every legal folding of a geometry (SPEC 6.6), by pe then simd.
pub fn legal_foldings(g: &Geometry) -> Vec<Folding> {
    let n = g.window_len();
    let simds: Vec<usize> = (1..=n)
        .filter(|&s| if s <= g.cin { g.cin.is_multiple_of(s) } else { s.is_multiple_of(g.cin) && n.is_multiple_of(s) })
        .collect();
    let pes = (1..=g.cout).filter(|&pe| g.cout.is_multiple_of(pe));
    pes.flat_map(|pe| simds.iter().map(move |&simd| Folding { pe, simd })).collect()
}

/// Set bits of a magnitude.
fn ones(v: i64) -> u64 {
    u64::from(v.unsigned_abs().count_ones())
}

/// Adder bits of one PE's scale tree and threshold comparators.
fn per_pe_luts(p: &EngineParams) -> f64 {
    let n = p.geometry.window_len() as i128;
    let (acc, coefs, factor): (u32, Vec<i64>, f64) = match p.kind {
        EngineKind::Conv => (width_for(-n, n), p.lambdas.clone(), SCALE_FACTOR),
        EngineKind::PaConv => (width_for(0, n), p.phi.iter().flatten().copied().collect(), SCALE_FACTOR / 2.0),
    };
    let nonzero: Vec<i64> = coefs.into_iter().filter(|&c| c != 0).collect();
    let adders = nonzero.iter().map(|&c| ones(c) - 1).sum::<u64>() + (nonzero.len() as u64).saturating_sub(1);
    let scale = factor * (adders * u64::from(acc + p.frac_bits)) as f64;
    let (lo, hi) = p.sum_range();
    let compare = match &p.output {
        Output::Sum => 0.0,
        Output::Threshold { thresholds, .. } => (thresholds[0].len() as u32 * width_for(lo.into(), hi.into())) as f64,
        Output::Fusion { .. } => (p.lanes() as u32 * width_for(lo.into(), hi.into())) as f64,
    };
    scale + compare
}

/// An engine's estimated LUT4s.
pub fn engine_luts(p: &EngineParams) -> u64 {
    luts_at(p, p.folding, per_pe_luts(p))
}

/// The estimate at `folding`, with one PE's scale and comparators given.
fn luts_at(p: &EngineParams, folding: Folding, per_pe: f64) -> u64 {
    let (pe, simd) = (folding.pe as f64, folding.simd as f64);
    let lanes = match p.kind {
        EngineKind::Conv => p.lanes(),
        EngineKind::PaConv => p.lanes() * p.act_bases(),
    } as f64;
    let compare = if p.kind == EngineKind::PaConv && !p.bitplanes {
        simd * p.act_bases() as f64 * f64::from(p.act_bits) / 2.0
    } else {
        0.0
    };
    let rom = if p.weights_in == WeightStorage::Logic { weight_roms(p, folding).2 } else { 0 };
    let decode = if p.stores_piece_index() { decode_luts(p, folding) } else { 0.0 };
    (LUT_PER_ENGINE + LUT_PER_LANE_BIT * pe * simd * lanes + pe * per_pe + compare + decode).round() as u64 + rom
}

/// LUT4 of decoding piece indices at `folding`: one per decoded bit,
/// pe * simd * M.
fn decode_luts(p: &EngineParams, folding: Folding) -> f64 {
    LUT_PER_LANE_BIT * (folding.pe * folding.simd * p.lanes()) as f64
}

/// LUT4 of a ROM of `width` x `depth` in logic: every bit a function of
/// the address, a LUT4 per 16 words (rounded up to a power of two: the
/// address decodes in a tree; ECP5 joins LUT4s in its slices' muxes, free).
/// Yosys 0.23 on 64 random words of 36: 256 LUT4 on ECP5, 296 on iCE40.
pub fn rom_luts(width: u64, depth: u64) -> u64 {
    width * (depth.next_power_of_two() / 16).max(1)
}

/// An engine's weight ROMs at `folding`, one a lane of pe*simd bits (or
/// one of pe*simd piece indices) and ii words: their count, (width,
/// depth) and their LUT4 in logic.
fn weight_roms(p: &EngineParams, folding: Folding) -> (u64, (u64, u64), u64) {
    let g = &p.geometry;
    let (count, bits) = p.weight_roms();
    let width = (folding.pe * folding.simd) as u64 * u64::from(bits);
    let depth = ((g.cout / folding.pe) * (g.window_len() / folding.simd)) as u64;
    (count as u64, (width, depth), count as u64 * rom_luts(width, depth))
}

/// An engine's memories in block RAM, (width, depth): the line buffer's
/// copies (one per read port: dilation groups x taps a step) and the output
/// FIFO when it is deeper than 8, unless Yosys would put them in LUT RAM
/// (`BlockRam::in_lut_ram`); the
/// weight ROMs (one per lane, pe*simd bits a step) unless they are in logic.
pub fn engine_memories(p: &EngineParams, ram: BlockRam) -> Vec<(u64, u64)> {
    memories_at(p, &Plan::new(p), p.folding, ram)
}

/// The memories at `folding`; `plan` is any folding's (the line buffer's
/// rows and pixel bits do not depend on it).
fn memories_at(p: &EngineParams, plan: &Plan, folding: Folding, ram: BlockRam) -> Vec<(u64, u64)> {
    let g = &p.geometry;
    let ii = (g.cout / folding.pe) * (g.window_len() / folding.simd);
    let taps_per_step = if folding.simd > g.cin { folding.simd / g.cin } else { 1 };
    let mut out = vec![];
    let pixels = (plan.rows() << plan.col_bits) as u64;
    for group in 0..plan.groups.len() {
        let width: usize = plan.read_bits(group).iter().map(|r| r.1).sum();
        if !ram.in_lut_ram(width as u64, pixels) {
            out.extend((0..taps_per_step).map(|_| (width as u64, pixels)));
        }
    }
    if p.weights_in != WeightStorage::Logic {
        let (count, shape, _) = weight_roms(p, folding);
        out.extend((0..count).map(|_| shape));
    }
    // The FIFO holds the pixels alive over a pipeline of about 8 cycles;
    // at most 8 deep it stays in flip-flops.
    let fifo = crate::generator::engine::fifo_depth(plan.sf, ii, 8);
    if fifo > 8 && !ram.in_lut_ram(p.out_pixel_bits() as u64, fifo as u64) {
        out.push((p.out_pixel_bits() as u64, fifo as u64));
    }
    out
}

/// A layer's estimated resources.
pub fn layer_resources(layer: &NetworkLayer, ram: BlockRam) -> Resources {
    match &layer.stage {
        Stage::Engine { params, .. } => {
            let mems = engine_memories(params, ram);
            let in_bram: Vec<_> = mems.iter().filter(|&&(w, d)| ram.blocks(w, d) > 0).collect();
            Resources {
                luts: engine_luts(params),
                bram_bits: in_bram.iter().map(|&&(w, d)| w * d).sum(),
                brams: in_bram.iter().map(|&&(w, d)| ram.blocks(w, d)).sum(),
            }
        }
        Stage::Pool(p) => {
            let row = (p.out_width() * p.channels) as u64 * u64::from(p.element_bits);
            Resources { luts: row + LUT_PER_STAGE as u64, bram_bits: 0, brams: 0 }
        }
    }
}

/// A network's estimated resources: per layer, and the total.
pub fn network_resources(net: &NetworkParams, ram: BlockRam) -> (Vec<Resources>, Resources) {
    let layers: Vec<Resources> = net.layers.iter().map(|l| layer_resources(l, ram)).collect();
    let total = layers.iter().copied().fold(Resources::default(), |a, b| a + b);
    (layers, total)
}

/// The network with every engine's `auto` weights placed for a board of
/// `brams` block RAMs (SPEC 6: in block RAM or in logic, as the generator
/// decides). An engine reads one ROM word a step, so its ROMs' width, not
/// their depth, fixes the block RAMs they take: CNV's second conv at
/// FINN's folding holds 36 words of 1,024 bits a lane, 29 DP16KD filled
/// to 7 %. While the network takes more block RAMs than `brams`, the
/// engine whose ROMs cost the fewest LUT4 in logic per block RAM they free
/// moves them to logic (all its lanes: they share an address); then a
/// moved engine that fits back in block RAM returns, dearest first. The
/// rest stay in block RAM. Engines whose file says `weights_in` are left
/// as they are. If even that does not fit, the estimate says by how much.
///
/// Before any ROM moves, [`choose_weight_forms`] stores bit-planes where
/// the block RAM allows and piece indices where it does not.
pub fn pack_weights(net: &NetworkParams, ram: BlockRam, brams: u64) -> NetworkParams {
    let mut out = choose_weight_forms(net, ram, brams);
    // (layer, block RAMs freed, LUT4 taken) of each engine that may move.
    let mut movable: Vec<(usize, u64, u64)> = vec![];
    for (i, layer) in out.layers.iter_mut().enumerate() {
        let Stage::Engine { params, .. } = &mut layer.stage else { continue };
        if params.weights_in != WeightStorage::Auto {
            continue;
        }
        params.weights_in = WeightStorage::BlockRam;
        let (count, (width, depth), luts) = weight_roms(params, params.folding);
        let freed = count * ram.blocks(width, depth);
        if freed > 0 {
            movable.push((i, freed, luts));
        }
    }
    // Fewest LUT4 per block RAM freed first: a/b < c/d as a*d < c*b.
    movable.sort_by(|a, b| (a.2 * b.1).cmp(&(b.2 * a.1)).then(a.0.cmp(&b.0)));
    let set = |out: &mut NetworkParams, i: usize, to: WeightStorage| {
        if let Stage::Engine { params, .. } = &mut out.layers[i].stage {
            params.weights_in = to;
        }
    };
    let mut used = network_resources(&out, ram).1.brams;
    let mut moved = vec![];
    for &(i, freed, _) in &movable {
        if used <= brams {
            break;
        }
        set(&mut out, i, WeightStorage::Logic);
        used -= freed;
        moved.push((i, freed));
    }
    for &(i, freed) in moved.iter().rev() {
        if used + freed <= brams {
            set(&mut out, i, WeightStorage::BlockRam);
            used += freed;
        }
    }
    out
}

/// A `pa_conv` whose weights could be piece indices (`weight_form` auto,
/// disjoint bases, a narrower index) pays for them in LUT4 (the decode,
/// a LUT per decoded bit in the estimate) to save block RAM. For a board
/// of `brams` block RAMs such engines store bit-planes; while the network
/// takes more block RAMs than that, the engine that frees the most per
/// decode LUT4 switches to indices. The forms are then fixed (`planes` or
/// `piece_index`) in the result.
pub fn choose_weight_forms(net: &NetworkParams, ram: BlockRam, brams: u64) -> NetworkParams {
    use crate::spec::engine::WeightForm;
    let mut out = net.clone();
    // (layer, block RAMs freed by indices, decode LUT4).
    let mut candidates: Vec<(usize, u64, u64)> = vec![];
    for (i, layer) in out.layers.iter_mut().enumerate() {
        let Stage::Engine { params, .. } = &mut layer.stage else { continue };
        if params.weight_form != WeightForm::Auto || !params.stores_piece_index() {
            continue;
        }
        let blocks = |p: &EngineParams| {
            let (count, (width, depth), _) = weight_roms(p, p.folding);
            count * ram.blocks(width, depth)
        };
        let with_index = blocks(params);
        params.weight_form = WeightForm::Planes;
        let freed = blocks(params).saturating_sub(with_index);
        let decode = decode_luts(params, params.folding) as u64;
        if freed > 0 && params.weights_in != WeightStorage::Logic {
            candidates.push((i, freed, decode.max(1)));
        }
    }
    // Most block RAMs per decode LUT4 first: a/b > c/d as a*d > c*b.
    candidates.sort_by(|a, b| (b.1 * a.2).cmp(&(a.1 * b.2)).then(a.0.cmp(&b.0)));
    let mut used = network_resources(&out, ram).1.brams;
    for (i, freed, _) in candidates {
        if used <= brams {
            break;
        }
        if let Stage::Engine { params, .. } = &mut out.layers[i].stage {
            params.weight_form = WeightForm::PieceIndex;
        }
        used -= freed;
    }
    out
}

/// `layers[1] (conv)`, as errors name a layer.
pub fn layer_name(net: &NetworkParams, i: usize) -> String {
    format!("layers[{i}] ({})", net.layers[i].kind.name())
}

/// Cycles per frame of an engine at `folding`.
fn cycles_at(g: &Geometry, folding: Folding) -> usize {
    let ii = (g.cout / folding.pe) * (g.window_len() / folding.simd);
    (g.height * g.width).max(g.out_height() * g.out_width() * ii)
}

/// The cheapest legal folding of an engine whose cycles per frame are at
/// most `budget` (fewest LUT4, then block RAMs, then PEs); `None` if none is.
pub fn cheapest(p: &EngineParams, budget: usize, ram: BlockRam) -> Option<Folding> {
    let (plan, per_pe) = (Plan::new(p), per_pe_luts(p));
    let cost = |folding: Folding| {
        let brams: u64 = memories_at(p, &plan, folding, ram).iter().map(|&(w, d)| ram.blocks(w, d)).sum();
        (luts_at(p, folding, per_pe), brams, folding.pe)
    };
    let fits = |f: &Folding| cycles_at(&p.geometry, *f) <= budget;
    legal_foldings(&p.geometry).into_iter().filter(fits).min_by_key(|&f| cost(f))
}

/// The network with every engine folded as cheaply as `budget` cycles per
/// frame allow; one line naming the first layer that cannot meet it.
pub fn choose_folding(net: &NetworkParams, budget: usize, ram: BlockRam) -> Result<NetworkParams, String> {
    let mut out = net.clone();
    for (i, layer) in out.layers.iter_mut().enumerate() {
        let g = layer.input;
        if g.height * g.width > budget {
            return Err(format!(
                "{} cannot meet {budget} cycles per frame: it takes its {}x{} input a pixel a cycle, {} cycles",
                layer_name(net, i),
                g.height,
                g.width,
                g.height * g.width
            ));
        }
        if let Stage::Engine { params, .. } = &mut layer.stage {
            let Some(folding) = cheapest(params, budget, ram) else {
                let full = Folding { pe: params.geometry.cout, simd: params.geometry.window_len() };
                let best = cycles_at(&params.geometry, full);
                return Err(format!(
                    "{} cannot meet {budget} cycles per frame: fully parallel (pe {}, simd {}) it takes {best}",
                    layer_name(net, i),
                    full.pe,
                    full.simd
                ));
            };
            params.folding = folding;
        }
    }
    Ok(out)
}

/// The legal foldings of an engine within `budget` cycles per frame that
/// no other beats on both estimated LUT4 and block RAMs, with those two.
fn frontier(p: &EngineParams, budget: usize, ram: BlockRam) -> Vec<(Folding, u64, u64)> {
    let (plan, per_pe) = (Plan::new(p), per_pe_luts(p));
    let mut all: Vec<(Folding, u64, u64)> = legal_foldings(&p.geometry)
        .into_iter()
        .filter(|f| cycles_at(&p.geometry, *f) <= budget)
        .map(|f| {
            let brams: u64 = memories_at(p, &plan, f, ram).iter().map(|&(w, d)| ram.blocks(w, d)).sum();
            (f, luts_at(p, f, per_pe), brams)
        })
        .collect();
    all.sort_by_key(|&(f, luts, brams)| (luts, brams, f.pe));
    let mut kept: Vec<(Folding, u64, u64)> = vec![];
    for c in all {
        if kept.iter().all(|k| k.2 > c.2) {
            kept.push(c);
        }
    }
    kept
}

/// As [`choose_folding`], but within `brams` block RAMs: when the
/// cheapest-LUT folding of every layer takes more, the foldings of fewest
/// total LUT4 that fit (each layer from its LUT/block-RAM frontier, by
/// dynamic programming over the block RAMs used). Errors as
/// [`choose_folding`]'s, or `None` when no folding fits the block RAMs.
pub fn choose_folding_within(
    net: &NetworkParams,
    budget: usize,
    ram: BlockRam,
    brams: Option<u64>,
) -> Result<Option<NetworkParams>, String> {
    let cheapest_luts = choose_folding(net, budget, ram)?;
    let Some(cap) = brams else { return Ok(Some(cheapest_luts)) };
    if network_resources(&cheapest_luts, ram).1.brams <= cap {
        return Ok(Some(cheapest_luts));
    }
    // best[b]: the fewest LUT4 with b block RAMs so far, and the choices.
    let cap = cap as usize;
    let mut best: Vec<Option<(u64, Vec<Folding>)>> = vec![None; cap + 1];
    best[0] = Some((0, vec![]));
    for layer in &net.layers {
        let Stage::Engine { params, .. } = &layer.stage else { continue };
        let options = frontier(params, budget, ram);
        let mut next: Vec<Option<(u64, Vec<Folding>)>> = vec![None; cap + 1];
        for (used, state) in best.iter().enumerate() {
            let Some((luts, chosen)) = state else { continue };
            for &(f, l, b) in &options {
                let at = used + b as usize;
                if at <= cap && next[at].as_ref().is_none_or(|(old, _)| luts + l < *old) {
                    let mut path = chosen.clone();
                    path.push(f);
                    next[at] = Some((luts + l, path));
                }
            }
        }
        best = next;
    }
    let Some((_, choices)) = best.into_iter().flatten().min_by_key(|(luts, _)| *luts) else { return Ok(None) };
    let mut out = cheapest_luts;
    let engines = out.layers.iter_mut().filter_map(|l| match &mut l.stage {
        Stage::Engine { params, .. } => Some(params),
        Stage::Pool(_) => None,
    });
    for (params, folding) in engines.zip(choices) {
        params.folding = folding;
    }
    Ok(Some(out))
}

/// What a folding is chosen for.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Target {
    pub fps: f64,
    pub clock_mhz: f64,
    /// The LUT4s and block RAMs available, if limited.
    pub luts: Option<u64>,
    pub brams: Option<u64>,
    pub ram: BlockRam,
}

/// The fewest cycles per frame any folding gives: every layer takes its
/// input a pixel a cycle, and a fully parallel engine needs no more.
pub fn fewest_cycles(net: &NetworkParams) -> usize {
    net.layers.iter().map(|l| l.input.height * l.input.width).max().unwrap_or(1)
}

/// Cycles per frame at `clock_mhz` for `fps` frames per second.
pub fn budget_cycles(clock_mhz: f64, fps: f64) -> Result<usize, String> {
    if !(fps.is_finite() && fps > 0.0) {
        return Err(format!("--target-fps {fps} must be a positive number of frames per second"));
    }
    if !(clock_mhz.is_finite() && clock_mhz > 0.0) {
        return Err(format!("--clock-mhz {clock_mhz} must be a positive clock in MHz"));
    }
    Ok((clock_mhz * 1e6 / fps).floor() as usize)
}

/// A network folded for a target, with its estimates.
#[derive(Clone, Debug)]
pub struct Folded {
    pub params: NetworkParams,
    pub budget: usize,
    pub layers: Vec<Resources>,
    pub total: Resources,
}

/// Folds `net` for `target` and checks the estimate against the capacity.
pub fn fold_for_target(net: &NetworkParams, target: &Target) -> Result<Folded, String> {
    let budget = budget_cycles(target.clock_mhz, target.fps)?;
    let fps = target.fps;
    let params = choose_folding_within(net, budget, target.ram, target.brams).map_err(|e| {
        let most = (target.clock_mhz * 1e6 / fewest_cycles(net) as f64).floor();
        format!("--target-fps {fps} at {} MHz: {e}; the valid range is 0 < fps <= {most}", target.clock_mhz)
    })?;
    // None: no folding fits the block RAMs in full; the cheapest-LUT one,
    // its weights packed, may.
    let params = match params {
        Some(p) => p,
        None => choose_folding(net, budget, target.ram)?,
    };
    let params = match target.brams {
        Some(cap) => pack_weights(&params, target.ram, cap),
        None => params,
    };
    let (layers, total) = network_resources(&params, target.ram);
    check_capacity(&total, target.luts, target.brams, target.ram).map_err(|e| format!("{fps} frames/s {e}"))?;
    Ok(Folded { params, budget, layers, total })
}

/// Whether the estimate `total` fits `luts` LUT4 and `brams` block RAMs
/// (`None`: unlimited); if not, "needs about ..., over the ... available".
pub fn check_capacity(total: &Resources, luts: Option<u64>, brams: Option<u64>, ram: BlockRam) -> Result<(), String> {
    let over_luts = luts.is_some_and(|cap| total.luts > cap);
    let over_brams = brams.is_some_and(|cap| total.brams > cap);
    if !over_luts && !over_brams {
        return Ok(());
    }
    Err(format!(
        "needs about {} LUT4 and {} {} ({} kbit), over the {} LUT4 and {} {} available",
        total.luts,
        total.brams,
        ram.name,
        total.bram_bits.div_ceil(1024),
        luts.map_or("unlimited".into(), |c| c.to_string()),
        brams.map_or("unlimited".into(), |c| c.to_string()),
        ram.name
    ))
}

/// The chosen folding, one line a layer, and the totals.
pub fn summary(f: &Folded, clock_mhz: f64, ram: BlockRam) -> String {
    let mut out = format!("folding for {} cycles per frame:\n", f.budget);
    for (i, (layer, r)) in f.params.layers.iter().zip(&f.layers).enumerate() {
        let (folding, logic) = match &layer.stage {
            Stage::Engine { params, .. } => {
                let mut notes = String::new();
                if params.weights_in == WeightStorage::Logic {
                    notes += ", weights in logic";
                }
                if params.stores_piece_index() {
                    notes += &format!(", weights as {}-bit piece indices", params.piece_index_bits());
                }
                (format!("pe {:>3} simd {:>4}", params.folding.pe, params.folding.simd), notes)
            }
            Stage::Pool(_) => (format!("{:17}", "(pool)"), String::new()),
        };
        out += &format!(
            "  layer {i} {:<8} {folding}  {:>7} cycles/frame  ~{:>6} LUT4  {:>3} {} ({} bits){logic}\n",
            layer.kind.name(),
            layer.cycles_per_frame(),
            r.luts,
            r.brams,
            ram.name,
            r.bram_bits
        );
    }
    let cycles = f.params.cycles_per_frame();
    out + &format!(
        "predicted: {cycles} cycles per frame, {:.0} frames/s at {clock_mhz} MHz; estimate ~{} LUT4 (pools included), {} {} ({} kbit)\n",
        frames_per_second(clock_mhz, cycles as u64),
        f.total.luts,
        f.total.brams,
        ram.name,
        f.total.bram_bits.div_ceil(1024)
    )
}
