//! The stream stages between a network's layers (SPEC 7), each a top
//! module with the stream interface of SPEC 6.1:
//!
//! - **Max pool**, k x k with stride k: one input pixel a cycle, never
//!   stalled while the output keeps up. The running maximum of the current
//!   window's row segment is a register; the partial maxima of the output
//!   row being built are a shift register of Wo entries (the windows of a
//!   row are visited in order, so the oldest entry is always the one the
//!   next window continues).
//! - **Argmax**, per pixel: a scan over the channels, one a cycle, the
//!   pixel held on the input until it is done (on a tie the lower index
//!   wins).
//!
//! Every stage ends in the same queue ([`queue`]), two places: its head
//! drives `m_axis_*` and its `s_axis_tready` is a register.

use crate::generator::build::{
    Queue, StreamIo, and, constant, counter, mark_unused, or, queue, resize, select, stream_ports,
};
use crate::rtl::{Comparison, Const, Design, Expr, Module};
use crate::spec::signature::{Interface, Role, Signature};
use crate::spec::stage::{ArgmaxParams, PoolParams};

/// Places of the output queue of the pool and the argmax: the head and
/// one slot, which keeps a beat a cycle moving with a registered ready.
const OUTPUT_QUEUE_DEPTH: usize = 2;

fn one() -> Expr {
    constant(1, 1)
}

/// Drives the output ports from the queue's head (`tlast` its top bit)
/// and the input's ready from the queue's.
fn drive_outputs(m: &mut Module, io: &StreamIo, q: &Queue) {
    m.drive(&io.in_ready, q.ready.clone());
    drive_data(m, io, q);
}

/// Drives the output ports from the queue's head (`tlast` its top bit).
fn drive_data(m: &mut Module, io: &StreamIo, q: &Queue) {
    m.drive(&io.out_valid, q.valid.clone());
    let bits = io.out_data.width();
    m.drive(&io.out_data, resize(q.data.clone(), bits, false));
    m.drive(&io.out_last, q.data.bit(bits));
}

fn finish(m: Module, roles: &[Role], ii: usize, cycles_per_frame: usize) -> (Design, Signature) {
    let interface = Interface::Stream { ii: ii as u64, cycles_per_frame: cycles_per_frame as u64 };
    let signature = Signature::of_module(&m, roles, interface);
    let mut design = Design { top: m.name.clone(), ..Design::default() };
    design.add(m);
    (design, signature)
}

/// Where the pool is along one axis (columns or rows): the position in
/// the window (first, last), whether this is the axis' last window, and
/// whether it is inside the pooled part at all.
struct Axis {
    first: Expr,
    last: Expr,
    last_window: Expr,
    kept: Expr,
    /// The step at the axis' last position (a row's or frame's end).
    end: Expr,
}

/// An axis of `length` positions in windows of `size`, moved on by `step`.
/// Positions past the last whole window are counted but kept by none.
fn axis(m: &mut Module, name: &str, length: usize, size: usize, step: Expr) -> Axis {
    let windows = length / size;
    let exact = windows * size == length;
    let (kept, kept_next) = if exact {
        (one(), None)
    } else {
        let next = m.instance_wire(&format!("{name}_kept_next"), 1);
        (m.reg(&format!("{name}_kept"), next.clone(), Some(Const::from_u128(1, 1))), Some(next))
    };
    let advance = m.wire(&format!("{name}_advance"), and(step.clone(), kept.clone()));
    let inner = counter(m, &format!("{name}_in_window"), size, advance.clone());
    let next_window = and(advance, inner.at_last.clone());
    let outer = counter(m, &format!("{name}_window"), windows, next_window.clone());
    let leaving = and(next_window, outer.at_last.clone());
    let end = match kept_next {
        None => m.wire(&format!("{name}_end"), leaving),
        Some(next) => {
            let all = counter(m, &format!("{name}_position"), length, step.clone());
            let end = m.wire(&format!("{name}_end"), and(step, all.at_last));
            // Kept again from the next line (or frame), not after the last window.
            let stays = and(kept.clone(), Expr::invert(leaving));
            m.drive(&next, or(end.clone(), stays));
            end
        }
    };
    let first = if size == 1 {
        one()
    } else {
        let zero = Expr::zeros(inner.value.width());
        m.wire(&format!("{name}_first"), Expr::compare(Comparison::Eq, inner.value, zero))
    };
    Axis { first, last: inner.at_last, last_window: outer.at_last, kept, end }
}

