// Passes the target triple on, so that the Verilator bridge can ask the
// `cc` crate for the right C++ compiler at run time.
fn main() {
    println!("cargo:rustc-env=MBNN_TARGET={}", std::env::var("TARGET").unwrap());
    println!("cargo:rerun-if-changed=build.rs");
}
