//! `cargo run --example make-hostile -- DIR`: writes the hostile set (tests/support/hostile.rs)
//! into DIR, to look at the files or to seed the fuzzer.

#[path = "hostile.rs"]
mod hostile;

fn main() {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "hostile".into());
    for name in hostile::write_all(std::path::Path::new(&dir)) {
        println!("{dir}/{name}");
    }
}
