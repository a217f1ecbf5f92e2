//! `make digits` (`mbnn digits`): the networks that
//! `examples/digits/train.py` trained on scikit-learn's 8x8 digits, each
//! through the RTL on every test image, against the float network and the
//! golden model, and placed and routed on the boards: one table, as
//! Markdown and JSON.

use crate::generator::render::{RenderedNetwork, render_network};
use crate::generator::uart_top::UartTop;
use crate::measure::pnr::{FpgaReport, PnrDesign, pnr_design, pnr_uart};
use crate::spec::board::Board;
use crate::spec::images::load_images;
use crate::spec::network::load_network;
use crate::study::classify::{Classification, classify};
use crate::util::files::write_files;
use crate::verify::network::run_images;
use crate::verify::testbench::Checks;
use serde::Serialize;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The trained networks: file, key in `training.json`, name.
pub const NETWORKS: [(&str, &str, &str); 3] = [
    ("groupnet_k3.json", "groupnet_k3", "Group-Net, K = 3 (BPAC, fusion gate)"),
    ("panet_m4n5.json", "panet_m4n5", "PA-Net, M = 4, N = 5"),
    ("binary.json", "binary", "single binary (K = 1)"),
];

/// The test set, and what train.py says of the training.
pub const IMAGES_FILE: &str = "test_images.json";
pub const TRAINING_FILE: &str = "training.json";

pub struct Options {
    /// Where the network files, the test set and training.json are.
    pub dir: PathBuf,
    pub work: PathBuf,
    pub boards: Vec<Board>,
    pub yosys: bool,
}

/// One network on one board.
#[derive(Clone, Debug, Serialize)]
pub struct OnBoard {
    pub board: Board,
    pub luts: u64,
    pub flip_flops: u64,
    pub block_ram: u64,
    pub block_ram_available: u64,
    pub fmax_mhz: f64,
    pub images_per_s: f64,
    /// One image's first pixel in to its class out, with no stalls, at Fmax.
    pub latency_us: f64,
    pub logic_cells: u64,
    pub logic_cells_available: u64,
}

/// The baud rate of the UART top the networks are measured behind, on a
/// board that has one.
pub const BAUD: u32 = 115_200;

/// The top a network is placed in on `board`: the UART top where the board
/// has one (what goes on the board), else the board wrapper.
fn top_on(board: Board) -> Option<UartTop> {
    UartTop::new(board, BAUD).ok()
}

/// A network's place and route on one board, or why it failed (a network
/// too large for the device fails in nextpnr).
#[derive(Clone, Debug, Serialize)]
pub struct BoardResult {
    pub board: Board,
    /// "UART top" or "board wrapper".
    pub top: &'static str,
    pub placed: Option<OnBoard>,
    pub failure: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub name: String,
    pub file: String,
    /// train.py's accuracy of the same float network, in numpy.
    pub train_py_float: Option<f64>,
    pub classification: Classification,
    pub boards: Vec<BoardResult>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// The full-precision network of the same topology (train.py).
    pub full_precision: Option<f64>,
    pub images: usize,
    pub rows: Vec<Row>,
    pub seconds: f64,
}

