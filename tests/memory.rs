//! Memories in the RTL: a 512 x 8 ROM (its words printed in the Verilog,
//! or read from a `.hex` file beside it) and a 256 x 16 RAM, each in a
//! small top module, behave under Verilator (through the project's bridge)
//! and Icarus as a Rust model of the memory says, lint clean, and map onto
//! one block RAM each on iCE40, ECP5 and Gowin.
//!
//! The model, which is what `rtl::Memory` defines: on a rising edge an
//! enabled read loads the word at its address into the read register (a
//! disabled one holds it) and an enabled write stores its word. A read of
//! the address written in the same cycle is undefined, as is a read of a
//! RAM word never written: Icarus shows x, Verilator 5.006 gives zero
//! (its default `--x-assign fast` picks the value; it zeroes memories), and
//! the hardware gives whatever its block RAM does.

use mbnn::backend::verilog::emit_design;
use mbnn::eda::fpga::{SynthCells, synth_cells};
use mbnn::eda::verilator::{ModelOptions, build_model};
use mbnn::rtl::{Const, Design, Dir, MemoryInit, MemoryStyle, Module};
use mbnn::sim::{Model, port_widths};
use mbnn::spec::board::Board;
use mbnn::spec::signature::{Interface, Role, Signature};
use mbnn::util::bits::{BitVec, SplitMix64};
use std::path::Path;
use std::process::Command;

const ROM_WIDTH: u32 = 8;
const ROM_DEPTH: usize = 512;
/// Initial words the ROM is given: the last 12 addresses hold the zeros
/// that `MemoryInit` fills in.
const ROM_GIVEN: usize = 500;
const RAM_WIDTH: u32 = 16;
const RAM_DEPTH: usize = 256;

/// The ROM's word at `address`: distinct neighbours, every bit used.
fn rom_word(address: usize) -> u64 {
    let a = address as u64;
    (a.wrapping_mul(0x9d) ^ (a >> 3) ^ 0x5a) & 0xff
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    RomInline,
    RomFile,
    /// The inline ROM with `MemoryStyle::Logic`: the network packing's
    /// choice for wide, shallow weight ROMs.
    RomLogic,
    Ram,
}

/// A design under test: its files (Verilog, then any data file) and its
/// signature. Inputs in signature order: ROM `en, addr`; RAM `we, waddr,
/// wdata, re, raddr`. The read data is the word addressed one cycle
/// earlier: a fixed latency of one.
struct Top {
    kind: Kind,
    files: Vec<(String, String)>,
    signature: Signature,
}

impl Top {
    fn new(kind: Kind) -> Top {
        let m = match kind {
            Kind::RomInline | Kind::RomFile | Kind::RomLogic => rom_module(kind),
            Kind::Ram => ram_module(),
        };
        let mut roles = vec![Role::Clock];
        roles.extend((2..m.ports.len()).map(|_| Role::Data));
        roles.push(Role::Result);
        let signature = Signature::of_module(&m, &roles, Interface::FixedLatency { latency: 1 });
        let mut design = Design { top: m.name.clone(), ..Design::default() };
        design.add(m);
        Top { kind, files: emit_design(&design), signature }
    }

    fn top(&self) -> &str {
        &self.signature.top
    }

    fn verilog_names(&self) -> Vec<String> {
        self.files.iter().map(|(n, _)| n.clone()).filter(|n| n.ends_with(".v")).collect()
    }

    fn depth(&self) -> usize {
        if self.kind == Kind::Ram { RAM_DEPTH } else { ROM_DEPTH }
    }

    fn write_to(&self, dir: &Path) {
        std::fs::create_dir_all(dir).unwrap();
        for (name, text) in &self.files {
            std::fs::write(dir.join(name), text).unwrap();
        }
    }
}

fn rom_module(kind: Kind) -> Module {
    let words: Vec<Const> = (0..ROM_GIVEN).map(|a| Const::from_u128(ROM_WIDTH, rom_word(a).into())).collect();
    let (name, init) = match kind {
        Kind::RomFile => ("rom_file", MemoryInit::File { name: "rom_words".into(), words }),
        Kind::RomLogic => ("rom_logic", MemoryInit::Const(words)),
        _ => ("rom_inline", MemoryInit::Const(words)),
    };
    let mut m = Module::new(name);
    m.clock_input();
    let en = m.input("en", 1);
    let addr = m.input("addr", 9);
    let rom = m.memory("rom", ROM_WIDTH, ROM_DEPTH as u32, init);
    if kind == Kind::RomLogic {
        m.set_memory_style(rom, MemoryStyle::Logic);
    }
    let word = m.read_port(rom, addr, en);
    let rdata = m.port("rdata", Dir::Out, ROM_WIDTH, false);
    m.drive(&rdata, word);
    m
}

