//! Small pieces every sequential generator builds from: registers that
//! feed back on themselves, delay lines, counters, multiplexer trees and
//! the stream queue.

use crate::rtl::{BinOp, Comparison, Const, Dir, Expr, Module};
use crate::spec::signature::{Role, STREAM_ROLES};
use crate::util::fixed::width_for;

/// A register whose next value depends on itself. `Module::reg` takes the
/// next value when the register is made, so it goes through a wire that is
/// declared first and driven once the register exists.
pub fn feedback_reg(
    m: &mut Module,
    name: &str,
    width: u32,
    reset: Option<Const>,
    next: impl FnOnce(&mut Module, &Expr) -> Expr,
) -> Expr {
    let next_wire = m.instance_wire(&format!("{name}_next"), width);
    let q = m.reg(name, next_wire.clone(), reset);
    let value = next(m, &q);
    m.drive(&next_wire, value);
    q
}

/// `value` delayed by `cycles` registers (no reset: data, not control).
/// A constant stays a constant.
pub fn delay(m: &mut Module, name: &str, value: Expr, cycles: u32) -> Expr {
    if matches!(value, Expr::Const(_)) {
        return value;
    }
    (0..cycles).fold(value, |v, i| m.reg(&format!("{name}_d{}", i + 1), v, None))
}

/// A one-bit control signal delayed by `cycles` registers cleared by reset.
pub fn delay_flag(m: &mut Module, name: &str, flag: Expr, cycles: u32) -> Expr {
    if matches!(flag, Expr::Const(_)) {
        return flag;
    }
    (0..cycles).fold(flag, |v, i| m.reg(&format!("{name}_d{}", i + 1), v, Some(Const::zeros(1))))
}

/// Gathers bits nothing reads into one `unused_*` wire (Verilator's
/// convention for deliberately unread bits), so that lint stays clean
/// without waivers.
pub fn mark_unused(m: &mut Module, name: &str, parts: Vec<Expr>) {
    if !parts.is_empty() {
        let mut all = vec![Expr::zeros(1)];
        all.extend(parts);
        m.wire(&format!("unused_{name}"), Expr::reduce_and(Expr::concat(all)));
    }
}

/// [`feedback_reg`] that loads only when `enable` is high.
pub fn feedback_reg_en(
    m: &mut Module,
    name: &str,
    width: u32,
    enable: Expr,
    reset: Option<Const>,
    next: impl FnOnce(&mut Module, &Expr) -> Expr,
) -> Expr {
    let next_wire = m.instance_wire(&format!("{name}_next"), width);
    let q = m.reg_en(name, next_wire.clone(), enable, reset);
    let value = next(m, &q);
    m.drive(&next_wire, value);
    q
}

/// A two's-complement constant of `width` bits.
pub fn constant(width: u32, value: i128) -> Expr {
    Expr::constant(Const::from_u128(width, value as u128))
}

/// `e + 1`, at its own width (wrapping).
pub fn increment(e: &Expr) -> Expr {
    Expr::bin(BinOp::Add, e.clone(), constant(e.width(), 1))
}

/// A counter over `0..modulus`, advancing on cycles where `enable` is
/// high, cleared by reset: its value, and whether it is at its last value.
pub struct Counter {
    pub value: Expr,
    pub at_last: Expr,
}

///
/// `at_last` is a register of its own, set on the advance from the value
/// before the last: nested counters chain their `at_last`s into each
/// other's enables, and registered flags keep that chain one AND deep
/// instead of a comparison per counter.
pub fn counter(m: &mut Module, name: &str, modulus: usize, enable: Expr) -> Counter {
    assert!(modulus > 0, "counter {name} over nothing");
    if modulus == 1 {
        return Counter { value: Expr::zeros(1), at_last: constant(1, 1) };
    }
    let width = crate::util::fixed::width_for(0, modulus as i128 - 1);
    let at_last_next = m.instance_wire(&format!("{name}_at_last_next"), 1);
    let at_last = m.reg_en(&format!("{name}_at_last"), at_last_next.clone(), enable.clone(), Some(Const::zeros(1)));
    let wrap = at_last.clone();
    let value = feedback_reg_en(m, name, width, enable, Some(Const::zeros(width)), move |_, q| {
        Expr::mux(wrap, Expr::zeros(width), increment(q))
    });
    // At the last value the value is not the one before it, so the flag clears on the wrap.
    let before_last = constant(width, modulus as i128 - 2);
    m.drive(&at_last_next, Expr::compare(Comparison::Eq, value.clone(), before_last));
    Counter { value, at_last }
}

