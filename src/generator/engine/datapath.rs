//! The engine's datapath: each step's window elements per lane and the
//! inside bits of its taps, the weights of `pe` output channels from ROM,
//! and `pe` instances of the dot module (`dot.rs`) that count, accumulate
//! and scale them; PA-Net's activations compared once, at the window.

use super::dot;
use super::plan::Plan;
use super::schedule::{Window, copy_offset};
use crate::generator::build::{constant, delay, delay_flag, resize};
use crate::rtl::{BinOp, Comparison, Const, Expr, MemoryInit, MemoryStyle, Module};
use crate::spec::engine::{EngineKind, EngineParams, WeightStorage};

/// A fold's results at the stage its accumulators hold them.
pub struct Folded {
    /// Per PE, the dot module's results (the sum, or each fusion gate's).
    pub sums: Vec<Vec<Expr>>,
    /// The fold is complete this cycle; its fold index; it ends a pixel; and a frame.
    pub done: Expr,
    pub nf: Expr,
    pub last_group: Expr,
    pub last_pixel: Expr,
}

/// Step control flowing down the pipeline beside the data.
#[derive(Clone)]
struct Control {
    valid: Expr,
    fold_start: Expr,
    last_step: Expr,
    last_group: Expr,
    last_pixel: Expr,
    nf: Expr,
}

impl Control {
    fn of(w: &Window) -> Control {
        Control {
            valid: w.valid.clone(),
            fold_start: w.fold_start.clone(),
            last_step: w.last_step.clone(),
            last_group: w.last_group.clone(),
            last_pixel: w.last_pixel.clone(),
            nf: w.nf.clone(),
        }
    }

    fn delayed(&self, m: &mut Module, stage: &str, cycles: u32) -> Control {
        let d = |m: &mut Module, name: &str, e: &Expr| delay(m, &format!("{name}_{stage}"), e.clone(), cycles);
        Control {
            valid: delay_flag(m, &format!("valid_{stage}"), self.valid.clone(), cycles),
            fold_start: d(m, "fold_start", &self.fold_start),
            last_step: d(m, "last_step", &self.last_step),
            last_group: d(m, "last_group", &self.last_group),
            last_pixel: d(m, "last_pixel", &self.last_pixel),
            nf: d(m, "nf", &self.nf),
        }
    }
}

/// Cycles from issue to the accumulators' outputs: the tap's address and
/// the read (one more with registered reads), one to gather the window,
/// (PA-Net) one to compare, the trees' inner registers, the accumulator.
pub fn latency(p: &EngineParams, plan: &Plan, pipeline: u32) -> u32 {
    let compare = u32::from(p.kind == EngineKind::PaConv);
    1 + plan.read_registers()
        + 1
        + u32::from(plan.chunk_register)
        + compare
        + dot::inner_registers(dot::step_levels(p, plan), pipeline)
        + 1
}

/// `values[index]` among expressions of equal width; with `Some(levels)`,
/// registers after that many levels of the mux tree, the rest choosing
/// with the index a cycle later, so that the result is one cycle later too.
fn select_staged(m: &mut Module, name: &str, index: &Expr, values: Vec<Expr>, registered: Option<u32>) -> Expr {
    if values.len() == 1 {
        return values.into_iter().next().unwrap();
    }
    let mut index = m.wire(&format!("{name}_index"), index.clone());
    let mut level: Vec<Expr> = values;
    // `index` holds the index's bits from `first` up.
    let (mut bit, mut first) = (0, 0);
    while level.len() > 1 {
        if registered == Some(bit) {
            let held = |(i, v): (usize, Expr)| m.reg(&format!("{name}_half{i}"), v, None);
            level = level.into_iter().enumerate().map(held).collect();
            let high = index.slice(bit, index.width() - bit);
            (index, first) = (m.reg(&format!("{name}_index_late"), high, None), bit);
        }
        let sel = index.bit(bit - first);
        level = level
            .chunks(2)
            .map(|pair| match pair {
                [low, high] => Expr::mux(sel.clone(), high.clone(), low.clone()),
                [only] => only.clone(),
                _ => unreachable!(),
            })
            .collect();
        bit += 1;
    }
    m.wire(name, level.pop().unwrap())
}

/// One window lane's elements of this step, and the inside bits of the
/// step's taps (one, or `taps_per_step`; tap j's elements at j * cin).
struct LaneStep {
    bits: Expr,
    taps: Expr,
}

