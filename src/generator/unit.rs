//! Block generators: build the typed RTL of a design from its parameters.
//!
//! Every top module has the interface of SPEC section 4: input registers,
//! a levelled datapath with registers every `pipeline` levels, an output
//! register, and a reset-cleared valid chain beside the data.

use super::tree::{self, Count, Schedule, Term, fit_result};
use crate::rtl::{BinOp, Comparison, Const, Design, Dir, Expr, Module};
use crate::spec::params::PopcountStyle;
use crate::spec::params::{Block, DesignParams, Weights};
use crate::spec::range;
use crate::spec::signature::{Interface, Role, Signature};
use crate::util::bits::BitVec;

/// A generated design and the facts the manifest reports about it.
#[derive(Debug)]
pub struct Generated {
    pub design: Design,
    /// The top module's ports with their roles, and its interface.
    pub signature: Signature,
    /// Levels of logic between the input and the output registers.
    pub depth: u32,
    pub y_width: u32,
    pub y_signed: bool,
    /// Popcount inputs that remain after constant weights are folded.
    pub popcount_inputs: usize,
}

impl Generated {
    /// Cycles from an input to its result (SPEC section 4).
    pub fn latency(&self) -> u32 {
        self.signature.latency().expect("a unit has a fixed latency")
    }
}

/// The bitwise operation in front of a lane's popcount.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LaneOp {
    /// Popcount of the input itself.
    Pass,
    Xnor,
    And,
}

/// One lane: which input bits it reads and how, and its popcount's depth.
#[derive(Clone)]
struct LaneSpec {
    op: LaneOp,
    n: usize,
    weights: Option<BitVec>,
    /// The level of its first logic (after any front end).
    first_level: u32,
    style: PopcountStyle,
}

impl LaneSpec {
    /// Input bits that reach the popcount (an AND with a constant 0 drops one).
    fn kept_bits(&self) -> Vec<usize> {
        match (self.op, &self.weights) {
            (LaneOp::And, Some(w)) => (0..self.n).filter(|&i| w.get(i)).collect(),
            _ => (0..self.n).collect(),
        }
    }

    fn levels(&self) -> u32 {
        let kept = self.kept_bits().len();
        if kept == 0 { 0 } else { tree::popcount_levels(kept, self.style) }
    }

    /// The level of its last logic.
    fn last_level(&self) -> u32 {
        self.first_level + self.levels() - 1
    }

    /// The popcount module's name: only the count of its inputs and its
    /// register positions matter, not the weights in front of it, so lanes
    /// with different constant weights share one module.
    fn popcount_name(&self, pipeline: u32) -> String {
        // Register positions depend on the first level only when pipelined.
        let offset =
            if pipeline > 0 && self.first_level != 1 { format!("_o{}", self.first_level) } else { String::new() };
        format!("popcnt_{}_n{}_p{pipeline}{offset}", self.style.name(), self.kept_bits().len())
    }
}

/// FNV-1a, folded to 32 bits: a stable short name for a constant vector.
fn fnv1a32(text: &str) -> u32 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (h ^ (h >> 32)) as u32
}

/// A lane's popcount tree, with the registers of every stage boundary
/// strictly inside it. Ports: `clk` (if it has registers), `x` (the bits
/// to count), `pop`.
fn popcount_module(spec: &LaneSpec, sched: &Schedule) -> (Module, Count) {
    let mut m = Module::new(&spec.popcount_name(sched.pipeline));
    if (spec.first_level..spec.last_level()).any(|l| sched.register_after(l)) {
        m.clock_input();
    }
    let x = m.input("x", spec.kept_bits().len() as u32);
    let count = tree::popcount(&mut m, &x, sched, spec.first_level, spec.style, "pc_");
    let pop = m.port("pop", Dir::Out, count.expr.width(), false);
    m.drive(&pop, count.expr.clone());
    let out = Count { expr: pop, max: count.max };
    (m, out)
}

