// Compiles the poppler shim; shared by the package's build.rs and the fuzz crate's
// (`include!`d, so it has no module of its own). `link` receives each linker argument, in order.

fn build_poppler_shim(shim: &str, link: impl Fn(&str)) {
    use std::process::Command;
    println!("cargo:rerun-if-changed={shim}");
    let flags = |what: &str| -> Vec<String> {
        let out = Command::new("pkg-config").args([what, "poppler"]).output();
        match out {
            Ok(o) if o.status.success() => {
                String::from_utf8_lossy(&o.stdout).split_whitespace().map(str::to_string).collect()
            }
            _ => panic!(
                "poppler's development files were not found by pkg-config: install libpoppler-private-dev \
                 (tests/setup-debian.sh does)"
            ),
        }
    };
    let mut build = cc::Build::new();
    build.cpp(true).std("c++17").file(shim).cargo_metadata(false).warnings(false);
    for f in flags("--cflags") {
        if let Some(dir) = f.strip_prefix("-I") {
            build.include(dir);
        } else {
            build.flag(&f);
        }
    }
    build.compile("clerk_poppler_shim");
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    link(&format!("{out}/libclerk_poppler_shim.a"));
    for f in flags("--libs") {
        link(&f);
    }
    link("-lstdc++");
}
