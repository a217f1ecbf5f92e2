//! Balanced arithmetic trees whose nodes are only as wide as they must be,
//! with pipeline registers every `pipeline` levels (the `Schedule`).

use crate::rtl::{BinOp, Const, Expr, Module};
use crate::spec::params::PopcountStyle;
use crate::util::fixed::width_for;

/// Where the pipeline registers go. Level 1 is the first level of logic
/// after the input registers; the output register follows level `depth`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Schedule {
    pub pipeline: u32,
    pub depth: u32,
}

impl Schedule {
    /// Whether a register stage follows level `level` (the output register
    /// after the last level is not counted here).
    pub fn register_after(&self, level: u32) -> bool {
        self.pipeline > 0 && level.is_multiple_of(self.pipeline) && level < self.depth
    }

    /// Cycles from an input to its result: the input register, the inner
    /// stages and the output register.
    pub fn latency(&self) -> u32 {
        2 + (1..self.depth).filter(|&l| self.register_after(l)).count() as u32
    }
}

/// Depth of a balanced binary tree over `leaves` operands.
pub fn tree_levels(leaves: usize) -> u32 {
    if leaves <= 1 { 0 } else { (leaves - 1).ilog2() + 1 }
}

/// The bits of a popcount tree node: an unsigned count of at most `max`.
#[derive(Clone, Debug)]
pub struct Count {
    pub expr: Expr,
    pub max: u64,
}

/// Levels of a popcount over `bits` inputs.
pub fn popcount_levels(bits: usize, style: PopcountStyle) -> u32 {
    match style {
        // One level of 3-input leaf adders, then a balanced adder tree.
        PopcountStyle::Tree => 1 + tree_levels(bits.div_ceil(3)),
        // One level of full adders, then a balanced tree over their counts
        // and the bits left over; the rest enter as carry-ins, none spare.
        PopcountStyle::Compressor if compressor_leaves(bits).0 > 0 => {
            let (adders, singles) = compressor_leaves(bits);
            1 + tree_levels(adders + singles)
        }
        // A balanced tree over single-bit words; the rest of the bits enter
        // as carry-ins. An even count leaves one bit over, which an unpaired
        // word takes on the way up, or else one more adder at the top.
        PopcountStyle::Carry | PopcountStyle::Compressor => {
            let words = bits.div_ceil(2);
            // Every level has an even count exactly when `words` is a power of two.
            let spare = bits.is_multiple_of(2) && words.is_power_of_two();
            (tree_levels(words) + u32::from(spare)).max(1)
        }
    }
}

/// Builds the popcount of `x` in module `m`, starting at level `first_level`
/// (the level of the leaf adders). Registers are inserted after every level
/// the schedule asks for, except after the last one, which the caller owns.
pub fn popcount(
    m: &mut Module,
    x: &Expr,
    sched: &Schedule,
    first_level: u32,
    style: PopcountStyle,
    prefix: &str,
) -> Count {
    let n = x.width() as usize;
    assert!(n > 0);
    let count = match style {
        PopcountStyle::Tree => adder_tree(m, x, sched, first_level, prefix),
        PopcountStyle::Carry => carry_tree(m, x, sched, first_level, prefix),
        PopcountStyle::Compressor => compressor_tree(m, x, sched, first_level, prefix),
    };
    debug_assert_eq!(count.max, n as u64);
    count
}

fn adder_tree(m: &mut Module, x: &Expr, sched: &Schedule, first_level: u32, prefix: &str) -> Count {
    let n = x.width() as usize;
    let mut nodes: Vec<Count> = (0..n.div_ceil(3))
        .map(|g| {
            let lo = 3 * g;
            let count = (n - lo).min(3);
            if count == 1 {
                return Count { expr: x.bit(lo as u32), max: 1 };
            }
            bit_sum(m, &format!("{prefix}l1_{g}"), (lo..lo + count).map(|i| x.bit(i as u32)).collect())
        })
        .collect();
    let mut level = first_level;
    while nodes.len() > 1 {
        if sched.register_after(level) {
            nodes = register_counts(m, nodes, level, prefix);
        }
        level += 1;
        let depth_name = level - first_level + 1;
        nodes = nodes
            .chunks(2)
            .enumerate()
            .map(|(i, pair)| match pair {
                [a, b] => add_counts(m, &format!("{prefix}l{depth_name}_{i}"), a, b),
                [a] => a.clone(),
                _ => unreachable!(),
            })
            .collect();
    }
    nodes.pop().unwrap()
}

