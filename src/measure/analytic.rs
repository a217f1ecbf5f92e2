//! Analytic 7 nm estimates from the generator's own representation, without
//! synthesis: area (gate counts x gate areas), the critical path (gate
//! delays along the generator's longest register-to-register path, bit by
//! bit) and power (gate counts x per-gate power). The PA paper's XNOR2 and
//! AND2 figures price those two gates; a Liberty library prices the rest.

use crate::measure::cells::CellKind;
use crate::measure::liberty::{self, Direction};
use crate::rtl::{BinOp, Comparison, Design, Dir, Expr, Module, SigId, SigKind};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// The PA paper's 7 nm FinFET figures for two-input gates (SPEC section 1).
pub const PAPER_XNOR2: GateFigure = GateFigure { delay_ps: 10.87, area_nm2: 2.90e3, power_nw: 1.23e3 };
pub const PAPER_AND2: GateFigure = GateFigure { delay_ps: 9.62, area_nm2: 1.45e3, power_nw: 6.24e2 };

#[derive(Clone, Copy, Debug, Serialize)]
pub struct GateFigure {
    pub delay_ps: f64,
    pub area_nm2: f64,
    pub power_nw: f64,
}

/// The generator's gate counts priced with the paper's XNOR2/AND2 figures
/// and the Liberty's areas for every other cell.
#[derive(Clone, Debug, Serialize)]
pub struct AnalyticArea {
    pub source: String,
    pub area_um2: f64,
    pub by_kind_um2: BTreeMap<String, f64>,
    /// Which Liberty cell priced each kind.
    pub cells: BTreeMap<String, String>,
}

/// The Liberty cell kind that prices each generator kind in the analytic
/// estimates (XNOR2 and AND2 are the paper's).
fn kind_of(generator_kind: &str) -> Option<CellKind> {
    match generator_kind {
        "inv" => Some(CellKind::Inverter),
        "xor2" => Some(CellKind::Xor2),
        "or2" => Some(CellKind::Or2),
        "adder_bit" => Some(CellKind::FullAdder),
        "flip_flop" => Some(CellKind::FlipFlop),
        _ => None,
    }
}

/// The Liberty cell that prices generator kind `kind`, if the library has one.
fn cell_for<'a>(kind: &str, lib: &'a liberty::Library) -> Option<&'a String> {
    kind_of(kind)?.find(lib.cells.keys())
}

pub fn area(counts: &BTreeMap<String, u64>, lib: &liberty::Library, shown: &str) -> AnalyticArea {
    let mut by_kind = BTreeMap::new();
    let mut cells = BTreeMap::new();
    let per_um2 = |nm2: f64| nm2 / 1e6;
    for (kind, &n) in counts {
        let (cell, area) = match kind.as_str() {
            "xnor2" => ("paper XNOR2".to_string(), per_um2(PAPER_XNOR2.area_nm2)),
            "and2" => ("paper AND2".to_string(), per_um2(PAPER_AND2.area_nm2)),
            other => match cell_for(other, lib) {
                Some(c) => (c.clone(), lib.cells[c].area),
                None => continue, // comparators, multipliers: no single cell
            },
        };
        by_kind.insert(kind.clone(), area * n as f64);
        cells.insert(kind.clone(), cell);
    }
    AnalyticArea {
        source: format!("analytic: generator counts x paper gate areas (XNOR2, AND2) and {shown}"),
        area_um2: by_kind.values().sum(),
        by_kind_um2: by_kind,
        cells,
    }
}

/// Where the delay and power figures of the Liberty cells are read: the
/// conditions of the claims' gate probe (10 ps input slew, a fan-out of
/// four minimum inverters).
const SLEW: f64 = 10e-12;
const FANOUT: f64 = 4.0;
/// Transitions per cycle assumed at every gate output and data input.
pub const ACTIVITY: f64 = 0.5;

/// Gate delays of the model, ps.
#[derive(Clone, Copy, Debug)]
struct Delays {
    xnor2: f64,
    and2: f64,
    inv: f64,
    xor2: f64,
    or2: f64,
    fa_carry: f64,
    fa_sum: f64,
    clk_to_q: f64,
    setup: f64,
}

/// Steps a path can take, in path order.
const STEPS: [&str; 9] = ["clk_to_q", "xnor2", "and2", "inv", "xor2", "or2", "fa_carry", "fa_sum", "setup"];

impl Delays {
    fn of(&self, step: usize) -> f64 {
        [self.clk_to_q, self.xnor2, self.and2, self.inv, self.xor2, self.or2, self.fa_carry, self.fa_sum, self.setup]
            [step]
    }
}

