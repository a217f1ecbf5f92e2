//! The command line: one subcommand per task, each a thin call into the
//! stages below, with every error printed as one line.

use crate::generator::render::{Rendering, render_design};
use crate::spec::flags::{DesignArgs, DesignRequest};
use crate::study::cost;
use crate::util::files::write_files;
use crate::verify::sweep;
use crate::verify::testbench::{Checks, DEFAULT_FRAMES, Effort, verify};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// `--frames` at most: at 1,000 a run CNV already streams 6,000 images,
/// most of them stalled, for hours.
const MAX_FRAMES: u64 = 1000;

/// `--jobs` at most: far beyond the cores of any machine this runs on.
const MAX_JOBS: u64 = 64;

/// `dse`'s clock when neither a board nor a clock is given: the 100 MHz of
/// FINN's published CNV on the Zynq-7020.
const DSE_CLOCK_MHZ: f64 = 100.0;

/// Generates, verifies and measures multi-base binary neural network hardware.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Writes a design's Verilog and manifest.
    Gen {
        #[command(flatten)]
        design: DesignArgs,
        #[command(flatten)]
        fold: FoldArgs,
        /// Output directory [default: out/<top>].
        #[arg(long)]
        out: Option<PathBuf>,
        /// With --network: also the UART top for the iCEBreaker at this
        /// baud rate (uart_top.v and its pins): images in, classes out.
        #[arg(long)]
        uart: Option<u32>,
    },
    /// Verifies one design: lint, Icarus, Yosys, and a Verilator run
    /// checked cycle by cycle against the golden model.
    Sim {
        #[command(flatten)]
        design: DesignArgs,
        #[command(flatten)]
        fold: FoldArgs,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Gate counts, depth, latency, and standard-cell area and timing of a
    /// design; writes <work>/<top>.report.json.
    Report {
        #[command(flatten)]
        design: DesignArgs,
        /// A Liberty file (.lib or .lib.gz) to map onto; repeat for several.
        #[arg(long)]
        liberty: Vec<PathBuf>,
        /// Working directory [default: target/mbnn-report/<top>].
        #[arg(long)]
        work: Option<PathBuf>,
    },
    /// Builds a bitstream for an open FPGA board: the design behind a
    /// generated wrapper (pseudo-random inputs, result signature on LEDs).
    /// --board is required; with --network, --target-fps folds it for a rate.
    Pnr {
        #[command(flatten)]
        design: DesignArgs,
        #[command(flatten)]
        fold: FoldArgs,
        /// Working directory [default: target/mbnn-pnr/<board>/<top>].
        #[arg(long)]
        work: Option<PathBuf>,
        /// With --network: behind the UART top at this baud rate (images
        /// in, classes out) in place of the stimulus wrapper.
        #[arg(long)]
        uart: Option<u32>,
    },
    /// The papers' 7 nm and latency claims beside measurements of this
    /// project's hardware; writes claims.md and claims.json.
    Claims {
        /// The Liberty file (.lib or .lib.gz) to measure on, e.g. ASAP7.
        #[arg(long)]
        liberty: PathBuf,
        /// Dot-product length c_in*h*w of the latency claims, 1..=4608.
        #[arg(long, default_value_t = 576)]
        len: usize,
        /// Largest K of the Group-Net against fixed-point sweep, 1..=8.
        #[arg(long, default_value_t = 4)]
        max_k: u32,
        /// PA-Net shapes MxN of the area and path series, comma-separated, M and N 1..=16.
        #[arg(long, default_value = crate::study::claims::DEFAULT_PA_SHAPES)]
        pa_shapes: String,
        /// Output directory for claims.md, claims.json and the plots (SVG and PNG).
        #[arg(long, default_value = "out/claims")]
        out: PathBuf,
        /// Working directory for the measured designs.
        #[arg(long, default_value = "target/mbnn-claims")]
        work: PathBuf,
    },
    /// Memory (Mbit) and operations (1e8) of ResNet-18/34/50 on ImageNet,
    /// per layer and in total, under one binarisation scheme.
    Cost {
        /// resnet18, resnet34 or resnet50.
        #[arg(long, default_value = "resnet18")]
        net: String,
        /// full, binary, groupnet or pa.
        #[arg(long, default_value = "pa")]
        scheme: String,
        /// Group-Net bases K, 1..=64 [default: 5].
        #[arg(long, allow_negative_numbers = true)]
        k: Option<i64>,
        /// PA-Net weight bases M, 1..=16 [default: 4].
        #[arg(long, allow_negative_numbers = true)]
        m: Option<i64>,
        /// PA-Net activation bases N, 1..=16 [default: 5].
        #[arg(long, allow_negative_numbers = true)]
        n: Option<i64>,
        /// Print the cost as JSON instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Group-Net's Eq. 4: the CPU speed-up of one binary conv layer with K
    /// bases over full precision, with 64-bit bitwise operations.
    Speedup {
        /// Input channels, 1..=65536.
        #[arg(long, default_value_t = 256)]
        cin: u32,
        /// Kernel side, 1..=256.
        #[arg(long, default_value_t = 3)]
        kernel: u32,
        /// Input side (height = width), 1..=4096.
        #[arg(long, default_value_t = 28)]
        side: u32,
        /// Stride, 1..=16.
        #[arg(long, default_value_t = 1)]
        stride: u32,
        /// Group-Net bases K, 1..=64.
        #[arg(long, default_value_t = 5)]
        k: u32,
    },
    /// The performance figures of `make bench` beside a baseline measured
    /// in the same run; writes bench.json.
    Bench {
        /// Everything: nextpnr Fmax, ASAP7, Verilator speed (tens of
        /// minutes); else the quick subset (iCE40 area, criterion figures).
        #[arg(long)]
        full: bool,
        /// Only this part of the full set, to reproduce one figure quickly.
        #[arg(long, value_enum, conflicts_with = "full")]
        only: Option<crate::study::bench::Part>,
        /// The Liberty file of the ASAP7 figures.
        #[arg(long, default_value = "../shared/pdk/asap7/asap7sc7p5t_RVT_TT_merged.lib.gz")]
        liberty: PathBuf,
        /// criterion's output directory, read if it exists.
        #[arg(long, default_value = "target/criterion")]
        criterion: PathBuf,
        /// Output directory for bench.json.
        #[arg(long, default_value = "out/bench")]
        out: PathBuf,
        /// Working directory for the measured designs.
        #[arg(long, default_value = "target/mbnn-bench")]
        work: PathBuf,
    },
    /// Sweeps a network's folding from the fastest to the fully folded:
    /// estimated LUT4 against frames/s, as dse.json, dse.svg and dse.png.
    Dse {
        /// The network file.
        #[arg(long, value_name = "FILE")]
        network: PathBuf,
        #[command(flatten)]
        fold: FoldArgs,
        /// Output directory.
        #[arg(long, default_value = "out/dse")]
        out: PathBuf,
    },
    /// The trained digits networks (examples/digits): every test image
    /// through the RTL against the float network and the golden model, and
    /// each network placed and routed; writes digits.md and digits.json.
    Digits {
        /// The folder of the network files, test_images.json and training.json.
        #[arg(long, default_value = "examples/digits")]
        dir: PathBuf,
        /// Boards to place and route on, comma-separated (none: --boards "").
        #[arg(long, default_value = "icebreaker,ulx3s", value_delimiter = ',')]
        boards: Vec<String>,
        /// Skip Yosys synthesis in the simulation's checks.
        #[arg(long)]
        no_yosys: bool,
        /// Output directory for digits.md and digits.json.
        #[arg(long, default_value = "out/digits")]
        out: PathBuf,
        /// Working directory.
        #[arg(long, default_value = "target/mbnn-digits")]
        work: PathBuf,
    },
    /// Verifies a sweep of configurations; ends with `N passed, M failed`.
    Sweep {
        /// quick (the default test run) or full.
        #[arg(long, default_value = "quick")]
        set: String,
        /// Print the configurations and stop.
        #[arg(long)]
        list: bool,
        #[command(flatten)]
        run: RunArgs,
    },
}

/// A network's folding chosen for a frame rate (`--network` only).
#[derive(clap::Args, Clone, Debug, Default)]
struct FoldArgs {
    /// Frames per second to fold the network for: each layer's pe and simd
    /// as cheap as the rate allows (needs --board or --clock-mhz).
    #[arg(long)]
    target_fps: Option<f64>,
    /// The board: its LUT4 and block RAM bound the estimate, and the clock
    /// networks reach on it is the default --clock-mhz.
    #[arg(long)]
    board: Option<crate::spec::board::Board>,
    /// LUT4 available [default: the board's].
    #[arg(long)]
    lut_budget: Option<u64>,
    /// The clock the rate is reached at, MHz [default: the board's planning clock, printed with the folding].
    #[arg(long)]
    clock_mhz: Option<f64>,
}

impl FoldArgs {
    /// The clock, the block RAM family and the capacity.
    fn setting(&self) -> Result<crate::study::dse::Setting, String> {
        let info = self.board.map(|b| b.info());
        let clock_mhz =
            self.clock_mhz.or(info.map(|i| i.planning_mhz)).ok_or("a folding needs --board or --clock-mhz")?;
        let family = info.map_or(crate::spec::board::Family::Ice40, |i| i.family);
        Ok(crate::study::dse::Setting {
            clock_mhz,
            ram: crate::spec::board::block_ram(family),
            luts: self.lut_budget.or(info.map(|i| i.luts)),
            brams: info.map(|i| i.brams),
            board: info.map(|i| i.name),
        })
    }

    fn given(&self) -> bool {
        self.board.is_some() || self.given_beyond_board()
    }

    fn given_beyond_board(&self) -> bool {
        self.target_fps.is_some() || self.lut_budget.is_some() || self.clock_mhz.is_some()
    }

    /// The network folded for --target-fps, or as its file folds it with
    /// its weights packed for --board alone; its summary printed.
    fn fold(&self, path: &std::path::Path) -> Result<crate::spec::network::NetworkParams, String> {
        use crate::generator::folding;
        let net = crate::spec::network::load_network(path)?;
        let Some(fps) = self.target_fps else {
            let board = self
                .board
                .filter(|_| self.lut_budget.is_none() && self.clock_mhz.is_none())
                .ok_or("--lut-budget and --clock-mhz go with --target-fps")?;
            let (info, s) = (board.info(), self.setting()?);
            let params = folding::pack_weights(&net, s.ram, info.brams);
            let (layers, total) = folding::network_resources(&params, s.ram);
            // The estimate bounds the ROMs in logic from above, as for
            // --target-fps, whose foldings are held to the same check.
            folding::check_capacity(&total, Some(info.luts), Some(info.brams), s.ram).map_err(|e| {
                let (file, board) = (path.display(), info.name);
                format!(
                    "{file}, folded as the file says, {e} on {board}: fold it further (pe, simd) or pass --target-fps"
                )
            })?;
            let packed = folding::Folded { budget: params.cycles_per_frame(), params, layers, total };
            print!("{}", folding::summary(&packed, s.clock_mhz, s.ram));
            return Ok(packed.params);
        };
        let s = self.setting()?;
        let target =
            crate::generator::folding::Target { fps, clock_mhz: s.clock_mhz, luts: s.luts, brams: s.brams, ram: s.ram };
        let folded = crate::generator::folding::fold_for_target(&net, &target)?;
        print!("{}", crate::generator::folding::summary(&folded, s.clock_mhz, s.ram));
        Ok(folded.params)
    }
}

#[derive(clap::Args, Debug)]
struct RunArgs {
    /// Random cycles after the directed corners, 1..=100000000.
    #[arg(long, default_value_t = 1500)]
    cycles: u64,
    /// Streaming engines and networks: random frames (images) in each run,
    /// 1..=1000; the run without stalls adds the directed frames, the run
    /// with a reset one more [default: 3].
    #[arg(long)]
    frames: Option<u64>,
    /// Seed of the random stimulus.
    #[arg(long, default_value_t = 0x5eed)]
    stim_seed: u64,
    /// Simulations at once, 1..=64, each on a thread and a model of its
    /// own: a sweep's designs; an engine's or a network's stall and reset
    /// runs; shares of an --images test set [default: the cores].
    #[arg(long)]
    jobs: Option<u64>,
    /// Skip Yosys synthesis.
    #[arg(long)]
    no_yosys: bool,
    /// Working directory for the generated files, models and traces.
    #[arg(long, default_value = "target/mbnn-sim")]
    work: PathBuf,
    /// An image file (with --network): every image through the RTL, back
    /// to back, and the float, golden and RTL answers and accuracy;
    /// writes <work>/<top>/classify.json.
    #[arg(long)]
    images: Option<PathBuf>,
}

impl RunArgs {
    fn effort(&self) -> Result<Effort, String> {
        if !(1..=100_000_000).contains(&self.cycles) {
            return Err(format!("--cycles {} is out of range: the random cycles must be 1..=100000000", self.cycles));
        }
        let frames = self.frames.unwrap_or(DEFAULT_FRAMES as u64);
        if !(1..=MAX_FRAMES).contains(&frames) {
            return Err(format!("--frames {frames} is out of range: the frames a run must be 1..={MAX_FRAMES}"));
        }
        Ok(Effort {
            random_cycles: self.cycles as usize,
            frames: frames as usize,
            seed: self.stim_seed,
            jobs: self.jobs()?,
        })
    }

    fn jobs(&self) -> Result<usize, String> {
        match self.jobs {
            None => Ok(crate::util::parallel::default_jobs().min(MAX_JOBS as usize)),
            Some(jobs) if (1..=MAX_JOBS).contains(&jobs) => Ok(jobs as usize),
            Some(jobs) => Err(format!("--jobs {jobs} is out of range: the simulations at once must be 1..={MAX_JOBS}")),
        }
    }

    fn checks(&self) -> Checks {
        Checks { lint: true, iverilog: true, yosys: !self.no_yosys, netlist: false, progress: false }
    }
}

/// The design the flags describe, rendered in memory.
/// An engine from a layer file comes with its error report, which the
/// golden model measures (`model::layer`).
fn render(design: &DesignArgs) -> Result<Rendering, String> {
    render_folded(design, &FoldArgs::default())
}

/// As [`render`], a network folded for `fold`'s target if one is given.
fn render_folded(design: &DesignArgs, fold: &FoldArgs) -> Result<Rendering, String> {
    if fold.given() {
        let path = design.network.as_ref().ok_or("--target-fps folds a network: give --network")?;
        design.to_design()?;
        return Ok(Rendering::Network(Box::new(crate::generator::render::render_network(fold.fold(path)?))));
    }
    match design.to_design()? {
        DesignRequest::Engine(r, pipeline) if r.model.is_some() => {
            Ok(Rendering::Engine(crate::model::layer::render_conv_layer(&r, pipeline)?))
        }
        request => render_design(&request),
    }
}

fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Gen { design, fold, out, uart } => generate(&design, &fold, out, uart),
        Command::Sim { design, fold, run } => sim(&design, &fold, &run),
        Command::Dse { network, fold, out } => dse(&network, &fold, &out),
        Command::Report { design, liberty, work } => report(&design, &liberty, work),
        Command::Pnr { design, fold, work, uart } => pnr(&design, &fold, work, uart),
        Command::Claims { liberty, len, max_k, pa_shapes, out, work } => {
            claims(&liberty, len, max_k, &pa_shapes, (&out, &work))
        }
        Command::Bench { full, only, liberty, criterion, out, work } => {
            bench(crate::study::bench::Options { full, only, work, liberty, criterion: Some(criterion) }, &out)
        }
        Command::Cost { net, scheme, k, m, n, json } => {
            let cost = cost::cost(cost::Net::parse(&net)?, cost::Scheme::parse(&scheme, k, m, n)?)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&cost).map_err(|e| e.to_string())?);
            } else {
                print!("{}", cost::render_table(&cost));
            }
            Ok(())
        }
        Command::Speedup { cin, kernel, side, stride, k } => speedup(cin, kernel, side, stride, k),
        Command::Sweep { set, list, run } => sweep(&set, list, &run),
        Command::Digits { dir, boards, no_yosys, out, work } => {
            let boards = boards
                .iter()
                .filter(|b| !b.is_empty())
                .map(|b| b.parse::<crate::spec::board::Board>().map_err(|e| format!("--boards: {e}")))
                .collect::<Result<Vec<_>, _>>()?;
            let opts = crate::study::digits::Options { dir, work, boards, yosys: !no_yosys };
            let report = crate::study::digits::digits(&opts)?;
            print!("{}", crate::study::digits::markdown(&report));
            for f in crate::study::digits::write(&report, &out)? {
                println!("wrote {}", f.display());
            }
            Ok(())
        }
    }
}