/// Per channel, the larger of two pixels (with one-bit elements, the OR).
fn pixel_max(m: &mut Module, name: &str, a: Expr, b: Expr, element_bits: u32) -> Expr {
    if element_bits == 1 {
        return m.wire(name, or(a, b));
    }
    let (a, b) = (m.wire(&format!("{name}_a"), a), m.wire(&format!("{name}_b"), b));
    let channels = a.width() / element_bits;
    let parts = (0..channels)
        .rev()
        .map(|c| {
            let (x, y) = (a.slice(c * element_bits, element_bits), b.slice(c * element_bits, element_bits));
            Expr::mux(Expr::compare(Comparison::Ge, x.clone(), y.clone()), x, y)
        })
        .collect();
    m.wire(name, Expr::concat(parts))
}

/// The new maximum of the window's row segment with this pixel: the
/// pixel alone at the window's first pixel; with the row above's partial
/// maximum at a row's first column; with the running one after it. At a
/// window's last column it enters the row's shift register.
fn window_max(m: &mut Module, p: &PoolParams, (cols, rows): (&Axis, &Axis), pixel: &Expr, update: &Expr) -> Expr {
    if p.size == 1 {
        mark_unused(m, "pool_update", vec![update.clone()]);
        return pixel.clone();
    }
    let bits = pixel.width();
    let value = m.instance_wire("window_max", bits);
    let shift = m.wire("row_shift", and(update.clone(), cols.last.clone()));
    // Entry 0 is the oldest: the window this row's next window continues.
    let above = (0..p.out_width())
        .rev()
        .fold(value.clone(), |newer, i| m.reg_en(&format!("row_partial{i}"), newer, shift.clone(), None));
    let running = m.reg_en("running_max", value.clone(), update.clone(), None);
    let with_above = pixel_max(m, "with_above", above, pixel.clone(), p.element_bits);
    let with_running = pixel_max(m, "with_running", running, pixel.clone(), p.element_bits);
    let start = Expr::mux(rows.first.clone(), pixel.clone(), with_above);
    m.drive(&value, Expr::mux(cols.first.clone(), start, with_running));
    value
}

/// The k x k max pool with stride k of `p` (validated): one input pixel a
/// cycle with the output ready, Ho*Wo output pixels a frame, the last
/// with `m_axis_tlast`. `ii` in the signature is k, the cycles between a
/// row's output pixels.
pub fn generate_maxpool(p: &PoolParams) -> (Design, Signature) {
    assert!(p.size >= 1 && p.out_height() >= 1 && p.out_width() >= 1, "{p:?}: no whole window");
    assert!(p.channels >= 1 && p.element_bits >= 1, "{p:?}: empty pixels");
    let bits = p.in_pixel_bits() as u32;
    let mut m = Module::new(&p.top);
    let (io, roles) = stream_ports(&mut m, bits, bits);
    let fire = m.wire("in_fire", and(io.in_valid.clone(), io.in_ready.clone()));
    let cols = axis(&mut m, "col", p.width, p.size, fire.clone());
    let rows = axis(&mut m, "row", p.height, p.size, cols.end.clone());
    let inside = m.wire("pixel_kept", and(cols.kept.clone(), rows.kept.clone()));
    let update = m.wire("pool_update", and(fire, inside.clone()));
    let value = window_max(&mut m, p, (&cols, &rows), &io.in_data, &update);
    let done = m.wire("window_done", and(inside, and(cols.last.clone(), rows.last.clone())));
    let last = and(done.clone(), and(cols.last_window.clone(), rows.last_window.clone()));
    let word = Expr::concat(vec![last, value]);
    let q = queue(&mut m, OUTPUT_QUEUE_DEPTH, word, and(io.in_valid.clone(), done), &io.out_ready);
    drive_outputs(&mut m, &io, &q);
    mark_unused(&mut m, "frame_end", vec![rows.end]);
    finish(m, &roles, p.size, p.cycles_per_frame())
}

