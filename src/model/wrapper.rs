//! The board wrapper's software model: the signatures that `board_top`
//! shows, computed from the golden model, so that a simulation of the
//! wrapper can be checked bit for bit.

use crate::generator::wrapper::{LFSR_SEED, fold_output, lfsr_step, misr_step, stimulus, stimulus_masks};
use crate::model::engine::EngineGolden;
use crate::model::golden::Golden;
use crate::spec::engine::EngineParams;
use crate::spec::params::DesignParams;
use crate::util::bits::BitVec;

/// The signature after each of the first `count` valid results of the
/// design in `board_top`: result k is computed from the stimulus of the
/// k-th LFSR state after the seed.
pub fn expected_signatures(params: &DesignParams, count: usize) -> Result<Vec<u32>, String> {
    let ports = params.input_ports();
    let masks = stimulus_masks(ports.iter().map(|p| p.width).sum())?;
    let golden = Golden::new(params);
    let (mut state, mut signature) = (LFSR_SEED, 0u32);
    let mut signatures = Vec::with_capacity(count);
    for _ in 0..count {
        let stim = stimulus(state, &masks);
        let mut lo = 0;
        let inputs: Vec<BitVec> = ports
            .iter()
            .map(|p| {
                lo += p.width;
                BitVec::from_fn(p.width, |i| stim.get(lo - p.width + i))
            })
            .collect();
        signature = misr_step(signature, fold_output(&golden.eval_bits(&inputs)));
        signatures.push(signature);
        state = lfsr_step(state);
    }
    Ok(signatures)
}

/// The signature after each of the first `beats` output beats of a stream
/// engine in `board_top`: the pixels are the LFSR's stimulus, one state per
/// pixel, frame after frame, and each beat folds in `{tlast, tdata}`.
pub fn expected_stream_signatures(p: &EngineParams, beats: usize) -> Result<Vec<u32>, String> {
    let masks = stimulus_masks(p.in_pixel_bits())?;
    let golden = EngineGolden::new(p);
    let pixels = p.geometry.height * p.geometry.width;
    let (mut state, mut signature) = (LFSR_SEED, 0u32);
    let mut signatures = Vec::with_capacity(beats);
    while signatures.len() < beats {
        let frame: Vec<BitVec> = (0..pixels)
            .map(|_| {
                let pixel = stimulus(state, &masks);
                state = lfsr_step(state);
                pixel
            })
            .collect();
        let outputs = golden.frame(&frame);
        let n = outputs.len();
        for (i, data) in outputs.into_iter().enumerate() {
            let word = BitVec::from_fn(data.len() + 1, |b| if b < data.len() { data.get(b) } else { i + 1 == n });
            signature = misr_step(signature, fold_output(&word));
            signatures.push(signature);
        }
    }
    signatures.truncate(beats);
    Ok(signatures)
}
