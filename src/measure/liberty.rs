//! Liberty (.lib) files read as groups and attributes, and the cell data the
//! power and delay estimates need: units, pin capacitances, internal-energy
//! and delay tables, and leakage. Every quantity is converted to SI units
//! (seconds, farads, joules, watts, volts) when read.

use std::collections::BTreeMap;

/// One Liberty group: `name (args) { attributes and groups }`.
#[derive(Clone, Debug, Default)]
pub struct Group {
    pub name: String,
    pub args: Vec<String>,
    /// Simple (`name : value;`) and complex (`name (a, b);`) attributes.
    pub attrs: Vec<(String, Vec<String>)>,
    pub groups: Vec<Group>,
}

impl Group {
    /// The value of the first attribute called `name`.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(n, _)| n == name).and_then(|(_, v)| v.first()).map(String::as_str)
    }

    /// All values of the first attribute called `name`.
    pub fn values(&self, name: &str) -> Option<&[String]> {
        self.attrs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_slice())
    }

    pub fn children<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Group> + 'a {
        self.groups.iter().filter(move |g| g.name == name)
    }

    fn number(&self, name: &str) -> Option<f64> {
        self.attr(name).and_then(|v| v.parse().ok())
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Tok<'a> {
    Word(&'a str),
    Str(&'a str),
    Punct(u8),
}

/// Tokens, each with whether a line break came before it (a simple
/// attribute ends at its line when the `;` is missing).
fn tokens(text: &str) -> Result<Vec<(Tok<'_>, bool)>, String> {
    let b = text.as_bytes();
    let mut out = vec![];
    let (mut i, mut newline) = (0, true);
    let line = |i: usize| text[..i].matches('\n').count() + 1;
    while i < b.len() {
        match b[i] {
            b'\n' => {
                newline = true;
                i += 1;
            }
            // `\` continues a line.
            c if c.is_ascii_whitespace() || c == b'\\' => i += 1,
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let end = text[i + 2..].find("*/").ok_or_else(|| format!("unclosed comment at line {}", line(i)))?;
                newline |= text[i..i + 2 + end].contains('\n');
                i += end + 4;
            }
            b'"' => {
                let end = text[i + 1..].find('"').ok_or_else(|| format!("unclosed string at line {}", line(i)))?;
                out.push((Tok::Str(&text[i + 1..i + 1 + end]), newline));
                newline = false;
                i += end + 2;
            }
            c @ (b'(' | b')' | b'{' | b'}' | b':' | b';' | b',') => {
                out.push((Tok::Punct(c), newline));
                newline = false;
                i += 1;
            }
            _ => {
                let start = i;
                while i < b.len() && !b[i].is_ascii_whitespace() && !b"(){}:;,\"\\".contains(&b[i]) {
                    i += 1;
                }
                out.push((Tok::Word(&text[start..i]), newline));
                newline = false;
            }
        }
    }
    Ok(out)
}

/// Parses the text of a Liberty file into its top group (`library`).
pub fn parse(text: &str) -> Result<Group, String> {
    let toks = tokens(text)?;
    let mut pos = 0;
    let top = statement(&toks, &mut pos)?.ok_or("no `library` group")?;
    match top {
        Statement::Group(g) if g.name == "library" => Ok(g),
        _ => Err("the file does not start with a `library` group".into()),
    }
}

enum Statement {
    Group(Group),
    Attr(String, Vec<String>),
}

fn text_of(t: Tok<'_>) -> Option<String> {
    match t {
        Tok::Word(s) | Tok::Str(s) => Some(s.to_string()),
        Tok::Punct(_) => None,
    }
}

fn statement(toks: &[(Tok<'_>, bool)], pos: &mut usize) -> Result<Option<Statement>, String> {
    let Some(&(first, _)) = toks.get(*pos) else { return Ok(None) };
    let Tok::Word(name) = first else {
        return Err(format!("expected a name, found {first:?} (token {pos})"));
    };
    *pos += 1;
    match toks.get(*pos).map(|t| t.0) {
        Some(Tok::Punct(b':')) => {
            *pos += 1;
            let mut value = vec![];
            while let Some(&(t, newline)) = toks.get(*pos) {
                if t == Tok::Punct(b';') {
                    *pos += 1;
                    break;
                }
                if t == Tok::Punct(b'}') || (newline && !value.is_empty()) {
                    break;
                }
                value.extend(text_of(t));
                *pos += 1;
            }
            Ok(Some(Statement::Attr(name.to_string(), vec![value.join(" ")])))
        }
        Some(Tok::Punct(b'(')) => {
            *pos += 1;
            let mut args = vec![];
            loop {
                match toks.get(*pos).map(|t| t.0) {
                    Some(Tok::Punct(b')')) => break,
                    Some(Tok::Punct(b',')) => {}
                    Some(t @ (Tok::Word(_) | Tok::Str(_))) => args.extend(text_of(t)),
                    other => return Err(format!("bad argument list of `{name}`: {other:?}")),
                }
                *pos += 1;
            }
            *pos += 1;
            if toks.get(*pos).map(|t| t.0) == Some(Tok::Punct(b'{')) {
                *pos += 1;
                let mut g = Group { name: name.to_string(), args, ..Group::default() };
                loop {
                    match toks.get(*pos).map(|t| t.0) {
                        Some(Tok::Punct(b'}')) => {
                            *pos += 1;
                            break;
                        }
                        Some(Tok::Punct(b';')) => *pos += 1,
                        None => return Err(format!("group `{name}` is not closed")),
                        Some(_) => match statement(toks, pos)? {
                            Some(Statement::Group(child)) => g.groups.push(child),
                            Some(Statement::Attr(n, v)) => g.attrs.push((n, v)),
                            None => return Err(format!("group `{name}` is not closed")),
                        },
                    }
                }
                Ok(Some(Statement::Group(g)))
            } else {
                if toks.get(*pos).map(|t| t.0) == Some(Tok::Punct(b';')) {
                    *pos += 1;
                }
                Ok(Some(Statement::Attr(name.to_string(), args)))
            }
        }
        other => Err(format!("`{name}` is followed by {other:?}, not `:` or `(`")),
    }
}

/// What a lookup-table axis measures.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Axis {
    /// An input transition (slew), seconds.
    Slew,
    /// An output load, farads.
    Load,
    Other,
}

/// A lookup table in SI units: axes with their indices, values row-major
/// (the first axis outermost). No axis: a scalar.
#[derive(Clone, Debug, Default)]
pub struct Table {
    pub axes: Vec<(Axis, Vec<f64>)>,
    pub values: Vec<f64>,
}

impl Table {
    /// Multilinear interpolation at `slew` (s) and `load` (F); queries
    /// outside an axis are clamped to its ends (no extrapolation); an axis
    /// of another kind is read at its middle entry.
    pub fn at(&self, slew: f64, load: f64) -> f64 {
        // Per axis: the two neighbouring indices and the weight of the upper one.
        let picks: Vec<(usize, usize, f64)> = self
            .axes
            .iter()
            .map(|(axis, index)| {
                let x = match axis {
                    Axis::Slew => slew,
                    Axis::Load => load,
                    Axis::Other => index[index.len() / 2],
                };
                bracket(index, x)
            })
            .collect();
        let mut total = 0.0;
        for corner in 0..1usize << picks.len() {
            let (mut offset, mut weight) = (0, 1.0);
            for (a, &(lo, hi, t)) in picks.iter().enumerate() {
                let upper = corner >> a & 1 == 1;
                let stride: usize = self.axes[a + 1..].iter().map(|(_, ix)| ix.len()).product();
                offset += stride * if upper { hi } else { lo };
                weight *= if upper { t } else { 1.0 - t };
            }
            if weight != 0.0 {
                total += weight * self.values[offset];
            }
        }
        total
    }
}

/// The indices around `x` in an increasing `index`, and the weight of the
/// upper one, clamped to the ends.
fn bracket(index: &[f64], x: f64) -> (usize, usize, f64) {
    let n = index.len();
    if n == 1 || x <= index[0] {
        return (0, 0, 0.0);
    }
    if x >= index[n - 1] {
        return (n - 1, n - 1, 0.0);
    }
    let hi = index.iter().position(|&v| v >= x).unwrap_or(n - 1);
    let lo = hi - 1;
    (lo, hi, (x - index[lo]) / (index[hi] - index[lo]))
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Direction {
    Input,
    Output,
    Other,
}

/// One `internal_power` group of a pin: energy per transition of the pin
/// (an output's, caused by `related_pin`), for one power or ground pin.
#[derive(Clone, Debug)]
pub struct InternalPower {
    pub related_pin: Option<String>,
    pub when: Option<String>,
    pub rise: Option<Table>,
    pub fall: Option<Table>,
}

/// One `timing` group of a pin: delays (`cell_rise`/`cell_fall`) or
/// constraints (`rise_constraint`/`fall_constraint`) from `related_pin`.
#[derive(Clone, Debug)]
pub struct Timing {
    pub related_pin: String,
    pub timing_type: String,
    pub rise: Option<Table>,
    pub fall: Option<Table>,
}

#[derive(Clone, Debug)]
pub struct Pin {
    pub direction: Direction,
    /// The output's Boolean `function`, as written ("1" on a tie-high cell).
    pub function: Option<String>,
    /// `clock : true`: a flip-flop's clock input.
    pub clock: bool,
    /// Input capacitance, F.
    pub capacitance: f64,
    pub internal_power: Vec<InternalPower>,
    pub timing: Vec<Timing>,
}

#[derive(Clone, Debug)]
pub struct Cell {
    /// `area`, in the library's unit (um^2 in ASAP7 and sky130).
    pub area: f64,
    /// Leakage, W: `cell_leakage_power`, else the state-independent
    /// `leakage_power` groups summed over power pins, else the mean over states.
    pub leakage: f64,
    pub pins: BTreeMap<String, Pin>,
}

/// What the estimates need from a library, in SI units.
#[derive(Clone, Debug)]
pub struct Library {
    pub name: String,
    /// `time_unit`, s.
    pub time_unit: f64,
    /// `nom_voltage`, V.
    pub voltage: f64,
    /// Units as the file states them, for the reports.
    pub units: String,
    pub cells: BTreeMap<String, Cell>,
}

/// `1ps`, `1nW`, `1V`: the number times the SI prefix, if the unit is `unit`.
fn scaled(text: &str, unit: char) -> Option<f64> {
    let t = text.trim().trim_matches('"');
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == 'e' || c == '-' || c == '+'))?;
    let (number, rest) = t.split_at(split);
    let number: f64 = if number.is_empty() { 1.0 } else { number.parse().ok()? };
    let rest = rest.trim();
    let prefix = rest.strip_suffix(unit).or_else(|| rest.strip_suffix(unit.to_ascii_lowercase()))?;
    let factor = match prefix {
        "" => 1.0,
        "m" => 1e-3,
        "u" => 1e-6,
        "n" => 1e-9,
        "p" => 1e-12,
        "f" => 1e-15,
        "a" => 1e-18,
        "k" => 1e3,
        _ => return None,
    };
    Some(number * factor)
}

struct Units {
    time: f64,
    cap: f64,
    energy: f64,
    leakage: f64,
}

fn units(lib: &Group) -> Result<(Units, f64, String), String> {
    let time_text = lib.attr("time_unit").ok_or("no time_unit")?;
    let time = scaled(time_text, 's').ok_or_else(|| format!("time_unit {time_text} is not like 1ps or 1ns"))?;
    let cap_args = lib.values("capacitive_load_unit").ok_or("no capacitive_load_unit")?;
    let (cap_number, cap) = match cap_args {
        [n, unit] => n.parse::<f64>().ok().zip(scaled(unit, 'F')).map(|(n, u)| (n, n * u)),
        _ => None,
    }
    .ok_or_else(|| format!("capacitive_load_unit {cap_args:?} is not like (1, ff)"))?;
    let volt_text = lib.attr("voltage_unit").unwrap_or("1V");
    let volt = scaled(volt_text, 'V').ok_or_else(|| format!("voltage_unit {volt_text} is not like 1V"))?;
    let leak_text = lib.attr("leakage_power_unit").ok_or("no leakage_power_unit")?;
    let leakage = scaled(leak_text, 'W').ok_or_else(|| format!("leakage_power_unit {leak_text} is not like 1nW"))?;
    let nominal = lib.number("nom_voltage").ok_or("no nom_voltage")? * volt;
    // Liberty has no energy unit: internal_power tables are in
    // capacitive_load_unit x voltage_unit^2 (as OpenSTA reads them).
    let energy = cap * volt * volt;
    let shown = format!(
        "time {time_text}, capacitance {cap_number}{}, voltage {volt_text}, leakage {leak_text}, internal energy \
         {energy:.0e} J (capacitance x voltage^2), nom_voltage {nominal} V",
        cap_args[1]
    );
    Ok((Units { time, cap, energy, leakage }, nominal, shown))
}

/// Table templates: name -> the kind of each axis and its default index.
type Templates = BTreeMap<String, Vec<(Axis, Vec<f64>)>>;

fn numbers(list: &[String]) -> Result<Vec<f64>, String> {
    list.iter()
        .flat_map(|s| s.split(',').map(str::trim).filter(|x| !x.is_empty()))
        .map(|x| x.parse::<f64>().map_err(|_| format!("`{x}` is not a number")))
        .collect()
}

fn templates(lib: &Group) -> Result<Templates, String> {
    let mut out = Templates::new();
    for g in lib.groups.iter().filter(|g| g.name.ends_with("_template")) {
        let Some(name) = g.args.first() else { continue };
        let mut axes = vec![];
        for i in 1..=3 {
            let Some(var) = g.attr(&format!("variable_{i}")) else { break };
            let axis = if var.contains("transition") {
                Axis::Slew
            } else if var.contains("capacitance") {
                Axis::Load
            } else {
                Axis::Other
            };
            let index = g.values(&format!("index_{i}")).map(numbers).transpose()?.unwrap_or_default();
            axes.push((axis, index));
        }
        out.insert(name.clone(), axes);
    }
    Ok(out)
}

/// A table group (`rise_power (template) { index_1 (...); values (...); }`)
/// with its values times `scale` and its axes in SI units.
fn table(g: &Group, templates: &Templates, units: &Units, scale: f64) -> Result<Table, String> {
    let template = g.args.first().map(String::as_str).unwrap_or("scalar");
    let mut axes = if template == "scalar" {
        vec![]
    } else {
        templates.get(template).cloned().ok_or_else(|| format!("table template `{template}` is not defined"))?
    };
    for (i, (axis, index)) in axes.iter_mut().enumerate() {
        if let Some(own) = g.values(&format!("index_{}", i + 1)) {
            *index = numbers(own)?;
        }
        let unit = match axis {
            Axis::Slew => units.time,
            Axis::Load => units.cap,
            Axis::Other => 1.0,
        };
        index.iter_mut().for_each(|x| *x *= unit);
    }
    let values: Vec<f64> = numbers(g.values("values").unwrap_or_default())?.into_iter().map(|v| v * scale).collect();
    let expected: usize = axes.iter().map(|(_, ix)| ix.len()).product();
    if values.len() != expected || expected == 0 {
        return Err(format!("{} ({template}): {} values for {expected} table entries", g.name, values.len()));
    }
    Ok(Table { axes, values })
}

fn edge_tables(
    g: &Group,
    rise: &str,
    fall: &str,
    templates: &Templates,
    units: &Units,
    scale: f64,
) -> Result<(Option<Table>, Option<Table>), String> {
    let get = |name: &str| g.children(name).next().map(|t| table(t, templates, units, scale)).transpose();
    // A `power` table serves both edges.
    let both = get("power")?;
    Ok((get(rise)?.or_else(|| both.clone()), get(fall)?.or(both)))
}

fn pin(g: &Group, templates: &Templates, units: &Units) -> Result<Pin, String> {
    let direction = match g.attr("direction") {
        Some("input") => Direction::Input,
        Some("output") => Direction::Output,
        _ => Direction::Other,
    };
    let mut internal_power = vec![];
    for p in g.children("internal_power") {
        let (rise, fall) = edge_tables(p, "rise_power", "fall_power", templates, units, units.energy)?;
        let when = p.attr("when").map(str::to_string);
        match p.attr("related_pin") {
            // `related_pin : "A B"` names several pins with the same tables.
            Some(related) => internal_power.extend(related.split_whitespace().map(|r| InternalPower {
                related_pin: Some(r.to_string()),
                when: when.clone(),
                rise: rise.clone(),
                fall: fall.clone(),
            })),
            None => internal_power.push(InternalPower { related_pin: None, when, rise, fall }),
        }
    }
    let mut timing = vec![];
    for t in g.children("timing") {
        let timing_type = t.attr("timing_type").unwrap_or("combinational").to_string();
        let (rise, fall) = if timing_type.starts_with("setup") || timing_type.starts_with("hold") {
            edge_tables(t, "rise_constraint", "fall_constraint", templates, units, units.time)?
        } else {
            edge_tables(t, "cell_rise", "cell_fall", templates, units, units.time)?
        };
        for related in t.attr("related_pin").unwrap_or_default().split_whitespace() {
            timing.push(Timing {
                related_pin: related.to_string(),
                timing_type: timing_type.clone(),
                rise: rise.clone(),
                fall: fall.clone(),
            });
        }
    }
    Ok(Pin {
        direction,
        function: g.attr("function").map(str::to_string),
        clock: g.attr("clock") == Some("true"),
        capacitance: g.number("capacitance").unwrap_or(0.0) * units.cap,
        internal_power,
        timing,
    })
}

fn leakage(cell: &Group, units: &Units) -> f64 {
    if let Some(total) = cell.number("cell_leakage_power") {
        return total * units.leakage;
    }
    let mut by_state: BTreeMap<Option<&str>, f64> = BTreeMap::new();
    for g in cell.children("leakage_power") {
        *by_state.entry(g.attr("when")).or_default() += g.number("value").unwrap_or(0.0);
    }
    let total = match by_state.get(&None) {
        Some(&independent) => independent,
        None if !by_state.is_empty() => by_state.values().sum::<f64>() / by_state.len() as f64,
        None => 0.0,
    };
    total * units.leakage
}

/// The cells of a parsed Liberty library with their power and timing data.
pub fn library(lib: &Group) -> Result<Library, String> {
    let (units, voltage, shown) = units(lib)?;
    let templates = templates(lib)?;
    let mut cells = BTreeMap::new();
    for c in lib.children("cell") {
        let Some(name) = c.args.first() else { continue };
        let mut pins = BTreeMap::new();
        for p in c.children("pin") {
            let data = pin(p, &templates, &units).map_err(|e| format!("cell {name}: {e}"))?;
            for pin_name in &p.args {
                pins.insert(pin_name.clone(), data.clone());
            }
        }
        let area = c.number("area").unwrap_or(0.0);
        cells.insert(name.clone(), Cell { area, leakage: leakage(c, &units), pins });
    }
    let name = lib.args.first().cloned().unwrap_or_default();
    Ok(Library { name, time_unit: units.time, voltage, units: shown, cells })
}

impl Pin {
    /// Energy per transition of this pin (J): per related pin and `when`
    /// state, the mean of the rise and fall tables at `slew` and `load`,
    /// summed over the power and ground pins (as OpenSTA does); then the
    /// mean over states, and over related pins weighted by `weight`
    /// (their activity; a plain mean when all weights are zero).
    pub fn energy_per_transition(&self, slew: f64, load: f64, weight: impl Fn(&str) -> f64) -> f64 {
        // related pin -> when -> (rise, fall) summed over power pins
        let mut sums: BTreeMap<&str, BTreeMap<&str, (f64, f64)>> = BTreeMap::new();
        for p in &self.internal_power {
            let at = |t: &Option<Table>| t.as_ref().map_or(0.0, |t| t.at(slew, load));
            let e = sums
                .entry(p.related_pin.as_deref().unwrap_or(""))
                .or_default()
                .entry(p.when.as_deref().unwrap_or(""))
                .or_default();
            e.0 += at(&p.rise);
            e.1 += at(&p.fall);
        }
        let per_related: Vec<(f64, f64)> = sums
            .iter()
            .map(|(related, states)| {
                let mean = states.values().map(|(r, f)| (r + f) / 2.0).sum::<f64>() / states.len() as f64;
                (if related.is_empty() { 0.0 } else { weight(related) }, mean)
            })
            .collect();
        if per_related.is_empty() {
            return 0.0;
        }
        let total_weight: f64 = per_related.iter().map(|(w, _)| w).sum();
        if total_weight > 0.0 {
            per_related.iter().map(|(w, e)| w * e).sum::<f64>() / total_weight
        } else {
            per_related.iter().map(|(_, e)| e).sum::<f64>() / per_related.len() as f64
        }
    }
}

impl Cell {
    /// The worst of rise and fall delay from any input to `output` (s), for
    /// arcs of `kind` (`combinational`, `rising_edge`), at `slew` and `load`.
    pub fn delay(&self, output: &str, kind: &str, slew: f64, load: f64) -> Option<f64> {
        let pin = self.pins.get(output)?;
        pin.timing
            .iter()
            .filter(|t| t.timing_type == kind)
            .flat_map(|t| [&t.rise, &t.fall])
            .flatten()
            .map(|t| t.at(slew, load))
            .reduce(f64::max)
    }

    /// The worst setup time (s) of `input` before a rising clock edge.
    pub fn setup(&self, input: &str, slew: f64) -> Option<f64> {
        let pin = self.pins.get(input)?;
        pin.timing
            .iter()
            .filter(|t| t.timing_type == "setup_rising")
            .flat_map(|t| [&t.rise, &t.fall])
            .flatten()
            .map(|t| t.at(slew, slew))
            .reduce(f64::max)
    }

    pub fn inputs(&self) -> impl Iterator<Item = (&String, &Pin)> {
        self.pins.iter().filter(|(_, p)| p.direction == Direction::Input)
    }

    pub fn outputs(&self) -> impl Iterator<Item = (&String, &Pin)> {
        self.pins.iter().filter(|(_, p)| p.direction == Direction::Output)
    }
}

/// A two-cell library in the style of ASAP7 (per power-pin groups,
/// `when` states, no `;` after one attribute) with hand-checkable numbers.
#[cfg(test)]
pub(crate) const TINY: &str = r#"
library (tiny) {
  /* units */
  time_unit : "1ps";
  capacitive_load_unit (1,ff);
  voltage_unit : "1V";
  leakage_power_unit : "1pW";
  nom_voltage : 0.7;
  power_lut_template (p2) {
    variable_1 : input_transition_time;
    variable_2 : total_output_net_capacitance;
    index_1 ("10, 20");
    index_2 ("1, 3");
  }
  lu_table_template (d2) {
    variable_1 : input_net_transition;
    variable_2 : total_output_net_capacitance;
    index_1 ("10, 20");
    index_2 ("1, 3");
  }
  cell (INV) {
    area : 0.04
    leakage_power () { value : 40; when : "A"; related_pg_pin : VDD; }
    leakage_power () { value : 60; when : "!A"; related_pg_pin : VDD; }
    pin (A) { direction : input; capacitance : 0.5; }
    pin (Y) {
      direction : output;
      function : "!A";
      timing () {
        related_pin : "A";
        cell_rise (d2) { values ("4, 8", \
                                 "6, 10"); }
        cell_fall (d2) { values ("3, 5", "5, 7"); }
      }
      internal_power () {
        related_pin : "A";
        related_pg_pin : VDD;
        rise_power (p2) { values ("0.10, 0.30", "0.20, 0.40"); }
        fall_power (p2) { values ("-0.02, -0.02", "-0.02, -0.02"); }
      }
      internal_power () {
        related_pin : "A";
        related_pg_pin : VSS;
        rise_power (p2) { values ("-0.02, -0.02", "-0.02, -0.02"); }
        fall_power (p2) { values ("0.14, 0.14", "0.14, 0.14"); }
      }
    }
  }
  cell (DFF) {
    cell_leakage_power : 200;
    pin (CLK) {
      direction : input;
      clock : true;
      capacitance : 0.4;
      internal_power () {
        when : "D";
        rise_power (scalar) { values ("0"); }
        fall_power (scalar) { values ("0.8"); }
      }
      internal_power () {
        when : "!D";
        rise_power (scalar) { values ("0.4"); }
        fall_power (scalar) { values ("0.4"); }
      }
    }
    pin (D) {
      direction : input;
      capacitance : 0.6;
      timing () {
        related_pin : "CLK";
        timing_type : setup_rising;
        rise_constraint (scalar) { values ("7"); }
        fall_constraint (scalar) { values ("9"); }
      }
    }
    pin (QN) {
      direction : output;
      timing () {
        related_pin : "CLK";
        timing_type : rising_edge;
        cell_rise (scalar) { values ("12"); }
        cell_fall (scalar) { values ("11"); }
      }
    }
  }
}
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_units_pins_and_leakage() {
        let lib = library(&parse(TINY).unwrap()).unwrap();
        assert_eq!(lib.name, "tiny");
        assert_eq!(lib.voltage, 0.7);
        let inv = &lib.cells["INV"];
        // No state-independent group: the mean of the two states, in W.
        assert!((inv.leakage - 50e-12).abs() < 1e-24, "{}", inv.leakage);
        assert!((inv.pins["A"].capacitance - 0.5e-15).abs() < 1e-27);
        assert_eq!(inv.pins["A"].direction, Direction::Input);
        assert_eq!(inv.pins["Y"].internal_power.len(), 2);
        assert!((lib.cells["DFF"].leakage - 200e-12).abs() < 1e-24);
        // `area` without its `;`, as some ASAP7 cells have it.
        assert_eq!((inv.area, lib.cells["DFF"].area), (0.04, 0.0));
        assert_eq!(inv.pins["Y"].function.as_deref(), Some("!A"));
        assert_eq!(lib.time_unit, 1e-12);
        assert!(lib.units.contains("internal energy 1e-15 J"), "{}", lib.units);
    }

    #[test]
    fn internal_energy_sums_power_pins_and_averages_edges_and_states() {
        let lib = library(&parse(TINY).unwrap()).unwrap();
        let y = &lib.cells["INV"].pins["Y"];
        // At the first corner: VDD (0.10 - 0.02) + VSS (-0.02 + 0.14) = 0.20 fJ for
        // rise + fall, so 0.10 fJ per transition.
        let e = y.energy_per_transition(10e-12, 1e-15, |_| 1.0);
        assert!((e - 0.10e-15).abs() < 1e-27, "{e}");
        // Halfway along both axes: rise VDD 0.25, so (0.25 - 0.02 - 0.02 + 0.14) / 2.
        let e = y.energy_per_transition(15e-12, 2e-15, |_| 1.0);
        assert!((e - 0.175e-15).abs() < 1e-27, "{e}");
        // Outside the table: clamped to its last entry, (0.40 - 0.02 - 0.02 + 0.14) / 2.
        let e = y.energy_per_transition(1e-9, 1e-12, |_| 1.0);
        assert!((e - 0.25e-15).abs() < 1e-27, "{e}");
        // Clock pin: the mean of state D (0 + 0.8) / 2 and state !D (0.4 + 0.4) / 2.
        let clk = &lib.cells["DFF"].pins["CLK"];
        assert!((clk.energy_per_transition(10e-12, 0.0, |_| 0.0) - 0.4e-15).abs() < 1e-27);
    }

    #[test]
    fn delays_and_setup_from_tables() {
        let lib = library(&parse(TINY).unwrap()).unwrap();
        let inv = &lib.cells["INV"];
        // Worst of rise (4..10) and fall (3..7) at slew 15 ps, load 2 fF: rise 7.
        let d = inv.delay("Y", "combinational", 15e-12, 2e-15).unwrap();
        assert!((d - 7e-12).abs() < 1e-20, "{d}");
        assert!((lib.cells["DFF"].setup("D", 10e-12).unwrap() - 9e-12).abs() < 1e-20);
        assert!(inv.delay("Y", "rising_edge", 10e-12, 1e-15).is_none());
    }

    #[test]
    fn rejects_broken_files() {
        assert!(parse("library (x) { time_unit : \"1ps\";").unwrap_err().contains("not closed"));
        assert!(parse("cell (x) { }").unwrap_err().contains("library"));
        let no_unit = "library (x) { time_unit : \"1ps\"; capacitive_load_unit (1,ff); nom_voltage : 1; }";
        assert!(library(&parse(no_unit).unwrap()).unwrap_err().contains("leakage_power_unit"));
        let bad_table = TINY.replace("\"0.10, 0.30\", ", "");
        assert!(library(&parse(&bad_table).unwrap()).unwrap_err().contains("2 values for 4 table entries"));
    }
}
