//! Design-space exploration of a network's folding (`mbnn dse`): the
//! foldings [`crate::generator::folding`] chooses for cycle budgets from
//! the fastest the input allows (a pixel a cycle) to every engine fully
//! folded (pe 1, simd 1), two steps an octave, each as its estimated LUT4
//! against frames per second at the clock, as a Pareto chart.

use crate::generator::folding;
use crate::spec::board::BlockRam;
use crate::spec::network::{NetworkParams, Stage};
use crate::spec::signature::frames_per_second;
use crate::study::pareto::{Pareto, Point};

/// Cycles per frame with every engine fully folded.
pub fn slowest(net: &NetworkParams) -> usize {
    let folded = |l: &crate::spec::network::NetworkLayer| match &l.stage {
        Stage::Engine { params, .. } => {
            let g = &params.geometry;
            (g.height * g.width).max(g.out_height() * g.out_width() * g.cout * g.window_len())
        }
        Stage::Pool(p) => p.cycles_per_frame(),
    };
    net.layers.iter().map(folded).max().unwrap_or(1)
}

/// The budgets swept: `fewest_cycles` * 2^(i/2), up to and with the slowest.
pub fn budgets(net: &NetworkParams) -> Vec<usize> {
    let (lo, hi) = (folding::fewest_cycles(net), slowest(net));
    let mut out: Vec<usize> =
        (0..).map(|i| (lo as f64 * 2f64.powf(f64::from(i) / 2.0)) as usize).take_while(|&b| b < hi).collect();
    out.push(hi);
    out.dedup();
    out
}

/// `1x9 2x16 -`: each layer's pe x simd (`-` for a pool).
pub fn folding_label(net: &NetworkParams) -> String {
    let one = |l: &crate::spec::network::NetworkLayer| match &l.stage {
        Stage::Engine { params, .. } => format!("{}x{}", params.folding.pe, params.folding.simd),
        Stage::Pool(_) => "-".into(),
    };
    net.layers.iter().map(one).collect::<Vec<_>>().join(" ")
}

/// What the sweep runs at: the clock, the block RAM and the capacity.
#[derive(Clone, Copy, Debug)]
pub struct Setting {
    pub clock_mhz: f64,
    pub ram: BlockRam,
    pub luts: Option<u64>,
    pub brams: Option<u64>,
    pub board: Option<&'static str>,
}

/// Every distinct folding of the sweep, as (estimated LUT4, frames/s);
/// a folding over the capacity is labelled `(over)`.
pub fn explore(net: &NetworkParams, s: &Setting) -> Result<Pareto, String> {
    let mut points: Vec<Point> = vec![];
    for budget in budgets(net) {
        let folded = folding::choose_folding(net, budget, s.ram)?;
        let (_, total) = folding::network_resources(&folded, s.ram);
        let over = s.luts.is_some_and(|c| total.luts > c) || s.brams.is_some_and(|c| total.brams > c);
        let label = folding_label(&folded) + if over { " (over)" } else { "" };
        if points.iter().any(|p| p.label == label) {
            continue;
        }
        let fps = frames_per_second(s.clock_mhz, folded.cycles_per_frame() as u64);
        points.push(Point { x: total.luts as f64, y: fps, label });
    }
    let capacity = match (s.board, s.luts) {
        (Some(b), Some(l)) => format!("; {b}, {l} LUT4"),
        (None, Some(l)) => format!("; {l} LUT4"),
        _ => String::new(),
    };
    Ok(Pareto {
        title: format!("{}: folding, estimated LUT4 against frames/s", net.top),
        subtitle: format!("{} MHz; pe x simd per layer{capacity}", s.clock_mhz),
        x_label: "LUT4 (estimate)".into(),
        y_label: "frames per second".into(),
        log_y: true,
        points,
    })
}
