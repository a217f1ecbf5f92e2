//! The typed RTL representation every generator builds and the emitter prints.
//!
//! Widths are run-time values checked when an expression or assignment is
//! built, so a generator bug is caught at elaboration, not by a simulator.
//! Arithmetic is plain modular (unsigned) arithmetic on exact-width vectors:
//! generators sign- or zero-extend operands explicitly, so no Verilog
//! context-width or signedness rule ever decides a result. The one place
//! signedness enters is an ordering comparison asked for as signed.

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

/// A one-bit comparison of two equal-width operands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Comparison {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Comparison {
    /// Whether the result depends on the operands' signedness (`==` and
    /// `!=` do not).
    fn is_ordering(self) -> bool {
        !matches!(self, Comparison::Eq | Comparison::Ne)
    }
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
    /// `sel ? when_true : when_false`; `sel` is one bit.
    Mux {
        sel: Box<Expr>,
        when_true: Box<Expr>,
        when_false: Box<Expr>,
    },
    /// `&{...}`, one bit.
    ReduceAnd(Box<Expr>),
    /// `|{...}`, one bit.
    ReduceOr(Box<Expr>),
    /// `lhs op rhs`, one bit; `signed` reads both operands as two's complement.
    Compare {
        op: Comparison,
        signed: bool,
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
            Expr::Mux { when_true, .. } => when_true.width(),
            Expr::ReduceAnd(_) | Expr::ReduceOr(_) | Expr::Compare { .. } => 1,
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

    /// `sel ? when_true : when_false`.
    pub fn mux(sel: Expr, when_true: Expr, when_false: Expr) -> Expr {
        assert_eq!(sel.width(), 1, "mux select is not one bit: {sel:?}");
        assert_eq!(when_true.width(), when_false.width(), "mux arms differ in width: {when_true:?} vs {when_false:?}");
        Expr::Mux { sel: Box::new(sel), when_true: Box::new(when_true), when_false: Box::new(when_false) }
    }

    pub fn reduce_and(e: Expr) -> Expr {
        Expr::ReduceAnd(Box::new(e))
    }

    pub fn reduce_or(e: Expr) -> Expr {
        Expr::ReduceOr(Box::new(e))
    }

    /// Unsigned comparison of equal-width operands.
    pub fn compare(op: Comparison, lhs: Expr, rhs: Expr) -> Expr {
        Expr::comparison(op, false, lhs, rhs)
    }

    /// Two's complement ordering of equal-width operands (`<`, `<=`, `>`,
    /// `>=`; equality does not depend on signedness: use [`Expr::compare`]).
    pub fn compare_signed(op: Comparison, lhs: Expr, rhs: Expr) -> Expr {
        assert!(op.is_ordering(), "{op:?} does not depend on signedness: use Expr::compare");
        Expr::comparison(op, true, lhs, rhs)
    }

    fn comparison(op: Comparison, signed: bool, lhs: Expr, rhs: Expr) -> Expr {
        assert_eq!(lhs.width(), rhs.width(), "{op:?} operands differ in width: {lhs:?} vs {rhs:?}");
        Expr::Compare { op, signed, lhs: Box::new(lhs), rhs: Box::new(rhs) }
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
    /// Loads `next` only when this one-bit expression is high, else holds;
    /// `None` = loads every cycle.
    pub enable: Option<Expr>,
    /// Value loaded when the synchronous reset is high (before the
    /// enable is looked at); `None` = no reset.
    pub reset: Option<Const>,
}

/// Index of a memory inside its module.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MemId(pub usize);

/// What a memory holds when the design starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MemoryInit {
    /// Nothing defined: a RAM written before it is read.
    None,
    /// Words from address 0, printed in the Verilog itself; addresses past
    /// the last word given hold zero.
    Const(Vec<Const>),
    /// Words from address 0 written to `<name>.hex` beside the Verilog and
    /// loaded with `$readmemh`; addresses past the last word given hold zero.
    File { name: String, words: Vec<Const> },
}

impl MemoryInit {
    /// The initial words given, from address 0 (none for `None`).
    pub fn words(&self) -> &[Const] {
        match self {
            MemoryInit::None => &[],
            MemoryInit::Const(words) | MemoryInit::File { words, .. } => words,
        }
    }
}

/// Where synthesis should put a memory.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MemoryStyle {
    /// The tools choose (Yosys maps small ROMs to logic).
    #[default]
    Auto,
    /// Block RAM, even when shallow: what the engines' weights need, whose
    /// width (one word per step) fixes the RAMs, not their depth.
    Block,
    /// LUTs and flip-flops, even when deep: a wide, shallow ROM that would
    /// fill a small share of the block RAMs its width takes.
    Logic,
}

/// A synchronous write: `mem[addr] <= data` on a rising edge with `enable` high.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WritePort {
    pub addr: Expr,
    pub data: Expr,
    pub enable: Expr,
}

/// A synchronous read: on a rising edge with `enable` high, the register
/// `data` loads `mem[addr]`, else holds. It has no reset and no initial
/// value (block RAM output registers have neither).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadPort {
    pub data: SigId,
    pub addr: Expr,
    pub enable: Expr,
}

/// A memory of `depth` words of `width` bits, clocked by its module's
/// clock: a ROM with no write port, else a simple dual-port RAM. A read of
/// the address being written in the same cycle gives undefined data (the
/// iCE40, ECP5 and Gowin block RAMs need no extra logic then); an address
/// at or past `depth` reads undefined data and writes nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Memory {
    pub name: String,
    pub width: u32,
    pub depth: u32,
    pub init: MemoryInit,
    pub write: Option<WritePort>,
    pub reads: Vec<ReadPort>,
    pub style: MemoryStyle,
}

