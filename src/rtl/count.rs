//! Gate counts of the representation itself, before any synthesis: what
//! the reports put beside Yosys's mapping and what the analytic 7 nm
//! estimates price.

use super::{BinOp, Design, Expr, Module};
use std::collections::BTreeMap;

/// Gates by kind, counted in the generator's representation: two-input
/// XNOR/XOR/AND bits with both inputs variable, inverters (including XOR
/// with a constant 1), adder result bits (each at most one full adder),
/// comparators, multipliers and flip-flops, times each module's instances.
pub fn generator_counts(design: &Design) -> BTreeMap<String, u64> {
    let mut instances: BTreeMap<String, u64> = BTreeMap::new();
    count_instances(design, &design.top, 1, &mut instances);
    let mut total: BTreeMap<String, u64> = BTreeMap::new();
    for (name, times) in &instances {
        for (kind, n) in module_counts(&design.modules[name]) {
            *total.entry(kind).or_default() += n * times;
        }
    }
    total
}

/// How many times each module appears in the elaborated design.
pub fn count_instances(design: &Design, name: &str, times: u64, out: &mut BTreeMap<String, u64>) {
    *out.entry(name.to_string()).or_default() += times;
    for inst in &design.modules[name].instances {
        count_instances(design, &inst.module, times, out);
    }
}

fn module_counts(m: &Module) -> BTreeMap<String, u64> {
    let mut c = BTreeMap::new();
    for (_, e) in &m.assigns {
        count_expr(e, &mut c);
    }
    for r in &m.regs {
        count_expr(&r.next, &mut c);
        *c.entry("flip_flop".into()).or_default() += u64::from(m.signal(r.target).width);
    }
    c
}

fn count_expr(e: &Expr, c: &mut BTreeMap<String, u64>) {
    let mut add = |k: &str, n: u64| *c.entry(k.to_string()).or_default() += n;
    match e {
        Expr::Not(inner) => match inner.as_ref() {
            Expr::Bin { op: BinOp::Xor, lhs, rhs } if !is_const(lhs) && !is_const(rhs) => {
                add("xnor2", u64::from(inner.width()));
                count_expr(lhs, c);
                count_expr(rhs, c);
            }
            other => {
                add("inv", u64::from(other.width()));
                count_expr(other, c);
            }
        },
        Expr::Bin { op, lhs, rhs } => {
            let w = u64::from(lhs.width());
            match (op, const_ones(lhs).or(const_ones(rhs))) {
                (BinOp::Xor, Some(ones)) => add("inv", ones),
                (BinOp::Xor, None) => add("xor2", w),
                (BinOp::And, _) => add("and2", w),
                (BinOp::Or, _) => add("or2", w),
                (BinOp::Add | BinOp::Sub, _) => add("adder_bit", w),
                (BinOp::Mul, _) => add("multiplier", 1),
            }
            count_expr(lhs, c);
            count_expr(rhs, c);
        }
        Expr::GeU { lhs, rhs } => {
            add("comparator", 1);
            count_expr(lhs, c);
            count_expr(rhs, c);
        }
        Expr::Concat(parts) => parts.iter().for_each(|p| count_expr(p, c)),
        Expr::Repeat { expr, .. } => count_expr(expr, c),
        // `unused_*` wires are dropped by synthesis: no gates.
        Expr::ReduceAnd(_) | Expr::Ref { .. } | Expr::Slice { .. } | Expr::Const(_) => {}
    }
}

fn is_const(e: &Expr) -> bool {
    matches!(e, Expr::Const(_))
}

fn const_ones(e: &Expr) -> Option<u64> {
    match e {
        Expr::Const(k) => Some(k.words.iter().map(|w| u64::from(w.count_ones())).sum()),
        _ => None,
    }
}
