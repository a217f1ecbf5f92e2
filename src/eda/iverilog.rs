//! Icarus Verilog: does it accept a design as Verilog-2001.

use super::{run, text};
use std::path::Path;
use std::process::Command;

/// Icarus Verilog in Verilog-2001 mode accepts the files.
pub fn check(dir: &Path, files: &[String], top: &str) -> Result<(), String> {
    let out = run(
        "iverilog",
        Command::new("iverilog").current_dir(dir).args(["-g2001", "-Wall", "-o", "/dev/null", "-s", top]).args(files),
    )?;
    let t = text(&out);
    if out.status.success() && t.trim().is_empty() { Ok(()) } else { Err(format!("iverilog -g2001 on {top}:\n{t}")) }
}
