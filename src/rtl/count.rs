//! Gate counts of the representation itself, before any synthesis: what
//! the reports put beside Yosys's mapping and what the analytic 7 nm
//! estimates price.

use super::{BinOp, Design, Expr, Module};
use std::collections::BTreeMap;

/// Gates by kind, counted in the generator's representation: two-input
/// XNOR/XOR/AND/OR bits with both inputs variable, inverters (including
/// XOR with a constant 1), adder result bits (each at most one full
/// adder), 2:1 multiplexer bits (including the hold multiplexer of a
/// register with an enable), comparators, multipliers, flip-flops and
/// memory bits, times each module's instances.
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

/// One memory of the elaborated design, as the generator built it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct MemoryShape {
    pub module: String,
    pub name: String,
    pub words: u32,
    pub width: u32,
    /// Copies of its module in the design.
    pub instances: u64,
    /// No write port: its words are the constants it starts with.
    pub rom: bool,
    pub read_ports: usize,
}

impl MemoryShape {
    /// Bits over every copy.
    pub fn bits(&self) -> u64 {
        u64::from(self.words) * u64::from(self.width) * self.instances
    }
}

/// Every memory of the design, module by module.
pub fn memories(design: &Design) -> Vec<MemoryShape> {
    let mut instances: BTreeMap<String, u64> = BTreeMap::new();
    count_instances(design, &design.top, 1, &mut instances);
    let mut out = vec![];
    for (name, &times) in &instances {
        for mem in &design.modules[name].memories {
            out.push(MemoryShape {
                module: name.clone(),
                name: mem.name.clone(),
                words: mem.depth,
                width: mem.width,
                instances: times,
                rom: mem.write.is_none(),
                read_ports: mem.reads.len(),
            });
        }
    }
    out
}

fn module_counts(m: &Module) -> BTreeMap<String, u64> {
    let mut c = BTreeMap::new();
    for (_, e) in &m.assigns {
        count_expr(e, &mut c);
    }
    for r in &m.regs {
        count_expr(&r.next, &mut c);
        let width = u64::from(m.signal(r.target).width);
        if let Some(enable) = &r.enable {
            count_expr(enable, &mut c);
            *c.entry("mux".into()).or_default() += width;
        }
        *c.entry("flip_flop".into()).or_default() += width;
    }
    // A read port's data register is the block RAM's own output register:
    // counted in the memory, not as flip-flops.
    for mem in &m.memories {
        *c.entry("memory_bit".into()).or_default() += u64::from(mem.width) * u64::from(mem.depth);
        let write = mem.write.iter().flat_map(|w| [&w.addr, &w.data, &w.enable]);
        let reads = mem.reads.iter().flat_map(|r| [&r.addr, &r.enable]);
        write.chain(reads).for_each(|e| count_expr(e, &mut c));
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
        Expr::Mux { sel, when_true, when_false } => {
            add("mux", u64::from(when_true.width()));
            [sel, when_true, when_false].into_iter().for_each(|p| count_expr(p, c));
        }
        Expr::Compare { lhs, rhs, .. } => {
            add("comparator", 1);
            count_expr(lhs, c);
            count_expr(rhs, c);
        }
        // A w-bit OR reduction is a tree of w - 1 two-input ORs.
        Expr::ReduceOr(inner) => {
            add("or2", u64::from(inner.width()) - 1);
            count_expr(inner, c);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtl::{Comparison, MemoryInit};

    #[test]
    fn muxes_comparators_enables_and_memories_are_counted() {
        let mut m = Module::new("top");
        m.clock_input();
        let s = m.input("s", 1);
        let a = m.input("a", 4);
        let b = m.input("b", 4);
        m.wire("pick", Expr::mux(s.clone(), a.clone(), b.clone()));
        m.wire("less", Expr::compare_signed(Comparison::Lt, a.clone(), b.clone()));
        m.wire("any", Expr::reduce_or(b.clone()));
        m.reg_en("held", a.clone(), s.clone(), None);
        let ram = m.memory("ram", 4, 16, MemoryInit::None);
        m.write_port(ram, a.clone(), Expr::invert(b), s.clone());
        m.read_port(ram, a, s);
        let mut design = Design { top: "top".into(), ..Design::default() };
        design.add(m);
        let counts = generator_counts(&design);
        let want = [("comparator", 1), ("flip_flop", 4), ("inv", 4), ("memory_bit", 64), ("mux", 8), ("or2", 3)];
        assert_eq!(counts, want.into_iter().map(|(k, n)| (k.to_string(), n)).collect());
        let mems = memories(&design);
        assert_eq!(mems.len(), 1);
        let ram = &mems[0];
        assert_eq!((ram.module.as_str(), ram.words, ram.width, ram.rom, ram.read_ports), ("top", 16, 4, false, 1));
        assert_eq!(ram.bits(), 64);
    }
}
