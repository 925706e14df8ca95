include!("../../src/bin/clerk-reader/build_shim.rs");

fn main() {
    build_poppler_shim("../../src/bin/clerk-reader/poppler_shim.cpp", |arg| {
        println!("cargo:rustc-link-arg-bin=read={arg}");
    });
}