fn ram_module() -> Module {
    let mut m = Module::new("ram_top");
    m.clock_input();
    let we = m.input("we", 1);
    let waddr = m.input("waddr", 8);
    let wdata = m.input("wdata", RAM_WIDTH);
    let re = m.input("re", 1);
    let raddr = m.input("raddr", 8);
    let ram = m.memory("ram", RAM_WIDTH, RAM_DEPTH as u32, MemoryInit::None);
    m.write_port(ram, waddr, wdata, we);
    let word = m.read_port(ram, raddr, re);
    let rdata = m.port("rdata", Dir::Out, RAM_WIDTH, false);
    m.drive(&rdata, word);
    m
}

/// One clock cycle's accesses.
#[derive(Clone, Copy, Debug)]
struct Access {
    write: Option<(usize, u64)>,
    read: Option<usize>,
}

/// The memory as `rtl::Memory` defines it; `None` is undefined.
struct MemoryModel {
    words: Vec<Option<u64>>,
    rdata: Option<u64>,
}

impl MemoryModel {
    fn of(top: &Top) -> MemoryModel {
        let words = match top.kind {
            Kind::Ram => vec![None; RAM_DEPTH],
            _ => (0..ROM_DEPTH).map(|a| Some(if a < ROM_GIVEN { rom_word(a) } else { 0 })).collect(),
        };
        MemoryModel { words, rdata: None }
    }

    /// A rising edge: the read sees the words before this cycle's write.
    fn edge(&mut self, access: &Access) {
        if let Some(r) = access.read {
            let collides = access.write.is_some_and(|(w, _)| w == r);
            self.rdata = if collides { None } else { self.words[r] };
        }
        if let Some((w, data)) = access.write {
            self.words[w] = Some(data);
        }
    }
}

/// Every address read in order (a RAM: written in order first, while
/// reading the half not yet written, and read back again at the end),
/// then random cycles: reads enabled three times in four, and for a RAM
/// writes every other cycle, one in eight of them at the address read.
fn accesses(top: &Top, rng: &mut SplitMix64) -> Vec<Access> {
    let depth = top.depth();
    let every_read = (0..depth).map(|a| Access { write: None, read: Some(a) });
    if top.kind != Kind::Ram {
        let random = (0..300).map(|_| Access { write: None, read: rng.chance(3, 4).then(|| rng.below(512) as usize) });
        return every_read.chain(random.collect::<Vec<_>>()).collect();
    }
    let mut v: Vec<Access> = (0..depth)
        .map(|a| Access { write: Some((a, rng.below(1 << RAM_WIDTH))), read: Some((a + depth / 2) % depth) })
        .collect();
    v.extend(every_read.clone());
    for _ in 0..600 {
        let write = rng.chance(1, 2).then(|| (rng.below(depth as u64) as usize, rng.below(1 << RAM_WIDTH)));
        let read = match write {
            Some((w, _)) if rng.chance(1, 8) => Some(w),
            _ => rng.chance(3, 4).then(|| rng.below(depth as u64) as usize),
        };
        v.push(Access { write, read });
    }
    v.extend(every_read);
    v
}

/// The input values of one cycle, in signature order. An address or data
/// input whose enable is low gets a random value, which must not matter.
fn inputs(top: &Top, access: &Access, rng: &mut SplitMix64) -> Vec<u64> {
    let mut random = |bits: u32| rng.below(1 << bits);
    let read =
        [u64::from(access.read.is_some()), access.read.map_or_else(|| random(9) % top.depth() as u64, |a| a as u64)];
    if top.kind != Kind::Ram {
        return read.to_vec();
    }
    let (waddr, wdata) = access.write.map_or_else(|| (random(8), random(RAM_WIDTH)), |(a, d)| (a as u64, d));
    vec![u64::from(access.write.is_some()), waddr, wdata, read[0], read[1]]
}

/// A stimulus and what the model says the read data is after each edge.
struct Run {
    inputs: Vec<Vec<u64>>,
    expected: Vec<Option<u64>>,
    collisions: usize,
}

fn run_of(top: &Top) -> Run {
    let mut rng = SplitMix64::new(0x3e3);
    let accesses = accesses(top, &mut rng);
    let inputs = accesses.iter().map(|a| inputs(top, a, &mut rng)).collect();
    let mut model = MemoryModel::of(top);
    let expected = accesses
        .iter()
        .map(|a| {
            model.edge(a);
            model.rdata
        })
        .collect();
    let collisions = accesses.iter().filter(|a| a.write.is_some_and(|(w, _)| Some(w) == a.read)).count();
    Run { inputs, expected, collisions }
}