fn training(dir: &Path) -> Result<Value, String> {
    let path = dir.join(TRAINING_FILE);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("{}: cannot read it ({e}): run python examples/digits/train.py", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: not valid JSON: {e}", path.display()))
}

fn on_board(
    r: &RenderedNetwork,
    (board, uart): (Board, Option<UartTop>),
    work: &Path,
    cycles: usize,
) -> Result<OnBoard, String> {
    let design = PnrDesign { signature: &r.generated.signature, verilog: r.design_files() };
    let f: FpgaReport = match uart {
        Some(uart) => pnr_uart(&design, uart, work)?,
        None => pnr_design(&design, board, work)?,
    };
    let o = &f.outcome;
    let hz = o.fmax_mhz * 1e6;
    Ok(OnBoard {
        board,
        luts: o.luts,
        flip_flops: o.flip_flops,
        block_ram: o.block_ram,
        block_ram_available: board.info().brams,
        fmax_mhz: o.fmax_mhz,
        images_per_s: hz / cycles as f64,
        latency_us: (cycles as f64 + r.generated.fill_cycles as f64) / hz * 1e6,
        logic_cells: o.logic_cells.used,
        logic_cells_available: o.logic_cells.available,
    })
}

/// Every trained network through the RTL on the whole test set, then on
/// each board.
pub fn digits(opts: &Options) -> Result<Report, String> {
    let t0 = Instant::now();
    let trained = training(&opts.dir)?;
    let mut rows = vec![];
    let mut rendered = vec![];
    let mut images = 0;
    for (file, key, name) in NETWORKS {
        let path = opts.dir.join(file);
        let r = render_network(load_network(&path)?);
        let set = load_images(&opts.dir.join(IMAGES_FILE), r.params.input)?;
        images = set.images.len();
        let checks = Checks { lint: true, iverilog: true, yosys: opts.yosys, netlist: false, progress: true };
        let top = r.params.top.clone();
        let jobs = crate::util::parallel::default_jobs();
        let run = run_images(&r, set.images.clone(), &opts.work.join("sim").join(&top), checks, (&top, jobs))?;
        let classification = classify(&r.params, &set, &run);
        eprintln!("{}", classification.summary());
        if !classification.rtl_equals_golden {
            return Err(format!("{top}: the RTL's answers differ from the golden model's"));
        }
        rows.push(Row {
            name: name.to_string(),
            file: file.to_string(),
            train_py_float: trained["networks"][key]["test_accuracy"].as_f64().map(|a| 100.0 * a),
            classification,
            boards: vec![],
        });
        rendered.push(r);
    }
    let placed = place_all(&rendered, &opts.boards, &opts.work);
    for (row, boards) in rows.iter_mut().zip(placed) {
        row.boards = boards;
    }
    Ok(Report {
        full_precision: trained["networks"]["float"]["test_accuracy"].as_f64().map(|a| 100.0 * a),
        images,
        rows,
        seconds: t0.elapsed().as_secs_f64(),
    })
}

/// Place-and-route jobs run at once (the flows are single-threaded).
const PNR_JOBS: usize = 2;

/// Every network on every board, [`PNR_JOBS`] flows at a time; per
/// network, its boards in order.
fn place_all(rendered: &[RenderedNetwork], boards: &[Board], work: &Path) -> Vec<Vec<BoardResult>> {
    let jobs: Vec<(usize, Board)> = (0..rendered.len()).flat_map(|i| boards.iter().map(move |&b| (i, b))).collect();
    let placed = crate::util::parallel::map_indices(jobs.len(), PNR_JOBS, |j| {
        let (i, board) = jobs[j];
        place(&rendered[i], board, work)
    });
    let mut out: Vec<Vec<BoardResult>> = vec![vec![]; rendered.len()];
    for (&(i, _), r) in jobs.iter().zip(placed) {
        out[i].push(r);
    }
    out
}

/// One network on one board, or why it did not place.
fn place(r: &RenderedNetwork, board: Board, work: &Path) -> BoardResult {
    let uart = top_on(board);
    let placed_in = if uart.is_some() { "UART top" } else { "board wrapper" };
    let top = &r.params.top;
    match on_board(r, (board, uart), &work.join("pnr").join(board.name()).join(top), r.params.cycles_per_frame()) {
        Ok(placed) => BoardResult { board, top: placed_in, placed: Some(placed), failure: None },
        Err(e) => {
            eprintln!("{top} on {board}: {e}");
            // nextpnr's fullest resource line, with its error when the
            // design fits the device but not a legal placement.
            let usage = e.lines().find(|l| l.contains('%')).map(|l| {
                let words: Vec<&str> = l.split_whitespace().filter(|w| *w != "Info:").collect();
                words.join(" ")
            });
            let error = e.lines().find_map(|l| l.strip_prefix("ERROR: ")).map(|l| l.trim_end_matches('.'));
            let over = usage.as_deref().and_then(crate::eda::fpga::usage_percent);
            let why = match (usage, error) {
                (Some(usage), _) if over > Some(100) => format!("needs {usage}"),
                (Some(usage), Some(error)) => format!("{error} ({usage})"),
                (None, Some(error)) => error.to_string(),
                _ => e.lines().next().unwrap_or("").to_string(),
            };
            BoardResult { board, top: placed_in, placed: None, failure: Some(why) }
        }
    }
}

fn pct(x: Option<f64>) -> String {
    x.map_or("n/a".into(), |v| format!("{v:.2} %"))
}

/// The report as a Markdown table, with the images the rounding changed.
/// The place and route table: every network on every board, or why it
/// did not place (empty when no board was asked for).
fn board_table(r: &Report) -> String {
    let mut s = String::new();
    if r.rows.iter().all(|row| row.boards.is_empty()) {
        return s;
    }
    s += "\n| network | board (top) | LUT4 | FF | logic cells | block RAM | Fmax | images/s | latency |\n|---|---|---|---|---|---|---|---|---|\n";
    for row in &r.rows {
        for result in &row.boards {
            let Some(b) = &result.placed else {
                let why = result.failure.as_deref().unwrap_or("");
                s += &format!(
                    "| {} | {} ({}) | does not place: {why} | | | | | | |\n",
                    row.name, result.board, result.top
                );
                continue;
            };
            s += &format!(
                "| {} | {} ({}) | {} | {} | {} of {} | {} of {} | {:.1} MHz | {:.0} | {:.1} us |\n",
                row.name,
                b.board,
                result.top,
                b.luts,
                b.flip_flops,
                b.logic_cells,
                b.logic_cells_available,
                b.block_ram,
                b.block_ram_available,
                b.fmax_mhz,
                b.images_per_s,
                b.latency_us
            );
        }
    }
    s
}

pub fn markdown(r: &Report) -> String {
    let mut s = format!(
        "# Trained digits networks through the RTL\n\n{} test images of scikit-learn's 8x8 digits; the full-precision network of the same topology: {}.\n\n",
        r.images,
        pct(r.full_precision)
    );
    s += "| network | float (train.py) | float (mbnn) | golden model | RTL | RTL = golden | rounding changed | cycles/image |\n";
    s += "|---|---|---|---|---|---|---|---|\n";
    for row in &r.rows {
        let c = &row.classification;
        let a = c.accuracy.as_ref();
        s += &format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
            row.name,
            pct(row.train_py_float),
            pct(a.and_then(|a| a.float)),
            pct(a.map(|a| a.golden)),
            pct(a.map(|a| a.rtl)),
            if c.rtl_equals_golden { "every image" } else { "NO" },
            c.rounding_changed.len(),
            c.cycles_per_image
        );
    }
    s += &board_table(r);
    let changed: Vec<String> = r
        .rows
        .iter()
        .flat_map(|row| {
            row.classification.rounding_changed.iter().map(move |c| {
                format!(
                    "- {}: image {} (label {}): float says {}, the hardware {}",
                    row.name,
                    c.image,
                    c.label.map_or("-".into(), |l| l.to_string()),
                    c.float,
                    c.golden
                )
            })
        })
        .collect();
    s += "\nImages where the fixed-point rounding changed the answer:\n\n";
    s += &if changed.is_empty() { "- none\n".to_string() } else { changed.join("\n") + "\n" };
    s + &format!(
        "\nVerilator checked images/s: {}. {:.0} s in all.\n",
        r.rows
            .iter()
            .map(|row| format!("{} {:.0}", row.file, row.classification.verilator_images_per_s))
            .collect::<Vec<_>>()
            .join(", "),
        r.seconds
    )
}

/// Writes digits.md and digits.json into `out`.
pub fn write(r: &Report, out: &Path) -> Result<Vec<PathBuf>, String> {
    let json = serde_json::to_string_pretty(r).map_err(|e| e.to_string())? + "\n";
    write_files(out, &[("digits.md".into(), markdown(r)), ("digits.json".into(), json)])
}