/// The count of 2 or 3 bits as one adder: a full adder, which Yosys maps to
/// LUTs (adders of at most 2 result bits never use a carry chain).
fn bit_sum(m: &mut Module, name: &str, bits: Vec<Expr>) -> Count {
    let max = bits.len() as u64;
    let w = width_for(0, max as i128);
    let sum = bits.into_iter().map(|b| b.extend(w, false)).reduce(|acc, b| Expr::bin(BinOp::Add, acc, b)).unwrap();
    Count { expr: m.wire(name, sum), max }
}

/// `a + b`, as wide as their sum needs.
fn add_counts(m: &mut Module, name: &str, a: &Count, b: &Count) -> Count {
    let max = a.max + b.max;
    let w = width_for(0, max as i128);
    let sum = Expr::bin(BinOp::Add, a.expr.clone().extend(w, false), b.expr.clone().extend(w, false));
    Count { expr: m.wire(name, sum), max }
}

/// A count that is always 0, for an adder with one count and a carry-in.
fn zero_count() -> Count {
    Count { expr: Expr::zeros(1), max: 0 }
}

/// `a + b + carry`, the carry entering through an extra low bit:
/// `{a, c} + {b, 1}` is `2 * (a + b + c) + (1 - c)`, so the upper bits are
/// the sum, and the low bit (`~c`) goes to the module's `unused_low_bits`.
/// The 1 rather than a second `c` matters on iCE40: one net on both carry
/// inputs of a logic cell left nextpnr unable to route pipelined trees.
fn add_with_carry(m: &mut Module, name: &str, a: &Count, b: &Count, carry: Expr, unused: &mut Vec<Expr>) -> Count {
    let max = a.max + b.max + 1;
    let w = width_for(0, max as i128);
    let one = Expr::constant(Const::from_u128(1, 1));
    let operand = |c: &Count, low: Expr| Expr::concat(vec![c.expr.clone().extend(w, false), low]);
    let doubled = m.wire(name, Expr::bin(BinOp::Add, operand(a, carry), operand(b, one)));
    unused.push(doubled.bit(0));
    Count { expr: doubled.slice(1, w), max }
}

fn carry_tree(m: &mut Module, x: &Expr, sched: &Schedule, first_level: u32, prefix: &str) -> Count {
    let n = x.width() as usize;
    let words = n.div_ceil(2);
    // The first `words` bits are the leaves; the others are carry-ins, in order.
    let nodes: Vec<Count> = (0..words).map(|i| Count { expr: x.bit(i as u32), max: 1 }).collect();
    let carries = (words..n).map(|i| x.bit(i as u32)).collect();
    carry_levels(m, nodes, carries, sched, (first_level, 1), prefix)
}

/// Leaves for the `Compressor` style: `(n + 1) / 4` full adders, the bits
/// they leave over as single-bit words (0 to 3 of them), and the rest as
/// carry-ins: exactly one per adder above, none to spare.
fn compressor_leaves(n: usize) -> (usize, usize) {
    let adders = (n + 1) / 4;
    (adders, n + 1 - 4 * adders)
}

fn compressor_tree(m: &mut Module, x: &Expr, sched: &Schedule, first_level: u32, prefix: &str) -> Count {
    let n = x.width() as usize;
    let (adders, singles) = compressor_leaves(n);
    if adders == 0 {
        return carry_tree(m, x, sched, first_level, prefix);
    }
    let bit = |i: usize| x.bit(i as u32);
    let mut nodes: Vec<Count> =
        (0..adders).map(|g| bit_sum(m, &format!("{prefix}l1_{g}"), (3 * g..3 * g + 3).map(bit).collect())).collect();
    nodes.extend((3 * adders..3 * adders + singles).map(|i| Count { expr: bit(i), max: 1 }));
    let mut carries: Vec<Expr> = (3 * adders + singles..n).map(bit).collect();
    if nodes.len() == 1 && carries.is_empty() {
        return nodes.pop().unwrap();
    }
    if sched.register_after(first_level) {
        nodes = register_counts(m, nodes, first_level, prefix);
        carries = register_bits(m, carries, first_level, prefix);
    }
    carry_levels(m, nodes, carries, sched, (first_level + 1, 2), prefix)
}

