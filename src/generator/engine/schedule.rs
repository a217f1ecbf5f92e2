//! The engine's control: the input side writing the line buffer, the
//! schedule issuing steps, and the window reads of each step.

use super::plan::{Plan, bits_for};
use crate::generator::build::StreamIo;
use crate::generator::build::{
    constant, counter, delay, delay_flag, feedback_reg_en, increment, mark_unused, resize, select_const,
};
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
    /// This cycle's input beat ends a row.
    pub row_done: Expr,
}

/// A signed width that holds every row and column arithmetic of the
/// window: map sides plus tap offsets either way.
fn coord_bits(plan: &Plan) -> u32 {
    let side = plan.height.max(plan.width) as i128;
    width_for(plan.off_min.min(0) as i128 - side, side + plan.off_max.max(0) as i128)
}

/// Writes every accepted pixel at (row mod 2^r, column).
pub fn line_buffer(m: &mut Module, plan: &Plan, io: &StreamIo) -> LineBuffer {
    let fire = m.wire("in_fire", Expr::bin(BinOp::And, io.in_valid.clone(), io.in_ready.clone()));
    let col = counter(m, "in_col", plan.width, fire.clone());
    let row_done = m.wire("in_row_done", Expr::bin(BinOp::And, fire.clone(), col.at_last.clone()));
    let wy = plan.row_counter_bits;
    let y_in = feedback_reg_en(m, "in_y", wy, row_done.clone(), Some(Const::zeros(wy)), |_, y| increment(y));
    let col_in = resize(col.value.clone(), plan.col_bits, false);
    let address = Expr::concat(vec![y_in.slice(0, plan.row_bits), col_in.clone()]);
    LineBuffer { address, data: io.in_data.clone(), fire, y_in, col_in, row_done }
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
    /// The last global row the input may write (see [`window_top_limit`]).
    top_limit: Expr,
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

/// Row arithmetic of the anchors, per output row `oy` of a frame, in
/// rows relative to the anchor row `oy * s`.
struct RowTables<'p> {
    plan: &'p Plan,
}

impl RowTables<'_> {
    /// The window's bottom row, clipped to the frame: `min(H-1-oys, off_max)`.
    fn need_dy(&self, oy: usize) -> i128 {
        let p = self.plan;
        ((p.height - 1 - oy * p.stride) as i128).min(p.off_max.max(0) as i128)
    }

    /// The window's top row, clipped to the frame: `max(off_min, -oys)`.
    fn top_dy(&self, oy: usize) -> i128 {
        (self.plan.off_min as i128).max(-((oy * self.plan.stride) as i128))
    }

    /// Rows from anchor `oy` to the next (the next frame's first after the last).
    fn jump(&self, oy: usize) -> i128 {
        let p = self.plan;
        if oy + 1 == p.out_height { (p.height - (p.out_height - 1) * p.stride) as i128 } else { p.stride as i128 }
    }

    /// The next anchor's `f`, from this anchor's global row: `jump + f(next)`.
    fn after(&self, f: impl Fn(usize) -> i128) -> Vec<i128> {
        (0..self.plan.out_height).map(|oy| self.jump(oy) + f((oy + 1) % self.plan.out_height)).collect()
    }
}

/// A global row derived from the anchor's: `ybase + f(oy)`, kept in a
/// register that loads `ybase + jump + f(next oy)` when the row advances,
/// from a table over `oy`, so that no clipping arithmetic lies on a path.
fn anchor_row(m: &mut Module, name: &str, pos: &Position, ybase: &Expr, (first, next): (i128, Vec<i128>)) -> Expr {
    let wy = ybase.width();
    let table = select_const(&pos.oy.value, &next, wy);
    let ybase = ybase.clone();
    let reset = Const::from_u128(wy, first as u128);
    feedback_reg_en(m, name, wy, pos.row_done.clone(), Some(reset), move |_, _| Expr::bin(BinOp::Add, ybase, table))
}

