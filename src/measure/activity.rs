//! Switching activity of a gate-level netlist: simulated under Verilator
//! with a VCD trace of its top module's nets, toggles counted per bit.
//! Verilator is zero-delay, so these are functional toggles: glitches
//! between clock edges are not seen.

use crate::eda;
use crate::eda::verilator::{ModelOptions, Trace};
use crate::sim::{Model, port_widths};
use crate::spec::signature::Signature;
use crate::util::bits::{BitVec, SplitMix64};
use crate::verify::testbench::{Cycle, FixedLatencyPorts};
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use vcd::{Command, ReferenceIndex, ScopeItem, Value};

/// What drives the data inputs while toggles are counted.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Inputs {
    /// A new uniformly random vector on every port every cycle.
    Random,
    /// Every data input held at 0.
    Zeros,
}

/// The stimulus: two reset cycles, `latency` cycles to fill the pipeline,
/// then `cycles` counted cycles; `in_valid` high throughout.
#[derive(Clone, Copy, Debug)]
pub struct Stimulus {
    pub cycles: u64,
    pub seed: u64,
    pub inputs: Inputs,
}

impl Stimulus {
    pub fn describe(&self) -> String {
        let inputs = match self.inputs {
            Inputs::Random => format!("uniformly random inputs (SplitMix64 seed {})", self.seed),
            Inputs::Zeros => "all data inputs 0".to_string(),
        };
        format!(
            "{} cycles counted after 2 reset cycles and a pipeline fill, in_valid high, {inputs}, no reset after \
             the start",
            self.cycles
        )
    }
}

/// A gate-level design to simulate: its Verilog (netlist and cell models,
/// in read order) and the signature of the design it implements.
pub struct GateLevel<'a> {
    pub signature: &'a Signature,
    pub verilog: Vec<(String, String)>,
}

/// Toggle counts per net bit over the counted cycles.
#[derive(Clone, Debug, Default)]
pub struct Toggles {
    pub cycles: u64,
    pub by_bit: HashMap<String, u64>,
}

/// Simulates `design` with `stimulus` and counts the toggles of every net
/// of its top module; the VCD lives in `work` only while it is read.
pub fn simulate(design: &GateLevel, work: &Path, stimulus: &Stimulus) -> Result<Toggles, String> {
    std::fs::create_dir_all(work).map_err(|e| format!("cannot create {}: {e}", work.display()))?;
    let signature = design.signature;
    let top = &signature.top;
    let ports = FixedLatencyPorts::of(signature)?;
    let options = ModelOptions { trace: Trace::TopNets, netlist: true, ..ModelOptions::default() };
    let lib = eda::verilator::build_model(&design.verilog, signature, &options)?;
    let vcd = work.join(format!("{top}_activity.vcd"));
    let mut model = Model::load(&lib.path, port_widths(signature), Some(&vcd))?;
    let widths: Vec<usize> = signature.data_inputs().map(|p| p.width as usize).collect();
    let mut rng = SplitMix64::new(stimulus.seed);
    let warm_up = 2 + u64::from(ports.latency);
    for cycle in 0..warm_up + stimulus.cycles {
        let inputs = widths
            .iter()
            .map(|&w| match stimulus.inputs {
                Inputs::Random => BitVec::random(w, &mut rng),
                Inputs::Zeros => BitVec::zeros(w),
            })
            .collect();
        ports.cycle(&mut model, &Cycle { rst: cycle < 2, in_valid: true, inputs });
    }
    // Closes the trace.
    drop(model);
    let file = File::open(&vcd).map_err(|e| format!("the simulation wrote no trace {}: {e}", vcd.display()))?;
    // Each cycle is two time steps (clock low, clock high).
    let by_bit = count_toggles(BufReader::new(file), top, 2 * warm_up)?;
    let _ = std::fs::remove_file(&vcd);
    Ok(Toggles { cycles: stimulus.cycles, by_bit })
}

/// One traced variable: its name and declared range (None for a scalar).
struct Var {
    name: String,
    range: Option<(i64, i64)>,
}

/// The variables of one scope, grouped by identifier code: variables that
/// share a code are aliases of one value, whose width the first one gives.
#[derive(Default)]
struct Traced {
    group_of: HashMap<vcd::IdCode, usize>,
    groups: Vec<(usize, Vec<Var>)>,
}

impl Traced {
    /// Adds the variables declared directly in every scope called `scope`.
    fn collect(&mut self, items: &[ScopeItem], scope: &str, inside: bool) -> Result<(), String> {
        for item in items {
            match item {
                ScopeItem::Scope(s) => self.collect(&s.items, scope, s.identifier == scope)?,
                ScopeItem::Var(v) if inside => self.add(v)?,
                _ => {}
            }
        }
        Ok(())
    }

    fn add(&mut self, var: &vcd::Var) -> Result<(), String> {
        let width = var.size as usize;
        let mut name = var.reference.clone();
        let mut index = var.index;
        // Some writers glue a vector's range to its name: `a[7:0]`.
        if index.is_none()
            && let Some(at) = name.find('[').filter(|_| name.ends_with(']') && width > 1)
        {
            let glued = &name[at..];
            index = Some(glued.parse().map_err(|_| format!("trace variable {name}: bad range {glued}"))?);
            name.truncate(at);
        }
        let range = index.map(|i| match i {
            ReferenceIndex::BitSelect(b) => (i64::from(b), i64::from(b)),
            ReferenceIndex::Range(msb, lsb) => (i64::from(msb), i64::from(lsb)),
        });
        let next = self.groups.len();
        let group = *self.group_of.entry(var.code).or_insert(next);
        if group == next {
            self.groups.push((width, vec![]));
        }
        self.groups[group].1.push(Var { name, range });
        Ok(())
    }
}

