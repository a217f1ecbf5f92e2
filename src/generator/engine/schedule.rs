//! The engine's control: the input side writing the line buffer, the
//! schedule issuing steps, and the window reads of each step.

use super::Ports;
use super::plan::{Plan, bits_for};
use crate::generator::build::{constant, counter, delay, delay_flag, feedback_reg_en, increment, resize, select_const};
use crate::rtl::{BinOp, Comparison, Const, Expr, MemId, MemoryInit, Module};
use crate::util::fixed::width_for;

/// The input side: where the next pixel goes, and the buffer it goes into.
pub struct LineBuffer {
    /// Every memory of the buffer is written here, with the input pixel's
    /// bits it keeps, when a pixel arrives.
    address: Expr,
    data: Expr,
    fire: Expr,
    /// The global row (wrapping) and column of the next pixel to arrive.
    pub y_in: Expr,
    col_in: Expr,
}

/// A signed width that holds every row and column arithmetic of the
/// window: map sides plus tap offsets either way.
fn coord_bits(plan: &Plan) -> u32 {
    let side = plan.height.max(plan.width) as i128;
    width_for(plan.off_min.min(0) as i128 - side, side + plan.off_max.max(0) as i128)
}

/// Writes every accepted pixel at (row mod 2^r, column).
pub fn line_buffer(m: &mut Module, plan: &Plan, io: &Ports) -> LineBuffer {
    let fire = m.wire("in_fire", Expr::bin(BinOp::And, io.in_valid.clone(), io.in_ready.clone()));
    let col = counter(m, "in_col", plan.width, fire.clone());
    let row_done = m.wire("in_row_done", Expr::bin(BinOp::And, fire.clone(), col.at_last.clone()));
    let wy = plan.row_counter_bits;
    let y_in = feedback_reg_en(m, "in_y", wy, row_done, Some(Const::zeros(wy)), |_, y| increment(y));
    let col_in = resize(col.value.clone(), plan.col_bits, false);
    let address = Expr::concat(vec![y_in.slice(0, plan.row_bits), col_in.clone()]);
    LineBuffer { address, data: io.in_data.clone(), fire, y_in, col_in }
}

/// The line buffer's memory that read port `j` of dilation group `g`
/// reads: the group's own channels of every pixel (all of them with a
/// shared input), so that lanes with their own input maps share no bits
/// and the buffer as a whole holds each pixel once. Synthesis would copy a
/// memory per read port anyway (the block RAMs have one), and Yosys 0.23
/// adds a bypass multiplexer to the copies it makes; here every memory has
/// one read port. Returns the memory and the runs (pixel bit, width) it
/// keeps, lowest first.
fn buffer_copy(
    m: &mut Module,
    plan: &Plan,
    buffer: &LineBuffer,
    (g, j): (usize, usize),
) -> (MemId, Vec<(usize, usize)>) {
    let runs = plan.read_bits(g);
    let width: usize = runs.iter().map(|r| r.1).sum();
    let pixels = 1usize << (plan.row_bits + plan.col_bits);
    let mem = m.memory(&format!("line_buffer_g{g}_p{j}"), width as u32, pixels as u32, MemoryInit::None);
    let kept = Expr::concat(runs.iter().rev().map(|&(lo, w)| buffer.data.slice(lo as u32, w as u32)).collect());
    m.write_port(mem, buffer.address.clone(), kept, buffer.fire.clone());
    (mem, runs)
}

/// Where pixel bit `bit` sits in a copy's word that keeps `runs`.
pub fn copy_offset(runs: &[(usize, usize)], bit: usize) -> usize {
    let mut at = 0;
    for &(lo, w) in runs {
        if (lo..lo + w).contains(&bit) {
            return at + bit - lo;
        }
        at += w;
    }
    panic!("pixel bit {bit} is not kept by this copy of the line buffer")
}

/// The schedule's state at the issue stage.
pub struct Issue {
    /// A step is issued this cycle.
    pub go: Expr,
    pub sf: Expr,
    pub nf: Expr,
    /// Step within the pixel, `nf * sf_count + sf`: the weights' address.
    pub step: Expr,
    /// The first step of a fold (it starts the accumulators afresh).
    pub fold_start: Expr,
    pub last_step: Expr,
    pub last_group: Expr,
    pub last_pixel: Expr,
    /// The output pixel's anchor: its in-frame row and column times the
    /// stride, and its row as a global (wrapping) row number.
    pub oys: Expr,
    pub oxs: Expr,
    pub ybase: Expr,
    /// The global row of the window's top row, clipped to the frame.
    top_row: Expr,
    /// A pixel left the FIFO (driven once the FIFO exists).
    pub popped: Expr,
}