/// Whether the window of the anchor whose bottom row is `need_y` and
/// right column `need_col` has arrived: those rows are behind the input's,
/// or it is on that row past that column.
fn arrived(m: &mut Module, plan: &Plan, buffer: &LineBuffer, name: &str, (need_y, cols): (Expr, Option<Expr>)) -> Expr {
    let wy = plan.row_counter_bits;
    let ahead = m.wire(&format!("{name}_ahead"), Expr::bin(BinOp::Sub, buffer.y_in.clone(), need_y.clone()));
    mark_unused(m, &format!("{name}_ahead"), vec![ahead.slice(0, wy - 1)]);
    // Equal rows compared directly, beside the subtraction, not after it.
    let on_row = m.wire(&format!("{name}_on_row"), Expr::compare(Comparison::Eq, buffer.y_in.clone(), need_y));
    let rows_past = Expr::bin(BinOp::And, Expr::invert(ahead.bit(wy - 1)), Expr::invert(on_row.clone()));
    let Some(need_col) = cols else { return rows_past };
    let need_col = m.wire(&format!("{name}_col"), need_col);
    let same_row_past = Expr::bin(BinOp::And, on_row, Expr::compare(Comparison::Gt, buffer.col_in.clone(), need_col));
    Expr::bin(BinOp::Or, rows_past, same_row_past)
}

/// Whether every input pixel the current anchor's window reads has
/// arrived, as a register: each cycle it is worked out for the anchor of
/// the next cycle (this one's, or the next pixel's when this cycle ends a
/// pixel) from registers only, both cases side by side, so that no
/// arithmetic follows the issue decision. The input it looks at is a cycle
/// old, which only delays a start by a cycle: the input never goes back.
fn window_ready(m: &mut Module, plan: &Plan, buffer: &LineBuffer, pos: &Position, ybase: &Expr) -> Expr {
    let rows = RowTables { plan };
    let need_y = anchor_row(m, "need_y", pos, ybase, (rows.need_dy(0), rows.after(|oy| rows.need_dy(oy))));
    let next_row = |oy: usize| rows.jump(oy) + rows.need_dy((oy + 1) % plan.out_height);
    let need_y_next_row = anchor_row(m, "need_y_next_row", pos, ybase, (next_row(0), rows.after(next_row)));
    let off_max = plan.off_max.max(0) as usize;
    let col = |ox: usize| (ox * plan.stride + off_max).min(plan.width - 1) as i128;
    let wo = plan.out_width;
    // The right column of the window `ahead` pixels on, as a register that
    // loads the next pixel's value from a table over `ox` when a pixel ends.
    // Windows that all reach the last column wait for the next row (no
    // column is past the last): no column is compared.
    let column = |m: &mut Module, name: &str, ahead: usize| {
        if (0..wo).all(|ox| col(ox) == plan.width as i128 - 1) {
            return None;
        }
        let next: Vec<i128> = (0..wo).map(|ox| col((ox + ahead + 1) % wo)).collect();
        let table = select_const(&pos.ox.value, &next, plan.col_bits);
        let reset = Some(Const::from_u128(plan.col_bits, col(ahead % wo) as u128));
        Some(m.reg_en(name, table, pos.pixel_done.clone(), reset))
    };
    let (here, next) = (column(m, "need_col", 0), column(m, "need_col_next", 1));
    let stay = arrived(m, plan, buffer, "stay", (need_y.clone(), here));
    // The next pixel's window: on this row, or (after its last pixel) the next.
    let same_row = arrived(m, plan, buffer, "advance", (need_y, next.clone()));
    let next_row = arrived(m, plan, buffer, "advance_row", (need_y_next_row, next));
    let advance = Expr::mux(pos.ox.at_last.clone(), next_row, same_row);
    let next = Expr::mux(pos.pixel_done.clone(), advance, stay);
    m.reg("window_ready", next, Some(Const::zeros(1)))
}