/// The UART top's files for a rendered network (`--uart`).
fn uart_files(rendering: &Rendering, baud: u32) -> Result<Vec<(String, String)>, String> {
    let Rendering::Network(r) = rendering else {
        return Err("--uart puts a network behind the board's UART: give --network".into());
    };
    let uart = crate::generator::uart_top::UartTop::new(crate::spec::board::Board::IceBreaker, baud)?;
    let design = r.design_files();
    let mut files = rendering.files().to_vec();
    files.extend(uart.files(&r.generated.signature, &design)?.split_off(design.len()));
    Ok(files)
}

fn generate(design: &DesignArgs, fold: &FoldArgs, out: Option<PathBuf>, uart: Option<u32>) -> Result<(), String> {
    let rendering = render_folded(design, fold)?;
    let dir = out.unwrap_or_else(|| PathBuf::from("out").join(rendering.top()));
    let files = match uart {
        Some(baud) => uart_files(&rendering, baud)?,
        None => rendering.files().to_vec(),
    };
    write_files(&dir, &files)?;
    let summary = match &rendering {
        Rendering::Unit(r) => &r.decomposition_summary,
        Rendering::Engine(r) => &r.decomposition_summary,
        Rendering::Network(_) => &None,
    };
    if let Some(summary) = summary {
        println!("{summary}");
    }
    println!("wrote {} files to {}", files.len(), dir.display());
    for (name, _) in &files {
        println!("  {}", dir.join(name).display());
    }
    match &rendering {
        Rendering::Unit(r) => {
            let g = &r.generated;
            println!(
                "top {}: latency {} cycles ({} logic levels, pipeline {}), y is {} bits {}",
                r.params.top,
                g.latency(),
                g.depth,
                r.params.pipeline,
                g.y_width,
                if g.y_signed { "signed" } else { "unsigned" }
            );
        }
        Rendering::Network(r) => {
            print!("{}", network_summary(&r.params, (r.generated.predicted_fill, r.generated.fill_cycles)))
        }
        Rendering::Engine(r) => {
            let (p, g) = (&r.params, &r.generated);
            let geo = &p.geometry;
            println!(
                "top {}: {}x{}x{} in, {}x{}x{} out, {} cycles per output pixel, {} cycles per frame (fill up to {}), \
                 s_axis_tdata {} bits, m_axis_tdata {} bits",
                p.top,
                geo.height,
                geo.width,
                geo.cin,
                geo.out_height(),
                geo.out_width(),
                geo.cout,
                p.ii(),
                p.cycles_per_frame(),
                g.fill_cycles,
                p.in_pixel_bits(),
                p.out_pixel_bits()
            );
        }
    }
    Ok(())
}

