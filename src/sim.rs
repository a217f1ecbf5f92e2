//! The Rust side of the Verilator bridge: loads a compiled model and drives
//! it one clock cycle at a time.

use crate::bits::BitVec;
use libloading::{Library, Symbol};
use std::ffi::{CString, c_char, c_int, c_void};
use std::path::Path;

type NewFn = unsafe extern "C" fn(c_int) -> *mut c_void;
type FreeFn = unsafe extern "C" fn(*mut c_void);
type SetFn = unsafe extern "C" fn(*mut c_void, c_int, *const u32, c_int);
type GetFn = unsafe extern "C" fn(*mut c_void, c_int, *mut u32, c_int);
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
    scratch: Vec<u32>,
    // Dropped last: the functions above point into it.
    _lib: Library,
}

impl Dut {
    /// Loads `lib` (built by [`crate::tools::build_model`]) with data inputs
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
            let scratch = vec![0u32; y_width.div_ceil(32).max(2)];
            Ok(Dut { handle, free, set, get, cycle, input_widths, y_width, scratch, _lib: library })
        }
    }

    pub fn set_input(&mut self, index: usize, value: &BitVec) {
        assert_eq!(value.len(), self.input_widths[index]);
        let mut words = value.to_u32_words();
        words.resize(words.len().max(2), 0);
        // SAFETY: `words` holds at least as many words as the port needs.
        unsafe { (self.set)(self.handle, index as c_int, words.as_ptr(), value.len() as c_int) }
    }

    /// One clock cycle; returns `out_valid` after the rising edge.
    pub fn cycle(&mut self, rst: bool, in_valid: bool) -> bool {
        // SAFETY: the handle is live until drop.
        unsafe { (self.cycle)(self.handle, c_int::from(rst), c_int::from(in_valid)) != 0 }
    }

    /// The result port `y` as it is after the last edge.
    pub fn y(&mut self) -> BitVec {
        // SAFETY: `scratch` holds enough words for `y`.
        unsafe { (self.get)(self.handle, 0, self.scratch.as_mut_ptr(), self.y_width as c_int) };
        BitVec::from_u32_words(self.y_width, &self.scratch)
    }
}

impl Drop for Dut {
    fn drop(&mut self) {
        // SAFETY: created by mbnn_new, freed once; closes any trace file.
        unsafe { (self.free)(self.handle) }
    }
}
