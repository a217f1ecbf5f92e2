//! The stream stages between a network's layers (SPEC 7: max pool, argmax)
//! and the queue they and the engines end in: each written as Verilog, linted, read by Icarus, synthesised by
//! Yosys, then streamed under Verilator against its golden model in every
//! stream scenario (stalls on either side, a reset mid-frame), and its
//! rate with no stalls measured: one input beat a cycle.

use mbnn::backend::verilog::emit_design;
use mbnn::generator::build::queue;
use mbnn::generator::network::stage::{generate_argmax, generate_maxpool};
use mbnn::generator::render::verilog_order;
use mbnn::model::stage::{argmax_frame, maxpool_frame};
use mbnn::rtl::{Design, Dir, Module};
use mbnn::spec::signature::{Interface, Role, STREAM_ROLES, Signature};
use mbnn::spec::stage::{ArgmaxParams, PoolParams};
use mbnn::util::bits::BitVec;
use mbnn::verify::stream::{Stalls, StreamOutcome, StreamPorts, StreamRun, frame_scenarios, run_stream};
use mbnn::verify::testbench::{Checks, load_model, write_and_check};

const CHECKS: Checks = Checks { lint: true, iverilog: true, yosys: true, netlist: false, progress: false };

/// A generated stage ready to simulate: its Verilog (read order) and ports.
struct Bench {
    top: String,
    files: Vec<(String, String)>,
    signature: Signature,
    ports: StreamPorts,
    _work: tempfile::TempDir,
}

/// Writes the stage's Verilog, lints it, reads it with Icarus and
/// synthesises it with Yosys.
fn bench((design, signature): (Design, Signature)) -> Bench {
    let top = design.top.clone();
    let files = emit_design(&design);
    let work = tempfile::tempdir().unwrap();
    let verilog = verilog_order(&files, &top);
    let notes = write_and_check(work.path(), &files, &verilog, &top, CHECKS).unwrap_or_else(|e| panic!("{top}: {e}"));
    println!("{top}: {}", notes.join(", "));
    let ports = StreamPorts::without_last(&signature).unwrap();
    let text = |name: &String| files.iter().find(|(f, _)| f == name).unwrap().1.clone();
    let files = verilog.iter().map(|n| (n.clone(), text(n))).collect();
    Bench { top, files, signature, ports, _work: work }
}

impl Bench {
    fn run(&self, name: &str, run: &StreamRun, golden: &dyn Fn(&[BitVec]) -> Vec<BitVec>) -> StreamOutcome {
        let mut model = load_model(&self.files, &self.signature, false, None).unwrap();
        let frame_cycles = run.frames[0].len();
        run_stream(&mut model, self.ports, golden, run, frame_cycles).unwrap_or_else(|f| {
            panic!(
                "{} ({name}): cycle {}, frame and pixel {:?}: {}; expected {:?}, actual {:?}",
                self.top, f.cycle, f.at, f.what, f.expected, f.actual
            )
        })
    }

    /// Every scenario of frames of `height` x `width`; with no stalls (the
    /// first scenario), `rate` checks the outcome.
    fn scenarios(
        &self,
        (height, width, bits): (usize, usize, usize),
        directed: Vec<Vec<BitVec>>,
        golden: &dyn Fn(&[BitVec]) -> Vec<BitVec>,
        rate: &dyn Fn(&StreamOutcome),
    ) {
        let all = frame_scenarios(height, width, bits, directed, 3, 11);
        for (i, (name, run)) in all.iter().enumerate() {
            let outcome = self.run(name, run, golden);
            assert!(outcome.beats_out > 0, "{} ({name}): no output", self.top);
            if i == 0 {
                rate(&outcome);
            }
        }
    }
}

/// Frames every pixel `f(y, x)`.
fn frame(height: usize, width: usize, f: impl Fn(usize, usize) -> BitVec) -> Vec<BitVec> {
    (0..height * width).map(|q| f(q / width, q % width)).collect()
}

/// All ones, all zeros, a single all-ones pixel at each corner and in the
/// middle, and every pixel's elements counting up in raster order.
fn pool_directed(p: &PoolParams) -> Vec<Vec<BitVec>> {
    let (h, w, bits) = (p.height, p.width, p.in_pixel_bits());
    let mut frames = vec![frame(h, w, |_, _| BitVec::ones(bits)), frame(h, w, |_, _| BitVec::zeros(bits))];
    for at in [(0, 0), (0, w - 1), (h - 1, 0), (h - 1, w - 1), (h / 2, w / 2)] {
        frames.push(frame(h, w, |y, x| if (y, x) == at { BitVec::ones(bits) } else { BitVec::zeros(bits) }));
    }
    let eb = p.element_bits as usize;
    frames.push(frame(h, w, |y, x| BitVec::from_fn(bits, |b| ((y * w + x + b / eb) >> (b % eb)) & 1 == 1)));
    frames
}