const CLK_TO_Q: usize = 0;
const XNOR2: usize = 1;
const AND2: usize = 2;
const INV: usize = 3;
const XOR2: usize = 4;
const OR2: usize = 5;
const FA_CARRY: usize = 6;
const FA_SUM: usize = 7;
const SETUP: usize = 8;

/// When a bit settles (ps) and the gates on its longest path.
#[derive(Clone, Copy, Debug, Default)]
struct Arrival {
    ps: f64,
    steps: [u32; STEPS.len()],
}

/// A bit of the timing model: a constant, or a signal with its arrival.
#[derive(Clone, Copy, Debug)]
enum Bit {
    Const(bool),
    At(Arrival),
}

fn later(a: Arrival, b: Arrival) -> Arrival {
    if b.ps > a.ps { b } else { a }
}

struct Model {
    delays: Delays,
}

impl Model {
    fn through(&self, step: usize, a: Arrival) -> Bit {
        let mut out = a;
        out.ps += self.delays.of(step);
        out.steps[step] += 1;
        Bit::At(out)
    }

    fn not(&self, a: Bit) -> Bit {
        match a {
            Bit::Const(v) => Bit::Const(!v),
            Bit::At(t) => self.through(INV, t),
        }
    }

    /// `a ^ b`, or its complement with `invert` (an XNOR2 when both vary).
    fn xor(&self, a: Bit, b: Bit, invert: bool) -> Bit {
        match (a, b) {
            (Bit::Const(x), Bit::Const(y)) => Bit::Const(x ^ y ^ invert),
            (Bit::Const(k), Bit::At(t)) | (Bit::At(t), Bit::Const(k)) => {
                if k ^ invert {
                    self.through(INV, t)
                } else {
                    Bit::At(t)
                }
            }
            (Bit::At(x), Bit::At(y)) => self.through(if invert { XNOR2 } else { XOR2 }, later(x, y)),
        }
    }

    fn and(&self, a: Bit, b: Bit) -> Bit {
        match (a, b) {
            (Bit::Const(false), _) | (_, Bit::Const(false)) => Bit::Const(false),
            (Bit::Const(true), x) | (x, Bit::Const(true)) => x,
            (Bit::At(x), Bit::At(y)) => self.through(AND2, later(x, y)),
        }
    }

    fn or(&self, a: Bit, b: Bit) -> Bit {
        match (a, b) {
            (Bit::Const(true), _) | (_, Bit::Const(true)) => Bit::Const(true),
            (Bit::Const(false), x) | (x, Bit::Const(false)) => x,
            (Bit::At(x), Bit::At(y)) => self.through(OR2, later(x, y)),
        }
    }

    /// One full adder: (sum, carry). With constant inputs it shrinks to a
    /// wire or an inverter; with two or three varying inputs it costs a
    /// full adder's carry or sum delay.
    fn full_adder(&self, bits: [Bit; 3]) -> (Bit, Bit) {
        let ones = bits.iter().filter(|b| matches!(b, Bit::Const(true))).count();
        let varying: Vec<Arrival> = bits
            .iter()
            .filter_map(|b| match b {
                Bit::At(t) => Some(*t),
                Bit::Const(_) => None,
            })
            .collect();
        match varying.as_slice() {
            [] => (Bit::Const(ones % 2 == 1), Bit::Const(ones >= 2)),
            [t] => {
                let sum = if ones % 2 == 1 { self.through(INV, *t) } else { Bit::At(*t) };
                // maj(t, k1, k2): the constant when they agree, else t.
                let carry = match ones {
                    0 => Bit::Const(false),
                    2 => Bit::Const(true),
                    _ => Bit::At(*t),
                };
                (sum, carry)
            }
            many => {
                let t = many.iter().copied().reduce(later).unwrap_or_default();
                (self.through(FA_SUM, t), self.through(FA_CARRY, t))
            }
        }
    }

    /// Ripple-carry `a + b + carry_in`, truncated to the operands' width;
    /// also returns the carry out.
    fn add(&self, a: &[Bit], b: &[Bit], carry_in: bool) -> (Vec<Bit>, Bit) {
        let mut carry = Bit::Const(carry_in);
        let mut out = Vec::with_capacity(a.len());
        for (&x, &y) in a.iter().zip(b) {
            let (s, c) = self.full_adder([x, y, carry]);
            out.push(s);
            carry = c;
        }
        (out, carry)
    }

