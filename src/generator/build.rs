//! Small pieces every sequential generator builds from: registers that
//! feed back on themselves, and delay lines.

use crate::rtl::{BinOp, Comparison, Const, Expr, Module};

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