/// The registered copy of carry-ins still to come, bit 0 first.
fn register_bits(m: &mut Module, bits: Vec<Expr>, level: u32, prefix: &str) -> Vec<Expr> {
    if bits.is_empty() {
        return bits;
    }
    let held = m.reg(&format!("{prefix}c{level}"), Expr::concat(bits.into_iter().rev().collect()), None);
    (0..held.width()).map(|i| held.bit(i)).collect()
}

/// A balanced tree of carry-in adders over `nodes`, `carries` entering in
/// order; `start` is the level of the first adders and the name of their level.
fn carry_levels(
    m: &mut Module,
    mut nodes: Vec<Count>,
    carries: Vec<Expr>,
    sched: &Schedule,
    start: (u32, u32),
    prefix: &str,
) -> Count {
    let mut carries = carries.into_iter();
    let mut unused = vec![];
    let (mut level, mut depth_name) = start;
    while nodes.len() > 1 {
        let mut next = vec![];
        for (i, pair) in nodes.chunks(2).enumerate() {
            let name = format!("{prefix}l{depth_name}_{i}");
            next.push(match (pair, carries.next()) {
                ([a, b], Some(c)) => add_with_carry(m, &name, a, b, c, &mut unused),
                ([a], Some(c)) => add_with_carry(m, &name, a, &zero_count(), c, &mut unused),
                ([a, b], None) => add_counts(m, &name, a, b),
                ([a], None) => a.clone(),
                _ => unreachable!(),
            });
        }
        nodes = next;
        if nodes.len() > 1 || carries.len() > 0 {
            if sched.register_after(level) {
                nodes = register_counts(m, nodes, level, prefix);
                // Carry-ins still to come travel with the counts.
                carries = register_bits(m, carries.collect(), level, prefix).into_iter();
            }
            level += 1;
            depth_name += 1;
        }
    }
    // An even count with a power-of-two number of words leaves one bit.
    if let Some(c) = carries.next() {
        let top = nodes.pop().unwrap();
        nodes.push(add_with_carry(m, &format!("{prefix}l{depth_name}_0"), &top, &zero_count(), c, &mut unused));
    }
    assert!(carries.next().is_none());
    if !unused.is_empty() {
        m.wire("unused_low_bits", Expr::reduce_and(Expr::concat(unused)));
    }
    nodes.pop().unwrap()
}

fn register_counts(m: &mut Module, nodes: Vec<Count>, level: u32, prefix: &str) -> Vec<Count> {
    nodes
        .into_iter()
        .enumerate()
        .map(|(i, c)| Count { expr: m.reg(&format!("{prefix}r{level}_{i}"), c.expr, None), max: c.max })
        .collect()
}

/// An exact linear form over independent sources: `sum coef * x + constant`,
/// each source x anywhere in its own `lo..=hi`. Its range is exact for
/// independent sources and a sound bound for correlated ones.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LinearForm {
    /// Source id -> (coefficient, smallest value, largest value).
    pub coefs: std::collections::BTreeMap<usize, (i128, i128, i128)>,
    pub constant: i128,
}

impl LinearForm {
    fn scaled(&self, factor: i128) -> LinearForm {
        LinearForm {
            coefs: self.coefs.iter().map(|(&k, &(c, lo, hi))| (k, (c * factor, lo, hi))).collect(),
            constant: self.constant * factor,
        }
    }

    fn plus(mut self, other: &LinearForm) -> LinearForm {
        for (&k, &(c, lo, hi)) in &other.coefs {
            let e = self.coefs.entry(k).or_insert((0, lo, hi));
            e.0 += c;
        }
        self.coefs.retain(|_, (c, _, _)| *c != 0);
        self.constant += other.constant;
        self
    }

    pub fn range(&self) -> (i128, i128) {
        let mut lo = self.constant;
        let mut hi = self.constant;
        for &(c, xlo, xhi) in self.coefs.values() {
            let (a, b) = (c * xlo, c * xhi);
            lo += a.min(b);
            hi += a.max(b);
        }
        (lo, hi)
    }
}