    /// Truncated shift-and-add multiplier: AND2 partial products summed row
    /// by row with ripple-carry adders.
    fn mul(&self, a: &[Bit], b: &[Bit]) -> Vec<Bit> {
        let w = a.len();
        let mut acc = vec![Bit::Const(false); w];
        for (j, &bj) in b.iter().enumerate() {
            let row: Vec<Bit> =
                (0..w).map(|i| if i < j { Bit::Const(false) } else { self.and(a[i - j], bj) }).collect();
            acc = self.add(&acc, &row, false).0;
        }
        acc
    }

    /// `sel ? a : b`, timed as its AND-OR form `(sel & a) | (~sel & b)`:
    /// the model has no multiplexer delay of its own.
    fn mux(&self, sel: Bit, a: Bit, b: Bit) -> Bit {
        self.or(self.and(sel, a), self.and(self.not(sel), b))
    }

    /// A balanced tree of two-input `gate`s over the bits (`identity` for none).
    fn reduce(&self, bits: &[Bit], gate: fn(&Model, Bit, Bit) -> Bit, identity: bool) -> Bit {
        match bits {
            [] => Bit::Const(identity),
            [b] => *b,
            _ => {
                let (l, r) = bits.split_at(bits.len() / 2);
                gate(self, self.reduce(l, gate, identity), self.reduce(r, gate, identity))
            }
        }
    }

    /// Unsigned `a >= b`: the carry out of `a - b`, a ripple-carry adder.
    fn ge(&self, a: &[Bit], b: &[Bit]) -> Bit {
        let nb: Vec<Bit> = b.iter().map(|&x| self.not(x)).collect();
        self.add(a, &nb, true).1
    }

    /// `a op b`: equality as XNOR2s (XOR2s for `!=`) into an AND (OR)
    /// tree, orderings as the carry of a subtraction, signed ones with both
    /// sign bits inverted first (which orders two's complement as unsigned).
    fn compare(&self, op: Comparison, signed: bool, mut a: Vec<Bit>, mut b: Vec<Bit>) -> Bit {
        if signed && let (Some(x), Some(y)) = (a.last_mut(), b.last_mut()) {
            (*x, *y) = (self.not(*x), self.not(*y));
        }
        let bitwise = |invert: bool| -> Vec<Bit> { a.iter().zip(&b).map(|(&x, &y)| self.xor(x, y, invert)).collect() };
        match op {
            Comparison::Eq => self.reduce(&bitwise(true), Model::and, true),
            Comparison::Ne => self.reduce(&bitwise(false), Model::or, false),
            Comparison::Ge => self.ge(&a, &b),
            Comparison::Le => self.ge(&b, &a),
            Comparison::Lt => self.not(self.ge(&a, &b)),
            Comparison::Gt => self.not(self.ge(&b, &a)),
        }
    }
}

/// What drives a signal inside a module.
#[derive(Clone, Copy)]
enum Driver {
    Assign(usize),
    /// An output of the instance with this index.
    Instance(usize),
}

/// One module evaluated with given arrivals at its input ports.
struct Eval<'a> {
    model: &'a Model,
    design: &'a Design,
    module: &'a Module,
    inputs: HashMap<SigId, Vec<Bit>>,
    drivers: HashMap<SigId, Driver>,
    memo: HashMap<SigId, Vec<Bit>>,
    instance_outputs: HashMap<usize, HashMap<String, Vec<Bit>>>,
    /// The latest endpoint so far: a register's input plus setup, or a top output.
    worst: Option<Arrival>,
}

impl<'a> Eval<'a> {
    fn new(model: &'a Model, design: &'a Design, module: &'a Module, inputs: HashMap<SigId, Vec<Bit>>) -> Self {
        let mut drivers = HashMap::new();
        for (i, (target, _)) in module.assigns.iter().enumerate() {
            drivers.insert(*target, Driver::Assign(i));
        }
        for (i, inst) in module.instances.iter().enumerate() {
            let child = &design.modules[&inst.module];
            let outputs: Vec<&str> =
                child.port_signals().filter(|s| s.kind == SigKind::Port(Dir::Out)).map(|s| s.name.as_str()).collect();
            for (port, e) in &inst.connections {
                if let Expr::Ref { sig, .. } = e
                    && outputs.contains(&port.as_str())
                {
                    drivers.insert(*sig, Driver::Instance(i));
                }
            }
        }
        Eval {
            model,
            design,
            module,
            inputs,
            drivers,
            memo: HashMap::new(),
            instance_outputs: HashMap::new(),
            worst: None,
        }
    }

    fn endpoint(&mut self, a: Arrival) {
        self.worst = Some(self.worst.map_or(a, |w| later(w, a)));
    }