/// A network's layers, one line each, and its throughput.
fn network_summary(p: &crate::spec::network::NetworkParams, (predicted, fill): (u64, u64)) -> String {
    let mut out = String::new();
    for (i, layer) in p.layers.iter().enumerate() {
        let (input, output) = (&layer.input, &layer.output);
        let folding = match &layer.stage {
            crate::spec::network::Stage::Engine { params, .. } => {
                format!(", pe {} simd {}, ii {}", params.folding.pe, params.folding.simd, params.ii())
            }
            crate::spec::network::Stage::Pool(_) => String::new(),
        };
        out += &format!(
            "  layer {i} {:<8} {}x{} {} -> {}x{} {}{folding}, {} cycles per frame\n",
            layer.kind.name(),
            input.height,
            input.width,
            input.pixels.describe(),
            output.height,
            output.width,
            output.pixels.describe(),
            layer.cycles_per_frame()
        );
    }
    out + &format!(
        "top {}: {} cycles per frame (the slowest layer's), fill {predicted} predicted, up to {fill}; s_axis_tdata {} bits, m_axis_tdata {} bits\n",
        p.top,
        p.cycles_per_frame(),
        p.in_pixel_bits(),
        p.out_pixel_bits()
    )
}

fn sim(design: &DesignArgs, fold: &FoldArgs, run: &RunArgs) -> Result<(), String> {
    let effort = run.effort()?;
    let rendering = render_folded(design, fold)?;
    let top = rendering.top().to_string();
    let dir = run.work.join(&top);
    if let Some(images) = &run.images {
        let Rendering::Network(r) = &rendering else {
            return Err("--images runs a test set through a network: give --network".into());
        };
        if run.frames.is_some() {
            return Err("--frames sets the random frames of the stall and reset runs; --images runs the image file alone: give one of them".into());
        }
        return classify(r, images, run, &dir);
    }
    if let (Rendering::Unit(_), Some(frames)) = (&rendering, run.frames) {
        return Err(format!("--frames {frames} is for streaming engines and networks; a unit takes --cycles"));
    }
    let verdict = match &rendering {
        Rendering::Unit(r) => verify(r, &dir, run.checks(), effort, &top),
        Rendering::Engine(r) => {
            let checks = Checks { progress: true, ..run.checks() };
            crate::verify::engine::verify_engine(r, &dir, checks, effort, &top)
        }
        Rendering::Network(r) => {
            let checks = Checks { progress: true, ..run.checks() };
            crate::verify::network::verify_network(r, &dir, checks, effort, &top)
        }
    };
    println!("{}", verdict.summary);
    if verdict.passed {
        println!("1 passed, 0 failed");
        Ok(())
    } else {
        eprintln!("{}", verdict.report);
        println!("0 passed, 1 failed");
        Err(format!("{top} does not match the golden model"))
    }
}

