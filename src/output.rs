//! Writes a generated design (Verilog files and manifest) all or nothing.

use crate::blocks::{Generated, generate};
use crate::cli::DesignArgs;
use crate::manifest::manifest;
use crate::params::DesignParams;
use crate::verilog::emit_design;
use std::fs;
use std::path::{Path, PathBuf};

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

pub fn render(params: DesignParams) -> Rendered {
    render_with(params, None)
}

/// Renders with `extra` keys added to the manifest.
fn render_with(params: DesignParams, extra: Option<(&str, serde_json::Value)>) -> Rendered {
    let generated = generate(&params);
    let mut files = emit_design(&generated.design);
    let verilog = verilog_order(&files, &params.top);
    let mut json = manifest(&params, &generated, &verilog);
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

pub fn render_args(args: &DesignArgs) -> Result<Rendered, String> {
    let Some(path) = &args.model else { return Ok(render(args.to_params()?)) };
    let (params, layer, decomposition) = args.model_params(path)?;
    let report = layer.error_report(&decomposition, REPORT_SAMPLES, REPORT_SEED);
    let value = serde_json::json!({
        "layer_file": path.display().to_string(),
        "details": crate::decompose::details_json(&decomposition),
        "error": report,
    });
    let mut rendered = render_with(params, Some(("decomposition", value)));
    rendered.decomposition_summary = Some(report.summary());
    Ok(rendered)
}

/// Writes every file into `dir`, or none: each goes to a temporary name
/// first and is renamed only when all were written.
pub fn write_files(dir: &Path, files: &[(String, String)]) -> Result<Vec<PathBuf>, String> {
    let created_dir = !dir.exists();
    fs::create_dir_all(dir).map_err(|e| format!("--out {}: cannot create the directory: {e}", dir.display()))?;
    let tmp_name = |name: &str| dir.join(format!(".{name}.tmp{}", std::process::id()));
    let mut written = vec![];
    let result = (|| {
        for (name, text) in files {
            let tmp = tmp_name(name);
            written.push(tmp.clone());
            fs::write(&tmp, text).map_err(|e| format!("--out {}: cannot write {name}: {e}", dir.display()))?;
        }
        let mut finals = vec![];
        for (name, _) in files {
            let dest = dir.join(name);
            fs::rename(tmp_name(name), &dest)
                .map_err(|e| format!("--out {}: cannot write {name}: {e}", dir.display()))?;
            finals.push(dest);
        }
        Ok(finals)
    })();
    if result.is_err() {
        for tmp in written {
            let _ = fs::remove_file(tmp);
        }
        if created_dir {
            let _ = fs::remove_dir_all(dir);
        }
    }
    result
}
