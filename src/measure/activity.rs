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

/// Toggles (0 <-> 1 changes, not x or z) at or after time `from`, per bit
/// of every variable declared directly in scope `scope`, named `name` or
/// `name[i]`. Variables sharing an identifier code (aliases) get the same count.
pub fn count_toggles(vcd: impl BufRead, scope: &str, from: u64) -> Result<HashMap<String, u64>, String> {
    let mut lines = vcd.lines();
    let mut words: Vec<String> = vec![];
    // The header, as a stream of words.
    for line in lines.by_ref() {
        let line = line.map_err(|e| format!("cannot read the trace: {e}"))?;
        let done = line.contains("$enddefinitions");
        words.extend(line.split_whitespace().map(str::to_string));
        if done {
            break;
        }
    }
    let mut codes: HashMap<String, usize> = HashMap::new();
    let mut vars: Vec<(usize, Vec<Var>)> = vec![];
    let mut scopes: Vec<String> = vec![];
    let mut i = 0;
    while i < words.len() {
        match words[i].as_str() {
            "$scope" => {
                scopes.push(words.get(i + 2).cloned().unwrap_or_default());
                i += 3;
            }
            "$upscope" => {
                scopes.pop();
                i += 1;
            }
            "$var" => {
                let end = words[i..].iter().position(|w| w == "$end").ok_or("a $var without $end")? + i;
                let field = |k: usize| words.get(i + k).filter(|_| i + k < end).map(String::as_str);
                let width: usize = field(2).and_then(|w| w.parse().ok()).ok_or("a $var without a width")?;
                let code = field(3).ok_or("a $var without a code")?.to_string();
                let mut name = field(4).ok_or("a $var without a name")?.to_string();
                let mut range_text = field(5).map(str::to_string);
                if range_text.is_none()
                    && let Some(at) = name.find('[').filter(|_| name.ends_with(']') && width > 1)
                {
                    range_text = Some(name[at..].to_string());
                    name.truncate(at);
                }
                if scopes.last().map(String::as_str) == Some(scope) {
                    let range = range_text.as_deref().map(parse_range).transpose()?;
                    let next = codes.len();
                    let index = *codes.entry(code).or_insert(next);
                    if index == vars.len() {
                        vars.push((width, vec![]));
                    }
                    vars[index].1.push(Var { name, range });
                }
                i = end + 1;
            }
            _ => i += 1,
        }
    }
    if vars.is_empty() {
        return Err(format!("the trace declares no signal in scope {scope}"));
    }
    // Current value (0, 1, or 2 for x/z) and toggle count of every bit, LSB first.
    let mut values: Vec<Vec<u8>> = vars.iter().map(|(w, _)| vec![2; *w]).collect();
    let mut counts: Vec<Vec<u64>> = vars.iter().map(|(w, _)| vec![0; *w]).collect();
    let mut now = 0u64;
    for line in lines {
        let line = line.map_err(|e| format!("cannot read the trace: {e}"))?;
        let line = line.trim();
        let (value, code) = match line.as_bytes().first() {
            Some(b'#') => {
                now = line[1..].parse().map_err(|_| format!("bad time stamp {line}"))?;
                continue;
            }
            Some(b'b' | b'B') => line[1..].split_once(' ').ok_or_else(|| format!("bad vector change {line}"))?,
            Some(b'0' | b'1' | b'x' | b'X' | b'z' | b'Z') => line.split_at(1),
            _ => continue, // $dumpvars, $end, real values, comments
        };
        let Some(&index) = codes.get(code.trim()) else { continue };
        let bits = &mut values[index];
        let text = value.as_bytes();
        // A shorter vector is extended on the left with 0 (or its x/z).
        let pad = match text.first() {
            Some(b'x' | b'X' | b'z' | b'Z') => 2,
            _ => 0,
        };
        for (pos, old) in bits.iter_mut().enumerate() {
            let new = match text.len().checked_sub(pos + 1).map(|k| text[k]) {
                Some(b'0') => 0,
                Some(b'1') => 1,
                Some(_) => 2,
                None => pad,
            };
            if now >= from && *old != new && *old < 2 && new < 2 {
                counts[index][pos] += 1;
            }
            *old = new;
        }
    }
    let mut out = HashMap::new();
    for (index, (_, names)) in vars.iter().enumerate() {
        for var in names {
            match var.range {
                None => {
                    out.insert(var.name.clone(), counts[index][0]);
                }
                Some((msb, lsb)) => {
                    for (pos, &n) in counts[index].iter().enumerate() {
                        let bit = if msb >= lsb { lsb + pos as i64 } else { lsb - pos as i64 };
                        out.insert(format!("{}[{bit}]", var.name), n);
                    }
                }
            }
        }
    }
    Ok(out)
}

/// `[7:0]` or `[3]`.
fn parse_range(text: &str) -> Result<(i64, i64), String> {
    let inner = text.trim().strip_prefix('[').and_then(|t| t.strip_suffix(']')).ok_or("bad range")?;
    let parse = |s: &str| s.trim().parse::<i64>().map_err(|_| format!("bad range {text}"));
    match inner.split_once(':') {
        Some((msb, lsb)) => Ok((parse(msb)?, parse(lsb)?)),
        None => parse(inner).map(|b| (b, b)),
    }
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