/// Counters over output pixels, folds and steps, advancing on `go`.
struct Position {
    sf: crate::generator::build::Counter,
    nf: crate::generator::build::Counter,
    ox: crate::generator::build::Counter,
    oy: crate::generator::build::Counter,
    step: Expr,
    pixel_done: Expr,
    row_done: Expr,
}

fn position(m: &mut Module, plan: &Plan, go: &Expr) -> Position {
    let and = |a: &Expr, b: &Expr| Expr::bin(BinOp::And, a.clone(), b.clone());
    let sf = counter(m, "sf", plan.sf, go.clone());
    let fold_done = m.wire("fold_done", and(go, &sf.at_last));
    let nf = counter(m, "nf", plan.nf, fold_done.clone());
    let pixel_done = m.wire("pixel_done", and(&fold_done, &nf.at_last));
    let ox = counter(m, "ox", plan.out_width, pixel_done.clone());
    let row_done = m.wire("out_row_done", and(&pixel_done, &ox.at_last));
    let oy = counter(m, "oy", plan.out_height, row_done.clone());
    let step = counter(m, "step", plan.ii(), go.clone()).value;
    Position { sf, nf, ox, oy, step, pixel_done, row_done }
}

/// The anchor registers: `ox * s`, `oy * s`, and the global row of the anchor.
fn anchors(m: &mut Module, plan: &Plan, pos: &Position) -> (Expr, Expr, Expr) {
    let s = plan.stride as i128;
    let step_by = |m: &mut Module, name: &str, last: usize, done: &Expr, wrap: &Expr| {
        let width = bits_for(last * plan.stride + 1);
        let wrap = wrap.clone();
        feedback_reg_en(m, name, width, done.clone(), Some(Const::zeros(width)), move |_, q| {
            Expr::mux(wrap, Expr::zeros(width), Expr::bin(BinOp::Add, q.clone(), constant(width, s)))
        })
    };
    let oxs = step_by(m, "oxs", plan.out_width - 1, &pos.pixel_done, &pos.ox.at_last);
    let oys = step_by(m, "oys", plan.out_height - 1, &pos.row_done, &pos.oy.at_last);
    let wy = plan.row_counter_bits;
    // From the last output row of a frame, the next frame's first anchor is
    // H - (Ho - 1) * s rows on.
    let frame_jump = (plan.height - (plan.out_height - 1) * plan.stride) as i128;
    let wrap = pos.oy.at_last.clone();
    let ybase = feedback_reg_en(m, "ybase", wy, pos.row_done.clone(), Some(Const::zeros(wy)), move |_, y| {
        let by = Expr::mux(wrap, constant(wy, frame_jump), constant(wy, s));
        Expr::bin(BinOp::Add, y.clone(), by)
    });
    (oxs, oys, ybase)
}

