//! Small pieces every sequential generator builds from: registers that
//! feed back on themselves, and delay lines.

use crate::rtl::{Const, Expr, Module};

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
pub fn delay(m: &mut Module, name: &str, value: Expr, cycles: u32) -> Expr {
    (0..cycles).fold(value, |v, i| m.reg(&format!("{name}_d{}", i + 1), v, None))
}

/// A one-bit control signal delayed by `cycles` registers cleared by reset.
pub fn delay_flag(m: &mut Module, name: &str, flag: Expr, cycles: u32) -> Expr {
    (0..cycles).fold(flag, |v, i| m.reg(&format!("{name}_d{}", i + 1), v, Some(Const::zeros(1))))
}