    fn signal(&mut self, id: SigId) -> Vec<Bit> {
        if let Some(v) = self.memo.get(&id) {
            return v.clone();
        }
        let sig = self.module.signal(id);
        let width = sig.width as usize;
        let bits = match (&sig.kind, self.drivers.get(&id).copied()) {
            (SigKind::Reg, _) => {
                let mut a = Arrival { ps: self.model.delays.clk_to_q, ..Arrival::default() };
                a.steps[CLK_TO_Q] = 1;
                vec![Bit::At(a); width]
            }
            (_, Some(Driver::Assign(i))) => self.expr(&self.module.assigns[i].1),
            (_, Some(Driver::Instance(i))) => {
                self.instance(i);
                let inst = &self.module.instances[i];
                let port = inst
                    .connections
                    .iter()
                    .find(|(_, e)| matches!(e, Expr::Ref { sig, .. } if *sig == id))
                    .map(|(p, _)| p.clone())
                    .unwrap_or_default();
                self.instance_outputs[&i].get(&port).cloned().unwrap_or_else(|| vec![Bit::Const(false); width])
            }
            // Ports: given; anything undriven is a constant 0.
            _ => self.inputs.get(&id).cloned().unwrap_or_else(|| vec![Bit::Const(false); width]),
        };
        self.memo.insert(id, bits.clone());
        bits
    }

    /// Evaluates a child instance once: its outputs and its endpoints.
    fn instance(&mut self, i: usize) {
        if self.instance_outputs.contains_key(&i) {
            return;
        }
        let inst = &self.module.instances[i];
        let child = &self.design.modules[&inst.module];
        let mut inputs = HashMap::new();
        for (port, e) in &inst.connections {
            let id = child.ports.iter().copied().find(|p| child.signal(*p).name == *port);
            if let Some(id) = id
                && child.signal(id).kind == SigKind::Port(Dir::In)
            {
                inputs.insert(id, self.expr(e));
            }
        }
        let mut sub = Eval::new(self.model, self.design, child, inputs);
        sub.finish(false);
        let mut outputs = HashMap::new();
        for &p in &child.ports {
            let s = child.signal(p);
            if s.kind == SigKind::Port(Dir::Out) {
                outputs.insert(s.name.clone(), sub.signal(p));
            }
        }
        if let Some(w) = sub.worst {
            self.endpoint(w);
        }
        self.instance_outputs.insert(i, outputs);
    }

    /// Bits that a register samples: each is an endpoint after setup.
    fn setup(&mut self, bits: Vec<Bit>) {
        for b in bits {
            if let Bit::At(a) = b {
                let mut a = a;
                a.ps += self.model.delays.setup;
                a.steps[SETUP] += 1;
                self.endpoint(a);
            }
        }
    }

    /// Evaluates every register input, memory port, instance and (at the
    /// top) output. A register with an enable samples its hold multiplexer;
    /// a memory's address, data and enable inputs are registered in the
    /// block RAM, and its read data leaves a register (a `Reg` signal).
    fn finish(&mut self, top: bool) {
        let module = self.module;
        for i in 0..module.instances.len() {
            self.instance(i);
        }
        for reg in &module.regs {
            let next = self.expr(&reg.next);
            let sampled = match &reg.enable {
                None => next,
                Some(enable) => {
                    let enable = self.expr(enable)[0];
                    let hold = self.signal(reg.target);
                    next.into_iter().zip(hold).map(|(n, h)| self.model.mux(enable, n, h)).collect()
                }
            };
            self.setup(sampled);
        }
        for mem in &module.memories {
            let write = mem.write.iter().flat_map(|w| [&w.addr, &w.data, &w.enable]);
            for e in write.chain(mem.reads.iter().flat_map(|r| [&r.addr, &r.enable])) {
                let bits = self.expr(e);
                self.setup(bits);
            }
        }
        if top {
            for &p in &self.module.ports {
                if self.module.signal(p).kind == SigKind::Port(Dir::Out) {
                    for b in self.signal(p) {
                        if let Bit::At(a) = b {
                            self.endpoint(a);
                        }
                    }
                }
            }
        }
    }