impl Memory {
    /// Bits of an address: ceil(log2(depth)), at least one.
    pub fn address_width(&self) -> u32 {
        (u32::BITS - (self.depth - 1).leading_zeros()).max(1)
    }

    /// Every initial word, zeros past the last one given; none for a
    /// memory without initial contents.
    pub fn initial_words(&self) -> Vec<Const> {
        if self.init == MemoryInit::None {
            return vec![];
        }
        let given = self.init.words();
        let zeros = (given.len()..self.depth as usize).map(|_| Const::zeros(self.width));
        given.iter().cloned().chain(zeros).collect()
    }
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
    pub memories: Vec<Memory>,
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
            memories: vec![],
            clock: None,
            reset: None,
            names: BTreeMap::new(),
            wires_by_expr: HashMap::new(),
        }
    }

    /// A legal identifier from `name`, made unique among the module's
    /// signals and memories (which share Verilog's name space).
    fn fresh_name(&self, name: &str) -> String {
        let base = legalize(name);
        let taken = |n: &String| self.names.contains_key(n) || self.memories.iter().any(|m| m.name == *n);
        let mut unique = base.clone();
        let mut n = 1;
        while taken(&unique) {
            unique = format!("{base}_{n}");
            n += 1;
        }
        unique
    }

    fn add_signal(&mut self, name: &str, width: u32, kind: SigKind, signed: bool) -> SigId {
        assert!(width > 0, "zero-width signal {name}");
        let unique = self.fresh_name(name);
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
        self.add_reg(name, next, None, reset)
    }

    /// A register loading `next` on cycles where the one-bit `enable` is
    /// high and holding otherwise; the reset, if any, wins over the enable.
    pub fn reg_en(&mut self, name: &str, next: Expr, enable: Expr, reset: Option<Const>) -> Expr {
        assert_eq!(enable.width(), 1, "register {name}: enable is not one bit");
        self.add_reg(name, next, Some(enable), reset)
    }

    fn add_reg(&mut self, name: &str, next: Expr, enable: Option<Expr>, reset: Option<Const>) -> Expr {
        assert!(self.clock.is_some(), "register in a module without a clock");
        if let Some(c) = &reset {
            assert!(self.reset.is_some(), "reset register in a module without a reset");
            assert_eq!(c.width, next.width());
        }
        let id = self.add_signal(name, next.width(), SigKind::Reg, false);
        self.regs.push(RegAssign { target: id, next, enable, reset });
        self.r(id)
    }

    /// A memory of `depth` words of `width` bits (see [`Memory`]); give it
    /// ports with [`Module::read_port`] and [`Module::write_port`].
    pub fn memory(&mut self, name: &str, width: u32, depth: u32, init: MemoryInit) -> MemId {
        assert!(self.clock.is_some(), "memory {name} in a module without a clock");
        assert!(width > 0 && depth > 0, "memory {name}: {depth} x {width} is empty");
        let words = init.words();
        assert!(words.len() <= depth as usize, "memory {name}: {} initial words for {depth}", words.len());
        assert!(words.iter().all(|w| w.width == width), "memory {name}: an initial word is not {width} bits");
        if let MemoryInit::File { name: file, .. } = &init {
            assert!(is_legal_identifier(file), "memory {name}: data file name {file:?} is not an identifier");
        }
        let name = self.fresh_name(name);
        self.memories.push(Memory { name, width, depth, init, write: None, reads: vec![], style: MemoryStyle::Auto });
        MemId(self.memories.len() - 1)
    }

    /// Asks synthesis to put the memory in `style`.
    pub fn set_memory_style(&mut self, id: MemId, style: MemoryStyle) {
        self.memories[id.0].style = style;
    }

    /// The memory with this handle.
    pub fn mem(&self, id: MemId) -> &Memory {
        &self.memories[id.0]
    }

    fn check_port(&self, id: MemId, addr: &Expr, enable: &Expr) {
        let mem = self.mem(id);
        let want = mem.address_width();
        assert_eq!(addr.width(), want, "memory {}: the address is not {want} bits", mem.name);
        assert_eq!(enable.width(), 1, "memory {}: the enable is not one bit", mem.name);
    }

    /// A read port: the registered word at `addr`, one cycle after a
    /// rising edge with `enable` high (see [`ReadPort`]).
    pub fn read_port(&mut self, id: MemId, addr: Expr, enable: Expr) -> Expr {
        self.check_port(id, &addr, &enable);
        let mem = self.mem(id);
        let (name, width) = (format!("{}_rdata", mem.name), mem.width);
        let data = self.add_signal(&name, width, SigKind::Reg, false);
        self.memories[id.0].reads.push(ReadPort { data, addr, enable });
        self.r(data)
    }

    /// The memory's write port (at most one).
    pub fn write_port(&mut self, id: MemId, addr: Expr, data: Expr, enable: Expr) {
        self.check_port(id, &addr, &enable);
        let mem = &mut self.memories[id.0];
        assert_eq!(data.width(), mem.width, "memory {}: write data is not {} bits", mem.name, mem.width);
        assert!(mem.write.is_none(), "memory {} has a write port already", mem.name);
        mem.write = Some(WritePort { addr, data, enable });
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