/// The read data after every rising edge, simulated by Verilator.
fn verilator_run(top: &Top, inputs: &[Vec<u64>]) -> Vec<Option<u64>> {
    let lib = build_model(&top.files, &top.signature, &ModelOptions::default()).unwrap();
    let mut model = Model::load(&lib.path, port_widths(&top.signature), None).unwrap();
    let widths: Vec<usize> = top.signature.driven_inputs().map(|p| p.width as usize).collect();
    inputs
        .iter()
        .map(|values| {
            for (i, (&value, &width)) in values.iter().zip(&widths).enumerate() {
                model.set(i, &BitVec::from_words(width, vec![value]));
            }
            model.cycle();
            Some(model.output(0).words()[0])
        })
        .collect()
}

/// A test bench that drives the inputs of every cycle and prints the read
/// data in hex after each rising edge.
fn testbench(signature: &Signature, inputs: &[Vec<u64>]) -> String {
    let driven: Vec<_> = signature.driven_inputs().collect();
    let result = signature.result().unwrap();
    let mut tb = String::from("module tb;\n    reg clk = 1'b0;\n");
    for p in &driven {
        tb.push_str(&format!("    reg [{}:0] {};\n", p.width - 1, p.name));
    }
    tb.push_str(&format!("    wire [{}:0] {};\n", result.width - 1, result.name));
    let connections: Vec<String> = signature.ports.iter().map(|p| format!(".{0}({0})", p.name)).collect();
    tb.push_str(&format!("    {} dut ({});\n    initial begin\n", signature.top, connections.join(", ")));
    for values in inputs {
        for (p, v) in driven.iter().zip(values) {
            tb.push_str(&format!("        {} = {}'h{v:x};\n", p.name, p.width));
        }
        tb.push_str(&format!(
            "        #5 clk = 1'b1;\n        #1 $display(\"%h\", {});\n        #4 clk = 1'b0;\n",
            result.name
        ));
    }
    tb.push_str("        $finish;\n    end\nendmodule\n");
    tb
}