    /// Bits of `e`, least significant first.
    fn expr(&mut self, e: &Expr) -> Vec<Bit> {
        let m = self.model;
        match e {
            Expr::Ref { sig, .. } => self.signal(*sig),
            Expr::Slice { sig, lo, width } => {
                let all = self.signal(*sig);
                all[*lo as usize..(*lo + *width) as usize].to_vec()
            }
            Expr::Const(c) => (0..c.width).map(|i| Bit::Const(c.bit(i))).collect(),
            Expr::Concat(parts) => parts.iter().rev().flat_map(|p| self.expr(p)).collect(),
            Expr::Repeat { count, expr } => {
                let once = self.expr(expr);
                (0..*count).flat_map(|_| once.clone()).collect()
            }
            Expr::Not(inner) => match inner.as_ref() {
                Expr::Bin { op: BinOp::Xor, lhs, rhs } => {
                    let (a, b) = (self.expr(lhs), self.expr(rhs));
                    a.into_iter().zip(b).map(|(x, y)| m.xor(x, y, true)).collect()
                }
                other => self.expr(other).into_iter().map(|b| m.not(b)).collect(),
            },
            Expr::Bin { op, lhs, rhs } => {
                let (a, b) = (self.expr(lhs), self.expr(rhs));
                match op {
                    BinOp::And => a.into_iter().zip(b).map(|(x, y)| m.and(x, y)).collect(),
                    BinOp::Or => a.into_iter().zip(b).map(|(x, y)| m.or(x, y)).collect(),
                    BinOp::Xor => a.into_iter().zip(b).map(|(x, y)| m.xor(x, y, false)).collect(),
                    BinOp::Add => m.add(&a, &b, false).0,
                    BinOp::Sub => {
                        let nb: Vec<Bit> = b.into_iter().map(|x| m.not(x)).collect();
                        m.add(&a, &nb, true).0
                    }
                    BinOp::Mul => m.mul(&a, &b),
                }
            }
            Expr::Mux { sel, when_true, when_false } => {
                let sel = self.expr(sel)[0];
                let (a, b) = (self.expr(when_true), self.expr(when_false));
                a.into_iter().zip(b).map(|(x, y)| m.mux(sel, x, y)).collect()
            }
            Expr::ReduceAnd(inner) => {
                let bits = self.expr(inner);
                vec![m.reduce(&bits, Model::and, true)]
            }
            Expr::ReduceOr(inner) => {
                let bits = self.expr(inner);
                vec![m.reduce(&bits, Model::or, false)]
            }
            Expr::Compare { op, signed, lhs, rhs } => {
                let (a, b) = (self.expr(lhs), self.expr(rhs));
                vec![m.compare(*op, *signed, a, b)]
            }
        }
    }
}

/// The critical path of the analytic model.
#[derive(Clone, Debug, Serialize)]
pub struct AnalyticTiming {
    pub source: String,
    pub settings: String,
    pub critical_path_ps: f64,
    pub fmax_mhz: f64,
    /// Gates of each kind along the longest path, in path order
    /// (clock-to-Q first and setup last when the path has them).
    pub path: Vec<(String, u32)>,
    /// The delay used for each kind, ps, and where it came from.
    pub delays_ps: BTreeMap<String, f64>,
    pub delay_sources: BTreeMap<String, String>,
}

/// The analytic power at the analytic maximum clock.
#[derive(Clone, Debug, Serialize)]
pub struct AnalyticPower {
    pub source: String,
    pub settings: String,
    pub at_mhz: f64,
    pub total_mw: f64,
    pub by_kind_uw: BTreeMap<String, f64>,
    /// Of the total: the Liberty-priced kinds' dynamic energy per cycle, pJ
    /// (uW per MHz); the paper's per-gate figures have no clock to scale with.
    pub liberty_kinds_pj_per_cycle: f64,
    pub leakage_uw: f64,
    /// Kinds without a single cell to price them.
    pub unpriced: Vec<String>,
}

fn ps(seconds: f64) -> f64 {
    seconds * 1e12
}

/// The load every gate drives in the model: four minimum inverters.
fn fanout_load(lib: &liberty::Library) -> Result<(f64, String), String> {
    let inv = CellKind::Inverter.cell_in(lib)?;
    let cap = lib.cells[inv].inputs().map(|(_, p)| p.capacitance).next().unwrap_or(0.0);
    Ok((FANOUT * cap, inv.clone()))
}

/// Per kind: the delay (ps) and where it came from.
type DelaySources = BTreeMap<String, (f64, String)>;

