//! The golden model of a network (SPEC 7): an image through every layer's
//! golden model in turn, to the network's one output beat.

use crate::model::engine::EngineGolden;
pub use crate::model::stage::argmax;
use crate::model::stage::{argmax_frame, maxpool_frame};
use crate::spec::conv_layer::{ConvLayer, ConvScheme, fusion_reals};
use crate::spec::engine::{EngineKind, EngineParams, Output};
use crate::spec::network::{NetOutput, NetworkParams, Stage};
use crate::util::bits::BitVec;

/// Every layer's output map of one image, in order.
pub fn layer_maps(p: &NetworkParams, image: &[BitVec]) -> Vec<Vec<BitVec>> {
    let mut maps: Vec<Vec<BitVec>> = vec![];
    for layer in &p.layers {
        let input = maps.last().map_or(image, Vec::as_slice);
        let output = match &layer.stage {
            Stage::Engine { params, .. } => EngineGolden::new(params).frame(input),
            Stage::Pool(pool) => maxpool_frame(pool, input),
        };
        maps.push(output);
    }
    maps
}

/// The network's output frame of one image: one beat.
pub fn network_frame(p: &NetworkParams, image: &[BitVec]) -> Vec<BitVec> {
    let last = layer_maps(p, image).pop().expect("a network has layers");
    match &p.output {
        NetOutput::Sum => last,
        NetOutput::Argmax(a) => argmax_frame(a, &last),
    }
}

/// The float network of one image: every engine layer with its layer
/// file's real numbers (SPEC 6.4's sums with the real lambdas, phi and
/// fusion weights, batch norm and the quantiser in f64, nothing rounded)
/// on the same binary bases, the pools as they are. This is the network as
/// trained; the golden model is the same with every constant rounded as
/// the hardware holds it. The last layer's real sums, or `None` when a
/// layer has no layer file (its constants were given as integers).
pub fn float_sums(p: &NetworkParams, image: &[BitVec]) -> Option<Vec<f64>> {
    let mut map: Vec<BitVec> = image.to_vec();
    let count = p.layers.len();
    for (index, layer) in p.layers.iter().enumerate() {
        let (params, model) = match &layer.stage {
            Stage::Pool(pool) => {
                map = maxpool_frame(pool, &map);
                continue;
            }
            Stage::Engine { params, .. } => (params.as_ref(), layer.model.as_deref()?),
        };
        let golden = EngineGolden::new(params);
        let g = &params.geometry;
        let mut next = Vec::with_capacity(g.out_height() * g.out_width());
        for oy in 0..g.out_height() {
            for ox in 0..g.out_width() {
                let at = (oy, ox);
                let (sums, fused) = real_sums(params, model, &golden, &map, at);
                if let Some(bits) = fused {
                    next.push(bits);
                } else if index + 1 == count && matches!(params.output, Output::Sum) {
                    return Some(sums);
                } else {
                    let width = params.out_element_bits();
                    let levels: Vec<usize> = sums.iter().enumerate().map(|(o, &y)| model.real_level(o, y)).collect();
                    next.push(BitVec::from_fn(width * levels.len(), |b| (levels[b / width] >> (b % width)) & 1 == 1));
                }
            }
        }
        map = next;
    }
    None
}

/// One output pixel's real sums y(o), and for the fusion output its bits
/// (lane i's bit o: sum_j F[i][j] dot_j(o) >= 0 with the real F).
fn real_sums(
    p: &EngineParams,
    model: &ConvLayer,
    golden: &EngineGolden,
    map: &[BitVec],
    at: (usize, usize),
) -> (Vec<f64>, Option<BitVec>) {
    let cout = p.geometry.cout;
    if p.kind == EngineKind::PaConv {
        let counts = golden.pa_counts(map, at);
        let sums = counts
            .iter()
            .map(|c| {
                let terms = c.iter().zip(&p.phi_reals).flat_map(|(row, phi)| row.iter().zip(phi));
                terms.map(|(&n, &f)| n as f64 * f).sum()
            })
            .collect();
        return (sums, None);
    }
    let dots = golden.dots(map, at);
    let sums = (0..cout).map(|o| dots.iter().zip(&p.lambda_reals).map(|(d, l)| d[o] as f64 * l).sum()).collect();
    let fused = match &model.scheme {
        ConvScheme::GroupNet { fusion_thetas: Some(thetas), lambdas, .. } => {
            let f = fusion_reals(thetas, lambdas);
            let lanes = dots.len();
            Some(BitVec::from_fn(lanes * cout, |bit| {
                let (i, o) = (bit / cout, bit % cout);
                (0..lanes).map(|j| f[i][j] * dots[j][o] as f64).sum::<f64>() >= 0.0
            }))
        }
        _ => None,
    };
    (sums, fused)
}