/// The issue stage: a step goes when its window has arrived and, for the
/// first step of a pixel's last fold, the FIFO has a place for the pixel.
/// (The folds before the last leave their results in the output stage's
/// registers, never in the FIFO, so only the last needs a place.)
pub fn issue(m: &mut Module, plan: &Plan, buffer: &LineBuffer, fifo_depth: usize) -> Issue {
    let go = m.instance_wire("go", 1);
    let pos = position(m, plan, &go);
    let (oxs, oys, ybase) = anchors(m, plan, &pos);
    // Registers, not comparisons of the counters: the issue decision
    // follows from them in two levels of logic. A step that ends a fold
    // (a pixel) makes the next step the first of a fold (a pixel).
    let one = Some(Const::from_u128(1, 1));
    let fold_start = m.reg_en("fold_start", pos.sf.at_last.clone(), go.clone(), one.clone());
    let next_fold_last = if plan.nf == 1 {
        constant(1, 1)
    } else {
        Expr::compare(Comparison::Eq, pos.nf.value.clone(), constant(pos.nf.value.width(), plan.nf as i128 - 2))
    };
    let last_fold_next = Expr::bin(BinOp::And, pos.sf.at_last.clone(), next_fold_last);
    let last_fold_first = Some(Const::from_u128(1, u128::from(plan.nf == 1)));
    let last_fold_start = m.reg_en("last_fold_start", last_fold_next, go.clone(), last_fold_first);
    let ready = window_ready(m, plan, buffer, &pos, &ybase);
    let top_limit = window_top_limit(m, plan, &pos, &ybase);
    let popped = m.instance_wire("pixel_popped", 1);
    let width = width_for(0, fifo_depth as i128);
    let started = m.instance_wire("pixel_started", 1);
    let reserved = crate::generator::build::feedback_reg(m, "reserved", width, Some(Const::zeros(width)), |_, q| {
        let plus = Expr::bin(BinOp::Add, q.clone(), resize(started.clone(), width, false));
        Expr::bin(BinOp::Sub, plus, resize(popped.clone(), width, false))
    });
    let room = Expr::compare(Comparison::Lt, reserved, constant(width, fifo_depth as i128));
    let may_start = Expr::bin(BinOp::Or, Expr::invert(last_fold_start.clone()), room);
    m.drive(&go, Expr::bin(BinOp::And, ready, may_start));
    m.drive(&started, Expr::bin(BinOp::And, go.clone(), last_fold_start));
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
        top_limit,
        popped,
    }
}

/// The last global row the input may write while the anchor's window is
/// being read: its top row (`ybase + max(off_min, -oys)`, clipped to the
/// frame's first row) plus the rows the buffer holds beyond it.
fn window_top_limit(m: &mut Module, plan: &Plan, pos: &Position, ybase: &Expr) -> Expr {
    let rows = RowTables { plan };
    let lead = plan.input_lead() as i128;
    anchor_row(m, "top_limit", pos, ybase, (rows.top_dy(0) + lead, rows.after(|oy| rows.top_dy(oy) + lead)))
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
    /// The last global row the input may write: the oldest window still
    /// to be read must not be overwritten (the guard of `s_axis_tready`).
    pub input_limit: Expr,
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
    top_limit: Expr,
    oys: Expr,
    oxs: Expr,
    ybase: Expr,
    /// Per dilation group, per port: the tap's row and column offsets.
    offsets: Vec<Vec<(Expr, Expr)>>,
    chunk: Expr,
}