/// `sim --network --images`: the test set through the RTL, the answers
/// three ways, classify.json.
fn classify(
    r: &crate::generator::render::RenderedNetwork,
    images: &std::path::Path,
    run: &RunArgs,
    dir: &std::path::Path,
) -> Result<(), String> {
    let set = crate::spec::images::load_images(images, r.params.input)?;
    let checks = Checks { progress: true, ..run.checks() };
    let outcome = crate::verify::network::run_images(r, set.images.clone(), dir, checks, (&r.params.top, run.jobs()?))?;
    let c = crate::study::classify::classify(&r.params, &set, &outcome);
    println!("{}", c.summary());
    let text = serde_json::to_string_pretty(&c).map_err(|e| e.to_string())? + "\n";
    for path in write_files(dir, &[("classify.json".to_string(), text)])? {
        println!("wrote {}", path.display());
    }
    if c.rtl_equals_golden {
        Ok(())
    } else {
        Err(format!("{}: the RTL's answers differ from the golden model's", r.params.top))
    }
}

fn dse(network: &std::path::Path, fold: &FoldArgs, out: &std::path::Path) -> Result<(), String> {
    if fold.target_fps.is_some() {
        return Err("dse sweeps the rates itself: --target-fps goes with gen and sim".into());
    }
    crate::study::plot::check_fonts()?;
    let setting = if fold.board.is_none() && fold.clock_mhz.is_none() {
        // A sweep needs a clock only to turn cycles into frames/s: without
        // one, FINN's for CNV, so that `dse --network net.json` works alone.
        println!(
            "dse: no --board or --clock-mhz: frames/s at {DSE_CLOCK_MHZ} MHz, iCE40 block RAMs, no LUT or block RAM limit"
        );
        FoldArgs { clock_mhz: Some(DSE_CLOCK_MHZ), ..fold.clone() }.setting()?
    } else {
        fold.setting()?
    };
    let net = crate::spec::network::load_network(network)?;
    let start = std::time::Instant::now();
    let chart = crate::study::dse::explore(&net, &setting)?;
    let front = crate::study::pareto::pareto_front(&chart.points);
    println!(
        "{} foldings in {:.2} s, {} Pareto-optimal:",
        chart.points.len(),
        start.elapsed().as_secs_f64(),
        front.len()
    );
    for &i in &front {
        let p = &chart.points[i];
        println!("  ~{:>7.0} LUT4  {:>10.1} frames/s  {}", p.x, p.y, p.label);
    }
    for f in chart.write(out, "dse")? {
        println!("wrote {}", f.display());
    }
    Ok(())
}