/// The read data after every rising edge, simulated by Icarus in `dir`
/// (`None` where it shows x).
fn icarus_run(top: &Top, inputs: &[Vec<u64>], dir: &Path) -> Vec<Option<u64>> {
    top.write_to(dir);
    std::fs::write(dir.join("tb.v"), testbench(&top.signature, inputs)).unwrap();
    let out = Command::new("iverilog")
        .current_dir(dir)
        .args(["-g2001", "-o", "tb.vvp", "-s", "tb", "tb.v"])
        .args(top.verilog_names())
        .output()
        .expect("iverilog runs");
    assert!(out.status.success(), "iverilog: {}", String::from_utf8_lossy(&out.stderr));
    let out = Command::new("vvp").current_dir(dir).args(["-n", "tb.vvp"]).output().expect("vvp runs");
    assert!(out.stderr.is_empty(), "vvp: {}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines = stdout.lines().filter(|l| !l.contains("$finish"));
    lines
        .map(|l| if l.contains(['x', 'X']) { None } else { Some(u64::from_str_radix(l.trim(), 16).unwrap()) })
        .collect()
}

/// Every defined word must match; an undefined one must show as x where
/// the simulator has x.
fn check(top: &Top, simulator: &str, got: &[Option<u64>], run: &Run, x_where_undefined: bool) {
    assert_eq!(got.len(), run.expected.len(), "{} under {simulator}: cycles", top.top());
    for (cycle, (got, want)) in got.iter().zip(&run.expected).enumerate() {
        match want {
            Some(_) => assert_eq!(got, want, "{} under {simulator}: cycle {cycle}", top.top()),
            None if x_where_undefined => assert_eq!(*got, None, "{} under {simulator}: cycle {cycle}", top.top()),
            None => {}
        }
    }
}

fn tops() -> [Top; 4] {
    [Top::new(Kind::RomInline), Top::new(Kind::RomFile), Top::new(Kind::RomLogic), Top::new(Kind::Ram)]
}

/// The memories synthesis is free to put in block RAM.
fn block_ram_tops() -> impl Iterator<Item = Top> {
    tops().into_iter().filter(|t| t.kind != Kind::RomLogic)
}

#[test]
fn the_stimulus_reads_every_word_and_collides() {
    for top in tops() {
        let run = run_of(&top);
        let defined = run.expected.iter().filter(|e| e.is_some()).count();
        assert!(defined >= top.depth() + 200, "{}: {defined} defined reads", top.top());
        assert_eq!(run.collisions > 20, top.kind == Kind::Ram, "{}: {} collisions", top.top(), run.collisions);
    }
    // The ROM's zero fill is read: its last words are zero.
    assert_eq!(run_of(&Top::new(Kind::RomInline)).expected[ROM_DEPTH - 1], Some(0));
}

#[test]
fn verilator_reads_what_the_model_says() {
    for top in tops() {
        let run = run_of(&top);
        check(&top, "Verilator", &verilator_run(&top, &run.inputs), &run, false);
    }
}

#[test]
fn icarus_reads_what_the_model_says_and_x_on_a_collision() {
    let work = tempfile::tempdir().unwrap();
    for top in tops() {
        let run = run_of(&top);
        let got = icarus_run(&top, &run.inputs, &work.path().join(top.top()));
        check(&top, "Icarus", &got, &run, true);
    }
}

#[test]
fn the_memory_tops_lint_clean_and_icarus_accepts_them() {
    let work = tempfile::tempdir().unwrap();
    for top in tops() {
        let dir = work.path().join(top.top());
        top.write_to(&dir);
        mbnn::eda::verilator::lint(&dir, &top.verilog_names(), top.top()).unwrap();
        mbnn::eda::iverilog::check(&dir, &top.verilog_names(), top.top()).unwrap();
    }
}

fn synthesised(top: &Top, board: Board, work: &Path) -> SynthCells {
    let cells = synth_cells(&top.files, top.top(), board, &work.join(format!("{}_{board}", top.top())))
        .unwrap_or_else(|e| panic!("{} on {board}: {e}", top.top()));
    eprintln!("{} on {board}: {:?}", top.top(), cells.cells);
    cells
}

/// One block RAM of the kind named, no flip-flop (the read register is the
/// RAM's own) and at most `luts` LUTs.
fn assert_one_block_ram(cells: &SynthCells, kind: &str, luts: u64) {
    let shown = format!("{}: {:?}", cells.top, cells.cells);
    assert_eq!((cells.block_ram, cells.cells.get(kind).copied()), (1, Some(1)), "{shown}");
    assert_eq!(cells.flip_flops, 0, "{shown}");
    assert!(cells.luts <= luts, "{shown}");
}

#[test]
fn ice40_maps_each_memory_onto_one_sb_ram40_4k() {
    let work = tempfile::tempdir().unwrap();
    for top in block_ram_tops() {
        // The RAM keeps one LUT: its write enable, inverted into the bit mask.
        assert_one_block_ram(&synthesised(&top, Board::IceBreaker, work.path()), "SB_RAM40_4K", 1);
    }
}

#[test]
fn ecp5_maps_each_memory_onto_one_dp16kd() {
    let work = tempfile::tempdir().unwrap();
    for top in block_ram_tops() {
        assert_one_block_ram(&synthesised(&top, Board::Ulx3s, work.path()), "DP16KD", 0);
    }
}

#[test]
fn gowin_maps_a_rom_onto_one_spx9_and_a_ram_onto_one_dpx9b() {
    let work = tempfile::tempdir().unwrap();
    for top in block_ram_tops() {
        let kind = if top.kind == Kind::Ram { "DPX9B" } else { "SPX9" };
        assert_one_block_ram(&synthesised(&top, Board::TangNano9k, work.path()), kind, 0);
    }
}

/// A ROM in logic takes no block RAM on any family: its words become LUTs
/// (at most about `rom_luts`, 8 bits x 512 words is 256 LUT4; these words
/// follow a formula, which synthesis shrinks) and its read register
/// flip-flops.
#[test]
fn a_logic_rom_takes_luts_and_flip_flops_not_block_ram() {
    let work = tempfile::tempdir().unwrap();
    let top = Top::new(Kind::RomLogic);
    let estimate = mbnn::generator::folding::rom_luts(ROM_WIDTH.into(), ROM_DEPTH as u64);
    for board in [Board::IceBreaker, Board::Ulx3s, Board::TangNano9k] {
        let cells = synthesised(&top, board, work.path());
        let shown = format!("{board}: {:?}", cells.cells);
        assert_eq!((cells.block_ram, cells.flip_flops), (0, u64::from(ROM_WIDTH)), "{shown}");
        assert!(cells.luts > 0 && cells.luts <= estimate * 3 / 2, "{shown}: estimate {estimate} LUT4");
    }
}