/// Whether every input pixel the anchor's window reads has arrived: the
/// window's bottom row (clipped to the frame) and its right column in that
/// row are behind the input's position.
fn window_ready(m: &mut Module, plan: &Plan, buffer: &LineBuffer, (oys, oxs, ybase): (&Expr, &Expr, &Expr)) -> Expr {
    let w = coord_bits(plan);
    let off_max = plan.off_max.max(0) as i128;
    let ext = |m: &mut Module, name: &str, e: &Expr| m.wire(name, resize(e.clone(), w, false));
    let (oys_w, oxs_w) = (ext(m, "oys_w", oys), ext(m, "oxs_w", oxs));
    let rows_left = m.wire("rows_left", Expr::bin(BinOp::Sub, constant(w, plan.height as i128 - 1), oys_w));
    let clip_row = Expr::compare_signed(Comparison::Lt, rows_left.clone(), constant(w, off_max));
    let need_dy = m.wire("need_dy", Expr::mux(clip_row, rows_left, constant(w, off_max)));
    let wy = plan.row_counter_bits;
    let need_dy_y = m.wire("need_dy_y", resize(need_dy, wy, false));
    let need_y = m.wire("need_y", Expr::bin(BinOp::Add, ybase.clone(), need_dy_y));
    let right = m.wire("need_right", Expr::bin(BinOp::Add, oxs_w, constant(w, off_max)));
    let clip_col = Expr::compare_signed(Comparison::Gt, right.clone(), constant(w, plan.width as i128 - 1));
    let need_col = m.wire("need_col", Expr::mux(clip_col, constant(w, plan.width as i128 - 1), right));
    let ahead = m.wire("input_ahead", Expr::bin(BinOp::Sub, buffer.y_in.clone(), need_y));
    let rows_past = Expr::bin(
        BinOp::And,
        Expr::invert(ahead.bit(wy - 1)),
        Expr::compare(Comparison::Ne, ahead.clone(), Expr::zeros(wy)),
    );
    let col_in = ext(m, "col_in_w", &buffer.col_in);
    let same_row_past = Expr::bin(
        BinOp::And,
        Expr::compare(Comparison::Eq, ahead, Expr::zeros(wy)),
        Expr::compare(Comparison::Gt, col_in, need_col),
    );
    m.wire("window_ready", Expr::bin(BinOp::Or, rows_past, same_row_past))
}

/// The issue stage: a step goes when its window has arrived and, for the
/// first step of a pixel, the FIFO has a place for the pixel.
pub fn issue(m: &mut Module, plan: &Plan, buffer: &LineBuffer, fifo_depth: usize) -> Issue {
    let go = m.instance_wire("go", 1);
    let pos = position(m, plan, &go);
    let (oxs, oys, ybase) = anchors(m, plan, &pos);
    let zero = |e: &Expr| Expr::compare(Comparison::Eq, e.clone(), Expr::zeros(e.width()));
    let fold_start = m.wire("fold_start", zero(&pos.sf.value));
    let first_step = m.wire("first_step", Expr::bin(BinOp::And, fold_start.clone(), zero(&pos.nf.value)));
    let ready = window_ready(m, plan, buffer, (&oys, &oxs, &ybase));
    let top_row = window_top(m, plan, &oys, &ybase);
    let popped = m.instance_wire("pixel_popped", 1);
    let width = width_for(0, fifo_depth as i128);
    let started = m.instance_wire("pixel_started", 1);
    let reserved = crate::generator::build::feedback_reg(m, "reserved", width, Some(Const::zeros(width)), |_, q| {
        let plus = Expr::bin(BinOp::Add, q.clone(), resize(started.clone(), width, false));
        Expr::bin(BinOp::Sub, plus, resize(popped.clone(), width, false))
    });
    let room = Expr::compare(Comparison::Lt, reserved, constant(width, fifo_depth as i128));
    let may_start = Expr::bin(BinOp::Or, Expr::invert(first_step.clone()), room);
    m.drive(&go, Expr::bin(BinOp::And, ready, may_start));
    m.drive(&started, Expr::bin(BinOp::And, go.clone(), first_step.clone()));
    let last_pixel = m.wire("last_pixel", Expr::bin(BinOp::And, pos.ox.at_last.clone(), pos.oy.at_last.clone()));
    Issue {
        go,
        sf: pos.sf.value,
        nf: pos.nf.value,
        step: pos.step,
        fold_start,
        last_step: pos.sf.at_last,
        last_group: pos.nf.at_last,
        last_pixel,
        oys,
        oxs,
        ybase,
        top_row,
        popped,
    }
}

/// The global row of the anchor's window's top row: `ybase + max(off_min,
/// -oys)`, the top clipped to the frame's first row.
fn window_top(m: &mut Module, plan: &Plan, oys: &Expr, ybase: &Expr) -> Expr {
    let w = coord_bits(plan);
    let up = m.wire("rows_above", Expr::bin(BinOp::Sub, Expr::zeros(w), resize(oys.clone(), w, false)));
    let off_min = constant(w, plan.off_min as i128);
    let clip = Expr::compare_signed(Comparison::Gt, up.clone(), off_min.clone());
    let top_dy = m.wire("top_dy", Expr::mux(clip, up, off_min));
    let wy = plan.row_counter_bits;
    let top_dy_y = m.wire("top_dy_y", resize(top_dy, wy, true));
    m.wire("window_top_row", Expr::bin(BinOp::Add, ybase.clone(), top_dy_y))
}

