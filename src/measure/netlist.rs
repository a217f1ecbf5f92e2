//! A design mapped onto standard cells, read from the JSON netlist Yosys
//! writes (`write_json`): cell instances with their pin connections, and the
//! nets they connect with every name each net has. A name is the one a
//! Verilator VCD trace of the Verilog netlist gives the bit: `name` for a
//! one-bit wire, `name[i]` for bit i of a vector. A wire no cell connects
//! to (an unused input bit, a name Yosys kept for logic it optimised away)
//! carries no load and is not a net here.

use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};

/// One bit of a connection: a net (an index into [`Netlist::nets`]) or a
/// constant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bit {
    Net(usize),
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
    /// Every net's names (wires that Yosys joined are one net), for each
    /// net the cells connect to.
    pub nets: Vec<Vec<String>>,
}

#[derive(Deserialize)]
struct JsonDesign {
    modules: BTreeMap<String, JsonModule>,
}

#[derive(Deserialize)]
struct JsonModule {
    #[serde(default)]
    cells: BTreeMap<String, JsonCell>,
    #[serde(default)]
    netnames: BTreeMap<String, JsonWire>,
}

#[derive(Deserialize)]
struct JsonCell {
    #[serde(rename = "type")]
    cell_type: String,
    connections: BTreeMap<String, Vec<JsonBit>>,
}

#[derive(Deserialize)]
struct JsonWire {
    bits: Vec<JsonBit>,
    /// The Verilog index of the first bit (`wire [8:1] x` has offset 1).
    #[serde(default)]
    offset: i64,
    /// 1 for a wire declared `[lsb:msb]`, whose first bit is its last index.
    #[serde(default)]
    upto: u8,
}

/// A bit in Yosys JSON: a net number, or "0", "1", "x" or "z".
#[derive(Deserialize)]
#[serde(untagged)]
enum JsonBit {
    Net(u64),
    Const(String),
}

/// Numbers the nets cells connect to densely, in the order they are first met.
#[derive(Default)]
struct Nets {
    index: HashMap<u64, usize>,
    names: Vec<Vec<String>>,
}

impl Nets {
    fn connect(&mut self, bit: &JsonBit) -> Result<Bit, String> {
        match bit {
            JsonBit::Net(id) => {
                let next = self.names.len();
                let net = *self.index.entry(*id).or_insert(next);
                if net == next {
                    self.names.push(vec![]);
                }
                Ok(Bit::Net(net))
            }
            // x and z are read as 0: they do not toggle.
            JsonBit::Const(c) if matches!(c.as_str(), "0" | "x" | "z") => Ok(Bit::Const(false)),
            JsonBit::Const(c) if c == "1" => Ok(Bit::Const(true)),
            JsonBit::Const(c) => Err(format!("bit {c:?} is neither a net number nor 0, 1, x or z")),
        }
    }
}

/// The bit names of a wire, first bit first: `name` alone for one bit.
fn bit_names(name: &str, wire: &JsonWire) -> Vec<String> {
    let width = wire.bits.len() as i64;
    if width == 1 {
        return vec![name.to_string()];
    }
    let index = |i: i64| if wire.upto == 1 { wire.offset + width - 1 - i } else { wire.offset + i };
    (0..width).map(|i| format!("{name}[{}]", index(i))).collect()
}