/// Gathers lane `lane`'s elements from the group's pixels: a part of one
/// tap's channels, or several whole taps side by side.
fn gather(m: &mut Module, plan: &Plan, w: &Window, lane: usize, base: usize) -> Expr {
    let g = plan.group_of(lane);
    let eb = plan.element_bits;
    let channels = plan.cin * eb;
    // The lane's channels in its group's words.
    let base = copy_offset(&w.runs[g], base * eb) / eb;
    if plan.taps_per_step == 1 {
        let part = plan.simd * eb;
        let parts = (0..plan.chunks_per_tap)
            .map(|c| w.pixels[g][0].slice((base * eb + c * part) as u32, part as u32))
            .collect();
        // Half the levels (the low index bits) before the register.
        let registered = plan.chunk_register.then(|| super::plan::bits_for(plan.chunks_per_tap).div_ceil(2));
        return select_staged(m, &format!("lane{lane}_part"), &w.chunk, parts, registered);
    }
    let taps = (0..plan.taps_per_step).rev();
    Expr::concat(taps.map(|j| w.pixels[g][j].slice((base * eb) as u32, channels as u32)).collect())
}

/// A weight ROM, `name`: word `nf * sf + s` holds, for each of the `pe`
/// channels of fold nf, its step s elements, `bits` each: element e of
/// channel o is `value(o, e)`, at `(pe * simd + e) * bits`. In block RAM
/// even when shallow (its width, one word a step, fixes the RAMs it takes,
/// and in logic a ROM costs LUTs per bit), unless the parameters put it in
/// logic.
fn weight_rom(
    m: &mut Module,
    (p, plan): (&EngineParams, &Plan),
    (name, bits): (&str, u32),
    value: impl Fn(usize, usize) -> u64,
    address: &Expr,
) -> Expr {
    let width = (plan.pe * plan.simd) as u32 * bits;
    let words: Vec<Const> = (0..plan.ii())
        .map(|step| {
            let (nf, sf) = (step / plan.sf, step % plan.sf);
            let mut words = vec![0u64; (width as usize).div_ceil(64)];
            for pe in 0..plan.pe {
                for e in 0..plan.simd {
                    let v = value(nf * plan.pe + pe, sf * plan.simd + e);
                    for b in 0..bits as usize {
                        let bit = (pe * plan.simd + e) * bits as usize + b;
                        words[bit / 64] |= ((v >> b) & 1) << (bit % 64);
                    }
                }
            }
            Const::from_words(width, words)
        })
        .collect();
    let style = match p.weights_in {
        WeightStorage::Logic => MemoryStyle::Logic,
        WeightStorage::Auto | WeightStorage::BlockRam => MemoryStyle::Block,
    };
    let rom = |m: &mut Module, name: &str, words: Vec<Const>, address: &Expr| {
        let file = format!("{}_{name}", p.top);
        let rom = m.memory(name, width, words.len() as u32, MemoryInit::File { name: file, words });
        m.set_memory_style(rom, style);
        m.read_port(rom, resize(address.clone(), m.mem(rom).address_width(), false), constant(1, 1))
    };
    let Some(bank_depth) = plan.weight_banks else {
        let word = rom(m, name, words, address);
        return delay(m, &format!("{name}_out"), word, plan.read_pipeline);
    };
    // Banks of one block's depth, each word registered beside its block,
    // then the bank chosen by the address's high bits, registered as read;
    // among many banks, registered halfway too.
    let low = bank_depth.trailing_zeros();
    assert_eq!(1 << low, bank_depth, "{name}: banks of {bank_depth} words");
    let address = resize(address.clone(), super::plan::bits_for(plan.ii()), false);
    let low_address = m.wire(&format!("{name}_bank_address"), address.slice(0, low));
    let banks: Vec<Expr> = words
        .chunks(bank_depth)
        .enumerate()
        .map(|(b, words)| {
            let bank = format!("{name}_bank{b}");
            let word = rom(m, &bank, words.to_vec(), &low_address);
            delay(m, &format!("{bank}_out"), word, 1)
        })
        .collect();
    let bank = address.slice(low, address.width() - low);
    let bank = delay(m, &format!("{name}_bank"), bank, 2);
    let halfway = plan.wide_bank_choice().then(|| super::plan::bits_for(banks.len()).div_ceil(2));
    let word = select_staged(m, &format!("{name}_banks"), &bank, banks, halfway);
    delay(m, &format!("{name}_out"), word, plan.read_pipeline - 1 - u32::from(plan.wide_bank_choice()))
}

