//! Speed of the generator and of the golden model (issue #5), measured by
//! criterion: `cargo bench --bench speed`. The figures derived from the
//! results (MAC/s, share of the popcount peak, speed-up beside Eq. 4) are
//! computed by `mbnn::study::benchfig`, which documents the workloads.
//!
//! Times are the benchmark thread's CPU time, not wall time: on a machine
//! shared with other jobs, wall time also counts the slices the scheduler
//! gives to them, which swung these figures by half from run to run. On an
//! idle machine the two agree (every benchmark runs on one thread).

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use mbnn::generator::render::render;
use mbnn::model::conv::{BinaryMap, GroupNetConv, groupnet_layer};
use mbnn::model::golden::Golden;
use mbnn::spec::params::DesignParams;
use mbnn::spec::request::Request;
use mbnn::study::benchfig::*;
use mbnn::util::bits::{BitVec, SplitMix64};
use mbnn::util::files::write_files;
use std::hint::black_box;
use std::time::Duration;

/// CPU time consumed by the calling thread.
struct ThreadCpuTime;

impl Measurement for ThreadCpuTime {
    type Intermediate = Duration;
    type Value = Duration;

    fn start(&self) -> Duration {
        mbnn::util::cputime::thread()
    }

    fn end(&self, start: Duration) -> Duration {
        mbnn::util::cputime::thread() - start
    }

    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }

    fn zero(&self) -> Duration {
        Duration::ZERO
    }

    fn to_f64(&self, value: &Duration) -> f64 {
        value.as_nanos() as f64
    }

    fn formatter(&self) -> &dyn ValueFormatter {
        // Durations in ns, printed as criterion prints wall time.
        const WALL: &WallTime = &WallTime;
        WALL.formatter()
    }
}

type Bench = Criterion<ThreadCpuTime>;

fn generator(c: &mut Bench) {
    // What `gen --k 5` asks for: K = 5 over the default 256 channels of a 3x3 kernel.
    let request = Request::groupnet(5, 2304);
    let mut group = c.benchmark_group("generator");
    // Tens of milliseconds per run: ten samples of equal size.
    group.sampling_mode(SamplingMode::Flat).sample_size(10);
    group.bench_function(GEN_K5.1, |b| b.iter(|| render(black_box(&request).params())));
    let rendered = render(request.params());
    let dir = tempfile::tempdir().expect("a temporary directory");
    group.sampling_mode(SamplingMode::Auto).sample_size(100);
    group.bench_function(WRITE_K5.1, |b| {
        b.iter(|| write_files(dir.path(), black_box(&rendered.files)).expect("files are written"))
    });
    group.finish();
}

/// Summed popcounts of `a ^ b`: the tight loop whose speed is the peak.
#[inline(always)]
fn xor_popcount(a: &[u64], b: &[u64]) -> u64 {
    a.iter().zip(b).map(|(x, y)| u64::from((x ^ y).count_ones())).sum()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "popcnt")]
fn xor_popcount_popcnt(a: &[u64], b: &[u64]) -> u64 {
    xor_popcount(a, b)
}

/// The popcount loop with the popcnt instruction when the CPU has it, as
/// `golden::groupnet_layer` chooses, so the two are compared like for like.
fn peak_loop() -> fn(&[u64], &[u64]) -> u64 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("popcnt") {
        // SAFETY: the CPU has just been found to support popcnt.
        return |a, b| unsafe { xor_popcount_popcnt(a, b) };
    }
    eprintln!("speed: this CPU has no popcnt instruction; the peak is that of the portable popcount");
    xor_popcount
}

/// Output channel o of the paper's layer as a Group-Net design: shared
/// input, constant weights drawn from seed o, the default lambdas.
fn channel_design(o: usize) -> DesignParams {
    Request::groupnet(LAYER_BASES, LAYER_DOT_LEN).shared_input().const_weights(o as u64).params()
}

/// The f32 layer: `input` is side_in x side_in pixels of `c_in` channels
/// (channels innermost), `weights` per output channel kernel x kernel x c_in
/// in the same order. Sixteen partial sums per dot product, so that the
/// compiler may vectorise (it does not reassociate f32 additions itself) and
/// the sums are not one chain of dependent additions: a fair float baseline
/// for this build (SSE2 on x86-64), not a strawman.
fn float_conv(input: &[f32], weights: &[f32], side_in: usize, c_in: usize, kernel: usize, out: &mut [f32]) {
    let row = kernel * c_in;
    assert_eq!(row % 16, 0, "rows are whole 16-float chunks");
    let side_out = side_in - kernel + 1;
    for (w_o, out_o) in weights.chunks_exact(kernel * row).zip(out.chunks_exact_mut(side_out * side_out)) {
        for y in 0..side_out {
            for x in 0..side_out {
                let mut sums = [0f32; 16];
                for (ky, w_row) in w_o.chunks_exact(row).enumerate() {
                    let start = ((y + ky) * side_in + x) * c_in;
                    for (a16, w16) in input[start..start + row].chunks_exact(16).zip(w_row.chunks_exact(16)) {
                        for l in 0..16 {
                            sums[l] += a16[l] * w16[l];
                        }
                    }
                }
                out_o[y * side_out + x] = sums.iter().sum();
            }
        }
    }
}

