//! The golden model of a network (SPEC 7): an image through every layer's
//! golden model in turn, to the network's one output beat.

use crate::model::engine::EngineGolden;
use crate::model::stage::{argmax_frame, maxpool_frame};
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
