//! Generators of whole networks (SPEC 7) and of the stream stages between
//! their layers. A network's top instantiates every layer's engine or
//! pool, each feeding the next directly, and the argmax at the end, wired
//! ready/valid stream to stream (see [`NetworkParams::layers`]); every module keeps its own name (the
//! layer's), so a network's modules never clash.

pub mod manifest;
pub mod stage;
pub mod timing;

use crate::generator::build::mark_unused;
use crate::generator::engine::{GeneratedEngine, generate_engine};
use crate::rtl::{Design, Dir, Expr, Module};
use crate::spec::network::{NetOutput, NetworkParams, Stage};
use crate::spec::signature::{Interface, STREAM_ROLES, Signature};

/// A generated network and what its manifest reports.
#[derive(Debug)]
pub struct GeneratedNetwork {
    pub design: Design,
    pub signature: Signature,
    /// Per layer: the engine as generated (`None` for a pool).
    pub engines: Vec<Option<GeneratedEngine>>,
    /// Cycles a run of frames may take beyond frames x cycles_per_frame
    /// with no stalls: the timing model's prediction and a margin.
    pub fill_cycles: u64,
    /// The timing model's prediction alone.
    pub predicted_fill: u64,
}

/// A stream as wires in the top: what flows forward and the ready back.
struct Stream {
    data: Expr,
    valid: Expr,
    ready: Expr,
    last: Option<Expr>,
}

/// Instantiates `child` (a stream stage) fed by `input`; returns its output
/// stream, whose `ready` is a wire the next stage (or the port) drives.
fn stream_stage(m: &mut Module, child: &Module, name: &str, input: &Stream, clk: &Expr, rst: &Expr) -> Stream {
    let wire = |m: &mut Module, port: &str, width: u32| m.instance_wire(&format!("{name}_{port}"), width);
    let width_of = |port: &str| child.port_signals().find(|s| s.name == port).map(|s| s.width);
    let out = Stream {
        data: wire(m, "m_axis_tdata", width_of("m_axis_tdata").expect("a stream stage has m_axis_tdata")),
        valid: wire(m, "m_axis_tvalid", 1),
        ready: wire(m, "m_axis_tready", 1),
        last: width_of("m_axis_tlast").map(|w| wire(m, "m_axis_tlast", w)),
    };
    let connections: Vec<(String, Expr)> = child
        .port_signals()
        .map(|s| {
            let e = match s.name.as_str() {
                "clk" => clk.clone(),
                "rst" => rst.clone(),
                "s_axis_tdata" => input.data.clone(),
                "s_axis_tvalid" => input.valid.clone(),
                "s_axis_tready" => input.ready.clone(),
                "m_axis_tdata" => out.data.clone(),
                "m_axis_tvalid" => out.valid.clone(),
                "m_axis_tready" => out.ready.clone(),
                "m_axis_tlast" => out.last.clone().expect("listed"),
                other => panic!("stream stage {} has an unexpected port {other}", child.name),
            };
            (s.name.clone(), e)
        })
        .collect();
    let borrowed: Vec<(&str, Expr)> = connections.iter().map(|(n, e)| (n.as_str(), e.clone())).collect();
    m.instance(child, name, borrowed);
    out
}

/// Adds a stage's modules to the network's design and instantiates its top.
fn place(net: &mut Design, m: &mut Module, stage: Design, name: &str, input: &Stream, io: (&Expr, &Expr)) -> Stream {
    let child = stage.top_module().clone();
    for module in stage.modules.into_values() {
        net.add(module);
    }
    stream_stage(m, &child, name, input, io.0, io.1)
}

/// One stage's design: a layer's engine or pool.
fn layer_design(stage: &Stage) -> (Design, Option<GeneratedEngine>) {
    match stage {
        Stage::Engine { params, pipeline } => {
            let g = generate_engine(params, *pipeline);
            (g.design.clone(), Some(g))
        }
        Stage::Pool(p) => (stage::generate_maxpool(p).0, None),
    }
}

/// Generates the network described by `p` (already validated).
pub fn generate_network(p: &NetworkParams) -> GeneratedNetwork {
    let mut m = Module::new(&p.top);
    let clk = m.clock_input();
    let rst = m.reset_input();
    let in_data = m.input("s_axis_tdata", p.in_pixel_bits() as u32);
    let in_valid = m.input("s_axis_tvalid", 1);
    let in_ready = m.port("s_axis_tready", Dir::Out, 1, false);
    let out_data = m.port("m_axis_tdata", Dir::Out, p.out_pixel_bits() as u32, false);
    let out_valid = m.port("m_axis_tvalid", Dir::Out, 1, false);
    let out_ready = m.input("m_axis_tready", 1);
    let out_last = m.port("m_axis_tlast", Dir::Out, 1, false);
    let mut net = Design { top: p.top.clone(), ..Design::default() };
    let mut stream = Stream { data: in_data, valid: in_valid, ready: m.instance_wire("s_ready", 1), last: None };
    m.drive(&in_ready, stream.ready.clone());
    let (mut engines, mut unused) = (vec![], vec![]);
    for (i, layer) in p.layers.iter().enumerate() {
        let (design, engine) = layer_design(&layer.stage);
        engines.push(engine);
        // Straight into the next layer, which counts its own frames.
        unused.extend(stream.last.take());
        stream = place(&mut net, &mut m, design, &format!("layer{i}"), &stream, (&clk, &rst));
    }
    if let NetOutput::Argmax(a) = &p.output {
        unused.extend(stream.last.clone());
        let (design, _) = stage::generate_argmax(a);
        stream = place(&mut net, &mut m, design, "argmax", &stream, (&clk, &rst));
    }
    m.drive(&stream.ready, out_ready);
    m.drive(&out_data, stream.data);
    m.drive(&out_valid, stream.valid);
    m.drive(&out_last, stream.last.expect("the last stage marks its frames"));
    mark_unused(&mut m, "tlast", unused);
    let signature = Signature::of_module(
        &m,
        &STREAM_ROLES,
        Interface::Stream { ii: p.cycles_per_frame() as u64, cycles_per_frame: p.cycles_per_frame() as u64 },
    );
    net.add(m);
    let predicted_fill = predicted_fill(p, &engines);
    let fill_cycles = predicted_fill + fill_margin(p, predicted_fill);
    GeneratedNetwork { design: net, signature, engines, fill_cycles, predicted_fill }
}

/// Cycles a run takes beyond frames x cycles_per_frame, as the timing
/// model predicts for two frames back to back.
fn predicted_fill(p: &NetworkParams, engines: &[Option<GeneratedEngine>]) -> u64 {
    let frames = 2;
    let predicted = timing::predict(p, engines, frames).total;
    predicted.saturating_sub((frames * p.cycles_per_frame()) as u64)
}

/// What the timing model leaves out (input backpressure, the readiness
/// register's phase): 16 cycles a layer and 1/64 of the prediction. The
/// model has come within 1 % of Verilator on every network so far.
fn fill_margin(p: &NetworkParams, predicted: u64) -> u64 {
    16 * p.layers.len() as u64 + predicted / 64
}
