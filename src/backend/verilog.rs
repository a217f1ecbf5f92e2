//! The one Verilog-2001 emitter: prints a [`Design`] as one file per module
//! (Verilator's `-Wall` wants a module's name to match its file's).

use crate::rtl::{
    BinOp, Comparison, Const, Design, Dir, Expr, Memory, MemoryInit, MemoryStyle, Module, RegAssign, SigKind,
};
use std::collections::BTreeMap;
use std::fmt::Write;

/// Emitted files, `(file name, text)`: one Verilog file per module,
/// sorted by name, then the data files their `$readmemh` calls read
/// (memories with [`MemoryInit::File`]), sorted by name.
pub fn emit_design(design: &Design) -> Vec<(String, String)> {
    let mut files: Vec<_> = design.modules.values().map(|m| (format!("{}.v", m.name), emit_module(m))).collect();
    let mut data: BTreeMap<String, String> = BTreeMap::new();
    for mem in design.modules.values().flat_map(|m| &m.memories) {
        if let MemoryInit::File { name, .. } = &mem.init {
            let (file, text) = (hex_file_name(name), hex_file(mem));
            let previous = data.insert(file.clone(), text.clone());
            assert!(previous.is_none_or(|p| p == text), "two different data files named {file}");
        }
    }
    files.extend(data);
    files
}

fn hex_file_name(name: &str) -> String {
    format!("{name}.hex")
}

/// Every word of the memory, one a line in hex, address 0 first: what
/// `$readmemh` reads with no address marks. Missing words are written as
/// zeros, so every simulator loads the whole memory without a warning.
fn hex_file(mem: &Memory) -> String {
    mem.initial_words().iter().map(|w| hex_digits(w) + "\n").collect()
}

fn range(width: u32) -> String {
    if width == 1 { String::new() } else { format!("[{}:0] ", width - 1) }
}

fn hex_digits(c: &Const) -> String {
    let ndigits = c.width.div_ceil(4) as usize;
    let mut s = String::with_capacity(ndigits);
    for d in (0..ndigits).rev() {
        let word = c.words[d / 16];
        let nibble = (word >> ((d % 16) * 4)) & 0xf;
        s.push(char::from_digit(nibble as u32, 16).unwrap());
    }
    s
}

fn emit_const(c: &Const) -> String {
    if c.width == 1 {
        return format!("1'b{}", c.words[0] & 1);
    }
    if c.is_zero() {
        return format!("{{{}{{1'b0}}}}", c.width);
    }
    format!("{}'h{}", c.width, hex_digits(c))
}

fn emit_expr(m: &Module, e: &Expr, out: &mut String) {
    match e {
        Expr::Ref { sig, .. } => out.push_str(&m.signal(*sig).name),
        Expr::Slice { sig, lo, width } => {
            let s = m.signal(*sig);
            if *width == s.width {
                out.push_str(&s.name);
            } else if *width == 1 {
                let _ = write!(out, "{}[{}]", s.name, lo);
            } else {
                let _ = write!(out, "{}[{}:{}]", s.name, lo + width - 1, lo);
            }
        }
        Expr::Const(c) => out.push_str(&emit_const(c)),
        Expr::Concat(parts) => {
            out.push('{');
            for (i, p) in parts.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                emit_expr(m, p, out);
            }
            out.push('}');
        }
        Expr::Repeat { count, expr } => {
            let _ = write!(out, "{{{count}{{");
            emit_expr(m, expr, out);
            out.push_str("}}");
        }
        Expr::Not(inner) => {
            out.push('~');
            emit_operand(m, inner, out);
        }
        Expr::Bin { op, lhs, rhs } => {
            emit_operand(m, lhs, out);
            out.push_str(match op {
                BinOp::And => " & ",
                BinOp::Or => " | ",
                BinOp::Xor => " ^ ",
                BinOp::Add => " + ",
                BinOp::Sub => " - ",
                BinOp::Mul => " * ",
            });
            emit_operand(m, rhs, out);
        }
        Expr::Mux { sel, when_true, when_false } => {
            emit_operand(m, sel, out);
            out.push_str(" ? ");
            emit_operand(m, when_true, out);
            out.push_str(" : ");
            emit_operand(m, when_false, out);
        }
        Expr::ReduceAnd(inner) => {
            out.push('&');
            emit_operand(m, inner, out);
        }
        Expr::ReduceOr(inner) => {
            out.push('|');
            emit_operand(m, inner, out);
        }
        Expr::Compare { op, signed, lhs, rhs } => emit_compare(m, *op, *signed, [lhs, rhs], out),
    }
}