fn report(design: &DesignArgs, liberty: &[PathBuf], work: Option<PathBuf>) -> Result<(), String> {
    let rendering = render(design)?;
    let work = work.unwrap_or_else(|| PathBuf::from("target/mbnn-report").join(rendering.top()));
    let path = work.join(format!("{}.report.json", rendering.top()));
    let json = match &rendering {
        Rendering::Unit(rendered) => {
            let stimulus = crate::measure::report::POWER_STIMULUS;
            let r = crate::measure::report::report_with_power(rendered, &work, liberty, &stimulus)?;
            print!("{}", crate::measure::report::render(&r));
            serde_json::to_string_pretty(&r)
        }
        Rendering::Engine(rendered) => {
            let r = crate::measure::engine_report::report(rendered, &work, liberty)?;
            print!("{}", crate::measure::engine_report::render(&r));
            serde_json::to_string_pretty(&r)
        }
        Rendering::Network(_) => {
            return Err("report does not take --network yet: report a layer's engine, or use pnr".into());
        }
    };
    let text = json.map_err(|e| e.to_string())? + "\n";
    std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    println!("\nwrote {}", path.display());
    Ok(())
}

fn pnr(design: &DesignArgs, fold: &FoldArgs, work: Option<PathBuf>, uart: Option<u32>) -> Result<(), String> {
    let board = fold.board.ok_or("pnr needs --board: icebreaker, hx8k, ulx3s or tangnano9k")?;
    if design.network.is_none() && fold.given_beyond_board() {
        return Err("--target-fps, --lut-budget and --clock-mhz fold a network: give --network".into());
    }
    // A network folded for --target-fps, or as its file says; its weights
    // packed for the board's block RAM either way.
    let rendering = if design.network.is_some() { render_folded(design, fold)? } else { render(design)? };
    let uart = match uart {
        Some(baud) if matches!(rendering, Rendering::Network(_)) => {
            Some(crate::generator::uart_top::UartTop::new(board, baud)?)
        }
        Some(_) => return Err("--uart puts a network behind the board's UART: give --network".into()),
        None => None,
    };
    let top = match uart {
        Some(_) => format!("{}_uart", rendering.top()),
        None => rendering.top().to_string(),
    };
    let work = work.unwrap_or_else(|| PathBuf::from("target/mbnn-pnr").join(board.name()).join(top));
    let design = crate::measure::pnr::PnrDesign { signature: rendering.signature(), verilog: rendering.design_files() };
    let r = match uart {
        Some(u) => crate::measure::pnr::pnr_uart(&design, u, &work)?,
        None => crate::measure::pnr::pnr_design(&design, board, &work)?,
    };
    println!("{}", r.summary());
    if let (Some(fps), Some(rate)) = (fold.target_fps, r.stream) {
        // The folding was planned at a clock; the board's Fmax decides.
        let planned = fold.setting()?.clock_mhz;
        let verdict = if rate.frames_per_second >= fps {
            "met".to_string()
        } else {
            let at = r.outcome.fmax_mhz;
            format!("MISSED: Fmax {at:.1} MHz against the {planned} MHz planned; fold with --clock-mhz {}", at.floor())
        };
        println!("target {fps} frames/s: {:.0} frames/s at Fmax, {verdict}", rate.frames_per_second);
    } else if let (Some(fps), Some(u)) = (fold.target_fps, uart) {
        println!("target {fps} frames/s: not judged behind the UART top, where {} baud sets the pace", u.baud);
    }
    println!("wrote {}", work.join(crate::measure::pnr::REPORT_FILE).display());
    Ok(())
}

