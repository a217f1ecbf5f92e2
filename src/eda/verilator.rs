//! Verilator: lint, and simulation models compiled with the C++ compiler
//! into shared libraries that export the bridge (`sim/bridge.cpp`).

use super::{run, text};
use std::collections::hash_map::DefaultHasher;
use std::fs;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use crate::spec::signature::Signature;

/// `verilator --lint-only -Wall`: Ok only with no warning at all.
pub fn lint(dir: &Path, files: &[String], top: &str) -> Result<(), String> {
    let out = run(
        "verilator",
        Command::new("verilator").current_dir(dir).args(["--lint-only", "-Wall", "--top-module", top]).args(files),
    )?;
    let t = text(&out);
    if out.status.success() && !t.contains("%Warning") && !t.contains("%Error") {
        Ok(())
    } else {
        Err(format!("verilator --lint-only -Wall on {top}:\n{t}"))
    }
}

/// Where compiled simulation models are kept between runs.
pub fn cache_dir() -> PathBuf {
    if let Ok(d) = std::env::var("MBNN_CACHE_DIR") {
        return PathBuf::from(d);
    }
    let home = std::env::var("HOME").unwrap_or_else(|_| ".".into());
    PathBuf::from(home).join(".cache/mbnn")
}

fn verilator_version() -> Result<String, String> {
    let out = run("verilator", Command::new("verilator").arg("--version"))?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn verilator_root() -> Result<PathBuf, String> {
    let out = run("verilator", Command::new("verilator").args(["--getenv", "VERILATOR_ROOT"]))?;
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

/// The C++ optimisation of a model: -O2 runs the n = 2304 PE 10% faster
/// than -O1; -O3 and -march=native gave nothing more.
const MODEL_OPT: &str = "-O2";

const DEFINES: &[&str] = &["-DVM_COVERAGE=0", "-DVM_SC=0", "-DVM_TRACE_FST=0"];

fn trace_defines(trace: bool) -> [&'static str; 2] {
    if trace { ["-DVM_TRACE=1", "-DVM_TRACE_VCD=1"] } else { ["-DVM_TRACE=0", "-DVM_TRACE_VCD=0"] }
}

/// The C++ compiler the `cc` crate picks for this target (honours `CXX`).
fn cxx(trace: bool) -> Command {
    let tool = cc::Build::new()
        .cpp(true)
        .target(env!("MBNN_TARGET"))
        .host(env!("MBNN_TARGET"))
        .opt_level(1)
        .cargo_metadata(false)
        .cargo_warnings(false)
        .get_compiler();
    let mut cmd = Command::new(tool.path());
    cmd.args(["-std=c++17", "-fPIC", "-fvisibility=hidden", "-w"]).args(DEFINES).args(trace_defines(trace));
    cmd
}

static RUNTIME_LOCK: Mutex<()> = Mutex::new(());

/// Verilator's run-time library, compiled once per Verilator version and
/// reused by every model.
fn runtime_archive() -> Result<PathBuf, String> {
    let _guard = RUNTIME_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let version = verilator_version()?;
    let mut h = DefaultHasher::new();
    version.hash(&mut h);
    let dir = cache_dir().join(format!("verilator-runtime-{:016x}", h.finish()));
    let archive = dir.join("libverilated.a");
    if archive.exists() {
        return Ok(archive);
    }
    let root = verilator_root()?;
    // Per process and per build, so that threads building at once never
    // share a directory; the first to publish wins.
    static BUILDS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = BUILDS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let build = dir.with_extension(format!("tmp{}-{n}", std::process::id()));
    fs::create_dir_all(&build).map_err(|e| format!("cannot create {}: {e}", build.display()))?;
    let mut objects = vec![];
    for name in ["verilated", "verilated_vcd_c", "verilated_threads"] {
        let obj = build.join(format!("{name}.o"));
        let out = run(
            "c++",
            cxx(true)
                .arg("-O2")
                .arg(format!("-I{}", root.join("include").display()))
                .arg(format!("-I{}", root.join("include/vltstd").display()))
                .arg("-c")
                .arg(root.join("include").join(format!("{name}.cpp")))
                .arg("-o")
                .arg(&obj),
        )?;
        if !out.status.success() {
            return Err(format!("compiling Verilator's {name}.cpp failed:\n{}", text(&out)));
        }
        objects.push(obj);
    }
    let out = run("ar", Command::new("ar").arg("rcs").arg(build.join("libverilated.a")).args(&objects))?;
    if !out.status.success() {
        return Err(format!("ar failed: {}", text(&out)));
    }
    // Publish atomically: another process may be racing to do the same.
    match fs::rename(&build, &dir) {
        Ok(()) => {}
        Err(_) if archive.exists() => {
            let _ = fs::remove_dir_all(&build);
        }
        Err(e) => return Err(format!("cannot publish {}: {e}", dir.display())),
    }
    Ok(archive)
}

/// A compiled simulation model: a shared library exporting the bridge.
pub struct ModelLib {
    pub path: PathBuf,
    /// True if it was built now, false if found in the cache.
    pub built: bool,
}

/// What a model can trace.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Trace {
    /// No VCD: the fastest model.
    #[default]
    Off,
    /// Every signal, for a person reading a mismatch (builds several times
    /// slower: the trace code is larger than the model).
    All,
    /// Every net of the top module and nothing inside cells
    /// (`--trace-depth 1`), including Yosys's `_123_` nets, which Verilator
    /// leaves out unless told (`--trace-underscore`): what toggle counting
    /// on a gate-level netlist needs, in a smaller trace.
    TopNets,
}

/// How to build a model, besides the design itself.
#[derive(Clone, Debug, Default)]
pub struct ModelOptions {
    /// Where compiled models are kept [default: `cache_dir()/models`]. The
    /// Verilator runtime always comes from the shared cache: `mbnn bench`
    /// times a build from nothing with a fresh directory here.
    pub models: Option<PathBuf>,
    pub trace: Trace,
    /// The Verilog is a synthesised gate netlist: Verilator's warnings
    /// about it (bit-level loops it cannot order statically) are not fatal.
    pub netlist: bool,
    /// Overrides of the top module's parameters (`-G`), for hand-written
    /// Verilog such as the bench's baseline.
    pub parameters: Vec<(String, i64)>,
}

impl ModelOptions {
    /// Verilator's own flags for these options.
    fn verilator_flags(&self) -> Vec<String> {
        let mut flags = vec![];
        if self.trace != Trace::Off {
            flags.push("--trace".to_string());
        }
        if self.trace == Trace::TopNets {
            flags.extend(["--trace-depth", "1", "--trace-underscore"].map(String::from));
        }
        if self.netlist {
            flags.push("-Wno-fatal".into());
        }
        flags.extend(self.parameters.iter().map(|(name, value)| format!("-G{name}={value}")));
        flags
    }
}

/// `ports.inc` of the bridge: every port but the clock, inputs and outputs
/// each numbered in signature order.
fn ports_include(signature: &Signature) -> String {
    let mut text = String::new();
    for (i, p) in signature.driven_inputs().enumerate() {
        text.push_str(&format!("MBNN_INPUT({i}, {})\n", p.name));
    }
    for (i, p) in signature.outputs().enumerate() {
        text.push_str(&format!("MBNN_OUTPUT({i}, {})\n", p.name));
    }
    text
}

const BRIDGE_SOURCE: &str = include_str!("../../sim/bridge.cpp");

/// Verilates a design (`files`: its Verilog, (name, text), in read order,
/// top last, and any data files its `$readmemh` calls read) with the
/// ports of `signature`, and compiles it with the bridge into a shared
/// library, cached by the hash of everything that goes into it.
pub fn build_model(
    files: &[(String, String)],
    signature: &Signature,
    options: &ModelOptions,
) -> Result<ModelLib, String> {
    let ports_inc = ports_include(signature);
    let flags = options.verilator_flags();
    let top = &signature.top;
    let mut h = DefaultHasher::new();
    (verilator_version()?, files, top, BRIDGE_SOURCE, &ports_inc, DEFINES, MODEL_OPT, &flags).hash(&mut h);
    let models = options.models.clone().unwrap_or_else(|| cache_dir().join("models"));
    let dir = models.join(format!("{:016x}", h.finish()));
    let lib = dir.join("model.so");
    if lib.exists() {
        return Ok(ModelLib { path: lib, built: false });
    }
    // Per process and per build, so that threads building at once never
    // share a directory; the first to publish wins.
    static BUILDS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = BUILDS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let build = dir.with_extension(format!("tmp{}-{n}", std::process::id()));
    let _ = fs::remove_dir_all(&build);
    let verilog = with_data_files(files, &build.join(DATA), &dir.join(DATA))?;
    let obj = verilate(&build, &verilog, top, &flags)?;
    fs::write(obj.join("ports.inc"), &ports_inc).map_err(|e| format!("cannot write ports.inc: {e}"))?;
    fs::write(obj.join("bridge.cpp"), BRIDGE_SOURCE).map_err(|e| format!("cannot write bridge.cpp: {e}"))?;
    let tracing = options.trace != Trace::Off;
    let objects = compile_units(&obj, top, tracing)?;
    link(&objects, &build.join("model.so"), top, tracing)?;
    fs::create_dir_all(&models).map_err(|e| format!("cannot create {}: {e}", models.display()))?;
    match fs::rename(&build, &dir) {
        Ok(()) => {}
        Err(_) if lib.exists() => {
            let _ = fs::remove_dir_all(&build);
        }
        Err(e) => return Err(format!("cannot publish {}: {e}", dir.display())),
    }
    Ok(ModelLib { path: lib, built: true })
}

/// Where a model keeps the data files of its design.
const DATA: &str = "data";

/// The Verilog of `files` as Verilator is to see it. Verilator opens a
/// `$readmemh` file when the model starts, relative to the working
/// directory of whatever process loads the model, not to the Verilog; so
/// the data files are written to `write_to` (inside the build directory),
/// and every string literal naming one of them is replaced by its
/// absolute path under `published` (where the build directory ends up).
fn with_data_files(
    files: &[(String, String)],
    write_to: &Path,
    published: &Path,
) -> Result<Vec<(String, String)>, String> {
    let (verilog, data): (Vec<_>, Vec<_>) = files.iter().partition(|(name, _)| name.ends_with(".v"));
    if data.is_empty() {
        return Ok(files.to_vec());
    }
    let published = std::path::absolute(published).map_err(|e| format!("{}: {e}", published.display()))?;
    let shown = published.display().to_string();
    if shown.contains(['"', '\\']) {
        return Err(format!("the model directory {shown} cannot be named in a Verilog string"));
    }
    fs::create_dir_all(write_to).map_err(|e| format!("cannot create {}: {e}", write_to.display()))?;
    for (name, text) in &data {
        fs::write(write_to.join(name), text).map_err(|e| format!("cannot write {name}: {e}"))?;
    }
    let locate = |text: &String| {
        data.iter().fold(text.clone(), |t, (name, _)| t.replace(&format!("\"{name}\""), &format!("\"{shown}/{name}\"")))
    };
    Ok(verilog.into_iter().map(|(name, text)| (name.clone(), locate(text))).collect())
}

/// `verilator --cc` into `build/obj`; returns that directory.
fn verilate(build: &Path, verilog: &[(String, String)], top: &str, flags: &[String]) -> Result<PathBuf, String> {
    let src = build.join("src");
    fs::create_dir_all(&src).map_err(|e| format!("cannot create {}: {e}", src.display()))?;
    for (name, content) in verilog {
        fs::write(src.join(name), content).map_err(|e| format!("cannot write {name}: {e}"))?;
    }
    let obj = build.join("obj");
    let out = run(
        "verilator",
        Command::new("verilator")
            .current_dir(&src)
            .args(["--cc", "--prefix", "Vdut", "--top-module", top])
            // Without it Verilator substitutes each lane's wide XNOR into
            // every bit that reads it, in every lane: a K = 5 Group-Net of
            // n = 2304 then takes 29 s to build and runs 100 times slower.
            .arg("-fno-gate")
            .args(flags)
            .arg("-Mdir")
            .arg(&obj)
            .args(verilog.iter().map(|(name, _)| name)),
    )?;
    if !out.status.success() {
        return Err(format!("verilator --cc on {top} failed:\n{}", text(&out)));
    }
    Ok(obj)
}

/// The C++ files of `obj` in as few translation units as the cores allow:
/// each one pays for Verilator's headers, so small models go in one unity
/// file and large ones are split by size, as Verilator's own __ALL.cpp does.
fn unity_files(obj: &Path) -> Result<Vec<PathBuf>, String> {
    let mut sources: Vec<PathBuf> = fs::read_dir(obj)
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "cpp"))
        .collect();
    sources.sort();
    let sizes: Vec<u64> = sources.iter().map(|p| fs::metadata(p).map_or(0, |m| m.len())).collect();
    let total: u64 = sizes.iter().sum();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let units = (total.div_ceil(1 << 20) as usize).clamp(1, cores);
    let mut groups: Vec<(u64, Vec<&PathBuf>)> = vec![(0, vec![]); units];
    let mut order: Vec<usize> = (0..sources.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(sizes[i]));
    for i in order {
        let g = groups.iter_mut().min_by_key(|g| g.0).unwrap();
        g.0 += sizes[i];
        g.1.push(&sources[i]);
    }
    let mut units_src = vec![];
    for (u, (_, files)) in groups.iter().enumerate() {
        let mut text = String::new();
        for f in files {
            text.push_str(&format!("#include \"{}\"\n", f.file_name().unwrap().to_string_lossy()));
        }
        let path = obj.join(format!("unity{u}.cc"));
        fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        units_src.push(path);
    }
    Ok(units_src)
}

