//! The board wrapper's software model: the signatures that `board_top`
//! shows, computed from the golden model, so that a simulation of the
//! wrapper can be checked bit for bit.

use crate::generator::wrapper::{LFSR_SEED, fold_output, lfsr_step, misr_step, stimulus, stimulus_masks};
use crate::model::golden::Golden;
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
