//! The typed RTL representation every generator builds and the emitter prints.
//!
//! Widths are run-time values checked when an expression or assignment is
//! built, so a generator bug is caught at elaboration, not by a simulator.
//! Arithmetic is plain modular (unsigned) arithmetic on exact-width vectors:
//! generators sign- or zero-extend operands explicitly, so no Verilog
//! context-width or signedness rule ever decides a result.

pub mod count;
pub mod names;

use names::{is_legal_identifier, legalize};
use std::collections::{BTreeMap, HashMap};
use std::fmt;

/// Index of a signal inside its module.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SigId(pub usize);

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Dir {
    In,
    Out,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SigKind {
    Port(Dir),
    Wire,
    Reg,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signal {
    pub name: String,
    pub width: u32,
    pub kind: SigKind,
    /// Declared `signed` (ports only; documents two's complement for outside
    /// test benches, arithmetic inside never depends on it).
    pub signed: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinOp {
    And,
    Or,
    Xor,
    Add,
    Sub,
    /// Product truncated to the operands' width.
    Mul,
}

/// A bit-vector constant of any width, little-endian 64-bit words.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Const {
    pub width: u32,
    pub words: Vec<u64>,
}

impl Const {
    pub fn zeros(width: u32) -> Const {
        Const::from_words(width, vec![])
    }

    pub fn from_u128(width: u32, value: u128) -> Const {
        Const::from_words(width, vec![value as u64, (value >> 64) as u64])
    }

    /// Builds a constant, masking bits above `width`.
    pub fn from_words(width: u32, mut words: Vec<u64>) -> Const {
        assert!(width > 0, "zero-width constant");
        let nwords = width.div_ceil(64) as usize;
        words.resize(nwords, 0);
        let rem = width % 64;
        if rem != 0 {
            words[nwords - 1] &= (1u64 << rem) - 1;
        }
        Const { width, words }
    }

    pub fn is_zero(&self) -> bool {
        self.words.iter().all(|&w| w == 0)
    }

    pub fn bit(&self, i: u32) -> bool {
        (self.words[(i / 64) as usize] >> (i % 64)) & 1 == 1
    }
}

/// An expression tree. Build it through the checked constructors so that
/// every node's width is consistent.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Expr {
    Ref {
        sig: SigId,
        width: u32,
    },
    Slice {
        sig: SigId,
        lo: u32,
        width: u32,
    },
    Const(Const),
    /// Most significant part first, as in Verilog.
    Concat(Vec<Expr>),
    Repeat {
        count: u32,
        expr: Box<Expr>,
    },
    Not(Box<Expr>),
    Bin {
        op: BinOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    /// `&{...}`, one bit.
    ReduceAnd(Box<Expr>),
    /// Unsigned `lhs >= rhs`, one bit.
    GeU {
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
}

impl Expr {
    pub fn width(&self) -> u32 {
        match self {
            Expr::Ref { width, .. } | Expr::Slice { width, .. } => *width,
            Expr::Const(c) => c.width,
            Expr::Concat(parts) => parts.iter().map(Expr::width).sum(),
            Expr::Repeat { count, expr } => count * expr.width(),
            Expr::Not(e) => e.width(),
            Expr::Bin { lhs, .. } => lhs.width(),
            Expr::ReduceAnd(_) | Expr::GeU { .. } => 1,
        }
    }

    pub fn constant(c: Const) -> Expr {
        Expr::Const(c)
    }

    pub fn zeros(width: u32) -> Expr {
        Expr::Const(Const::zeros(width))
    }

    /// Concatenation, most significant part first; needs at least one part.
    pub fn concat(parts: Vec<Expr>) -> Expr {
        assert!(!parts.is_empty(), "empty concatenation");
        if parts.len() == 1 {
            return parts.into_iter().next().unwrap();
        }
        Expr::Concat(parts)
    }

    pub fn invert(e: Expr) -> Expr {
        Expr::Not(Box::new(e))
    }

    pub fn bin(op: BinOp, lhs: Expr, rhs: Expr) -> Expr {
        assert_eq!(lhs.width(), rhs.width(), "{op:?} operands differ in width: {lhs:?} vs {rhs:?}");
        Expr::Bin { op, lhs: Box::new(lhs), rhs: Box::new(rhs) }
    }

    pub fn reduce_and(e: Expr) -> Expr {
        Expr::ReduceAnd(Box::new(e))
    }

    /// Unsigned comparison of equal-width operands.
    pub fn ge_unsigned(lhs: Expr, rhs: Expr) -> Expr {
        assert_eq!(lhs.width(), rhs.width(), ">= operands differ in width");
        Expr::GeU { lhs: Box::new(lhs), rhs: Box::new(rhs) }
    }

    /// Bit `i` of this expression (only for references and slices).
    pub fn bit(&self, i: u32) -> Expr {
        self.slice(i, 1)
    }

    /// Bits `[lo + width - 1 : lo]` of a reference or slice.
    pub fn slice(&self, lo: u32, width: u32) -> Expr {
        assert!(width > 0 && lo + width <= self.width(), "slice out of range");
        match self {
            Expr::Ref { sig, .. } => Expr::Slice { sig: *sig, lo, width },
            Expr::Slice { sig, lo: base, .. } => Expr::Slice { sig: *sig, lo: base + lo, width },
            _ => panic!("slice of a compound expression"),
        }
    }

    /// Widens to `width` by repeating the sign bit (`signed`) or with zeros.
    /// The expression must be a reference or slice when `signed`.
    pub fn extend(self, width: u32, signed: bool) -> Expr {
        let w = self.width();
        assert!(width >= w, "extend narrows {w} -> {width}");
        if width == w {
            return self;
        }
        let pad = if signed {
            let msb = self.bit(w - 1);
            if width - w == 1 { msb } else { Expr::Repeat { count: width - w, expr: Box::new(msb) } }
        } else {
            Expr::zeros(width - w)
        };
        Expr::concat(vec![pad, self])
    }

    /// `self << shift` with `shift` zero bits appended (width grows).
    pub fn shl_append(self, shift: u32) -> Expr {
        if shift == 0 { self } else { Expr::concat(vec![self, Expr::zeros(shift)]) }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegAssign {
    pub target: SigId,
    pub next: Expr,
    /// Value loaded when the synchronous reset is high; `None` = no reset.
    pub reset: Option<Const>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instance {
    pub module: String,
    pub name: String,
    /// Port name and the connected expression, in the child's port order.
    pub connections: Vec<(String, Expr)>,
}

/// One Verilog module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Module {
    pub name: String,
    pub signals: Vec<Signal>,
    pub ports: Vec<SigId>,
    pub assigns: Vec<(SigId, Expr)>,
    pub regs: Vec<RegAssign>,
    pub instances: Vec<Instance>,
    pub clock: Option<SigId>,
    pub reset: Option<SigId>,
    names: BTreeMap<String, SigId>,
    /// Wires by the expression that drives them, so that equal logic is built once.
    wires_by_expr: HashMap<Expr, SigId>,
}

impl Module {
    pub fn new(name: &str) -> Module {
        assert!(is_legal_identifier(name), "illegal module name {name:?}");
        Module {
            name: name.to_string(),
            signals: vec![],
            ports: vec![],
            assigns: vec![],
            regs: vec![],
            instances: vec![],
            clock: None,
            reset: None,
            names: BTreeMap::new(),
            wires_by_expr: HashMap::new(),
        }
    }

    fn add_signal(&mut self, name: &str, width: u32, kind: SigKind, signed: bool) -> SigId {
        assert!(width > 0, "zero-width signal {name}");
        let base = legalize(name);
        let mut unique = base.clone();
        let mut n = 1;
        while self.names.contains_key(&unique) {
            unique = format!("{base}_{n}");
            n += 1;
        }
        let id = SigId(self.signals.len());
        self.names.insert(unique.clone(), id);
        self.signals.push(Signal { name: unique, width, kind, signed });
        id
    }

    /// Adds a port; port names are part of the interface and must be unique.
    pub fn port(&mut self, name: &str, dir: Dir, width: u32, signed: bool) -> Expr {
        assert!(is_legal_identifier(name) && !self.names.contains_key(name), "bad port name {name}");
        let id = self.add_signal(name, width, SigKind::Port(dir), signed);
        self.ports.push(id);
        self.r(id)
    }

    pub fn input(&mut self, name: &str, width: u32) -> Expr {
        self.port(name, Dir::In, width, false)
    }

    pub fn clock_input(&mut self) -> Expr {
        let clk = self.input("clk", 1);
        self.clock = Some(self.id(&clk));
        clk
    }

    pub fn reset_input(&mut self) -> Expr {
        let rst = self.input("rst", 1);
        self.reset = Some(self.id(&rst));
        rst
    }

    /// A reference to the whole signal.
    pub fn r(&self, id: SigId) -> Expr {
        Expr::Ref { sig: id, width: self.signals[id.0].width }
    }

    fn id(&self, e: &Expr) -> SigId {
        match e {
            Expr::Ref { sig, .. } => *sig,
            _ => panic!("not a signal reference"),
        }
    }

    pub fn signal(&self, id: SigId) -> &Signal {
        &self.signals[id.0]
    }

    /// A wire driven by `expr`; returns a reference to it. An expression
    /// already driving a wire gives that wire (common subexpressions, such
    /// as two equal digit pairs of a constant multiplier, are built once).
    pub fn wire(&mut self, name: &str, expr: Expr) -> Expr {
        if let Some(&id) = self.wires_by_expr.get(&expr) {
            return self.r(id);
        }
        let id = self.add_signal(name, expr.width(), SigKind::Wire, false);
        self.wires_by_expr.insert(expr.clone(), id);
        self.assigns.push((id, expr));
        self.r(id)
    }

    /// A wire driven later by an instance output.
    pub fn instance_wire(&mut self, name: &str, width: u32) -> Expr {
        let id = self.add_signal(name, width, SigKind::Wire, false);
        self.r(id)
    }

    /// Drives an output port (or an undriven wire) with `expr`.
    pub fn drive(&mut self, target: &Expr, expr: Expr) {
        let id = self.id(target);
        assert_eq!(self.signals[id.0].width, expr.width(), "width mismatch driving {}", self.signals[id.0].name);
        assert!(!self.assigns.iter().any(|(t, _)| *t == id), "{} driven twice", self.signals[id.0].name);
        self.assigns.push((id, expr));
    }

    /// A register clocked by this module's clock, loading `next` every cycle.
    pub fn reg(&mut self, name: &str, next: Expr, reset: Option<Const>) -> Expr {
        assert!(self.clock.is_some(), "register in a module without a clock");
        if let Some(c) = &reset {
            assert!(self.reset.is_some(), "reset register in a module without a reset");
            assert_eq!(c.width, next.width());
        }
        let id = self.add_signal(name, next.width(), SigKind::Reg, false);
        self.regs.push(RegAssign { target: id, next, reset });
        self.r(id)
    }

    pub fn instance(&mut self, child: &Module, name: &str, connections: Vec<(&str, Expr)>) {
        assert_eq!(connections.len(), child.ports.len(), "instance {name} of {}: port count", child.name);
        let mut conns = vec![];
        for (port_id, (pname, expr)) in child.ports.iter().zip(connections) {
            let p = child.signal(*port_id);
            assert_eq!(p.name, pname, "instance {name}: port order");
            assert_eq!(p.width, expr.width(), "instance {name}: width of port {pname}");
            if p.kind == SigKind::Port(Dir::Out) {
                let target = self.id(&expr);
                assert!(!self.assigns.iter().any(|(t, _)| *t == target), "instance output drives an assigned wire");
            }
            conns.push((pname.to_string(), expr));
        }
        let name = legalize(name);
        self.instances.push(Instance { module: child.name.clone(), name, connections: conns });
    }

    pub fn port_signals(&self) -> impl Iterator<Item = &Signal> {
        self.ports.iter().map(|id| &self.signals[id.0])
    }
}

/// A set of modules with one top, each module once.
#[derive(Clone, Debug, Default)]
pub struct Design {
    pub top: String,
    pub modules: BTreeMap<String, Module>,
}

impl Design {
    /// Adds a module; a module of the same name must be identical (same
    /// parameter set gives the same module), else it is a generator bug.
    pub fn add(&mut self, module: Module) {
        if let Some(existing) = self.modules.get(&module.name) {
            assert!(existing == &module, "two different modules named {}", module.name);
            return;
        }
        self.modules.insert(module.name.clone(), module);
    }

    pub fn top_module(&self) -> &Module {
        &self.modules[&self.top]
    }
}

impl fmt::Display for Dir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Dir::In => "in",
            Dir::Out => "out",
        })
    }
}
