//! The machine-readable signature written beside the Verilog (SPEC section
//! 4): ports, latency, and every constant the result depends on.

use crate::generator::unit::Generated;
use crate::rtl::{Dir, SigKind};
use crate::spec::params::{Block, DesignParams, PopcountStyle, Weights};
use crate::util::bits::BitVec;
use serde_json::{Value, json};

/// The manifest of a design whose files are `files`: the Verilog in read
/// order, then any data files it reads.
pub fn manifest(p: &DesignParams, g: &Generated, files: &[String]) -> Value {
    let top = g.design.top_module();
    let ports: Vec<Value> = top
        .port_signals()
        .map(|s| {
            let dir = match s.kind {
                SigKind::Port(Dir::In) => "in",
                _ => "out",
            };
            json!({"name": s.name, "dir": dir, "width": s.width, "signed": s.signed})
        })
        .collect();
    json!({
        "top": p.top,
        "block": p.block.name(),
        "latency": g.latency(),
        "depth": g.depth,
        "files": files,
        "ports": ports,
        "params": params_json(p),
        "popcount_inputs": g.popcount_inputs,
        "constant_multipliers": "canonical signed digit shift-and-add",
        "generator": format!("mbnn {}", env!("CARGO_PKG_VERSION")),
    })
}

fn params_json(p: &DesignParams) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("len".into(), json!(p.len));
    m.insert("pipeline".into(), json!(p.pipeline));
    m.insert("popcount".into(), json!(p.popcount.name()));
    let mode = if matches!(p.block, Block::Popcount | Block::PaQuantizer) { "none" } else { p.weights.mode() };
    m.insert("weights_mode".into(), json!(mode));
    if let Weights::Const(w) = &p.weights {
        let hex: Vec<String> = w.iter().map(BitVec::to_hex).collect();
        let v = if matches!(p.block, Block::GroupNet | Block::Pa) { json!(hex) } else { json!(hex[0]) };
        m.insert("weights".into(), v);
    }
    if matches!(p.block, Block::Pa | Block::PaQuantizer) {
        if p.block == Block::Pa {
            m.insert("m".into(), json!(p.lanes));
            m.insert("frac_bits".into(), json!(p.frac_bits));
            m.insert("coef_bits".into(), json!(p.coef_bits));
            m.insert("phi".into(), json!(p.phi));
            m.insert("phi_reals".into(), json!(p.phi_reals));
        } else {
            m.insert("y_layout".into(), json!("activation base j (0-based) is y[j*len +: len]"));
        }
        m.insert("n".into(), json!(p.act_bases()));
        m.insert("act_bits".into(), json!(p.act_bits));
        m.insert("act_layout".into(), json!("element k is act[k*act_bits +: act_bits], two's complement"));
        m.insert("endpoints".into(), json!(p.endpoints));
    }
    if p.block.multibit() {
        m.insert("bits".into(), json!(p.bits));
        let layout = if p.block == Block::Mac {
            "element k is a[k*bits +: bits] (and w[...]), two's complement"
        } else {
            "bit i of element k is a[k*bits + i] (and w[...]), 1 = +1, 0 = -1; element value sum_i 2^i (+1/-1)"
        };
        m.insert("element_layout".into(), json!(layout));
    }
    if p.block == Block::GroupNet {
        m.insert("k".into(), json!(p.lanes));
        m.insert("frac_bits".into(), json!(p.frac_bits));
        m.insert("coef_bits".into(), json!(p.coef_bits));
        m.insert("lambdas".into(), json!(p.lambdas));
        m.insert("lambda_reals".into(), json!(p.lambda_reals));
        m.insert("shared_input".into(), json!(p.shared_input));
    }
    Value::Object(m)
}

/// Reads the parameters back from a manifest, using only the documented
/// keys: what an outside test bench would do to compute expected results.
pub fn params_from_manifest(v: &Value) -> Result<DesignParams, String> {
    let get = |obj: &Value, key: &str| obj.get(key).cloned().ok_or_else(|| format!("manifest lacks {key:?}"));
    let block_name = get(v, "block")?;
    let block =
        block_name.as_str().and_then(Block::parse).ok_or_else(|| format!("manifest block {block_name} is unknown"))?;
    let params = get(v, "params")?;
    let int = |key: &str| -> Result<i64, String> {
        get(&params, key)?.as_i64().ok_or_else(|| format!("manifest params.{key} is not an integer"))
    };
    let len = int("len")? as usize;
    let lanes = match block {
        Block::GroupNet => int("k")? as usize,
        Block::Pa => int("m")? as usize,
        _ => 1,
    };
    let int_list = |v: &Value| -> Result<Vec<i64>, String> {
        v.as_array()
            .ok_or("manifest list expected".to_string())?
            .iter()
            .map(|x| x.as_i64().ok_or("manifest integer expected".to_string()))
            .collect()
    };
    let endpoints = match params.get("endpoints") {
        Some(v) => int_list(v)?,
        None => vec![],
    };
    let phi: Vec<Vec<i64>> = match params.get("phi") {
        Some(Value::Array(rows)) => rows.iter().map(int_list).collect::<Result<_, _>>()?,
        _ => vec![],
    };
    let hex_list: Vec<String> = match params.get("weights") {
        None => vec![],
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a.iter().map(|x| x.as_str().unwrap_or_default().to_string()).collect(),
        Some(other) => return Err(format!("manifest params.weights {other} is neither a hex string nor a list")),
    };
    let weight_len = len * params.get("bits").and_then(Value::as_u64).unwrap_or(1) as usize;
    let weights = match get(&params, "weights_mode")?.as_str() {
        Some("const") => {
            Weights::Const(hex_list.iter().map(|h| BitVec::from_hex(h, weight_len)).collect::<Result<_, _>>()?)
        }
        _ => Weights::Port,
    };
    let lambdas: Vec<i64> = match params.get("lambdas") {
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| x.as_i64().ok_or("manifest lambda is not an integer".to_string()))
            .collect::<Result<_, _>>()?,
        _ => vec![],
    };
    Ok(DesignParams {
        block,
        top: get(v, "top")?.as_str().unwrap_or_default().to_string(),
        len,
        lanes,
        shared_input: params.get("shared_input").and_then(Value::as_bool).unwrap_or(false),
        weights,
        lambda_reals: lambdas.iter().map(|&l| l as f64).collect(),
        lambdas,
        frac_bits: params.get("frac_bits").and_then(Value::as_u64).unwrap_or(0) as u32,
        coef_bits: params.get("coef_bits").and_then(Value::as_u64).unwrap_or(0) as u32,
        pipeline: int("pipeline")? as u32,
        popcount: match params.get("popcount").and_then(Value::as_str) {
            None => PopcountStyle::Tree, // manifests from before the choice existed
            Some(s) => PopcountStyle::parse(s)
                .ok_or_else(|| format!("params.popcount {s:?}: expected compressor, carry or tree"))?,
        },
        act_bits: params.get("act_bits").and_then(Value::as_u64).unwrap_or(0) as u32,
        endpoints,
        phi_reals: phi.iter().map(|r| r.iter().map(|&x| x as f64).collect()).collect(),
        phi,
        bits: params.get("bits").and_then(Value::as_u64).unwrap_or(0) as u32,
    })
}
