//! A network's manifest (SPEC 7): its ports and stream interface, the
//! input image's format, and every layer with the params of its block,
//! so that an outside test bench computes a network's output from the
//! manifest alone.

use super::GeneratedNetwork;
use crate::generator::engine::manifest::{params_json, ports_json};
use crate::spec::network::{NetOutput, NetworkParams, Pixels, Stage};
use serde_json::{Value, json};

pub fn manifest(p: &NetworkParams, g: &GeneratedNetwork, files: &[String]) -> Value {
    let ports = ports_json(&g.signature);
    let Pixels::Levels { channels, bits } = p.input.pixels else { unreachable!("an image holds levels") };
    let layers: Vec<Value> = p
        .layers
        .iter()
        .zip(&g.engines)
        .map(|(layer, engine)| {
            let mut params = match (&layer.stage, engine) {
                (Stage::Engine { params, .. }, Some(e)) => params_json(params, e),
                (Stage::Pool(pool), _) => json!({
                    "height": pool.height, "width": pool.width, "channels": pool.channels,
                    "element_bits": pool.element_bits, "size": pool.size,
                    "out_height": pool.out_height(), "out_map_width": pool.out_width(),
                }),
                (Stage::Engine { .. }, None) => unreachable!("every engine layer is generated"),
            };
            params["top"] = json!(layer.top());
            json!({"kind": layer.kind.name(), "block": block_name(&layer.stage), "params": params})
        })
        .collect();
    let (output, out_signed) = match &p.output {
        NetOutput::Sum => {
            ("sum", p.layers.last().is_some_and(|l| matches!(l.output.pixels, Pixels::Sums { signed: true, .. })))
        }
        NetOutput::Argmax(_) => ("argmax", false),
    };
    json!({
        "top": p.top,
        "block": "network",
        "files": files,
        "ports": ports,
        "interface": g.signature.interface,
        "params": {
            "input_height": p.input.height, "input_width": p.input.width,
            "input_channels": channels, "input_bits": bits,
            "output": output, "out_width": p.out_pixel_bits(), "out_signed": out_signed,
            "cycles_per_frame": p.cycles_per_frame(), "fill_cycles": g.fill_cycles,
            "predicted_fill_cycles": g.predicted_fill,
            "layers": layers,
        },
        "generator": format!("mbnn {}", env!("CARGO_PKG_VERSION")),
    })
}

fn block_name(stage: &Stage) -> &'static str {
    match stage {
        Stage::Engine { params, .. } => params.kind.name(),
        Stage::Pool(_) => "maxpool",
    }
}