/// Reads module `top` of a Yosys JSON netlist.
pub fn parse(json: &str, top: &str) -> Result<Netlist, String> {
    let design: JsonDesign =
        serde_json::from_str(json).map_err(|e| format!("not a Yosys JSON netlist (`write_json`): {e}"))?;
    let module = design.modules.get(top).ok_or_else(|| {
        let found: Vec<&str> = design.modules.keys().map(String::as_str).collect();
        format!("the netlist has no module {top} (it has {})", found.join(", "))
    })?;
    let mut nets = Nets::default();
    let mut instances = Vec::with_capacity(module.cells.len());
    for (name, cell) in &module.cells {
        let mut pins = vec![];
        for (pin, bits) in &cell.connections {
            match bits.as_slice() {
                [] => {}
                [bit] => pins.push((pin.clone(), nets.connect(bit)?)),
                more => return Err(format!("{name}.{pin} connects {} bits, not 1", more.len())),
            }
        }
        instances.push(Instance { name: name.clone(), cell: cell.cell_type.clone(), pins });
    }
    for (name, wire) in &module.netnames {
        for (bit, bit_name) in wire.bits.iter().zip(bit_names(name, wire)) {
            if let JsonBit::Net(id) = bit
                && let Some(&net) = nets.index.get(id)
            {
                nets.names[net].push(bit_name);
            }
        }
    }
    Ok(Netlist { module: top.to_string(), instances, nets: nets.names })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What Yosys writes for a flip-flop, an inverter on an escaped-name
    /// vector bit joined to a port, a constant output bit, an unconnected
    /// tie cell and a wire no cell connects to.
    const SMALL: &str = r#"{
      "creator": "Yosys 0.23",
      "modules": {
        "top": {
          "attributes": {},
          "ports": {"clk": {"direction": "input", "bits": [2]}},
          "cells": {
            "_1_": {"hide_name": 0, "type": "DFF", "parameters": {}, "attributes": {},
                    "connections": {"CLK": [2], "D": [3], "QN": [5]}},
            "inv$2": {"hide_name": 0, "type": "INV", "parameters": {}, "attributes": {},
                      "connections": {"A": [4], "Y": [6]}},
            "_3_": {"hide_name": 0, "type": "TIELO", "parameters": {}, "attributes": {},
                    "connections": {"L": []}}
          },
          "netnames": {
            "_0_": {"hide_name": 0, "bits": [5], "attributes": {}},
            "a": {"hide_name": 0, "bits": [3, 4], "attributes": {}},
            "clk": {"hide_name": 0, "bits": [2], "attributes": {}},
            "lane0.a": {"hide_name": 0, "bits": [3, 4], "offset": 1, "attributes": {}},
            "unused": {"hide_name": 0, "bits": [7], "attributes": {}},
            "y": {"hide_name": 0, "bits": ["0", 6], "upto": 1, "attributes": {}}
          }
        }
      }
    }"#;

    #[test]
    fn reads_cells_nets_and_every_name_of_a_net() {
        let n = parse(SMALL, "top").unwrap();
        assert_eq!(n.module, "top");
        assert_eq!(n.instances.len(), 3);
        let dff = n.instances.iter().find(|i| i.cell == "DFF").unwrap();
        let name = |bit: &Bit| match bit {
            Bit::Net(k) => n.nets[*k].clone(),
            Bit::Const(v) => vec![v.to_string()],
        };
        let pins: Vec<_> = dff.pins.iter().map(|(p, b)| (p.as_str(), name(b))).collect();
        assert_eq!(
            pins,
            [("CLK", vec!["clk".into()]), ("D", vec!["a[0]".into(), "lane0.a[1]".into()]), ("QN", vec!["_0_".into()])]
        );
        let inv = n.instances.iter().find(|i| i.name == "inv$2").unwrap();
        // y is declared [0:1]: its first bit is y[1], a constant, its second y[0].
        assert_eq!(name(&inv.pins[1].1), ["y[0]"]);
        assert_eq!(name(&inv.pins[0].1), ["a[1]", "lane0.a[2]"]);
        assert!(n.instances.iter().find(|i| i.cell == "TIELO").unwrap().pins.is_empty());
        assert_eq!(n.nets.len(), 5, "unused is no net");
        assert!(!n.nets.concat().contains(&"unused".to_string()));
    }

    #[test]
    fn rejects_what_it_cannot_read() {
        let wide = r#"{"modules": {"m": {"cells": {"g": {"type": "INV", "connections": {"A": [2, 3]}}}}}}"#;
        assert!(parse(wide, "m").unwrap_err().contains("g.A connects 2 bits, not 1"));
        assert!(parse(wide, "top").unwrap_err().contains("no module top (it has m)"));
        let odd = r#"{"modules": {"m": {"cells": {"g": {"type": "INV", "connections": {"A": ["q"]}}}}}}"#;
        assert!(parse(odd, "m").unwrap_err().contains(r#"bit "q" is neither"#));
        assert!(parse("module m; endmodule", "m").unwrap_err().contains("not a Yosys JSON netlist"));
    }
}