/// One operand of a scale tree: `(neg ? -1 : 1) * value * 2^shift`, where
/// `value` is held in `width` bits (two's complement if it can be negative)
/// and equals `form`. A constant has no signal (`expr` is `None`).
#[derive(Clone, Debug)]
pub struct Term {
    pub expr: Option<Expr>,
    pub form: LinearForm,
    pub width: u32,
    pub shift: u32,
    pub neg: bool,
}

impl Term {
    /// `count` (source `source`, at most `max`) as a term.
    pub fn signal(expr: Expr, source: usize, max: u64, shift: u32, neg: bool) -> Term {
        Term::ranged(expr, source, (0, max as i128), shift, neg)
    }

    /// A signal (source `source`) whose value lies in `lo..=hi`, two's
    /// complement if `lo < 0`.
    pub fn ranged(expr: Expr, source: usize, (lo, hi): (i128, i128), shift: u32, neg: bool) -> Term {
        let mut form = LinearForm::default();
        form.coefs.insert(source, (1, lo, hi));
        Term { width: expr.width(), expr: Some(expr), form, shift, neg }
    }

    /// A constant term; `None` for zero.
    pub fn constant(value: i128) -> Option<Term> {
        if value == 0 {
            return None;
        }
        let mag = value.unsigned_abs();
        let shift = mag.trailing_zeros();
        let v = (mag >> shift) as i128;
        let form = LinearForm { constant: v, ..LinearForm::default() };
        Some(Term { expr: None, form, width: width_for(0, v), shift, neg: value < 0 })
    }

    pub fn range(&self) -> (i128, i128) {
        self.form.range()
    }

    fn signed(&self) -> bool {
        self.range().0 < 0
    }

    /// This term's operand expression: shifted left by `rel` and extended
    /// to `width` bits.
    fn operand(&self, rel: u32, width: u32) -> Expr {
        match &self.expr {
            Some(e) => e.clone().extend(width - rel, self.signed()).shl_append(rel),
            None => Expr::constant(Const::from_u128(width, (self.form.constant as u128) << rel)),
        }
    }
}

/// Canonical signed digits of `c`: `(shift, negative)` per non-zero digit,
/// least significant first; no two adjacent digits are non-zero.
pub fn csd(c: i128) -> Vec<(u32, bool)> {
    let mut digits = vec![];
    let mut c = c;
    let mut shift = 0;
    while c != 0 {
        if c & 1 == 1 {
            let d = 2 - (c & 3); // +1 if c = 1 mod 4, -1 if c = 3 mod 4
            digits.push((shift, d < 0));
            c -= d;
        }
        c >>= 1;
        shift += 1;
    }
    digits
}

/// Levels of a scale tree over `terms`: the balanced tree, plus one level
/// to negate the root when every term is negative.
pub fn scale_tree_levels(terms: &[Term]) -> u32 {
    let negate = !terms.is_empty() && terms.iter().all(|t| t.neg);
    tree_levels(terms.len()) + u32::from(negate)
}

/// Sums `terms` in a balanced tree whose first level is `first_level`.
/// Registers follow every level the schedule asks for except the last.
/// Returns a non-negated term (or `None` if there are no terms).
pub fn scale_tree(m: &mut Module, mut terms: Vec<Term>, sched: &Schedule, first_level: u32) -> Option<Term> {
    if terms.is_empty() {
        return None;
    }
    let mut level = first_level;
    let mut logic_done = false;
    while terms.len() > 1 {
        if logic_done && sched.register_after(level - 1) {
            terms = register_terms(m, terms, level - 1);
        }
        terms = terms
            .chunks(2)
            .enumerate()
            .map(|(i, pair)| match pair {
                [a, b] => combine(m, a, b, &format!("s{level}_{i}")),
                [a] => a.clone(),
                _ => unreachable!(),
            })
            .collect();
        level += 1;
        logic_done = true;
    }
    let mut root = terms.pop().unwrap();
    if root.neg {
        if logic_done && sched.register_after(level - 1) {
            root = register_terms(m, vec![root], level - 1).pop().unwrap();
        }
        let zero = Term { expr: None, form: LinearForm::default(), width: 1, shift: root.shift, neg: false };
        root = combine(m, &zero, &root, &format!("neg{level}"));
    }
    Some(root)
}