/// One step's window, as the datapath receives it two cycles after issue.
pub struct Window {
    /// Per dilation group, per port (tap of the step): the word read (the
    /// pixel bits the group keeps, see `runs`) and whether its tap is
    /// inside the map.
    pub pixels: Vec<Vec<Expr>>,
    /// Per dilation group, the pixel bits its words keep (see [`copy_offset`]).
    pub runs: Vec<Vec<(usize, usize)>>,
    pub inside: Vec<Vec<Expr>>,
    /// The part of the tap's channels (simd <= cin), registered alongside.
    pub chunk: Expr,
    /// Control, aligned with the pixels.
    pub valid: Expr,
    pub fold_start: Expr,
    pub last_step: Expr,
    pub last_group: Expr,
    pub last_pixel: Expr,
    pub nf: Expr,
    /// The weights' address, aligned with the pixels: the ROMs register
    /// the word, which then arrives with the gathered window (stage 3).
    pub step: Expr,
    /// The line buffer's memories (one per read port): name and width.
    pub memories: Vec<(String, usize)>,
    /// The top row (global) of the oldest window still to be read: the
    /// input must not overwrite it (the guard of `s_axis_tready`).
    pub top_read: Expr,
}

/// Per port of a step: the tap's row and column within the kernel, and
/// (simd <= cin) the part of its channels; from counters when a step takes
/// one tap, from tables over the step otherwise.
fn step_taps(m: &mut Module, plan: &Plan, issue: &Issue) -> (Vec<(Expr, Expr)>, Expr) {
    let kb = bits_for(plan.kernel);
    let and = |a: &Expr, b: &Expr| Expr::bin(BinOp::And, a.clone(), b.clone());
    if plan.taps_per_step == 1 {
        let chunk = counter(m, "chunk", plan.chunks_per_tap, issue.go.clone());
        if plan.kernel == 1 {
            return (vec![(Expr::zeros(kb), Expr::zeros(kb))], chunk.value);
        }
        let tap_done = m.wire("tap_done", and(&issue.go, &chunk.at_last));
        let kx = counter(m, "kx", plan.kernel, tap_done.clone());
        let kernel_row_done = m.wire("kernel_row_done", and(&tap_done, &kx.at_last));
        let ky = counter(m, "ky", plan.kernel, kernel_row_done);
        let fit = |e: Expr| resize(e, kb, false);
        return (vec![(fit(ky.value), fit(kx.value))], chunk.value);
    }
    let table = |m: &mut Module, name: &str, values: Vec<i128>| {
        if plan.sf == 1 {
            constant(kb, values[0])
        } else {
            let sf = m.wire(&format!("{name}_step"), issue.sf.clone());
            m.wire(name, select_const(&sf, &values, kb))
        }
    };
    let ports = (0..plan.taps_per_step)
        .map(|j| {
            let taps: Vec<(usize, usize, usize)> = (0..plan.sf).map(|s| plan.step_tap(s, j)).collect();
            let ky = table(m, &format!("ky{j}"), taps.iter().map(|t| t.0 as i128).collect());
            let kx = table(m, &format!("kx{j}"), taps.iter().map(|t| t.1 as i128).collect());
            (ky, kx)
        })
        .collect();
    (ports, Expr::zeros(1))
}

/// Stage 1 registers: the step's control and anchor, one cycle after issue.
struct Stage1 {
    valid: Expr,
    top_row: Expr,
    oys: Expr,
    oxs: Expr,
    ybase: Expr,
    taps: Vec<(Expr, Expr)>,
    chunk: Expr,
}

fn stage1(m: &mut Module, plan: &Plan, issue: &Issue) -> Stage1 {
    let (taps, chunk) = step_taps(m, plan, issue);
    // Constants need no register (and a register of one would go unread).
    let mut r = |name: &str, e: &Expr| match e {
        Expr::Const(_) => e.clone(),
        _ => m.reg(&format!("{name}_s1"), e.clone(), None),
    };
    Stage1 {
        oys: r("oys", &issue.oys),
        oxs: r("oxs", &issue.oxs),
        // Only the row's slot in the buffer is read from here on.
        ybase: r("ybase", &issue.ybase.slice(0, plan.row_bits)),
        top_row: r("top_row", &issue.top_row),
        chunk: if plan.chunks_per_tap > 1 { r("chunk", &chunk) } else { Expr::zeros(1) },
        taps: taps
            .iter()
            .enumerate()
            .map(|(j, (ky, kx))| (r(&format!("ky{j}"), ky), r(&format!("kx{j}"), kx)))
            .collect(),
        valid: m.reg("valid_s1", issue.go.clone(), Some(Const::zeros(1))),
    }
}

