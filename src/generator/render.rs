//! Writes a generated design (Verilog files and manifest) all or nothing.

use crate::backend::verilog::emit_design;
use crate::generator::manifest::manifest;
use crate::generator::unit::{Generated, generate};
use crate::spec::params::DesignParams;
use crate::spec::request::Request;

/// A design rendered in memory: the files to write, by name.
pub struct Rendered {
    pub params: DesignParams,
    pub generated: Generated,
    pub files: Vec<(String, String)>,
    /// For a design decomposed from a layer file: what the rounding cost.
    pub decomposition_summary: Option<String>,
}

impl Rendered {
    /// The Verilog files, top last (read order for tools that need it).
    pub fn verilog_files(&self) -> Vec<String> {
        verilog_order(&self.files, &self.params.top)
    }

    /// The Verilog files with their text, in read order (top last).
    pub fn verilog(&self) -> Vec<(String, String)> {
        let text = |name: &str| self.files.iter().find(|(f, _)| f == name).map(|(_, t)| t.clone());
        self.verilog_files()
            .into_iter()
            .map(|name| {
                let t = text(&name).expect("listed files exist");
                (name, t)
            })
            .collect()
    }
}

/// The Verilog file names among `files`, in read order: top module last.
pub fn verilog_order(files: &[(String, String)], top: &str) -> Vec<String> {
    let top = format!("{top}.v");
    let mut v: Vec<String> = files.iter().map(|(n, _)| n.clone()).filter(|n| n.ends_with(".v") && *n != top).collect();
    v.push(top);
    v
}

/// Every design file among `files` for the manifest: the Verilog in read
/// order, then the data files it reads (`$readmemh`).
fn design_files(files: &[(String, String)], top: &str) -> Vec<String> {
    let mut names = verilog_order(files, top);
    names.extend(files.iter().map(|(n, _)| n.clone()).filter(|n| !n.ends_with(".v")));
    names
}

/// [`design_files`] with each file's text.
fn design_files_with_text(files: &[(String, String)], top: &str) -> Vec<(String, String)> {
    let text = |name: &str| files.iter().find(|(f, _)| f == name).map(|(_, t)| t.clone());
    design_files(files, top)
        .into_iter()
        .map(|name| {
            let t = text(&name).expect("listed files exist");
            (name, t)
        })
        .collect()
}

pub fn render(params: DesignParams) -> Rendered {
    render_with(params, None)
}

/// Renders with `extra` keys added to the manifest.
fn render_with(params: DesignParams, extra: Option<(&str, serde_json::Value)>) -> Rendered {
    let generated = generate(&params);
    let mut files = emit_design(&generated.design);
    let mut json = manifest(&params, &generated, &design_files(&files, &params.top));
    if let Some((key, value)) = extra {
        json[key] = value;
    }
    let mut text = serde_json::to_string_pretty(&json).expect("manifest serialises");
    text.push('\n');
    files.push((format!("{}.json", params.top), text));
    Rendered { params, generated, files, decomposition_summary: None }
}

/// Random inputs behind a layer's error report, and their seed.
const REPORT_SAMPLES: usize = 1000;
const REPORT_SEED: u64 = 1;

/// Renders a request: a design from its settings, or a layer file
/// decomposed, with the decomposition and what its rounding costs in the
/// manifest.
pub fn render_request(request: &Request) -> Result<Rendered, String> {
    let Some(path) = &request.model else { return Ok(render(request.to_params()?)) };
    let (params, layer, decomposition) = request.layer_params(path)?;
    let report = layer.error_report(&decomposition, REPORT_SAMPLES, REPORT_SEED);
    let value = serde_json::json!({
        "layer_file": path.display().to_string(),
        "details": crate::spec::layer::details_json(&decomposition),
        "error": report,
    });
    let mut rendered = render_with(params, Some(("decomposition", value)));
    rendered.decomposition_summary = Some(report.summary());
    Ok(rendered)
}

/// An engine rendered in memory.
pub struct RenderedEngine {
    pub params: crate::spec::engine::EngineParams,
    pub generated: crate::generator::engine::GeneratedEngine,
    pub files: Vec<(String, String)>,
    /// For an engine decomposed from a layer file: what the rounding cost.
    pub decomposition_summary: Option<String>,
}

impl RenderedEngine {
    /// Every file a tool reads, with its text: the Verilog in read order
    /// (top last), then the data files it loads.
    pub fn design_files(&self) -> Vec<(String, String)> {
        design_files_with_text(&self.files, &self.params.top)
    }

    /// The Verilog file names, top last.
    pub fn verilog_files(&self) -> Vec<String> {
        verilog_order(&self.files, &self.params.top)
    }
}

/// Renders an engine: its Verilog, data files and manifest. Trees get a
/// register every `pipeline` levels.
pub fn render_engine(params: crate::spec::engine::EngineParams, pipeline: u32) -> RenderedEngine {
    render_engine_with(params, pipeline, None)
}