fn register_terms(m: &mut Module, terms: Vec<Term>, level: u32) -> Vec<Term> {
    terms
        .into_iter()
        .enumerate()
        .map(|(i, t)| match t.expr {
            Some(e) => Term { expr: Some(m.reg(&format!("s{level}_r{i}"), e, None)), ..t },
            None => t,
        })
        .collect()
}

/// `a + b` (same sign) or the positive minus the negative one, in a wire of
/// the smallest width that holds both operands and the result.
fn combine(m: &mut Module, a: &Term, b: &Term, name: &str) -> Term {
    let shift = a.shift.min(b.shift);
    let (ra, rb) = (a.shift - shift, b.shift - shift);
    let fa = a.form.scaled(1 << ra);
    let fb = b.form.scaled(1 << rb);
    let (op, neg, form, first, second) = if a.neg == b.neg {
        (BinOp::Add, a.neg, fa.plus(&fb), (a, ra), (b, rb))
    } else if !a.neg {
        (BinOp::Sub, false, fa.plus(&fb.scaled(-1)), (a, ra), (b, rb))
    } else {
        (BinOp::Sub, false, fb.plus(&fa.scaled(-1)), (b, rb), (a, ra))
    };
    let (lo, hi) = form.range();
    if a.expr.is_none() && b.expr.is_none() {
        // Constant folding: no logic.
        return Term { expr: None, width: width_for(lo.min(0), hi.max(0)), form, shift, neg };
    }
    let width = width_for(lo, hi).max(first.0.width + first.1).max(second.0.width + second.1);
    let e = Expr::bin(op, first.0.operand(first.1, width), second.0.operand(second.1, width));
    Term { expr: Some(m.wire(name, e)), form, width, shift, neg }
}

/// The root term as the exact-width result: shifted into place, extended or
/// cut to `width` bits. Cut bits are provably redundant (the exact range
/// fits `width`) and are gathered into an `unused_*` wire.
pub fn fit_result(m: &mut Module, t: &Term, width: u32) -> Expr {
    assert!(!t.neg);
    let Some(e) = &t.expr else {
        return Expr::constant(Const::from_u128(width, (t.form.constant as u128) << t.shift));
    };
    if t.shift >= width {
        m.wire("unused_result", Expr::reduce_and(Expr::concat(vec![Expr::zeros(1), e.clone()])));
        return Expr::zeros(width);
    }
    let keep = width - t.shift;
    if t.width <= keep {
        return e.clone().extend(keep, t.range().0 < 0).shl_append(t.shift);
    }
    let dropped = e.slice(keep, t.width - keep);
    m.wire("unused_result", Expr::reduce_and(Expr::concat(vec![Expr::zeros(1), dropped])));
    e.slice(0, keep).shl_append(t.shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csd_digits_sum_to_the_value_and_are_sparse() {
        for c in -3000i128..=3000 {
            let digits = csd(c);
            let sum: i128 = digits.iter().map(|&(s, neg)| if neg { -(1i128 << s) } else { 1i128 << s }).sum();
            assert_eq!(sum, c);
            for pair in digits.windows(2) {
                assert!(pair[1].0 > pair[0].0 + 1, "adjacent non-zero digits in {c}");
            }
        }
        assert_eq!(csd(7), vec![(0, true), (3, false)]);
    }

    #[test]
    fn latency_counts_input_inner_and_output_registers() {
        assert_eq!(Schedule { pipeline: 0, depth: 9 }.latency(), 2);
        assert_eq!(Schedule { pipeline: 1, depth: 9 }.latency(), 10);
        assert_eq!(Schedule { pipeline: 3, depth: 9 }.latency(), 4);
        assert_eq!(Schedule { pipeline: 4, depth: 9 }.latency(), 4);
        assert_eq!(Schedule { pipeline: 9, depth: 9 }.latency(), 2);
    }

    #[test]
    fn tree_levels_are_ceil_log2() {
        let expect = [(1, 0), (2, 1), (3, 2), (4, 2), (5, 3), (8, 3), (9, 4), (768, 10)];
        for (n, l) in expect {
            assert_eq!(tree_levels(n), l, "{n}");
        }
    }
}