/// Per-kind delays: the paper's XNOR2 and AND2, Liberty tables for the rest.
fn delays(lib: &liberty::Library) -> Result<(Delays, DelaySources), String> {
    let (load, inv) = fanout_load(lib)?;
    let at = format!("10 ps input slew, {FANOUT} x {inv} input load");
    let mut shown = BTreeMap::new();
    shown.insert("xnor2".to_string(), (PAPER_XNOR2.delay_ps, "paper XNOR2".to_string()));
    shown.insert("and2".to_string(), (PAPER_AND2.delay_ps, "paper AND2".to_string()));
    let mut worst = |kind: CellKind, label: &str, outputs: &dyn Fn(&str) -> bool, arc: &str| -> Result<f64, String> {
        let name = kind.cell_in(lib)?;
        let cell = &lib.cells[name];
        let d = cell
            .outputs()
            .filter(|(o, _)| outputs(o))
            .filter_map(|(o, _)| cell.delay(o, arc, SLEW, load))
            .reduce(f64::max)
            .ok_or_else(|| format!("{name} has no {arc} delay table"))?;
        shown.insert(label.to_string(), (ps(d), format!("{name}, worst edge, {at}")));
        Ok(ps(d))
    };
    let any = |_: &str| true;
    let carry = |o: &str| o.to_ascii_uppercase().starts_with("CO");
    let sum = |o: &str| !o.to_ascii_uppercase().starts_with("CO");
    let inv_ps = worst(CellKind::Inverter, "inv", &any, "combinational")?;
    let xor2 = worst(CellKind::Xor2, "xor2", &any, "combinational")?;
    let or2 = worst(CellKind::Or2, "or2", &any, "combinational")?;
    let fa_carry = worst(CellKind::FullAdder, "fa_carry", &carry, "combinational")?;
    let fa_sum = worst(CellKind::FullAdder, "fa_sum", &sum, "combinational")?;
    let clk_to_q = worst(CellKind::FlipFlop, "clk_to_q", &any, "rising_edge")?;
    let ff = CellKind::FlipFlop.cell_in(lib)?;
    let setup = lib.cells[ff]
        .inputs()
        .filter(|(_, p)| !p.clock)
        .filter_map(|(d, _)| lib.cells[ff].setup(d, SLEW))
        .reduce(f64::max)
        .ok_or_else(|| format!("{ff} has no setup constraint"))?;
    shown.insert("setup".to_string(), (ps(setup), format!("{ff}, worst edge, 10 ps slews")));
    let d = Delays {
        xnor2: PAPER_XNOR2.delay_ps,
        and2: PAPER_AND2.delay_ps,
        inv: inv_ps,
        xor2,
        or2,
        fa_carry,
        fa_sum,
        clk_to_q,
        setup: ps(setup),
    };
    Ok((d, shown))
}

/// The longest path of `design`, bit by bit, with the model's gate delays.
pub fn timing(design: &Design, lib: &liberty::Library, shown: &str) -> Result<AnalyticTiming, String> {
    let (d, sources) = delays(lib)?;
    let model = Model { delays: d };
    let top = design.top_module();
    let inputs = top
        .ports
        .iter()
        .filter(|&&p| top.signal(p).kind == SigKind::Port(Dir::In))
        .map(|&p| (p, vec![Bit::At(Arrival::default()); top.signal(p).width as usize]))
        .collect();
    let mut eval = Eval::new(&model, design, top, inputs);
    eval.finish(true);
    let worst = eval.worst.unwrap_or_default();
    let path = STEPS.iter().zip(worst.steps).filter(|(_, n)| *n > 0).map(|(s, n)| (s.to_string(), n)).collect();
    Ok(AnalyticTiming {
        source: format!("analytic: the generator's RTL, paper gate delays (XNOR2, AND2) and {shown}"),
        settings: "every bit's arrival propagated through the generator's expressions: bitwise XNOR/AND/OR/XOR \
                   one gate each, +/- and orderings (<, >=, ...) as ripple-carry full adders (a constant input makes \
                   an adder bit a wire or an inverter, two or three varying inputs cost the full adder's carry or sum \
                   delay), equality as XNOR2s into an AND2 tree, 2:1 multiplexers (and registers' enables) as an \
                   inverted select, AND2 and OR2, truncated products as AND2 rows summed by ripple adders; paths \
                   start at clock-to-Q (inputs at 0 ps, memory read data at clock-to-Q) and end at a register or \
                   block RAM input plus setup or at an output; reset logic and wires are not modelled"
            .into(),
        critical_path_ps: worst.ps,
        fmax_mhz: if worst.ps > 0.0 { 1e6 / worst.ps } else { f64::INFINITY },
        path,
        delays_ps: sources.iter().map(|(k, (v, _))| (k.clone(), *v)).collect(),
        delay_sources: sources.into_iter().map(|(k, (_, s))| (k, s)).collect(),
    })
}

/// Energy per cycle (J) and leakage (W) of one Liberty cell in the model:
/// ACTIVITY transitions per cycle on every output and data input, two on a
/// clock pin, each output driving `load`.
fn cell_energy(cell: &liberty::Cell, load: f64, voltage: f64) -> (f64, f64) {
    let mut e = 0.0;
    for p in cell.pins.values() {
        let rate = if p.clock { 2.0 } else { ACTIVITY };
        let pin_load = if p.direction == Direction::Output { load } else { 0.0 };
        e += rate * p.energy_per_transition(SLEW, pin_load, |_| 1.0);
        if p.direction == Direction::Output {
            e += rate * 0.5 * load * voltage * voltage;
        }
    }
    (e, cell.leakage)
}