/// The weight ROMs: one per lane (weight base), or (`pa_conv` storing
/// piece indices) one of indices, 0 for no base and i + 1 for base i.
fn weight_roms(m: &mut Module, p: &EngineParams, plan: &Plan, address: &Expr) -> Vec<Expr> {
    if p.stores_piece_index() {
        let piece = |o: usize, e: usize| (0..p.lanes()).find(|&i| p.weights[i][o].get(e)).map_or(0, |i| i as u64 + 1);
        return vec![weight_rom(m, (p, plan), ("weights_index", p.piece_index_bits()), piece, address)];
    }
    (0..p.lanes())
        .map(|lane| match p.constant_lane(lane) {
            Some(value) => {
                // A wire, not the constant itself: the datapath slices each PE's word from it.
                let width = (plan.pe * plan.simd) as u32;
                let word =
                    Const::from_words(width, vec![if value { u64::MAX } else { 0 }; width.div_ceil(64) as usize]);
                m.wire(&format!("weights{lane}_constant"), Expr::constant(word))
            }
            None => {
                let bit = |o: usize, e: usize| u64::from(p.weights[lane][o].get(e));
                weight_rom(m, (p, plan), (&format!("weights{lane}"), 1), bit, address)
            }
        })
        .collect()
}

/// Base i's bits of a word of piece indices: index == i + 1, per element.
fn decode_pieces(m: &mut Module, p: &EngineParams, plan: &Plan, index: &Expr) -> Vec<Expr> {
    let bits = p.piece_index_bits();
    (0..p.lanes())
        .map(|i| {
            let elements = (0..(plan.pe * plan.simd) as u32)
                .rev()
                .map(|b| Expr::compare(Comparison::Eq, index.slice(b * bits, bits), constant(bits, i as i128 + 1)));
            m.wire(&format!("weights{i}_s4"), Expr::concat(elements.collect()))
        })
        .collect()
}

/// Stage 3: every lane's step elements and its group's tap inside bits in
/// registers; the weights as the ROMs read them (their output registers).
/// With a two-cycle choice of chunk, stage 4, and the weights and the
/// control a register more.
fn stage3(m: &mut Module, p: &EngineParams, plan: &Plan, w: &Window) -> (Vec<LaneStep>, Vec<Expr>, Control) {
    let late = u32::from(plan.chunk_register);
    let stage = format!("s{}", 3 + late);
    let taps: Vec<Expr> = (0..plan.groups.len())
        .map(|g| {
            let bits = Expr::concat((0..plan.taps_per_step).rev().map(|j| w.inside[g][j].clone()).collect());
            match late {
                0 => m.reg(&format!("group{g}_taps_s3"), bits, None),
                _ => delay(m, &format!("group{g}_taps_{stage}"), bits, 1 + late),
            }
        })
        .collect();
    let lanes: Vec<LaneStep> = (0..plan.window_lanes)
        .map(|lane| {
            let bits = gather(m, plan, w, lane, plan.lane_base[lane]);
            LaneStep {
                bits: m.reg(&format!("lane{lane}_bits_{stage}"), bits, None),
                taps: taps[plan.group_of(lane)].clone(),
            }
        })
        .collect();
    let weights = weight_roms(m, p, plan, &w.step)
        .into_iter()
        .enumerate()
        .map(|(i, word)| {
            // A constant lane is a wire of a constant: nothing to delay.
            let constant = !p.stores_piece_index() && p.constant_lane(i).is_some();
            if constant { word } else { delay(m, &format!("weights{i}_{stage}"), word, late) }
        })
        .collect();
    (lanes, weights, Control::of(w).delayed(m, &stage, 1 + late))
}

pub fn build(m: &mut Module, p: &EngineParams, plan: &Plan, w: &Window, pipeline: u32) -> (Folded, Module) {
    let (lanes, weights, c3) = stage3(m, p, plan, w);
    match p.kind {
        EngineKind::Conv => conv(m, p, plan, (&lanes, &weights, &c3), pipeline),
        EngineKind::PaConv => pa(m, p, plan, (&lanes, &weights, &c3), pipeline),
    }
}

/// What the output stage needs to know of a fold, at the dot products'
/// results: it is done (one cycle after its last step reached the
/// accumulators), its index, and whether it ends a pixel and a frame.
fn finish(m: &mut Module, c: &Control, sums: Vec<Vec<Expr>>) -> Folded {
    let done = m.wire("fold_step_done", Expr::bin(BinOp::And, c.valid.clone(), c.last_step.clone()));
    Folded {
        sums,
        done: delay_flag(m, "fold_done_acc", done, 1),
        nf: delay(m, "nf_acc", c.nf.clone(), 1),
        last_group: delay(m, "last_group_acc", c.last_group.clone(), 1),
        last_pixel: delay(m, "last_pixel_acc", c.last_pixel.clone(), 1),
    }
}

