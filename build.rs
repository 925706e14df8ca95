//! Builds the poppler shim for `clerk-reader`, and links it into that binary only: the daemon
//! never links poppler.

include!("src/bin/clerk-reader/build_shim.rs");

fn main() {
    build_poppler_shim("src/bin/clerk-reader/poppler_shim.cpp", |arg| {
        println!("cargo:rustc-link-arg-bin=clerk-reader={arg}");
    });
}