/// Renders an engine with `extra` keys added to the manifest (a layer
/// file's `decomposition`, which `model::layer` measures with the golden model).
pub fn render_engine_with(
    params: crate::spec::engine::EngineParams,
    pipeline: u32,
    extra: Option<(&str, serde_json::Value)>,
) -> RenderedEngine {
    let generated = crate::generator::engine::generate_engine(&params, pipeline);
    render_generated_engine(params, generated, extra)
}

/// Renders an engine already generated (with an output FIFO of a chosen
/// depth, say), with `extra` keys added to the manifest.
pub fn render_generated_engine(
    params: crate::spec::engine::EngineParams,
    generated: crate::generator::engine::GeneratedEngine,
    extra: Option<(&str, serde_json::Value)>,
) -> RenderedEngine {
    let mut files = emit_design(&generated.design);
    let mut json =
        crate::generator::engine::manifest::manifest(&params, &generated, &design_files(&files, &params.top));
    if let Some((key, value)) = extra {
        json[key] = value;
    }
    let mut text = serde_json::to_string_pretty(&json).expect("manifest serialises");
    text.push('\n');
    files.push((format!("{}.json", params.top), text));
    RenderedEngine { params, generated, files, decomposition_summary: None }
}

/// A unit or an engine, rendered.
pub enum Rendering {
    Unit(Rendered),
    Engine(RenderedEngine),
    Network(Box<RenderedNetwork>),
}

impl Rendering {
    pub fn top(&self) -> &str {
        match self {
            Rendering::Unit(r) => &r.params.top,
            Rendering::Engine(r) => &r.params.top,
            Rendering::Network(r) => &r.params.top,
        }
    }

    /// Every file, the manifest included.
    pub fn files(&self) -> &[(String, String)] {
        match self {
            Rendering::Unit(r) => &r.files,
            Rendering::Engine(r) => &r.files,
            Rendering::Network(r) => &r.files,
        }
    }

    pub fn signature(&self) -> &crate::spec::signature::Signature {
        match self {
            Rendering::Unit(r) => &r.generated.signature,
            Rendering::Engine(r) => &r.generated.signature,
            Rendering::Network(r) => &r.generated.signature,
        }
    }

    /// The files a tool reads, with their text: the Verilog in read order
    /// (top last), then any data files.
    pub fn design_files(&self) -> Vec<(String, String)> {
        match self {
            Rendering::Unit(r) => r.verilog(),
            Rendering::Engine(r) => r.design_files(),
            Rendering::Network(r) => r.design_files(),
        }
    }
}

/// Renders what a design request asks for. An engine from a layer file
/// comes without its error report, which needs the golden model (a stage
/// above this one): `model::layer::render_conv_layer` renders it with one.
pub fn render_design(request: &crate::spec::flags::DesignRequest) -> Result<Rendering, String> {
    use crate::spec::flags::DesignRequest;
    Ok(match request {
        DesignRequest::Unit(r) => Rendering::Unit(render_request(r)?),
        DesignRequest::Engine(r, pipeline) => Rendering::Engine(render_engine(r.to_params()?, *pipeline)),
        DesignRequest::Network(path) => {
            Rendering::Network(Box::new(render_network(crate::spec::network::load_network(path)?)))
        }
    })
}

/// A network rendered in memory: every layer's modules, the top, the
/// memories' data files and the manifest.
pub struct RenderedNetwork {
    pub params: crate::spec::network::NetworkParams,
    pub generated: crate::generator::network::GeneratedNetwork,
    pub files: Vec<(String, String)>,
}

impl RenderedNetwork {
    /// Every file a tool reads, with its text: the Verilog in read order
    /// (top last), then the data files it loads.
    pub fn design_files(&self) -> Vec<(String, String)> {
        design_files_with_text(&self.files, &self.params.top)
    }

    /// The Verilog file names, top last.
    pub fn verilog_files(&self) -> Vec<String> {
        verilog_order(&self.files, &self.params.top)
    }
}

pub fn render_network(params: crate::spec::network::NetworkParams) -> RenderedNetwork {
    let generated = crate::generator::network::generate_network(&params);
    let mut files = emit_design(&generated.design);
    let json = crate::generator::network::manifest::manifest(&params, &generated, &design_files(&files, &params.top));
    let mut text = serde_json::to_string_pretty(&json).expect("manifest serialises");
    text.push('\n');
    files.push((format!("{}.json", params.top), text));
    RenderedNetwork { params, generated, files }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manifest_lists_the_verilog_in_read_order_then_the_data_files() {
        let files: Vec<(String, String)> =
            ["a.v", "top.v", "rom.hex", "b.v"].iter().map(|n| (n.to_string(), String::new())).collect();
        assert_eq!(verilog_order(&files, "top"), ["a.v", "b.v", "top.v"]);
        assert_eq!(design_files(&files, "top"), ["a.v", "b.v", "top.v", "rom.hex"]);
    }
}