fn claims(
    liberty: &std::path::Path,
    len: usize,
    max_k: u32,
    pa_shapes: &str,
    (out, work): (&std::path::Path, &std::path::Path),
) -> Result<(), String> {
    if !(1..=4608).contains(&len) {
        return Err(format!("--len {len} is out of range: the claims' dot-product length must be 1..=4608"));
    }
    if !(1..=8).contains(&max_k) {
        return Err(format!("--max-k {max_k} is out of range: must be 1..=8"));
    }
    let pa_shapes = crate::study::claims::parse_pa_shapes(pa_shapes)?;
    if !liberty.exists() {
        return Err(format!("--liberty {} does not exist", liberty.display()));
    }
    // Before minutes of measurement, not after.
    crate::study::plot::check_fonts()?;
    let c = crate::study::claims::claims(liberty, len, work, max_k, &pa_shapes)?;
    print!("{}", crate::study::claims::markdown(&c));
    for f in crate::study::claims::write(&c, out)? {
        println!("wrote {}", f.display());
    }
    Ok(())
}

fn bench(opts: crate::study::bench::Options, out: &std::path::Path) -> Result<(), String> {
    let needs_liberty = opts.full || opts.only == Some(crate::study::bench::Part::Asic);
    if needs_liberty && !opts.liberty.exists() {
        return Err(format!("--liberty {} does not exist (the ASAP7 figures need it)", opts.liberty.display()));
    }
    let opts = crate::study::bench::Options { criterion: opts.criterion.filter(|c| c.is_dir()), ..opts };
    let rows = crate::study::bench::bench(&opts)?;
    print!("{}", crate::study::bench::render(&rows));
    let json = serde_json::to_string_pretty(&rows).map_err(|e| e.to_string())? + "\n";
    write_files(out, &[("bench.json".to_string(), json)])?;
    println!("wrote {}", out.join("bench.json").display());
    Ok(())
}