fn check_pool(p: &PoolParams) {
    let b = bench(generate_maxpool(p));
    let cpf = p.cycles_per_frame();
    let rate = |o: &StreamOutcome| {
        let gaps: Vec<usize> = o.frame_ends.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(gaps.iter().all(|&g| g == cpf), "{}: frames ended {gaps:?} apart, not {cpf}", p.top);
        // The last window's last pixel is at most the frame's; its result leaves a cycle later.
        let taken = o.last_out - o.first_in + 1;
        assert!(taken <= o.frame_ends.len() * cpf + 1, "{}: {taken} cycles for {:?}", p.top, o.frame_ends);
    };
    b.scenarios((p.height, p.width, p.in_pixel_bits()), pool_directed(p), &|f| maxpool_frame(p, f), &rate);
}

fn pool(top: &str, (height, width): (usize, usize), channels: usize, element_bits: u32, size: usize) -> PoolParams {
    PoolParams { top: top.into(), height, width, channels, element_bits, size }
}

#[test]
fn binary_max_pools_stream_frames() {
    check_pool(&pool("pool_bin_4x4_k2", (4, 4), 3, 1, 2));
    check_pool(&pool("pool_bin_7x5_k2", (7, 5), 2, 1, 2));
    check_pool(&pool("pool_bin_6x6_k3", (6, 6), 4, 1, 3));
    check_pool(&pool("pool_bin_8x7_k3", (8, 7), 1, 1, 3));
}

#[test]
fn level_max_pools_stream_frames() {
    check_pool(&pool("pool_lvl_7x5_k2", (7, 5), 3, 2, 2));
    check_pool(&pool("pool_lvl_6x9_k3", (6, 9), 2, 2, 3));
    check_pool(&pool("pool_lvl_2x2_k2", (2, 2), 1, 2, 2));
    check_pool(&pool("pool_lvl_3x4_k1", (3, 4), 2, 3, 1));
}

/// The pool's hardware against a frame worked by hand (the golden model's
/// own unit test's example): 3 x 5, two binary channels, k = 2.
#[test]
fn a_max_pool_gives_the_hand_worked_frame() {
    let p = pool("pool_hand", (3, 5), 2, 1, 2);
    let b = bench(generate_maxpool(&p));
    let input: Vec<BitVec> =
        [0, 1, 0, 0, 3, 0, 0, 2, 0, 3, 3, 3, 3, 3, 3].iter().map(|&v| BitVec::from_i64(2, v)).collect();
    let want = vec![BitVec::from_i64(2, 0b01), BitVec::from_i64(2, 0b10)];
    assert_eq!(maxpool_frame(&p, &input), want);
    let run = StreamRun {
        frames: vec![input; 3],
        stalls: Stalls::NONE,
        reset: None,
        seed: 1,
        check_ready_independence: true,
        record_outputs: false,
    };
    let outcome = b.run("hand-worked frame", &run, &|_| want.clone());
    assert_eq!(outcome.beats_out, 6);
}

/// Pixels with ties (all equal, the largest twice, first and last), the
/// extremes of the element format, cycled to fill a frame.
fn argmax_directed(p: &ArgmaxParams) -> Vec<Vec<BitVec>> {
    let (c, eb) = (p.channels, p.element_bits as usize);
    let (lo, hi): (i64, i64) = if p.signed { (-(1 << (eb - 1)), (1 << (eb - 1)) - 1) } else { (0, (1 << eb) - 1) };
    let pixel = |f: &dyn Fn(usize) -> i64| BitVec::from_fn(c * eb, |b| (f(b / eb) >> (b % eb)) & 1 == 1);
    let pixels = [
        pixel(&|_| lo),
        pixel(&|_| hi),
        pixel(&|_| 0),
        pixel(&|i| if i == c - 1 { hi } else { lo }),
        pixel(&|i| if i == 0 || i == c - 1 { hi } else { lo }),
        pixel(&|i| if i >= c / 2 { hi } else { lo }),
        pixel(&|i| if i == c / 2 { lo + 1 } else { lo }),
        pixel(&|i| [lo, hi, -1, 1][i % 4].clamp(lo, hi)),
    ];
    let all: Vec<BitVec> =
        (0..pixels.len().div_ceil(p.pixels) * p.pixels).map(|i| pixels[i % pixels.len()].clone()).collect();
    all.chunks(p.pixels).map(<[BitVec]>::to_vec).collect()
}