/// `values[index]` as a tree of multiplexers over constants of `width`
/// bits (an index past the list reads its last value).
pub fn select_const(index: &Expr, values: &[i128], width: u32) -> Expr {
    if let Expr::Const(c) = index {
        let at = (c.words[0] as usize).min(values.len() - 1);
        return constant(width, values[at]);
    }
    fn level(index: &Expr, values: &[i128], width: u32, bit: u32) -> Expr {
        if values.len() == 1 || bit == 0 {
            return constant(width, values[0]);
        }
        let half = 1usize << (bit - 1);
        if values.len() <= half {
            return level(index, values, width, bit - 1);
        }
        let low = level(index, &values[..half], width, bit - 1);
        let high = level(index, &values[half..], width, bit - 1);
        Expr::mux(index.bit(bit - 1), high, low)
    }
    level(index, values, width, index.width())
}

/// `e` at `width` bits: extended (by its sign if `signed`) or cut to its
/// low bits (the caller knows the value fits).
pub fn resize(e: Expr, width: u32, signed: bool) -> Expr {
    match e.width() {
        w if w == width => e,
        w if w < width => e.extend(width, signed),
        _ => e.slice(0, width),
    }
}

fn is_one(e: &Expr) -> bool {
    matches!(e, Expr::Const(c) if c.width == 1 && c.bit(0))
}

/// `a & b`, with a constant 1 folded away.
pub fn and(a: Expr, b: Expr) -> Expr {
    if is_one(&a) {
        b
    } else if is_one(&b) {
        a
    } else {
        Expr::bin(BinOp::And, a, b)
    }
}

pub fn or(a: Expr, b: Expr) -> Expr {
    Expr::bin(BinOp::Or, a, b)
}

/// `values[index]` as a tree of multiplexers (an index past the list
/// reads its last value).
pub fn select(index: &Expr, values: &[Expr]) -> Expr {
    fn level(index: &Expr, values: &[Expr], bit: u32) -> Expr {
        if values.len() == 1 || bit == 0 {
            return values[0].clone();
        }
        let half = 1usize << (bit - 1);
        if values.len() <= half {
            return level(index, values, bit - 1);
        }
        let (low, high) = (level(index, &values[..half], bit - 1), level(index, &values[half..], bit - 1));
        Expr::mux(index.bit(bit - 1), high, low)
    }
    if matches!(index, Expr::Const(_)) {
        assert_eq!(values.len(), 1, "a constant index selects from one value");
        return values[0].clone();
    }
    level(index, values, index.width())
}

/// The queue's ends: the registered ready of its input, the beat it
/// takes this cycle, and the registered head that drives its output.
pub struct Queue {
    pub ready: Expr,
    pub valid: Expr,
    pub data: Expr,
}