/// A bit's value is 0, 1, or this for x and z (which do not toggle).
const UNKNOWN: u8 = 2;

fn level(v: Value) -> u8 {
    match v {
        Value::V0 => 0,
        Value::V1 => 1,
        Value::X | Value::Z => UNKNOWN,
    }
}

/// Applies one value change (most significant bit first, as written) to
/// `bits`, counting 0 <-> 1 changes in `counts` when `counting`.
fn apply(bits: &mut [u8], counts: &mut [u64], change: &[Value], counting: bool) {
    // A shorter vector is extended on the left with 0, or with its x or z.
    let pad = match change.first() {
        Some(Value::X | Value::Z) => UNKNOWN,
        _ => 0,
    };
    for (pos, (old, count)) in bits.iter_mut().zip(counts.iter_mut()).enumerate() {
        let new = change.len().checked_sub(pos + 1).map_or(pad, |k| level(change[k]));
        if counting && *old != new && *old != UNKNOWN && new != UNKNOWN {
            *count += 1;
        }
        *old = new;
    }
}

/// Toggles (0 <-> 1 changes, not x or z) at or after time `from`, per bit
/// of every variable declared directly in scope `scope`, named `name` or
/// `name[i]`. Variables sharing an identifier code (aliases) get the same count.
pub fn count_toggles(vcd: impl BufRead, scope: &str, from: u64) -> Result<HashMap<String, u64>, String> {
    let mut parser = vcd::Parser::new(vcd);
    let header = parser.parse_header().map_err(|e| format!("cannot read the trace's header: {e}"))?;
    let mut traced = Traced::default();
    traced.collect(&header.items, scope, false)?;
    if traced.groups.is_empty() {
        return Err(format!("the trace declares no signal in scope {scope}"));
    }
    let mut values: Vec<Vec<u8>> = traced.groups.iter().map(|(w, _)| vec![UNKNOWN; *w]).collect();
    let mut counts: Vec<Vec<u64>> = traced.groups.iter().map(|(w, _)| vec![0; *w]).collect();
    let mut now = 0u64;
    for command in parser {
        let mut record = |code, change: &[Value]| {
            if let Some(&group) = traced.group_of.get(&code) {
                apply(&mut values[group], &mut counts[group], change, now >= from);
            }
        };
        match command.map_err(|e| format!("cannot read the trace: {e}"))? {
            Command::Timestamp(t) => now = t,
            Command::ChangeScalar(code, v) => record(code, &[v]),
            Command::ChangeVector(code, v) => record(code, &Vec::from(v)),
            _ => {} // $dumpvars, real and string values
        }
    }
    Ok(per_bit(&traced, &counts))
}

/// The counts by bit name: `name` for a scalar, `name[i]` for each bit of
/// a vector declared `[msb:lsb]`.
fn per_bit(traced: &Traced, counts: &[Vec<u64>]) -> HashMap<String, u64> {
    let mut out = HashMap::new();
    for ((_, vars), counts) in traced.groups.iter().zip(counts) {
        for var in vars {
            match var.range {
                None => {
                    out.insert(var.name.clone(), counts[0]);
                }
                Some((msb, lsb)) => {
                    for (pos, &n) in counts.iter().enumerate() {
                        let bit = if msb >= lsb { lsb + pos as i64 } else { lsb - pos as i64 };
                        out.insert(format!("{}[{bit}]", var.name), n);
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_toggles_per_bit_from_a_time_on() {
        let vcd = "$version test $end
$timescale 1ps $end
 $scope module TOP $end
  $var wire  1 ! clk $end
  $scope module top $end
   $var wire  1 ! clk $end
   $var wire  3 # a [2:0] $end
   $var wire  3 # a_q [2:0] $end
   $var wire  1 $ _005_ $end
  $upscope $end
 $upscope $end
$enddefinitions $end
#0
$dumpvars
0!
b000 #
x$
$end
#1
1!
b101 #
0$
#2
0!
b11 #
1$
#3
1!
b011 #
#4
0!
b1 #
0$
";
        // From time 2 on: clk 0,1,0 (3 toggles); a goes 101 -> 011 (bits 1 and 2)
        // -> 011 -> 001 (bit 1); _005_ goes 0 -> 1 -> 0 (the x -> 0 at time 1 is before).
        let t = count_toggles(vcd.as_bytes(), "top", 2).unwrap();
        assert_eq!(t["clk"], 3);
        assert_eq!((t["a[0]"], t["a[1]"], t["a[2]"]), (0, 2, 1));
        assert_eq!(t["a_q[1]"], 2, "aliases share the count");
        assert_eq!(t["_005_"], 2);
        assert_eq!(t.len(), 8);
        // From the start: the x -> 0 of _005_ is not a toggle.
        let all = count_toggles(vcd.as_bytes(), "top", 0).unwrap();
        assert_eq!((all["clk"], all["a[0]"], all["a[2]"], all["_005_"]), (4, 1, 2, 2));
        assert!(count_toggles(vcd.as_bytes(), "nowhere", 0).unwrap_err().contains("no signal in scope nowhere"));
    }
}