fn speedup(cin: u32, kernel: u32, side: u32, stride: u32, k: u32) -> Result<(), String> {
    for (flag, v, hi) in
        [("--cin", cin, 65536), ("--kernel", kernel, 256), ("--side", side, 4096), ("--stride", stride, 16)]
    {
        if !(1..=hi).contains(&v) {
            return Err(format!("{flag} {v} is out of range: must be 1..={hi}"));
        }
    }
    if kernel > side + 2 * (kernel / 2) {
        return Err(format!("--kernel {kernel} is larger than the padded input side {}", side + 2 * (kernel / 2)));
    }
    let shape = cost::ConvShape::square(cin, cin, kernel, stride, side);
    let sigma = cost::eq4_speedup(&shape, k)?;
    println!(
        "Eq. 4: c_in {cin}, {kernel}x{kernel} kernel, {side}x{side} -> {}x{} (stride {stride}), K = {k}: speed-up {sigma:.2}",
        shape.h_out, shape.w_out
    );
    Ok(())
}

fn sweep(set: &str, list: bool, run: &RunArgs) -> Result<(), String> {
    let effort = run.effort()?;
    let jobs = effort.jobs;
    let root = PathBuf::from(".");
    let lines = match set {
        "quick" => sweep::quick(&root)?,
        "full" => sweep::full(&root)?,
        other => return Err(format!("--set {other:?} is unknown: valid sets are quick, full")),
    };
    if list {
        lines.iter().for_each(|l| println!("{l}"));
        return Ok(());
    }
    println!("verifying {} designs, {jobs} at a time", lines.len());
    let (passed, failed) = sweep::run(&lines, &run.work.join(set), run.checks(), effort, jobs);
    println!("{passed} passed, {failed} failed");
    if failed == 0 { Ok(()) } else { Err(format!("{failed} of {} designs failed", lines.len())) }
}

pub fn main() -> ExitCode {
    exit_quietly_on_closed_pipe();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // clap's own first line names the flag and the value; the rest is hints.
            let text = e.render().to_string();
            eprintln!("{}", text.lines().next().unwrap_or("error: bad arguments"));
            return ExitCode::from(2);
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("error: {msg}");
            ExitCode::FAILURE
        }
    }
}

/// Printing into a closed pipe (`mbnn gen ... | head`) ends the program
/// quietly, as it ends any Unix tool, where Rust's default (SIGPIPE
/// ignored) makes `println!` panic. The programs it runs get the default
/// back from `Command` anyway, and it writes to none of their inputs.
fn exit_quietly_on_closed_pipe() {
    // SAFETY: changes one signal's disposition, before any other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