/// The bitwise layer in front of a lane's popcount, if it has any logic:
/// XNOR or AND with weight ports, XNOR with constants (inverters where the
/// weight is 0). An AND with constants only selects inputs: no module.
fn bitwise_module(spec: &LaneSpec) -> Option<Module> {
    let n = spec.n as u32;
    let name = match (spec.op, &spec.weights) {
        (LaneOp::Xnor, None) => format!("xnor_n{n}"),
        (LaneOp::And, None) => format!("and_n{n}"),
        (LaneOp::Xnor, Some(w)) if w.count_ones() < spec.n as u64 => format!("xnor_n{n}_c{:08x}", fnv1a32(&w.to_hex())),
        _ => return None,
    };
    let mut m = Module::new(&name);
    let a = m.input("a", n);
    let e = match (spec.op, &spec.weights) {
        (LaneOp::Xnor, None) => {
            let w = m.input("w", n);
            Expr::invert(Expr::bin(BinOp::Xor, a, w))
        }
        (_, None) => {
            let w = m.input("w", n);
            Expr::bin(BinOp::And, a, w)
        }
        (_, Some(w)) => Expr::bin(BinOp::Xor, a, Expr::constant(Const::from_words(n, w.not().words().to_vec()))),
    };
    let x = m.port("x", Dir::Out, n, false);
    m.drive(&x, e);
    Some(m)
}

/// Contiguous runs `(lo, len)` of the given sorted bit indices.
fn runs(bits: &[usize]) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = vec![];
    for &b in bits {
        match out.last_mut() {
            Some((lo, len)) if *lo + *len == b => *len += 1,
            _ => out.push((b, 1)),
        }
    }
    out
}

/// Gathers the listed bits of `e` into one vector, bit 0 first.
fn gather(e: &Expr, bits: &[usize]) -> Expr {
    let parts: Vec<Expr> = runs(bits).into_iter().rev().map(|(lo, len)| e.slice(lo as u32, len as u32)).collect();
    Expr::concat(parts)
}

/// Bits `k * stride + offset` of an input port, element k first: a whole
/// port (stride 1) or one bit plane of packed multi-bit elements.
#[derive(Clone, Debug, PartialEq, Eq)]
struct PortBits {
    name: String,
    stride: usize,
    offset: usize,
}

impl PortBits {
    fn whole(name: String) -> PortBits {
        PortBits { name, stride: 1, offset: 0 }
    }

    fn positions(&self, elements: &[usize]) -> Vec<usize> {
        elements.iter().map(|k| k * self.stride + self.offset).collect()
    }
}

/// Where a lane's input vector comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Source {
    Port(PortBits),
    /// PA-Net activation base j, from the comparator front end.
    PaBase(usize),
}

/// One lane of a design: its popcount, its input, its weight port and its
/// coefficient in the scale tree.
struct LanePlan {
    spec: LaneSpec,
    source: Source,
    weight_port: Option<PortBits>,
    coef: i128,
}

impl LanePlan {
    fn active(&self) -> bool {
        self.coef != 0 && !self.spec.kept_bits().is_empty()
    }
}

/// The lanes of `p` and the constant added to their scaled sum:
/// y = sum_i coef_i * popcount_i + offset. An XNOR lane with constant
/// weights becomes two selections of its input: popcount(xnor(a, w)) =
/// popcount(a & w) + zeros(w) - popcount(a & ~w). No inverters then: on
/// FPGAs an inverted bit cannot enter a carry chain without a LUT of its own.
fn plan(p: &DesignParams) -> (Vec<LanePlan>, i128) {
    let (lanes, mut offset) = plan_lanes(p);
    let mut split = vec![];
    for lane in lanes {
        match (&lane.spec.op, &lane.spec.weights) {
            (LaneOp::Xnor, Some(w)) => {
                let zeros = (lane.spec.n as u64 - w.count_ones()) as i128;
                offset += lane.coef * zeros;
                let select = |weights: BitVec, coef: i128| LanePlan {
                    spec: LaneSpec { op: LaneOp::And, weights: Some(weights), ..lane.spec.clone() },
                    source: lane.source.clone(),
                    weight_port: None,
                    coef,
                };
                split.push(select(w.clone(), lane.coef));
                split.push(select(w.not(), -lane.coef));
            }
            _ => split.push(lane),
        }
    }
    (split, offset)
}