/// A tap's offset from the anchor for each kernel index, as a table.
fn offsets(plan: &Plan, dilation: usize, index: &Expr, width: u32) -> Expr {
    let values: Vec<i128> = (0..plan.kernel).map(|t| plan.geometry.tap_offset(t, dilation) as i128).collect();
    select_const(index, &values, width)
}

/// Issues the reads of every port of every dilation group at stage 1;
/// the pixels arrive at stage 2 with their control.
pub fn read_window(m: &mut Module, plan: &Plan, buffer: &LineBuffer, issue: &Issue) -> Window {
    let s1 = stage1(m, plan, issue);
    let w = coord_bits(plan);
    let mut pixels = vec![];
    let mut inside = vec![];
    let mut memories = vec![];
    let mut runs = vec![];
    for (g, group) in plan.groups.iter().enumerate() {
        let (mut gp, mut gi, mut kept) = (vec![], vec![], vec![]);
        for (j, (ky, kx)) in s1.taps.iter().enumerate() {
            let name = |what: &str| format!("{what}_g{g}_p{j}");
            let dy = m.wire(&name("dy"), offsets(plan, group.dilation, ky, w));
            let dx = m.wire(&name("dx"), offsets(plan, group.dilation, kx, w));
            let row = m.wire(&name("row"), Expr::bin(BinOp::Add, resize(s1.oys.clone(), w, false), dy.clone()));
            let col = m.wire(&name("col"), Expr::bin(BinOp::Add, resize(s1.oxs.clone(), w, false), dx));
            let within = |e: &Expr, size: usize| {
                let low = Expr::compare_signed(Comparison::Ge, e.clone(), Expr::zeros(w));
                let high = Expr::compare_signed(Comparison::Lt, e.clone(), constant(w, size as i128));
                Expr::bin(BinOp::And, low, high)
            };
            let is_inside =
                m.wire(&name("inside"), Expr::bin(BinOp::And, within(&row, plan.height), within(&col, plan.width)));
            // The row's slot: the global row modulo the buffer's rows.
            let rb = plan.row_bits;
            let dy_low = if w >= rb { dy.slice(0, rb) } else { dy.extend(rb, true) };
            let slot = m.wire(&name("slot"), Expr::bin(BinOp::Add, s1.ybase.slice(0, rb), dy_low));
            let address = Expr::concat(vec![slot, col.slice(0, plan.col_bits)]);
            let (mem, runs) = buffer_copy(m, plan, buffer, (g, j));
            let word = m.read_port(mem, address, constant(1, 1));
            memories.push((m.mem(mem).name.clone(), m.mem(mem).width as usize));
            gp.push(word);
            kept.push(runs);
            gi.push(m.reg(&name("inside_s2"), is_inside, None));
        }
        pixels.push(gp);
        runs.push(kept.swap_remove(0));
        inside.push(gi);
    }
    let data = |m: &mut Module, name: &str, e: &Expr, n: u32| delay(m, name, e.clone(), n);
    Window {
        pixels,
        inside,
        chunk: if plan.chunks_per_tap > 1 { data(m, "chunk_s2", &s1.chunk, 1) } else { Expr::zeros(1) },
        valid: delay_flag(m, "valid_s2", s1.valid.clone(), 1),
        fold_start: data(m, "fold_start", &issue.fold_start, 2),
        last_step: data(m, "last_step", &issue.last_step, 2),
        last_group: data(m, "last_group", &issue.last_group, 2),
        last_pixel: data(m, "last_pixel", &issue.last_pixel, 2),
        nf: data(m, "nf", &issue.nf, 2),
        step: data(m, "step", &issue.step, 2),
        runs,
        memories,
        top_read: m.wire("top_read", Expr::mux(s1.valid.clone(), s1.top_row.clone(), issue.top_row.clone())),
    }
}