/// Generator counts x per-gate power at the clock `mhz`.
pub fn power(
    counts: &BTreeMap<String, u64>,
    lib: &liberty::Library,
    mhz: f64,
    shown: &str,
) -> Result<AnalyticPower, String> {
    let (load, inv) = fanout_load(lib)?;
    let mut by_kind = BTreeMap::new();
    let (mut energy, mut leakage) = (0.0, 0.0);
    let mut unpriced = vec![];
    for (kind, &n) in counts {
        let n = n as f64;
        let uw = match kind.as_str() {
            "xnor2" => n * PAPER_XNOR2.power_nw / 1e3,
            "and2" => n * PAPER_AND2.power_nw / 1e3,
            other => match cell_for(other, lib) {
                Some(c) => {
                    let (e, leak) = cell_energy(&lib.cells[c], load, lib.voltage);
                    energy += n * e;
                    leakage += n * leak;
                    n * (e * mhz * 1e6 + leak) * 1e6
                }
                None => {
                    unpriced.push(kind.clone());
                    continue;
                }
            },
        };
        by_kind.insert(kind.clone(), uw);
    }
    Ok(AnalyticPower {
        source: format!("analytic: generator counts x paper gate power (XNOR2, AND2) and {shown}"),
        settings: format!(
            "XNOR2 and AND2: the paper's per-gate power as given (it states no activity or clock); other kinds: \
             Liberty leakage plus, per cycle, {ACTIVITY} transitions on every output and data input and 2 on a \
             clock pin, each costing the internal energy (rise/fall mean, power pins summed) at 10 ps slew and \
             1/2 C V^2 of the output's load ({FANOUT} x {inv} inputs) at nom_voltage {} V; clock: the analytic \
             maximum",
            lib.voltage
        ),
        at_mhz: mhz,
        total_mw: by_kind.values().sum::<f64>() / 1e3,
        by_kind_uw: by_kind,
        liberty_kinds_pj_per_cycle: energy * 1e12,
        leakage_uw: leakage * 1e6,
        unpriced,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> Model {
        Model {
            delays: Delays {
                xnor2: 10.0,
                and2: 9.0,
                inv: 3.0,
                xor2: 12.0,
                or2: 8.0,
                fa_carry: 20.0,
                fa_sum: 25.0,
                clk_to_q: 40.0,
                setup: 5.0,
            },
        }
    }

    fn at(ps: f64) -> Bit {
        Bit::At(Arrival { ps, ..Arrival::default() })
    }

    fn time(b: Bit) -> f64 {
        match b {
            Bit::At(a) => a.ps,
            Bit::Const(_) => f64::NAN,
        }
    }

    #[test]
    fn ripple_adder_delay_is_carries_then_a_sum() {
        let m = model();
        let (s, c) = m.add(&[at(0.0); 4], &[at(0.0); 4], false);
        // Bit 0 is a half adder (two varying inputs): carry at 20, sum at 25;
        // bit i's sum waits for i carries.
        assert_eq!(s.iter().map(|&b| time(b)).collect::<Vec<_>>(), [25.0, 45.0, 65.0, 85.0]);
        assert_eq!(time(c), 80.0);
        // Adding a constant 1 to one varying bit: an inverter for the sum, a wire for the carry.
        let (s, c) = m.add(&[at(7.0)], &[Bit::Const(true)], false);
        assert_eq!((time(s[0]), time(c)), (10.0, 7.0));
        let (s, c) = m.add(&[Bit::Const(true)], &[Bit::Const(true)], true);
        assert!(matches!((s[0], c), (Bit::Const(true), Bit::Const(true))));
    }

    #[test]
    fn bitwise_gates_fold_constants() {
        let m = model();
        assert_eq!(time(m.xor(at(1.0), at(2.0), true)), 12.0);
        assert!(matches!(m.xor(at(1.0), Bit::Const(true), true), Bit::At(a) if a.ps == 1.0));
        assert_eq!(time(m.xor(at(1.0), Bit::Const(false), true)), 4.0);
        assert!(matches!(m.and(at(1.0), Bit::Const(false)), Bit::Const(false)));
        assert_eq!(time(m.reduce(&[at(0.0); 5], Model::and, true)), 27.0);
    }

    #[test]
    fn a_mux_is_timed_as_and_or_and_a_constant_select_is_a_wire() {
        let m = model();
        // The select's inverter (3), an AND2 (9) and the OR2 (8).
        assert_eq!(time(m.mux(at(0.0), at(0.0), at(0.0))), 20.0);
        assert_eq!(time(m.mux(at(0.0), at(50.0), at(0.0))), 67.0);
        assert!(matches!(m.mux(Bit::Const(false), at(1.0), at(7.0)), Bit::At(a) if a.ps == 7.0));
    }

    /// Every comparison of constant 3-bit operands folds to the right value,
    /// unsigned and two's complement.
    #[test]
    fn comparisons_fold_to_their_values() {
        let m = model();
        let bits = |v: i64| (0..3).map(|i| Bit::Const((v >> i) & 1 == 1)).collect::<Vec<_>>();
        type Holds = fn(i64, i64) -> bool;
        let ops: [(Comparison, Holds); 6] = [
            (Comparison::Eq, |x, y| x == y),
            (Comparison::Ne, |x, y| x != y),
            (Comparison::Lt, |x, y| x < y),
            (Comparison::Le, |x, y| x <= y),
            (Comparison::Gt, |x, y| x > y),
            (Comparison::Ge, |x, y| x >= y),
        ];
        for (op, holds) in ops {
            for (x, y) in (0..8).flat_map(|x| (0..8).map(move |y| (x, y))) {
                let signed = |v: i64| if v >= 4 { v - 8 } else { v };
                for (is_signed, want) in [(false, holds(x, y)), (true, holds(signed(x), signed(y)))] {
                    let got = m.compare(op, is_signed, bits(x), bits(y));
                    assert!(matches!(got, Bit::Const(v) if v == want), "{op:?} signed {is_signed}: {x} vs {y}");
                }
            }
        }
        // 4-bit equality: XNOR2s, then two levels of AND2.
        assert_eq!(time(m.compare(Comparison::Eq, false, vec![at(0.0); 4], vec![at(0.0); 4])), 28.0);
    }

    /// A memory's read data leaves a register; a register with an enable
    /// samples its hold mux, whose select (the enable) goes through the inverter.
    #[test]
    fn memory_read_data_starts_at_clock_to_q_and_an_enable_costs_a_mux() {
        let mut top = Module::new("top");
        top.clock_input();
        let addr = top.input("addr", 2);
        let en = top.input("en", 1);
        let en_q = top.reg("en_q", en, None);
        let rom = top.memory("rom", 3, 4, crate::rtl::MemoryInit::Const(vec![]));
        let word = top.read_port(rom, addr, en_q.clone());
        top.reg_en("held", word, en_q, None);
        let mut design = Design { top: "top".into(), ..Design::default() };
        design.add(top);
        let m = model();
        let mut eval = Eval::new(&m, &design, design.top_module(), HashMap::new());
        eval.finish(true);
        let worst = eval.worst.unwrap();
        assert_eq!(worst.ps, 40.0 + 3.0 + 9.0 + 8.0 + 5.0);
        assert_eq!(worst.steps, [1, 0, 1, 1, 0, 1, 0, 0, 1]);
    }

    /// A registered 4-bit popcount-like sum of two XNORs: the path is
    /// clock-to-Q, an XNOR2, a ripple add, and setup, counted gate by gate.
    #[test]
    fn longest_path_through_registers_and_instances() {
        let mut child = Module::new("child");
        let a = child.port("a", Dir::In, 2, false);
        let b = child.port("b", Dir::In, 2, false);
        let y = child.port("y", Dir::Out, 2, false);
        let x = child.wire("x", Expr::invert(Expr::bin(BinOp::Xor, a, b)));
        child.drive(&y, x);
        let mut top = Module::new("top");
        top.clock_input();
        let a = top.input("a", 2);
        let w = top.input("w", 2);
        let a_q = top.reg("a_q", a, None);
        let w_q = top.reg("w_q", w, None);
        let x = top.instance_wire("x", 2);
        top.instance(&child, "u", vec![("a", a_q), ("b", w_q), ("y", x.clone())]);
        let sum = top.wire("sum", Expr::bin(BinOp::Add, x.clone(), x));
        let y_q = top.reg("y_q", sum, None);
        let y = top.port("y", Dir::Out, 2, false);
        top.drive(&y, y_q);
        let mut design = Design { top: "top".into(), ..Design::default() };
        design.add(child);
        design.add(top);
        let m = model();
        let mut eval = Eval::new(&m, &design, design.top_module(), HashMap::new());
        eval.finish(true);
        let worst = eval.worst.unwrap();
        // 40 clock-to-Q + 10 XNOR + bit 1's sum after bit 0's carry (20 + 25) + 5 setup.
        assert_eq!(worst.ps, 100.0);
        assert_eq!(worst.steps, [1, 1, 0, 0, 0, 0, 1, 1, 1]);
    }
}