fn plan_lanes(p: &DesignParams) -> (Vec<LanePlan>, i128) {
    let n = p.len;
    let lane = |op, i: usize, first_level, source, coef| LanePlan {
        spec: LaneSpec { op, n, weights: p.const_weights(i).cloned(), first_level, style: p.popcount },
        source,
        weight_port: (op != LaneOp::Pass && p.const_weights(i).is_none()).then(|| PortBits::whole(p.lane_weight(i))),
        coef,
    };
    let a = || Source::Port(PortBits::whole("a".into()));
    match p.block {
        Block::Popcount => (vec![lane(LaneOp::Pass, 0, 1, a(), 1)], 0),
        Block::AndPe => (vec![lane(LaneOp::And, 0, 1, a(), 1)], 0),
        Block::XnorPe | Block::Binary => (vec![lane(LaneOp::Xnor, 0, 1, a(), 2)], -(n as i128)),
        Block::GroupNet => (
            (0..p.lanes)
                .map(|i| {
                    lane(LaneOp::Xnor, i, 1, Source::Port(PortBits::whole(p.lane_input(i))), 2 * p.lambdas[i] as i128)
                })
                .collect(),
            -(n as i128) * p.lambdas.iter().map(|&l| l as i128).sum::<i128>(),
        ),
        Block::Pa => (
            (0..p.lanes)
                .flat_map(|i| (0..p.act_bases()).map(move |j| (i, j)))
                .map(|(i, j)| lane(LaneOp::And, i, 2, Source::PaBase(j), p.phi[i][j] as i128))
                .collect(),
            0,
        ),
        Block::FixedPoint => {
            // Plane i of a times plane j of w, weighted 2^(i+j), as +1/-1 dot products.
            let k = p.bits as usize;
            let top = (1i128 << k) - 1;
            let planes = |i: usize, j: usize| LanePlan {
                spec: LaneSpec {
                    op: LaneOp::Xnor,
                    n,
                    weights: p.const_weights(0).map(|w| w.plane(n, p.bits, j as u32)),
                    first_level: 1,
                    style: p.popcount,
                },
                source: Source::Port(PortBits { name: "a".into(), stride: k, offset: i }),
                weight_port: (p.weights == Weights::Port).then(|| PortBits { name: "w".into(), stride: k, offset: j }),
                coef: 2 << (i + j),
            };
            (
                (0..k).flat_map(|i| (0..k).map(move |j| (i, j))).map(|(i, j)| planes(i, j)).collect(),
                -(n as i128) * top * top,
            )
        }
        Block::PaQuantizer | Block::Mac => (vec![], 0),
    }
}

/// The top module under construction: ports, input registers (only of the
/// bits something reads) and the record of which port bits are read.
struct Top {
    m: Module,
    ports: Vec<(String, Expr)>,
    used: Vec<Vec<bool>>,
    registered: Vec<(String, Vec<usize>, Expr)>,
    /// Delayed copies of registered inputs, by name and stage.
    delays: Vec<(String, Expr)>,
}

impl Top {
    fn port(&self, name: &str) -> (usize, Expr) {
        let i = self.ports.iter().position(|(n, _)| n == name).expect("port exists");
        (i, self.ports[i].1.clone())
    }

    /// The listed bits of input port `name`, registered once.
    fn input_bits(&mut self, name: &str, bits: Vec<usize>) -> Expr {
        let (i, port) = self.port(name);
        for &b in &bits {
            self.used[i][b] = true;
        }
        if let Some((_, _, q)) = self.registered.iter().find(|(n, b, _)| n == name && *b == bits) {
            return q.clone();
        }
        let q = self.m.reg(&format!("{name}_q"), gather(&port, &bits), None);
        self.registered.push((name.to_string(), bits, q.clone()));
        q
    }

    /// `value` (registered input `name`) delayed through every register
    /// stage before `level`, once per name.
    fn delayed(&mut self, name: &str, value: Expr, level: u32, sched: &Schedule) -> Expr {
        let mut v = value;
        for l in 1..level {
            if sched.register_after(l) {
                let key = format!("{name}_r{l}");
                v = match self.delays.iter().find(|(k, _)| *k == key) {
                    Some((_, e)) => e.clone(),
                    None => {
                        let e = self.m.reg(&key, v, None);
                        self.delays.push((key, e.clone()));
                        e
                    }
                };
            }
        }
        v
    }

    /// Input bits nothing reads go into one `unused_*` wire (Verilator's
    /// convention for deliberately unread bits), so lint stays clean
    /// without waivers.
    fn collect_unused(&mut self) {
        let mut parts = vec![Expr::zeros(1)];
        for ((_, e), used) in self.ports.iter().zip(&self.used) {
            let idle: Vec<usize> = (0..used.len()).filter(|&b| !used[b]).collect();
            parts.extend(runs(&idle).into_iter().map(|(lo, len)| e.slice(lo as u32, len as u32)));
        }
        if parts.len() > 1 {
            self.m.wire("unused_inputs", Expr::reduce_and(Expr::concat(parts)));
        }
    }
}

