//! The structural Verilog that Yosys writes for a design mapped onto
//! standard cells (`write_verilog -noattr -noexpr`): cell instances with
//! their pin connections, and `assign` aliases, all resolved to single bits.
//! A bit is named `name` (scalar) or `name[i]`, with an escaped
//! identifier's backslash dropped, as Verilator names it in a VCD trace.

use std::collections::BTreeMap;

/// One bit of a connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Bit {
    Net(String),
    Const(bool),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Instance {
    pub name: String,
    pub cell: String,
    /// Pin name -> the bit it connects to (standard-cell pins are one bit).
    pub pins: Vec<(String, Bit)>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Netlist {
    pub module: String,
    pub instances: Vec<Instance>,
    /// `assign lhs = rhs`, bit by bit.
    pub aliases: Vec<(Bit, Bit)>,
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    Number(String),
    Punct(char),
}

fn tokens(text: &str) -> Vec<Tok> {
    let mut out = vec![];
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '/' {
            chars.next();
            match chars.peek() {
                Some('*') => {
                    let mut prev = ' ';
                    for c in chars.by_ref() {
                        if prev == '*' && c == '/' {
                            break;
                        }
                        prev = c;
                    }
                }
                Some('/') => {
                    for c in chars.by_ref() {
                        if c == '\n' {
                            break;
                        }
                    }
                }
                _ => out.push(Tok::Punct('/')),
            }
        } else if c == '\\' {
            // An escaped identifier runs to the next white space.
            chars.next();
            let mut s = String::new();
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                s.push(c);
                chars.next();
            }
            out.push(Tok::Ident(s));
        } else if c.is_ascii_alphabetic() || c == '_' || c == '$' {
            let mut s = String::new();
            while let Some(&c) = chars.peek() {
                if !(c.is_ascii_alphanumeric() || c == '_' || c == '$') {
                    break;
                }
                s.push(c);
                chars.next();
            }
            out.push(Tok::Ident(s));
        } else if c.is_ascii_digit() {
            // 12, 1'h0, 8'b1010_x: a number with its base and digits.
            let mut s = String::new();
            while let Some(&c) = chars.peek() {
                if !(c.is_ascii_alphanumeric() || c == '\'' || c == '_') {
                    break;
                }
                s.push(c);
                chars.next();
            }
            out.push(Tok::Number(s));
        } else {
            out.push(Tok::Punct(c));
            chars.next();
        }
    }
    out
}

/// The bits of a sized constant, least significant first.
fn const_bits(text: &str) -> Result<Vec<bool>, String> {
    let (size, rest) = text.split_once('\'').ok_or_else(|| format!("unsized constant {text}"))?;
    let width: usize = size.parse().map_err(|_| format!("bad constant {text}"))?;
    let (base, digits) = rest.split_at(1);
    let per_digit = match base {
        "b" | "B" => 1,
        "h" | "H" => 4,
        "o" | "O" => 3,
        _ => return Err(format!("constant {text}: only binary, octal and hex constants are read")),
    };
    let mut bits = vec![];
    for d in digits.chars().rev().filter(|&d| d != '_') {
        // x and z are read as 0: they do not toggle.
        let v = d.to_digit(16).unwrap_or(0);
        bits.extend((0..per_digit).map(|i| v >> i & 1 == 1));
    }
    bits.resize(width, false);
    Ok(bits)
}

struct Parser<'a> {
    toks: &'a [Tok],
    pos: usize,
    /// Declared ranges, (msb, lsb), of vector nets.
    ranges: BTreeMap<String, (i64, i64)>,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn next(&mut self) -> Result<Tok, String> {
        let t = self.toks.get(self.pos).cloned().ok_or("the netlist ends early")?;
        self.pos += 1;
        Ok(t)
    }

    fn expect(&mut self, c: char) -> Result<(), String> {
        match self.next()? {
            Tok::Punct(p) if p == c => Ok(()),
            other => Err(format!("expected `{c}`, found {other:?}")),
        }
    }

    fn number(&mut self) -> Result<i64, String> {
        let neg = self.peek() == Some(&Tok::Punct('-'));
        if neg {
            self.pos += 1;
        }
        match self.next()? {
            Tok::Number(n) => n.parse::<i64>().map(|v| if neg { -v } else { v }).map_err(|_| format!("bad index {n}")),
            other => Err(format!("expected an index, found {other:?}")),
        }
    }

    /// `[msb:lsb]` or `[i]` if one follows.
    fn range(&mut self) -> Result<Option<(i64, i64)>, String> {
        if self.peek() != Some(&Tok::Punct('[')) {
            return Ok(None);
        }
        self.pos += 1;
        let msb = self.number()?;
        let lsb = if self.peek() == Some(&Tok::Punct(':')) {
            self.pos += 1;
            self.number()?
        } else {
            msb
        };
        self.expect(']')?;
        Ok(Some((msb, lsb)))
    }

    /// An expression's bits, most significant first.
    fn expr(&mut self) -> Result<Vec<Bit>, String> {
        match self.next()? {
            Tok::Punct('{') => {
                let mut bits = vec![];
                loop {
                    bits.extend(self.expr()?);
                    match self.next()? {
                        Tok::Punct(',') => {}
                        Tok::Punct('}') => return Ok(bits),
                        other => return Err(format!("expected `,` or `}}` in a concatenation, found {other:?}")),
                    }
                }
            }
            Tok::Number(n) => Ok(const_bits(&n)?.into_iter().rev().map(Bit::Const).collect()),
            Tok::Ident(name) => {
                let declared = self.ranges.get(&name).copied();
                let (msb, lsb) = match (self.range()?, declared) {
                    (Some(r), _) | (None, Some(r)) => r,
                    (None, None) => return Ok(vec![Bit::Net(name)]),
                };
                let step = if msb >= lsb { -1 } else { 1 };
                let mut bits = vec![];
                let mut i = msb;
                loop {
                    bits.push(Bit::Net(format!("{name}[{i}]")));
                    if i == lsb {
                        break;
                    }
                    i += step;
                }
                Ok(bits)
            }
            other => Err(format!("unexpected {other:?} in an expression")),
        }
    }

    fn skip_statement(&mut self) -> Result<(), String> {
        while self.next()? != Tok::Punct(';') {}
        Ok(())
    }
}