/// `lhs op rhs`; a signed one as `$signed(lhs) op $signed(rhs)`: both
/// sides signed and of equal width, so Verilog compares them as two's
/// complement with no extension.
fn emit_compare(m: &Module, op: Comparison, signed: bool, [lhs, rhs]: [&Expr; 2], out: &mut String) {
    let op = match op {
        Comparison::Eq => " == ",
        Comparison::Ne => " != ",
        Comparison::Lt => " < ",
        Comparison::Le => " <= ",
        Comparison::Gt => " > ",
        Comparison::Ge => " >= ",
    };
    let operand = |e: &Expr, out: &mut String| {
        if signed {
            out.push_str("$signed(");
            emit_expr(m, e, out);
            out.push(')');
        } else {
            emit_operand(m, e, out);
        }
    };
    operand(lhs, out);
    out.push_str(op);
    operand(rhs, out);
}

/// Operands of operators are parenthesised unless they are atoms, so that
/// Verilog precedence never matters.
fn emit_operand(m: &Module, e: &Expr, out: &mut String) {
    let atomic =
        matches!(e, Expr::Ref { .. } | Expr::Slice { .. } | Expr::Const(_) | Expr::Concat(_) | Expr::Repeat { .. });
    if !atomic {
        out.push('(');
    }
    emit_expr(m, e, out);
    if !atomic {
        out.push(')');
    }
}

fn expr_text(m: &Module, e: &Expr) -> String {
    let mut s = String::new();
    emit_expr(m, e, &mut s);
    s
}

pub fn emit_module(m: &Module) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "// Generated by mbnn {}; do not edit.", env!("CARGO_PKG_VERSION"));
    emit_ports(m, &mut o);
    emit_declarations(m, &mut o);
    emit_registers(m, &mut o);
    for mem in &m.memories {
        emit_memory(m, mem, &mut o);
    }
    emit_instances(m, &mut o);
    let _ = writeln!(o, "endmodule");
    o
}

fn emit_ports(m: &Module, o: &mut String) {
    let _ = writeln!(o, "module {} (", m.name);
    let nports = m.ports.len();
    for (i, s) in m.port_signals().enumerate() {
        let dir = match s.kind {
            SigKind::Port(Dir::In) => "input ",
            _ => "output",
        };
        let signed = if s.signed { "signed " } else { "" };
        let sep = if i + 1 < nports { "," } else { "" };
        let _ = writeln!(o, "    {dir} wire {signed}{}{}{sep}", range(s.width), s.name);
    }
    let _ = writeln!(o, ");");
}

/// Wires and registers in signal order (deterministic, follows
/// construction), then the continuous assignments.
fn emit_declarations(m: &Module, o: &mut String) {
    for s in &m.signals {
        match s.kind {
            SigKind::Wire => {
                let _ = writeln!(o, "    wire {}{};", range(s.width), s.name);
            }
            SigKind::Reg => {
                let _ = writeln!(o, "    reg  {}{};", range(s.width), s.name);
            }
            SigKind::Port(_) => {}
        }
    }
    if !m.assigns.is_empty() {
        o.push('\n');
    }
    for (target, expr) in &m.assigns {
        let _ = writeln!(o, "    assign {} = {};", m.signal(*target).name, expr_text(m, expr));
    }
}

/// `q <= next;`, behind `if (enable)` for a register with an enable.
fn register_load(m: &Module, r: &RegAssign) -> String {
    let load = format!("{} <= {};", m.signal(r.target).name, expr_text(m, &r.next));
    match &r.enable {
        None => load,
        Some(enable) => format!("if ({}) {load}", expr_text(m, enable)),
    }
}

