//! An engine's manifest (SPEC sections 4 and 6): its ports, its stream
//! interface, and every parameter and constant its outputs depend on, so
//! that an outside test bench computes any output from the manifest alone.

use super::GeneratedEngine;
use crate::spec::engine::{EngineKind, EngineParams, Output, WeightForm, WeightStorage};
use crate::spec::signature::Signature;
use crate::util::bits::BitVec;
use serde_json::{Map, Value, json};

/// The ports as a manifest lists them.
pub fn ports_json(signature: &Signature) -> Vec<Value> {
    signature
        .ports
        .iter()
        .map(|s| json!({"name": s.name, "dir": s.dir, "width": s.width, "signed": s.signed}))
        .collect()
}

pub fn manifest(p: &EngineParams, g: &GeneratedEngine, files: &[String]) -> Value {
    let ports = ports_json(&g.signature);
    let (rows, row_pixels, memories) = &g.line_buffer;
    let words = rows * row_pixels;
    let memories: Vec<Value> =
        memories.iter().map(|(name, bits)| json!({"name": name, "words": words, "bits": bits})).collect();
    json!({
        "top": p.top,
        "block": p.kind.name(),
        "files": files,
        "ports": ports,
        "interface": g.signature.interface,
        "params": params_json(p, g),
        "line_buffer": {"rows": rows, "pixels_per_row": row_pixels, "memories": memories},
        "output_fifo_depth": g.fifo_depth,
        "pipeline_latency": g.pipeline_latency,
        "generator": format!("mbnn {}", env!("CARGO_PKG_VERSION")),
    })
}

fn hex_lists(lists: &[Vec<BitVec>]) -> Value {
    json!(lists.iter().map(|l| l.iter().map(BitVec::to_hex).collect::<Vec<_>>()).collect::<Vec<_>>())
}

pub fn params_json(p: &EngineParams, g: &GeneratedEngine) -> Value {
    let geo = &p.geometry;
    let mut m = Map::new();
    let mut put = |k: &str, v: Value| {
        m.insert(k.to_string(), v);
    };
    put("height", json!(geo.height));
    put("width", json!(geo.width));
    put("cin", json!(geo.cin));
    put("cout", json!(geo.cout));
    put("kernel", json!(geo.kernel));
    put("stride", json!(geo.stride));
    put("padding", json!(geo.padding.name()));
    put("pe", json!(p.folding.pe));
    put("simd", json!(p.folding.simd));
    put("ii", json!(p.ii()));
    put("cycles_per_frame", json!(p.cycles_per_frame()));
    put("fill_cycles", json!(g.fill_cycles));
    put("out_height", json!(geo.out_height()));
    put("out_map_width", json!(geo.out_width()));
    put("weights_mode", json!("const"));
    // Where synthesis is asked to put the ROMs; `auto` is block RAM.
    let weights_in = if p.weights_in == WeightStorage::Logic { WeightStorage::Logic } else { WeightStorage::BlockRam };
    put("weights_in", json!(weights_in.name()));
    put("weights", hex_lists(&p.weights));
    put("frac_bits", json!(p.frac_bits));
    put("coef_bits", json!(p.coef_bits));
    match p.kind {
        EngineKind::Conv => {
            put("dilations", json!(geo.dilations));
            put("k", json!(p.lanes()));
            put("lambdas", json!(p.lambdas));
            put("lambda_reals", json!(p.lambda_reals));
            put("shared_input", json!(p.shared_input));
        }
        EngineKind::PaConv => {
            put("dilations", json!(geo.dilations[0]));
            // How the ROM holds the bases given in `weights` (the same sums either way).
            let form = if p.stores_piece_index() { WeightForm::PieceIndex } else { WeightForm::Planes };
            put("weight_form", json!(form.name()));
            put("m", json!(p.lanes()));
            put("n", json!(p.act_bases()));
            put("act_bits", json!(p.act_bits));
            put("act_signed", json!(p.act_signed));
            put("endpoints", json!(p.endpoints));
            if p.bitplanes {
                put("bitplanes", json!(true));
            }
            put("phi", json!(p.phi));
            put("phi_reals", json!(p.phi_reals));
        }
    }
    put("output", json!(p.output.name()));
    put("out_width", json!(p.out_element_bits()));
    put("out_signed", json!(p.output == Output::Sum && p.sum_signed()));
    match &p.output {
        Output::Sum => {}
        Output::Threshold { thresholds, signs } => {
            put("thresholds", json!(thresholds));
            put("threshold_signs", json!(signs));
        }
        Output::Fusion { fusion, thresholds } => {
            put("fusion", json!(fusion));
            put("fusion_thresholds", json!(thresholds));
        }
    }
    Value::Object(m)
}