fn random_floats(n: usize, rng: &mut SplitMix64) -> Vec<f32> {
    (0..n).map(|_| (rng.below(2001) as f32 - 1000.0) / 1000.0).collect()
}

fn golden(c: &mut Bench) {
    let side_in = LAYER_SIDE + LAYER_KERNEL - 1;
    let mut rng = SplitMix64::new(5);
    let mut group = c.benchmark_group("golden");

    let peak = peak_loop();
    let (a, b) = (BitVec::random(64 * PEAK_WORDS, &mut rng), BitVec::random(64 * PEAK_WORDS, &mut rng));
    group.bench_function(POPCNT_PEAK.1, |bench| bench.iter(|| peak(black_box(a.words()), black_box(b.words()))));

    // The layers take tens of milliseconds: ten samples of equal size.
    group.sampling_mode(SamplingMode::Flat).sample_size(10);
    let designs: Vec<DesignParams> = (0..BINARY_C_OUT).map(channel_design).collect();
    let weights: Vec<Vec<BitVec>> = designs
        .iter()
        .map(|p| (0..LAYER_BASES).map(|i| p.const_weights(i).expect("constant weights").clone()).collect())
        .collect();
    let conv = GroupNetConv::new(LAYER_C_IN, LAYER_KERNEL, designs[0].lambdas.clone(), &weights).expect("a layer");
    let input = BinaryMap::random(LAYER_C_IN, side_in, side_in, &mut rng);
    let out = groupnet_layer(&input, &conv).expect("the layer runs");
    // Spot check against the per-pixel golden model, outside the timing.
    let last = BINARY_C_OUT - 1;
    let (y, x) = (LAYER_SIDE - 1, 7);
    let expected = Golden::new(&designs[last]).eval(&[input.patch(y, x, LAYER_KERNEL)]);
    assert_eq!(out[(last * LAYER_SIDE + y) * LAYER_SIDE + x], expected);
    group.bench_function(GROUPNET_LAYER.1, |bench| {
        bench.iter(|| groupnet_layer(black_box(&input), black_box(&conv)).expect("the layer runs"))
    });

    let patches: Vec<BitVec> =
        (0..LAYER_SIDE * LAYER_SIDE).map(|p| input.patch(p / LAYER_SIDE, p % LAYER_SIDE, LAYER_KERNEL)).collect();
    let models: Vec<Golden> = designs[..EVAL_C_OUT].iter().map(Golden::new).collect();
    group.bench_function(GROUPNET_EVAL.1, |bench| {
        bench.iter(|| {
            let mut sum = 0i64;
            for model in &models {
                for patch in &patches {
                    sum = sum.wrapping_add(model.eval(std::slice::from_ref(black_box(patch))));
                }
            }
            sum
        })
    });

    let float_input = random_floats(side_in * side_in * LAYER_C_IN, &mut rng);
    let float_weights = random_floats(FLOAT_C_OUT * LAYER_DOT_LEN, &mut rng);
    let mut float_out = vec![0f32; FLOAT_C_OUT * LAYER_SIDE * LAYER_SIDE];
    float_conv(&float_input, &float_weights, side_in, LAYER_C_IN, LAYER_KERNEL, &mut float_out);
    // Spot check against the definition, in f64, outside the timing.
    let (o, y, x) = (FLOAT_C_OUT - 1, 5, LAYER_SIDE - 1);
    let mut direct = 0f64;
    for ky in 0..LAYER_KERNEL {
        for kx in 0..LAYER_KERNEL {
            for ch in 0..LAYER_C_IN {
                let a = float_input[((y + ky) * side_in + x + kx) * LAYER_C_IN + ch];
                let w = float_weights[o * LAYER_DOT_LEN + (ky * LAYER_KERNEL + kx) * LAYER_C_IN + ch];
                direct += f64::from(a) * f64::from(w);
            }
        }
    }
    assert!((f64::from(float_out[(o * LAYER_SIDE + y) * LAYER_SIDE + x]) - direct).abs() < 1e-2);
    group.bench_function(FLOAT_CONV.1, |bench| {
        bench.iter(|| {
            float_conv(
                black_box(&float_input),
                black_box(&float_weights),
                side_in,
                LAYER_C_IN,
                LAYER_KERNEL,
                &mut float_out,
            );
            black_box(&float_out);
        })
    });
    group.finish();
}

fn short() -> Bench {
    Criterion::default()
        .with_measurement(ThreadCpuTime)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = speed;
    config = short();
    targets = generator, golden
}
criterion_main!(speed);