fn stage1(m: &mut Module, plan: &Plan, issue: &Issue) -> Stage1 {
    let (taps, chunk) = step_taps(m, plan, issue);
    let w = coord_bits(plan);
    // Constants need no register (and a register of one would go unread).
    let r = |m: &mut Module, name: &str, e: &Expr| match e {
        Expr::Const(_) => e.clone(),
        _ => m.reg(&format!("{name}_s1"), e.clone(), None),
    };
    // The taps' offsets are looked up before the register, so that stage 1
    // only adds them to the anchor.
    let offsets = plan
        .groups
        .iter()
        .enumerate()
        .map(|(g, group)| {
            taps.iter()
                .enumerate()
                .map(|(j, (ky, kx))| {
                    let dy = offsets(plan, group.dilation, ky, w);
                    let dx = offsets(plan, group.dilation, kx, w);
                    (r(m, &format!("dy_g{g}_p{j}"), &dy), r(m, &format!("dx_g{g}_p{j}"), &dx))
                })
                .collect()
        })
        .collect();
    Stage1 {
        oys: r(m, "oys", &issue.oys),
        oxs: r(m, "oxs", &issue.oxs),
        // Only the row's slot in the buffer is read from here on.
        ybase: r(m, "ybase", &issue.ybase.slice(0, plan.row_bits)),
        top_limit: r(m, "top_limit", &issue.top_limit),
        chunk: if plan.chunks_per_tap > 1 { r(m, "chunk", &chunk) } else { Expr::zeros(1) },
        offsets,
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
    for g in 0..plan.groups.len() {
        let (mut gp, mut gi, mut kept) = (vec![], vec![], vec![]);
        for (j, (dy, dx)) in s1.offsets[g].iter().enumerate() {
            let name = |what: &str| format!("{what}_g{g}_p{j}");
            let dy = m.wire(&name("dy"), dy.clone());
            let row = m.wire(&name("row"), Expr::bin(BinOp::Add, resize(s1.oys.clone(), w, false), dy.clone()));
            let col = m.wire(&name("col"), Expr::bin(BinOp::Add, resize(s1.oxs.clone(), w, false), dx.clone()));
            // Whether the tap is inside the map: from the row and column
            // registered beside the read, in stage 2.
            // Not negative is the sign bit clear (Yosys 0.23 builds a
            // subtraction for `>= 0`); below the size, compared unsigned.
            let within = |e: &Expr, size: usize| {
                let low = Expr::invert(e.bit(w - 1));
                let high = Expr::compare(Comparison::Lt, e.clone(), constant(w, size as i128));
                Expr::bin(BinOp::And, low, high)
            };
            let (row_s2, col_s2) =
                (m.reg(&name("row_s2"), row.clone(), None), m.reg(&name("col_s2"), col.clone(), None));
            let is_inside = m.wire(
                &name("inside"),
                Expr::bin(BinOp::And, within(&row_s2, plan.height), within(&col_s2, plan.width)),
            );
            // The row's slot: the global row modulo the buffer's rows.
            let rb = plan.row_bits;
            let dy_low = if w >= rb { dy.slice(0, rb) } else { dy.clone().extend(rb, true) };
            let slot = m.wire(&name("slot"), Expr::bin(BinOp::Add, s1.ybase.slice(0, rb), dy_low));
            let address = Expr::concat(vec![slot, col.slice(0, plan.col_bits)]);
            let (mem, runs) = buffer_copy(m, plan, buffer, (g, j));
            let word = m.read_port(mem, address, constant(1, 1));
            let word = delay(m, &name("pixel_out"), word, plan.read_pipeline);
            memories.push((m.mem(mem).name.clone(), m.mem(mem).width as usize));
            gp.push(word);
            kept.push(runs);
            gi.push(delay(m, &name("inside_out"), is_inside, plan.read_registers() - 1));
        }
        pixels.push(gp);
        runs.push(kept.swap_remove(0));
        inside.push(gi);
    }
    // The window arrives `read` cycles after stage 1; the weights' address
    // goes with it, their ROM reading as long as the line buffer.
    let read = plan.read_registers();
    let data = |m: &mut Module, name: &str, e: &Expr, n: u32| delay(m, name, e.clone(), n);
    Window {
        pixels,
        inside,
        chunk: if plan.chunks_per_tap > 1 { data(m, "chunk_s2", &s1.chunk, read) } else { Expr::zeros(1) },
        valid: delay_flag(m, "valid_s2", s1.valid.clone(), read),
        fold_start: data(m, "fold_start", &issue.fold_start, 1 + read),
        last_step: data(m, "last_step", &issue.last_step, 1 + read),
        last_group: data(m, "last_group", &issue.last_group, 1 + read),
        last_pixel: data(m, "last_pixel", &issue.last_pixel, 1 + read),
        nf: data(m, "nf", &issue.nf, 1 + read),
        step: data(m, "step", &issue.step, 2),
        runs,
        memories,
        input_limit: m.wire("input_limit", Expr::mux(s1.valid.clone(), s1.top_limit.clone(), issue.top_limit.clone())),
    }
}