/// The step's offset of one result, `sum_i c_i inside_i` over the step's
/// inside elements: per dilation group, its inside taps times the elements
/// a tap gives a step, times the group's lanes' coefficients; at `width`
/// bits, two's complement (modulo 2^width, where the fold's sum fits).
fn offset_step(plan: &Plan, group_taps: &[Expr], row: &[i64], width: u32) -> Expr {
    let per_tap = if plan.taps_per_step == 1 { plan.simd } else { plan.cin } as i128;
    let parts = plan.groups.iter().zip(group_taps).filter_map(|(group, taps)| {
        let c: i128 = group.lanes.iter().map(|&lane| row[lane] as i128).sum();
        let taps_in =
            (0..taps.width()).map(|j| resize(taps.bit(j), width, false)).reduce(|a, b| Expr::bin(BinOp::Add, a, b));
        (c != 0).then(|| Expr::bin(BinOp::Mul, taps_in.expect("a step has a tap"), constant(width, c * per_tap)))
    });
    parts.reduce(|a, b| Expr::bin(BinOp::Add, a, b)).unwrap_or(Expr::zeros(width))
}

/// `acc <= first ? value : acc + value` on valid steps, at `width` bits.
fn accumulate(m: &mut Module, name: &str, value: Expr, width: u32, c: &Control) -> Expr {
    let value = m.wire(&format!("{name}_step"), resize(value, width, false));
    let first = c.fold_start.clone();
    crate::generator::build::feedback_reg_en(m, name, width, c.valid.clone(), None, move |_, acc| {
        Expr::mux(first, value.clone(), Expr::bin(BinOp::Add, acc.clone(), value))
    })
}

/// `conv`: per lane the fold's inside elements (one count per dilation
/// group, shared by its lanes and every PE), and `pe` instances of the
/// dot module.
fn conv(
    m: &mut Module,
    p: &EngineParams,
    plan: &Plan,
    (lanes, weights, c3): (&[LaneStep], &[Expr], &Control),
    pipeline: u32,
) -> (Folded, Module) {
    let inner = dot::inner_registers(dot::step_levels(p, plan), pipeline);
    let c = c3.delayed(m, "pop", inner);
    let group_taps: Vec<Expr> = plan.groups.iter().map(|g| lanes[g.lanes[0]].taps.clone()).collect();
    // Per result, the offset its PEs subtract, accumulated once for all.
    let offsets: Vec<Option<Expr>> = dot::coefficients(p)
        .iter()
        .enumerate()
        .map(|(r, row)| {
            let width = dot::offset_width(p, row)?;
            let step = m.wire(&format!("offset{r}_step"), offset_step(plan, &group_taps, row, width));
            let step = delay(m, &format!("offset{r}_step"), step, inner);
            Some(accumulate(m, &format!("offset{r}"), step, width, &c))
        })
        .collect();
    let module = dot::conv_module(p, plan, pipeline);
    let widths = dot::result_widths(p);
    let simd = plan.simd as u32;
    let sums = (0..plan.pe)
        .map(|pe| {
            let mut conns: Vec<(String, Expr)> = vec![("clk".into(), m.r(m.clock.expect("clocked")))];
            for (lane, step) in lanes.iter().enumerate() {
                conns.push((format!("bits{lane}"), step.bits.clone()));
                conns.push((format!("taps{lane}"), step.taps.clone()));
                conns.push((format!("weights{lane}"), weights[lane].slice(pe as u32 * simd, simd)));
            }
            conns.push(("valid".into(), c.valid.clone()));
            conns.push(("first".into(), c.fold_start.clone()));
            for (r, offset) in offsets.iter().enumerate() {
                if let Some(offset) = offset {
                    conns.push((format!("offset{r}"), offset.clone()));
                }
            }
            instance(m, &module, pe, conns, &widths)
        })
        .collect();
    (finish(m, &c, sums), module)
}

/// Instance `pe` of the dot module; its results, as wires of `widths`.
fn instance(m: &mut Module, module: &Module, pe: usize, mut conns: Vec<(String, Expr)>, widths: &[u32]) -> Vec<Expr> {
    let results: Vec<Expr> =
        widths.iter().enumerate().map(|(i, &w)| m.instance_wire(&format!("pe{pe}_result{i}"), w)).collect();
    conns.extend(results.iter().enumerate().map(|(i, r)| (format!("result{i}"), r.clone())));
    let conns = conns.iter().map(|(n, e)| (n.as_str(), e.clone())).collect();
    m.instance(module, &format!("pe{pe}"), conns);
    results
}

