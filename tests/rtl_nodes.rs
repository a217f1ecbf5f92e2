//! The control-logic nodes of the RTL (multiplexer, comparisons unsigned
//! and signed, OR reduction, registers with an enable) print as Verilog
//! that lints clean under Verilator `-Wall`, that Icarus accepts, and that
//! Verilator computes exactly as Rust does, for every pair of 4-bit
//! operands.

use mbnn::backend::verilog::emit_design;
use mbnn::eda::verilator::{ModelOptions, build_model};
use mbnn::rtl::{BinOp, Comparison, Const, Design, Dir, Expr, Module};
use mbnn::sim::{Model, port_widths};
use mbnn::spec::signature::{Interface, Role, Signature};
use mbnn::util::bits::BitVec;

const W: u32 = 4;

/// The comparisons on the `compared` output, bit 0 first.
const COMPARISONS: [(Comparison, bool); 10] = [
    (Comparison::Eq, false),
    (Comparison::Ne, false),
    (Comparison::Lt, false),
    (Comparison::Le, false),
    (Comparison::Gt, false),
    (Comparison::Ge, false),
    (Comparison::Lt, true),
    (Comparison::Le, true),
    (Comparison::Gt, true),
    (Comparison::Ge, true),
];

/// Inputs `a`, `b`, `s`, `en`; outputs `compared` (one bit per entry of
/// COMPARISONS, the left operand `a + b`), `picked = s ? a + b : b`,
/// `any = |a` and `held`, which loads `a` when `en` is high and resets to 0.
fn nodes() -> (Vec<(String, String)>, Signature) {
    let mut m = Module::new("nodes");
    m.clock_input();
    m.reset_input();
    let a = m.input("a", W);
    let b = m.input("b", W);
    let s = m.input("s", 1);
    let en = m.input("en", 1);
    let compared = m.port("compared", Dir::Out, COMPARISONS.len() as u32, false);
    let picked = m.port("picked", Dir::Out, W, false);
    let any = m.port("any", Dir::Out, 1, false);
    let held = m.port("held", Dir::Out, W, false);
    let sum = Expr::bin(BinOp::Add, a.clone(), b.clone());
    let bits = COMPARISONS.iter().rev().map(|&(op, signed)| {
        let (l, r) = (sum.clone(), b.clone());
        if signed { Expr::compare_signed(op, l, r) } else { Expr::compare(op, l, r) }
    });
    m.drive(&compared, Expr::concat(bits.collect()));
    m.drive(&picked, Expr::mux(s, sum, b));
    m.drive(&any, Expr::reduce_or(a.clone()));
    let q = m.reg_en("held_q", a, en, Some(Const::zeros(W)));
    m.drive(&held, q);
    let mut roles = vec![Role::Clock, Role::Reset];
    roles.extend([Role::Data; 4].into_iter().chain([Role::Result; 4]));
    let signature = Signature::of_module(&m, &roles, Interface::FixedLatency { latency: 1 });
    let mut design = Design { top: "nodes".into(), ..Design::default() };
    design.add(m);
    (emit_design(&design), signature)
}

fn holds(op: Comparison, x: i64, y: i64) -> bool {
    match op {
        Comparison::Eq => x == y,
        Comparison::Ne => x != y,
        Comparison::Lt => x < y,
        Comparison::Le => x <= y,
        Comparison::Gt => x > y,
        Comparison::Ge => x >= y,
    }
}

fn signed(v: u64) -> i64 {
    if v >= 1 << (W - 1) { v as i64 - (1 << W) } else { v as i64 }
}

#[test]
fn the_nodes_lint_clean_and_icarus_accepts_them() {
    let (files, _) = nodes();
    let dir = tempfile::tempdir().unwrap();
    mbnn::util::files::write_files(dir.path(), &files).unwrap();
    mbnn::eda::verilator::lint(dir.path(), &["nodes.v".into()], "nodes").unwrap();
    mbnn::eda::iverilog::check(dir.path(), &["nodes.v".into()], "nodes").unwrap();
}

#[test]
fn verilator_computes_every_node_as_rust_does() {
    let (files, signature) = nodes();
    let lib = build_model(&files, &signature, &ModelOptions::default()).unwrap();
    let mut model = Model::load(&lib.path, port_widths(&signature), None).unwrap();
    let input = |v: u64| BitVec::from_words(W as usize, vec![v]);
    // Inputs: rst, a, b, s, en; outputs: compared, picked, any, held.
    model.set_bit(0, true);
    model.cycle();
    model.set_bit(0, false);
    let mut held = 0;
    for (a, b) in (0..16u64).flat_map(|a| (0..16).map(move |b| (a, b))) {
        let (s, en) = ((a ^ b) & 1 == 1, (a + 3 * b) % 3 == 0);
        model.set(1, &input(a));
        model.set(2, &input(b));
        model.set_bit(3, s);
        model.set_bit(4, en);
        model.cycle();
        let sum = (a + b) % 16;
        let want: u64 = COMPARISONS
            .iter()
            .enumerate()
            .filter(
                |(_, (op, is_signed))| {
                    if *is_signed { holds(*op, signed(sum), signed(b)) } else { holds(*op, sum as i64, b as i64) }
                },
            )
            .map(|(i, _)| 1 << i)
            .sum();
        let shown = format!("a = {a}, b = {b}");
        assert_eq!(model.output(0).words()[0], want, "compared, {shown}");
        assert_eq!(model.output(1).words()[0], if s { sum } else { b }, "picked, {shown}");
        assert_eq!(model.output_bit(2), a != 0, "any, {shown}");
        if en {
            held = a;
        }
        assert_eq!(model.output(3).words()[0], held, "held, {shown}, en {en}");
    }
}
