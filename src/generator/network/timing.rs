//! When each layer of a network gives each output pixel, with the image
//! streamed in one pixel a cycle and the output always ready: a max-plus
//! model of every stage's schedule, a few microseconds per frame instead
//! of an RTL simulation. It predicts the run's length beyond frames x
//! cycles_per_frame (the fill the manifest states, which the Verilator
//! run must stay within).
//!
//! An engine starts output pixel j when its window's last pixel (the
//! bottom row `min(oy*s + off_max, H-1)`, right column `min(ox*s +
//! off_max, W-1)`, as the schedule waits for it) has arrived and the pixel
//! before has issued its ii steps; the pixel leaves `ii + latency` later
//! through the output FIFO's head register. A pool gives a pixel when its
//! window's last pixel arrives. Input backpressure is not modelled: a
//! layer ahead of the slowest one is held back by the line buffer, which
//! delays its pixels but not the slowest layer's own pace.

use crate::generator::engine::GeneratedEngine;
use crate::generator::engine::plan::Plan;
use crate::spec::engine::EngineParams;
use crate::spec::network::{NetOutput, NetworkParams, Stage};
use crate::spec::stage::PoolParams;

/// Cycles from a window's last pixel written to the engine's readiness
/// register seeing it, and from a pixel's results to its beat on
/// `m_axis` (the FIFO's head register).
const WINDOW_SEEN: u64 = 3;
const OUTPUT_REGISTERS: u64 = 2;
/// A stream stage's queue: a beat in at one edge is at the head at the next.
const STAGE_REGISTER: u64 = 1;

/// The predicted timing of a run of frames.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainTiming {
    /// Per layer, the cycle each output pixel (of every frame, in order) leaves.
    pub layer_out: Vec<Vec<u64>>,
    /// From the first input beat to the last output beat, inclusive.
    pub total: u64,
}

fn engine_out(p: &EngineParams, latency: u32, arrivals: &[u64], frames: usize) -> Vec<u64> {
    let plan = Plan::new(p);
    let g = &p.geometry;
    let (h, w, s) = (g.height, g.width, g.stride);
    let off = plan.off_max.max(0) as usize;
    let ii = p.ii() as u64;
    let mut out = Vec::with_capacity(frames * g.out_height() * g.out_width());
    let mut next_issue = 0u64;
    for f in 0..frames {
        for oy in 0..g.out_height() {
            for ox in 0..g.out_width() {
                let row = oy * s + off.min(h - 1 - oy * s);
                let col = (ox * s + off).min(w - 1);
                let start = next_issue.max(arrivals[f * h * w + row * w + col] + WINDOW_SEEN);
                next_issue = start + ii;
                out.push(start + ii + u64::from(latency) + OUTPUT_REGISTERS);
            }
        }
    }
    out
}

fn pool_out(p: &PoolParams, arrivals: &[u64], frames: usize) -> Vec<u64> {
    let (h, w, k) = (p.height, p.width, p.size);
    let mut out = vec![];
    for f in 0..frames {
        for oy in 0..p.out_height() {
            for ox in 0..p.out_width() {
                let last = (oy * k + k - 1) * w + ox * k + k - 1;
                out.push(arrivals[f * h * w + last] + STAGE_REGISTER);
            }
        }
    }
    out
}

/// Predicts a run of `frames` images sent back to back, one pixel a cycle.
pub fn predict(p: &NetworkParams, engines: &[Option<GeneratedEngine>], frames: usize) -> ChainTiming {
    let pixels = p.input.height * p.input.width;
    let mut arrivals: Vec<u64> = (0..(frames * pixels) as u64).collect();
    let mut layer_out = vec![];
    for (i, layer) in p.layers.iter().enumerate() {
        let out = match (&layer.stage, &engines[i]) {
            (Stage::Engine { params, .. }, Some(g)) => engine_out(params, g.pipeline_latency, &arrivals, frames),
            (Stage::Pool(pool), _) => pool_out(pool, &arrivals, frames),
            (Stage::Engine { .. }, None) => unreachable!("every engine is generated"),
        };
        // Straight into the next layer: its input sees the beat the cycle
        // it is offered.
        arrivals = out.clone();
        layer_out.push(out);
    }
    let last = *arrivals.last().expect("a frame has pixels");
    let end = match &p.output {
        NetOutput::Argmax(a) => last + a.latency() as u64 + STAGE_REGISTER,
        NetOutput::Sum => last,
    };
    ChainTiming { layer_out, total: end + 1 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generator::network::generate_network;
    use crate::spec::network::load_network;
    use std::path::Path;

    /// In steady state the slowest layer and every layer after it give
    /// each pixel exactly one frame interval (the slowest layer's cycles per
    /// frame) after the frame before. (Layers before it run ahead in the
    /// model, which leaves out the line buffers' backpressure.)
    #[test]
    fn frames_follow_one_another_at_the_slowest_layers_pace() {
        for name in
            ["testbench/net_tiny.json", "testbench/net_fusion_levels.json", "examples/networks/small_icebreaker.json"]
        {
            let p = load_network(&Path::new(env!("CARGO_MANIFEST_DIR")).join(name)).unwrap();
            let g = generate_network(&p);
            let frames = 4;
            let t = predict(&p, &g.engines, frames);
            let c = p.cycles_per_frame() as u64;
            let slowest = p.layers.iter().position(|l| l.cycles_per_frame() as u64 == c).unwrap();
            for (layer, out) in p.layers.iter().zip(&t.layer_out).skip(slowest) {
                let n = layer.output.height * layer.output.width;
                assert_eq!(out.len(), frames * n);
                for j in 2 * n..frames * n {
                    assert_eq!(out[j] - out[j - n], c, "{name}: {} pixel {j}", layer.top());
                }
                assert!(out.windows(2).all(|w| w[0] < w[1]), "{name}: in order");
            }
        }
    }
}