/// Compiles the unity files of `obj` in parallel; returns the objects.
fn compile_units(obj: &Path, top: &str, trace: bool) -> Result<Vec<PathBuf>, String> {
    let units_src = unity_files(obj)?;
    let root = verilator_root()?;
    let errors: Mutex<Vec<String>> = Mutex::new(vec![]);
    std::thread::scope(|s| {
        for src in &units_src {
            let errors = &errors;
            let root = &root;
            s.spawn(move || {
                let result = run(
                    "c++",
                    cxx(trace)
                        .arg(MODEL_OPT)
                        .arg(format!("-I{}", obj.display()))
                        .arg(format!("-I{}", root.join("include").display()))
                        .arg(format!("-I{}", root.join("include/vltstd").display()))
                        .arg("-c")
                        .arg(src)
                        .arg("-o")
                        .arg(src.with_extension("o")),
                );
                match result {
                    Ok(out) if out.status.success() => {}
                    Ok(out) => {
                        errors.lock().unwrap().push(format!("compiling {} failed:\n{}", src.display(), text(&out)))
                    }
                    Err(e) => errors.lock().unwrap().push(e),
                }
            });
        }
    });
    if let Some(e) = errors.into_inner().unwrap().into_iter().next() {
        return Err(format!("building the model of {top}: {e}"));
    }
    Ok(units_src.iter().map(|s| s.with_extension("o")).collect())
}

/// Links the objects with Verilator's runtime into a shared library.
fn link(objects: &[PathBuf], library: &Path, top: &str, trace: bool) -> Result<(), String> {
    let runtime = runtime_archive()?;
    let out = run(
        "c++",
        cxx(trace)
            .args(["-shared", "-Wl,-Bsymbolic"])
            .args(objects)
            .arg(&runtime)
            .arg("-o")
            .arg(library)
            .arg("-lpthread"),
    )?;
    if !out.status.success() {
        return Err(format!("linking the model of {top} failed:\n{}", text(&out)));
    }
    Ok(())
}
