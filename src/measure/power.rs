//! Power of a mapped netlist from its simulated toggles and the Liberty
//! data of its cells: internal energy per pin transition, switching energy
//! 1/2 C V^2 per net toggle, and leakage.

use crate::measure::liberty::{Direction, Library};
use crate::measure::netlist::{Bit, Netlist};
use serde::Serialize;
use std::collections::HashMap;

/// Energy per clock cycle (J) and leakage (W) of a netlist.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Energy {
    /// Cell-internal energy of every pin transition.
    pub internal: f64,
    /// 1/2 C V^2 per toggle of every net, C = the input pins it drives.
    pub switching: f64,
    /// The part of both caused by the clock: its net and the clock pins.
    pub clock: f64,
    pub leakage: f64,
    pub toggles_per_cycle: f64,
    pub nets: usize,
    /// Nets the trace did not have (counted as never toggling).
    pub untraced: usize,
}

fn net_of(b: &Bit) -> Option<usize> {
    match b {
        Bit::Net(n) => Some(*n),
        Bit::Const(_) => None,
    }
}

/// Energy per cycle of `netlist` over `cycles` cycles with toggle counts
/// `toggles` (per bit name), internal energies read at input slew `slew`
/// (s) and each output's own load; `clock` names the clock net.
pub fn per_cycle(
    lib: &Library,
    netlist: &Netlist,
    toggles: &HashMap<String, u64>,
    cycles: u64,
    slew: f64,
    clock: &str,
) -> Result<Energy, String> {
    if cycles == 0 {
        return Err("no cycles were simulated: give a positive cycle count".into());
    }
    let count = netlist.nets.len();
    // Per net: toggles per cycle, the highest of its names' (None: not traced).
    let rate: Vec<Option<f64>> = netlist
        .nets
        .iter()
        .map(|names| names.iter().filter_map(|n| toggles.get(n)).map(|&t| t as f64 / cycles as f64).reduce(f64::max))
        .collect();
    let mut e = Energy { nets: count, untraced: rate.iter().filter(|r| r.is_none()).count(), ..Energy::default() };
    let rate: Vec<f64> = rate.into_iter().map(|r| r.unwrap_or(0.0)).collect();
    let clock_net = netlist.nets.iter().position(|names| names.iter().any(|n| n == clock));
    // Per net: the input pins it drives, F.
    let mut load = vec![0.0; count];
    let mut cells = Vec::with_capacity(netlist.instances.len());
    for inst in &netlist.instances {
        let cell = lib.cells.get(&inst.cell).ok_or_else(|| {
            format!("cell {} (instance {}) is not in Liberty library {}", inst.cell, inst.name, lib.name)
        })?;
        for (pin_name, bit) in &inst.pins {
            let pin = cell
                .pins
                .get(pin_name)
                .ok_or_else(|| format!("cell {} has no pin {pin_name} (instance {})", inst.cell, inst.name))?;
            if let (Direction::Input, Some(n)) = (pin.direction, net_of(bit)) {
                load[n] += pin.capacitance;
            }
        }
        e.leakage += cell.leakage;
        cells.push(cell);
    }
    for (inst, cell) in netlist.instances.iter().zip(cells) {
        let net_at = |pin: &str| inst.pins.iter().find(|(p, _)| p == pin).and_then(|(_, b)| net_of(b));
        for (pin_name, bit) in &inst.pins {
            let pin = &cell.pins[pin_name];
            let Some(n) = net_of(bit) else { continue };
            if pin.internal_power.is_empty() || rate[n] == 0.0 {
                continue;
            }
            let pin_load = if pin.direction == Direction::Output { load[n] } else { 0.0 };
            // Arcs from the inputs that toggle more count more, as in OpenSTA.
            let energy = pin.energy_per_transition(slew, pin_load, |related| net_at(related).map_or(0.0, |m| rate[m]));
            e.internal += rate[n] * energy;
            if Some(n) == clock_net && pin.direction == Direction::Input {
                e.clock += rate[n] * energy;
            }
        }
    }
    let v2 = lib.voltage * lib.voltage;
    for n in 0..count {
        let switching = 0.5 * load[n] * v2 * rate[n];
        e.switching += switching;
        if Some(n) == clock_net {
            e.clock += switching;
        }
    }
    e.toggles_per_cycle = rate.iter().sum();
    Ok(e)
}

/// Measured power of one mapped design, as reported.
#[derive(Clone, Debug, Serialize)]
pub struct PowerReport {
    pub source: String,
    pub settings: String,
    pub cycles: u64,
    pub seed: u64,
    /// Net toggles per cycle, all nets together.
    pub toggles_per_cycle: f64,
    pub nets: usize,
    pub untraced_nets: usize,
    /// The clock of the figures below: OpenSTA's maximum.
    pub at_mhz: f64,
    pub internal_mw: f64,
    pub switching_mw: f64,
    pub leakage_mw: f64,
    pub total_mw: f64,
    /// Dynamic energy per cycle in pJ, which is also uW per MHz of clock.
    pub internal_pj_per_cycle: f64,
    pub switching_pj_per_cycle: f64,
    pub dynamic_pj_per_cycle: f64,
    /// Of the dynamic energy: the clock net and the flip-flops' clock pins.
    pub clock_pj_per_cycle: f64,
}