/// The PA-Net comparator front end (logic level 1): for each live element
/// and endpoint, `act >= v_j`; base j is `ge_j & ~ge_{j+1}`, the last base
/// `ge_N`. Returns the needed bases, indexed by j, over the live elements.
fn pa_front(top: &mut Top, p: &DesignParams, live: &[usize], needed: &[bool]) -> Vec<Option<Expr>> {
    let b = p.act_bits as usize;
    let bits: Vec<usize> = live.iter().flat_map(|&k| k * b..(k + 1) * b).collect();
    let act = top.input_bits("act", bits);
    let nb = p.act_bases();
    let min = -(1i64 << (b - 1));
    let ge_needed: Vec<bool> = (0..nb).map(|j| needed[j] || (j > 0 && needed[j - 1])).collect();
    // Signed compare as unsigned: flip the sign bit of both sides.
    let flip = |v: i64| Const::from_u128(b as u32, ((v - min) as u128) & ((1u128 << b) - 1));
    let ge: Vec<Option<Expr>> = (0..nb)
        .map(|j| {
            if !ge_needed[j] || p.endpoints[j] == min {
                return None; // not needed, or always true
            }
            let bitsv: Vec<Expr> = (0..live.len())
                .rev()
                .map(|e| {
                    let lo = (e * b) as u32;
                    let sign = Expr::invert(act.bit(lo + b as u32 - 1));
                    let elem = if b == 1 { sign } else { Expr::concat(vec![sign, act.slice(lo, b as u32 - 1)]) };
                    Expr::compare(Comparison::Ge, elem, Expr::constant(flip(p.endpoints[j])))
                })
                .collect();
            Some(top.m.wire(&format!("ge{j}"), Expr::concat(bitsv)))
        })
        .collect();
    let width = live.len() as u32;
    (0..nb)
        .map(|j| {
            if !needed[j] {
                return None;
            }
            // ge_j is None only when v_j is the smallest activation (always true).
            let above = if j + 1 < nb { ge[j + 1].clone().map(Expr::invert) } else { None };
            let e = match (ge[j].clone(), above) {
                (Some(g), Some(a)) => Expr::bin(BinOp::And, g, a),
                (Some(g), None) => g,
                (None, Some(a)) => a,
                (None, None) => Expr::constant(Const::from_words(width, vec![u64::MAX; width.div_ceil(64) as usize])),
            };
            Some(top.m.wire(&format!("base{j}"), e))
        })
        .collect()
}

/// Multiply-accumulate leaves: with constant weights, one `(element, shift,
/// negative)` per canonical signed digit of each weight; with weight
/// ports, one product per element.
fn mac_digits(p: &DesignParams) -> Vec<(usize, u32, bool)> {
    match p.const_weights(0) {
        Some(w) => (0..p.len)
            .flat_map(|k| tree::csd(w.signed_element(k, p.bits) as i128).into_iter().map(move |(s, n)| (k, s, n)))
            .collect(),
        None => (0..p.len).map(|k| (k, 0, false)).collect(),
    }
}

/// The multiply-accumulate's scale-tree leaves: shifted activations for
/// constant weights (a shift-and-add multiplier per weight), or one
/// two's-complement multiplier per element (level 1) for weight ports.
fn mac_terms(top: &mut Top, p: &DesignParams, sched: &Schedule) -> Vec<Term> {
    let b = p.bits as usize;
    let range = (-(1i128 << (b - 1)), (1i128 << (b - 1)) - 1);
    let digits = mac_digits(p);
    let mut elements: Vec<usize> = digits.iter().map(|d| d.0).collect();
    elements.dedup();
    let a_bits: Vec<usize> = elements.iter().flat_map(|&k| k * b..(k + 1) * b).collect();
    if a_bits.is_empty() {
        return vec![];
    }
    let a = top.input_bits("a", a_bits);
    let element = |e: &Expr, i: usize| e.slice((i * b) as u32, b as u32);
    if p.const_weights(0).is_some() {
        return digits
            .iter()
            .map(|&(k, shift, neg)| {
                let i = elements.binary_search(&k).unwrap();
                Term::ranged(element(&a, i), k, range, shift, neg)
            })
            .collect();
    }
    let w = top.input_bits("w", (0..p.len * b).collect());
    let product_range = (range.0 * range.1, range.0 * range.0);
    (0..p.len)
        .map(|k| {
            let wide = 2 * b as u32;
            let ext = |e: Expr| e.extend(wide, true);
            let prod = Expr::bin(BinOp::Mul, ext(element(&a, k)), ext(element(&w, k)));
            let mut e = top.m.wire(&format!("prod{k}"), prod);
            if sched.register_after(1) {
                e = top.m.reg(&format!("prod{k}_r1"), e, None);
            }
            Term::ranged(e, k, product_range, 0, false)
        })
        .collect()
}

