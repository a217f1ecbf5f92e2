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
}

impl Rendered {
    pub fn manifest_name(&self) -> String {
        format!("{}.json", self.params.top)
    }

    /// The Verilog files, top last (read order for tools that need it).
    pub fn verilog_files(&self) -> Vec<String> {
        let top = format!("{}.v", self.params.top);
        let mut v: Vec<String> =
            self.files.iter().map(|(n, _)| n.clone()).filter(|n| n.ends_with(".v") && *n != top).collect();
        v.push(top);
        v
    }
}

pub fn render(params: DesignParams) -> Rendered {
    let generated = generate(&params);
    let mut files = emit_design(&generated.design);
    let verilog: Vec<String> = {
        let top = format!("{}.v", params.top);
        let mut v: Vec<String> = files.iter().map(|(n, _)| n.clone()).filter(|n| *n != top).collect();
        v.push(top);
        v
    };
    let json = manifest(&params, &generated, &verilog);
    let mut text = serde_json::to_string_pretty(&json).expect("manifest serialises");
    text.push('\n');
    files.push((format!("{}.json", params.top), text));
    Rendered { params, generated, files }
}

pub fn render_args(args: &DesignArgs) -> Result<Rendered, String> {
    Ok(render(args.to_params()?))
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