/// Registers without a reset in one `always` block, those with one in
/// another, where the reset wins over any enable.
fn emit_registers(m: &Module, o: &mut String) {
    let clk = m.clock.map(|c| m.signal(c).name.clone());
    let plain: Vec<_> = m.regs.iter().filter(|r| r.reset.is_none()).collect();
    let with_reset: Vec<_> = m.regs.iter().filter(|r| r.reset.is_some()).collect();
    if !plain.is_empty() {
        let _ = writeln!(o, "\n    always @(posedge {}) begin", clk.as_ref().unwrap());
        for r in &plain {
            let _ = writeln!(o, "        {}", register_load(m, r));
        }
        let _ = writeln!(o, "    end");
    }
    if !with_reset.is_empty() {
        let rst = m.signal(m.reset.unwrap()).name.clone();
        let _ = writeln!(o, "\n    always @(posedge {}) begin", clk.as_ref().unwrap());
        let _ = writeln!(o, "        if ({rst}) begin");
        for r in &with_reset {
            let value = emit_const(r.reset.as_ref().unwrap());
            let _ = writeln!(o, "            {} <= {};", m.signal(r.target).name, value);
        }
        let _ = writeln!(o, "        end else begin");
        for r in &with_reset {
            let _ = writeln!(o, "            {}", register_load(m, r));
        }
        let _ = writeln!(o, "        end");
        let _ = writeln!(o, "    end");
    }
}

/// A memory, in the form Yosys maps onto block RAM: SB_RAM40_4K with
/// `synth_ice40` (Debian's Yosys 0.23), DP16KD with `synth_ecp5` and
/// SPX9 (a ROM) or DPX9B (a RAM) with `synth_gowin` (YoWASP Yosys 0.70),
/// no attribute needed; Verilator `-Wall` and Icarus `-Wall` accept it.
/// What each part is for:
/// - initial contents, as per-word assignments in an `initial` block or
///   as `$readmemh`: all three flows turn either into the block RAM's
///   INIT parameters. Every word is given (zeros past the given ones), so
///   no simulator leaves words undefined or warns of a short file. Yosys
///   and Icarus open the file relative to their working directory, where
///   the flows put the design's files; Verilator opens it when a model
///   starts, which `eda::verilator::build_model` provides for.
/// - the read: one register loading `mem[addr]` under the read enable,
///   in the same `always` block as the write. Yosys merges the register
///   into the RAM as its output register, and the enable into the RAM's
///   read clock enable (RCLKE on iCE40). It has no reset and no initial
///   value: `initial q = ...` made every flow emulate the value with one
///   LUT per data bit and a flip-flop.
/// - the collision: a read of the address written in the same cycle loads
///   x, which tells Yosys that the result is undefined. Without it the
///   read is read-first (plain non-blocking semantics), which none of the
///   three RAMs guarantees across ports: Yosys then delays the write by a
///   cycle and bypasses it, 23 LUTs and 42 flip-flops for a 256 x 16 RAM
///   on iCE40, 26 and 42 on ECP5, 30 and 42 on Gowin; with the x, none
///   (iCE40 keeps one LUT: the write enable inverted into the bit mask).
fn emit_memory(m: &Module, mem: &Memory, o: &mut String) {
    let name = &mem.name;
    let _ = writeln!(o);
    // Yosys reads `ram_style` for ROMs as well as RAMs; simulators ignore it.
    match mem.style {
        MemoryStyle::Auto => {}
        MemoryStyle::Block => {
            let _ = writeln!(o, "    (* ram_style = \"block\" *)");
        }
        MemoryStyle::Logic => {
            let _ = writeln!(o, "    (* ram_style = \"logic\" *)");
        }
    }
    let _ = writeln!(o, "    reg  {}{name} [0:{}];", range(mem.width), mem.depth - 1);
    match &mem.init {
        MemoryInit::None => {}
        MemoryInit::Const(_) => {
            let _ = writeln!(o, "    initial begin");
            for (address, word) in mem.initial_words().iter().enumerate() {
                let _ = writeln!(o, "        {name}[{address}] = {};", emit_const(word));
            }
            let _ = writeln!(o, "    end");
        }
        MemoryInit::File { name: file, .. } => {
            let _ = writeln!(o, "    initial $readmemh(\"{}\", {name});", hex_file_name(file));
        }
    }
    let clk = &m.signal(m.clock.expect("a memory is clocked")).name;
    let _ = writeln!(o, "    always @(posedge {clk}) begin");
    if let Some(w) = &mem.write {
        let (enable, addr, data) = (expr_text(m, &w.enable), expr_text(m, &w.addr), expr_text(m, &w.data));
        let _ = writeln!(o, "        if ({enable}) {name}[{addr}] <= {data};");
    }
    for r in &mem.reads {
        let data = &m.signal(r.data).name;
        let load = format!("{data} <= {name}[{}];", expr_text(m, &r.addr));
        let Some(w) = &mem.write else {
            let _ = writeln!(o, "        if ({}) {load}", expr_text(m, &r.enable));
            continue;
        };
        let same_address = Expr::compare(Comparison::Eq, w.addr.clone(), r.addr.clone());
        let collision = Expr::bin(BinOp::And, w.enable.clone(), same_address);
        let _ = writeln!(o, "        if ({}) begin", expr_text(m, &r.enable));
        let _ = writeln!(o, "            {load}");
        let _ = writeln!(o, "            if ({}) {data} <= {{{}{{1'bx}}}};", expr_text(m, &collision), mem.width);
        let _ = writeln!(o, "        end");
    }
    let _ = writeln!(o, "    end");
}