/// Where the pipeline registers go: the scale tree's shape depends only on
/// the coefficients, so the depth (and with it every register position) is
/// known before any logic. Returns the last level of the lanes, and the schedule.
fn schedule(p: &DesignParams, active: &[&LanePlan], front_levels: u32, offset: i128) -> (u32, Schedule) {
    let lanes_end = active.iter().map(|l| l.spec.last_level()).max().unwrap_or(front_levels);
    let mut shape: Vec<Term> = vec![];
    for (i, l) in active.iter().enumerate() {
        shape.extend(tree::csd(l.coef).into_iter().map(|(shift, neg)| Term::signal(Expr::zeros(1), i, 1, shift, neg)));
    }
    if p.block == Block::Mac {
        shape.extend(mac_digits(p).into_iter().map(|(k, shift, neg)| Term::signal(Expr::zeros(1), k, 1, shift, neg)));
    }
    shape.extend(Term::constant(offset));
    let depth = (lanes_end + tree::scale_tree_levels(&shape)).max(1);
    (lanes_end, Schedule { pipeline: p.pipeline, depth })
}

/// The top module's ports (SPEC section 4), with their roles in order.
struct TopPorts {
    in_valid: Expr,
    out_valid: Expr,
    y: Expr,
    roles: Vec<Role>,
}

fn top_ports(p: &DesignParams) -> (Top, TopPorts) {
    let mut m = Module::new(&p.top);
    m.clock_input();
    m.reset_input();
    let in_valid = m.input("in_valid", 1);
    let ports: Vec<(String, Expr)> =
        p.input_ports().iter().map(|ps| (ps.name.clone(), m.input(&ps.name, ps.width as u32))).collect();
    let out_valid = m.port("out_valid", Dir::Out, 1, false);
    let y = m.port("y", Dir::Out, range::output_width(p), range::output_signed(p));
    let mut roles = vec![Role::Clock, Role::Reset, Role::InValid];
    roles.extend(ports.iter().map(|_| Role::Data));
    roles.extend([Role::OutValid, Role::Result]);
    let used = ports.iter().map(|(_, e)| vec![false; e.width() as usize]).collect();
    (Top { m, ports, used, registered: vec![], delays: vec![] }, TopPorts { in_valid, out_valid, y, roles })
}

/// The PA-Net front end, only for elements some popcount reads: the bases
/// by index, and the live elements they cover.
fn front_end(
    top: &mut Top,
    p: &DesignParams,
    active: &[&LanePlan],
    sched: &Schedule,
) -> (Vec<Option<Expr>>, Vec<usize>) {
    let mut is_live = vec![p.block == Block::PaQuantizer; p.len];
    let mut needed = vec![p.block == Block::PaQuantizer; p.act_bases()];
    for l in active {
        l.spec.kept_bits().into_iter().for_each(|k| is_live[k] = true);
        if let Source::PaBase(j) = l.source {
            needed[j] = true;
        }
    }
    let live: Vec<usize> = (0..p.len).filter(|&k| is_live[k]).collect();
    if live.is_empty() {
        return (vec![], live);
    }
    let mut bases = pa_front(top, p, &live, &needed);
    if sched.register_after(1) {
        bases =
            bases.into_iter().enumerate().map(|(j, b)| b.map(|e| top.m.reg(&format!("base{j}_r1"), e, None))).collect();
    }
    (bases, live)
}

/// What a lane reads from the front end.
struct FrontEnd<'a> {
    bases: &'a [Option<Expr>],
    live: &'a [usize],
}