/// The per-pixel argmax of `p` (validated): a scan, one channel every two
/// cycles. The beat waits on `s_axis` (SPEC 6.1: its source holds it
/// until it moves) while a counter walks its channels: at step 2c channel
/// c is registered (the upstream's `tdata` goes through one multiplexer
/// and no further), at step 2c + 1 its comparison with the largest so far
/// (a later channel wins only when strictly greater, so the lowest index
/// wins ties), and at step 2c + 2 the largest takes it if it won. After
/// the last channel the beat is taken and its index goes into the queue,
/// `m_axis_tlast` on every `pixels`-th. No path holds more than the
/// comparator's carry chain: with the comparison and the update in one
/// cycle, the argmax was the critical path of the digits networks on
/// iCE40 (38.9 MHz). A network's argmax sees one pixel a frame, thousands
/// of cycles apart: a comparator and a multiplexer cost far less than a
/// tournament of channels - 1 comparators (on the digits Group-Net's 10
/// sums of 18 bits, 443 LUT4, 162 carries and 213 flip-flops on iCE40).
pub fn generate_argmax(p: &ArgmaxParams) -> (Design, Signature) {
    assert!(p.pixels >= 1 && p.channels >= 1 && p.element_bits >= 1, "{p:?}: empty frames or pixels");
    let mut m = Module::new(&p.top);
    let (io, roles) = stream_ports(&mut m, p.in_pixel_bits() as u32, p.index_bits());
    let (bits, ib) = (p.element_bits, p.index_bits());
    let queue_ready = m.instance_wire("queue_ready_now", 1);
    let scan_done = m.instance_wire("scan_done", 1);
    let step = m.wire("scan_step", and(io.in_valid.clone(), or(Expr::invert(scan_done.clone()), queue_ready.clone())));
    // Steps 0..=2 * channels: even steps register channel step / 2 and
    // (from step 2) let the largest take the channel before if it won; odd
    // steps register the comparison. At step 0 the update is the previous
    // pixel's last channel again, undone at step 2 (channel 0 always wins).
    let scan = counter(&mut m, "scan", 2 * p.channels + 1, step.clone());
    m.drive(&scan_done, scan.at_last.clone());
    let loading = m.wire("scan_loading", and(step.clone(), Expr::invert(scan.value.bit(0))));
    let comparing = m.wire("scan_comparing", and(step.clone(), scan.value.bit(0)));
    let channel = scan.value.slice(1, scan.value.width() - 1);
    let elements: Vec<Expr> = (0..p.channels).map(|c| io.in_data.slice(c as u32 * bits, bits)).collect();
    let candidate = m.reg_en("candidate", select(&channel, &elements), loading.clone(), None);
    let candidate_index = m.reg_en("candidate_index", resize(channel, ib, false), loading.clone(), None);
    let best = m.instance_wire("best_value", bits);
    let best_index = m.instance_wire("best_index", ib);
    let greater = if p.signed {
        Expr::compare_signed(Comparison::Gt, candidate.clone(), best.clone())
    } else {
        Expr::compare(Comparison::Gt, candidate.clone(), best.clone())
    };
    let first = Expr::compare(Comparison::Eq, candidate_index.clone(), Expr::zeros(ib));
    let take = m.reg_en("candidate_wins", or(first, greater), comparing, None);
    let value = Expr::mux(take.clone(), candidate, best.clone());
    let winner = m.wire("winner", Expr::mux(take, candidate_index, best_index.clone()));
    let kept_value = m.reg_en("best_value_q", value, loading.clone(), None);
    let kept_index = m.reg_en("best_index_q", winner.clone(), loading, None);
    m.drive(&best, kept_value);
    m.drive(&best_index, kept_index);
    // One pixel a frame: every beat is the last.
    let last = if p.pixels == 1 {
        one()
    } else {
        let accept = m.wire("in_fire", and(io.in_valid.clone(), and(scan.at_last.clone(), queue_ready.clone())));
        counter(&mut m, "frame_pixel", p.pixels, accept).at_last
    };
    let offered = and(io.in_valid.clone(), scan.at_last.clone());
    let q = queue(&mut m, OUTPUT_QUEUE_DEPTH, Expr::concat(vec![last, winner]), offered, &io.out_ready);
    m.drive(&queue_ready, q.ready.clone());
    m.drive(&io.in_ready, and(q.ready.clone(), scan.at_last));
    drive_data(&mut m, &io, &q);
    finish(m, &roles, p.cycles_per_pixel(), p.cycles_per_frame())
}