impl PowerReport {
    pub fn new(e: &Energy, at_mhz: f64, cycles: u64, seed: u64, source: String, settings: String) -> PowerReport {
        let mw = |joules_per_cycle: f64| joules_per_cycle * at_mhz * 1e6 * 1e3;
        let pj = |joules: f64| joules * 1e12;
        PowerReport {
            source,
            settings,
            cycles,
            seed,
            toggles_per_cycle: e.toggles_per_cycle,
            nets: e.nets,
            untraced_nets: e.untraced,
            at_mhz,
            internal_mw: mw(e.internal),
            switching_mw: mw(e.switching),
            leakage_mw: e.leakage * 1e3,
            total_mw: mw(e.internal + e.switching) + e.leakage * 1e3,
            internal_pj_per_cycle: pj(e.internal),
            switching_pj_per_cycle: pj(e.switching),
            dynamic_pj_per_cycle: pj(e.internal + e.switching),
            clock_pj_per_cycle: pj(e.clock),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::{liberty, netlist};

    /// A flip-flop whose output drives two inverters, once under an alias
    /// (q2), and a constant wire, as Yosys writes them in JSON.
    const HAND_COMPUTED: &str = r#"{"modules": {"top": {
      "cells": {
        "r": {"type": "DFF", "connections": {"CLK": [2], "D": [3], "QN": [4]}},
        "i1": {"type": "INV", "connections": {"A": [4], "Y": [5]}},
        "i2": {"type": "INV", "connections": {"A": [4], "Y": [6]}}
      },
      "netnames": {
        "clk": {"bits": [2]}, "a": {"bits": [3]}, "q": {"bits": [4]}, "q2": {"bits": [4]},
        "y": {"bits": [5]}, "n": {"bits": [6]}, "y2": {"bits": ["0"]}
      }
    }}}"#;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs().max(1e-30)
    }

    #[test]
    fn energy_of_a_hand_computed_netlist() {
        let lib = liberty::library(&liberty::parse(liberty::TINY).unwrap()).unwrap();
        let netlist = netlist::parse(HAND_COMPUTED, "top").unwrap();
        let toggles: HashMap<String, u64> =
            [("clk", 20), ("a", 6), ("q", 4), ("q2", 4), ("y", 4)].map(|(n, t)| (n.to_string(), t)).into();
        let e = per_cycle(&lib, &netlist, &toggles, 10, 10e-12, "clk").unwrap();
        // Nets: clk (CLK 0.4 fF, 2 toggles/cycle), a (D 0.6 fF, 0.6), q = q2
        // (two INV inputs, 1.0 fF, 0.4), y (no load, 0.4), n (not traced);
        // y2 is a constant, not a net.
        assert_eq!((e.nets, e.untraced), (5, 1));
        assert!(close(e.toggles_per_cycle, 3.4), "{}", e.toggles_per_cycle);
        // 1/2 V^2 (0.4 x 2 + 0.6 x 0.6 + 1.0 x 0.4) fF = 0.245 x 1.56 fJ.
        assert!(close(e.switching, 0.245 * 1.56e-15), "{}", e.switching);
        // Clock pin 0.4 fJ x 2; i1's output 0.10 fJ (load clamped to the table's 1 fF) x 0.4.
        assert!(close(e.internal, 0.8e-15 + 0.04e-15), "{}", e.internal);
        assert!(close(e.clock, 0.8e-15 + 0.245 * 0.8e-15), "{}", e.clock);
        // DFF 200 pW, INV 50 pW each.
        assert!(close(e.leakage, 300e-12), "{}", e.leakage);

        let r = PowerReport::new(&e, 1000.0, 10, 1, String::new(), String::new());
        // At 1 GHz, 1 fJ per cycle is 1 uW.
        assert!(close(r.internal_mw, 0.84e-3), "{}", r.internal_mw);
        assert!(close(r.total_mw, (0.84 + 0.245 * 1.56) * 1e-3 + 300e-9), "{}", r.total_mw);
        assert!(close(r.dynamic_pj_per_cycle, (0.84 + 0.245 * 1.56) * 1e-3), "{}", r.dynamic_pj_per_cycle);
    }

    #[test]
    fn errors_name_the_missing_cell_or_pin() {
        let lib = liberty::library(&liberty::parse(liberty::TINY).unwrap()).unwrap();
        let none = HashMap::new();
        let one_cell = |cell: &str, pin: &str| {
            let json = format!(
                r#"{{"modules": {{"m": {{"cells": {{"g": {{"type": "{cell}", "connections": {{"{pin}": [2]}}}}}},
                "netnames": {{"a": {{"bits": [2]}}}}}}}}}}"#
            );
            netlist::parse(&json, "m").unwrap()
        };
        let unknown = one_cell("NAND2", "A");
        assert!(per_cycle(&lib, &unknown, &none, 1, 0.0, "clk").unwrap_err().contains("cell NAND2 (instance g)"));
        let bad_pin = one_cell("INV", "B");
        assert!(per_cycle(&lib, &bad_pin, &none, 1, 0.0, "clk").unwrap_err().contains("no pin B"));
        assert!(per_cycle(&lib, &bad_pin, &none, 0, 0.0, "clk").unwrap_err().contains("no cycles"));
    }
}