/// Lane `i`: its input bits, bitwise layer and popcount, the count delayed
/// to where the scale tree starts; returns its scale-tree terms.
fn lane(
    top: &mut Top,
    design: &mut Design,
    (i, lane): (usize, &LanePlan),
    front: &FrontEnd,
    (sched, lanes_end): (&Schedule, u32),
) -> Vec<Term> {
    let kept = lane.spec.kept_bits();
    let input = match &lane.source {
        Source::Port(bits) => top.input_bits(&bits.name, bits.positions(&kept)),
        Source::PaBase(j) => {
            // Positions of the kept elements among the live ones.
            let at: Vec<usize> = kept.iter().map(|k| front.live.binary_search(k).unwrap()).collect();
            gather(front.bases[*j].as_ref().unwrap(), &at)
        }
    };
    // The bitwise layer is its own module, so that reports can tell it
    // from the popcount tree (synthesis flattens it away).
    let x = match bitwise_module(&lane.spec) {
        None => input,
        Some(bitwise) => {
            let x = top.m.instance_wire(&format!("x{i}"), kept.len() as u32);
            let mut conns = vec![("a", input)];
            if let Some(w) = &lane.weight_port {
                let all: Vec<usize> = (0..lane.spec.n).collect();
                let weights = top.input_bits(&w.name, w.positions(&all));
                // Weights meet inputs that a front end delayed: delay them alike.
                conns.push(("w", top.delayed(&w.name, weights, lane.spec.first_level, sched)));
            }
            conns.push(("x", x.clone()));
            top.m.instance(&bitwise, &format!("bitwise{i}"), conns);
            design.add(bitwise);
            x
        }
    };
    let (module, count) = popcount_module(&lane.spec, sched);
    let mut conns: Vec<(&str, Expr)> = vec![];
    if module.clock.is_some() {
        conns.push(("clk", top.m.r(top.m.clock.unwrap())));
    }
    conns.push(("x", x));
    let pop = top.m.instance_wire(&format!("pop{i}"), count.expr.width());
    conns.push(("pop", pop.clone()));
    top.m.instance(&module, &format!("lane{i}"), conns);
    design.add(module);
    // Delay a shallower lane's count to where the scale tree starts.
    let mut pop = pop;
    for level in lane.spec.last_level()..=lanes_end {
        if sched.register_after(level) {
            pop = top.m.reg(&format!("pop{i}_r{level}"), pop, None);
        }
    }
    tree::csd(lane.coef).into_iter().map(|(shift, neg)| Term::signal(pop.clone(), i, count.max, shift, neg)).collect()
}

/// Generates the design described by `p` (already validated).
pub fn generate(p: &DesignParams) -> Generated {
    let (lanes, offset) = plan(p);
    let active: Vec<&LanePlan> = lanes.iter().filter(|l| l.active()).collect();
    let front_levels = match (p.block, &p.weights) {
        (Block::Pa | Block::PaQuantizer, _) | (Block::Mac, Weights::Port) => 1,
        _ => 0,
    };
    let (lanes_end, sched) = schedule(p, &active, front_levels, offset);
    let mut design = Design { top: p.top.clone(), ..Design::default() };
    let (mut top, ports) = top_ports(p);
    let (bases, live) = if front_levels > 0 { front_end(&mut top, p, &active, &sched) } else { (vec![], vec![]) };
    let front = FrontEnd { bases: &bases, live: &live };
    let mut terms: Vec<Term> = vec![];
    for (i, l) in active.iter().enumerate() {
        terms.extend(lane(&mut top, &mut design, (i, l), &front, (&sched, lanes_end)));
    }
    if p.block == Block::Mac {
        terms.extend(mac_terms(&mut top, p, &sched));
    }
    terms.extend(Term::constant(offset));
    let y_width = ports.y.width();
    let result = if p.block == Block::PaQuantizer {
        Expr::concat(bases.iter().rev().map(|b| b.clone().unwrap()).collect())
    } else {
        match tree::scale_tree(&mut top.m, terms, &sched, lanes_end + 1) {
            None => Expr::zeros(y_width),
            Some(t) => fit_result(&mut top.m, &t, y_width),
        }
    };
    top.collect_unused();
    let mut m = top.m;
    let y_q = m.reg("y_q", result, None);
    m.drive(&ports.y, y_q);
    let mut valid = ports.in_valid;
    for stage in 1..=sched.latency() {
        valid = m.reg(&format!("valid{stage}"), valid, Some(Const::zeros(1)));
    }
    m.drive(&ports.out_valid, valid);
    let signature = Signature::of_module(&m, &ports.roles, Interface::FixedLatency { latency: sched.latency() });
    design.add(m);
    let popcount_inputs = active.iter().map(|l| l.spec.kept_bits().len()).sum();
    Generated { design, signature, depth: sched.depth, y_width, y_signed: range::output_signed(p), popcount_inputs }
}
