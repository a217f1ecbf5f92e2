//! The Rust side of the Verilator bridge: loads a compiled model and drives
//! it one clock cycle at a time.

use crate::util::bits::BitVec;
use libloading::{Library, Symbol};
use std::ffi::{CString, c_char, c_int, c_void};
use std::path::Path;

type NewFn = unsafe extern "C" fn(c_int) -> *mut c_void;
type FreeFn = unsafe extern "C" fn(*mut c_void);
type SetFn = unsafe extern "C" fn(*mut c_void, c_int, *const u64);
type GetFn = unsafe extern "C" fn(*mut c_void, c_int, *mut u64);
type CycleFn = unsafe extern "C" fn(*mut c_void, c_int, c_int) -> c_int;
type TraceFn = unsafe extern "C" fn(*mut c_void, *const c_char) -> c_int;

/// One instance of a Verilated design.
pub struct Dut {
    handle: *mut c_void,
    free: FreeFn,
    set: SetFn,
    get: GetFn,
    cycle: CycleFn,
    input_widths: Vec<usize>,
    y_width: usize,
    y_words: Vec<u64>,
    // Dropped last: the functions above point into it.
    _lib: Library,
}

impl Dut {
    /// Loads `lib` (built by [`crate::eda::build_model`]) with data inputs
    /// of the given widths, in port order; `trace` writes a VCD file there.
    pub fn load(lib: &Path, input_widths: Vec<usize>, y_width: usize, trace: Option<&Path>) -> Result<Dut, String> {
        // SAFETY: the library is our own bridge, built for this process's
        // target; its symbols have the signatures declared above.
        unsafe {
            let library = Library::new(lib).map_err(|e| format!("cannot load {}: {e}", lib.display()))?;
            let sym_err = |e: libloading::Error| format!("{} is not a bridge library: {e}", lib.display());
            let new: Symbol<NewFn> = library.get(b"mbnn_new").map_err(sym_err)?;
            let free: FreeFn = *library.get::<FreeFn>(b"mbnn_free").map_err(sym_err)?;
            let set: SetFn = *library.get::<SetFn>(b"mbnn_set_input").map_err(sym_err)?;
            let get: GetFn = *library.get::<GetFn>(b"mbnn_get_output").map_err(sym_err)?;
            let cycle: CycleFn = *library.get::<CycleFn>(b"mbnn_cycle").map_err(sym_err)?;
            let trace_open: TraceFn = *library.get::<TraceFn>(b"mbnn_trace_open").map_err(sym_err)?;
            let handle = new(c_int::from(trace.is_some()));
            if let Some(path) = trace {
                let c = CString::new(path.to_string_lossy().as_bytes()).map_err(|e| e.to_string())?;
                if trace_open(handle, c.as_ptr()) != 0 {
                    free(handle);
                    return Err(format!("cannot open the trace {}", path.display()));
                }
            }
            let y_words = vec![0u64; y_width.div_ceil(64).max(1)];
            Ok(Dut { handle, free, set, get, cycle, input_widths, y_width, y_words, _lib: library })
        }
    }

    pub fn set_input(&mut self, index: usize, value: &BitVec) {
        assert_eq!(value.len(), self.input_widths[index]);
        // SAFETY: a BitVec of the port's width holds every 64-bit word the
        // port needs, with the bits above its width clear.
        unsafe { (self.set)(self.handle, index as c_int, value.words().as_ptr()) }
    }

    /// One clock cycle; returns `out_valid` after the rising edge.
    pub fn cycle(&mut self, rst: bool, in_valid: bool) -> bool {
        // SAFETY: the handle is live until drop.
        unsafe { (self.cycle)(self.handle, c_int::from(rst), c_int::from(in_valid)) != 0 }
    }

    /// The words of `y` as it is after the last edge, least significant first.
    pub fn y_words(&mut self) -> &[u64] {
        // SAFETY: `y_words` holds every 64-bit word of `y`.
        unsafe { (self.get)(self.handle, 0, self.y_words.as_mut_ptr()) };
        &self.y_words
    }

    /// The result port `y` as it is after the last edge.
    pub fn y(&mut self) -> BitVec {
        let words = self.y_words().to_vec();
        BitVec::from_words(self.y_width, words)
    }

    /// Whether `y` equals `want`, without building a vector.
    pub fn y_is(&mut self, want: &BitVec) -> bool {
        want.len() == self.y_width && want.words() == self.y_words()
    }
}

impl Drop for Dut {
    fn drop(&mut self) {
        // SAFETY: created by mbnn_new, freed once; closes any trace file.
        unsafe { (self.free)(self.handle) }
    }
}
