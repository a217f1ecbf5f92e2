//! The Rust side of the Verilator bridge (`sim/bridge.cpp`): loads a
//! compiled model and drives it one clock edge at a time, its ports
//! addressed by their position in the design's signature.

use crate::spec::signature::Signature;
use crate::util::bits::BitVec;
use libloading::{Library, Symbol};
use std::ffi::{CString, c_char, c_int, c_void};
use std::path::Path;

type NewFn = unsafe extern "C" fn(c_int) -> *mut c_void;
type FreeFn = unsafe extern "C" fn(*mut c_void);
type SetFn = unsafe extern "C" fn(*mut c_void, c_int, *const u64);
type GetFn = unsafe extern "C" fn(*mut c_void, c_int, *mut u64);
type StepFn = unsafe extern "C" fn(*mut c_void);
type TraceFn = unsafe extern "C" fn(*mut c_void, *const c_char) -> c_int;

/// One instance of a Verilated design. Inputs are numbered as the
/// signature's driven inputs (every input but the clock), outputs as its
/// outputs.
pub struct Model {
    handle: *mut c_void,
    free: FreeFn,
    set: SetFn,
    get: GetFn,
    settle: StepFn,
    rise: StepFn,
    cycle: StepFn,
    input_widths: Vec<usize>,
    output_widths: Vec<usize>,
    /// One buffer per output, as wide as its port.
    output_words: Vec<Vec<u64>>,
    // Dropped last: the functions above point into it.
    _lib: Library,
}

/// The port widths a model of `signature` has: driven inputs, then outputs.
pub fn port_widths(signature: &Signature) -> (Vec<usize>, Vec<usize>) {
    let inputs = signature.driven_inputs().map(|p| p.width as usize).collect();
    let outputs = signature.outputs().map(|p| p.width as usize).collect();
    (inputs, outputs)
}

impl Model {
    /// Loads `lib` (built by [`crate::eda::verilator::build_model`]) for a
    /// design with these input and output widths, in signature order;
    /// `trace` writes a VCD file there.
    pub fn load(
        lib: &Path,
        (input_widths, output_widths): (Vec<usize>, Vec<usize>),
        trace: Option<&Path>,
    ) -> Result<Model, String> {
        // SAFETY: the library is our own bridge, built for this process's
        // target; its symbols have the signatures declared above.
        unsafe {
            let library = Library::new(lib).map_err(|e| format!("cannot load {}: {e}", lib.display()))?;
            let sym_err = |e: libloading::Error| format!("{} is not a bridge library: {e}", lib.display());
            let new: Symbol<NewFn> = library.get(b"mbnn_new").map_err(sym_err)?;
            let free: FreeFn = *library.get::<FreeFn>(b"mbnn_free").map_err(sym_err)?;
            let set: SetFn = *library.get::<SetFn>(b"mbnn_set_input").map_err(sym_err)?;
            let get: GetFn = *library.get::<GetFn>(b"mbnn_get_output").map_err(sym_err)?;
            let settle: StepFn = *library.get::<StepFn>(b"mbnn_settle").map_err(sym_err)?;
            let rise: StepFn = *library.get::<StepFn>(b"mbnn_rise").map_err(sym_err)?;
            let cycle: StepFn = *library.get::<StepFn>(b"mbnn_cycle").map_err(sym_err)?;
            let trace_open: TraceFn = *library.get::<TraceFn>(b"mbnn_trace_open").map_err(sym_err)?;
            let handle = new(c_int::from(trace.is_some()));
            if let Some(path) = trace {
                let c = CString::new(path.to_string_lossy().as_bytes()).map_err(|e| e.to_string())?;
                if trace_open(handle, c.as_ptr()) != 0 {
                    free(handle);
                    return Err(format!("cannot open the trace {}", path.display()));
                }
            }
            let output_words = output_widths.iter().map(|w| vec![0u64; w.div_ceil(64).max(1)]).collect();
            Ok(Model {
                handle,
                free,
                set,
                get,
                settle,
                rise,
                cycle,
                input_widths,
                output_widths,
                output_words,
                _lib: library,
            })
        }
    }

    /// Drives input `index` with `value`, which must be as wide as the port.
    pub fn set(&mut self, index: usize, value: &BitVec) {
        assert_eq!(value.len(), self.input_widths[index], "input {index}");
        // SAFETY: a BitVec of the port's width holds every 64-bit word the
        // port needs, with the bits above its width clear.
        unsafe { (self.set)(self.handle, index as c_int, value.words().as_ptr()) }
    }

    /// Drives a one-bit input (a control such as reset or a valid).
    pub fn set_bit(&mut self, index: usize, value: bool) {
        assert_eq!(self.input_widths[index], 1, "input {index} is not one bit");
        let word = u64::from(value);
        // SAFETY: one word holds the one-bit port.
        unsafe { (self.set)(self.handle, index as c_int, &word) }
    }

    /// Settles the logic with the clock low: the outputs then show what the
    /// design presents before the next rising edge.
    pub fn settle(&mut self) {
        // SAFETY: the handle is live until drop.
        unsafe { (self.settle)(self.handle) }
    }

    /// The rising edge: inputs are sampled, registers load.
    pub fn rise(&mut self) {
        // SAFETY: the handle is live until drop.
        unsafe { (self.rise)(self.handle) }
    }

    /// One whole cycle: settle, then the rising edge.
    pub fn cycle(&mut self) {
        // SAFETY: the handle is live until drop.
        unsafe { (self.cycle)(self.handle) }
    }

    /// The words of output `index` as it is now, least significant first.
    pub fn output_words(&mut self, index: usize) -> &[u64] {
        // SAFETY: the buffer holds every 64-bit word of the port.
        unsafe { (self.get)(self.handle, index as c_int, self.output_words[index].as_mut_ptr()) };
        &self.output_words[index]
    }

    /// Output `index` as it is now.
    pub fn output(&mut self, index: usize) -> BitVec {
        let words = self.output_words(index).to_vec();
        BitVec::from_words(self.output_widths[index], words)
    }

    /// A one-bit output as it is now.
    pub fn output_bit(&mut self, index: usize) -> bool {
        self.output_words(index)[0] & 1 == 1
    }

    /// Whether output `index` equals `want`, without building a vector.
    pub fn output_is(&mut self, index: usize, want: &BitVec) -> bool {
        want.len() == self.output_widths[index] && want.words() == self.output_words(index)
    }
}

impl Drop for Model {
    fn drop(&mut self) {
        // SAFETY: created by mbnn_new, freed once; closes any trace file.
        unsafe { (self.free)(self.handle) }
    }
}