fn emit_instances(m: &Module, o: &mut String) {
    for inst in &m.instances {
        let _ = writeln!(o, "\n    {} {} (", inst.module, inst.name);
        let n = inst.connections.len();
        for (i, (port, expr)) in inst.connections.iter().enumerate() {
            let sep = if i + 1 < n { "," } else { "" };
            let _ = writeln!(o, "        .{}({}){}", port, expr_text(m, expr), sep);
        }
        let _ = writeln!(o, "    );");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_constants_are_msb_first_and_exact_width() {
        let c = Const::from_words(9, vec![0x1a5]);
        assert_eq!(emit_const(&c), "9'h1a5");
        let c = Const::from_words(70, vec![0x1, 0x3f]);
        assert_eq!(emit_const(&c), "70'h3f0000000000000001");
        assert_eq!(emit_const(&Const::zeros(5)), "{5{1'b0}}");
        assert_eq!(emit_const(&Const::from_u128(1, 1)), "1'b1");
    }

    #[test]
    fn module_prints_ports_wires_and_registers() {
        let mut m = Module::new("demo");
        let _clk = m.clock_input();
        let _rst = m.reset_input();
        let a = m.input("a", 4);
        let y = m.port("y", Dir::Out, 5, true);
        let sum = m.wire("sum", Expr::bin(BinOp::Add, a.clone().extend(5, false), Expr::zeros(4).extend(5, false)));
        let q = m.reg("q", sum, Some(Const::zeros(5)));
        m.drive(&y, q);
        let text = emit_module(&m);
        assert!(text.contains("output wire signed [4:0] y"));
        assert!(text.contains("assign sum = {1'b0, a} + {1'b0, {4{1'b0}}};"));
        assert!(text.contains("if (rst) begin\n            q <= {5{1'b0}};"));
    }

    #[test]
    fn multiplexers_comparisons_and_reductions_print_with_parenthesised_operands() {
        let mut m = Module::new("demo");
        let s = m.input("s", 1);
        let a = m.input("a", 4);
        let b = m.input("b", 4);
        let text = |e: Expr| expr_text(&m, &e);
        assert_eq!(text(Expr::mux(s.clone(), a.clone(), b.clone())), "s ? a : b");
        let sum = Expr::bin(BinOp::Add, a.clone(), b.clone());
        assert_eq!(
            text(Expr::mux(Expr::invert(s.clone()), sum.clone(), a.bit(0).extend(4, false))),
            "(~s) ? (a + b) : {{3{1'b0}}, a[0]}"
        );
        let ge = Expr::compare(Comparison::Ge, a.clone(), b.clone());
        assert_eq!(text(ge.clone()), "a >= b", "the old unsigned >= prints as before");
        assert_eq!(text(Expr::compare(Comparison::Eq, sum.clone(), b.clone())), "(a + b) == b");
        assert_eq!(text(Expr::compare(Comparison::Ne, a.slice(0, 2), b.slice(2, 2))), "a[1:0] != b[3:2]");
        assert_eq!(text(Expr::compare_signed(Comparison::Lt, sum, b.clone())), "$signed(a + b) < $signed(b)");
        assert_eq!(text(Expr::compare_signed(Comparison::Le, a.clone(), b.clone())), "$signed(a) <= $signed(b)");
        assert_eq!(text(Expr::compare(Comparison::Gt, a.clone(), b.clone())), "a > b");
        assert_eq!(text(Expr::reduce_or(Expr::concat(vec![s, a.clone()]))), "|{s, a}");
        assert_eq!(text(Expr::bin(BinOp::And, ge, Expr::reduce_or(b))), "(a >= b) & (|b)");
    }

    #[test]
    fn registers_with_an_enable_load_under_it_and_reset_first() {
        let mut m = Module::new("demo");
        m.clock_input();
        m.reset_input();
        let en = m.input("en", 1);
        let d = m.input("d", 3);
        m.reg("plain", d.clone(), None);
        m.reg_en("held", d.clone(), en.clone(), None);
        m.reg_en("held_rst", d, en, Some(Const::from_u128(3, 5)));
        let text = emit_module(&m);
        assert!(text.contains("begin\n        plain <= d;\n        if (en) held <= d;\n    end"), "{text}");
        assert!(text.contains("if (rst) begin\n            held_rst <= 3'h5;\n        end else begin\n            if (en) held_rst <= d;\n"), "{text}");
    }

    fn words(width: u32, values: &[u128]) -> Vec<Const> {
        values.iter().map(|&v| Const::from_u128(width, v)).collect()
    }

    #[test]
    fn a_rom_prints_every_word_and_a_registered_read() {
        let mut m = Module::new("demo");
        m.clock_input();
        let en = m.input("en", 1);
        let addr = m.input("addr", 2);
        let rom = m.memory("coeffs", 8, 3, MemoryInit::Const(words(8, &[0xa5, 0x3c])));
        assert_eq!(m.mem(rom).address_width(), 2);
        let q = m.read_port(rom, addr, en);
        let y = m.port("y", Dir::Out, 8, false);
        m.drive(&y, q);
        let text = emit_module(&m);
        assert!(text.contains("    reg  [7:0] coeffs_rdata;\n"), "{text}");
        let body = "    reg  [7:0] coeffs [0:2];\n    initial begin\n        coeffs[0] = 8'ha5;\n        \
                    coeffs[1] = 8'h3c;\n        coeffs[2] = {8{1'b0}};\n    end\n    always @(posedge clk) begin\n        \
                    if (en) coeffs_rdata <= coeffs[addr];\n    end\n";
        assert!(text.contains(body), "{text}");
    }

    #[test]
    fn a_ram_reads_x_when_it_reads_the_address_it_writes() {
        let mut m = Module::new("demo");
        m.clock_input();
        let we = m.input("we", 1);
        let wa = m.input("wa", 1);
        let wd = m.input("wd", 4);
        let re = m.input("re", 1);
        let ra = m.input("ra", 1);
        let ram = m.memory("line", 4, 2, MemoryInit::None);
        m.write_port(ram, wa, wd, we);
        let q = m.read_port(ram, ra, re);
        let y = m.port("y", Dir::Out, 4, false);
        m.drive(&y, q);
        let text = emit_module(&m);
        let body = "    reg  [3:0] line [0:1];\n    always @(posedge clk) begin\n        if (we) line[wa] <= wd;\n        \
                    if (re) begin\n            line_rdata <= line[ra];\n            \
                    if (we & (wa == ra)) line_rdata <= {4{1'bx}};\n        end\n    end\n";
        assert!(text.contains(body), "{text}");
        assert!(!text.contains("initial"), "{text}");
    }

    #[test]
    fn a_memory_read_from_a_file_comes_with_the_file() {
        let mut m = Module::new("demo");
        m.clock_input();
        let addr = m.input("addr", 3);
        let en = m.input("en", 1);
        let init = MemoryInit::File { name: "weights".into(), words: words(12, &[0xabc, 0x1]) };
        let rom = m.memory("rom", 12, 5, init);
        let q = m.read_port(rom, addr, en);
        let y = m.port("y", Dir::Out, 12, false);
        m.drive(&y, q);
        let mut design = Design { top: "demo".into(), ..Design::default() };
        design.add(m);
        let files = emit_design(&design);
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["demo.v", "weights.hex"]);
        assert!(files[0].1.contains("    initial $readmemh(\"weights.hex\", rom);\n"), "{}", files[0].1);
        assert_eq!(files[1].1, "abc\n001\n000\n000\n000\n");
    }
}