fn check_argmax(p: &ArgmaxParams) {
    let b = bench(generate_argmax(p));
    let rate = |o: &StreamOutcome| {
        let gaps: Vec<usize> = o.frame_ends.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(gaps.iter().all(|&g| g == p.cycles_per_frame()), "{}: frames ended {gaps:?} apart", p.top);
        // A pixel is taken after its channels' scan, two cycles a channel
        // and one more, and leaves the cycle after.
        let per_pixel = 2 * p.channels + 1;
        assert_eq!(
            o.last_out - o.first_in,
            (o.beats_out - 1) * per_pixel + 1,
            "{}: not one beat per {per_pixel} cycles",
            p.top
        );
    };
    b.scenarios((1, p.pixels, p.in_pixel_bits()), argmax_directed(p), &|f| argmax_frame(p, f), &rate);
}

fn argmax(top: &str, pixels: usize, channels: usize, element_bits: u32, signed: bool) -> ArgmaxParams {
    ArgmaxParams { top: top.into(), pixels, channels, element_bits, signed }
}

#[test]
fn argmaxes_stream_frames() {
    check_argmax(&argmax("argmax_s10x4_p1", 1, 10, 4, true));
    check_argmax(&argmax("argmax_u5x2_p6", 6, 5, 2, false));
    check_argmax(&argmax("argmax_s3x3_p4", 4, 3, 3, true));
    check_argmax(&argmax("argmax_u16x1_p3", 3, 16, 1, false));
    check_argmax(&argmax("argmax_s1x2_p3", 3, 1, 2, true));
}

/// The queue every stage and engine ends in (`build::queue`), alone in a
/// stream top of its own: `depth` places of `width` bits, no `tlast`.
fn queue_alone(top: &str, depth: usize, width: u32) -> (Design, Signature) {
    let mut m = Module::new(top);
    m.clock_input();
    m.reset_input();
    let data = m.input("s_axis_tdata", width);
    let valid = m.input("s_axis_tvalid", 1);
    let ready = m.port("s_axis_tready", Dir::Out, 1, false);
    let out_data = m.port("m_axis_tdata", Dir::Out, width, false);
    let out_valid = m.port("m_axis_tvalid", Dir::Out, 1, false);
    let out_ready = m.input("m_axis_tready", 1);
    let q = queue(&mut m, depth, data, valid, &out_ready);
    m.drive(&ready, q.ready);
    m.drive(&out_data, q.data);
    m.drive(&out_valid, q.valid);
    let roles = &STREAM_ROLES[..STREAM_ROLES.len() - 1];
    let signature = Signature::of_module(&m, roles, Interface::Stream { ii: 1, cycles_per_frame: 1 });
    let mut design = Design { top: top.to_string(), ..Design::default() };
    design.add(m);
    (design, signature)
}

#[test]
fn queues_stream_beats() {
    for (depth, width) in [(2, 1), (3, 5), (8, 70), (5, 8)] {
        let top = format!("queue_d{depth}_w{width}");
        let b = bench(queue_alone(&top, depth, width));
        let rate = |o: &StreamOutcome| {
            assert!(o.frame_ends.is_empty(), "the queue alone has no tlast");
            assert_eq!(o.last_out - o.first_in, o.beats_out, "{top}: not one beat a cycle, one cycle late");
        };
        let (h, w) = (3, 4);
        let bits = width as usize;
        let directed = vec![frame(h, w, |_, _| BitVec::ones(bits)), frame(h, w, |_, _| BitVec::zeros(bits))];
        b.scenarios((h, w, bits), directed, &|f| f.to_vec(), &rate);
    }
}

/// With the sink stalled the queue takes exactly `depth` beats, then gives
/// them back in order, one a cycle.
#[test]
fn a_queue_holds_exactly_its_depth() {
    for depth in [2, 3, 8] {
        let b = bench(queue_alone(&format!("queue_fill_d{depth}"), depth, 8));
        let sig = &b.signature;
        let input = |role| sig.input_index(role).unwrap();
        let output = |role| sig.output_index(role).unwrap();
        let mut model = load_model(&b.files, sig, false, None).unwrap();
        model.set_bit(input(Role::Reset), true);
        model.cycle();
        model.set_bit(input(Role::Reset), false);
        model.set_bit(input(Role::OutStreamReady), false);
        let mut taken = 0;
        for _ in 0..3 * depth {
            model.set(input(Role::InStreamData), &BitVec::from_i64(8, taken + 1));
            model.set_bit(input(Role::InStreamValid), true);
            model.settle();
            taken += i64::from(model.output_bit(output(Role::InStreamReady)));
            model.cycle();
        }
        assert_eq!(taken, depth as i64, "queue of depth {depth}");
        model.set_bit(input(Role::InStreamValid), false);
        model.set_bit(input(Role::OutStreamReady), true);
        for beat in 1..=taken {
            model.settle();
            assert!(model.output_bit(output(Role::OutStreamValid)), "beat {beat} of {depth}");
            assert_eq!(model.output(output(Role::OutStreamData)).to_i64(false), beat);
            model.cycle();
        }
        model.settle();
        assert!(!model.output_bit(output(Role::OutStreamValid)), "more than {depth} beats out");
    }
}