/// Reads the first module of a Yosys-written gate-level netlist.
pub fn parse(text: &str) -> Result<Netlist, String> {
    let toks = tokens(text);
    let mut p = Parser { toks: &toks, pos: 0, ranges: BTreeMap::new() };
    while p.next()? != Tok::Ident("module".into()) {}
    let module = match p.next()? {
        Tok::Ident(n) => n,
        other => return Err(format!("expected a module name, found {other:?}")),
    };
    p.skip_statement()?;
    let mut net = Netlist { module, ..Netlist::default() };
    loop {
        let Tok::Ident(word) = p.next()? else { return Err(format!("unexpected token at {}", p.pos)) };
        match word.as_str() {
            "endmodule" => return Ok(net),
            "input" | "output" | "inout" | "wire" | "reg" => {
                if let Some(range) = p.range()? {
                    loop {
                        match p.next()? {
                            Tok::Ident(name) => {
                                p.ranges.insert(name, range);
                            }
                            Tok::Punct(';') => break,
                            _ => {}
                        }
                    }
                } else {
                    p.skip_statement()?;
                }
            }
            "assign" => {
                let lhs = p.expr()?;
                p.expect('=')?;
                let rhs = p.expr()?;
                p.expect(';')?;
                if lhs.len() != rhs.len() {
                    return Err(format!("assign of {} bits from {} bits", lhs.len(), rhs.len()));
                }
                net.aliases.extend(lhs.into_iter().zip(rhs));
            }
            cell => {
                let name = match p.next()? {
                    Tok::Ident(n) => n,
                    other => return Err(format!("instance of {cell}: expected a name, found {other:?}")),
                };
                p.expect('(')?;
                let mut pins = vec![];
                while p.peek() == Some(&Tok::Punct('.')) {
                    p.pos += 1;
                    let Tok::Ident(pin) = p.next()? else { return Err(format!("{name}: bad pin name")) };
                    p.expect('(')?;
                    if p.peek() != Some(&Tok::Punct(')')) {
                        let bits = p.expr()?;
                        let [bit] = <[Bit; 1]>::try_from(bits)
                            .map_err(|b| format!("{name}.{pin} connects {} bits, not 1", b.len()))?;
                        pins.push((pin, bit));
                    }
                    p.expect(')')?;
                    if p.peek() == Some(&Tok::Punct(',')) {
                        p.pos += 1;
                    }
                }
                p.expect(')')?;
                p.expect(';')?;
                net.instances.push(Instance { name, cell: cell.to_string(), pins });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_instances_vectors_escaped_names_and_aliases() {
        let v = r"/* Generated by Yosys */
module top(clk, a, y);
  wire _0_;
  input clk;
  input [1:0] a;
  output [1:0] y;
  wire [1:0] \lane0.a ;
  DFFHQNx1 _1_ (
    .CLK(clk),
    .D(a[0]),
    .QN(_0_)
  );
  INVx1 \inv$2  (.A(\lane0.a [1]), .Y(y[1]));
  TIELO _3_ (.L());
  assign \lane0.a  = a;
  assign y[0] = 1'h0;
endmodule
";
        let n = parse(v).unwrap();
        assert_eq!(n.module, "top");
        assert_eq!(n.instances.len(), 3);
        let dff = &n.instances[0];
        assert_eq!(dff.cell, "DFFHQNx1");
        let bits: Vec<_> = dff.pins.iter().map(|(p, b)| (p.as_str(), b.clone())).collect();
        assert_eq!(
            bits,
            [("CLK", Bit::Net("clk".into())), ("D", Bit::Net("a[0]".into())), ("QN", Bit::Net("_0_".into()))]
        );
        assert_eq!(n.instances[1].name, "inv$2");
        assert_eq!(n.instances[1].pins[0].1, Bit::Net("lane0.a[1]".into()));
        assert!(n.instances[2].pins.is_empty());
        assert_eq!(
            n.aliases,
            [
                (Bit::Net("lane0.a[1]".into()), Bit::Net("a[1]".into())),
                (Bit::Net("lane0.a[0]".into()), Bit::Net("a[0]".into())),
                (Bit::Net("y[0]".into()), Bit::Const(false)),
            ]
        );
    }

    #[test]
    fn rejects_what_it_cannot_read() {
        assert!(parse("module m(a); input [1:0] a; INV i (.A(a)); endmodule").unwrap_err().contains("2 bits"));
        assert!(parse("module m(a); assign a = 4'd3; endmodule").unwrap_err().contains("hex"));
        assert!(parse("module m(a); input a;").unwrap_err().contains("ends early"));
    }
}