/// A queue of `depth` places: a head register that drives the output's
/// valid and data, behind it `depth - 1` slots. A beat arriving when the
/// head is free and no slot is taken goes straight to the head, so a
/// queue of two places passes a beat every cycle. It takes `data` on
/// cycles where `valid` and its ready are high and offers its head until
/// `out_ready` takes it. Its ready is a register: this cycle's answer to
/// "is a place free", loaded with the next cycle's. A queue of one place
/// (the head alone) takes a beat at most every other cycle: enough for a
/// source that waits on its own account, like an engine's schedule.
pub fn queue(m: &mut Module, depth: usize, data: Expr, valid: Expr, out_ready: &Expr) -> Queue {
    assert!(depth >= 1, "a queue of {depth} places");
    if depth == 1 {
        return head_only(m, data, valid, out_ready);
    }
    let slots = depth - 1;
    let cw = width_for(0, slots as i128);
    let kept_next = m.instance_wire("queue_kept_next", cw);
    let kept = m.reg("queue_kept", kept_next.clone(), Some(Const::zeros(cw)));
    let ready_next = m.instance_wire("queue_ready_next", 1);
    let ready = m.reg("queue_ready", ready_next.clone(), Some(Const::from_u128(1, 1)));
    let head_free = m.instance_wire("queue_head_free", 1);
    let push = m.wire("queue_push", and(valid, ready.clone()));
    let nonempty = m.wire("queue_nonempty", Expr::compare(Comparison::Ne, kept.clone(), Expr::zeros(cw)));
    let from_slots = m.wire("queue_from_slots", and(head_free.clone(), nonempty.clone()));
    let to_slots = and(push.clone(), or(Expr::invert(head_free.clone()), nonempty.clone()));
    let to_slots = m.wire("queue_to_slots", to_slots);
    let wptr = counter(m, "queue_wptr", slots, to_slots.clone()).value;
    let rptr = counter(m, "queue_rptr", slots, from_slots.clone()).value;
    let cells: Vec<Expr> = (0..slots)
        .map(|i| {
            let here = if slots == 1 {
                to_slots.clone()
            } else {
                and(to_slots.clone(), Expr::compare(Comparison::Eq, wptr.clone(), constant(wptr.width(), i as i128)))
            };
            m.reg_en(&format!("queue_slot{i}"), data.clone(), here, None)
        })
        .collect();
    let oldest = select(&rptr, &cells);
    let arriving = m.wire("queue_arriving", or(nonempty.clone(), push.clone()));
    let (head_valid, head) = head_register(m, &head_free, arriving, Expr::mux(nonempty, oldest, data), out_ready);
    let grown = Expr::bin(BinOp::Add, kept, resize(to_slots, cw, false));
    m.drive(&kept_next, Expr::bin(BinOp::Sub, grown, resize(from_slots, cw, false)));
    m.drive(&ready_next, Expr::compare(Comparison::Ne, kept_next, constant(cw, slots as i128)));
    Queue { ready, valid: head_valid, data: head }
}

/// The queue of one place: its ready says the head will be free.
fn head_only(m: &mut Module, data: Expr, valid: Expr, out_ready: &Expr) -> Queue {
    let ready_next = m.instance_wire("queue_ready_next", 1);
    let ready = m.reg("queue_ready", ready_next.clone(), Some(Const::from_u128(1, 1)));
    let push = m.wire("queue_push", and(valid, ready.clone()));
    let head_free = m.instance_wire("queue_head_free", 1);
    let (head_valid, head) = head_register(m, &head_free, push.clone(), data, out_ready);
    m.drive(&ready_next, Expr::invert(Expr::mux(head_free, push, head_valid.clone())));
    Queue { ready, valid: head_valid, data: head }
}

/// The queue's head: it takes `next` when a beat is `arriving` and the
/// head is free (`head_free`, driven here: empty, or taken this cycle).
fn head_register(m: &mut Module, head_free: &Expr, arriving: Expr, next: Expr, out_ready: &Expr) -> (Expr, Expr) {
    let head_valid = m.reg_en("queue_head_valid", arriving.clone(), head_free.clone(), Some(Const::zeros(1)));
    let head = m.reg_en("queue_head", next, and(head_free.clone(), arriving), None);
    m.drive(head_free, or(Expr::invert(head_valid.clone()), out_ready.clone()));
    (head_valid, head)
}

/// A stream top's ports (SPEC 6.1): AXI-Stream in and out, `tlast` on the
/// output.
pub struct StreamIo {
    pub in_data: Expr,
    pub in_valid: Expr,
    pub in_ready: Expr,
    pub out_data: Expr,
    pub out_valid: Expr,
    pub out_ready: Expr,
    pub out_last: Expr,
}

/// Declares a stream top's clock, reset and stream ports, `in_bits` and
/// `out_bits` wide, in the order SPEC 6.1 gives; their signature roles.
pub fn stream_ports(m: &mut Module, in_bits: u32, out_bits: u32) -> (StreamIo, Vec<Role>) {
    m.clock_input();
    m.reset_input();
    let io = StreamIo {
        in_data: m.input("s_axis_tdata", in_bits),
        in_valid: m.input("s_axis_tvalid", 1),
        in_ready: m.port("s_axis_tready", Dir::Out, 1, false),
        out_data: m.port("m_axis_tdata", Dir::Out, out_bits, false),
        out_valid: m.port("m_axis_tvalid", Dir::Out, 1, false),
        out_ready: m.input("m_axis_tready", 1),
        out_last: m.port("m_axis_tlast", Dir::Out, 1, false),
    };
    (io, STREAM_ROLES.to_vec())
}