/// PA-Net's activation bases of a step: each element compared once with
/// every endpoint (`a >= v_j`), one-hot per element, padded taps in none.
fn pa_bases(m: &mut Module, p: &EngineParams, plan: &Plan, lane: &LaneStep) -> Vec<Expr> {
    let b = p.act_bits;
    if p.bitplanes {
        return plane_bases(m, plan, lane, b);
    }
    let ge: Vec<Vec<Expr>> = (0..plan.simd)
        .map(|e| {
            let a = lane.bits.slice(e as u32 * b, b);
            p.endpoints
                .iter()
                .map(|&v| {
                    let v = constant(b, v as i128);
                    if p.act_signed {
                        Expr::compare_signed(Comparison::Ge, a.clone(), v)
                    } else {
                        Expr::compare(Comparison::Ge, a.clone(), v)
                    }
                })
                .collect()
        })
        .collect();
    let mask = m.wire("pa_mask", dot::element_mask(plan, &lane.taps));
    let n = p.act_bases();
    (0..n)
        .map(|j| {
            let bits: Vec<Expr> = (0..plan.simd)
                .rev()
                .map(|e| {
                    let inside = mask.bit(e as u32);
                    let above = if j + 1 < n { Expr::invert(ge[e][j + 1].clone()) } else { constant(1, 1) };
                    Expr::bin(BinOp::And, Expr::bin(BinOp::And, ge[e][j].clone(), above), inside)
                })
                .collect();
            let v = m.wire(&format!("base{j}"), Expr::concat(bits));
            m.reg(&format!("base{j}_s4"), v, None)
        })
        .collect()
}

/// Bit-planes as the bases (a first layer on pixels): base j is bit j of
/// every element, padded taps in none.
fn plane_bases(m: &mut Module, plan: &Plan, lane: &LaneStep, b: u32) -> Vec<Expr> {
    let mask = m.wire("pa_mask", dot::element_mask(plan, &lane.taps));
    (0..b)
        .map(|j| {
            let bits: Vec<Expr> = (0..plan.simd as u32).rev().map(|e| lane.bits.bit(e * b + j)).collect();
            let v = m.wire(&format!("base{j}"), Expr::bin(BinOp::And, Expr::concat(bits), mask.clone()));
            m.reg(&format!("base{j}_s4"), v, None)
        })
        .collect()
}

/// `pa_conv`: the bases compared once at the window, `pe` instances of
/// the dot module.
fn pa(
    m: &mut Module,
    p: &EngineParams,
    plan: &Plan,
    (lanes, weights, c3): (&[LaneStep], &[Expr], &Control),
    pipeline: u32,
) -> (Folded, Module) {
    let bases = pa_bases(m, p, plan, &lanes[0]);
    // Piece indices are registered as they are and decoded after, in front
    // of the AND arrays: fewer flip-flops, and a decoded bit and its AND
    // share a LUT.
    let weights: Vec<Expr> = if p.stores_piece_index() {
        let index = m.reg("weights_index_s4", weights[0].clone(), None);
        decode_pieces(m, p, plan, &index)
    } else {
        weights.iter().enumerate().map(|(i, w)| m.reg(&format!("weights{i}_s4"), w.clone(), None)).collect()
    };
    let c4 = c3.delayed(m, "s4", 1);
    let c = c4.delayed(m, "pop", dot::inner_registers(dot::step_levels(p, plan), pipeline));
    let module = dot::pa_module(p, plan, pipeline);
    let widths = dot::result_widths(p);
    let simd = plan.simd as u32;
    let sums = (0..plan.pe)
        .map(|pe| {
            let mut conns: Vec<(String, Expr)> = vec![("clk".into(), m.r(m.clock.expect("clocked")))];
            conns.extend(bases.iter().enumerate().map(|(j, b)| (format!("base{j}"), b.clone())));
            conns.extend(
                weights.iter().enumerate().map(|(i, w)| (format!("weights{i}"), w.slice(pe as u32 * simd, simd))),
            );
            conns.push(("valid".into(), c.valid.clone()));
            conns.push(("first".into(), c.fold_start.clone()));
            instance(m, &module, pe, conns, &widths)
        })
        .collect();
    (finish(m, &c, sums), module)
}
