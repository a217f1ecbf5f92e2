//! A test set through a network three ways: the float network (the layer
//! files' real numbers), the golden model (the constants as the hardware
//! rounds them) and the RTL under Verilator. Accuracy of each, the images
//! where the rounding changed the answer, and the RTL's rate.

use crate::model::network::{argmax, float_sums, network_frame};
use crate::spec::images::ImageSet;
use crate::spec::network::{NetOutput, NetworkParams, Pixels};
use crate::util::bits::BitVec;
use crate::verify::network::ImagesRun;
use serde::Serialize;

/// Accuracy in percent of the labelled images.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Accuracy {
    /// `None` when a layer has no layer file (no float form).
    pub float: Option<f64>,
    pub golden: f64,
    pub rtl: f64,
}

/// An image whose class the fixed-point rounding changed.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Changed {
    pub image: usize,
    pub label: Option<usize>,
    pub float: usize,
    pub golden: usize,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Classification {
    pub network: String,
    pub images: usize,
    /// With labels only.
    pub accuracy: Option<Accuracy>,
    /// The RTL's class equals the golden model's on every image.
    pub rtl_equals_golden: bool,
    pub rounding_changed: Vec<Changed>,
    pub cycles_per_image: usize,
    pub fill_cycles: u64,
    /// Checked images per CPU second of a simulating thread, and per wall
    /// second on `verilator_threads` threads at once.
    pub verilator_images_per_s: f64,
    pub verilator_images_per_wall_s: f64,
    pub verilator_threads: usize,
    pub seconds: f64,
    /// Per image, in order.
    pub float: Option<Vec<usize>>,
    pub golden: Vec<usize>,
    pub rtl: Vec<usize>,
}

/// The class an output beat says: the argmax stage's index, or the largest
/// of the sums (the lowest index on ties).
pub fn class_of(p: &NetworkParams, beat: &BitVec) -> usize {
    let last = &p.layers.last().expect("a network has layers").output.pixels;
    match (&p.output, last) {
        (NetOutput::Sum, Pixels::Sums { channels, bits, signed }) => {
            let w = *bits as usize;
            let sums: Vec<f64> =
                (0..*channels).map(|o| BitVec::from_fn(w, |b| beat.get(o * w + b)).to_i64(*signed) as f64).collect();
            argmax(&sums)
        }
        _ => beat.to_i64(false) as usize,
    }
}

fn percent(classes: &[usize], labels: &[usize]) -> f64 {
    let right = classes.iter().zip(labels).filter(|(c, l)| c == l).count();
    100.0 * right as f64 / labels.len().max(1) as f64
}

/// Classifies `set` with the float network and the golden model and puts
/// the RTL's answers (`run`) beside them.
pub fn classify(p: &NetworkParams, set: &ImageSet, run: &ImagesRun) -> Classification {
    let golden: Vec<usize> = set.images.iter().map(|image| class_of(p, &network_frame(p, image)[0])).collect();
    let rtl: Vec<usize> = run.outputs.iter().map(|beat| class_of(p, beat)).collect();
    let float: Option<Vec<usize>> = set.images.iter().map(|image| float_sums(p, image).map(|s| argmax(&s))).collect();
    let rounding_changed = match &float {
        Some(f) => (0..golden.len())
            .filter(|&i| f[i] != golden[i])
            .map(|i| Changed { image: i, label: set.labels.as_ref().map(|l| l[i]), float: f[i], golden: golden[i] })
            .collect(),
        None => vec![],
    };
    let accuracy = set.labels.as_ref().map(|labels| Accuracy {
        float: float.as_ref().map(|f| percent(f, labels)),
        golden: percent(&golden, labels),
        rtl: percent(&rtl, labels),
    });
    Classification {
        network: p.top.clone(),
        images: set.images.len(),
        accuracy,
        rtl_equals_golden: rtl == golden,
        rounding_changed,
        cycles_per_image: run.cycles_per_frame,
        fill_cycles: run.fill,
        verilator_images_per_s: run.images_per_s,
        verilator_images_per_wall_s: run.images_per_wall_s,
        verilator_threads: run.shares,
        seconds: run.seconds,
        float,
        golden,
        rtl,
    }
}

impl Classification {
    /// A few lines for people.
    pub fn summary(&self) -> String {
        let equal = if self.rtl_equals_golden {
            "every answer equal to the golden model's".to_string()
        } else {
            let differ = self.rtl.iter().zip(&self.golden).filter(|(r, g)| r != g).count();
            format!("{differ} answers DIFFER from the golden model's")
        };
        let mut lines = vec![format!("{}: {} images through the RTL, {equal}", self.network, self.images)];
        if let Some(a) = &self.accuracy {
            let float = a.float.map_or("n/a (no layer files)".to_string(), |f| format!("{f:.2} %"));
            lines.push(format!("  accuracy: float {float}, golden model {:.2} %, RTL {:.2} %", a.golden, a.rtl));
        }
        if self.float.is_some() {
            let list: Vec<String> = self
                .rounding_changed
                .iter()
                .map(|c| match c.label {
                    Some(l) => format!("image {} (label {l}): {} -> {}", c.image, c.float, c.golden),
                    None => format!("image {}: {} -> {}", c.image, c.float, c.golden),
                })
                .collect();
            lines.push(format!("  fixed-point rounding changed {} answers{}", list.len(), {
                if list.is_empty() { String::new() } else { format!(": {}", list.join("; ")) }
            }));
        }
        lines.push(format!(
            "  Verilator: {} cycles an image with no stalls (fill {}), {:.0} checked images/s a thread, {:.0} on {} at once; {:.1} s in all",
            self.cycles_per_image,
            self.fill_cycles,
            self.verilator_images_per_s,
            self.verilator_images_per_wall_s,
            self.verilator_threads,
            self.seconds
        ));
        lines.join("\n")
    }
}
