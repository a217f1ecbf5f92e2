//! Kinds of standard cells, named once for the two libraries the project
//! measures with (ASAP7 and sky130): what every figure that needs "the
//! library's inverter" or "a flip-flop" looks up.

use crate::measure::liberty::Library;

/// A kind of standard cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CellKind {
    Inverter,
    Xnor2,
    Xor2,
    And2,
    Or2,
    FullAdder,
    FlipFlop,
    TieHigh,
    TieLow,
}

/// The names of one kind in one library: the prefix every cell of the
/// kind starts with, and the prefix of the cell that stands for the kind
/// (the smallest plain one).
struct Names {
    any: &'static str,
    reference: &'static str,
}

impl CellKind {
    const ALL: [CellKind; 9] = [
        CellKind::Inverter,
        CellKind::Xnor2,
        CellKind::Xor2,
        CellKind::And2,
        CellKind::Or2,
        CellKind::FullAdder,
        CellKind::FlipFlop,
        CellKind::TieHigh,
        CellKind::TieLow,
    ];

    /// The kind's names in ASAP7, then in sky130.
    fn names(self) -> [Names; 2] {
        let n = |any, reference| Names { any, reference };
        match self {
            CellKind::Inverter => [n("INVx", "INVx1_"), n("sky130_fd_sc_hd__inv_", "sky130_fd_sc_hd__inv_1")],
            CellKind::Xnor2 => [n("XNOR2x", "XNOR2xp5_"), n("sky130_fd_sc_hd__xnor2_", "sky130_fd_sc_hd__xnor2_1")],
            CellKind::Xor2 => [n("XOR2x", "XOR2xp5_"), n("sky130_fd_sc_hd__xor2_", "sky130_fd_sc_hd__xor2_1")],
            CellKind::And2 => [n("AND2x", "AND2x2_"), n("sky130_fd_sc_hd__and2_", "sky130_fd_sc_hd__and2_1")],
            CellKind::Or2 => [n("OR2x", "OR2x2_"), n("sky130_fd_sc_hd__or2_", "sky130_fd_sc_hd__or2_1")],
            CellKind::FullAdder => [n("FAx", "FAx1_"), n("sky130_fd_sc_hd__fa_", "sky130_fd_sc_hd__fa_1")],
            CellKind::FlipFlop => [n("DFF", "DFFHQNx1_"), n("sky130_fd_sc_hd__df", "sky130_fd_sc_hd__dfxtp_1")],
            // sky130 has one tie cell with both a high and a low output.
            CellKind::TieHigh => [n("TIEHI", "TIEHI"), n("sky130_fd_sc_hd__conb_", "sky130_fd_sc_hd__conb_1")],
            CellKind::TieLow => [n("TIELO", "TIELO"), n("sky130_fd_sc_hd__conb_", "sky130_fd_sc_hd__conb_1")],
        }
    }

    fn label(self) -> &'static str {
        match self {
            CellKind::Inverter => "inverter",
            CellKind::Xnor2 => "xnor2",
            CellKind::Xor2 => "xor2",
            CellKind::And2 => "and2",
            CellKind::Or2 => "or2",
            CellKind::FullAdder => "full adder",
            CellKind::FlipFlop => "flip-flop",
            CellKind::TieHigh => "tie-high",
            CellKind::TieLow => "tie-low",
        }
    }

    /// The cell of `names` (a library's cell names) that stands for this kind.
    pub fn find<'a>(self, names: impl IntoIterator<Item = &'a String>) -> Option<&'a String> {
        names.into_iter().find(|c| self.names().iter().any(|n| c.starts_with(n.reference)))
    }

    /// The kind of the cell called `name`, if it is one of the kinds here
    /// (sky130's two-output tie cell counts as tie-high).
    pub fn of(name: &str) -> Option<CellKind> {
        CellKind::ALL.into_iter().find(|k| k.names().iter().any(|n| name.starts_with(n.any)))
    }

    /// The cell of `lib` that stands for this kind, or an error naming the
    /// names looked for.
    pub fn cell_in(self, lib: &Library) -> Result<&String, String> {
        self.find(lib.cells.keys()).ok_or_else(|| {
            let names: Vec<&str> = self.names().iter().map(|n| n.reference).collect();
            format!(
                "Liberty library {} has no {} cell (a name starting with {})",
                lib.name,
                self.label(),
                names.join(" or ")
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_and_classifies_cells_of_both_libraries() {
        let asap7: Vec<String> =
            ["INVx11_ASAP7_75t_R", "INVx1_ASAP7_75t_R", "DFFHQNx1_ASAP7_75t_R", "XOR2x1_ASAP7_75t_R"]
                .map(String::from)
                .into();
        assert_eq!(CellKind::Inverter.find(&asap7).map(String::as_str), Some("INVx1_ASAP7_75t_R"));
        assert_eq!(CellKind::Xor2.find(&asap7), None, "only the reference XOR2xp5 stands for the kind");
        assert_eq!(CellKind::of("DFFLQNx2_ASAP7_75t_R"), Some(CellKind::FlipFlop));
        assert_eq!(CellKind::of("XNOR2x2_ASAP7_75t_R"), Some(CellKind::Xnor2));
        assert_eq!(CellKind::of("sky130_fd_sc_hd__dfrtp_1"), Some(CellKind::FlipFlop));
        assert_eq!(CellKind::of("sky130_fd_sc_hd__and2b_1"), None);
        assert_eq!(CellKind::of("MAJIxp5_ASAP7_75t_R"), None);
        let sky: Vec<String> = ["sky130_fd_sc_hd__conb_1"].map(String::from).into();
        assert_eq!(CellKind::TieLow.find(&sky), CellKind::TieHigh.find(&sky));
        let tiny =
            crate::measure::liberty::library(&crate::measure::liberty::parse(crate::measure::liberty::TINY).unwrap());
        let err = CellKind::FullAdder.cell_in(&tiny.unwrap()).unwrap_err();
        assert!(err.contains("library tiny has no full adder cell (a name starting with FAx1_ or"), "{err}");
    }
}
